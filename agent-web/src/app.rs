//! The console's root component: the [`Route`] (`#/inbox`, `#/visitors`,
//! `#/reports`, `#/settings`) and the page switch, the shell around the pages (top bar,
//! connection banner, toast), and the runner of the reducer's effects: the
//! live connection, API calls, localStorage, timers, notifications and Web
//! Push. `#/inbox/<site>/<conv>` opens one conversation ([`ConvLink`]).
//! It also owns the console's language: the agent's saved choice, else the
//! browser's, switched from the top bar's picker.

use crate::components::{welcome_dialog, Banner, Toast, Topbar};
use crate::i18n::{self, tr, trf, Lang};
use crate::notify::{self, Chime};
use crate::pages;
use crate::services::api::{self, Fetch};
use crate::services::conn::{now_ms, Conn, ConnEvent, ConnMsg};
use crate::services::push;
use crate::state::{Action, ConvLink, Effect, Env, PushAction, PushOp, Saved, State, ME_RETRY_MS};
use crate::storage;
use gloo_timers::callback::{Interval, Timeout};
use protocol::{ConvId, VisitorId};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::NotificationPermission;
use yew::prelude::*;

/// Presence storms are applied at once but drawn at most this often (ms).
const RENDER_BATCH_MS: u32 = 60;
/// The clock of "time on site" and "Reconnecting in…" advances this often (ms).
const TICK_MS: u32 = 30_000;

/// The console's screens, one per hash.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum Route {
    #[default]
    Inbox,
    Visitors,
    Reports,
    Settings,
}

impl Route {
    fn from_hash(hash: &str) -> Route {
        match hash {
            "#/visitors" => Route::Visitors,
            "#/reports" => Route::Reports,
            "#/settings" => Route::Settings,
            _ => Route::Inbox,
        }
    }

    fn hash(self) -> &'static str {
        match self {
            Route::Inbox => "#/inbox",
            Route::Visitors => "#/visitors",
            Route::Reports => "#/reports",
            Route::Settings => "#/settings",
        }
    }
}

fn current_hash() -> String {
    web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default()
}

/// The callbacks pages and components send actions through, created once
/// so that rows see equal props and skip re-rendering.
#[derive(Clone, PartialEq)]
pub struct Handlers {
    pub dispatch: Callback<Action>,
    pub open_conv: Callback<ConvId>,
    pub select_visitor: Callback<VisitorId>,
    /// The language picker's choice.
    pub set_lang: Callback<Lang>,
}

// Messages are moved once each, into `update`: the size of the largest
// (an action with its frame or answer) costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
pub enum Msg {
    /// A state change, through the reducer.
    Do(Action),
    /// The live connection's socket and timers.
    Conn(ConnMsg),
    NetOnline,
    NetOffline,
    Visibility,
    /// A click or key press: audio may play from now on.
    Gesture,
    /// The agent picked a language.
    Lang(Lang),
}

/// The agent's saved language, else the browser's (`navigator.language`).
fn initial_lang() -> Lang {
    match storage::lang() {
        Some(tag) => Lang::from_tag(&tag),
        None => Lang::from_tag(&crate::format::browser_lang()),
    }
}

/// Makes `l` the language of every string from now on, and of the page
/// (`<html lang>`, so fonts and screen readers follow).
fn apply_lang(l: Lang) {
    i18n::set_lang(l);
    if let Some(html) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    {
        let _ = html.set_attribute("lang", l.tag());
    }
}

/// A window/document listener kept alive as long as the app.
type Listener = (web_sys::EventTarget, &'static str, Closure<dyn FnMut()>);

pub struct App {
    state: State,
    conn: Conn,
    handlers: Handlers,
    chime: Chime,
    retry_me: Option<Timeout>,
    typing_idle: Option<Timeout>,
    typing_expire: Option<Timeout>,
    render_timer: Option<Timeout>,
    _tick: Interval,
    _listeners: Vec<Listener>,
    /// The service worker's messages (a notification's click).
    _worker: Option<Closure<dyn FnMut(web_sys::MessageEvent)>>,
}

fn listeners(ctx: &Context<App>) -> Vec<Listener> {
    let mut listeners = Vec::new();
    let Some(w) = web_sys::window() else {
        return listeners;
    };
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
    listeners
}

/// Where the service worker's "open this conversation" goes.
fn dispatch_link(ctx: &Context<App>) -> Callback<ConvLink> {
    ctx.link().callback(|l| Msg::Do(Action::OpenLink(l)))
}

/// Runs Web Push browser work; its outcome comes back as an action.
fn spawn_push(link: &yew::html::Scope<App>, token: Option<String>, op: PushOp) {
    let Some(token) = token else { return };
    let link = link.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let outcome = push::run(op, api::Api { token }).await;
        link.send_message(Msg::Do(Action::Push(PushAction::Done(outcome))));
    });
}

