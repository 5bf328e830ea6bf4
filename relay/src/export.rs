//! The site stream: one site's whole state (every entry of
//! [`crate::store::EntryKind`], plus the bytes of its uploads) as one
//! versioned, checksummed byte stream — what `kefu-relay export` writes,
//! `import` reads, and a site move sends (docs/export-format.md is the
//! format's reference).
//!
//! Writing streams as it reads the store (bounded memory for any site);
//! reading is two passes over a file: the first checks everything (every
//! record's CRC-32C, every key belongs to the site, the trailer's totals and
//! the SHA-256 of the whole stream) and writes nothing, the second writes.
//! A truncated or altered stream is refused before a byte is stored.

use crate::files::Blobs;
use crate::store::{AgentRecord, ConvMarks, EntryKind, FileRecord, RawWriter, Store, StoreError};
use protocol::limits::MAX_EXPORT_RECORD_BYTES;
use protocol::{ConvId, SiteId};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

/// The stream's first 8 bytes.
pub const MAGIC: &[u8; 8] = b"KEFUSITE";
/// The format this relay writes; it reads this one (and will read older
/// ones as they come).
pub const FORMAT_VERSION: u32 = 1;
/// Record kind of an upload's bytes (or its thumbnail's).
const BLOB: u8 = 100;
/// Record kind of the trailer, the last record.
const TRAILER: u8 = 255;

/// What the stream says about itself, first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub format: u32,
    /// The version of the relay that wrote it.
    pub relay_version: String,
    pub site: SiteId,
    /// When it was taken (ms). Each conversation is as of its record's
    /// `last_seq`: the stream's watermark, per conversation.
    pub taken_at: u64,
}

/// The trailer's totals (checked on import against what was read).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    /// Records before the trailer.
    pub records: u64,
    /// Entries by kind name.
    pub entries: BTreeMap<String, u64>,
    pub blobs: u64,
    pub blob_bytes: u64,
    /// Bytes of the stream before the trailer.
    pub bytes: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// The stream is not a whole, unaltered site stream.
    #[error("not a valid site stream: {0}")]
    Format(String),
    /// The stream is fine but this store cannot take it as asked.
    #[error("{0}")]
    Refused(String),
}

type Result<T, E = ExportError> = std::result::Result<T, E>;

fn format_err(m: impl Into<String>) -> ExportError {
    ExportError::Format(m.into())
}

