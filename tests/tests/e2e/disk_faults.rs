//! Disk faults, injected with Debian's libfiu (`fiu-run -x` preloads its
//! POSIX wrappers; `fiu-ctrl` switches failure points on and off in the
//! running relay): while the data file's syncs or writes fail, nothing is
//! acked, the sender gets a `storage` error naming its cid, the log says
//! why, and nothing stored is damaged; when the disk recovers, the same
//! cids are acked once and the relay carries on — also across a restart.

use crate::BIN;
use anyhow::{ensure, Result};
use serde_json::Value;
use std::process::Command;
use std::time::Duration;
use tests::frames::*;
use tests::{Relay, Ws, DEMO_TOKEN};

fn have_fiu() -> bool {
    Command::new("fiu-run").arg("-h").output().is_ok()
}

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
    // fiu-ctrl returns once the command is written; the relay's control
    // thread applies it a moment later.
    std::thread::sleep(Duration::from_millis(300));
    Ok(())
}

async fn metric(relay: &Relay, name: &str) -> Result<u64> {
    let text = reqwest::get(relay.metrics_url()).await?.text().await?;
    Ok(text
        .lines()
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse().ok()))
        .unwrap_or(0))
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

async fn disk_fault(point: &str) -> Result<()> {
    if !have_fiu() {
        // .ci/run installs fiu-utils; a developer machine without it skips.
        eprintln!("disk_faults: fiu-run not installed (apt-get install fiu-utils); skipped");
        return Ok(());
    }
    let mut relay = Relay::start_wrapped(BIN, &["fiu-run", "-x"], &[]).await?;
    let mut v = Ws::connect(&relay).await?;
    let w = v.hello(visitor_hello("demo", "disk-v", None)).await?;
    let token = w["token"].as_str().unwrap_or_default().to_string();
    let a1 = send_and_wait(&mut v, "d1", "before the fault").await?;
    ensure!(a1["type"] == "ack", "healthy disk acks: {a1}");
    let conv = a1["conv"].as_str().unwrap_or_default().to_string();

    // The disk fails.
    fiu(&relay, &format!("enable name={point}"))?;
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

    // The disk recovers. A failed fdatasync leaves sled usable: the same
    // cids are acked in place. A failed write leaves sled failed for good:
    // the relay sees the disk healthy but the database not, and exits for
    // its supervisor to restart it on what is durable — here, the test.
    fiu(&relay, &format!("disable name={point}"))?;
    let mut acked = Vec::new();
    let mut restarted = false;
    for (cid, text) in [
        ("d2", "during the fault"),
        ("d3", "during the fault, again"),
        ("d4", "after the fault"),
    ] {
        let mut tries = 0;
        loop {
            let r = send_and_wait(&mut v, cid, text).await;
            if let Ok(r) = &r {
                if r["type"] == "ack" {
                    acked.push(r["seq"].as_u64().unwrap_or(0));
                    break;
                }
            }
            if let Some(status) = relay.wait_exit(Duration::from_millis(500)).await? {
                ensure!(status.code() == Some(70), "exit status {status:?}");
                ensure!(
                    relay.log_text().contains("database stays failed"),
                    "log:\n{}",
                    relay.log_text()
                );
                relay.wrapper.clear();
                relay.restart().await?;
                restarted = true;
                v = Ws::connect(&relay).await?;
                v.hello(visitor_hello("demo", "disk-v", Some(&token)))
                    .await?;
            }
            tries += 1;
            ensure!(tries < 20, "not acked after the disk recovered: {r:?}");
        }
    }
    eprintln!(
        "disk fault {point}: recovered {}",
        if restarted {
            "by a restart"
        } else {
            "in place"
        }
    );
    ensure!(
        relay.log_text().contains("not durable"),
        "the log names the failure:\n{}",
        relay.log_text()
    );

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
async fn failing_fdatasync_refuses_acks_and_recovers() -> Result<()> {
    disk_fault("posix/io/sync/*").await
}

#[tokio::test]
async fn failing_writes_refuse_acks_and_recover() -> Result<()> {
    disk_fault("posix/io/rw/pwrite").await
}
