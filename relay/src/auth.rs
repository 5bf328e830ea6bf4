//! Identity: visitor tokens, agent tokens, verified visitor identity, and
//! the admin operations that mint sites and agents.
//!
//! - Visitor token = base64url(HMAC-SHA256(server_key, "visitor\0" site "\0" visitor)).
//!   Stateless; binds a visitor id to whoever first used it, so guessing an
//!   id is not enough to read a conversation.
//! - Agent token: 32 random bytes, base64url; stored as SHA-256 only.
//! - `user_hash` = hex(HMAC-SHA256(site_secret, user.id)), as Intercom and
//!   Crisp do, computed by the site's backend.
//! - A hosted-page link's `sig` = hex(HMAC-SHA256(site_secret, canonical
//!   string)), the canonical string built by the hosted chat page module (`chat_page`).

use crate::store::{AgentRecord, SiteRecord, Store, StoreError, TokenRecord};

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use protocol::{AgentId, SiteId, VisitorId};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

pub struct Auth {
    server_key: Vec<u8>,
}

fn mac(key: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length.
    HmacSha256::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key length"))
}

fn visitor_msg(site: &SiteId, visitor: &VisitorId) -> Vec<u8> {
    [
        b"visitor\0".as_slice(),
        site.as_str().as_bytes(),
        b"\0",
        visitor.as_str().as_bytes(),
    ]
    .concat()
}

impl Auth {
    pub fn new(server_key: Vec<u8>) -> Auth {
        Auth { server_key }
    }

    pub fn visitor_token(&self, site: &SiteId, visitor: &VisitorId) -> String {
        let mut m = mac(&self.server_key);
        m.update(&visitor_msg(site, visitor));
        B64.encode(m.finalize().into_bytes())
    }

    /// Constant-time check of a visitor token.
    pub fn check_visitor_token(&self, site: &SiteId, visitor: &VisitorId, token: &str) -> bool {
        let Ok(bytes) = B64.decode(token) else {
            return false;
        };
        let mut m = mac(&self.server_key);
        m.update(&visitor_msg(site, visitor));
        m.verify_slice(&bytes).is_ok()
    }
}

/// The token of an `Authorization: Bearer <token>` header.
pub fn bearer(authorization: Option<&str>) -> Option<&str> {
    authorization
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim)
}

/// hex(HMAC-SHA256(secret, id)): what the site's backend computes.
pub fn user_hash(site_secret: &str, user_id: &str) -> String {
    let mut m = mac(site_secret.as_bytes());
    m.update(user_id.as_bytes());
    hex::encode(m.finalize().into_bytes())
}

/// Constant-time check of a `user_hash` (hex, any case).
pub fn check_user_hash(site_secret: &str, user_id: &str, hash: &str) -> bool {
    let Ok(bytes) = hex::decode(hash) else {
        return false;
    };
    let mut m = mac(site_secret.as_bytes());
    m.update(user_id.as_bytes());
    m.verify_slice(&bytes).is_ok()
}

/// hex(HMAC-SHA256(secret, canonical)): a hosted-page link's `sig`.
pub fn link_sig(site_secret: &str, canonical: &str) -> String {
    // The same construction as `user_hash`, over another message.
    user_hash(site_secret, canonical)
}

/// Constant-time check of a hosted-page link's `sig` (hex, any case).
pub fn check_link_sig(site_secret: &str, canonical: &str, sig: &str) -> bool {
    check_user_hash(site_secret, canonical, sig)
}

/// Whether `given` is the lower-case hex signature `want`, compared in
/// constant time (`given` in any case).
pub fn same_hex(want: &str, given: &str) -> bool {
    use subtle::ConstantTimeEq as _;
    let given = given.to_ascii_lowercase();
    want.as_bytes().ct_eq(given.as_bytes()).into()
}

pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

pub fn random_b64(n: usize) -> String {
    let bytes: Vec<u8> = (0..n).map(|_| rand::random::<u8>()).collect();
    B64.encode(bytes)
}

/// How long a login session lasts. Agents keep the console open all day;
/// a month between logins, revocable at any time by logout.
pub const SESSION_TTL_MS: u64 = 30 * 24 * 3600 * 1000;

/// Shortest password accepted (NIST SP 800-63B's minimum).
pub const MIN_PASSWORD_CHARS: usize = 8;

/// Longest password accepted: bounds argon2's input, far above any human one.
pub const MAX_PASSWORD_BYTES: usize = 256;

/// argon2id with the crate's defaults (19 MiB, 2 passes, 1 lane: OWASP's
/// recommended minimum), as a PHC string with its own salt.
pub fn hash_password(password: &str) -> String {
    use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
    let salt = SaltString::generate(&mut OsRng);
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .unwrap_or_default()
}

pub fn verify_password(phc: &str, password: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    match PasswordHash::new(phc) {
        Ok(h) => argon2::Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok(),
        Err(_) => false,
    }
}

