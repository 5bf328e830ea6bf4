//! The soak test: many visitors (WebSocket and long-poll) and several
//! agents chat through the fault proxy while faults are injected
//! continuously and the relay is killed with SIGKILL three times. Then the
//! run quiesces and every client's log is checked against the store:
//!
//! - every message acked to its sender is stored once, at the acked seq;
//! - every client received every event of its conversations exactly once
//!   (duplicates arriving are suppressed by seq and counted), in order;
//! - nothing was delivered that nobody sent;
//! - every message sent was eventually acked (clients resend until then);
//! - every sender's messages (agents' and every visitor's) are stored in
//!   the order it wrote them;
//! - the proxy really injected every kind of fault it has.
//!
//! Right before each kill, a probe visitor straight to the relay gets a
//! burst of messages acked: the kill lands within a millisecond or so of
//! those acks, so a relay that acks before its data is on disk loses them
//! (the control experiment shows the checks catch that).
//!
//! `KEFU_SOAK_SECS` (default 75) sets the fault phase; `KEFU_SOAK_SEED`
//! replays a run's fault plans.

use anyhow::{ensure, Result};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tests::proxy::FaultProxy;
use tests::soak::{
    caught_up, lp_visitor, probe, ws_client, Control, Ledger, Sent, WsRole, PROBE_MSGS,
};
use tests::{Relay, DEMO_TOKEN};
use tokio::time::{sleep, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_kefu-test-relay");
const WS_VISITORS: usize = 12;
const LP_VISITORS: usize = 6;
const EXTRA_AGENTS: usize = 2;
/// Probe-and-kill rounds at one scheduled kill of the control run.
const MAX_PROBES_PER_KILL: usize = 10;

async fn api(
    relay: &Relay,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Result<Value> {
    let (status, v) = tests::api(relay, token, method, path, body).await?;
    ensure!((200..300).contains(&status), "{method} {path}: {status}");
    Ok(v)
}

/// The store's truth, read through the API.
async fn truth(relay: &Relay) -> Result<Truth> {
    let list = api(
        relay,
        DEMO_TOKEN,
        "GET",
        "/v1/api/sites/demo/conversations?status=all&limit=200",
        None,
    )
    .await?;
    let mut out = HashMap::new();
    for c in list["convs"].as_array().into_iter().flatten() {
        let conv = c["id"].as_str().unwrap_or_default().to_string();
        let mut events = BTreeMap::new();
        let mut after = 0;
        loop {
            let page = api(
                relay,
                DEMO_TOKEN,
                "GET",
                &format!("/v1/api/conversations/{conv}/events?after={after}&limit=500"),
                None,
            )
            .await?;
            for e in page["events"].as_array().into_iter().flatten() {
                let seq = e["seq"].as_u64().unwrap_or(0);
                after = seq;
                let cid = (e["kind"] == "message")
                    .then(|| e["cid"].as_str().unwrap_or_default().to_string());
                events.insert(seq, cid);
            }
            if page["more"] != true {
                break;
            }
        }
        out.insert(conv, events);
    }
    Ok(out)
}

struct Outcome {
    report: String,
    problems: Vec<String>,
    settled: bool,
    acked: usize,
    lost: usize,
    /// Lost messages among the probes' (acked right before a kill).
    probe_lost: usize,
    /// Faults the proxy injected, per kind.
    injected: [(&'static str, u64); 5],
    /// Whether faults and kills were on (`KEFU_SOAK_FAULTS`).
    faults: bool,
}

fn seed() -> u64 {
    std::env::var("KEFU_SOAK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::random::<u32>() as u64)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_faults_and_kill9_lose_nothing_and_duplicate_nothing() -> Result<()> {
    let secs: u64 = std::env::var("KEFU_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(75);
    let seed = seed();
    let o = soak(secs, seed, 3, &[], false).await?;
    println!("{}", o.report);
    eprintln!("{}", o.report);
    for p in o.problems.iter().take(20) {
        eprintln!("soak problem: {p}");
    }
    ensure!(
        o.settled,
        "the run did not settle within 90 s after faults stopped"
    );
    ensure!(
        o.problems.is_empty(),
        "{} problems (seed {seed}); first: {}",
        o.problems.len(),
        o.problems[0]
    );
    ensure!(o.acked > 100, "the run was too small to mean anything");
    if o.faults {
        for (kind, n) in o.injected {
            ensure!(
                n > 0,
                "the proxy never injected a {kind} fault: {}",
                o.report
            );
        }
    }
    Ok(())
}

/// The control experiment: the same soak against a relay that acks before
/// flushing (`--no-fsync`: sled writes its log lazily, every 500 ms). Each
/// kill -9 follows a probe's acks at once, usually before the next lazy
/// flush; a kill that happened to follow a flush (the probe kept all its
/// messages) is repeated until one loses acked messages. The checks must
/// then report that loss — proof they are not vacuous.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_checks_catch_a_relay_that_acks_before_flushing() -> Result<()> {
    let seed = seed();
    let o = soak(16, seed, 6, &["--no-fsync"], true).await?;
    eprintln!("control (--no-fsync): {}", o.report);
    ensure!(
        o.probe_lost > 0 && o.lost >= o.probe_lost && !o.problems.is_empty(),
        "the checks saw no loss of messages acked right before kill -9 by a relay \
         that acks unflushed writes (seed {seed}): {}",
        o.report
    );
    Ok(())
}

/// How many of probe `name`'s messages conversation `conv` holds (none if
/// the conversation itself is gone).
async fn kept(relay: &Relay, conv: &str, name: &str) -> Result<u64> {
    let r = reqwest::Client::new()
        .get(relay.http(&format!(
            "/v1/api/conversations/{conv}/events?after=0&limit=500"
        )))
        .bearer_auth(DEMO_TOKEN)
        .send()
        .await?;
    if r.status() == 404 {
        return Ok(0);
    }
    ensure!(r.status().is_success(), "events of {conv}: {}", r.status());
    let page: Value = r.json().await?;
    let prefix = format!("{name}-");
    Ok(page["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["cid"].as_str().is_some_and(|c| c.starts_with(&prefix)))
        .count() as u64)
}

/// Runs the soak: `kills` kill -9s, each right after a probe's acks; with
/// `until_loss` (the control), a kill whose probe kept every message is
/// followed by another probe and kill (up to [`MAX_PROBES_PER_KILL`]) until
/// one loses acked messages, so the control does not rest on chance.
async fn soak(
    secs: u64,
    seed: u64,
    kills: u64,
    extra: &[&str],
    until_loss: bool,
) -> Result<Outcome> {
    eprintln!("soak: seed={seed} secs={secs} (KEFU_SOAK_SEED={seed} replays the fault plans)");
    let mut flags = vec![
        "--heartbeat-ms",
        "1000",
        "--longpoll-wait-ms",
        "1500",
        "--offline-grace-ms",
        "2000",
        "--sends-per-ip",
        "1000000",
        // Outbox resends count too: no refusal may break a sender's order.
        "--sends-per-visitor",
        "1000000",
        "--page-views-per-ip",
        "1000000",
    ];
    flags.extend_from_slice(extra);
    let mut relay = Relay::start(BIN, &flags).await?;

    let agent_tokens = add_agents(&relay).await?;

    let proxy = FaultProxy::start(relay.addr.clone(), seed).await?;
    // KEFU_SOAK_FAULTS=0: the same run without faults or kills (a baseline
    // when debugging the clients).
    let faults = std::env::var("KEFU_SOAK_FAULTS").map_or(true, |v| v != "0");
    proxy.set_faults(faults);
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let ctl = Control::default();
    ctl.generate.store(true, Ordering::Relaxed);
    let (tasks, visitors, agents) = spawn_clients(proxy.addr, &agent_tokens, &ctl, &ledger, seed);

    // Fault phase, with three SIGKILLs of the relay.
    let start = Instant::now();
    let (restarts, probes) = if faults {
        kill_phase(&mut relay, &ledger, secs, kills, until_loss).await?
    } else {
        (0, 0)
    };
    sleep(Duration::from_secs(secs).saturating_sub(start.elapsed())).await;

    // Quiesce: no new messages, no new faults, every connection cut once
    // (ends stalls and one-way losses), then wait for everyone to catch up.
    ctl.generate.store(false, Ordering::Relaxed);
    proxy.set_faults(false);
    proxy.reset_all();
    let deadline = Instant::now() + Duration::from_secs(90);
    let (t, settled) = loop {
        let before = acked_before_read(&ledger.lock().unwrap_or_else(|e| e.into_inner()));
        let t = truth(&relay).await?;
        let last: HashMap<String, u64> = t
            .iter()
            .map(|(c, e)| (c.clone(), e.keys().next_back().copied().unwrap_or(0)))
            .collect();
        let done = {
            let l = ledger.lock().unwrap_or_else(|e| e.into_inner());
            settled_on(before, &l, &last, &visitors, &agents)
        };
        if done {
            break (t, true);
        }
        if Instant::now() > deadline {
            break (t, false);
        }
        sleep(Duration::from_millis(500)).await;
    };
    ctl.stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(10), t).await;
    }

    // --- checks ----------------------------------------------------------
    let l = ledger.lock().unwrap_or_else(|e| e.into_inner());
    let Checks {
        problems,
        stored_once,
        stored_twice,
        lost,
        probe_lost,
        delivered,
        senders,
    } = check(&l, &t);
    let report = format!(
        "soak: seed={seed} secs={secs} restarts={restarts} probes={probes} clients={} conversations={} sent={} acked={} stored_once={} \
         delivered={delivered} duplicates_suppressed={} lost={lost} probe_lost={probe_lost} stored_twice={stored_twice} \
         reconnects={} refusals={} senders_in_order_check={senders} settled={settled}\nsoak: proxy {}",
        visitors.len() + agents.len(),
        t.len(),
        l.sent.len(),
        l.acked.len(),
        stored_once,
        l.duplicates_suppressed,
        l.reconnects,
        l.refusals.len(),
        proxy.report()
    );
    if !settled || !problems.is_empty() {
        for (c, e) in &l.ends {
            eprintln!("soak: {c} connection ends {e:?}");
        }
    }
    if faults {
        ensure!(
            restarts >= kills.min(3),
            "fewer than three kill -9 restarts"
        );
    }
    Ok(Outcome {
        report,
        problems,
        settled,
        acked: l.acked.len(),
        lost,
        probe_lost,
        injected: proxy.stats.injected(),
        faults,
    })
}

/// The store's truth: conv → seq → Some(cid) for messages.
type Truth = HashMap<String, BTreeMap<u64, Option<String>>>;

/// What the checks found.
struct Checks {
    problems: Vec<String>,
    stored_once: usize,
    stored_twice: usize,
    lost: usize,
    probe_lost: usize,
    delivered: u64,
    /// Senders whose order was checked.
    senders: usize,
}

/// Every client's log against the store (see the module doc).
fn check(l: &Ledger, t: &Truth) -> Checks {
    let mut problems: Vec<String> = Vec::new();
    // Stored: cid → (conv, seq), each at most once.
    let mut stored: HashMap<&str, (&str, u64)> = HashMap::new();
    let mut stored_twice = 0;
    for (conv, evs) in t {
        for (seq, cid) in evs {
            if let Some(cid) = cid {
                if stored.insert(cid, (conv, *seq)).is_some() {
                    stored_twice += 1;
                    problems.push(format!("cid {cid} stored twice"));
                }
                if !l.sent.contains_key(cid) {
                    problems.push(format!("stored message {cid} that nobody sent"));
                }
            }
        }
    }
    let (mut lost, mut probe_lost) = (0, 0);
    for (cid, (conv, seq)) in &l.acked {
        match stored.get(cid.as_str()) {
            Some((c, s)) if *c == conv && s == seq => {}
            other => {
                lost += 1;
                probe_lost += usize::from(cid.starts_with("probe"));
                problems.push(format!("acked {cid} at {conv}/{seq}, stored {other:?}"));
            }
        }
    }
    let unacked = l.sent.keys().filter(|c| !l.acked.contains_key(*c)).count();
    if unacked > 0 {
        problems.push(format!("{unacked} messages never acked"));
    }
    problems.extend(
        l.ack_conflicts
            .iter()
            .map(|c| format!("two different acks for {c}")),
    );
    let delivered = check_delivery(l, t, &mut problems);
    let senders = check_order(l, &stored, &mut problems);
    // Visitors' send limits are lifted: any refusal is a fault of the run.
    if !l.refusals.is_empty() {
        problems.push(format!("refusals: {:?}", l.refusals));
    }
    Checks {
        problems,
        stored_once: stored.len(),
        stored_twice,
        lost,
        probe_lost,
        delivered,
        senders,
    }
}

/// Each client's log equals the store for its conversations (agents: for
/// every conversation); nothing delivered that nobody sent. Returns the
/// messages delivered.
fn check_delivery(l: &Ledger, t: &Truth, problems: &mut Vec<String>) -> u64 {
    let mut delivered = 0u64;
    let mut invented = 0;
    for (client, convs) in &l.delivered {
        for (conv, got) in convs {
            let want = t.get(conv).cloned().unwrap_or_default();
            delivered += got.values().filter(|c| c.is_some()).count() as u64;
            for cid in got.values().flatten() {
                if !l.sent.contains_key(cid) {
                    invented += 1;
                }
            }
            if *got != want {
                let missing: Vec<&u64> = want.keys().filter(|s| !got.contains_key(s)).collect();
                problems.push(format!(
                    "{client} in {conv}: got {} events, store has {}; missing seqs {missing:?}",
                    got.len(),
                    want.len()
                ));
            }
        }
        if client.starts_with("agent") {
            for conv in t.keys() {
                if !convs.contains_key(conv) {
                    problems.push(format!("{client} never received conversation {conv}"));
                }
            }
        }
    }
    if invented > 0 {
        problems.push(format!("{invented} delivered messages were never sent"));
    }
    delivered
}

/// Per-sender order: every sender's messages (agents and visitors alike)
/// are stored in the order it wrote them, per conversation (each client
/// sends and resends its outbox in order). Returns the senders checked.
fn check_order(
    l: &Ledger,
    stored: &HashMap<&str, (&str, u64)>,
    problems: &mut Vec<String>,
) -> usize {
    // sender → [(creation order, (conv, seq))]
    type Placed<'a> = Vec<(u64, (&'a str, u64))>;
    let mut by_sender: HashMap<&str, Placed> = HashMap::new();
    for (cid, s) in &l.sent {
        if let Some(at) = stored.get(cid.as_str()) {
            by_sender.entry(&s.sender).or_default().push((s.n, *at));
        }
    }
    let senders = by_sender.len();
    for (sender, mut v) in by_sender {
        v.sort();
        let mut last: HashMap<&str, u64> = HashMap::new();
        for (n, (conv, seq)) in v {
            let prev = last.insert(conv, seq).unwrap_or(0);
            if seq < prev {
                problems.push(format!(
                    "{sender}: message #{n} stored at {conv}/{seq}, before an earlier one (seq {prev})"
                ));
                break;
            }
        }
    }
    senders
}

/// Two more agents of `demo` beside the demo owner; their tokens, the
/// owner's first.
async fn add_agents(relay: &Relay) -> Result<Vec<String>> {
    let mut agent_tokens = vec![DEMO_TOKEN.to_string()];
    for i in 0..EXTRA_AGENTS {
        let email = format!("soak{i}@example.com");
        api(
            relay,
            DEMO_TOKEN,
            "POST",
            "/v1/api/agents",
            Some(json!({"name": format!("Soak {i}"),
            "email": email, "password": "soak-password", "sites": ["demo"]})),
        )
        .await?;
        let r: Value = reqwest::Client::new()
            .post(relay.http("/v1/api/login"))
            .json(&json!({"email": email, "password": "soak-password"}))
            .send()
            .await?
            .json()
            .await?;
        agent_tokens.push(r["token"].as_str().unwrap_or_default().to_string());
    }
    Ok(agent_tokens)
}

type Tasks = Vec<tokio::task::JoinHandle<()>>;

/// Every client through the proxy at `addr`: the tasks, the visitors' and
/// the agents' names.
fn spawn_clients(
    addr: std::net::SocketAddr,
    agent_tokens: &[String],
    ctl: &Control,
    ledger: &Arc<Mutex<Ledger>>,
    seed: u64,
) -> (Tasks, Vec<String>, Vec<String>) {
    let ws_url = format!("ws://{addr}/v1/ws");
    let base = format!("http://{addr}");
    let mut tasks = Vec::new();
    let mut visitors = Vec::new();
    for i in 0..WS_VISITORS {
        let name = format!("wsv{i}");
        visitors.push(name.clone());
        let role = WsRole::Visitor {
            site: "demo".into(),
            visitor: format!("soak-ws-{i}"),
        };
        tasks.push(tokio::spawn(ws_client(
            name,
            ws_url.clone(),
            role,
            ctl.clone(),
            ledger.clone(),
            seed + i as u64,
        )));
    }
    for i in 0..LP_VISITORS {
        let name = format!("lpv{i}");
        visitors.push(name.clone());
        tasks.push(tokio::spawn(lp_visitor(
            name,
            base.clone(),
            "demo".into(),
            format!("soak-lp-{i}"),
            ctl.clone(),
            ledger.clone(),
            seed + 100 + i as u64,
        )));
    }
    let mut agents = Vec::new();
    for (i, token) in agent_tokens.iter().enumerate() {
        let name = format!("agent{i}");
        agents.push(name.clone());
        let role = WsRole::Agent {
            token: token.clone(),
            site: "demo".into(),
        };
        tasks.push(tokio::spawn(ws_client(
            name,
            ws_url.clone(),
            role,
            ctl.clone(),
            ledger.clone(),
            seed + 200 + i as u64,
        )));
    }
    (tasks, visitors, agents)
}

/// The fault phase's kills, spread over `secs`: each right after a probe's
/// acks; with `until_loss`, repeated (see [`soak`]). Returns (restarts,
/// probes).
async fn kill_phase(
    relay: &mut Relay,
    ledger: &Arc<Mutex<Ledger>>,
    secs: u64,
    kills: u64,
    until_loss: bool,
) -> Result<(u64, u64)> {
    let start = Instant::now();
    let (mut restarts, mut probes, mut seen_loss) = (0, 0, false);
    for k in 1..=kills {
        let at = Duration::from_millis(secs * 1000 * k / (kills + 1));
        sleep(at.saturating_sub(start.elapsed())).await;
        for attempt in 1..=MAX_PROBES_PER_KILL {
            let name = format!("probe{k}x{attempt}");
            let conv = probe(&relay.ws_url(), "demo", &name, ledger).await?;
            relay.kill9().await?;
            probes += 1;
            sleep(Duration::from_millis(300)).await;
            relay.restart().await?;
            restarts += 1;
            eprintln!(
                "soak: kill -9 #{k} at {:.1}s, relay back",
                start.elapsed().as_secs_f64()
            );
            if !until_loss || seen_loss {
                break;
            }
            if kept(relay, &conv, &name).await? < PROBE_MSGS {
                seen_loss = true;
                break;
            }
        }
    }
    Ok((restarts, probes))
}

/// Noted right before the quiesce loop reads the store: how many messages
/// were sent, if every one of them was acked by then.
fn acked_before_read(l: &Ledger) -> Option<usize> {
    l.sent
        .keys()
        .all(|c| l.acked.contains_key(c))
        .then_some(l.sent.len())
}

/// Whether a read of the store (`last`: conv → last seq) is the final
/// truth: every message sent was acked before the read began (`before`,
/// from [`acked_before_read`]; an ack means stored, so the read holds it),
/// nothing was sent since, and every client has caught up with it. A read
/// that began before the last ack can lack that message while the clients'
/// logs, looked at after the read, already hold it: not final.
fn settled_on(
    before: Option<usize>,
    l: &Ledger,
    last: &HashMap<String, u64>,
    visitors: &[String],
    agents: &[String],
) -> bool {
    before == Some(l.sent.len()) && all_caught_up(l, last, visitors, agents)
}

/// Whether every message is acked and every client has caught up with the
/// store (`last`: conv → last seq): visitors in their own conversations,
/// agents in all.
fn all_caught_up(
    l: &Ledger,
    last: &HashMap<String, u64>,
    visitors: &[String],
    agents: &[String],
) -> bool {
    let all_convs: Vec<String> = last.keys().cloned().collect();
    let all_acked = l.sent.keys().all(|c| l.acked.contains_key(c));
    let visitor_convs = |v: &str| -> Vec<String> {
        let mut cs: Vec<String> = l
            .sent
            .iter()
            .filter(|(_, s)| s.sender == v)
            .filter_map(|(cid, _)| l.acked.get(cid).map(|(c, _)| c.clone()))
            .collect();
        cs.sort();
        cs.dedup();
        cs
    };
    all_acked
        && visitors
            .iter()
            .all(|v| caught_up(l, v, last, &visitor_convs(v)))
        && agents.iter().all(|a| caught_up(l, a, last, &all_convs))
}

/// The race the quiesce loop must not fall for: a read of the store
/// begins, then the last message is acked and delivered. Every client is
/// then "caught up" with that read, which lacks the message: it must not
/// be taken for the final truth (the checks would report an acked message
/// as lost). A read begun after the ack is final.
#[test]
fn a_store_read_begun_before_the_last_ack_is_not_final() {
    let agents = ["agent0".to_string()];
    let mut l = Ledger::default();
    let sent = Sent {
        sender: "agent0".into(),
        text: "agent0 says #73".into(),
        n: 73,
    };
    l.sent.insert("agent0-73".into(), sent);
    let before = acked_before_read(&l);
    let read = HashMap::from([("c".to_string(), 16)]);
    l.acked.insert("agent0-73".into(), ("c".into(), 17));
    let got = l.delivered.entry("agent0".into()).or_default();
    got.entry("c".into())
        .or_default()
        .extend((1..=17).map(|seq| (seq, None)));
    assert!(
        all_caught_up(&l, &read, &[], &agents),
        "the clients look caught up with the read that lacks seq 17"
    );
    assert!(!settled_on(before, &l, &read, &[], &agents));
    let before = acked_before_read(&l);
    let read = HashMap::from([("c".to_string(), 17)]);
    assert!(settled_on(before, &l, &read, &[], &agents));
}
