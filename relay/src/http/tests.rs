//! Route-level tests of the public port's edge: the real route table
//! ([`super::routes`]) over a temp sled, driven by
//! `warp::test::request()` — no process, no socket. Each test says what
//! it proves; each fails if the check it names is removed.

use crate::commit::{NewMessage, Target};
use crate::store::AgentRole;
use crate::{auth, App};
use protocol::{Author, Cid, SiteId, VisitorId};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::Arc;
use warp::http::Response;
use warp::test::RequestBuilder;

const OWNER_EMAIL: &str = "owner@example.com";
const OWNER_PASSWORD: &str = "owner-password-1";
const OWNER_TOKEN: &str = "owner-token-for-tests";
const AGENT_TOKEN: &str = "agent-token-for-tests";
const OTHER_TOKEN: &str = "other-token-for-tests";

/// The demo site with its owner (password login and [`OWNER_TOKEN`]), a
/// plain agent of it ([`AGENT_TOKEN`]), and a second site `other` whose
/// only agent holds [`OTHER_TOKEN`].
fn app(dir: &tempfile::TempDir) -> Arc<App> {
    let app = App::for_tests(
        dir.path(),
        &[
            "--demo-password",
            OWNER_PASSWORD,
            "--demo-token",
            OWNER_TOKEN,
            "--metrics-listen",
            "off",
        ],
    );
    let demo = SiteId::new("demo").expect("id");
    let other = SiteId::new("other").expect("id");
    auth::create_site(&app.store, other.clone(), "Other").expect("site");
    for (name, site, token) in [("Ann", demo, AGENT_TOKEN), ("Olga", other, OTHER_TOKEN)] {
        let new = auth::NewAgent {
            name: name.into(),
            sites: vec![site],
            email: None,
            password: None,
            role: AgentRole::Agent,
        };
        auth::create_agent(&app.store, new, Some(token.into())).expect("agent");
    }
    app
}

fn addr() -> SocketAddr {
    SocketAddr::from(([192, 0, 2, 1], 40000))
}

fn req(method: &str, path: &str) -> RequestBuilder {
    warp::test::request()
        .method(method)
        .path(path)
        .remote_addr(addr())
}

fn as_(token: &str, method: &str, path: &str) -> RequestBuilder {
    req(method, path).header("authorization", format!("Bearer {token}"))
}

async fn send(app: &Arc<App>, r: RequestBuilder) -> Response<bytes::Bytes> {
    r.reply(&super::routes(app.clone())).await
}

/// Status and JSON body (Null when the body is not JSON).
async fn call(app: &Arc<App>, r: RequestBuilder) -> (u16, Value) {
    let resp = send(app, r).await;
    let body = serde_json::from_slice(resp.body()).unwrap_or(Value::Null);
    (resp.status().as_u16(), body)
}

fn header<'a>(resp: &'a Response<bytes::Bytes>, name: &str) -> Option<&'a str> {
    resp.headers().get(name).and_then(|v| v.to_str().ok())
}

/// A visitor message on `demo`, in the visitor's open conversation.
async fn visitor_says(app: &App, visitor: &str, cid: &str) -> crate::commit::Committed {
    let msg = NewMessage {
        scope: format!("v:demo:{visitor}"),
        cid: Cid::new(cid).expect("cid"),
        target: Target::Visitor {
            site: SiteId::new("demo").expect("id"),
            visitor: VisitorId::new(visitor).expect("id"),
            team: None,
            channel: protocol::Channel::Web,
        },
        from: Author {
            side: protocol::Side::Visitor,
            id: visitor.into(),
            name: None,
        },
        text: format!("message {cid}"),
        file: None,
    };
    app.commit.message(msg).await.expect("stored")
}

