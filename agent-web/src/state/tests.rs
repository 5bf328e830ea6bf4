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
        team: None,
        labels: Vec::new(),
        queued: None,
        channel: Default::default(),
        wechat: None,
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
        channel: Default::default(),
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
        team: None,
        labels: Vec::new(),
        queued: None,
        channel: Default::default(),
        wechat: None,
    }
}

fn me(sites: &[&str]) -> protocol::api::AgentView {
    protocol::api::AgentView {
        id: id("a1"),
        name: "Ann".into(),
        email: None,
        role: protocol::api::AgentRole::Agent,
        sites: sites.iter().map(|s| id(s)).collect(),
        capacity: protocol::limits::DEFAULT_CAPACITY,
        mail: Default::default(),
        avatar: None,
        welcome: false,
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

/// A summary of `conv` on `demo`, queued since `queued` (ms) if set.
fn waiting(conv: &str, queued: Option<u64>, labels: &[&str]) -> ConvSummary {
    ConvSummary {
        queued,
        labels: labels.iter().map(|l| l.to_string()).collect(),
        updated: queued.unwrap_or(0),
        ..summary(conv, "demo", true)
    }
}

fn ids(list: &[&crate::model::Conv]) -> Vec<String> {
    list.iter().map(|c| c.summary.id.to_string()).collect()
}

/// The queue tab lists the open conversations waiting for an agent,
/// oldest first (the order the relay serves them in), whatever order the
/// summaries came in; one an agent took, or one closed, leaves it.
#[test]
fn the_queue_is_oldest_first() {
    let mut s = state();
    for c in [
        waiting("late", Some(3_000), &[]),
        waiting("first", Some(1_000), &[]),
        waiting("mid", Some(2_000), &[]),
        waiting("taken", None, &[]),
    ] {
        s.model.upsert_summary(c);
    }
    s.model.upsert_summary(ConvSummary {
        open: false,
        ..waiting("gone", Some(500), &[])
    });
    let fx = run(&mut s, Action::SetFilter(Filter::Queue), 1.0);
    assert!(fx
        .iter()
        .any(|e| matches!(e, Effect::Fetch(Fetch::Convs(_, "queued")))));
    assert_eq!(ids(&s.inbox_list()), ["first", "mid", "late"]);
    assert_eq!(ids(&s.model.queue()), ["first", "mid", "late"]);
    // The first is assigned (live event): the others move up.
    let assigned = protocol::Event {
        conv: id("first"),
        seq: 3,
        ts: 4_000,
        body: protocol::EventBody::Assigned {
            by: protocol::Author {
                side: protocol::Side::System,
                id: "routing".into(),
                name: None,
            },
            to: Some(protocol::Author {
                side: protocol::Side::Agent,
                id: "a1".into(),
                name: Some("Ann".into()),
            }),
            reason: Some(protocol::AssignReason::Auto),
            team: Some(id("sales")),
        },
    };
    run(&mut s, Action::Frame(ServerFrame::Event(assigned)), 5.0);
    assert_eq!(ids(&s.model.queue()), ["mid", "late"]);
    let first = &s.model.convs[&id::<ConvId>("first")].summary;
    assert_eq!(first.assignee.as_ref().map(|a| a.as_str()), Some("a1"));
    assert_eq!(first.team.as_ref().map(|t| t.as_str()), Some("sales"));
    // Every other tab is newest first, as before.
    run(&mut s, Action::SetFilter(Filter::Open), 6.0);
    assert_eq!(ids(&s.inbox_list())[..3], ["first", "late", "mid"]);
}

/// The label select narrows whichever tab is shown to the conversations
/// carrying that label, and follows labels added and removed live.
#[test]
fn the_label_filter_narrows_the_tab() {
    let mut s = state();
    s.model.upsert_summary(waiting("vip", None, &["VIP"]));
    s.model
        .upsert_summary(waiting("vipq", Some(10), &["VIP", "Billing"]));
    s.model.upsert_summary(waiting("plain", Some(5), &[]));
    run(&mut s, Action::SetLabelFilter(Some("VIP".into())), 1.0);
    let mut open = ids(&s.inbox_list());
    open.sort();
    assert_eq!(open, ["vip", "vipq"]);
    run(&mut s, Action::SetFilter(Filter::Queue), 2.0);
    assert_eq!(ids(&s.inbox_list()), ["vipq"]);
    // The queue's own order is kept: "plain" is still #1 in it.
    assert_eq!(ids(&s.model.queue()), ["plain", "vipq"]);
    let labeled = |on: bool| {
        Action::Frame(ServerFrame::Event(protocol::Event {
            conv: id("plain"),
            seq: if on { 3 } else { 4 },
            ts: 9,
            body: protocol::EventBody::Labeled {
                by: protocol::Author {
                    side: protocol::Side::Agent,
                    id: "a1".into(),
                    name: None,
                },
                label: "VIP".into(),
                on,
            },
        }))
    };
    run(&mut s, labeled(true), 3.0);
    assert_eq!(ids(&s.inbox_list()), ["plain", "vipq"]);
    run(&mut s, labeled(false), 4.0);
    assert_eq!(ids(&s.inbox_list()), ["vipq"]);
    run(&mut s, Action::SetLabelFilter(None), 5.0);
    assert_eq!(ids(&s.inbox_list()), ["plain", "vipq"]);
    // Another site has other labels: its switch forgets the filter.
    run(&mut s, Action::SetLabelFilter(Some("VIP".into())), 6.0);
    run(&mut s, Action::SwitchSite("shop".into()), 7.0);
    assert_eq!(s.label_filter, None);
}

/// In note mode the composer sends a `note` frame — never `send` — under a
/// fresh cid kept in the outbox like a reply's (resent after a reconnect,
/// gone on its ack); no typing notice reaches the visitor, and no file
/// leaves from the note box.
#[test]
fn notes_go_out_as_note_frames_only() {
    let mut s = state();
    run(&mut s, Action::ComposerInput("draft reply".into()), 1.0);
    let fx = run(&mut s, Action::SetCompose(Compose::Note), 2.0);
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::Send(ClientFrame::Typing { on: false, .. }))),
        "the reply's typing notice is withdrawn"
    );
    let fx = run(&mut s, Action::ComposerInput("VIP, be nice".into()), 3.0);
    assert_eq!(typing_on(&fx), 0, "no typing notice for a note");
    let fx = run(&mut s, Action::ComposerEnter, 4.0);
    let sent: Vec<&ClientFrame> = fx
        .iter()
        .filter_map(|e| match e {
            Effect::Send(f @ (ClientFrame::Send { .. } | ClientFrame::Note { .. })) => Some(f),
            _ => None,
        })
        .collect();
    let cid = s.model.outbox[0].cid.clone();
    assert!(
        matches!(sent[..], [ClientFrame::Note { cid: c, conv, text }]
            if *c == cid && conv.as_str() == "c1" && text == "VIP, be nice"),
        "{sent:?}"
    );
    assert!(s.model.outbox[0].note);
    // What a reload or a reconnect sends again is the same note.
    let saved = serde_json::to_string(&s.model.outbox).expect("outbox");
    let back: Vec<Pending> = serde_json::from_str(&saved).expect("outbox");
    assert!(matches!(back[0].frame(), Some(ClientFrame::Note { cid: c, .. }) if c == cid));
    // A note whose conversation is lost is never sent at all.
    let lost = Pending {
        conv: None,
        ..back[0].clone()
    };
    assert_eq!(lost.frame(), None);
    // The ack is the same as a reply's.
    run(
        &mut s,
        Action::Frame(ServerFrame::Ack {
            cid,
            conv: id("c1"),
            seq: 1,
        }),
        5.0,
    );
    assert!(s.model.outbox.is_empty());
    // The mode stays for the next note; Reply sends replies again.
    run(&mut s, Action::ComposerInput("second note".into()), 6.0);
    let fx = run(&mut s, Action::SendReply, 7.0);
    assert!(fx
        .iter()
        .any(|e| matches!(e, Effect::Send(ClientFrame::Note { .. }))));
    run(&mut s, Action::SetCompose(Compose::Reply), 8.0);
    run(&mut s, Action::ComposerInput("hello".into()), 9.0);
    let fx = run(&mut s, Action::SendReply, 10.0);
    assert!(fx
        .iter()
        .any(|e| matches!(e, Effect::Send(ClientFrame::Send { .. }))));
    assert!(!fx
        .iter()
        .any(|e| matches!(e, Effect::Send(ClientFrame::Note { .. }))));
}

