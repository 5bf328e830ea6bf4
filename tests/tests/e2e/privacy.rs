//! Blocking visitors and visitor data rights against a real relay: blocks
//! by visitor id, IP and range (WebSocket and long-poll, behind a trusted
//! proxy), refusals that store nothing, lifted blocks, all over restarts;
//! a visitor's export (profile, pages, events, file bytes); an erase that
//! leaves the visitor's text nowhere — API, files, or the data dir's bytes
//! after a restart — logged, resumable after a crash, refusing bad input.

use crate::BIN;
use anyhow::{Context, Result};
use serde_json::{json, Value};
use tests::frames::*;
use tests::{api, files_containing, untar_gz, Lp, Relay, Ws, DEMO_TOKEN};

/// A visitor connected over WebSocket and its token.
async fn visitor(relay: &Relay, id: &str) -> Result<(Ws, String)> {
    let mut ws = Ws::connect(relay).await?;
    let w = ws.hello(visitor_hello("demo", id, None)).await?;
    let token = w["token"].as_str().context("token")?.to_string();
    Ok((ws, token))
}

/// A relay with a second site and its (non-owner) agent Olga.
async fn relay_with_other_site(extra: &[&str]) -> Result<(Relay, String)> {
    let mut relay = Relay::start(BIN, extra).await?;
    relay
        .add_site_with_agent(
            "other",
            "Olga",
            "olga@other.example",
            "olga-pw-12345",
            false,
        )
        .await?;
    let olga = relay.login("olga@other.example", "olga-pw-12345").await?;
    Ok((relay, olga))
}

async fn upload(
    relay: &Relay,
    visitor: &str,
    token: &str,
    name: &str,
    body: &[u8],
) -> Result<(u16, Value)> {
    let r = reqwest::Client::new()
        .post(relay.http(&format!(
            "/v1/files?site=demo&visitor={visitor}&token={token}&name={name}"
        )))
        .body(body.to_vec())
        .send()
        .await?;
    let status = r.status().as_u16();
    Ok((status, r.json().await.unwrap_or(Value::Null)))
}

/// Sends `frame` and waits for the ack or error naming `cid`.
async fn answer(ws: &mut Ws, frame: Value) -> Result<Value> {
    let cid = frame["cid"].as_str().unwrap_or_default().to_string();
    ws.send(frame).await?;
    ws.until(|f| {
        (f["type"] == "ack" || f["type"] == "error" || f["type"] == "saved")
            && f["cid"] == cid.as_str()
    })
    .await
}

/// Every event of a conversation, through the API.
async fn events(relay: &Relay, conv: &str) -> Result<Vec<Value>> {
    let (s, page) = api(
        relay,
        DEMO_TOKEN,
        "GET",
        &format!("/v1/api/conversations/{conv}/events?limit=500"),
        None,
    )
    .await?;
    assert_eq!(s, 200, "{page}");
    Ok(page["events"].as_array().cloned().unwrap_or_default())
}

