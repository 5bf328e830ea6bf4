//! The console's UI state and its one reducer: every change goes through
//! [`State::reduce`] as an [`Action`], and what it needs from the outside
//! world (frames to send, API calls, storage, timers, notifications) comes
//! back as [`Effect`]s that the app runs. No browser API is called here, so
//! the reducer is tested natively. The conversation data itself is the
//! [`Model`] (`model.rs`); the inbox and the frames are in `inbox.rs`, the
//! settings page in `settings.rs` (webhooks and API keys in
//! `integrations.rs`, hours, forms, rating and mail choice in
//! `offline.rs`), Web Push and conversation links in `push.rs`.

mod account;
mod contact;
mod inbox;
mod integrations;
mod offline;
mod push;
mod reports;
mod routing;
mod search;
mod settings;

pub use account::{AccountAction, AccountState};
pub use contact::{ContactAction, ContactEdit, ContactField, CONSENT_ATTRIBUTE, PHONE_ATTRIBUTE};
pub use inbox::PickedFile;
pub use integrations::{Confirm, IntegrationsAction, IntegrationsState, Note, ShownOnce};
pub use offline::{mail_meaning, Builtin, FieldDraft, FormsAction, FormsDraft, HoursAction, DAYS};
pub use push::{ConvLink, DevicePush, PendingLink, PushAction, PushOp, PushOutcome, PushStatus};
pub use reports::{ReportsAction, ReportsState, REPORT_PRESETS};
pub use routing::RoutingAction;
pub use search::{SearchAction, SearchState};
pub use settings::{allowed_file_types, AgentField, SettingsAction, SettingsState, WechatField};

use crate::app::Route;
use crate::i18n::{tr, trf};
use crate::model::{Model, Pending};
use crate::services::api::{Answer, ConvAction, Fetch};
use protocol::api::{
    AgentView, Canned, Label, LoginRequest, Routing, SiteView, Teammate, VisitorProfile,
};
use protocol::{Cid, ClientFrame, ConvId, ServerFrame, SiteId, VisitorId};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

/// Visitors per page of the live list.
pub const VISITORS_PER_PAGE: usize = 50;
/// A relay that could not be reached for `me` is asked again after this (ms).
pub const ME_RETRY_MS: u32 = 2_000;
/// The chip colour of a label the site no longer lists.
pub const NO_LABEL_COLOR: &str = "#868e96";

/// The inbox's conversation filter.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum Filter {
    /// Waiting for a free agent (`queued`), oldest first.
    Queue,
    Unassigned,
    Mine,
    #[default]
    Open,
    Closed,
}

/// What the composer writes: a reply the visitor reads, or a private note
/// only agents see.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum Compose {
    #[default]
    Reply,
    Note,
}

/// Which of the inbox's panes a narrow screen (a phone) shows; a wide one
/// shows them side by side.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum Pane {
    /// The conversation list.
    #[default]
    List,
    /// The open conversation.
    Chat,
    /// The open conversation's visitor.
    Profile,
}

/// What the reducer reads of the world, given with every action.
#[derive(Clone, Copy, Debug)]
pub struct Env {
    /// Now (ms since epoch).
    pub now: f64,
    /// A uniform draw in [0, 1) for client ids.
    pub rand: f64,
    /// The tab is visible (no notifications or unread for the open
    /// conversation then).
    pub visible: bool,
    /// The live connection is up.
    pub online: bool,
}

/// A file being uploaded into a conversation.
#[derive(Clone, Debug, PartialEq)]
pub struct Upload {
    pub cid: Cid,
    pub conv: ConvId,
    pub name: String,
}

