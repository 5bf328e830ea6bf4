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
        agent: None,
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

fn visitor_info(pages: u32, page: Option<protocol::PageInfo>) -> protocol::VisitorInfo {
    protocol::VisitorInfo {
        id: id("v1"),
        site: id("demo"),
        online: true,
        page,
        pages,
        referrer: Some("https://search.example/".into()),
        since: 0,
        visits: 1,
        user: None,
        verified: false,
        user_agent: None,
    }
}

fn page_at(url: &str, at: u64) -> protocol::PageInfo {
    protocol::PageInfo {
        url: url.into(),
        title: String::new(),
        referrer: None,
        at,
    }
}

/// An open profile's page list follows the visitor's new page views; a
/// repeat (same arrival time) is not added twice.
#[test]
fn an_open_profile_lists_new_page_views_live() {
    let mut s = state();
    let profile = protocol::api::VisitorProfile {
        id: id("v1"),
        site: id("demo"),
        first_seen: 0,
        last_seen: 0,
        visits: 1,
        user: None,
        verified: false,
        user_agent: None,
        online: true,
        referrer: None,
        current: None,
        pages: vec![page_at("https://shop.example/", 1)],
        conversations: Vec::new(),
    };
    s.profile = Some((id("v1"), Rc::new(profile)));
    let b = page_at("https://shop.example/b", 2);
    for _ in 0..2 {
        let visitor = visitor_info(2, Some(b.clone()));
        run(
            &mut s,
            Action::Frame(ServerFrame::Presence { visitor }),
            3.0,
        );
    }
    let p = &s.profile.as_ref().expect("profile").1;
    let urls: Vec<&str> = p.pages.iter().map(|x| x.url.as_str()).collect();
    assert_eq!(urls, ["https://shop.example/", "https://shop.example/b"]);
    assert_eq!(p.referrer.as_deref(), Some("https://search.example/"));
    assert_eq!(p.current.as_ref().map(|c| c.pages), Some(2));
}

/// The relay learns which conversation the tab shows whenever that
/// changes, and again on a new connection; colleagues viewing or typing
/// show in one line, never the agent itself.
#[test]
fn viewing_is_announced_and_colleagues_are_named() {
    let mut s = state();
    let viewing = |fx: &[Effect]| -> Vec<Option<ConvId>> {
        fx.iter()
            .filter_map(|e| match e {
                Effect::Send(ClientFrame::Viewing { conv }) => Some(conv.clone()),
                _ => None,
            })
            .collect()
    };
    assert_eq!(viewing(&run(&mut s, Action::Tick, 1.0)), [Some(id("c1"))]);
    assert!(viewing(&run(&mut s, Action::Tick, 2.0)).is_empty());
    assert_eq!(viewing(&run(&mut s, Action::Online, 3.0)), [Some(id("c1"))]);
    assert_eq!(
        viewing(&run(&mut s, Action::Nav(Route::Visitors), 4.0)),
        [None]
    );
    run(&mut s, Action::OpenConv(id("c1")), 5.0);

    assert_eq!(s.colleagues_notice(), None);
    let ada = protocol::Viewer {
        id: id("ada"),
        name: "Ada".into(),
    };
    let bo = protocol::Viewer {
        id: id("bo"),
        name: "Bo".into(),
    };
    let viewers = |agents: Vec<protocol::Viewer>| {
        Action::Frame(ServerFrame::Viewers {
            conv: id("c1"),
            agents,
        })
    };
    run(&mut s, viewers(vec![ada.clone()]), 6.0);
    assert_eq!(
        s.colleagues_notice().as_deref(),
        Some("Ada is viewing this conversation")
    );
    run(&mut s, viewers(vec![ada.clone(), bo.clone()]), 7.0);
    assert_eq!(
        s.colleagues_notice().as_deref(),
        Some("Ada and Bo are viewing this conversation")
    );
    let typing = |on: bool| {
        Action::Frame(ServerFrame::Typing {
            conv: id("c1"),
            side: protocol::Side::Agent,
            on,
            text: None,
            agent: Some(id("bo")),
            name: None,
        })
    };
    run(&mut s, typing(true), 8.0);
    assert_eq!(s.colleagues_notice().as_deref(), Some("Bo is typing…"));
    run(&mut s, typing(false), 9.0);
    assert_eq!(
        s.colleagues_notice().as_deref(),
        Some("Ada and Bo are viewing this conversation")
    );
    // Bo leaves while typing: neither line names Bo any more.
    run(&mut s, typing(true), 10.0);
    run(&mut s, viewers(vec![ada]), 11.0);
    assert_eq!(
        s.colleagues_notice().as_deref(),
        Some("Ada is viewing this conversation")
    );
    run(&mut s, viewers(Vec::new()), 12.0);
    assert_eq!(s.colleagues_notice(), None);
}

fn summary(conv: &str, site: &str, open: bool) -> ConvSummary {
    ConvSummary {
        id: id(conv),
        site: id(site),
        visitor: id("v9"),
        open,
        last_seq: 2,
        created: 0,
        updated: 0,
        visitor_read: 0,
        agent_read: 0,
        preview: None,
        assignee: None,
    }
}

fn me(sites: &[&str]) -> protocol::api::AgentView {
    protocol::api::AgentView {
        id: id("a1"),
        name: "Ann".into(),
        email: None,
        role: protocol::api::AgentRole::Agent,
        sites: sites.iter().map(|s| id(s)).collect(),
    }
}

fn convs(list: Vec<ConvSummary>) -> Action {
    Action::Answered(Answer::Convs(Ok(protocol::api::ConvPage {
        convs: list,
        next_before: None,
    })))
}

