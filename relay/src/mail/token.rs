//! Reply addresses, chat-link tokens and Message-IDs: how a mail kefu
//! sent finds its way back to its conversation when someone answers it
//! or follows its link.
//!
//! - A reply address is the relay's sender address with a signed token in
//!   its local part: `kefu+TOKEN@example.com` (sub-addressing, which most
//!   mail systems deliver to `kefu@…`). The token names the conversation
//!   and who the mail went to (the visitor, or one agent by a 4-byte keyed
//!   tag of their id, resolved among the site's agents), and carries a
//!   truncated HMAC-SHA256 under the relay's mail key
//!   ([`crate::store::Store::mail_key`]): a forged, altered or another
//!   relay's token is refused, so nobody can post into a conversation by
//!   guessing its id. Every reply address's local part fits RFC 5321's
//!   [`MAX_REPLY_LOCAL_PART`] octets (the sender's local part is checked
//!   at start for room: [`MAX_REPLY_TOKEN_CHARS`]).
//! - The token is base32 (RFC 4648's extended-hex alphabet, lowercase,
//!   decoded case-insensitively), since mail systems may fold the case of
//!   a local part. Relay-minted conversation ids (ULIDs) are packed as 16
//!   bytes; another id is written out, and if it leaves no room the mail
//!   gets the plain sender address (replies then thread by Message-ID,
//!   taken only from the visitor's or an agent's known address).
//! - A chat-link token (`/chat/{site}?resume=TOKEN` in visitor mail) names
//!   the site's visitor and when it expires under the same key: the hosted
//!   page resumes that visitor. It vouches for no identity: the page is
//!   verified only when the stored visitor already is.
//! - A password-reset token (`/v1/mail/password-reset?token=…`) names an
//!   agent and when it expires, signed under the same key over the
//!   agent's current password hash: a new password (this link's or any
//!   other) kills every earlier link.
//! - A Message-ID is `<kefu.{conv}.{job}@{domain}>`: stable per job (a
//!   repeat after a crash carries the same one), and it names the
//!   conversation for `In-Reply-To` / `References` threading. It is not
//!   signed — it says which conversation a reply is about, never who may
//!   write in it: the reply address (or the sender) decides that.

use data_encoding::{BASE32_DNSSEC, BASE64URL_NOPAD};
use hmac::{Hmac, Mac};
use protocol::limits::{MAX_ID_BYTES, MAX_REPLY_LOCAL_PART};
use protocol::{AgentId, ConvId, SiteId, VisitorId};
use sha2::Sha256;

/// Bytes of HMAC-SHA256 a reply token keeps: 48 bits, far beyond online
/// guessing over SMTP, short enough that an agent's address fits 64
/// octets.
pub const TOKEN_MAC_BYTES: usize = 6;

/// Bytes of a keyed tag naming an agent among its site's agents.
pub const AGENT_TAG_BYTES: usize = 4;

/// The longest reply token for a relay-minted conversation (flags, a
/// ULID, an agent's tag, the MAC), in base32 characters.
pub const MAX_REPLY_TOKEN_CHARS: usize = (1 + 16 + AGENT_TAG_BYTES + TOKEN_MAC_BYTES) * 8 / 5 + 1;

/// Bytes of HMAC-SHA256 a chat-link token keeps (it is a bearer link for
/// a month: the full strength of a visitor token's 128 bits).
const CHAT_MAC_BYTES: usize = 16;

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

/// The relay's mail key: signs reply tokens, chat-link tokens, rating
/// links and unsubscribe links. Nothing in mail is signed with a site's secret.
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
const FLAG_KNOWN: u8 = FLAG_AGENT | FLAG_CONV_ULID;

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
        let n = id.len().min(MAX_ID_BYTES);
        out.push(n as u8);
        out.extend_from_slice(&id.as_bytes()[..n]);
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

/// Why a chat-link token opens nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ChatTokenError {
    #[error("the link is not one this relay mailed, or it was altered")]
    Bad,
    #[error("the link has expired (mailed links last 30 days)")]
    Expired,
}

impl MailKey {
    pub fn new(key: [u8; 32]) -> MailKey {
        MailKey { key }
    }

