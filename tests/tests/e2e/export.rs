//! Site export and import, backup and restore, and the route answer,
//! against real relays on real data dirs: a rich site seeded through real
//! clients comes back from its stream answering the API byte for byte as
//! before, every key of the site is carried, bad streams change nothing,
//! and a backup taken while visitors keep sending holds every message
//! acked before it.

use crate::BIN;
use anyhow::{bail, ensure, Context, Result};
use relay::store::{RawEntry, Store};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tests::frames::*;
use tests::{api, cli, Relay, Ws, DEMO_TOKEN};

const OWNER_EMAIL: &str = "owner@example.com";
const OWNER_PASSWORD: &str = "export-test-password";
/// The second site: its id marks every key and value of its own.
const OTHER: &str = "zz-other-site";

fn flags() -> Vec<&'static str> {
    vec![
        "--demo-password",
        OWNER_PASSWORD,
        "--offline-grace-ms",
        "100",
        "--webhooks-allow-private",
        // One failed attempt, then the retry waits an hour: the queued job
        // stays as it is while the test compares.
        "--webhook-retry-ms",
        "3600000",
        // The backup test sends as fast as acks come.
        "--sends-per-visitor",
        "100000",
        "--sends-per-ip",
        "100000",
    ]
}

async fn upload_png(relay: &Relay, visitor: &str, token: &str) -> Result<String> {
    let img = image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([x as u8, y as u8, 7]));
    let mut png = std::io::Cursor::new(Vec::new());
    img.write_to(&mut png, image::ImageFormat::Png)?;
    let r = reqwest::Client::new()
        .post(relay.http(&format!(
            "/v1/files?site=demo&visitor={visitor}&token={token}&name=shot.png"
        )))
        .body(png.into_inner())
        .send()
        .await?;
    ensure!(r.status() == 201, "upload: {}", r.status());
    let v: Value = r.json().await?;
    Ok(v["id"].as_str().context("file id")?.to_string())
}

/// What the seeding made: conversations, visitors, files.
struct Seeded {
    visitors: Vec<String>,
    files: Vec<String>,
}

