//! Validated ids. Every id on the wire is 1–[`MAX_ID_BYTES`] bytes of
//! `[A-Za-z0-9_-]` (cids also allow `.` and `:`), checked when a frame is
//! parsed, so no code past the parser sees a hostile id.

use crate::limits::MAX_ID_BYTES;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a string is not a valid id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdError {
    Empty,
    TooLong,
    BadChar,
}

impl fmt::Display for IdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdError::Empty => write!(f, "id is empty"),
            IdError::TooLong => write!(f, "id is longer than {MAX_ID_BYTES} bytes"),
            IdError::BadChar => write!(f, "id may only hold A-Z a-z 0-9 _ -"),
        }
    }
}

fn check(s: &str, extra: &[u8]) -> Result<(), IdError> {
    if s.is_empty() {
        return Err(IdError::Empty);
    }
    if s.len() > MAX_ID_BYTES {
        return Err(IdError::TooLong);
    }
    let ok = s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || extra.contains(&b));
    if ok {
        Ok(())
    } else {
        Err(IdError::BadChar)
    }
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $extra:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Validates `s` as this kind of id.
            pub fn new(s: impl Into<String>) -> Result<Self, IdError> {
                let s = s.into();
                check(&s, $extra)?;
                Ok(Self(s))
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(s: String) -> Result<Self, IdError> {
                Self::new(s)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

id_type!(
    /// A site's public id, the one in the snippet.
    SiteId, b""
);
id_type!(
    /// A visitor's random id, generated and kept by the widget, bound by the
    /// relay to a signed visitor token on first contact.
    VisitorId, b""
);
id_type!(
    /// A conversation id, minted by the relay (a ULID).
    ConvId, b""
);
id_type!(
    /// An agent's id, minted by the relay.
    AgentId, b""
);
id_type!(
    /// An upload's id, minted by the relay: hex of SHA-256 over the site,
    /// the uploader and the content's SHA-256, cut to 32 characters — the
    /// same bytes uploaded again by the same sender get the same id.
    FileId, b""
);
id_type!(
    /// A team of a site (`sales`, `support`), chosen by its owner; the
    /// host page picks one with `kefu('set', {team: 'sales'})`.
    TeamId, b""
);
id_type!(
    /// A client message id: unique per sender, chosen by the client, the key
    /// of idempotent sends (same cid again → same ack, stored once).
    Cid, b".:"
);

impl std::error::Error for IdError {}

impl IdError {
    /// Mirrors `Display` as a static str for serde's error path.
    pub fn as_str(&self) -> &'static str {
        match self {
            IdError::Empty => "id is empty",
            IdError::TooLong => "id is too long",
            IdError::BadChar => "id holds a character outside A-Z a-z 0-9 _ -",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_validated_when_parsed() {
        assert!(SiteId::new("demo-site_1").is_ok());
        assert_eq!(SiteId::new(""), Err(IdError::Empty));
        assert_eq!(SiteId::new("a".repeat(65)), Err(IdError::TooLong));
        assert_eq!(SiteId::new("a/b"), Err(IdError::BadChar));
        assert_eq!(SiteId::new("<script>"), Err(IdError::BadChar));
        assert!(Cid::new("m:1.2").is_ok());
        assert!(VisitorId::new("m:1").is_err());
        let parsed: Result<SiteId, _> = serde_json::from_str("\"bad id\"");
        assert!(parsed.is_err());
    }
}