/// Login: the right password gives a token that works; a wrong one is 401;
/// past the per-account limit it is 429 with Retry-After, even with the
/// right password.
#[tokio::test]
async fn login_good_bad_and_rate_limited() {
    let dir = tempfile::tempdir().expect("dir");
    let app = app(&dir);
    let login = |password: &str| {
        req("POST", "/v1/api/login").json(&json!({"email": OWNER_EMAIL, "password": password}))
    };
    let (s, body) = call(&app, login(OWNER_PASSWORD)).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["agent"]["role"], "owner");
    assert_eq!(body["agent"]["email"], OWNER_EMAIL);
    let token = body["token"].as_str().expect("token").to_string();
    let (s, me) = call(&app, as_(&token, "GET", "/v1/api/me")).await;
    assert_eq!((s, &me["email"]), (200, &json!(OWNER_EMAIL)));

    let (s, body) = call(&app, login("wrong-password")).await;
    assert_eq!((s, &body["code"]), (401, &json!("unauthorized")), "{body}");

    // Two attempts counted above; use up the rest of the minute's window.
    for _ in 2..protocol::limits::MAX_LOGINS_PER_ACCOUNT_PER_MINUTE {
        let _ = app.limiter.hit(
            &format!("login:{OWNER_EMAIL}"),
            protocol::limits::MAX_LOGINS_PER_ACCOUNT_PER_MINUTE,
        );
    }
    let resp = send(&app, login(OWNER_PASSWORD)).await;
    assert_eq!(resp.status(), 429);
    assert_eq!(header(&resp, "retry-after"), Some("60"));
    let body: Value = serde_json::from_slice(resp.body()).expect("json");
    assert_eq!(body["code"], "rate_limited");
}

/// Without a token, or with an unknown one: 401 and the JSON error shape.
#[tokio::test]
async fn unauthenticated_calls_get_401_json() {
    let dir = tempfile::tempdir().expect("dir");
    let app = app(&dir);
    let resp = send(&app, req("GET", "/v1/api/me")).await;
    assert_eq!(resp.status(), 401);
    assert_eq!(header(&resp, "content-type"), Some("application/json"));
    let body: Value = serde_json::from_slice(resp.body()).expect("json");
    assert_eq!(body["code"], "unauthorized");
    assert!(body["message"]
        .as_str()
        .is_some_and(|m| m.contains("Bearer")));
    let (s, body) = call(&app, as_("not-a-token-we-know", "GET", "/v1/api/sites")).await;
    assert_eq!((s, &body["code"]), (401, &json!("unauthorized")));
}

/// A site the agent is not a member of answers exactly like a missing one.
#[tokio::test]
async fn other_sites_look_missing() {
    let dir = tempfile::tempdir().expect("dir");
    let app = app(&dir);
    let (s, site) = call(&app, as_(OTHER_TOKEN, "GET", "/v1/api/sites/other")).await;
    assert_eq!((s, &site["id"]), (200, &json!("other")));
    let (s, theirs) = call(&app, as_(OWNER_TOKEN, "GET", "/v1/api/sites/other")).await;
    let (s2, missing) = call(&app, as_(OWNER_TOKEN, "GET", "/v1/api/sites/nosuch")).await;
    assert_eq!((s, s2), (404, 404));
    assert_eq!(theirs, missing);
    let (s, _) = call(&app, as_(OWNER_TOKEN, "GET", "/v1/api/sites/other/canned")).await;
    assert_eq!(s, 404);
    // The owner's own site list holds only theirs, with the secret.
    let (_, list) = call(&app, as_(OWNER_TOKEN, "GET", "/v1/api/sites")).await;
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    assert!(list[0]["secret"].is_string());
    // An agent sees no secret.
    let (_, s) = call(&app, as_(AGENT_TOKEN, "GET", "/v1/api/sites/demo")).await;
    assert!(s.get("secret").is_none(), "{s}");
}

/// Owner-only routes refuse a plain agent of the same site with 403.
#[tokio::test]
async fn owner_routes_refuse_agents() {
    let dir = tempfile::tempdir().expect("dir");
    let app = app(&dir);
    let patch = as_(AGENT_TOKEN, "PATCH", "/v1/api/sites/demo").json(&json!({"name": "Mine"}));
    let (s, body) = call(&app, patch).await;
    assert_eq!((s, &body["code"]), (403, &json!("forbidden")), "{body}");
    for (m, p) in [
        ("GET", "/v1/api/agents"),
        ("POST", "/v1/api/sites/demo/rotate-secret"),
    ] {
        assert_eq!(call(&app, as_(AGENT_TOKEN, m, p)).await.0, 403, "{m} {p}");
    }
    let site = app.store.site(&SiteId::new("demo").expect("id"));
    assert_eq!(site.expect("read").expect("site").name, "Demo site");
}

