//! The visitor's forms, one at a time in the panel: the pre-chat form (in
//! place of the chat until answered), the rating after an agent closed the
//! conversation, the offline form's email and name above the composer
//! (only while the relay sends mail), and the address "Email me this chat"
//! needs. Answers and ratings go through the outbox, so nothing typed is
//! lost offline or on a reload; each is checked here first with the
//! relay's own rules (`protocol::api::valid_email`, required fields).

use crate::js::*;
use crate::outbox::Pending;
use crate::state::Msg;
use crate::{view, Widget};
use protocol::limits::*;
use wasm_bindgen::JsValue;

/// The form shown.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Kind {
    Prechat,
    Offline,
    Rate,
    /// The address for "Email me this chat".
    Mail,
}

/// Field kinds, as `boot.js`'s `fx.form` builds them (0 text, 3 select,
/// 5 text need no check of their own).
const EMAIL: u8 = 1;
const TEL: u8 = 2;
const CHECK: u8 = 4;

#[derive(Default)]
pub struct Forms {
    /// The relay knows the visitor's name or email, or a form answer
    /// (`welcome`): no pre-chat form, and no name asked by the offline form.
    pub known: bool,
    /// The relay knows the visitor's email (`welcome.email_known`): no
    /// offline form.
    pub email_known: bool,
    /// The site's pre-chat form (`settings.prechat`).
    pub prechat: JsValue,
    /// The site's rating scale: `five`, `thumbs` or `off`.
    pub rating: String,
    shown: Option<Kind>,
    /// The conversation the rating form rates.
    conv: String,
    /// The fields shown, as `fx.form` made them: `[key, kind, required]`
    /// (custom fields' keys are `x_key`).
    fields: JsValue,
    /// The score chosen (0: none yet).
    score: u8,
    /// The visitor asked for the transcript and no address is known.
    asked_mail: bool,
}

/// `s` cut to `max` bytes at a character's edge.
fn cut(mut s: String, max: usize) -> String {
    let mut n = s.len().min(max);
    while !s.is_char_boundary(n) {
        n -= 1;
    }
    s.truncate(n);
    s
}

/// `protocol::api::valid_email`'s rule, read byte by byte: its `char`
/// patterns and Unicode tables cost the widget's size budget more than
/// this (the tests below hold the two to the same answers).
// `contains` on a slice pulls in memchr (~350 B of wasm); a plain loop
// does not.
#[allow(clippy::manual_contains)]
fn email_ok(e: &str) -> bool {
    let b = e.as_bytes();
    let Some(at) = b.iter().position(|&c| c == b'@') else {
        return false;
    };
    let d = &b[at + 1..];
    // White_Space in UTF-8: ASCII, U+0085, U+00A0, U+1680, U+2000–200A,
    // U+2028, U+2029, U+202F, U+205F, U+3000.
    let space = |i: usize| match b[i] {
        9..=13 | b' ' => true,
        0xC2 => matches!(b.get(i + 1), Some(0x85 | 0xA0)),
        0xE1 => b.get(i + 1..i + 3) == Some(&[0x9A, 0x80]),
        0xE2 => matches!(
            (b.get(i + 1), b.get(i + 2)),
            (Some(0x80), Some(0x80..=0x8A | 0xA8 | 0xA9 | 0xAF)) | (Some(0x81), Some(0x9F))
        ),
        0xE3 => b.get(i + 1..i + 3) == Some(&[0x80, 0x80]),
        _ => false,
    };
    b.len() <= MAX_EMAIL_BYTES
        && at > 0
        && d.iter().any(|&c| c == b'.')
        && d.first() != Some(&b'.')
        && !(0..b.len()).any(space)
}

/// A phone number as the relay takes it: digits, spaces and `+-().x`.
fn phone_ok(p: &str) -> bool {
    p.bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b' ' | b'+' | b'-' | b'(' | b')' | b'.' | b'x'))
}

