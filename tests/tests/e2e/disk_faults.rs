//! Disk faults, injected with Debian's libfiu (`fiu-run -x` preloads its
//! POSIX wrappers; `fiu-ctrl` switches failure points on and off in the
//! running relay): while the data file's syncs or writes fail, nothing is
//! acked, the sender gets a `storage` error naming its cid, the log says
//! why, and nothing stored is damaged; when the disk recovers, the same
//! cids are acked once and the relay carries on — also across a restart.
//! Each fault gets the recovery README promises (the delivery promise, 6):
//! a failed `fdatasync` in place, a failed write by exit 70 and a restart.
//! Without fiu-utils the tests fail (scripts/setup.sh installs it).

use crate::BIN;
use anyhow::{bail, ensure, Result};
use serde_json::Value;
use std::process::Command;
use std::time::Duration;
use tests::frames::*;
use tests::{Relay, Ws, DEMO_TOKEN, WAIT};
use tokio::time::Instant;

/// Debian's fiu-utils: `make test` installs it (scripts/setup.sh), so a
/// missing tool fails the test rather than skipping what it proves.
fn require_fiu() -> Result<()> {
    for tool in ["fiu-run", "fiu-ctrl"] {
        ensure!(
            Command::new(tool).arg("-h").output().is_ok(),
            "{tool} not found: the disk-fault tests need Debian's fiu-utils \
             (apt-get install fiu-utils; `make test` installs it via scripts/setup.sh)"
        );
    }
    Ok(())
}

