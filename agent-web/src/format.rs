//! How values read on screen: durations, clock times, message times,
//! URL paths, sizes, numbers, visitor names, assignment lines, label chips —
//! in the console's language ([`crate::i18n`]).

use crate::i18n::{self, en, tr, trf, Lang};
use protocol::api::AgentRole;
use protocol::{AssignReason, VisitorId, VisitorInfo};

/// "3 min", "1 h 05 min", "2 d" ("3 分钟", "1 小时 05 分钟", "2 天").
pub fn duration(ms: f64) -> String {
    let min = (ms.max(0.0) / 60_000.0) as u64;
    match min {
        0 => tr("<1 min").into(),
        m if m < 60 => trf("{} min", &[&m]),
        m if m < 24 * 60 => trf("{} h {} min", &[&(m / 60), &format!("{:02}", m % 60)]),
        m => trf("{} d", &[&number(m / (24 * 60))]),
    }
}

/// A count with thousands grouped: "12,345" (the same in both languages:
/// Chinese groups by thousands with a comma too).
pub fn number(n: impl Into<u64>) -> String {
    let digits = n.into().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The line above a WeChat conversation's reply box: how long WeChat still
/// takes replies (48 h after the follower's last message, 5 replies at
/// most), or that the follower must write first.
pub fn wechat_window(w: Option<&protocol::WechatWindow>, now: u64) -> String {
    let closed = || tr("WeChat window closed: the follower must write first").to_string();
    let Some(w) = w else {
        return closed();
    };
    if w.refusal(now).is_some() {
        return closed();
    }
    // The console's clock may lag the relay's by a tick.
    let left = w
        .closes_at()
        .saturating_sub(now)
        .min(protocol::limits::WECHAT_WINDOW_MS);
    let when = if left >= 3_600_000 {
        trf("{} h", &[&(left / 3_600_000)])
    } else {
        trf("{} min", &[&(left / 60_000).max(1)])
    };
    let replies = protocol::limits::WECHAT_REPLIES_PER_WINDOW.saturating_sub(w.replies);
    let left = match replies {
        1 => tr("1 reply left").to_string(),
        n => trf("{} replies left", &[&n]),
    };
    trf("WeChat window closes in {} · {}", &[&when, &left])
}

/// Clock time of a relay timestamp, in the agent's timezone.
pub fn clock(ts: u64) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ts as f64));
    format!("{:02}:{:02}", d.get_hours(), d.get_minutes())
}

/// A message older than this many local days reads as a date, not a
/// weekday.
const WEEKDAY_DAYS: i64 = 6;
const MS_PER_MINUTE: i64 = 60_000;
const MS_PER_DAY: i64 = 86_400_000;
/// English keys, shown through `tr`.
const WEEKDAYS: [&str; 7] = [
    en("Mon"),
    en("Tue"),
    en("Wed"),
    en("Thu"),
    en("Fri"),
    en("Sat"),
    en("Sun"),
];
/// English month names; Chinese dates number the month ("11月28日").
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A moment on the agent's wall clock.
#[derive(Debug, PartialEq, Eq)]
struct Civil {
    /// Local days since 1970-01-01.
    day: i64,
    year: i64,
    /// 1..=12.
    month: u32,
    /// 1..=31.
    mday: u32,
    /// 0 = Monday.
    weekday: usize,
    hour: i64,
    minute: i64,
    second: i64,
}

/// `ts_ms` (ms since epoch, UTC) at a timezone `tz_offset_minutes` east of
/// UTC (what `-Date.getTimezoneOffset()` says).
fn civil(ts_ms: i64, tz_offset_minutes: i32) -> Civil {
    let local = ts_ms + i64::from(tz_offset_minutes) * MS_PER_MINUTE;
    let day = local.div_euclid(MS_PER_DAY);
    let secs = local.rem_euclid(MS_PER_DAY) / 1000;
    // Days to a proleptic Gregorian date (Howard Hinnant's algorithm).
    let z = day + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let mday = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    Civil {
        day,
        year,
        month,
        mday,
        // 1970-01-01 was a Thursday.
        weekday: (day + 3).rem_euclid(7) as usize,
        hour: secs / 3600,
        minute: secs / 60 % 60,
        second: secs % 60,
    }
}