    fn hmac(&self, domain: &[u8]) -> Hmac<Sha256> {
        let mut m = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        m.update(domain);
        m
    }

    fn mac(&self, payload: &[u8]) -> [u8; TOKEN_MAC_BYTES] {
        let mut m = self.hmac(b"kefu reply token\0");
        m.update(payload);
        let full = m.finalize().into_bytes();
        let mut out = [0u8; TOKEN_MAC_BYTES];
        out.copy_from_slice(&full[..TOKEN_MAC_BYTES]);
        out
    }

    /// The keyed tag naming `agent` in reply tokens.
    fn agent_tag(&self, agent: &AgentId) -> [u8; AGENT_TAG_BYTES] {
        let mut m = self.hmac(b"kefu agent tag\0");
        m.update(agent.as_str().as_bytes());
        let full = m.finalize().into_bytes();
        let mut out = [0u8; AGENT_TAG_BYTES];
        out.copy_from_slice(&full[..AGENT_TAG_BYTES]);
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
            payload.extend_from_slice(&self.agent_tag(a));
        }
        payload[0] = flags;
        let mac = self.mac(&payload);
        payload.extend_from_slice(&mac);
        BASE32_DNSSEC.encode(&payload)
    }

    /// What a token names, if this relay's key signed it as it is: the
    /// conversation and, for an agent, their tag.
    fn read_token(&self, token: &str) -> Option<(ConvId, Option<[u8; AGENT_TAG_BYTES]>)> {
        let bytes = BASE32_DNSSEC
            .decode(token.to_ascii_lowercase().as_bytes())
            .ok()?;
        if bytes.len() < 1 + TOKEN_MAC_BYTES {
            return None;
        }
        let (payload, mac) = bytes.split_at(bytes.len() - TOKEN_MAC_BYTES);
        // Constant-time comparison of the tag.
        let mut m = self.hmac(b"kefu reply token\0");
        m.update(payload);
        m.verify_truncated_left(mac).ok()?;
        let flags = payload[0];
        if flags & !FLAG_KNOWN != 0 {
            return None;
        }
        let mut rest = &payload[1..];
        let conv = ConvId::new(take_id(&mut rest, flags & FLAG_CONV_ULID != 0)?).ok()?;
        let tag = if flags & FLAG_AGENT != 0 {
            let (t, r) = rest.split_first_chunk::<AGENT_TAG_BYTES>()?;
            rest = r;
            Some(*t)
        } else {
            None
        };
        rest.is_empty().then_some((conv, tag))
    }

    /// The reply address for mail about `conv` to `to`, sent from `from`
    /// (a bare address, `kefu@example.com`): `kefu+TOKEN@example.com`,
    /// its local part at most [`MAX_REPLY_LOCAL_PART`] octets. A
    /// conversation id the relay did not mint that leaves no room gets
    /// `from` itself (no token: a reply is then taken by its
    /// `In-Reply-To`/`References` only from the visitor's stored address
    /// or an agent's registered one).
    pub fn reply_address(&self, from: &str, conv: &ConvId, to: &Recipient) -> String {
        let (local, domain) = from.rsplit_once('@').unwrap_or((from, "localhost"));
        let token = self.token(conv, to);
        if local.len() + 1 + token.len() > MAX_REPLY_LOCAL_PART {
            tracing::warn!(%conv, "mail: no room for a reply token; the plain address is used");
            return format!("{local}@{domain}");
        }
        format!("{local}{SEPARATOR}{token}@{domain}")
    }

    /// The conversation and recipient a reply address names, if it is one
    /// of this relay's and untampered. Takes a bare address (`<…>` around
    /// it is tolerated). `agents` gives the agents of the conversation's
    /// site (asked only for an agent's token; [`super::site_agents`]
    /// reads them from the store): the one whose tag the token carries is
    /// the recipient; none or two (a tag collision) → `None`.
    pub fn read_reply_address(
        &self,
        addr: &str,
        agents: impl FnOnce(&ConvId) -> Vec<AgentId>,
    ) -> Option<(ConvId, Recipient)> {
        let addr = addr.trim();
        let addr = addr
            .strip_prefix('<')
            .and_then(|a| a.strip_suffix('>'))
            .unwrap_or(addr);
        let (local, _domain) = addr.rsplit_once('@')?;
        let (_, token) = local.rsplit_once(SEPARATOR)?;
        let (conv, tag) = self.read_token(token)?;
        let Some(tag) = tag else {
            return Some((conv, Recipient::Visitor));
        };
        let mut found = agents(&conv)
            .into_iter()
            .filter(|a| self.agent_tag(a) == tag);
        let agent = found.next()?;
        found
            .next()
            .is_none()
            .then_some((conv, Recipient::Agent(agent)))
    }

    fn chat_mac(&self, site: &SiteId, payload: &[u8]) -> Hmac<Sha256> {
        let mut m = self.hmac(b"kefu chat link\0");
        m.update(site.as_str().as_bytes());
        m.update(b"\0");
        m.update(payload);
        m
    }

    /// The token of a mailed chat link: `visitor` of `site`, until
    /// `expires_s` (Unix seconds). URL-safe base64.
    pub fn chat_token(&self, site: &SiteId, visitor: &VisitorId, expires_s: u64) -> String {
        let mut payload = expires_s.to_be_bytes().to_vec();
        payload.extend_from_slice(visitor.as_str().as_bytes());
        let mac = self.chat_mac(site, &payload).finalize().into_bytes();
        payload.extend_from_slice(&mac[..CHAT_MAC_BYTES]);
        BASE64URL_NOPAD.encode(&payload)
    }

    /// The visitor a chat-link token names for `site`, if this relay
    /// signed it and it has not expired at `now_s`.
    pub fn read_chat_token(
        &self,
        site: &SiteId,
        token: &str,
        now_s: u64,
    ) -> Result<VisitorId, ChatTokenError> {
        let bytes = BASE64URL_NOPAD
            .decode(token.as_bytes())
            .map_err(|_| ChatTokenError::Bad)?;
        if bytes.len() < 8 + 1 + CHAT_MAC_BYTES {
            return Err(ChatTokenError::Bad);
        }
        let (payload, mac) = bytes.split_at(bytes.len() - CHAT_MAC_BYTES);
        self.chat_mac(site, payload)
            .verify_truncated_left(mac)
            .map_err(|_| ChatTokenError::Bad)?;
        let (exp, id) = payload.split_at(8);
        let mut e = [0u8; 8];
        e.copy_from_slice(exp);
        if now_s > u64::from_be_bytes(e) {
            return Err(ChatTokenError::Expired);
        }
        let id = std::str::from_utf8(id).map_err(|_| ChatTokenError::Bad)?;
        VisitorId::new(id).map_err(|_| ChatTokenError::Bad)
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
        hex::encode(m.finalize().into_bytes())
    }

    /// The signature of a rating link (hex HMAC-SHA256): `score` for
    /// conversation `conv` of `visitor` on `site`, until `expires_s` (Unix
    /// seconds).
    pub fn rating_sig(
        &self,
        site: &SiteId,
        conv: &ConvId,
        visitor: &VisitorId,
        score: u8,
        expires_s: u64,
    ) -> String {
        let mut m = self.hmac(b"kefu rating link\0");
        for part in [site.as_str(), conv.as_str(), visitor.as_str()] {
            m.update(part.as_bytes());
            m.update(b"\0");
        }
        m.update(&[score]);
        m.update(&expires_s.to_be_bytes());
        hex::encode(m.finalize().into_bytes())
    }

    /// Whether `sig` is [`MailKey::rating_sig`]'s (constant time) and the
    /// link has not expired at `now_s`.
    #[allow(clippy::too_many_arguments)]
    pub fn check_rating(
        &self,
        site: &SiteId,
        conv: &ConvId,
        visitor: &VisitorId,
        score: u8,
        expires_s: u64,
        sig: &str,
        now_s: u64,
    ) -> bool {
        if now_s > expires_s {
            return false;
        }
        let want = self.rating_sig(site, conv, visitor, score, expires_s);
        crate::auth::same_hex(&want, sig)
    }

    /// Whether `sig` is [`MailKey::unsubscribe_sig`]'s (constant time).
    pub fn check_unsubscribe(&self, site: &protocol::SiteId, email: &str, sig: &str) -> bool {
        let want = self.unsubscribe_sig(site, email);
        crate::auth::same_hex(&want, sig)
    }
}

