//! Accounts and the HTTP API over real HTTP: login, roles, membership,
//! settings, conversations, and one test per isolation rule — each fails if
//! its check is removed.

use crate::BIN;
use anyhow::Result;
use serde_json::{json, Value};
use std::time::Duration;
use tests::frames::*;
use tests::mail::smtp::Smtp;
use tests::{message_text, Relay, Ws};

const OWNER: (&str, &str) = ("owner@example.com", "owner-password-1");

struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    async fn login(relay: &Relay, email: &str, password: &str) -> Result<Api> {
        Ok(Api {
            http: reqwest::Client::new(),
            base: relay.http(""),
            token: relay.login(email, password).await?,
        })
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<(u16, Value)> {
        let m = reqwest::Method::from_bytes(method.as_bytes())?;
        let mut req = self
            .http
            .request(m, format!("{}{}", self.base, path))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await?;
        let status = r.status().as_u16();
        let text = r.text().await?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }
}

/// A relay with the owner of `demo` (password login), a second site
/// `other` with its own agent, and a plain agent on `demo`.
async fn setup() -> Result<(Relay, Api, Api, Api)> {
    let mut relay = Relay::start(BIN, &["--demo-password", OWNER.1]).await?;
    relay
        .add_site_with_agent("other", "Olga", "olga@other.example", "olga-password", true)
        .await?;
    let owner = Api::login(&relay, OWNER.0, OWNER.1).await?;
    let (s, _) = owner
        .call("POST", "/v1/api/agents", Some(json!({"name": "Ann", "email": "ann@example.com", "password": "ann-password", "sites": ["demo"]})))
        .await?;
    anyhow::ensure!(s == 201, "add agent: {s}");
    let ann = Api::login(&relay, "ann@example.com", "ann-password").await?;
    let olga = Api::login(&relay, "olga@other.example", "olga-password").await?;
    Ok((relay, owner, ann, olga))
}

/// A conversation on `demo` with one visitor message; returns (conv, visitor).
async fn demo_conversation(relay: &Relay) -> Result<(String, String)> {
    let mut v = Ws::connect(relay).await?;
    v.hello(visitor_hello("demo", "api-vis", None)).await?;
    v.send(page("https://shop.example/a", "A")).await?;
    v.send(send("m1", "I need help")).await?;
    let conv = v.until_type("ack").await?["conv"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    Ok((conv, "api-vis".into()))
}

#[tokio::test]
async fn login_logout_password_and_bad_tokens() -> Result<()> {
    let (relay, owner, ann, _) = setup().await?;
    let (s, me) = owner.call("GET", "/v1/api/me", None).await?;
    assert_eq!(
        (s, me["role"].clone(), me["email"].clone()),
        (200, json!("owner"), json!(OWNER.0))
    );
    assert!(
        me.get("password").is_none(),
        "the hash never leaves the store"
    );
    // Wrong password and unknown e-mail look the same.
    let http = reqwest::Client::new();
    for body in [
        json!({"email": OWNER.0, "password": "nope-nope"}),
        json!({"email": "who@x.example", "password": "nope-nope"}),
    ] {
        let r = http
            .post(relay.http("/v1/api/login"))
            .json(&body)
            .send()
            .await?;
        assert_eq!(r.status(), 401);
        assert_eq!(r.json::<Value>().await?["code"], "unauthorized");
    }
    // Garbage and missing tokens.
    let r = http
        .get(relay.http("/v1/api/me"))
        .bearer_auth("garbage")
        .send()
        .await?;
    assert_eq!(r.status(), 401);
    assert_eq!(
        http.get(relay.http("/v1/api/me")).send().await?.status(),
        401
    );
    // Password change: old one stops working, new one works.
    let (s, _) = ann
        .call(
            "POST",
            "/v1/api/me/password",
            Some(json!({"current": "wrong-one", "new": "ann-new-password"})),
        )
        .await?;
    // 403, not 401: the session is fine, and a console must not sign out.
    assert_eq!(s, 403);
    let (s, _) = ann
        .call(
            "POST",
            "/v1/api/me/password",
            Some(json!({"current": "ann-password", "new": "short"})),
        )
        .await?;
    assert_eq!(s, 400);
    let (s, _) = ann
        .call(
            "POST",
            "/v1/api/me/password",
            Some(json!({"current": "ann-password", "new": "ann-new-password"})),
        )
        .await?;
    assert_eq!(s, 204);
    assert!(Api::login(&relay, "ann@example.com", "ann-password")
        .await
        .is_err());
    let ann2 = Api::login(&relay, "ann@example.com", "ann-new-password").await?;
    // Logout revokes exactly that token.
    assert_eq!(ann2.call("POST", "/v1/api/logout", None).await?.0, 204);
    assert_eq!(ann2.call("GET", "/v1/api/me", None).await?.0, 401);
    assert_eq!(ann.call("GET", "/v1/api/me", None).await?.0, 200);
    // A logged-out token cannot open a WebSocket either.
    let mut a = Ws::connect(&relay).await?;
    a.send(agent_hello(&ann2.token)).await?;
    assert_eq!(a.until_type("error").await?["code"], "bad_token");
    Ok(())
}

#[tokio::test]
async fn login_attempts_are_rate_limited() -> Result<()> {
    let relay = Relay::start(BIN, &["--demo-password", OWNER.1]).await?;
    let http = reqwest::Client::new();
    let mut last = None;
    for _ in 0..protocol::limits::MAX_LOGINS_PER_ACCOUNT_PER_MINUTE + 1 {
        let r = http
            .post(relay.http("/v1/api/login"))
            .json(&json!({"email": OWNER.0, "password": "wrong-password"}))
            .send()
            .await?;
        last = Some((
            r.status().as_u16(),
            r.headers().get("retry-after").cloned(),
            r.json::<Value>().await?,
        ));
    }
    let (status, retry, body) = last.expect("responses");
    assert_eq!(status, 429);
    assert!(retry.is_some(), "Retry-After");
    assert_eq!(body["code"], "rate_limited");
    // Even the right password waits out the window.
    let r = http
        .post(relay.http("/v1/api/login"))
        .json(&json!({"email": OWNER.0, "password": OWNER.1}))
        .send()
        .await?;
    assert_eq!(r.status(), 429);
    Ok(())
}

/// Rule: an agent reads only the sites it belongs to.
#[tokio::test]
async fn isolation_sites() -> Result<()> {
    let (_relay, owner, _ann, olga) = setup().await?;
    let (_, sites) = olga.call("GET", "/v1/api/sites", None).await?;
    let ids: Vec<&str> = sites
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["id"].as_str())
        .collect();
    assert_eq!(ids, vec!["other"]);
    assert_eq!(olga.call("GET", "/v1/api/sites/demo", None).await?.0, 404);
    assert_eq!(
        olga.call("GET", "/v1/api/sites/demo/snippet", None)
            .await?
            .0,
        404
    );
    assert_eq!(owner.call("GET", "/v1/api/sites/other", None).await?.0, 404);
    Ok(())
}

