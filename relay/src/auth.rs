//! Identity: visitor tokens, agent tokens, verified visitor identity, and
//! the admin operations that mint sites and agents.
//!
//! - Visitor token = base64url(HMAC-SHA256(server_key, "visitor\0" site "\0" visitor)).
//!   Stateless; binds a visitor id to whoever first used it, so guessing an
//!   id is not enough to read a conversation.
//! - Agent token: 32 random bytes, base64url; stored as SHA-256 only.
//! - `user_hash` = hex(HMAC-SHA256(site_secret, user.id)), as Intercom and
//!   Crisp do, computed by the site's backend.

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

/// hex(HMAC-SHA256(secret, id)): what the site's backend computes.
pub fn user_hash(site_secret: &str, user_id: &str) -> String {
    let mut m = mac(site_secret.as_bytes());
    m.update(user_id.as_bytes());
    m.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Constant-time check of a `user_hash` (hex, any case).
pub fn check_user_hash(site_secret: &str, user_id: &str, hash: &str) -> bool {
    let Some(bytes) = decode_hex(hash) else {
        return false;
    };
    let mut m = mac(site_secret.as_bytes());
    m.update(user_id.as_bytes());
    m.verify_slice(&bytes).is_ok()
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

fn random_b64(n: usize) -> String {
    let bytes: Vec<u8> = (0..n).map(|_| rand::random::<u8>()).collect();
    B64.encode(bytes)
}

/// The agent behind a token, if the token is valid.
pub fn agent_for_token(store: &Store, token: &str) -> Result<Option<AgentRecord>, StoreError> {
    let Some(t) = store.token(&token_hash(token))? else {
        return Ok(None);
    };
    store.agent(&t.agent)
}

/// Creates a site with a fresh secret (admin CLI and first run).
pub fn create_site(store: &Store, id: SiteId, name: &str) -> Result<SiteRecord, StoreError> {
    let site = SiteRecord {
        id,
        name: name.to_string(),
        secret: random_b64(32),
        created: crate::now_ms(),
        allowed_origins: Vec::new(),
        widget: protocol::WidgetSettings::default(),
    };
    store.put_site(&site)?;
    store.sync()?;
    Ok(site)
}

/// Creates an agent on `sites` and returns it with a new session token. A
/// given `token` (demo credentials from flags) is used instead of a random one.
pub fn create_agent(
    store: &Store,
    name: &str,
    sites: Vec<SiteId>,
    token: Option<String>,
) -> Result<(AgentRecord, String), StoreError> {
    let id = AgentId::new(ulid::Ulid::new().to_string())
        .unwrap_or_else(|_| unreachable!("a ULID is a valid id"));
    let agent = AgentRecord {
        id: id.clone(),
        name: name.to_string(),
        sites,
    };
    store.put_agent(&agent)?;
    let token = token.unwrap_or_else(|| random_b64(32));
    store.put_token(
        &token_hash(&token),
        &TokenRecord {
            agent: id,
            created: crate::now_ms(),
        },
    )?;
    store.sync()?;
    Ok((agent, token))
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