impl MailKey {
    /// The signature of a password-reset link (hex HMAC-SHA256) for
    /// `agent` until `expires_s`, bound to `phc`, the password hash it
    /// replaces: once the password changes (by this link or otherwise) the
    /// link is dead, so it works once.
    pub fn reset_sig(&self, agent: &AgentId, expires_s: u64, phc: &str) -> String {
        let mut m = self.hmac(b"kefu password reset\0");
        m.update(agent.as_str().as_bytes());
        m.update(b"\0");
        m.update(&expires_s.to_be_bytes());
        m.update(phc.as_bytes());
        hex::encode(m.finalize().into_bytes())
    }

    /// A reset token: `{agent}.{expires_s}.{sig}`.
    pub fn reset_token(&self, agent: &AgentId, expires_s: u64, phc: &str) -> String {
        format!(
            "{agent}.{expires_s}.{}",
            self.reset_sig(agent, expires_s, phc)
        )
    }

    /// The agent and expiry a reset token names, unchecked (the caller
    /// reads the agent's current hash and calls [`MailKey::check_reset`]).
    pub fn read_reset_token(token: &str) -> Option<(AgentId, u64, String)> {
        let mut parts = token.trim().rsplitn(3, '.');
        let sig = parts.next()?.to_string();
        let exp = parts.next()?.parse().ok()?;
        let agent = AgentId::new(parts.next()?).ok()?;
        Some((agent, exp, sig))
    }