/// A password fit to store, or why not.
pub fn check_new_password(p: &str) -> Result<(), &'static str> {
    if p.chars().count() < MIN_PASSWORD_CHARS {
        return Err("password must be at least 8 characters");
    }
    if p.len() > MAX_PASSWORD_BYTES {
        return Err("password must be at most 256 bytes");
    }
    Ok(())
}

/// The agent behind a token, if the token is valid and not expired.
pub fn agent_for_token(store: &Store, token: &str) -> Result<Option<AgentRecord>, StoreError> {
    if token.is_empty() || token.len() > 256 {
        return Ok(None);
    }
    let Some(t) = store.token(&token_hash(token))? else {
        return Ok(None);
    };
    if t.expires != 0 && t.expires < crate::now_ms() {
        return Ok(None);
    }
    store.agent(&t.agent)
}

/// A fresh session token for `agent`; `ttl_ms` 0 means it never expires.
pub fn issue_token(store: &Store, agent: &AgentId, ttl_ms: u64) -> Result<String, StoreError> {
    let token = random_b64(32);
    let now = crate::now_ms();
    let expires = if ttl_ms == 0 { 0 } else { now + ttl_ms };
    store.put_token(
        &token_hash(&token),
        &TokenRecord {
            agent: agent.clone(),
            created: now,
            expires,
        },
    )?;
    store.sync()?;
    Ok(token)
}

/// Checks e-mail + password; a session token on success. The same answer
/// (None) for an unknown e-mail and a wrong password.
pub fn login(
    store: &Store,
    email: &str,
    password: &str,
) -> Result<Option<(AgentRecord, String)>, StoreError> {
    let email = email.trim().to_ascii_lowercase();
    let agent = store.agent_by_email(&email)?;
    let ok = match agent.as_ref().and_then(|a| a.password.as_deref()) {
        Some(phc) => verify_password(phc, password),
        None => {
            // Spend the same time on unknown accounts: no e-mail oracle.
            let _ = verify_password(DUMMY_HASH.as_str(), password);
            false
        }
    };
    match (ok, agent) {
        (true, Some(a)) => {
            let token = issue_token(store, &a.id, SESSION_TTL_MS)?;
            Ok(Some((a, token)))
        }
        _ => Ok(None),
    }
}

/// Sets `agent`'s password to `new` (checked by [`check_new_password`]
/// first) and ends their other sign-in sessions: every one but the token
/// hashed `keep` (the browser making the change), durably. Admin-minted
/// tokens stay ([`Store::end_sessions`]). Returns the sessions ended.
pub fn set_password(
    store: &Store,
    agent: &AgentId,
    new: &str,
    keep: Option<&[u8]>,
) -> Result<Option<usize>, StoreError> {
    let Some(mut a) = store.agent(agent)? else {
        return Ok(None);
    };
    a.password = Some(hash_password(new));
    store.put_agent(&a)?;
    let ended = store.end_sessions(agent, keep)?;
    store.sync()?;
    Ok(Some(ended))
}

static DUMMY_HASH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| hash_password("not a real password"));

/// Creates a site with a fresh secret (admin CLI, first run, API).
pub fn create_site(store: &Store, id: SiteId, name: &str) -> Result<SiteRecord, StoreError> {
    let site = SiteRecord {
        id,
        name: name.to_string(),
        secret: new_secret(),
        created: crate::now_ms(),
        allowed_origins: Vec::new(),
        widget: protocol::WidgetSettings::default(),
        routing: protocol::api::Routing::default(),
        wechat: None,
        offline: protocol::offline::OfflineSettings::default(),
    };
    store.put_site(&site)?;
    store.sync()?;
    Ok(site)
}

/// A new site secret.
pub fn new_secret() -> String {
    random_b64(32)
}

/// What a new agent account gets.
pub struct NewAgent {
    pub name: String,
    pub sites: Vec<SiteId>,
    pub email: Option<String>,
    pub password: Option<String>,
    pub role: crate::store::AgentRole,
}

/// Creates an agent account without any token (it logs in by password).
pub fn add_agent(store: &Store, new: NewAgent) -> Result<AgentRecord, StoreError> {
    let agent = agent_record(new);
    store.put_agent(&agent)?;
    store.sync()?;
    Ok(agent)
}

/// Creates an agent and returns it with a stored, non-expiring token: the
/// given one (demo credentials from flags) or a fresh random one. Every
/// token this returns works for the API and the agent `hello`.
pub fn create_agent(
    store: &Store,
    new: NewAgent,
    token: Option<String>,
) -> Result<(AgentRecord, String), StoreError> {
    let agent = agent_record(new);
    store.put_agent(&agent)?;
    let token = token.unwrap_or_else(|| random_b64(32));
    store.put_token(
        &token_hash(&token),
        &TokenRecord {
            agent: agent.id.clone(),
            created: agent.created,
            expires: 0,
        },
    )?;
    store.sync()?;
    Ok((agent, token))
}