/// Why a field's answer `v` is refused, if it is (`None`: a checkbox's
/// or an empty answer is judged by `given` and `req`).
fn why(kind: u8, req: bool, v: &JsValue, t: &protocol::texts::Texts) -> Option<&'static str> {
    let s = v.as_string().unwrap_or_default();
    let given = if kind == CHECK {
        v.as_bool() == Some(true)
    } else {
        !s.is_empty()
    };
    if !given {
        req.then_some(t.required)
    } else if kind == EMAIL && !email_ok(&s) {
        Some(t.bad_email)
    } else if kind == TEL && !phone_ok(&s) {
        Some(t.required)
    } else {
        None
    }
}

/// A field shown: its key, kind and whether it is required.
fn field(f: &JsValue) -> (String, u8, bool) {
    let kind = get(f, "1").as_f64().unwrap_or(0.0) as u8;
    (get_str(f, "0").unwrap_or_default(), kind, get_bool(f, "2"))
}

impl Widget {
    /// The host page passed a name or an email (`kefu('identify', …)`).
    fn identified(&self) -> bool {
        ["name", "email"]
            .iter()
            .any(|k| get_str(&self.me.user, k).is_some_and(|v| !v.is_empty()))
    }

    /// The form the panel should show now, if any.
    fn form_due(&self) -> Option<Kind> {
        let f = &self.forms;
        if get_bool(&f.prechat, "enabled")
            && !f.known
            && !self.identified()
            && self.store.get("pc").is_none_or(|v| v.is_empty())
        {
            Some(Kind::Prechat)
        } else if f.rating != "off" && self.chat.rating_due().is_some() {
            Some(Kind::Rate)
        } else if !self.chat.agents_online
            && self.chat.mail
            && !f.email_known
            && self.chat.email.is_empty()
            && get_str(&self.me.user, "email").is_none_or(|e| e.is_empty())
        {
            Some(Kind::Offline)
        } else if f.asked_mail && self.chat.mail {
            Some(Kind::Mail)
        } else {
            None
        }
    }

    /// Shows the form that is due (built once by `fx.form`, so what the
    /// visitor typed stays while the chat re-renders), and "Email me this
    /// chat".
    #[inline(never)]
    pub(crate) fn sync_forms(&mut self) {
        let want = self.form_due();
        let conv = self.chat.rating_due().cloned().unwrap_or_default();
        // The offline form asks no name the relay or host page knows (with
        // no email known, either means a name) or the pre-chat form asked.
        let named = self.forms.known || self.identified() || self.store.get("pc").is_some();
        let v = &self.view;
        let pre = want == Some(Kind::Prechat);
        view::show(
            &v.mail,
            self.chat.mail && self.chat.conv.is_some() && want.is_none(),
        );
        if pre {
            view::show(&v.form, false);
        }
        if want == self.forms.shown && conv == self.forms.conv {
            return;
        }
        let t = self.t;
        let f = &mut self.forms;
        (f.shown, f.conv, f.score) = (want, conv, 0);
        v.forms.set_class_name(if pre { "y pc" } else { "y" });
        view::show(&v.forms, want.is_some());
        view::show(&v.log, !pre);
        let offline = want == Some(Kind::Offline);
        v.send
            .set_text_content(Some(if offline { t.leave } else { t.send }));
        let kind = match want {
            None => "",
            Some(Kind::Prechat) => "prechat",
            Some(Kind::Offline) => "offline",
            Some(Kind::Rate) => "rate",
            Some(Kind::Mail) => "mail",
        };
        let texts: js_sys::Array = [
            t.optional,
            t.name,
            t.email,
            t.phone,
            t.prechat,
            t.start,
            t.rate,
            t.comment,
            t.send,
            t.transcript,
        ]
        .iter()
        .map(|s| JsValue::from_str(s))
        .collect();
        let limits: js_sys::Array = [
            MAX_NAME_BYTES,
            MAX_EMAIL_BYTES,
            MAX_PHONE_BYTES,
            MAX_FORM_VALUE_BYTES,
            MAX_RATING_COMMENT_BYTES,
            MAX_FORM_FIELDS,
        ]
        .iter()
        .map(|n| JsValue::from(*n as u32))
        .collect();
        let pc = if offline {
            JsValue::from(named)
        } else {
            f.prechat.clone()
        };
        let args = [
            v.forms.clone().into(),
            kind.into(),
            pc,
            texts.into(),
            limits.into(),
            (f.rating == "thumbs").into(),
        ];
        f.fields = call(&self.fx, "form", &args);
    }

