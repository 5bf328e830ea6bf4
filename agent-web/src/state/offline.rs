//! The reducer's settings for reaching people who are not there (owners):
//! "Offline & hours" — business hours (on or off, a time zone, seven days
//! of periods, holidays), the auto-reply outside them and the delay of the
//! continuity mail, saved as the site's `offline`; "Forms & rating" — the
//! pre-chat form and the rating scale, saved inside the site's widget
//! settings (with every other widget field as the site has it saved). And
//! anyone's own choice of notification mail, saved on their agent record.
//!
//! Each form edits a working copy. Before it is sent, a console check names
//! the day or the field at fault, then the relay's own `validate` runs as
//! well; only then one PATCH goes out, and its answer is that form's alone
//! (the other forms keep their unsaved edits).

use super::integrations::Note;
use super::{Effect, State};
use crate::i18n::{en, tr, trf};
use crate::services::api::{Answer, Fetch, Section};
use protocol::api::SitePatch;
use protocol::limits::{
    MAX_CONTINUITY_MINUTES, MAX_FORM_FIELDS, MAX_FORM_KEY_BYTES, MAX_HOLIDAYS, MAX_PERIODS_PER_DAY,
};
use protocol::offline::{
    hhmm, valid_date, valid_field_key, Ask, BusinessHours, FieldKind, FormField, MailPref,
    OfflineSettings, Period, PrechatForm, RatingScale,
};
use protocol::WidgetSettings;

/// The days of a business-hours week, Monday first (as the relay keeps them).
/// English keys: shown through `tr`.
pub const DAYS: [&str; 7] = [
    en("Monday"),
    en("Tuesday"),
    en("Wednesday"),
    en("Thursday"),
    en("Friday"),
    en("Saturday"),
    en("Sunday"),
];

/// A day given its first period: from 09:00 to 17:00.
const FIRST_PERIOD: (u32, u32) = (9 * 60, 17 * 60);
/// A later period of a day starts where the day's last one ends and lasts
/// this long (minutes), up to 24:00.
const NEXT_PERIOD_MINUTES: u32 = 60;
const END_OF_DAY: u32 = 24 * 60;

/// What these forms say, in one place (English keys, shown through `tr`).
mod say {
    use crate::i18n::en;

    pub const SAVING: &str = en("Saving…");
    pub const HOURS_SAVED: &str = en("Offline & hours saved.");
    pub const FORMS_SAVED: &str = en("Forms & rating saved. Visitors get them on their next page.");
    pub const NOT_SAVED: &str = en("Not saved: ");
    pub const NOT_ADDED: &str = en("Not added: ");
    pub const NEED_TZ: &str =
        en("choose the time zone the hours are in (an IANA name such as Europe/Berlin)");
    pub const NO_HOURS: &str = en(
        "business hours are on but no day has any, so visitors would \
        always find you closed: give some days hours, or turn business hours off",
    );
    pub const CONTINUITY: &str =
        en("the continuity delay is a whole number of minutes (0 = never)");
    pub const FULL_DAY: &str = en("{} already runs to 24:00");
    pub const PERIODS: &str = en("{} periods a day at most");
    pub const HOLIDAY_DATE: &str = en("pick a date (YYYY-MM-DD)");
    pub const HOLIDAY_TWICE: &str = en("{} is a holiday already");
    pub const HOLIDAYS: &str = en("{} holidays at most");
    pub const FIELDS: &str = en("{} custom fields at most (name, email and phone are built in)");
    pub const MAIL_ALL: &str =
        en("You get an email about every conversation while nobody is available.");
    pub const MAIL_MINE: &str =
        en("You get an email about conversations assigned to you (and unassigned ones) while nobody is available.");
    pub const MAIL_NONE: &str = en("You get no notification emails.");
}

/// "Offline & hours": the working copy and what the form holds beside it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HoursForm {
    /// The site's offline settings being edited; its week always has
    /// seven days here (none until the site is loaded).
    pub draft: Option<OfflineSettings>,
    /// The continuity delay as typed (checked on save).
    pub continuity: String,
    /// The "add a holiday" date box (`YYYY-MM-DD`, as a date input gives it).
    pub new_holiday: String,
    /// A save of this form is under way.
    pub saving: bool,
    pub note: Option<Note>,
}

