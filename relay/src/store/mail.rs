//! Mail records: the relay's mail key (it signs reply addresses and the
//! unsubscribe links), kept in `meta` like the VAPID key; each
//! conversation's mail marks; the addresses that unsubscribed.

use super::{encode, join, Result, Store};
use protocol::{ConvId, SiteId};
use serde::{Deserialize, Serialize};

impl Store {
    /// The mail key (32 random bytes), made on first use and kept: reply
    /// addresses in mail already sent must keep working after a restart.
    pub fn mail_key(&self) -> Result<[u8; 32]> {
        const KEY: &[u8] = b"mail_key";
        let mut out = [0u8; 32];
        if let Some(k) = self.meta.get(KEY)? {
            if k.len() == 32 {
                out.copy_from_slice(&k);
                return Ok(out);
            }
        }
        let key: [u8; 32] = rand::random();
        // compare_and_swap so two racing first starts agree on one key.
        let _ = self
            .meta
            .compare_and_swap(KEY, None as Option<&[u8]>, Some(&key[..]))?;
        match self.meta.get(KEY)? {
            Some(k) if k.len() == 32 => out.copy_from_slice(&k),
            _ => out = key,
        }
        self.sync()?;
        Ok(out)
    }
}

/// What mail a conversation has had, for the rules that keep mail from
/// repeating (`chat` tree, `m` conv).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MailMarks {
    /// When its agents were last mailed about it (ms).
    #[serde(default)]
    pub agents_at: u64,
    /// The visitor was mailed every agent message up to this seq.
    #[serde(default)]
    pub visitor_seq: u64,
    /// When transcripts were asked for within the last hour (ms).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transcripts: Vec<u64>,
    /// A transcript was asked for while the conversation was open: one
    /// more goes at close, if anything was said after `transcript_seq`.
    #[serde(default)]
    pub transcript_at_close: bool,
    #[serde(default)]
    pub transcript_seq: u64,
    /// The last mail decision applied (a job id): a decision repeated
    /// after a crash finds itself here and queues nothing twice.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub decided: String,
}

fn marks_key(conv: &ConvId) -> Vec<u8> {
    [b"m", conv.as_str().as_bytes()].concat()
}

fn unsub_key(site: &SiteId, email: &str) -> Vec<u8> {
    join(&[
        b"unsubscribed",
        site.as_str().as_bytes(),
        email.to_ascii_lowercase().as_bytes(),
    ])
}

impl Store {
    pub fn mail_marks(&self, conv: &ConvId) -> Result<MailMarks> {
        Ok(Self::get(&self.chat, &marks_key(conv))?.unwrap_or_default())
    }

    /// The key and bytes of a conversation's marks, for a batch.
    pub fn mail_marks_entry(conv: &ConvId, m: &MailMarks) -> Result<(Vec<u8>, Vec<u8>)> {
        Ok((marks_key(conv), encode(m)?))
    }

    /// Whether `email` unsubscribed from `site`'s visitor mail.
    pub fn unsubscribed(&self, site: &SiteId, email: &str) -> Result<bool> {
        Ok(self.meta.contains_key(unsub_key(site, email))?)
    }

    /// Unsubscribes `email` from `site`'s visitor mail, durably.
    pub fn unsubscribe(&self, site: &SiteId, email: &str) -> Result<()> {
        self.meta
            .insert(unsub_key(site, email), &crate::now_ms().to_be_bytes()[..])?;
        self.sync()
    }
}
