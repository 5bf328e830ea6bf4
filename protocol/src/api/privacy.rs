//! Blocking visitors and visitor data rights: the bodies of
//! `/v1/api/sites/{site}/blocks`, `…/visitors/{visitor}/erase` and
//! `…/erasures`, and the IP-range parsing both the relay and the console
//! use, so the console refuses exactly what the relay refuses.

use crate::limits::MAX_BLOCK_REASON_CHARS;
use crate::{AgentId, ApiError, ErrorCode, VisitorId};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What replaces every text of an erased visitor's conversations (message
/// texts, notes, rating comments, auto-replies): the events stay, with
/// their seqs, so clients' cursors stay valid.
pub const ERASED_TEXT: &str = "[erased]";

/// What an erase must be confirmed with (or the visitor's name).
pub const ERASE_CONFIRMATION: &str = "ERASE";

/// An IP address range: a network address and a prefix length (a single
/// address is a /32 or a /128). IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`,
/// as a dual-stack socket reports IPv4 peers) match IPv4 ranges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpRange {
    net: IpAddr,
    prefix: u8,
}

impl IpRange {
    /// Parses `a.b.c.d`, `a.b.c.d/n`, an IPv6 address or `addr/n`; the
    /// host bits are cleared (`10.1.2.3/24` is `10.1.2.0/24`).
    pub fn parse(s: &str) -> Result<IpRange, String> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("{s:?} is not an IP address or CIDR range"))?;
        let addr = unmapped(addr);
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => match p.parse::<u8>() {
                Ok(n) if n <= max && !p.starts_with('+') => n,
                _ => return Err(format!("{s:?}: the prefix length must be 0–{max}")),
            },
        };
        Ok(IpRange {
            net: mask(addr, prefix),
            prefix,
        })
    }

    /// The range holding `ip` with `prefix` bits (the console's "its /24").
    pub fn around(ip: IpAddr, prefix: u8) -> IpRange {
        let ip = unmapped(ip);
        let max = if ip.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.min(max);
        IpRange {
            net: mask(ip, prefix),
            prefix,
        }
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = unmapped(ip);
        ip.is_ipv4() == self.net.is_ipv4() && mask(ip, self.prefix) == self.net
    }

    /// Whether it is one address (no `/n` shown).
    pub fn is_single(&self) -> bool {
        self.prefix == if self.net.is_ipv4() { 32 } else { 128 }
    }
}

impl std::fmt::Display for IpRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_single() {
            write!(f, "{}", self.net)
        } else {
            write!(f, "{}/{}", self.net, self.prefix)
        }
    }
}

/// `::ffff:a.b.c.d` → `a.b.c.d`; anything else as it is.
fn unmapped(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

fn mask(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(a) => {
            let bits = u32::from(a);
            let m = if prefix == 0 {
                0
            } else {
                u32::MAX << (32 - prefix as u32)
            };
            IpAddr::V4(Ipv4Addr::from(bits & m))
        }
        IpAddr::V6(a) => {
            let bits = u128::from(a);
            let m = if prefix == 0 {
                0
            } else {
                u128::MAX << (128 - prefix as u32)
            };
            IpAddr::V6(Ipv6Addr::from(bits & m))
        }
    }
}

/// `POST /v1/api/sites/{site}/blocks`: block a visitor id, an IP or an IP
/// range (CIDR), or a visitor and an IP range together (one block, lifted
/// together). At least one of `visitor` and `ip`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewBlock {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visitor: Option<VisitorId>,
    /// `a.b.c.d`, `a.b.c.0/24`, an IPv6 address or range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl NewBlock {
    /// Something to block, a valid range, a bounded one-line reason; the
    /// range as parsed.
    pub fn validate(&self) -> Result<Option<IpRange>, ApiError> {
        let bad = |m: String| ApiError::new(ErrorCode::BadRequest, m);
        let ip = match self.ip.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => Some(IpRange::parse(s).map_err(bad)?),
            None => None,
        };
        if self.visitor.is_none() && ip.is_none() {
            return Err(bad(
                "give a visitor id, an IP address or a CIDR range".into()
            ));
        }
        if let Some(r) = &self.reason {
            if r.chars().count() > MAX_BLOCK_REASON_CHARS {
                return Err(ApiError::new(
                    ErrorCode::TooLarge,
                    format!("reason: at most {MAX_BLOCK_REASON_CHARS} characters"),
                ));
            }
        }
        Ok(ip)
    }
}

