//! The reducer's settings half: the widget form (validated with the
//! relay's own rules before saving), allowed origins, the snippet, agents
//! and canned replies; routing is in `routing.rs`, webhooks and API keys in
//! `integrations.rs`, business hours, the pre-chat form, the rating scale
//! and the agent's mail choice in `offline.rs`.

use super::integrations::{IntegrationsAction, IntegrationsState, Note};
use super::offline::{FormsAction, FormsForm, HoursAction, HoursForm};
use super::routing::{RoutingAction, RoutingForm};
use super::{Effect, State};
use crate::i18n::{tr, trf};
use crate::services::api::{Answer, Fetch};
use protocol::api::{
    valid_origin, AgentRole, AgentView, NewAgent, NewCanned, RefusedOrigin, SitePatch, SiteView,
    WechatMode, WechatSettings,
};
use protocol::{FileClass, Position, WidgetSettings};

/// The settings page's own state.
#[derive(Default)]
pub struct SettingsState {
    pub site: Option<SiteView>,
    /// The form's working copy (previewed live, saved on submit).
    pub widget: Option<WidgetSettings>,
    pub origins: String,
    /// Origins the relay refused recently (newest first), each one click
    /// from being allowed.
    pub refused: Vec<RefusedOrigin>,
    /// The origin an "Allow" click is adding, until the relay answers.
    pub allowing: Option<String>,
    pub snippet: Option<String>,
    /// The site's hosted chat page (`/chat/{site}`) as the relay names it.
    pub chat_url: Option<String>,
    pub agents: Vec<AgentView>,
    pub notice: Option<String>,
    pub new_agent: NewAgentForm,
    pub new_canned: CannedForm,
    pub routing: RoutingForm,
    pub integrations: IntegrationsState,
    /// The WeChat form's working copy (secrets as the relay shows them:
    /// masked; sent back masked, they keep the stored ones).
    pub wechat: WechatSettings,
    /// A WeChat save is waiting for its answer.
    pub wechat_saving: bool,
    /// "Offline & hours" (owners).
    pub hours: HoursForm,
    /// "Forms & rating" (owners).
    pub forms: FormsForm,
    /// The language whose greeting, offline text and form labels the
    /// appearance form edits (and the preview shows): `en`, `zh-CN`, or
    /// empty for the plain fields every language falls back to.
    pub texts_lang: String,
    /// The agent's own mail choice being saved.
    pub mail_saving: Option<protocol::offline::MailPref>,
    pub mail_note: Option<Note>,
}

/// Which field of the WeChat form changed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum WechatField {
    AppId,
    AppSecret,
    Token,
    AesKey,
    /// `plain`, `compatible` or `safe`.
    Mode,
}

/// The "add agent" form.
#[derive(Default, Clone, Debug, PartialEq)]
pub struct NewAgentForm {
    pub name: String,
    pub email: String,
    pub password: String,
    pub owner: bool,
}

/// The "add canned reply" form.
#[derive(Default, Clone, Debug, PartialEq)]
pub struct CannedForm {
    pub shortcut: String,
    pub text: String,
}

/// Which field of the "add agent" form changed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AgentField {
    Name,
    Email,
    Password,
    /// `owner` or `agent`.
    Role,
}

/// What the settings page does.
#[derive(Debug)]
pub enum SettingsAction {
    Color(String),
    /// `left` or `right`.
    Position(String),
    Greeting(String),
    Offline(String),
    /// Which language's texts the form edits (empty: every language's).
    TextsLang(String),
    /// A custom field's label (or, under `consent`, the consent text) in
    /// the language being edited.
    Label(String, String),
    /// Empty: from the visitor's browser.
    Language(String),
    DraftPreview(bool),
    /// `preview` or `open`: an agent's message while the widget is closed.
    OnAgentMessage(String),
    /// Whether visitors and agents may attach this kind of file.
    FileType(FileClass, bool),
    Origins(String),
    /// Adds a refused origin to the allowed ones (saved at once).
    AllowOrigin(String),
    Save,
    CopySnippet,
    CopyChatLink,
    AgentField(AgentField, String),
    AddAgent,
    DeleteAgent(String),
    CannedShortcut(String),
    CannedText(String),
    AddCanned,
    DeleteCanned(String),
    /// The routing section (owners).
    Routing(RoutingAction),
    /// The WeChat Official Account form (owners).
    Wechat(WechatField, String),
    WechatEnabled(bool),
    SaveWechat,
    /// Webhooks and API keys (owners).
    Integrations(IntegrationsAction),
    /// Business hours, the auto-reply, the continuity delay (owners).
    Hours(HoursAction),
    /// The pre-chat form and the rating scale (owners).
    Forms(FormsAction),
    /// The agent's own notification mail choice (saved at once).
    Mail(protocol::offline::MailPref),
}

