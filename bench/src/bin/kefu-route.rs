//! Routing decisions per second the commit path sustains (make bench).
//!
//! In-process, on the relay's own parts: a sled store on disk, the hub with
//! `--agents` agents subscribed and available (capacity `--capacity`), and
//! the commit thread, durable (flush + fdatasync per group). `--starts`
//! visitors each start a conversation, `--inflight` at a time. With the
//! site on auto-assignment every start is an assignment decision (the
//! agents have room for all of them); the baseline is the same starts with
//! the site on manual routing, in the same run, rounds interleaved.
//!
//! Prints one line per round and a summary:
//! `routing: agents=… starts=… auto_per_s=… manual_per_s=… cost=…×`.

use anyhow::{ensure, Result};
use protocol::api::{Routing, RoutingMode};
use protocol::{Author, Cid, Side, SiteId, VisitorId};
use relay::commit::{Committer, NewMessage, Parts, Target};
use relay::hub::Hub;
use relay::metrics::Metrics;
use relay::store::{SiteRecord, Store};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Args {
    agents: usize,
    capacity: u32,
    starts: usize,
    inflight: usize,
    rounds: usize,
}

fn args() -> Result<Args> {
    let mut a = Args {
        agents: 1000,
        capacity: 5,
        starts: 4000,
        inflight: 512,
        rounds: 3,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v: usize = it
            .next()
            .ok_or_else(|| anyhow::anyhow!("{k} needs a value"))?
            .parse()?;
        match k.as_str() {
            "--agents" => a.agents = v,
            "--capacity" => a.capacity = v as u32,
            "--starts" => a.starts = v,
            "--inflight" => a.inflight = v,
            "--rounds" => a.rounds = v,
            _ => anyhow::bail!("unknown flag {k}"),
        }
    }
    ensure!(
        a.starts <= a.agents * a.capacity as usize,
        "more starts than free slots: every start should be an assignment"
    );
    Ok(a)
}

/// One round: `starts` new conversations on a fresh store; starts/s.
async fn round(a: &Args, mode: RoutingMode) -> Result<f64> {
    let dir = tempfile::tempdir()?;
    let store = Arc::new(Store::open(dir.path())?);
    let site = SiteId::new("bench")?;
    store.put_site(&SiteRecord {
        id: site.clone(),
        name: "Bench".into(),
        secret: "x".into(),
        created: 0,
        allowed_origins: Vec::new(),
        widget: Default::default(),
        routing: Routing {
            mode,
            ..Routing::default()
        },
        wechat: None,
        offline: Default::default(),
    })?;
    let hub = Hub::new(Duration::from_secs(30));
    let mut subs = Vec::with_capacity(a.agents);
    for i in 0..a.agents {
        let id = protocol::AgentId::new(format!("agent{i:05}"))?;
        let (sub, h) = hub.subscription_with(16);
        hub.agent_subscribe(&site, &h, false, (&id, a.capacity));
        subs.push((sub, h));
    }
    let metrics = Arc::new(Metrics::default());
    let (commit, thread) = Committer::start(
        Parts {
            store: store.clone(),
            hub: hub.clone(),
            metrics,
            outlets: Default::default(),
            search: None,
        },
        true,
    );
    let gate = Arc::new(tokio::sync::Semaphore::new(a.inflight));
    let t0 = Instant::now();
    let mut tasks = Vec::with_capacity(a.starts);
    for i in 0..a.starts {
        let (commit, site, gate) = (commit.clone(), site.clone(), gate.clone());
        tasks.push(tokio::spawn(async move {
            let _slot = gate.acquire_owned().await?;
            let visitor = format!("v{i}");
            let msg = NewMessage {
                scope: format!("v:bench:{visitor}"),
                cid: Cid::new("m1")?,
                target: Target::Visitor {
                    site,
                    visitor: VisitorId::new(visitor.clone())?,
                    team: None,
                    channel: protocol::Channel::Web,
                },
                from: Author {
                    side: Side::Visitor,
                    id: visitor,
                    name: None,
                },
                text: "Hello, is anyone there?".into(),
                file: None,
            };
            commit.message(msg).await?;
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let secs = t0.elapsed().as_secs_f64();
    if mode == RoutingMode::Auto {
        // Every start was a decision that found an agent.
        let mut assigned = 0;
        for i in 0..a.agents {
            let n = store.load_count(&protocol::AgentId::new(format!("agent{i:05}"))?)?;
            ensure!(n <= a.capacity, "agent{i:05} over capacity: {n}");
            assigned += n as usize;
        }
        ensure!(assigned == a.starts, "{assigned} of {} assigned", a.starts);
    }
    drop(commit);
    let _ = tokio::task::spawn_blocking(move || thread.join()).await;
    drop(subs);
    Ok(a.starts as f64 / secs)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

#[tokio::main]
async fn main() -> Result<()> {
    let a = args()?;
    let (mut auto, mut manual) = (Vec::new(), Vec::new());
    for r in 1..=a.rounds {
        let m = round(&a, RoutingMode::Manual).await?;
        let s = round(&a, RoutingMode::Auto).await?;
        eprintln!("round {r}: manual {m:.0} starts/s, auto {s:.0} decisions/s");
        manual.push(m);
        auto.push(s);
    }
    let (s, m) = (median(auto), median(manual));
    println!(
        "routing: agents={} capacity={} starts={} inflight={} auto_per_s={s:.0} manual_per_s={m:.0} cost={:.2}×",
        a.agents,
        a.capacity,
        a.starts,
        a.inflight,
        m / s
    );
    Ok(())
}
