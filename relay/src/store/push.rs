//! Web Push records: each agent's subscribed devices, what a queued push
//! carries (a job of the outbound queue, staged in the same atomic batch
//! as the event that caused it), and the VAPID key pair's secret.

use super::{decode, encode, join, keys, Result, Store};
use protocol::api::PushPayload;
use protocol::AgentId;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One device an agent opted in to Web Push on (an RFC 8030 subscription),
/// with its RFC 8291 keys as the browser gave them (base64url, checked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushSubRecord {
    pub agent: AgentId,
    pub endpoint: String,
    /// The user agent's P-256 public key (65-byte uncompressed point).
    pub p256dh: String,
    /// The 16-byte auth secret.
    pub auth: String,
    pub created: u64,
}

impl PushSubRecord {
    /// The device's id: hex SHA-256 of its endpoint (endpoints are long
    /// URLs; the id keys the record and names it in queued pushes).
    pub fn device(&self) -> String {
        device_id(&self.endpoint)
    }
}

/// The device id of an endpoint (see [`PushSubRecord::device`]).
pub fn device_id(endpoint: &str) -> String {
    hex::encode(Sha256::digest(endpoint.as_bytes()))
}

/// One push waiting to go out, to one device of one agent: the body of an
/// outbound job of kind `push` ([`super::OutJob`]), stored before it is
/// attempted and deleted once the push service took it (or it is given up).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushJob {
    pub agent: AgentId,
    /// [`PushSubRecord::device`] of the target.
    pub device: String,
    pub payload: PushPayload,
}

/// A push as the relay queued it before the outbound queue was shared
/// (`q` job id in `chat`); moved into the outbound queue at start.
#[derive(Deserialize)]
struct OldPushJob {
    id: String,
    agent: AgentId,
    device: String,
    payload: PushPayload,
    created: u64,
    #[serde(default)]
    attempts: u32,
    #[serde(default)]
    next_at: u64,
}

fn sub_key(agent: &AgentId, device: &str) -> Vec<u8> {
    join(&[agent.as_str().as_bytes(), device.as_bytes()])
}

fn agent_prefix(agent: &AgentId) -> Vec<u8> {
    [agent.as_str().as_bytes(), b"\0"].concat()
}

impl Store {
    /// The agent's subscribed devices, by device id.
    pub fn push_subs(&self, agent: &AgentId) -> Result<Vec<PushSubRecord>> {
        Self::all(&self.push_subs, &agent_prefix(agent))
    }

    /// Every subscription (the in-memory index is built from it at start).
    pub fn all_push_subs(&self) -> Result<Vec<PushSubRecord>> {
        Self::all(&self.push_subs, b"")
    }

    pub fn push_sub(&self, agent: &AgentId, device: &str) -> Result<Option<PushSubRecord>> {
        Self::get(&self.push_subs, &sub_key(agent, device))
    }

    /// Stores a subscription; the same endpoint again replaces it.
    pub fn put_push_sub(&self, s: &PushSubRecord) -> Result<()> {
        self.push_subs
            .insert(sub_key(&s.agent, &s.device()), encode(s)?)?;
        Ok(())
    }

    /// Forgets one device; true when it was there.
    pub fn delete_push_sub(&self, agent: &AgentId, device: &str) -> Result<bool> {
        Ok(self.push_subs.remove(sub_key(agent, device))?.is_some())
    }

    /// Forgets every device of an agent (the agent is being removed).
    pub fn delete_push_subs(&self, agent: &AgentId) -> Result<()> {
        let mut batch = sled::Batch::default();
        for item in self.push_subs.scan_prefix(agent_prefix(agent)) {
            let (k, _) = item?;
            batch.remove(k);
        }
        self.push_subs.apply_batch(batch)?;
        Ok(())
    }

    /// Moves pushes queued by an older relay (`q` keys) into the outbound
    /// queue, keeping their ids, ages and retry state; returns how many.
    pub fn migrate_push_queue(&self) -> Result<usize> {
        let mut batch = sled::Batch::default();
        let mut n = 0;
        for item in self.chat.scan_prefix(keys::PUSH_JOB_PREFIX) {
            let (k, v) = item?;
            let old: OldPushJob = decode(&k, &v)?;
            let job = super::OutJob {
                id: old.id.clone(),
                kind: super::Kind::Push,
                lane: old.id.clone(),
                created: old.created,
                attempts: old.attempts,
                next_at: old.next_at,
                body: serde_json::to_value(PushJob {
                    agent: old.agent,
                    device: old.device,
                    payload: old.payload,
                })
                .map_err(super::StoreError::Encode)?,
            };
            let (nk, nv) = Self::out_job_entry(&job)?;
            batch.insert(nk, nv);
            batch.remove(k);
            n += 1;
        }
        if n > 0 {
            self.chat.apply_batch(batch)?;
            self.sync()?;
        }
        Ok(n)
    }