/// Rule: an agent never changes another site's settings or secret.
#[tokio::test]
async fn isolation_site_settings() -> Result<()> {
    let (_relay, owner, _ann, olga) = setup().await?;
    let (s, _) = olga
        .call(
            "PATCH",
            "/v1/api/sites/demo",
            Some(json!({"name": "pwned"})),
        )
        .await?;
    assert_eq!(s, 404);
    assert_eq!(
        olga.call("POST", "/v1/api/sites/demo/rotate-secret", None)
            .await?
            .0,
        404
    );
    let (_, demo) = owner.call("GET", "/v1/api/sites/demo", None).await?;
    assert_eq!(demo["name"], "Demo site");
    Ok(())
}

/// Rule: settings, agents and sites are managed by owners only.
#[tokio::test]
async fn isolation_owner_only() -> Result<()> {
    let (_relay, owner, ann, _) = setup().await?;
    assert_eq!(
        ann.call("PATCH", "/v1/api/sites/demo", Some(json!({"name": "x"})))
            .await?
            .0,
        403
    );
    assert_eq!(
        ann.call("POST", "/v1/api/sites/demo/rotate-secret", None)
            .await?
            .0,
        403
    );
    assert_eq!(ann.call("GET", "/v1/api/agents", None).await?.0, 403);
    let body = json!({"name": "Eve", "email": "eve@example.com", "password": "eve-password", "sites": ["demo"]});
    assert_eq!(ann.call("POST", "/v1/api/agents", Some(body)).await?.0, 403);
    assert_eq!(
        ann.call(
            "POST",
            "/v1/api/sites",
            Some(json!({"id": "mine", "name": "Mine"}))
        )
        .await?
        .0,
        403
    );
    let (_, site) = ann.call("GET", "/v1/api/sites/demo", None).await?;
    assert!(site.get("secret").is_none(), "agents do not see the secret");
    let (_, site) = owner.call("GET", "/v1/api/sites/demo", None).await?;
    assert!(site["secret"].is_string());
    Ok(())
}

/// Rule: an owner manages agents only on its own sites.
#[tokio::test]
async fn isolation_agents_across_sites() -> Result<()> {
    let (_relay, owner, ann, olga) = setup().await?;
    let body = json!({"name": "Mallory", "email": "m@example.com", "password": "mallory-pass", "sites": ["demo"]});
    assert_eq!(
        olga.call("POST", "/v1/api/agents", Some(body)).await?.0,
        404,
        "cannot add to a site it does not belong to"
    );
    let (_, ann_me) = ann.call("GET", "/v1/api/me", None).await?;
    let ann_id = ann_me["id"].as_str().unwrap_or_default().to_string();
    assert_eq!(
        olga.call("DELETE", &format!("/v1/api/agents/{ann_id}"), None)
            .await?
            .0,
        404
    );
    let (_, list) = olga.call("GET", "/v1/api/agents", None).await?;
    assert!(list
        .as_array()
        .into_iter()
        .flatten()
        .all(|a| a["id"] != ann_id.as_str()));
    // The owner of demo can remove Ann; her token dies with her.
    assert_eq!(
        owner
            .call("DELETE", &format!("/v1/api/agents/{ann_id}"), None)
            .await?
            .0,
        204
    );
    assert_eq!(ann.call("GET", "/v1/api/me", None).await?.0, 401);
    Ok(())
}

/// Rule: an agent reads no conversation, history, visitor or stats of
/// another site.
#[tokio::test]
async fn isolation_conversations_and_visitors() -> Result<()> {
    let (relay, _owner, ann, olga) = setup().await?;
    let (conv, vid) = demo_conversation(&relay).await?;
    assert_eq!(
        olga.call("GET", "/v1/api/sites/demo/conversations", None)
            .await?
            .0,
        404
    );
    assert_eq!(
        olga.call("GET", &format!("/v1/api/conversations/{conv}/events"), None)
            .await?
            .0,
        404
    );
    assert_eq!(
        olga.call("GET", &format!("/v1/api/sites/demo/visitors/{vid}"), None)
            .await?
            .0,
        404
    );
    assert_eq!(
        olga.call("GET", "/v1/api/sites/demo/stats", None).await?.0,
        404
    );
    assert_eq!(
        olga.call("GET", "/v1/api/sites/demo/canned", None).await?.0,
        404
    );
    // The member sees them.
    let (s, evs) = ann
        .call("GET", &format!("/v1/api/conversations/{conv}/events"), None)
        .await?;
    assert_eq!(s, 200);
    assert_eq!(evs["events"][0]["text"], "I need help");
    Ok(())
}

