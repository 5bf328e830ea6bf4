//! A site's report over a range of its local days (`from`–`to` in the
//! site's time zone): per day messages, new conversations, visitors,
//! ratings, missed conversations, first-response and resolution times;
//! the same for the whole range, a weekday × hour heatmap and a row per
//! agent; as JSON or as CSV (`stats.csv`, `?format=csv`).
//!
//! The zone is the one the site's business hours name (UTC when they name
//! none), so a site's "Monday" and "9 o'clock" are its own, not the
//! relay's.
//!
//! What counts where:
//! - A conversation is counted (and put in the heatmap) on the day it was
//!   created; it is *missed* when it has a visitor message and no agent
//!   message at all (bucketed on its creation day).
//! - A message on the day it was sent; an `auto_reply` is no message.
//! - First response: from the visitor's first message to the first agent
//!   message after it, on the day of the answer, for the agent who
//!   answered. An `auto_reply` is no answer.
//! - Resolution: created → its latest `closed`, for conversations closed
//!   now, on the day of that close.
//! - Ratings: each conversation's latest `rated` event counts (a later
//!   rating replaces the earlier), on the day it was given, for the agent
//!   the conversation was assigned to when it was closed (unassigned: the
//!   agent who closed it).
//! - Visitors: those last seen that day, site-wide even with `team`.

use super::auth::{member_site, Me};
use crate::reply::{bad, internal, json, not_found, Reply};
use crate::store::{ConvRecord, SiteRecord, Store, StoreError};
use crate::App;
use bytes::Bytes;
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use protocol::api::{
    AgentRatings, DayStats, Durations, Ratings, Stats, StatsQuery, DEFAULT_STATS_DAYS,
};
use protocol::limits::{MAX_REPLAY_EVENTS, MAX_REPORT_DAYS, MAX_STATS_DAYS};
use protocol::{AgentId, EventBody, Side, SiteId, TeamId};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use warp::http::{header, Response, StatusCode};
use warp::Rejection;

/// `YYYY-MM-DD` of a day number since 1970-01-01 (civil-from-days).
pub fn date_of(day: u64) -> String {
    let z = day as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The days a report covers, in the zone they are the site's days in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    pub tz: Tz,
    pub from: NaiveDate,
    /// Inclusive.
    pub to: NaiveDate,
}

fn ymd(d: NaiveDate) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
}