/// Seeds the demo site through real clients: three visitors with pages
/// and messages (one with a picture), agent replies, a note, labels, an
/// assignment, a closed conversation, a visitor profile, settings, a
/// canned reply, an API key and a webhook with a delivery queued.
async fn seed(relay: &Relay) -> Result<Seeded> {
    let routing = json!({"labels": [{"name": "VIP", "color": "#d4a017"}]});
    let (s, v) = api(
        relay,
        DEMO_TOKEN,
        "PATCH",
        "/v1/api/sites/demo",
        Some(json!({"name": "Export shop", "routing": routing})),
    )
    .await?;
    ensure!(s == 200, "settings: {s} {v}");
    let (s, _) = api(
        relay,
        DEMO_TOKEN,
        "POST",
        "/v1/api/sites/demo/canned",
        Some(json!({"shortcut": "hours", "text": "We're open 9–17."})),
    )
    .await?;
    ensure!(s == 201, "canned: {s}");
    let (s, _) = api(
        relay,
        DEMO_TOKEN,
        "POST",
        "/v1/api/sites/demo/keys",
        Some(json!({"name": "Order bot"})),
    )
    .await?;
    ensure!(s == 201, "key: {s}");

    let mut agent = Ws::connect(relay).await?;
    agent.hello(agent_hello(DEMO_TOKEN)).await?;
    agent.send(subscribe("demo")).await?;
    agent.until_type("snapshot").await?;
    let mut convs = Vec::new();
    let mut files = Vec::new();
    let visitors: Vec<String> = (1..=3).map(|i| format!("exp-v{i}")).collect();
    for (i, vid) in visitors.iter().enumerate() {
        let mut v = Ws::connect(relay).await?;
        let welcome = v.hello(visitor_hello("demo", vid, None)).await?;
        let token = welcome["token"].as_str().context("token")?.to_string();
        v.send(page("https://shop.example/", "Home")).await?;
        v.send(page("https://shop.example/cart", "Cart — 购物车"))
            .await?;
        v.send(send(
            &format!("{vid}-m1"),
            &format!("Hello from {vid} 你好"),
        ))
        .await?;
        let conv = v.until_type("ack").await?["conv"]
            .as_str()
            .context("conv")?
            .to_string();
        if i == 0 {
            let id = upload_png(relay, vid, &token).await?;
            v.send(json!({"type": "send", "cid": format!("{vid}-f"), "file": id}))
                .await?;
            v.until(|f| f["type"] == "ack" && f["cid"] == format!("{vid}-f"))
                .await?;
            files.push(id);
        }
        agent
            .send(send_to(&conv, &format!("a-{vid}"), "How can I help?"))
            .await?;
        agent
            .until(|f| f["type"] == "ack" && f["cid"] == format!("a-{vid}"))
            .await?;
        v.send(send(&format!("{vid}-m2"), "Where is my order?"))
            .await?;
        v.until(|f| f["type"] == "ack" && f["cid"] == format!("{vid}-m2"))
            .await?;
        v.close().await?;
        convs.push(conv);
    }
    let (s, _) = api(
        relay,
        DEMO_TOKEN,
        "PATCH",
        &format!("/v1/api/sites/demo/visitors/{}", visitors[1]),
        Some(json!({"name": "Li Lei", "email": "li@example.com"})),
    )
    .await?;
    ensure!(s == 200, "profile: {s}");
    let (s, _) = api(
        relay,
        DEMO_TOKEN,
        "POST",
        &format!("/v1/api/conversations/{}/notes", convs[1]),
        Some(json!({"text": "private: check the refund"})),
    )
    .await?;
    ensure!(s == 201, "note: {s}");
    let (s, _) = api(
        relay,
        DEMO_TOKEN,
        "PUT",
        &format!("/v1/api/conversations/{}/labels/VIP", convs[1]),
        None,
    )
    .await?;
    ensure!(s == 200, "label: {s}");
    // A webhook to a closed port: its delivery fails once and waits.
    let (s, v) = api(
        relay,
        DEMO_TOKEN,
        "POST",
        "/v1/api/sites/demo/webhooks",
        Some(json!({"url": "http://127.0.0.1:9/hook", "events": ["conversation.closed"]})),
    )
    .await?;
    ensure!(s == 201, "webhook: {s} {v}");
    let (s, _) = api(
        relay,
        DEMO_TOKEN,
        "POST",
        &format!("/v1/api/conversations/{}/close", convs[2]),
        None,
    )
    .await?;
    ensure!(s == 200, "close: {s}");
    agent.close().await?;
    Ok(Seeded { visitors, files })
}

/// Raw bytes of one GET with a bearer token.
async fn raw(relay: &Relay, token: &str, path: &str) -> Result<(u16, Vec<u8>)> {
    let r = reqwest::Client::new()
        .get(relay.http(path))
        .bearer_auth(token)
        .send()
        .await?;
    Ok((r.status().as_u16(), r.bytes().await?.to_vec()))
}

/// Every answer the comparison covers, as (path, status, bytes): the
/// site's settings, its conversations and every conversation's events,
/// the visitors' profiles, canned replies, webhooks, API keys, and the
/// files' bytes and thumbnails.
async fn answers(relay: &Relay, token: &str, s: &Seeded) -> Result<Vec<(String, u16, Vec<u8>)>> {
    let mut paths = vec![
        "/v1/api/sites/demo".to_string(),
        "/v1/api/sites/demo/conversations?status=all&limit=100".to_string(),
        "/v1/api/sites/demo/canned".to_string(),
        "/v1/api/sites/demo/webhooks".to_string(),
        "/v1/api/sites/demo/keys".to_string(),
    ];
    let (_, list) = raw(relay, token, &paths[1]).await?;
    let list: Value = serde_json::from_slice(&list)?;
    let convs = list["convs"].as_array().context("convs")?;
    ensure!(convs.len() == 3, "three conversations: {list}");
    for c in convs {
        let id = c["id"].as_str().context("id")?;
        paths.push(format!(
            "/v1/api/conversations/{id}/events?after=0&limit=500"
        ));
    }
    for v in &s.visitors {
        paths.push(format!("/v1/api/sites/demo/visitors/{v}"));
    }
    for f in &s.files {
        paths.push(format!("/v1/files/{f}"));
        paths.push(format!("/v1/files/{f}/thumb"));
    }
    let mut out = Vec::new();
    for p in paths {
        let (st, body) = raw(relay, token, &p).await?;
        ensure!(st == 200, "{p}: {st} {}", String::from_utf8_lossy(&body));
        out.push((p, st, body));
    }
    Ok(out)
}

