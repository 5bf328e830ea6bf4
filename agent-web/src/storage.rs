//! What the console keeps in localStorage: the session token, the chosen
//! site, the away flag, the language picked in the top bar, and the outbox of unacked replies (so a reload
//! while offline loses nothing).

use crate::model::Pending;

const TOKEN: &str = "kefu.console.token";
const SITE: &str = "kefu.console.site";
const AWAY: &str = "kefu.console.away";
const OUTBOX: &str = "kefu.console.outbox";
const LANG: &str = "kefu.console.lang";

fn store() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

fn get(key: &str) -> Option<String> {
    store()?.get_item(key).ok()?
}

fn set(key: &str, value: Option<&str>) {
    if let Some(s) = store() {
        let _ = match value {
            Some(v) => s.set_item(key, v),
            None => s.remove_item(key),
        };
    }
}

pub fn token() -> Option<String> {
    get(TOKEN).filter(|t| !t.is_empty())
}

pub fn set_token(t: Option<&str>) {
    set(TOKEN, t);
}

pub fn site() -> Option<String> {
    get(SITE)
}

pub fn set_site(s: &str) {
    set(SITE, Some(s));
}

pub fn away() -> bool {
    get(AWAY).as_deref() == Some("1")
}

pub fn set_away(away: bool) {
    set(AWAY, away.then_some("1"));
}

/// The language the agent picked (a BCP 47 tag), if they ever did.
pub fn lang() -> Option<String> {
    get(LANG).filter(|l| !l.is_empty())
}

pub fn set_lang(tag: &str) {
    set(LANG, Some(tag));
}

pub fn load_outbox() -> Vec<Pending> {
    get(OUTBOX)
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default()
}

pub fn save_outbox(outbox: &[Pending]) {
    match serde_json::to_string(outbox) {
        Ok(s) if !outbox.is_empty() => set(OUTBOX, Some(&s)),
        _ => set(OUTBOX, None),
    }
}
