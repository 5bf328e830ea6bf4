//! Attachments: files from the paperclip, a drop or a paste are uploaded
//! (retried with backoff on network trouble; the same bytes are the same
//! file), then sent as a message through the outbox; and how a file in
//! the log shows (thumbnail or card).

use crate::connection::Visitor;
use crate::js::*;
use crate::state::Msg;
use crate::{view, with, Widget};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// Upload attempts on network errors before giving up (same bytes, same
/// file id: a retry is stored once).
const UPLOAD_TRIES: u32 = 5;
/// The first retry waits about twice this (ms), doubling per attempt,
/// with ±50 % jitter.
const UPLOAD_RETRY_MS: f64 = 1_000.0;

impl Widget {
    /// No paperclip when the site turned attachments off (`welcome`); what
    /// it accepts is checked by the relay, from the bytes.
    pub(crate) fn file_types(&self, types: &JsValue) {
        view::show(&self.view.clip, !array(types).is_empty());
    }

    /// A `FileList` (or array of files) from the picker, a drop or a paste.
    pub(crate) fn attach_all(&mut self, files: &JsValue) {
        for f in array(files) {
            self.attach(f.unchecked_into());
        }
    }

    /// Shows the file as uploading, uploads it, then sends the message.
    #[inline(never)]
    fn attach(&mut self, file: web_sys::File) {
        let cid = new_id("w");
        let name = file.name();
        if file.size() > protocol::limits::MAX_FILE_BYTES as f64 {
            return self.notice(&name, self.t.too_big);
        }
        self.chat
            .msgs
            .push(Msg::mine(cid.clone(), name, JsValue::NULL));
        self.render();
        self.upload(cid, file, 1);
    }

    #[inline(never)]
    fn upload(&self, cid: String, file: web_sys::File, attempt: u32) {
        let Ok(x) = web_sys::XmlHttpRequest::new() else {
            return;
        };
        let url = [
            self.me.base.as_str(),
            "/v1/files",
            &self.me.creds(),
            "&name=",
            &enc(&file.name()),
        ]
        .concat();
        let xhr = x.clone();
        let blob: web_sys::Blob = file.clone().into();
        let done = Closure::<dyn FnMut()>::new(move || {
            let status = xhr.status().unwrap_or(0);
            let body = xhr
                .response_text()
                .ok()
                .flatten()
                .and_then(|t| parse(&t))
                .unwrap_or(JsValue::NULL);
            let (cid, file) = (cid.clone(), file.clone());
            with(|w| w.uploaded(cid, file, attempt, status, body));
        });
        x.set_onloadend(Some(done.as_ref().unchecked_ref()));
        done.forget();
        if x.open("POST", &url).is_ok() {
            let _ = x.send_with_opt_blob(Some(&blob));
        }
    }

    #[inline(never)]
    fn uploaded(
        &mut self,
        cid: String,
        file: web_sys::File,
        attempt: u32,
        status: u16,
        body: JsValue,
    ) {
        if status == 200 || status == 201 {
            if let Some(m) = self.chat.msgs.iter_mut().find(|m| m.cid == cid) {
                m.text = String::new();
                m.file = body.clone();
            }
            self.queue(cid, String::new(), body);
            return self.render();
        }
        // Network trouble, a restart, a rate limit: the same bytes again
        // later are the same file.
        // 401: a first visit pasting before the relay's welcome brought
        // the visitor token.
        if (status == 0 || status == 401 || status == 429 || status >= 500)
            && attempt < UPLOAD_TRIES
        {
            let wait = (UPLOAD_RETRY_MS
                * f64::from(1u32 << attempt)
                * (0.5 + js_sys::Math::random())) as i32;
            timeout(wait, move || with(|w| w.upload(cid, file, attempt + 1)));
            return;
        }
        self.chat.msgs.retain(|m| m.cid != cid);
        let why = match get_str(&body, "code").as_deref() {
            Some("too_large") => self.t.too_big,
            Some("unsupported_type") => self.t.bad_type,
            _ => self.t.up_failed,
        };
        self.notice(&file.name(), why);
    }

    /// A local line: "name why".
    #[inline(never)]
    fn notice(&mut self, name: &str, why: &str) {
        let mut text = String::from(name);
        text.push(' ');
        text.push_str(why);
        self.chat.msgs.push(Msg::notice(text));
        self.render();
    }
}

/// A file as a row shows it: thumbnail or card, linking to the file.
pub fn file_row(me: &Visitor, f: &JsValue) -> Option<view::FileRow> {
    if !f.is_object() {
        return None;
    }
    let id = get_str(f, "id")?;
    let mut href = [me.base.as_str(), "/v1/files/", &enc(&id)].concat();
    let creds = me.creds();
    let name = get_str(f, "name").unwrap_or_default();
    let thumb = get_bool(f, "thumb").then(|| {
        let (w, h) = (get_u64(f, "width").max(1), get_u64(f, "height").max(1));
        let side = protocol::limits::THUMB_MAX_SIDE as u64;
        let big = w.max(h);
        let (w, h) = if big > side {
            (w * side / big, h * side / big)
        } else {
            (w, h)
        };
        (
            [href.as_str(), "/thumb", &creds].concat(),
            w.max(1),
            h.max(1),
        )
    });
    href.push_str(&creds);
    Some(view::FileRow {
        href,
        thumb,
        meta: meta(get_u64(f, "size"), &name),
        name,
    })
}

/// "1.5 MB · PDF": the size, and the extension when it looks like one.
fn meta(size: u64, name: &str) -> String {
    let mut meta = if size >= 1024 * 1024 {
        let tenths = size * 10 / (1024 * 1024);
        let mut m = itoa(tenths / 10);
        m.push('.');
        m.push_str(&itoa(tenths % 10));
        m.push_str(" MB");
        m
    } else {
        let mut m = itoa(size.div_ceil(1024));
        m.push_str(" KB");
        m
    };
    if let Some(ext) = name
        .rsplit_once('.')
        .map(|(_, e)| e)
        .filter(|e| e.len() <= 5)
    {
        meta.push_str(" · ");
        meta.push_str(&ext.to_ascii_uppercase());
    }
    meta
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_shows_size_and_type() {
        assert_eq!(meta(1, "a.pdf"), "1 KB · PDF");
        assert_eq!(meta(1024, "notes"), "1 KB");
        assert_eq!(meta(1025, "x.tar.gz"), "2 KB · GZ");
        assert_eq!(meta(3 * 1024 * 1024 / 2, "photo.jpeg"), "1.5 MB · JPEG");
        assert_eq!(meta(0, "long.extension"), "0 KB");
    }
}