/// A note event is shown to agents but changes no preview; a visitor's
/// unread count ignores it.
#[test]
fn a_note_event_is_no_message() {
    let mut s = state();
    let note = protocol::Event {
        conv: id("c1"),
        seq: 1,
        ts: 1,
        body: protocol::EventBody::Note {
            from: protocol::Author {
                side: protocol::Side::Agent,
                id: "bo".into(),
                name: Some("Bo".into()),
            },
            cid: id("n1"),
            text: "internal".into(),
        },
    };
    s.model.viewing = None;
    let fx = run(&mut s, Action::Frame(ServerFrame::Event(note)), 1.0);
    assert!(!fx.iter().any(|e| matches!(e, Effect::Notify { .. })));
    let c = &s.model.convs[&id::<ConvId>("c1")];
    assert_eq!(
        (c.unread, c.summary.preview.clone(), c.events.len()),
        (0, None, 1)
    );
}

fn teammate(agent: &str, name: &str) -> Teammate {
    Teammate {
        id: id(agent),
        name: name.into(),
        role: protocol::api::AgentRole::Agent,
        capacity: protocol::limits::DEFAULT_CAPACITY,
        avatar: None,
    }
}

fn routing_state() -> State {
    let mut s = state();
    s.team = vec![teammate("ada", "Ada"), teammate("bo", "Bo")];
    s.settings.routing.draft = Some(protocol::api::Routing::default());
    // The first action announces the open conversation: out of the way.
    run(&mut s, Action::Tick, 0.0);
    s
}

fn routing(s: &mut State, a: RoutingAction) -> Vec<Effect> {
    run(s, Action::Settings(SettingsAction::Routing(a)), 0.0)
}

/// Teams get ids from their names, members are ticked, labels added: an
/// addition the relay would refuse is not made, and "Save routing" sends
/// the whole draft only when `Routing::validate` passes.
#[test]
fn routing_is_edited_then_validated_and_saved() {
    let mut s = routing_state();
    for name in ["Sales EU", "Sales EU", "销售"] {
        routing(&mut s, RoutingAction::NewTeam(name.into()));
        routing(&mut s, RoutingAction::AddTeam);
    }
    let draft = |s: &State| s.settings.routing.draft.clone().expect("draft");
    let team_ids: Vec<String> = draft(&s).teams.iter().map(|t| t.id.to_string()).collect();
    assert_eq!(team_ids, ["sales-eu", "sales-eu-2", "team"]);
    routing(
        &mut s,
        RoutingAction::Member {
            team: "sales-eu".into(),
            agent: "ada".into(),
            on: true,
        },
    );
    routing(&mut s, RoutingAction::RemoveTeam("sales-eu-2".into()));
    routing(&mut s, RoutingAction::NewLabel("VIP".into()));
    routing(&mut s, RoutingAction::NewColor("#d6336c".into()));
    routing(&mut s, RoutingAction::AddLabel);
    // The same label again is refused with the relay's reason.
    routing(&mut s, RoutingAction::NewLabel("VIP".into()));
    routing(&mut s, RoutingAction::AddLabel);
    assert_eq!(draft(&s).labels.len(), 1);
    assert_eq!(
        s.settings.notice.as_deref(),
        Some("Not added: label \"VIP\" is listed twice")
    );
    routing(&mut s, RoutingAction::Mode("auto".into()));
    // Too long a wait is refused on save, and nothing is sent.
    routing(&mut s, RoutingAction::ReassignAfter("99999".into()));
    assert!(routing(&mut s, RoutingAction::Save).is_empty());
    assert!(s
        .settings
        .notice
        .as_deref()
        .is_some_and(|n| n.starts_with("Not saved: reassign_after_min is at most")));
    routing(&mut s, RoutingAction::ReassignAfter("15".into()));
    let fx = routing(&mut s, RoutingAction::Save);
    let sent = fx.iter().find_map(|e| match e {
        Effect::Fetch(Fetch::PatchSite(_, p)) => Some((**p).clone()),
        _ => None,
    });
    let patch = sent.expect("a PATCH");
    assert_eq!(
        (patch.widget.clone(), patch.allowed_origins.clone()),
        (None, None)
    );
    let r = patch.routing.expect("routing");
    assert_eq!(r.mode, protocol::api::RoutingMode::Auto);
    assert_eq!(r.reassign_after_min, 15);
    assert_eq!(r.teams[0].members, [id::<protocol::AgentId>("ada")]);
    assert_eq!(r.labels[0].color, "#d6336c");
    // The answer is the routing form's: the widget draft keeps its edits.
    s.settings.widget = Some(WidgetSettings {
        greeting: "unsaved".into(),
        ..WidgetSettings::default()
    });
    let view = SiteView {
        id: id("demo"),
        name: "Demo".into(),
        created: 0,
        allowed_origins: Vec::new(),
        widget: WidgetSettings::default(),
        routing: r.clone(),
        secret: None,
        wechat: None,
        offline: Default::default(),
    };
    run(
        &mut s,
        Action::Answered(Answer::Saved(Ok(Box::new(view)))),
        1.0,
    );
    assert_eq!(s.settings.notice.as_deref(), Some("Routing saved."));
    assert_eq!(
        s.settings.widget.as_ref().map(|w| w.greeting.as_str()),
        Some("unsaved")
    );
    // The inbox reads the saved labels.
    assert_eq!(s.label("VIP").color, "#d6336c");
    assert_eq!(s.label("gone").color, NO_LABEL_COLOR);
}