    /// The answers, `{key: text or checked}` (`fx.vals`).
    fn answers(&self) -> JsValue {
        call(&self.fx, "vals", &[self.view.forms.clone().into()])
    }

    /// Checks every field with the relay's rules, shows what is wrong
    /// beside it (`fx.bad`, which focuses the first); true when all are
    /// fine.
    fn form_ok(&self, vals: &JsValue) -> bool {
        let errs = obj();
        let mut ok = true;
        for (key, kind, req) in array(&self.forms.fields).iter().map(field) {
            if let Some(w) = why(kind, req, &get(vals, &key), self.t) {
                set(&errs, &key, w);
                ok = false;
            }
        }
        call(&self.fx, "bad", &[self.view.forms.clone().into(), errs]);
        ok
    }

    /// The form's answer as a `contact` frame, into the outbox; the
    /// address given is kept for "We'll reply by email to …".
    fn contact(&mut self, form: &str, vals: &JsValue) {
        let c = obj();
        let cid = new_id("w");
        set(&c, "type", "contact");
        set(&c, "cid", cid.as_str());
        set(&c, "form", form);
        let fields = obj();
        let mut custom = false;
        for (key, kind, _) in array(&self.forms.fields).iter().map(field) {
            let v = get(vals, &key);
            let s = v.as_string().unwrap_or_default();
            match key.strip_prefix("x_") {
                Some(k) if kind == CHECK => {
                    let on = v.as_bool() == Some(true);
                    set(&fields, k, if on { "true" } else { "false" });
                    custom = true;
                }
                Some(k) if !s.is_empty() => {
                    set(&fields, k, cut(s, MAX_FORM_VALUE_BYTES));
                    custom = true;
                }
                Some(_) => {}
                None if key == "consent" => set(&c, "consent", v),
                None if !s.is_empty() => {
                    if key == "email" {
                        self.chat.email = s.clone();
                        self.store.set("em", &s);
                    }
                    set(&c, &key, cut(s, MAX_NAME_BYTES));
                }
                None => {}
            }
        }
        if custom {
            set(&c, "fields", fields);
        }
        self.queue_frame(Pending {
            cid,
            text: String::new(),
            file: JsValue::UNDEFINED,
            frame: c,
        });
    }

    /// The composer's send while the offline form shows: the address must
    /// be valid and the message written; the answer goes first, then the
    /// message (false: nothing goes yet).
    pub(crate) fn offline_form(&mut self, text: &str) -> bool {
        if self.forms.shown != Some(Kind::Offline) {
            return true;
        }
        let vals = self.answers();
        if !self.form_ok(&vals) {
            return false;
        }
        let t = js_sys::JsString::from(text);
        if t.trim().length() == 0 {
            let _ = self.view.input.focus();
            return false;
        }
        self.contact("offline", &vals);
        true
    }

