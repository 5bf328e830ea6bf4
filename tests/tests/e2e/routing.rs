//! Routing over real connections: replying assigns, auto-assignment under
//! capacity with a queue served oldest first, teams, private notes that no
//! visitor path ever carries, labels, and bad input that changes nothing.

use crate::BIN;
use anyhow::{ensure, Result};
use serde_json::{json, Value};
use tests::frames::*;
use tests::{api, message_text, Lp, Relay, Ws, DEMO_TOKEN};

/// An agent connection subscribed to `demo`; returns it with its id.
async fn agent(relay: &Relay, token: &str) -> Result<(Ws, String)> {
    let mut a = Ws::connect(relay).await?;
    let w = a.hello(agent_hello(token)).await?;
    a.send(subscribe("demo")).await?;
    a.until_type("snapshot").await?;
    Ok((a, w["agent"].as_str().unwrap_or_default().to_string()))
}

/// A new agent of `demo` (added by the demo owner), logged in: its token.
async fn add_agent(relay: &Relay, name: &str) -> Result<String> {
    let email = format!("{}@example.com", name.to_lowercase());
    let password = format!("{name}-password");
    let body = json!({"name": name, "email": email, "password": password, "sites": ["demo"]});
    let (s, v) = api(relay, DEMO_TOKEN, "POST", "/v1/api/agents", Some(body)).await?;
    ensure!(s == 201, "add {name}: {s} {v}");
    relay.login(&email, &password).await
}

/// A visitor that says something; returns the connection and its conv.
async fn visitor_says(relay: &Relay, id: &str, text: &str) -> Result<(Ws, String)> {
    let (v, conv, _) = visitor_says_token(relay, id, text).await?;
    Ok((v, conv))
}

/// The same, with the visitor's token (to connect again).
async fn visitor_says_token(relay: &Relay, id: &str, text: &str) -> Result<(Ws, String, String)> {
    let mut v = Ws::connect(relay).await?;
    let w = v.hello(visitor_hello("demo", id, None)).await?;
    v.send(send(&format!("{id}-1"), text)).await?;
    let ack = v.until_type("ack").await?;
    let conv = ack["conv"].as_str().unwrap_or_default().to_string();
    Ok((v, conv, w["token"].as_str().unwrap_or_default().to_string()))
}

async fn conv(relay: &Relay, id: &str) -> Result<Value> {
    let (s, page) = api(
        relay,
        DEMO_TOKEN,
        "GET",
        "/v1/api/sites/demo/conversations?status=all",
        None,
    )
    .await?;
    ensure!(s == 200, "list: {s}");
    page["convs"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["id"] == id)
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("no conversation {id}"))
}

async fn events(relay: &Relay, conv: &str) -> Result<Vec<Value>> {
    let path = format!("/v1/api/conversations/{conv}/events");
    let (s, page) = api(relay, DEMO_TOKEN, "GET", &path, None).await?;
    ensure!(s == 200, "events: {s}");
    Ok(page["events"].as_array().cloned().unwrap_or_default())
}

/// `PATCH /v1/api/sites/demo {routing}` as the demo owner.
async fn patch_routing(relay: &Relay, routing: Value) -> Result<(u16, Value)> {
    let body = json!({ "routing": routing });
    api(relay, DEMO_TOKEN, "PATCH", "/v1/api/sites/demo", Some(body)).await
}

/// Manual mode: the first agent to reply takes the conversation, as a
/// stored `assigned` event with reason `reply`; a colleague's later reply
/// does not take it over.
#[tokio::test]
async fn replying_assigns_an_unassigned_conversation() -> Result<()> {
    let relay = Relay::start(BIN, &[]).await?;
    let ann_token = add_agent(&relay, "Ann").await?;
    let (_v, conv_id) = visitor_says(&relay, "rv1", "Is anyone there?").await?;
    let (mut a, me) = agent(&relay, DEMO_TOKEN).await?;
    a.send(send_to(&conv_id, "r1", "Hello! How can I help?"))
        .await?;
    a.until_type("ack").await?;
    let c = conv(&relay, &conv_id).await?;
    assert_eq!(c["assignee"], me.as_str());
    let evs = events(&relay, &conv_id).await?;
    let last = evs.last().cloned().unwrap_or_default();
    assert_eq!(
        (&last["kind"], &last["reason"], &last["to"]["id"]),
        (&json!("assigned"), &json!("reply"), &json!(me))
    );
    let (mut ann, _) = agent(&relay, &ann_token).await?;
    ann.send(send_to(&conv_id, "r2", "I can help too")).await?;
    ann.until_type("ack").await?;
    assert_eq!(conv(&relay, &conv_id).await?["assignee"], me.as_str());
    let assigned = events(&relay, &conv_id)
        .await?
        .iter()
        .filter(|e| e["kind"] == "assigned")
        .count();
    assert_eq!(assigned, 1);
    Ok(())
}