/// Blocks by id (WebSocket) and by IP range (long-poll behind a trusted
/// proxy) refuse sends, uploads and form answers with `blocked` naming the
/// cid, store nothing (not a byte in the data dir), hold over a restart,
/// and lifting one lets the visitor write again. Bad input is refused.
#[tokio::test]
async fn blocks_refuse_everything_and_store_nothing_until_lifted() -> Result<()> {
    let (mut relay, olga) = relay_with_other_site(&["--trust-proxy", "127.0.0.1"]).await?;
    let blocks = "/v1/api/sites/demo/blocks";

    let (mut ws, token) = visitor(&relay, "blk-ws").await?;
    let first = answer(&mut ws, send("w1", "before the block")).await?;
    assert_eq!(first["type"], "ack", "{first}");
    let conv = first["conv"].as_str().context("conv")?.to_string();

    // Bad input: refused with a reason, nothing stored.
    for (body, code) in [
        (json!({}), "bad_request"),
        (json!({"ip": "10.0.0.0/33"}), "bad_request"),
        (json!({"ip": "300.1.2.3"}), "bad_request"),
        (
            json!({"visitor": "blk-ws", "reason": "x".repeat(501)}),
            "too_large",
        ),
    ] {
        let (s, e) = api(&relay, DEMO_TOKEN, "POST", blocks, Some(body.clone())).await?;
        assert_eq!(
            (s >= 400, e["code"].as_str()),
            (true, Some(code)),
            "{body}: {e}"
        );
    }
    let (s, _) = api(
        &relay,
        &olga,
        "POST",
        blocks,
        Some(json!({"visitor": "blk-ws"})),
    )
    .await?;
    assert_eq!(s, 404, "another site's agent cannot block here");
    let (_, list) = api(&relay, DEMO_TOKEN, "GET", blocks, None).await?;
    assert_eq!(list, json!([]));

    // Block by visitor id.
    let (s, b) = api(
        &relay,
        DEMO_TOKEN,
        "POST",
        blocks,
        Some(json!({"visitor": "blk-ws", "reason": "spam"})),
    )
    .await?;
    assert_eq!(s, 201, "{b}");
    let by_id = b["id"].as_str().context("id")?.to_string();
    let refused = answer(&mut ws, send("w2", "blocked-ws-QJX-481")).await?;
    assert_eq!(
        (refused["type"].as_str(), refused["code"].as_str()),
        (Some("error"), Some("blocked")),
        "{refused}"
    );
    let again = answer(&mut ws, send("w2", "blocked-ws-QJX-481")).await?;
    assert_eq!(again["code"], "blocked", "a resend is refused the same way");
    let form = answer(&mut ws, json!({"type": "contact", "cid": "f1", "form": "offline", "email": "blocked-QJX@example.com", "name": "Bob"})).await?;
    assert_eq!(form["code"], "blocked", "{form}");
    let (s, e) = upload(&relay, "blk-ws", &token, "x.txt", b"blocked-file-QJX-481\n").await?;
    assert_eq!((s, e["code"].as_str()), (403, Some("blocked")), "{e}");
    let evs = events(&relay, &conv).await?;
    assert_eq!(evs.len(), 1, "nothing stored: {evs:?}");

    // Long-poll visitors behind the proxy: the range blocks one, not the other.
    let mut lp = Lp::with_headers(&relay, &[("x-forwarded-for", "198.51.100.7")])?;
    lp.send(vec![visitor_hello("demo", "blk-lp", None)]).await?;
    let ok = lp.send(vec![send("l1", "from the proxy")]).await?;
    assert!(ok.iter().any(|f| f["type"] == "ack"), "{ok:?}");
    let (_, p) = api(
        &relay,
        DEMO_TOKEN,
        "GET",
        "/v1/api/sites/demo/visitors/blk-lp",
        None,
    )
    .await?;
    assert_eq!(
        p["last_ip"], "198.51.100.7",
        "the forwarded address, from a trusted proxy: {p}"
    );
    let (s, r) = api(
        &relay,
        DEMO_TOKEN,
        "POST",
        blocks,
        Some(json!({"ip": "198.51.100.99/24"})),
    )
    .await?;
    assert_eq!((s, r["ip"].as_str()), (201, Some("198.51.100.0/24")), "{r}");
    let no = lp.send(vec![send("l2", "blocked-lp-QJX-481")]).await?;
    let e = no
        .iter()
        .find(|f| f["type"] == "error")
        .cloned()
        .unwrap_or_else(|| json!({"frames": no}));
    assert_eq!(
        (e["code"].as_str(), e["cid"].as_str()),
        (Some("blocked"), Some("l2")),
        "{e}"
    );
    let mut lp2 = Lp::with_headers(&relay, &[("x-forwarded-for", "203.0.113.5")])?;
    lp2.send(vec![visitor_hello("demo", "blk-lp2", None)])
        .await?;
    let fine = lp2.send(vec![send("m1", "another address")]).await?;
    assert!(fine.iter().any(|f| f["type"] == "ack"), "{fine:?}");
    let (_, p) = api(
        &relay,
        DEMO_TOKEN,
        "GET",
        "/v1/api/sites/demo/visitors/blk-lp",
        None,
    )
    .await?;
    assert_eq!(
        p["blocks"][0]["ip"], "198.51.100.0/24",
        "the profile shows the block: {p}"
    );

    // Durable: after a crash the blocks still refuse.
    relay.restart().await?;
    let (_, list) = api(&relay, DEMO_TOKEN, "GET", blocks, None).await?;
    assert_eq!(list.as_array().map(Vec::len), Some(2), "{list}");
    assert!(
        list[0]["by_name"].as_str().is_some_and(|n| !n.is_empty()),
        "{list}"
    );
    let (mut ws, _) = {
        let mut ws = Ws::connect(&relay).await?;
        ws.hello(visitor_hello("demo", "blk-ws", Some(&token)))
            .await?;
        (ws, ())
    };
    assert_eq!(
        answer(&mut ws, send("w3", "blocked-ws-QJX-481")).await?["code"],
        "blocked"
    );
    // A whole IPv4 range over WebSocket (its peer, 127.0.0.1, no header).
    let (mut other, _) = visitor(&relay, "blk-ws-other").await?;
    assert_eq!(answer(&mut other, send("o1", "fine")).await?["type"], "ack");
    let (s, r) = api(
        &relay,
        DEMO_TOKEN,
        "POST",
        blocks,
        Some(json!({"ip": "127.0.0.0/8"})),
    )
    .await?;
    assert_eq!(s, 201);
    let range_id = r["id"].as_str().context("id")?.to_string();
    assert_eq!(
        answer(&mut other, send("o2", "blocked-ws-QJX-481")).await?["code"],
        "blocked"
    );

    // Lifting: another site's agent cannot; the owner can; writes resume.
    let (s, _) = api(&relay, &olga, "DELETE", &format!("{blocks}/{by_id}"), None).await?;
    assert_eq!(s, 404);
    for id in [&by_id, &range_id] {
        let (s, _) = api(
            &relay,
            DEMO_TOKEN,
            "DELETE",
            &format!("{blocks}/{id}"),
            None,
        )
        .await?;
        assert_eq!(s, 204);
    }
    let (s, _) = api(
        &relay,
        DEMO_TOKEN,
        "DELETE",
        &format!("{blocks}/{by_id}"),
        None,
    )
    .await?;
    assert_eq!(s, 404, "lifted already");
    let back = answer(&mut ws, send("w4", "after the block")).await?;
    assert_eq!(back["type"], "ack", "{back}");
    let texts: Vec<String> = events(&relay, &conv)
        .await?
        .iter()
        .filter_map(|e| e["text"].as_str().map(str::to_string))
        .collect();
    assert_eq!(texts, ["before the block", "after the block"]);

    // Nothing refused reached the disk, in any file of the data dir.
    relay.terminate().await?;
    let hits = files_containing(relay.data_dir(), b"QJX-481")?;
    assert!(hits.is_empty(), "refused text on disk: {hits:?}");
    Ok(())
}

