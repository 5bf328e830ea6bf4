//! Asking the index: one site's documents holding every needle, newest
//! first, filtered by the caller, paged by a cursor; and the snippets.

use super::tokenize::{self, Needle};
use super::{Search, SearchError};
use protocol::limits::{MAX_SEARCH_SCAN, SEARCH_SNIPPET_BEFORE_CHARS, SEARCH_SNIPPET_CHARS};
use protocol::search::{HitKind, SnippetPart};
use protocol::{Author, ConvId, SiteId, VisitorId};
use std::ops::Bound;
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, Occur, PhraseQuery, Query, RangeQuery, TermQuery};
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::{DocAddress, Order, TantivyDocument, Term};

/// One validated search.
#[derive(Debug, Clone)]
pub struct Request {
    pub site: SiteId,
    /// What to find (all of them); not empty.
    pub needles: Vec<Needle>,
    /// Stamped at or after (ms).
    pub from: Option<u64>,
    /// Stamped at or before (ms).
    pub to: Option<u64>,
    /// Strictly older than this (ts, key) in newest-first order.
    pub cursor: Option<(u64, String)>,
    pub limit: usize,
}

/// One matching document, as stored.
#[derive(Debug, Clone)]
pub struct Found {
    pub kind: HitKind,
    /// Unique per document; with `ts`, the cursor.
    pub key: String,
    pub conv: Option<ConvId>,
    pub seq: Option<u64>,
    pub visitor: VisitorId,
    pub ts: u64,
    pub from: Option<Author>,
    pub text: String,
}

impl Found {
    /// The cursor that continues after this hit.
    pub fn cursor(&self) -> String {
        format!("{}.{}", self.ts, self.key)
    }
}

/// Parses a cursor made by [`Found::cursor`].
pub fn parse_cursor(s: &str) -> Option<(u64, String)> {
    let (ts, key) = s.split_once('.')?;
    let ts = ts.parse().ok()?;
    let ok = (key.starts_with("e:") || key.starts_with("v:"))
        && key.len() <= 3 * protocol::limits::MAX_ID_BYTES + 24
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-:".contains(&b));
    ok.then(|| (ts, key.to_string()))
}

/// The index terms a request needs (its size is what
/// [`protocol::limits::MAX_SEARCH_TERMS`] bounds).
pub fn term_count(needles: &[Needle]) -> usize {
    needles.iter().map(|n| n.terms().len()).sum()
}

impl Search {
    /// The request's hits that `keep` accepts, newest first, at most
    /// `limit`, and the cursor of the next page if there may be one.
    /// Blocking (reads the index).
    pub fn search(
        &self,
        req: &Request,
        mut keep: impl FnMut(&Found) -> bool,
    ) -> Result<(Vec<Found>, Option<String>), SearchError> {
        let shared = self.shared()?;
        if !shared.checked.load(std::sync::atomic::Ordering::Relaxed) {
            // Not yet checksummed: nothing rather than a corrupt read.
            return Ok((Vec::new(), None));
        }
        let f = shared.f;
        let mut must: Vec<(Occur, Box<dyn Query>)> = vec![(
            Occur::Must,
            Box::new(TermQuery::new(
                Term::from_field_text(f.site, req.site.as_str()),
                IndexRecordOption::Basic,
            )),
        )];
        for n in &req.needles {
            let terms: Vec<(usize, Term)> = n
                .terms()
                .into_iter()
                .map(|(i, t)| (i, Term::from_field_text(f.text, &t)))
                .collect();
            let q: Box<dyn Query> = match terms.len() {
                1 => Box::new(TermQuery::new(terms[0].1.clone(), IndexRecordOption::Basic)),
                _ => Box::new(PhraseQuery::new_with_offset(terms)),
            };
            must.push((Occur::Must, q));
        }
        let upper = match (req.to, &req.cursor) {
            (Some(t), Some((c, _))) => Some(t.min(*c)),
            (t, c) => t.or(c.as_ref().map(|c| c.0)),
        };
        if req.from.is_some() || upper.is_some() {
            let lo = req.from.map_or(Bound::Unbounded, |v| {
                Bound::Included(Term::from_field_u64(f.ts, v))
            });
            let hi = upper.map_or(Bound::Unbounded, |v| {
                Bound::Included(Term::from_field_u64(f.ts, v))
            });
            must.push((Occur::Must, Box::new(RangeQuery::new(lo, hi))));
        }
        let query = BooleanQuery::new(must);
        let searcher = shared.reader.searcher();
        let top: Vec<(u64, DocAddress)> = searcher.search(
            &query,
            &TopDocs::with_limit(MAX_SEARCH_SCAN).order_by_fast_field::<u64>("ts", Order::Desc),
        )?;
        let scanned_all = top.len() < MAX_SEARCH_SCAN;
        let mut out = Vec::new();
        let mut last: Option<Found> = None;
        // Equal stamps are ordered by key (descending) so that a cursor
        // inside a run of them continues exactly.
        let mut i = 0;
        while i < top.len() {
            let ts = top[i].0;
            let mut j = i;
            while j < top.len() && top[j].0 == ts {
                j += 1;
            }
            let mut run = Vec::with_capacity(j - i);
            for (_, addr) in &top[i..j] {
                let doc: TantivyDocument = searcher.doc(*addr)?;
                if let Some(found) = self.found(&doc) {
                    run.push(found);
                }
            }
            run.sort_by(|a, b| b.key.cmp(&a.key));
            for found in run {
                if let Some((cts, ckey)) = &req.cursor {
                    if found.ts > *cts || (found.ts == *cts && found.key >= *ckey) {
                        continue;
                    }
                }
                if keep(&found) {
                    if out.len() == req.limit {
                        // One more exists: the page ends at the last kept.
                        let next = out.last().map(Found::cursor);
                        return Ok((out, next));
                    }
                    out.push(found.clone());
                }
                last = Some(found);
            }
            i = j;
        }
        // Scanned the bound without filling the page: hand back where the
        // scan stopped, so the next request goes on from there.
        let next = match (scanned_all, last) {
            (false, Some(l)) => Some(l.cursor()),
            _ => None,
        };
        Ok((out, next))
    }