/// Counts and hashes every byte written through it.
struct Hashing<W: Write> {
    inner: W,
    sha: Sha256,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.sha.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// One framed record: kind, length, payload (given in parts), CRC-32C of
/// the three.
fn write_record<W: Write>(w: &mut W, kind: u8, parts: &[&[u8]]) -> std::io::Result<()> {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let len = u32::try_from(len).map_err(|_| std::io::Error::other("record over 4 GiB"))?;
    let mut head = [0u8; 5];
    head[0] = kind;
    head[1..].copy_from_slice(&len.to_be_bytes());
    let mut crc = Crc::default();
    crc.update(&head);
    w.write_all(&head)?;
    for p in parts {
        crc.update(p);
        w.write_all(p)?;
    }
    w.write_all(&crc.finish().to_be_bytes())
}

/// CRC-32C (Castagnoli), the per-record check, over several slices as
/// they come (nothing is copied).
#[derive(Default)]
struct Crc(u32);

impl Crc {
    fn update(&mut self, b: &[u8]) {
        self.0 = crc32c::crc32c_append(self.0, b);
    }
    fn finish(&self) -> u32 {
        self.0
    }
}

/// Writes `site`'s stream to `out`, reading the store as it goes. Works on
/// a running relay's store (see [`Store::for_each_site_entry`] for what is
/// consistent then). Unknown site: `Refused`.
pub fn export_site(store: &Store, blobs: &Blobs, site: &SiteId, out: impl Write) -> Result<Totals> {
    if store.site(site)?.is_none() {
        return Err(ExportError::Refused(format!(
            "no site {site} on this relay"
        )));
    }
    let mut w = Hashing {
        inner: BufWriter::new(out),
        sha: Sha256::new(),
        bytes: 0,
    };
    let header = Header {
        format: FORMAT_VERSION,
        relay_version: env!("CARGO_PKG_VERSION").to_string(),
        site: site.clone(),
        taken_at: crate::now_ms(),
    };
    let h = serde_json::to_vec(&header).map_err(StoreError::Encode)?;
    w.write_all(MAGIC)?;
    write_record(&mut w, 0, &[&h])?;
    let mut totals = Totals::default();
    let mut files: Vec<(String, bool)> = Vec::new();
    store.for_each_site_entry(site, &mut |kind, k, v| {
        if kind == EntryKind::File {
            if let Ok(f) = serde_json::from_slice::<FileRecord>(v) {
                files.push((f.sha256.clone(), false));
                if f.thumb.is_some() {
                    files.push((f.sha256, true));
                }
            }
        }
        let klen = (k.len() as u32).to_be_bytes();
        write_record(&mut w, kind.code(), &[&klen, k, v])?;
        *totals.entries.entry(kind.name().to_string()).or_default() += 1;
        totals.records += 1;
        Ok(())
    })?;
    // The same bytes may serve several records (content-addressed).
    files.sort();
    files.dedup();
    for (sha, thumb) in files {
        let bytes = match std::fs::read(blobs.path(&sha, thumb)) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                tracing::warn!(%sha, thumb, "export: an upload's bytes are missing; skipped");
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        write_record(&mut w, BLOB, &[&[thumb as u8], sha.as_bytes(), &bytes])?;
        totals.blobs += 1;
        totals.blob_bytes += bytes.len() as u64;
        totals.records += 1;
    }
    totals.bytes = w.bytes;
    let digest = w.sha.clone().finalize();
    let t = serde_json::to_vec(&totals).map_err(StoreError::Encode)?;
    write_record(&mut w, TRAILER, &[&t, &digest])?;
    w.flush()?;
    Ok(totals)
}

/// One record as read.
enum Item {
    Entry(EntryKind, Vec<u8>, Vec<u8>),
    Blob {
        sha: String,
        thumb: bool,
        bytes: Vec<u8>,
    },
}

/// Reads the stream, checking framing, CRCs, the trailer and the whole
/// stream's SHA-256, and hands each record to `visit` as it goes. The
/// caller learns the stream is whole only when this returns `Ok`.
fn read_stream(
    r: impl Read,
    mut on_header: impl FnMut(&Header) -> Result<()>,
    mut visit: impl FnMut(&Header, Item) -> Result<()>,
) -> Result<(Header, Totals)> {
    let mut r = BufReader::new(r);
    let mut sha = Sha256::new();
    let mut bytes = 0u64;
    let mut magic = [0u8; 8];
    read_exact(&mut r, &mut magic, "the magic")?;
    if &magic != MAGIC {
        return Err(format_err("it does not start with KEFUSITE"));
    }
    sha.update(magic);
    bytes += 8;
    let mut n = 0u64;
    let mut header: Option<Header> = None;
    let mut totals = Totals::default();
    loop {
        let mut head = [0u8; 5];
        read_exact(&mut r, &mut head, &format!("record {n}"))?;
        let kind = head[0];
        let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as u64;
        if len > MAX_EXPORT_RECORD_BYTES {
            return Err(format_err(format!(
                "record {n} claims {len} bytes (at most {MAX_EXPORT_RECORD_BYTES})"
            )));
        }
        // Grows as bytes arrive: a lying length on a short stream never
        // allocates what it claims.
        let mut payload = Vec::new();
        (&mut r).take(len).read_to_end(&mut payload)?;
        if payload.len() as u64 != len {
            return Err(format_err(format!("truncated in record {n}")));
        }
        let mut crc = [0u8; 4];
        read_exact(&mut r, &mut crc, &format!("record {n}'s checksum"))?;
        let mut c = Crc::default();
        c.update(&head);
        c.update(&payload);
        if c.finish() != u32::from_be_bytes(crc) {
            return Err(format_err(format!("record {n}'s checksum does not match")));
        }
        if kind == TRAILER {
            if payload.len() < 32 {
                return Err(format_err("the trailer is short"));
            }
            let (t, digest) = payload.split_at(payload.len() - 32);
            let claimed: Totals = serde_json::from_slice(t)
                .map_err(|e| format_err(format!("the trailer does not decode: {e}")))?;
            totals.bytes = bytes;
            if claimed != totals {
                return Err(format_err(format!(
                    "the trailer's totals ({claimed:?}) are not what was read ({totals:?})"
                )));
            }
            if sha.clone().finalize().as_slice() != digest {
                return Err(format_err(
                    "the stream's SHA-256 does not match its trailer",
                ));
            }
            let mut extra = [0u8; 1];
            if r.read(&mut extra)? != 0 {
                return Err(format_err("bytes after the trailer"));
            }
            let header = header.ok_or_else(|| format_err("no header"))?;
            return Ok((header, claimed));
        }
        sha.update(head);
        sha.update(&payload);
        sha.update(crc);
        bytes += 5 + len + 4;
        match (kind, &header) {
            (0, None) => {
                let h: Header = serde_json::from_slice(&payload)
                    .map_err(|e| format_err(format!("the header does not decode: {e}")))?;
                if h.format != FORMAT_VERSION {
                    return Err(format_err(format!(
                        "format version {} (this relay reads {FORMAT_VERSION})",
                        h.format
                    )));
                }
                on_header(&h)?;
                header = Some(h);
            }
            (0, Some(_)) => return Err(format_err("a second header")),
            (_, None) => return Err(format_err("records before the header")),
            (BLOB, Some(h)) => {
                if payload.len() < 65 {
                    return Err(format_err(format!("record {n}: a short blob")));
                }
                let thumb = match payload[0] {
                    0 => false,
                    1 => true,
                    _ => return Err(format_err(format!("record {n}: a bad blob flag"))),
                };
                let sha = std::str::from_utf8(&payload[1..65])
                    .ok()
                    .filter(|s| s.bytes().all(|b| b.is_ascii_hexdigit()))
                    .map(str::to_ascii_lowercase)
                    .ok_or_else(|| format_err(format!("record {n}: a bad blob name")))?;
                let bytes = payload[65..].to_vec();
                totals.blobs += 1;
                totals.blob_bytes += bytes.len() as u64;
                totals.records += 1;
                visit(h, Item::Blob { sha, thumb, bytes })?;
            }
            (code, Some(h)) => {
                let kind = EntryKind::from_code(code)
                    .ok_or_else(|| format_err(format!("record {n}: unknown kind {code}")))?;
                if payload.len() < 4 {
                    return Err(format_err(format!("record {n}: short")));
                }
                let klen =
                    u32::from_be_bytes([payload[0], payload[1], payload[2], payload[3]]) as usize;
                if payload.len() < 4 + klen || klen == 0 {
                    return Err(format_err(format!("record {n}: a bad key length")));
                }
                let value = payload.split_off(4 + klen);
                let key = payload[4..].to_vec();
                *totals.entries.entry(kind.name().to_string()).or_default() += 1;
                totals.records += 1;
                visit(h, Item::Entry(kind, key, value))?;
            }
        }
        n += 1;
    }
}

fn read_exact(r: &mut impl Read, buf: &mut [u8], what: &str) -> Result<()> {
    r.read_exact(buf).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => format_err(format!("truncated in {what}")),
        _ => ExportError::Io(e),
    })
}