/// What "Offline & hours" does.
#[derive(Debug)]
pub enum HoursAction {
    /// Business hours on or off. `zone` is the browser's own time zone,
    /// taken when none is set yet.
    Enabled {
        on: bool,
        zone: String,
    },
    Tz(String),
    /// A period more for a day (Monday is 0).
    AddPeriod(usize),
    RemovePeriod {
        day: usize,
        i: usize,
    },
    /// A period's start or end as typed (`HH:MM`).
    From {
        day: usize,
        i: usize,
        value: String,
    },
    To {
        day: usize,
        i: usize,
        value: String,
    },
    /// Monday to Friday get this day's periods.
    CopyToWeekdays(usize),
    NewHoliday(String),
    AddHoliday,
    RemoveHoliday(String),
    AutoReply(String),
    /// Minutes, as typed.
    Continuity(String),
    Save,
}

/// "Forms & rating": the working copy of the pre-chat form and the scale.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FormsForm {
    pub draft: Option<FormsDraft>,
    pub saving: bool,
    pub note: Option<Note>,
}

/// The pre-chat form and the rating scale as the form edits them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FormsDraft {
    pub enabled: bool,
    pub name: Ask,
    pub email: Ask,
    pub phone: Ask,
    pub fields: Vec<FieldDraft>,
    pub consent: String,
    pub rating: RatingScale,
}

/// One custom field as the form edits it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldDraft {
    pub key: String,
    pub label: String,
    pub kind: FieldKind,
    /// A select's options as typed, one per line.
    pub options: String,
    pub required: bool,
    /// The key is the owner's (typed, or saved before): the label no
    /// longer changes it. Answers are stored under the key, so a saved
    /// field keeps its key when its label is reworded.
    pub key_set: bool,
}

/// The pre-chat form's built-in fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    Name,
    Email,
    Phone,
}

/// What "Forms & rating" does.
#[derive(Debug)]
pub enum FormsAction {
    Enabled(bool),
    /// `no`, `optional` or `required`.
    Ask(Builtin, String),
    AddField,
    RemoveField(usize),
    Key(usize, String),
    Label(usize, String),
    /// `text`, `select` or `checkbox`.
    Kind(usize, String),
    /// A select's options, one per line.
    Options(usize, String),
    Required(usize, bool),
    Consent(String),
    /// `five`, `thumbs` or `off`.
    Rating(String),
    Save,
}

/// `HH:MM` of minutes after midnight (1440 is `24:00`).
pub fn hh_mm(minutes: u32) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// The form's copy of the site's offline settings: seven days, always.
fn hours_draft(o: &OfflineSettings) -> OfflineSettings {
    let mut d = o.clone();
    d.hours.week.resize(7, Vec::new());
    d
}

/// What is sent of the form's copy: times and the zone trimmed, holidays
/// in order, and a schedule never set up sent as unset (no zone, no days).
pub fn hours_to_send(d: &OfflineSettings) -> OfflineSettings {
    let mut o = d.clone();
    let h = &mut o.hours;
    h.tz = h.tz.trim().to_string();
    for p in h.week.iter_mut().flatten() {
        p.from = p.from.trim().to_string();
        p.to = p.to.trim().to_string();
    }
    h.holidays.sort();
    h.holidays.dedup();
    let blank = !h.enabled && h.tz.is_empty() && h.week.iter().all(Vec::is_empty);
    if blank && h.holidays.is_empty() {
        h.week.clear();
    }
    o
}

/// Why the relay would refuse `h` (as [`hours_to_send`] makes it), said
/// with the day and the period at fault.
pub fn check_hours(h: &BusinessHours) -> Result<(), String> {
    let any_period = h.week.iter().any(|d| !d.is_empty());
    if h.tz.is_empty() && (h.enabled || any_period || !h.holidays.is_empty()) {
        return Err(tr(say::NEED_TZ).into());
    }
    for (day, periods) in DAYS.iter().map(|d| tr(d)).zip(&h.week) {
        let mut spans = Vec::with_capacity(periods.len());
        for p in periods {
            let Some(span) = p.minutes() else {
                return Err(trf(
                    "{}: “{}–{}” is not a period (HH:MM to a later HH:MM; 24:00 ends the day)",
                    &[&day, &p.from, &p.to],
                ));
            };
            spans.push(span);
        }
        spans.sort_unstable();
        if spans.windows(2).any(|w| w[1].0 < w[0].1) {
            return Err(trf("{}: two periods overlap", &[&day]));
        }
    }
    if h.enabled && !any_period {
        return Err(tr(say::NO_HOURS).into());
    }
    h.validate().map_err(|e| e.message)
}

