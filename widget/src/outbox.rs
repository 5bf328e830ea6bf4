//! The outbox: sends not yet acked, in order, kept in localStorage (`out`)
//! so a reload while offline loses nothing; each goes again with the same
//! cid after every `welcome` until the relay acks it (it stores a cid once).
//! Form answers (`contact`, answered `saved`) and ratings (`rate`) ride it
//! too, as whole frames, in order with the messages.

use crate::js::*;
use crate::storage::Storage;
use crate::Widget;
use wasm_bindgen::JsValue;

/// One unacked send. `F` is the attachment: in the browser the relay's
/// file object, or undefined for text.
pub struct Pending<F> {
    pub cid: String,
    pub text: String,
    pub file: F,
    /// A whole frame that goes instead of a `send` (a form answer, a
    /// rating); in the browser undefined for messages.
    pub frame: F,
}

/// The unacked sends, oldest first.
pub struct Outbox<F> {
    items: Vec<Pending<F>>,
}

impl<F> Outbox<F> {
    /// An outbox holding what a previous page left unacked.
    pub fn restore(items: Vec<Pending<F>>) -> Outbox<F> {
        Outbox { items }
    }

    pub fn push(&mut self, p: Pending<F>) {
        self.items.push(p);
    }

    /// Acked, or refused for good: it is not sent again.
    pub fn remove(&mut self, cid: &str) {
        self.items.retain(|p| p.cid != cid);
    }

    /// What goes (again) after a welcome, in the order it was written.
    pub fn items(&self) -> &[Pending<F>] {
        &self.items
    }
}

impl Outbox<JsValue> {
    /// The outbox a previous page saved for this site.
    pub fn load(store: &Storage) -> Outbox<JsValue> {
        let mut items = Vec::new();
        if let Some(out) = store.get("out").and_then(|s| js_sys::JSON::parse(&s).ok()) {
            for item in array(&out) {
                if let (Some(cid), Some(text)) = (get_str(&item, "cid"), get_str(&item, "text")) {
                    let (file, frame) = (get(&item, "file"), get(&item, "frame"));
                    items.push(Pending {
                        cid,
                        text,
                        file,
                        frame,
                    });
                }
            }
        }
        Outbox::restore(items)
    }

    pub fn save(&self, store: &Storage) {
        let out = js_sys::Array::new();
        for p in &self.items {
            let o = obj();
            set(&o, "cid", p.cid.as_str());
            set(&o, "text", p.text.as_str());
            set(&o, "file", p.file.clone());
            set(&o, "frame", p.frame.clone());
            out.push(&o);
        }
        store.set("out", &stringify(&out));
    }
}

impl Widget {
    /// Into the persisted outbox, and out now if connected; resent after
    /// every welcome until acked.
    pub(crate) fn queue(&mut self, cid: String, text: String, file: JsValue) {
        self.queue_frame(Pending {
            cid,
            text,
            file,
            frame: JsValue::UNDEFINED,
        });
    }

    /// A pending send or frame into the outbox, and out now if connected.
    pub(crate) fn queue_frame(&mut self, p: Pending<JsValue>) {
        self.send_frame(&p);
        self.outbox.push(p);
        self.save();
    }

    /// Everything unacked goes (again): the relay stores each cid once.
    pub(crate) fn resend_all(&self) {
        for p in self.outbox.items() {
            self.send_frame(p);
        }
    }

    fn send_frame(&self, p: &Pending<JsValue>) {
        if !self.conn.link.live() {
            return;
        }
        if p.frame.is_object() {
            return self.conn.send(&p.frame);
        }
        let f = obj();
        set(&f, "type", "send");
        set(&f, "cid", p.cid.as_str());
        set(&f, "text", p.text.as_str());
        if let Some(id) = get_str(&p.file, "id") {
            set(&f, "file", id);
        }
        if let Some(c) = &self.chat.conv {
            set(&f, "conv", c.as_str());
        }
        self.conn.send(&f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(cid: &str, text: &str) -> Pending<Option<&'static str>> {
        Pending {
            cid: cid.into(),
            text: text.into(),
            file: None,
            frame: None,
        }
    }

    fn cids<F>(o: &Outbox<F>) -> Vec<&str> {
        o.items().iter().map(|p| p.cid.as_str()).collect()
    }

    /// Every resend carries the cid the message was written with, in
    /// order, until its ack removes exactly that one.
    #[test]
    fn resends_keep_their_cids_until_acked() {
        let mut o = Outbox::restore(Vec::new());
        o.push(pending("w1", "first"));
        o.push(pending("w2", "second"));
        o.push(pending("w3", "third"));
        assert_eq!(cids(&o), ["w1", "w2", "w3"]);
        assert_eq!(
            cids(&o),
            ["w1", "w2", "w3"],
            "a second welcome sends the same"
        );
        o.remove("w2");
        assert_eq!(cids(&o), ["w1", "w3"]);
        o.remove("w2");
        o.remove("unknown");
        assert_eq!(
            cids(&o),
            ["w1", "w3"],
            "a repeated or stray ack changes nothing"
        );
        o.remove("w1");
        o.remove("w3");
        assert!(o.items().is_empty());
    }
}
