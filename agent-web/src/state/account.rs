//! The reducer's accounts half: the agent's own name, picture and
//! password, owners renaming agents and the site, the first sign-in
//! question (the owner's name and the site's, asked while they are still
//! the first run's), and "Forgot password?" on the sign-in page.
//!
//! Names are checked with the relay's own rule
//! ([`protocol::api::check_display_name`]) before anything is sent, and
//! what the relay answers replaces what the console shows at once: the top
//! bar, the site picker and the agents list.

use super::integrations::Note;
use super::{Effect, State};
use crate::i18n::tr;
use crate::services::api::{Answer, Fetch};
use protocol::api::{check_display_name, AgentView, PasswordChange, SiteView};
use protocol::limits::{MAX_AGENT_NAME_BYTES, MAX_SITE_NAME_BYTES};
use std::collections::HashMap;

/// The accounts forms' own state (kept across site switches and sign-out:
/// the sign-in page's "Forgot password?" lives here too).
#[derive(Default)]
pub struct AccountState {
    /// The "Your name" field (filled from `me` when settings open).
    pub name: String,
    pub pw_current: String,
    pub pw_new: String,
    pub pw_confirm: String,
    /// The result of the last profile or password action.
    pub note: Option<Note>,
    pub password_note: Option<Note>,
    /// An owner's renames in progress: agent id → the name typed.
    pub agent_names: HashMap<String, String>,
    /// The "Site name" field (owners).
    pub site_name: String,
    /// The first sign-in dialog's two fields and its refusal.
    pub welcome_name: String,
    pub welcome_site: String,
    pub welcome_error: Option<String>,
    pub welcome_busy: bool,
    /// The relay can mail reset links (it has SMTP): the sign-in page
    /// offers "Forgot password?".
    pub reset_mail: bool,
    /// The "Forgot password?" form is open, and its address.
    pub forgot: bool,
    pub forgot_email: String,
    pub forgot_note: Option<Note>,
}

/// What the accounts forms do.
#[derive(Debug)]
pub enum AccountAction {
    Name(String),
    SaveName,
    /// A picture picked for upload.
    Avatar(web_sys::File),
    RemoveAvatar,
    PwCurrent(String),
    PwNew(String),
    PwConfirm(String),
    SavePassword,
    /// An owner typing another agent's new name.
    AgentName(String, String),
    RenameAgent(String),
    SiteName(String),
    RenameSite,
    WelcomeName(String),
    WelcomeSite(String),
    SaveWelcome,
    /// Opens or closes the sign-in page's "Forgot password?" form.
    Forgot(bool),
    ForgotEmail(String),
    SendReset,
}

impl State {
    /// Fills the forms from what is signed in (settings opened, signed in).
    pub(super) fn account_loaded(&mut self) {
        let Some(me) = &self.me else { return };
        let a = &mut self.account;
        a.name = me.name.clone();
        if me.welcome {
            a.welcome_name = me.name.clone();
            a.welcome_site = self
                .sites
                .first()
                .map(|s| s.name.clone())
                .unwrap_or_default();
        }
        if let Some(site) = self.current_site_view() {
            self.account.site_name = site.name.clone();
        }
    }

    /// The site on screen, as the relay last described it.
    fn current_site_view(&self) -> Option<&SiteView> {
        let id = self.model.site.as_ref()?;
        self.sites.iter().find(|s| &s.id == id)
    }

    pub(super) fn reduce_account(&mut self, a: AccountAction, fx: &mut Vec<Effect>) -> bool {
        let my_id = self.my_id().to_string();
        let st = &mut self.account;
        match a {
            AccountAction::Name(v) => st.name = v,
            AccountAction::SaveName => match check_display_name(&st.name, MAX_AGENT_NAME_BYTES) {
                Ok(name) => fx.push(Effect::Fetch(Fetch::RenameMe(my_id, name))),
                Err(e) => st.note = Note::bad(e.message),
            },
            AccountAction::Avatar(file) => {
                st.note = Note::ok(tr("Uploading your picture…"));
                fx.push(Effect::Fetch(Fetch::Avatar(Some(file))));
            }
            AccountAction::RemoveAvatar => fx.push(Effect::Fetch(Fetch::Avatar(None))),
            AccountAction::PwCurrent(v) => {
                st.pw_current = v;
                return false;
            }
            AccountAction::PwNew(v) => {
                st.pw_new = v;
                return false;
            }
            AccountAction::PwConfirm(v) => {
                st.pw_confirm = v;
                return false;
            }
            AccountAction::SavePassword => {
                if st.pw_new != st.pw_confirm {
                    st.password_note =
                        Note::bad(tr("The new password and its confirmation differ."));
                } else if st.pw_new.chars().count() < 8 {
                    st.password_note = Note::bad(tr("A password has at least 8 characters."));
                } else {
                    st.password_note = None;
                    fx.push(Effect::Fetch(Fetch::Password(PasswordChange {
                        current: st.pw_current.clone(),
                        new: st.pw_new.clone(),
                    })));
                }
            }
            AccountAction::AgentName(id, v) => {
                st.agent_names.insert(id, v);
            }
            AccountAction::RenameAgent(id) => {
                let typed = st.agent_names.get(&id).cloned().unwrap_or_default();
                match check_display_name(&typed, MAX_AGENT_NAME_BYTES) {
                    Ok(name) => fx.push(Effect::Fetch(Fetch::RenameAgent(id, name))),
                    Err(e) => self.settings.notice = Some(e.message),
                }
            }
            AccountAction::SiteName(v) => st.site_name = v,
            AccountAction::RenameSite => {
                let Some(site) = self.model.site.clone() else {
                    return false;
                };
                match check_display_name(&st.site_name, MAX_SITE_NAME_BYTES) {
                    Ok(name) => fx.push(Effect::Fetch(Fetch::RenameSite(site, name))),
                    Err(e) => self.settings.notice = Some(e.message),
                }
            }
            AccountAction::WelcomeName(v) => st.welcome_name = v,
            AccountAction::WelcomeSite(v) => st.welcome_site = v,
            AccountAction::SaveWelcome => {
                let name = check_display_name(&st.welcome_name, MAX_AGENT_NAME_BYTES);
                let site_name = check_display_name(&st.welcome_site, MAX_SITE_NAME_BYTES);
                let site = self.me.as_ref().and_then(|m| m.sites.first().cloned());
                match (name, site_name, site) {
                    (Ok(name), Ok(site_name), Some(site)) => {
                        st.welcome_error = None;
                        st.welcome_busy = true;
                        fx.push(Effect::Fetch(Fetch::Welcome {
                            agent: my_id,
                            name,
                            site,
                            site_name,
                        }));
                    }
                    (Err(e), _, _) | (_, Err(e), _) => st.welcome_error = Some(e.message),
                    (_, _, None) => st.welcome_error = Some(tr("You have no site yet.").into()),
                }
            }
            AccountAction::Forgot(open) => {
                st.forgot = open;
                st.forgot_note = None;
            }
            AccountAction::ForgotEmail(v) => {
                st.forgot_email = v;
                return false;
            }
            AccountAction::SendReset => {
                let email = st.forgot_email.trim().to_string();
                if email.is_empty() {
                    return false;
                }
                fx.push(Effect::Fetch(Fetch::ResetRequest(email)));
            }
        }
        true
    }

