//! Message times, in the visitor's local time: "14:05" today,
//! "Yesterday 14:05", a short date and the time before that (the year too
//! when it is another year's). The browser's `Date` and `Intl` do the
//! formatting, through `boot.js`'s `fx.when`.

use crate::js::call;
use protocol::texts::{Texts, ZH};
use wasm_bindgen::JsValue;

/// How a message stored at `ts` (ms since epoch) shows its time; empty
/// while it has none (not yet stored).
pub fn label(fx: &JsValue, ts: f64, t: &Texts) -> String {
    if ts <= 0.0 {
        return String::new();
    }
    let lang = if std::ptr::eq(t, &ZH) { "zh-CN" } else { "en" };
    call(fx, "when", &[ts.into(), lang.into(), t.yesterday.into()])
        .as_string()
        .unwrap_or_default()
}