/// A block as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockView {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visitor: Option<VisitorId>,
    /// The address or CIDR range, normalised (`10.1.2.0/24`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Who blocked, and their name then.
    pub by: AgentId,
    pub by_name: String,
    /// When (ms since epoch).
    pub at: u64,
}

/// `POST /v1/api/sites/{site}/visitors/{visitor}/erase`: confirmed by
/// [`ERASE_CONFIRMATION`] or the visitor's name as the profile shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EraseRequest {
    #[serde(default)]
    pub confirm: String,
}

/// One erasure, as the log keeps it (`GET /v1/api/sites/{site}/erasures`)
/// and the erase answers it: who erased which visitor, when, and what.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErasureView {
    pub id: String,
    pub visitor: Option<VisitorId>,
    pub by: Option<AgentId>,
    pub by_name: String,
    /// When the erase was asked for, and when it finished (ms).
    pub at: u64,
    #[serde(default)]
    pub finished: u64,
    /// Conversations whose texts were replaced.
    pub conversations: u64,
    /// Events whose texts were replaced (their seqs stay).
    pub events: u64,
    /// Uploads deleted (records and bytes).
    pub files: u64,
    /// Page views removed.
    pub pages: u64,
    /// Outbound jobs (mail, webhooks, WeChat, push) cancelled.
    pub jobs: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ranges parse, normalise and match v4, v6 and v4-mapped addresses;
    /// bad input is refused with a reason.
    #[test]
    fn ip_ranges_parse_and_match() {
        let r = IpRange::parse("10.1.2.3/24").expect("range");
        assert_eq!(r.to_string(), "10.1.2.0/24");
        assert!(r.contains("10.1.2.200".parse().expect("ip")));
        assert!(r.contains("::ffff:10.1.2.9".parse().expect("ip")));
        assert!(!r.contains("10.1.3.1".parse().expect("ip")));
        let one = IpRange::parse(" 192.0.2.7 ").expect("one");
        assert_eq!(one.to_string(), "192.0.2.7");
        assert!(one.contains("192.0.2.7".parse().expect("ip")));
        assert!(!one.contains("192.0.2.8".parse().expect("ip")));
        let v6 = IpRange::parse("2001:db8:1:2::5/64").expect("v6");
        assert_eq!(v6.to_string(), "2001:db8:1:2::/64");
        assert!(v6.contains("2001:db8:1:2:ffff::1".parse().expect("ip")));
        assert!(!v6.contains("2001:db8:1:3::1".parse().expect("ip")));
        assert!(!v6.contains("10.1.2.3".parse().expect("ip")));
        assert!(IpRange::parse("0.0.0.0/0")
            .expect("all")
            .contains("8.8.8.8".parse().expect("ip")));
        for bad in [
            "",
            "10.1.2.3/33",
            "10.1.2/24",
            "::1/129",
            "x",
            "10.0.0.0/-1",
            "10.0.0.0/+8",
            "1.2.3.4/",
        ] {
            assert!(IpRange::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            IpRange::around("2001:db8::1".parse().expect("ip"), 64).to_string(),
            "2001:db8::/64"
        );
    }

    #[test]
    fn a_block_needs_something_to_block() {
        assert!(NewBlock::default().validate().is_err());
        let b = NewBlock {
            ip: Some("300.1.1.1".into()),
            ..NewBlock::default()
        };
        assert_eq!(b.validate().map_err(|e| e.code), Err(ErrorCode::BadRequest));
        let b = NewBlock {
            visitor: VisitorId::new("v1").ok(),
            reason: Some("x".repeat(MAX_BLOCK_REASON_CHARS + 1)),
            ..NewBlock::default()
        };
        assert_eq!(b.validate().map_err(|e| e.code), Err(ErrorCode::TooLarge));
    }
}
