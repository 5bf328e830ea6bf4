//! The reducer, natively: what each action changes and which effects it
//! asks for (frames, requests, timers), with the shared contract values.

use super::*;
use protocol::timing::{AGENT_TYPING_IDLE_MS, AGENT_TYPING_REFRESH_MS, VISITOR_TYPING_SHOWN_MS};
use protocol::{ConvSummary, FileClass, WidgetSettings};

fn id<T: TryFrom<String>>(s: &str) -> T
where
    T::Error: std::fmt::Debug,
{
    T::try_from(s.to_string()).expect("id")
}

fn env(now: f64) -> Env {
    Env {
        now,
        rand: 0.25,
        visible: true,
        online: true,
    }
}

/// Signed in on site `demo`, looking at conversation `c1`.
fn state() -> State {
    let mut s = State::new(Some("tok".into()), Saved::default(), Route::Inbox, 0.0);
    s.model.reset_site(id("demo"));
    s.model.upsert_summary(ConvSummary {
        id: id("c1"),
        site: id("demo"),
        visitor: id("v1"),
        open: true,
        last_seq: 0,
        created: 0,
        updated: 0,
        visitor_read: 0,
        agent_read: 0,
        preview: None,
        assignee: None,
    });
    s.model.add_history(&id("c1"), Vec::new(), false);
    s.model.viewing = Some(id("c1"));
    s
}

fn run(s: &mut State, a: Action, now: f64) -> Vec<Effect> {
    let mut fx = Vec::new();
    s.reduce(a, &env(now), &mut fx);
    fx
}

fn typing_on(fx: &[Effect]) -> usize {
    fx.iter()
        .filter(|e| matches!(e, Effect::Send(ClientFrame::Typing { on: true, .. })))
        .count()
}

/// A reply goes to the outbox (saved) and out under the same cid; the
/// typing notice it ends is withdrawn.
#[test]
fn a_reply_is_queued_sent_and_ends_typing() {
    let mut s = state();
    run(&mut s, Action::ComposerInput("hello".into()), 1.0);
    let fx = run(&mut s, Action::SendReply, 2.0);
    assert_eq!(s.model.outbox.len(), 1);
    assert!(s.composer.is_empty());
    let cid = s.model.outbox[0].cid.clone();
    assert!(fx.iter().any(|e| matches!(e,
        Effect::Send(ClientFrame::Send { cid: c, text, .. }) if *c == cid && text == "hello")));
    assert!(fx
        .iter()
        .any(|e| matches!(e, Effect::Send(ClientFrame::Typing { on: false, .. }))));
    assert!(fx.iter().any(|e| matches!(e, Effect::SaveOutbox)));
    // Two replies in one millisecond still get two cids.
    run(&mut s, Action::ComposerInput("again".into()), 2.0);
    run(&mut s, Action::SendReply, 2.0);
    assert_ne!(s.model.outbox[0].cid, s.model.outbox[1].cid);
}

/// The agent's typing notice is refreshed at most every
/// AGENT_TYPING_REFRESH_MS, and each keystroke re-arms the idle timer.
#[test]
fn typing_notices_follow_the_shared_timings() {
    let mut s = state();
    let refresh = f64::from(AGENT_TYPING_REFRESH_MS);
    let fx = run(&mut s, Action::ComposerInput("h".into()), 1_000.0);
    assert_eq!(typing_on(&fx), 1);
    assert!(fx
        .iter()
        .any(|e| matches!(e, Effect::TypingIdleIn(ms) if *ms == AGENT_TYPING_IDLE_MS)));
    let fx = run(
        &mut s,
        Action::ComposerInput("he".into()),
        1_000.0 + refresh - 1.0,
    );
    assert_eq!(typing_on(&fx), 0, "fresh: not repeated");
    let fx = run(
        &mut s,
        Action::ComposerInput("hel".into()),
        1_000.0 + refresh,
    );
    assert_eq!(typing_on(&fx), 1, "stale: repeated");
    // A canned-reply search is not typing.
    let fx = run(&mut s, Action::ComposerInput("/ref".into()), 9_000.0);
    assert_eq!(typing_on(&fx), 0);
}

/// A visitor's typing line hides VISITOR_TYPING_SHOWN_MS after the last
/// notice, not before.
#[test]
fn a_visitor_typing_line_expires() {
    let mut s = state();
    let on = ServerFrame::Typing {
        conv: id("c1"),
        side: protocol::Side::Visitor,
        on: true,
        text: None,
        name: None,
    };
    let fx = run(&mut s, Action::Frame(on), 0.0);
    assert!(fx
        .iter()
        .any(|e| matches!(e, Effect::TypingExpireIn(ms) if *ms == VISITOR_TYPING_SHOWN_MS)));
    let c1: ConvId = id("c1");
    assert!(s.model.convs[&c1].visitor_typing);
    let shown = f64::from(VISITOR_TYPING_SHOWN_MS);
    let fx = run(&mut s, Action::TypingExpire, shown / 2.0);
    assert!(s.model.convs[&c1].visitor_typing, "still shown");
    assert!(fx.iter().any(|e| matches!(e, Effect::TypingExpireIn(_))));
    run(&mut s, Action::TypingExpire, shown);
    assert!(!s.model.convs[&c1].visitor_typing, "hidden");
}

