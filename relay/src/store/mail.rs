//! Mail records: the relay's mail key (it signs reply addresses and
//! visitor links in mail), kept in `meta` like the VAPID key.

use super::{Result, Store};

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
