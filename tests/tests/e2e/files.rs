//! Attachments over real HTTP against a real relay: upload, download, and
//! every refusal; access checked per download; a reset mid-upload.

use crate::BIN;
use anyhow::{Context, Result};
use serde_json::{json, Value};
use std::path::Path;
use tests::frames::*;
use tests::{Relay, Ws, DEMO_TOKEN};
use tokio::io::AsyncWriteExt;

/// A visitor connected to `site` and its token.
async fn visitor(relay: &Relay, site: &str, id: &str) -> Result<(Ws, String)> {
    let mut ws = Ws::connect(relay).await?;
    let welcome = ws.hello(visitor_hello(site, id, None)).await?;
    let token = welcome["token"]
        .as_str()
        .context("welcome has a token")?
        .to_string();
    Ok((ws, token))
}

fn creds(site: &str, visitor: &str, token: &str) -> String {
    format!("site={site}&visitor={visitor}&token={token}")
}

/// `POST /v1/files?{query}` with `body`; (status, JSON body).
async fn upload(
    relay: &Relay,
    query: &str,
    bearer: Option<&str>,
    body: Vec<u8>,
) -> Result<(u16, Value)> {
    let mut req = reqwest::Client::new()
        .post(relay.http(&format!("/v1/files?{query}")))
        // What a client claims is ignored: the relay sniffs.
        .header("content-type", "image/png")
        .body(body);
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    let r = req.send().await?;
    let status = r.status().as_u16();
    let text = r.text().await?;
    Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

struct Got {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

impl Got {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
    fn code(&self) -> String {
        serde_json::from_slice::<Value>(&self.body)
            .map(|v| v["code"].as_str().unwrap_or("").to_string())
            .unwrap_or_default()
    }
}

async fn download(relay: &Relay, path: &str, bearer: Option<&str>) -> Result<Got> {
    let mut req = reqwest::Client::new().get(relay.http(path));
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    let r = req.send().await?;
    Ok(Got {
        status: r.status().as_u16(),
        headers: r.headers().clone(),
        body: r.bytes().await?.to_vec(),
    })
}

fn png(w: u32, h: u32) -> Result<Vec<u8>> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)?;
    Ok(out.into_inner())
}

fn pdf(filler: usize) -> Vec<u8> {
    let mut b = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n".to_vec();
    b.extend(std::iter::repeat_n(b'%', filler));
    b.extend_from_slice(b"\n%%EOF\n");
    b
}

/// A PNG whose header declares `w × h` pixels, followed by a tiny (valid
/// zlib) data chunk: the shape of a decompression bomb, whose few bytes
/// would inflate to gigabytes.
fn bomb(w: u32, h: u32) -> Result<Vec<u8>> {
    let mut png = Vec::new();
    let mut enc = png::Encoder::new(&mut png, w, h);
    enc.set_color(png::ColorType::Grayscale);
    let mut writer = enc.write_header()?;
    writer.write_chunk(png::chunk::IDAT, b"\x78\x9c\x03\x00\x00\x00\x00\x01")?;
    writer.finish()?;
    Ok(png)
}

/// Blobs stored under the data dir (thumbnails not counted).
fn blobs(dir: &Path) -> usize {
    let Ok(shards) = std::fs::read_dir(dir.join("files")) else {
        return 0;
    };
    shards
        .flatten()
        .filter(|s| s.file_name() != "tmp")
        .flat_map(|s| std::fs::read_dir(s.path()).into_iter().flatten().flatten())
        .filter(|f| !f.file_name().to_string_lossy().ends_with(".thumb"))
        .count()
}

/// A relay with a second site `other` and its agent's token.
async fn relay_with_other_site(extra: &[&str]) -> Result<(Relay, String)> {
    let mut relay = Relay::start(BIN, extra).await?;
    relay
        .add_site_with_agent(
            "other",
            "Olga",
            "olga@other.example",
            "olga-password",
            false,
        )
        .await?;
    let olga = relay.login("olga@other.example", "olga-password").await?;
    Ok((relay, olga))
}