/// `#/inbox/<site>/<conv>` is a conversation link; anything else is not.
#[test]
fn conversation_links_parse() {
    let l = ConvLink::from_hash("#/inbox/shop/c42").expect("link");
    assert_eq!((l.site.as_str(), l.conv.as_str()), ("shop", "c42"));
    for bad in [
        "#/inbox",
        "#/inbox/shop",
        "#/inbox/shop/",
        "#/inbox//c1",
        "#/settings/shop/c1",
        "#/inbox/sh op/c1",
    ] {
        assert_eq!(ConvLink::from_hash(bad), None, "{bad}");
    }
}

/// A notification's click while signed in: the conversation opens in the
/// chat pane (what a phone shows) and the address goes back to the inbox.
#[test]
fn a_link_opens_a_listed_conversation() {
    let mut s = state();
    s.me = Some(me(&["demo"]));
    s.route = Route::Settings;
    s.model.upsert_summary(summary("c2", "demo", true));
    let fx = run(
        &mut s,
        Action::OpenLink(ConvLink::from_hash("#/inbox/demo/c2").expect("link")),
        1.0,
    );
    assert_eq!(s.route, Route::Inbox);
    assert_eq!(s.pane, Pane::Chat);
    assert_eq!(s.model.viewing.as_ref().map(|c| c.as_str()), Some("c2"));
    assert!(fx
        .iter()
        .any(|e| matches!(e, Effect::SetHash(Route::Inbox))));
    assert!(fx
        .iter()
        .any(|e| matches!(e, Effect::Fetch(Fetch::Events(c, _)) if c.as_str() == "c2")));
    assert!(s.pending_link.is_none());
}

/// Opened at a link: sign-in picks the link's site over the saved one, and
/// the conversation opens when the site's list brings it.
#[test]
fn a_link_at_start_waits_for_the_list() {
    let saved = Saved {
        site: Some("demo".into()),
        link: ConvLink::from_hash("#/inbox/shop/c7"),
        ..Default::default()
    };
    let mut s = State::new(Some("tok".into()), saved, Route::Inbox, 0.0);
    let fx = run(
        &mut s,
        Action::Answered(Answer::Me(Ok(me(&["demo", "shop"])))),
        1.0,
    );
    assert_eq!(s.model.site.as_ref().map(|x| x.as_str()), Some("shop"));
    assert!(fx.iter().any(|e| matches!(e, Effect::Push(PushOp::Check))));
    assert!(s.model.viewing.is_none());
    run(&mut s, convs(vec![summary("c7", "shop", true)]), 2.0);
    assert_eq!(s.model.viewing.as_ref().map(|c| c.as_str()), Some("c7"));
    assert_eq!(s.pane, Pane::Chat);
}

/// A link to a conversation that is not open: the closed ones are asked
/// for once; not there either, the agent is told.
#[test]
fn a_link_to_an_unknown_conversation_says_so() {
    let mut s = state();
    s.me = Some(me(&["demo"]));
    run(
        &mut s,
        Action::OpenLink(ConvLink::from_hash("#/inbox/demo/gone").expect("link")),
        1.0,
    );
    let fx = run(&mut s, convs(vec![]), 2.0);
    assert!(fx
        .iter()
        .any(|e| matches!(e, Effect::Fetch(Fetch::Convs(_, "closed")))));
    assert!(s.toast.is_none());
    run(&mut s, convs(vec![]), 3.0);
    assert_eq!(s.toast.as_deref(), Some("That conversation was not found."));
    assert!(s.pending_link.is_none());
    // A site the agent is not on is refused outright.
    run(
        &mut s,
        Action::OpenLink(ConvLink::from_hash("#/inbox/other/c1").expect("link")),
        4.0,
    );
    assert_eq!(
        s.toast.as_deref(),
        Some("You are not an agent of site other.")
    );
    assert_eq!(s.model.site.as_ref().map(|x| x.as_str()), Some("demo"));
}

/// The device toggle asks for browser work only when it can act, shows
/// "working" meanwhile, and then what the browser found.
#[test]
fn the_push_toggle() {
    let mut s = state();
    let fx = run(&mut s, Action::Push(PushAction::Toggle(true)), 1.0);
    assert!(
        fx.iter()
            .all(|e| matches!(e, Effect::Send(ClientFrame::Viewing { .. }))),
        "still checking: no browser work"
    );
    let done = |status, error: Option<&str>| {
        Action::Push(PushAction::Done(PushOutcome {
            status,
            error: error.map(str::to_string),
        }))
    };
    run(&mut s, done(PushStatus::Off, None), 2.0);
    let fx = run(&mut s, Action::Push(PushAction::Toggle(true)), 3.0);
    assert!(matches!(fx.as_slice(), [Effect::Push(PushOp::Enable)]));
    assert!(s.push.busy);
    assert!(
        run(&mut s, Action::Push(PushAction::Toggle(true)), 4.0).is_empty(),
        "busy"
    );
    run(&mut s, done(PushStatus::Off, Some("refused")), 5.0);
    assert_eq!(
        s.push,
        DevicePush {
            status: PushStatus::Off,
            busy: false,
            error: Some("refused".into())
        }
    );
    run(&mut s, done(PushStatus::On, None), 6.0);
    let fx = run(&mut s, Action::Push(PushAction::Toggle(false)), 7.0);
    assert!(matches!(fx.as_slice(), [Effect::Push(PushOp::Disable)]));
    assert_eq!(s.push.error, None);
    run(
        &mut s,
        done(PushStatus::Unsupported("no".into()), None),
        8.0,
    );
    assert!(
        run(&mut s, Action::Push(PushAction::Toggle(true)), 9.0).is_empty(),
        "unsupported"
    );
    // Signing out forgets the device's state (the next agent checks anew).
    run(&mut s, Action::Logout, 10.0);
    assert_eq!(s.push, DevicePush::default());
}