fn compare(a: &[(String, u16, Vec<u8>)], b: &[(String, u16, Vec<u8>)]) -> Result<()> {
    ensure!(a.len() == b.len(), "{} answers vs {}", a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        ensure!(
            x == y,
            "{} differs:\n  before: {}\n  after:  {}",
            x.0,
            String::from_utf8_lossy(&x.2),
            String::from_utf8_lossy(&y.2)
        );
    }
    Ok(())
}

/// The keys that are a relay's own, not a site's: its signing keys and
/// one-time markers in `meta`, people's session tokens (by agent).
fn relay_wide(tree: &str, k: &[u8], v: &[u8]) -> bool {
    match tree {
        "meta" => [
            &b"server_key"[..],
            b"mail_key",
            b"vapid_key",
            b"routing_index_v1",
        ]
        .contains(&k),
        "tokens" => !String::from_utf8_lossy(v).contains("\"agent\":\"bot-"),
        _ => false,
    }
}

/// Every entry of the store at `dir` (relay stopped), minus relay-wide
/// keys and anything of the other site (its id, or one of its
/// conversations, in the key or the value).
fn site_dump(dir: &Path, other_convs: &[String]) -> Result<Vec<RawEntry>> {
    let store = Store::open(&dir.join("sled"))?;
    let marks: Vec<&[u8]> = std::iter::once(OTHER.as_bytes())
        .chain(other_convs.iter().map(|c| c.as_bytes()))
        .collect();
    let has = |b: &[u8], m: &[u8]| b.windows(m.len()).any(|w| w == m);
    Ok(store
        .dump_all()?
        .into_iter()
        .filter(|(t, k, v)| !relay_wide(t, k, v))
        .filter(|(_, k, v)| !marks.iter().any(|m| has(k, m) || has(v, m)))
        .collect())
}

fn path_str(p: &Path) -> Result<&str> {
    p.to_str().context("utf-8 path")
}

fn run(dir: &Path, args: &[&str]) -> Result<String> {
    let (ok, out, err) = cli(Path::new(BIN), dir, args)?;
    if !ok {
        bail!("{args:?} failed: {err}");
    }
    Ok(out + &err)
}