    /// Whether `sig` is [`MailKey::reset_sig`]'s for the hash stored now
    /// (constant time), and the link has not expired at `now_s`.
    pub fn check_reset(
        &self,
        agent: &AgentId,
        expires_s: u64,
        phc: &str,
        sig: &str,
        now_s: u64,
    ) -> bool {
        if now_s > expires_s {
            return false;
        }
        let want = self.reset_sig(agent, expires_s, phc);
        crate::auth::same_hex(&want, sig)
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
    /// A reset token holds until its expiry, for the hash it was made
    /// over only (a new password kills it), and under this relay's key.
    #[test]
    fn reset_tokens_expire_and_die_with_the_password() {
        let key = MailKey::new([3; 32]);
        let agent = AgentId::new("01ARZ3NDEKTSV4RRFFQ69G5FAV").expect("id");
        let t = key.reset_token(&agent, 1000, "phc-1");
        let (a, exp, sig) = MailKey::read_reset_token(&t).expect("reads");
        assert_eq!((&a, exp), (&agent, 1000));
        assert!(key.check_reset(&a, exp, "phc-1", &sig, 1000));
        assert!(!key.check_reset(&a, exp, "phc-1", &sig, 1001), "expired");
        assert!(
            !key.check_reset(&a, exp, "phc-2", &sig, 10),
            "password changed"
        );
        assert!(
            !key.check_reset(&a, exp + 1, "phc-1", &sig, 10),
            "expiry altered"
        );
        assert!(
            !MailKey::new([4; 32]).check_reset(&a, exp, "phc-1", &sig, 10),
            "another key"
        );
        assert!(MailKey::read_reset_token("garbage").is_none());
    }

    use super::*;

    fn conv() -> ConvId {
        ConvId::new(ulid::Ulid::new().to_string()).expect("id")
    }

    fn agent() -> AgentId {
        AgentId::new(ulid::Ulid::new().to_string()).expect("id")
    }

    /// A reply address names its conversation and recipient again, for the
    /// visitor and for agents (found by their tag among the site's agents),
    /// with relay-minted and other ids alike; its token survives a mail
    /// system folding its case; every local part fits RFC 5321's 64
    /// octets, whatever id the relay can mint.
    #[test]
    fn reply_addresses_round_trip_within_64_octets() {
        let key = MailKey::new([7; 32]);
        let agents: Vec<AgentId> = (0..50).map(|_| agent()).collect();
        let mut cases = vec![
            (conv(), Recipient::Visitor),
            (
                ConvId::new("c1").expect("id"),
                Recipient::Agent(AgentId::new("ada_2").expect("id")),
            ),
            (ConvId::new("01hzzzzz").expect("id"), Recipient::Visitor),
        ];
        for a in &agents {
            cases.push((conv(), Recipient::Agent(a.clone())));
        }
        let mut site_agents = agents.clone();
        site_agents.push(AgentId::new("ada_2").expect("id"));
        // The longest sender local part MailConfig lets through.
        let from = format!(
            "{}@mail.example",
            "k".repeat(MAX_REPLY_LOCAL_PART - 1 - MAX_REPLY_TOKEN_CHARS)
        );
        for (c, to) in cases {
            let addr = key.reply_address(&from, &c, &to);
            let (local, domain) = addr.rsplit_once('@').expect("@");
            assert_eq!(domain, "mail.example");
            assert!(
                local.len() <= MAX_REPLY_LOCAL_PART,
                "{} octets: {addr}",
                local.len()
            );
            assert!(local.contains('+'), "{addr}");
            assert!(
                local
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'+'),
                "{addr}"
            );
            let all = || site_agents.clone();
            assert_eq!(
                key.read_reply_address(&addr, |_| all()),
                Some((c.clone(), to.clone()))
            );
            assert_eq!(
                key.read_reply_address(&format!("<{}>", addr.to_uppercase()), |_| all()),
                Some((c, to))
            );
        }
    }

