//! Blocks, the erasure log, erasures under way, and the deletes an erase
//! makes outside the `chat` tree (profile, pages, quota, file records).
//!
//! Trees: `blocks`: site `\0` block id (ULID) → [`BlockView`];
//! `erasures`: site `\0` erasure id (ULID) → [`ErasureView`] (the log);
//! `erasing`: site `\0` visitor → [`ErasureView`] (an erase asked for and
//! not yet finished: finished at the next start).

use super::{decode, encode, join, FileRecord, Result, Store};
use protocol::api::privacy::{BlockView, ErasureView};
use protocol::{FileId, Side, SiteId, VisitorId};
use serde::{Deserialize, Serialize};

/// An erase under way: its log entry as it will be, and the files it
/// found attached in the visitor's conversations before it took them off
/// (so a resumed erase still deletes them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErasingMark {
    pub view: ErasureView,
    #[serde(default)]
    pub files: Vec<FileId>,
}

impl Store {
    /// A site's blocks, oldest first.
    pub fn blocks(&self, site: &SiteId) -> Result<Vec<BlockView>> {
        Self::all(&self.blocks, &site_prefix(site))
    }

    /// Stores a block (the caller checked the site's bound); not yet durable.
    pub fn put_block(&self, site: &SiteId, b: &BlockView) -> Result<()> {
        self.blocks.insert(
            join(&[site.as_str().as_bytes(), b.id.as_bytes()]),
            encode(b)?,
        )?;
        Ok(())
    }

    /// Removes a block; `None`: no such block on this site.
    pub fn delete_block(&self, site: &SiteId, id: &str) -> Result<Option<BlockView>> {
        let key = join(&[site.as_str().as_bytes(), id.as_bytes()]);
        match self.blocks.remove(&key)? {
            Some(v) => Ok(Some(decode(&key, &v)?)),
            None => Ok(None),
        }
    }

    /// Marks an erase as under way (durable once synced): the mark is
    /// what makes an interrupted erase finish at the next start.
    pub fn put_erasing(&self, site: &SiteId, visitor: &VisitorId, e: &ErasingMark) -> Result<()> {
        self.erasing
            .insert(Self::visitor_key(site, visitor), encode(e)?)?;
        Ok(())
    }

    /// Erases under way: (site, visitor, the mark).
    pub fn erasing_all(&self) -> Result<Vec<(SiteId, VisitorId, ErasingMark)>> {
        let mut out = Vec::new();
        for item in self.erasing.iter() {
            let (k, v) = item?;
            let e: ErasingMark = decode(&k, &v)?;
            let parts = k.iter().position(|&b| b == 0).and_then(|i| {
                let site = std::str::from_utf8(&k[..i]).ok()?;
                let visitor = std::str::from_utf8(&k[i + 1..]).ok()?;
                Some((SiteId::new(site).ok()?, VisitorId::new(visitor).ok()?))
            });
            match parts {
                Some((s, v)) => out.push((s, v, e)),
                None => {
                    tracing::warn!(key = %String::from_utf8_lossy(&k), "skipping bad erasing key")
                }
            }
        }
        Ok(out)
    }

    /// Logs a finished erase (under its mark's id, so finishing one twice
    /// logs it once) and lifts its mark; not yet durable.
    pub fn finish_erasure(
        &self,
        site: &SiteId,
        visitor: &VisitorId,
        e: &ErasureView,
    ) -> Result<()> {
        self.erasures.insert(
            join(&[site.as_str().as_bytes(), e.id.as_bytes()]),
            encode(e)?,
        )?;
        self.erasing.remove(Self::visitor_key(site, visitor))?;
        Ok(())
    }

    /// A site's erasure log, newest first, at most `limit`.
    pub fn erasures(&self, site: &SiteId, limit: usize) -> Result<Vec<ErasureView>> {
        let mut out = Vec::new();
        for item in self
            .erasures
            .scan_prefix(site_prefix(site))
            .rev()
            .take(limit)
        {
            let (k, v) = item?;
            out.push(decode(&k, &v)?);
        }
        Ok(out)
    }

    /// Every page view of a visitor, oldest first (the export's).
    pub fn all_pages(&self, site: &SiteId, visitor: &VisitorId) -> Result<Vec<super::PageRecord>> {
        self.pages(site, visitor, usize::MAX)
    }

    /// Removes a visitor's record, page views and upload quota; returns
    /// how many page views went. Not yet durable.
    pub fn remove_visitor(&self, site: &SiteId, visitor: &VisitorId) -> Result<u64> {
        let key = Self::visitor_key(site, visitor);
        self.visitors.remove(&key)?;
        let mut n = 0;
        for item in self.pages.scan_prefix([key.as_slice(), b"\0"].concat()) {
            let (k, _) = item?;
            self.pages.remove(k)?;
            n += 1;
        }
        self.quota.remove(&key)?;
        Ok(n)
    }

    /// Every upload a visitor of `site` made.
    pub fn visitor_files(&self, site: &SiteId, visitor: &VisitorId) -> Result<Vec<FileRecord>> {
        let mut out = Vec::new();
        for item in self.files.iter() {
            let (k, v) = item?;
            let f: FileRecord = decode(&k, &v)?;
            if f.side == Side::Visitor && &f.site == site && f.owner == visitor.as_str() {
                out.push(f);
            }
        }
        Ok(out)
    }

    /// Removes a file's record and where it was sent; returns whether
    /// another record still names the same bytes (then the blob stays).
    /// Not yet durable.
    pub fn remove_file(&self, f: &FileRecord) -> Result<bool> {
        self.files.remove(f.id.as_str().as_bytes())?;
        self.remove_file_convs(&f.id)?;
        for item in self.files.iter() {
            let (k, v) = item?;
            let other: FileRecord = decode(&k, &v)?;
            if other.sha256 == f.sha256 {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

fn site_prefix(site: &SiteId) -> Vec<u8> {
    [site.as_str().as_bytes(), b"\0"].concat()
}

/// Used by [`Store::remove_file`]: the `f` index entries of a file.
impl Store {
    fn remove_file_convs(&self, id: &FileId) -> Result<()> {
        for item in self.chat.scan_prefix(super::keys::file_conv_prefix(id)) {
            let (k, _) = item?;
            self.chat.remove(k)?;
        }
        Ok(())
    }
}