/// Export → import on an empty relay gives the same site: every key-value
/// of the site equal in the two stores (so a key kind the export does not
/// carry fails here), and every API answer (settings, conversations and
/// their events, visitor profiles, canned replies, webhooks, keys, files'
/// bytes) byte for byte the same; the online export (a running relay) too.
/// The other site on the source relay is in neither stream; routes answer.
#[tokio::test]
async fn export_import_gives_the_same_site_byte_for_byte() -> Result<()> {
    let mut src = Relay::start(BIN, &flags()).await?;
    let seeded = seed(&src).await?;
    src.add_site_with_agent(
        OTHER,
        "Zed",
        &format!("{OTHER}@example.com"),
        "zed-password-1",
        false,
    )
    .await?;
    let zed = src
        .login(&format!("{OTHER}@example.com"), "zed-password-1")
        .await?;
    let mut zv = Ws::connect(&src).await?;
    zv.hello(visitor_hello(OTHER, "zz-visitor", None)).await?;
    zv.send(send("zz-m1", "other site's secret")).await?;
    let other_conv = zv.until_type("ack").await?["conv"]
        .as_str()
        .context("conv")?
        .to_string();
    zv.close().await?;
    // Visitors show offline before the answers are taken (grace 100 ms).
    tokio::time::sleep(Duration::from_millis(600)).await;
    let owner = src.login(OWNER_EMAIL, OWNER_PASSWORD).await?;
    let before = answers(&src, &owner, &seeded).await?;

    // Route: the single box answers with itself.
    let r = reqwest::get(src.http("/v1/route?site=demo")).await?;
    ensure!(r.status() == 200, "route: {}", r.status());
    let header = |name: &str| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let cache = header("cache-control");
    ensure!(cache == "max-age=30", "cache-control: {cache}");
    let vary = header("vary").to_ascii_lowercase();
    ensure!(vary.contains("origin"), "vary: {vary}");
    let v: Value = r.json().await?;
    ensure!(
        v == json!({"site": "demo", "url": format!("http://{}", src.addr)}),
        "route: {v}"
    );
    let r = reqwest::get(src.http("/v1/route?site=nope")).await?;
    let status = r.status().as_u16();
    let v: Value = r.json().await?;
    ensure!(status == 404 && v["code"] == "unknown_site", "{status} {v}");

    // Online: the running relay writes the stream on its machine; an
    // agent's token is refused, an owner's accepted.
    let work = tempfile::tempdir()?;
    let online = work.path().join("online.kefu");
    let metrics = format!("http://{}", src.metrics_addr);
    let online_args = |token: &str| -> Vec<String> {
        [
            "export",
            "--site",
            "demo",
            "--out",
            path_str(&online).unwrap_or("-"),
            "--relay",
            &metrics,
        ]
        .iter()
        .map(|s| s.to_string())
        // `=`: a random token may start with `-`.
        .chain(std::iter::once(format!("--token={token}")))
        .collect()
    };
    let a: Vec<String> = online_args(&zed);
    let (ok, _, err) = cli(
        Path::new(BIN),
        src.data_dir(),
        &a.iter().map(String::as_str).collect::<Vec<_>>(),
    )?;
    ensure!(!ok && err.contains("owners only"), "agent's export: {err}");
    ensure!(!online.exists(), "nothing written for a refused export");
    let a = online_args(DEMO_TOKEN);
    run(
        src.data_dir(),
        &a.iter().map(String::as_str).collect::<Vec<_>>(),
    )?;
    ensure!(online.exists(), "online stream written");

    // Offline: the relay stopped (it holds sled's lock while running).
    let offline = work.path().join("offline.kefu");
    let (ok, _, err) =
        src.admin_status(&["export", "--site", "demo", "--out", path_str(&offline)?])?;
    ensure!(
        !ok && err.contains("stop it"),
        "export beside a running relay: {err}"
    );
    src.terminate().await?;
    run(
        src.data_dir(),
        &["export", "--site", "demo", "--out", path_str(&offline)?],
    )?;
    let stream = std::fs::read(&offline)?;
    ensure!(&stream[..8] == b"KEFUSITE", "magic");
    let has = |b: &[u8], m: &[u8]| b.windows(m.len()).any(|w| w == m);
    ensure!(
        !has(&stream, OTHER.as_bytes()),
        "the other site is not in the stream"
    );
    ensure!(!has(&stream, other_conv.as_bytes()), "nor its conversation");
    ensure!(!has(&stream, b"other site's secret"), "nor its messages");
    ensure!(
        !has(&std::fs::read(&online)?, OTHER.as_bytes()),
        "nor in the online one"
    );

    let other_convs = vec![other_conv.clone()];
    let source_dump = site_dump(src.data_dir(), &other_convs)?;
    let kinds: std::collections::BTreeSet<(String, u8)> = source_dump
        .iter()
        .map(|(t, k, _)| (t.clone(), k.first().copied().unwrap_or(0)))
        .collect();
    // The seeding reached the kinds it means to cover.
    for (t, k) in [
        ("chat", b'c'),
        ("chat", b'e'),
        ("chat", b'k'),
        ("chat", b'o'),
        ("chat", b'f'),
    ] {
        ensure!(
            kinds.contains(&(t.to_string(), k)),
            "seeded store has no {t}/{} keys: {kinds:?}",
            k as char
        );
    }
    for tree in [
        "files", "pages", "visitors", "canned", "webhooks", "hook_log", "api_keys", "quota",
        "agents", "emails",
    ] {
        ensure!(
            source_dump.iter().any(|(t, _, _)| t == tree),
            "seeded store has no {tree} entries"
        );
    }

    for (name, file) in [("offline", &offline), ("online", &online)] {
        let target = tempfile::tempdir()?;
        let out = run(target.path(), &["import", "--in", path_str(file)?])?;
        ensure!(out.contains("imported demo"), "{name}: {out}");
        let dump = site_dump(target.path(), &[])?;
        if name == "offline" {
            let missing: Vec<_> = source_dump
                .iter()
                .filter(|e| !dump.contains(e))
                .map(|(t, k, _)| format!("{t}:{}", String::from_utf8_lossy(k)))
                .collect();
            let extra: Vec<_> = dump
                .iter()
                .filter(|e| !source_dump.contains(e))
                .map(|(t, k, _)| format!("{t}:{}", String::from_utf8_lossy(k)))
                .collect();
            ensure!(
                missing.is_empty() && extra.is_empty(),
                "stores differ: missing after import {missing:?}, extra {extra:?}"
            );
            // Importing it again: refused, unless --replace.
            let (ok, _, err) = cli(
                Path::new(BIN),
                target.path(),
                &["import", "--in", path_str(file)?],
            )?;
            ensure!(!ok && err.contains("--replace"), "second import: {err}");
            run(
                target.path(),
                &["import", "--in", path_str(file)?, "--replace"],
            )?;
            ensure!(
                site_dump(target.path(), &[])? == dump,
                "--replace gives the same store"
            );

            // A truncated stream and a flipped byte: refused, nothing written.
            let cut = work.path().join("cut.kefu");
            std::fs::write(&cut, &stream[..stream.len() * 2 / 3])?;
            let flipped = work.path().join("flipped.kefu");
            let mut f = stream.clone();
            let at = f.len() / 2;
            f[at] ^= 0x01;
            std::fs::write(&flipped, &f)?;
            for (bad, why) in [(&cut, "truncated"), (&flipped, "checksum")] {
                let (ok, _, err) = cli(
                    Path::new(BIN),
                    target.path(),
                    &["import", "--in", path_str(bad)?, "--replace"],
                )?;
                ensure!(
                    !ok && err.contains("not a valid site stream") && err.contains(why),
                    "{why}: {err}"
                );
                ensure!(
                    site_dump(target.path(), &[])? == dump,
                    "{why}: the store is unchanged"
                );
                let empty = tempfile::tempdir()?;
                let (ok, _, _) = cli(
                    Path::new(BIN),
                    empty.path(),
                    &["import", "--in", path_str(bad)?],
                )?;
                ensure!(!ok, "{why}: refused on an empty relay too");
                let s = Store::open(&empty.path().join("sled"))?;
                ensure!(
                    s.dump_all()?.is_empty(),
                    "{why}: nothing written on an empty relay"
                );
            }
        }
        let mut dst = Relay::start_on(BIN, target.path(), &flags()).await?;
        let token = dst.login(OWNER_EMAIL, OWNER_PASSWORD).await?;
        let after = answers(&dst, &token, &seeded).await?;
        compare(&before, &after).with_context(|| format!("{name} stream"))?;
        let (s, _) = api(&dst, &token, "GET", &format!("/v1/api/sites/{OTHER}"), None).await?;
        ensure!(s == 404, "the other site is not imported: {s}");
        let r = reqwest::get(dst.http(&format!("/v1/route?site={OTHER}"))).await?;
        ensure!(
            r.status() == 404,
            "route of a site not here: {}",
            r.status()
        );
        let v: Value = reqwest::get(dst.http("/v1/route?site=demo"))
            .await?
            .json()
            .await?;
        ensure!(v["url"] == format!("http://{}", dst.addr), "route: {v}");
        dst.terminate().await?;
    }

    // A relay whose own first-run owner has the exported owner's e-mail
    // (another agent id): two accounts would claim one login — refused,
    // even with --replace, and its store is unchanged.
    let mut fresh = Relay::start(BIN, &flags()).await?;
    fresh.terminate().await?;
    let before_import = Store::open(&fresh.data_dir().join("sled"))?.dump_all()?;
    let (ok, _, err) = fresh.admin_status(&["import", "--in", path_str(&offline)?, "--replace"])?;
    ensure!(
        !ok && err.contains(OWNER_EMAIL) && err.contains("has on this relay"),
        "{err}"
    );
    ensure!(
        Store::open(&fresh.data_dir().join("sled"))?.dump_all()? == before_import,
        "a refused import changes nothing"
    );
    Ok(())
}

