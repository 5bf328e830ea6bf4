//! How values read on screen: durations, clock times, URL paths, sizes,
//! visitor names.

use crate::model::short;
use protocol::api::AgentRole;
use protocol::VisitorInfo;

/// "3 min", "1 h 05 min", "2 d".
pub fn duration(ms: f64) -> String {
    let min = (ms.max(0.0) / 60_000.0) as u64;
    match min {
        0 => "<1 min".into(),
        m if m < 60 => format!("{m} min"),
        m if m < 24 * 60 => format!("{} h {:02} min", m / 60, m % 60),
        m => format!("{} d", m / (24 * 60)),
    }
}

/// Clock time of a relay timestamp, in the agent's timezone.
pub fn clock(ts: u64) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ts as f64));
    format!("{:02}:{:02}", d.get_hours(), d.get_minutes())
}

pub fn visitor_label(v: &VisitorInfo) -> String {
    v.user
        .as_ref()
        .and_then(|u| u.name.clone().or_else(|| u.email.clone()))
        .unwrap_or_else(|| format!("Visitor {}", short(v.id.as_str())))
}

/// A URL's path (and query), for compact display.
pub fn path_of(url: &str) -> String {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    match rest.find('/') {
        Some(i) => rest[i..].to_string(),
        None => "/".into(),
    }
}

/// "512 B", "3 KB", "1.5 MB".
pub fn human_size(n: u64) -> String {
    match n {
        n if n >= 1024 * 1024 => format!("{:.1} MB", n as f64 / (1024.0 * 1024.0)),
        n if n >= 1024 => format!("{} KB", n.div_ceil(1024)),
        n => format!("{n} B"),
    }
}

/// A custom attribute's value as text (strings without quotes).
pub fn attr_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `owner` or `agent`, as the API spells it.
pub fn role_name(r: AgentRole) -> &'static str {
    match r {
        AgentRole::Owner => "owner",
        AgentRole::Agent => "agent",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_paths_and_sizes_read_short() {
        assert_eq!(duration(30_000.0), "<1 min");
        assert_eq!(duration(65.0 * 60_000.0), "1 h 05 min");
        assert_eq!(duration(3.0 * 24.0 * 3_600_000.0), "3 d");
        assert_eq!(path_of("https://shop.example/p/1?x=2"), "/p/1?x=2");
        assert_eq!(path_of("https://shop.example"), "/");
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(1_500), "2 KB");
        assert_eq!(human_size(3 * 1024 * 1024 / 2), "1.5 MB");
    }
}
