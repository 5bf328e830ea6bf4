//! Reaching people who are not there, over real connections: business
//! hours decide what visitors see (at each opening and closing, on the
//! real clock), the offline and pre-chat forms land on the visitor's
//! profile once per cid and bad answers store nothing, agents correct a
//! contact, ratings after close count in stats, and the auto-reply comes
//! once per closed spell without answering anyone.

use crate::BIN;
use anyhow::{ensure, Context, Result};
use serde_json::{json, Value};
use std::time::Duration;
use tests::frames::*;
use tests::{api, Relay, Ws, DEMO_TOKEN};

/// The demo owner's agent connection, subscribed to `demo`.
async fn agent(relay: &Relay) -> Result<(Ws, String)> {
    let mut a = Ws::connect(relay).await?;
    let w = a.hello(agent_hello(DEMO_TOKEN)).await?;
    a.send(subscribe("demo")).await?;
    a.until_type("snapshot").await?;
    Ok((a, w["agent"].as_str().unwrap_or_default().to_string()))
}

async fn patch_site(relay: &Relay, body: Value) -> Result<(u16, Value)> {
    api(relay, DEMO_TOKEN, "PATCH", "/v1/api/sites/demo", Some(body)).await
}

/// Business hours: `week` seven days of `[from, to]` periods.
fn hours(tz: &str, week: Vec<Vec<(String, String)>>) -> Value {
    let week: Vec<Value> = week
        .into_iter()
        .map(|d| {
            d.into_iter()
                .map(|(f, t)| json!({"from": f, "to": t}))
                .collect()
        })
        .collect();
    json!({"enabled": true, "tz": tz, "week": week})
}

fn every_day(from: &str, to: &str) -> Vec<Vec<(String, String)>> {
    vec![vec![(from.to_string(), to.to_string())]; 7]
}

fn never() -> Vec<Vec<(String, String)>> {
    vec![Vec::new(); 7]
}

/// `PATCH {offline}`: must be taken.
async fn set_offline(relay: &Relay, offline: Value) -> Result<()> {
    let (s, v) = patch_site(relay, json!({ "offline": offline })).await?;
    ensure!(s == 200, "offline settings: {s} {v}");
    Ok(())
}

/// The site's widget settings with `change` applied, stored.
async fn patch_widget(relay: &Relay, change: impl FnOnce(&mut Value)) -> Result<()> {
    let (s, site) = api(relay, DEMO_TOKEN, "GET", "/v1/api/sites/demo", None).await?;
    ensure!(s == 200, "site: {s}");
    let mut w = site["widget"].clone();
    change(&mut w);
    let (s, v) = patch_site(relay, json!({ "widget": w })).await?;
    ensure!(s == 200, "widget: {s} {v}");
    Ok(())
}

async fn profile(relay: &Relay, visitor: &str) -> Result<Value> {
    let path = format!("/v1/api/sites/demo/visitors/{visitor}");
    let (s, p) = api(relay, DEMO_TOKEN, "GET", &path, None).await?;
    ensure!(s == 200, "profile: {s} {p}");
    Ok(p)
}

async fn events(relay: &Relay, conv: &str) -> Result<Vec<Value>> {
    let path = format!("/v1/api/conversations/{conv}/events");
    let (s, page) = api(relay, DEMO_TOKEN, "GET", &path, None).await?;
    ensure!(s == 200, "events: {s}");
    Ok(page["events"].as_array().cloned().unwrap_or_default())
}

async fn stats(relay: &Relay) -> Result<Value> {
    let (s, v) = api(relay, DEMO_TOKEN, "GET", "/v1/api/sites/demo/stats", None).await?;
    ensure!(s == 200, "stats: {s} {v}");
    Ok(v)
}

/// The answer to a `contact` or `rate` frame: saved / ack / error.
async fn answer(ws: &mut Ws, frame: Value) -> Result<Value> {
    ws.send(frame).await?;
    ws.until(|v| matches!(v["type"].as_str(), Some("saved" | "ack" | "error")))
        .await
}

/// A visitor that has said something: its connection, conv and token.
async fn visitor_says(relay: &Relay, id: &str, text: &str) -> Result<(Ws, String, String)> {
    let mut v = Ws::connect(relay).await?;
    let w = v.hello(visitor_hello("demo", id, None)).await?;
    v.send(send(&format!("{id}-1"), text)).await?;
    let ack = v.until_type("ack").await?;
    let conv = ack["conv"].as_str().unwrap_or_default().to_string();
    Ok((v, conv, w["token"].as_str().unwrap_or_default().to_string()))
}

