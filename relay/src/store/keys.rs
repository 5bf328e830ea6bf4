//! Keys of the `chat` tree; the commit task builds batches with them.

use super::join;
use protocol::{AgentId, ConvId, FileId, SiteId, VisitorId};

pub fn conv(conv: &ConvId) -> Vec<u8> {
    [b"c", conv.as_str().as_bytes()].concat()
}
pub fn event_prefix(conv: &ConvId) -> Vec<u8> {
    // Conversation ids are fixed-length ULIDs, so no separator is
    // needed, but keep one anyway: ids from older data stay unambiguous.
    [b"e", conv.as_str().as_bytes(), b"\0"].concat()
}
pub fn event(conv: &ConvId, seq: u64) -> Vec<u8> {
    [event_prefix(conv).as_slice(), &seq.to_be_bytes()].concat()
}
pub fn cid(scope: &str, cid: &str) -> Vec<u8> {
    [b"k".as_slice(), &join(&[scope.as_bytes(), cid.as_bytes()])].concat()
}
pub fn site_conv(site: &SiteId, conv: &ConvId) -> Vec<u8> {
    [
        b"s".as_slice(),
        &join(&[site.as_str().as_bytes(), conv.as_str().as_bytes()]),
    ]
    .concat()
}
pub fn site_conv_prefix(site: &SiteId) -> Vec<u8> {
    [b"s".as_slice(), site.as_str().as_bytes(), b"\0"].concat()
}
pub fn visitor_conv(site: &SiteId, visitor: &VisitorId, conv: &ConvId) -> Vec<u8> {
    [
        b"v".as_slice(),
        &join(&[
            site.as_str().as_bytes(),
            visitor.as_str().as_bytes(),
            conv.as_str().as_bytes(),
        ]),
    ]
    .concat()
}
pub fn file_conv(file: &FileId, conv: &ConvId) -> Vec<u8> {
    [file_conv_prefix(file).as_slice(), conv.as_str().as_bytes()].concat()
}
pub fn file_conv_prefix(file: &FileId) -> Vec<u8> {
    [b"f", file.as_str().as_bytes(), b"\0"].concat()
}
pub fn visitor_conv_prefix(site: &SiteId, visitor: &VisitorId) -> Vec<u8> {
    [
        b"v".as_slice(),
        &join(&[site.as_str().as_bytes(), visitor.as_str().as_bytes()]),
        b"\0",
    ]
    .concat()
}

/// Web Push jobs as relays before the shared outbound queue kept them:
/// `q` + job id; moved into the outbound queue at start.
pub const PUSH_JOB_PREFIX: &[u8] = b"q";
pub fn push_job(id: &str) -> Vec<u8> {
    [PUSH_JOB_PREFIX, id.as_bytes()].concat()
}

/// Routing's load index: `l` agent `\0` conv → (), one per open
/// conversation assigned to the agent.
pub fn load(agent: &AgentId, conv: &ConvId) -> Vec<u8> {
    [load_prefix(agent).as_slice(), conv.as_str().as_bytes()].concat()
}
pub fn load_prefix(agent: &AgentId) -> Vec<u8> {
    [b"l", agent.as_str().as_bytes(), b"\0"].concat()
}
pub const LOAD_PREFIX: &[u8] = b"l";

/// Routing's queue: `w` site `\0` since(u64 BE) conv → (), oldest first.
pub fn queued(site: &SiteId, since: u64, conv: &ConvId) -> Vec<u8> {
    [
        queue_prefix(site).as_slice(),
        &since.to_be_bytes(),
        conv.as_str().as_bytes(),
    ]
    .concat()
}
pub fn queue_prefix(site: &SiteId) -> Vec<u8> {
    [b"w", site.as_str().as_bytes(), b"\0"].concat()
}
pub const QUEUE_PREFIX: &[u8] = b"w";

/// The outbound queue: `o` kind-tag job id (a ULID) → the job (JSON).
pub fn out_job_prefix(tag: u8) -> Vec<u8> {
    vec![b'o', tag]
}
pub fn out_job(tag: u8, id: &str) -> Vec<u8> {
    [out_job_prefix(tag).as_slice(), id.as_bytes()].concat()
}
