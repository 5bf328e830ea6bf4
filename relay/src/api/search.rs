//! Search: a site's messages, notes and visitor profiles, newest first,
//! with the matching snippet marked (see [`crate::search`]).

use super::auth::{member_site, Me};
use crate::reply::{bad, internal, json, refuse, Reply};
use crate::search::tokenize::{needles, Needle};
use crate::search::{snippet, Found, Request, SearchError};
use crate::store::{ConvRecord, StoreError};
use crate::App;
use chrono::{NaiveDate, TimeZone};
use chrono_tz::Tz;
use protocol::limits::{
    DEFAULT_SEARCH_PAGE, MAX_SEARCH_PAGE, MAX_SEARCH_QUERY_BYTES, MAX_SEARCH_TERMS,
};
use protocol::search::{HitKind, SearchHit, SearchPage, SearchQuery};
use protocol::{AgentId, ConvId, ErrorCode};
use std::collections::HashMap;
use std::sync::Arc;
use warp::http::StatusCode;
use warp::Rejection;

/// Which conversations a search keeps (applied to their records).
#[derive(Debug, Default)]
struct Filters {
    /// `Some(true)`: open only; `Some(false)`: closed only.
    open: Option<bool>,
    /// `Some(None)`: unassigned only.
    assignee: Option<Option<AgentId>>,
    label: Option<String>,
}

impl Filters {
    fn any(&self) -> bool {
        self.open.is_some() || self.assignee.is_some() || self.label.is_some()
    }