/// A frame already read past (kept in `seen`) or the next that matches.
async fn seen_or_next(ws: &mut Ws, pred: impl Fn(&Value) -> bool) -> Result<Value> {
    if let Some(i) = ws.seen.iter().position(&pred) {
        return Ok(ws.seen.remove(i));
    }
    ws.until(pred).await
}

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Outside business hours visitors see nobody available although an
/// agent is online; inside, they do. Changing the hours is announced at
/// once, and so is the closing the clock brings: a schedule in
/// Asia/Shanghai (UTC+8) that is open until the next local minute, on
/// the real clock.
#[tokio::test]
async fn business_hours_decide_whether_an_agent_is_available() -> Result<()> {
    let relay = Relay::start(BIN, &[]).await?;
    let (_agent, _) = agent(&relay).await?;
    let mut v = Ws::connect(&relay).await?;
    let w = v.hello(visitor_hello("demo", "h1", None)).await?;
    assert_eq!(w["agents_online"], true, "no hours: the agent counts");

    set_offline(&relay, json!({"hours": hours("Europe/Berlin", never())})).await?;
    let a = v.until_type("agents").await?;
    assert_eq!(a["online"], false, "closed: told at once");
    let mut v2 = Ws::connect(&relay).await?;
    let w = v2.hello(visitor_hello("demo", "h2", None)).await?;
    assert_eq!(w["agents_online"], false, "closed, agent online");

    // Open now, until the next minute boundary in Shanghai. (Too close to
    // it: wait for the next minute so the schedule is set in time.)
    if unix_ms() % 60_000 > 55_000 {
        tokio::time::sleep(Duration::from_millis(61_000 - unix_ms() % 60_000)).await;
    }
    let local_min = (unix_ms() / 60_000 + 8 * 60) % (24 * 60);
    let weekday = ((unix_ms() + 8 * 3_600_000) / 86_400_000 + 3) % 7; // 1970-01-01: Thu
    let end = local_min + 1;
    let mut week = never();
    week[weekday as usize] = vec![(
        "00:00".to_string(),
        format!("{:02}:{:02}", end / 60, end % 60),
    )];
    set_offline(&relay, json!({"hours": hours("Asia/Shanghai", week)})).await?;
    let a = v.until_type("agents").await?;
    assert_eq!(a["online"], true, "opened by the change");
    let mut v3 = Ws::connect(&relay).await?;
    let w = v3.hello(visitor_hello("demo", "h3", None)).await?;
    assert_eq!(w["agents_online"], true, "open, agent online");
    let (_, site) = api(&relay, DEMO_TOKEN, "GET", "/v1/api/sites/demo", None).await?;
    assert_eq!(site["offline"]["hours"]["tz"], "Asia/Shanghai");

    // The clock closes it at the minute: announced live to both.
    let left = 60_000 - unix_ms() % 60_000;
    let closed = v3
        .recv_within(Duration::from_millis(left + 5_000))
        .await
        .context("the closing was not announced")?;
    assert_eq!(
        (&closed["type"], &closed["online"]),
        (&json!("agents"), &json!(false))
    );
    assert!(unix_ms() % 60_000 < 5_000, "closed at the boundary");
    let a = v.until_type("agents").await?;
    assert_eq!(a["online"], false);
    Ok(())
}

/// Bad hours are refused with a reason and nothing is stored; a patch of
/// some offline settings keeps the others.
#[tokio::test]
async fn bad_hours_are_refused_and_change_nothing() -> Result<()> {
    let relay = Relay::start(BIN, &[]).await?;
    let good = json!({"hours": hours("Europe/Berlin", every_day("09:00", "17:00")), "auto_reply": "Back at 9"});
    set_offline(&relay, good.clone()).await?;
    for (bad, why) in [
        (
            json!({"hours": hours("Mars/Olympus", never())}),
            "time zone",
        ),
        (
            json!({"hours": hours("Europe/Berlin", every_day("17:00", "09:00"))}),
            "HH:MM",
        ),
        (
            json!({"hours": {"enabled": true, "tz": "UTC", "week": []}}),
            "seven days",
        ),
        (json!({"continuity_minutes": 999_999}), "continuity"),
    ] {
        let (s, v) = patch_site(&relay, json!({ "offline": bad })).await?;
        assert_eq!(s, 400, "{v}");
        let msg = v["message"].as_str().unwrap_or_default();
        assert!(msg.contains(why), "{why}: {msg}");
    }
    let (_, site) = api(&relay, DEMO_TOKEN, "GET", "/v1/api/sites/demo", None).await?;
    assert_eq!(site["offline"]["hours"], good["hours"]);
    assert_eq!(site["offline"]["auto_reply"], "Back at 9");
    // A patch changes only what it names: new hours keep the auto-reply
    // and the continuity delay.
    set_offline(&relay, json!({"continuity_minutes": 7})).await?;
    let later = hours("UTC", every_day("10:00", "18:00"));
    set_offline(&relay, json!({ "hours": later })).await?;
    let (_, site) = api(&relay, DEMO_TOKEN, "GET", "/v1/api/sites/demo", None).await?;
    assert_eq!(site["offline"]["hours"], later);
    assert_eq!(site["offline"]["auto_reply"], "Back at 9");
    assert_eq!(site["offline"]["continuity_minutes"], 7);
    // Agents (not owners) may not change them.
    let body = json!({"name": "Ann", "email": "ann@example.com", "password": "ann-password", "sites": ["demo"]});
    let (s, _) = api(&relay, DEMO_TOKEN, "POST", "/v1/api/agents", Some(body)).await?;
    ensure!(s == 201);
    let ann = relay.login("ann@example.com", "ann-password").await?;
    let body = json!({"offline": {"hours": hours("UTC", never())}});
    let (s, _) = api(&relay, &ann, "PATCH", "/v1/api/sites/demo", Some(body)).await?;
    assert_eq!(s, 403);
    Ok(())
}