/// What an import did.
#[derive(Debug, Clone, Serialize)]
pub struct Imported {
    pub site: SiteId,
    pub totals: Totals,
    /// Agents that were here already and gained the site.
    pub agents_merged: u64,
    pub agents_added: u64,
}

/// Checks the whole stream in `path` against this store: every record
/// whole and the site's; returns the header, totals and agent records.
fn check(path: &Path) -> Result<(Header, Totals, Vec<AgentRecord>)> {
    let mut convs: ConvMarks = ConvMarks::new();
    let mut agents = Vec::new();
    let mut n = 0u64;
    let (header, totals) = read_stream(
        std::fs::File::open(path)?,
        |_| Ok(()),
        |h, item| {
            n += 1;
            let site = &h.site;
            match item {
                Item::Entry(kind, k, v) => {
                    Store::entry_belongs(kind, site, &k, &v, &convs).map_err(|why| {
                        format_err(format!("record {n} ({}): {why}", kind.name()))
                    })?;
                    if kind == EntryKind::Conv {
                        let id = std::str::from_utf8(&k[1..])
                            .ok()
                            .and_then(|s| ConvId::new(s).ok())
                            .ok_or_else(|| {
                                format_err(format!("record {n}: a bad conversation id"))
                            })?;
                        convs.insert(id, 0);
                    }
                    if kind == EntryKind::Agent {
                        agents.push(serde_json::from_slice(&v).map_err(|e| {
                            format_err(format!("record {n}: agent does not decode: {e}"))
                        })?);
                    }
                }
                Item::Blob { sha, thumb, bytes } => {
                    if !thumb && crate::files::kind::sha256_hex(&bytes) != sha {
                        return Err(format_err(format!(
                            "record {n}: an upload's bytes do not match their SHA-256"
                        )));
                    }
                }
            }
            Ok(())
        },
    )?;
    if totals.entries.get(EntryKind::Site.name()).copied() != Some(1) {
        return Err(format_err("no site record"));
    }
    Ok((header, totals, agents))
}