/// A backup taken while a visitor keeps sending holds every message acked
/// before the backup was asked for; restored into an empty data dir, the
/// relay starts and serves them. Restore refuses a data dir in use.
#[tokio::test]
async fn backup_while_sending_then_restore() -> Result<()> {
    let relay = Relay::start(BIN, &flags()).await?;
    let mut v = Ws::connect(&relay).await?;
    v.hello(visitor_hello("demo", "bk-visitor", None)).await?;
    let work = tempfile::tempdir()?;
    let backup_dir: PathBuf = work.path().join("backup");
    let metrics = format!("http://{}", relay.metrics_addr);
    let dir = relay.data_dir().to_path_buf();
    let bdir = backup_dir.clone();
    let mut backup = None;
    let mut acked_before: Vec<String> = Vec::new();
    let mut acked = Vec::new();
    let started = Instant::now();
    let mut i = 0u32;
    // Keep sending and ask for the backup midway; go on while it runs
    // (one page of events holds them all: at most 450).
    let running =
        |b: &Option<tokio::task::JoinHandle<_>>| b.as_ref().is_some_and(|h| !h.is_finished());
    while (i < 150 || running(&backup)) && i < 450 {
        i += 1;
        let cid = format!("bk-{i}");
        v.send(send(&cid, &cid)).await?;
        let ack = v
            .until(|f| f["type"] == "ack" && f["cid"] == cid.as_str())
            .await?;
        ensure!(ack["seq"].as_u64().is_some(), "ack: {ack}");
        acked.push(cid);
        if i == 40 {
            acked_before = acked.clone();
            let (d, b, m) = (dir.clone(), bdir.clone(), metrics.clone());
            backup = Some(tokio::task::spawn_blocking(move || {
                cli(
                    Path::new(BIN),
                    &d,
                    &[
                        "backup",
                        "--to",
                        b.to_str().unwrap_or("-"),
                        "--relay",
                        &m,
                        "--token",
                        DEMO_TOKEN,
                    ],
                )
            }));
        }
    }
    let (ok, out, err) = backup.context("backup started")?.await??;
    ensure!(ok, "backup: {err}");
    let manifest: Value = serde_json::from_str(&out)?;
    ensure!(manifest["trees"]["chat"].as_u64() > Some(0), "{manifest}");
    // Sends went on after the backup (the relay did not stop).
    ensure!(acked.len() > acked_before.len(), "kept sending");
    eprintln!(
        "backup: {} messages acked, {} before it, {:?} in all",
        acked.len(),
        acked_before.len(),
        started.elapsed()
    );
    // A second backup into the same (now full) dir is refused.
    let (ok, _, err) = cli(
        Path::new(BIN),
        &dir,
        &[
            "backup",
            "--to",
            path_str(&backup_dir)?,
            "--relay",
            &metrics,
            "--token",
            DEMO_TOKEN,
        ],
    )?;
    ensure!(!ok && err.contains("not empty"), "{err}");

    let restored = tempfile::tempdir()?;
    run(
        restored.path(),
        &["restore", "--from", path_str(&backup_dir)?],
    )?;
    let (ok, _, err) = cli(
        Path::new(BIN),
        restored.path(),
        &["restore", "--from", path_str(&backup_dir)?],
    )?;
    ensure!(
        !ok && err.contains("not empty"),
        "restore into a used dir: {err}"
    );
    let r2 = Relay::start_on(BIN, restored.path(), &flags()).await?;
    let (_, list) = api(
        &r2,
        DEMO_TOKEN,
        "GET",
        "/v1/api/sites/demo/conversations?status=all",
        None,
    )
    .await?;
    let conv = list["convs"][0]["id"]
        .as_str()
        .context("a conversation")?
        .to_string();
    let (_, evs) = api(
        &r2,
        DEMO_TOKEN,
        "GET",
        &format!("/v1/api/conversations/{conv}/events?after=0&limit=500"),
        None,
    )
    .await?;
    let cids: Vec<&str> = evs["events"]
        .as_array()
        .context("events")?
        .iter()
        .filter_map(|e| e["cid"].as_str())
        .collect();
    for c in &acked_before {
        ensure!(
            cids.contains(&c.as_str()),
            "{c} acked before the backup but not in it"
        );
    }
    // Gap-free, as stored: seqs 1..=n.
    let seqs: Vec<u64> = evs["events"]
        .as_array()
        .context("events")?
        .iter()
        .filter_map(|e| e["seq"].as_u64())
        .collect();
    ensure!(
        seqs == (1..=seqs.len() as u64).collect::<Vec<_>>(),
        "{seqs:?}"
    );
    Ok(())
}