/// Rule: an agent never writes to another site's conversations, and
/// assigns only to agents of the conversation's site.
#[tokio::test]
async fn isolation_conversation_writes() -> Result<()> {
    let (relay, _owner, ann, olga) = setup().await?;
    let (conv, _) = demo_conversation(&relay).await?;
    let (_, olga_me) = olga.call("GET", "/v1/api/me", None).await?;
    for path in ["close", "reopen"] {
        assert_eq!(
            olga.call(
                "POST",
                &format!("/v1/api/conversations/{conv}/{path}"),
                None
            )
            .await?
            .0,
            404
        );
    }
    assert_eq!(
        olga.call(
            "POST",
            &format!("/v1/api/conversations/{conv}/assign"),
            Some(json!({"agent": null}))
        )
        .await?
        .0,
        404
    );
    // Ann may not hand the conversation to an agent of another site.
    let (s, _) = ann
        .call(
            "POST",
            &format!("/v1/api/conversations/{conv}/transfer"),
            Some(json!({"agent": olga_me["id"]})),
        )
        .await?;
    assert_eq!(s, 404);
    let (_, evs) = ann
        .call("GET", &format!("/v1/api/conversations/{conv}/events"), None)
        .await?;
    assert_eq!(
        evs["events"].as_array().map(Vec::len),
        Some(1),
        "nothing was written"
    );
    Ok(())
}

