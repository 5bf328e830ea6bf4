//! The translation test: reads the console's own sources and fails when a
//! string an agent reads has no Chinese, when the table keeps an entry
//! nobody uses, when a translation is empty or loses a `{}` hole, or when
//! English text reaches a view without going through [`tr`](super::tr).
//!
//! Keys are the string literals passed straight to `tr(…)`, `trf(…)` or
//! `en(…)`. Everything else that reads like English prose (two words) in
//! code that is not a test fails, unless [`NOT_SHOWN`] names it: log lines,
//! wire values and the relay's words that the console only passes on.

use super::ZH;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Literals that read like English but no agent reads as console text:
/// each is a log line, a wire/protocol marker or a brand. Adding one here
/// needs a reason beside it.
const NOT_SHOWN: &[&str] = &[
    // services/api.rs: the marker `is_unauthorized` looks for, and the
    // prefix the login screen strips (the relay's own message follows).
    "unauthorized: {msg}",
    "unauthorized: ",
    // services/conn.rs, services/push.rs: lines for the browser's
    // developer console.
    "socket closed ({code}); reconnecting",
    "kefu: the service worker did not register: {}",
    // ua.rs: names of browsers and systems, the same in every language,
    // and what the user agent is searched for.
    "Samsung Internet",
    "Internet Explorer",
    "Internet Explorer 11",
    "Mac OS X",
    // pages/settings.rs: how every WeChat AppID starts (a placeholder).
    "wx…",
];

/// One string literal of a source file.
struct Lit {
    /// Its value, escapes resolved (what the program sees).
    value: String,
    /// Where it starts (byte offset of the opening quote or `r`).
    start: usize,
    /// Where it ends (just after the closing quote).
    end: usize,
}

