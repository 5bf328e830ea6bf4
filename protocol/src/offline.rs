//! Reaching visitors and agents who are not there: the offline and
//! pre-chat forms, business hours, ratings and each agent's mail choice.
//!
//! - [`Contact`]: what a visitor gives in a form (`contact` frame); the
//!   relay keeps it as the visitor's contact (name, email, phone, fields).
//! - [`PrechatForm`]: the site's pre-chat form (off by default), part of
//!   the widget settings; [`FormField`] its custom fields.
//! - [`BusinessHours`]: a weekly schedule in an IANA time zone, with
//!   holidays. The relay (which has the time-zone database) decides from it
//!   whether the site is open; the widget only learns the answer.
//! - [`OfflineSettings`]: the site's hours, the auto-reply outside them and
//!   the continuity-mail delay.
//! - [`RatingScale`]: how the widget asks "How was this chat?".
//! - [`MailPref`]: which notification mails an agent wants.

use crate::error::{ApiError, ErrorCode};
use crate::limits::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A visitor's answer to the offline or the pre-chat form.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    /// Which form it answers.
    pub form: FormKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Custom fields by [`FormField::key`]; a checkbox is `"true"` or
    /// `"false"`, a select one of its options.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, String>,
    /// The consent checkbox was ticked.
    #[serde(default)]
    pub consent: bool,
}

/// The two forms.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FormKind {
    /// Nobody is available: email (required when mail is on) and name.
    #[default]
    Offline,
    Prechat,
}

/// Whether a built-in field of the pre-chat form is asked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ask {
    #[default]
    No,
    Optional,
    Required,
}

impl Ask {
    pub fn asked(self) -> bool {
        self != Ask::No
    }
}

/// A custom field's kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    #[default]
    Text,
    Select,
    Checkbox,
}

/// One custom field of the pre-chat form.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FormField {
    /// The attribute it is stored under: `[a-z0-9_]`, 1–32 bytes.
    pub key: String,
    /// What the visitor reads.
    pub label: String,
    #[serde(default)]
    pub kind: FieldKind,
    /// A select's choices.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    #[serde(default)]
    pub required: bool,
}

/// The site's pre-chat form (widget settings). Skipped for a visitor the
/// host page identified (`kefu('identify', …)` with a name or email).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PrechatForm {
    #[serde(default)]
    pub enabled: bool,
    #[serde(default)]
    pub name: Ask,
    #[serde(default)]
    pub email: Ask,
    #[serde(default)]
    pub phone: Ask,
    /// At most [`MAX_FORM_FIELDS`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FormField>,
    /// The consent checkbox's text (the owner's words); empty: no checkbox.
    /// When set, ticking it is required.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub consent: String,
}

/// A period of a day, `"HH:MM"` local time, `from` < `to` (`"24:00"` ends
/// a day).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub from: String,
    pub to: String,
}

impl Period {
    /// Minutes after midnight of `from` and `to`, when both are valid.
    pub fn minutes(&self) -> Option<(u32, u32)> {
        let (f, t) = (hhmm(&self.from)?, hhmm(&self.to)?);
        (f < t).then_some((f, t))
    }
}

/// `"HH:MM"` → minutes after midnight (`"24:00"` → 1440).
pub fn hhmm(s: &str) -> Option<u32> {
    let (h, m) = s.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    match (h, m) {
        (24, 0) => Some(1440),
        (0..=23, 0..=59) => Some(h * 60 + m),
        _ => None,
    }
}

/// A weekly schedule in a time zone.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BusinessHours {
    /// Off: always open (agents' presence alone decides).
    #[serde(default)]
    pub enabled: bool,
    /// IANA name, e.g. `Asia/Shanghai`; checked by the relay.
    #[serde(default)]
    pub tz: String,
    /// Monday first: seven days, each with its periods (none: closed).
    #[serde(default)]
    pub week: Vec<Vec<Period>>,
    /// `YYYY-MM-DD` dates, in `tz`, closed all day.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holidays: Vec<String>,
}

