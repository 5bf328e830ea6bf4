//! Reply addresses and Message-IDs: how a mail kefu sent finds its way
//! back to its conversation when someone answers it.
//!
//! - A reply address is the relay's sender address with a signed token in
//!   its local part: `kefu+TOKEN@example.com` (sub-addressing, which most
//!   mail systems deliver to `kefu@…`). The token names the conversation
//!   and who the mail went to (the visitor, or one agent), and carries a
//!   truncated HMAC-SHA256 under the relay's mail key
//!   ([`crate::store::Store::mail_key`]): a forged, altered or another
//!   relay's token is refused, so nobody can post into a conversation by
//!   guessing its id.
//! - The token is base32 (RFC 4648's extended-hex alphabet, lowercase,
//!   decoded case-insensitively), since mail systems may fold the case of
//!   a local part. Relay-minted ids (ULIDs) are packed as 16 bytes.
//! - A Message-ID is `<kefu.{conv}.{job}@{domain}>`: stable per job (a
//!   repeat after a crash carries the same one), and it names the
//!   conversation for `In-Reply-To` / `References` threading. It is not
//!   signed — it says which conversation a reply is about, never who may
//!   write in it: the reply address (or the sender) decides that.

use data_encoding::BASE32_DNSSEC;
use hmac::{Hmac, Mac};
use protocol::{AgentId, ConvId};
use sha2::Sha256;

/// Bytes of HMAC-SHA256 a token keeps: 80 bits, beyond any online
/// guessing, short enough for a local part.
pub const TOKEN_MAC_BYTES: usize = 10;

/// What separates the sender's local part from the token.
const SEPARATOR: char = '+';

/// Who a mail (and so a reply to it) is for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Recipient {
    /// The conversation's visitor.
    Visitor,
    /// One agent of the site.
    Agent(AgentId),
}

/// The relay's mail key: signs reply tokens (and, through the chat page's
/// scheme, nothing else — links use the site's own secret).
#[derive(Clone)]
pub struct MailKey {
    key: [u8; 32],
}

impl std::fmt::Debug for MailKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MailKey(…)")
    }
}

// Flags of a token's first byte.
const FLAG_AGENT: u8 = 0x01;
const FLAG_CONV_ULID: u8 = 0x02;
const FLAG_AGENT_ULID: u8 = 0x04;
const FLAG_KNOWN: u8 = FLAG_AGENT | FLAG_CONV_ULID | FLAG_AGENT_ULID;

/// An id as 16 bytes when it is a ULID in its canonical spelling (what
/// the relay mints), so it survives the round trip exactly.
fn as_ulid(id: &str) -> Option<[u8; 16]> {
    let u = ulid::Ulid::from_string(id).ok()?;
    (u.to_string() == id).then(|| u.0.to_be_bytes())
}

/// Appends `id`: 16 bytes if it is a ULID (returns true), else its length
/// and bytes.
fn put_id(out: &mut Vec<u8>, id: &str) -> bool {
    if let Some(b) = as_ulid(id) {
        out.extend_from_slice(&b);
        true
    } else {
        // Ids are at most MAX_ID_BYTES (< 256) by construction.
        out.push(id.len().min(255) as u8);
        out.extend_from_slice(&id.as_bytes()[..id.len().min(255)]);
        false
    }
}

/// Reads an id written by [`put_id`] from the front of `b`.
fn take_id(b: &mut &[u8], ulid: bool) -> Option<String> {
    if ulid {
        let (head, rest) = b.split_first_chunk::<16>()?;
        *b = rest;
        return Some(ulid::Ulid(u128::from_be_bytes(*head)).to_string());
    }
    let (&n, rest) = b.split_first()?;
    let n = usize::from(n);
    if rest.len() < n {
        return None;
    }
    let s = std::str::from_utf8(&rest[..n]).ok()?.to_string();
    *b = &rest[n..];
    Some(s)
}

impl MailKey {
    pub fn new(key: [u8; 32]) -> MailKey {
        MailKey { key }
    }

    fn mac(&self, payload: &[u8]) -> [u8; TOKEN_MAC_BYTES] {
        let mut m = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        m.update(b"kefu reply token\0");
        m.update(payload);
        let full = m.finalize().into_bytes();
        let mut out = [0u8; TOKEN_MAC_BYTES];
        out.copy_from_slice(&full[..TOKEN_MAC_BYTES]);
        out
    }