/// The export is one .tar.gz with the profile, every page view, every
/// event of every conversation and the files' bytes; agents of other sites
/// and unknown visitors get 404.
#[tokio::test]
async fn the_export_holds_profile_pages_events_and_files() -> Result<()> {
    let (relay, olga) = relay_with_other_site(&[]).await?;
    let (mut ws, token) = visitor(&relay, "exp-v").await?;
    ws.send(page("https://shop.example/export-page", "Export page"))
        .await?;
    let a = answer(&mut ws, send("e1", "export text one")).await?;
    let conv = a["conv"].as_str().context("conv")?.to_string();
    let bytes = b"the export's file bytes\n".to_vec();
    let (s, att) = upload(&relay, "exp-v", &token, "notes.txt", &bytes).await?;
    assert_eq!(s, 201, "{att}");
    let file = att["id"].as_str().context("file id")?.to_string();
    let with = answer(
        &mut ws,
        json!({"type": "send", "cid": "e2", "text": "", "file": file}),
    )
    .await?;
    assert_eq!(with["type"], "ack", "{with}");

    let path = "/v1/api/sites/demo/visitors/exp-v/export";
    let r = reqwest::Client::new()
        .get(relay.http(path))
        .bearer_auth(DEMO_TOKEN)
        .send()
        .await?;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/gzip");
    assert!(r.headers()["content-disposition"]
        .to_str()?
        .contains(".tar.gz"));
    let entries = untar_gz(&r.bytes().await?)?;
    let get = |n: &str| {
        entries
            .iter()
            .find(|(name, _)| name == n)
            .map(|(_, b)| b.clone())
    };
    let profile: Value = serde_json::from_slice(&get("profile.json").context("profile.json")?)?;
    assert_eq!(profile["id"], "exp-v");
    let pages: Value = serde_json::from_slice(&get("pages.json").context("pages.json")?)?;
    assert_eq!(
        pages[0]["url"], "https://shop.example/export-page",
        "{pages}"
    );
    let doc: Value = serde_json::from_slice(
        &get(&format!("conversations/{conv}.json")).context("the conversation")?,
    )?;
    assert_eq!(doc["conversation"]["id"], conv.as_str());
    let evs = doc["events"].as_array().context("events")?;
    assert_eq!(evs.len(), 2);
    assert_eq!(evs[0]["text"], "export text one");
    assert_eq!(evs[1]["file"]["id"], file.as_str());
    let (_, f) = entries
        .iter()
        .find(|(n, _)| n.starts_with(&format!("files/{file}-")))
        .context("the file")?;
    assert_eq!(f, &bytes);

    for (token, path) in [
        (olga.as_str(), path.to_string()),
        (
            DEMO_TOKEN,
            "/v1/api/sites/demo/visitors/nobody-here/export".into(),
        ),
        (
            olga.as_str(),
            "/v1/api/sites/other/visitors/exp-v/export".into(),
        ),
    ] {
        let (s, e) = api(&relay, token, "GET", &path, None).await?;
        assert_eq!(
            (s, e["code"].as_str()),
            (404, Some("not_found")),
            "{path}: {e}"
        );
    }
    Ok(())
}

