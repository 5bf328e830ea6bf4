//! The reducer's Web Push half: the "Notifications on this device" toggle
//! (what it shows, and the browser work it asks for as [`PushOp`]s), and
//! conversation links (`#/inbox/<site>/<conv>`, a notification's click)
//! that open one conversation once its site's list is known.

use super::{Effect, Env, Filter, State};
use crate::app::Route;
use crate::i18n::{tr, trf};
use crate::services::api::Fetch;
use protocol::{ConvId, SiteId};

/// Whether this device receives Web Push for the signed-in agent.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum PushStatus {
    /// Not known yet (asking the browser and the relay).
    #[default]
    Checking,
    /// This browser or page cannot: why.
    Unsupported(String),
    /// The agent (or a policy) refused notifications in the browser.
    Blocked,
    Off,
    On,
}

/// The toggle's state.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct DevicePush {
    pub status: PushStatus,
    /// A turn on/off is under way.
    pub busy: bool,
    /// Why the last turn on/off (or check) did not fully succeed.
    pub error: Option<String>,
}

/// Browser work for the toggle; the app runs it and answers with
/// [`PushAction::Done`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PushOp {
    /// Reads the permission, the subscription, and whether the relay
    /// knows it.
    Check,
    /// Permission, subscription, registration with the relay.
    Enable,
    /// Unsubscribes and tells the relay.
    Disable,
}

/// What the browser work found: the status now and, if something failed,
/// why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushOutcome {
    pub status: PushStatus,
    pub error: Option<String>,
}

#[derive(Debug)]
pub enum PushAction {
    /// The toggle was switched to this.
    Toggle(bool),
    Done(PushOutcome),
}

/// One conversation's address in the console.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConvLink {
    pub site: SiteId,
    pub conv: ConvId,
}

/// The hash of a conversation link's page.
const LINK_PREFIX: &str = "#/inbox/";

impl ConvLink {
    /// `#/inbox/<site>/<conv>` (ids are URL-safe by their own rules, so
    /// nothing needs decoding; anything else is no link).
    pub fn from_hash(hash: &str) -> Option<ConvLink> {
        let (site, conv) = hash.strip_prefix(LINK_PREFIX)?.split_once('/')?;
        Some(ConvLink {
            site: SiteId::new(site).ok()?,
            conv: ConvId::new(conv).ok()?,
        })
    }
}

/// A link waiting for its site's conversations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingLink {
    pub link: ConvLink,
    /// The closed conversations were asked for too.
    pub asked_closed: bool,
}

impl State {
    pub(super) fn reduce_push(&mut self, a: PushAction, fx: &mut Vec<Effect>) -> bool {
        let p = &mut self.push;
        match a {
            PushAction::Toggle(on) => {
                if p.busy || matches!(p.status, PushStatus::Unsupported(_) | PushStatus::Checking) {
                    return false;
                }
                p.busy = true;
                p.error = None;
                fx.push(Effect::Push(if on {
                    PushOp::Enable
                } else {
                    PushOp::Disable
                }));
            }
            PushAction::Done(outcome) => {
                p.busy = false;
                p.status = outcome.status;
                p.error = outcome.error;
            }
        }
        true
    }

    /// Opens `link`'s conversation: switches to its site if needed, and
    /// waits for the site's list when the conversation is not in it yet.
    pub(super) fn open_link(&mut self, link: ConvLink, env: &Env, fx: &mut Vec<Effect>) -> bool {
        if let Some(me) = &self.me {
            if !me.sites.contains(&link.site) {
                self.toast = Some(trf("You are not an agent of site {}.", &[&link.site]));
                return true;
            }
        }
        self.route = Route::Inbox;
        self.pending_link = Some(PendingLink {
            link: link.clone(),
            asked_closed: false,
        });
        if self.me.is_some() && self.model.site.as_ref() != Some(&link.site) {
            return self.switch_site(link.site.to_string(), fx);
        }
        self.try_pending_link(false, env, fx);
        true
    }

    /// Opens the pending link's conversation if it is known now. After a
    /// list came in (`listed`) without it: asks for the closed ones once,
    /// then says it was not found.
    pub(super) fn try_pending_link(&mut self, listed: bool, env: &Env, fx: &mut Vec<Effect>) {
        let Some(p) = self.pending_link.clone() else {
            return;
        };
        if self.me.is_none() || self.model.site.as_ref() != Some(&p.link.site) {
            return;
        }
        if let Some(c) = self.model.convs.get(&p.link.conv) {
            if !c.summary.open {
                self.filter = Filter::Closed;
            }
            self.pending_link = None;
            fx.push(Effect::SetHash(Route::Inbox));
            self.open_conv(p.link.conv, env, fx);
        } else if listed && !p.asked_closed {
            fx.push(Effect::Fetch(Fetch::Convs(p.link.site.clone(), "closed")));
            self.pending_link = Some(PendingLink {
                asked_closed: true,
                ..p
            });
        } else if listed {
            self.pending_link = None;
            self.toast = Some(tr("That conversation was not found.").into());
        }
    }
}