/// Conversations: filters, assign / transfer / close / reopen as events the
/// visitor sees, paged history, canned replies, visitor profile, stats.
#[tokio::test]
async fn conversations_canned_profile_stats() -> Result<()> {
    let (relay, owner, ann, _) = setup().await?;
    let mut v = Ws::connect(&relay).await?;
    v.hello(visitor_hello("demo", "api-vis", None)).await?;
    v.send(page("https://shop.example/a", "A")).await?;
    v.send(send("m1", "I need help")).await?;
    let conv = v.until_type("ack").await?["conv"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let (_, unassigned) = ann
        .call(
            "GET",
            "/v1/api/sites/demo/conversations?status=unassigned",
            None,
        )
        .await?;
    assert_eq!(unassigned["convs"][0]["id"], conv.as_str());
    let (_, ann_me) = ann.call("GET", "/v1/api/me", None).await?;
    let (s, c) = ann
        .call(
            "POST",
            &format!("/v1/api/conversations/{conv}/assign"),
            Some(json!({"agent": ann_me["id"]})),
        )
        .await?;
    assert_eq!((s, c["assignee"].clone()), (200, ann_me["id"].clone()));
    let (_, mine) = ann
        .call("GET", "/v1/api/sites/demo/conversations?status=mine", None)
        .await?;
    assert_eq!(mine["convs"].as_array().map(Vec::len), Some(1));
    let (_, none) = ann
        .call(
            "GET",
            "/v1/api/sites/demo/conversations?status=unassigned",
            None,
        )
        .await?;
    assert_eq!(none["convs"].as_array().map(Vec::len), Some(0));
    let (_, owner_me) = owner.call("GET", "/v1/api/me", None).await?;
    let (s, c) = ann
        .call(
            "POST",
            &format!("/v1/api/conversations/{conv}/transfer"),
            Some(json!({"agent": owner_me["id"]})),
        )
        .await?;
    assert_eq!((s, c["assignee"].clone()), (200, owner_me["id"].clone()));
    let assigned = v
        .until(|f| f["kind"] == "assigned" && f["to"]["id"] == owner_me["id"])
        .await?;
    assert_eq!(assigned["by"]["name"], "Ann");
    assert_eq!(
        ann.call("POST", &format!("/v1/api/conversations/{conv}/close"), None)
            .await?
            .0,
        200
    );
    v.until(|f| f["kind"] == "closed").await?;
    let (_, closed) = ann
        .call(
            "GET",
            "/v1/api/sites/demo/conversations?status=closed",
            None,
        )
        .await?;
    assert_eq!(closed["convs"][0]["id"], conv.as_str());
    assert_eq!(
        ann.call(
            "POST",
            &format!("/v1/api/conversations/{conv}/reopen"),
            None
        )
        .await?
        .0,
        200
    );
    v.until(|f| f["kind"] == "reopened").await?;
    let (_, page1) = ann
        .call(
            "GET",
            &format!("/v1/api/conversations/{conv}/events?after=0&limit=2"),
            None,
        )
        .await?;
    assert_eq!(
        (
            page1["events"].as_array().map(Vec::len),
            page1["more"].clone()
        ),
        (Some(2), json!(true))
    );
    let (_, page2) = ann
        .call(
            "GET",
            &format!("/v1/api/conversations/{conv}/events?after=2&limit=10"),
            None,
        )
        .await?;
    let kinds: Vec<&str> = page2["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(kinds, vec!["assigned", "closed", "reopened"]);

    let (s, c) = ann
        .call(
            "POST",
            "/v1/api/sites/demo/canned",
            Some(json!({"shortcut": "/hours", "text": "We're open 9–17."})),
        )
        .await?;
    assert_eq!((s, c["shortcut"].clone()), (201, json!("hours")));
    assert_eq!(
        ann.call(
            "POST",
            "/v1/api/sites/demo/canned",
            Some(json!({"shortcut": "hours", "text": "again"}))
        )
        .await?
        .0,
        409
    );
    let (_, list) = ann.call("GET", "/v1/api/sites/demo/canned", None).await?;
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    let cid = c["id"].as_str().unwrap_or_default();
    assert_eq!(
        ann.call("DELETE", &format!("/v1/api/sites/demo/canned/{cid}"), None)
            .await?
            .0,
        204
    );
    assert_eq!(
        ann.call("DELETE", &format!("/v1/api/sites/demo/canned/{cid}"), None)
            .await?
            .0,
        404
    );

    let (s, p) = ann
        .call("GET", "/v1/api/sites/demo/visitors/api-vis", None)
        .await?;
    assert_eq!(s, 200);
    assert_eq!(p["pages"][0]["url"], "https://shop.example/a");
    assert_eq!(p["conversations"][0]["id"], conv.as_str());
    assert_eq!(p["online"], true);

    let mut a = Ws::connect(&relay).await?;
    a.hello(agent_hello(&ann.token)).await?;
    a.send(send_to(&conv, "r1", "Happy to help")).await?;
    a.until_type("ack").await?;
    let (s, st) = ann
        .call("GET", "/v1/api/sites/demo/stats?days=7", None)
        .await?;
    assert_eq!(s, 200);
    let today = &st["days"][6];
    assert_eq!(
        (
            today["messages"].clone(),
            today["conversations"].clone(),
            today["visitors"].clone()
        ),
        (json!(2), json!(1), json!(1))
    );
    assert_eq!(st["first_response_ms"]["count"], 1);
    let got = v
        .until(|f| message_text(f) == Some("Happy to help"))
        .await?;
    assert_eq!(got["from"]["name"], "Ann");
    Ok(())
}

/// Settings: widget settings reach the visitor; allowed origins are
/// enforced on WebSocket and long-poll hellos.
#[tokio::test]
async fn settings_reach_the_widget_and_origins_are_enforced() -> Result<()> {
    let (relay, owner, _, _) = setup().await?;
    let patch = json!({
        "allowed_origins": ["https://shop.example.com"],
        "widget": {"color": "#ff6600", "position": "left", "greeting": "Hallo!", "offline_message": "", "language": "zh-CN"}
    });
    let (s, site) = owner
        .call("PATCH", "/v1/api/sites/demo", Some(patch))
        .await?;
    assert_eq!(
        (s, site["widget"]["color"].clone()),
        (200, json!("#ff6600"))
    );
    for bad in [
        json!({"allowed_origins": ["shop.example.com"]}),
        json!({"widget": {"color": "red; x", "position": "left"}}),
        json!({"widget": {"color": "#fff", "position": "left", "language": "fr"}}),
    ] {
        assert_eq!(
            owner
                .call("PATCH", "/v1/api/sites/demo", Some(bad))
                .await?
                .0,
            400
        );
    }
    let ws_with_origin = |origin: &'static str| {
        let url = relay.ws_url();
        async move {
            use tokio_tungstenite::tungstenite::client::IntoClientRequest;
            let mut req = url.into_client_request()?;
            req.headers_mut().insert("origin", origin.parse()?);
            let (mut ws, _) = tokio_tungstenite::connect_async(req).await?;
            use futures_util::{SinkExt, StreamExt};
            ws.send(
                visitor_hello("demo", &format!("o-{}", origin.len()), None)
                    .to_string()
                    .into(),
            )
            .await?;
            let msg = ws.next().await.ok_or_else(|| anyhow::anyhow!("closed"))??;
            Ok::<Value, anyhow::Error>(serde_json::from_str(msg.to_text()?)?)
        }
    };
    let evil = ws_with_origin("https://evil.example").await?;
    assert_eq!(evil["code"], "origin_not_allowed");
    let good = ws_with_origin("https://shop.example.com").await?;
    assert_eq!(good["type"], "welcome");
    assert_eq!(good["settings"]["language"], "zh-CN");
    assert_eq!(good["settings"]["greeting"], "Hallo!");
    let http = reqwest::Client::new();
    let r: Value = http
        .post(relay.http("/v1/send"))
        .header("origin", "https://evil.example")
        .body(visitor_hello("demo", "lp-evil", None).to_string())
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(r["frames"][0]["code"], "origin_not_allowed");
    Ok(())
}

/// Every route the relay serves is described in the OpenAPI document.
#[tokio::test]
async fn openapi_describes_every_route() -> Result<()> {
    let relay = Relay::start(BIN, &[]).await?;
    let doc: Value = reqwest::get(relay.http("/v1/api/openapi.json"))
        .await?
        .json()
        .await?;
    assert_eq!(doc["openapi"], "3.0.3");
    let mut routes: Vec<(&str, &str)> = relay::api::ROUTES.to_vec();
    routes.extend([
        ("GET", "/healthz"),
        ("GET", "/metrics"),
        ("GET", "/v1/ws"),
        ("POST", "/v1/send"),
        ("GET", "/v1/poll"),
        ("GET", "/"),
        ("GET", "/widget/{file}"),
        ("GET", "/demo/{file}"),
        ("GET", "/console/"),
        ("GET", "/chat/{site}"),
        ("GET", "/chat/{site}/qr.svg"),
        ("GET", "/chat/{site}/qr.png"),
        ("GET", "/v1/mail/unsubscribe"),
        ("POST", "/v1/mail/unsubscribe"),
        ("GET", "/v1/mail/rate"),
        ("POST", "/v1/mail/rate"),
        ("GET", "/v1/mail/password-reset"),
        ("POST", "/v1/mail/password-reset"),
    ]);
    for (method, path) in &routes {
        let op = &doc["paths"][*path][method.to_ascii_lowercase()];
        assert!(op.is_object(), "{method} {path} is not in openapi.json");
    }
    // And every API route listed really exists: it answers JSON (its own
    // answer or error, here mostly 401 without a token), never the
    // catch-all 404 "no such path". A body that is not JSON fails.
    let http = reqwest::Client::new();
    for (method, path) in relay::api::ROUTES {
        let concrete = path
            .replace("{site}", "demo")
            .replace("{conv}", "01ARZ3NDEKTSV4RRFFQ69G5FAV")
            .replace("{agent}", "x")
            .replace("{id}", "x")
            .replace("{visitor}", "x")
            .replace("{label}", "x")
            .replace("{hook}", "x")
            .replace("{delivery}", "x")
            .replace("{key}", "x")
            .replace("{block}", "x")
            .replace("{file}", "01ARZ3NDEKTSV4RRFFQ69G5FAV");
        assert!(!concrete.contains('{'), "placeholder left in {concrete}");
        let r = http
            .request(
                reqwest::Method::from_bytes(method.as_bytes())?,
                relay.http(&concrete),
            )
            .send()
            .await?;
        let status = r.status();
        let json_type = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("application/json"));
        let text = r.text().await?;
        let body: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{method} {path}: {status}, not JSON ({e}): {text:.200}"));
        assert!(
            json_type,
            "{method} {path}: {status} without a JSON content type"
        );
        assert!(body.is_object(), "{method} {path}: {status} {body}");
        assert_ne!(
            body["message"], "no such path",
            "{method} {path} is not served"
        );
    }
    Ok(())
}