/// PATCH refuses a bad colour, a bad origin, too many origins and an
/// over-long widget text, and stores nothing of a refused patch (not even
/// its valid fields).
#[tokio::test]
async fn bad_site_patches_store_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let app = app(&dir);
    let demo = SiteId::new("demo").expect("id");
    let before = app.store.site(&demo).expect("read").expect("site");
    let long = "x".repeat(protocol::limits::MAX_WIDGET_TEXT_BYTES + 1);
    let many: Vec<String> = (0..=protocol::limits::MAX_ORIGINS)
        .map(|i| format!("https://s{i}.example"))
        .collect();
    let widget = |field: &str, v: Value| {
        let mut w = serde_json::to_value(protocol::WidgetSettings::default()).expect("json");
        w[field] = v;
        w
    };
    let cases = [
        (
            json!({"name": "New", "widget": widget("color", json!("red"))}),
            400,
            "bad_request",
        ),
        (
            json!({"name": "New", "allowed_origins": ["shop.example.com"]}),
            400,
            "bad_request",
        ),
        (
            json!({"name": "New", "allowed_origins": many}),
            413,
            "too_large",
        ),
        (
            json!({"name": "New", "widget": widget("greeting", json!(long))}),
            413,
            "too_large",
        ),
        (json!({"name": ""}), 400, "bad_request"),
    ];
    for (patch, status, code) in cases {
        let r = as_(OWNER_TOKEN, "PATCH", "/v1/api/sites/demo").json(&patch);
        let (s, body) = call(&app, r).await;
        assert_eq!(
            (s, body["code"].as_str()),
            (status, Some(code)),
            "{patch} → {body}"
        );
        assert!(body["message"].is_string(), "{body}");
        assert_eq!(app.store.site(&demo).expect("read"), Some(before.clone()));
    }
    // And a good one is stored.
    let r = as_(OWNER_TOKEN, "PATCH", "/v1/api/sites/demo")
        .json(&json!({"name": "Shop", "widget": widget("color", json!("#abc"))}));
    let (s, body) = call(&app, r).await;
    assert_eq!(
        (s, &body["widget"]["color"]),
        (200, &json!("#abc")),
        "{body}"
    );
    assert_eq!(
        app.store.site(&demo).expect("read").expect("site").name,
        "Shop"
    );
}