/// Runs an API call; its answer comes back as an action.
fn spawn_fetch(link: &yew::html::Scope<App>, token: Option<String>, fetch: Fetch) {
    let link = link.clone();
    wasm_bindgen_futures::spawn_local(async move {
        if let Some(answer) = api::run(token, fetch).await {
            link.send_message(Msg::Do(Action::Answered(answer)));
        }
    });
}

/// Saves `text` as the file `name`: a Blob behind a link clicked once,
/// as the browser's own download (the API needs the token in a header,
/// so a plain link to it cannot work).
fn download(name: &str, text: &str) {
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(text));
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type("text/csv;charset=utf-8");
    let Ok(blob) = web_sys::Blob::new_with_str_sequence_and_options(&parts, &opts) else {
        return;
    };
    let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else {
        return;
    };
    let doc = web_sys::window().and_then(|w| w.document());
    if let Some(a) = doc
        .and_then(|d| d.create_element("a").ok())
        .and_then(|e| e.dyn_into::<web_sys::HtmlAnchorElement>().ok())
    {
        a.set_href(&url);
        a.set_download(name);
        a.click();
    }
    // The click has started the download; the URL may go after it.
    let later = url.clone();
    Timeout::new(10_000, move || {
        let _ = web_sys::Url::revoke_object_url(&later);
    })
    .forget();
}

/// A timer that dispatches `action` once.
fn after(ctx: &Context<App>, ms: u32, action: fn() -> Action) -> Timeout {
    let link = ctx.link().clone();
    Timeout::new(ms, move || link.send_message(Msg::Do(action())))
}

impl Component for App {
    type Message = Msg;
    type Properties = ();

    fn create(ctx: &Context<Self>) -> Self {
        apply_lang(initial_lang());
        let link = ctx.link().clone();
        let tick = Interval::new(TICK_MS, move || link.send_message(Msg::Do(Action::Tick)));
        let hash = current_hash();
        let saved = Saved {
            site: storage::site(),
            away: storage::away(),
            outbox: storage::load_outbox(),
            link: ConvLink::from_hash(&hash),
        };
        let token = storage::token();
        if token.is_some() {
            spawn_fetch(ctx.link(), token.clone(), Fetch::Me);
        }
        // Whether the sign-in page may offer "Forgot password?".
        spawn_fetch(ctx.link(), None, Fetch::ResetOptions);
        let dispatch = ctx.link().callback(Msg::Do);
        App {
            state: State::new(token, saved, Route::from_hash(&hash), now_ms()),
            conn: Conn::new(ctx.link().callback(Msg::Conn)),
            handlers: Handlers {
                open_conv: dispatch.reform(Action::OpenConv),
                select_visitor: dispatch.reform(Action::SelectVisitor),
                set_lang: ctx.link().callback(Msg::Lang),
                dispatch,
            },
            chime: Chime::default(),
            retry_me: None,
            typing_idle: None,
            typing_expire: None,
            render_timer: None,
            _tick: tick,
            _listeners: listeners(ctx),
            _worker: push::start(dispatch_link(ctx)),
        }
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Msg) -> bool {
        match msg {
            Msg::Do(action) => self.act(ctx, action),
            Msg::Conn(m) => match self.conn.handle(m) {
                None => false,
                Some(ConnEvent::Changed) => true,
                Some(ConnEvent::Online) => self.act(ctx, Action::Online),
                Some(ConnEvent::Frame(f)) => self.act(ctx, Action::Frame(f)),
                Some(ConnEvent::SessionEnded) => self.act(ctx, Action::SessionEnded),
            },
            Msg::NetOnline => {
                self.conn.net_online();
                true
            }
            Msg::NetOffline => {
                self.conn.net_offline();
                true
            }
            Msg::Visibility => {
                self.conn.set_visible(notify::tab_visible());
                self.conn.retry_now();
                self.act(ctx, Action::Visible)
            }
            Msg::Gesture => {
                self.chime.unlock();
                false
            }
            Msg::Lang(l) => {
                apply_lang(l);
                storage::set_lang(l.tag());
                notify::set_title(self.state.model.total_unread());
                true
            }
        }
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        let s = &self.state;
        let h = &self.handlers;
        let Some(me) = &s.me else {
            if s.token.is_some() {
                // Opened from the service worker's cache with the relay
                // down, this is all there is: say why it waits.
                return html! {
                    <div class="boot">
                        <p>{tr("Connecting to the relay…")}</p>
                        if let Some(t) = &s.toast { <p class="error" role="status">{ trf("{} (trying again)", &[t]) }</p> }
                    </div>
                };
            }
            return pages::login::view(s, h);
        };
        let page = match s.route {
            Route::Inbox => pages::inbox::view(s, h),
            Route::Visitors => pages::visitors::view(s, h),
            Route::Reports => pages::reports::view(s, h),
            Route::Settings => pages::settings::view(s, h),
        };
        let pending = s.model.outbox.iter().filter(|p| p.failed.is_none()).count();
        let onretry = ctx.link().callback(|_| Msg::Conn(ConnMsg::Reconnect));
        let lang = i18n::lang();
        // Keyed by the language: a switch rebuilds every component, those
        // holding props of their own too, so nothing stays in the old one.
        html! {
            <div class="shell" key={lang.tag()}>
                <Topbar me={me.clone()} sites={s.sites.clone()} token={s.token.clone()}
                    site={s.model.site.as_ref().map(|x| x.to_string()).unwrap_or_default()}
                    route={s.route} unread={s.model.total_unread()} visitors={s.model.visitors.len()}
                    away={s.away} ask_notifications={notify::permission() == NotificationPermission::Default}
                    dispatch={h.dispatch.clone()} {lang} onlang={h.set_lang.clone()} />
                <Banner conn={self.conn.state().clone()} {pending} now={now_ms()} {onretry} />
                if let Some(t) = &s.toast {
                    <Toast text={t.clone()} ondismiss={h.dispatch.reform(|_| Action::DismissToast)} />
                }
                <main>{ page }</main>
                { welcome_dialog(s, &h.dispatch) }
            </div>
        }
    }
}

