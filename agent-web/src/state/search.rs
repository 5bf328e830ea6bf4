//! The reducer's search: the inbox's search box, its results (replacing
//! the conversation list while shown), more pages, and opening a hit's
//! conversation at the message that matched.

use super::{ConvLink, Effect, Env, State};
use crate::services::api::{ApiResult, Fetch};
use protocol::limits::MAX_SEARCH_QUERY_BYTES;
use protocol::search::{SearchHit, SearchPage};
use protocol::{ConvId, SiteId};

/// What the search box and its results hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchState {
    /// What the box holds now.
    pub input: String,
    /// The query whose results show (none: the normal list shows).
    pub shown: Option<String>,
    pub hits: Vec<SearchHit>,
    /// Where the next page starts, if there is one.
    pub next: Option<String>,
    /// False while the relay's index is still being built.
    pub complete: bool,
    pub busy: bool,
    pub error: Option<String>,
    /// The message a result opened, to scroll to and mark: (conv, seq).
    pub focus: Option<(ConvId, u64)>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SearchAction {
    Input(String),
    /// Enter in the box: search for what it holds.
    Submit,
    /// The next page of the results shown.
    More,
    /// Back to the normal list.
    Clear,
    /// Open the `i`th result's conversation.
    Open(usize),
}

impl State {
    pub(super) fn reduce_search(
        &mut self,
        a: SearchAction,
        env: &Env,
        fx: &mut Vec<Effect>,
    ) -> bool {
        let Some(site) = self.model.site.clone() else {
            return false;
        };
        match a {
            SearchAction::Input(t) => {
                // Bounded like the relay bounds it: cut at a char boundary.
                let mut t = t;
                if t.len() > MAX_SEARCH_QUERY_BYTES {
                    let mut end = MAX_SEARCH_QUERY_BYTES;
                    while !t.is_char_boundary(end) {
                        end -= 1;
                    }
                    t.truncate(end);
                }
                self.search.input = t;
            }
            SearchAction::Submit => {
                let q = self.search.input.trim().to_string();
                if q.is_empty() {
                    return self.reduce_search(SearchAction::Clear, env, fx);
                }
                self.search.shown = Some(q.clone());
                self.search.hits.clear();
                self.search.next = None;
                self.search.error = None;
                self.search.busy = true;
                fx.push(Effect::Fetch(Fetch::Search(site, q, None)));
            }
            SearchAction::More => {
                let (Some(q), Some(cursor)) = (self.search.shown.clone(), self.search.next.clone())
                else {
                    return false;
                };
                self.search.busy = true;
                fx.push(Effect::Fetch(Fetch::Search(site, q, Some(cursor))));
            }
            SearchAction::Clear => {
                self.search = SearchState::default();
            }
            SearchAction::Open(i) => {
                let Some(hit) = self.search.hits.get(i).cloned() else {
                    return false;
                };
                let Some(conv) = hit.conv else {
                    // A visitor without a conversation: their profile.
                    self.toast =
                        Some(crate::i18n::tr("This visitor has no conversation yet.").into());
                    return true;
                };
                self.search.focus = hit.seq.map(|s| (conv.clone(), s));
                return self.open_link(ConvLink { site, conv }, env, fx);
            }
        }
        true
    }

    /// The relay's answer to a search (`q`; `more`: a next page).
    pub(super) fn searched(
        &mut self,
        site: SiteId,
        q: String,
        more: bool,
        r: ApiResult<SearchPage>,
    ) -> bool {
        // An answer for another site or an older query is stale.
        if self.model.site.as_ref() != Some(&site) || self.search.shown.as_ref() != Some(&q) {
            return false;
        }
        self.search.busy = false;
        match r {
            Ok(page) => {
                if !more {
                    self.search.hits.clear();
                }
                self.search.hits.extend(page.hits);
                self.search.next = page.next_cursor;
                self.search.complete = page.complete;
                self.search.error = None;
            }
            Err(e) => self.search.error = Some(e),
        }
        true
    }
}
