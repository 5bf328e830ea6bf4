//! WebSocket transport `/v1/ws`: bytes ⇄ frames, nothing else.
//!
//! warp's own `ws()` gives each connection tungstenite's default 128 KiB read
//! and write buffers (~130 KB RSS per idle connection) with no way to shrink
//! them. Here the upgrade is answered by hand (accept key from tungstenite),
//! hyper's upgraded IO is wrapped with a small [`WebSocketConfig`], and each
//! connection costs a few KiB while idle. Same port, same warp router.
//!
//! hyper stops tracking a connection once upgraded, so each socket task
//! watches the relay's shutdown token itself and sends a close frame (1012,
//! "service restart") before going away.

use crate::session::{Peer, Session};
use crate::App;
use bytes::Bytes;
use futures_util::{FutureExt, SinkExt, StreamExt};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use protocol::limits::*;
use protocol::{ErrorCode, ServerFrame};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::{sleep_until, Instant};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;
use warp::http::{header, Response, StatusCode};

/// Largest WebSocket message tungstenite will assemble. Frames between
/// [`MAX_FRAME_BYTES`] and this get a `too_large` error frame and the
/// connection lives on; beyond it the connection is closed with 1009.
pub const WS_MAX_MESSAGE_BYTES: usize = 4 * MAX_FRAME_BYTES;

/// A write that does not complete in this time means the client stopped
/// reading: the connection is closed (the hub has already been dropping its
/// pushes; the client replays by cursor when it returns).
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(15);

fn config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(WS_READ_BUFFER_BYTES)
        // The frames of one batch (see `serve`) leave in one write:
        // `send_all` flushes at the end of each batch.
        .write_buffer_size(WS_WRITE_BATCH_BYTES)
        // Must exceed write_buffer_size (tungstenite asserts it).
        .max_write_buffer_size(WS_MAX_MESSAGE_BYTES * 2)
        .max_message_size(Some(WS_MAX_MESSAGE_BYTES))
        .max_frame_size(Some(WS_MAX_MESSAGE_BYTES))
}

/// Frames gathered before a write goes out mid-batch (a replay can be
/// long); a batch always ends with a flush.
const WS_WRITE_BATCH_BYTES: usize = 8 * 1024;

/// Most wakes (acks, pushes) handled before their frames are written. Under
/// load one commit group readies several acks, events and summaries for a
/// connection at once; one write instead of one per frame (`make bench`'s
/// pipelined burst: ~15% more durable messages/s, ~15% less CPU each).
const WAKES_PER_WRITE: usize = 64;

/// The 400 for anything that is not a proper WebSocket upgrade.
fn refuse(status: StatusCode, code: ErrorCode, message: &str) -> Response<Bytes> {
    let body = serde_json::json!({ "code": code, "message": message }).to_string();
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Bytes::from(body))
        .unwrap_or_default()
}

/// The upgrade request's parts that matter.
pub struct Upgrade {
    pub upgrade: Option<String>,
    pub key: Option<String>,
    pub version: Option<String>,
    pub on_upgrade: Option<OnUpgrade>,
}

/// GET /v1/ws: answers 101 itself and spawns the connection task.
pub fn accept(app: Arc<App>, up: Upgrade, peer: Peer) -> Response<Bytes> {
    let is_ws = up
        .upgrade
        .as_deref()
        .is_some_and(|u| u.eq_ignore_ascii_case("websocket"));
    let (Some(key), Some(on_upgrade), true) = (up.key, up.on_upgrade, is_ws) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadRequest,
            "expected an HTTP/1.1 WebSocket upgrade",
        );
    };
    if up.version.as_deref() != Some("13") {
        return refuse(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadRequest,
            "Sec-WebSocket-Version must be 13",
        );
    }
    if app.shutdown.is_cancelled() {
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::ShuttingDown,
            "shutting down",
        );
    }
    let Ok(permit) = app.connections.clone().try_acquire_owned() else {
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Overloaded,
            "too many connections",
        );
    };
    let accept_key = derive_accept_key(key.as_bytes());
    let fut = async move {
        let _permit = permit;
        match on_upgrade.await {
            Ok(upgraded) => {
                let ws = WebSocketStream::from_raw_socket(
                    TokioIo::new(upgraded),
                    Role::Server,
                    Some(config()),
                )
                .await;
                app.metrics.ws_connections.fetch_add(1, Ordering::Relaxed);
                serve(app.clone(), ws, peer).await;
                app.metrics.ws_connections.fetch_sub(1, Ordering::Relaxed);
            }
            Err(e) => tracing::debug!(error = %e, "websocket upgrade failed"),
        }
    };
    tokio::spawn(fut);
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, "upgrade")
        .header(header::UPGRADE, "websocket")
        .header(header::SEC_WEBSOCKET_ACCEPT, accept_key)
        .body(Bytes::new())
        .unwrap_or_default()
}

