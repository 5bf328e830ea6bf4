//! Reports: a history seeded through real visitors and agents over
//! WebSocket, at known instants (the relay reads a test clock), in a site
//! whose zone is Asia/Shanghai (UTC+8, no daylight saving) — and every
//! figure of the stats API and its CSV equal to what this file computes
//! from that same history. Malformed ranges are refused with a reason.

use crate::BIN;
use anyhow::{ensure, Result};
use protocol::offline::CSAT_SATISFIED_MIN;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use tests::frames::{agent_hello, send, send_to, subscribe, visitor_hello};
use tests::{api, Relay, TestClock, Ws, DEMO_TOKEN};

const DAY: u64 = 86_400_000;
const MIN: u64 = 60_000;
const S: u64 = 1_000;
/// Asia/Shanghai is UTC+8 all year.
const OFFSET: u64 = 8 * 3_600_000;
/// Monday 2026-01-05 00:00 in Shanghai (2026-01-04 16:00 UTC).
const MONDAY: u64 = 1_767_542_400_000;

/// A local Shanghai time `day` days after [`MONDAY`] (may be negative).
fn at(day: i64, h: u64, m: u64) -> u64 {
    (MONDAY as i64 + day * DAY as i64) as u64 + h * 3_600_000 + m * MIN
}