/// Imports the stream in `path` into `store` (and its uploads into
/// `blobs`): checks it all first (nothing is written for a bad stream),
/// refuses a site that exists unless `replace`, or an agent whose e-mail
/// another agent has here; then discards the search index in
/// `search_dir` (the imported events are older than its watermark: the
/// next start rebuilds it), writes and syncs before answering.
pub fn import_site(
    store: &Store,
    blobs: &Blobs,
    path: &Path,
    replace: bool,
    search_dir: &Path,
) -> Result<Imported> {
    let (header, totals, agents) = check(path)?;
    let site = header.site.clone();
    if store.site_exists(&site)? && !replace {
        return Err(ExportError::Refused(format!(
            "site {site} exists on this relay (or an import of it did not finish): \
             import with --replace to overwrite it"
        )));
    }
    for a in &agents {
        if let Some(why) = store.agent_conflict(a)? {
            return Err(ExportError::Refused(format!(
                "{why}: remove or rename one of them, then import again"
            )));
        }
    }
    crate::search::discard(search_dir)?;
    store.begin_import(&site)?;
    if replace {
        let n = store.remove_site(&site)?;
        tracing::info!(%site, entries = n, "import: the site's old entries removed");
    }
    let mut merged = 0u64;
    let mut added = 0u64;
    let written = (|| -> Result<()> {
        let mut w = RawWriter::new(store);
        read_stream(
            std::fs::File::open(path)?,
            |h| {
                if h != &header {
                    return Err(format_err("the stream changed while being imported"));
                }
                Ok(())
            },
            |_, item| {
                match item {
                    Item::Entry(EntryKind::Agent, _, _) => {}
                    Item::Entry(kind, k, v) => w.put(kind, &k, &v)?,
                    Item::Blob { sha, thumb, bytes } => blobs.put(&sha, thumb, &bytes)?,
                }
                Ok(())
            },
        )?;
        w.finish()?;
        for a in &agents {
            if store.agent(&a.id)?.is_some() {
                merged += 1;
            } else {
                added += 1;
            }
            store.merge_agent(a, &site)?;
        }
        store.sync()?;
        Ok(())
    })();
    // A failure here leaves the import mark: the site then counts as
    // existing, and the next import must `--replace` (it writes the same
    // keys, so it leaves nothing of this one behind).
    written?;
    store.end_import(&site)?;
    Ok(Imported {
        site,
        totals,
        agents_merged: merged,
        agents_added: added,
    })
}

/// Reads a stream's header and totals, checking it whole (for `import
/// --check` and tests), writing nothing.
pub fn verify(path: &Path) -> Result<(Header, Totals)> {
    check(path).map(|(h, t, _)| (h, t))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The CRC-32C check value (RFC 3720's test vector).
    #[test]
    fn crc32c_matches_the_standard_check_value() {
        assert_eq!(crc32c::crc32c(b"123456789"), 0xE306_9283);
        let mut c = Crc::default();
        c.update(b"1234");
        c.update(b"56789");
        assert_eq!(c.finish(), 0xE306_9283, "in parts, the same");
    }
}