    fn found(&self, doc: &TantivyDocument) -> Option<Found> {
        let f = self.shared().ok()?.f;
        let text = |field| {
            doc.get_first(field)
                .and_then(|v| v.as_str().map(str::to_string))
        };
        let kind = match text(f.kind)?.as_str() {
            "m" => HitKind::Message,
            "n" => HitKind::Note,
            _ => HitKind::Visitor,
        };
        Some(Found {
            kind,
            key: text(f.key)?,
            conv: text(f.conv).and_then(|c| ConvId::new(c).ok()),
            seq: doc.get_first(f.seq).and_then(|v| v.as_u64()),
            visitor: VisitorId::new(text(f.visitor)?).ok()?,
            ts: doc.get_first(f.ts).and_then(|v| v.as_u64())?,
            from: text(f.from).and_then(|s| serde_json::from_str(&s).ok()),
            text: text(f.text).unwrap_or_default(),
        })
    }
}

/// Where the needles are in `text` (byte ranges, sorted, merged): words
/// where a token of `text` equals one, CJK runs wherever they occur.
fn matches(text: &str, needles: &[Needle]) -> Vec<(usize, usize)> {
    let mut ranges = Vec::new();
    let words: Vec<&str> = needles
        .iter()
        .filter_map(|n| match n {
            Needle::Word(w) => Some(w.as_str()),
            Needle::Cjk(_) => None,
        })
        .collect();
    if !words.is_empty() {
        for t in tokenize::tokens(text) {
            if words.contains(&t.text.as_str()) {
                ranges.push((t.from, t.to));
            }
        }
    }
    for n in needles {
        if let Needle::Cjk(s) = n {
            ranges.extend(
                text.match_indices(s.as_str())
                    .map(|(i, m)| (i, i + m.len())),
            );
        }
    }
    ranges.sort();
    let mut merged: Vec<(usize, usize)> = Vec::with_capacity(ranges.len());
    for (a, b) in ranges {
        match merged.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    merged
}

/// A fragment of `text` around its first match, at most
/// [`SEARCH_SNIPPET_CHARS`] characters (with `…` where it is cut), its
/// matches marked as parts — data for the console to render, never markup.
pub fn snippet(text: &str, needles: &[Needle]) -> Vec<SnippetPart> {
    let ranges = matches(text, needles);
    // Byte offsets of each char, and of the end.
    let bounds: Vec<usize> = text
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(text.len()))
        .collect();
    let chars = bounds.len() - 1;
    let first = ranges.first().map_or(0, |r| r.0);
    let first_char = bounds.partition_point(|&b| b < first);
    let start_char = first_char.saturating_sub(SEARCH_SNIPPET_BEFORE_CHARS);
    let end_char = (start_char + SEARCH_SNIPPET_CHARS).min(chars);
    let (start, end) = (bounds[start_char], bounds[end_char]);
    let mut parts = Vec::new();
    let mut push = |s: &str, hit: bool| {
        if !s.is_empty() {
            parts.push(SnippetPart {
                text: s.to_string(),
                hit,
            });
        }
    };
    if start > 0 {
        push("…", false);
    }
    let mut at = start;
    for (a, b) in ranges {
        let (a, b) = (a.max(start), b.min(end));
        if a >= b {
            continue;
        }
        push(&text[at..a], false);
        push(&text[a..b], true);
        at = b;
    }
    push(&text[at..end], false);
    if end < text.len() {
        push("…", false);
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokenize::needles;

    fn marked(parts: &[SnippetPart]) -> String {
        parts
            .iter()
            .map(|p| {
                if p.hit {
                    format!("[{}]", p.text)
                } else {
                    p.text.clone()
                }
            })
            .collect()
    }

    /// Snippets mark whole words case-insensitively and CJK substrings,
    /// and cut long text around the first match.
    #[test]
    fn snippets_mark_matches_as_parts() {
        let n = needles("invoice 发票");
        assert_eq!(
            marked(&snippet(
                "请问可以开发票吗? Invoice please, invoices no",
                &n
            )),
            "请问可以开[发票]吗? [Invoice] please, invoices no"
        );
        let long = format!("{}needle{}", "x ".repeat(100), " y".repeat(200));
        let s = marked(&snippet(&long, &needles("needle")));
        assert!(s.starts_with('…') && s.ends_with('…'), "{s}");
        assert!(s.contains("[needle]"));
        assert!(s.chars().count() <= SEARCH_SNIPPET_CHARS + 4);
        assert_eq!(marked(&snippet("<b>x</b>", &needles("b"))), "<[b]>x</[b]>");
    }

    #[test]
    fn cursors_round_trip_and_refuse_junk() {
        let c = "1700000000000.e:01HZZZZZZZZZZZZZZZZZZZZZZZ:7";
        assert_eq!(
            parse_cursor(c),
            Some((1_700_000_000_000, "e:01HZZZZZZZZZZZZZZZZZZZZZZZ:7".into()))
        );
        for bad in ["", "x.e:1", "12", "12.z:1", "12.e:<script>"] {
            assert_eq!(parse_cursor(bad), None, "{bad}");
        }
    }
}