    /// An agent's token names no one among agents it was not made for
    /// (another site's), and a tag shared by two agents names neither.
    #[test]
    fn agent_tokens_resolve_only_among_their_agents() {
        let key = MailKey::new([7; 32]);
        let (a, b) = (agent(), agent());
        let addr = key.reply_address("kefu@mail.example", &conv(), &Recipient::Agent(a.clone()));
        assert_eq!(key.read_reply_address(&addr, |_| vec![b.clone()]), None);
        assert_eq!(key.read_reply_address(&addr, |_| Vec::new()), None);
        assert_eq!(
            key.read_reply_address(&addr, |_| vec![a.clone(), a.clone()]),
            None
        );
        let visitor = key.reply_address("kefu@mail.example", &conv(), &Recipient::Visitor);
        assert!(matches!(
            key.read_reply_address(&visitor, |_| panic!("a visitor's token asks for no agents")),
            Some((_, Recipient::Visitor))
        ));
    }

    /// An id the relay never mints that leaves no room for a token gets
    /// the plain sender address, never an over-long one.
    #[test]
    fn foreign_long_ids_get_the_plain_address() {
        let key = MailKey::new([7; 32]);
        let long = ConvId::new("c".repeat(MAX_ID_BYTES)).expect("id");
        let addr = key.reply_address("kefu@mail.example", &long, &Recipient::Visitor);
        assert_eq!(addr, "kefu@mail.example");
        assert_eq!(key.read_reply_address(&addr, |_| Vec::new()), None);
    }

    /// Any change to a token — one character, cut short, lengthened,
    /// another conversation's payload — is refused.
    #[test]
    fn tampered_tokens_are_refused() {
        let key = MailKey::new([7; 32]);
        let c = conv();
        let a = agent();
        for to in [Recipient::Visitor, Recipient::Agent(a.clone())] {
            let token = key.token(&c, &to);
            let read = |t: &str| {
                key.read_reply_address(&format!("kefu+{t}@mail.example"), |_| vec![a.clone()])
            };
            assert!(read(&token).is_some());
            for i in 0..token.len() {
                let mut t: Vec<u8> = token.clone().into_bytes();
                t[i] = if t[i] == b'0' { b'1' } else { b'0' };
                let t = String::from_utf8(t).expect("ascii");
                assert_eq!(read(&t), None, "changed at {i}");
            }
            assert_eq!(read(&token[..token.len() - 2]), None);
            assert_eq!(read(&format!("{token}00")), None);
        }
        assert_eq!(
            key.read_reply_address("kefu+@mail.example", |_| Vec::new()),
            None
        );
        assert_eq!(
            key.read_reply_address("kefu+not base32!@mail.example", |_| Vec::new()),
            None
        );
        // A visitor's token does not become an agent's.
        assert_ne!(
            key.token(&c, &Recipient::Visitor),
            key.token(&c, &Recipient::Agent(a))
        );
        assert_eq!(
            key.read_reply_address("kefu@mail.example", |_| Vec::new()),
            None
        );
        let token = key.token(&c, &Recipient::Visitor);
        assert_eq!(
            key.read_reply_address(&format!("kefu+{token}"), |_| Vec::new()),
            None
        );
    }

