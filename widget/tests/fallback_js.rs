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

/// Reads one text of a table.
type Field = fn(&Texts) -> &'static str;

/// The fallback's text tables say what the wasm widget says.
#[test]
fn fallback_texts_are_protocol_texts() {
    for (table, texts) in [("EN", &EN), ("ZH", &ZH)] {
        let found = strings(object_body(SRC, table));
        let get = |k: &str| {
            found
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
                .unwrap_or_else(|| panic!("fallback.js {table} has no `{k}`"))
        };
        let shared: [(&str, Field); 40] = [
            ("title", |t| t.title),
            ("greeting", |t| t.greeting),
            ("offline", |t| t.offline),
            ("placeholder", |t| t.placeholder),
            ("send", |t| t.send),
            ("sending", |t| t.sending),
            ("sent", |t| t.sent),
            ("read", |t| t.read),
            ("typing", |t| t.typing),
            ("agent", |t| t.agent),
            ("open", |t| t.open),
            ("close", |t| t.close),
            ("online", |t| t.online),
            ("away", |t| t.away),
            ("reconnecting", |t| t.reconnecting),
            ("attach", |t| t.attach),
            ("uploading", |t| t.uploading),
            ("newMessage", |t| t.new_message),
            ("closed", |t| t.closed),
            ("unavailable", |t| t.unavailable),
            ("yesterday", |t| t.yesterday),
            ("dismiss", |t| t.dismiss),
            ("queuePre", |t| t.queue_pre),
            ("queuePost", |t| t.queue_post),
            ("offlineNomail", |t| t.offline_nomail),
            ("name", |t| t.name),
            ("email", |t| t.email),
            ("phone", |t| t.phone),
            ("optional", |t| t.optional),
            ("required", |t| t.required),
            ("badEmail", |t| t.bad_email),
            ("prechat", |t| t.prechat),
            ("start", |t| t.start),
            ("leave", |t| t.leave),
            ("willEmail", |t| t.will_email),
            ("rate", |t| t.rate),
            ("comment", |t| t.comment),
            ("thanks", |t| t.thanks),
            ("transcript", |t| t.transcript),
            ("mailed", |t| t.mailed),
        ];
        for (key, text) in shared {
            assert_eq!(get(key), text(texts), "fallback.js {table}.{key}");
        }
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