    /// The VAPID key pair's secret scalar (32 bytes), made by `make` on
    /// first use and kept: the public key browsers subscribed with must
    /// not change under them.
    pub fn vapid_secret(&self, make: impl FnOnce() -> Vec<u8>) -> Result<Vec<u8>> {
        const KEY: &[u8] = b"vapid_key";
        if let Some(k) = self.meta.get(KEY)? {
            return Ok(k.to_vec());
        }
        let key = make();
        // compare_and_swap so two racing first starts agree on one key.
        let _ = self
            .meta
            .compare_and_swap(KEY, None as Option<&[u8]>, Some(&key[..]))?;
        let stored = self.meta.get(KEY)?.map(|k| k.to_vec()).unwrap_or(key);
        self.sync()?;
        Ok(stored)
    }
}

/// A queued push for tests: a message for agent `ada` on site `s`.
#[cfg(test)]
pub(crate) fn sample_job() -> PushJob {
    use protocol::api::PushKind;
    use protocol::{ConvId, SiteId};
    PushJob {
        agent: AgentId::new("ada").expect("id"),
        device: device_id("https://push.example/ada"),
        payload: PushPayload {
            kind: PushKind::Message,
            site: SiteId::new("s").expect("id"),
            conv: ConvId::new("01HZZZZZZZZZZZZZZZZZZZZZZZ").expect("id"),
            title: "Ada".into(),
            body: "hi".into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Subscriptions are on disk: a reopened store has them; deleting an
    /// agent's devices leaves others'.
    #[test]
    fn subscriptions_survive_reopen() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let (a, b) = (AgentId::new("a")?, AgentId::new("b")?);
        {
            let store = Store::open(dir.path())?;
            for (agent, ep) in [
                (&a, "https://p/1"),
                (&a, "https://p/2"),
                (&b, "https://p/3"),
            ] {
                store.put_push_sub(&PushSubRecord {
                    agent: agent.clone(),
                    endpoint: ep.into(),
                    p256dh: "k".into(),
                    auth: "s".into(),
                    created: 5,
                })?;
            }
            store.sync()?;
        }
        let store = Store::open(dir.path())?;
        assert_eq!(store.push_subs(&a)?.len(), 2);
        store.delete_push_subs(&a)?;
        assert!(store.push_subs(&a)?.is_empty());
        assert_eq!(store.push_subs(&b)?.len(), 1);
        Ok(())
    }

    /// Pushes an older relay queued under `q` move into the outbound queue
    /// once, in order, with their ids, ages and retry state.
    #[test]
    fn old_queue_moves_into_the_outbound_queue() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let store = Store::open(dir.path())?;
        let old = |id: &str, attempts: u32| {
            let j = sample_job();
            serde_json::json!({"id": id, "agent": j.agent, "device": j.device,
                "payload": j.payload, "created": 7, "attempts": attempts, "next_at": 9})
        };
        let mut batch = sled::Batch::default();
        for (id, n) in [
            ("01J00000000000000000000002", 0),
            ("01J00000000000000000000001", 3),
        ] {
            batch.insert(keys::push_job(id), serde_json::to_vec(&old(id, n))?);
        }
        store.apply_chat(batch)?;
        assert_eq!(store.migrate_push_queue()?, 2);
        assert_eq!(store.migrate_push_queue()?, 0, "once");
        let jobs = store.out_jobs(super::super::Kind::Push)?;
        let ids: Vec<&str> = jobs.iter().map(|j| j.id.as_str()).collect();
        assert_eq!(
            ids,
            ["01J00000000000000000000001", "01J00000000000000000000002"]
        );
        assert_eq!(
            (jobs[0].attempts, jobs[0].created, jobs[0].next_at),
            (3, 7, 9)
        );
        let body: PushJob = serde_json::from_value(jobs[0].body.clone())?;
        assert_eq!(body, sample_job());
        Ok(())
    }

    /// The VAPID secret is made once and then always read back.
    #[test]
    fn vapid_secret_is_made_once() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let first = Store::open(dir.path())?.vapid_secret(|| vec![7; 32])?;
        let again = Store::open(dir.path())?.vapid_secret(|| vec![9; 32])?;
        assert_eq!(first, vec![7; 32]);
        assert_eq!(again, first);
        Ok(())
    }
}
