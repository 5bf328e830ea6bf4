//! One language per visitor: the `welcome` carries the language resolved
//! from the site's `widget.language` and the visitor's `hello.lang`, with
//! the site's greeting, offline text and form labels of that language
//! already picked (and no per-language table); the hosted chat page says
//! the same language before the widget connects; unknown languages and
//! oversized texts are refused with the reason and change nothing.

use crate::BIN;
use anyhow::{ensure, Result};
use serde_json::{json, Value};
use tests::frames::*;
use tests::{api, Relay, Ws, DEMO_TOKEN};

/// The demo site's widget settings with `change` applied: the answer.
async fn patch_widget(relay: &Relay, change: impl FnOnce(&mut Value)) -> Result<(u16, Value)> {
    let (s, site) = api(relay, DEMO_TOKEN, "GET", "/v1/api/sites/demo", None).await?;
    ensure!(s == 200, "site: {s}");
    let mut w = site["widget"].clone();
    change(&mut w);
    api(
        relay,
        DEMO_TOKEN,
        "PATCH",
        "/v1/api/sites/demo",
        Some(json!({ "widget": w })),
    )
    .await
}

/// A visitor's welcome settings, the hello saying `lang` (none: absent).
async fn welcome_settings(relay: &Relay, visitor: &str, lang: Option<&str>) -> Result<Value> {
    let mut ws = Ws::connect(relay).await?;
    let mut h = visitor_hello("demo", visitor, None);
    if let Some(l) = lang {
        h["lang"] = json!(l);
    }
    let w = ws.hello(h).await?;
    ws.close().await?;
    Ok(w["settings"].clone())
}

/// The bilingual site the tests set up: English plain fields, Chinese
/// texts, a custom field and consent with a Chinese label each.
fn bilingual(w: &mut Value) {
    w["greeting"] = json!("Hello from the shop");
    w["offline_message"] = json!("We are away");
    w["prechat"] = json!({
        "enabled": true, "name": "required",
        "fields": [{"key": "order", "label": "Order number"}],
        "consent": "I agree to the terms",
    });
    w["texts"] = json!({
        "zh-CN": {
            "greeting": "欢迎光临本店",
            "offline_message": "我们暂时不在",
            "labels": {"order": "订单号", "consent": "我同意条款"},
        },
    });
}

/// Auto (no site language): each visitor reads the language of their own
/// hello, texts and labels included; with the site's language set, every
/// visitor reads that one whatever their browser says.
#[tokio::test]
async fn the_welcome_resolves_one_language_with_its_texts() -> Result<()> {
    let relay = Relay::start(BIN, &[]).await?;
    let (s, v) = patch_widget(&relay, bilingual).await?;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["widget"]["texts"]["zh-CN"]["greeting"], "欢迎光临本店",
        "the API keeps the table"
    );

    let zh = welcome_settings(&relay, "lang-zh", Some("zh-Hans-CN")).await?;
    assert_eq!(zh["language"], "zh-CN");
    assert_eq!(zh["greeting"], "欢迎光临本店");
    assert_eq!(zh["offline_message"], "我们暂时不在");
    assert_eq!(zh["prechat"]["fields"][0]["label"], "订单号");
    assert_eq!(zh["prechat"]["consent"], "我同意条款");
    assert!(
        zh.get("texts").is_none(),
        "the visitor gets one language: {zh}"
    );

    let en = welcome_settings(&relay, "lang-en", Some("en-US")).await?;
    assert_eq!(en["language"], "en");
    assert_eq!(en["greeting"], "Hello from the shop");
    assert_eq!(en["prechat"]["fields"][0]["label"], "Order number");
    assert_eq!(en["prechat"]["consent"], "I agree to the terms");
    let none = welcome_settings(&relay, "lang-none", None).await?;
    assert_eq!(none["language"], "en", "no language said: English");

    // The site speaks Chinese: an English browser reads Chinese too.
    let (s, v) = patch_widget(&relay, |w| w["language"] = json!("zh-CN")).await?;
    assert_eq!(s, 200, "{v}");
    let forced = welcome_settings(&relay, "lang-en2", Some("en-US")).await?;
    assert_eq!(forced["language"], "zh-CN");
    assert_eq!(forced["greeting"], "欢迎光临本店");
    // And the reverse: an English site, a Chinese browser.
    let (s, v) = patch_widget(&relay, |w| w["language"] = json!("en")).await?;
    assert_eq!(s, 200, "{v}");
    let forced = welcome_settings(&relay, "lang-zh2", Some("zh-CN")).await?;
    assert_eq!(forced["language"], "en");
    assert_eq!(forced["greeting"], "Hello from the shop");
    assert_eq!(forced["prechat"]["fields"][0]["label"], "Order number");

    // The long-poll transport says the same.
    let mut lp = tests::Lp::new(&relay);
    let mut h = visitor_hello("demo", "lang-lp", None);
    h["lang"] = json!("zh-CN");
    let frames = lp.send(vec![h]).await?;
    let w = frames
        .iter()
        .find(|f| f["type"] == "welcome")
        .cloned()
        .unwrap_or_default();
    assert_eq!(w["settings"]["language"], "en", "{frames:?}");
    Ok(())
}