/// A capacity outside 1–50 is refused with the shared reason and not
/// sent; a valid one is, and the answer updates the list.
#[test]
fn capacities_are_checked_before_saving() {
    let mut s = routing_state();
    let set = |s: &mut State, v: &str| {
        routing(
            s,
            RoutingAction::Capacity {
                agent: "bo".into(),
                value: v.into(),
            },
        )
    };
    for bad in ["0", "51", "", "two"] {
        assert!(set(&mut s, bad).is_empty(), "{bad}");
        assert_eq!(
            s.settings.notice.as_deref(),
            Some("Not saved: capacity must be 1–50 open conversations")
        );
    }
    let fx = set(&mut s, "7");
    assert!(fx
        .iter()
        .any(|e| matches!(e, Effect::Fetch(Fetch::Capacity(a, 7)) if a == "bo")));
    run(
        &mut s,
        Action::Answered(Answer::Capacity {
            agent: "bo".into(),
            capacity: 7,
            result: Ok(()),
        }),
        1.0,
    );
    assert_eq!(s.team[1].capacity, 7);
    assert_eq!(
        s.settings.notice.as_deref(),
        Some("Bo now takes up to 7 open conversations.")
    );
    run(
        &mut s,
        Action::Answered(Answer::Capacity {
            agent: "bo".into(),
            capacity: 9,
            result: Err("forbidden".into()),
        }),
        2.0,
    );
    assert_eq!(s.team[1].capacity, 7);
    assert_eq!(s.settings.notice.as_deref(), Some("Not saved: forbidden"));
}

fn owner_state() -> State {
    let mut s = state();
    let mut m = me(&["demo"]);
    m.role = protocol::api::AgentRole::Owner;
    s.me = Some(m);
    s.route = Route::Settings;
    run(&mut s, Action::Tick, 0.0);
    s
}

fn int(s: &mut State, a: IntegrationsAction) -> Vec<Effect> {
    run(s, Action::Settings(SettingsAction::Integrations(a)), 0.0)
}

fn hook_view(id: &str, secret: Option<&str>) -> protocol::api::integrations::WebhookView {
    protocol::api::integrations::WebhookView {
        id: id.into(),
        url: "https://hooks.example.com/kefu".into(),
        events: vec![protocol::api::integrations::HookEvent::MessageCreated],
        created: 0,
        paused: false,
        paused_reason: None,
        failures: 0,
        secret: secret.map(str::to_string),
    }
}

/// Settings load an owner's webhooks and keys; a webhook is checked with
/// the relay's rules before it is sent, its secret is kept to show once
/// (not in the list), a refusal is the relay's message, and delete and
/// revoke go out only after "Really?".
#[test]
fn integrations_are_checked_shown_once_and_confirmed() {
    use protocol::api::integrations::{ApiKeyView, HookEvent};
    let mut s = owner_state();
    let fx = run(&mut s, Action::Nav(Route::Settings), 0.0);
    assert!(fx
        .iter()
        .any(|e| matches!(e, Effect::Fetch(Fetch::Webhooks(site)) if site.as_str() == "demo")));
    assert!(fx
        .iter()
        .any(|e| matches!(e, Effect::Fetch(Fetch::ApiKeys(_)))));

    // Not a URL, then no event: refused here, nothing sent.
    int(&mut s, IntegrationsAction::Url("hooks.example.com".into()));
    let fx = int(&mut s, IntegrationsAction::AddHook);
    assert!(fx.is_empty());
    let note = |s: &State| s.settings.integrations.hooks_note.clone().expect("note");
    assert!(
        note(&s).bad
            && note(&s)
                .text
                .starts_with("Not added: the URL must start with")
    );
    int(
        &mut s,
        IntegrationsAction::Url(" https://hooks.example.com/kefu ".into()),
    );
    assert!(int(&mut s, IntegrationsAction::AddHook).is_empty());
    assert_eq!(note(&s).text, "Not added: pick at least one event");

    int(
        &mut s,
        IntegrationsAction::Event(HookEvent::MessageCreated, true),
    );
    int(
        &mut s,
        IntegrationsAction::Event(HookEvent::ConversationCreated, true),
    );
    int(
        &mut s,
        IntegrationsAction::Event(HookEvent::ConversationCreated, false),
    );
    let fx = int(&mut s, IntegrationsAction::AddHook);
    assert!(matches!(&fx[..], [Effect::Fetch(Fetch::AddWebhook(_, b))]
        if b.url == "https://hooks.example.com/kefu" && b.events == vec![HookEvent::MessageCreated]));
    // A second click while it is being added sends nothing more.
    assert!(int(&mut s, IntegrationsAction::AddHook).is_empty());

    // The relay's refusal shows as it said it; the form keeps its input.
    run(
        &mut s,
        Action::Answered(Answer::WebhookAdded(Err(
            "10.0.0.1 is a private address".into()
        ))),
        0.0,
    );
    assert_eq!(note(&s).text, "Not added: 10.0.0.1 is a private address");
    assert!(note(&s).bad);
    assert_eq!(
        s.settings.integrations.new_events,
        vec![HookEvent::MessageCreated]
    );
    assert_eq!(int(&mut s, IntegrationsAction::AddHook).len(), 1);
    run(
        &mut s,
        Action::Answered(Answer::WebhookAdded(Ok(hook_view("h1", Some("whsec_x"))))),
        0.0,
    );
    let st = &s.settings.integrations;
    assert_eq!(st.secret.as_ref().map(|x| x.text.as_str()), Some("whsec_x"));
    assert_eq!(st.hooks.as_ref().map(Vec::len), Some(1));
    assert!(st.hooks.iter().flatten().all(|h| h.secret.is_none()));
    assert!(st.new_url.is_empty() && st.new_events.is_empty());
    let fx = int(&mut s, IntegrationsAction::CopySecret);
    assert!(matches!(&fx[..], [Effect::CopyToClipboard(t)] if t == "whsec_x"));
    int(&mut s, IntegrationsAction::DismissSecret);
    assert!(s.settings.integrations.secret.is_none());

    // The delivery log opens (fetched), a redelivery refreshes it.
    let fx = int(&mut s, IntegrationsAction::Deliveries("h1".into()));
    assert!(matches!(&fx[..], [Effect::Fetch(Fetch::Deliveries(_, h))] if h == "h1"));
    let fx = int(
        &mut s,
        IntegrationsAction::Redeliver {
            hook: "h1".into(),
            delivery: "d1".into(),
        },
    );
    assert!(
        matches!(&fx[..], [Effect::Fetch(Fetch::Redeliver(_, h, d))] if h == "h1" && d == "d1")
    );
    let fx = run(
        &mut s,
        Action::Answered(Answer::Redelivered("h1".into(), Ok(()))),
        0.0,
    );
    assert!(matches!(&fx[..], [Effect::Fetch(Fetch::Deliveries(_, h))] if h == "h1"));

    // Delete: the first click only asks; Cancel sends nothing; yes does.
    assert!(int(
        &mut s,
        IntegrationsAction::Ask(Confirm::DeleteHook("h1".into()))
    )
    .is_empty());
    int(&mut s, IntegrationsAction::Cancel);
    assert!(int(&mut s, IntegrationsAction::Confirmed).is_empty());
    int(
        &mut s,
        IntegrationsAction::Ask(Confirm::DeleteHook("h1".into())),
    );
    let fx = int(&mut s, IntegrationsAction::Confirmed);
    assert!(matches!(&fx[..], [Effect::Fetch(Fetch::DeleteWebhook(_, h))] if h == "h1"));
    run(
        &mut s,
        Action::Answered(Answer::WebhookDeleted("h1".into(), Ok(()))),
        0.0,
    );
    let st = &s.settings.integrations;
    assert_eq!(st.hooks.as_ref().map(Vec::len), Some(0));
    assert!(st.log.is_none());

    // API keys: a name the relay would refuse is not sent; the key shows once.
    int(&mut s, IntegrationsAction::KeyName("   ".into()));
    assert!(int(&mut s, IntegrationsAction::AddKey).is_empty());
    assert!(s
        .settings
        .integrations
        .keys_note
        .as_ref()
        .is_some_and(|n| n.bad));
    int(&mut s, IntegrationsAction::KeyName("Order bot".into()));
    let fx = int(&mut s, IntegrationsAction::AddKey);
    assert!(matches!(&fx[..], [Effect::Fetch(Fetch::AddApiKey(_, k))] if k.name == "Order bot"));
    let key = ApiKeyView {
        id: "k1".into(),
        name: "Order bot".into(),
        agent: id("bot-k1"),
        prefix: "kefu_abcdefg".into(),
        created: 0,
        key: Some("kefu_secret".into()),
    };
    run(&mut s, Action::Answered(Answer::ApiKeyAdded(Ok(key))), 0.0);
    let st = &s.settings.integrations;
    assert_eq!(
        st.new_key.as_ref().map(|k| k.text.as_str()),
        Some("kefu_secret")
    );
    assert!(st.keys.iter().flatten().all(|k| k.key.is_none()));
    int(
        &mut s,
        IntegrationsAction::Ask(Confirm::RevokeKey("k1".into())),
    );
    let fx = int(&mut s, IntegrationsAction::Confirmed);
    assert!(matches!(&fx[..], [Effect::Fetch(Fetch::DeleteApiKey(_, k))] if k == "k1"));
    run(
        &mut s,
        Action::Answered(Answer::ApiKeyRevoked("k1".into(), Ok(()))),
        0.0,
    );
    let st = &s.settings.integrations;
    assert_eq!(st.keys.as_ref().map(Vec::len), Some(0));
    assert!(st.new_key.is_none(), "a revoked key is not shown any more");
}