    /// A token another relay's key signed means nothing here.
    #[test]
    fn another_relays_token_is_refused() {
        let ours = MailKey::new([7; 32]);
        let theirs = MailKey::new([8; 32]);
        let addr = theirs.reply_address("kefu@mail.example", &conv(), &Recipient::Visitor);
        assert!(theirs.read_reply_address(&addr, |_| Vec::new()).is_some());
        assert_eq!(ours.read_reply_address(&addr, |_| Vec::new()), None);
    }

    /// A chat-link token names its visitor on its site until it expires;
    /// altered, another site's, another relay's or expired: refused.
    #[test]
    fn chat_tokens_hold_for_their_site_and_time() {
        let key = MailKey::new([7; 32]);
        let s = SiteId::new("s").expect("id");
        let v = VisitorId::new("v_1").expect("id");
        let t = key.chat_token(&s, &v, 1000);
        assert_eq!(key.read_chat_token(&s, &t, 1000), Ok(v.clone()));
        assert_eq!(
            key.read_chat_token(&s, &t, 1001),
            Err(ChatTokenError::Expired)
        );
        assert_eq!(
            key.read_chat_token(&SiteId::new("t").expect("id"), &t, 0),
            Err(ChatTokenError::Bad)
        );
        assert_eq!(
            MailKey::new([8; 32]).read_chat_token(&s, &t, 0),
            Err(ChatTokenError::Bad)
        );
        for i in 0..t.len() {
            let mut b = t.clone().into_bytes();
            b[i] = if b[i] == b'A' { b'B' } else { b'A' };
            let b = String::from_utf8(b).expect("ascii");
            assert!(key.read_chat_token(&s, &b, 0).is_err(), "changed at {i}");
        }
        assert_eq!(key.read_chat_token(&s, "", 0), Err(ChatTokenError::Bad));
        assert_eq!(key.read_chat_token(&s, "!!", 0), Err(ChatTokenError::Bad));
    }

    /// A rating link's signature holds for its site, conversation,
    /// visitor, score and expiry only, and not after the expiry.
    #[test]
    fn rating_signatures_hold_for_their_fields_until_they_expire() {
        let key = MailKey::new([7; 32]);
        let other = MailKey::new([8; 32]);
        let s = SiteId::new("demo").expect("id");
        let c = ConvId::new("01JCONV").expect("id");
        let v = VisitorId::new("ada").expect("id");
        let sig = key.rating_sig(&s, &c, &v, 4, 1000);
        assert!(key.check_rating(&s, &c, &v, 4, 1000, &sig, 999));
        assert!(key.check_rating(&s, &c, &v, 4, 1000, &sig.to_uppercase(), 1000));
        assert!(
            !key.check_rating(&s, &c, &v, 4, 1000, &sig, 1001),
            "expired"
        );
        assert!(
            !key.check_rating(&s, &c, &v, 5, 1000, &sig, 0),
            "another score"
        );
        assert!(
            !key.check_rating(&s, &c, &v, 4, 2000, &sig, 0),
            "another expiry"
        );
        let c2 = ConvId::new("01JOTHER").expect("id");
        assert!(!key.check_rating(&s, &c2, &v, 4, 1000, &sig, 0));
        let v2 = VisitorId::new("eve").expect("id");
        assert!(!key.check_rating(&s, &c, &v2, 4, 1000, &sig, 0));
        let s2 = SiteId::new("other").expect("id");
        assert!(!key.check_rating(&s2, &c, &v, 4, 1000, &sig, 0));
        assert!(
            !other.check_rating(&s, &c, &v, 4, 1000, &sig, 0),
            "another relay's"
        );
        assert!(!key.check_rating(&s, &c, &v, 4, 1000, &sig[..10], 0));
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