/// The hosted chat page is in the resolved language from its first byte:
/// `<html lang>` and the loader's `data-lang`, from the site's language or
/// the browser's `Accept-Language`.
#[tokio::test]
async fn the_chat_page_speaks_the_resolved_language() -> Result<()> {
    let relay = Relay::start(BIN, &[]).await?;
    let get = |accept: &'static str| {
        let url = relay.http("/chat/demo");
        async move {
            let r = reqwest::Client::new()
                .get(url)
                .header("accept-language", accept)
                .send()
                .await?;
            anyhow::Ok(r.text().await?)
        }
    };
    let html = get("zh-CN,zh;q=0.9,en;q=0.8").await?;
    assert!(html.contains("<html lang=\"zh-CN\">"), "{html}");
    assert!(html.contains("data-lang=\"zh-CN\""), "{html}");
    let html = get("en-GB,en;q=0.9").await?;
    assert!(html.contains("<html lang=\"en\">"), "{html}");
    let (s, v) = patch_widget(&relay, |w| w["language"] = json!("zh-CN")).await?;
    assert_eq!(s, 200, "{v}");
    let html = get("en-US").await?;
    assert!(
        html.contains("<html lang=\"zh-CN\">") && html.contains("data-lang=\"zh-CN\""),
        "the site's language wins: {html}"
    );
    Ok(())
}

/// Unknown languages, oversized texts, labels of no field and an
/// oversized `hello.lang` are refused with the reason; nothing changes.
#[tokio::test]
async fn bad_languages_and_texts_are_refused() -> Result<()> {
    let relay = Relay::start(BIN, &[]).await?;
    let (s, v) = patch_widget(&relay, bilingual).await?;
    assert_eq!(s, 200, "{v}");
    let (_, before) = api(&relay, DEMO_TOKEN, "GET", "/v1/api/sites/demo", None).await?;

    let (s, v) = patch_widget(&relay, |w| {
        w["texts"]["fr"] = json!({"greeting": "Bonjour"})
    })
    .await?;
    assert_eq!(s, 400, "{v}");
    assert_eq!(v["code"], "bad_request");
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("widget texts: language must be en or zh-CN")),
        "{v}"
    );
    let (s, v) = patch_widget(&relay, |w| w["language"] = json!("fr")).await?;
    assert_eq!(s, 400, "{v}");
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("widget.language")),
        "{v}"
    );
    let long = "长".repeat(protocol::limits::MAX_WIDGET_TEXT_BYTES / 3 + 1);
    let (s, v) = patch_widget(&relay, |w| w["texts"]["zh-CN"]["greeting"] = json!(long)).await?;
    assert_eq!(s, 413, "{v}");
    let (s, v) = patch_widget(&relay, |w| {
        w["texts"]["zh-CN"]["labels"]["coupon"] = json!("优惠码")
    })
    .await?;
    assert_eq!(s, 400, "{v}");
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("\"coupon\"")),
        "{v}"
    );
    let (_, after) = api(&relay, DEMO_TOKEN, "GET", "/v1/api/sites/demo", None).await?;
    assert_eq!(before["widget"], after["widget"], "nothing stored");

    let mut ws = Ws::connect(&relay).await?;
    let mut h = visitor_hello("demo", "lang-long", None);
    h["lang"] = json!("x".repeat(protocol::limits::MAX_LANGUAGE_TAG_BYTES + 1));
    ws.send(h).await?;
    let e = ws.until_type("error").await?;
    assert!(
        e["message"].as_str().is_some_and(|m| m.contains("lang")),
        "{e}"
    );
    // An odd but short tag is no error: it resolves like any other.
    let mut ws = Ws::connect(&relay).await?;
    let mut h = visitor_hello("demo", "lang-odd", None);
    h["lang"] = json!("zh_CN");
    let w = ws.hello(h).await?;
    assert_eq!(w["settings"]["language"], "zh-CN");
    Ok(())
}