/// Agents who own nothing never ask for integrations.
#[test]
fn integrations_are_for_owners_only() {
    let mut s = state();
    s.me = Some(me(&["demo"]));
    let fx = run(&mut s, Action::Nav(Route::Settings), 0.0);
    assert!(!fx
        .iter()
        .any(|e| matches!(e, Effect::Fetch(Fetch::Webhooks(_) | Fetch::ApiKeys(_)))));
}

/// A bot (nobody's teammate) is named as its messages name it; a
/// teammate by the team list; an unknown id not at all.
#[test]
fn an_assignee_is_named_by_the_team_or_the_events() {
    let mut s = state();
    s.team = vec![teammate("ada", "Ada")];
    let from_bot = ServerFrame::Event(protocol::Event {
        conv: id("c1"),
        seq: 1,
        ts: 1,
        body: protocol::EventBody::Message {
            from: protocol::Author {
                side: protocol::Side::Agent,
                id: "bot-k1".into(),
                name: Some("Order bot".into()),
            },
            cid: id("b1"),
            text: "Your order shipped.".into(),
            file: None,
        },
    });
    run(&mut s, Action::Frame(from_bot), 1.0);
    let c = &s.model.convs[&id::<ConvId>("c1")];
    assert_eq!(s.agent_name(c, "bot-k1").as_deref(), Some("Order bot"));
    assert_eq!(s.agent_name(c, "ada").as_deref(), Some("Ada"));
    assert_eq!(s.agent_name(c, "nobody"), None);
}

// --- Reaching people who are not there: hours, forms, rating, mail ------

use super::offline::{check_form, field_key, hours_to_send, Builtin, FormsAction, HoursAction};
use crate::services::api::Section;
use protocol::offline::{Ask, FieldKind, MailPref, OfflineSettings, Period, RatingScale};

fn site_view(widget: WidgetSettings, offline: OfflineSettings) -> SiteView {
    SiteView {
        id: id("demo"),
        name: "Demo".into(),
        created: 0,
        allowed_origins: Vec::new(),
        widget,
        routing: Default::default(),
        secret: None,
        wechat: None,
        offline,
    }
}

/// An owner on the settings page with the site loaded.
fn offline_state(widget: WidgetSettings, offline: OfflineSettings) -> State {
    let mut s = owner_state();
    let view = site_view(widget, offline);
    run(
        &mut s,
        Action::Answered(Answer::Site(Ok(Box::new(view)))),
        0.0,
    );
    s
}

fn hours(s: &mut State, a: HoursAction) -> Vec<Effect> {
    run(s, Action::Settings(SettingsAction::Hours(a)), 0.0)
}

fn forms(s: &mut State, a: FormsAction) -> Vec<Effect> {
    run(s, Action::Settings(SettingsAction::Forms(a)), 0.0)
}

fn hours_note(s: &State) -> String {
    s.settings
        .hours
        .note
        .clone()
        .map(|n| n.text)
        .unwrap_or_default()
}

fn forms_note(s: &State) -> String {
    s.settings
        .forms
        .note
        .clone()
        .map(|n| n.text)
        .unwrap_or_default()
}

/// The PATCH of the site a form asked for.
fn section_patch(fx: &[Effect], want: Section) -> Option<protocol::api::SitePatch> {
    fx.iter().find_map(|e| match e {
        Effect::Fetch(Fetch::SaveSection(site, section, p)) if *section == want => {
            assert_eq!(site.as_str(), "demo");
            Some((**p).clone())
        }
        _ => None,
    })
}

fn p(from: &str, to: &str) -> Period {
    Period {
        from: from.into(),
        to: to.into(),
    }
}