/// Auto mode, three agents of capacity 2, ten new conversations: six
/// assigned (two each), four queued, told their places 1–4. An agent
/// closes one: the oldest queued goes to them, the others move up.
#[tokio::test]
async fn auto_assignment_fills_capacity_then_queues_oldest_first() -> Result<()> {
    let relay = Relay::start(BIN, &[]).await?;
    let (s, _) = patch_routing(&relay, json!({"mode": "auto"})).await?;
    assert_eq!(s, 200);
    let tokens = [
        DEMO_TOKEN.to_string(),
        add_agent(&relay, "Ann").await?,
        add_agent(&relay, "Bob").await?,
    ];
    let mut agents = Vec::new();
    for t in &tokens {
        let (ws, id) = agent(&relay, t).await?;
        let (s, v) = api(
            &relay,
            t,
            "PATCH",
            &format!("/v1/api/agents/{id}"),
            Some(json!({"capacity": 2})),
        )
        .await?;
        ensure!(s == 200 && v["capacity"] == 2, "capacity: {s} {v}");
        agents.push((ws, id));
    }
    let mut visitors = Vec::new();
    let mut last_token = String::new();
    for i in 0..10 {
        let (v, c, t) = visitor_says_token(&relay, &format!("q{i}"), "Hi, I need help").await?;
        visitors.push((v, c));
        last_token = t;
    }
    let mut per: std::collections::HashMap<String, u32> = Default::default();
    for (_, c) in &visitors[..6] {
        let c = conv(&relay, c).await?;
        *per.entry(c["assignee"].as_str().unwrap_or("?").into())
            .or_default() += 1;
        assert!(c.get("queued").is_none(), "{c}");
    }
    assert_eq!(per.len(), 3, "{per:?}");
    assert!(per.values().all(|n| *n == 2), "{per:?}");
    let (s, q) = api(
        &relay,
        DEMO_TOKEN,
        "GET",
        "/v1/api/sites/demo/conversations?status=queued",
        None,
    )
    .await?;
    assert_eq!(s, 200);
    let order: Vec<&str> = q["convs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["id"].as_str())
        .collect();
    let want: Vec<&str> = visitors[6..].iter().map(|(_, c)| c.as_str()).collect();
    assert_eq!(order, want, "the queue in arrival order");
    for (i, (v, c)) in visitors[6..].iter_mut().enumerate() {
        // The place may have come before the ack (then it is in `seen`).
        let is_place = |f: &Value| f["type"] == "queue" && f["conv"] == c.as_str();
        let f = match v.seen.iter().rev().find(|f| is_place(f)) {
            Some(f) => f.clone(),
            None => v.until(is_place).await?,
        };
        assert_eq!(f["position"], i as u64 + 1);
    }

    // The demo agent closes one of theirs: the oldest queued is theirs now.
    let me = agents[0].1.clone();
    let mut mine = None;
    for (_, c) in &visitors[..6] {
        if conv(&relay, c).await?["assignee"] == me.as_str() {
            mine = Some(c.clone());
        }
    }
    let mine = mine.ok_or_else(|| anyhow::anyhow!("no conversation of the demo agent"))?;
    let (s, _) = api(
        &relay,
        DEMO_TOKEN,
        "POST",
        &format!("/v1/api/conversations/{mine}/close"),
        None,
    )
    .await?;
    assert_eq!(s, 200);
    let (v6, c6) = &mut visitors[6];
    let f = v6
        .until(|f| f["type"] == "queue" && f["position"] == 0)
        .await?;
    assert_eq!(f["conv"], c6.as_str());
    let c = conv(&relay, c6).await?;
    assert_eq!(c["assignee"], me.as_str());
    let last = events(&relay, c6)
        .await?
        .last()
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        (&last["reason"], &last["by"]["side"]),
        (&json!("auto"), &json!("system"))
    );
    for (i, (v, c)) in visitors[7..].iter_mut().enumerate() {
        let f = v
            .until(|f| {
                f["type"] == "queue" && f["conv"] == c.as_str() && f["position"] == i as u64 + 1
            })
            .await?;
        assert_eq!(f["position"], i as u64 + 1);
    }
    // A visitor connecting again (another tab) is told its place at once.
    let mut again = Ws::connect(&relay).await?;
    again
        .hello(visitor_hello("demo", "q9", Some(&last_token)))
        .await?;
    let f = again.until_type("queue").await?;
    assert_eq!(
        (&f["conv"], &f["position"]),
        (&json!(visitors[9].1), &json!(3))
    );
    Ok(())
}

