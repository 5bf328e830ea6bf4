//! The WeChat Official Account bridge against a real relay and a local
//! stand-in for WeChat's API (tests/src/wechat.rs, written from WeChat's
//! documentation): server verification, plain and safe-mode pushes built
//! as the documentation describes (encrypted by the test's own code),
//! retried pushes stored once, hostile XML refused, agents' replies sent
//! through the customer-service API with a valid token, token expiry, the
//! reply window, and replies queued across a kill -9.

use crate::BIN;
use anyhow::{Context, Result};
use serde_json::{json, Value};
use std::time::Duration;
use tests::frames::*;
use tests::wechat::{event_xml, sign, text_xml, Push, StandIn, AES_KEY, APP_ID, APP_SECRET, TOKEN};
use tests::{api, Relay, Ws, DEMO_TOKEN};

const OPENID: &str = "oLVPpjqs9BhvzwPj5A-vTYAX3GLc";
const FOLLOWER: &str = "wx-oLVPpjqs9BhvzwPj5A-vTYAX3GLc";

/// A tiny PNG (what the stand-in serves as a follower's image).
fn png() -> Vec<u8> {
    let mut out = Vec::new();
    let img = image::RgbImage::from_pixel(4, 4, image::Rgb([200, 30, 30]));
    let _ = image::DynamicImage::ImageRgb8(img)
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png);
    out
}

/// A relay pointed at the stand-in, with the demo site's bridge set up in
/// `mode`.
async fn setup(mode: &str) -> Result<(Relay, StandIn)> {
    let standin = StandIn::start(png()).await?;
    let base = standin.base();
    let relay = Relay::start(BIN, &["--wechat-api-base", &base]).await?;
    configure(&relay, mode).await?;
    Ok((relay, standin))
}

async fn configure(relay: &Relay, mode: &str) -> Result<()> {
    let (status, v) = api(
        relay,
        DEMO_TOKEN,
        "PATCH",
        "/v1/api/sites/demo",
        Some(json!({"wechat": {
            "enabled": true, "app_id": APP_ID, "app_secret": APP_SECRET,
            "token": TOKEN, "encoding_aes_key": AES_KEY, "mode": mode,
        }})),
    )
    .await?;
    anyhow::ensure!(status == 200, "configure: {status} {v}");
    Ok(())
}

/// POSTs a push; (status, body text).
async fn post(relay: &Relay, site: &str, p: &Push) -> Result<(u16, String)> {
    let r = reqwest::Client::new()
        .post(relay.http(&format!("/v1/wechat/{site}?{}", p.query)))
        .header("content-type", "text/xml")
        .body(p.body.clone())
        .send()
        .await?;
    Ok((r.status().as_u16(), r.text().await?))
}

/// The site's conversations (all of them).
async fn convs(relay: &Relay) -> Result<Vec<Value>> {
    let (_, v) = api(
        relay,
        DEMO_TOKEN,
        "GET",
        "/v1/api/sites/demo/conversations?status=all",
        None,
    )
    .await?;
    Ok(v["convs"].as_array().cloned().unwrap_or_default())
}

/// The follower's only conversation.
async fn follower_conv(relay: &Relay) -> Result<Value> {
    let all = convs(relay).await?;
    let mine: Vec<_> = all
        .into_iter()
        .filter(|c| c["visitor"] == FOLLOWER)
        .collect();
    anyhow::ensure!(mine.len() == 1, "one conversation: {mine:?}");
    Ok(mine[0].clone())
}