/// The string literals of `src` (comments, char literals and lifetimes
/// skipped).
fn literals(src: &str) -> Vec<Lit> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
            }
            b'\'' => {
                // 'x', '\n', '\u{..}' are chars; 'a (no closing quote
                // right after one char) is a lifetime.
                if b.get(i + 1) == Some(&b'\\') {
                    i += 2;
                    while i < b.len() && b[i] != b'\'' {
                        i += 1;
                    }
                    i += 1;
                } else {
                    let ch = src[i + 1..].chars().next().map_or(1, char::len_utf8);
                    if b.get(i + 1 + ch) == Some(&b'\'') {
                        i += ch + 2;
                    } else {
                        i += 1;
                    }
                }
            }
            b'r' if (b.get(i + 1) == Some(&b'"') || b.get(i + 1) == Some(&b'#'))
                && (i == 0 || !is_ident(b[i - 1])) =>
            {
                let start = i;
                let mut j = i + 1;
                let mut hashes = 0;
                while b.get(j) == Some(&b'#') {
                    hashes += 1;
                    j += 1;
                }
                if b.get(j) != Some(&b'"') {
                    i += 1;
                    continue;
                }
                let body = j + 1;
                let close = format!("\"{}", "#".repeat(hashes));
                let stop = src[body..].find(&close).map_or(src.len(), |k| body + k);
                out.push(Lit {
                    value: src[body..stop].to_string(),
                    start,
                    end: stop + close.len(),
                });
                i = stop + close.len();
            }
            b'"' => {
                let start = i;
                let mut j = i + 1;
                while j < b.len() && b[j] != b'"' {
                    j += if b[j] == b'\\' { 2 } else { 1 };
                }
                out.push(Lit {
                    value: unescape(&src[i + 1..j]),
                    start,
                    end: j + 1,
                });
                i = j + 1;
            }
            c if is_ident(c) => {
                // Skip whole identifiers so `br"…"`-like prefixes and
                // words ending in r are not mistaken for raw strings.
                while i < b.len() && is_ident(b[i]) {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    out
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// A Rust string literal's body as the program sees it.
fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('0') => out.push('\0'),
            Some('\n') => {
                while chars.peek().is_some_and(|c| c.is_whitespace()) {
                    chars.next();
                }
            }
            Some('u') => {
                let hex: String = chars
                    .by_ref()
                    .skip_while(|c| *c == '{')
                    .take_while(|c| *c != '}')
                    .collect();
                if let Some(c) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    out.push(c);
                }
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// The code before `at`, whitespace trimmed.
fn before(src: &str, at: usize) -> &str {
    src[..at].trim_end()
}

/// The literal is the first argument of `f(`.
fn called_by(src: &str, at: usize, f: &str) -> bool {
    let head = before(src, at);
    let Some(rest) = head.strip_suffix('(') else {
        return false;
    };
    let rest = rest.trim_end();
    rest.ends_with(f)
        && !rest[..rest.len() - f.len()]
            .bytes()
            .next_back()
            .is_some_and(|c| is_ident(c) || c == b'.')
}

/// Literals after these are for developers, never on screen.
const DEVELOPER_CALLS: &[&str] = &["unreachable!", "expect", "panic!", "log", "warn!"];

/// Reads like English prose: two words of letters side by side once the
/// `{…}` holes are taken out.
fn prose(s: &str) -> bool {
    let mut plain = String::new();
    let mut depth = 0;
    for c in s.chars() {
        match c {
            '{' => depth += 1,
            '}' if depth > 0 => depth -= 1,
            _ if depth == 0 => plain.push(c),
            _ => {}
        }
    }
    let words: Vec<&str> = plain
        .split(|c: char| c.is_whitespace())
        .filter(|w| !w.is_empty())
        .collect();
    let wordy = |w: &str| {
        let w = w.trim_matches(|c: char| !c.is_ascii_alphabetic());
        w.len() >= 2
            && w.chars()
                .all(|c| c.is_ascii_alphabetic() || c == '\'' || c == '-')
    };
    words.windows(2).any(|p| wordy(p[0]) && wordy(p[1]))
}

/// The byte ranges of `src` inside `html! { … }` bodies.
fn html_regions(src: &str, lits: &[Lit]) -> Vec<(usize, usize)> {
    let in_lit = |i: usize| lits.iter().find(|l| l.start <= i && i < l.end);
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(k) = src[from..].find("html!") {
        let start = from + k + "html!".len();
        from = start;
        if in_lit(start).is_some() {
            continue;
        }
        let Some(open) = src[start..].find('{').map(|o| start + o) else {
            break;
        };
        let (mut depth, mut i) = (0usize, open);
        let b = src.as_bytes();
        while i < b.len() {
            if let Some(l) = in_lit(i) {
                i = l.end;
                continue;
            }
            match b[i] {
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                _ => {}
            }
            i += 1;
        }
        out.push((open, i));
    }
    out
}

/// Attributes whose values are code, not words: `class="msg note"`.
fn code_attribute(src: &str, l: &Lit) -> bool {
    let head = before(src, l.start);
    if let Some(name) = head.strip_suffix('=') {
        let name = name.trim_end();
        let ident: String = name
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        let ident: String = ident.chars().rev().collect();
        return !["placeholder", "title", "aria-label", "alt", "value"].contains(&ident.as_str())
            && !ident.is_empty();
    }
    head.ends_with("classes!(")
}

/// A text node or user-facing attribute of `html!` with letters in it:
/// `{"Send"}`, `placeholder="Name"`, `title="…"`.
fn view_text(src: &str, l: &Lit) -> bool {
    let letters = l.value.chars().filter(|c| c.is_ascii_alphabetic()).count() >= 2;
    if !letters {
        return false;
    }
    let head = before(src, l.start);
    let tail = src[l.end..].trim_start();
    let text_node = head.ends_with('{') && tail.starts_with('}');
    let tag_text = head.ends_with('>') && tail.starts_with('<');
    let attribute = ["placeholder=", "title=", "aria-label=", "alt="]
        .iter()
        .any(|a| head.ends_with(a));
    // Technical values shown as they are: URLs, zone names, the brand.
    let technical = l.value.contains("://")
        || (l.value.contains('/') && !l.value.contains(' '))
        || l.value == "kefu";
    (text_node || tag_text || attribute) && !technical
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The code of a file that runs in the console: tests cut off (they sit at
/// the bottom, after `#[cfg(test)]`), test-only files and this table's own
/// file left out.
fn console_code(path: &Path, src: &str) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    if name == "tests.rs" || name == "coverage.rs" {
        return None;
    }
    let code = src.split("#[cfg(test)]").next().unwrap_or(src);
    if name == "i18n.rs" {
        // Only the table's keys are data there; its docs name tr("…").
        return Some(String::new());
    }
    Some(code.to_string())
}

struct Scan {
    /// Every key, with where it is used (`file:offset`).
    keys: BTreeMap<String, String>,
    /// English text not going through tr: `file: "text"`.
    bare: Vec<String>,
}

fn scan() -> Scan {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &mut files);
    files.sort();
    let mut keys = BTreeMap::new();
    let mut bare = Vec::new();
    for path in files {
        let Ok(src) = std::fs::read_to_string(&path) else {
            continue;
        };
        let Some(code) = console_code(&path, &src) else {
            continue;
        };
        let shown = path
            .strip_prefix(&root)
            .unwrap_or(&path)
            .display()
            .to_string();
        let lits = literals(&code);
        let views = html_regions(&code, &lits);
        for l in &lits {
            let in_view = views.iter().any(|(a, b)| *a < l.start && l.start < *b);
            if ["tr", "trf", "en"]
                .iter()
                .any(|f| called_by(&code, l.start, f))
            {
                keys.entry(l.value.clone())
                    .or_insert_with(|| format!("{shown}:{}", l.start));
                continue;
            }
            if DEVELOPER_CALLS.iter().any(|f| called_by(&code, l.start, f))
                || NOT_SHOWN.contains(&l.value.as_str())
            {
                continue;
            }
            if code_attribute(&code, l) {
                continue;
            }
            if (in_view && view_text(&code, l)) || prose(&l.value) {
                bare.push(format!("{shown}: {:?}", l.value));
            }
        }
    }
    Scan { keys, bare }
}

fn holes(s: &str) -> usize {
    s.matches("{}").count()
}

#[test]
fn every_console_string_has_chinese_and_every_entry_is_used() {
    let scan = scan();
    assert!(
        scan.keys.len() > 100,
        "the scan found only {} keys: is it reading agent-web/src?",
        scan.keys.len()
    );
    let table: BTreeMap<&str, &str> = ZH.iter().copied().collect();
    let mut seen = BTreeSet::new();
    let twice: Vec<&str> = ZH
        .iter()
        .filter(|(k, _)| !seen.insert(*k))
        .map(|(k, _)| *k)
        .collect();
    assert!(twice.is_empty(), "ZH lists these twice: {twice:#?}");
    let missing: Vec<String> = scan
        .keys
        .iter()
        .filter(|(k, _)| !table.contains_key(k.as_str()))
        .map(|(k, at)| format!("{at}: {k:?}"))
        .collect();
    assert!(
        missing.is_empty(),
        "{} console strings have no Chinese in i18n::ZH:\n{}",
        missing.len(),
        missing.join("\n")
    );
    let unused: Vec<&str> = table
        .keys()
        .filter(|k| !scan.keys.contains_key(**k))
        .copied()
        .collect();
    assert!(
        unused.is_empty(),
        "i18n::ZH has entries no tr/trf/en uses: {unused:#?}"
    );
    let bad: Vec<String> = ZH
        .iter()
        .filter(|(en, zh)| zh.trim().is_empty() || holes(en) != holes(zh))
        .map(|(en, zh)| format!("{en:?} → {zh:?}"))
        .collect();
    assert!(
        bad.is_empty(),
        "empty translations or a different number of {{}} holes: {bad:#?}"
    );
}

#[test]
fn no_english_reaches_a_view_without_tr() {
    let scan = scan();
    assert!(
        scan.bare.is_empty(),
        "{} strings read as English but do not go through i18n::tr/trf \
         (wrap them, or name them in NOT_SHOWN with a reason):\n{}",
        scan.bare.len(),
        scan.bare.join("\n")
    );
}

/// The scanner itself: keys are found across lines and escapes, prose and
/// view text are told from code.
#[test]
fn the_scanner_reads_rust_as_rustc_does() {
    let src = "let a = tr(\n  \"Two \\\n   words\"); let c = 'x'; fn f<'a>() {}\n\
               html!{ <b>{\"Hello there\"}</b> <i title=\"x\">{ attr(\"phone\") }</i> }\n\
               let r = r#\"raw \"quoted\"\"#; html! { <p class=\"a b\"></p> }";
    let lits = literals(src);
    let values: Vec<&str> = lits.iter().map(|l| l.value.as_str()).collect();
    assert_eq!(
        values,
        [
            "Two words",
            "Hello there",
            "x",
            "phone",
            "raw \"quoted\"",
            "a b"
        ]
    );
    let views = html_regions(src, &lits);
    assert_eq!(views.len(), 2);
    assert!(views[0].0 < lits[1].start && lits[1].start < views[0].1);
    assert!(!views
        .iter()
        .any(|(a, b)| *a < lits[4].start && lits[4].start < *b));
    assert!(code_attribute(src, &lits[5]), "class= holds code");
    assert!(!code_attribute(src, &lits[2]), "title= holds words");
    assert!(called_by(src, lits[0].start, "tr"));
    assert!(!called_by(src, lits[3].start, "tr"), "attr( is not tr(");
    assert!(view_text(src, &lits[1]));
    assert!(!view_text(src, &lits[2]), "one letter is no text");
    assert!(prose("{n} replies left"));
    assert!(!prose("/v1/api/sites/{}"));
    assert!(!prose("Bearer {}"));
}
