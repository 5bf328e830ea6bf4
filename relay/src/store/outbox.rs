//! The outbound queue's jobs (`o` keys of the `chat` tree, so the commit
//! thread stages them in the same atomic batch as their event).

use super::{decode, encode, keys, Result, Store};
use serde::{Deserialize, Serialize};

/// The queues, one per way out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Webhook,
    Wechat,
    Push,
    Mail,
}

impl Kind {
    /// The key byte after `o` that keeps each kind's jobs together.
    pub fn tag(self) -> u8 {
        match self {
            Kind::Webhook => b'h',
            Kind::Wechat => b'x',
            Kind::Push => b'p',
            Kind::Mail => b'm',
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Webhook => "webhook",
            Kind::Wechat => "wechat",
            Kind::Push => "push",
            Kind::Mail => "mail",
        }
    }
}

/// One thing to send, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutJob {
    /// A ULID: creation order.
    pub id: String,
    pub kind: Kind,
    /// Jobs of one lane go one at a time, in id order.
    pub lane: String,
    /// When it was queued (ms).
    pub created: u64,
    /// Failed attempts so far.
    #[serde(default)]
    pub attempts: u32,
    /// Not attempted before this (ms).
    #[serde(default)]
    pub next_at: u64,
    /// What the courier needs; its own format.
    pub body: serde_json::Value,
}

impl OutJob {
    pub fn new(kind: Kind, lane: impl Into<String>, body: serde_json::Value) -> OutJob {
        OutJob {
            id: next_id(),
            kind,
            lane: lane.into(),
            created: crate::now_ms(),
            attempts: 0,
            next_at: 0,
            body,
        }
    }

    /// A job in a lane of its own: attempted independently of every other
    /// (no order to keep, nothing to wait for).
    pub fn solo(kind: Kind, body: serde_json::Value) -> OutJob {
        let mut job = OutJob::new(kind, "", body);
        job.lane = job.id.clone();
        job
    }
}

/// A ULID strictly greater than every one before it in this process
/// (monotonic within a millisecond), so jobs staged together keep their
/// order in the queue.
fn next_id() -> String {
    use std::sync::Mutex;
    static GEN: Mutex<Option<ulid::Generator>> = Mutex::new(None);
    let mut g = GEN.lock().unwrap_or_else(|p| p.into_inner());
    let gen = g.get_or_insert_with(ulid::Generator::new);
    gen.generate()
        .unwrap_or_else(|_| ulid::Ulid::new())
        .to_string()
}

impl Store {
    /// The key and bytes of a job, for a commit batch.
    pub fn out_job_entry(job: &OutJob) -> Result<(Vec<u8>, Vec<u8>)> {
        Ok((keys::out_job(job.kind.tag(), &job.id), encode(job)?))
    }

    /// Every queued job of `kind`, oldest first.
    pub fn out_jobs(&self, kind: Kind) -> Result<Vec<OutJob>> {
        let mut out = Vec::new();
        for item in self.chat.scan_prefix(keys::out_job_prefix(kind.tag())) {
            let (k, v) = item?;
            out.push(decode(&k, &v)?);
        }
        Ok(out)
    }

    /// Stores a job (new, or after a failed attempt); not yet durable.
    pub fn put_out_job(&self, job: &OutJob) -> Result<()> {
        let (k, v) = Self::out_job_entry(job)?;
        self.chat.insert(k, v)?;
        Ok(())
    }

    pub fn delete_out_job(&self, kind: Kind, id: &str) -> Result<()> {
        self.chat.remove(keys::out_job(kind.tag(), id))?;
        Ok(())
    }
}