/// The offline form's answer is stored on the visitor's profile and seen
/// live by agents, with a `contacted` event in its open conversation; the
/// same cid again is answered the same and stored once; bad answers are
/// refused and store nothing. The pre-chat form is checked against the
/// site's; its phone, fields and consent become attributes; a returning
/// visitor is known.
#[tokio::test]
async fn forms_land_on_the_profile_once_and_bad_answers_change_nothing() -> Result<()> {
    let relay = Relay::start(BIN, &[]).await?;
    let (mut a, _) = agent(&relay).await?;
    let (mut v, conv, token) = visitor_says(&relay, "f1", "Anyone?").await?;

    let ok = json!({"type": "contact", "cid": "c1", "form": "offline", "email": "ada@example.com", "name": "Ada"});
    let r = answer(&mut v, ok).await?;
    assert_eq!(
        (&r["type"], &r["cid"]),
        (&json!("saved"), &json!("c1")),
        "{r}"
    );
    let seen = a
        .until(|f| f["type"] == "presence" && f["visitor"]["user"]["email"] == "ada@example.com")
        .await?;
    assert_eq!(seen["visitor"]["user"]["name"], "Ada");
    let p = profile(&relay, "f1").await?;
    assert_eq!(p["user"]["email"], "ada@example.com");
    assert_eq!(p["user"]["name"], "Ada");
    let contacted = |evs: &[Value]| evs.iter().filter(|e| e["kind"] == "contacted").count();
    let evs = events(&relay, &conv).await?;
    assert_eq!(contacted(&evs), 1);
    assert_eq!(
        evs.last().map(|e| e["form"].clone()),
        Some(json!("offline"))
    );

    // The same cid with other values: the same answer, nothing changes.
    let again =
        json!({"type": "contact", "cid": "c1", "form": "offline", "email": "eve@example.com"});
    let r = answer(&mut v, again).await?;
    assert_eq!((&r["type"], &r["cid"]), (&json!("saved"), &json!("c1")));
    assert_eq!(profile(&relay, "f1").await?["user"], p["user"]);
    assert_eq!(contacted(&events(&relay, &conv).await?), 1);

    // Bad answers: an error (with the cid where the frame was read), and
    // the profile as it was.
    for bad in [
        json!({"type": "contact", "cid": "c2", "form": "offline", "email": "not-an-address"}),
        json!({"type": "contact", "cid": "c3", "form": "offline", "email": "x@example.com", "fields": {"plan": "pro"}}),
        json!({"type": "contact", "cid": "c4", "form": "offline"}),
        json!({"type": "contact", "cid": "c5", "form": "prechat", "name": "Eve"}),
        json!({"type": "contact", "cid": "c6", "form": "offline", "name": "Eve\nBcc: x@y.z"}),
    ] {
        let r = answer(&mut v, bad.clone()).await?;
        assert_eq!(r["type"], "error", "{bad} → {r}");
    }
    assert_eq!(profile(&relay, "f1").await?["user"], p["user"]);
    assert_eq!(contacted(&events(&relay, &conv).await?), 1);

    // The pre-chat form: name required, phone optional, a required select,
    // consent.
    patch_widget(&relay, |w| {
        w["prechat"] = json!({
            "enabled": true, "name": "required", "email": "optional", "phone": "optional",
            "fields": [{"key": "plan", "label": "Plan", "kind": "select", "options": ["free", "pro"], "required": true}],
            "consent": "I agree to the privacy policy",
        });
    })
    .await?;
    let mut n = Ws::connect(&relay).await?;
    let w = n.hello(visitor_hello("demo", "f2", None)).await?;
    assert_eq!(w["known"], json!(null), "a new visitor is not known");
    assert_eq!(w["settings"]["prechat"]["enabled"], true);
    for (bad, why) in [
        (json!({"name": "Bo", "fields": {"plan": "pro"}}), "consent"),
        (json!({"name": "Bo", "consent": true}), "plan is required"),
        (
            json!({"fields": {"plan": "pro"}, "consent": true}),
            "name is required",
        ),
        (
            json!({"name": "Bo", "fields": {"plan": "gold"}, "consent": true}),
            "not one of its options",
        ),
        (
            json!({"name": "Bo", "fields": {"plan": "pro", "shoe": "42"}, "consent": true}),
            "no field",
        ),
    ] {
        let mut f = json!({"type": "contact", "cid": "p1", "form": "prechat"});
        for (k, val) in bad.as_object().into_iter().flatten() {
            f[k] = val.clone();
        }
        let r = answer(&mut n, f).await?;
        assert_eq!(r["type"], "error", "{r}");
        assert_eq!(r["cid"], "p1");
        let msg = r["message"].as_str().unwrap_or_default();
        assert!(msg.contains(why), "{why}: {msg}");
    }
    assert_eq!(
        profile(&relay, "f2").await?["user"],
        json!(null),
        "nothing stored"
    );
    let before = unix_ms();
    let good = json!({"type": "contact", "cid": "p1", "form": "prechat", "name": "Bo", "phone": "+49 30 1234567",
        "fields": {"plan": "pro"}, "consent": true});
    let r = answer(&mut n, good).await?;
    assert_eq!(r["type"], "saved", "{r}");
    let p2 = profile(&relay, "f2").await?;
    assert_eq!(p2["user"]["name"], "Bo");
    assert_eq!(p2["user"]["attributes"]["phone"], "+49 30 1234567");
    assert_eq!(p2["user"]["attributes"]["plan"], "pro");
    let consent = p2["user"]["attributes"]["consent"].as_u64().unwrap_or(0);
    assert!(
        consent >= before && consent <= unix_ms(),
        "consent time {consent}"
    );
    assert!(
        p2["conversations"].as_array().is_some_and(Vec::is_empty),
        "no conversation yet"
    );

    // Known on return, and a hello of its own keeps what the form gave.
    drop(v);
    let mut back = Ws::connect(&relay).await?;
    let w = back
        .hello(visitor_hello("demo", "f1", Some(&token)))
        .await?;
    assert_eq!(w["known"], true);
    Ok(())
}

