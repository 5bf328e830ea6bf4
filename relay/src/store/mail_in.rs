//! Inbound mail bookkeeping: which mails were processed (by Message-ID),
//! and how far each mailbox was read (its UIDVALIDITY and last UID).

use super::{encode, Result, Store};
use serde::{Deserialize, Serialize};

/// A mail processed once: whatever came of it, it is not processed again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MailInRecord {
    /// When it was processed (ms).
    pub at: u64,
    /// What came of it, for the log and for support ("stored", "refused: …").
    pub outcome: String,
}

fn mail_key(message_id: &str) -> Vec<u8> {
    let mut k = b"m\0".to_vec();
    k.extend_from_slice(message_id.as_bytes());
    k
}

fn mailbox_key(mailbox: &str) -> Vec<u8> {
    let mut k = b"u\0".to_vec();
    k.extend_from_slice(mailbox.as_bytes());
    k
}

impl Store {
    /// The record of the mail with this Message-ID, if it was processed.
    pub fn mail_in(&self, message_id: &str) -> Result<Option<MailInRecord>> {
        Self::get(&self.mail_in, &mail_key(message_id))
    }

    /// Notes a mail as processed (durable with the next [`Store::sync`]).
    pub fn put_mail_in(&self, message_id: &str, rec: &MailInRecord) -> Result<()> {
        self.mail_in.insert(mail_key(message_id), encode(rec)?)?;
        Ok(())
    }

    /// How far `mailbox` (an opaque key naming server, user and folder)
    /// was read: its UIDVALIDITY and the last UID processed.
    pub fn mailbox_mark(&self, mailbox: &str) -> Result<Option<(u32, u32)>> {
        Ok(self.mail_in.get(mailbox_key(mailbox))?.and_then(|v| {
            let b: [u8; 8] = v.as_ref().try_into().ok()?;
            let validity = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
            let uid = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
            Some((validity, uid))
        }))
    }

    /// Notes that `mailbox` was read up to `uid` under `validity`
    /// (durable with the next [`Store::sync`]).
    pub fn set_mailbox_mark(&self, mailbox: &str, validity: u32, uid: u32) -> Result<()> {
        let mut v = validity.to_be_bytes().to_vec();
        v.extend_from_slice(&uid.to_be_bytes());
        self.mail_in.insert(mailbox_key(mailbox), v)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records and marks survive a reopen (after a sync).
    #[test]
    fn kept_across_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let s = Store::open(dir.path()).expect("open");
            assert_eq!(s.mail_in("a@b").expect("get"), None);
            let rec = MailInRecord {
                at: 5,
                outcome: "stored".into(),
            };
            s.put_mail_in("a@b", &rec).expect("put");
            s.set_mailbox_mark("imap://x/INBOX", 7, 42).expect("mark");
            s.sync().expect("sync");
        }
        let s = Store::open(dir.path()).expect("reopen");
        assert_eq!(s.mail_in("a@b").expect("get").map(|r| r.at), Some(5));
        assert_eq!(
            s.mailbox_mark("imap://x/INBOX").expect("mark"),
            Some((7, 42))
        );
        assert_eq!(s.mailbox_mark("imap://y/INBOX").expect("mark"), None);
    }
}