/// Visitor sends and page views are limited per visitor and per IP; the
/// refusal names the cid, and nothing over the limit is stored.
#[tokio::test]
async fn visitor_sends_and_page_views_are_rate_limited() -> Result<()> {
    let relay = Relay::start(BIN, &[]).await?;
    let mut v = Ws::connect(&relay).await?;
    v.hello(visitor_hello("demo", "rl-1", None)).await?;
    let per_visitor = protocol::limits::MAX_VISITOR_SENDS_PER_MINUTE as usize;
    let mut conv = String::new();
    for i in 0..per_visitor {
        v.send(send(&format!("m{i}"), "hi")).await?;
        conv = v.until_type("ack").await?["conv"]
            .as_str()
            .unwrap_or_default()
            .to_string();
    }
    v.send(send("over", "one too many")).await?;
    let e = v.until(|f| f["type"] == "error").await?;
    assert_eq!(
        (e["code"].clone(), e["cid"].clone()),
        (json!("rate_limited"), json!("over"))
    );
    for i in 0..protocol::limits::MAX_PAGE_VIEWS_PER_MINUTE {
        v.send(page(&format!("https://shop.example/{i}"), "p"))
            .await?;
    }
    v.send(page("https://shop.example/over", "p")).await?;
    assert_eq!(
        v.until(|f| f["type"] == "error").await?["code"],
        "rate_limited"
    );
    // Per IP: many visitor ids from one address share one budget.
    let per_ip = protocol::limits::MAX_PAGE_VIEWS_PER_IP_PER_MINUTE as usize;
    let mut limited = false;
    let mut sent = protocol::limits::MAX_PAGE_VIEWS_PER_MINUTE as usize + 1;
    let mut n = 0;
    while sent <= per_ip + 1 && !limited {
        let mut w = Ws::connect(&relay).await?;
        w.hello(visitor_hello("demo", &format!("rl-ip-{n}"), None))
            .await?;
        n += 1;
        for i in 0..50 {
            w.send(page(&format!("https://shop.example/ip/{i}"), "p"))
                .await?;
            sent += 1;
        }
        w.send(json!({"type": "ping"})).await?;
        let f = w
            .until(|f| f["type"] == "pong" || f["type"] == "error")
            .await?;
        limited = f["code"] == "rate_limited";
    }
    assert!(
        limited,
        "per-IP page views were never limited ({sent} sent)"
    );
    // Nothing past the send limit was stored.
    let mut a = Ws::connect(&relay).await?;
    a.hello(agent_hello(tests::DEMO_TOKEN)).await?;
    a.send(json!({"type": "sync", "conv": conv, "after": 0}))
        .await?;
    let synced = a.until_type("synced").await?;
    assert_eq!(synced["seq"], per_visitor as u64);
    Ok(())
}