/// Agents correct a visitor's contact (name, email, phone); bad values
/// are refused and change nothing; a verified identity's name and email
/// are read-only; other sites' agents see nothing.
#[tokio::test]
async fn agents_edit_a_visitors_contact() -> Result<()> {
    let relay = Relay::start(BIN, &[]).await?;
    let (mut a, _) = agent(&relay).await?;
    let (mut v, _, _) = visitor_says(&relay, "e1", "Hello").await?;
    let r = answer(
        &mut v,
        json!({"type": "contact", "cid": "c1", "form": "offline", "email": "ada@example.com"}),
    )
    .await?;
    ensure!(r["type"] == "saved", "{r}");
    let path = "/v1/api/sites/demo/visitors/e1";
    let patch = |b: Value| api(&relay, DEMO_TOKEN, "PATCH", path, Some(b));
    let (s, p) = patch(json!({"name": "Ada Lovelace", "phone": "+44 20 7946 0000"})).await?;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["user"]["name"], "Ada Lovelace");
    assert_eq!(
        p["user"]["email"], "ada@example.com",
        "not in the patch: kept"
    );
    assert_eq!(p["user"]["attributes"]["phone"], "+44 20 7946 0000");
    a.until(|f| f["type"] == "presence" && f["visitor"]["user"]["name"] == "Ada Lovelace")
        .await?;
    for bad in [
        json!({"email": "nope"}),
        json!({"phone": "call me"}),
        json!({"name": "x".repeat(1000)}),
        json!({"name": "Ada\r\nBcc: eve@example.com"}),
    ] {
        let (s, e) = patch(bad.clone()).await?;
        assert!(s == 400 || s == 413, "{bad}: {s} {e}");
    }
    assert_eq!(profile(&relay, "e1").await?["user"], p["user"]);
    let (s, p) = patch(json!({"phone": ""})).await?;
    assert_eq!(s, 200);
    assert!(
        p["user"]["attributes"].get("phone").is_none(),
        "cleared: {p}"
    );

    // A verified identity.
    let (_, site) = api(&relay, DEMO_TOKEN, "GET", "/v1/api/sites/demo", None).await?;
    let secret = site["secret"].as_str().unwrap_or_default();
    let mut hello = visitor_hello("demo", "e2", None);
    hello["user"] = json!({"id": "u-7", "name": "Grace", "email": "grace@example.com",
        "user_hash": relay::auth::user_hash(secret, "u-7")});
    let mut g = Ws::connect(&relay).await?;
    g.hello(hello).await?;
    let vpath = "/v1/api/sites/demo/visitors/e2";
    let (s, e) = api(
        &relay,
        DEMO_TOKEN,
        "PATCH",
        vpath,
        Some(json!({"email": "x@example.com"})),
    )
    .await?;
    assert_eq!(s, 409, "{e}");
    assert!(e["message"]
        .as_str()
        .unwrap_or_default()
        .contains("verified"));
    let (s, p) = api(
        &relay,
        DEMO_TOKEN,
        "PATCH",
        vpath,
        Some(json!({"phone": "+1 555 0100"})),
    )
    .await?;
    assert_eq!(s, 200, "the phone is the agents' to keep: {p}");
    assert_eq!(p["user"]["email"], "grace@example.com");
    // A form cannot overwrite a verified identity's email either.
    let r = answer(
        &mut g,
        json!({"type": "contact", "cid": "g1", "form": "offline", "email": "other@example.com", "name": "G"}),
    )
    .await?;
    assert_eq!(r["type"], "saved");
    let p = profile(&relay, "e2").await?;
    assert_eq!(
        (&p["user"]["email"], &p["user"]["name"]),
        (&json!("grace@example.com"), &json!("Grace"))
    );
    // Unknown visitor: 404.
    let (s, _) = api(
        &relay,
        DEMO_TOKEN,
        "PATCH",
        "/v1/api/sites/demo/visitors/nobody",
        Some(json!({"name": "X"})),
    )
    .await?;
    assert_eq!(s, 404);
    Ok(())
}

