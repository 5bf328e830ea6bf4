//! Upload bytes on disk, content-addressed, written whole or not at all.

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Content-addressed blobs on disk: `<root>/<sha[..2]>/<sha>` and
/// `<sha>.thumb`, written to `<root>/tmp` first, fsynced, then renamed into
/// place, so a blob either is whole or is not there. Two uploads of the
/// same bytes at once both write it; the rename makes that harmless.
pub struct Blobs {
    root: PathBuf,
}

impl Blobs {
    pub fn open(root: &Path) -> std::io::Result<Blobs> {
        std::fs::create_dir_all(root.join("tmp"))?;
        // Leftovers of uploads cut short by a crash.
        for e in std::fs::read_dir(root.join("tmp"))?.flatten() {
            let _ = std::fs::remove_file(e.path());
        }
        Ok(Blobs {
            root: root.to_path_buf(),
        })
    }

    pub fn path(&self, sha256: &str, thumb: bool) -> PathBuf {
        let dir = self.root.join(sha256.get(..2).unwrap_or("00"));
        dir.join(if thumb {
            format!("{sha256}.thumb")
        } else {
            sha256.to_string()
        })
    }

    /// Writes `bytes` as the blob (or its thumbnail) unless it exists.
    pub fn put(&self, sha256: &str, thumb: bool, bytes: &[u8]) -> std::io::Result<()> {
        let dest = self.path(sha256, thumb);
        if dest.exists() {
            return Ok(());
        }
        let dir = dest.parent().unwrap_or(&self.root).to_path_buf();
        std::fs::create_dir_all(&dir)?;
        let tmp = self.root.join("tmp").join(ulid::Ulid::new().to_string());
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, &dest)?;
        std::fs::File::open(&dir)?.sync_all()
    }
}