/// The site's offline behaviour (owners, `PATCH /v1/api/sites/{site}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OfflineSettings {
    #[serde(default)]
    pub hours: BusinessHours,
    /// Sent (as an `auto_reply` event, not an agent's message) to a
    /// visitor who writes outside business hours, once per conversation
    /// per closed spell. Empty: none.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub auto_reply: String,
    /// Agent messages a visitor with an email has not read this long after
    /// they were sent are mailed to them ([`DEFAULT_CONTINUITY_MINUTES`];
    /// 0: never).
    #[serde(default = "default_continuity")]
    pub continuity_minutes: u32,
}

fn default_continuity() -> u32 {
    DEFAULT_CONTINUITY_MINUTES
}

impl Default for OfflineSettings {
    fn default() -> Self {
        OfflineSettings {
            hours: BusinessHours::default(),
            auto_reply: String::new(),
            continuity_minutes: DEFAULT_CONTINUITY_MINUTES,
        }
    }
}

/// A change to [`OfflineSettings`] (`PATCH /v1/api/sites/{site}`
/// `offline`): only the fields present change.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OfflinePatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours: Option<BusinessHours>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_reply: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continuity_minutes: Option<u32>,
}

impl OfflinePatch {
    /// `old` with this patch's fields over it (check the result with
    /// [`OfflineSettings::validate`]).
    pub fn applied_to(self, old: &OfflineSettings) -> OfflineSettings {
        OfflineSettings {
            hours: self.hours.unwrap_or_else(|| old.hours.clone()),
            auto_reply: self.auto_reply.unwrap_or_else(|| old.auto_reply.clone()),
            continuity_minutes: self.continuity_minutes.unwrap_or(old.continuity_minutes),
        }
    }
}

/// How the widget asks for a rating after an agent closes the chat.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RatingScale {
    /// 1–5 stars.
    #[default]
    Five,
    /// 👍 (score 5) / 👎 (score 1).
    Thumbs,
    /// No rating asked.
    Off,
}

impl RatingScale {
    /// Whether `score` is one this scale gives.
    pub fn allows(self, score: u8) -> bool {
        match self {
            RatingScale::Five => (1..=5).contains(&score),
            RatingScale::Thumbs => score == 1 || score == 5,
            RatingScale::Off => false,
        }
    }
}

/// A rating counts as satisfied (CSAT) at this score or above.
pub const CSAT_SATISFIED_MIN: u8 = 4;

/// Which notification mails an agent gets about visitors writing while
/// nobody is available.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailPref {
    /// Every conversation of their sites.
    #[default]
    All,
    /// Those assigned to them (and unassigned ones).
    Mine,
    None,
}

fn bad(msg: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::BadRequest, msg)
}

fn too_large(what: &str, max: usize) -> ApiError {
    ApiError::new(
        ErrorCode::TooLarge,
        format!("{what} is at most {max} bytes"),
    )
}

/// Keys no custom field may take: the built-in fields, and the attributes
/// the relay keeps a form's phone and consent under.
pub const RESERVED_FIELD_KEYS: [&str; 4] = ["name", "email", "phone", "consent"];