/// Conversation lists page by activity (`next_before`), events by seq
/// (`after`/`before`, `more`); both at once is refused.
#[tokio::test]
async fn conversations_and_events_page() {
    let dir = tempfile::tempdir().expect("dir");
    let app = app(&dir);
    let mut conv = None;
    for v in ["v1", "v2", "v3"] {
        conv = Some(visitor_says(&app, v, &format!("{v}-m0")).await.conv);
        // Distinct `updated` times, so the order is defined.
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    let conv = conv.expect("conv").to_string();
    for i in 1..5 {
        visitor_says(&app, "v3", &format!("v3-m{i}")).await;
    }
    let list = "/v1/api/sites/demo/conversations?status=all&limit=2";
    let (s, page) = call(&app, as_(AGENT_TOKEN, "GET", list)).await;
    assert_eq!(s, 200, "{page}");
    assert_eq!(page["convs"].as_array().map(Vec::len), Some(2));
    assert_eq!(page["convs"][0]["id"], json!(conv));
    let next = page["next_before"].as_u64().expect("next_before");
    let (_, rest) = call(
        &app,
        as_(AGENT_TOKEN, "GET", &format!("{list}&before={next}")),
    )
    .await;
    assert_eq!(rest["convs"].as_array().map(Vec::len), Some(1), "{rest}");
    assert_eq!(rest["next_before"], Value::Null);
    let (s, _) = call(&app, as_(AGENT_TOKEN, "GET", &format!("{list}&status=odd"))).await;
    assert_eq!(s, 400);

    let events = |q: &str| {
        as_(
            AGENT_TOKEN,
            "GET",
            &format!("/v1/api/conversations/{conv}/events?{q}"),
        )
    };
    let seqs = |page: &Value| -> Vec<u64> {
        page["events"]
            .as_array()
            .map(|e| e.iter().filter_map(|e| e["seq"].as_u64()).collect())
            .unwrap_or_default()
    };
    let (_, p) = call(&app, events("limit=2")).await;
    assert_eq!((seqs(&p), &p["more"]), (vec![1, 2], &json!(true)), "{p}");
    let (_, p) = call(&app, events("after=2&limit=2")).await;
    assert_eq!((seqs(&p), &p["more"]), (vec![3, 4], &json!(true)));
    let (_, p) = call(&app, events("after=4&limit=2")).await;
    assert_eq!((seqs(&p), &p["more"]), (vec![5], &json!(false)));
    let (_, p) = call(&app, events("before=4&limit=2")).await;
    assert_eq!((seqs(&p), &p["more"]), (vec![2, 3], &json!(true)));
    let (_, p) = call(&app, events("before=3&limit=5")).await;
    assert_eq!((seqs(&p), &p["more"]), (vec![1, 2], &json!(false)));
    assert_eq!(call(&app, events("after=1&before=3")).await.0, 400);
    // Not the other site's agent's to read.
    let r = as_(
        OTHER_TOKEN,
        "GET",
        &format!("/v1/api/conversations/{conv}/events"),
    );
    assert_eq!(call(&app, r).await.0, 404);
}

/// The agents' API is same-origin only: a preflight finds no route (no
/// CORS grant), and the real answer carries no CORS header either.
#[tokio::test]
async fn the_agents_api_grants_no_cors() {
    let dir = tempfile::tempdir().expect("dir");
    let app = app(&dir);
    let pre = req("OPTIONS", "/v1/api/me")
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization");
    let resp = send(&app, pre).await;
    assert!(!resp.status().is_success(), "{:?}", resp.status());
    assert_eq!(header(&resp, "access-control-allow-origin"), None);
    assert_eq!(header(&resp, "access-control-allow-headers"), None);
    let real = as_(OWNER_TOKEN, "GET", "/v1/api/me").header("origin", "https://evil.example");
    let resp = send(&app, real).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "access-control-allow-origin"), None);
}

/// What host pages call cross-origin grants CORS on the preflight and on
/// the answer alike (refusals included); nothing grants `authorization`.
#[tokio::test]
async fn visitor_endpoints_grant_the_same_cors_on_preflight_and_answer() {
    let dir = tempfile::tempdir().expect("dir");
    let app = app(&dir);
    let origin = "https://shop.example";
    for (method, path) in [
        ("POST", "/v1/send"),
        ("GET", "/v1/poll"),
        ("POST", "/v1/files"),
        ("GET", "/v1/files/0123456789abcdef0123456789abcdef"),
        ("GET", "/widget/loader.js"),
    ] {
        let pre = req("OPTIONS", path)
            .header("origin", origin)
            .header("access-control-request-method", method);
        let pre = if method == "POST" {
            pre.header("access-control-request-headers", "content-type")
        } else {
            pre
        };
        let resp = send(&app, pre).await;
        assert_eq!(resp.status(), 200, "preflight {method} {path}");
        assert_eq!(header(&resp, "access-control-allow-origin"), Some(origin));
        let real = req(method, path).header("origin", origin);
        let resp = send(&app, real).await;
        assert!(
            header(&resp, "access-control-allow-origin").is_some_and(|a| a == origin || a == "*"),
            "{method} {path}: {} {:?}",
            resp.status(),
            resp.headers()
        );
        // An agent's credentials are not for other origins.
        let pre = req("OPTIONS", path)
            .header("origin", origin)
            .header("access-control-request-method", method)
            .header("access-control-request-headers", "authorization");
        let resp = send(&app, pre).await;
        assert_eq!(header(&resp, "access-control-allow-origin"), None, "{path}");
    }
    // A long-poll hello from another origin works, and the answer says so.
    let hello =
        json!({"type": "hello", "v": 1, "role": "visitor", "site": "demo", "visitor": "cors-1"});
    let r = req("POST", "/v1/send")
        .header("origin", origin)
        .body(hello.to_string());
    let resp = send(&app, r).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "access-control-allow-origin"), Some(origin));
    let body: Value = serde_json::from_slice(resp.body()).expect("json");
    assert_eq!(body["frames"][0]["type"], "welcome", "{body}");
}