/// How many hits demo's search gives for `q` (a word or name).
async fn search_hits(relay: &Relay, q: &str) -> Result<usize> {
    let path = format!("/v1/api/sites/demo/search?q={q}");
    let (s, page) = api(relay, DEMO_TOKEN, "GET", &path, None).await?;
    anyhow::ensure!(s == 200, "search {q}: {s} {page}");
    Ok(page["hits"].as_array().map_or(0, Vec::len))
}

/// What an erase leaves: the same seqs with `[erased]` texts, no profile,
/// no file, nothing in the lists, one log entry.
async fn erased_everywhere(
    relay: &Relay,
    conv: &str,
    file: &str,
    before: &[Value],
    mark: &str,
) -> Result<()> {
    let after = events(relay, conv).await?;
    let seqs = |v: &[Value]| v.iter().map(|e| e["seq"].as_u64()).collect::<Vec<_>>();
    assert_eq!(seqs(&after), seqs(before), "seqs stay gap-free");
    let text = serde_json::to_string(&after)?;
    assert!(!text.contains(mark) && !text.contains("Erin"), "{text}");
    assert!(
        after
            .iter()
            .all(|e| e.get("text").is_none_or(|t| t == "[erased]")),
        "{text}"
    );
    let (s, _) = api(
        relay,
        DEMO_TOKEN,
        "GET",
        "/v1/api/sites/demo/visitors/era-v",
        None,
    )
    .await?;
    assert_eq!(s, 404, "the profile is gone");
    let r = reqwest::Client::new()
        .get(relay.http(&format!("/v1/files/{file}")))
        .bearer_auth(DEMO_TOKEN)
        .send()
        .await?;
    assert_eq!(r.status(), 404, "the file is gone");
    let (_, list) = api(
        relay,
        DEMO_TOKEN,
        "GET",
        "/v1/api/sites/demo/conversations",
        None,
    )
    .await?;
    assert!(!list.to_string().contains(mark), "{list}");
    let (s, log) = api(
        relay,
        DEMO_TOKEN,
        "GET",
        "/v1/api/sites/demo/erasures",
        None,
    )
    .await?;
    assert_eq!(s, 200);
    assert_eq!(log.as_array().map(Vec::len), Some(1), "{log}");
    assert_eq!(log[0]["visitor"], "era-v");
    assert!(
        log[0]["by"].as_str().is_some() && log[0]["at"].as_u64() > Some(0),
        "{log}"
    );
    Ok(())
}

