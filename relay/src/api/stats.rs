//! A site's figures per UTC day (messages, new conversations, visitors,
//! ratings), its first-response times and CSAT per agent, with the
//! calendar arithmetic they need.
//!
//! Ratings: each conversation's latest `rated` event counts (a later
//! rating replaces the earlier), on the day it was given, for the agent the
//! conversation was assigned to when it was closed (unassigned: the agent
//! who closed it). First response: an agent's message only — an
//! `auto_reply` is no answer.

use super::auth::{member_site, Me};
use super::conversations::CONV_SCAN;
use crate::reply::{json, Reply};
use crate::store::{ConvRecord, Store, StoreError};
use crate::App;
use protocol::api::{
    AgentRatings, DayStats, FirstResponse, Ratings, Stats, StatsQuery, DEFAULT_STATS_DAYS,
};
use protocol::limits::{MAX_REPLAY_EVENTS, MAX_STATS_DAYS};
use protocol::{AgentId, EventBody, Side};
use std::collections::BTreeMap;
use std::sync::Arc;
use warp::http::StatusCode;
use warp::Rejection;

const DAY_MS: u64 = 86_400_000;

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

/// Counts per day number, and first-response times, being gathered.
struct Tally {
    /// The first day counted.
    first: u64,
    /// day → (messages, new conversations, visitors seen last that day)
    days: BTreeMap<u64, (u64, u64, u64)>,
    first_response: Vec<u64>,
    /// day → ratings given that day.
    ratings: BTreeMap<u64, Ratings>,
    agents: BTreeMap<AgentId, Ratings>,
}

/// A conversation's latest rating: when, the score, whose.
struct Rating {
    ts: u64,
    score: u8,
    agent: Option<String>,
}

impl Tally {
    fn new(first: u64, today: u64) -> Tally {
        Tally {
            first,
            days: (first..=today).map(|d| (d, (0, 0, 0))).collect(),
            first_response: Vec::new(),
            ratings: BTreeMap::new(),
            agents: BTreeMap::new(),
        }
    }

    fn day(&mut self, ts: u64) -> Option<&mut (u64, u64, u64)> {
        self.days.get_mut(&(ts / DAY_MS))
    }

    /// One conversation: created when, its messages per day, and how long
    /// its first visitor message waited for an agent's answer.
    fn conversation(&mut self, store: &Store, c: &ConvRecord) -> Result<(), StoreError> {
        if let Some(e) = self.day(c.created) {
            e.1 += 1;
        }
        if c.updated / DAY_MS < self.first {
            return Ok(());
        }
        let mut after = 0;
        let mut first_visitor: Option<u64> = None;
        let mut answered = false;
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
                if let Some(e) = self.day(ev.ts) {
                    e.0 += 1;
                }
                match (from.side, first_visitor, answered) {
                    (Side::Visitor, None, _) => first_visitor = Some(ev.ts),
                    (Side::Agent, Some(t), false) => {
                        answered = true;
                        if ev.ts / DAY_MS >= self.first {
                            self.first_response.push(ev.ts.saturating_sub(t));
                        }
                    }
                    _ => {}
                }
            }
        }
        if let Some(r) = rating.filter(|r| self.days.contains_key(&(r.ts / DAY_MS))) {
            self.ratings.entry(r.ts / DAY_MS).or_default().add(r.score);
            if let Some(a) = r.agent.and_then(|a| AgentId::new(a).ok()) {
                self.agents.entry(a).or_default().add(r.score);
            }
        }
        Ok(())
    }

    fn finish(mut self, site: protocol::SiteId) -> Stats {
        let mut agents: Vec<AgentRatings> = std::mem::take(&mut self.agents)
            .into_iter()
            .map(|(agent, ratings)| AgentRatings { agent, ratings })
            .collect();
        agents.sort_by_key(|a| std::cmp::Reverse(a.ratings.count));
        let fr = &mut self.first_response;
        fr.sort_unstable();
        let median = fr.get(fr.len() / 2).copied();
        let mean = (!fr.is_empty()).then(|| fr.iter().sum::<u64>() / fr.len() as u64);
        Stats {
            site,
            days: self
                .days
                .iter()
                .map(|(d, (m, c, v))| DayStats {
                    date: date_of(*d),
                    messages: *m,
                    conversations: *c,
                    visitors: *v,
                    ratings: self.ratings.get(d).copied().unwrap_or_default(),
                })
                .collect(),
            ratings: self
                .ratings
                .values()
                .fold(Ratings::default(), |mut all, r| {
                    all.count += r.count;
                    all.satisfied += r.satisfied;
                    all.score_sum += r.score_sum;
                    all
                }),
            agents,
            first_response_ms: FirstResponse {
                median,
                mean,
                count: fr.len(),
            },
        }
    }
}

/// GET /v1/api/sites/{site}/stats
pub async fn stats(site: String, q: StatsQuery, app: Arc<App>, me: Me) -> Result<Reply, Rejection> {
    let s = member_site(&app, &me, &site)?;
    let days = q
        .days
        .unwrap_or(DEFAULT_STATS_DAYS)
        .clamp(1, MAX_STATS_DAYS);
    let today = crate::now_ms() / DAY_MS;
    let mut tally = Tally::new(today + 1 - days, today);
    for c in app.store.site_convs(&s.id, CONV_SCAN)? {
        tally.conversation(&app.store, &c)?;
    }
    for v in app.store.site_visitors(&s.id)? {
        if let Some(e) = tally.day(v.last_seen) {
            e.2 += 1;
        }
    }
    Ok(json(StatusCode::OK, &tally.finish(s.id)))
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
}