/// The file kinds a form shows as allowed: the site's effective list. The
/// relay always sends it explicit; before that, every kind.
pub fn allowed_file_types(w: &WidgetSettings) -> Vec<FileClass> {
    w.effective_file_types(&FileClass::ALL)
}

impl State {
    /// Fetches what the settings page shows.
    pub(crate) fn load_settings(&mut self, fx: &mut Vec<Effect>) {
        let Some(site) = self.model.site.clone() else {
            return;
        };
        if self.token.is_none() {
            return;
        }
        fx.push(Effect::Fetch(Fetch::Site(site.clone())));
        // The chat link is for everyone on the site; the snippet shows to
        // owners only.
        fx.push(Effect::Fetch(Fetch::Snippet(site.clone())));
        if self.is_owner() {
            fx.push(Effect::Fetch(Fetch::RefusedOrigins(site)));
            fx.push(Effect::Fetch(Fetch::Agents));
            self.load_integrations(fx);
        }
    }

    pub(super) fn reduce_settings(&mut self, a: SettingsAction, fx: &mut Vec<Effect>) -> bool {
        let st = &mut self.settings;
        match a {
            SettingsAction::Origins(o) => {
                st.origins = o;
                return false;
            }
            SettingsAction::Save => self.save(fx),
            SettingsAction::Wechat(f, v) => {
                let w = &mut st.wechat;
                match f {
                    WechatField::AppId => w.app_id = v,
                    WechatField::AppSecret => w.app_secret = v,
                    WechatField::Token => w.token = v,
                    WechatField::AesKey => w.encoding_aes_key = v,
                    WechatField::Mode => {
                        w.mode = match v.as_str() {
                            "safe" => WechatMode::Safe,
                            "compatible" => WechatMode::Compatible,
                            _ => WechatMode::Plain,
                        }
                    }
                }
                return false;
            }
            SettingsAction::WechatEnabled(on) => st.wechat.enabled = on,
            SettingsAction::SaveWechat => {
                let Some(site) = self.model.site.clone() else {
                    return false;
                };
                let patch = SitePatch {
                    wechat: Some(st.wechat.clone()),
                    ..Default::default()
                };
                st.wechat_saving = true;
                st.notice = Some(tr("Saving…").into());
                fx.push(Effect::Fetch(Fetch::PatchSite(site, Box::new(patch))));
            }
            SettingsAction::Routing(a) => return self.reduce_routing(a, fx),
            SettingsAction::Integrations(a) => return self.reduce_integrations(a, fx),
            SettingsAction::Hours(a) => return self.reduce_hours(a, fx),
            SettingsAction::Forms(a) => return self.reduce_forms(a, fx),
            SettingsAction::Mail(m) => return self.choose_mail(m, fx),
            SettingsAction::AllowOrigin(origin) => self.allow_origin(origin, fx),
            SettingsAction::CopySnippet => {
                if let Some(text) = &st.snippet {
                    fx.push(Effect::CopyToClipboard(text.clone()));
                    st.notice = Some(tr("Snippet copied.").into());
                }
            }
            SettingsAction::CopyChatLink => {
                if let Some(url) = &st.chat_url {
                    fx.push(Effect::CopyToClipboard(url.clone()));
                    st.notice = Some(tr("Chat link copied.").into());
                }
            }
            SettingsAction::AgentField(f, v) => {
                let n = &mut st.new_agent;
                match f {
                    AgentField::Name => n.name = v,
                    AgentField::Email => n.email = v,
                    AgentField::Password => n.password = v,
                    AgentField::Role => n.owner = v == "owner",
                }
                return false;
            }
            SettingsAction::AddAgent => {
                let Some(site) = self.model.site.clone() else {
                    return false;
                };
                let n = st.new_agent.clone();
                fx.push(Effect::Fetch(Fetch::AddAgent(NewAgent {
                    name: n.name,
                    email: n.email,
                    password: n.password,
                    role: if n.owner {
                        AgentRole::Owner
                    } else {
                        AgentRole::Agent
                    },
                    sites: vec![site.to_string()],
                })));
            }
            SettingsAction::DeleteAgent(id) => fx.push(Effect::Fetch(Fetch::DeleteAgent(id))),
            SettingsAction::CannedShortcut(v) => {
                st.new_canned.shortcut = v;
                return false;
            }
            SettingsAction::CannedText(v) => {
                st.new_canned.text = v;
                return false;
            }
            SettingsAction::AddCanned => {
                let Some(site) = self.model.site.clone() else {
                    return false;
                };
                let c = st.new_canned.clone();
                let body = NewCanned {
                    shortcut: c.shortcut,
                    text: c.text,
                };
                fx.push(Effect::Fetch(Fetch::AddCanned(site, body)));
            }
            SettingsAction::DeleteCanned(id) => {
                let Some(site) = self.model.site.clone() else {
                    return false;
                };
                fx.push(Effect::Fetch(Fetch::DeleteCanned(site, id)));
            }
            SettingsAction::TextsLang(l) => st.texts_lang = l,
            form => edit_widget(
                st.widget.get_or_insert_with(WidgetSettings::default),
                form,
                &st.texts_lang,
            ),
        }
        true
    }

