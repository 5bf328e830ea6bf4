//! `www/fallback.js` (plain ES3, no build step) keeps its own copies of the
//! client timing and the built-in texts. These tests read them out of the
//! source and fail when one drifts from `protocol::timing` or
//! `protocol::texts`, and when a timing number is written out by hand
//! outside the `TIMING` table.

use protocol::texts::{Texts, EN, ZH};
use protocol::timing::*;

const SRC: &str = include_str!("../../www/fallback.js");

/// The body of `var NAME = { … };` (between the braces).
fn object_body<'a>(src: &'a str, name: &str) -> &'a str {
    let head = ["var ", name, " = {"].concat();
    let start = src
        .find(&head)
        .unwrap_or_else(|| panic!("fallback.js has no `{head}`"))
        + head.len();
    let len = src[start..]
        .find("};")
        .unwrap_or_else(|| panic!("`{head}` is not closed by `}};`"));
    &src[start..start + len]
}

/// `key: 123, …` → pairs.
fn numbers(body: &str) -> Vec<(String, u32)> {
    body.split(',')
        .map(|entry| {
            let (k, v) = entry
                .split_once(':')
                .unwrap_or_else(|| panic!("not `key: value`: {entry:?}"));
            let v = v.trim();
            let n = v
                .parse()
                .unwrap_or_else(|_| panic!("{} is not a plain number: {v:?}", k.trim()));
            (k.trim().to_string(), n)
        })
        .collect()
}

/// `key: 'text', key: "text", …` (ES3 string literals) → pairs.
fn strings(body: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = body.trim_start();
    while !rest.is_empty() {
        let (key, after) = rest
            .split_once(':')
            .unwrap_or_else(|| panic!("no `key:` at {rest:?}"));
        let after = after.trim_start();
        let quote = after.chars().next().expect("a value after `key:`");
        assert!(quote == '\'' || quote == '"', "not a string: {after:?}");
        let mut text = String::new();
        let mut chars = after[1..].char_indices();
        let end = loop {
            let (i, c) = chars.next().expect("an unterminated string");
            match c {
                '\\' => match chars.next().expect("an escape").1 {
                    'n' => text.push('\n'),
                    'u' => {
                        let hex: String = (0..4).map(|_| chars.next().expect("hex").1).collect();
                        let code = u32::from_str_radix(&hex, 16).expect("\\u escape");
                        text.push(char::from_u32(code).expect("a scalar value"));
                    }
                    other => text.push(other),
                },
                c if c == quote => break 1 + i + 1,
                c => text.push(c),
            }
        };
        out.push((key.trim().to_string(), text));
        rest = after[end..].trim_start();
        rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
    }
    out
}

/// Every key of the fallback's `TIMING` and the protocol constant it copies.
const TIMING_TABLE: [(&str, u32); 11] = [
    ("reconnect_first_ms", RECONNECT_FIRST_MS),
    ("reconnect_max_ms", RECONNECT_MAX_MS),
    ("reconnect_min_ms", RECONNECT_MIN_MS),
    ("reconnect_max_doublings", RECONNECT_MAX_DOUBLINGS),
    ("visitor_typing_idle_ms", VISITOR_TYPING_IDLE_MS),
    ("visitor_typing_repeat_ms", VISITOR_TYPING_REPEAT_MS),
    ("draft_every_ms", DRAFT_EVERY_MS),
    ("agent_typing_shown_ms", AGENT_TYPING_SHOWN_MS),
    ("title_flash_ms", TITLE_FLASH_MS),
    ("refused_retry_ms", REFUSED_RETRY_MS),
    ("longpoll_client_timeout_ms", LONGPOLL_CLIENT_TIMEOUT_MS),
];

#[test]
fn fallback_timing_is_protocol_timing() {
    let found = numbers(object_body(SRC, "TIMING"));
    let want: Vec<(String, u32)> = TIMING_TABLE
        .iter()
        .map(|(k, v)| (k.to_string(), *v))
        .collect();
    assert_eq!(found, want, "www/fallback.js TIMING vs protocol::timing");
}

/// The table is the one place: no timing value is written out elsewhere
/// in the code (values that are also ordinary small numbers excepted).
#[test]
fn fallback_uses_its_timing_table() {
    let table = object_body(SRC, "TIMING");
    let start = SRC.find(table).expect("the table") + table.len();
    let code = &SRC[start..];
    for (key, value) in TIMING_TABLE.iter().filter(|(_, v)| *v >= 800) {
        let lit = value.to_string();
        let bare = code.match_indices(&lit).any(|(i, _)| {
            let before = code[..i]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_ascii_alphanumeric());
            let after = code[i + lit.len()..]
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric());
            !before && !after
        });
        assert!(!bare, "fallback.js writes {lit} ({key}) outside TIMING");
        assert!(
            code.contains(&["TIMING.", key].concat()),
            "fallback.js never uses TIMING.{key}"
        );
    }
}

