//! Search (`GET /v1/api/sites/{site}/search`): Chinese by substring and
//! English by word, never another site's conversations, a message
//! searchable within 2 s of its ack, filters and paging, bad input, and an
//! index that survives restarts and is rebuilt when its folder is deleted
//! or a file in it is corrupt.

use crate::BIN;
use anyhow::{ensure, Result};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tests::frames::*;
use tests::{api, Relay, Ws, DEMO_TOKEN};

/// The promise: a message is searchable this soon after its ack.
const SEARCHABLE_WITHIN: Duration = Duration::from_secs(2);

/// Percent-encodes a query value (every byte but unreserved ASCII).
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `GET /v1/api/sites/{site}/search?q=…&{extra}` with `token`.
async fn search(
    relay: &Relay,
    token: &str,
    site: &str,
    q: &str,
    extra: &str,
) -> Result<(u16, Value)> {
    let path = format!("/v1/api/sites/{site}/search?q={}&{extra}", enc(q));
    api(relay, token, "GET", &path, None).await
}

/// The hits' snippets as text, `[…]` around the marked parts.
fn marked(page: &Value) -> Vec<String> {
    page["hits"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|h| {
            h["snippet"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| {
                    let t = p["text"].as_str().unwrap_or_default();
                    if p["hit"] == true {
                        format!("[{t}]")
                    } else {
                        t.to_string()
                    }
                })
                .collect()
        })
        .collect()
}

