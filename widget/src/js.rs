//! Tiny helpers over `js_sys`: read fields of parsed frames, build objects,
//! timers, ids. Frames go through the browser's own `JSON` — serde_json
//! would cost ~60 KB gzipped of wasm, more than the whole widget budget.

use js_sys::{Object, Reflect, JSON};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

pub fn get(o: &JsValue, k: &str) -> JsValue {
    Reflect::get(o, &JsValue::from_str(k)).unwrap_or(JsValue::UNDEFINED)
}

pub fn get_str(o: &JsValue, k: &str) -> Option<String> {
    get(o, k).as_string()
}

pub fn get_u64(o: &JsValue, k: &str) -> u64 {
    get(o, k)
        .as_f64()
        .filter(|f| *f >= 0.0)
        .map_or(0, |f| f as u64)
}

pub fn get_bool(o: &JsValue, k: &str) -> bool {
    get(o, k).as_bool().unwrap_or(false)
}

pub fn set(o: &JsValue, k: &str, v: impl Into<JsValue>) {
    let _ = Reflect::set(o, &JsValue::from_str(k), &v.into());
}

pub fn obj() -> JsValue {
    Object::new().into()
}

pub fn stringify(v: &JsValue) -> String {
    JSON::stringify(v)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_default()
}

pub fn parse(s: &str) -> Option<JsValue> {
    JSON::parse(s).ok().filter(|v| v.is_object())
}

pub fn now() -> f64 {
    js_sys::Date::now()
}

/// A random id: time + randomness, base 36 (unique per sender in practice).
pub fn new_id(prefix: &str) -> String {
    let t = js_sys::Number::from(now())
        .to_string_with_radix(36)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_default();
    let mut id = String::from(prefix);
    id.push_str(&t);
    for _ in 0..2 {
        let r = js_sys::Number::from(js_sys::Math::random())
            .to_string_with_radix(36)
            .ok()
            .and_then(|s| s.as_string())
            .unwrap_or_default();
        id.push_str(r.get(2..8).unwrap_or("0"));
    }
    id
}

/// Decimal without core::fmt (it is large in wasm).
pub fn itoa(mut n: u64) -> String {
    let mut b = [0u8; 20];
    let mut i = b.len();
    loop {
        i -= 1;
        b[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    b[i..].iter().map(|&d| char::from(d)).collect()
}

pub fn window() -> web_sys::Window {
    web_sys::window().unwrap_throw()
}

/// Runs `f` once after `ms`.
pub fn timeout(ms: i32, f: impl FnOnce() + 'static) -> i32 {
    let cb = Closure::once_into_js(f);
    window()
        .set_timeout_with_callback_and_timeout_and_arguments_0(cb.unchecked_ref(), ms)
        .unwrap_or(0)
}

pub fn clear_timeout(id: i32) {
    window().clear_timeout_with_handle(id);
}

/// Calls a host-page callback later, outside the widget's borrow of its
/// state (a callback may call `kefu(...)` again) and so that a throwing
/// callback cannot break the widget.
pub fn call_later(f: &js_sys::Function, arg: JsValue) {
    let f = f.clone();
    timeout(0, move || {
        let _ = f.call1(&JsValue::NULL, &arg);
    });
}

/// The items of an array or array-like (a `FileList`); nothing for
/// anything else (`Array.from(undefined)` would throw).
pub fn array(v: &JsValue) -> Vec<JsValue> {
    if v.is_object() {
        js_sys::Array::from(v).iter().collect()
    } else {
        Vec::new()
    }
}

/// `encodeURIComponent`.
pub fn enc(s: &str) -> String {
    js_sys::encode_uri_component(s)
        .as_string()
        .unwrap_or_default()
}

/// `o[m](...args)`; undefined when `o` has no such method or it threw.
#[inline(never)]
pub fn call(o: &JsValue, m: &str, args: &[JsValue]) -> JsValue {
    let Ok(f) = get(o, m).dyn_into::<js_sys::Function>() else {
        return JsValue::UNDEFINED;
    };
    let a: js_sys::Array = args.iter().collect();
    Reflect::apply(&f, o, &a).unwrap_or(JsValue::UNDEFINED)
}

/// The page is shown (not a background tab).
pub fn visible() -> bool {
    window().document().is_none_or(|d| !d.hidden())
}