    /// The token for mail about `conv` to `to`.
    pub fn token(&self, conv: &ConvId, to: &Recipient) -> String {
        let mut payload = vec![0u8];
        let mut flags = 0u8;
        if put_id(&mut payload, conv.as_str()) {
            flags |= FLAG_CONV_ULID;
        }
        if let Recipient::Agent(a) = to {
            flags |= FLAG_AGENT;
            if put_id(&mut payload, a.as_str()) {
                flags |= FLAG_AGENT_ULID;
            }
        }
        payload[0] = flags;
        let mac = self.mac(&payload);
        payload.extend_from_slice(&mac);
        BASE32_DNSSEC.encode(&payload)
    }

    /// What a token names, if this relay's key signed it as it is.
    pub fn read_token(&self, token: &str) -> Option<(ConvId, Recipient)> {
        let bytes = BASE32_DNSSEC.decode(token.as_bytes()).ok()?;
        if bytes.len() < 1 + TOKEN_MAC_BYTES {
            return None;
        }
        let (payload, mac) = bytes.split_at(bytes.len() - TOKEN_MAC_BYTES);
        // Constant-time comparison of the tag.
        let mut m = Hmac::<Sha256>::new_from_slice(&self.key).ok()?;
        m.update(b"kefu reply token\0");
        m.update(payload);
        m.verify_truncated_left(mac).ok()?;
        let flags = payload[0];
        if flags & !FLAG_KNOWN != 0 {
            return None;
        }
        let mut rest = &payload[1..];
        let conv = ConvId::new(take_id(&mut rest, flags & FLAG_CONV_ULID != 0)?).ok()?;
        let to = if flags & FLAG_AGENT != 0 {
            Recipient::Agent(AgentId::new(take_id(&mut rest, flags & FLAG_AGENT_ULID != 0)?).ok()?)
        } else {
            Recipient::Visitor
        };
        rest.is_empty().then_some((conv, to))
    }

    /// The reply address for mail about `conv` to `to`, sent from `from`
    /// (a bare address, `kefu@example.com`): `kefu+TOKEN@example.com`.
    pub fn reply_address(&self, from: &str, conv: &ConvId, to: &Recipient) -> String {
        let (local, domain) = from.rsplit_once('@').unwrap_or((from, "localhost"));
        format!("{local}{SEPARATOR}{}@{domain}", self.token(conv, to))
    }

    /// The conversation and recipient a reply address names, if it is one
    /// of this relay's and untampered. Takes a bare address (`<…>` around
    /// it is tolerated).
    pub fn read_reply_address(&self, addr: &str) -> Option<(ConvId, Recipient)> {
        let addr = addr.trim();
        let addr = addr
            .strip_prefix('<')
            .and_then(|a| a.strip_suffix('>'))
            .unwrap_or(addr);
        let (local, _domain) = addr.rsplit_once('@')?;
        let (_, token) = local.rsplit_once(SEPARATOR)?;
        self.read_token(token)
    }
}