    fn keep(&self, c: &ConvRecord) -> bool {
        self.open.is_none_or(|o| c.open == o)
            && self.assignee.as_ref().is_none_or(|a| c.assignee == *a)
            && self.label.as_ref().is_none_or(|l| c.labels.contains(l))
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`), `None` if it is not a real date.
fn days_from_civil(y: i64, m: u32, d: u32) -> Option<i64> {
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days_in = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if d == 0 || d > days_in {
        return None;
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// The first millisecond of `date` in `tz` (a zone that skips midnight:
/// its first hour that exists).
fn day_start(tz: Tz, date: NaiveDate) -> Option<i64> {
    let midnight = date.and_hms_opt(0, 0, 0)?;
    tz.from_local_datetime(&midnight)
        .earliest()
        .or_else(|| {
            tz.from_local_datetime(&(midnight + chrono::Duration::hours(1)))
                .earliest()
        })
        .map(|t| t.timestamp_millis())
}

/// `from`/`to`: ms since the epoch, or a day `YYYY-MM-DD` of the site's
/// time zone `tz` (its first millisecond, or with `end`, its last): the
/// same days as the reports ([`super::stats::site_zone`]).
pub fn parse_instant(name: &str, s: &str, end: bool, tz: Tz) -> Result<u64, String> {
    let s = s.trim();
    let wrong =
        || format!("{name} must be a date YYYY-MM-DD or milliseconds since 1970, not {s:?}");
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().map_err(|_| wrong());
    }
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(wrong());
    }
    let num = |r: std::ops::Range<usize>| -> Result<u32, String> {
        let part = &s[r];
        if !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(wrong());
        }
        part.parse().map_err(|_| wrong())
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    days_from_civil(y as i64, m, d).ok_or_else(|| format!("{name}: {s} is not a date"))?;
    let date = NaiveDate::from_ymd_opt(y as i32, m, d)
        .ok_or_else(|| format!("{name}: {s} is not a date"))?;
    let ms = if end {
        date.succ_opt()
            .and_then(|next| day_start(tz, next))
            .map(|t| t - 1)
    } else {
        day_start(tz, date)
    };
    ms.and_then(|t| u64::try_from(t).ok())
        .ok_or_else(|| format!("{name}: {s} is before 1970"))
}

/// The query text's needles, or why it cannot be searched.
pub fn parse_q(q: Option<&str>) -> Result<Vec<Needle>, String> {
    let q = q.map(str::trim).unwrap_or("");
    if q.is_empty() {
        return Err("q is empty: give the words to search for".into());
    }
    if q.len() > MAX_SEARCH_QUERY_BYTES {
        return Err(format!(
            "q is {} bytes; at most {MAX_SEARCH_QUERY_BYTES}",
            q.len()
        ));
    }
    let n = needles(q);
    if n.is_empty() {
        return Err("q has no letters, digits or characters to search for".into());
    }
    let terms = crate::search::query::term_count(&n);
    if terms > MAX_SEARCH_TERMS {
        return Err(format!(
            "q asks for {terms} terms; at most {MAX_SEARCH_TERMS} (fewer words)"
        ));
    }
    Ok(n)
}

/// GET /v1/api/sites/{site}/search
pub async fn search(
    site: String,
    q: SearchQuery,
    app: Arc<App>,
    me: Me,
) -> Result<Reply, Rejection> {
    let s = member_site(&app, &me, &site)?;
    let tz = super::stats::site_zone(&s);
    let needles = parse_q(q.q.as_deref()).map_err(bad)?;
    let from = q
        .from
        .as_deref()
        .map(|v| parse_instant("from", v, false, tz))
        .transpose()
        .map_err(bad)?;
    let to =
        q.to.as_deref()
            .map(|v| parse_instant("to", v, true, tz))
            .transpose()
            .map_err(bad)?;
    if let (Some(f), Some(t)) = (from, to) {
        if f > t {
            return Err(bad("from is after to"));
        }
    }
    let cursor = match q.cursor.as_deref() {
        None | Some("") => None,
        Some(c) => Some(
            crate::search::query::parse_cursor(c)
                .ok_or_else(|| bad("cursor is not one this search gave"))?,
        ),
    };
    let limit = match q.limit.as_deref() {
        None | Some("") => DEFAULT_SEARCH_PAGE,
        Some(l) => match l.parse::<usize>() {
            Ok(n) if n >= 1 => n.min(MAX_SEARCH_PAGE),
            _ => return Err(bad(format!("limit must be 1 to {MAX_SEARCH_PAGE}"))),
        },
    };
    let mut filters = Filters::default();
    match q.status.as_deref().unwrap_or("all") {
        "all" | "" => {}
        "open" => filters.open = Some(true),
        "closed" => filters.open = Some(false),
        _ => return Err(bad("status must be open, closed or all")),
    }
    match q.assignee.as_deref() {
        None | Some("") => {}
        Some("none") => filters.assignee = Some(None),
        Some(a) => {
            let id = AgentId::new(a).map_err(|_| bad("assignee must be an agent id or none"))?;
            filters.assignee = Some(Some(id));
        }
    }
    if let Some(l) = q.label.as_deref().filter(|l| !l.is_empty()) {
        if s.routing.label(l).is_none() {
            return Err(bad(format!("label {l:?} is not one of this site's labels")));
        }
        filters.label = Some(l.to_string());
    }
    let req = Request {
        site: s.id.clone(),
        needles,
        from,
        to,
        cursor,
        limit,
    };
    let page = tokio::task::spawn_blocking(move || answer(&app, &req, &filters))
        .await
        .map_err(internal)??;
    Ok(json(StatusCode::OK, &page))
}

/// A failed search: 503 while the index could not be opened or created
/// (the relay runs on without it), else an internal error.
fn search_failed(e: SearchError) -> Rejection {
    match e {
        SearchError::Unavailable => refuse(
            ErrorCode::Storage,
            "search unavailable: the search index could not be opened or created (see the relay's log)",
        ),
        e => internal(e),
    }
}

/// Runs the search and makes its hits (blocking: the index and the store).
fn answer(app: &App, req: &Request, filters: &Filters) -> Result<SearchPage, Rejection> {
    let complete = app.search.complete();
    let mut convs: HashMap<ConvId, Option<ConvRecord>> = HashMap::new();
    // A store error fails the search (500), never hides a hit.
    let mut failed: Option<StoreError> = None;
    let mut conv = |id: &ConvId| -> Result<Option<ConvRecord>, StoreError> {
        if let Some(c) = convs.get(id) {
            return Ok(c.clone());
        }
        let c = app.store.conv(id)?;
        convs.insert(id.clone(), c.clone());
        Ok(c)
    };
    let mut keep = |f: &Found| {
        // The store is the truth: a conversation of another site (or
        // gone), an erased visitor's profile, never shows, whatever the
        // index still holds.
        let kept = (|| -> Result<bool, StoreError> {
            if f.kind == HitKind::Visitor && app.store.visitor(&req.site, &f.visitor)?.is_none() {
                return Ok(false);
            }
            Ok(match &f.conv {
                Some(id) => conv(id)?.is_some_and(|c| c.site == req.site && filters.keep(&c)),
                None => !filters.any(),
            })
        })();
        kept.unwrap_or_else(|e| {
            failed.get_or_insert(e);
            false
        })
    };
    let (found, next_cursor) = app.search.search(req, &mut keep).map_err(search_failed)?;
    if let Some(e) = failed {
        return Err(internal(e));
    }
    let mut hits = Vec::with_capacity(found.len());
    for f in found {
        let c = match &f.conv {
            Some(id) => app.store.conv(id)?,
            None => None,
        };
        let visitor_name = app
            .store
            .visitor(&req.site, &f.visitor)?
            .and_then(|v| v.user.and_then(|u| u.name));
        hits.push(SearchHit {
            kind: f.kind,
            snippet: snippet(&f.text, &req.needles),
            conv: f.conv,
            seq: f.seq,
            visitor: f.visitor,
            visitor_name,
            ts: f.ts,
            from: f.from,
            open: c.map(|c| c.open),
        });
    }
    Ok(SearchPage {
        hits,
        next_cursor,
        complete,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY_MS: u64 = 86_400_000;

    /// Days and instants parse; impossible dates and junk are refused.
    #[test]
    fn dates_parse_strictly() {
        let utc = Tz::UTC;
        assert_eq!(parse_instant("from", "1970-01-01", false, utc), Ok(0));
        assert_eq!(parse_instant("to", "1970-01-01", true, utc), Ok(DAY_MS - 1));
        assert_eq!(
            parse_instant("from", "2024-02-29", false, utc),
            Ok(1_709_164_800_000)
        );
        // The site's day, as in the reports: Shanghai's starts 8 h earlier.
        let sh = Tz::Asia__Shanghai;
        assert_eq!(
            parse_instant("from", "2024-02-29", false, sh),
            Ok(1_709_164_800_000 - 8 * 3_600_000)
        );
        assert_eq!(
            parse_instant("to", "2024-02-29", true, sh),
            Ok(1_709_164_800_000 + 16 * 3_600_000 - 1)
        );
        assert!(parse_instant("from", "1970-01-01", false, sh).is_err());
        assert_eq!(
            parse_instant("from", "1700000000000", false, sh),
            Ok(1_700_000_000_000)
        );
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-1-01",
            "yesterday",
            "",
            "-5",
            "2024-01-0x",
        ] {
            assert!(parse_instant("from", bad, false, utc).is_err(), "{bad}");
        }
    }

    #[test]
    fn queries_are_bounded() {
        assert!(parse_q(None).is_err());
        assert!(parse_q(Some("   ")).is_err());
        assert!(parse_q(Some("?!")).is_err());
        assert!(parse_q(Some(&"a".repeat(MAX_SEARCH_QUERY_BYTES + 1))).is_err());
        assert!(parse_q(Some(&"字".repeat(40))).is_err(), "too many bigrams");
        assert_eq!(parse_q(Some("发票")).map(|n| n.len()), Ok(1));
    }
}