async fn send_all<S>(ws: &mut WebSocketStream<S>, out: &mut Vec<ServerFrame>) -> bool
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    if out.is_empty() {
        return true;
    }
    let write = async {
        for f in out.drain(..) {
            ws.feed(Message::Text(f.to_json().into())).await?;
        }
        ws.flush().await
    };
    matches!(tokio::time::timeout(WRITE_TIMEOUT, write).await, Ok(Ok(())))
}

/// One connection: frames in, frames out, heartbeats, shutdown.
async fn serve<S>(app: Arc<App>, mut ws: WebSocketStream<S>, peer: Peer)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut session = Session::new(app.clone(), peer);
    let mut out: Vec<ServerFrame> = Vec::new();
    let heartbeat = app.config.heartbeat;
    let dead_after = app.config.heartbeat_timeout();
    let mut last_in = Instant::now();
    let mut next_ping = Instant::now() + heartbeat;
    let hello_deadline = Instant::now() + Duration::from_millis(HELLO_TIMEOUT_MS);
    let close = |code: CloseCode, reason: &'static str| {
        Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        }))
    };

    let goodbye = loop {
        let deadline = if session.is_established() {
            next_ping
        } else {
            next_ping.min(hello_deadline)
        };
        let deadline = deadline.min(last_in + dead_after);
        tokio::select! {
            biased;
            _ = app.shutdown.cancelled() => break Some(close(CloseCode::Restart, "relay restarting")),
            msg = ws.next() => {
                last_in = Instant::now();
                match msg {
                    Some(Ok(Message::Text(text))) => {
                        // Boxed: the frame handling future (hello, commit
                        // wait…) is large and only alive while it runs; inline,
                        // it would sit in every idle connection's task.
                        Box::pin(session.handle_text(text.as_str(), &mut out)).await;
                    }
                    Some(Ok(Message::Binary(_))) => {
                        out.push(ServerFrame::error(ErrorCode::BadFrame, "frames are JSON text, not binary"));
                    }
                    // tungstenite answers pings itself; pongs only prove life.
                    Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                    Some(Ok(Message::Close(_))) | None => break None,
                    Some(Err(e)) => {
                        tracing::debug!(error = %e, "websocket read error");
                        let too_big = matches!(e, tokio_tungstenite::tungstenite::Error::Capacity(_));
                        break too_big.then(|| close(CloseCode::Size, "frame too large"));
                    }
                }
            }
            wake = session.next_wake() => {
                session.apply_wake(wake, &mut out);
                // Whatever else is ready goes in the same write.
                for _ in 1..WAKES_PER_WRITE {
                    match session.next_wake().now_or_never() {
                        Some(wake) => session.apply_wake(wake, &mut out),
                        None => break,
                    }
                }
            }
            _ = sleep_until(deadline) => {
                let now = Instant::now();
                if !session.is_established() && now >= hello_deadline {
                    break Some(close(CloseCode::Policy, "hello timeout"));
                }
                if now.duration_since(last_in) >= dead_after {
                    tracing::debug!("heartbeat timeout");
                    break None;
                }
                if now >= next_ping {
                    next_ping = now + heartbeat;
                    out.push(ServerFrame::Ping);
                    session.catch_up_if_lagged(&mut out);
                }
            }
        }
        if !out.is_empty() && !Box::pin(send_all(&mut ws, &mut out)).await {
            break None;
        }
    };
    if let Some(msg) = goodbye {
        let _ = tokio::time::timeout(Duration::from_secs(1), ws.send(msg)).await;
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(None)).await;
}