/// Every change the console's state can undergo.
#[derive(Debug)]
pub enum Action {
    Login {
        email: String,
        password: String,
    },
    Logout,
    SwitchSite(String),
    Nav(Route),
    SetAway(bool),
    /// The relay said `welcome`.
    Online,
    /// A frame from the relay (heartbeats and `welcome` stay in the
    /// connection).
    Frame(ServerFrame),
    /// The relay refused the session token.
    SessionEnded,
    /// The tab became visible or focused.
    Visible,
    SetFilter(Filter),
    /// Only conversations carrying this label (none: any).
    SetLabelFilter(Option<String>),
    OpenConv(ConvId),
    /// Back and forth between the inbox's panes on a phone.
    ShowPane(Pane),
    LoadEarlier,
    ComposerInput(String),
    /// Enter in the composer (no Shift, not composing).
    ComposerEnter,
    PickCanned(String),
    /// The composer's "Reply / Note" switch.
    SetCompose(Compose),
    /// Sends what the composer holds, as a reply or a note.
    SendReply,
    /// Files picked, dropped or pasted into the open conversation.
    AttachFiles(Vec<PickedFile>),
    /// An action on the open conversation.
    Conv(ConvAction),
    /// The contact editor of the visitor's profile.
    Contact(ContactAction),
    SelectVisitor(VisitorId),
    CloseVisitor,
    /// The visitor's profile changed on the relay (blocked, unblocked,
    /// erased): read it again.
    ReloadProfile(VisitorId),
    VisitorPage(usize),
    InviteInput(String),
    Invite,
    Settings(SettingsAction),
    /// The agent's own account, owners' renames, "Forgot password?".
    Account(AccountAction),
    /// This device's notifications toggle.
    Push(PushAction),
    /// The Reports page's range, team and download.
    Reports(ReportsAction),
    /// Open one conversation (a notification's click).
    OpenLink(ConvLink),
    /// An API call came back.
    Answered(Answer),
    /// The inbox's search.
    Search(SearchAction),
    EnableNotifications,
    /// The batched render is due.
    Flush,
    /// The minute clock of "time on site".
    Tick,
    DismissToast,
    /// No keystroke for a while: withdraw the agent's typing notice.
    TypingIdle,
    /// A visitor typing notice may have gone stale.
    TypingExpire,
}

/// What the app does for the reducer.
#[derive(Debug)]
pub enum Effect {
    /// A frame for the relay, sent only while online (the outbox resends
    /// what must not be lost).
    Send(ClientFrame),
    /// An API call; its answer comes back as [`Action::Answered`].
    Fetch(Fetch),
    /// Asks for `me` again after [`ME_RETRY_MS`].
    RetryMe,
    /// Opens the live connection with this token.
    Connect(String),
    /// Closes the live connection for good (signed out).
    Disconnect,
    /// Resends what the connection resumes with (away, subscribe, outbox).
    Resume,
    SaveToken(Option<String>),
    SaveSite(SiteId),
    SaveAway(bool),
    SaveOutbox,
    /// `#/inbox`, `#/visitors`, `#/settings`.
    SetHash(Route),
    /// The unread count in the tab title.
    Title(u32),
    /// A visitor wrote: chime and desktop notification.
    Notify {
        conv: ConvId,
        who: String,
        text: String,
    },
    /// Draw soon rather than per frame.
    RenderSoon,
    /// [`Action::TypingIdle`] after this long (ms); replaces an earlier one.
    TypingIdleIn(u32),
    /// Cancels the pending [`Action::TypingIdle`].
    CancelTypingIdle,
    /// [`Action::TypingExpire`] after this long (ms).
    TypingExpireIn(u32),
    CopyToClipboard(String),
    /// Audio and desktop notifications, from a click.
    EnableNotifications,
    /// Browser work for Web Push; its outcome comes back as
    /// [`PushAction::Done`].
    Push(PushOp),
    /// Saves `text` as a file called `name` (the Reports CSV).
    Download {
        name: String,
        text: String,
    },
}

/// Everything the console shows.
#[derive(Default)]
pub struct State {
    /// The session token (signed in, or signing in again on reload).
    pub token: Option<String>,
    pub me: Option<AgentView>,
    pub sites: Vec<SiteView>,
    pub route: Route,
    pub model: Model,
    pub away: bool,
    /// The site chosen last time (localStorage), preferred on sign-in.
    pub saved_site: Option<String>,
    pub filter: Filter,
    /// The inbox's label filter (a label of the site's).
    pub label_filter: Option<String>,
    /// The inbox pane a phone shows.
    pub pane: Pane,
    pub selected_visitor: Option<VisitorId>,
    pub visitor_page: usize,
    pub profile: Option<(VisitorId, Rc<VisitorProfile>)>,
    /// The profile's contact being edited.
    pub contact_edit: Option<ContactEdit>,
    pub team: Vec<Teammate>,
    pub canned: Vec<Canned>,
    pub composer: String,
    /// Reply or note; kept across conversations (a note typed as a reply
    /// is the mistake that matters, so switching back is the agent's).
    pub compose: Compose,
    pub uploads: Vec<Upload>,
    pub invite_text: String,
    /// The agent's last typing notice: where and when.
    typing_sent: Option<(ConvId, f64)>,
    /// When each conversation's visitor last sent a typing notice.
    visitor_typing: HashMap<ConvId, f64>,
    /// Whether a [`Action::TypingExpire`] is pending.
    typing_expiring: bool,
    pub toast: Option<String>,
    pub login_error: Option<String>,
    pub login_busy: bool,
    /// Conversations whose history is being fetched.
    loading: HashSet<ConvId>,
    /// Whether a batched render is pending.
    render_due: bool,
    /// Client ids made so far (part of each new one).
    cids: u64,
    /// The clock views use (refreshed by [`Action::Tick`]).
    pub now: f64,
    /// The conversation last announced to the relay as viewed.
    viewing_sent: Option<ConvId>,
    pub settings: SettingsState,
    /// Names, picture, password, the first sign-in question, resets.
    pub account: AccountState,
    /// Web Push on this device.
    pub push: DevicePush,
    /// A conversation to open once its site's list is in.
    pub pending_link: Option<PendingLink>,
    pub reports: ReportsState,
    /// The inbox's search box and results.
    pub search: SearchState,
}