/// Reading the open conversation tells the relay only while online.
#[test]
fn read_marks_go_out_only_when_online() {
    let mut s = state();
    let ev = |seq| {
        ServerFrame::Event(protocol::Event {
            conv: id("c1"),
            seq,
            ts: seq,
            body: protocol::EventBody::Message {
                from: protocol::Author {
                    side: protocol::Side::Visitor,
                    id: "v1".into(),
                    name: None,
                },
                cid: id(&format!("m{seq}")),
                text: "hi".into(),
                file: None,
            },
        })
    };
    let mut fx = Vec::new();
    s.reduce(
        Action::Frame(ev(1)),
        &Env {
            online: false,
            ..env(0.0)
        },
        &mut fx,
    );
    assert!(!fx
        .iter()
        .any(|e| matches!(e, Effect::Send(ClientFrame::Read { .. }))));
    let fx = run(&mut s, Action::Frame(ev(2)), 1.0);
    assert!(fx
        .iter()
        .any(|e| matches!(e, Effect::Send(ClientFrame::Read { seq: 2, .. }))));
}

/// Settings the relay would refuse are not sent, and say why; `#rgb`
/// colours are accepted as the relay accepts them.
#[test]
fn settings_are_validated_before_saving() {
    let mut s = state();
    s.settings.widget = Some(WidgetSettings::default());
    let save = |s: &mut State| run(s, Action::Settings(SettingsAction::Save), 0.0);
    run(
        &mut s,
        Action::Settings(SettingsAction::Color("#12".into())),
        0.0,
    );
    let fx = save(&mut s);
    assert!(fx.is_empty(), "{fx:?}");
    assert_eq!(
        s.settings.notice.as_deref(),
        Some("Not saved: widget.color must be #rgb or #rrggbb")
    );
    run(
        &mut s,
        Action::Settings(SettingsAction::Color("#abc".into())),
        0.0,
    );
    let fx = save(&mut s);
    assert!(fx.iter().any(|e| matches!(e,
        Effect::Fetch(Fetch::PatchSite(_, p)) if p.widget.as_ref().is_some_and(|w| w.color == "#abc"))));
}

/// Unticking a file kind starts from the effective list.
#[test]
fn file_types_toggle_from_the_effective_list() {
    let mut s = state();
    s.settings.widget = Some(WidgetSettings::default());
    let toggle = SettingsAction::FileType(FileClass::Pdf, false);
    run(&mut s, Action::Settings(toggle), 0.0);
    let types = s
        .settings
        .widget
        .as_ref()
        .and_then(|w| w.file_types.clone());
    let mut want = FileClass::ALL.to_vec();
    want.retain(|c| *c != FileClass::Pdf);
    assert_eq!(types, Some(want));
}

/// A refused token signs out but keeps the unsent replies.
#[test]
fn a_refused_session_signs_out_and_keeps_the_outbox() {
    let mut s = state();
    run(&mut s, Action::ComposerInput("kept".into()), 0.0);
    run(&mut s, Action::SendReply, 0.0);
    let fx = run(&mut s, Action::SessionEnded, 0.0);
    assert!(s.token.is_none() && s.me.is_none());
    assert_eq!(s.model.outbox.len(), 1);
    assert!(fx.iter().any(|e| matches!(e, Effect::Disconnect)));
    assert!(fx.iter().any(|e| matches!(e, Effect::SaveToken(None))));
    assert!(s.login_error.is_some());
}

/// On a phone the inbox shows one pane: opening a conversation shows it,
/// "Visitor info" and "← Back" move between the panes, and a conversation
/// opened from elsewhere (an invitation) shows the conversation again.
#[test]
fn panes_follow_opening_and_back() {
    let mut s = state();
    assert_eq!(s.pane, Pane::List);
    run(&mut s, Action::OpenConv(id("c1")), 1.0);
    assert_eq!(s.pane, Pane::Chat);
    run(&mut s, Action::ShowPane(Pane::Profile), 2.0);
    assert_eq!(s.pane, Pane::Profile);
    run(&mut s, Action::ShowPane(Pane::Chat), 3.0);
    run(&mut s, Action::ShowPane(Pane::List), 4.0);
    assert_eq!(s.pane, Pane::List);
    assert_eq!(
        s.model.viewing,
        Some(id("c1")),
        "back keeps the conversation open"
    );
    run(&mut s, Action::OpenConv(id("c1")), 5.0);
    assert_eq!(s.pane, Pane::Chat);
}
