//! Client timing, defined once: the widget, the console and (checked by a
//! test) `www/fallback.js` all use these. The relay's own timings (heartbeat,
//! long-poll wait, grace periods) are in [`crate::limits`].

/// Reconnect backoff: the first delay (ms). Each failed attempt doubles it,
/// up to [`RECONNECT_MAX_MS`]; the actual wait is drawn uniformly below that
/// cap (full jitter), so a relay restart is not met by every client at once.
pub const RECONNECT_FIRST_MS: u32 = 500;
/// Reconnect backoff: the cap (ms). One value for visitors and agents: an
/// agent's console shows "Reconnecting in N s" with a "Retry now" button.
pub const RECONNECT_MAX_MS: u32 = 30_000;
/// Reconnect backoff: the shortest wait (ms), so a draw near zero does not
/// hammer a relay that just refused.
pub const RECONNECT_MIN_MS: u32 = 100;
/// Doublings counted at most (2^16 × first ≫ cap already).
pub const RECONNECT_MAX_DOUBLINGS: u32 = 16;

/// The cap on the next reconnect wait after `attempts` failures (ms).
pub fn reconnect_cap_ms(attempts: u32) -> u32 {
    let doublings = attempts.min(RECONNECT_MAX_DOUBLINGS);
    RECONNECT_FIRST_MS
        .saturating_mul(1u32 << doublings)
        .min(RECONNECT_MAX_MS)
}

/// The wait before the next reconnect, given a uniform draw `r` in [0, 1).
pub fn reconnect_delay_ms(attempts: u32, r: f64) -> u32 {
    let cap = f64::from(reconnect_cap_ms(attempts));
    ((cap * r.clamp(0.0, 1.0)) as u32).clamp(RECONNECT_MIN_MS, RECONNECT_MAX_MS)
}

/// A socket that opened but never said `welcome` (a proxy that accepts and
/// stalls) is given up after this long (ms) and retried with backoff.
pub const WELCOME_TIMEOUT_MS: u32 = 10_000;

/// Visitor typing: the notice is withdrawn after this much input silence (ms).
pub const VISITOR_TYPING_IDLE_MS: u32 = 3_000;
/// Visitor typing: while they keep typing, "on" is repeated this often (ms),
/// so agents can expire a notice whose "off" never comes (a closed tab).
pub const VISITOR_TYPING_REPEAT_MS: u32 = 4_000;
/// With the site's draft preview on, unsent text goes out at most this often
/// (ms; the relay allows `MAX_TYPING_PER_MINUTE` typing frames a minute).
pub const DRAFT_EVERY_MS: u32 = 800;
/// The console hides a visitor's typing line after this long without a
/// notice (ms): longer than [`VISITOR_TYPING_REPEAT_MS`].
pub const VISITOR_TYPING_SHOWN_MS: u32 = 8_000;

/// Agent typing: a notice is refreshed at most this often (ms)…
pub const AGENT_TYPING_REFRESH_MS: u32 = 3_000;
/// …and withdrawn after this long without a keystroke (ms).
pub const AGENT_TYPING_IDLE_MS: u32 = 4_000;
/// The widget hides the agent's typing line after this (ms).
pub const AGENT_TYPING_SHOWN_MS: u32 = 6_000;

/// The tab title alternates with "(N) New message — title" this often (ms)
/// while the tab is hidden and an agent's message is unread.
pub const TITLE_FLASH_MS: u32 = 1_200;
/// After the relay refused the page's origin, the widget tries once more
/// after this long (ms; the owner may have fixed "Allowed origins"), then
/// stays "Chat unavailable" until the next page load.
pub const REFUSED_RETRY_MS: u32 = 300_000;

/// The old-browser client gives a long-poll request this long (ms) before
/// it treats it as lost: the relay's wait plus a margin for slow links.
pub const LONGPOLL_CLIENT_TIMEOUT_MS: u32 = 40_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_its_cap() {
        assert_eq!(reconnect_cap_ms(0), 500);
        assert_eq!(reconnect_cap_ms(1), 1_000);
        assert_eq!(reconnect_cap_ms(5), 16_000);
        assert_eq!(reconnect_cap_ms(6), 30_000);
        assert_eq!(reconnect_cap_ms(1_000), 30_000);
    }

    #[test]
    fn delays_stay_between_floor_and_cap() {
        assert_eq!(reconnect_delay_ms(0, 0.0), RECONNECT_MIN_MS);
        assert_eq!(reconnect_delay_ms(3, 0.5), 2_000);
        assert_eq!(reconnect_delay_ms(40, 0.999_9), 29_997);
        assert!(reconnect_delay_ms(40, 7.0) <= RECONNECT_MAX_MS);
    }

    #[test]
    fn the_client_outwaits_the_relays_long_poll() {
        assert!(u64::from(LONGPOLL_CLIENT_TIMEOUT_MS) > crate::limits::LONGPOLL_WAIT_MS);
    }
}