/// A field key: `[a-z0-9_]`, 1–[`MAX_FORM_KEY_BYTES`] bytes.
pub fn valid_field_key(k: &str) -> bool {
    !k.is_empty()
        && k.len() <= MAX_FORM_KEY_BYTES
        && k.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl PrechatForm {
    /// Off and empty (what older stores hold): not serialised.
    pub fn is_off(&self) -> bool {
        *self == PrechatForm::default()
    }

    pub fn validate(&self) -> Result<(), ApiError> {
        if self.fields.len() > MAX_FORM_FIELDS {
            return Err(bad(format!(
                "the pre-chat form has at most {MAX_FORM_FIELDS} custom fields"
            )));
        }
        if self.consent.len() > MAX_WIDGET_TEXT_BYTES {
            return Err(too_large("the consent text", MAX_WIDGET_TEXT_BYTES));
        }
        let mut keys = std::collections::BTreeSet::new();
        for f in &self.fields {
            if !valid_field_key(&f.key) || RESERVED_FIELD_KEYS.contains(&f.key.as_str()) {
                return Err(bad(format!(
                    "field key {:?} must be 1–{MAX_FORM_KEY_BYTES} of a-z, 0-9, _ and not name, email, phone or consent",
                    f.key
                )));
            }
            if !keys.insert(f.key.as_str()) {
                return Err(bad(format!("field key {:?} is used twice", f.key)));
            }
            if f.label.is_empty() || f.label.len() > MAX_FORM_LABEL_BYTES {
                return Err(bad(format!(
                    "field {:?} needs a label of at most {MAX_FORM_LABEL_BYTES} bytes",
                    f.key
                )));
            }
            match f.kind {
                FieldKind::Select => {
                    if f.options.is_empty() || f.options.len() > MAX_FORM_OPTIONS {
                        return Err(bad(format!(
                            "select field {:?} needs 1–{MAX_FORM_OPTIONS} options",
                            f.key
                        )));
                    }
                    if f.options
                        .iter()
                        .any(|o| o.is_empty() || o.len() > MAX_FORM_LABEL_BYTES)
                    {
                        return Err(bad(format!(
                            "select field {:?}: each option is 1–{MAX_FORM_LABEL_BYTES} bytes",
                            f.key
                        )));
                    }
                }
                _ if !f.options.is_empty() => {
                    return Err(bad(format!(
                        "only a select field has options ({:?})",
                        f.key
                    )))
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Why `c` does not answer this form, if it does not: required fields
    /// missing, a select answered with something it does not offer, an
    /// unknown field. (Lengths and addresses are checked by the frame.)
    pub fn check(&self, c: &Contact) -> Result<(), String> {
        let need = |ask: Ask, v: &Option<String>, what: &str| {
            if ask == Ask::Required && v.as_deref().is_none_or(str::is_empty) {
                Err(format!("{what} is required"))
            } else {
                Ok(())
            }
        };
        need(self.name, &c.name, "name")?;
        need(self.email, &c.email, "email")?;
        need(self.phone, &c.phone, "phone")?;
        for k in c.fields.keys() {
            if !self.fields.iter().any(|f| &f.key == k) {
                return Err(format!("the form has no field {k:?}"));
            }
        }
        for f in &self.fields {
            let v = c.fields.get(&f.key).map(String::as_str).unwrap_or("");
            match f.kind {
                FieldKind::Checkbox if !matches!(v, "" | "true" | "false") => {
                    return Err(format!("{} is a checkbox: true or false", f.key))
                }
                FieldKind::Checkbox if f.required && v != "true" => {
                    return Err(format!("{} must be ticked", f.key))
                }
                FieldKind::Select if !v.is_empty() && !f.options.iter().any(|o| o == v) => {
                    return Err(format!("{} is not one of its options", f.key))
                }
                _ if f.required && v.is_empty() => return Err(format!("{} is required", f.key)),
                _ => {}
            }
        }
        if !self.consent.is_empty() && !c.consent {
            return Err("consent is required".into());
        }
        Ok(())
    }
}

impl BusinessHours {
    /// The schedule's shape (the relay checks `tz` against its database).
    pub fn validate(&self) -> Result<(), ApiError> {
        if !self.enabled && self.tz.is_empty() && self.week.is_empty() {
            return Ok(());
        }
        if self.tz.is_empty() || self.tz.len() > MAX_TZ_BYTES {
            return Err(bad(
                "hours.tz must be an IANA time zone such as Asia/Shanghai",
            ));
        }
        if self.week.len() != 7 {
            return Err(bad("hours.week must have seven days, Monday first"));
        }
        for (d, day) in self.week.iter().enumerate() {
            if day.len() > MAX_PERIODS_PER_DAY {
                return Err(bad(format!(
                    "at most {MAX_PERIODS_PER_DAY} periods per day (day {d})"
                )));
            }
            let mut spans: Vec<(u32, u32)> = Vec::with_capacity(day.len());
            for p in day {
                let Some(span) = p.minutes() else {
                    return Err(bad(format!(
                        "period {}–{} must be HH:MM–HH:MM with from before to",
                        p.from, p.to
                    )));
                };
                spans.push(span);
            }
            spans.sort_unstable();
            if spans.windows(2).any(|w| w[1].0 < w[0].1) {
                return Err(bad(format!("periods overlap on day {d}")));
            }
        }
        if self.holidays.len() > MAX_HOLIDAYS {
            return Err(bad(format!("at most {MAX_HOLIDAYS} holidays")));
        }
        if let Some(h) = self.holidays.iter().find(|h| !valid_date(h)) {
            return Err(bad(format!("holiday {h:?} must be YYYY-MM-DD")));
        }
        Ok(())
    }
}

/// `YYYY-MM-DD` with a plausible month and day.
pub fn valid_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|x| x.parse::<u32>().ok());
    matches!((num(0..4), num(5..7), num(8..10)), (Some(_), Some(m), Some(d)) if (1..=12).contains(&m) && (1..=31).contains(&d))
}

impl OfflineSettings {
    pub fn validate(&self) -> Result<(), ApiError> {
        self.hours.validate()?;
        if self.auto_reply.len() > MAX_WIDGET_TEXT_BYTES {
            return Err(too_large("auto_reply", MAX_WIDGET_TEXT_BYTES));
        }
        if self.continuity_minutes > MAX_CONTINUITY_MINUTES {
            return Err(bad(format!(
                "continuity_minutes is 0–{MAX_CONTINUITY_MINUTES}"
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(from: &str, to: &str) -> Period {
        Period {
            from: from.into(),
            to: to.into(),
        }
    }

    #[test]
    fn periods_read_hh_mm_and_refuse_the_rest() {
        assert_eq!(p("09:00", "17:30").minutes(), Some((540, 1050)));
        assert_eq!(p("00:00", "24:00").minutes(), Some((0, 1440)));
        for (f, t) in [
            ("17:00", "09:00"),
            ("9:00", "10:00"),
            ("24:01", "24:02"),
            ("10:60", "11:00"),
            ("10:00", "10:00"),
        ] {
            assert_eq!(p(f, t).minutes(), None, "{f}-{t}");
        }
    }

    #[test]
    fn hours_need_seven_days_a_zone_and_no_overlap() {
        let mut h = BusinessHours {
            enabled: true,
            tz: "Europe/Berlin".into(),
            week: vec![vec![p("09:00", "12:00"), p("13:00", "17:00")]; 7],
            holidays: vec!["2026-12-25".into()],
        };
        assert!(h.validate().is_ok());
        h.week[2].push(p("11:00", "14:00"));
        assert!(h.validate().is_err(), "overlap");
        h.week.truncate(5);
        assert!(h.validate().is_err(), "five days");
        let mut h2 = BusinessHours {
            enabled: true,
            tz: "Europe/Berlin".into(),
            week: vec![vec![]; 7],
            holidays: vec!["25.12.2026".into()],
        };
        assert!(h2.validate().is_err(), "bad date");
        h2.holidays.clear();
        assert!(h2.validate().is_ok());
        assert!(BusinessHours::default().validate().is_ok(), "unset is fine");
    }

    fn form() -> PrechatForm {
        PrechatForm {
            enabled: true,
            name: Ask::Required,
            email: Ask::Optional,
            phone: Ask::No,
            fields: vec![
                FormField {
                    key: "plan".into(),
                    label: "Plan".into(),
                    kind: FieldKind::Select,
                    options: vec!["free".into(), "pro".into()],
                    required: true,
                },
                FormField {
                    key: "newsletter".into(),
                    label: "Newsletter".into(),
                    kind: FieldKind::Checkbox,
                    options: vec![],
                    required: false,
                },
            ],
            consent: "I agree to the privacy policy".into(),
        }
    }

    #[test]
    fn a_contact_answers_the_form_or_says_why_not() {
        let f = form();
        assert!(f.validate().is_ok());
        let mut c = Contact {
            form: FormKind::Prechat,
            name: Some("Ada".into()),
            fields: [("plan".to_string(), "pro".to_string())].into(),
            consent: true,
            ..Contact::default()
        };
        assert_eq!(f.check(&c), Ok(()));
        c.consent = false;
        assert!(f.check(&c).is_err(), "consent");
        c.consent = true;
        c.fields.insert("plan".into(), "gold".into());
        assert!(f.check(&c).is_err(), "not an option");
        c.fields.insert("plan".into(), "free".into());
        c.fields.insert("shoe".into(), "42".into());
        assert!(f.check(&c).is_err(), "unknown field");
        c.fields.remove("shoe");
        c.fields.insert("newsletter".into(), "maybe".into());
        assert!(f.check(&c).is_err(), "checkbox");
        c.fields.insert("newsletter".into(), "true".into());
        c.name = None;
        assert!(f.check(&c).is_err(), "name required");
    }

    #[test]
    fn forms_refuse_bad_fields() {
        let mut f = form();
        f.fields[0].key = "Plan!".into();
        assert!(f.validate().is_err());
        let mut f = form();
        f.fields[1].key = "email".into();
        assert!(f.validate().is_err(), "built-in name");
        for reserved in ["phone", "consent"] {
            let mut f = form();
            f.fields[1].key = reserved.into();
            assert!(f.validate().is_err(), "{reserved} is the relay's");
        }
        let mut f = form();
        f.fields[0].options.clear();
        assert!(f.validate().is_err(), "select without options");
        let mut f = form();
        f.fields = (0..=MAX_FORM_FIELDS)
            .map(|i| FormField {
                key: format!("f{i}"),
                label: "x".into(),
                ..FormField::default()
            })
            .collect();
        assert!(f.validate().is_err(), "too many");
    }

    /// A patch changes only what it names: hours alone keep the
    /// auto-reply and the continuity delay.
    #[test]
    fn an_offline_patch_changes_only_its_fields() {
        let old = OfflineSettings {
            hours: BusinessHours::default(),
            auto_reply: "Back at nine".into(),
            continuity_minutes: 10,
        };
        let hours = BusinessHours {
            enabled: true,
            tz: "Europe/Berlin".into(),
            week: vec![vec![p("09:00", "17:00")]; 7],
            holidays: Vec::new(),
        };
        let patch: OfflinePatch =
            serde_json::from_value(serde_json::json!({ "hours": hours })).expect("patch");
        let new = patch.applied_to(&old);
        assert_eq!(new.hours, hours);
        assert_eq!(new.auto_reply, "Back at nine");
        assert_eq!(new.continuity_minutes, 10);
        let patch = OfflinePatch {
            auto_reply: Some(String::new()),
            ..OfflinePatch::default()
        };
        let cleared = patch.applied_to(&new);
        assert_eq!((cleared.auto_reply.as_str(), cleared.hours), ("", hours));
    }

    #[test]
    fn scales_allow_their_scores() {
        assert!(RatingScale::Five.allows(3));
        assert!(!RatingScale::Five.allows(0) && !RatingScale::Five.allows(6));
        assert!(RatingScale::Thumbs.allows(1) && RatingScale::Thumbs.allows(5));
        assert!(!RatingScale::Thumbs.allows(3));
        assert!(!RatingScale::Off.allows(5));
    }
}
