//! Attachments. The pure parts — what an upload is ([`kind`]: type sniffing,
//! name cleaning, file ids), [`thumb`]nails, and the bytes on disk
//! ([`blobs`]) — know nothing of HTTP; [`routes`] is the HTTP side:
//! `POST /v1/files` (upload), `GET /v1/files/{id}` and
//! `GET /v1/files/{id}/thumb` (download), and who may do which.
//!
//! - Bytes are stored once per content under `<data_dir>/files/`, named by
//!   their SHA-256 ([`Blobs`]); the record (who, which site, name, sniffed
//!   type) lives in sled ([`crate::store::FileRecord`]). The file id hashes
//!   site, uploader and content, so a retried upload of the same bytes is
//!   the same file.
//! - The type is sniffed from the bytes ([`sniff`]); the client's
//!   Content-Type and file name never decide it.
//! - Raster images get a thumbnail made here, after their header has been
//!   checked against the pixel limit, so a decompression bomb is refused
//!   before anything is decoded.
//! - Nothing is served in a way that can run script on the relay's origin:
//!   only PNG/JPEG/GIF/WebP are `inline`; everything else (SVG, text, PDF,
//!   office files) is `attachment`; every response carries
//!   `X-Content-Type-Options: nosniff` and `Content-Security-Policy:
//!   default-src 'none'; sandbox`.
//! - Every download checks the reader: an agent of the file's site, or the
//!   visitor who uploaded it or whose conversation it was sent in.
//! - Agents' pictures ([`avatar`]) use the same blobs and sniffing, are
//!   re-encoded by the relay, and are served at `/v1/avatars/{agent}`.

pub mod avatar;
pub mod blobs;
pub mod kind;
pub mod routes;
pub mod thumb;

pub use blobs::Blobs;
pub use kind::{clean_name, file_id, sniff, Sniffed};
pub use routes::{routes, FILE_CSP};
pub use thumb::{thumbnail, ThumbError};
