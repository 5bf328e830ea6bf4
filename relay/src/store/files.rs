//! Upload records and the per-visitor quota.

use super::{be_u64, encode, join, keys, Result, Store, StoreError};
use protocol::{Attachment, ConvId, FileClass, FileId, Side, SiteId};
use serde::{Deserialize, Serialize};

/// An upload: who sent it for which site, and what it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileRecord {
    pub id: FileId,
    /// Hex SHA-256 of the bytes: the blob's name on disk.
    pub sha256: String,
    pub site: SiteId,
    /// The uploader: a visitor of `site` or an agent.
    pub side: Side,
    pub owner: String,
    pub name: String,
    pub size: u64,
    pub mime: String,
    pub class: FileClass,
    /// MIME type of the thumbnail, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumb: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    pub created: u64,
}

impl FileRecord {
    /// What a message carries.
    pub fn attachment(&self) -> Attachment {
        Attachment {
            id: self.id.clone(),
            name: self.name.clone(),
            size: self.size,
            mime: self.mime.clone(),
            class: self.class,
            thumb: self.thumb.is_some(),
            width: self.width,
            height: self.height,
        }
    }
}

/// What [`Store::add_file`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum AddFile {
    New,
    /// Stored before (a retry, or a concurrent upload of the same bytes).
    Existing(Box<FileRecord>),
    /// Refused: the visitor has `used` bytes stored already.
    OverQuota {
        used: u64,
    },
}

impl Store {
    pub fn file(&self, id: &FileId) -> Result<Option<FileRecord>> {
        Self::get(&self.files, id.as_str().as_bytes())
    }

    /// Stores a new upload's record and charges a visitor's quota, in one
    /// transaction that also decides the races: the same file stored
    /// meanwhile is answered with its record, a quota (`Some`, visitors)
    /// that would be exceeded with the bytes used. Not yet durable: call
    /// [`Store::sync`].
    pub fn add_file(&self, f: &FileRecord, quota: Option<u64>) -> Result<AddFile> {
        use sled::transaction::{abort, TransactionError};
        use sled::Transactional;
        /// Why the transaction stopped short of adding.
        enum Stop {
            Exists,
            OverQuota(u64),
        }
        let value = encode(f)?;
        let quota_key = join(&[f.site.as_str().as_bytes(), f.owner.as_bytes()]);
        let id = f.id.as_str().as_bytes();
        let r = (&self.files, &self.quota).transaction(|(files, quotas)| {
            if files.get(id)?.is_some() {
                return abort(Stop::Exists);
            }
            if let Some(max) = quota {
                let used = quotas.get(&quota_key)?.map(|v| be_u64(&v)).unwrap_or(0);
                if used + f.size > max {
                    return abort(Stop::OverQuota(used));
                }
                quotas.insert(quota_key.as_slice(), &(used + f.size).to_be_bytes()[..])?;
            }
            files.insert(id, value.as_slice())?;
            Ok(())
        });
        match r {
            Ok(()) => Ok(AddFile::New),
            Err(TransactionError::Abort(Stop::Exists)) => match self.file(&f.id)? {
                Some(old) => Ok(AddFile::Existing(Box::new(old))),
                None => Err(StoreError::Io(std::io::Error::other(
                    "a file record vanished while being added",
                ))),
            },
            Err(TransactionError::Abort(Stop::OverQuota(used))) => Ok(AddFile::OverQuota { used }),
            Err(TransactionError::Storage(e)) => Err(StoreError::Sled(e)),
        }
    }

    /// Bytes of uploads a visitor has stored.
    pub fn quota_used(&self, site: &SiteId, visitor: &str) -> Result<u64> {
        let k = join(&[site.as_str().as_bytes(), visitor.as_bytes()]);
        Ok(self.quota.get(k)?.map(|v| be_u64(&v)).unwrap_or(0))
    }

    /// The conversations a file was sent in.
    pub fn file_convs(&self, id: &FileId) -> Result<Vec<ConvId>> {
        self.conv_ids_under(&keys::file_conv_prefix(id), false, usize::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Adding a file is one decision: a second add of the same id answers
    /// with the first record and charges nothing; an add past the quota
    /// stores nothing.
    #[test]
    fn adding_a_file_decides_retries_and_quota_at_once() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let store = Store::open(dir.path())?;
        let site = SiteId::new("s").expect("id");
        let file = |id: &str, size: u64| FileRecord {
            id: FileId::new(id).expect("id"),
            sha256: id.into(),
            site: site.clone(),
            side: Side::Visitor,
            owner: "v1".into(),
            name: "a.txt".into(),
            size,
            mime: "text/plain".into(),
            class: FileClass::Text,
            thumb: None,
            width: None,
            height: None,
            created: 1,
        };
        assert_eq!(store.add_file(&file("f1", 60), Some(100))?, AddFile::New);
        let again = FileRecord {
            name: "renamed.txt".into(),
            ..file("f1", 60)
        };
        assert_eq!(
            store.add_file(&again, Some(100))?,
            AddFile::Existing(Box::new(file("f1", 60)))
        );
        assert_eq!(
            store.add_file(&file("f2", 50), Some(100))?,
            AddFile::OverQuota { used: 60 }
        );
        assert_eq!(store.file(&FileId::new("f2").expect("id"))?, None);
        assert_eq!(store.quota_used(&site, "v1")?, 60);
        // Agents have no quota.
        assert_eq!(store.add_file(&file("f3", 500), None)?, AddFile::New);
        assert_eq!(store.quota_used(&site, "v1")?, 60);
        Ok(())
    }
}