/// Sends a command to the running relay's libfiu control thread. It applies
/// it a moment after fiu-ctrl returns: callers poll for the effect.
fn fiu(relay: &Relay, cmd: &str) -> Result<()> {
    let pid = relay
        .pid()
        .ok_or_else(|| anyhow::anyhow!("relay not running"))?;
    let out = Command::new("fiu-ctrl")
        .args(["-c", cmd, &pid.to_string()])
        .output()?;
    ensure!(
        out.status.success(),
        "fiu-ctrl {cmd}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

/// How README's delivery promise (6) says the relay gets over a fault.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Recovery {
    /// A failed `fdatasync` leaves sled usable: the same process acks again.
    InPlace,
    /// A failed write leaves sled failed for good: once the disk works,
    /// the relay exits with status 70 for its supervisor to restart it.
    ExitAndRestart,
}

/// Polls until the fault is in force: a probe visitor's sends (in a
/// conversation of its own) are acked until the relay applies the fault,
/// then refused with `storage`.
async fn until_disk_fails(relay: &Relay) -> Result<()> {
    let mut p = Ws::connect(relay).await?;
    p.hello(visitor_hello("demo", "disk-probe", None)).await?;
    let deadline = Instant::now() + WAIT;
    let mut n = 0;
    loop {
        n += 1;
        let r = send_and_wait(&mut p, &format!("probe{n}"), "probe").await?;
        if r["type"] == "error" {
            ensure!(r["code"] == "storage", "probe refused: {r}");
            return Ok(());
        }
        ensure!(Instant::now() < deadline, "the fault never took effect");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn metric(relay: &Relay, name: &str) -> Result<u64> {
    let text = reqwest::get(relay.metrics_url()).await?.text().await?;
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse().ok()))
        .ok_or_else(|| anyhow::anyhow!("no {name} in /metrics"))
}

/// Sends `cid` and returns the relay's answer to it: `ack` or `error`.
async fn send_and_wait(v: &mut Ws, cid: &str, text: &str) -> Result<Value> {
    v.send(send(cid, text)).await?;
    v.until(|f| f["cid"] == cid && (f["type"] == "ack" || f["type"] == "error"))
        .await
}

async fn stored_texts(relay: &Relay, conv: &str) -> Result<Vec<(u64, String)>> {
    let r: Value = reqwest::Client::new()
        .get(relay.http(&format!(
            "/v1/api/conversations/{conv}/events?after=0&limit=500"
        )))
        .bearer_auth(DEMO_TOKEN)
        .send()
        .await?
        .json()
        .await?;
    Ok(r["events"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            (
                e["seq"].as_u64().unwrap_or(0),
                e["text"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect())
}

/// Sends `cid` until it is acked, failing if the relay exits meanwhile
/// (a fault it recovers from in place), or after [`WAIT`] × 2.
async fn acked_in_place(relay: &mut Relay, v: &mut Ws, cid: &str, text: &str) -> Result<u64> {
    let deadline = Instant::now() + WAIT * 2;
    loop {
        let r = send_and_wait(v, cid, text).await;
        if let Ok(r) = &r {
            if r["type"] == "ack" {
                return Ok(r["seq"].as_u64().unwrap_or(0));
            }
        }
        if let Some(status) = relay.wait_exit(Duration::from_millis(100)).await? {
            bail!(
                "the relay exited ({status:?}) although this fault is recovered in place; log:\n{}",
                relay.log_text()
            );
        }
        ensure!(
            Instant::now() < deadline,
            "{cid} not acked after the disk recovered: {r:?}"
        );
    }
}

/// After a failed write: every send is refused until the relay exits with
/// status 70 (never an ack from the failed database); then it is started
/// again on the same data dir, without fault injection, and `v` reconnects.
async fn exits_then_restarts(relay: &mut Relay, v: &mut Ws, token: &str) -> Result<()> {
    let deadline = Instant::now() + WAIT * 2;
    let status = loop {
        if let Ok(r) = send_and_wait(v, "d2", "during the fault").await {
            ensure!(
                r["type"] != "ack",
                "acked by a database that failed a write: {r}"
            );
        }
        if let Some(status) = relay.wait_exit(Duration::from_millis(100)).await? {
            break status;
        }
        ensure!(
            Instant::now() < deadline,
            "the relay did not exit after the disk recovered; log:\n{}",
            relay.log_text()
        );
    };
    ensure!(status.code() == Some(70), "exit status {status:?}");
    ensure!(
        relay.log_text().contains("database stays failed"),
        "log:\n{}",
        relay.log_text()
    );
    relay.wrapper.clear();
    relay.restart().await?;
    *v = Ws::connect(relay).await?;
    v.hello(visitor_hello("demo", "disk-v", Some(token)))
        .await?;
    Ok(())
}

async fn disk_fault(point: &str, recovery: Recovery) -> Result<()> {
    require_fiu()?;
    let mut relay = Relay::start_wrapped(BIN, &["fiu-run", "-x"], &[]).await?;
    let mut v = Ws::connect(&relay).await?;
    let w = v.hello(visitor_hello("demo", "disk-v", None)).await?;
    let token = w["token"].as_str().unwrap_or_default().to_string();
    let a1 = send_and_wait(&mut v, "d1", "before the fault").await?;
    ensure!(a1["type"] == "ack", "healthy disk acks: {a1}");
    let conv = a1["conv"].as_str().unwrap_or_default().to_string();

    // The disk fails.
    fiu(&relay, &format!("enable name={point}"))?;
    until_disk_fails(&relay).await?;
    let errors_before = metric(&relay, "kefu_storage_errors_total").await?;
    let e2 = send_and_wait(&mut v, "d2", "during the fault").await?;
    ensure!(
        e2["type"] == "error" && e2["code"] == "storage",
        "no ack while the disk fails: {e2}"
    );
    let e3 = send_and_wait(&mut v, "d3", "during the fault, again").await?;
    ensure!(e3["type"] == "error", "still no ack: {e3}");
    ensure!(
        metric(&relay, "kefu_storage_errors_total").await? > errors_before,
        "storage errors counted"
    );
    // Reads keep working; the acked message is intact.
    let during = stored_texts(&relay, &conv).await?;
    ensure!(
        during.first().map(|e| e.1.as_str()) == Some("before the fault"),
        "stored data intact: {during:?}"
    );
    ensure!(
        relay.log_text().contains("not durable"),
        "the log names the failure:\n{}",
        relay.log_text()
    );

    // The disk recovers, and the relay the way README says for this fault.
    fiu(&relay, &format!("disable name={point}"))?;
    if recovery == Recovery::ExitAndRestart {
        exits_then_restarts(&mut relay, &mut v, &token).await?;
    }
    let mut acked = Vec::new();
    for (cid, text) in [
        ("d2", "during the fault"),
        ("d3", "during the fault, again"),
        ("d4", "after the fault"),
    ] {
        acked.push(acked_in_place(&mut relay, &mut v, cid, text).await?);
    }

    // Across a crash and a restart without fault injection: exactly what
    // was acked, once each, gap-free.
    relay.kill9().await?;
    relay.wrapper.clear();
    relay.restart().await?;
    let after = stored_texts(&relay, &conv).await?;
    let texts: Vec<&str> = after.iter().map(|e| e.1.as_str()).collect();
    ensure!(
        texts
            == [
                "before the fault",
                "during the fault",
                "during the fault, again",
                "after the fault"
            ],
        "stored after restart: {after:?}"
    );
    let seqs: Vec<u64> = after.iter().map(|e| e.0).collect();
    ensure!(
        seqs == [1, 2, 3, 4] && acked == [2, 3, 4],
        "gap-free seqs {seqs:?}, acked {acked:?}"
    );
    let mut v = Ws::connect(&relay).await?;
    v.hello(visitor_hello("demo", "disk-v", Some(&token)))
        .await?;
    let r = send_and_wait(&mut v, "d5", "after the restart").await?;
    ensure!(r["type"] == "ack" && r["seq"] == 5, "{r}");
    Ok(())
}

#[tokio::test]
async fn failing_fdatasync_refuses_acks_and_recovers_in_place() -> Result<()> {
    disk_fault("posix/io/sync/*", Recovery::InPlace).await
}

#[tokio::test]
async fn failing_writes_refuse_acks_then_the_relay_exits_and_restarts() -> Result<()> {
    disk_fault("posix/io/rw/pwrite", Recovery::ExitAndRestart).await
}