impl MailKey {
    /// The signature of an unsubscribe link for `email` on `site` (hex
    /// HMAC-SHA256; the link does not expire: leaving must always work).
    pub fn unsubscribe_sig(&self, site: &protocol::SiteId, email: &str) -> String {
        let mut m = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        m.update(b"kefu unsubscribe\0");
        m.update(site.as_str().as_bytes());
        m.update(b"\0");
        m.update(email.to_ascii_lowercase().as_bytes());
        m.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Whether `sig` is [`MailKey::unsubscribe_sig`]'s (constant time).
    pub fn check_unsubscribe(&self, site: &protocol::SiteId, email: &str, sig: &str) -> bool {
        let want = self.unsubscribe_sig(site, email);
        want.len() == sig.len()
            && want
                .bytes()
                .zip(sig.to_ascii_lowercase().bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

/// The Message-ID of mail job `job` about `conv`, from `domain`.
pub fn message_id(job: &str, conv: &ConvId, domain: &str) -> String {
    format!("<kefu.{conv}.{job}@{domain}>")
}

/// The conversation a Message-ID of [`message_id`]'s form names (for
/// `In-Reply-To` / `References`); `None` for anyone else's.
pub fn conv_of_message_id(id: &str) -> Option<ConvId> {
    let id = id.trim();
    let id = id
        .strip_prefix('<')
        .and_then(|i| i.strip_suffix('>'))
        .unwrap_or(id);
    let (left, domain) = id.rsplit_once('@')?;
    if domain.is_empty() {
        return None;
    }
    let rest = left.strip_prefix("kefu.")?;
    let (conv, job) = rest.split_once('.')?;
    if job.is_empty() || job.contains('.') {
        return None;
    }
    ConvId::new(conv).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv() -> ConvId {
        ConvId::new(ulid::Ulid::new().to_string()).expect("id")
    }

    /// A reply address names its conversation and recipient again, for the
    /// visitor and for an agent, with relay-minted and other ids alike;
    /// its token survives a mail system folding its case.
    #[test]
    fn reply_addresses_round_trip() {
        let key = MailKey::new([7; 32]);
        let agent = AgentId::new(ulid::Ulid::new().to_string()).expect("id");
        let cases = [
            (conv(), Recipient::Visitor),
            (conv(), Recipient::Agent(agent)),
            (
                ConvId::new("c1").expect("id"),
                Recipient::Agent(AgentId::new("ada_2").expect("id")),
            ),
            (ConvId::new("01hzzzzz").expect("id"), Recipient::Visitor),
        ];
        for (c, to) in cases {
            let addr = key.reply_address("kefu@mail.example", &c, &to);
            let (local, domain) = addr.rsplit_once('@').expect("@");
            assert_eq!(domain, "mail.example");
            assert!(local.starts_with("kefu+"), "{addr}");
            assert!(
                local
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'+'),
                "{addr}"
            );
            assert_eq!(key.read_reply_address(&addr), Some((c.clone(), to.clone())));
            assert_eq!(
                key.read_reply_address(&format!("<{}>", addr.to_uppercase())),
                Some((c, to))
            );
        }
    }

    /// Any change to a token — one character, cut short, lengthened,
    /// another conversation's payload — is refused.
    #[test]
    fn tampered_tokens_are_refused() {
        let key = MailKey::new([7; 32]);
        let c = conv();
        let token = key.token(&c, &Recipient::Visitor);
        for i in 0..token.len() {
            let mut t: Vec<u8> = token.clone().into_bytes();
            t[i] = if t[i] == b'0' { b'1' } else { b'0' };
            let t = String::from_utf8(t).expect("ascii");
            assert_eq!(key.read_token(&t), None, "changed at {i}");
        }
        assert_eq!(key.read_token(&token[..token.len() - 2]), None);
        assert_eq!(key.read_token(&format!("{token}00")), None);
        assert_eq!(key.read_token(""), None);
        assert_eq!(key.read_token("not base32!"), None);
        // A visitor's token does not become an agent's.
        let agent_token = key.token(&c, &Recipient::Agent(AgentId::new("a1").expect("id")));
        assert_ne!(token, agent_token);
        assert_eq!(key.read_reply_address("kefu@mail.example"), None);
        assert_eq!(key.read_reply_address(&format!("kefu+{token}")), None);
    }

    /// A token another relay's key signed means nothing here.
    #[test]
    fn another_relays_token_is_refused() {
        let ours = MailKey::new([7; 32]);
        let theirs = MailKey::new([8; 32]);
        let addr = theirs.reply_address("kefu@mail.example", &conv(), &Recipient::Visitor);
        assert!(theirs.read_reply_address(&addr).is_some());
        assert_eq!(ours.read_reply_address(&addr), None);
    }

    /// An unsubscribe signature holds for its site and address only.
    #[test]
    fn unsubscribe_signatures_hold_for_their_address() {
        let key = MailKey::new([7; 32]);
        let s = protocol::SiteId::new("s").expect("id");
        let sig = key.unsubscribe_sig(&s, "Ada@Example.com");
        assert!(key.check_unsubscribe(&s, "ada@example.com", &sig));
        assert!(!key.check_unsubscribe(&s, "bob@example.com", &sig));
        assert!(!key.check_unsubscribe(
            &protocol::SiteId::new("t").expect("id"),
            "ada@example.com",
            &sig
        ));
        assert!(!MailKey::new([8; 32]).check_unsubscribe(&s, "ada@example.com", &sig));
        assert!(!key.check_unsubscribe(&s, "ada@example.com", &sig[..10]));
    }

    /// A Message-ID names its conversation; other people's ids name none.
    #[test]
    fn message_ids_name_their_conversation() {
        let c = conv();
        let job = ulid::Ulid::new().to_string();
        let id = message_id(&job, &c, "mail.example");
        assert_eq!(id, format!("<kefu.{c}.{job}@mail.example>"));
        assert_eq!(conv_of_message_id(&id), Some(c.clone()));
        assert_eq!(conv_of_message_id(&id[1..id.len() - 1]), Some(c));
        for other in [
            "<CAF=abc@mail.gmail.com>",
            "<kefu.@x>",
            "<kefu.c1.@x>",
            "<kefu.c1.j1@>",
            "<kefu.c 1.j1@x>",
            "<kefu.c1.j1.j2@x>",
            "",
        ] {
            assert_eq!(conv_of_message_id(other), None, "{other}");
        }
    }
}