impl State {
    /// A fresh client id: time, randomness and a counter, unique per
    /// sender (several in one action stay apart).
    fn new_cid(&mut self, env: &Env) -> Cid {
        self.cids += 1;
        let t = env.now as u64;
        let r = (env.rand * 1e12) as u64;
        let n = self.cids;
        Cid::new(format!("c{t:x}{r:x}{n:x}"))
            .unwrap_or_else(|_| unreachable!("a letter and hex digits are a cid"))
    }

    /// The state at start: a saved session (if any) is being checked.
    pub fn new(token: Option<String>, saved: Saved, route: Route, now: f64) -> State {
        State {
            token,
            route,
            away: saved.away,
            saved_site: saved.site,
            model: Model {
                outbox: saved.outbox,
                ..Default::default()
            },
            pending_link: saved.link.map(|link| PendingLink {
                link,
                asked_closed: false,
            }),
            now,
            ..Default::default()
        }
    }

    /// The one reducer: applies `action`, pushes what must happen beside
    /// it onto `fx`, and says whether to draw now.
    pub fn reduce(&mut self, action: Action, env: &Env, fx: &mut Vec<Effect>) -> bool {
        let draw = self.reduce_action(action, env, fx);
        self.announce_viewing(fx);
        draw
    }

    /// Tells the relay which conversation this tab shows, whenever that
    /// changed (colleagues see "… is viewing this conversation").
    fn announce_viewing(&mut self, fx: &mut Vec<Effect>) {
        if self.viewing_sent == self.model.viewing {
            return;
        }
        self.viewing_sent = self.model.viewing.clone();
        fx.push(Effect::Send(ClientFrame::Viewing {
            conv: self.viewing_sent.clone(),
        }));
    }

    /// The line above the reply box naming the colleagues typing in, or
    /// else viewing, the open conversation (never the agent itself).
    pub fn colleagues_notice(&self) -> Option<String> {
        let conv = self.model.viewing.as_ref()?;
        let me = self.my_id();
        let viewers = self.model.viewers.get(conv);
        let name_of = |id: &str| {
            self.team_name(id)
                .or_else(|| {
                    viewers
                        .and_then(|v| v.iter().find(|x| x.id.as_str() == id))
                        .map(|x| x.name.clone())
                })
                .unwrap_or_else(|| tr("Another agent").into())
        };
        let typing: Vec<String> = self
            .model
            .agents_typing
            .get(conv)
            .into_iter()
            .flatten()
            .filter(|a| a.as_str() != me)
            .map(|a| name_of(a.as_str()))
            .collect();
        if !typing.is_empty() {
            return Some(match names_and(&typing) {
                (who, false) => trf("{} is typing…", &[&who]),
                (who, true) => trf("{} are typing…", &[&who]),
            });
        }
        let viewing: Vec<String> = viewers
            .into_iter()
            .flatten()
            .filter(|v| v.id.as_str() != me)
            .map(|v| v.name.clone())
            .collect();
        (!viewing.is_empty()).then(|| match names_and(&viewing) {
            (who, false) => trf("{} is viewing this conversation", &[&who]),
            (who, true) => trf("{} are viewing this conversation", &[&who]),
        })
    }