#[tokio::test]
async fn upload_download_and_every_refusal() -> Result<()> {
    let (relay, olga) = relay_with_other_site(&["--uploads-per-visitor", "100"]).await?;
    let (mut va, ta) = visitor(&relay, "demo", "file-va").await?;
    let (mut vb, tb) = visitor(&relay, "demo", "file-vb").await?;
    let a = creds("demo", "file-va", &ta);
    let b = creds("demo", "file-vb", &tb);

    // An image: stored, sniffed, with a thumbnail; a retry is the same file.
    let shot = png(640, 480)?;
    let (s, att) = upload(
        &relay,
        &format!("{a}&name=../../shot%0A.png"),
        None,
        shot.clone(),
    )
    .await?;
    assert_eq!(s, 201, "{att}");
    assert_eq!(
        (
            &att["mime"],
            &att["class"],
            &att["thumb"],
            &att["width"],
            &att["name"]
        ),
        (
            &json!("image/png"),
            &json!("image"),
            &json!(true),
            &json!(640),
            &json!("shot.png")
        )
    );
    let id = att["id"].as_str().context("id")?.to_string();
    let (s, again) = upload(&relay, &format!("{a}&name=shot.png"), None, shot.clone()).await?;
    assert_eq!(
        (s, &again["id"]),
        (200, &att["id"]),
        "a retry is the same file"
    );
    assert_eq!(blobs(relay.data_dir()), 1);

    // The uploader reads it: inline, inert, unchanged bytes.
    let got = download(&relay, &format!("/v1/files/{id}?{a}"), None).await?;
    assert_eq!(got.status, 200);
    assert_eq!(got.body, shot);
    assert_eq!(got.header("content-type"), "image/png");
    assert!(got.header("content-disposition").starts_with("inline"));
    assert_eq!(got.header("x-content-type-options"), "nosniff");
    assert!(got.header("content-security-policy").contains("sandbox"));
    let thumb = download(&relay, &format!("/v1/files/{id}/thumb?{a}"), None).await?;
    assert_eq!(
        (thumb.status, thumb.header("content-type")),
        (200, "image/jpeg")
    );
    let t = image::load_from_memory(&thumb.body)?;
    assert_eq!((t.width(), t.height()), (320, 240));

    // Another visitor of the same site, a wrong token, no credentials.
    let got = download(&relay, &format!("/v1/files/{id}?{b}"), None).await?;
    assert_eq!((got.status, got.code().as_str()), (403, "forbidden"));
    let got = download(&relay, &format!("/v1/files/{id}/thumb?{b}"), None).await?;
    assert_eq!(got.status, 403);
    let got = download(
        &relay,
        &format!("/v1/files/{id}?site=demo&visitor=file-va&token={tb}"),
        None,
    )
    .await?;
    assert_eq!((got.status, got.code().as_str()), (401, "bad_token"));
    assert_eq!(
        download(&relay, &format!("/v1/files/{id}"), None)
            .await?
            .status,
        401
    );
    // Agents: of this site yes (header or query token), of another site no.
    assert_eq!(
        download(&relay, &format!("/v1/files/{id}"), Some(DEMO_TOKEN))
            .await?
            .status,
        200
    );
    assert_eq!(
        download(
            &relay,
            &format!("/v1/files/{id}/thumb?token={DEMO_TOKEN}"),
            None
        )
        .await?
        .status,
        200
    );
    let got = download(&relay, &format!("/v1/files/{id}"), Some(&olga)).await?;
    assert_eq!((got.status, got.code().as_str()), (403, "forbidden"));
    // Unknown and malformed ids.
    assert_eq!(
        download(&relay, &format!("/v1/files/{}?{a}", "0".repeat(32)), None)
            .await?
            .status,
        404
    );
    assert_eq!(
        download(&relay, &format!("/v1/files/..%2Fsled?{a}"), None)
            .await?
            .status,
        404
    );

    // Refusals, each leaving nothing stored.
    let too_big = vec![b'a'; 10 * 1024 * 1024 + 1];
    let (s, e) = upload(&relay, &a, None, too_big).await?;
    assert_eq!((s, &e["code"]), (413, &json!("too_large")), "{e}");
    let elf = [b"\x7fELF\x02\x01\x01\0".as_slice(), &[0u8; 64]].concat();
    let (s, e) = upload(&relay, &a, None, elf).await?;
    assert_eq!((s, &e["code"]), (415, &json!("unsupported_type")), "{e}");
    // A widget on another origin can read the refusal (CORS on errors too).
    let r = reqwest::Client::new()
        .post(relay.http(&format!("/v1/files?{a}")))
        .header("origin", "https://shop.example")
        .body(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0".to_vec())
        .send()
        .await?;
    assert_eq!(r.status(), 415);
    assert!(
        r.headers().contains_key("access-control-allow-origin"),
        "{:?}",
        r.headers()
    );
    let zip = [b"PK\x03\x04".as_slice(), &[0u8; 64]].concat();
    assert_eq!(upload(&relay, &a, None, zip).await?.0, 415);
    let (s, e) = upload(&relay, &a, None, bomb(100_000, 100_000)?).await?;
    assert_eq!((s, &e["code"]), (413, &json!("too_large")), "{e}");
    assert!(
        e["message"].as_str().unwrap_or("").contains("pixels"),
        "{e}"
    );
    let (s, e) = upload(&relay, &a, None, Vec::new()).await?;
    assert_eq!((s, &e["code"]), (400, &json!("bad_request")));
    // A wrong token is refused; with a big body too, because a refusal
    // before the body is read still waits for it, so a client mid-way
    // through a big upload reads the answer (no reset).
    let wrong_token = format!("site=demo&visitor=file-va&token={tb}");
    for body in [pdf(10), pdf(5_000_000)] {
        let (s, e) = upload(&relay, &wrong_token, None, body).await?;
        assert_eq!((s, &e["code"]), (401, &json!("bad_token")));
    }
    let (s, _) = upload(&relay, "site=demo", Some(&olga), pdf(10)).await?;
    assert_eq!(s, 403, "an agent uploads only for its own sites");
    assert_eq!(blobs(relay.data_dir()), 1, "refused uploads store nothing");

    // SVG with script: accepted as an image, but only ever a download.
    let svg = br#"<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(document.domain)</script></svg>"#;
    let (s, att) = upload(&relay, &format!("{a}&name=logo.svg"), None, svg.to_vec()).await?;
    assert_eq!(
        (s, &att["mime"], &att["thumb"]),
        (201, &json!("image/svg+xml"), &json!(false)),
        "{att}"
    );
    let sid = att["id"].as_str().context("id")?;
    let got = download(&relay, &format!("/v1/files/{sid}?{a}"), None).await?;
    assert_eq!(got.status, 200);
    assert!(
        got.header("content-disposition").starts_with("attachment;"),
        "{:?}",
        got.headers
    );
    assert_eq!(got.header("x-content-type-options"), "nosniff");
    let csp = got.header("content-security-policy");
    assert!(
        csp.contains("default-src 'none'") && csp.contains("sandbox"),
        "{csp}"
    );
    assert_eq!(
        download(&relay, &format!("/v1/files/{sid}/thumb?{a}"), None)
            .await?
            .status,
        404
    );

    // The per-site setting: an owner allows PDFs only; images are refused.
    let r = reqwest::Client::new()
        .patch(relay.http("/v1/api/sites/demo"))
        .bearer_auth(DEMO_TOKEN)
        .json(&json!({"widget": {"color": "#0b6e4f", "position": "right", "file_types": ["pdf"]}}))
        .send()
        .await?;
    assert_eq!(r.status(), 200);
    let (s, e) = upload(&relay, &a, None, png(10, 10)?).await?;
    assert_eq!((s, &e["code"]), (415, &json!("unsupported_type")), "{e}");
    assert_eq!(
        upload(&relay, &format!("{a}&name=a.pdf"), None, pdf(100))
            .await?
            .0,
        201
    );
    // The widget learns what it may offer.
    let mut vc = Ws::connect(&relay).await?;
    let welcome = vc.hello(visitor_hello("demo", "file-vc", None)).await?;
    assert_eq!(welcome["settings"]["file_types"], json!(["pdf"]));

    // Messages: the file travels with the same send → ack as text.
    let mut agent = Ws::connect(&relay).await?;
    agent.hello(agent_hello(DEMO_TOKEN)).await?;
    agent.send(subscribe("demo")).await?;
    agent.until_type("snapshot").await?;
    va.send(json!({"type": "send", "cid": "f1", "file": id}))
        .await?;
    let ack = va.until_type("ack").await?;
    let conv = ack["conv"].as_str().context("conv")?.to_string();
    let ev = agent
        .until(|v| v["type"] == "event" && v["cid"] == "f1")
        .await?;
    assert_eq!(
        (&ev["file"]["id"], &ev["file"]["thumb"], &ev["text"]),
        (&json!(id), &json!(true), &json!(""))
    );
    // Another visitor cannot send A's file.
    vb.send(json!({"type": "send", "cid": "f2", "file": id}))
        .await?;
    let e = vb.until_type("error").await?;
    assert_eq!((&e["code"], &e["cid"]), (&json!("not_found"), &json!("f2")));

    // An agent sends a PDF into A's conversation: A reads it, B does not.
    let doc = pdf(2000);
    let (s, att) = upload(
        &relay,
        "site=demo&name=invoice.pdf",
        Some(DEMO_TOKEN),
        doc.clone(),
    )
    .await?;
    assert_eq!((s, &att["class"]), (201, &json!("pdf")));
    let pid = att["id"].as_str().context("id")?.to_string();
    assert_eq!(
        download(&relay, &format!("/v1/files/{pid}?{a}"), None)
            .await?
            .status,
        403,
        "not sent yet"
    );
    agent
        .send(json!({"type": "send", "cid": "ap1", "conv": conv, "text": "your invoice", "file": pid}))
        .await?;
    agent
        .until(|v| v["type"] == "ack" && v["cid"] == "ap1")
        .await?;
    let ev = va
        .until(|v| v["type"] == "event" && v["cid"] == "ap1")
        .await?;
    assert_eq!(ev["file"]["name"], "invoice.pdf");
    let got = download(&relay, &format!("/v1/files/{pid}?{a}"), None).await?;
    assert_eq!(
        (got.status, got.header("content-type")),
        (200, "application/pdf")
    );
    assert!(got
        .header("content-disposition")
        .starts_with("attachment; filename=\"invoice.pdf\""));
    assert_eq!(got.body, doc);
    assert_eq!(
        download(&relay, &format!("/v1/files/{pid}?{b}"), None)
            .await?
            .status,
        403
    );
    // Every 200 is re-checked: a cached copy revalidates (304), still gated.
    let etag = got.header("etag").to_string();
    let revalidate = |who: &str| {
        reqwest::Client::new()
            .get(relay.http(&format!("/v1/files/{pid}?{who}")))
            .header("if-none-match", &etag)
            .send()
    };
    assert_eq!(revalidate(&a).await?.status(), 304);
    assert_eq!(revalidate(&b).await?.status(), 403);

    let metrics = reqwest::get(relay.metrics_url()).await?.text().await?;
    let value = |name: &str| -> u64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    // Stored: the PNG, the SVG, two PDFs (retries not counted).
    assert_eq!(value("kefu_uploads_total"), 4, "{metrics}");
    assert!(value("kefu_uploads_refused_total") >= 9, "{metrics}");
    Ok(())
}

#[tokio::test]
async fn quota_and_rate_limits_per_visitor() -> Result<()> {
    let relay = Relay::start(
        BIN,
        &[
            "--visitor-upload-quota",
            "5000",
            "--uploads-per-visitor",
            "3",
        ],
    )
    .await?;
    let (_v, t) = visitor(&relay, "demo", "quota-v").await?;
    let a = creds("demo", "quota-v", &t);
    let text = |n: usize, c: u8| vec![c; n];
    assert_eq!(upload(&relay, &a, None, text(4000, b'a')).await?.0, 201);
    let (s, e) = upload(&relay, &a, None, text(2000, b'b')).await?;
    assert_eq!((s, &e["code"]), (413, &json!("quota_exceeded")), "{e}");
    assert_eq!(
        upload(&relay, &a, None, text(4000, b'a')).await?.0,
        200,
        "a retry costs no quota"
    );
    let (s, e) = upload(&relay, &a, None, text(10, b'c')).await?;
    assert_eq!((s, &e["code"]), (429, &json!("rate_limited")), "{e}");
    assert_eq!(blobs(relay.data_dir()), 1);
    Ok(())
}

/// The connection drops (RST) halfway through the body; the client
/// retries, and retries again as if the answer were lost; then it sends
/// the message twice (the ack lost too). One file, one message.
#[tokio::test]
async fn reset_mid_upload_then_retry_stores_one_file_and_one_message() -> Result<()> {
    let relay = Relay::start(BIN, &[]).await?;
    let (mut v, t) = visitor(&relay, "demo", "reset-v").await?;
    let a = creds("demo", "reset-v", &t);
    let doc = pdf(1_000_000);

    let addr = relay
        .http("")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let mut s = tokio::net::TcpStream::connect(&addr).await?;
    let head = format!(
        "POST /v1/files?{a}&name=big.pdf HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\n\r\n",
        doc.len()
    );
    s.write_all(head.as_bytes()).await?;
    s.write_all(&doc[..doc.len() / 2]).await?;
    s.flush().await?;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    tests::proxy::rst(&s);
    drop(s);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(blobs(relay.data_dir()), 0, "half a body stores nothing");

    let (s1, first) = upload(&relay, &format!("{a}&name=big.pdf"), None, doc.clone()).await?;
    let (s2, second) = upload(&relay, &format!("{a}&name=big.pdf"), None, doc.clone()).await?;
    assert_eq!((s1, s2), (201, 200));
    assert_eq!(first["id"], second["id"]);
    assert_eq!(blobs(relay.data_dir()), 1);
    let tmp = std::fs::read_dir(relay.data_dir().join("files/tmp"))?.count();
    assert_eq!(tmp, 0, "no partial files left behind");

    let id = first["id"].clone();
    v.send(json!({"type": "send", "cid": "up1", "file": id}))
        .await?;
    let ack1 = v.until_type("ack").await?;
    drop(v);
    let mut v = Ws::connect(&relay).await?;
    v.hello(visitor_hello("demo", "reset-v", Some(&t))).await?;
    v.send(json!({"type": "send", "cid": "up1", "file": id}))
        .await?;
    let ack2 = v.until_type("ack").await?;
    assert_eq!((&ack1["seq"], &ack1["conv"]), (&ack2["seq"], &ack2["conv"]));

    let r: Value = reqwest::Client::new()
        .get(relay.http(&format!(
            "/v1/api/conversations/{}/events",
            ack1["conv"].as_str().unwrap_or("")
        )))
        .bearer_auth(DEMO_TOKEN)
        .send()
        .await?
        .json()
        .await?;
    let events = r["events"].as_array().cloned().unwrap_or_default();
    let files: Vec<_> = events.iter().filter(|e| e["file"]["id"] == id).collect();
    assert_eq!(files.len(), 1, "{r}");
    let got = download(
        &relay,
        &format!("/v1/files/{}?{a}", id.as_str().unwrap_or("")),
        None,
    )
    .await?;
    assert_eq!(got.body, doc);
    Ok(())
}

/// Every kind of writer at once — group commits of chat messages, API
/// handlers that flush the store, uploads that run a store transaction —
/// and none of them stalls another. The commit thread writes sled's log
/// itself (docs/sled-patch.md says why that cannot deadlock with the other
/// writers); this is a liveness check under exactly that mix.
#[tokio::test]
async fn chat_api_writes_and_uploads_at_once_never_stall() -> Result<()> {
    const VISITORS: usize = 6;
    const MESSAGES: usize = 40;
    const CANNED: usize = 40;
    const UPLOADS: usize = 12;
    let relay = Relay::start(
        BIN,
        &["--uploads-per-ip", "100000", "--sends-per-ip", "100000"],
    )
    .await?;
    let work = async {
        let mut chat = Vec::new();
        for v in 0..VISITORS {
            let mut ws = Ws::connect(&relay).await?;
            ws.hello(visitor_hello("demo", &format!("stall-v{v}"), None))
                .await?;
            chat.push(tokio::spawn(async move {
                for i in 0..MESSAGES {
                    ws.send(send(&format!("s{v}-{i}"), "hello")).await?;
                }
                let mut acked = 0;
                while acked < MESSAGES {
                    if ws.until_type("ack").await?["seq"].is_u64() {
                        acked += 1;
                    }
                }
                anyhow::Ok(acked)
            }));
        }
        let canned = {
            let url = relay.http("/v1/api/sites/demo/canned");
            tokio::spawn(async move {
                let http = reqwest::Client::new();
                for i in 0..CANNED {
                    let r = http
                        .post(&url)
                        .bearer_auth(DEMO_TOKEN)
                        .json(&json!({"shortcut": format!("stall{i}"), "text": "Thanks!"}))
                        .send()
                        .await?;
                    anyhow::ensure!(r.status() == 201, "canned reply {i}: {}", r.status());
                }
                anyhow::Ok(())
            })
        };
        for u in 0..UPLOADS {
            let (status, body) =
                upload(&relay, "site=demo", Some(DEMO_TOKEN), png(8 + u as u32, 8)?).await?;
            anyhow::ensure!(status == 201, "upload {u}: {status} {body}");
        }
        canned.await??;
        for c in chat {
            assert_eq!(c.await??, MESSAGES);
        }
        anyhow::Ok(())
    };
    tokio::time::timeout(std::time::Duration::from_secs(60), work)
        .await
        .context("writers stalled: chat, API flushes and uploads did not all finish in 60 s")??;
    Ok(())
}
