//! Agent accounts, their e-mail index, and session tokens.

use super::{encode, Result, Store};
use protocol::{AgentId, SiteId};
use serde::{Deserialize, Serialize};

pub use protocol::api::AgentRole;

/// The id prefix of the bot agents API keys act as (people's ids are ULIDs).
pub const BOT_ID_PREFIX: &str = "bot-";

/// Whether an agent id is an API key's bot.
pub fn is_bot(agent_id: &str) -> bool {
    agent_id.starts_with(BOT_ID_PREFIX)
}

/// An agent account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentRecord {
    pub id: AgentId,
    pub name: String,
    /// Sites this agent is a member of.
    pub sites: Vec<SiteId>,
    /// Login e-mail, lower-cased (absent for token-only agents from the CLI).
    #[serde(default)]
    pub email: Option<String>,
    /// argon2id PHC string; never leaves the store.
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub role: AgentRole,
    #[serde(default)]
    pub created: u64,
    /// Open conversations auto-assignment gives this agent at most.
    #[serde(default = "protocol::api::default_capacity")]
    pub capacity: u32,
    /// A bot an API key acts as: no login, not listed among the agents.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub bot: bool,
    /// Which notification mails they get while nobody is available.
    #[serde(default)]
    pub mail: protocol::offline::MailPref,
    /// Their picture: a blob of the file store, the relay's own
    /// re-encoding of what they uploaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar: Option<Avatar>,
    /// They have chosen their display name themselves (the console's
    /// first sign-in question is then never asked again, on any browser).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub named: bool,
}

/// A stored avatar: which blob, of which type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Avatar {
    /// The blob's SHA-256 (hex), its name in [`crate::files::Blobs`].
    pub sha256: String,
    /// `image/png` or `image/jpeg` (what the relay re-encoded it as).
    pub mime: String,
}

/// An agent session token, stored as its SHA-256 only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenRecord {
    pub agent: AgentId,
    pub created: u64,
    /// ms since epoch after which the token is refused; 0: never (tokens
    /// minted by the admin CLI for integrations).
    #[serde(default)]
    pub expires: u64,
}

impl Store {
    pub fn agent(&self, id: &AgentId) -> Result<Option<AgentRecord>> {
        Self::get(&self.agents, id.as_str().as_bytes())
    }

    /// Stores an agent and keeps the e-mail index in step.
    pub fn put_agent(&self, a: &AgentRecord) -> Result<()> {
        if let Some(old) = self.agent(&a.id)? {
            if let Some(e) = old.email.filter(|e| Some(e) != a.email.as_ref()) {
                self.emails.remove(e.as_bytes())?;
            }
        }
        if let Some(e) = &a.email {
            self.emails.insert(e.as_bytes(), a.id.as_str().as_bytes())?;
        }
        self.agents.insert(a.id.as_str().as_bytes(), encode(a)?)?;
        Ok(())
    }

    pub fn agent_by_email(&self, email: &str) -> Result<Option<AgentRecord>> {
        let Some(id) = self.emails.get(email.as_bytes())? else {
            return Ok(None);
        };
        match std::str::from_utf8(&id)
            .ok()
            .and_then(|s| AgentId::new(s).ok())
        {
            Some(id) => self.agent(&id),
            None => Ok(None),
        }
    }

    pub fn agents(&self) -> Result<Vec<AgentRecord>> {
        Self::all(&self.agents, b"")
    }

    /// Removes an agent and its Web Push devices; its tokens stop working
    /// at once (they resolve to no agent).
    pub fn delete_agent(&self, id: &AgentId) -> Result<()> {
        self.delete_push_subs(id)?;
        if let Some(a) = self.agent(id)? {
            if let Some(e) = a.email {
                self.emails.remove(e.as_bytes())?;
            }
        }
        self.agents.remove(id.as_str().as_bytes())?;
        Ok(())
    }

    pub fn token(&self, hash: &[u8]) -> Result<Option<TokenRecord>> {
        Self::get(&self.tokens, hash)
    }

    pub fn put_token(&self, hash: &[u8], t: &TokenRecord) -> Result<()> {
        self.tokens.insert(hash, encode(t)?)?;
        Ok(())
    }

    pub fn delete_token(&self, hash: &[u8]) -> Result<()> {
        self.tokens.remove(hash)?;
        Ok(())
    }

    /// Ends `agent`'s sign-in sessions (tokens that expire) but the one
    /// hashed `keep`; returns how many ended. Tokens that never expire
    /// were minted by the box's admin (`agent-add`, `--demo-token`) for
    /// integrations: credentials of their own, not sessions of a password,
    /// so they stay.
    pub fn end_sessions(&self, agent: &AgentId, keep: Option<&[u8]>) -> Result<usize> {
        let mut n = 0;
        for kv in self.tokens.iter() {
            let (k, v) = kv?;
            if keep == Some(k.as_ref()) {
                continue;
            }
            let Ok(t) = serde_json::from_slice::<TokenRecord>(&v) else {
                continue;
            };
            if &t.agent == agent && t.expires != 0 {
                self.tokens.remove(k)?;
                n += 1;
            }
        }
        Ok(n)
    }
}