/// Seeds `dir` with a site `bench` of `events` stored messages (100
/// conversations, 200-byte texts, their cid entries and indexes), written
/// straight into the store as the commit thread writes them.
fn seed_events(dir: &Path, events: u64) -> Result<()> {
    use protocol::{Author, Cid, ConvId, Event, EventBody, Side, SiteId, VisitorId};
    use relay::store::{encode, encode_cid_hit, keys, ConvRecord};
    let store = Store::open(&dir.join("sled"))?;
    let site = SiteId::new("bench")?;
    relay::auth::create_site(&store, site.clone(), "Bench")?;
    let convs = 100u64;
    let text = "x".repeat(200);
    let mut gen = ulid::Generator::new();
    for c in 0..convs {
        let conv = ConvId::new(gen.generate()?.to_string())?;
        let visitor = VisitorId::new(format!("bench-v{c}"))?;
        let n = events / convs;
        let mut batch = sled::Batch::default();
        for seq in 1..=n {
            let cid = format!("m{seq}");
            let ev = Event {
                conv: conv.clone(),
                seq,
                ts: 1_700_000_000_000 + seq,
                body: EventBody::Message {
                    from: Author {
                        side: Side::Visitor,
                        id: visitor.to_string(),
                        name: None,
                    },
                    cid: Cid::new(cid.clone())?,
                    text: text.clone(),
                    file: None,
                },
            };
            batch.insert(keys::event(&conv, seq), encode(&ev)?);
            batch.insert(
                keys::cid(&format!("v:bench:{visitor}"), &cid),
                encode_cid_hit(&conv, seq),
            );
        }
        let rec = ConvRecord {
            last_seq: n,
            visitor_read: n,
            preview: Some(text.clone()),
            ..ConvRecord::new(conv.clone(), site.clone(), visitor.clone(), 1)
        };
        batch.insert(keys::conv(&conv), encode(&rec)?);
        batch.insert(keys::site_conv(&site, &conv), &[][..]);
        batch.insert(keys::visitor_conv(&site, &visitor, &conv), &[][..]);
        store.apply_chat(batch)?;
    }
    store.sync()?;
    Ok(())
}