/// A visitor of `site` with one message sent: (socket, conv, visitor token).
async fn visitor_on(relay: &Relay, site: &str, id: &str) -> Result<(Ws, String, String)> {
    let mut v = Ws::connect(relay).await?;
    let w = v.hello(visitor_hello(site, id, None)).await?;
    let token = w["token"].as_str().unwrap_or_default().to_string();
    v.send(send(&format!("{id}-1"), "Hello?")).await?;
    let conv = v.until_type("ack").await?["conv"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    Ok((v, conv, token))
}

/// The next message event the socket gets with this text.
async fn message_named(ws: &mut Ws, text: &str) -> Result<Value> {
    ws.until(|f| message_text(f) == Some(text)).await
}

/// Renames: an agent renames themselves (their live session's next message
/// carries the new name to the visitor, without a reconnect; the earlier
/// message keeps the old one), an owner renames agents of their sites and
/// the site, bad names change nothing, nobody renames across sites or
/// roles; and the first sign-in question is asked of the demo owner until
/// they name themselves.
#[tokio::test]
async fn renames_reach_visitors_and_are_checked() -> Result<()> {
    let (relay, owner, ann, olga) = setup().await?;
    let (_, me) = owner.call("GET", "/v1/api/me", None).await?;
    assert_eq!(me["welcome"], true, "the demo owner is asked: {me}");
    let (_, ann_me) = ann.call("GET", "/v1/api/me", None).await?;
    assert!(
        ann_me.get("welcome").is_none(),
        "agents are not asked: {ann_me}"
    );
    let (_, olga_me) = olga.call("GET", "/v1/api/me", None).await?;
    assert!(
        olga_me.get("welcome").is_none(),
        "a named owner is not asked"
    );
    let ann_id = ann_me["id"].as_str().unwrap_or_default().to_string();
    let owner_id = me["id"].as_str().unwrap_or_default().to_string();

    let (mut v, conv, _) = visitor_on(&relay, "demo", "rename-vis").await?;
    let mut a = Ws::connect(&relay).await?;
    a.hello(agent_hello(&ann.token)).await?;
    a.send(send_to(&conv, "r1", "Before")).await?;
    a.until_type("ack").await?;
    assert_eq!(
        message_named(&mut v, "Before").await?["from"]["name"],
        "Ann"
    );

    let path = format!("/v1/api/agents/{ann_id}");
    let (s, b) = ann
        .call("PATCH", &path, Some(json!({"name": "  Ann Lee "})))
        .await?;
    assert_eq!((s, b["name"].clone()), (200, json!("Ann Lee")));
    a.send(send_to(&conv, "r2", "After")).await?;
    a.until_type("ack").await?;
    assert_eq!(
        message_named(&mut v, "After").await?["from"]["name"],
        "Ann Lee",
        "the same session's next message carries the new name"
    );
    // The earlier message keeps the name it was sent under.
    let (_, page) = ann
        .call("GET", &format!("/v1/api/conversations/{conv}/events"), None)
        .await?;
    let before = page["events"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["text"] == "Before")
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(before["from"]["name"], "Ann", "{page}");

    // Bad names are refused and change nothing.
    for bad in [
        json!(""),
        json!("   "),
        json!("Ann\nLee"),
        json!("x".repeat(129)),
    ] {
        let (s, b) = ann.call("PATCH", &path, Some(json!({"name": bad}))).await?;
        assert_eq!((s, b["code"].clone()), (400, json!("bad_request")), "{bad}");
    }
    assert_eq!(
        ann.call("GET", "/v1/api/me", None).await?.1["name"],
        "Ann Lee"
    );
    // An agent renames nobody else; an owner of another site cannot see Ann.
    let (s, _) = ann
        .call(
            "PATCH",
            &format!("/v1/api/agents/{owner_id}"),
            Some(json!({"name": "Boss"})),
        )
        .await?;
    assert_eq!(s, 403);
    assert_eq!(
        olga.call("PATCH", &path, Some(json!({"name": "Hacked"})))
            .await?
            .0,
        404
    );
    // The owner renames Ann; the site's team list shows it.
    let (s, _) = owner
        .call("PATCH", &path, Some(json!({"name": "Annie"})))
        .await?;
    assert_eq!(s, 200);
    let (_, team) = owner.call("GET", "/v1/api/sites/demo/agents", None).await?;
    assert!(
        team.as_array()
            .into_iter()
            .flatten()
            .any(|t| t["name"] == "Annie"),
        "{team}"
    );
    // Ann was renamed, not self-named: the owner's rename is no answer to
    // a first sign-in question (agents are never asked anyway).

    // Site names: owners only, checked alike.
    let (s, b) = owner
        .call(
            "PATCH",
            "/v1/api/sites/demo",
            Some(json!({"name": "Shop\u{7}"})),
        )
        .await?;
    assert_eq!((s, b["code"].clone()), (400, json!("bad_request")));
    assert_eq!(
        ann.call("PATCH", "/v1/api/sites/demo", Some(json!({"name": "Mine"})))
            .await?
            .0,
        403
    );
    let (s, b) = owner
        .call(
            "PATCH",
            "/v1/api/sites/demo",
            Some(json!({"name": "Acme Shop"})),
        )
        .await?;
    assert_eq!((s, b["name"].clone()), (200, json!("Acme Shop")));
    // Still "Demo Agent": still asked, on any browser (a fresh login too).
    let owner2 = Api::login(&relay, OWNER.0, OWNER.1).await?;
    assert_eq!(
        owner2.call("GET", "/v1/api/me", None).await?.1["welcome"],
        true
    );
    let (s, _) = owner
        .call(
            "PATCH",
            &format!("/v1/api/agents/{owner_id}"),
            Some(json!({"name": "Olivia"})),
        )
        .await?;
    assert_eq!(s, 200);
    let (_, me) = owner2.call("GET", "/v1/api/me", None).await?;
    assert_eq!(
        (me["name"].clone(), me.get("welcome")),
        (json!("Olivia"), None)
    );
    Ok(())
}

fn test_png(w: u32, h: u32) -> Result<Vec<u8>> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)?;
    Ok(out.into_inner())
}

/// `PUT /v1/api/me/avatar` with `body` (claimed to be a PNG).
async fn put_avatar(relay: &Relay, token: &str, body: Vec<u8>) -> Result<(u16, Value)> {
    let r = reqwest::Client::new()
        .put(relay.http("/v1/api/me/avatar"))
        .bearer_auth(token)
        .header("content-type", "image/png")
        .body(body)
        .send()
        .await?;
    let s = r.status().as_u16();
    Ok((s, r.json().await.unwrap_or(Value::Null)))
}