    fn reduce_action(&mut self, action: Action, env: &Env, fx: &mut Vec<Effect>) -> bool {
        match action {
            Action::Login { email, password } => {
                self.login_busy = true;
                self.login_error = None;
                fx.push(Effect::Fetch(Fetch::Login(LoginRequest {
                    email,
                    password,
                })));
                true
            }
            Action::Logout => {
                if let Some(token) = self.token.clone() {
                    fx.push(Effect::Fetch(Fetch::Logout(token)));
                }
                self.signed_out(fx);
                true
            }
            Action::SwitchSite(site) => self.switch_site(site, fx),
            Action::Nav(route) => {
                self.route = route;
                fx.push(Effect::SetHash(route));
                if route == Route::Reports {
                    self.load_reports(fx);
                }
                if route == Route::Settings {
                    self.account_loaded();
                    self.load_settings(fx);
                    if self.me.is_some() && !self.push.busy {
                        // The browser's permission may have changed since.
                        fx.push(Effect::Push(PushOp::Check));
                    }
                }
                if route != Route::Inbox {
                    self.model.viewing = None;
                }
                true
            }
            Action::SetAway(away) => {
                self.away = away;
                fx.push(Effect::SaveAway(away));
                fx.push(Effect::Send(ClientFrame::Status { away }));
                true
            }
            Action::Online => {
                fx.push(Effect::Resume);
                // A new connection views nothing until told (after the
                // subscribe that resuming sends).
                self.viewing_sent = None;
                true
            }
            Action::Frame(frame) => self.on_frame(frame, env, fx),
            Action::SessionEnded => {
                self.signed_out(fx);
                self.login_error = Some(tr("Your session has ended; please sign in again.").into());
                true
            }
            Action::Visible => {
                self.mark_read(env, fx);
                fx.push(Effect::Title(self.model.total_unread()));
                true
            }
            Action::Answered(answer) => self.answered(answer, env, fx),
            Action::Contact(a) => self.reduce_contact(a, fx),
            Action::Settings(a) => self.reduce_settings(a, fx),
            Action::Account(a) => self.reduce_account(a, fx),
            Action::Push(a) => self.reduce_push(a, fx),
            Action::Reports(a) => self.reduce_reports(a, fx),
            Action::OpenLink(link) => self.open_link(link, env, fx),
            Action::Search(a) => self.reduce_search(a, env, fx),
            Action::EnableNotifications => {
                fx.push(Effect::EnableNotifications);
                true
            }
            Action::Flush => {
                self.render_due = false;
                fx.push(Effect::Title(self.model.total_unread()));
                true
            }
            Action::Tick => {
                self.now = env.now;
                true
            }
            Action::DismissToast => {
                self.toast = None;
                true
            }
            other => self.reduce_inbox(other, env, fx),
        }
    }

    fn switch_site(&mut self, site: String, fx: &mut Vec<Effect>) -> bool {
        let Ok(id) = SiteId::new(site) else {
            return false;
        };
        self.saved_site = Some(id.to_string());
        fx.push(Effect::SaveSite(id.clone()));
        self.model.reset_site(id.clone());
        self.selected_visitor = None;
        self.profile = None;
        self.contact_edit = None;
        self.label_filter = None;
        self.search = SearchState::default();
        self.settings = SettingsState::default();
        self.reports.stats = None;
        self.reports.team.clear();
        self.load_site_data(fx);
        fx.push(Effect::Send(ClientFrame::Subscribe { site: id }));
        if self.route == Route::Settings {
            self.load_settings(fx);
        }
        if self.route == Route::Reports {
            self.load_reports(fx);
        }
        true
    }

