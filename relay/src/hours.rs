//! Business hours: whether a site is open at an instant, and when that
//! changes next — from its weekly schedule in an IANA time zone, with
//! holidays (`protocol::offline::BusinessHours`).
//!
//! A period is local wall-clock time, read as the stretch from the first
//! instant the site's clock shows `from` to the first instant it shows
//! `to`. So on DST days: a `02:30` that does not exist (clocks jump from
//! 02:00 to 03:00) opens when the jump lands, at 03:00; a `02:30` that
//! happens twice (clocks fall back from 03:00 to 02:00) opens at the
//! first 02:30 and stays open through the repeated hour, and a period
//! ending at 02:30 ends at the first one. `24:00` is the next day's
//! midnight, so `22:00–24:00` one day and `00:00–02:00` the next are one
//! open stretch.
//!
//! [`Plan`] is a schedule read once (holidays as dates); [`is_open`] and
//! [`next_change`] are pure functions of it and a clock (milliseconds
//! since the Unix epoch). The hub keeps each site's plan, state and next
//! change, and its clock (`hub::hours_clock`) flips it at that change.

use chrono::{Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use protocol::offline::BusinessHours;
use std::collections::HashSet;

/// How far ahead [`next_change`] looks for the next opening: past a full
/// year of holidays ([`protocol::limits::MAX_HOLIDAYS`]) and a week.
const MAX_SCAN_DAYS: i64 = protocol::limits::MAX_HOLIDAYS as i64 + 8;

/// The schedule's zone, if it names one chrono-tz knows.
pub fn zone(name: &str) -> Option<Tz> {
    name.parse::<Tz>().ok()
}

/// A schedule read once for the many questions asked of it: the zone,
/// each weekday's periods in minutes, the holidays as dates.
#[derive(Debug)]
pub struct Plan {
    tz: Tz,
    /// Monday first; each day's `(from, to)` minutes, in order.
    week: Vec<Vec<(u32, u32)>>,
    holidays: HashSet<NaiveDate>,
}

impl Plan {
    /// The schedule to go by, when it is on and names a zone chrono-tz
    /// knows (else the site is always open: `None`).
    pub fn new(h: &BusinessHours) -> Option<Plan> {
        if !h.enabled {
            return None;
        }
        let week = h
            .week
            .iter()
            .map(|day| {
                let mut spans: Vec<(u32, u32)> = day.iter().filter_map(|p| p.minutes()).collect();
                spans.sort_unstable();
                spans
            })
            .collect();
        let holidays = h
            .holidays
            .iter()
            .filter_map(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .collect();
        Some(Plan {
            tz: zone(&h.tz)?,
            week,
            holidays,
        })
    }

    /// Whether the site is inside its hours at `now_ms`.
    pub fn is_open(&self, now_ms: u64) -> bool {
        let Ok(now) = i64::try_from(now_ms) else {
            return true;
        };
        let day = local_date(self.tz, now);
        (-1..=1).any(|d| {
            self.day_spans(day + Duration::days(d))
                .iter()
                .any(|&(s, e)| s <= now && now < e)
        })
    }

    /// The next instant after `now_ms` at which [`Plan::is_open`] changes,
    /// if it ever does (never open: `None`).
    pub fn next_change(&self, now_ms: u64) -> Option<u64> {
        let now = i64::try_from(now_ms).ok()?;
        let first = local_date(self.tz, now) - Duration::days(1);
        // Open stretches, merged where one ends as the next begins.
        let mut merged: Vec<(i64, i64)> = Vec::new();
        for d in 0..=MAX_SCAN_DAYS {
            let date = first + Duration::days(d);
            for (s, e) in self.day_spans(date) {
                match merged.last_mut() {
                    Some(last) if s <= last.1 => last.1 = last.1.max(e),
                    _ => merged.push((s, e)),
                }
            }
            // Later days start no earlier than this one's midnight: once a
            // stretch ends (or starts) before it, the answer is final.
            let horizon = instant(self.tz, date + Duration::days(1), 0);
            if let Some(&(s, e)) = merged.iter().find(|&&(_, e)| e > now) {
                let change = if s <= now { e } else { s };
                if change < horizon {
                    return u64::try_from(change).ok();
                }
            }
        }
        None
    }

    /// The last instant at or before `now_ms` at which the site closed,
    /// within [`MAX_SCAN_DAYS`] back (none: `None`) — where a closed spell
    /// began, for a relay that was not running then.
    pub fn last_close(&self, now_ms: u64) -> Option<u64> {
        let now = i64::try_from(now_ms).ok()?;
        let last = local_date(self.tz, now) + Duration::days(1);
        let mut merged: Vec<(i64, i64)> = Vec::new();
        for d in (0..=MAX_SCAN_DAYS).rev() {
            for (s, e) in self.day_spans(last - Duration::days(d)) {
                match merged.last_mut() {
                    Some(l) if s <= l.1 => l.1 = l.1.max(e),
                    _ => merged.push((s, e)),
                }
            }
        }
        merged
            .iter()
            .rev()
            .find(|&&(_, e)| e <= now)
            .and_then(|&(_, e)| u64::try_from(e).ok())
    }

    /// The open stretches of local `date` as instants (ms), in order: none
    /// on a holiday.
    fn day_spans(&self, date: NaiveDate) -> Vec<(i64, i64)> {
        let wd = date.weekday().num_days_from_monday() as usize;
        let Some(periods) = self.week.get(wd) else {
            return Vec::new();
        };
        if periods.is_empty() || self.holidays.contains(&date) {
            return Vec::new();
        }
        periods
            .iter()
            .map(|&(from, to)| (instant(self.tz, date, from), instant(self.tz, date, to)))
            .filter(|(s, e)| s < e)
            .collect()
    }
}

/// Whether the site is inside its business hours at `now_ms`. Hours off
/// (or a zone this relay does not know, which a patch never stores): open.
pub fn is_open(h: &BusinessHours, now_ms: u64) -> bool {
    Plan::new(h).is_none_or(|p| p.is_open(now_ms))
}

/// The next instant after `now_ms` at which [`is_open`] changes, if it ever
/// does (hours off, or never open: `None`).
pub fn next_change(h: &BusinessHours, now_ms: u64) -> Option<u64> {
    Plan::new(h)?.next_change(now_ms)
}

fn local_date(tz: Tz, ms: i64) -> NaiveDate {
    match Utc.timestamp_millis_opt(ms) {
        LocalResult::Single(t) => t.with_timezone(&tz).date_naive(),
        _ => NaiveDate::MIN,
    }
}

/// The first instant (ms) at which the clock in `tz` shows `minute` of
/// `date` (1440: the next midnight). A time that happens twice: its first
/// time; one that does not exist: when the jump over it lands.
fn instant(tz: Tz, date: NaiveDate, minute: u32) -> i64 {
    let midnight = NaiveDateTime::from(date);
    let wanted = midnight + Duration::minutes(i64::from(minute));
    // Gaps are at most a few hours (a day, for a zone skipping a date).
    for skip in 0..=(26 * 60) {
        let t = wanted + Duration::minutes(skip);
        if let Some(dt) = tz.from_local_datetime(&t).earliest() {
            return dt.timestamp_millis();
        }
    }
    wanted.and_utc().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::offline::Period;

    /// `YYYY-MM-DD`, as holidays are written.
    fn ymd(d: NaiveDate) -> String {
        format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
    }

    fn p(from: &str, to: &str) -> Period {
        Period {
            from: from.into(),
            to: to.into(),
        }
    }

    /// Every day the same periods.
    fn daily(tz: &str, periods: &[(&str, &str)]) -> BusinessHours {
        BusinessHours {
            enabled: true,
            tz: tz.into(),
            week: vec![periods.iter().map(|(f, t)| p(f, t)).collect(); 7],
            holidays: Vec::new(),
        }
    }

    /// Milliseconds of a UTC time `YYYY-MM-DD HH:MM`.
    fn utc(s: &str) -> u64 {
        let t = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").expect("time");
        t.and_utc().timestamp_millis() as u64
    }

    #[test]
    fn off_is_always_open_and_never_changes() {
        let mut h = daily("Europe/Berlin", &[("09:00", "17:00")]);
        h.enabled = false;
        assert!(is_open(&h, utc("2026-03-29 23:00")));
        assert_eq!(next_change(&h, utc("2026-03-29 23:00")), None);
        // Always open: no change either; a holiday makes one.
        let mut always = daily("Europe/Berlin", &[("00:00", "24:00")]);
        assert!(is_open(&always, utc("2026-10-25 01:30")));
        assert_eq!(next_change(&always, utc("2026-10-25 01:30")), None);
        always.holidays = vec!["2026-12-24".into()];
        assert_eq!(
            next_change(&always, utc("2026-12-20 12:00")),
            Some(utc("2026-12-23 23:00")),
            "Berlin's 24 December starts at 23:00 UTC"
        );
        // Never open: closed for good.
        let never = daily("Europe/Berlin", &[]);
        assert!(!is_open(&never, utc("2026-06-01 12:00")));
        assert_eq!(next_change(&never, utc("2026-06-01 12:00")), None);
    }

    /// Berlin is UTC+1 in winter, UTC+2 in summer: the same 09:00 is a
    /// different UTC hour either side of 2026-03-29.
    #[test]
    fn local_times_follow_the_zone_across_spring_forward() {
        let h = daily("Europe/Berlin", &[("09:00", "17:00")]);
        // Saturday 28 March (CET): 09:00 local = 08:00 UTC.
        assert!(!is_open(&h, utc("2026-03-28 07:59")));
        assert!(is_open(&h, utc("2026-03-28 08:00")));
        assert_eq!(
            next_change(&h, utc("2026-03-28 12:00")),
            Some(utc("2026-03-28 16:00"))
        );
        // From 16:00 UTC Saturday the next opening is Sunday 09:00 CEST,
        // 07:00 UTC (the night lost an hour).
        assert_eq!(
            next_change(&h, utc("2026-03-28 16:00")),
            Some(utc("2026-03-29 07:00"))
        );
        assert!(is_open(&h, utc("2026-03-29 07:00")));
        assert!(!is_open(&h, utc("2026-03-29 06:59")));
    }

    /// 2026-03-29 02:00 → 03:00 in Berlin: 02:30 never happens; a period
    /// from it opens when the clock lands on 03:00 (01:00 UTC), one ending
    /// at it ends there too.
    #[test]
    fn a_time_that_does_not_exist_starts_when_the_jump_lands() {
        let h = daily("Europe/Berlin", &[("02:30", "05:00")]);
        assert!(!is_open(&h, utc("2026-03-29 00:59")), "01:59 CET");
        assert!(is_open(&h, utc("2026-03-29 01:00")), "03:00 CEST");
        assert_eq!(
            next_change(&h, utc("2026-03-29 00:30")),
            Some(utc("2026-03-29 01:00"))
        );
        assert_eq!(
            next_change(&h, utc("2026-03-29 01:00")),
            Some(utc("2026-03-29 03:00")),
            "05:00 CEST"
        );
        let ends = daily("Europe/Berlin", &[("01:00", "02:30")]);
        assert!(is_open(&ends, utc("2026-03-29 00:59")));
        assert!(!is_open(&ends, utc("2026-03-29 01:00")));
        assert_eq!(
            next_change(&ends, utc("2026-03-29 00:10")),
            Some(utc("2026-03-29 01:00"))
        );
    }

    /// 2026-10-25 03:00 → 02:00 in Berlin: 02:30 happens twice (00:30 and
    /// 01:30 UTC). A period from it opens at the first and stays open
    /// through the repeated hour; one ending at it ends at the first.
    #[test]
    fn a_time_that_happens_twice_counts_the_first_time() {
        let h = daily("Europe/Berlin", &[("02:30", "05:00")]);
        assert!(!is_open(&h, utc("2026-10-25 00:29")));
        assert!(is_open(&h, utc("2026-10-25 00:30")), "first 02:30");
        assert!(is_open(&h, utc("2026-10-25 01:10")), "02:10 again (CET)");
        assert!(is_open(&h, utc("2026-10-25 03:59")), "04:59 CET");
        assert!(!is_open(&h, utc("2026-10-25 04:00")), "05:00 CET");
        assert_eq!(
            next_change(&h, utc("2026-10-25 00:45")),
            Some(utc("2026-10-25 04:00"))
        );
        let ends = daily("Europe/Berlin", &[("00:00", "02:30")]);
        assert!(is_open(&ends, utc("2026-10-25 00:29")));
        assert!(!is_open(&ends, utc("2026-10-25 00:30")));
        assert!(
            !is_open(&ends, utc("2026-10-25 01:10")),
            "the repeated 02:10 stays closed"
        );
        assert_eq!(
            next_change(&ends, utc("2026-10-25 00:30")),
            Some(utc("2026-10-25 23:00")),
            "Monday 00:00 CET"
        );
    }

    /// New York changes on other dates (8 March, 1 November 2026) and at
    /// 02:00 local.
    #[test]
    fn new_york_either_side_of_its_changes() {
        let h = daily("America/New_York", &[("09:00", "17:00")]);
        // Saturday 7 March, EST (UTC−5): 09:00 = 14:00 UTC.
        assert!(is_open(&h, utc("2026-03-07 14:00")));
        assert!(!is_open(&h, utc("2026-03-07 13:59")));
        // Monday 9 March, EDT (UTC−4): 09:00 = 13:00 UTC.
        assert!(is_open(&h, utc("2026-03-09 13:00")));
        assert_eq!(
            next_change(&h, utc("2026-03-08 22:00")),
            Some(utc("2026-03-09 13:00"))
        );
        // Fall: Saturday 31 October EDT, Monday 2 November EST.
        assert_eq!(
            next_change(&h, utc("2026-10-31 21:30")),
            Some(utc("2026-11-01 14:00")),
            "Sunday 09:00 EST"
        );
        let night = daily("America/New_York", &[("02:00", "03:00")]);
        // 8 March: 02:00 never happens; the clock lands on 03:00, which is
        // the period's end too: no opening that day.
        assert!(!is_open(&night, utc("2026-03-08 07:00")));
        assert_eq!(
            next_change(&night, utc("2026-03-08 06:00")),
            Some(utc("2026-03-09 06:00"))
        );
        // 1 November: 02:00 EDT→01:00 EST; 02:00 happens once (07:00 UTC).
        assert!(is_open(&night, utc("2026-11-01 07:30")));
    }

    #[test]
    fn holidays_are_closed_all_day_in_the_zone() {
        let mut h = daily("Asia/Shanghai", &[("00:00", "24:00")]);
        h.holidays = vec!["2026-10-01".into()];
        // 1 October in Shanghai (UTC+8) runs 30 Sep 16:00 → 1 Oct 16:00 UTC.
        assert!(is_open(&h, utc("2026-09-30 15:59")));
        assert!(!is_open(&h, utc("2026-09-30 16:00")));
        assert!(!is_open(&h, utc("2026-10-01 15:59")));
        assert!(is_open(&h, utc("2026-10-01 16:00")));
        assert_eq!(
            next_change(&h, utc("2026-09-30 12:00")),
            Some(utc("2026-09-30 16:00"))
        );
        assert_eq!(
            next_change(&h, utc("2026-09-30 16:00")),
            Some(utc("2026-10-01 16:00"))
        );
    }

    /// Where a closed spell began, for a relay started during it: the
    /// schedule's last closing, across a holiday and a stretch over
    /// midnight; a year of holidays is one read of the schedule.
    #[test]
    fn the_last_closing_is_found_back_across_holidays() {
        let mut h = daily(
            "UTC",
            &[("00:00", "02:00"), ("09:00", "17:00"), ("22:00", "24:00")],
        );
        h.holidays = vec!["2026-10-01".into()];
        let plan = Plan::new(&h).expect("on");
        assert_eq!(
            plan.last_close(utc("2026-09-30 20:00")),
            Some(utc("2026-09-30 17:00"))
        );
        assert_eq!(
            plan.last_close(utc("2026-10-01 12:00")),
            Some(utc("2026-10-01 00:00")),
            "22:00–24:00 runs into the holiday and stops at its midnight"
        );
        assert_eq!(
            plan.last_close(utc("2026-10-02 05:00")),
            Some(utc("2026-10-02 02:00"))
        );
        let mut full = daily("UTC", &[("09:00", "10:00")]);
        let start = NaiveDate::from_ymd_opt(2026, 1, 1).expect("date");
        full.holidays = (0..protocol::limits::MAX_HOLIDAYS as i64)
            .map(|d| ymd(start + Duration::days(d)))
            .collect();
        let plan = Plan::new(&full).expect("on");
        assert!(!plan.is_open(utc("2026-06-01 09:30")));
        assert_eq!(
            plan.next_change(utc("2026-06-01 12:00")),
            Some(utc("2027-01-02 09:00")),
            "the first day after a year of holidays"
        );
        assert_eq!(
            plan.last_close(utc("2026-06-01 12:00")),
            Some(utc("2025-12-31 10:00"))
        );
    }

    /// 22:00–24:00 and 00:00–02:00 the next day are one stretch: no change
    /// at midnight; Sunday night has no 00:00–02:00 on Monday here.
    #[test]
    fn a_schedule_across_midnight_is_one_stretch() {
        let mut h = daily("UTC", &[("00:00", "02:00"), ("22:00", "24:00")]);
        h.week[0] = vec![p("22:00", "24:00")]; // Monday: no early hours
                                               // Friday 2026-06-05 22:00 → Saturday 02:00.
        assert!(is_open(&h, utc("2026-06-05 23:59")));
        assert!(is_open(&h, utc("2026-06-06 00:00")));
        assert_eq!(
            next_change(&h, utc("2026-06-05 22:00")),
            Some(utc("2026-06-06 02:00"))
        );
        assert_eq!(
            next_change(&h, utc("2026-06-06 02:00")),
            Some(utc("2026-06-06 22:00"))
        );
        // Sunday 22:00 → Monday 00:00 (Monday has no 00:00–02:00).
        assert_eq!(
            next_change(&h, utc("2026-06-07 22:30")),
            Some(utc("2026-06-08 00:00"))
        );
        assert!(!is_open(&h, utc("2026-06-08 01:00")));
    }

    #[test]
    fn weekdays_are_monday_first() {
        let mut h = daily("UTC", &[]);
        h.week[2] = vec![p("10:00", "11:00")]; // Wednesday
        assert!(is_open(&h, utc("2026-06-03 10:30")), "a Wednesday");
        assert!(!is_open(&h, utc("2026-06-04 10:30")), "a Thursday");
        assert_eq!(
            next_change(&h, utc("2026-06-04 10:30")),
            Some(utc("2026-06-10 10:00"))
        );
    }

    #[test]
    fn zones_are_checked_against_the_database() {
        assert!(zone("Europe/Berlin").is_some());
        assert!(zone("Asia/Shanghai").is_some());
        assert!(zone("Mars/Olympus").is_none());
        assert!(zone("").is_none());
    }
}