    /// Saves the widget form and the origins, unless the relay would
    /// refuse the settings anyway: then its reason shows at once.
    fn save(&mut self, fx: &mut Vec<Effect>) {
        let Some(site) = self.model.site.clone() else {
            return;
        };
        let st = &mut self.settings;
        if let Some(Err(e)) = st.widget.as_ref().map(WidgetSettings::validate) {
            st.notice = Some(trf("Not saved: {}", &[&e.message]));
            return;
        }
        let origins: Vec<String> = st
            .origins
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
        // The pre-chat form and the rating scale are saved by their own
        // form: this one sends them as the site has them saved.
        let widget = st.widget.clone().map(|mut w| {
            if let Some(view) = &st.site {
                w.prechat = view.widget.prechat.clone();
                w.rating = view.widget.rating;
            }
            w
        });
        let patch = SitePatch {
            allowed_origins: Some(origins),
            widget,
            ..Default::default()
        };
        st.notice = Some(tr("Saving…").into());
        fx.push(Effect::Fetch(Fetch::PatchSite(site, Box::new(patch))));
    }

    /// Adds `origin` to the site's saved allowed origins (not the form's
    /// unsaved draft, nor its widget edits) with one PATCH.
    fn allow_origin(&mut self, origin: String, fx: &mut Vec<Effect>) {
        let (Some(site), Some(view)) = (self.model.site.clone(), self.settings.site.as_ref())
        else {
            return;
        };
        if !valid_origin(&origin) {
            return;
        }
        let mut origins = view.allowed_origins.clone();
        if !origins.iter().any(|o| o.eq_ignore_ascii_case(&origin)) {
            origins.push(origin.clone());
        }
        let patch = SitePatch {
            allowed_origins: Some(origins),
            ..Default::default()
        };
        self.settings.notice = Some(trf("Allowing {}…", &[&origin]));
        self.settings.allowing = Some(origin);
        fx.push(Effect::Fetch(Fetch::PatchSite(site, Box::new(patch))));
    }

