//! [`FrameError`] and the field checks client frames pass before the
//! relay acts on them.

use super::records::*;
use crate::error::ErrorCode;
use crate::limits::*;

/// A refused client frame: the code and a message that names the problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameError {
    pub code: ErrorCode,
    pub message: String,
}

impl FrameError {
    pub(super) fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

pub(super) fn too_long(field: &str, len: usize, max: usize) -> Result<(), FrameError> {
    if len > max {
        Err(FrameError::new(
            ErrorCode::TooLarge,
            format!("{field} is {len} bytes, at most {max} allowed"),
        ))
    } else {
        Ok(())
    }
}

pub(super) fn bad(message: impl Into<String>) -> FrameError {
    FrameError::new(ErrorCode::BadFrame, message)
}

/// Message text: non-empty after trimming, bounded, no NUL.
pub fn validate_text(text: &str) -> Result<(), FrameError> {
    too_long("text", text.len(), MAX_TEXT_BYTES)?;
    if text.trim().is_empty() {
        return Err(bad("text is empty"));
    }
    if text.contains('\0') {
        return Err(bad("text holds a NUL character"));
    }
    Ok(())
}

pub(super) fn validate_url(field: &str, url: &str) -> Result<(), FrameError> {
    too_long(field, url.len(), MAX_URL_BYTES)?;
    if url.contains(char::is_control) {
        return Err(bad(format!("{field} holds control characters")));
    }
    Ok(())
}

/// Whether `url` is a web address, `http://` or `https://` (any case) with
/// a host: the only page URLs and referrers the relay stores. A
/// `javascript:`, `data:` or `file:` URL is not a page a visitor can be on.
pub fn is_web_url(url: &str) -> bool {
    let Some((scheme, rest)) = url.split_once("://") else {
        return false;
    };
    let web = scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https");
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    web && !host.is_empty()
}

/// Bounds on host-supplied identity.
pub fn validate_user(user: &UserInfo) -> Result<(), FrameError> {
    if let Some(id) = &user.id {
        too_long("user.id", id.len(), MAX_ID_BYTES * 2)?;
        if id.is_empty() || id.contains(char::is_control) {
            return Err(bad("user.id is empty or holds control characters"));
        }
    }
    if let Some(name) = &user.name {
        too_long("user.name", name.len(), MAX_NAME_BYTES)?;
    }
    if let Some(email) = &user.email {
        too_long("user.email", email.len(), MAX_EMAIL_BYTES)?;
    }
    if let Some(hash) = &user.user_hash {
        too_long("user.user_hash", hash.len(), 128)?;
    }
    if user.attributes.len() > MAX_ATTRIBUTES {
        return Err(FrameError::new(
            ErrorCode::TooLarge,
            format!(
                "user.attributes has {} entries, at most {MAX_ATTRIBUTES} allowed",
                user.attributes.len()
            ),
        ));
    }
    for (k, v) in &user.attributes {
        too_long("attribute key", k.len(), MAX_ATTR_KEY_BYTES)?;
        match v {
            serde_json::Value::String(s) => {
                too_long("attribute value", s.len(), MAX_ATTR_VALUE_BYTES)?
            }
            serde_json::Value::Number(_) | serde_json::Value::Bool(_) | serde_json::Value::Null => {
            }
            _ => {
                return Err(bad(format!(
                    "attribute {k:?} must be a string, number or boolean"
                )))
            }
        }
    }
    Ok(())
}

/// Whether `s` holds a control character (CR, LF, NUL …): never in an
/// address or a one-line field, so nothing a visitor types can reach a mail
/// header as more than one header's text.
pub fn has_control(s: &str) -> bool {
    s.contains(char::is_control)
}

/// Bounds on a form answer: lengths, one-line fields, a real address.
pub fn validate_contact(c: &crate::offline::Contact) -> Result<(), FrameError> {
    if let Some(n) = &c.name {
        too_long("name", n.len(), MAX_NAME_BYTES)?;
        if has_control(n) {
            return Err(bad("name holds control characters"));
        }
    }
    if let Some(e) = &c.email {
        if !e.is_empty() && (!crate::api::valid_email(e) || has_control(e)) {
            return Err(bad("email is not an address"));
        }
    }
    if let Some(p) = &c.phone {
        too_long("phone", p.len(), MAX_PHONE_BYTES)?;
        if !p
            .chars()
            .all(|ch| ch.is_ascii_digit() || " +-().x".contains(ch))
        {
            return Err(bad("phone may hold digits, spaces and + - ( ) . x only"));
        }
    }
    if c.fields.len() > MAX_FORM_FIELDS {
        return Err(FrameError::new(
            ErrorCode::TooLarge,
            format!("at most {MAX_FORM_FIELDS} fields"),
        ));
    }
    for (k, v) in &c.fields {
        if !crate::offline::valid_field_key(k) {
            return Err(bad(format!(
                "field key {:?} is not one",
                k.chars().take(32).collect::<String>()
            )));
        }
        too_long("field value", v.len(), MAX_FORM_VALUE_BYTES)?;
        if has_control(v) {
            return Err(bad("field values hold no control characters"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_urls_are_web_urls() {
        assert!(is_web_url("https://shop.example/a?b#c"));
        assert!(is_web_url("HTTP://example.com"));
        assert!(!is_web_url("javascript:alert(1)"));
        assert!(!is_web_url("javascript://example.com/%0aalert(1)"));
        assert!(!is_web_url("data:text/html,<b>x</b>"));
        assert!(!is_web_url("file:///etc/passwd"));
        assert!(!is_web_url("https:///nohost"));
        assert!(!is_web_url("/relative"));
    }

    #[test]
    fn user_attributes_are_bounded() {
        let mut u = UserInfo::default();
        for i in 0..=MAX_ATTRIBUTES {
            u.attributes.insert(format!("k{i}"), serde_json::json!(i));
        }
        assert_eq!(
            validate_user(&u).expect_err("must be refused").code,
            ErrorCode::TooLarge
        );
        let mut u = UserInfo::default();
        u.attributes
            .insert("k".into(), serde_json::json!({"nested": 1}));
        assert_eq!(
            validate_user(&u).expect_err("must be refused").code,
            ErrorCode::BadFrame
        );
    }
}