/// Searches until `ok` holds for the page, at most `within`; the page and
/// how long it took.
async fn search_until(
    relay: &Relay,
    token: &str,
    q: &str,
    within: Duration,
    ok: impl Fn(&Value) -> bool,
) -> Result<(Value, Duration)> {
    let t0 = Instant::now();
    loop {
        let (s, page) = search(relay, token, "demo", q, "").await?;
        ensure!(s == 200, "search {q}: {s} {page}");
        if ok(&page) {
            return Ok((page, t0.elapsed()));
        }
        ensure!(
            t0.elapsed() < within,
            "{q:?} not found as expected within {within:?}: {page}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn hit_count(page: &Value) -> usize {
    page["hits"].as_array().map_or(0, Vec::len)
}

/// A visitor of `site` that says each of `texts`; returns it and its conv.
async fn visitor_says(relay: &Relay, site: &str, id: &str, texts: &[&str]) -> Result<(Ws, String)> {
    let mut v = Ws::connect(relay).await?;
    v.hello(visitor_hello(site, id, None)).await?;
    let mut conv = String::new();
    for (i, t) in texts.iter().enumerate() {
        v.send(send(&format!("{id}-{i}"), t)).await?;
        let ack = v.until_type("ack").await?;
        conv = ack["conv"].as_str().unwrap_or_default().to_string();
    }
    Ok((v, conv))
}

/// Chinese is found by a substring (`发票` in `请问可以开发票吗`), English by
/// word in any case, profiles by name, email and attribute; the snippet
/// marks the match as data (markup in a message stays text); another
/// site's agent never sees demo's conversations and cannot search demo.
#[tokio::test]
async fn chinese_and_english_are_found_and_never_another_sites() -> Result<()> {
    let mut relay = Relay::start(BIN, &[]).await?;
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
    let (_v1, c1) = visitor_says(&relay, "demo", "zh-visitor", &["请问可以开发票吗"]).await?;
    let (_v2, _) = visitor_says(
        &relay,
        "demo",
        "en-visitor",
        &["Where is my <b>Invoice</b>?"],
    )
    .await?;
    let (_v3, _) = visitor_says(
        &relay,
        "other",
        "rival",
        &["invoice 发票 from the other site"],
    )
    .await?;
    let mut v4 = Ws::connect(&relay).await?;
    let mut h = visitor_hello("demo", "known-visitor", None);
    h["user"] = json!({"id": "u-42", "name": "Zhang Wei", "email": "zhang.wei@example.cn", "attributes": {"plan": "enterprise"}});
    v4.hello(h).await?;

    let (page, _) = search_until(&relay, DEMO_TOKEN, "发票", SEARCHABLE_WITHIN, |p| {
        hit_count(p) >= 1
    })
    .await?;
    assert_eq!(hit_count(&page), 1, "{page}");
    assert_eq!(page["hits"][0]["conv"], c1.as_str());
    assert_eq!(page["hits"][0]["kind"], "message");
    assert_eq!(page["hits"][0]["seq"], 1);
    assert_eq!(marked(&page), vec!["请问可以开[发票]吗"]);
    assert_eq!(page["complete"], true);

    let (page, _) = search_until(&relay, DEMO_TOKEN, "INVOICE", SEARCHABLE_WITHIN, |p| {
        hit_count(p) >= 1
    })
    .await?;
    assert_eq!(
        marked(&page),
        vec!["Where is my <b>[Invoice]</b>?"],
        "markup is text"
    );
    assert_eq!(hit_count(&page), 1, "only demo's: {page}");

    for q in ["zhang.wei@example.cn", "Zhang", "enterprise"] {
        let (page, _) = search_until(&relay, DEMO_TOKEN, q, SEARCHABLE_WITHIN, |p| {
            hit_count(p) >= 1
        })
        .await?;
        assert_eq!(page["hits"][0]["kind"], "visitor", "{q}: {page}");
        assert_eq!(page["hits"][0]["visitor"], "known-visitor");
        assert_eq!(page["hits"][0]["visitor_name"], "Zhang Wei");
    }

    // Olga (site "other" only) finds her site's text, never demo's.
    let t0 = Instant::now();
    let page = loop {
        let (s, page) = search(&relay, &olga, "other", "invoice", "").await?;
        assert_eq!(s, 200, "{page}");
        if hit_count(&page) >= 1 || t0.elapsed() > SEARCHABLE_WITHIN {
            break page;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(hit_count(&page), 1, "{page}");
    assert_eq!(page["hits"][0]["visitor"], "rival");
    let (s, page) = search(&relay, &olga, "other", "发票", "").await?;
    assert_eq!((s, hit_count(&page)), (200, 1), "{page}");
    let (s, e) = search(&relay, &olga, "demo", "发票", "").await?;
    assert_eq!((s, &e["code"]), (404, &json!("not_found")), "{e}");
    // And demo's owner does not see "other" (not a member).
    let (s, _) = search(&relay, DEMO_TOKEN, "other", "invoice", "").await?;
    assert_eq!(s, 404);
    Ok(())
}

/// Each of several messages is searchable within 2 s of its ack (polled,
/// bounded by 2 s), visitor's and agent's alike.
#[tokio::test]
async fn a_message_is_searchable_within_2s_of_its_ack() -> Result<()> {
    let relay = Relay::start(BIN, &[]).await?;
    let mut v = Ws::connect(&relay).await?;
    v.hello(visitor_hello("demo", "quick", None)).await?;
    let mut agent = Ws::connect(&relay).await?;
    agent.hello(agent_hello(DEMO_TOKEN)).await?;
    let mut worst = Duration::ZERO;
    let mut conv = String::new();
    for i in 0..5 {
        let word = format!("zebra{i}");
        if i % 2 == 0 || conv.is_empty() {
            v.send(send(
                &format!("q{i}"),
                &format!("looking for {word} 斑马{i}号"),
            ))
            .await?;
            conv = v.until_type("ack").await?["conv"]
                .as_str()
                .unwrap_or_default()
                .to_string();
        } else {
            agent
                .send(send_to(&conv, &format!("a{i}"), &format!("here is {word}")))
                .await?;
            agent.until_type("ack").await?;
        }
        let (page, took) = search_until(&relay, DEMO_TOKEN, &word, SEARCHABLE_WITHIN, |p| {
            hit_count(p) == 1
        })
        .await?;
        assert_eq!(page["hits"][0]["conv"], conv.as_str());
        worst = worst.max(took);
    }
    println!("search: worst ack → searchable {worst:?}");
    Ok(())
}

/// Paging walks every hit once, newest first; status, assignee, label and
/// date filters keep only what they say.
#[tokio::test]
async fn filters_and_paging() -> Result<()> {
    let relay = Relay::start(BIN, &[]).await?;
    let routing = json!({"routing": {"labels": [{"name": "VIP", "color": "#d4a017"}]}});
    let (s, _) = api(
        &relay,
        DEMO_TOKEN,
        "PATCH",
        "/v1/api/sites/demo",
        Some(routing),
    )
    .await?;
    assert_eq!(s, 200);
    let mut convs = Vec::new();
    for i in 0..3 {
        let texts: Vec<String> = (0..3).map(|j| format!("parcel {i}-{j} 包裹")).collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let (v, c) = visitor_says(&relay, "demo", &format!("pv{i}"), &refs).await?;
        convs.push((v, c));
    }
    let (page, _) = search_until(&relay, DEMO_TOKEN, "parcel", SEARCHABLE_WITHIN, |p| {
        hit_count(p) == 9
    })
    .await?;
    let ts: Vec<u64> = page["hits"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|h| h["ts"].as_u64())
        .collect();
    assert!(ts.windows(2).all(|w| w[0] >= w[1]), "newest first: {ts:?}");
    assert!(page["next_cursor"].is_null());

    // Pages of 2: nine hits, each once, in the same order.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10 {
        let extra = match &cursor {
            Some(c) => format!("limit=2&cursor={}", enc(c)),
            None => "limit=2".into(),
        };
        let (s, p) = search(&relay, DEMO_TOKEN, "demo", "包裹", &extra).await?;
        assert_eq!(s, 200, "{p}");
        assert!(hit_count(&p) <= 2);
        for h in p["hits"].as_array().into_iter().flatten() {
            seen.push((h["conv"].clone(), h["seq"].clone()));
        }
        match p["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    let all: Vec<(Value, Value)> = page["hits"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|h| (h["conv"].clone(), h["seq"].clone()))
        .collect();
    assert_eq!(seen, all, "paged = unpaged");

    // Close the first, assign the second to the demo agent, label the third.
    let (c0, c1, c2) = (&convs[0].1, &convs[1].1, &convs[2].1);
    let (s, _) = api(
        &relay,
        DEMO_TOKEN,
        "POST",
        &format!("/v1/api/conversations/{c0}/close"),
        None,
    )
    .await?;
    assert_eq!(s, 200);
    let (_, me) = api(&relay, DEMO_TOKEN, "GET", "/v1/api/me", None).await?;
    let me_id = me["id"].as_str().unwrap_or_default().to_string();
    let (s, _) = api(
        &relay,
        DEMO_TOKEN,
        "POST",
        &format!("/v1/api/conversations/{c1}/assign"),
        Some(json!({"agent": me_id})),
    )
    .await?;
    assert_eq!(s, 200);
    let (s, _) = api(
        &relay,
        DEMO_TOKEN,
        "PUT",
        &format!("/v1/api/conversations/{c2}/labels/VIP"),
        None,
    )
    .await?;
    assert_eq!(s, 200);
    let convs_of = |p: &Value| -> Vec<String> {
        let mut v: Vec<String> = p["hits"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|h| h["conv"].as_str().map(str::to_string))
            .collect();
        v.dedup();
        v
    };
    let (_, p) = search(&relay, DEMO_TOKEN, "demo", "parcel", "status=closed").await?;
    assert_eq!(convs_of(&p), vec![c0.clone()], "{p}");
    let (_, p) = search(&relay, DEMO_TOKEN, "demo", "parcel", "status=open").await?;
    assert_eq!(hit_count(&p), 6);
    assert!(!convs_of(&p).contains(c0));
    let (_, p) = search(
        &relay,
        DEMO_TOKEN,
        "demo",
        "parcel",
        &format!("assignee={me_id}"),
    )
    .await?;
    assert_eq!(convs_of(&p), vec![c1.clone()], "{p}");
    let (_, p) = search(&relay, DEMO_TOKEN, "demo", "parcel", "label=VIP").await?;
    assert_eq!(convs_of(&p), vec![c2.clone()], "{p}");
    let (_, p) = search(
        &relay,
        DEMO_TOKEN,
        "demo",
        "parcel",
        "assignee=none&status=open",
    )
    .await?;
    assert_eq!(convs_of(&p), vec![c2.clone()], "{p}");

    // Dates: today holds all nine; before 1971 and from 2999 none.
    let newest = ts[0];
    let (_, p) = search(
        &relay,
        DEMO_TOKEN,
        "demo",
        "parcel",
        &format!("from={}&to={}", ts[8], newest),
    )
    .await?;
    assert_eq!(hit_count(&p), 9);
    let (_, p) = search(
        &relay,
        DEMO_TOKEN,
        "demo",
        "parcel",
        &format!("to={}", ts[8] - 1),
    )
    .await?;
    assert_eq!(hit_count(&p), 0);
    let (_, p) = search(&relay, DEMO_TOKEN, "demo", "parcel", "to=1970-12-31").await?;
    assert_eq!(hit_count(&p), 0);
    let (_, p) = search(&relay, DEMO_TOKEN, "demo", "parcel", "from=2999-01-01").await?;
    assert_eq!(hit_count(&p), 0);
    let (_, p) = search(
        &relay,
        DEMO_TOKEN,
        "demo",
        "parcel",
        "from=1970-01-01&to=2999-12-31",
    )
    .await?;
    assert_eq!(hit_count(&p), 9);
    Ok(())
}

/// Empty or huge queries, malformed or reversed dates, junk cursors and
/// limits, unknown statuses and labels, unknown sites and missing tokens:
/// each a clear error, and the index answers as before afterwards.
#[tokio::test]
async fn bad_input_gets_clear_errors() -> Result<()> {
    let relay = Relay::start(BIN, &[]).await?;
    let (_v, _) = visitor_says(&relay, "demo", "bi", &["an ordinary question"]).await?;
    search_until(&relay, DEMO_TOKEN, "ordinary", SEARCHABLE_WITHIN, |p| {
        hit_count(p) == 1
    })
    .await?;
    let huge = "x".repeat(protocol::limits::MAX_SEARCH_QUERY_BYTES + 1);
    let many = "字".repeat(protocol::limits::MAX_SEARCH_TERMS + 2);
    let cases: Vec<(&str, &str, &str, u16, &str)> = vec![
        ("demo", "", "", 400, "empty"),
        ("demo", "   ", "", 400, "empty"),
        ("demo", "?!…", "", 400, "letters"),
        ("demo", &huge, "", 400, "bytes"),
        ("demo", &many, "", 400, "terms"),
        (
            "demo",
            "ordinary",
            "from=2024-05-02&to=2024-05-01",
            400,
            "after",
        ),
        ("demo", "ordinary", "from=yesterday", 400, "YYYY-MM-DD"),
        ("demo", "ordinary", "to=2024-02-30", 400, "not a date"),
        ("demo", "ordinary", "from=2024-5-1", 400, "YYYY-MM-DD"),
        ("demo", "ordinary", "cursor=garbage", 400, "cursor"),
        ("demo", "ordinary", "limit=0", 400, "limit"),
        ("demo", "ordinary", "limit=many", 400, "limit"),
        ("demo", "ordinary", "status=sleeping", 400, "status"),
        ("demo", "ordinary", "assignee=%3Cx%3E", 400, "assignee"),
        (
            "demo",
            "ordinary",
            "label=NoSuch",
            400,
            "not one of this site's labels",
        ),
        ("nosuchsite", "ordinary", "", 404, "site"),
        ("bad%20id", "ordinary", "", 404, "site"),
    ];
    for (site, q, extra, status, says) in cases {
        let (s, e) = search(&relay, DEMO_TOKEN, site, q, extra).await?;
        assert_eq!(s, status, "{site} {q:?} {extra}: {e}");
        let msg = e["message"].as_str().unwrap_or_default();
        assert!(
            msg.contains(says),
            "{site} {q:?} {extra}: {msg:?} should say {says:?}"
        );
        assert!(e["code"].is_string(), "{e}");
    }
    let r = reqwest::get(relay.http("/v1/api/sites/demo/search?q=ordinary")).await?;
    assert_eq!(r.status(), 401);
    // A huge limit is clamped, not refused; nothing above changed anything.
    let (s, p) = search(&relay, DEMO_TOKEN, "demo", "ordinary", "limit=100000").await?;
    assert_eq!((s, hit_count(&p)), (200, 1), "{p}");
    Ok(())
}

/// Restarts keep the index (found at once, complete); deleting its folder
/// while stopped, or corrupting a file in it, gets it rebuilt from the
/// store; a message sent during the rebuild is found too.
#[tokio::test]
async fn the_index_rebuilds_after_its_folder_is_deleted_or_corrupt() -> Result<()> {
    let mut relay = Relay::start(BIN, &[]).await?;
    let (v, conv) = visitor_says(
        &relay,
        "demo",
        "rb",
        &["kept across restarts 重建索引", "second line"],
    )
    .await?;
    drop(v);
    search_until(&relay, DEMO_TOKEN, "重建", SEARCHABLE_WITHIN, |p| {
        hit_count(p) == 1
    })
    .await?;
    let index = relay.data_dir().join("search");
    assert!(
        index.join("meta.json").exists(),
        "the index lives under the data dir"
    );

    // A clean restart: found at once.
    relay.terminate().await?;
    relay.restart().await?;
    let (s, p) = search(&relay, DEMO_TOKEN, "demo", "restarts", "").await?;
    assert_eq!((s, hit_count(&p)), (200, 1), "no indexed state lost: {p}");

    // kill -9 right after a message: caught up on start.
    let (_v, _) = visitor_says(&relay, "demo", "rb2", &["sent just before the crash"]).await?;
    relay.kill9().await?;
    relay.restart().await?;
    search_until(&relay, DEMO_TOKEN, "crash", Duration::from_secs(10), |p| {
        hit_count(p) == 1
    })
    .await?;

    // Folder deleted while stopped.
    relay.terminate().await?;
    std::fs::remove_dir_all(&index)?;
    relay.restart().await?;
    let (p, _) = search_until(
        &relay,
        DEMO_TOKEN,
        "重建索引",
        Duration::from_secs(10),
        |p| hit_count(p) == 1 && p["complete"] == true,
    )
    .await?;
    assert_eq!(p["hits"][0]["conv"], conv.as_str());
    search_until(&relay, DEMO_TOKEN, "crash", Duration::from_secs(10), |p| {
        hit_count(p) == 1
    })
    .await?;

    // A corrupt file: the metas, then a segment file.
    relay.terminate().await?;
    std::fs::write(index.join("meta.json"), b"{not json")?;
    relay.restart().await?;
    search_until(&relay, DEMO_TOKEN, "second", Duration::from_secs(10), |p| {
        hit_count(p) == 1 && p["complete"] == true
    })
    .await?;
    relay.terminate().await?;
    let segment = std::fs::read_dir(&index)?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "idx"))
        .ok_or_else(|| anyhow::anyhow!("no segment file"))?;
    let mut bytes = std::fs::read(&segment)?;
    for b in bytes.iter_mut().take(64) {
        *b = !*b;
    }
    std::fs::write(&segment, bytes)?;
    relay.restart().await?;
    search_until(&relay, DEMO_TOKEN, "kept", Duration::from_secs(10), |p| {
        hit_count(p) == 1 && p["complete"] == true
    })
    .await?;
    let (_v, _) = visitor_says(&relay, "demo", "rb3", &["after the rebuild"]).await?;
    search_until(&relay, DEMO_TOKEN, "rebuild", SEARCHABLE_WITHIN, |p| {
        hit_count(p) == 1
    })
    .await?;
    Ok(())
}

/// Searches `site` as `token` until `q` has exactly `n` hits and the index
/// says it is complete, at most `within`.
async fn found_in(
    relay: &Relay,
    token: &str,
    site: &str,
    q: &str,
    n: usize,
    within: Duration,
) -> Result<()> {
    let t0 = Instant::now();
    loop {
        let (s, page) = search(relay, token, site, q, "").await?;
        ensure!(s == 200, "search {q}: {s} {page}");
        if hit_count(&page) == n && page["complete"] == true {
            return Ok(());
        }
        ensure!(
            t0.elapsed() < within,
            "{q:?} in {site}: not {n} hits within {within:?}: {page}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A relay that ran, indexed `word` (said by visitor `visitor` of demo)
/// and was stopped: its index has a watermark of now.
async fn ran_and_indexed(visitor: &str, word: &str) -> Result<Relay> {
    let mut relay = Relay::start(BIN, &[]).await?;
    let (v, _) = visitor_says(&relay, "demo", visitor, &[word]).await?;
    drop(v);
    found_in(&relay, DEMO_TOKEN, "demo", word, 1, SEARCHABLE_WITHIN).await?;
    relay.terminate().await?;
    Ok(relay)
}

/// A site imported, or a backup restored, into a data dir whose relay ran
/// before brings events older than that relay's index: the index is
/// thrown away and rebuilt, so they are found (a catch-up from the old
/// index's watermark would never read them). The site's history is three
/// days old (the exporting relay's clock), the target relays' indexes are
/// of now.
#[tokio::test]
async fn an_imported_site_and_a_restored_backup_are_searchable() -> Result<()> {
    const SITE: &str = "zz-moved";
    const EMAIL: &str = "zed@moved.example";
    const PASSWORD: &str = "zed-password-1";
    let work = tempfile::tempdir()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as u64;
    let clock = tests::TestClock::new(now - 3 * 86_400_000)?;
    let clock_flags = clock.flags();
    let old: Vec<&str> = clock_flags.iter().map(String::as_str).collect();
    let mut src = Relay::start(BIN, &old).await?;
    src.add_site_with_agent(SITE, "Zed", EMAIL, PASSWORD, false)
        .await?;
    let (v, _) = visitor_says(&src, SITE, "mv1", &["请问可以开发票吗 moved-invoice"]).await?;
    drop(v);
    src.terminate().await?;
    let stream = work.path().join("moved.kefu");
    let stream_arg = stream.to_str().unwrap_or("-").to_string();
    src.admin(&["export", "--site", SITE, "--out", &stream_arg])?;

    // A relay that ran and indexed a message of its own, now.
    let mut dst = ran_and_indexed("here1", "already-here").await?;
    dst.admin(&["import", "--in", &stream_arg])?;
    dst.restart().await?;
    let zed = dst.login(EMAIL, PASSWORD).await?;
    found_in(&dst, &zed, SITE, "发票", 1, Duration::from_secs(30)).await?;
    found_in(&dst, &zed, SITE, "moved-invoice", 1, Duration::from_secs(5)).await?;
    found_in(
        &dst,
        DEMO_TOKEN,
        "demo",
        "already-here",
        1,
        Duration::from_secs(5),
    )
    .await?;
    dst.terminate().await?;

    // A backup of the old relay restored over a data dir whose sled and
    // files were emptied, its index of another store left behind.
    src.restart().await?;
    let backup = work.path().join("backup");
    let metrics = format!("http://{}", src.metrics_addr);
    src.admin(&[
        "backup",
        "--to",
        backup.to_str().unwrap_or("-"),
        "--relay",
        &metrics,
        "--token",
        DEMO_TOKEN,
    ])?;
    src.terminate().await?;
    let mut other = ran_and_indexed("gone1", "forgotten-store").await?;
    for d in ["sled", "files"] {
        let p = other.data_dir().join(d);
        if p.exists() {
            std::fs::remove_dir_all(p)?;
        }
    }
    other.admin(&["restore", "--from", backup.to_str().unwrap_or("-")])?;
    other.restart().await?;
    let zed = other.login(EMAIL, PASSWORD).await?;
    found_in(&other, &zed, SITE, "发票", 1, Duration::from_secs(30)).await?;
    found_in(
        &other,
        DEMO_TOKEN,
        "demo",
        "forgotten-store",
        0,
        Duration::from_secs(5),
    )
    .await?;
    Ok(())
}