/// The continuity delay as typed: minutes, 0 (never) to the limit.
pub fn parse_continuity(v: &str) -> Result<u32, String> {
    match v.trim().parse::<u32>() {
        Ok(n) if n <= MAX_CONTINUITY_MINUTES => Ok(n),
        Ok(_) => Err(trf(
            "the continuity delay is at most {} minutes (a week)",
            &[&MAX_CONTINUITY_MINUTES],
        )),
        Err(_) => Err(tr(say::CONTINUITY).into()),
    }
}

/// A key for a field labelled `label`: its letters and digits,
/// lowercased, other runs as `_` ("Order number" → `order_number`);
/// `field_n` when none are left (a label in Chinese).
pub fn field_key(label: &str, n: usize) -> String {
    let mut key = String::new();
    for ch in label.chars() {
        if ch.is_ascii_alphanumeric() {
            key.push(ch.to_ascii_lowercase());
        } else if !key.is_empty() && !key.ends_with('_') {
            key.push('_');
        }
        if key.len() >= MAX_FORM_KEY_BYTES {
            break;
        }
    }
    let key = key.trim_end_matches('_');
    match key {
        "" | "name" | "email" | "phone" => format!("field_{n}"),
        k => k.to_string(),
    }
}

impl FormsDraft {
    fn from_widget(w: &WidgetSettings) -> FormsDraft {
        let p = &w.prechat;
        FormsDraft {
            enabled: p.enabled,
            name: p.name,
            email: p.email,
            phone: p.phone,
            fields: p
                .fields
                .iter()
                .map(|f| FieldDraft {
                    key: f.key.clone(),
                    label: f.label.clone(),
                    kind: f.kind,
                    options: f.options.join("\n"),
                    required: f.required,
                    key_set: true,
                })
                .collect(),
            consent: p.consent.clone(),
            rating: w.rating,
        }
    }

    /// The pre-chat form as the relay takes it: texts trimmed, a select's
    /// options one per non-empty line, and none for the other kinds (their
    /// box may still hold lines from when the field was a select).
    pub fn prechat(&self) -> PrechatForm {
        PrechatForm {
            enabled: self.enabled,
            name: self.name,
            email: self.email,
            phone: self.phone,
            fields: self
                .fields
                .iter()
                .map(|f| FormField {
                    key: f.key.trim().to_string(),
                    label: f.label.trim().to_string(),
                    kind: f.kind,
                    options: match f.kind {
                        FieldKind::Select => f
                            .options
                            .lines()
                            .map(str::trim)
                            .filter(|o| !o.is_empty())
                            .map(str::to_string)
                            .collect(),
                        _ => Vec::new(),
                    },
                    required: f.required,
                })
                .collect(),
            consent: self.consent.trim().to_string(),
        }
    }
}

/// Why the relay would refuse `p`, said with the field at fault.
pub fn check_form(p: &PrechatForm) -> Result<(), String> {
    for (i, f) in p.fields.iter().enumerate() {
        let which = if f.label.is_empty() {
            trf("field {}", &[&(i + 1)])
        } else {
            trf("field “{}”", &[&f.label])
        };
        if f.label.is_empty() {
            return Err(trf("{} needs a label", &[&which]));
        }
        if !valid_field_key(&f.key) || matches!(f.key.as_str(), "name" | "email" | "phone") {
            return Err(trf(
                "{}: its key is 1–{} of a–z, 0–9 and _ (not name, email or phone)",
                &[&which, &MAX_FORM_KEY_BYTES],
            ));
        }
        if f.kind == FieldKind::Select && f.options.is_empty() {
            return Err(trf(
                "{}: a choice list needs options, one per line",
                &[&which],
            ));
        }
    }
    p.validate().map_err(|e| e.message)
}