/// A new agent's record under a fresh id.
fn agent_record(new: NewAgent) -> AgentRecord {
    let id = AgentId::new(ulid::Ulid::new().to_string())
        .unwrap_or_else(|_| unreachable!("a ULID is a valid id"));
    AgentRecord {
        id,
        name: new.name,
        sites: new.sites,
        email: new.email.map(|e| e.trim().to_ascii_lowercase()),
        password: new.password.as_deref().map(hash_password),
        role: new.role,
        created: crate::now_ms(),
        capacity: protocol::limits::DEFAULT_CAPACITY,
        bot: false,
        mail: protocol::offline::MailPref::default(),
        avatar: None,
        named: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visitor_tokens_bind_site_and_visitor() {
        let auth = Auth::new(b"k".to_vec());
        let s = SiteId::new("s").expect("id");
        let v = VisitorId::new("v").expect("id");
        let t = auth.visitor_token(&s, &v);
        assert!(auth.check_visitor_token(&s, &v, &t));
        assert!(!auth.check_visitor_token(&s, &VisitorId::new("w").expect("id"), &t));
        assert!(!auth.check_visitor_token(&SiteId::new("t").expect("id"), &v, &t));
        assert!(!auth.check_visitor_token(&s, &v, "garbage!"));
        assert!(!Auth::new(b"other".to_vec()).check_visitor_token(&s, &v, &t));
    }

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let h = hash_password("correct horse");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password(&h, "correct horse"));
        assert!(!verify_password(&h, "correct horsf"));
        assert!(!verify_password("garbage", "x"));
        assert!(check_new_password("short").is_err());
        assert!(check_new_password(&"x".repeat(300)).is_err());
    }

    /// Regression: the first run printed a random token that was never
    /// stored (only `--demo-token` ones were), so `GET /v1/api/me` and the
    /// agent hello refused it. Every token `create_agent` returns resolves,
    /// and never expires.
    #[test]
    fn created_agents_tokens_are_stored_and_do_not_expire() -> Result<(), Box<dyn std::error::Error>>
    {
        let dir = tempfile::tempdir()?;
        let store = Store::open(dir.path())?;
        let new = |name: &str| NewAgent {
            name: name.into(),
            sites: vec![SiteId::new("s").expect("id")],
            email: None,
            password: None,
            role: crate::store::AgentRole::Owner,
        };
        let (random, random_token) = create_agent(&store, new("a"), None)?;
        let (given, given_token) = create_agent(&store, new("b"), Some("given-token".into()))?;
        assert_eq!(given_token, "given-token");
        for (agent, token) in [(&random, &random_token), (&given, &given_token)] {
            let found = agent_for_token(&store, token)?.map(|a| a.id);
            assert_eq!(found.as_ref(), Some(&agent.id), "token {token}");
            let record = store.token(&token_hash(token))?.map(|t| t.expires);
            assert_eq!(record, Some(0), "non-expiring");
        }
        let plain = add_agent(&store, new("c"))?;
        assert_eq!(store.agent(&plain.id)?.map(|a| a.name), Some("c".into()));
        Ok(())
    }

    /// A password change ends the agent's other sign-in sessions, keeps
    /// the one making it and the admin-minted token, and touches nobody
    /// else's.
    #[test]
    fn set_password_ends_other_sessions_only() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let store = Store::open(dir.path())?;
        let new = |name: &str| NewAgent {
            name: name.into(),
            sites: vec![SiteId::new("s").expect("id")],
            email: None,
            password: Some("first password".into()),
            role: crate::store::AgentRole::Agent,
        };
        let (a, admin) = create_agent(&store, new("a"), None)?;
        let (b, _) = create_agent(&store, new("b"), None)?;
        let here = issue_token(&store, &a.id, SESSION_TTL_MS)?;
        let other = issue_token(&store, &a.id, SESSION_TTL_MS)?;
        let bs = issue_token(&store, &b.id, SESSION_TTL_MS)?;
        let ended = set_password(&store, &a.id, "second password", Some(&token_hash(&here)))?;
        assert_eq!(ended, Some(1));
        let who = |t: &str| agent_for_token(&store, t).map(|a| a.map(|a| a.id));
        assert_eq!(who(&here)?, Some(a.id.clone()));
        assert_eq!(who(&admin)?, Some(a.id.clone()));
        assert_eq!(who(&other)?, None);
        assert_eq!(who(&bs)?, Some(b.id.clone()));
        let phc = store
            .agent(&a.id)?
            .and_then(|a| a.password)
            .unwrap_or_default();
        assert!(verify_password(&phc, "second password"));
        Ok(())
    }

    #[test]
    fn user_hash_matches_the_documented_formula() {
        let h = user_hash("secret", "user-42");
        assert_eq!(h.len(), 64);
        assert!(check_user_hash("secret", "user-42", &h));
        assert!(check_user_hash("secret", "user-42", &h.to_uppercase()));
        assert!(!check_user_hash("secret", "user-43", &h));
        assert!(!check_user_hash("other", "user-42", &h));
        assert!(!check_user_hash("secret", "user-42", "zz"));
    }
}
