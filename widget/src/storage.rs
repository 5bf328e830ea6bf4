//! Persistence per site: localStorage, with a cookie fallback for the small
//! keys (visitor id, token) when localStorage is unavailable (Safari private
//! mode of old, disabled storage). The outbox, cursors and message log live
//! in localStorage, or in memory only when it is unavailable.

use crate::js::{enc, get, set, window};
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
        // Closures, not char patterns: those pull in memchr's searcher.
        #[allow(clippy::manual_pattern_char_comparison)]
        self.key(k).replace(|c| c == ':', "_")
    }

    /// `document.cookie` (`a=1; b=2`) read and written as plain
    /// properties: the typed `HtmlDocument` bindings cost more glue.
    fn cookie_get(&self, k: &str) -> Option<String> {
        let doc = window().document()?;
        let name = [&self.cookie_name(k), "="].concat();
        let all: js_sys::JsString = get(&doc, "cookie").dyn_into().ok()?;
        all.split("; ").iter().find_map(|c| {
            let v = c.as_string()?;
            js_sys::decode_uri_component(v.strip_prefix(name.as_str())?)
                .ok()?
                .as_string()
        })
    }

    fn cookie_set(&self, k: &str, v: &str) {
        if let Some(doc) = window().document() {
            let name = self.cookie_name(k);
            let c = [
                &name,
                "=",
                &enc(v),
                "; path=/; max-age=31536000; SameSite=Lax",
            ]
            .concat();
            set(&doc, "cookie", c);
        }
    }
}