/// A verified identity is the host page's: a form answered before the
/// page verified the visitor does not bring its typed name or email under
/// the badge, and a form answered after never replaces what the host set
/// (a pre-chat `plan` field against the page's `plan`) — it only adds
/// what is missing. Phone and consent are no custom field keys.
#[tokio::test]
async fn forms_never_pass_for_or_replace_a_verified_identity() -> Result<()> {
    let relay = Relay::start(BIN, &[]).await?;
    patch_widget(&relay, |w| {
        w["prechat"] = json!({
            "enabled": true, "name": "optional", "email": "optional", "phone": "optional",
            "fields": [{"key": "plan", "label": "Plan", "kind": "select", "options": ["free", "pro", "enterprise"]}],
        });
    })
    .await?;
    for key in ["phone", "consent"] {
        let (s, site) = api(&relay, DEMO_TOKEN, "GET", "/v1/api/sites/demo", None).await?;
        ensure!(s == 200);
        let mut w = site["widget"].clone();
        w["prechat"]["fields"] = json!([{"key": key, "label": "X"}]);
        let (s, v) = patch_site(&relay, json!({ "widget": w })).await?;
        assert_eq!(s, 400, "{key}: {v}");
    }
    // Unverified first (an id without a hash), with a form answer.
    let mut hello = visitor_hello("demo", "vf", None);
    hello["user"] = json!({"id": "u-9"});
    let mut v = Ws::connect(&relay).await?;
    let w = v.hello(hello).await?;
    let token = w["token"].as_str().unwrap_or_default().to_string();
    let r = answer(
        &mut v,
        json!({"type": "contact", "cid": "t1", "form": "prechat", "name": "Typed",
            "email": "typed@example.com", "phone": "+1 555 0100", "fields": {"plan": "free"}}),
    )
    .await?;
    assert_eq!(r["type"], "saved", "{r}");
    drop(v);
    // The host page verifies u-9, with its own email and plan.
    let (_, site) = api(&relay, DEMO_TOKEN, "GET", "/v1/api/sites/demo", None).await?;
    let secret = site["secret"].as_str().unwrap_or_default();
    let mut hello = visitor_hello("demo", "vf", Some(&token));
    hello["user"] = json!({"id": "u-9", "email": "host@example.com",
        "attributes": {"plan": "enterprise"}, "user_hash": relay::auth::user_hash(secret, "u-9")});
    let mut g = Ws::connect(&relay).await?;
    let w = g.hello(hello).await?;
    assert_eq!(w["known"], true, "it answered a form");
    let p = profile(&relay, "vf").await?;
    assert_eq!(p["verified"], true);
    assert_eq!(
        p["user"]["name"],
        json!(null),
        "the typed name is not verified"
    );
    assert_eq!(p["user"]["email"], "host@example.com");
    assert_eq!(p["user"]["attributes"]["plan"], "enterprise");
    assert_eq!(p["user"]["attributes"]["phone"], "+1 555 0100", "kept");
    // A form now: nothing the host set changes, nothing typed is verified.
    let r = answer(
        &mut g,
        json!({"type": "contact", "cid": "t2", "form": "prechat", "name": "Again",
            "email": "again@example.com", "phone": "+1 555 0199", "fields": {"plan": "pro"}}),
    )
    .await?;
    assert_eq!(r["type"], "saved", "{r}");
    let p = profile(&relay, "vf").await?;
    assert_eq!(p["user"]["name"], json!(null));
    assert_eq!(p["user"]["email"], "host@example.com");
    assert_eq!(p["user"]["attributes"]["plan"], "enterprise");
    assert_eq!(p["user"]["attributes"]["phone"], "+1 555 0100");
    Ok(())
}

