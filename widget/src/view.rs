//! The DOM: a `<kefu-widget>` host with an open shadow root holding the
//! launcher, the badge and the panel. Shadow DOM keeps the host page's CSS
//! out and ours in; every visitor- or agent-written string goes in as text
//! (`textContent`), never as markup.

use protocol::texts::Texts;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Document, Element, HtmlElement, HtmlInputElement, HtmlTextAreaElement};

const CSS: &str = r#"
:host{all:initial}
*{box-sizing:border-box;font-family:system-ui,-apple-system,"Segoe UI",Roboto,"PingFang SC","Microsoft YaHei",sans-serif}
.r{position:fixed;bottom:20px;right:20px;z-index:2147483647;font-size:15px;line-height:1.4;color:#1f2933}
.r.l{right:auto;left:20px}
.b{width:58px;height:58px;border-radius:50%;border:0;background:var(--kc);color:#fff;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25);display:flex;align-items:center;justify-content:center;position:relative;margin-left:auto}
.r.l .b{margin-left:0}
.b:focus-visible,.x:focus-visible,.s:focus-visible,.w:focus-visible,.z:focus-visible,.q:focus-visible,.st button:focus-visible{outline:3px solid #f5a623;outline-offset:2px}
.b svg{width:28px;height:28px;fill:#fff}
.n{position:absolute;top:-4px;right:-4px;min-width:22px;height:22px;border-radius:11px;background:#d64545;color:#fff;font-size:12px;font-weight:700;display:flex;align-items:center;justify-content:center;padding:0 6px}
.p{position:absolute;bottom:72px;right:0;width:360px;height:min(560px,calc(100vh - 110px));background:#fff;border-radius:14px;box-shadow:0 10px 40px rgba(0,0,0,.25);display:flex;flex-direction:column;overflow:hidden}
.r.l .p{right:auto;left:0}
[hidden]{display:none!important}
.h{background:var(--kc);color:#fff;padding:14px 16px;display:flex;align-items:center;gap:8px}
.h div{flex:1;min-width:0}
.h b{display:block;font-size:16px}
.h small{opacity:.9;font-size:12px}
.x{background:transparent;border:0;color:#fff;font-size:24px;line-height:1;cursor:pointer;padding:4px 8px;border-radius:6px}
.g{flex:1;overflow-y:auto;padding:14px;background:#f5f7fa;display:flex;flex-direction:column;gap:8px}
.m{max-width:82%;padding:8px 12px;border-radius:12px;background:#fff;box-shadow:0 1px 2px rgba(0,0,0,.08);white-space:pre-wrap;overflow-wrap:anywhere}
.m.me{align-self:flex-end;background:var(--kc);color:#fff}
.m.sys{align-self:center;background:#fff8e1;color:#5f4b00;font-size:13px;text-align:center}
.k{display:flex;justify-content:flex-end;gap:6px;font-size:11px;opacity:.75;margin-top:2px}
.m i{font-style:normal}
.sys .k{justify-content:center}
.v{position:absolute;bottom:72px;right:0;width:300px;max-width:calc(100vw - 40px);background:#fff;border-radius:12px;box-shadow:0 6px 24px rgba(0,0,0,.22)}
.r.l .v{right:auto;left:0}
.w{display:block;width:100%;border:0;background:none;text-align:left;padding:12px 34px 12px 14px;cursor:pointer;font-size:14px;color:#1f2933}
.w u{display:block;text-decoration:none;font-weight:600;font-size:13px;margin-bottom:2px}
.w span{display:-webkit-box;-webkit-line-clamp:3;-webkit-box-orient:vertical;overflow:hidden;white-space:pre-wrap;overflow-wrap:anywhere}
.z{position:absolute;top:4px;right:4px;border:0;background:none;font-size:20px;line-height:1;padding:4px 8px;cursor:pointer;color:#52606d}
.m u{display:block;text-decoration:none;font-size:12px;font-weight:600;opacity:.8;margin-bottom:2px}
.t{padding:4px 16px;font-size:12px;color:#52606d;background:#f5f7fa}
form{display:flex;gap:8px;padding:10px;border-top:1px solid #e4e7eb;background:#fff;margin:0}
textarea,input,select{border:1px solid #cbd2d9;border-radius:10px;padding:8px 10px;font-size:15px;color:#1f2933;background:#fff}
form>textarea{flex:1;resize:none;max-height:120px;min-height:40px}
textarea:focus,input:focus,select:focus{outline:2px solid var(--kc);border-color:transparent}
.c{border:0;background:none;cursor:pointer;padding:0;color:#52606d}
.m img{display:block;max-width:100%;height:auto;max-height:240px;border-radius:8px}
.m a{color:inherit}
.f{display:block;text-decoration:none;padding:6px 10px;border:1px solid rgba(127,127,127,.4);border-radius:8px}
.f small{display:block;opacity:.75}
.s{border:0;border-radius:10px;background:var(--kc);color:#fff;padding:0 14px;font-size:14px;font-weight:600;cursor:pointer}
.y{padding:10px 12px;border-top:1px solid #e4e7eb;display:flex;flex-direction:column;gap:5px;overflow-y:auto;max-height:65%;margin:0}
.pc{flex:1;max-height:none}
.y p{margin:0 0 4px}
label{font-size:13px;font-weight:600}
.y input,.y select,.y textarea{width:100%}
[aria-invalid=true]{border-color:#b42318}
.ck{display:flex;gap:8px}
.ck input{width:auto;margin:3px 0}
.ck label{font-weight:400}
.e{color:#b42318;font-size:12px}
.y .s{padding:9px 16px;align-self:flex-start}
.st{display:flex;gap:6px}
.st button{flex:1;border:1px solid #cbd2d9;background:#fff;border-radius:8px;font-size:22px;padding:4px;cursor:pointer;color:#9aa5b1}
.st [aria-checked=true]{color:#f5a623;border-color:#f5a623;background:#fff4de}
.q{border:0;background:#f5f7fa;color:#52606d;font-size:12px;text-decoration:underline;cursor:pointer;padding:2px 14px 6px;text-align:left}
@media (max-width:480px){
.r{bottom:12px;right:12px}.r.l{left:12px}
.p{position:fixed;inset:0;width:auto;height:100%;height:100dvh;border-radius:0;bottom:auto}
.r.o .b{display:none}
}
"#;

/// Handles on the parts that change.
pub struct View {
    pub root: Element,
    pub launcher: HtmlElement,
    pub badge: Element,
    pub panel: Element,
    pub status: Element,
    pub log: Element,
    pub typing: Element,
    pub input: HtmlTextAreaElement,
    pub form: Element,
    /// The paperclip button and the hidden file picker it opens.
    pub clip: HtmlElement,
    pub picker: HtmlInputElement,
    pub close: Element,
    /// The form above the composer (offline, rating, transcript address)
    /// or in place of the chat (pre-chat), built by [`crate::forms`].
    pub forms: Element,
    /// "Email me this chat".
    pub mail: Element,
    /// The preview card beside the launcher: the agent's name and text
    /// (`card_open` opens the panel) and its close button.
    pub card: Element,
    pub card_open: Element,
    pub card_close: Element,
    title: Element,
    pub send: Element,
    doc: Document,
}

fn el(doc: &Document, tag: &str, class: &str) -> Element {
    let e = doc.create_element(tag).unwrap_throw();
    if !class.is_empty() {
        e.set_class_name(class);
    }
    e
}

fn attr(e: &Element, k: &str, v: &str) {
    let _ = e.set_attribute(k, v);
}

impl View {
    /// Builds the widget (`boot.js`'s `fx.mount` writes its fixed markup,
    /// with no text in it, into a shadow root under `<body>`) and finds
    /// the parts that change.
    pub fn mount(t: &Texts, fx: &JsValue) -> Option<View> {
        let doc = crate::js::window().document()?;
        let root: Element = crate::js::call(fx, "mount", &[CSS.into()])
            .dyn_into()
            .ok()?;
        let q = |sel: &str| -> Element {
            crate::js::call(&root, "querySelector", &[sel.into()]).unchecked_into()
        };
        Some(View {
            launcher: q(".b").unchecked_into(),
            badge: q(".n"),
            panel: q(".p"),
            status: q(".h small"),
            log: q(".g"),
            typing: q(".t"),
            input: q("textarea").unchecked_into(),
            form: q("form:last-child"),
            clip: q(".c").unchecked_into(),
            picker: q("[type=file]").unchecked_into(),
            close: q(".x"),
            forms: q(".y"),
            mail: q(".q"),
            card: q(".v"),
            card_open: q(".w"),
            card_close: q(".z"),
            title: q(".h b"),
            send: q(".s"),
            doc,
            root,
        })
        .inspect(|v| v.texts(t))
    }

    /// The fixed texts, in the widget's language (again when the site's
    /// settings choose another than the browser's).
    pub fn texts(&self, t: &Texts) {
        attr(&self.launcher, "aria-label", t.open);
        attr(&self.panel, "aria-label", t.title);
        self.title.set_text_content(Some(t.title));
        attr(&self.close, "aria-label", t.close);
        attr(&self.input, "placeholder", t.placeholder);
        attr(&self.input, "aria-label", t.placeholder);
        attr(&self.clip, "aria-label", t.attach);
        attr(&self.clip, "title", t.attach);
        self.send.set_text_content(Some(t.send));
        attr(&self.card_close, "aria-label", t.dismiss);
        self.mail.set_text_content(Some(t.transcript));
    }

    pub fn style(&self, color: &str, left: bool) {
        // `#rgb` or `#rrggbb` only: the colour goes into a style attribute.
        let c = if protocol::api::valid_color(color) {
            color
        } else {
            protocol::api::DEFAULT_COLOR
        };
        let mut s = String::from("--kc:");
        s.push_str(c);
        attr(&self.root, "style", &s);
        let _ = self.root.class_list().toggle_with_force("l", left);
    }

    pub fn set_open(&self, open: bool, focus: bool, t: &Texts) {
        show(&self.panel, open);
        let _ = self.root.class_list().toggle_with_force("o", open);
        attr(
            &self.launcher,
            "aria-expanded",
            if open { "true" } else { "false" },
        );
        attr(
            &self.launcher,
            "aria-label",
            if open { t.close } else { t.open },
        );
        if open {
            if focus {
                let _ = self.input.focus();
            }
            self.log.set_scroll_top(self.log.scroll_height());
        }
    }

    pub fn set_badge(&self, n: u64) {
        show(&self.badge, n > 0);
        self.badge
            .set_text_content(Some(&crate::js::itoa(n.min(99))));
    }

    pub fn set_typing(&self, who: Option<&str>, t: &Texts) {
        show(&self.typing, who.is_some());
        if let Some(w) = who {
            let mut s = String::from(w);
            s.push(' ');
            s.push_str(t.typing);
            self.typing.set_text_content(Some(&s));
        }
    }

    /// The preview card: shown with the agent's name and text, or hidden.
    pub fn set_card(&self, msg: Option<(&str, &str)>) {
        show(&self.card, msg.is_some());
        if let Some((name, text)) = msg {
            self.card_open.set_text_content(None);
            let u = el(&self.doc, "u", "");
            u.set_text_content(Some(name));
            let span = el(&self.doc, "span", "");
            span.set_text_content(Some(text));
            let _ = self.card_open.append_child(&u);
            let _ = self.card_open.append_child(&span);
        }
    }

    /// Replaces the message list. Text is set as text, never parsed.
    pub fn render(&self, rows: &[Row]) {
        let stick =
            self.log.scroll_top() + self.log.client_height() >= self.log.scroll_height() - 40;
        self.log.set_text_content(None);
        for r in rows {
            let m = el(&self.doc, "div", r.class);
            if !r.name.is_empty() {
                let u = el(&self.doc, "u", "");
                u.set_text_content(Some(&r.name));
                let _ = m.append_child(&u);
            }
            if let Some(f) = &r.file {
                let a = el(&self.doc, "a", if f.thumb.is_some() { "" } else { "f" });
                attr(&a, "href", &f.href);
                attr(&a, "target", "_blank");
                attr(&a, "rel", "noopener noreferrer");
                match &f.thumb {
                    Some((src, w, h)) => {
                        let img = el(&self.doc, "img", "");
                        attr(&img, "src", src);
                        attr(&img, "alt", &f.name);
                        attr(&img, "width", &crate::js::itoa(*w));
                        attr(&img, "height", &crate::js::itoa(*h));
                        let _ = a.append_child(&img);
                    }
                    None => {
                        let _ = a.append_child(&self.doc.create_text_node(&f.name));
                        let small = el(&self.doc, "small", "");
                        small.set_text_content(Some(&f.meta));
                        let _ = a.append_child(&small);
                    }
                }
                let _ = m.append_child(&a);
            }
            if !r.text.is_empty() || r.file.is_none() {
                let _ = m.append_child(&self.doc.create_text_node(&r.text));
            }
            if !r.state.is_empty() || !r.time.is_empty() {
                let k = el(&self.doc, "span", "k");
                if !r.time.is_empty() {
                    let time = el(&self.doc, "time", "");
                    time.set_text_content(Some(&r.time));
                    let _ = k.append_child(&time);
                }
                if !r.state.is_empty() {
                    let i = el(&self.doc, "i", "");
                    i.set_text_content(Some(r.state));
                    let _ = k.append_child(&i);
                }
                let _ = m.append_child(&k);
            }
            if !r.cid.is_empty() {
                attr(&m, "data-cid", &r.cid);
            }
            let _ = self.log.append_child(&m);
        }
        if stick {
            self.log.set_scroll_top(self.log.scroll_height());
        }
    }
}

/// One rendered line.
pub struct Row {
    pub class: &'static str,
    pub name: String,
    pub text: String,
    pub state: &'static str,
    pub cid: String,
    pub file: Option<FileRow>,
    /// When it was stored, as [`crate::when::label`] says it.
    pub time: String,
}

impl Row {
    /// A line of text without name, state or attachment.
    pub fn line(class: &'static str, text: String) -> Row {
        Row {
            class,
            name: String::new(),
            text,
            state: "",
            cid: String::new(),
            file: None,
            time: String::new(),
        }
    }
}

/// An attachment in a row: a thumbnail (src, width, height) linking to the
/// full file, or a card with the name and `meta` (size · type).
pub struct FileRow {
    pub href: String,
    pub thumb: Option<(String, u64, u64)>,
    pub name: String,
    pub meta: String,
}

pub fn show(e: &Element, on: bool) {
    if on {
        let _ = e.remove_attribute("hidden");
    } else {
        attr(e, "hidden", "");
    }
}
