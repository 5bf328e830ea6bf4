//! `--imap-url`: `imaps://user:pass@host[:port]/MAILBOX` (TLS from the
//! first byte, port 993) or `imap://…` (port 143, upgraded with STARTTLS).
//!
//! User and password are percent-decoded (`%40` for an `@` in a user
//! name). Query flags:
//! - `starttls=required|auto|no` (imap:// only). `required` (the default
//!   for any host but loopback) refuses to log in unless the server
//!   upgrades; `auto` (the default on loopback) upgrades when the server
//!   takes STARTTLS; `no` logs in in the clear (a proxy on the same box).
//! - `idle=no`: poll even if the server has IDLE.
//! - `poll_s=N`: seconds between polls without IDLE (default
//!   [`POLL_INTERVAL`]).
//! - `ca=/path/cert.pem`: trust this certificate (a private CA or a
//!   self-signed server) beside the built-in web roots.

use protocol::limits::{MAX_IMAP_POLL_S, MIN_IMAP_POLL_S};
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Seconds between looks at a mailbox whose server has no IDLE: a reply by
/// email is not a chat message, and half a minute keeps idle servers idle.
pub const POLL_INTERVAL: Duration = Duration::from_secs(30);

/// How the connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// TLS from the first byte (`imaps://`).
    Tls,
    /// STARTTLS, or no login at all.
    StartTlsRequired,
    /// STARTTLS when the server takes it, else in the clear.
    StartTlsAuto,
    /// In the clear.
    Plain,
}

/// A parsed `--imap-url`.
#[derive(Clone, PartialEq, Eq)]
pub struct ImapUrl {
    pub security: Security,
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: String,
    pub mailbox: String,
    /// Use IDLE where the server has it.
    pub idle: bool,
    pub poll: Duration,
    pub ca: Option<PathBuf>,
}

impl std::fmt::Debug for ImapUrl {
    // The password never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.redacted())
    }
}

impl ImapUrl {
    /// The URL without its password, for logs.
    pub fn redacted(&self) -> String {
        let scheme = if self.security == Security::Tls {
            "imaps"
        } else {
            "imap"
        };
        format!(
            "{scheme}://{}@{}:{}/{}",
            self.user, self.host, self.port, self.mailbox
        )
    }

    /// Names the mailbox for the UID bookkeeping (another server, account
    /// or folder starts afresh).
    pub fn mailbox_key(&self) -> String {
        format!(
            "{}@{}:{}/{}",
            self.user.to_ascii_lowercase(),
            self.host.to_ascii_lowercase(),
            self.port,
            self.mailbox
        )
    }

    pub fn parse(s: &str) -> Result<ImapUrl, String> {
        let u = url::Url::parse(s.trim()).map_err(|e| format!("not a URL: {e}"))?;
        let tls = match u.scheme() {
            "imaps" => true,
            "imap" => false,
            other => return Err(format!("scheme {other:?}: use imaps:// or imap://")),
        };
        let host = u
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or("no host")?
            .trim_matches(|c| c == '[' || c == ']')
            .to_string();
        let port = u.port().unwrap_or(if tls { 993 } else { 143 });
        let decode = |p: &str| {
            percent_encoding::percent_decode_str(p)
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| "user or password is not UTF-8 once decoded".to_string())
        };
        let user = decode(u.username())?;
        let password = decode(u.password().unwrap_or(""))?;
        if user.is_empty() {
            return Err("no user (imaps://user:password@host/INBOX)".into());
        }
        let path = u.path().trim_start_matches('/');
        let mailbox = match decode(path)? {
            m if m.is_empty() => "INBOX".to_string(),
            m => m,
        };
        if mailbox
            .chars()
            .any(|c| c.is_control() || c == '"' || c == '\\')
        {
            return Err(format!(
                "mailbox {mailbox:?} has a character kefu does not quote"
            ));
        }
        let loopback = host == "localhost"
            || host
                .parse::<IpAddr>()
                .map(|ip| ip.is_loopback())
                .unwrap_or(false);
        let mut security = match (tls, loopback) {
            (true, _) => Security::Tls,
            (false, true) => Security::StartTlsAuto,
            (false, false) => Security::StartTlsRequired,
        };
        let mut idle = true;
        let mut poll = POLL_INTERVAL;
        let mut ca = None;
        for (k, v) in u.query_pairs() {
            match (k.as_ref(), v.as_ref()) {
                ("starttls", _) if tls => return Err("starttls= is for imap:// only".into()),
                ("starttls", "required") => security = Security::StartTlsRequired,
                ("starttls", "auto") => security = Security::StartTlsAuto,
                ("starttls", "no") => security = Security::Plain,
                ("idle", "no") => idle = false,
                ("idle", "yes") => idle = true,
                ("poll_s", n) => {
                    let n: u64 = n
                        .parse()
                        .ok()
                        .filter(|n| (MIN_IMAP_POLL_S..=MAX_IMAP_POLL_S).contains(n))
                        .ok_or_else(|| {
                            format!("poll_s must be {MIN_IMAP_POLL_S}–{MAX_IMAP_POLL_S}")
                        })?;
                    poll = Duration::from_secs(n);
                }
                ("ca", p) if !p.is_empty() => ca = Some(PathBuf::from(p)),
                (k, v) => return Err(format!("unknown query flag {k}={v}")),
            }
        }
        Ok(ImapUrl {
            security,
            host,
            port,
            user,
            password,
            mailbox,
            idle,
            poll,
            ca,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imaps_with_encoded_credentials() {
        let u = ImapUrl::parse("imaps://me%40shop.example:p%3Ass%2Fw@mail.example/Support%20In")
            .expect("parses");
        assert_eq!(u.security, Security::Tls);
        assert_eq!((u.host.as_str(), u.port), ("mail.example", 993));
        assert_eq!(u.user, "me@shop.example");
        assert_eq!(u.password, "p:ss/w");
        assert_eq!(u.mailbox, "Support In");
        assert!(u.idle);
        assert_eq!(u.poll, POLL_INTERVAL);
        assert!(!format!("{u:?}").contains("p:ss"), "no password in Debug");
    }

    #[test]
    fn imap_defaults_and_flags() {
        let u = ImapUrl::parse("imap://u:p@mail.example").expect("parses");
        assert_eq!(u.security, Security::StartTlsRequired);
        assert_eq!((u.port, u.mailbox.as_str()), (143, "INBOX"));
        let u = ImapUrl::parse("imap://u:p@127.0.0.1:1143/INBOX?idle=no&poll_s=2").expect("ok");
        assert_eq!(u.security, Security::StartTlsAuto);
        assert!(!u.idle);
        assert_eq!(u.poll, Duration::from_secs(2));
        let u = ImapUrl::parse("imap://u:p@mail.example/?starttls=no").expect("parses");
        assert_eq!(u.security, Security::Plain);
    }

    #[test]
    fn bad_urls_are_refused() {
        for bad in [
            "http://u:p@h/INBOX",
            "imaps://h/INBOX",
            "imaps://u:p@h/INBOX?starttls=no",
            "imap://u:p@h/INBOX?poll_s=0",
            "imap://u:p@h/INBOX?frobnicate=1",
            "imap://u:p@h/a%22b",
            "not a url",
        ] {
            assert!(ImapUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