/// An erase replaces every text of the visitor's conversations in place
/// (seqs kept), deletes its files, removes its profile and pages, logs who
/// erased whom; after a restart the marker is nowhere in the data dir's
/// bytes. Bad input (no confirmation, another site's or an unknown
/// visitor) changes nothing.
#[tokio::test]
async fn an_erase_leaves_the_visitor_nowhere_after_a_restart() -> Result<()> {
    const MARK: &str = "ZQXJ-erase-marker-7731";
    let (mut relay, olga) = relay_with_other_site(&[]).await?;
    let (mut ws, token) = visitor(&relay, "era-v").await?;
    ws.send(page(&format!("https://shop.example/{MARK}"), MARK))
        .await?;
    let f = answer(&mut ws, json!({"type": "contact", "cid": "c1", "form": "offline", "email": "zqxj-erase@example.com", "name": format!("Erin {MARK}")})).await?;
    assert_eq!(f["type"], "saved", "{f}");
    let a = answer(&mut ws, send("m1", &format!("my secret is {MARK}"))).await?;
    let conv = a["conv"].as_str().context("conv")?.to_string();
    let (s, att) = upload(
        &relay,
        "era-v",
        &token,
        "secret.txt",
        format!("file holding {MARK}\n").as_bytes(),
    )
    .await?;
    assert_eq!(s, 201, "{att}");
    let file = att["id"].as_str().context("file")?.to_string();
    assert_eq!(
        answer(
            &mut ws,
            json!({"type": "send", "cid": "m2", "text": "see file", "file": file})
        )
        .await?["type"],
        "ack"
    );
    let (s, _) = api(
        &relay,
        DEMO_TOKEN,
        "POST",
        &format!("/v1/api/conversations/{conv}/messages"),
        Some(json!({"cid": "a1", "text": format!("you said {MARK}")})),
    )
    .await?;
    assert!(s == 200 || s == 201, "{s}");
    let before = events(&relay, &conv).await?;
    assert!(before.len() >= 3);
    // Searchable before: their words, and their profile by name.
    let t0 = std::time::Instant::now();
    while search_hits(&relay, "7731").await? < 3 || search_hits(&relay, "Erin").await? < 1 {
        anyhow::ensure!(t0.elapsed().as_secs() < 10, "never searchable");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // The scan below sees the text in sled's files while it is stored
    // (acked is on disk), compressed or not: its finding nothing later
    // means something.
    assert!(
        !files_containing(&relay.data_dir().join("sled"), MARK.as_bytes())?.is_empty(),
        "the stored text is not found on disk before the erase"
    );

    // Bad input: nothing changes.
    let erase = "/v1/api/sites/demo/visitors/era-v/erase";
    for (tok, path, body, status) in [
        (DEMO_TOKEN, erase, json!({"confirm": "yes"}), 400),
        (DEMO_TOKEN, erase, json!({}), 400),
        (olga.as_str(), erase, json!({"confirm": "ERASE"}), 404),
        (
            olga.as_str(),
            "/v1/api/sites/other/visitors/era-v/erase",
            json!({"confirm": "ERASE"}),
            404,
        ),
        (
            DEMO_TOKEN,
            "/v1/api/sites/demo/visitors/no-such-visitor/erase",
            json!({"confirm": "ERASE"}),
            404,
        ),
    ] {
        let (s, e) = api(&relay, tok, "POST", path, Some(body)).await?;
        assert_eq!(s, status, "{path}: {e}");
    }
    let (s, p) = api(
        &relay,
        DEMO_TOKEN,
        "GET",
        "/v1/api/sites/demo/visitors/era-v",
        None,
    )
    .await?;
    assert_eq!(
        (s, p["user"]["email"].as_str()),
        (200, Some("zqxj-erase@example.com")),
        "unchanged: {p}"
    );
    let (s, _) = api(&relay, &olga, "GET", "/v1/api/sites/other/erasures", None).await?;
    assert_eq!(s, 403, "the log is for owners");

    // Confirmed with the visitor's name.
    let (s, done) = api(
        &relay,
        DEMO_TOKEN,
        "POST",
        erase,
        Some(json!({"confirm": format!("Erin {MARK}")})),
    )
    .await?;
    assert_eq!(s, 200, "{done}");
    assert_eq!(done["visitor"], "era-v");
    assert_eq!(done["files"], 1, "{done}");
    assert_eq!(done["events"].as_u64(), Some(before.len() as u64), "{done}");
    assert!(done["pages"].as_u64() >= Some(1), "{done}");

    erased_everywhere(&relay, &conv, &file, &before, MARK).await?;
    for q in ["7731", "Erin", "zqxj"] {
        assert_eq!(search_hits(&relay, q).await?, 0, "{q} is still found");
    }
    let (s, _) = api(
        &relay,
        DEMO_TOKEN,
        "POST",
        erase,
        Some(json!({"confirm": "ERASE"})),
    )
    .await?;
    assert_eq!(s, 404, "erased already");

    // After a restart: the same, and not a byte of it in the data dir.
    relay.terminate().await?;
    relay.restart().await?;
    erased_everywhere(&relay, &conv, &file, &before, MARK).await?;
    for q in ["7731", "Erin", "zqxj"] {
        assert_eq!(
            search_hits(&relay, q).await?,
            0,
            "{q} is found after a restart"
        );
    }
    relay.terminate().await?;
    let hits = files_containing(relay.data_dir(), MARK.as_bytes())?;
    assert!(
        hits.is_empty(),
        "the erased text is still on disk: {hits:?}"
    );
    let hits = files_containing(relay.data_dir(), b"zqxj-erase@example.com")?;
    assert!(
        hits.is_empty(),
        "the erased address is still on disk: {hits:?}"
    );
    Ok(())
}

/// An erase cut short (the relay killed right after its durable mark, as
/// a crash mid-erase leaves it) is finished at the next start: the texts
/// replaced, the profile gone, the log entry kept.
#[tokio::test]
async fn an_interrupted_erase_is_finished_at_start() -> Result<()> {
    const MARK: &str = "RESUME-marker-5521";
    let mut relay = Relay::start(BIN, &[]).await?;
    let (mut ws, _) = visitor(&relay, "res-v").await?;
    let a = answer(&mut ws, send("m1", MARK)).await?;
    let conv = a["conv"].as_str().context("conv")?.to_string();
    relay.kill9().await?;
    {
        // What the erase writes first, and all a crash right after leaves.
        let store = relay::store::Store::open(&relay.data_dir().join("sled"))?;
        let site = protocol::SiteId::new("demo")?;
        let v = protocol::VisitorId::new("res-v")?;
        let mark = relay::store::ErasingMark {
            view: protocol::api::privacy::ErasureView {
                id: "01JRESUMEDERASE00000000000".into(),
                visitor: Some(v.clone()),
                by_name: "Test".into(),
                at: 1,
                ..Default::default()
            },
            files: Vec::new(),
        };
        store.put_erasing(&site, &v, &mark)?;
        store.sync()?;
    }
    relay.restart().await?;
    // The log entry is the erase's last step: once it is there, the rest
    // is done.
    let deadline = tokio::time::Instant::now() + tests::WAIT;
    loop {
        let (_, log) = api(
            &relay,
            DEMO_TOKEN,
            "GET",
            "/v1/api/sites/demo/erasures",
            None,
        )
        .await?;
        if log[0]["id"] == "01JRESUMEDERASE00000000000" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the erase was not finished: {log}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let (s, _) = api(
        &relay,
        DEMO_TOKEN,
        "GET",
        "/v1/api/sites/demo/visitors/res-v",
        None,
    )
    .await?;
    assert_eq!(s, 404, "the profile is still there");
    let evs = events(&relay, &conv).await?;
    assert_eq!(evs[0]["text"], "[erased]", "{evs:?}");
    relay.terminate().await?;
    relay.restart().await?;
    relay.terminate().await?;
    assert!(files_containing(relay.data_dir(), MARK.as_bytes())?.is_empty());
    Ok(())
}
