//! The host page's JS API: `kefu(name, a, b)` calls (boot.js forwards them
//! to [`command`]) and the events the page subscribes to with `on`
//! (`ready`, `open`, `close`, `message`, `unread`).

use crate::js::*;
use crate::{boot, with, Widget};
use protocol::TeamId;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// The JS API entry: `kefu(name, a, b)` from boot.js.
#[wasm_bindgen]
pub fn command(name: &str, a: JsValue, b: JsValue) {
    match name {
        "boot" => boot(&a),
        "open" => with(|w| w.set_open(true, true)),
        "close" => with(|w| w.set_open(false, true)),
        "toggle" => with(|w| w.set_open(!w.open, true)),
        "send" => {
            if let Some(text) = a.as_string() {
                with(|w| {
                    w.send(text);
                });
            }
        }
        "identify" => with(|w| w.identify(a)),
        "set" => with(|w| w.set(&a)),
        "on" => {
            if let (Some(ev), Ok(f)) = (a.as_string(), b.dyn_into::<js_sys::Function>()) {
                with(|w| w.hooks.on(ev, f));
            }
        }
        "page" => with(|w| w.page()),
        _ => {}
    }
}

/// The host page's event handlers.
#[derive(Default)]
pub struct Hooks {
    /// The first `welcome` came: `ready` fired (and fires at once for
    /// handlers added later).
    ready: bool,
    handlers: Vec<(String, js_sys::Function)>,
}

impl Hooks {
    pub fn on(&mut self, ev: String, f: js_sys::Function) {
        if ev == "ready" && self.ready {
            call_later(&f, JsValue::UNDEFINED);
        }
        self.handlers.push((ev, f));
    }

    /// Calls every handler of `ev`, later (see [`call_later`]).
    pub fn emit(&self, ev: &str, arg: JsValue) {
        for (e, f) in &self.handlers {
            if e == ev {
                call_later(f, arg.clone());
            }
        }
    }

    /// Fires `ready` once, on the first welcome.
    pub fn ready(&mut self) {
        if !self.ready {
            self.ready = true;
            self.emit("ready", JsValue::UNDEFINED);
        }
    }
}

impl Widget {
    /// `kefu('identify', user)`: identity travels in hello, so an open
    /// socket is replaced to present it.
    fn identify(&mut self, user: JsValue) {
        if !user.is_object() {
            return;
        }
        self.me.user = user;
        if self.conn.link.has_socket() {
            self.drop_socket();
            self.connect();
        }
    }

    /// `kefu('set', {team})`: the team the visitor's next conversation is
    /// routed to (`null`: the whole site). It travels in hello, so
    /// reconnects keep it; an open socket hears it at once as a `team`
    /// frame. A team that is not an id is dropped with one warning.
    fn set(&mut self, o: &JsValue) {
        let team = get(o, "team");
        if team.is_undefined() {
            return;
        }
        let valid = team.is_null() || team.as_string().is_some_and(|t| TeamId::new(t).is_ok());
        if !valid {
            let msg = "kefu: set: team ignored, not an id (1-64 of A-Z a-z 0-9 _ -) or null";
            web_sys::console::warn_1(&msg.into());
            return;
        }
        let f = obj();
        set(&f, "type", "team");
        // null: the whole site (the relay reads it as no team).
        set(&f, "team", team.clone());
        self.conn.send(&f);
        self.me.team = team;
    }

    /// Reports the current page (on welcome and on SPA navigation).
    pub(crate) fn page(&self) {
        let Some(doc) = window().document() else {
            return;
        };
        let f = obj();
        set(&f, "type", "page");
        set(&f, "url", window().location().href().unwrap_or_default());
        // Cut to the relay's limit in bytes, at a character's edge.
        let mut title = doc.title();
        let mut n = title.len().min(protocol::limits::MAX_TITLE_BYTES);
        while !title.is_char_boundary(n) {
            n -= 1;
        }
        title.truncate(n);
        set(&f, "title", title);
        let r = doc.referrer();
        if !r.is_empty() {
            set(&f, "referrer", r);
        }
        self.conn.send(&f);
    }
}

#[cfg(test)]
mod tests {
    use protocol::frames::{ClientFrame, Hello};
    use protocol::TeamId;

    /// What `kefu('set', {team})` sends is what the relay reads: a team, or
    /// null for the whole site, in a `team` frame and in `hello` (where
    /// JSON leaves an undefined team out); a team that is not an id would
    /// cost the visitor the whole hello, so the widget drops it first.
    #[test]
    fn team_frames_parse_as_the_relay_reads_them() {
        let team = |text: &str| match ClientFrame::parse(text) {
            Ok(ClientFrame::Team { team }) => team,
            other => panic!("{text}: {other:?}"),
        };
        assert_eq!(
            team(r#"{"type":"team","team":"sales"}"#),
            TeamId::new("sales").ok()
        );
        assert_eq!(team(r#"{"type":"team","team":null}"#), None);
        assert_eq!(team(r#"{"type":"team"}"#), None);
        let hello = |team: &str| {
            let text = [
                r#"{"type":"hello","v":1,"role":"visitor","site":"demo","visitor":"v1""#,
                team,
                "}",
            ]
            .concat();
            match ClientFrame::parse(&text) {
                Ok(ClientFrame::Hello(Hello { team, .. })) => Ok(team),
                Ok(other) => panic!("{other:?}"),
                Err(e) => Err(e),
            }
        };
        assert_eq!(
            hello(r#","team":"support""#).ok().flatten(),
            TeamId::new("support").ok()
        );
        assert_eq!(hello(r#","team":null"#).ok(), Some(None));
        assert_eq!(hello("").ok(), Some(None));
        for bad in ["sales team", "", "ü", &"x".repeat(65)] {
            assert!(TeamId::new(bad).is_err(), "{bad:?} is not a team id");
            let field = [r#","team":""#, bad, "\""].concat();
            assert!(
                hello(&field).is_err(),
                "a hello with team {bad:?} is refused"
            );
        }
    }
}