    /// The relay's answers to the accounts forms.
    pub(super) fn account_answered(&mut self, answer: Answer, fx: &mut Vec<Effect>) -> bool {
        match answer {
            Answer::ResetOptions(Ok(o)) => self.account.reset_mail = o.mail,
            Answer::ResetOptions(Err(_)) => return false,
            Answer::ResetRequested(r) => {
                self.account.forgot_note = match r {
                    Ok(()) => Note::ok(tr(
                        "If an agent signs in with this address, a link to set a new password is on its way. It works for one hour.",
                    )),
                    Err(e) => Note::bad(e),
                };
            }
            Answer::MeSaved(Ok(me)) => {
                self.account.note = Note::ok(tr("Saved."));
                self.me_fresh(me);
            }
            Answer::MeSaved(Err(e)) => self.account.note = Note::bad(e),
            Answer::PasswordChanged(r) => {
                let a = &mut self.account;
                a.password_note = match r {
                    Ok(()) => {
                        a.pw_current.clear();
                        a.pw_new.clear();
                        a.pw_confirm.clear();
                        Note::ok(tr(
                            "Password changed. Your other devices are signed out; this one stays signed in.",
                        ))
                    }
                    Err(e) => Note::bad(e),
                };
            }
            Answer::AgentRenamed(Ok(agent)) => {
                self.account.agent_names.remove(agent.id.as_str());
                self.settings.notice = Some(crate::i18n::trf("Renamed to {}.", &[&agent.name]));
                if let Some(a) = self.settings.agents.iter_mut().find(|a| a.id == agent.id) {
                    *a = agent.clone();
                }
                if let Some(t) = self.team.iter_mut().find(|t| t.id == agent.id) {
                    t.name = agent.name.clone();
                }
                if agent.id.as_str() == self.my_id() {
                    self.me_fresh(agent);
                }
            }
            Answer::AgentRenamed(Err(e)) => {
                self.settings.notice = Some(crate::i18n::trf("Not renamed: {}", &[&e]))
            }
            Answer::SiteRenamed(Ok(site)) => {
                self.settings.notice = Some(crate::i18n::trf(
                    "The site is now called {}.",
                    &[&site.name],
                ));
                self.account.site_name = site.name.clone();
                self.site_fresh(&site);
                self.settings.site = Some(*site);
            }
            Answer::SiteRenamed(Err(e)) => {
                self.settings.notice = Some(crate::i18n::trf("Not renamed: {}", &[&e]))
            }
            Answer::Welcomed(r) => {
                self.account.welcome_busy = false;
                match r {
                    Ok((me, site)) => {
                        self.site_fresh(&site);
                        self.me_fresh(me);
                        self.account_loaded();
                        fx.push(Effect::Fetch(Fetch::Team(site.id.clone())));
                    }
                    Err(e) => self.account.welcome_error = Some(e),
                }
            }
            _ => return false,
        }
        true
    }

    /// The signed-in agent as the relay now describes them (renamed, a new
    /// picture, the first sign-in question answered).
    fn me_fresh(&mut self, me: AgentView) {
        if let Some(old) = &self.me {
            if old.id != me.id {
                return;
            }
        }
        self.account.name = me.name.clone();
        if let Some(t) = self.team.iter_mut().find(|t| t.id == me.id) {
            t.name = me.name.clone();
            t.avatar = me.avatar.clone();
        }
        if let Some(a) = self.settings.agents.iter_mut().find(|a| a.id == me.id) {
            *a = me.clone();
        }
        self.me = Some(me);
    }

    /// A teammate's picture URL by id (none: initials).
    pub fn avatar_of(&self, id: &str) -> Option<String> {
        if let Some(me) = self.me.as_ref().filter(|m| m.id.as_str() == id) {
            return me.avatar.clone();
        }
        self.team
            .iter()
            .find(|t| t.id.as_str() == id)
            .and_then(|t| t.avatar.clone())
    }
}