/// How a message's time reads beside it: "14:05" today, "Yesterday 14:05",
/// "Tue 14:05" within the last [`WEEKDAY_DAYS`] days, else "28 Nov 14:05"
/// (with the year when it is not this year's); in Chinese "昨天 14:05",
/// "周二 14:05", "11月28日 14:05", "2025年10月27日 14:05".
pub fn message_time(ts_ms: u64, now_ms: u64, tz_offset_minutes: i32) -> String {
    let t = civil(ts_ms as i64, tz_offset_minutes);
    let now = civil(now_ms as i64, tz_offset_minutes);
    let hm = format!("{:02}:{:02}", t.hour, t.minute);
    match now.day - t.day {
        0 => hm,
        1 => trf("Yesterday {}", &[&hm]),
        d if (2..=WEEKDAY_DAYS).contains(&d) => format!("{} {hm}", tr(WEEKDAYS[t.weekday])),
        _ => {
            let this_year = t.year == now.year;
            match i18n::lang() {
                Lang::Zh if this_year => format!("{}月{}日 {hm}", t.month, t.mday),
                Lang::Zh => format!("{}年{}月{}日 {hm}", t.year, t.month, t.mday),
                Lang::En => {
                    let month = MONTHS[(t.month - 1) as usize];
                    if this_year {
                        format!("{} {month} {hm}", t.mday)
                    } else {
                        format!("{} {month} {} {hm}", t.mday, t.year)
                    }
                }
            }
        }
    }
}

/// The full local timestamp, "2026-11-28 14:05:31" (a message's hover).
pub fn full_time(ts_ms: u64, tz_offset_minutes: i32) -> String {
    let t = civil(ts_ms as i64, tz_offset_minutes);
    format!(
        "{}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year, t.month, t.mday, t.hour, t.minute, t.second
    )
}

/// The browser's timezone at `ts_ms`, in minutes east of UTC.
pub fn local_offset_minutes(ts_ms: u64) -> i32 {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ts_ms as f64));
    -(d.get_timezone_offset() as i32)
}

pub fn visitor_label(v: &VisitorInfo) -> String {
    v.user
        .as_ref()
        .and_then(|u| u.name.clone().or_else(|| u.email.clone()))
        .unwrap_or_else(|| default_name(&v.id))
}

/// The language visitor names are shown in: the console's own
/// ([`i18n::lang`], the picker's or the browser's), so a name and the
/// words around it never mix languages.
pub fn ui_lang() -> String {
    i18n::lang().tag().to_string()
}

/// The browser's language (`navigator.language`); native builds (the
/// reducer's tests) say English.
#[cfg(target_arch = "wasm32")]
pub fn browser_lang() -> String {
    web_sys::window()
        .and_then(|w| w.navigator().language())
        .unwrap_or_else(|| "en".into())
}

#[cfg(not(target_arch = "wasm32"))]
pub fn browser_lang() -> String {
    "en".into()
}

/// A visitor's name until the host page identifies them: an adjective +
/// animal pair ("Clever Panda", "机智的熊猫"), the same on every screen.
pub fn default_name(id: &VisitorId) -> String {
    protocol::names::default_visitor_name(id.as_str(), &ui_lang())
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

/// How a change of hands reads in the conversation: "Assigned to Ada by
/// auto-assignment", "Unassigned as the agent went away", "Transferred to
/// team Sales by Bo". `by` is the agent who acted, none for the relay's
/// own decisions and for an agent taking the conversation themself; `to`
/// the new assignee; `team` the team's name (said of transfers only).
/// Events from before routing have no reason: they read as by hand.
pub fn assignment(
    by: Option<&str>,
    to: Option<&str>,
    reason: Option<AssignReason>,
    team: Option<&str>,
) -> String {
    let by_whom = by.map(|b| trf(" by {}", &[&b])).unwrap_or_default();
    match (reason.unwrap_or(AssignReason::Manual), to) {
        (AssignReason::Transfer, Some(to)) => {
            let within = team.map(|t| trf(" in team {}", &[&t])).unwrap_or_default();
            trf("Transferred to {}", &[&to]) + &within + &by_whom
        }
        (AssignReason::Transfer, None) => match team {
            Some(t) => trf("Transferred to team {}", &[&t]) + &by_whom,
            None => tr("Unassigned").to_string() + &by_whom,
        },
        (AssignReason::Manual, Some(to)) if by.is_none() => {
            trf("{} took this conversation", &[&to])
        }
        (AssignReason::Manual, Some(to)) => trf("Assigned to {}", &[&to]) + &by_whom,
        (AssignReason::Manual, None) => tr("Unassigned").to_string() + &by_whom,
        (r, Some(to)) => trf("Assigned to {} {}", &[&to, &reason_phrase(r)]),
        (r, None) => trf("Unassigned {}", &[&reason_phrase(r)]),
    }
}

/// Why the relay moved a conversation, in the console's language (the
/// protocol's [`AssignReason::phrase`] is the English of it).
fn reason_phrase(r: AssignReason) -> &'static str {
    match r {
        AssignReason::Manual => tr("by hand"),
        AssignReason::Transfer => tr("by transfer"),
        AssignReason::Reply => tr("by replying"),
        AssignReason::Auto => tr("by auto-assignment"),
        AssignReason::NoAnswer => tr("after no answer"),
        AssignReason::Away => tr("as the agent went away"),
    }
}

