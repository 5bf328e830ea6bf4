//! The hosted chat page `/chat/{site}`: served for a known site with its
//! name, a 404 page for an unknown one; a signed identity accepted, and a
//! wrong, stale, future, tampered or oversized one refused with a 403 page
//! that boots nothing; the identity it hands the widget verifies in a
//! hello that says `channel: page`, which agents then see; the relay's own
//! origin passes a site's allow-list; the QR codes carry the chat link.

use crate::BIN;
use anyhow::{anyhow, Result};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use tests::frames::*;
use tests::{api, Relay, Ws, DEMO_TOKEN};

/// hex(HMAC-SHA256(key, msg)), written here from the README's recipe, not
/// taken from the relay.
fn hmac_hex(key: &str, msg: &str) -> String {
    let mut m = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("any key length");
    m.update(msg.as_bytes());
    m.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The README's canonical string: present fields as `key=value`, in the
/// order uid, name, email, ts, joined by `\n`.
fn canonical(fields: &[(&str, &str)]) -> String {
    ["uid", "name", "email", "ts"]
        .iter()
        .filter_map(|k| fields.iter().find(|(f, _)| f == k))
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A query string with `fields` and their `sig` under `secret`.
fn signed_query(secret: &str, fields: &[(&str, &str)]) -> String {
    let sig = hmac_hex(secret, &canonical(fields));
    let mut parts: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{k}={}", pct(v)))
        .collect();
    parts.push(format!("sig={sig}"));
    parts.join("&")
}

/// Percent-encodes everything but unreserved characters.
fn pct(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

async fn get(relay: &Relay, path: &str) -> Result<(u16, String, String)> {
    let r = reqwest::get(relay.http(path)).await?;
    let status = r.status().as_u16();
    let kind = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    Ok((status, kind, r.text().await?))
}

/// `data-{name}="…"` of the page's identity, HTML-unescaped.
fn data_attr(html: &str, name: &str) -> Option<String> {
    let key = format!("data-{name}=\"");
    let start = html.find(&key)? + key.len();
    let end = start + html[start..].find('"')?;
    Some(
        html[start..end]
            .replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

async fn demo_secret(relay: &Relay) -> Result<String> {
    let (s, site) = api(relay, DEMO_TOKEN, "GET", "/v1/api/sites/demo", None).await?;
    assert_eq!(s, 200, "{site}");
    site["secret"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow!("no secret in {site}"))
}

/// A known site's page names the site and boots the loader in page mode; an
/// unknown (or impossible) site gets a 404 page.
#[tokio::test]
async fn the_page_is_served_for_known_sites_and_404_for_others() -> Result<()> {
    let relay = Relay::start(BIN, &[]).await?;
    let (s, kind, html) = get(&relay, "/chat/demo").await?;
    assert_eq!(s, 200);
    assert!(kind.starts_with("text/html"), "{kind}");
    assert!(html.contains("<title>Demo site</title>"), "{html}");
    assert!(html.contains("<h1>Demo site</h1>"), "{html}");
    let loader = format!("src=\"//{}/widget/loader.js\"", relay.addr);
    assert!(html.contains(&loader), "{html}");
    assert!(html.contains("data-site=\"demo\" data-channel=\"page\""));
    assert!(!html.contains("data-uid"), "anonymous: no identity");
    let (s, kind, js) = get(&relay, "/widget/page.js").await?;
    assert_eq!(s, 200);
    assert!(kind.starts_with("text/javascript"), "{kind}");
    assert!(js.contains("kefu('open')"));

    for path in ["/chat/nope", "/chat/not%20a%20site", "/chat/x/qr.svg"] {
        let (s, kind, html) = get(&relay, path).await?;
        assert_eq!(s, 404, "{path}: {html}");
        if !path.ends_with(".svg") {
            assert!(kind.starts_with("text/html"), "{path}: {kind}");
            assert!(html.contains("No such chat"), "{path}: {html}");
            assert!(!html.contains("loader.js"), "{path}");
        }
    }
    Ok(())
}

/// A valid signature boots the page with the identity and the relay's
/// user_hash for the uid; every forgery is a 403 page with no widget in it.
#[tokio::test]
async fn signed_identities_are_checked() -> Result<()> {
    let relay = Relay::start(BIN, &[]).await?;
    let secret = demo_secret(&relay).await?;
    let ts = now_s().to_string();
    let good = [
        ("uid", "u-42"),
        ("name", "Li Lei <\"&>"),
        ("email", "li@example.com"),
        ("ts", ts.as_str()),
    ];
    let q = signed_query(&secret, &good);
    let (s, _, html) = get(&relay, &format!("/chat/demo?{q}&utm_source=qr")).await?;
    assert_eq!(s, 200, "{html}");
    assert_eq!(data_attr(&html, "uid").as_deref(), Some("u-42"));
    assert_eq!(data_attr(&html, "name").as_deref(), Some("Li Lei <\"&>"));
    assert_eq!(data_attr(&html, "email").as_deref(), Some("li@example.com"));
    assert_eq!(
        data_attr(&html, "hash"),
        Some(hmac_hex(&secret, "u-42")),
        "the user_hash of the documented identity scheme"
    );
    assert!(!html.contains("Li Lei <"), "markup in a name is escaped");
    // Parameters in another order sign the same canonical string.
    let reordered = format!(
        "ts={ts}&email=li%40example.com&uid=u-42&name={}&sig={}",
        pct("Li Lei <\"&>"),
        hmac_hex(&secret, &canonical(&good))
    );
    assert_eq!(
        get(&relay, &format!("/chat/demo?{reordered}")).await?.0,
        200
    );

    let stale = (now_s() - 24 * 3600 - 60).to_string();
    let ahead = (now_s() + 10 * 60).to_string();
    let long_name = "n".repeat(protocol::limits::MAX_NAME_BYTES + 1);
    let refused = [
        ("wrong secret", signed_query("not-the-secret", &good)),
        ("tampered uid", q.replace("uid=u-42", "uid=u-43")),
        ("tampered name", q.replace("name=Li", "name=Lu")),
        (
            "added field",
            signed_query(&secret, &[("uid", "u-42"), ("ts", &ts)]) + "&name=Eve",
        ),
        (
            "stale ts",
            signed_query(&secret, &[("uid", "u-42"), ("ts", &stale)]),
        ),
        (
            "future ts",
            signed_query(&secret, &[("uid", "u-42"), ("ts", &ahead)]),
        ),
        ("no sig", format!("uid=u-42&ts={ts}")),
        (
            "name too long",
            signed_query(
                &secret,
                &[("uid", "u-42"), ("name", &long_name), ("ts", &ts)],
            ),
        ),
        ("repeated uid", format!("{q}&uid=u-42")),
    ];
    for (why, query) in refused {
        let (s, kind, html) = get(&relay, &format!("/chat/demo?{query}")).await?;
        assert_eq!(s, 403, "{why}: {html}");
        assert!(kind.starts_with("text/html"), "{why}: {kind}");
        assert!(
            html.contains("This chat link is not valid"),
            "{why}: {html}"
        );
        assert!(!html.contains("loader.js"), "{why}: nothing boots");
        assert!(
            !html.contains("data-hash"),
            "{why}: no user_hash handed out"
        );
    }
    Ok(())
}

/// The identity the page hands out verifies in a hello with `channel:
/// page`; agents see the visitor verified, under the signed name, on the
/// page channel (profile and conversation). A hello naming `wechat` is
/// refused. The relay's own origin passes an allow-list that names only
/// the shop; another origin still does not.
#[tokio::test]
async fn page_visitors_are_verified_and_on_the_page_channel() -> Result<()> {
    let relay = Relay::start(BIN, &[]).await?;
    let secret = demo_secret(&relay).await?;
    let ts = now_s().to_string();
    let q = signed_query(&secret, &[("uid", "u-7"), ("name", "王小明"), ("ts", &ts)]);
    let (_, _, html) = get(&relay, &format!("/chat/demo?{q}")).await?;
    let hash = data_attr(&html, "hash").ok_or_else(|| anyhow!("no hash: {html}"))?;

    let mut agent = Ws::connect(&relay).await?;
    agent.hello(agent_hello(DEMO_TOKEN)).await?;
    agent.send(subscribe("demo")).await?;
    agent.until_type("snapshot").await?;

    let mut v = Ws::connect(&relay).await?;
    let mut hello = visitor_hello("demo", "page-visitor", None);
    hello["channel"] = json!("page");
    hello["user"] = json!({"id": "u-7", "name": "王小明", "user_hash": hash});
    v.hello(hello).await?;
    v.send(send("p1", "hello from the chat page")).await?;
    let ack = v.until_type("ack").await?;
    let conv = ack["conv"].as_str().unwrap_or_default().to_string();

    let (s, p) = api(
        &relay,
        DEMO_TOKEN,
        "GET",
        "/v1/api/sites/demo/visitors/page-visitor",
        None,
    )
    .await?;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["verified"], true, "{p}");
    assert_eq!(p["user"]["name"], "王小明", "{p}");
    assert_eq!(p["channel"], "page", "{p}");
    let (_, list) = api(
        &relay,
        DEMO_TOKEN,
        "GET",
        "/v1/api/sites/demo/conversations",
        None,
    )
    .await?;
    let summary = list["convs"]
        .as_array()
        .and_then(|l| l.iter().find(|c| c["id"] == conv.as_str()))
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(summary["channel"], "page", "{list}");

    let mut w = Ws::connect(&relay).await?;
    let mut bad = visitor_hello("demo", "wechat-claim", None);
    bad["channel"] = json!("wechat");
    w.send(bad).await?;
    let e = w.until_type("error").await?;
    assert_eq!(e["code"], "bad_frame", "{e}");
    let (s, _) = api(
        &relay,
        DEMO_TOKEN,
        "GET",
        "/v1/api/sites/demo/visitors/wechat-claim",
        None,
    )
    .await?;
    assert_eq!(s, 404, "nothing stored for a refused hello");

    let patch = json!({"allowed_origins": ["https://shop.example.com"]});
    let (s, _) = api(
        &relay,
        DEMO_TOKEN,
        "PATCH",
        "/v1/api/sites/demo",
        Some(patch),
    )
    .await?;
    assert_eq!(s, 200);
    let hello_from = |origin: String, visitor: &str| {
        let mut h = visitor_hello("demo", visitor, None);
        h["channel"] = json!("page");
        let url = relay.http("/v1/send");
        async move {
            let r: Value = reqwest::Client::new()
                .post(url)
                .header("origin", origin)
                .body(h.to_string())
                .send()
                .await?
                .json()
                .await?;
            anyhow::Ok(r)
        }
    };
    let own = hello_from(format!("http://{}", relay.addr), "own-origin").await?;
    assert_eq!(own["frames"][0]["type"], "welcome", "{own}");
    let other = hello_from("https://elsewhere.example".into(), "other-origin").await?;
    assert_eq!(other["frames"][0]["code"], "origin_not_allowed", "{other}");
    Ok(())
}

/// Both QR codes carry the chat link at the address the relay was reached
/// at: the PNG decodes back to it, the SVG is a well-formed SVG document.
#[tokio::test]
async fn the_qr_codes_carry_the_chat_link() -> Result<()> {
    let relay = Relay::start(BIN, &[]).await?;
    let want = format!("http://{}/chat/demo", relay.addr);
    let (s, snippet) = api(
        &relay,
        DEMO_TOKEN,
        "GET",
        "/v1/api/sites/demo/snippet",
        None,
    )
    .await?;
    assert_eq!(s, 200);
    assert_eq!(snippet["chat_url"], want.as_str(), "{snippet}");

    let r = reqwest::get(relay.http("/chat/demo/qr.png")).await?;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    let png = r.bytes().await?;
    let img = image::load_from_memory(&png)?.to_luma8();
    let (w, h) = img.dimensions();
    let mut prepared =
        rqrr::PreparedImage::prepare_from_greyscale(w as usize, h as usize, |x, y| {
            img.get_pixel(x as u32, y as u32).0[0]
        });
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the PNG");
    let (_, content) = grids[0].decode().map_err(|e| anyhow!("decode: {e:?}"))?;
    assert_eq!(content, want);

    let (s, kind, svg) = get(&relay, "/chat/demo/qr.svg").await?;
    assert_eq!(s, 200);
    assert_eq!(kind, "image/svg+xml");
    let svg = svg.trim();
    assert!(svg.starts_with("<?xml") || svg.starts_with("<svg"), "{svg}");
    assert!(
        svg.contains("xmlns=\"http://www.w3.org/2000/svg\""),
        "{svg}"
    );
    assert!(svg.ends_with("</svg>"), "{svg}");
    well_formed(svg)?;
    Ok(())
}

/// A small XML well-formedness check: every tag closes in order, attributes
/// are quoted, nothing is left open. (The SVG has no text content or
/// entities; the browser test renders it as well.)
fn well_formed(xml: &str) -> Result<()> {
    let mut stack: Vec<String> = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find('<') {
        let after = &rest[i + 1..];
        let end = after.find('>').ok_or_else(|| anyhow!("unclosed tag"))?;
        let tag = &after[..end];
        rest = &after[end + 1..];
        if tag.starts_with('?') || tag.starts_with('!') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            let open = stack
                .pop()
                .ok_or_else(|| anyhow!("</{name}> closes nothing"))?;
            anyhow::ensure!(open == name.trim(), "<{open}> closed by </{name}>");
            continue;
        }
        let self_closing = tag.ends_with('/');
        let body = tag.trim_end_matches('/');
        let name = body.split_whitespace().next().unwrap_or("").to_string();
        anyhow::ensure!(!name.is_empty(), "empty tag");
        anyhow::ensure!(
            body.matches('"').count().is_multiple_of(2),
            "unbalanced quotes in <{body}>"
        );
        if !self_closing {
            stack.push(name);
        }
    }
    anyhow::ensure!(stack.is_empty(), "left open: {stack:?}");
    anyhow::ensure!(rest.trim().is_empty(), "text after the root");
    Ok(())
}
