//! The chat workload built the way one would build it on Redis, the
//! durable peer of `make bench` (`appendonly yes`, `appendfsync always`:
//! Redis answers a write only once it is fsynced). Conversation `i` has two
//! streams, `c:<run>:<i>:v` (visitor → agent) and `c:<run>:<i>:a` (agent →
//! visitor). A visitor `XADD`s a 200-byte message every interval (ack = the
//! `XADD` reply) and reads its agent stream with `XREAD BLOCK`; the agent
//! reads every visitor stream with one `XREAD BLOCK` and answers each
//! message into the conversation's agent stream (deliver = the entry read).

use crate::lat::Lat;
use anyhow::{Context, Result};
use redis::aio::MultiplexedConnection;
use redis::streams::StreamReadReply;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long one `XREAD BLOCK` waits before it is asked again (below the
/// client's response timeout) and how many entries it takes at once.
const BLOCK_MS: u64 = 100;
const READ_COUNT: usize = 1000;

/// One chat run against the Redis at `url` (`redis://127.0.0.1:6379`).
pub struct Plan {
    pub url: String,
    pub run: String,
    pub convs: usize,
    pub interval: Duration,
    pub secs: u64,
}

/// Runs the workload, then prints the same report line as kefu's chat.
pub async fn run(plan: Plan) -> Result<()> {
    let client = redis::Client::open(plan.url.as_str()).context("redis url")?;
    let lat = Arc::new(Lat::default());
    let agent = tokio::spawn(agent(
        client.clone(),
        plan.run.clone(),
        plan.convs,
        lat.clone(),
    ));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let deadline = Instant::now() + Duration::from_secs(plan.secs);
    let mut tasks = Vec::with_capacity(plan.convs);
    for c in 0..plan.convs {
        let v = Visitor {
            client: client.clone(),
            run: plan.run.clone(),
            conv: c,
            lat: lat.clone(),
            start_delay: plan.interval * c as u32 / plan.convs.max(1) as u32,
            interval: plan.interval,
            deadline,
        };
        tasks.push(tokio::spawn(v.run()));
    }
    for t in tasks {
        t.await??;
    }
    agent.abort();
    let ms = plan.interval.as_millis() as u64;
    lat.report("redis-chat", plan.convs, ms, plan.secs);
    Ok(())
}

async fn connect(client: &redis::Client) -> Result<MultiplexedConnection> {
    Ok(client.get_multiplexed_async_connection().await?)
}

/// `XADD key * id <id> text <text>`; true once Redis has it durably.
async fn xadd(conn: &mut MultiplexedConnection, key: &str, id: &str, text: &str) -> bool {
    redis::cmd("XADD")
        .arg(key)
        .arg("*")
        .arg("id")
        .arg(id)
        .arg("text")
        .arg(text)
        .query_async::<String>(conn)
        .await
        .is_ok()
}

/// `XREAD COUNT … BLOCK … STREAMS keys… last…`: the entries after `last`
/// of each stream; `last` moves past what was read.
async fn xread(
    conn: &mut MultiplexedConnection,
    keys: &[String],
    last: &mut [String],
) -> Result<Vec<(usize, String)>> {
    let mut cmd = redis::cmd("XREAD");
    cmd.arg("COUNT")
        .arg(READ_COUNT)
        .arg("BLOCK")
        .arg(BLOCK_MS)
        .arg("STREAMS")
        .arg(keys)
        .arg(&*last);
    let reply: Option<StreamReadReply> = cmd.query_async(conn).await?;
    let mut out = Vec::new();
    for k in reply.map(|r| r.keys).unwrap_or_default() {
        let Some(i) = keys.iter().position(|x| *x == k.key) else {
            continue;
        };
        for e in k.ids {
            if let Some(id) = e.get::<String>("id") {
                out.push((i, id));
            }
            last[i] = e.id;
        }
    }
    Ok(out)
}

/// Reads every visitor stream; answers each new message with 200 bytes
/// into that conversation's agent stream, timing the reply's `XADD`.
async fn agent(client: redis::Client, run: String, convs: usize, lat: Arc<Lat>) -> Result<()> {
    let mut reader = connect(&client).await?;
    let writer = connect(&client).await?;
    let keys: Vec<String> = (0..convs).map(|c| format!("c:{run}:{c}:v")).collect();
    let mut last = vec!["0-0".to_string(); convs];
    let reply = Arc::new("z".repeat(200));
    loop {
        for (c, id) in xread(&mut reader, &keys, &mut last).await? {
            if !lat.delivered(&id) {
                continue;
            }
            let rid = format!("r{id}");
            lat.send(&rid);
            let (mut w, lat, reply, key) = (
                writer.clone(),
                lat.clone(),
                reply.clone(),
                format!("c:{run}:{c}:a"),
            );
            tokio::spawn(async move {
                if xadd(&mut w, &key, &rid, &reply).await {
                    lat.acked(&rid);
                }
            });
        }
    }
}

/// One visitor's part of the workload.
struct Visitor {
    client: redis::Client,
    run: String,
    conv: usize,
    lat: Arc<Lat>,
    /// Spreads the visitors' sends over one interval.
    start_delay: Duration,
    interval: Duration,
    deadline: Instant,
}

impl Visitor {
    /// Writes a 200-byte message every interval until the deadline (each
    /// `XADD` in flight on its own, as a socket send would be) while its
    /// reader takes the agent's answers.
    async fn run(self) -> Result<()> {
        let writer = connect(&self.client).await?;
        let mut reader = connect(&self.client).await?;
        let (lat, keys) = (
            self.lat.clone(),
            vec![format!("c:{}:{}:a", self.run, self.conv)],
        );
        let read = tokio::spawn(async move {
            let mut last = vec!["0-0".to_string()];
            while let Ok(got) = xread(&mut reader, &keys, &mut last).await {
                for (_, id) in got {
                    lat.delivered(&id);
                }
            }
        });
        tokio::time::sleep(self.start_delay).await;
        let key = format!("c:{}:{}:v", self.run, self.conv);
        let text = Arc::new("x".repeat(200));
        let mut tick = tokio::time::interval(self.interval);
        let mut i = 0u64;
        while Instant::now() < self.deadline {
            tick.tick().await;
            let id = format!("{}-{}-{i}", self.run, self.conv);
            i += 1;
            self.lat.send(&id);
            let (mut w, lat, text, key) =
                (writer.clone(), self.lat.clone(), text.clone(), key.clone());
            tokio::spawn(async move {
                if xadd(&mut w, &key, &id, &text).await {
                    lat.acked(&id);
                }
            });
        }
        tokio::time::sleep(Duration::from_millis(1000)).await;
        read.abort();
        Ok(())
    }
}
