//! Full-text search over a site's conversations and visitor profiles:
//! `GET /v1/api/sites/{site}/search` — the query, its page of hits, and
//! the snippets, whose matches are marked as data (never markup: visitor
//! text is data, and the console builds its own nodes from the parts).

use crate::{Author, ConvId, VisitorId};
use serde::{Deserialize, Serialize};

/// `?q=&status=&assignee=&label=&from=&to=&cursor=&limit=`, as given: every
/// field is a string so that a malformed one gets a clear 400 from the
/// relay rather than a generic query rejection.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchQuery {
    /// The words to find (all of them): English words match whole and
    /// case-insensitively, Chinese (and Japanese, Korean) text matches as
    /// a substring — `发票` finds `请问可以开发票吗`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    /// open | closed | all (default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// An agent id, or `none` for unassigned conversations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    /// Only conversations carrying this label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// From this day (`YYYY-MM-DD` of the site's time zone, as the reports
    /// use; inclusive) or instant (ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Up to this day (`YYYY-MM-DD` of the site's time zone, the whole day)
    /// or instant (ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// `next_cursor` of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
}

/// What a hit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HitKind {
    /// A message of the visitor's or an agent's.
    Message,
    /// An agent's private note.
    Note,
    /// The visitor's profile: name, email, attributes.
    Visitor,
}

/// One piece of a snippet: `hit` pieces matched the query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnippetPart {
    pub text: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hit: bool,
}

/// One search result, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchHit {
    pub kind: HitKind,
    /// The conversation (a profile hit: the visitor's latest, if any).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conv: Option<ConvId>,
    /// The matching event (messages and notes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    pub visitor: VisitorId,
    /// The visitor's own name, if known (else the console's default name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visitor_name: Option<String>,
    /// When it was said (ms); a profile: when the visitor was last seen.
    pub ts: u64,
    /// Who said it (messages and notes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Author>,
    /// Whether the conversation is open now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open: Option<bool>,
    pub snippet: Vec<SnippetPart>,
}

/// A page of hits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchPage {
    pub hits: Vec<SearchHit>,
    /// Give it as `cursor` for the next (older) page; absent: no more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// False while the index is being built or caught up from the store:
    /// the hits are what is indexed so far.
    pub complete: bool,
}