/// A strict `YYYY-MM-DD` (chrono alone also takes `2026-1-5`).
fn parse_date(name: &str, s: &str) -> Result<NaiveDate, String> {
    let shaped = s.len() == 10
        && s.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    shaped
        .then(|| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        .flatten()
        .ok_or_else(|| format!("{name} must be a date YYYY-MM-DD, got {s:?}"))
}

impl Range {
    /// The range a query asks for, with `today` the site's local date: an
    /// explicit `from`/`to`, else the last `days` days (clamped, as older
    /// clients expect), else the last [`DEFAULT_STATS_DAYS`]. Malformed,
    /// reversed or longer than [`MAX_REPORT_DAYS`]: why not.
    pub fn of(q: &StatsQuery, tz: Tz, today: NaiveDate) -> Result<Range, String> {
        if q.days.is_some() && (q.from.is_some() || q.to.is_some()) {
            return Err("give either days or from/to, not both".into());
        }
        let span = |n: u64| Duration::days(i64::try_from(n).unwrap_or(i64::MAX / 2) - 1);
        if q.from.is_none() && q.to.is_none() {
            let days = q
                .days
                .unwrap_or(DEFAULT_STATS_DAYS)
                .clamp(1, MAX_STATS_DAYS);
            return Ok(Range {
                tz,
                from: today - span(days),
                to: today,
            });
        }
        let to = match &q.to {
            Some(s) => parse_date("to", s)?,
            None => today,
        };
        let from = match &q.from {
            Some(s) => parse_date("from", s)?,
            None => to - span(DEFAULT_STATS_DAYS),
        };
        if from > to {
            return Err(format!("from ({}) is after to ({})", ymd(from), ymd(to)));
        }
        let len = (to - from).num_days() + 1;
        if len > MAX_REPORT_DAYS as i64 {
            return Err(format!(
                "a report covers at most {MAX_REPORT_DAYS} days; {} to {} is {len}",
                ymd(from),
                ymd(to)
            ));
        }
        Ok(Range { tz, from, to })
    }

    fn len(&self) -> usize {
        usize::try_from((self.to - self.from).num_days() + 1).unwrap_or(0)
    }

    fn local(&self, ts: u64) -> Option<DateTime<Tz>> {
        let ms = i64::try_from(ts).ok()?;
        Some(
            Utc.timestamp_millis_opt(ms)
                .single()?
                .with_timezone(&self.tz),
        )
    }

    /// The index of `ts`'s local day in the range, if it is in it.
    fn day(&self, ts: u64) -> Option<usize> {
        let d = self.local(ts)?.date_naive();
        (self.from..=self.to)
            .contains(&d)
            .then(|| usize::try_from((d - self.from).num_days()).ok())
            .flatten()
    }

    /// The first instant (ms) of the range's first day: nothing before it
    /// can be in the report.
    fn start_ms(&self) -> u64 {
        let midnight = self.from.and_hms_opt(0, 0, 0).unwrap_or_default();
        // A zone that skips midnight: an hour later is surely on the day.
        let first = self
            .tz
            .from_local_datetime(&midnight)
            .earliest()
            .or_else(|| {
                self.tz
                    .from_local_datetime(&(midnight + Duration::hours(1)))
                    .earliest()
            });
        first.map_or(0, |t| u64::try_from(t.timestamp_millis()).unwrap_or(0))
    }
}

/// One day's figures being gathered.
#[derive(Default)]
struct Day {
    messages: u64,
    conversations: u64,
    visitors: u64,
    missed: u64,
    ratings: Ratings,
    first_response: Vec<u64>,
    resolution: Vec<u64>,
}

/// One agent's figures being gathered.
#[derive(Default)]
struct Agent {
    ratings: Ratings,
    conversations: u64,
    messages: u64,
    first_response: Vec<u64>,
}

/// The report being gathered, one conversation at a time.
struct Tally {
    range: Range,
    days: Vec<Day>,
    /// Weekday (Monday first) × hour.
    heatmap: [[u64; 24]; 7],
    agents: BTreeMap<AgentId, Agent>,
}

/// A conversation's latest rating: when, the score, whose.
struct Rating {
    ts: u64,
    score: u8,
    agent: Option<String>,
}

impl Tally {
    fn new(range: Range) -> Tally {
        Tally {
            range,
            days: (0..range.len()).map(|_| Day::default()).collect(),
            heatmap: [[0; 24]; 7],
            agents: BTreeMap::new(),
        }
    }

    fn day(&mut self, ts: u64) -> Option<&mut Day> {
        let i = self.range.day(ts)?;
        self.days.get_mut(i)
    }

    fn agent(&mut self, id: &str) -> Option<&mut Agent> {
        let id = AgentId::new(id).ok()?;
        Some(self.agents.entry(id).or_default())
    }

    /// One conversation: its creation, its messages, its first answer, its
    /// close and its latest rating.
    fn conversation(&mut self, store: &Store, c: &ConvRecord) -> Result<(), StoreError> {
        let started = self.range.day(c.created);
        if let Some(i) = started {
            self.days[i].conversations += 1;
            if let Some(t) = self.range.local(c.created) {
                let wd = t.weekday().num_days_from_monday() as usize;
                self.heatmap[wd][t.hour() as usize] += 1;
            }
        }
        if started.is_none() && c.updated < self.range.start_ms() {
            return Ok(());
        }
        let mut after = 0;
        let mut first_visitor: Option<u64> = None;
        let mut answered = false;
        let mut agent_wrote = false;
        let mut wrote_in_range: BTreeSet<String> = BTreeSet::new();
        let mut last_close: Option<u64> = None;
        // Who has it now, whose it was at the latest close, its latest rating.
        let mut assignee: Option<String> = None;
        let mut at_close: Option<String> = None;
        let mut rating: Option<Rating> = None;
        loop {
            let evs = store.events_after(&c.id, after, MAX_REPLAY_EVENTS)?;
            let Some(last) = evs.last() else { break };
            after = last.seq;
            for ev in &evs {
                let from = match &ev.body {
                    EventBody::Message { from, .. } => from,
                    EventBody::Assigned { to, .. } => {
                        assignee = to.as_ref().map(|a| a.id.clone());
                        continue;
                    }
                    EventBody::Closed { by } => {
                        last_close = Some(ev.ts);
                        at_close = assignee
                            .clone()
                            .or_else(|| (by.side == Side::Agent).then(|| by.id.clone()));
                        continue;
                    }
                    EventBody::Rated { score, .. } => {
                        rating = Some(Rating {
                            ts: ev.ts,
                            score: *score,
                            agent: at_close.clone(),
                        });
                        continue;
                    }
                    _ => continue,
                };
                let in_range = self.range.day(ev.ts).is_some();
                if let Some(d) = self.day(ev.ts) {
                    d.messages += 1;
                }
                if from.side == Side::Agent {
                    agent_wrote = true;
                    if in_range {
                        if let Some(a) = self.agent(&from.id) {
                            a.messages += 1;
                        }
                        wrote_in_range.insert(from.id.clone());
                    }
                }
                match (from.side, first_visitor, answered) {
                    (Side::Visitor, None, _) => first_visitor = Some(ev.ts),
                    (Side::Agent, Some(t), false) => {
                        answered = true;
                        let waited = ev.ts.saturating_sub(t);
                        if let Some(d) = self.day(ev.ts) {
                            d.first_response.push(waited);
                            if let Some(a) = self.agent(&from.id) {
                                a.first_response.push(waited);
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        for id in &wrote_in_range {
            if let Some(a) = self.agent(id) {
                a.conversations += 1;
            }
        }
        if let Some(i) = started {
            if first_visitor.is_some() && !agent_wrote {
                self.days[i].missed += 1;
            }
        }
        if let Some(closed) = last_close.filter(|_| !c.open) {
            if let Some(d) = self.day(closed) {
                d.resolution.push(closed.saturating_sub(c.created));
            }
        }
        if let Some(r) = rating {
            if let Some(d) = self.day(r.ts) {
                d.ratings.add(r.score);
                if let Some(a) = r.agent.as_deref().and_then(|a| self.agent(a)) {
                    a.ratings.add(r.score);
                }
            }
        }
        Ok(())
    }

    fn finish(self, site: &SiteId, team: Option<TeamId>, store: &Store) -> Stats {
        let mut ratings = Ratings::default();
        let (mut fr, mut res) = (Vec::new(), Vec::new());
        let mut missed = 0;
        for d in &self.days {
            ratings.merge(&d.ratings);
            fr.extend_from_slice(&d.first_response);
            res.extend_from_slice(&d.resolution);
            missed += d.missed;
        }
        let days = self
            .days
            .into_iter()
            .enumerate()
            .map(|(i, d)| DayStats {
                date: ymd(self.range.from + Duration::days(i as i64)),
                messages: d.messages,
                conversations: d.conversations,
                visitors: d.visitors,
                ratings: d.ratings,
                missed: d.missed,
                first_response_ms: Durations::of(d.first_response),
                resolution_ms: Durations::of(d.resolution),
            })
            .collect();
        let mut agents: Vec<AgentRatings> = self
            .agents
            .into_iter()
            .map(|(agent, a)| AgentRatings {
                name: store
                    .agent(&agent)
                    .ok()
                    .flatten()
                    .map(|r| r.name)
                    .unwrap_or_default(),
                agent,
                ratings: a.ratings,
                conversations: a.conversations,
                messages: a.messages,
                first_response_ms: Durations::of(a.first_response),
            })
            .collect();
        agents.sort_by(|a, b| {
            (b.conversations, b.ratings.count, &a.agent).cmp(&(
                a.conversations,
                a.ratings.count,
                &b.agent,
            ))
        });
        Stats {
            site: site.clone(),
            days,
            first_response_ms: Durations::of(fr),
            ratings,
            agents,
            from: ymd(self.range.from),
            to: ymd(self.range.to),
            tz: self.range.tz.name().to_string(),
            team,
            resolution_ms: Durations::of(res),
            missed,
            heatmap: self.heatmap.iter().map(|h| h.to_vec()).collect(),
        }
    }
}

/// The site's zone for reports: its business hours' zone, else UTC.
pub fn site_zone(site: &SiteRecord) -> Tz {
    crate::hours::zone(&site.offline.hours.tz).unwrap_or(Tz::UTC)
}

/// What a report reads, once the query is checked: the site, its days,
/// the team it is narrowed to.
struct Ask {
    site: SiteId,
    range: Range,
    team: Option<TeamId>,
}

/// The report a query asks for, or why the query is refused (nothing is
/// read or changed for a refused one).
fn ask(app: &App, me: &Me, site: &str, q: &StatsQuery) -> Result<Ask, Rejection> {
    let s = member_site(app, me, site)?;
    let tz = site_zone(&s);
    let today = i64::try_from(crate::now_ms())
        .ok()
        .and_then(|ms| Utc.timestamp_millis_opt(ms).single())
        .map_or_else(NaiveDate::default, |t| t.with_timezone(&tz).date_naive());
    let range = Range::of(q, tz, today).map_err(bad)?;
    let team = match &q.team {
        None => None,
        Some(t) => {
            let id =
                TeamId::new(t.as_str()).map_err(|_| bad(format!("team {t:?} is no team id")))?;
            if s.routing.team(&id).is_none() {
                return Err(not_found("team"));
            }
            Some(id)
        }
    };
    Ok(Ask {
        site: s.id,
        range,
        team,
    })
}

/// Gathers the report (blocking: it reads the events of every
/// conversation that touches the range). Every conversation of the site
/// is walked, newest first, one at a time: one created long before the
/// range can still have had messages, a close or a rating in it, so no
/// count of the newest ones would do.
fn gather(store: &Store, a: &Ask) -> Result<Stats, StoreError> {
    let mut tally = Tally::new(a.range);
    for c in store.site_convs_newest(&a.site) {
        let c = c?;
        if a.team.is_some() && c.team != a.team {
            continue;
        }
        tally.conversation(store, &c)?;
    }
    for v in store.site_visitors(&a.site)? {
        if let Some(d) = tally.day(v.last_seen) {
            d.visitors += 1;
        }
    }
    Ok(tally.finish(&a.site, a.team.clone(), store))
}

/// The report, gathered off the async workers so the WebSocket sessions
/// sharing them are not stalled by a long one.
async fn report(app: Arc<App>, me: &Me, site: &str, q: &StatsQuery) -> Result<Stats, Rejection> {
    let a = ask(&app, me, site, q)?;
    let stats = tokio::task::spawn_blocking(move || gather(&app.store, &a))
        .await
        .map_err(internal)??;
    Ok(stats)
}

/// GET /v1/api/sites/{site}/stats (`?format=csv`: as `stats.csv`)
pub async fn stats(site: String, q: StatsQuery, app: Arc<App>, me: Me) -> Result<Reply, Rejection> {
    match q.format.as_deref() {
        None | Some("json") => Ok(json(StatusCode::OK, &report(app, &me, &site, &q).await?)),
        Some("csv") => Ok(csv_reply(&report(app, &me, &site, &q).await?)),
        Some(f) => Err(bad(format!("format must be json or csv, got {f:?}"))),
    }
}

/// GET /v1/api/sites/{site}/stats.csv
pub async fn stats_csv(
    site: String,
    q: StatsQuery,
    app: Arc<App>,
    me: Me,
) -> Result<Reply, Rejection> {
    Ok(csv_reply(&report(app, &me, &site, &q).await?))
}

fn csv_reply(s: &Stats) -> Reply {
    let name = format!("kefu-stats-{}-{}-{}.csv", s.site, s.from, s.to);
    Response::builder()
        .header(header::CONTENT_TYPE, "text/csv; charset=utf-8")
        .header(
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        )
        .body(Bytes::from(to_csv(s)))
        .unwrap_or_default()
}

/// One CSV field: quoted when it holds a comma, quote or line break; text
/// a spreadsheet would read as a formula (`=`, `+`, `-`, `@`, tab, CR
/// first) gets a leading `'` so it stays text — agent names are anyone's
/// typing.
pub fn csv_field(v: &str) -> String {
    let v = if v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{v}")
    } else {
        v.to_string()
    };
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}

fn opt(v: Option<u64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// CSAT as a share, 0–1, four decimals (none rated: empty).
fn csat(r: &Ratings) -> String {
    r.csat().map(|c| format!("{c:.4}")).unwrap_or_default()
}

/// The report as CSV: one section per table (summary, daily, agents,
/// heatmap), each a title line, a header and its rows, a blank line
/// between. Durations in milliseconds.
pub fn to_csv(s: &Stats) -> String {
    let mut out = String::new();
    let mut row = |fields: &[String]| {
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    };
    let strs = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    row(&strs(&["summary"]));
    row(&strs(&[
        "site",
        "from",
        "to",
        "tz",
        "team",
        "conversations",
        "messages",
        "missed",
        "first_response_median_ms",
        "first_response_p90_ms",
        "resolution_median_ms",
        "resolution_p90_ms",
        "ratings",
        "satisfied",
        "csat",
    ]));
    row(&[
        s.site.to_string(),
        s.from.clone(),
        s.to.clone(),
        s.tz.clone(),
        s.team.as_ref().map(|t| t.to_string()).unwrap_or_default(),
        s.days
            .iter()
            .map(|d| d.conversations)
            .sum::<u64>()
            .to_string(),
        s.days.iter().map(|d| d.messages).sum::<u64>().to_string(),
        s.missed.to_string(),
        opt(s.first_response_ms.median),
        opt(s.first_response_ms.p90),
        opt(s.resolution_ms.median),
        opt(s.resolution_ms.p90),
        s.ratings.count.to_string(),
        s.ratings.satisfied.to_string(),
        csat(&s.ratings),
    ]);
    row(&[]);
    row(&strs(&["daily"]));
    row(&strs(&[
        "date",
        "conversations",
        "messages",
        "visitors",
        "missed",
        "first_response_median_ms",
        "first_response_p90_ms",
        "resolution_median_ms",
        "resolution_p90_ms",
        "ratings",
        "satisfied",
        "csat",
    ]));
    for d in &s.days {
        row(&[
            d.date.clone(),
            d.conversations.to_string(),
            d.messages.to_string(),
            d.visitors.to_string(),
            d.missed.to_string(),
            opt(d.first_response_ms.median),
            opt(d.first_response_ms.p90),
            opt(d.resolution_ms.median),
            opt(d.resolution_ms.p90),
            d.ratings.count.to_string(),
            d.ratings.satisfied.to_string(),
            csat(&d.ratings),
        ]);
    }
    row(&[]);
    row(&strs(&["agents"]));
    row(&strs(&[
        "agent",
        "name",
        "conversations",
        "messages",
        "first_response_median_ms",
        "ratings",
        "satisfied",
        "csat",
    ]));
    for a in &s.agents {
        row(&[
            a.agent.to_string(),
            a.name.clone(),
            a.conversations.to_string(),
            a.messages.to_string(),
            opt(a.first_response_ms.median),
            a.ratings.count.to_string(),
            a.ratings.satisfied.to_string(),
            csat(&a.ratings),
        ]);
    }
    row(&[]);
    row(&strs(&["heatmap"]));
    let mut head = vec!["weekday".to_string()];
    head.extend((0..24).map(|h| format!("{h:02}")));
    row(&head);
    const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    for (wd, hours) in s.heatmap.iter().enumerate() {
        let mut r = vec![WEEKDAYS.get(wd).copied().unwrap_or("?").to_string()];
        r.extend(hours.iter().map(|c| c.to_string()));
        row(&r);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_from_day_numbers() {
        assert_eq!(date_of(0), "1970-01-01");
        assert_eq!(date_of(19_723), "2024-01-01");
        assert_eq!(date_of(20_784), "2026-11-27");
    }

    fn q(from: Option<&str>, to: Option<&str>, days: Option<u64>) -> StatsQuery {
        StatsQuery {
            days,
            from: from.map(Into::into),
            to: to.map(Into::into),
            ..StatsQuery::default()
        }
    }

    /// Ranges: defaults, `days` as before, and every malformed shape
    /// refused with its reason.
    #[test]
    fn ranges_from_queries() {
        let tz = Tz::Asia__Shanghai;
        let today = NaiveDate::from_ymd_opt(2026, 3, 10).expect("date");
        let r = Range::of(&q(None, None, None), tz, today).expect("default");
        assert_eq!(
            (ymd(r.from), ymd(r.to)),
            ("2026-03-04".into(), "2026-03-10".into())
        );
        let r = Range::of(&q(None, None, Some(1000)), tz, today).expect("clamped");
        assert_eq!(r.len(), MAX_STATS_DAYS as usize);
        let r =
            Range::of(&q(Some("2026-02-27"), Some("2026-03-01"), None), tz, today).expect("range");
        assert_eq!(r.len(), 3, "2026 is no leap year");
        for (f, t, why) in [
            (Some("2026-3-1"), None, "YYYY-MM-DD"),
            (Some("2026-02-30"), None, "YYYY-MM-DD"),
            (None, Some("yesterday"), "YYYY-MM-DD"),
            (Some("2026-03-02"), Some("2026-03-01"), "after"),
            (Some("2024-01-01"), Some("2026-01-01"), "at most 366 days"),
        ] {
            let e = Range::of(&q(f, t, None), tz, today).expect_err("refused");
            assert!(e.contains(why), "{e}");
        }
        let e = Range::of(&q(Some("2026-03-01"), None, Some(3)), tz, today).expect_err("both");
        assert!(e.contains("not both"), "{e}");
    }

    /// A Shanghai day starts at 16:00 UTC the day before.
    #[test]
    fn days_are_the_sites_local_days() {
        let tz = Tz::Asia__Shanghai;
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).expect("date");
        let r = Range {
            tz,
            from: d(2026, 3, 1),
            to: d(2026, 3, 2),
        };
        let utc = |s: &str| {
            chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M")
                .expect("time")
                .and_utc()
                .timestamp_millis() as u64
        };
        assert_eq!(r.day(utc("2026-02-28 15:59")), None);
        assert_eq!(r.day(utc("2026-02-28 16:00")), Some(0));
        assert_eq!(r.day(utc("2026-03-01 16:00")), Some(1));
        assert_eq!(r.day(utc("2026-03-02 16:00")), None);
        assert_eq!(r.start_ms(), utc("2026-02-28 16:00"));
    }

    /// A busy site: more conversations than a conversation list shows,
    /// and the oldest of them (created long before the range, behind a
    /// newer one untouched since before it) answered within the range.
    /// Every one is counted and the old one's answer is seen.
    #[test]
    fn a_report_walks_every_conversation_of_the_site() -> Result<(), StoreError> {
        use crate::store::{encode, keys};
        use protocol::{Author, Cid, ConvId, Event, VisitorId};
        let dir = tempfile::tempdir()?;
        let store = Store::open(dir.path())?;
        let site = SiteId::new("busy").expect("id");
        let visitor = VisitorId::new("v1").expect("id");
        let day = NaiveDate::from_ymd_opt(2026, 3, 10).expect("date");
        let range = Range {
            tz: Tz::UTC,
            from: day,
            to: day,
        };
        let start = range.start_ms();
        let rec = |n: usize, created: u64, updated: u64| ConvRecord {
            updated,
            ..ConvRecord::new(
                ConvId::new(format!("01J{n:023}")).expect("id"),
                site.clone(),
                visitor.clone(),
                created,
            )
        };
        let month = 30 * 86_400_000;
        let in_range = super::super::conversations::CONV_SCAN + 7;
        // Id order is creation order: 0 is the oldest, then 1, then the rest.
        let mut convs = vec![
            rec(0, start - 2 * month, start + 60_000),
            rec(1, start - month, start - month),
        ];
        convs.extend((2..in_range + 2).map(|n| rec(n, start + n as u64, start + n as u64)));
        let mut batch = sled::Batch::default();
        for c in &convs {
            batch.insert(keys::site_conv(&site, &c.id), &[][..]);
            batch.insert(keys::conv(&c.id), encode(c)?);
        }
        let message = |seq: u64, ts: u64, side: Side, id: &str| Event {
            conv: convs[0].id.clone(),
            seq,
            ts,
            body: EventBody::Message {
                from: Author {
                    side,
                    id: id.into(),
                    name: None,
                },
                cid: Cid::new(format!("m{seq}")).expect("cid"),
                text: "hi".into(),
                file: None,
            },
        };
        let old = &convs[0].id;
        let asked = message(1, start - 2 * month, Side::Visitor, "v1");
        let answered = message(2, start + 60_000, Side::Agent, "ann");
        batch.insert(keys::event(old, 1), encode(&asked)?);
        batch.insert(keys::event(old, 2), encode(&answered)?);
        store.apply_chat(batch)?;

        let newest: Vec<ConvRecord> = store.site_convs_newest(&site).collect::<Result<_, _>>()?;
        assert_eq!(newest.len(), convs.len());
        assert_eq!(newest.first().map(|c| &c.id), convs.last().map(|c| &c.id));
        assert_eq!(newest.last().map(|c| &c.id), Some(old));

        let ask = Ask {
            site: site.clone(),
            range,
            team: None,
        };
        let stats = gather(&store, &ask)?;
        assert_eq!(stats.days[0].conversations, in_range as u64);
        assert_eq!(stats.days[0].messages, 1, "the old conversation's answer");
        assert_eq!(stats.agents.len(), 1);
        assert_eq!(stats.agents[0].messages, 1);
        assert_eq!(stats.first_response_ms.median, Some(2 * month + 60_000));
        Ok(())
    }

    #[test]
    fn csv_fields_are_quoted_and_never_formulas() {
        assert_eq!(csv_field("Ann"), "Ann");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("+1"), "'+1");
        assert_eq!(csv_field("-2"), "'-2");
        assert_eq!(csv_field("@a"), "'@a");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("l1\nl2"), "\"l1\nl2\"");
    }
}