    /// The relay's answers to [`Fetch`]es.
    fn answered(&mut self, answer: Answer, env: &Env, fx: &mut Vec<Effect>) -> bool {
        match answer {
            Answer::LoggedIn(Ok(r)) => {
                self.login_busy = false;
                fx.push(Effect::SaveToken(Some(r.token.clone())));
                self.token = Some(r.token);
                self.signed_in(r.agent, fx);
            }
            Answer::LoggedIn(Err(e)) => {
                self.login_busy = false;
                self.login_error = Some(e.trim_start_matches("unauthorized: ").to_string());
            }
            Answer::Me(Ok(me)) => self.signed_in(me, fx),
            Answer::Me(Err(e)) => {
                if crate::services::api::is_unauthorized(&e) {
                    self.signed_out(fx);
                } else {
                    // The relay is unreachable: try again like a socket would.
                    self.toast = Some(trf("Cannot reach the relay: {}", &[&e]));
                    fx.push(Effect::RetryMe);
                }
            }
            Answer::LoggedOut => fx.push(Effect::Title(self.model.total_unread())),
            Answer::Sites(Ok(sites)) => {
                self.sites = sites;
                self.account_loaded();
            }
            a @ (Answer::ResetOptions(_)
            | Answer::ResetRequested(_)
            | Answer::MeSaved(_)
            | Answer::PasswordChanged(_)
            | Answer::AgentRenamed(_)
            | Answer::SiteRenamed(_)
            | Answer::Welcomed(_)) => return self.account_answered(a, fx),
            Answer::Team(Ok(t)) => self.team = t,
            Answer::Canned(Ok(c)) => self.canned = c,
            Answer::Sites(Err(_)) | Answer::Team(Err(_)) | Answer::Canned(Err(_)) => return false,
            Answer::Profile(v, Ok(p)) => self.profile = Some((v, Rc::from(p))),
            Answer::Profile(_, Err(_)) => return false,
            Answer::ContactSaved(v, r) => return self.contact_saved(v, r),
            Answer::Convs(Ok(page)) => {
                for s in page.convs {
                    self.model.upsert_summary(s);
                }
                self.load_unread(fx);
                self.try_pending_link(true, env, fx);
            }
            Answer::Convs(Err(e)) | Answer::Conv(Err(e)) => self.toast = Some(e),
            Answer::Conv(Ok(s)) => self.model.upsert_summary(s),
            Answer::Events(conv, r) => self.history(conv, r, env, fx),
            Answer::Search {
                site,
                q,
                more,
                result,
            } => return self.searched(site, q, more, result),
            Answer::Uploaded { cid, conv, result } => self.uploaded(cid, conv, result, fx),
            Answer::Stats(q, r) => return self.stats_answered(q, r),
            Answer::StatsCsv(r) => return self.csv_answered(r, fx),
            other => return self.settings_answered(other, fx),
        }
        true
    }

    fn signed_in(&mut self, me: AgentView, fx: &mut Vec<Effect>) {
        // A conversation link's site first, then the one chosen last time.
        let link_site = self.pending_link.as_ref().map(|p| &p.link.site);
        let site = link_site
            .and_then(|l| me.sites.iter().find(|m| *m == l))
            .or_else(|| {
                let saved = self.saved_site.as_deref()?;
                me.sites.iter().find(|m| m.as_str() == saved)
            })
            .or_else(|| me.sites.first())
            .cloned();
        self.me = Some(me);
        self.account_loaded();
        if let Some(site) = site {
            self.model.reset_site(site);
        }
        fx.push(Effect::Fetch(Fetch::Sites));
        self.load_site_data(fx);
        if self.route == Route::Settings {
            self.load_settings(fx);
        }
        if self.route == Route::Reports {
            self.load_reports(fx);
        }
        if let Some(token) = self.token.clone() {
            fx.push(Effect::Connect(token));
        }
        fx.push(Effect::Push(PushOp::Check));
    }

    fn signed_out(&mut self, fx: &mut Vec<Effect>) {
        fx.push(Effect::SaveToken(None));
        fx.push(Effect::Disconnect);
        self.token = None;
        self.me = None;
        self.push = DevicePush::default();
        // The outbox outlives the session, as it does in localStorage.
        self.model = Model {
            outbox: std::mem::take(&mut self.model.outbox),
            ..Default::default()
        };
    }

    /// Team, canned replies and every open conversation of the site.
    pub(crate) fn load_site_data(&mut self, fx: &mut Vec<Effect>) {
        let Some(site) = self.model.site.clone() else {
            return;
        };
        fx.push(Effect::Fetch(Fetch::Team(site.clone())));
        fx.push(Effect::Fetch(Fetch::Canned(site.clone())));
        fx.push(Effect::Fetch(Fetch::Convs(site, "open")));
    }

    /// Whether the signed-in agent owns the installation.
    pub fn is_owner(&self) -> bool {
        self.me.as_ref().is_some_and(AgentView::is_owner)
    }

    /// The signed-in agent's id ("" before sign-in).
    pub fn my_id(&self) -> &str {
        self.me.as_ref().map(|m| m.id.as_str()).unwrap_or_default()
    }