/// Turning hours on takes the browser's zone and starts with weekdays nine
/// to five; periods are added after a day's last one, refused past 24:00
/// and beyond the limit; a bad or overlapping period, a missing zone and a
/// bad delay are refused on save naming the day, with nothing sent; a good
/// schedule goes out as the site's `offline` alone.
#[test]
fn business_hours_are_edited_checked_and_saved() {
    let mut s = offline_state(WidgetSettings::default(), OfflineSettings::default());
    let week = |s: &State| s.settings.hours.draft.clone().expect("draft").hours.week;
    assert_eq!(week(&s).len(), 7, "the form always has seven days");
    hours(
        &mut s,
        HoursAction::Enabled {
            on: true,
            zone: "Europe/Berlin".into(),
        },
    );
    let d = s.settings.hours.draft.clone().expect("draft");
    assert!(d.hours.enabled);
    assert_eq!(d.hours.tz, "Europe/Berlin");
    assert_eq!(d.hours.week[0], [p("09:00", "17:00")]);
    assert_eq!(d.hours.week[4], [p("09:00", "17:00")]);
    assert!(d.hours.week[5].is_empty() && d.hours.week[6].is_empty());

    // Monday: a second period after the first, to the end of the day.
    hours(&mut s, HoursAction::AddPeriod(0));
    assert_eq!(week(&s)[0][1], p("17:00", "18:00"));
    hours(
        &mut s,
        HoursAction::To {
            day: 0,
            i: 1,
            value: "24:00".into(),
        },
    );
    hours(&mut s, HoursAction::AddPeriod(0));
    assert_eq!(week(&s)[0].len(), 2);
    assert_eq!(hours_note(&s), "Not added: Monday already runs to 24:00");
    // Sunday, closed, opens nine to five; the limit holds.
    for _ in 0..protocol::limits::MAX_PERIODS_PER_DAY + 1 {
        hours(&mut s, HoursAction::AddPeriod(6));
    }
    assert_eq!(week(&s)[6][0], p("09:00", "17:00"));
    assert_eq!(week(&s)[6].len(), protocol::limits::MAX_PERIODS_PER_DAY);
    assert_eq!(hours_note(&s), "Not added: 6 periods a day at most");
    for i in (1..protocol::limits::MAX_PERIODS_PER_DAY).rev() {
        hours(&mut s, HoursAction::RemovePeriod { day: 6, i });
    }
    assert_eq!(week(&s)[6], [p("09:00", "17:00")]);
    assert_eq!(hours_note(&s), "", "an edit clears the refusal");

    let save = |s: &mut State| hours(s, HoursAction::Save);
    // Wednesday ends before it starts: refused, naming the day.
    hours(
        &mut s,
        HoursAction::From {
            day: 2,
            i: 0,
            value: "18:00".into(),
        },
    );
    assert!(save(&mut s).is_empty());
    assert_eq!(
        hours_note(&s),
        "Not saved: Wednesday: “18:00–17:00” is not a period (HH:MM to a later HH:MM; 24:00 ends the day)"
    );
    assert!(s.settings.hours.note.as_ref().is_some_and(|n| n.bad));
    hours(
        &mut s,
        HoursAction::From {
            day: 2,
            i: 0,
            value: "9:30".into(),
        },
    );
    assert!(save(&mut s).is_empty(), "H:MM is not HH:MM");
    hours(
        &mut s,
        HoursAction::From {
            day: 2,
            i: 0,
            value: " 09:30 ".into(),
        },
    );
    // Tuesday: two periods that overlap.
    hours(&mut s, HoursAction::AddPeriod(1));
    hours(
        &mut s,
        HoursAction::From {
            day: 1,
            i: 1,
            value: "16:00".into(),
        },
    );
    assert!(save(&mut s).is_empty());
    assert_eq!(hours_note(&s), "Not saved: Tuesday: two periods overlap");
    hours(&mut s, HoursAction::RemovePeriod { day: 1, i: 1 });
    // No zone.
    hours(&mut s, HoursAction::Tz("  ".into()));
    assert!(save(&mut s).is_empty());
    assert!(hours_note(&s).starts_with("Not saved: choose the time zone"));
    hours(&mut s, HoursAction::Tz("Asia/Shanghai ".into()));
    // The delay as typed.
    for (typed, why) in [
        (
            "",
            "the continuity delay is a whole number of minutes (0 = never)",
        ),
        (
            "soon",
            "the continuity delay is a whole number of minutes (0 = never)",
        ),
        (
            "-1",
            "the continuity delay is a whole number of minutes (0 = never)",
        ),
        (
            "99999",
            "the continuity delay is at most 10080 minutes (a week)",
        ),
    ] {
        hours(&mut s, HoursAction::Continuity(typed.into()));
        assert!(save(&mut s).is_empty(), "{typed:?}");
        assert_eq!(hours_note(&s), format!("Not saved: {why}"), "{typed:?}");
    }
    hours(&mut s, HoursAction::Continuity("10".into()));
    // Holidays: a date once, in order.
    for date in ["2026-12-25", "2026-01-01", "2026-12-25", "", "25.12.2026"] {
        hours(&mut s, HoursAction::NewHoliday(date.into()));
        hours(&mut s, HoursAction::AddHoliday);
    }
    assert_eq!(hours_note(&s), "Not added: pick a date (YYYY-MM-DD)");
    hours(&mut s, HoursAction::NewHoliday("2026-12-25".into()));
    hours(&mut s, HoursAction::AddHoliday);
    assert_eq!(hours_note(&s), "Not added: 2026-12-25 is a holiday already");
    hours(&mut s, HoursAction::NewHoliday("2026-05-01".into()));
    hours(&mut s, HoursAction::AddHoliday);
    hours(&mut s, HoursAction::RemoveHoliday("2026-05-01".into()));
    hours(
        &mut s,
        HoursAction::AutoReply("We're closed; back at nine.".into()),
    );

    let fx = save(&mut s);
    let patch = section_patch(&fx, Section::Hours).expect("a PATCH");
    assert!(s.settings.hours.saving);
    assert_eq!(hours_note(&s), "Saving…");
    let body = serde_json::to_value(&patch).expect("json");
    let day = serde_json::json!([{"from": "09:00", "to": "17:00"}]);
    assert_eq!(
        body,
        serde_json::json!({"offline": {
            "hours": {
                "enabled": true,
                "tz": "Asia/Shanghai",
                "week": [
                    [{"from": "09:00", "to": "17:00"}, {"from": "17:00", "to": "24:00"}],
                    day, [{"from": "09:30", "to": "17:00"}], day, day, [], day,
                ],
                "holidays": ["2026-01-01", "2026-12-25"],
            },
            "auto_reply": "We're closed; back at nine.",
            "continuity_minutes": 10,
        }}),
        "the site's offline settings alone, trimmed"
    );

    // The answer is this form's: the appearance draft keeps its edits.
    run(
        &mut s,
        Action::Settings(SettingsAction::Greeting("unsaved".into())),
        0.0,
    );
    let saved = patch
        .offline
        .clone()
        .expect("offline")
        .applied_to(&OfflineSettings::default());
    let view = site_view(WidgetSettings::default(), saved.clone());
    let answer = Answer::SectionSaved(Section::Hours, Ok(Box::new(view)));
    run(&mut s, Action::Answered(answer), 1.0);
    assert_eq!(hours_note(&s), "Offline & hours saved.");
    assert!(!s.settings.hours.saving);
    assert_eq!(s.settings.hours.draft.as_ref(), Some(&saved));
    assert_eq!(
        s.settings.widget.as_ref().map(|w| w.greeting.as_str()),
        Some("unsaved")
    );
    // A refusal by the relay shows in the form, its draft kept.
    save(&mut s);
    let refused = Answer::SectionSaved(
        Section::Hours,
        Err("unknown time zone \"Mars/Olympus\"".into()),
    );
    run(&mut s, Action::Answered(refused), 2.0);
    assert_eq!(
        hours_note(&s),
        "Not saved: unknown time zone \"Mars/Olympus\""
    );
    assert!(!s.settings.hours.saving);
    assert_eq!(s.settings.hours.draft.as_ref(), Some(&saved));
}