/// The text colour that reads on a label chip of colour `bg` (`#rgb` or
/// `#rrggbb`): dark on light colours, white on dark ones.
pub fn chip_text_color(bg: &str) -> &'static str {
    let hex = bg.strip_prefix('#').unwrap_or(bg);
    let channel = |i: usize, width: usize| {
        let v = u8::from_str_radix(hex.get(i * width..(i + 1) * width)?, 16).ok()?;
        Some(if width == 1 { v * 17 } else { v })
    };
    let width = if hex.len() == 3 { 1 } else { 2 };
    let rgb = (0..3)
        .map(|i| channel(i, width))
        .collect::<Option<Vec<u8>>>();
    let Some([r, g, b]) = rgb.as_deref().map(|v| [v[0], v[1], v[2]]) else {
        return "#fff";
    };
    // Perceived brightness (ITU-R BT.601 weights), 0–255.
    let luma = (299 * u32::from(r) + 587 * u32::from(g) + 114 * u32::from(b)) / 1000;
    if luma > 150 {
        "#1d2125"
    } else {
        "#fff"
    }
}

/// `owner` or `agent`, as the API spells it, in the console's language.
pub fn role_name(r: AgentRole) -> &'static str {
    match r {
        AgentRole::Owner => tr("owner"),
        AgentRole::Agent => tr("agent"),
    }
}

/// A number as the console's language writes it (through `Intl`).
pub fn decimal(n: f64) -> String {
    #[cfg(target_arch = "wasm32")]
    {
        String::from(js_sys::Number::from(n).to_locale_string(crate::i18n::lang().tag()))
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        format!("{n}")
    }
}

/// A share (0–1) as a percentage, `87%`.
pub fn percent(share: f64) -> String {
    crate::i18n::trf("{}%", &[&decimal((share * 100.0).round())])
}

/// A report's day `YYYY-MM-DD` short, in the console's language: `Jan 5`,
/// `1月5日` (the date as written, whatever the agent's own zone).
pub fn day_label(date: &str) -> String {
    #[cfg(target_arch = "wasm32")]
    {
        let mut parts = date.split('-').map(|p| p.parse::<u32>().unwrap_or(1));
        let (y, m, d) = (
            parts.next().unwrap_or(1970),
            parts.next().unwrap_or(1),
            parts.next().unwrap_or(1),
        );
        let ms = js_sys::Date::utc(f64::from(y), f64::from(m) - 1.0)
            + f64::from(d.saturating_sub(1)) * MS_PER_DAY as f64;
        let day = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms));
        let opts = js_sys::Object::new();
        for (k, v) in [("month", "short"), ("day", "numeric"), ("timeZone", "UTC")] {
            let _ = js_sys::Reflect::set(&opts, &k.into(), &v.into());
        }
        String::from(day.to_locale_date_string(crate::i18n::lang().tag(), &opts))
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        date.get(5..).unwrap_or(date).to_string()
    }
}

