//! Heartbeats, dead-connection detection, and visitor presence going
//! offline after the grace period.

use crate::BIN;
use anyhow::Result;
use futures_util::{SinkExt, StreamExt};
use std::time::{Duration, Instant};
use tests::frames::*;
use tests::{Relay, Ws, DEMO_TOKEN};
use tokio_tungstenite::tungstenite::Message;

/// The relay pings an idle connection, and closes one that stays silent.
#[tokio::test]
async fn silent_connections_are_pinged_then_closed() -> Result<()> {
    let relay = Relay::start(BIN, &["--heartbeat-ms", "300"]).await?;
    let (mut ws, _) = tokio_tungstenite::connect_async(relay.ws_url()).await?;
    ws.send(Message::Text(
        visitor_hello("demo", "hb-1", None).to_string().into(),
    ))
    .await?;
    let start = Instant::now();
    let mut pings = 0;
    let closed_after = loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => {
                if t.as_str().contains(r#""type":"ping""#) {
                    pings += 1;
                }
            }
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(_)) | None) => break start.elapsed(),
            Err(_) => anyhow::bail!("a silent connection was not closed"),
        }
    };
    assert!(pings >= 1, "no heartbeat ping");
    // Dead after 2.4 × 300 ms of silence, not before.
    assert!(
        closed_after >= Duration::from_millis(600),
        "closed too early: {closed_after:?}"
    );
    Ok(())
}

/// A client that answers pings stays connected past the timeout: it
/// answers three heartbeats (6 s, past the 4.8 s a silent one is given)
/// and is still served. The heartbeat is long enough that a loaded machine
/// answering late (up to 2.8 s after a ping) does not fail the test.
#[tokio::test]
async fn answering_clients_stay_connected() -> Result<()> {
    let relay = Relay::start(BIN, &["--heartbeat-ms", "2000"]).await?;
    let mut v = Ws::connect(&relay).await?;
    v.hello(visitor_hello("demo", "hb-2", None)).await?;
    // recv answers pings; nothing else arrives meanwhile.
    let deadline = Instant::now() + Duration::from_secs(30);
    while v.pings < 3 {
        match v.recv_within(Duration::from_millis(500)).await {
            Err(e) if e.to_string().contains("no frame") => {}
            other => anyhow::bail!("after {} pings: {other:?}", v.pings),
        }
        anyhow::ensure!(Instant::now() < deadline, "only {} pings in 30 s", v.pings);
    }
    v.send(serde_json::json!({"type": "ping"})).await?;
    let f = v.recv().await?;
    assert_eq!(f["type"], "pong", "{f}");
    Ok(())
}

/// A visitor whose connection drops goes offline for agents after the
/// grace period.
#[tokio::test]
async fn visitor_goes_offline_after_grace() -> Result<()> {
    let relay = Relay::start(BIN, &["--offline-grace-ms", "500"]).await?;
    let mut a = Ws::connect(&relay).await?;
    a.hello(agent_hello(DEMO_TOKEN)).await?;
    a.send(subscribe("demo")).await?;
    a.until_type("snapshot").await?;
    let mut v = Ws::connect(&relay).await?;
    v.hello(visitor_hello("demo", "gone-1", None)).await?;
    a.until_type("presence").await?;
    let t = Instant::now();
    v.close().await?;
    let off = a.until_type("offline").await?;
    assert_eq!(off["visitor"], "gone-1");
    assert!(
        t.elapsed() >= Duration::from_millis(450),
        "offline before the grace period"
    );
    Ok(())
}