/// The message texts of a conversation, in order, with their sides.
async fn messages(relay: &Relay, conv: &str) -> Result<Vec<(String, String)>> {
    let (_, v) = api(
        relay,
        DEMO_TOKEN,
        "GET",
        &format!("/v1/api/conversations/{conv}/events?limit=100"),
        None,
    )
    .await?;
    Ok(v["events"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter(|e| e["kind"] == "message")
        .map(|e| {
            (
                e["from"]["side"].as_str().unwrap_or("").to_string(),
                e["text"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect())
}

/// WeChat checks the URL with a GET: the right signature gets `echostr`
/// back as text/plain, a wrong one 403; a site without the bridge 404.
#[tokio::test]
async fn server_verification_answers_echostr_only_when_signed() -> Result<()> {
    let (relay, _standin) = setup("plain").await?;
    let (ts, nonce) = ("1700000000", "424242");
    let sig = sign(&[TOKEN, ts, nonce]);
    let url = |sig: &str, site: &str| {
        relay.http(&format!(
            "/v1/wechat/{site}?signature={sig}&timestamp={ts}&nonce={nonce}&echostr=echo-5566"
        ))
    };
    let r = reqwest::get(url(&sig, "demo")).await?;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()?
        .starts_with("text/plain"));
    assert_eq!(r.text().await?, "echo-5566");
    let wrong = sign(&["another-token", ts, nonce]);
    assert_eq!(reqwest::get(url(&wrong, "demo")).await?.status(), 403);
    assert_eq!(reqwest::get(url(&sig, "nosuchsite")).await?.status(), 404);
    Ok(())
}

/// Owners set the bridge up through the site API; AppSecret and
/// EncodingAESKey are never shown in full; bad values are 400s that
/// change nothing; the masked values sent back keep the stored ones.
#[tokio::test]
async fn settings_are_validated_and_secrets_masked() -> Result<()> {
    let (relay, _standin) = setup("safe").await?;
    let (_, site) = api(&relay, DEMO_TOKEN, "GET", "/v1/api/sites/demo", None).await?;
    let w = &site["wechat"];
    assert_eq!(w["app_id"], APP_ID);
    assert_eq!(w["mode"], "safe");
    assert_eq!(w["token"], TOKEN);
    let text = site.to_string();
    assert!(
        !text.contains(APP_SECRET) && !text.contains(AES_KEY),
        "{site}"
    );
    assert_eq!(w["app_secret"], "••••cdef");
    for (field, value, words) in [
        ("token", "a!", "Token"),
        ("encoding_aes_key", "tooshort", "EncodingAESKey"),
        ("app_id", "gh_123", "AppID"),
        ("app_secret", "nothex!", "AppSecret"),
    ] {
        let mut body = w.clone();
        body[field] = json!(value);
        let (status, v) = api(
            &relay,
            DEMO_TOKEN,
            "PATCH",
            "/v1/api/sites/demo",
            Some(json!({"wechat": body})),
        )
        .await?;
        assert_eq!(status, 400, "{field}: {v}");
        assert!(v["message"].as_str().unwrap_or("").contains(words), "{v}");
    }
    // Agents who are not owners see no WeChat settings and change none.
    let (s, v) = api(
        &relay,
        DEMO_TOKEN,
        "POST",
        "/v1/api/agents",
        Some(json!({"name": "Ann", "email": "ann@example.com", "password": "ann-password", "sites": ["demo"]})),
    )
    .await?;
    assert_eq!(s, 201, "{v}");
    let ann = relay.login("ann@example.com", "ann-password").await?;
    let (_, seen) = api(&relay, &ann, "GET", "/v1/api/sites/demo", None).await?;
    assert!(seen.get("wechat").is_none(), "{seen}");
    let (s, _) = api(
        &relay,
        &ann,
        "PATCH",
        "/v1/api/sites/demo",
        Some(json!({"wechat": {"enabled": false}})),
    )
    .await?;
    assert_eq!(s, 403);
    // The masked form sent back unchanged keeps the secrets: safe-mode
    // pushes still decrypt.
    let (status, _) = api(
        &relay,
        DEMO_TOKEN,
        "PATCH",
        "/v1/api/sites/demo",
        Some(json!({"wechat": w})),
    )
    .await?;
    assert_eq!(status, 200);
    let p = Push::safe(TOKEN, AES_KEY, APP_ID, &text_xml(OPENID, 1, "still here"));
    assert_eq!(post(&relay, "demo", &p).await?, (200, "success".into()));
    Ok(())
}

/// A plain-mode text push is stored as the follower's message in a WeChat
/// conversation before `success` is answered; the same push delivered
/// three times (WeChat's retries) is stored once; a push with a wrong
/// signature is refused and stores nothing.
#[tokio::test]
async fn plain_pushes_are_stored_once_in_order() -> Result<()> {
    let (relay, _standin) = setup("plain").await?;
    let bad = Push {
        query: "signature=0000&timestamp=1&nonce=2".into(),
        body: text_xml(OPENID, 9, "forged"),
    };
    assert_eq!(post(&relay, "demo", &bad).await?.0, 403);
    assert!(convs(&relay).await?.is_empty());

    let first = Push::plain(TOKEN, &text_xml(OPENID, 1001, "你好, 在吗?"));
    for _ in 0..3 {
        assert_eq!(post(&relay, "demo", &first).await?, (200, "success".into()));
    }
    let second = Push::plain(TOKEN, &text_xml(OPENID, 1002, "second <b>&amp;</b>"));
    assert_eq!(post(&relay, "demo", &second).await?.1, "success");
    // A retry of the first after the second is still not a new message.
    assert_eq!(post(&relay, "demo", &first).await?.1, "success");
    let conv = follower_conv(&relay).await?;
    assert_eq!(conv["channel"], "wechat");
    assert!(
        conv["wechat"]["last_in"].as_u64().unwrap_or(0) > 0,
        "{conv}"
    );
    let id = conv["id"].as_str().context("id")?;
    assert_eq!(
        messages(&relay, id).await?,
        [
            ("visitor".to_string(), "你好, 在吗?".to_string()),
            ("visitor".into(), "second <b>&amp;</b>".into())
        ]
    );
    let (_, profile) = api(
        &relay,
        DEMO_TOKEN,
        "GET",
        &format!("/v1/api/sites/demo/visitors/{FOLLOWER}"),
        None,
    )
    .await?;
    assert_eq!(profile["channel"], "wechat");
    // No web page may take a follower's id.
    let mut ws = Ws::connect(&relay).await?;
    ws.send(visitor_hello("demo", FOLLOWER, None)).await?;
    assert_eq!(ws.until_type("error").await?["code"], "forbidden");
    Ok(())
}

/// Safe mode: the test encrypts as the documentation describes; the relay
/// checks msg_signature, decrypts and checks the AppID. A push for
/// another AppID, with a wrong msg_signature, or in the clear is refused
/// and stores nothing. Compatible mode takes both forms.
#[tokio::test]
async fn safe_mode_decrypts_and_refuses_what_is_not_for_it() -> Result<()> {
    let (relay, _standin) = setup("safe").await?;
    let other_app = Push::safe(
        TOKEN,
        AES_KEY,
        "wx0000000000000000",
        &text_xml(OPENID, 7, "x"),
    );
    assert_eq!(post(&relay, "demo", &other_app).await?.0, 403);
    let mut tampered = Push::safe(TOKEN, AES_KEY, APP_ID, &text_xml(OPENID, 8, "x"));
    tampered.query = tampered.query.replace("msg_signature=", "msg_signature=0");
    assert_eq!(post(&relay, "demo", &tampered).await?.0, 403);
    let clear = Push::plain(TOKEN, &text_xml(OPENID, 9, "in the clear"));
    assert_eq!(post(&relay, "demo", &clear).await?.0, 403);
    assert!(convs(&relay).await?.is_empty(), "nothing stored");

    let p = Push::safe(
        TOKEN,
        AES_KEY,
        APP_ID,
        &text_xml(OPENID, 2001, "加密的消息"),
    );
    assert_eq!(post(&relay, "demo", &p).await?, (200, "success".into()));
    assert_eq!(post(&relay, "demo", &p).await?.1, "success");

    configure(&relay, "compatible").await?;
    let clear = Push::plain(TOKEN, &text_xml(OPENID, 2002, "clear in compatible"));
    assert_eq!(post(&relay, "demo", &clear).await?.1, "success");
    let id = follower_conv(&relay).await?["id"]
        .as_str()
        .context("id")?
        .to_string();
    let texts: Vec<String> = messages(&relay, &id)
        .await?
        .into_iter()
        .map(|m| m.1)
        .collect();
    assert_eq!(texts, ["加密的消息", "clear in compatible"]);
    Ok(())
}

/// XML with a DTD (an external entity, the billion laughs) or an unknown
/// entity is refused, as is a body over the limit; nothing is stored.
#[tokio::test]
async fn hostile_xml_and_oversized_pushes_are_refused() -> Result<()> {
    let (relay, _standin) = setup("compatible").await?;
    let xxe = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>{}",
        text_xml(OPENID, 1, "&xxe;").replace("<![CDATA[&xxe;]]>", "&xxe;")
    );
    let mut laughs = String::from("<?xml version=\"1.0\"?><!DOCTYPE xml [<!ENTITY lol \"lol\">");
    for i in 1..10 {
        let prev = if i == 1 {
            "lol".to_string()
        } else {
            format!("lol{}", i - 1)
        };
        laughs.push_str(&format!(
            "<!ENTITY lol{i} \"{}\">",
            format!("&{prev};").repeat(10)
        ));
    }
    laughs.push_str("]>");
    laughs.push_str(&text_xml(OPENID, 2, "x").replace("<![CDATA[x]]>", "&lol9;"));
    let undeclared = text_xml(OPENID, 3, "x").replace("<![CDATA[x]]>", "&lol9;");
    for body in [xxe, laughs, undeclared] {
        let (status, text) = post(&relay, "demo", &Push::plain(TOKEN, &body)).await?;
        assert_eq!(status, 400, "{text}");
        // Inside an encrypted push too.
        let p = Push::safe(TOKEN, AES_KEY, APP_ID, &body);
        assert_eq!(post(&relay, "demo", &p).await?.0, 400);
    }
    let big = text_xml(OPENID, 4, &"长".repeat(8000));
    let (status, text) = post(&relay, "demo", &Push::plain(TOKEN, &big)).await?;
    assert_eq!(status, 413, "{text}");
    assert!(convs(&relay).await?.is_empty(), "nothing stored");
    Ok(())
}

/// subscribe creates the follower as a visitor (no conversation),
/// unsubscribe is noted on it, a menu click is the message "[menu] KEY",
/// an image push stores the picture as the follower's file.
#[tokio::test]
async fn events_and_images_from_followers() -> Result<()> {
    let (relay, standin) = setup("plain").await?;
    let sub = Push::plain(TOKEN, &event_xml(OPENID, 1_700_000_001, "subscribe", ""));
    assert_eq!(post(&relay, "demo", &sub).await?.1, "success");
    let profile = format!("/v1/api/sites/demo/visitors/{FOLLOWER}");
    let (status, p) = api(&relay, DEMO_TOKEN, "GET", &profile, None).await?;
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["channel"], "wechat");
    assert_eq!(p["user"]["attributes"]["wechat_subscribed"], true);
    assert!(convs(&relay).await?.is_empty(), "no conversation yet");

    let click = Push::plain(TOKEN, &event_xml(OPENID, 1_700_000_002, "CLICK", "PRICES"));
    for _ in 0..2 {
        assert_eq!(post(&relay, "demo", &click).await?.1, "success");
    }
    let pic = format!(
        "<xml><ToUserName><![CDATA[gh_kefu]]></ToUserName><FromUserName><![CDATA[{OPENID}]]></FromUserName>\
         <CreateTime>1700000003</CreateTime><MsgType><![CDATA[image]]></MsgType>\
         <PicUrl><![CDATA[{}/pic/1.png]]></PicUrl><MediaId><![CDATA[media-1]]></MediaId>\
         <MsgId>3003</MsgId></xml>",
        standin.base()
    );
    assert_eq!(
        post(&relay, "demo", &Push::plain(TOKEN, &pic)).await?.1,
        "success"
    );
    let conv = follower_conv(&relay).await?;
    let id = conv["id"].as_str().context("id")?;
    let (_, v) = api(
        &relay,
        DEMO_TOKEN,
        "GET",
        &format!("/v1/api/conversations/{id}/events?limit=100"),
        None,
    )
    .await?;
    let msgs: Vec<&Value> = v["events"]
        .as_array()
        .context("events")?
        .iter()
        .filter(|e| e["kind"] == "message")
        .collect();
    assert_eq!(msgs.len(), 2, "{v}");
    assert_eq!(msgs[0]["text"], "[menu] PRICES");
    let file = &msgs[1]["file"];
    assert_eq!(file["mime"], "image/png", "{v}");
    let r = reqwest::Client::new()
        .get(relay.http(&format!("/v1/files/{}", file["id"].as_str().unwrap_or(""))))
        .bearer_auth(DEMO_TOKEN)
        .send()
        .await?;
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await?.to_vec(), png());

    let unsub = Push::plain(TOKEN, &event_xml(OPENID, 1_700_000_004, "unsubscribe", ""));
    assert_eq!(post(&relay, "demo", &unsub).await?.1, "success");
    let (_, p) = api(&relay, DEMO_TOKEN, "GET", &profile, None).await?;
    assert_eq!(p["user"]["attributes"]["wechat_subscribed"], false);
    Ok(())
}

/// An agent connected to the demo site.
async fn agent(relay: &Relay) -> Result<Ws> {
    let mut a = Ws::connect(relay).await?;
    a.hello(agent_hello(DEMO_TOKEN)).await?;
    a.send(subscribe("demo")).await?;
    a.until_type("snapshot").await?;
    Ok(a)
}

/// The follower writes `text` (message `msg_id`); their conversation's id.
async fn follower_writes(relay: &Relay, msg_id: u64, text: &str) -> Result<String> {
    let p = Push::plain(TOKEN, &text_xml(OPENID, msg_id, text));
    assert_eq!(post(relay, "demo", &p).await?, (200, "success".into()));
    Ok(follower_conv(relay).await?["id"]
        .as_str()
        .context("id")?
        .to_string())
}

/// Sends a reply and waits for its ack (or error) frame.
async fn reply(a: &mut Ws, conv: &str, cid: &str, text: &str) -> Result<Value> {
    a.send(send_to(conv, cid, text)).await?;
    a.until(|f| (f["type"] == "ack" || f["type"] == "error") && f["cid"] == cid)
        .await
}

/// Waits until the stand-in has accepted `n` messages.
async fn until_sent(standin: &StandIn, n: usize) -> Result<()> {
    for _ in 0..300 {
        if standin.seen(|s| s.sent.len()) >= n {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("stand-in got {:?}, wanted {n}", standin.texts())
}

/// An agent's reply reaches WeChat's customer-service API for the
/// follower, with a token the token endpoint issued; when WeChat calls
/// the token expired (40001) the relay fetches one new token and sends
/// again, once; a busy WeChat (-1) is retried; an image is uploaded and
/// sent by media_id.
#[tokio::test]
async fn replies_reach_wechat_with_a_valid_token() -> Result<()> {
    let (relay, standin) = setup("safe").await?;
    let p = Push::safe(TOKEN, AES_KEY, APP_ID, &text_xml(OPENID, 1, "hi"));
    assert_eq!(post(&relay, "demo", &p).await?.1, "success");
    let conv = follower_conv(&relay).await?["id"]
        .as_str()
        .context("id")?
        .to_string();
    let mut a = agent(&relay).await?;
    assert_eq!(reply(&mut a, &conv, "r1", "您好!").await?["type"], "ack");
    until_sent(&standin, 1).await?;
    let first = standin.seen(|s| s.sent[0].clone());
    assert_eq!(
        first,
        json!({"touser": OPENID, "msgtype": "text", "text": {"content": "您好!"}})
    );
    assert_eq!(standin.seen(|s| s.tokens), 1);

    standin.expire_tokens();
    assert_eq!(reply(&mut a, &conv, "r2", "second").await?["type"], "ack");
    until_sent(&standin, 2).await?;
    let (tokens, attempts) = standin.seen(|s| (s.tokens, s.attempts.clone()));
    assert_eq!(tokens, 2, "one refresh");
    let codes: Vec<i64> = attempts.iter().map(|a| a.1).collect();
    assert_eq!(codes, [0, 40001, 0], "{attempts:?}");
    assert_ne!(attempts[1].0, attempts[2].0, "resent with the new token");

    standin.fail_next(&[-1]);
    assert_eq!(reply(&mut a, &conv, "r3", "third").await?["type"], "ack");
    until_sent(&standin, 3).await?;

    // An image: uploaded by the agent, then sent through media/upload.
    let r = reqwest::Client::new()
        .post(relay.http("/v1/files?site=demo&name=photo.png"))
        .bearer_auth(DEMO_TOKEN)
        .body(png())
        .send()
        .await?;
    let file: Value = r.json().await?;
    let id = file["id"].as_str().context("file id")?;
    a.send(json!({"type": "send", "cid": "r4", "conv": conv, "text": "", "file": id}))
        .await?;
    a.until(|f| f["type"] == "ack" && f["cid"] == "r4").await?;
    until_sent(&standin, 4).await?;
    let last = standin.seen(|s| s.sent[3].clone());
    assert_eq!(last["msgtype"], "image");
    assert_eq!(last["image"]["media_id"], "standin-media-1");
    assert_eq!(standin.seen(|s| s.uploads.len()), 1);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        standin.texts(),
        ["您好!", "second", "third", ""],
        "each once"
    );
    Ok(())
}

/// WeChat's window: a 45015 marks the conversation's window closed (the
/// API shows it) and the next reply is refused with a clear error; the
/// follower writing again opens it; a sixth reply since the follower's
/// last message is refused by the relay before WeChat sees it.
#[tokio::test]
async fn the_reply_window_is_enforced_and_shown() -> Result<()> {
    let (relay, standin) = setup("plain").await?;
    let conv = follower_writes(&relay, 1, "hello").await?;
    let mut a = agent(&relay).await?;
    standin.fail_next(&[45015]);
    assert_eq!(reply(&mut a, &conv, "w1", "too late").await?["type"], "ack");
    let mut closed = false;
    for _ in 0..100 {
        let c = follower_conv(&relay).await?;
        if c["wechat"]["closed"] == true {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(closed, "the window shows closed");
    // The agents are told, in the conversation, that it did not go out.
    let mut notes = Vec::new();
    for _ in 0..100 {
        let (_, v) = api(
            &relay,
            DEMO_TOKEN,
            "GET",
            &format!("/v1/api/conversations/{conv}/events?limit=100"),
            None,
        )
        .await?;
        notes = v["events"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|e| e["kind"] == "note")
            .collect();
        if !notes.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0]["text"]
        .as_str()
        .unwrap_or("")
        .starts_with("Not delivered to WeChat: WeChat errcode 45015"));
    let e = reply(&mut a, &conv, "w2", "still?").await?;
    assert_eq!(e["type"], "error", "{e}");
    assert_eq!(e["code"], "reply_window_closed");
    assert!(
        e["message"]
            .as_str()
            .unwrap_or("")
            .contains("follower must write first"),
        "{e}"
    );

    follower_writes(&relay, 2, "I'm back").await?;
    let c = follower_conv(&relay).await?;
    assert!(
        c["wechat"].get("closed").is_none() && c["wechat"]["replies"] == 0,
        "{c}"
    );
    for i in 0..5 {
        let f = reply(&mut a, &conv, &format!("ok{i}"), &format!("reply {i}")).await?;
        assert_eq!(f["type"], "ack", "{f}");
    }
    let e = reply(&mut a, &conv, "ok5", "one too many").await?;
    assert_eq!(e["code"], "reply_window_closed", "{e}");
    assert!(
        e["message"].as_str().unwrap_or("").contains("5 replies"),
        "{e}"
    );
    until_sent(&standin, 5).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(standin.seen(|s| s.sent.len()), 5);
    // The refused replies were stored nowhere.
    let texts: Vec<String> = messages(&relay, &conv)
        .await?
        .into_iter()
        .map(|m| m.1)
        .collect();
    assert!(
        !texts.iter().any(|t| t == "still?" || t == "one too many"),
        "{texts:?}"
    );
    Ok(())
}

/// Replies acked while WeChat is unreachable stay queued; the relay is
/// killed (SIGKILL) and started again; once WeChat answers, each reply is
/// sent exactly once, in order.
#[tokio::test]
async fn replies_queued_across_a_kill_are_sent_once() -> Result<()> {
    let (mut relay, standin) = setup("plain").await?;
    let conv = follower_writes(&relay, 1, "anyone?").await?;
    let mut a = agent(&relay).await?;
    standin.set_down(true);
    for i in 0..3 {
        let f = reply(&mut a, &conv, &format!("k{i}"), &format!("queued {i}")).await?;
        assert_eq!(f["type"], "ack", "{f}");
    }
    // Let the first attempts fail against the dead stand-in.
    tokio::time::sleep(Duration::from_millis(700)).await;
    relay.kill9().await?;
    assert_eq!(standin.seen(|s| s.sent.len()), 0);
    standin.set_down(false);
    relay.restart().await?;
    until_sent(&standin, 3).await?;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(standin.texts(), ["queued 0", "queued 1", "queued 2"]);
    Ok(())
}