/// A rating is refused while the conversation is open, taken after an
/// agent closed it (acked like a message, the same cid once), shown as a
/// `rated` event, and counted in stats — the latest rating per
/// conversation, for the agent it was assigned to. The thumbs scale
/// refuses 3; a site that asks for none refuses all.
#[tokio::test]
async fn ratings_after_close_count_in_stats() -> Result<()> {
    let relay = Relay::start(BIN, &[]).await?;
    let (mut a, me) = agent(&relay).await?;
    let (mut v, conv, _) = visitor_says(&relay, "r1", "Help please").await?;
    a.send(send_to(&conv, "a1", "Here to help")).await?;
    a.until_type("ack").await?;
    let rate =
        |cid: &str, score: u8| json!({"type": "rate", "cid": cid, "conv": conv, "score": score});
    let r = answer(&mut v, rate("x1", 5)).await?;
    assert_eq!(
        (&r["type"], &r["code"]),
        (&json!("error"), &json!("conflict")),
        "{r}"
    );
    let path = format!("/v1/api/conversations/{conv}/close");
    let (s, _) = api(&relay, DEMO_TOKEN, "POST", &path, None).await?;
    ensure!(s == 200 || s == 204, "close: {s}");

    let r = answer(&mut v, rate("x2", 2)).await?;
    assert_eq!(r["type"], "ack", "{r}");
    let mut w = rate("x3", 5);
    w["comment"] = json!("Quick and kind");
    let r3 = answer(&mut v, w.clone()).await?;
    assert_eq!(r3["type"], "ack");
    let again = answer(&mut v, w).await?;
    assert_eq!(
        (&again["type"], &again["seq"]),
        (&json!("ack"), &r3["seq"]),
        "same cid, same ack"
    );
    let rated: Vec<Value> = events(&relay, &conv)
        .await?
        .into_iter()
        .filter(|e| e["kind"] == "rated")
        .collect();
    assert_eq!(rated.len(), 2, "{rated:?}");
    assert_eq!(
        (&rated[1]["score"], &rated[1]["comment"]),
        (&json!(5), &json!("Quick and kind"))
    );
    assert_eq!(rated[1]["by"]["side"], "visitor");
    a.until(|f| f["type"] == "event" && f["kind"] == "rated" && f["score"] == 5)
        .await?;

    // Another conversation, rated 3 (not satisfied).
    let (mut v2, conv2, _) = visitor_says(&relay, "r2", "Hi").await?;
    a.send(send_to(&conv2, "a2", "Hello")).await?;
    a.until_type("ack").await?;
    let (s, _) = api(
        &relay,
        DEMO_TOKEN,
        "POST",
        &format!("/v1/api/conversations/{conv2}/close"),
        None,
    )
    .await?;
    ensure!(s == 200 || s == 204);
    let r = answer(
        &mut v2,
        json!({"type": "rate", "cid": "y1", "conv": conv2, "score": 3}),
    )
    .await?;
    assert_eq!(r["type"], "ack");

    let st = stats(&relay).await?;
    let want = json!({"count": 2, "satisfied": 1, "score_sum": 8});
    assert_eq!(st["ratings"], want, "{st}");
    let today = st["days"]
        .as_array()
        .and_then(|d| d.last())
        .cloned()
        .unwrap_or_default();
    assert_eq!(today["ratings"], want);
    // One row, the agent's (its other figures are the Reports' own tests').
    let rows = st["agents"].as_array().cloned().unwrap_or_default();
    assert_eq!(rows.len(), 1, "{st}");
    assert_eq!(
        (&rows[0]["agent"], &rows[0]["ratings"]),
        (&json!(me), &want)
    );

    // Scales: thumbs refuses 3, off refuses all; another visitor's
    // conversation is nobody's to rate.
    patch_widget(&relay, |w| w["rating"] = json!("thumbs")).await?;
    let r = answer(
        &mut v2,
        json!({"type": "rate", "cid": "y2", "conv": conv2, "score": 3}),
    )
    .await?;
    assert_eq!(r["type"], "error", "{r}");
    let r = answer(
        &mut v2,
        json!({"type": "rate", "cid": "y3", "conv": conv2, "score": 1}),
    )
    .await?;
    assert_eq!(r["type"], "ack", "{r}");
    let r = answer(
        &mut v2,
        json!({"type": "rate", "cid": "y4", "conv": conv, "score": 5}),
    )
    .await?;
    assert_eq!(r["code"], "unknown_conversation", "{r}");
    patch_widget(&relay, |w| w["rating"] = json!("off")).await?;
    let r = answer(
        &mut v2,
        json!({"type": "rate", "cid": "y5", "conv": conv2, "score": 5}),
    )
    .await?;
    assert_eq!(r["code"], "forbidden", "{r}");
    let st = stats(&relay).await?;
    assert_eq!(
        st["ratings"],
        json!({"count": 2, "satisfied": 1, "score_sum": 6}),
        "1 replaced 3"
    );
    Ok(())
}