/// Protocol texts `fallback.js` has no use for, each with why.
const WIDGET_ONLY: [&str; 4] = [
    // The widget labels the visitor's own messages; the fallback aligns
    // them without a name.
    "you",
    // Files are checked before an upload only where the browser can send
    // them (the fallback says `oldBrowser` instead).
    "too_big",
    "bad_type",
    // The fallback's own, shorter wording (`upFailed`): it cannot retry.
    "up_failed",
];

/// `fallback.js` texts the protocol does not have: what only an old browser
/// hits.
const FALLBACK_ONLY: [&str; 2] = ["oldBrowser", "upFailed"];

/// `new_message` → `newMessage`: the fallback's spelling of a field.
fn camel(field: &str) -> String {
    let mut out = String::new();
    let mut up = false;
    for c in field.chars() {
        if c == '_' {
            up = true;
        } else if up {
            out.extend(c.to_uppercase());
            up = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// The fallback's text tables say what the wasm widget says, key for key:
/// every protocol text is in both tables (or named in [`WIDGET_ONLY`]),
/// every fallback text is a protocol text (or named in [`FALLBACK_ONLY`]),
/// and the Chinese table is Chinese throughout.
#[test]
fn fallback_texts_are_protocol_texts() {
    let en = strings(object_body(SRC, "EN"));
    let zh = strings(object_body(SRC, "ZH"));
    let keys = |t: &[(String, String)]| t.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
    assert_eq!(
        keys(&en),
        keys(&zh),
        "fallback.js EN and ZH list the same keys"
    );
    for (table, texts, found) in [("EN", &EN, &en), ("ZH", &ZH, &zh)] {
        let texts: &Texts = texts;
        let get = |k: &str| {
            found
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        for (field, text) in texts.fields() {
            if WIDGET_ONLY.contains(&field) {
                continue;
            }
            let key = camel(field);
            let got = get(&key).unwrap_or_else(|| panic!("fallback.js {table} has no `{key}`"));
            assert_eq!(got, text, "fallback.js {table}.{key}");
        }
        let fields: Vec<String> = texts.fields().iter().map(|(f, _)| camel(f)).collect();
        for (key, _) in found.iter() {
            assert!(
                fields.contains(key) || FALLBACK_ONLY.contains(&key.as_str()),
                "fallback.js {table}.{key} is no protocol text (name it in FALLBACK_ONLY)"
            );
        }
    }
    for key in FALLBACK_ONLY {
        let (e, z) = (
            en.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            zh.iter().find(|(k, _)| k == key).map(|(_, v)| v),
        );
        assert!(
            e.is_some() && z.is_some() && e != z,
            "fallback.js ZH.{key} is no English copy"
        );
    }
}

/// The fallback's form limits are the protocol's.
#[test]
fn fallback_limits_are_protocol_limits() {
    use protocol::limits::*;
    let found = numbers(object_body(SRC, "LIMITS"));
    let want: Vec<(String, u32)> = [
        ("max_name_bytes", MAX_NAME_BYTES),
        ("max_email_bytes", MAX_EMAIL_BYTES),
        ("max_phone_bytes", MAX_PHONE_BYTES),
        ("max_form_value_bytes", MAX_FORM_VALUE_BYTES),
        ("max_rating_comment_bytes", MAX_RATING_COMMENT_BYTES),
        ("max_form_fields", MAX_FORM_FIELDS),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), *v as u32))
    .collect();
    assert_eq!(found, want, "www/fallback.js LIMITS vs protocol::limits");
}

/// The readers above can fail: a drifted copy is caught.
#[test]
fn the_readers_see_a_drift() {
    let drifted = SRC.replace("reconnect_max_ms: 30000", "reconnect_max_ms: 15000");
    assert_ne!(
        numbers(object_body(&drifted, "TIMING")),
        numbers(object_body(SRC, "TIMING"))
    );
    let s = strings(r#" a: 'it\'s', b: "We're \"here\"", c: '\u2709' "#);
    assert_eq!(
        s,
        [
            ("a".to_string(), "it's".to_string()),
            ("b".to_string(), "We're \"here\"".to_string()),
            ("c".to_string(), "✉".to_string())
        ]
    );
}

/// The default accent colour: the fallback's stylesheet, its first
/// `style(…)` call and its refusal of a bad colour all use the protocol's.
#[test]
fn fallback_default_colour_is_the_protocols() {
    let default = protocol::api::DEFAULT_COLOR;
    let colours: Vec<&str> = SRC
        .match_indices("#0")
        .map(|(i, _)| &SRC[i..(i + 7).min(SRC.len())])
        .collect();
    assert!(
        colours.len() >= 4,
        "the stylesheet's accent colour not found"
    );
    for c in colours {
        assert_eq!(
            c, default,
            "fallback.js writes {c} where the default colour is {default}"
        );
    }
    assert!(
        SRC.contains(&format!(": '{default}';")),
        "bad colours do not fall back to {default}"
    );
    assert!(
        SRC.contains(&format!("style('{default}', false)")),
        "the first style is not {default}"
    );
}