/// Not a test: export and import time and stream size for a site of 10k
/// and 100k stored events, with the relay binary these tests build.
/// `KEFU_EXPORT_BENCH=10000,100000 cargo test -p tests --test e2e
/// export::bench -- --ignored --nocapture` (a release build:
/// `--release`).
#[tokio::test]
#[ignore]
async fn bench_export_import() -> Result<()> {
    let sizes = std::env::var("KEFU_EXPORT_BENCH").unwrap_or_else(|_| "10000,100000".into());
    for n in sizes
        .split(',')
        .filter_map(|s| s.trim().parse::<u64>().ok())
    {
        let src = tempfile::tempdir()?;
        seed_events(src.path(), n)?;
        let out = src.path().join("bench.kefu");
        let t = Instant::now();
        run(
            src.path(),
            &["export", "--site", "bench", "--out", path_str(&out)?],
        )?;
        let export_ms = t.elapsed().as_millis();
        let size = std::fs::metadata(&out)?.len();
        let dst = tempfile::tempdir()?;
        let t = Instant::now();
        run(dst.path(), &["import", "--in", path_str(&out)?])?;
        let import_ms = t.elapsed().as_millis();
        let store = Store::open(&dst.path().join("sled"))?;
        ensure!(store.event_count() as u64 == n, "all {n} events imported");
        println!(
            "export bench: {n} events: export {export_ms} ms, import {import_ms} ms, \
             stream {size} bytes ({} per event)",
            size / n.max(1)
        );
    }
    Ok(())
}