/// Avatars: an image is stored as the relay's 128 px square; what is not
/// an image by its bytes (an SVG claiming to be a PNG, text) and what is
/// too big are refused and change nothing; the picture is served to the
/// agent, colleagues and the site's visitors, and to nobody of another
/// site; removing it brings initials back (no URL).
#[tokio::test]
async fn avatars_are_checked_and_seen_by_the_right_people() -> Result<()> {
    let (relay, owner, ann, olga) = setup().await?;
    let (_, _, demo_visitor) = visitor_on(&relay, "demo", "av-vis").await?;
    let (_, _, other_visitor) = visitor_on(&relay, "other", "av-vis2").await?;
    let (s, me) = put_avatar(&relay, &ann.token, test_png(300, 200)?).await?;
    assert_eq!(s, 200, "{me}");
    let url = me["avatar"].as_str().unwrap_or_default().to_string();
    assert!(url.starts_with("/v1/avatars/"), "{me}");
    let http = reqwest::Client::new();
    let get = |q: String| {
        let http = http.clone();
        let u = relay.http(&format!("{url}&{q}"));
        async move {
            let r = http.get(u).send().await?;
            let s = r.status().as_u16();
            let t = r
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            let nosniff = r.headers().get("x-content-type-options").is_some();
            anyhow::Ok((s, t, nosniff, r.bytes().await?.to_vec()))
        }
    };
    let (s, t, nosniff, bytes) = get(format!("token={}", ann.token)).await?;
    assert_eq!((s, t.as_str(), nosniff), (200, "image/jpeg", true));
    let img = image::load_from_memory(&bytes)?;
    assert_eq!(
        (img.width(), img.height()),
        (128, 128),
        "a square of AVATAR_SIDE"
    );
    assert_eq!(
        get(format!("token={}", owner.token)).await?.0,
        200,
        "a colleague"
    );
    assert_eq!(
        get(format!("site=demo&visitor=av-vis&token={demo_visitor}"))
            .await?
            .0,
        200,
        "the site's visitor"
    );
    assert_eq!(
        get(format!("token={}", olga.token)).await?.0,
        403,
        "another site's agent"
    );
    assert_eq!(
        get(format!("site=other&visitor=av-vis2&token={other_visitor}"))
            .await?
            .0,
        403,
        "another site's visitor"
    );
    assert_eq!(
        get(format!("site=demo&visitor=av-vis2&token={other_visitor}"))
            .await?
            .0,
        401,
        "another site's visitor token does not pass for this site"
    );
    assert_eq!(get(String::new()).await?.0, 401, "no credentials");
    // The team list carries the URL (the console shows it by messages).
    let (_, team) = owner.call("GET", "/v1/api/sites/demo/agents", None).await?;
    assert!(
        team.as_array()
            .into_iter()
            .flatten()
            .any(|t| t["avatar"] == url.as_str()),
        "{team}"
    );

    // Refusals change nothing.
    let svg = b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>".to_vec();
    let (s, b) = put_avatar(&relay, &ann.token, svg).await?;
    assert_eq!((s, b["code"].clone()), (415, json!("unsupported_type")));
    let (s, _) = put_avatar(&relay, &ann.token, b"just text, not a picture".to_vec()).await?;
    assert_eq!(s, 415);
    let mut big = test_png(64, 64)?;
    big.resize(protocol::limits::MAX_AVATAR_BYTES as usize + 1, 0);
    let (s, b) = put_avatar(&relay, &ann.token, big).await?;
    assert_eq!((s, b["code"].clone()), (413, json!("too_large")));
    assert_eq!(
        ann.call("GET", "/v1/api/me", None).await?.1["avatar"],
        url.as_str()
    );

    // Removed: no URL, and the old one finds nothing.
    let (s, me) = ann.call("DELETE", "/v1/api/me/avatar", None).await?;
    assert_eq!((s, me.get("avatar")), (200, None));
    assert_eq!(get(format!("token={}", ann.token)).await?.0, 404);
    Ok(())
}

/// A password change ends the agent's other sessions (API and live
/// socket hello) and keeps the one that made it; a wrong current password
/// changes nothing.
#[tokio::test]
async fn password_change_signs_out_other_sessions() -> Result<()> {
    let (relay, _owner, ann, _) = setup().await?;
    let laptop = Api::login(&relay, "ann@example.com", "ann-password").await?;
    let (s, _) = ann
        .call(
            "POST",
            "/v1/api/me/password",
            Some(json!({"current": "nope-nope", "new": "ann-second-pw"})),
        )
        .await?;
    assert_eq!(s, 403);
    assert_eq!(
        laptop.call("GET", "/v1/api/me", None).await?.0,
        200,
        "nothing changed"
    );
    let (s, _) = ann
        .call(
            "POST",
            "/v1/api/me/password",
            Some(json!({"current": "ann-password", "new": "ann-second-pw"})),
        )
        .await?;
    assert_eq!(s, 204);
    assert_eq!(
        ann.call("GET", "/v1/api/me", None).await?.0,
        200,
        "this session stays"
    );
    assert_eq!(
        laptop.call("GET", "/v1/api/me", None).await?.0,
        401,
        "the other one ended"
    );
    let mut a = Ws::connect(&relay).await?;
    a.send(agent_hello(&laptop.token)).await?;
    assert_eq!(a.until_type("error").await?["code"], "bad_token");
    Api::login(&relay, "ann@example.com", "ann-second-pw").await?;
    Ok(())
}

/// The `token` of a reset link.
fn token_of(link: &str) -> String {
    link.split_once("token=")
        .map(|(_, t)| t.split('&').next().unwrap_or_default())
        .map(|t| t.replace("%2E", ".").replace("%2e", "."))
        .unwrap_or_default()
}

async fn post_json(relay: &Relay, path: &str, body: Value) -> Result<(u16, Value)> {
    let r = reqwest::Client::new()
        .post(relay.http(path))
        .json(&body)
        .send()
        .await?;
    let s = r.status().as_u16();
    Ok((s, r.json().await.unwrap_or(Value::Null)))
}