/// What a mail choice means, said to the agent.
pub fn mail_meaning(m: MailPref) -> &'static str {
    match m {
        MailPref::All => tr(say::MAIL_ALL),
        MailPref::Mine => tr(say::MAIL_MINE),
        MailPref::None => tr(say::MAIL_NONE),
    }
}

fn ask(v: &str) -> Ask {
    match v {
        "optional" => Ask::Optional,
        "required" => Ask::Required,
        _ => Ask::No,
    }
}

impl State {
    /// The forms' working copies from a site just loaded.
    pub(super) fn offline_loaded(&mut self, site: &protocol::api::SiteView) {
        let st = &mut self.settings;
        let d = hours_draft(&site.offline);
        st.hours.continuity = d.continuity_minutes.to_string();
        st.hours.draft = Some(d);
        st.forms.draft = Some(FormsDraft::from_widget(&site.widget));
    }

    pub(super) fn reduce_hours(&mut self, a: HoursAction, fx: &mut Vec<Effect>) -> bool {
        let form = &mut self.settings.hours;
        match a {
            HoursAction::NewHoliday(v) => {
                form.new_holiday = v;
                return false;
            }
            HoursAction::Continuity(v) => {
                form.continuity = v;
                return false;
            }
            HoursAction::Save => self.save_hours(fx),
            edit => {
                let Some(d) = &mut form.draft else {
                    return false;
                };
                if let Err(why) = edit_hours(d, &mut form.new_holiday, edit) {
                    form.note = Note::bad(format!("{}{why}", tr(say::NOT_ADDED)));
                } else if form.note.as_ref().is_some_and(|n| n.bad) {
                    // An edit after a refusal: the refusal is history.
                    form.note = None;
                }
            }
        }
        true
    }

    fn save_hours(&mut self, fx: &mut Vec<Effect>) {
        let Some(site) = self.model.site.clone() else {
            return;
        };
        let form = &mut self.settings.hours;
        let Some(d) = &form.draft else {
            return;
        };
        let mut o = hours_to_send(d);
        let checked = parse_continuity(&form.continuity).and_then(|n| {
            o.continuity_minutes = n;
            check_hours(&o.hours)?;
            o.validate().map_err(|e| e.message)
        });
        if let Err(why) = checked {
            form.note = Note::bad(format!("{}{why}", tr(say::NOT_SAVED)));
            return;
        }
        // The whole section is on screen: every field is sent.
        let patch = SitePatch {
            offline: Some(protocol::offline::OfflinePatch {
                hours: Some(o.hours),
                auto_reply: Some(o.auto_reply),
                continuity_minutes: Some(o.continuity_minutes),
            }),
            ..Default::default()
        };
        form.saving = true;
        form.note = Note::ok(tr(say::SAVING));
        fx.push(Effect::Fetch(Fetch::SaveSection(
            site,
            Section::Hours,
            Box::new(patch),
        )));
    }

    pub(super) fn reduce_forms(&mut self, a: FormsAction, fx: &mut Vec<Effect>) -> bool {
        let form = &mut self.settings.forms;
        if let FormsAction::Save = a {
            self.save_forms(fx);
            return true;
        }
        let Some(d) = &mut form.draft else {
            return false;
        };
        if let Err(why) = edit_forms(d, a) {
            form.note = Note::bad(format!("{}{why}", tr(say::NOT_ADDED)));
        } else if form.note.as_ref().is_some_and(|n| n.bad) {
            form.note = None;
        }
        true
    }

    /// Saves the pre-chat form and the scale inside the widget settings as
    /// the site has them saved (not the appearance form's unsaved edits).
    fn save_forms(&mut self, fx: &mut Vec<Effect>) {
        let Some(site) = self.model.site.clone() else {
            return;
        };
        let st = &mut self.settings;
        let (Some(d), Some(view)) = (&st.forms.draft, &st.site) else {
            return;
        };
        let prechat = d.prechat();
        let widget = WidgetSettings {
            prechat,
            rating: d.rating,
            ..view.widget.clone()
        };
        let checked =
            check_form(&widget.prechat).and_then(|()| widget.validate().map_err(|e| e.message));
        if let Err(why) = checked {
            st.forms.note = Note::bad(format!("{}{why}", tr(say::NOT_SAVED)));
            return;
        }
        let patch = SitePatch {
            widget: Some(widget),
            ..Default::default()
        };
        st.forms.saving = true;
        st.forms.note = Note::ok(tr(say::SAVING));
        fx.push(Effect::Fetch(Fetch::SaveSection(
            site,
            Section::Forms,
            Box::new(patch),
        )));
    }