    /// The form's own button: the pre-chat answer, the rating, the
    /// transcript's address.
    #[inline(never)]
    pub(crate) fn form_submit(&mut self) {
        let Some(kind) = self.forms.shown else { return };
        if kind == Kind::Offline {
            return self.submit();
        }
        let vals = self.answers();
        if !self.form_ok(&vals) || (kind == Kind::Rate && self.forms.score == 0) {
            return;
        }
        match kind {
            Kind::Prechat => {
                self.contact("prechat", &vals);
                self.store.set("pc", "1");
            }
            Kind::Rate => {
                let conv = self.forms.conv.clone();
                let score = self.forms.score;
                let r = obj();
                let cid = new_id("w");
                set(&r, "type", "rate");
                set(&r, "cid", cid.as_str());
                set(&r, "conv", conv.as_str());
                set(&r, "score", score);
                let c = get_str(&vals, "comment").unwrap_or_default();
                if !c.is_empty() {
                    set(&r, "comment", cut(c, MAX_RATING_COMMENT_BYTES));
                }
                self.chat.rated.raise(&conv, u64::from(score));
                self.queue_frame(Pending {
                    cid,
                    text: String::new(),
                    file: JsValue::UNDEFINED,
                    frame: r,
                });
            }
            _ => {
                let email = get_str(&vals, "email").unwrap_or_default();
                self.chat.email = email.clone();
                self.store.set("em", &email);
                self.forms.asked_mail = false;
                self.transcript(Some(email));
            }
        }
        self.save();
        self.render();
        let _ = self.view.input.focus();
    }

    /// A click in the form: a star (or thumb) chooses the score.
    pub(crate) fn form_click(&mut self, e: &web_sys::Event) {
        let s = get(&get(&get(e, "target"), "dataset"), "s");
        if let Some(n) = s.as_string().and_then(|s| s.parse().ok()) {
            self.forms.score = n;
            let thumbs = self.forms.rating == "thumbs";
            let args = [self.view.forms.clone().into(), n.into(), thumbs.into()];
            call(&self.fx, "star", &args);
        }
    }

    /// "Email me this chat": at once to the address known, else the
    /// address is asked first.
    pub(crate) fn ask_mail(&mut self) {
        let known = get_str(&self.me.user, "email").filter(|e| !e.is_empty());
        if !self.chat.email.is_empty() || known.is_some() {
            return self.transcript(None);
        }
        self.forms.asked_mail = true;
        self.render();
    }

    /// `transcript {conv, email?}`; the relay answers `mailed`.
    fn transcript(&self, email: Option<String>) {
        let Some(conv) = &self.chat.conv else { return };
        let f = obj();
        set(&f, "type", "transcript");
        set(&f, "conv", conv.as_str());
        if let Some(e) = email {
            set(&f, "email", e);
        }
        self.conn.send(&f);
    }

    /// `mailed`: the transcript is on its way.
    pub(crate) fn mailed(&mut self) {
        self.chat.msgs.push(Msg::notice(self.t.mailed.into()));
        self.render();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The widget's address check says what the relay's does, for plain
    /// addresses, odd ones and every character up to U+3000 (all of
    /// Unicode's white space) in the local part, the domain and at the end.
    #[test]
    fn the_address_check_is_the_relays() {
        let mut cases: Vec<String> = [
            "ada@example.com",
            "a@b.c",
            "@example.com",
            "ada@",
            "ada@.com",
            "ada@com",
            "ada@@example.com",
            "a@b@c.d",
            "ada example@x.com",
            "ada@x.com ",
            "",
            "@",
            "ünïcødé@例子.中国",
            "ada@x.",
            "a.b@c",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        cases.push(["a".repeat(250), "@x.com".into()].concat());
        cases.push(["a".repeat(247), "@x.com".into()].concat());
        for c in (0u32..=0x3001).filter_map(char::from_u32) {
            cases.push(format!("a{c}b@example.com"));
            cases.push(format!("ab@exa{c}mple.com"));
            cases.push(format!("ab@example.com{c}"));
        }
        for c in &cases {
            assert_eq!(email_ok(c), protocol::api::valid_email(c), "{c:?}");
        }
    }

    #[test]
    fn phones_and_cuts_follow_the_relays_rules() {
        assert!(phone_ok("+49 (30) 123-456 x7"));
        assert!(!phone_ok("call me"));
        assert_eq!(cut("邮箱".into(), 4), "邮");
        assert_eq!(cut("ada".into(), 10), "ada");
    }
}