/// Unknown paths are 404 and wrong methods 405, both as `{code, message}`.
#[tokio::test]
async fn unknown_paths_and_wrong_methods_get_json_errors() {
    let dir = tempfile::tempdir().expect("dir");
    let app = app(&dir);
    let (s, body) = call(&app, req("GET", "/no/such/path")).await;
    assert_eq!(s, 404);
    assert_eq!(
        body,
        json!({"code": "not_found", "message": "no such path"})
    );
    let (s, body) = call(&app, as_(OWNER_TOKEN, "DELETE", "/v1/api/me")).await;
    assert_eq!(
        (s, &body["code"]),
        (405, &json!("method_not_allowed")),
        "{body}"
    );
    assert!(body["message"].is_string());
    let (s, body) = call(&app, req("GET", "/v1/send")).await;
    assert_eq!(
        (s, &body["code"]),
        (405, &json!("method_not_allowed")),
        "{body}"
    );
    let bad = as_(OWNER_TOKEN, "POST", "/v1/api/sites").body("{not json");
    let (s, body) = call(&app, bad).await;
    assert_eq!((s, &body["code"]), (400, &json!("bad_json")), "{body}");
}

/// `/metrics` is not on the public port; the metrics port serves it (and
/// `/healthz`), and nothing else.
#[tokio::test]
async fn metrics_only_on_the_metrics_port() {
    let dir = tempfile::tempdir().expect("dir");
    let app = app(&dir);
    let (s, body) = call(&app, req("GET", "/metrics")).await;
    assert_eq!((s, &body["code"]), (404, &json!("not_found")));
    assert_eq!(call(&app, req("GET", "/healthz")).await.0, 200);
    let metrics = super::metrics_routes(app.clone());
    let resp = req("GET", "/metrics").reply(&metrics).await;
    assert_eq!(resp.status(), 200);
    let text = String::from_utf8_lossy(resp.body());
    assert!(text.contains("kefu_visitors_online"), "{text}");
    assert_eq!(req("GET", "/healthz").reply(&metrics).await.status(), 200);
    assert_eq!(req("GET", "/v1/api/me").reply(&metrics).await.status(), 404);
}

/// The demo page's snippet names the address the relay was reached at;
/// without the demo site there is no demo page.
#[tokio::test]
async fn the_demo_page_follows_the_host_and_the_demo_site() {
    let dir = tempfile::tempdir().expect("dir");
    let app = app(&dir);
    let resp = send(&app, req("GET", "/").header("host", "chat.example:7000")).await;
    assert_eq!(resp.status(), 200);
    let html = String::from_utf8_lossy(resp.body());
    assert!(
        html.contains("src=&quot;http://chat.example:7000/widget/loader.js&quot;"),
        "{html}"
    );
    assert!(!html.contains("8080") && !html.contains("{{SNIPPET}}"));
    // A Host that could break out of the markup is not used.
    let resp = send(&app, req("GET", "/").header("host", "x\"><script>")).await;
    let html = String::from_utf8_lossy(resp.body());
    assert!(!html.contains("<script>\""), "{html}");
    assert!(html.contains(&format!("http://{}/widget/loader.js", app.config.listen)));
    // The snippet API follows the Host the same way.
    let r =
        as_(OWNER_TOKEN, "GET", "/v1/api/sites/demo/snippet").header("host", "chat.example:7000");
    let (_, snippet) = call(&app, r).await;
    assert!(snippet["html"]
        .as_str()
        .is_some_and(|h| h.contains("http://chat.example:7000/widget/loader.js")));

    let bare_dir = tempfile::tempdir().expect("dir");
    let bare = App::for_tests(bare_dir.path(), &["--no-demo", "--metrics-listen", "off"]);
    let (s, body) = call(&bare, req("GET", "/")).await;
    assert_eq!((s, &body["code"]), (404, &json!("not_found")));
}
