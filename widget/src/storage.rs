//! Persistence per site: localStorage, with a cookie fallback for the small
//! keys (visitor id, token) when localStorage is unavailable (Safari private
//! mode of old, disabled storage). The outbox, cursors and message log live
//! in localStorage, or in memory only when it is unavailable.

use crate::js::window;
use wasm_bindgen::JsCast;

pub struct Storage {
    prefix: String,
    local: Option<web_sys::Storage>,
}

impl Storage {
    pub fn new(site: &str) -> Storage {
        let local = window().local_storage().ok().flatten().filter(|s| {
            // Probe: some browsers expose localStorage but throw on write.
            s.set_item("kefu:probe", "1").is_ok() && s.remove_item("kefu:probe").is_ok()
        });
        let mut prefix = String::from("kefu:");
        prefix.push_str(site);
        prefix.push(':');
        Storage { prefix, local }
    }

    fn key(&self, k: &str) -> String {
        let mut s = self.prefix.clone();
        s.push_str(k);
        s
    }

    pub fn get(&self, k: &str) -> Option<String> {
        match &self.local {
            Some(l) => l.get_item(&self.key(k)).ok().flatten(),
            None => self.cookie_get(k),
        }
    }

    pub fn set(&self, k: &str, v: &str) {
        match &self.local {
            Some(l) => {
                let _ = l.set_item(&self.key(k), v);
            }
            None if v.len() < 512 => self.cookie_set(k, v),
            None => {}
        }
    }

    fn cookie_name(&self, k: &str) -> String {
        self.key(k).replace(':', "_")
    }

    fn doc() -> Option<web_sys::HtmlDocument> {
        window()
            .document()?
            .dyn_into::<web_sys::HtmlDocument>()
            .ok()
    }

    fn cookie_get(&self, k: &str) -> Option<String> {
        let all = Self::doc()?.cookie().ok()?;
        let name = self.cookie_name(k);
        // A closure, not `';'`: the char pattern pulls in memchr's searcher.
        #[allow(clippy::manual_pattern_char_comparison)]
        let mut cookies = all.split(|c| c == ';');
        cookies.find_map(|c| {
            let (n, v) = c.trim_start_matches(' ').split_once('=')?;
            (n == name)
                .then(|| js_sys::decode_uri_component(v).ok()?.as_string())
                .flatten()
        })
    }

    fn cookie_set(&self, k: &str, v: &str) {
        if let Some(d) = Self::doc() {
            let mut c = self.cookie_name(k);
            c.push('=');
            c.push_str(
                &js_sys::encode_uri_component(v)
                    .as_string()
                    .unwrap_or_default(),
            );
            c.push_str("; path=/; max-age=31536000; SameSite=Lax");
            let _ = d.set_cookie(&c);
        }
    }
}