/// Hours never set up (off, no zone, no periods) go out unset, which the
/// relay takes; off with a zone, the schedule is kept.
#[test]
fn hours_never_set_up_are_sent_unset() {
    let mut s = offline_state(WidgetSettings::default(), OfflineSettings::default());
    let fx = hours(&mut s, HoursAction::Save);
    let o = section_patch(&fx, Section::Hours)
        .and_then(|p| p.offline)
        .expect("offline")
        .applied_to(&OfflineSettings::default());
    assert!(o.hours.week.is_empty() && o.hours.tz.is_empty());
    assert_eq!(o, OfflineSettings::default());
    assert!(o.validate().is_ok());
    let mut d = OfflineSettings::default();
    d.hours.tz = "UTC".into();
    d.hours.week = vec![vec![p("08:00", "12:00")]; 7];
    assert_eq!(hours_to_send(&d).hours.week.len(), 7);
}

/// The pre-chat form's fields get keys from their labels (a typed key
/// stays), at most five; a choice list needs options; the save sends the
/// widget settings as the site has them saved with the form and the scale
/// in them — never the appearance form's unsaved edits — and the
/// appearance form's later save keeps the saved form.
#[test]
fn forms_are_edited_checked_and_saved_with_the_other_widget_fields() {
    let saved = WidgetSettings {
        greeting: "Hello from the shop".into(),
        color: "#123456".into(),
        ..WidgetSettings::default()
    };
    let mut s = offline_state(saved.clone(), OfflineSettings::default());
    run(
        &mut s,
        Action::Settings(SettingsAction::Greeting("unsaved".into())),
        0.0,
    );
    forms(&mut s, FormsAction::Enabled(true));
    forms(&mut s, FormsAction::Ask(Builtin::Email, "required".into()));
    forms(&mut s, FormsAction::Ask(Builtin::Phone, "optional".into()));
    forms(&mut s, FormsAction::AddField);
    forms(&mut s, FormsAction::Label(0, "Order number".into()));
    let draft = |s: &State| s.settings.forms.draft.clone().expect("draft");
    assert_eq!(draft(&s).fields[0].key, "order_number");
    forms(&mut s, FormsAction::Key(0, "order".into()));
    forms(&mut s, FormsAction::Label(0, "Order no.".into()));
    assert_eq!(draft(&s).fields[0].key, "order", "a typed key stays");
    for _ in 0..5 {
        forms(&mut s, FormsAction::AddField);
    }
    assert_eq!(draft(&s).fields.len(), 5);
    assert_eq!(
        forms_note(&s),
        "Not added: 5 custom fields at most (name, email and phone are built in)"
    );
    for i in (2..5).rev() {
        forms(&mut s, FormsAction::RemoveField(i));
    }
    forms(&mut s, FormsAction::Label(1, "Plan".into()));
    forms(&mut s, FormsAction::Kind(1, "select".into()));
    forms(&mut s, FormsAction::Required(1, true));
    let save = |s: &mut State| forms(s, FormsAction::Save);
    assert!(save(&mut s).is_empty());
    assert_eq!(
        forms_note(&s),
        "Not saved: field “Plan”: a choice list needs options, one per line"
    );
    forms(&mut s, FormsAction::Options(1, "Free\n Pro \n\n".into()));
    forms(
        &mut s,
        FormsAction::Consent("I agree to the privacy policy.".into()),
    );
    forms(&mut s, FormsAction::Rating("thumbs".into()));

    let fx = save(&mut s);
    let patch = section_patch(&fx, Section::Forms).expect("a PATCH");
    assert_eq!(
        (patch.offline.is_none(), patch.routing.is_none()),
        (true, true)
    );
    let w = patch.widget.clone().expect("widget");
    assert_eq!(
        w.greeting, "Hello from the shop",
        "the saved widget fields, not the draft's"
    );
    assert_eq!(w.color, "#123456");
    assert_eq!(w.rating, RatingScale::Thumbs);
    let body = serde_json::to_value(&w).expect("json");
    assert_eq!(
        body["prechat"],
        serde_json::json!({
            "enabled": true, "name": "no", "email": "required", "phone": "optional",
            "fields": [
                {"key": "order", "label": "Order no.", "kind": "text", "required": false},
                {"key": "plan", "label": "Plan", "kind": "select", "options": ["Free", "Pro"], "required": true},
            ],
            "consent": "I agree to the privacy policy.",
        })
    );
    assert_eq!(body["rating"], "thumbs");

    let view = site_view(w.clone(), OfflineSettings::default());
    run(
        &mut s,
        Action::Answered(Answer::SectionSaved(Section::Forms, Ok(Box::new(view)))),
        1.0,
    );
    assert_eq!(
        forms_note(&s),
        "Forms & rating saved. Visitors get them on their next page."
    );
    let draft_now = s.settings.widget.clone().expect("appearance draft");
    assert_eq!(
        draft_now.greeting, "unsaved",
        "the appearance form keeps its edits"
    );
    assert_eq!(draft_now.prechat, w.prechat);
    // The saved field's key no longer follows its label.
    forms(&mut s, FormsAction::Label(1, "Your plan".into()));
    assert_eq!(draft(&s).fields[1].key, "plan");
    // The appearance form's own save carries the saved form and scale.
    let fx = run(&mut s, Action::Settings(SettingsAction::Save), 2.0);
    let sent = fx
        .iter()
        .find_map(|e| match e {
            Effect::Fetch(Fetch::PatchSite(_, p)) => p.widget.clone(),
            _ => None,
        })
        .expect("the appearance PATCH");
    assert_eq!(sent.greeting, "unsaved");
    assert_eq!(
        (sent.prechat, sent.rating),
        (w.prechat, RatingScale::Thumbs)
    );
}

/// Keys from labels; a label without Latin letters gets `field_n`, and a
/// built-in's name is never a key.
#[test]
fn field_keys_come_from_labels() {
    assert_eq!(field_key("Order number", 1), "order_number");
    assert_eq!(field_key("  Plan (monthly)?", 2), "plan_monthly");
    assert_eq!(field_key("订单号", 3), "field_3");
    assert_eq!(field_key("E-mail", 1), "e_mail");
    assert_eq!(field_key("Email", 4), "field_4");
    assert_eq!(field_key(&"x".repeat(60), 1).len(), 32);
    let mut f = protocol::offline::PrechatForm {
        fields: vec![protocol::offline::FormField {
            key: "ok".into(),
            label: String::new(),
            kind: FieldKind::Text,
            options: Vec::new(),
            required: false,
        }],
        ..Default::default()
    };
    assert_eq!(check_form(&f), Err("field 1 needs a label".into()));
    f.fields[0].label = "Shoe".into();
    f.fields[0].key = "Shoe Size".into();
    assert!(check_form(&f).is_err_and(|e| e.starts_with("field “Shoe”: its key")));
    f.fields[0].key = "shoe".into();
    assert_eq!(check_form(&f), Ok(()));
    assert_eq!(f.name, Ask::No);
}