    /// The agent's own mail choice: saved at once.
    pub(super) fn choose_mail(&mut self, pref: MailPref, fx: &mut Vec<Effect>) -> bool {
        let Some(me) = &self.me else {
            return false;
        };
        let st = &mut self.settings;
        if me.mail == pref && st.mail_saving.is_none() {
            return false;
        }
        st.mail_saving = Some(pref);
        st.mail_note = Note::ok(tr(say::SAVING));
        fx.push(Effect::Fetch(Fetch::MailPref(me.id.to_string(), pref)));
        true
    }

    /// The answers of these forms; false for any other.
    pub(super) fn offline_answered(&mut self, answer: Answer) -> bool {
        match answer {
            Answer::SectionSaved(section, Ok(site)) => {
                self.site_fresh(&site);
                let st = &mut self.settings;
                match section {
                    Section::Hours => {
                        let d = hours_draft(&site.offline);
                        st.hours.continuity = d.continuity_minutes.to_string();
                        st.hours.draft = Some(d);
                        st.hours.saving = false;
                        st.hours.note = Note::ok(tr(say::HOURS_SAVED));
                    }
                    Section::Forms => {
                        st.forms.draft = Some(FormsDraft::from_widget(&site.widget));
                        // The appearance form saves the rest of the widget:
                        // what it sends keeps these.
                        if let Some(w) = &mut st.widget {
                            w.prechat = site.widget.prechat.clone();
                            w.rating = site.widget.rating;
                        }
                        st.forms.saving = false;
                        st.forms.note = Note::ok(tr(say::FORMS_SAVED));
                    }
                }
                st.site = Some(*site);
            }
            Answer::SectionSaved(section, Err(e)) => {
                let form = match section {
                    Section::Hours => &mut self.settings.hours.note,
                    Section::Forms => &mut self.settings.forms.note,
                };
                *form = Note::bad(format!("{}{e}", tr(say::NOT_SAVED)));
                self.settings.hours.saving &= section != Section::Hours;
                self.settings.forms.saving &= section != Section::Forms;
            }
            Answer::MailPref(pref, r) => {
                let st = &mut self.settings;
                st.mail_saving = None;
                match r {
                    Ok(()) => {
                        if let Some(me) = &mut self.me {
                            me.mail = pref;
                        }
                        st.mail_note = Note::ok(mail_meaning(pref));
                    }
                    Err(e) => st.mail_note = Note::bad(format!("{}{e}", tr(say::NOT_SAVED))),
                }
            }
            _ => return false,
        }
        true
    }
}