/// Teams: a visitor routed to a team goes only to its members; a
/// transfer to another team is routed within that one.
#[tokio::test]
async fn teams_keep_routing_inside_them() -> Result<()> {
    let relay = Relay::start(BIN, &[]).await?;
    let ann_token = add_agent(&relay, "Ann").await?;
    let bob_token = add_agent(&relay, "Bob").await?;
    let (_a, me) = agent(&relay, DEMO_TOKEN).await?;
    let (_ann, ann) = agent(&relay, &ann_token).await?;
    let (_bob, bob) = agent(&relay, &bob_token).await?;
    let routing = json!({"mode": "auto", "teams": [
        {"id": "sales", "name": "Sales", "members": [ann]},
        {"id": "support", "name": "Support", "members": [bob, me]},
    ]});
    let (s, v) = patch_routing(&relay, routing).await?;
    ensure!(s == 200, "{s} {v}");
    // Two sales visitors both go to Ann, though the others are idle.
    for id in ["t1", "t2"] {
        let mut v = Ws::connect(&relay).await?;
        let mut hello = visitor_hello("demo", id, None);
        hello["team"] = json!("sales");
        v.hello(hello).await?;
        v.send(send(&format!("{id}-1"), "Pricing question")).await?;
        let c = v.until_type("ack").await?["conv"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let rec = conv(&relay, &c).await?;
        assert_eq!(
            (&rec["assignee"], &rec["team"]),
            (&json!(ann), &json!("sales"))
        );
    }
    // Ann transfers one to Support: routed to its least loaded member.
    let (_v3, c3) = {
        let mut v = Ws::connect(&relay).await?;
        v.hello(visitor_hello("demo", "t3", None)).await?;
        v.send(json!({"type": "team", "team": "sales"})).await?;
        v.send(send("t3-1", "Hello")).await?;
        let c = v.until_type("ack").await?["conv"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        (v, c)
    };
    assert_eq!(conv(&relay, &c3).await?["assignee"], ann.as_str());
    let (s, after) = api(
        &relay,
        &ann_token,
        "POST",
        &format!("/v1/api/conversations/{c3}/transfer"),
        Some(json!({"team": "support"})),
    )
    .await?;
    ensure!(s == 200, "transfer: {s} {after}");
    let rec = conv(&relay, &c3).await?;
    assert_eq!(rec["team"], "support");
    let to = rec["assignee"].as_str().unwrap_or_default().to_string();
    assert!(to == bob || to == me, "{rec}");
    let kinds: Vec<(Value, Value)> = events(&relay, &c3)
        .await?
        .iter()
        .filter(|e| e["kind"] == "assigned")
        .map(|e| (e["reason"].clone(), e["to"]["id"].clone()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (json!("auto"), json!(ann)),
            (json!("transfer"), Value::Null),
            (json!("auto"), json!(to)),
        ]
    );
    Ok(())
}

/// A private note reaches agents and never a visitor: not live over
/// WebSocket or long-poll, not in a `sync` replay, not in a reconnect's
/// replay — while the message after it does arrive on each.
#[tokio::test]
async fn notes_never_reach_the_visitor() -> Result<()> {
    let relay = Relay::start(BIN, &[]).await?;
    let mut v = Ws::connect(&relay).await?;
    let w = v.hello(visitor_hello("demo", "nv1", None)).await?;
    let token = w["token"].as_str().unwrap_or_default().to_string();
    v.send(send("nv1-1", "my order is late")).await?;
    let conv_id = v.until_type("ack").await?["conv"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let mut lp = Lp::new(&relay);
    lp.send(vec![visitor_hello("demo", "nv1", Some(&token))])
        .await?;
    let (mut a, _) = agent(&relay, DEMO_TOKEN).await?;
    a.send(json!({"type": "note", "cid": "n1", "conv": conv_id, "text": "SECRET-ws-note"}))
        .await?;
    let ack = a.until_type("ack").await?;
    assert_eq!(ack["cid"], "n1");
    let (s, stored) = api(
        &relay,
        DEMO_TOKEN,
        "POST",
        &format!("/v1/api/conversations/{conv_id}/notes"),
        Some(json!({"text": "SECRET-api-note"})),
    )
    .await?;
    ensure!(s == 201, "note: {s} {stored}");
    let ev = a
        .until(|f| f["kind"] == "note" && f["text"] == "SECRET-api-note")
        .await?;
    assert_eq!(ev["from"]["side"], "agent");
    a.send(send_to(&conv_id, "m2", "public reply")).await?;
    a.until_type("ack").await?;

    let leaked = |f: &Value| f.to_string().contains("SECRET");
    let live = v.until(|f| message_text(f) == Some("public reply")).await?;
    assert!(
        !v.seen.iter().any(leaked) && !leaked(&live),
        "ws: {:?}",
        v.seen
    );
    let polled = lp
        .poll_until(|f| message_text(f) == Some("public reply"))
        .await?;
    assert!(!polled.iter().any(leaked), "long-poll: {polled:?}");
    // Whatever the live path sent is read (the pong comes after it).
    v.send(json!({"type": "ping"})).await?;
    v.until_type("pong").await?;
    assert!(!v.seen.iter().any(leaked), "ws: {:?}", v.seen);
    v.seen.clear();
    v.send(json!({"type": "sync", "conv": conv_id, "after": 0}))
        .await?;
    let synced = v.until_type("synced").await?;
    assert!(!v.seen.iter().any(leaked), "sync: {:?}", v.seen);
    assert!(v
        .seen
        .iter()
        .any(|f| message_text(f) == Some("public reply")));
    assert_eq!(synced["seq"], stored["seq"].as_u64().unwrap_or(0) + 2);
    // A new connection replays from 0: no note either.
    let mut v2 = Ws::connect(&relay).await?;
    v2.hello(visitor_hello("demo", "nv1", Some(&token))).await?;
    v2.until_type("synced").await?;
    assert!(!v2.seen.iter().any(leaked), "replay: {:?}", v2.seen);
    assert!(v2
        .seen
        .iter()
        .any(|f| message_text(f) == Some("public reply")));
    // The agents' history has both notes; the visitor message comes first.
    let evs = events(&relay, &conv_id).await?;
    let notes = evs.iter().filter(|e| e["kind"] == "note").count();
    assert_eq!(notes, 2);
    Ok(())
}

/// Labels are the site's: put on, filtered by, taken off; each an event
/// agents see and visitors do not.
#[tokio::test]
async fn labels_filter_the_inbox() -> Result<()> {
    let relay = Relay::start(BIN, &[]).await?;
    let routing = json!({"labels": [{"name": "VIP", "color": "#d4a017"}, {"name": "Needs reply", "color": "#c0392b"}]});
    let (s, _) = patch_routing(&relay, routing).await?;
    assert_eq!(s, 200);
    let (mut v, c1) = visitor_says(&relay, "lv1", "one").await?;
    let (_v2, _c2) = visitor_says(&relay, "lv2", "two").await?;
    let path = format!("/v1/api/conversations/{c1}/labels/Needs%20reply");
    let (s, summary) = api(&relay, DEMO_TOKEN, "PUT", &path, None).await?;
    ensure!(s == 200, "{s} {summary}");
    assert_eq!(summary["labels"], json!(["Needs reply"]));
    let (_, page) = api(
        &relay,
        DEMO_TOKEN,
        "GET",
        "/v1/api/sites/demo/conversations?label=Needs%20reply",
        None,
    )
    .await?;
    let ids: Vec<&str> = page["convs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert_eq!(ids, vec![c1.as_str()]);
    let (s, summary) = api(&relay, DEMO_TOKEN, "DELETE", &path, None).await?;
    assert_eq!((s, &summary["labels"]), (200, &Value::Null));
    let labeled = events(&relay, &c1)
        .await?
        .iter()
        .filter(|e| e["kind"] == "labeled")
        .count();
    assert_eq!(labeled, 2);
    v.send(json!({"type": "sync", "conv": c1, "after": 0}))
        .await?;
    v.until_type("synced").await?;
    assert!(
        !v.seen.iter().any(|f| f["kind"] == "labeled"),
        "{:?}",
        v.seen
    );
    Ok(())
}

/// Bad routing input gets a clear error and changes nothing.
#[tokio::test]
async fn bad_routing_input_changes_nothing() -> Result<()> {
    let relay = Relay::start(BIN, &[]).await?;
    let (_, me) = api(&relay, DEMO_TOKEN, "GET", "/v1/api/me", None).await?;
    let me_id = me["id"].as_str().unwrap_or_default().to_string();
    let me_path = format!("/v1/api/agents/{me_id}");
    for bad in [0, 51, 1000] {
        let (s, body) = api(
            &relay,
            DEMO_TOKEN,
            "PATCH",
            &me_path,
            Some(json!({"capacity": bad})),
        )
        .await?;
        assert_eq!(s, 400, "capacity {bad}: {body}");
        assert!(body.to_string().contains("capacity"), "{body}");
    }
    let (_, me) = api(&relay, DEMO_TOKEN, "GET", "/v1/api/me", None).await?;
    assert_eq!(me["capacity"], 5);

    let site_before = api(&relay, DEMO_TOKEN, "GET", "/v1/api/sites/demo", None)
        .await?
        .1;
    let bad_settings = [
        (
            json!({"teams": [{"id": "sales", "name": "Sales", "members": ["nobody"]}]}),
            404,
        ),
        (
            json!({"teams": [{"id": "bad id", "name": "Sales", "members": []}]}),
            400,
        ),
        (json!({"labels": [{"name": "VIP", "color": "red"}]}), 400),
        (json!({"labels": [{"name": "", "color": "#fff"}]}), 400),
        (json!({"reassign_after_min": 100000}), 400),
        (json!({"mode": "lottery"}), 400),
    ];
    for (r, want) in bad_settings {
        let (s, body) = patch_routing(&relay, r.clone()).await?;
        assert_eq!(s, want, "{r}: {body}");
    }
    let site_after = api(&relay, DEMO_TOKEN, "GET", "/v1/api/sites/demo", None)
        .await?
        .1;
    assert_eq!(site_before, site_after);

    let routing = json!({"teams": [{"id": "sales", "name": "Sales", "members": [me_id]}], "labels": [{"name": "VIP", "color": "#d4a017"}]});
    let (s, _) = patch_routing(&relay, routing).await?;
    assert_eq!(s, 200);
    let (mut v, c) = visitor_says(&relay, "bv1", "hello").await?;
    let before = events(&relay, &c).await?.len();
    let calls = [
        (
            "POST",
            format!("/v1/api/conversations/{c}/transfer"),
            Some(json!({"team": "nope"})),
            404,
        ),
        (
            "POST",
            format!("/v1/api/conversations/{c}/transfer"),
            Some(json!({})),
            400,
        ),
        (
            "POST",
            format!("/v1/api/conversations/{c}/assign"),
            Some(json!({"agent": "stranger"})),
            404,
        ),
        (
            "PUT",
            format!("/v1/api/conversations/{c}/labels/Nope"),
            None,
            404,
        ),
        (
            "POST",
            format!("/v1/api/conversations/{c}/notes"),
            Some(json!({"text": "   "})),
            400,
        ),
        (
            "POST",
            "/v1/api/conversations/01HZZZZZZZZZZZZZZZZZZZZZZZ/notes".to_string(),
            Some(json!({"text": "x"})),
            404,
        ),
        (
            "GET",
            "/v1/api/sites/demo/conversations?label=Nope".to_string(),
            None,
            404,
        ),
        (
            "GET",
            "/v1/api/sites/demo/conversations?team=nope".to_string(),
            None,
            404,
        ),
    ];
    for (m, p, b, want) in calls {
        let (s, body) = api(&relay, DEMO_TOKEN, m, &p, b).await?;
        assert_eq!(s, want, "{m} {p}: {body}");
    }
    assert_eq!(events(&relay, &c).await?.len(), before, "nothing stored");
    // A visitor naming an unknown team is told, and routed site-wide.
    v.send(json!({"type": "team", "team": "nope"})).await?;
    let e = v.until_type("error").await?;
    assert!(
        e["message"].as_str().unwrap_or_default().contains("nope"),
        "{e}"
    );
    let mut v2 = Ws::connect(&relay).await?;
    let mut hello = visitor_hello("demo", "bv2", None);
    hello["team"] = json!("nope");
    v2.send(hello).await?;
    let e = v2.until_type("error").await?;
    assert!(
        e["message"].as_str().unwrap_or_default().contains("nope"),
        "{e}"
    );
    v2.until_type("welcome").await?;
    // A visitor cannot write a note.
    v.send(json!({"type": "note", "cid": "x1", "conv": c, "text": "hi"}))
        .await?;
    assert_eq!(v.until_type("error").await?["code"], "forbidden");
    assert_eq!(events(&relay, &c).await?.len(), before);
    Ok(())
}
