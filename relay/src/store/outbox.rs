//! The outbound queue's jobs (`o` keys of the `chat` tree, so the commit
//! thread stages them in the same atomic batch as their event).

use super::{decode, encode, keys, Result, Store};
use crate::outbox::{Kind, OutJob};

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
