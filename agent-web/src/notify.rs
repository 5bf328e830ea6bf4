//! Getting an agent's attention: the unread count in the tab title, a short
//! chime (only after the agent's first click or key press, as browsers
//! require for audio), and desktop notifications once permission is given.

use web_sys::{
    AudioContext, Notification, NotificationOptions, NotificationPermission, OscillatorType,
};

use crate::i18n::tr;

/// The tab's title, with the unread count in front when there is one (in
/// the console's language: called again when it changes).
pub fn set_title(unread: u32) {
    let title = tr("kefu console");
    if let Some(doc) = web_sys::window().and_then(|w| w.document()) {
        if unread == 0 {
            doc.set_title(title);
        } else {
            doc.set_title(&format!("({unread}) {title}"));
        }
    }
}

pub fn tab_visible() -> bool {
    web_sys::window()
        .and_then(|w| w.document())
        .is_none_or(|d| d.visibility_state() == web_sys::VisibilityState::Visible)
}

/// The chime's audio context, created on the first user gesture.
#[derive(Default)]
pub struct Chime {
    ctx: Option<AudioContext>,
}

impl Chime {
    /// Call from a click or key handler: unlocks audio for later.
    pub fn unlock(&mut self) {
        if self.ctx.is_none() {
            self.ctx = AudioContext::new().ok();
        }
    }

    /// Two short sine notes.
    pub fn play(&self) {
        let Some(ctx) = &self.ctx else { return };
        let now = ctx.current_time();
        for (i, freq) in [880.0_f32, 1320.0].into_iter().enumerate() {
            let (Ok(osc), Ok(gain)) = (ctx.create_oscillator(), ctx.create_gain()) else {
                return;
            };
            osc.set_type(OscillatorType::Sine);
            osc.frequency().set_value(freq);
            let start = now + i as f64 * 0.12;
            let _ = gain.gain().set_value_at_time(0.0, start);
            let _ = gain.gain().linear_ramp_to_value_at_time(0.15, start + 0.02);
            let _ = gain.gain().linear_ramp_to_value_at_time(0.0, start + 0.2);
            let _ = osc.connect_with_audio_node(&gain);
            let _ = gain.connect_with_audio_node(&ctx.destination());
            let _ = osc.start_with_when(start);
            let _ = osc.stop_with_when(start + 0.22);
        }
    }
}

pub fn permission() -> NotificationPermission {
    Notification::permission()
}

/// Asks for permission (from a click handler).
pub fn ask_permission() {
    let _ = Notification::request_permission();
}

/// A desktop notification, if allowed. `body` is plain text by the API's
/// definition; nothing in it is interpreted as markup.
pub fn desktop(title: &str, body: &str, tag: &str) {
    if permission() != NotificationPermission::Granted {
        return;
    }
    let opts = NotificationOptions::new();
    opts.set_body(body);
    opts.set_tag(tag);
    let _ = Notification::new_with_options(title, &opts);
}
