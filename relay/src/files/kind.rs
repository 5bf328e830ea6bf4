//! What an upload is and what it is called: its type sniffed from its bytes
//! (never from the client's Content-Type or name), a cleaned file name, and
//! its id. Pure functions, no I/O.

use protocol::limits::MAX_FILE_NAME_BYTES;
use protocol::{FileClass, FileId, Side, SiteId};
use sha2::{Digest, Sha256};

/// What the bytes are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sniffed {
    pub mime: &'static str,
    pub class: FileClass,
    /// A raster image shown inline (with a thumbnail).
    pub inline: bool,
}

const OFFICE: &[&str] = &[
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
    "application/rtf",
];

/// The type of `bytes`, from their content only; `None`: not a kind kefu
/// stores (executables, archives, media, unknown binary).
pub fn sniff(bytes: &[u8]) -> Option<Sniffed> {
    let kind = infer::get(bytes).map(|t| t.mime_type());
    let known = |mime: &'static str, class: FileClass, inline: bool| {
        Some(Sniffed {
            mime,
            class,
            inline,
        })
    };
    match kind {
        Some(m @ ("image/png" | "image/jpeg" | "image/gif" | "image/webp")) => {
            known(m, FileClass::Image, true)
        }
        Some("application/pdf") => known("application/pdf", FileClass::Pdf, false),
        Some(m) if OFFICE.contains(&m) => {
            let m = OFFICE.iter().find(|o| **o == m).copied().unwrap_or(m);
            known(m, FileClass::Office, false)
        }
        // Markup and scripts are text to us; anything else infer knows
        // (zip, exe, mp4, …) is not a type we take.
        None | Some("text/html" | "text/xml" | "text/x-shellscript") => text(bytes),
        Some(_) => None,
    }
}

/// UTF-8 text without binary control characters: plain text, or SVG.
fn text(bytes: &[u8]) -> Option<Sniffed> {
    let s = std::str::from_utf8(bytes).ok()?;
    let s = s.strip_prefix('\u{feff}').unwrap_or(s);
    if s.is_empty()
        || s.chars()
            .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\x0c'))
    {
        return None;
    }
    let svg = s
        .get(..s.len().min(64 * 1024))
        .unwrap_or(s)
        .to_ascii_lowercase()
        .contains("<svg");
    Some(if svg {
        Sniffed {
            mime: "image/svg+xml",
            class: FileClass::Image,
            inline: false,
        }
    } else {
        Sniffed {
            mime: "text/plain; charset=utf-8",
            class: FileClass::Text,
            inline: false,
        }
    })
}

/// A file name safe to store and to put in a header: the last path
/// component, no control characters or quotes, at most
/// [`MAX_FILE_NAME_BYTES`] (cut before the extension).
pub fn clean_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let mut s: String = base
        .chars()
        // Bidi overrides and isolates would let "invoice\u{202e}fdp.exe"
        // display as "invoiceexe.pdf".
        .filter(|c| {
            !c.is_control() && !matches!(c, '"' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .collect();
    s = s.trim().trim_start_matches('.').trim().to_string();
    if s.len() > MAX_FILE_NAME_BYTES {
        let ext = s
            .rfind('.')
            .map(|i| s[i..].to_string())
            .filter(|e| e.len() <= 16)
            .unwrap_or_default();
        let mut end = MAX_FILE_NAME_BYTES - ext.len();
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s = format!("{}{ext}", &s[..end]);
    }
    if s.is_empty() {
        "file".into()
    } else {
        s
    }
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// The id of `sha256` uploaded by `owner` (`side`) for `site`.
pub fn file_id(site: &SiteId, side: Side, owner: &str, sha256: &str) -> FileId {
    let side = match side {
        Side::Visitor => "v",
        _ => "a",
    };
    let mut h = Sha256::new();
    for part in [site.as_str(), side, owner, sha256] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    let full = hex(&h.finalize());
    FileId::new(&full[..32]).unwrap_or_else(|_| unreachable!("hex is a valid id"))
}

/// The SHA-256 of `bytes`, in hex: a blob's name.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_from_bytes_not_names() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        assert_eq!(sniff(png).map(|s| s.mime), Some("image/png"));
        assert_eq!(sniff(b"%PDF-1.4\n").map(|s| s.class), Some(FileClass::Pdf));
        assert_eq!(
            sniff(b"hello\nworld\n").map(|s| s.class),
            Some(FileClass::Text)
        );
        let svg = sniff(b"<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>");
        assert_eq!(svg.as_ref().map(|s| s.mime), Some("image/svg+xml"));
        assert_eq!(svg.map(|s| s.inline), Some(false));
        // An ELF binary, a zip archive, random binary: refused.
        assert_eq!(sniff(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0"), None);
        assert_eq!(sniff(b"PK\x03\x04\x14\0\0\0\0\0"), None);
        assert_eq!(sniff(&[0u8, 1, 2, 3, 200, 201]), None);
    }

    #[test]
    fn names_lose_paths_controls_and_quotes() {
        assert_eq!(clean_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_name("C:\\x\\a\"b\n.pdf"), "ab.pdf");
        assert_eq!(clean_name(""), "file");
        assert_eq!(clean_name("..."), "file");
        assert_eq!(clean_name("invoice\u{202e}fdp.exe"), "invoicefdp.exe");
        let long = format!("{}.pdf", "é".repeat(300));
        let c = clean_name(&long);
        assert!(c.len() <= MAX_FILE_NAME_BYTES && c.ends_with(".pdf"), "{c}");
    }

    #[test]
    fn ids_depend_on_site_uploader_and_content() {
        let s = SiteId::new("demo").expect("id");
        let a = file_id(&s, Side::Visitor, "v1", "aa");
        assert_eq!(a, file_id(&s, Side::Visitor, "v1", "aa"));
        assert_ne!(a, file_id(&s, Side::Visitor, "v2", "aa"));
        assert_ne!(a, file_id(&s, Side::Agent, "v1", "aa"));
        assert_ne!(
            a,
            file_id(&SiteId::new("x").expect("id"), Side::Visitor, "v1", "aa")
        );
    }
}