/// One edit of the hours draft; an addition it refuses says why.
fn edit_hours(
    d: &mut OfflineSettings,
    new_holiday: &mut String,
    a: HoursAction,
) -> Result<(), String> {
    let h = &mut d.hours;
    match a {
        HoursAction::Enabled { on, zone } => {
            h.enabled = on;
            if on && h.tz.trim().is_empty() {
                h.tz = zone;
            }
            if on && h.week.iter().all(Vec::is_empty) {
                // A start most shops keep: weekdays, nine to five.
                let (from, to) = FIRST_PERIOD;
                for day in h.week.iter_mut().take(5) {
                    day.push(Period {
                        from: hh_mm(from),
                        to: hh_mm(to),
                    });
                }
            }
        }
        HoursAction::Tz(v) => h.tz = v,
        HoursAction::AddPeriod(day) => {
            let Some(periods) = h.week.get_mut(day) else {
                return Ok(());
            };
            if periods.len() >= MAX_PERIODS_PER_DAY {
                return Err(trf(say::PERIODS, &[&MAX_PERIODS_PER_DAY]));
            }
            let (from, to) = match periods.iter().filter_map(|p| hhmm(&p.to)).max() {
                None => FIRST_PERIOD,
                Some(end) if end >= END_OF_DAY => {
                    return Err(trf(say::FULL_DAY, &[&tr(DAYS[day])]));
                }
                Some(end) => (end, (end + NEXT_PERIOD_MINUTES).min(END_OF_DAY)),
            };
            periods.push(Period {
                from: hh_mm(from),
                to: hh_mm(to),
            });
        }
        HoursAction::RemovePeriod { day, i } => {
            if let Some(periods) = h.week.get_mut(day) {
                if i < periods.len() {
                    periods.remove(i);
                }
            }
        }
        HoursAction::From { day, i, value } => {
            if let Some(p) = h.week.get_mut(day).and_then(|d| d.get_mut(i)) {
                p.from = value;
            }
        }
        HoursAction::To { day, i, value } => {
            if let Some(p) = h.week.get_mut(day).and_then(|d| d.get_mut(i)) {
                p.to = value;
            }
        }
        HoursAction::CopyToWeekdays(day) => {
            if let Some(periods) = h.week.get(day).cloned() {
                for d in h.week.iter_mut().take(5) {
                    *d = periods.clone();
                }
            }
        }
        HoursAction::AddHoliday => {
            let date = new_holiday.trim().to_string();
            if !valid_date(&date) {
                return Err(tr(say::HOLIDAY_DATE).into());
            }
            if h.holidays.contains(&date) {
                return Err(trf(say::HOLIDAY_TWICE, &[&date]));
            }
            if h.holidays.len() >= MAX_HOLIDAYS {
                return Err(trf(say::HOLIDAYS, &[&MAX_HOLIDAYS]));
            }
            h.holidays.push(date);
            h.holidays.sort();
            new_holiday.clear();
        }
        HoursAction::RemoveHoliday(date) => h.holidays.retain(|x| *x != date),
        HoursAction::AutoReply(v) => d.auto_reply = v,
        HoursAction::NewHoliday(_) | HoursAction::Continuity(_) | HoursAction::Save => {}
    }
    Ok(())
}

/// One edit of the forms draft; an addition it refuses says why.
fn edit_forms(d: &mut FormsDraft, a: FormsAction) -> Result<(), String> {
    match a {
        FormsAction::Enabled(on) => d.enabled = on,
        FormsAction::Ask(which, v) => {
            let v = ask(&v);
            match which {
                Builtin::Name => d.name = v,
                Builtin::Email => d.email = v,
                Builtin::Phone => d.phone = v,
            }
        }
        FormsAction::AddField => {
            if d.fields.len() >= MAX_FORM_FIELDS {
                return Err(trf(say::FIELDS, &[&MAX_FORM_FIELDS]));
            }
            d.fields.push(FieldDraft::default());
        }
        FormsAction::RemoveField(i) => {
            if i < d.fields.len() {
                d.fields.remove(i);
            }
        }
        FormsAction::Key(i, v) => {
            if let Some(f) = d.fields.get_mut(i) {
                // Emptied, the key follows the label again.
                f.key_set = !v.trim().is_empty();
                f.key = v;
            }
        }
        FormsAction::Label(i, v) => {
            if let Some(f) = d.fields.get_mut(i) {
                if !f.key_set {
                    f.key = field_key(&v, i + 1);
                }
                f.label = v;
            }
        }
        FormsAction::Kind(i, v) => {
            if let Some(f) = d.fields.get_mut(i) {
                f.kind = match v.as_str() {
                    "select" => FieldKind::Select,
                    "checkbox" => FieldKind::Checkbox,
                    _ => FieldKind::Text,
                };
            }
        }
        FormsAction::Options(i, v) => {
            if let Some(f) = d.fields.get_mut(i) {
                f.options = v;
            }
        }
        FormsAction::Required(i, on) => {
            if let Some(f) = d.fields.get_mut(i) {
                f.required = on;
            }
        }
        FormsAction::Consent(v) => d.consent = v,
        FormsAction::Rating(v) => {
            d.rating = match v.as_str() {
                "thumbs" => RatingScale::Thumbs,
                "off" => RatingScale::Off,
                _ => RatingScale::Five,
            }
        }
        FormsAction::Save => {}
    }
    Ok(())
}
