//! The console's one stateful component: session, connection policy
//! (hello, subscribe, resend, backoff, heartbeats), and the dispatch of
//! every frame into the [`Model`]. Views live in `app/view.rs` and
//! `app/settings.rs`; row components that re-render only when their own
//! data changes live in `app/rows.rs`.

mod rows;
mod settings;
mod view;

use crate::api::{self, AgentView, Api, Canned, EventsPage, LoginReply, SiteView, Teammate};
use crate::conn::{Socket, SocketEvent};
use crate::model::{Effect, Model, Pending};
use crate::notify::{self, Chime};
use crate::storage;
use gloo_timers::callback::{Interval, Timeout};
use protocol::limits::MAX_TEXT_BYTES;
use protocol::{ConvId, ConvSummary, ServerFrame, SiteId, VisitorId};
use serde_json::{json, Value};
use std::collections::HashSet;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use yew::prelude::*;

pub use settings::SettingsState;

/// Visitors per page of the live list.
pub const VISITORS_PER_PAGE: usize = 50;
/// History fetched per page when opening or scrolling back.
const HISTORY_PAGE: u32 = 50;
/// Presence storms are applied at once but drawn at most this often (ms).
const RENDER_BATCH_MS: u32 = 60;
/// Reconnect backoff: first delay and cap (ms), with full jitter.
const BACKOFF_FIRST_MS: f64 = 500.0;
const BACKOFF_MAX_MS: f64 = 15_000.0;
/// A typing notice is refreshed at most this often, and stops after
/// this long without a keystroke (ms).
const TYPING_REFRESH_MS: f64 = 3_000.0;
const TYPING_IDLE_MS: u32 = 4_000;
/// A visitor's typing indicator hides after this long without a typing
/// notice (the widget repeats "on" while the visitor keeps typing; a
/// closed tab never sends "off").
const VISITOR_TYPING_MS: u32 = 8_000;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Route {
    Inbox,
    Visitors,
    Settings,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Filter {
    Unassigned,
    Mine,
    Open,
    Closed,
}

#[derive(Clone, PartialEq, Debug)]
pub enum ConnState {
    /// No session yet (login screen).
    Idle,
    Connecting,
    Online,
    /// Waiting to retry at this time (ms since epoch).
    Retrying {
        at: f64,
        attempt: u32,
    },
    /// The browser says there is no network.
    Offline,
}

pub enum Msg {
    Login {
        email: String,
        password: String,
    },
    LoggedIn(api::ApiResult<LoginReply>),
    Me(api::ApiResult<AgentView>),
    Logout,
    Sites(api::ApiResult<Vec<SiteView>>),
    SwitchSite(String),
    Socket(SocketEvent),
    Reconnect,
    Heartbeat,
    NetOnline,
    NetOffline,
    Visibility,
    Nav(Route),
    SetFilter(Filter),
    OpenConv(ConvId),
    History(ConvId, api::ApiResult<EventsPage>),
    LoadEarlier,
    Convs(api::ApiResult<api::ConvPage>),
    ComposerInput(String),
    ComposerKey(KeyboardEvent),
    SendReply,
    /// Files picked, dropped or pasted into the open conversation.
    AttachFiles(Vec<web_sys::File>),
    /// An upload finished: (cid, conversation, result).
    Uploaded(String, ConvId, api::ApiResult<protocol::Attachment>),
    PickCanned(String),
    SelectVisitor(VisitorId),
    CloseVisitor,
    VisitorPage(usize),
    Profile(VisitorId, api::ApiResult<Value>),
    InviteInput(String),
    Invite,
    SetAway(bool),
    ConvAction(&'static str, Option<String>),
    ConvActionDone(api::ApiResult<ConvSummary>),
    Team(api::ApiResult<Vec<Teammate>>),
    CannedList(api::ApiResult<Vec<Canned>>),
    EnableNotifications,
    Gesture,
    Flush,
    Tick,
    DismissToast,
    TypingIdle,
    /// A visitor typing notice may have gone stale.
    TypingExpire,
    Settings(settings::SettingsMsg),
}

pub struct App {
    api: Option<Api>,
    me: Option<AgentView>,
    sites: Vec<SiteView>,
    route: Route,
    model: Model,
    socket: Option<Socket>,
    conn: ConnState,
    attempt: u32,
    retry: Option<Timeout>,
    heartbeat: Option<Interval>,
    heartbeat_ms: u64,
    last_rx: f64,
    subscribed: bool,
    away: bool,
    filter: Filter,
    selected_visitor: Option<VisitorId>,
    visitor_page: usize,
    profile: Option<(VisitorId, Value)>,
    team: Vec<Teammate>,
    canned: Vec<Canned>,
    composer: String,
    /// Files being uploaded: (cid, conversation, name).
    uploads: Vec<(String, ConvId, String)>,
    invite_text: String,
    typing_sent: Option<(ConvId, f64)>,
    typing_idle: Option<Timeout>,
    /// When each conversation's visitor last sent a typing notice.
    visitor_typing: std::collections::HashMap<ConvId, f64>,
    typing_expire: Option<Timeout>,
    chime: Chime,
    toast: Option<String>,
    login_error: Option<String>,
    login_busy: bool,
    loading: HashSet<ConvId>,
    render_timer: Option<Timeout>,
    now: f64,
    settings: SettingsState,
    /// Created once, so rows see equal props and skip re-rendering.
    on_select_visitor: Callback<VisitorId>,
    on_open_conv: Callback<ConvId>,
    _tick: Interval,
    _listeners: Vec<Listener>,
}

/// A window/document listener kept alive as long as the app.
type Listener = (web_sys::EventTarget, &'static str, Closure<dyn FnMut()>);

pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// A fresh client id: time + randomness, unique per sender.
fn new_cid() -> String {
    let t = now_ms() as u64;
    let r = (js_sys::Math::random() * 1e12) as u64;
    format!("c{t:x}{r:x}")
}

fn route_from_hash() -> Route {
    let hash = web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default();
    match hash.as_str() {
        "#/visitors" => Route::Visitors,
        "#/settings" => Route::Settings,
        _ => Route::Inbox,
    }
}

fn set_hash(route: Route) {
    let h = match route {
        Route::Inbox => "#/inbox",
        Route::Visitors => "#/visitors",
        Route::Settings => "#/settings",
    };
    if let Some(w) = web_sys::window() {
        let _ = w.location().set_hash(h);
    }
}

impl Component for App {
    type Message = Msg;
    type Properties = ();

    fn create(ctx: &Context<Self>) -> Self {
        let link = ctx.link().clone();
        let tick = Interval::new(30_000, move || link.send_message(Msg::Tick));
        let mut listeners = Vec::new();
        if let Some(w) = web_sys::window() {
            let mut listen = |target: web_sys::EventTarget, ev: &'static str, msg: fn() -> Msg| {
                let link = ctx.link().clone();
                let f = Closure::<dyn FnMut()>::new(move || link.send_message(msg()));
                let _ = target.add_event_listener_with_callback(ev, f.as_ref().unchecked_ref());
                listeners.push((target, ev, f));
            };
            listen(w.clone().into(), "online", || Msg::NetOnline);
            listen(w.clone().into(), "offline", || Msg::NetOffline);
            listen(w.clone().into(), "focus", || Msg::Visibility);
            listen(w.clone().into(), "pointerdown", || Msg::Gesture);
            listen(w.clone().into(), "keydown", || Msg::Gesture);
            if let Some(d) = w.document() {
                listen(d.into(), "visibilitychange", || Msg::Visibility);
            }
        }
        let model = Model {
            outbox: storage::load_outbox(),
            ..Default::default()
        };
        let api = storage::token().map(|token| Api { token });
        if let Some(api) = api.clone() {
            ctx.link()
                .send_future(async move { Msg::Me(api.me().await) });
        }
        App {
            conn: if api.is_some() {
                ConnState::Connecting
            } else {
                ConnState::Idle
            },
            api,
            me: None,
            sites: Vec::new(),
            route: route_from_hash(),
            model,
            socket: None,
            attempt: 0,
            retry: None,
            heartbeat: None,
            heartbeat_ms: protocol::limits::HEARTBEAT_INTERVAL_MS,
            last_rx: now_ms(),
            subscribed: false,
            away: false,
            filter: Filter::Open,
            selected_visitor: None,
            visitor_page: 0,
            profile: None,
            team: Vec::new(),
            canned: Vec::new(),
            composer: String::new(),
            uploads: Vec::new(),
            invite_text: String::new(),
            typing_sent: None,
            typing_idle: None,
            visitor_typing: Default::default(),
            typing_expire: None,
            chime: Chime::default(),
            toast: None,
            login_error: None,
            login_busy: false,
            loading: HashSet::new(),
            render_timer: None,
            now: now_ms(),
            settings: SettingsState::default(),
            on_select_visitor: ctx.link().callback(Msg::SelectVisitor),
            on_open_conv: ctx.link().callback(Msg::OpenConv),
            _tick: tick,
            _listeners: listeners,
        }
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Msg) -> bool {
        match msg {
            Msg::Login { email, password } => {
                self.login_busy = true;
                self.login_error = None;
                ctx.link()
                    .send_future(async move { Msg::LoggedIn(api::login(&email, &password).await) });
                true
            }
            Msg::LoggedIn(Ok(r)) => {
                self.login_busy = false;
                storage::set_token(Some(&r.token));
                self.api = Some(Api { token: r.token });
                self.signed_in(ctx, r.agent);
                true
            }
            Msg::LoggedIn(Err(e)) => {
                self.login_busy = false;
                self.login_error = Some(e.trim_start_matches("unauthorized: ").to_string());
                true
            }
            Msg::Me(Ok(me)) => {
                self.signed_in(ctx, me);
                true
            }
            Msg::Me(Err(e)) => {
                if api::is_unauthorized(&e) {
                    self.signed_out();
                } else {
                    // The relay is unreachable: try again like a socket would.
                    self.toast = Some(format!("Cannot reach the relay: {e}"));
                    if let Some(api) = self.api.clone() {
                        let link = ctx.link().clone();
                        self.retry = Some(Timeout::new(2_000, move || {
                            link.send_future(async move { Msg::Me(api.me().await) })
                        }));
                    }
                }
                true
            }
            Msg::Logout => {
                if let Some(api) = self.api.clone() {
                    ctx.link().send_future(async move {
                        let _ = api.logout().await;
                        Msg::Flush
                    });
                }
                self.signed_out();
                true
            }
            Msg::Sites(Ok(sites)) => {
                self.sites = sites;
                true
            }
            Msg::Sites(Err(_)) => false,
            Msg::SwitchSite(site) => {
                let Ok(id) = SiteId::new(site) else {
                    return false;
                };
                storage::set_site(id.as_str());
                self.model.reset_site(id);
                self.selected_visitor = None;
                self.profile = None;
                self.settings = SettingsState::default();
                self.load_site_data(ctx);
                if self.conn == ConnState::Online {
                    self.subscribe();
                }
                if self.route == Route::Settings {
                    settings::load(self, ctx);
                }
                true
            }
            Msg::Socket(ev) => self.on_socket(ctx, ev),
            Msg::Reconnect => {
                self.connect(ctx);
                true
            }
            Msg::Heartbeat => {
                let limit = (self.heartbeat_ms * 2 + 5_000) as f64;
                if self.conn == ConnState::Online && now_ms() - self.last_rx > limit {
                    // Silent too long: the socket is dead even if the browser
                    // has not noticed.
                    self.connection_lost(ctx);
                    return true;
                }
                self.send(&json!({"type": "ping"}));
                false
            }
            Msg::NetOnline => {
                if matches!(self.conn, ConnState::Offline | ConnState::Retrying { .. }) {
                    self.attempt = 0;
                    self.connect(ctx);
                }
                true
            }
            Msg::NetOffline => {
                if self.api.is_some() && self.me.is_some() {
                    self.drop_socket();
                    self.conn = ConnState::Offline;
                }
                true
            }
            Msg::Visibility => {
                if matches!(self.conn, ConnState::Retrying { .. }) {
                    self.connect(ctx);
                }
                self.mark_read();
                notify::set_title(self.model.total_unread());
                true
            }
            Msg::Nav(route) => {
                self.route = route;
                set_hash(route);
                if route == Route::Settings {
                    settings::load(self, ctx);
                }
                if route != Route::Inbox {
                    self.model.viewing = None;
                }
                true
            }
            Msg::SetFilter(f) => {
                self.filter = f;
                if f == Filter::Closed {
                    self.fetch_convs(ctx, "closed");
                }
                true
            }
            Msg::OpenConv(conv) => {
                self.open_conv(ctx, conv);
                true
            }
            Msg::History(conv, r) => {
                self.loading.remove(&conv);
                match r {
                    Ok(page) => {
                        self.model.add_history(&conv, page.events, page.more);
                        // Anything newer than the page that the socket has
                        // not brought yet: ask for it.
                        self.sync_gaps(&conv);
                        self.mark_read();
                        notify::set_title(self.model.total_unread());
                    }
                    Err(e) => self.toast = Some(e),
                }
                true
            }
            Msg::LoadEarlier => {
                if let (Some(conv), Some(api)) = (self.model.viewing.clone(), self.api.clone()) {
                    let before = self
                        .model
                        .convs
                        .get(&conv)
                        .and_then(|c| c.events.keys().next().copied())
                        .unwrap_or(1);
                    ctx.link().send_future(async move {
                        let r = api.events_before(conv.as_str(), before, HISTORY_PAGE).await;
                        Msg::History(conv, r)
                    });
                }
                false
            }
            Msg::Convs(Ok(page)) => {
                for s in page.convs {
                    self.model.upsert_summary(s);
                }
                self.load_unread(ctx);
                true
            }
            Msg::Convs(Err(e)) => {
                self.toast = Some(e);
                true
            }
            Msg::ComposerInput(text) => {
                self.composer = text;
                self.typing(ctx);
                true
            }
            Msg::ComposerKey(e) => {
                if e.key() == "Enter" && !e.shift_key() && !e.is_composing() {
                    e.prevent_default();
                    if let Some(c) = self.canned_matches().first() {
                        let text = c.text.clone();
                        self.composer = text;
                        return true;
                    }
                    ctx.link().send_message(Msg::SendReply);
                }
                false
            }
            Msg::PickCanned(text) => {
                self.composer = text;
                true
            }
            Msg::SendReply => {
                let text = self.composer.trim().to_string();
                let Some(conv) = self.model.viewing.clone() else {
                    return false;
                };
                if text.is_empty() {
                    return false;
                }
                if text.len() > MAX_TEXT_BYTES {
                    self.toast = Some(format!("A message holds at most {MAX_TEXT_BYTES} bytes."));
                    return true;
                }
                self.composer.clear();
                self.stop_typing();
                self.queue(Pending {
                    cid: new_cid(),
                    text,
                    conv: Some(conv),
                    invite: None,
                    failed: None,
                    file: None,
                });
                true
            }
            Msg::AttachFiles(files) => {
                let (Some(conv), Some(api), Some(site)) = (
                    self.model.viewing.clone(),
                    self.api.clone(),
                    self.model.site.clone(),
                ) else {
                    return false;
                };
                for file in files {
                    let name = file.name();
                    if file.size() > protocol::limits::MAX_FILE_BYTES as f64 {
                        self.toast = Some(format!(
                            "{name} is over {} MB; it was not sent.",
                            protocol::limits::MAX_FILE_BYTES / (1024 * 1024)
                        ));
                        continue;
                    }
                    let cid = new_cid();
                    self.uploads.push((cid.clone(), conv.clone(), name));
                    let (api, site, conv) = (api.clone(), site.clone(), conv.clone());
                    ctx.link().send_future(async move {
                        let r = api.upload(site.as_str(), file).await;
                        Msg::Uploaded(cid, conv, r)
                    });
                }
                true
            }
            Msg::Uploaded(cid, conv, r) => {
                let name = self
                    .uploads
                    .iter()
                    .find(|u| u.0 == cid)
                    .map(|u| u.2.clone())
                    .unwrap_or_default();
                self.uploads.retain(|u| u.0 != cid);
                match r {
                    Ok(file) => self.queue(Pending {
                        cid,
                        text: String::new(),
                        conv: Some(conv),
                        invite: None,
                        failed: None,
                        file: Some(file),
                    }),
                    Err(e) => self.toast = Some(format!("{name} was not sent: {e}")),
                }
                true
            }
            Msg::SelectVisitor(v) => {
                self.selected_visitor = Some(v.clone());
                self.invite_text.clear();
                if let (Some(api), Some(site)) = (self.api.clone(), self.model.site.clone()) {
                    ctx.link().send_future(async move {
                        let r = api.visitor(site.as_str(), v.as_str()).await;
                        Msg::Profile(v, r)
                    });
                }
                true
            }
            Msg::CloseVisitor => {
                self.selected_visitor = None;
                true
            }
            Msg::VisitorPage(p) => {
                self.visitor_page = p;
                true
            }
            Msg::Profile(v, Ok(p)) => {
                self.profile = Some((v, p));
                true
            }
            Msg::Profile(_, Err(_)) => false,
            Msg::InviteInput(t) => {
                self.invite_text = t;
                false
            }
            Msg::Invite => {
                let text = self.invite_text.trim().to_string();
                let (Some(site), Some(visitor)) =
                    (self.model.site.clone(), self.selected_visitor.clone())
                else {
                    return false;
                };
                if text.is_empty() || text.len() > MAX_TEXT_BYTES {
                    return false;
                }
                self.invite_text.clear();
                self.queue(Pending {
                    cid: new_cid(),
                    text,
                    conv: None,
                    invite: Some((site, visitor)),
                    failed: None,
                    file: None,
                });
                true
            }
            Msg::SetAway(away) => {
                self.away = away;
                storage::set_away(away);
                self.send(&json!({"type": "status", "away": away}));
                true
            }
            Msg::ConvAction(action, agent) => {
                let (Some(api), Some(conv)) = (self.api.clone(), self.model.viewing.clone()) else {
                    return false;
                };
                let body = match action {
                    "assign" => json!({ "agent": agent }),
                    "transfer" => json!({ "agent": agent.unwrap_or_default() }),
                    _ => json!({}),
                };
                ctx.link().send_future(async move {
                    Msg::ConvActionDone(api.conv_action(conv.as_str(), action, &body).await)
                });
                false
            }
            Msg::ConvActionDone(Ok(s)) => {
                self.model.upsert_summary(s);
                true
            }
            Msg::ConvActionDone(Err(e)) => {
                self.toast = Some(e);
                true
            }
            Msg::Team(Ok(t)) => {
                self.team = t;
                true
            }
            Msg::CannedList(Ok(c)) => {
                self.canned = c;
                true
            }
            Msg::Team(Err(_)) | Msg::CannedList(Err(_)) => false,
            Msg::EnableNotifications => {
                self.chime.unlock();
                notify::ask_permission();
                true
            }
            Msg::Gesture => {
                self.chime.unlock();
                false
            }
            Msg::Flush => {
                self.render_timer = None;
                notify::set_title(self.model.total_unread());
                true
            }
            Msg::Tick => {
                self.now = now_ms();
                true
            }
            Msg::DismissToast => {
                self.toast = None;
                true
            }
            Msg::TypingIdle => {
                self.stop_typing();
                false
            }
            Msg::TypingExpire => {
                self.typing_expire = None;
                let now = now_ms();
                let stale: Vec<ConvId> = self
                    .visitor_typing
                    .iter()
                    .filter(|(_, at)| now - **at >= VISITOR_TYPING_MS as f64 - 50.0)
                    .map(|(c, _)| c.clone())
                    .collect();
                for c in &stale {
                    self.visitor_typing.remove(c);
                    if let Some(conv) = self.model.convs.get_mut(c) {
                        conv.visitor_typing = false;
                        conv.draft = None;
                    }
                }
                if !self.visitor_typing.is_empty() {
                    let link = ctx.link().clone();
                    self.typing_expire = Some(Timeout::new(1_000, move || {
                        link.send_message(Msg::TypingExpire)
                    }));
                }
                !stale.is_empty()
            }
            Msg::Settings(m) => settings::update(self, ctx, m),
        }
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        view::app(self, ctx)
    }
}

impl App {
    fn signed_in(&mut self, ctx: &Context<Self>, me: AgentView) {
        let site = storage::site()
            .filter(|s| me.sites.contains(s))
            .or_else(|| me.sites.first().cloned());
        self.away = storage::away();
        self.me = Some(me);
        if let Some(site) = site.and_then(|s| SiteId::new(s).ok()) {
            self.model.reset_site(site);
        }
        if let Some(api) = self.api.clone() {
            ctx.link()
                .send_future(async move { Msg::Sites(api.sites().await) });
        }
        self.load_site_data(ctx);
        if self.route == Route::Settings {
            settings::load(self, ctx);
        }
        self.connect(ctx);
    }

    fn signed_out(&mut self) {
        storage::set_token(None);
        self.drop_socket();
        self.retry = None;
        self.api = None;
        self.me = None;
        self.conn = ConnState::Idle;
        self.model = Model {
            outbox: storage::load_outbox(),
            ..Default::default()
        };
    }

    /// Team, canned replies and every open conversation of the site.
    fn load_site_data(&mut self, ctx: &Context<Self>) {
        let (Some(api), Some(site)) = (self.api.clone(), self.model.site.clone()) else {
            return;
        };
        let (a, s) = (api.clone(), site.clone());
        ctx.link()
            .send_future(async move { Msg::Team(a.team(s.as_str()).await) });
        let (a, s) = (api, site);
        ctx.link()
            .send_future(async move { Msg::CannedList(a.canned(s.as_str()).await) });
        self.fetch_convs(ctx, "open");
    }

    fn fetch_convs(&self, ctx: &Context<Self>, status: &'static str) {
        let (Some(api), Some(site)) = (self.api.clone(), self.model.site.clone()) else {
            return;
        };
        ctx.link()
            .send_future(async move { Msg::Convs(api.convs(site.as_str(), status).await) });
    }

    // --- connection -----------------------------------------------------

    fn connect(&mut self, ctx: &Context<Self>) {
        if self.api.is_none() || self.me.is_none() {
            return;
        }
        self.drop_socket();
        self.retry = None;
        let link = ctx.link().clone();
        match Socket::open(Callback::from(move |e| link.send_message(Msg::Socket(e)))) {
            Some(s) => {
                self.socket = Some(s);
                self.conn = ConnState::Connecting;
            }
            None => self.schedule_retry(ctx),
        }
    }

    fn drop_socket(&mut self) {
        self.socket = None;
        self.heartbeat = None;
        self.subscribed = false;
    }

    fn connection_lost(&mut self, ctx: &Context<Self>) {
        self.drop_socket();
        let offline = web_sys::window().is_some_and(|w| !w.navigator().on_line());
        if offline {
            self.conn = ConnState::Offline;
        } else {
            self.schedule_retry(ctx);
        }
    }

    fn schedule_retry(&mut self, ctx: &Context<Self>) {
        let cap = (BACKOFF_FIRST_MS * 2f64.powi(self.attempt.min(16) as i32)).min(BACKOFF_MAX_MS);
        let delay = cap * (0.5 + js_sys::Math::random() * 0.5);
        self.attempt += 1;
        self.conn = ConnState::Retrying {
            at: now_ms() + delay,
            attempt: self.attempt,
        };
        let link = ctx.link().clone();
        self.retry = Some(Timeout::new(delay as u32, move || {
            link.send_message(Msg::Reconnect)
        }));
    }

    fn send(&self, v: &Value) -> bool {
        match &self.socket {
            Some(s) if self.conn == ConnState::Online => s.send(&v.to_string()),
            _ => false,
        }
    }

    fn subscribe(&mut self) {
        if let Some(site) = self.model.site.clone() {
            self.send(&json!({"type": "subscribe", "site": site}));
            self.subscribed = true;
        }
    }

    fn on_socket(&mut self, ctx: &Context<Self>, ev: SocketEvent) -> bool {
        match ev {
            SocketEvent::Open => {
                let token = self.api.as_ref().map(|a| a.token.clone());
                if let Some(s) = &self.socket {
                    s.send(
                        &json!({"type": "hello", "v": protocol::PROTOCOL_VERSION,
                                "role": "agent", "token": token})
                        .to_string(),
                    );
                }
                self.last_rx = now_ms();
                false
            }
            SocketEvent::Closed { code } => {
                if self.socket.is_some() {
                    tracing_log(&format!("socket closed ({code}); reconnecting"));
                    self.connection_lost(ctx);
                }
                true
            }
            SocketEvent::Text(t) => {
                self.last_rx = now_ms();
                let frame: ServerFrame = match serde_json::from_str(&t) {
                    Ok(f) => f,
                    Err(_) => return false,
                };
                self.on_frame(ctx, frame)
            }
        }
    }

    fn on_frame(&mut self, ctx: &Context<Self>, frame: ServerFrame) -> bool {
        match frame {
            ServerFrame::Welcome(w) => {
                self.conn = ConnState::Online;
                self.attempt = 0;
                self.heartbeat_ms = w.heartbeat_ms.max(1_000);
                let link = ctx.link().clone();
                self.heartbeat = Some(Interval::new(self.heartbeat_ms as u32, move || {
                    link.send_message(Msg::Heartbeat)
                }));
                if self.away {
                    self.send(&json!({"type": "status", "away": true}));
                }
                self.subscribe();
                // Unacked replies and invitations go out again, same cids:
                // the relay stores each once whatever happened before.
                for p in self.model.outbox.iter().filter(|p| p.failed.is_none()) {
                    self.send(&p.frame());
                }
                return true;
            }
            ServerFrame::Error { code, .. }
                if code == protocol::ErrorCode::BadToken && self.conn != ConnState::Online =>
            {
                self.signed_out();
                self.login_error = Some("Your session has ended; please sign in again.".into());
                return true;
            }
            ServerFrame::Ping => {
                self.send(&json!({"type": "pong"}));
                return false;
            }
            ServerFrame::Pong => return false,
            _ => {}
        }
        if let ServerFrame::Typing {
            conv,
            side: protocol::Side::Visitor,
            on,
            ..
        } = &frame
        {
            if *on {
                self.visitor_typing.insert(conv.clone(), now_ms());
                if self.typing_expire.is_none() {
                    let link = ctx.link().clone();
                    self.typing_expire = Some(Timeout::new(VISITOR_TYPING_MS, move || {
                        link.send_message(Msg::TypingExpire)
                    }));
                }
            } else {
                self.visitor_typing.remove(conv);
            }
        }
        let snapshot = matches!(frame, ServerFrame::Snapshot { .. });
        let ack = matches!(
            frame,
            ServerFrame::Ack { .. } | ServerFrame::Error { cid: Some(_), .. }
        );
        let effects = self.model.apply(frame, notify::tab_visible());
        if ack {
            storage::save_outbox(&self.model.outbox);
        }
        for fx in effects {
            match fx {
                Effect::VisitorMessage { conv, who, text } => {
                    self.chime.play();
                    notify::desktop(&format!("{who} wrote"), &text, conv.as_str());
                }
                Effect::Invited { conv } => {
                    self.route = Route::Inbox;
                    set_hash(Route::Inbox);
                    self.open_conv(ctx, conv);
                }
                Effect::SyncMore { conv, after } => {
                    self.send(&json!({"type": "sync", "conv": conv, "after": after}));
                }
                Effect::Error(e) => self.toast = Some(e),
            }
        }
        if snapshot {
            // Back after a disconnect: whatever the open conversations
            // missed is replayed after what they hold.
            let convs: Vec<ConvId> = self.model.convs.keys().cloned().collect();
            for c in convs {
                self.sync_gaps(&c);
            }
        }
        self.load_unread(ctx);
        self.mark_read();
        self.schedule_render(ctx);
        false
    }

    /// Draw soon rather than per frame: bursts of presence or replayed
    /// events become one render.
    fn schedule_render(&mut self, ctx: &Context<Self>) {
        if self.render_timer.is_none() {
            let link = ctx.link().clone();
            self.render_timer = Some(Timeout::new(RENDER_BATCH_MS, move || {
                link.send_message(Msg::Flush)
            }));
        }
    }

    /// Asks the relay for what a loaded conversation lacks: the events
    /// between its contiguous prefix and the relay's last seq.
    fn sync_gaps(&self, conv: &ConvId) {
        let Some(c) = self.model.convs.get(conv) else {
            return;
        };
        if !c.loaded {
            return;
        }
        let have = c.contiguous();
        if have < c.summary.last_seq {
            self.send(&json!({"type": "sync", "conv": conv, "after": have}));
        }
    }

    /// Fetches history for open conversations with unread messages, so
    /// their counts are exact.
    fn load_unread(&mut self, ctx: &Context<Self>) {
        let Some(api) = self.api.clone() else { return };
        for conv in self.model.to_load() {
            if !self.loading.insert(conv.clone()) {
                continue;
            }
            let before = self
                .model
                .convs
                .get(&conv)
                .map(|c| c.last_seq() + 1)
                .unwrap_or(1);
            let api = api.clone();
            ctx.link().send_future(async move {
                let r = api.events_before(conv.as_str(), before, HISTORY_PAGE).await;
                Msg::History(conv, r)
            });
        }
    }

    fn open_conv(&mut self, ctx: &Context<Self>, conv: ConvId) {
        self.route = Route::Inbox;
        if self.model.viewing.as_ref() != Some(&conv) {
            self.composer.clear();
            self.stop_typing();
        }
        self.model.viewing = Some(conv.clone());
        let Some(c) = self.model.convs.get(&conv) else {
            return;
        };
        let visitor = c.summary.visitor.clone();
        if !c.loaded && self.loading.insert(conv.clone()) {
            if let Some(api) = self.api.clone() {
                let before = c.last_seq() + 1;
                let conv = conv.clone();
                ctx.link().send_future(async move {
                    let r = api.events_before(conv.as_str(), before, HISTORY_PAGE).await;
                    Msg::History(conv, r)
                });
            }
        }
        if self.profile.as_ref().map(|p| &p.0) != Some(&visitor) {
            self.profile = None;
            if let (Some(api), Some(site)) = (self.api.clone(), self.model.site.clone()) {
                ctx.link().send_future(async move {
                    let r = api.visitor(site.as_str(), visitor.as_str()).await;
                    Msg::Profile(visitor, r)
                });
            }
        }
        self.mark_read();
        notify::set_title(self.model.total_unread());
    }

    /// The open conversation is read up to its last event, if the agent
    /// can see it.
    fn mark_read(&mut self) {
        if self.route != Route::Inbox || !notify::tab_visible() {
            return;
        }
        let Some(conv) = self.model.viewing.clone() else {
            return;
        };
        let Some(c) = self.model.convs.get_mut(&conv) else {
            return;
        };
        c.unread = 0;
        let last = c.events.keys().next_back().copied().unwrap_or(0);
        if last > c.summary.agent_read && self.conn == ConnState::Online {
            c.summary.agent_read = last;
            self.send(&json!({"type": "read", "conv": conv, "seq": last}));
        }
    }

    /// Adds to the outbox (saved) and sends now if connected.
    fn queue(&mut self, p: Pending) {
        self.send(&p.frame());
        self.model.outbox.push(p);
        storage::save_outbox(&self.model.outbox);
    }

    fn typing(&mut self, ctx: &Context<Self>) {
        let Some(conv) = self.model.viewing.clone() else {
            return;
        };
        if self.composer.trim().is_empty() || self.composer.starts_with('/') {
            self.stop_typing();
            return;
        }
        let fresh = matches!(&self.typing_sent, Some((c, at)) if *c == conv && now_ms() - at < TYPING_REFRESH_MS);
        if !fresh {
            self.send(&json!({"type": "typing", "conv": conv, "on": true}));
            self.typing_sent = Some((conv, now_ms()));
        }
        let link = ctx.link().clone();
        self.typing_idle = Some(Timeout::new(TYPING_IDLE_MS, move || {
            link.send_message(Msg::TypingIdle)
        }));
    }

    fn stop_typing(&mut self) {
        self.typing_idle = None;
        if let Some((conv, _)) = self.typing_sent.take() {
            self.send(&json!({"type": "typing", "conv": conv, "on": false}));
        }
    }

    /// Canned replies matching a composer that starts with `/`.
    fn canned_matches(&self) -> Vec<&Canned> {
        let Some(q) = self.composer.strip_prefix('/') else {
            return Vec::new();
        };
        if q.contains('\n') {
            return Vec::new();
        }
        let q = q.to_lowercase();
        self.canned
            .iter()
            .filter(|c| {
                c.shortcut.to_lowercase().contains(&q) || c.text.to_lowercase().contains(&q)
            })
            .take(8)
            .collect()
    }
}

fn tracing_log(s: &str) {
    web_sys::console::log_1(&s.into());
}