/// Outside business hours a visitor's message gets the site's auto-reply
/// once — not again in the same closed spell, again after the site has
/// been open — as an event of its own: the conversation stays unassigned
/// and waiting, and the first response is the agent's.
#[tokio::test]
async fn the_auto_reply_comes_once_per_closed_spell_and_answers_nobody() -> Result<()> {
    let relay = Relay::start(BIN, &[]).await?;
    let (mut a, _) = agent(&relay).await?;
    let closed = json!({"hours": hours("UTC", never()), "auto_reply": "We're closed; back at 9."});
    set_offline(&relay, closed.clone()).await?;
    let (mut v, conv, _) = visitor_says(&relay, "ar1", "Hello?").await?;
    let auto = seen_or_next(&mut v, |f| {
        f["type"] == "event" && f["kind"] == "auto_reply"
    })
    .await?;
    assert_eq!(auto["text"], "We're closed; back at 9.");
    a.until(|f| f["type"] == "event" && f["kind"] == "auto_reply")
        .await?;
    v.send(send_to(&conv, "ar1-2", "Still there?")).await?;
    v.until_type("ack").await?;
    let kinds = |evs: &[Value]| -> Vec<String> {
        evs.iter()
            .map(|e| e["kind"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    let evs = events(&relay, &conv).await?;
    assert_eq!(kinds(&evs), ["message", "auto_reply", "message"]);
    let (_, list) = api(
        &relay,
        DEMO_TOKEN,
        "GET",
        "/v1/api/sites/demo/conversations?status=all",
        None,
    )
    .await?;
    let c = list["convs"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["id"] == conv.as_str())
        .cloned()
        .unwrap_or_default();
    assert!(
        c.get("assignee").is_none_or(Value::is_null),
        "not taken: {c}"
    );
    assert_eq!(
        stats(&relay).await?["first_response_ms"]["count"],
        0,
        "no first response yet"
    );

    // Open, then closed again: a new spell, a new auto-reply.
    set_offline(&relay, json!({"hours": hours("UTC", every_day("00:00", "24:00")), "auto_reply": "We're closed; back at 9."})).await?;
    set_offline(&relay, closed).await?;
    v.send(send_to(&conv, "ar1-3", "Hello again")).await?;
    v.until_type("ack").await?;
    let evs = events(&relay, &conv).await?;
    assert_eq!(
        kinds(&evs),
        ["message", "auto_reply", "message", "message", "auto_reply"]
    );

    tokio::time::sleep(Duration::from_millis(20)).await;
    a.send(send_to(&conv, "ag1", "Sorry for the wait")).await?;
    a.until_type("ack").await?;
    let fr = stats(&relay).await?["first_response_ms"].clone();
    assert_eq!(fr["count"], 1, "{fr}");
    let first_visitor = evs[0]["ts"].as_u64().unwrap_or(0);
    let reply = events(&relay, &conv)
        .await?
        .into_iter()
        .find(|e| e["kind"] == "message" && e["from"]["side"] == "agent")
        .and_then(|e| e["ts"].as_u64())
        .unwrap_or(0);
    assert_eq!(
        fr["median"].as_u64(),
        Some(reply - first_visitor),
        "from the visitor's first message to the agent's"
    );
    Ok(())
}

/// An agent chooses their notification mail (`all`, `mine`, `none`); an
/// owner may set anyone's, an agent only their own; nonsense is refused.
#[tokio::test]
async fn agents_choose_their_mail() -> Result<()> {
    let relay = Relay::start(BIN, &[]).await?;
    let (_, me) = agent(&relay).await?;
    let body = json!({"name": "Ann", "email": "ann@example.com", "password": "ann-password", "sites": ["demo"]});
    let (s, ann) = api(&relay, DEMO_TOKEN, "POST", "/v1/api/agents", Some(body)).await?;
    ensure!(s == 201, "{ann}");
    let ann_id = ann["id"].as_str().unwrap_or_default().to_string();
    assert_eq!(ann["mail"], "all", "the default");
    let ann_token = relay.login("ann@example.com", "ann-password").await?;
    let (s, v) = api(
        &relay,
        &ann_token,
        "PATCH",
        &format!("/v1/api/agents/{ann_id}"),
        Some(json!({"mail": "mine"})),
    )
    .await?;
    assert_eq!((s, &v["mail"]), (200, &json!("mine")), "{v}");
    let (s, _) = api(
        &relay,
        &ann_token,
        "PATCH",
        &format!("/v1/api/agents/{me}"),
        Some(json!({"mail": "none"})),
    )
    .await?;
    assert_eq!(s, 403, "not someone else's");
    let (s, v) = api(
        &relay,
        DEMO_TOKEN,
        "PATCH",
        &format!("/v1/api/agents/{ann_id}"),
        Some(json!({"mail": "none"})),
    )
    .await?;
    assert_eq!((s, &v["mail"]), (200, &json!("none")));
    let (s, _) = api(
        &relay,
        DEMO_TOKEN,
        "PATCH",
        &format!("/v1/api/agents/{ann_id}"),
        Some(json!({"mail": "sometimes"})),
    )
    .await?;
    assert_eq!(s, 400);
    let (_, list) = api(&relay, DEMO_TOKEN, "GET", "/v1/api/agents", None).await?;
    let stored = list
        .as_array()
        .into_iter()
        .flatten()
        .find(|a| a["id"] == ann_id.as_str())
        .map(|a| a["mail"].clone());
    assert_eq!(stored, Some(json!("none")));
    Ok(())
}

/// What was answered `saved` or acked is on disk: a form answer and a
/// rating survive kill -9, and after it the same cids are still
/// recognised (answered the same, stored once). Business hours too: a
/// relay started on a closed site's data says so in its first welcome.
#[tokio::test]
async fn forms_ratings_and_hours_survive_kill_9() -> Result<()> {
    let mut relay = Relay::start(BIN, &[]).await?;
    let (mut a, _) = agent(&relay).await?;
    let (mut v, conv, token) = visitor_says(&relay, "k1", "Hello").await?;
    let form =
        json!({"type": "contact", "cid": "c1", "form": "offline", "email": "kim@example.com"});
    let r = answer(&mut v, form.clone()).await?;
    ensure!(r["type"] == "saved", "{r}");
    a.send(send_to(&conv, "a1", "Hi Kim")).await?;
    a.until_type("ack").await?;
    let (s, _) = api(
        &relay,
        DEMO_TOKEN,
        "POST",
        &format!("/v1/api/conversations/{conv}/close"),
        None,
    )
    .await?;
    ensure!(s == 200 || s == 204);
    let rate = json!({"type": "rate", "cid": "x1", "conv": conv, "score": 4});
    let acked = answer(&mut v, rate.clone()).await?;
    ensure!(acked["type"] == "ack", "{acked}");
    set_offline(&relay, json!({"hours": hours("UTC", never())})).await?;
    drop((a, v));

    relay.restart().await?;
    let p = profile(&relay, "k1").await?;
    assert_eq!(p["user"]["email"], "kim@example.com");
    let (_agent, _) = agent(&relay).await?;
    let mut v = Ws::connect(&relay).await?;
    let w = v.hello(visitor_hello("demo", "k1", Some(&token))).await?;
    assert_eq!(w["agents_online"], false, "still closed after the restart");
    assert_eq!(w["known"], true);
    let r = answer(&mut v, form).await?;
    assert_eq!((&r["type"], &r["cid"]), (&json!("saved"), &json!("c1")));
    let again = answer(&mut v, rate).await?;
    assert_eq!(
        (&again["type"], &again["seq"]),
        (&json!("ack"), &acked["seq"])
    );
    let evs = events(&relay, &conv).await?;
    assert_eq!(evs.iter().filter(|e| e["kind"] == "contacted").count(), 1);
    assert_eq!(evs.iter().filter(|e| e["kind"] == "rated").count(), 1);
    Ok(())
}