/// An agent's own mail choice is saved at once; the relay's answer
/// decides what shows, and the same choice again sends nothing.
#[test]
fn the_mail_choice_is_saved_on_the_agent() {
    let mut s = owner_state();
    let choose =
        |s: &mut State, m: MailPref| run(s, Action::Settings(SettingsAction::Mail(m)), 0.0);
    assert!(
        choose(&mut s, MailPref::All).is_empty(),
        "already the choice"
    );
    let fx = choose(&mut s, MailPref::Mine);
    assert!(fx.iter().any(|e| matches!(e,
        Effect::Fetch(Fetch::MailPref(a, MailPref::Mine)) if a == "a1")));
    assert_eq!(s.settings.mail_saving, Some(MailPref::Mine));
    let body = protocol::api::AgentPatch {
        mail: Some(MailPref::Mine),
        ..Default::default()
    };
    assert_eq!(
        serde_json::to_value(&body).expect("json"),
        serde_json::json!({"mail": "mine"})
    );
    run(
        &mut s,
        Action::Answered(Answer::MailPref(MailPref::Mine, Ok(()))),
        1.0,
    );
    assert_eq!(s.me.as_ref().map(|m| m.mail), Some(MailPref::Mine));
    assert_eq!(s.settings.mail_saving, None);
    assert!(s.settings.mail_note.as_ref().is_some_and(|n| !n.bad
        && n.text
            .starts_with("You get an email about conversations assigned to you")));
    choose(&mut s, MailPref::None);
    run(
        &mut s,
        Action::Answered(Answer::MailPref(MailPref::None, Err("forbidden".into()))),
        2.0,
    );
    assert_eq!(
        s.me.as_ref().map(|m| m.mail),
        Some(MailPref::Mine),
        "refused: unchanged"
    );
    assert!(s
        .settings
        .mail_note
        .as_ref()
        .is_some_and(|n| n.bad && n.text == "Not saved: forbidden"));
}

fn profile_of(user: Option<protocol::UserInfo>, verified: bool) -> protocol::api::VisitorProfile {
    protocol::api::VisitorProfile {
        id: id("v1"),
        site: id("demo"),
        first_seen: 0,
        last_seen: 0,
        visits: 1,
        user,
        verified,
        user_agent: None,
        online: false,
        referrer: None,
        channel: Default::default(),
        current: None,
        pages: Vec::new(),
        conversations: Vec::new(),
    }
}

fn ada() -> protocol::UserInfo {
    protocol::UserInfo {
        name: Some("Ada".into()),
        email: Some("ada@example.com".into()),
        attributes: [("phone".to_string(), serde_json::json!("+49 30 1234"))].into(),
        ..Default::default()
    }
}

fn contact(s: &mut State, a: ContactAction) -> Vec<Effect> {
    run(s, Action::Contact(a), 0.0)
}

/// The contact editor starts from the profile, refuses what a form would
/// (nothing sent), sends only what changed, and the relay's profile
/// replaces the shown one; a verified visitor's name and email are never
/// sent.
#[test]
fn a_visitors_contact_is_edited_checked_and_saved() {
    let mut s = state();
    run(&mut s, Action::Tick, 0.0);
    s.profile = Some((id("v1"), Rc::new(profile_of(Some(ada()), false))));
    contact(&mut s, ContactAction::Edit);
    let e = s.contact_edit.clone().expect("editing");
    assert_eq!(
        (e.name.as_str(), e.email.as_str(), e.phone.as_str()),
        ("Ada", "ada@example.com", "+49 30 1234")
    );
    // Nothing changed: the editor closes, nothing is sent.
    assert!(contact(&mut s, ContactAction::Save).is_empty());
    assert!(s.contact_edit.is_none());
    contact(&mut s, ContactAction::Edit);
    for (f, bad, why) in [
        (
            ContactField::Email,
            "ada at example",
            "email is not an address",
        ),
        (
            ContactField::Phone,
            "call me",
            "phone may hold digits, spaces and + - ( ) . x only",
        ),
    ] {
        contact(&mut s, ContactAction::Field(f, bad.into()));
        assert!(contact(&mut s, ContactAction::Save).is_empty(), "{bad}");
        let err = s.contact_edit.as_ref().and_then(|e| e.error.clone());
        assert_eq!(err, Some(format!("Not saved: {why}")));
        contact(&mut s, ContactAction::Edit);
    }
    contact(
        &mut s,
        ContactAction::Field(ContactField::Email, " ada@new.example ".into()),
    );
    contact(&mut s, ContactAction::Field(ContactField::Phone, "".into()));
    let fx = contact(&mut s, ContactAction::Save);
    let sent = fx.iter().find_map(|e| match e {
        Effect::Fetch(Fetch::PatchVisitor(site, v, p))
            if site.as_str() == "demo" && v.as_str() == "v1" =>
        {
            Some(p.clone())
        }
        _ => None,
    });
    let patch = sent.expect("a PATCH of the visitor");
    assert_eq!(
        serde_json::to_value(&patch).expect("json"),
        serde_json::json!({"email": "ada@new.example", "phone": ""}),
        "only what changed; an emptied phone clears it"
    );
    assert!(s.contact_edit.as_ref().is_some_and(|e| e.saving));
    // Refused by the relay: the reason shows, the editor stays.
    let refused = Answer::ContactSaved(id("v1"), Err("forbidden".into()));
    run(&mut s, Action::Answered(refused), 1.0);
    let e = s.contact_edit.clone().expect("still editing");
    assert_eq!(
        (e.saving, e.error.as_deref()),
        (false, Some("Not saved: forbidden"))
    );
    contact(&mut s, ContactAction::Save);
    let mut stored = ada();
    stored.email = Some("ada@new.example".into());
    stored.attributes.clear();
    let answer = Answer::ContactSaved(id("v1"), Ok(Box::new(profile_of(Some(stored), false))));
    run(&mut s, Action::Answered(answer), 2.0);
    assert!(s.contact_edit.is_none());
    let (name, email, phone) = super::contact::contact_of(&s.profile.as_ref().expect("profile").1);
    assert_eq!(
        (name.as_str(), email.as_str(), phone.as_str()),
        ("Ada", "ada@new.example", "")
    );

    // Verified: the phone alone.
    s.profile = Some((id("v1"), Rc::new(profile_of(Some(ada()), true))));
    contact(&mut s, ContactAction::Edit);
    contact(
        &mut s,
        ContactAction::Field(ContactField::Name, "Eve".into()),
    );
    contact(
        &mut s,
        ContactAction::Field(ContactField::Phone, "+1 555 0100".into()),
    );
    let fx = contact(&mut s, ContactAction::Save);
    assert!(fx
        .iter()
        .any(|e| matches!(e, Effect::Fetch(Fetch::PatchVisitor(_, _, p))
        if p.name.is_none() && p.email.is_none() && p.phone.as_deref() == Some("+1 555 0100"))));
}