/// `YYYY-MM-DD` of the Shanghai day of `ms`.
fn local_date(ms: u64) -> String {
    let z = ((ms + OFFSET) / DAY) as i64 + 719_468;
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

/// Monday-first weekday and hour of `ms` in Shanghai (1970-01-01 was a
/// Thursday).
fn weekday_hour(ms: u64) -> (usize, usize) {
    let local = ms + OFFSET;
    (
        ((local / DAY + 3) % 7) as usize,
        ((local % DAY) / 3_600_000) as usize,
    )
}

/// The lower middle and the nearest-rank 90th percentile.
fn median_p90(v: &[u64]) -> (Value, Value) {
    let mut v = v.to_vec();
    v.sort_unstable();
    if v.is_empty() {
        return (Value::Null, Value::Null);
    }
    let n = v.len();
    let rank = (9 * n).div_ceil(10);
    (json!(v[(n - 1) / 2]), json!(v[rank - 1]))
}

/// One seeded conversation.
struct Conv {
    visitor: &'static str,
    team: Option<&'static str>,
    start: u64,
    /// Who answers (0: the demo agent, 1: Bob) and after how long.
    reply: Option<(usize, u64)>,
    /// Closed this long after it started.
    close: Option<u64>,
    rating: Option<u8>,
}

/// The history: a conversation before the ranges asked for, a night-time
/// one whose Shanghai day is not its UTC day, two missed ones, answers by
/// two agents, closes, ratings on either side of satisfied.
fn plan() -> Vec<Conv> {
    let c = |visitor, team, start, reply, close, rating| Conv {
        visitor,
        team,
        start,
        reply,
        close,
        rating,
    };
    vec![
        c(
            "v0",
            None,
            at(-4, 12, 0),
            Some((0, 10 * S)),
            Some(100 * S),
            None,
        ),
        c(
            "v1",
            None,
            at(0, 9, 10),
            Some((0, 30 * S)),
            Some(10 * MIN),
            Some(5),
        ),
        c(
            "v2",
            None,
            at(0, 9, 40),
            Some((1, 90 * S)),
            Some(20 * MIN),
            Some(2),
        ),
        c("v3", None, at(1, 2, 15), None, None, None),
        c(
            "v4",
            Some("sales"),
            at(1, 14, 5),
            Some((1, 45 * S)),
            Some(5 * MIN),
            None,
        ),
        c("v6", Some("sales"), at(2, 14, 20), None, None, None),
        c(
            "v5",
            Some("sales"),
            at(2, 14, 50),
            Some((1, 20 * S)),
            None,
            None,
        ),
        c(
            "v7",
            None,
            at(3, 10, 0),
            Some((0, 300 * S)),
            Some(60 * MIN),
            Some(4),
        ),
    ]
}

/// A message event as the seeding wrote it.
struct Msg {
    ts: u64,
    /// `None`: the visitor.
    agent: Option<usize>,
    visitor: &'static str,
}

/// A connected, subscribed agent.
async fn agent(relay: &Relay, token: &str) -> Result<Ws> {
    let mut a = Ws::connect(relay).await?;
    a.hello(agent_hello(token)).await?;
    a.send(subscribe("demo")).await?;
    a.until_type("snapshot").await?;
    Ok(a)
}

async fn acked(ws: &mut Ws, frame: Value) -> Result<Value> {
    ws.send(frame).await?;
    let r = ws
        .until(|v| matches!(v["type"].as_str(), Some("ack" | "error")))
        .await?;
    ensure!(r["type"] == "ack", "{r}");
    Ok(r)
}

/// Seeds [`plan`] at its instants: each visitor says hello and a first
/// message; the answering agent replies (taking it) and writes once more,
/// the visitor once more; closes and ratings as planned. Returns every
/// message written.
async fn seed(relay: &Relay, clock: &TestClock, tokens: &[String]) -> Result<Vec<Msg>> {
    let mut agents = Vec::new();
    for t in tokens {
        agents.push(agent(relay, t).await?);
    }
    let mut msgs = Vec::new();
    for c in plan() {
        clock.set(c.start)?;
        let mut v = Ws::connect(relay).await?;
        let mut hello = visitor_hello("demo", c.visitor, None);
        if let Some(t) = c.team {
            hello["team"] = json!(t);
        }
        v.hello(hello).await?;
        let ack = acked(&mut v, send(&format!("{}-1", c.visitor), "Hello?")).await?;
        let conv = ack["conv"].as_str().unwrap_or_default().to_string();
        msgs.push(Msg {
            ts: c.start,
            agent: None,
            visitor: c.visitor,
        });
        if let Some((who, after)) = c.reply {
            let a = &mut agents[who];
            for (i, delay) in [after, after + 20 * S].into_iter().enumerate() {
                clock.set(c.start + delay)?;
                let cid = format!("{}-a{i}", c.visitor);
                acked(a, send_to(&conv, &cid, "On it")).await?;
                msgs.push(Msg {
                    ts: c.start + delay,
                    agent: Some(who),
                    visitor: c.visitor,
                });
            }
            clock.set(c.start + after + 40 * S)?;
            acked(&mut v, send(&format!("{}-2", c.visitor), "Thanks")).await?;
            msgs.push(Msg {
                ts: c.start + after + 40 * S,
                agent: None,
                visitor: c.visitor,
            });
        }
        if let Some(close) = c.close {
            clock.set(c.start + close)?;
            let who = c.reply.map_or(0, |r| r.0);
            let path = format!("/v1/api/conversations/{conv}/close");
            let (s, b) = api(relay, &tokens[who], "POST", &path, None).await?;
            ensure!(s == 200 || s == 204, "close: {s} {b}");
        }
        if let Some(score) = c.rating {
            clock.set(c.start + c.close.unwrap_or(0) + 30 * S)?;
            let cid = format!("{}-r", c.visitor);
            acked(
                &mut v,
                json!({"type": "rate", "cid": cid, "conv": conv, "score": score}),
            )
            .await?;
        }
        v.close().await?;
    }
    Ok(msgs)
}

/// What the report of `from..=to` (dates) must say, computed from the plan
/// and the messages seeded: `days`, overall figures, heatmap, agents.
fn expected(msgs: &[Msg], from: &str, to: &str, team: Option<&str>, agent_ids: &[String]) -> Value {
    let plan: Vec<Conv> = plan()
        .into_iter()
        .filter(|c| team.is_none() || c.team == team)
        .collect();
    let inside = |ts: u64| {
        let d = local_date(ts);
        d.as_str() >= from && d.as_str() <= to
    };
    let in_plan = |v: &str| plan.iter().any(|c| c.visitor == v);
    #[derive(Default)]
    struct D {
        conversations: u64,
        messages: u64,
        missed: u64,
        fr: Vec<u64>,
        res: Vec<u64>,
        ratings: (u64, u64),
    }
    let mut days: BTreeMap<String, D> = BTreeMap::new();
    let mut heat = vec![vec![0u64; 24]; 7];
    /// An agent's (conversations, messages, first responses, (rated, satisfied)).
    type A = (u64, u64, Vec<u64>, (u64, u64));
    let mut agents: BTreeMap<usize, A> = BTreeMap::new();
    for m in msgs.iter().filter(|m| inside(m.ts) && in_plan(m.visitor)) {
        days.entry(local_date(m.ts)).or_default().messages += 1;
        if let Some(a) = m.agent {
            agents.entry(a).or_default().1 += 1;
        }
    }
    for c in &plan {
        if inside(c.start) {
            let d = days.entry(local_date(c.start)).or_default();
            d.conversations += 1;
            if c.reply.is_none() {
                d.missed += 1;
            }
            let (wd, h) = weekday_hour(c.start);
            heat[wd][h] += 1;
        }
        if let Some((who, after)) = c.reply {
            if inside(c.start + after) {
                days.entry(local_date(c.start + after))
                    .or_default()
                    .fr
                    .push(after);
                let a = agents.entry(who).or_default();
                a.0 += 1;
                a.2.push(after);
            }
        }
        if let Some(close) = c.close.filter(|cl| inside(c.start + cl)) {
            days.entry(local_date(c.start + close))
                .or_default()
                .res
                .push(close);
        }
        if let Some(score) = c.rating {
            let ts = c.start + c.close.unwrap_or(0) + 30 * S;
            if inside(ts) {
                let ok = u64::from(score >= CSAT_SATISFIED_MIN);
                let d = days.entry(local_date(ts)).or_default();
                d.ratings.0 += 1;
                d.ratings.1 += ok;
                let who = c.reply.map_or(0, |r| r.0);
                let a = agents.entry(who).or_default();
                a.3 .0 += 1;
                a.3 .1 += ok;
            }
        }
    }
    let (mut fr, mut res, mut rated, mut sat, mut missed) = (vec![], vec![], 0, 0, 0);
    let day_rows: BTreeMap<String, Value> = days
        .iter()
        .map(|(date, d)| {
            fr.extend_from_slice(&d.fr);
            res.extend_from_slice(&d.res);
            rated += d.ratings.0;
            sat += d.ratings.1;
            missed += d.missed;
            let (fm, fp) = median_p90(&d.fr);
            let (rm, rp) = median_p90(&d.res);
            let row = json!({
                "conversations": d.conversations, "messages": d.messages, "missed": d.missed,
                "fr": [fm, fp], "res": [rm, rp], "ratings": [d.ratings.0, d.ratings.1],
            });
            (date.clone(), row)
        })
        .collect();
    let agent_rows: BTreeMap<String, Value> = agents
        .iter()
        .map(|(who, (convs, messages, fr, r))| {
            let (m, _) = median_p90(fr);
            let row = json!({"conversations": convs, "messages": messages, "fr": m, "ratings": [r.0, r.1]});
            (agent_ids[*who].clone(), row)
        })
        .collect();
    let (fm, fp) = median_p90(&fr);
    let (rm, rp) = median_p90(&res);
    json!({
        "days": day_rows, "fr": [fm, fp], "res": [rm, rp], "missed": missed,
        "ratings": [rated, sat], "heatmap": heat, "agents": agent_rows,
    })
}

/// The same shape read from the stats API's answer (days without
/// anything left out, as `expected` has none of them).
fn observed(s: &Value) -> Value {
    let pair = |d: &Value| json!([d["median"], d["p90"]]);
    let mut days = serde_json::Map::new();
    for d in s["days"].as_array().into_iter().flatten() {
        let busy = d["messages"] != 0
            || d["conversations"] != 0
            || d["ratings"]["count"] != 0
            || d["resolution_ms"]["count"] != 0;
        if busy {
            days.insert(
                d["date"].as_str().unwrap_or_default().to_string(),
                json!({
                    "conversations": d["conversations"], "messages": d["messages"],
                    "missed": d["missed"], "fr": pair(&d["first_response_ms"]),
                    "res": pair(&d["resolution_ms"]),
                    "ratings": [d["ratings"]["count"], d["ratings"]["satisfied"]],
                }),
            );
        }
    }
    let mut agents = serde_json::Map::new();
    for a in s["agents"].as_array().into_iter().flatten() {
        agents.insert(
            a["agent"].as_str().unwrap_or_default().to_string(),
            json!({"conversations": a["conversations"], "messages": a["messages"],
                "fr": a["first_response_ms"]["median"],
                "ratings": [a["ratings"]["count"], a["ratings"]["satisfied"]]}),
        );
    }
    json!({
        "days": days, "fr": pair(&s["first_response_ms"]), "res": pair(&s["resolution_ms"]),
        "missed": s["missed"], "ratings": [s["ratings"]["count"], s["ratings"]["satisfied"]],
        "heatmap": s["heatmap"], "agents": agents,
    })
}

/// A relay on the test clock with the demo site in Shanghai's zone, a
/// team, a second agent whose name reads like a spreadsheet formula, and
/// the plan seeded. Returns the relay, its clock, the agents' ids and
/// tokens, and the messages.
async fn seeded() -> Result<(Relay, TestClock, Vec<String>, Vec<String>, Vec<Msg>)> {
    let clock = TestClock::new(at(-5, 8, 0))?;
    let flags = clock.flags();
    let relay = Relay::start(BIN, &[&flags[0], &flags[1]]).await?;
    let (s, me) = api(&relay, DEMO_TOKEN, "GET", "/v1/api/me", None).await?;
    ensure!(s == 200, "{me}");
    let demo_id = me["id"].as_str().unwrap_or_default().to_string();
    let body = json!({"name": "=HYPERLINK(\"x\")", "email": "bob@example.com",
        "password": "bob-password", "sites": ["demo"]});
    let (s, bob) = api(&relay, DEMO_TOKEN, "POST", "/v1/api/agents", Some(body)).await?;
    ensure!(s == 201, "{bob}");
    let bob_id = bob["id"].as_str().unwrap_or_default().to_string();
    let bob_token = relay.login("bob@example.com", "bob-password").await?;
    let week: Vec<Value> = (0..7).map(|_| json!([])).collect();
    let patch = json!({
        "offline": {"hours": {"enabled": false, "tz": "Asia/Shanghai", "week": week}},
        "routing": {"teams": [{"id": "sales", "name": "Sales", "members": [demo_id, bob_id]}]},
    });
    let (s, b) = api(
        &relay,
        DEMO_TOKEN,
        "PATCH",
        "/v1/api/sites/demo",
        Some(patch),
    )
    .await?;
    ensure!(s == 200, "site: {s} {b}");
    let tokens = vec![DEMO_TOKEN.to_string(), bob_token];
    let msgs = seed(&relay, &clock, &tokens).await?;
    Ok((relay, clock, vec![demo_id, bob_id], tokens, msgs))
}

async fn stats(relay: &Relay, query: &str) -> Result<Value> {
    let path = format!("/v1/api/sites/demo/stats{query}");
    let (s, v) = api(relay, DEMO_TOKEN, "GET", &path, None).await?;
    ensure!(s == 200, "{path}: {s} {v}");
    Ok(v)
}

/// Every figure of the report — per-day counts, medians and p90s of
/// first response and resolution, missed conversations, CSAT, the
/// weekday × hour heatmap in the site's zone, per-agent rows — equals
/// what the seeded history gives, for the default week, an explicit
/// range, the older `days=`, and a team.
#[tokio::test]
async fn report_figures_equal_the_seeded_history() -> Result<()> {
    let (relay, clock, ids, _, msgs) = seeded().await?;
    // "Now" is Thursday 18:00 in Shanghai; the default is the last 7 days.
    clock.set(at(3, 18, 0))?;
    let week = stats(&relay, "").await?;
    assert_eq!(
        (&week["from"], &week["to"]),
        (&json!("2026-01-02"), &json!("2026-01-08"))
    );
    assert_eq!(week["tz"], "Asia/Shanghai");
    assert_eq!(week["days"].as_array().map(Vec::len), Some(7));
    let want = expected(&msgs, "2026-01-02", "2026-01-08", None, &ids);
    assert_eq!(observed(&week), want);
    // Figures that would be wrong if days were UTC days: the 02:15
    // conversation of Tuesday (Monday 18:15 UTC) is Tuesday's, missed.
    let tue = &week["days"][4];
    assert_eq!(
        (&tue["date"], &tue["conversations"], &tue["missed"]),
        (&json!("2026-01-06"), &json!(2), &json!(1))
    );
    assert_eq!(week["heatmap"][1][2], 1, "Tuesday 02:00");
    assert_eq!(week["missed"], 2);
    assert_eq!(week["first_response_ms"]["median"], 45_000);
    // The older clients' `days` still works, ending today.
    let older = stats(&relay, "?days=7").await?;
    assert_eq!(observed(&older), want);

    let range = stats(&relay, "?from=2026-01-05&to=2026-01-07").await?;
    assert_eq!(range["days"].as_array().map(Vec::len), Some(3));
    assert_eq!(
        observed(&range),
        expected(&msgs, "2026-01-05", "2026-01-07", None, &ids)
    );
    let wide = stats(&relay, "?from=2025-12-31&to=2026-01-08").await?;
    assert_eq!(
        observed(&wide),
        expected(&msgs, "2025-12-31", "2026-01-08", None, &ids),
        "the conversation of 1 January counts once the range has it"
    );
    let sales = stats(&relay, "?from=2026-01-05&to=2026-01-08&team=sales").await?;
    assert_eq!(sales["team"], "sales");
    assert_eq!(
        observed(&sales),
        expected(&msgs, "2026-01-05", "2026-01-08", Some("sales"), &ids)
    );
    assert_eq!(sales["missed"], 1);
    // Visitors: each seen last on a day of the range.
    let seen: u64 = week["days"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["visitors"].as_u64())
        .sum();
    assert_eq!(seen, 7, "v1–v7");
    // Agents carry their names; an empty range has no rows and no figures.
    let bob = week["agents"]
        .as_array()
        .and_then(|a| a.iter().find(|r| r["agent"] == ids[1].as_str()))
        .cloned()
        .unwrap_or_default();
    assert_eq!(bob["name"], "=HYPERLINK(\"x\")");
    let empty = stats(&relay, "?from=2025-06-01&to=2025-06-30").await?;
    assert_eq!(empty["days"].as_array().map(Vec::len), Some(30));
    assert_eq!(empty["first_response_ms"]["median"], Value::Null);
    assert_eq!(empty["missed"], 0);
    assert!(empty["agents"].as_array().is_none_or(Vec::is_empty));
    Ok(())
}

/// Splits a CSV body into its sections (title → rows of fields; quoted
/// fields as RFC 4180 writes them).
fn csv_sections(body: &str) -> BTreeMap<String, Vec<Vec<String>>> {
    let mut out: BTreeMap<String, Vec<Vec<String>>> = BTreeMap::new();
    let mut title: Option<String> = None;
    for line in body.split("\r\n") {
        if line.is_empty() {
            title = None;
            continue;
        }
        let mut fields = Vec::new();
        let (mut cur, mut quoted, mut chars) = (String::new(), false, line.chars().peekable());
        while let Some(c) = chars.next() {
            match (c, quoted) {
                ('"', true) if chars.peek() == Some(&'"') => {
                    cur.push('"');
                    chars.next();
                }
                ('"', _) => quoted = !quoted,
                (',', false) => fields.push(std::mem::take(&mut cur)),
                (c, _) => cur.push(c),
            }
        }
        fields.push(cur);
        match &title {
            None => {
                title = Some(fields[0].clone());
                out.insert(fields[0].clone(), Vec::new());
            }
            Some(t) => out.entry(t.clone()).or_default().push(fields),
        }
    }
    out
}

/// The CSV export has the same figures as the JSON, one section per table
/// (summary, daily, agents, heatmap), as a download; the agent name that
/// reads like a formula is text. `?format=csv` answers the same.
#[tokio::test]
async fn csv_export_has_the_same_figures() -> Result<()> {
    let (relay, clock, ids, _, msgs) = seeded().await?;
    clock.set(at(3, 18, 0))?;
    let q = "from=2026-01-05&to=2026-01-08";
    let js = stats(&relay, &format!("?{q}")).await?;
    let r = reqwest::Client::new()
        .get(relay.http(&format!("/v1/api/sites/demo/stats.csv?{q}")))
        .bearer_auth(DEMO_TOKEN)
        .send()
        .await?;
    assert_eq!(r.status(), 200);
    let header = |n: &str| {
        r.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(header("content-type"), "text/csv; charset=utf-8");
    assert_eq!(
        header("content-disposition"),
        "attachment; filename=\"kefu-stats-demo-2026-01-05-2026-01-08.csv\""
    );
    let body = r.text().await?;
    let other = reqwest::Client::new()
        .get(relay.http(&format!("/v1/api/sites/demo/stats?{q}&format=csv")))
        .bearer_auth(DEMO_TOKEN)
        .send()
        .await?
        .text()
        .await?;
    assert_eq!(other, body);
    let sec = csv_sections(&body);
    let want = expected(&msgs, "2026-01-05", "2026-01-08", None, &ids);
    let num = |v: &Value| match v {
        Value::Null => String::new(),
        v => v.to_string(),
    };
    // Daily rows: one per day, the expected figures on busy days.
    let daily = &sec["daily"];
    assert_eq!(
        daily[0][..5],
        ["date", "conversations", "messages", "visitors", "missed"]
    );
    assert_eq!(daily.len(), 1 + 4);
    for row in &daily[1..] {
        let Some(d) = want["days"].get(&row[0]) else {
            assert!(row[1..3].iter().all(|f| f == "0"), "{row:?}");
            continue;
        };
        assert_eq!(row[1], num(&d["conversations"]), "{row:?}");
        assert_eq!(row[2], num(&d["messages"]), "{row:?}");
        assert_eq!(row[4], num(&d["missed"]), "{row:?}");
        assert_eq!(row[5..7], [num(&d["fr"][0]), num(&d["fr"][1])], "{row:?}");
        assert_eq!(row[7..9], [num(&d["res"][0]), num(&d["res"][1])], "{row:?}");
        assert_eq!(
            row[9..11],
            [num(&d["ratings"][0]), num(&d["ratings"][1])],
            "{row:?}"
        );
    }
    let summary = &sec["summary"];
    assert_eq!(summary[1][7], num(&want["missed"]));
    assert_eq!(
        summary[1][8..10],
        [num(&want["fr"][0]), num(&want["fr"][1])]
    );
    assert_eq!(
        summary[1][10..12],
        [num(&want["res"][0]), num(&want["res"][1])]
    );
    assert_eq!(summary[1][2], "2026-01-08");
    // Agents: the formula-like name is text (a leading '), as stored after it.
    let agents = &sec["agents"];
    assert_eq!(agents.len(), 1 + 2);
    for row in &agents[1..] {
        let a = &want["agents"][&row[0]];
        assert_eq!(
            row[2..4],
            [num(&a["conversations"]), num(&a["messages"])],
            "{row:?}"
        );
        assert_eq!(row[4], num(&a["fr"]), "{row:?}");
        assert_eq!(
            row[5..7],
            [num(&a["ratings"][0]), num(&a["ratings"][1])],
            "{row:?}"
        );
    }
    let bob = agents
        .iter()
        .find(|r| r[0] == ids[1])
        .cloned()
        .unwrap_or_default();
    assert_eq!(bob[1], "'=HYPERLINK(\"x\")");
    assert!(!body.contains(",=HYPERLINK"), "{body}");
    // Heatmap: seven weekdays × 24 hours, as expected.
    let heat = &sec["heatmap"];
    assert_eq!(heat.len(), 1 + 7);
    for (wd, row) in heat[1..].iter().enumerate() {
        let cells: Vec<String> = row[1..].to_vec();
        let want_row: Vec<String> = (0..24).map(|h| num(&want["heatmap"][wd][h])).collect();
        assert_eq!(cells, want_row, "weekday {wd}");
    }
    assert_eq!(js["heatmap"], want["heatmap"]);
    Ok(())
}

/// Malformed, reversed and too long ranges, both `days` and a range, an
/// unknown team or format: 400 (404 for the team) with a reason, on the
/// JSON and the CSV route alike; the figures after them are unchanged.
#[tokio::test]
async fn malformed_ranges_are_refused_with_a_reason() -> Result<()> {
    let clock = TestClock::new(at(0, 12, 0))?;
    let flags = clock.flags();
    let relay = Relay::start(BIN, &[&flags[0], &flags[1]]).await?;
    let before = stats(&relay, "").await?;
    for (q, status, why) in [
        ("from=2026-13-01", 400, "from must be a date YYYY-MM-DD"),
        ("to=2026-1-5", 400, "to must be a date YYYY-MM-DD"),
        ("from=2026-02-30&to=2026-03-01", 400, "YYYY-MM-DD"),
        ("from=2026-01-07&to=2026-01-05", 400, "is after to"),
        ("from=2024-01-01&to=2026-01-01", 400, "at most 366 days"),
        ("days=3&from=2026-01-01", 400, "not both"),
        ("team=bad%20id", 400, "no team id"),
        ("team=nobody", 404, "no such team"),
        ("format=xml", 400, "format must be json or csv"),
    ] {
        for route in ["stats", "stats.csv"] {
            if route == "stats.csv" && q.starts_with("format") {
                continue;
            }
            let path = format!("/v1/api/sites/demo/{route}?{q}");
            let (s, v) = api(&relay, DEMO_TOKEN, "GET", &path, None).await?;
            assert_eq!(s, status, "{path}: {v}");
            let msg = v["message"].as_str().unwrap_or_default();
            assert!(msg.contains(why), "{path}: {v}");
            let code = if status == 400 {
                "bad_request"
            } else {
                "not_found"
            };
            assert_eq!(v["code"], code, "{path}");
        }
    }
    assert_eq!(stats(&relay, "").await?, before);
    Ok(())
}