    /// The settings page's answers; false for any other.
    pub(super) fn settings_answered(&mut self, answer: Answer, fx: &mut Vec<Effect>) -> bool {
        if let Answer::Site(Ok(site)) | Answer::Saved(Ok(site)) = &answer {
            self.site_fresh(site);
        }
        if let Answer::Site(Ok(site)) = &answer {
            self.offline_loaded(site);
        }
        let st = &mut self.settings;
        match answer {
            Answer::Site(Ok(site)) => {
                st.widget = Some(site.widget.clone());
                st.origins = site.allowed_origins.join("\n");
                st.routing.draft = Some(site.routing.clone());
                st.wechat = site.wechat.clone().unwrap_or_default();
                st.site = Some(*site);
            }
            Answer::Site(Err(e)) | Answer::Snippet(Err(e)) | Answer::Agents(Err(e)) => {
                st.notice = Some(e)
            }
            Answer::Snippet(Ok(r)) => {
                st.snippet = Some(r.html);
                st.chat_url = Some(r.chat_url).filter(|u| !u.is_empty());
            }
            Answer::Agents(Ok(list)) => st.agents = list,
            Answer::Saved(Ok(site)) => {
                // Each save's answer replaces only what that save sent: the
                // other forms keep their unsaved edits.
                if std::mem::take(&mut st.wechat_saving) {
                    st.notice = Some(tr("WeChat settings saved.").into());
                    st.wechat = site.wechat.clone().unwrap_or_default();
                } else if std::mem::take(&mut st.routing.saving) {
                    st.notice = Some(tr("Routing saved.").into());
                    st.routing.draft = Some(site.routing.clone());
                } else {
                    match st.allowing.take() {
                        Some(o) => {
                            st.notice =
                                Some(trf("Allowed {}: its pages can use the chat now.", &[&o]));
                            st.refused.retain(|r| r.origin != o);
                        }
                        None => {
                            st.notice = Some(
                                tr("Saved. Visitors get the new look on their next page.").into(),
                            );
                            st.widget = Some(site.widget.clone());
                        }
                    }
                    st.origins = site.allowed_origins.join("\n");
                }
                st.site = Some(*site);
            }
            Answer::Saved(Err(e)) => {
                st.allowing = None;
                st.routing.saving = false;
                st.wechat_saving = false;
                st.notice = Some(trf("Not saved: {}", &[&e]));
            }
            Answer::RefusedOrigins(Ok(list)) => st.refused = list,
            Answer::RefusedOrigins(Err(e)) => st.notice = Some(e),
            Answer::AgentAdded(Ok(agent)) => {
                st.notice = Some(trf("Added {}.", &[&agent.name]));
                // The role stays as chosen: a `<select>` the agent has
                // touched no longer follows its `selected` attributes, so
                // resetting the state alone would show one role and
                // create the other.
                st.new_agent = NewAgentForm {
                    owner: st.new_agent.owner,
                    ..NewAgentForm::default()
                };
                self.load_settings(fx);
                self.load_site_data(fx);
            }
            Answer::AgentAdded(Err(e)) => st.notice = Some(trf("Not added: {}", &[&e])),
            Answer::Capacity {
                agent,
                capacity,
                result,
            } => self.capacity_saved(&agent, capacity, result),
            Answer::AgentDeleted(r) => {
                st.notice = Some(match r {
                    Ok(()) => tr("Agent removed.").into(),
                    Err(e) => trf("Not removed: {}", &[&e]),
                });
                self.load_settings(fx);
            }
            Answer::CannedDone(r) => {
                match r {
                    Ok(()) => {
                        st.new_canned = CannedForm::default();
                        st.notice = None;
                    }
                    Err(e) => st.notice = Some(e),
                }
                if let Some(site) = self.model.site.clone() {
                    fx.push(Effect::Fetch(Fetch::Canned(site)));
                }
            }
            other @ (Answer::SectionSaved(..) | Answer::MailPref(..)) => {
                return self.offline_answered(other)
            }
            other => return self.integrations_answered(other, fx),
        }
        true
    }
}

/// The texts of `lang` in `w`, made when first edited.
fn texts_of<'a>(w: &'a mut WidgetSettings, lang: &str) -> &'a mut protocol::SiteTexts {
    w.texts.entry(lang.to_string()).or_default()
}

/// One edit of the widget form; greeting, offline text and labels go to
/// the language `texts_lang` names (empty: the plain fields).
fn edit_widget(w: &mut WidgetSettings, a: SettingsAction, texts_lang: &str) {
    match a {
        SettingsAction::Greeting(t) if !texts_lang.is_empty() => {
            texts_of(w, texts_lang).greeting = t
        }
        SettingsAction::Offline(t) if !texts_lang.is_empty() => {
            texts_of(w, texts_lang).offline_message = t
        }
        SettingsAction::Label(key, t) if !texts_lang.is_empty() => {
            let labels = &mut texts_of(w, texts_lang).labels;
            if t.is_empty() {
                labels.remove(&key);
            } else {
                labels.insert(key, t);
            }
        }
        SettingsAction::Label(..) => {}
        SettingsAction::Color(c) => w.color = c,
        SettingsAction::Position(p) => {
            w.position = if p == "left" {
                Position::Left
            } else {
                Position::Right
            }
        }
        SettingsAction::Greeting(t) => w.greeting = t,
        SettingsAction::Offline(t) => w.offline_message = t,
        SettingsAction::Language(l) => w.language = (!l.is_empty()).then_some(l),
        SettingsAction::DraftPreview(on) => w.draft_preview = on,
        SettingsAction::OnAgentMessage(v) => {
            w.on_agent_message = if v == "open" {
                protocol::OnAgentMessage::Open
            } else {
                protocol::OnAgentMessage::Preview
            }
        }
        SettingsAction::FileType(class, on) => {
            let mut types = allowed_file_types(w);
            types.retain(|c| *c != class);
            if on {
                types.push(class);
                types.sort();
            }
            w.file_types = Some(types);
        }
        _ => {}
    }
    // A language left with no text of its own is no entry.
    w.texts.retain(|_, t| *t != protocol::SiteTexts::default());
}