/// A rating is an event of its own: the row shows the latest one (stars,
/// or 👍 / 👎 on a thumbs scale) and the preview stays the last message;
/// an auto-reply is no message either.
#[test]
fn ratings_and_auto_replies_are_no_messages() {
    use crate::components::message::{rating_short, rating_text};
    let mut s = state();
    let event = |seq: u64, body: protocol::EventBody| {
        Action::Frame(ServerFrame::Event(protocol::Event {
            conv: id("c1"),
            seq,
            ts: seq,
            body,
        }))
    };
    let visitor = protocol::Author {
        side: protocol::Side::Visitor,
        id: "v1".into(),
        name: None,
    };
    run(
        &mut s,
        event(
            1,
            protocol::EventBody::AutoReply {
                text: "We're closed".into(),
            },
        ),
        1.0,
    );
    for (seq, score) in [(2, 2), (3, 4)] {
        let body = protocol::EventBody::Rated {
            by: visitor.clone(),
            score,
            comment: Some("Quick answer".into()),
        };
        run(&mut s, event(seq, body), 2.0);
    }
    let c = &s.model.convs[&id::<ConvId>("c1")];
    assert_eq!(c.rating(), Some(4), "the latest rating");
    assert_eq!(c.summary.preview, None, "no message came");
    assert_eq!(c.unread, 0);
    assert_eq!(rating_short(4, RatingScale::Five), "★4");
    assert_eq!(rating_short(5, RatingScale::Thumbs), "👍");
    assert_eq!(rating_text(1, RatingScale::Thumbs).0, "👎");
    assert_eq!(
        rating_text(4, RatingScale::Five),
        ("★★★★☆".to_string(), "4 out of 5 stars".to_string())
    );
    assert_eq!(
        rating_text(9, RatingScale::Five).0,
        "★★★★★",
        "bad data is clamped"
    );
    assert_eq!(s.rating_scale(), RatingScale::Five);
}

fn account(s: &mut State, a: AccountAction) -> Vec<Effect> {
    run(s, Action::Account(a), 0.0)
}

/// Regression (the Add-agent form showed "Owner" and created an agent):
/// after an add the form keeps the role it shows, and sends what it
/// keeps.
#[test]
fn add_agent_creates_the_role_the_form_holds() {
    let mut s = owner_state();
    let field = |f: AgentField, v: &str| Action::Settings(SettingsAction::AgentField(f, v.into()));
    run(&mut s, field(AgentField::Role, "owner"), 0.0);
    let fx = run(&mut s, Action::Settings(SettingsAction::AddAgent), 0.0);
    assert!(fx.iter().any(|e| matches!(e,
        Effect::Fetch(Fetch::AddAgent(n)) if n.role == protocol::api::AgentRole::Owner)));
    let added = me(&["demo"]);
    run(&mut s, Action::Answered(Answer::AgentAdded(Ok(added))), 0.0);
    assert!(
        s.settings.new_agent.owner,
        "still the role the select shows"
    );
    let fx = run(&mut s, Action::Settings(SettingsAction::AddAgent), 0.0);
    assert!(fx.iter().any(|e| matches!(e,
        Effect::Fetch(Fetch::AddAgent(n)) if n.role == protocol::api::AgentRole::Owner)));
}

/// Names are checked with the relay's rule before anything is sent; a
/// saved name replaces the one on screen; a password whose confirmation
/// differs is not sent.
#[test]
fn names_and_passwords_are_checked_before_sending() {
    let mut s = owner_state();
    account(&mut s, AccountAction::Name("  ".into()));
    let fx = account(&mut s, AccountAction::SaveName);
    assert!(fx.is_empty());
    assert!(s.account.note.as_ref().is_some_and(|n| n.bad));
    account(&mut s, AccountAction::Name(" Ann Lee ".into()));
    let fx = account(&mut s, AccountAction::SaveName);
    assert!(fx.iter().any(|e| matches!(e,
        Effect::Fetch(Fetch::RenameMe(who, n)) if who == "a1" && n == "Ann Lee")));
    let mut renamed = me(&["demo"]);
    renamed.name = "Ann Lee".into();
    run(&mut s, Action::Answered(Answer::MeSaved(Ok(renamed))), 0.0);
    assert_eq!(s.me.as_ref().map(|m| m.name.as_str()), Some("Ann Lee"));

    account(&mut s, AccountAction::PwCurrent("old-password".into()));
    account(&mut s, AccountAction::PwNew("new-password".into()));
    account(&mut s, AccountAction::PwConfirm("new-passwort".into()));
    assert!(account(&mut s, AccountAction::SavePassword).is_empty());
    assert!(s.account.password_note.as_ref().is_some_and(|n| n.bad));
    account(&mut s, AccountAction::PwConfirm("new-password".into()));
    let fx = account(&mut s, AccountAction::SavePassword);
    assert!(fx.iter().any(|e| matches!(e,
        Effect::Fetch(Fetch::Password(p)) if p.current == "old-password" && p.new == "new-password")));
    run(
        &mut s,
        Action::Answered(Answer::PasswordChanged(Ok(()))),
        0.0,
    );
    assert!(s.account.pw_current.is_empty() && s.account.pw_new.is_empty());
}

/// The first sign-in question: asked while `me.welcome`, answered with
/// both names, closed by the relay's answer (which clears `welcome`).
#[test]
fn the_first_sign_in_question_is_answered_by_saving() {
    let mut s = owner_state();
    let mut asked = me(&["demo"]);
    asked.welcome = true;
    asked.name = "Demo Agent".into();
    run(&mut s, Action::Answered(Answer::Me(Ok(asked))), 0.0);
    assert_eq!(s.account.welcome_name, "Demo Agent");
    account(&mut s, AccountAction::WelcomeSite(String::new()));
    assert!(account(&mut s, AccountAction::SaveWelcome)
        .iter()
        .all(|e| !matches!(e, Effect::Fetch(Fetch::Welcome { .. }))));
    assert!(s.account.welcome_error.is_some());
    account(&mut s, AccountAction::WelcomeName("Olivia".into()));
    account(&mut s, AccountAction::WelcomeSite("Acme".into()));
    let fx = account(&mut s, AccountAction::SaveWelcome);
    assert!(fx.iter().any(|e| matches!(e,
        Effect::Fetch(Fetch::Welcome { name, site_name, .. }) if name == "Olivia" && site_name == "Acme")));
    let mut done = me(&["demo"]);
    done.name = "Olivia".into();
    let site: protocol::api::SiteView = serde_json::from_value(serde_json::json!({
        "id": "demo", "name": "Acme", "created": 0, "allowed_origins": [], "widget": WidgetSettings::default(),
        "routing": protocol::api::Routing::default(),
    }))
    .expect("site view");
    run(
        &mut s,
        Action::Answered(Answer::Welcomed(Ok((done, Box::new(site))))),
        0.0,
    );
    assert!(!s.me.as_ref().is_some_and(|m| m.welcome), "closed");
    assert!(s.sites.iter().any(|x| x.name == "Acme"));
}