/// A response or resolution time: `45 s`, `1 min 30 s`, `2 h 05 min`,
/// `3 d 4 h`.
pub fn span(ms: f64) -> String {
    use crate::i18n::trf;
    let s = (ms.max(0.0) / 1000.0).round() as u64;
    match s {
        s if s < 60 => trf("{} s", &[&s]),
        s if s < 3600 && s % 60 == 0 => trf("{} min", &[&(s / 60)]),
        s if s < 3600 => trf("{} min {} s", &[&(s / 60), &(s % 60)]),
        s if s < 86_400 => trf(
            "{} h {} min",
            &[&(s / 3600), &format!("{:02}", s % 3600 / 60)],
        ),
        s => trf("{} d {} h", &[&(s / 86_400), &(s % 86_400 / 3600)]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each routing decision reads as what happened and why, in the
    /// reason's own words.
    #[test]
    fn assignments_read_with_their_reason() {
        use AssignReason::*;
        let line = |by, to, reason, team| assignment(by, to, reason, team);
        assert_eq!(
            line(None, Some("Ada"), Some(Auto), None),
            "Assigned to Ada by auto-assignment"
        );
        assert_eq!(
            line(None, None, Some(Away), None),
            "Unassigned as the agent went away"
        );
        assert_eq!(
            line(Some("Bo"), None, Some(Transfer), Some("Sales")),
            "Transferred to team Sales by Bo"
        );
        assert_eq!(
            line(Some("Bo"), Some("Ada"), Some(Transfer), Some("Sales")),
            "Transferred to Ada in team Sales by Bo"
        );
        assert_eq!(
            line(None, Some("Cy"), Some(NoAnswer), Some("Sales")),
            "Assigned to Cy after no answer",
            "the team is said of transfers only"
        );
        assert_eq!(
            line(None, Some("Ada"), Some(Reply), None),
            "Assigned to Ada by replying"
        );
        assert_eq!(
            line(Some("Bo"), Some("Ada"), Some(Manual), None),
            "Assigned to Ada by Bo"
        );
        assert_eq!(
            line(None, Some("Ada"), None, None),
            "Ada took this conversation",
            "an old event without a reason is a manual one"
        );
        assert_eq!(
            line(Some("Bo"), None, Some(Manual), None),
            "Unassigned by Bo"
        );
    }

    #[test]
    fn chips_read_on_their_colour() {
        assert_eq!(chip_text_color("#ffe066"), "#1d2125");
        assert_eq!(chip_text_color("#fff"), "#1d2125");
        assert_eq!(chip_text_color("#1c7ed6"), "#fff");
        assert_eq!(chip_text_color("#000"), "#fff");
        assert_eq!(chip_text_color("nope"), "#fff");
    }

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

    #[test]
    fn the_wechat_window_reads_as_time_left() {
        let open = |last_in: u64, replies: u32| protocol::WechatWindow {
            last_in,
            replies,
            closed: false,
        };
        let h = 3_600_000;
        let now = 100 * h;
        assert_eq!(
            wechat_window(Some(&open(now - 45 * h, 0)), now),
            "WeChat window closes in 3 h · 5 replies left"
        );
        assert_eq!(
            wechat_window(Some(&open(now - 48 * h + 120_000, 4)), now),
            "WeChat window closes in 2 min · 1 reply left"
        );
        let closed = "WeChat window closed: the follower must write first";
        assert_eq!(wechat_window(Some(&open(now - 49 * h, 0)), now), closed);
        assert_eq!(wechat_window(Some(&open(now - h, 5)), now), closed);
        assert_eq!(wechat_window(None, now), closed);
        let mut shut = open(now - h, 0);
        shut.closed = true;
        assert_eq!(wechat_window(Some(&shut), now), closed);
    }

    /// 2026-12-01 (a Tuesday) 14:05:31 UTC, in ms.
    const NOW: u64 = 1_796_133_931_000;
    const MIN: u64 = 60_000;
    const DAY: u64 = 86_400_000;

    #[test]
    fn civil_dates_are_right() {
        assert_eq!(full_time(0, 0), "1970-01-01 00:00:00");
        assert_eq!(full_time(NOW, 0), "2026-12-01 14:05:31");
        assert_eq!(full_time(951_782_400_000, 0), "2000-02-29 00:00:00");
        // Offsets move the wall clock, across a day and a year boundary.
        assert_eq!(full_time(NOW, 120), "2026-12-01 16:05:31");
        assert_eq!(full_time(NOW, -15 * 60), "2026-11-30 23:05:31");
        assert_eq!(full_time(1_798_761_600_000, -60), "2026-12-31 23:00:00");
        assert_eq!(civil(NOW as i64, 0).weekday, 1, "a Tuesday");
    }

    #[test]
    fn message_times_read_by_age() {
        assert_eq!(message_time(NOW, NOW, 0), "14:05");
        assert_eq!(message_time(NOW - 14 * 60 * MIN, NOW, 0), "00:05");
        assert_eq!(message_time(NOW - 15 * 60 * MIN, NOW, 0), "Yesterday 23:05");
        assert_eq!(message_time(NOW - DAY, NOW, 0), "Yesterday 14:05");
        assert_eq!(message_time(NOW - 2 * DAY, NOW, 0), "Sun 14:05");
        assert_eq!(message_time(NOW - 6 * DAY, NOW, 0), "Wed 14:05");
        assert_eq!(message_time(NOW - 7 * DAY, NOW, 0), "24 Nov 14:05");
        assert_eq!(message_time(NOW - 3 * DAY, NOW, 0), "Sat 14:05");
        assert_eq!(message_time(NOW - 400 * DAY, NOW, 0), "27 Oct 2025 14:05");
        // The agent's own timezone decides what "today" is: 01:30 in
        // Tokyo on the 2nd is not the same day as 20:00 there on the 1st.
        let tokyo = 9 * 60;
        let late = NOW + 2 * 60 * MIN; // 01:05 on the 2nd in Tokyo
        assert_eq!(message_time(NOW, late, tokyo), "Yesterday 23:05");
        assert_eq!(message_time(NOW, late, 0), "14:05");
        // A timestamp a little in the future (clock skew) still reads.
        assert_eq!(message_time(NOW + MIN, NOW, 0), "14:06");
        assert_eq!(message_time(NOW + DAY, NOW, 0), "2 Dec 14:05");
    }
}