/// "Forgot password?" through a real SMTP receiver: the same answer for
/// an agent's address and an unknown one (and a mail only to the agent),
/// a signed link whose page sets the password, ending every session; the
/// link works once, an altered one never, a short password is refused
/// and changes nothing; the page's own form works; requests are limited
/// per address, known or not; without SMTP the relay says so.
#[tokio::test]
async fn password_reset_by_mailed_link() -> Result<()> {
    let plain = Relay::start(BIN, &[]).await?;
    let r: Value = reqwest::get(plain.http("/v1/api/password-reset"))
        .await?
        .json()
        .await?;
    assert_eq!(r, json!({"mail": false}));
    let (s, _) = post_json(&plain, "/v1/api/password-reset", json!({"email": OWNER.0})).await?;
    assert_eq!(s, 403, "no mail, no reset: the CLI is the way");
    drop(plain);

    let smtp = Smtp::start().await?;
    let relay = Relay::start(
        BIN,
        &[
            "--demo-password",
            OWNER.1,
            "--smtp-url",
            &smtp.url(),
            "--mail-from",
            "Kefu <kefu@kefu.test>",
            "--mail-retry-ms",
            "200",
        ],
    )
    .await?;
    let r: Value = reqwest::get(relay.http("/v1/api/password-reset"))
        .await?
        .json()
        .await?;
    assert_eq!(r, json!({"mail": true}));
    let session = Api::login(&relay, OWNER.0, OWNER.1).await?;
    let known = post_json(
        &relay,
        "/v1/api/password-reset",
        json!({"email": " Owner@Example.com "}),
    )
    .await?;
    let unknown = post_json(
        &relay,
        "/v1/api/password-reset",
        json!({"email": "nobody@example.com"}),
    )
    .await?;
    assert_eq!(known.0, 202);
    assert_eq!(known, unknown, "no account probing");
    let mails = smtp.wait_for(OWNER.0, 1, Duration::from_secs(15)).await?;
    let link = mails[0].link("/v1/mail/password-reset").unwrap_or_default();
    assert!(link.contains("token="), "{}", mails[0].text);
    let token = token_of(&link);
    // The page shows a form and changes nothing.
    let page = reqwest::get(&link).await?.text().await?;
    assert!(page.contains("name=\"password\""), "{page}");
    assert_eq!(session.call("GET", "/v1/api/me", None).await?.0, 200);

    // Altered tokens and short passwords are refused.
    let mut altered = token.clone();
    let last = if altered.ends_with('0') { '1' } else { '0' };
    altered.pop();
    altered.push(last);
    let confirm = "/v1/api/password-reset/confirm";
    assert_eq!(
        post_json(
            &relay,
            confirm,
            json!({"token": altered, "password": "brand-new-pw"})
        )
        .await?
        .0,
        403
    );
    let (agent, rest) = token.split_once('.').unwrap_or_default();
    let (exp, sig) = rest.split_once('.').unwrap_or_default();
    let later: u64 = exp.parse::<u64>().unwrap_or_default() + 86_400;
    let extended = format!("{agent}.{later}.{sig}");
    assert_eq!(
        post_json(
            &relay,
            confirm,
            json!({"token": extended, "password": "brand-new-pw"})
        )
        .await?
        .0,
        403,
        "the expiry is signed"
    );
    assert_eq!(
        post_json(
            &relay,
            confirm,
            json!({"token": token, "password": "short"})
        )
        .await?
        .0,
        400
    );
    Api::login(&relay, OWNER.0, OWNER.1).await?;

    // The link sets the password once; every session ends.
    assert_eq!(
        post_json(
            &relay,
            confirm,
            json!({"token": token, "password": "brand-new-pw"})
        )
        .await?
        .0,
        204
    );
    assert_eq!(session.call("GET", "/v1/api/me", None).await?.0, 401);
    assert!(relay.login(OWNER.0, OWNER.1).await.is_err());
    relay.login(OWNER.0, "brand-new-pw").await?;
    let (s, b) = post_json(
        &relay,
        confirm,
        json!({"token": token, "password": "another-new-pw"}),
    )
    .await?;
    assert_eq!(
        (s, b["code"].clone()),
        (403, json!("forbidden")),
        "used once"
    );
    assert!(
        smtp.mails_to("nobody@example.com").is_empty(),
        "nothing to an unknown address"
    );

    // The page's own form, with the second request's link.
    assert_eq!(
        post_json(&relay, "/v1/api/password-reset", json!({"email": OWNER.0}))
            .await?
            .0,
        202
    );
    let mails = smtp.wait_for(OWNER.0, 2, Duration::from_secs(15)).await?;
    let link = mails[1].link("/v1/mail/password-reset").unwrap_or_default();
    let http = reqwest::Client::new();
    let r = http
        .post(&link)
        .form(&[
            ("password", "form-password-1"),
            ("again", "form-password-2"),
        ])
        .send()
        .await?;
    assert!(r.text().await?.contains("differ"), "mismatch shown");
    let r = http
        .post(&link)
        .form(&[
            ("password", "form-password-1"),
            ("again", "form-password-1"),
        ])
        .send()
        .await?;
    assert_eq!(r.status(), 200);
    relay.login(OWNER.0, "form-password-1").await?;

    // Limits count requests per address, agent's or not, and answer
    // alike: the owner's address has had 2, the unknown one 1, so each
    // gets 202s up to the limit (3 an hour) and then 429.
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for _ in 0..2 {
        known.push(
            post_json(&relay, "/v1/api/password-reset", json!({"email": OWNER.0}))
                .await?
                .0,
        );
    }
    for _ in 0..3 {
        unknown.push(
            post_json(
                &relay,
                "/v1/api/password-reset",
                json!({"email": "nobody@example.com"}),
            )
            .await?
            .0,
        );
    }
    assert_eq!(known, [202, 429]);
    assert_eq!(unknown, [202, 202, 429]);
    Ok(())
}

/// `kefu-relay password-reset` on the box: a given password, or a printed
/// random one; the agent's sessions end; a short password or an unknown
/// address is refused.
#[tokio::test]
async fn cli_password_reset() -> Result<()> {
    let (mut relay, _owner, ann, _) = setup().await?;
    relay.terminate().await?;
    assert!(relay
        .admin(&["password-reset", "--email", "nobody@example.com"])
        .is_err());
    assert!(relay
        .admin(&[
            "password-reset",
            "--email",
            "ann@example.com",
            "--password",
            "short"
        ])
        .is_err());
    let generated = relay.admin(&["password-reset", "--email", "ann@example.com"])?;
    assert!(generated.len() >= 12, "{generated:?}");
    relay.restart().await?;
    assert_eq!(
        ann.call("GET", "/v1/api/me", None).await?.0,
        401,
        "sessions ended"
    );
    assert!(relay
        .login("ann@example.com", "ann-password")
        .await
        .is_err());
    relay.login("ann@example.com", &generated).await?;
    relay.terminate().await?;
    let out = relay.admin(&[
        "password-reset",
        "--email",
        "ANN@example.com",
        "--password",
        "chosen-password",
    ])?;
    assert_eq!(out, "", "a given password is not printed");
    relay.restart().await?;
    relay.login("ann@example.com", "chosen-password").await?;
    Ok(())
}