    /// A teammate's name by id.
    pub fn team_name(&self, id: &str) -> Option<String> {
        self.team
            .iter()
            .find(|t| t.id.as_str() == id)
            .map(|t| t.name.clone())
    }

    /// The name of the agent `id` in conversation `c`: a teammate's, else
    /// the newest one the conversation's events carry for it (a bot, which
    /// is nobody's teammate, or an agent since removed).
    pub fn agent_name(&self, c: &crate::model::Conv, id: &str) -> Option<String> {
        self.team_name(id).or_else(|| {
            c.events.values().rev().find_map(|e| {
                let who = match &e.body {
                    protocol::EventBody::Message { from, .. } => Some(from),
                    protocol::EventBody::Assigned { to, .. } => to.as_ref(),
                    _ => None,
                }?;
                (who.id == id).then(|| who.name.clone()).flatten()
            })
        })
    }

    /// The current site's routing: its teams and labels (empty until the
    /// site list is in).
    pub fn routing(&self) -> Option<&Routing> {
        let site = self.model.site.as_ref()?;
        self.sites
            .iter()
            .find(|s| &s.id == site)
            .map(|s| &s.routing)
    }

    /// The current site's custom form fields: key and label.
    pub fn form_fields(&self) -> Vec<(String, String)> {
        let site = self.model.site.as_ref();
        self.sites
            .iter()
            .find(|s| Some(&s.id) == site)
            .map(|s| {
                s.widget
                    .prechat
                    .fields
                    .iter()
                    .map(|f| (f.key.clone(), f.label.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The contact editor, when it is open on visitor `v`'s profile.
    pub fn contact_editor(&self, v: &VisitorId) -> Option<ContactEdit> {
        self.contact_edit
            .as_ref()
            .filter(|e| e.visitor == *v)
            .cloned()
    }

    /// The current site's rating scale (stars until the site list is in).
    pub fn rating_scale(&self) -> protocol::offline::RatingScale {
        let site = self.model.site.as_ref();
        self.sites
            .iter()
            .find(|s| Some(&s.id) == site)
            .map(|s| s.widget.rating)
            .unwrap_or_default()
    }

    /// A team's name by id (its id when the site no longer has it).
    pub fn team_label(&self, id: &str) -> String {
        self.routing()
            .and_then(|r| r.teams.iter().find(|t| t.id.as_str() == id))
            .map(|t| t.name.clone())
            .unwrap_or_else(|| id.to_string())
    }

    /// A label with its colour from the site's list ([`NO_LABEL_COLOR`]
    /// for one the site no longer has).
    pub fn label(&self, name: &str) -> Label {
        let color = self
            .routing()
            .and_then(|r| r.label(name))
            .map(|l| l.color.clone())
            .unwrap_or_else(|| NO_LABEL_COLOR.into());
        Label {
            name: name.into(),
            color,
        }
    }

    /// A fresher view of one of the agent's sites (settings loaded or
    /// saved): the inbox's teams and labels follow it.
    fn site_fresh(&mut self, view: &SiteView) {
        match self.sites.iter_mut().find(|s| s.id == view.id) {
            Some(s) => *s = view.clone(),
            None => self.sites.push(view.clone()),
        }
    }

    /// Canned replies matching a composer that starts with `/`.
    pub fn canned_matches(&self) -> Vec<&Canned> {
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

    /// Adds to the outbox (saved) and sends now if connected.
    fn queue(&mut self, p: Pending, fx: &mut Vec<Effect>) {
        if let Some(frame) = p.frame() {
            fx.push(Effect::Send(frame));
        }
        self.model.outbox.push(p);
        fx.push(Effect::SaveOutbox);
    }
}

/// "Ada", "Ada and Bo", "Ada, Bo and Cy", and whether that is more than
/// one (English says "is" or "are" after it).
fn names_and(names: &[String]) -> (String, bool) {
    match names {
        [one] => (one.clone(), false),
        [init @ .., last] => (trf("{} and {}", &[&init.join(tr(", ")), last]), true),
        [] => (String::new(), false),
    }
}

/// What the console starts with: what it keeps between visits
/// (localStorage) and the conversation link it was opened at, if any.
#[derive(Default)]
pub struct Saved {
    pub site: Option<String>,
    pub away: bool,
    pub outbox: Vec<Pending>,
    /// `#/inbox/<site>/<conv>`: open that conversation.
    pub link: Option<ConvLink>,
}

#[cfg(test)]
mod tests;