impl App {
    /// Reduces one action and runs what it asks for.
    fn act(&mut self, ctx: &Context<Self>, action: Action) -> bool {
        let env = Env {
            now: now_ms(),
            rand: js_sys::Math::random(),
            visible: notify::tab_visible(),
            online: self.conn.is_online(),
        };
        let mut fx = Vec::new();
        let render = self.state.reduce(action, &env, &mut fx);
        for e in fx {
            self.run(ctx, e);
        }
        render
    }

    fn run(&mut self, ctx: &Context<Self>, e: Effect) {
        match e {
            Effect::Send(frame) => {
                self.conn.send(&frame);
            }
            Effect::Fetch(f) => spawn_fetch(ctx.link(), self.state.token.clone(), f),
            Effect::RetryMe => {
                let (link, token) = (ctx.link().clone(), self.state.token.clone());
                self.retry_me = Some(Timeout::new(ME_RETRY_MS, move || {
                    spawn_fetch(&link, token, Fetch::Me)
                }));
            }
            Effect::Connect(token) => self.conn.start(token),
            Effect::Disconnect => {
                self.conn.stop();
                self.retry_me = None;
            }
            Effect::Push(op) => spawn_push(ctx.link(), self.state.token.clone(), op),
            Effect::Resume => {
                let s = &self.state;
                self.conn
                    .resume(s.away, s.model.site.as_ref(), &s.model.outbox);
            }
            Effect::SaveToken(t) => storage::set_token(t.as_deref()),
            Effect::SaveSite(site) => storage::set_site(site.as_str()),
            Effect::SaveAway(away) => storage::set_away(away),
            Effect::SaveOutbox => storage::save_outbox(&self.state.model.outbox),
            Effect::SetHash(route) => {
                if let Some(w) = web_sys::window() {
                    let _ = w.location().set_hash(route.hash());
                }
            }
            Effect::Title(unread) => notify::set_title(unread),
            Effect::Notify { conv, who, text } => {
                self.chime.play();
                let site = self.state.model.site.as_ref();
                push::notify(&trf("{} wrote", &[&who]), &text, site, &conv);
            }
            Effect::RenderSoon => {
                self.render_timer = Some(after(ctx, RENDER_BATCH_MS, || Action::Flush));
            }
            Effect::TypingIdleIn(ms) => {
                self.typing_idle = Some(after(ctx, ms, || Action::TypingIdle));
            }
            Effect::CancelTypingIdle => self.typing_idle = None,
            Effect::TypingExpireIn(ms) => {
                self.typing_expire = Some(after(ctx, ms, || Action::TypingExpire));
            }
            Effect::Download { name, text } => download(&name, &text),
            Effect::CopyToClipboard(text) => {
                if let Some(w) = web_sys::window() {
                    let _ = w.navigator().clipboard().write_text(&text);
                }
            }
            Effect::EnableNotifications => {
                self.chime.unlock();
                notify::ask_permission();
            }
        }
    }
}
