//! The reducer's contact editor in a visitor's profile: an agent corrects
//! the name, email or phone a visitor gave (or fills them in from what the
//! visitor said in the chat). Checked with the forms' own bounds before it
//! is sent; only what changed is sent; the relay's answer is the profile as
//! stored. A verified identity's name and email are the host page's: the
//! editor offers the phone alone then.

use super::{Effect, State};
use crate::i18n::tr;
use crate::services::api::Fetch;
use protocol::api::{VisitorPatch, VisitorProfile};
use protocol::VisitorId;
use std::rc::Rc;

/// The attribute a visitor's phone number is kept under.
pub const PHONE_ATTRIBUTE: &str = "phone";
/// The attribute holding when the visitor gave consent (ms since epoch).
pub const CONSENT_ATTRIBUTE: &str = "consent";

/// What the editor says, in one place (English keys, shown through `tr`).
mod say {
    use crate::i18n::en;

    pub const NOT_SAVED: &str = en("Not saved: ");
}

/// The contact being edited.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactEdit {
    pub visitor: VisitorId,
    pub name: String,
    pub email: String,
    pub phone: String,
    /// The name and email are a verified identity's (not editable).
    pub verified: bool,
    pub saving: bool,
    pub error: Option<String>,
}

/// Which box of the editor changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactField {
    Name,
    Email,
    Phone,
}

/// What the editor does.
#[derive(Debug)]
pub enum ContactAction {
    /// Opens the editor on the profile shown.
    Edit,
    Field(ContactField, String),
    Save,
    Cancel,
}

/// The name, email and phone a profile holds.
pub fn contact_of(p: &VisitorProfile) -> (String, String, String) {
    let u = p.user.as_ref();
    let name = u.and_then(|u| u.name.clone()).unwrap_or_default();
    let email = u.and_then(|u| u.email.clone()).unwrap_or_default();
    let phone = u
        .and_then(|u| u.attributes.get(PHONE_ATTRIBUTE))
        .map(crate::format::attr_text)
        .unwrap_or_default();
    (name, email, phone)
}

/// What to send for `e` against the stored profile `p`: the fields that
/// changed (trimmed; empty clears one), none when nothing did.
pub fn contact_patch(e: &ContactEdit, p: &VisitorProfile) -> Option<VisitorPatch> {
    let (name, email, phone) = contact_of(p);
    let changed = |typed: &str, stored: String| {
        let typed = typed.trim();
        (typed != stored).then(|| typed.to_string())
    };
    let patch = VisitorPatch {
        name: changed(&e.name, name).filter(|_| !e.verified),
        email: changed(&e.email, email).filter(|_| !e.verified),
        phone: changed(&e.phone, phone),
    };
    (patch != VisitorPatch::default()).then_some(patch)
}

impl State {
    pub(super) fn reduce_contact(&mut self, a: ContactAction, fx: &mut Vec<Effect>) -> bool {
        match a {
            ContactAction::Edit => {
                let Some((v, p)) = &self.profile else {
                    return false;
                };
                let (name, email, phone) = contact_of(p);
                self.contact_edit = Some(ContactEdit {
                    visitor: v.clone(),
                    name,
                    email,
                    phone,
                    verified: p.verified,
                    saving: false,
                    error: None,
                });
            }
            ContactAction::Field(f, v) => {
                let Some(e) = &mut self.contact_edit else {
                    return false;
                };
                match f {
                    ContactField::Name => e.name = v,
                    ContactField::Email => e.email = v,
                    ContactField::Phone => e.phone = v,
                }
                return false;
            }
            ContactAction::Cancel => self.contact_edit = None,
            ContactAction::Save => self.save_contact(fx),
        }
        true
    }

    fn save_contact(&mut self, fx: &mut Vec<Effect>) {
        let (Some(e), Some((v, p)), Some(site)) = (
            &mut self.contact_edit,
            &self.profile,
            self.model.site.clone(),
        ) else {
            return;
        };
        if *v != e.visitor || e.saving {
            return;
        }
        let Some(patch) = contact_patch(e, p) else {
            // Nothing changed: nothing to send.
            self.contact_edit = None;
            return;
        };
        if let Err(why) = patch.validate() {
            e.error = Some(format!("{}{}", tr(say::NOT_SAVED), why.message));
            return;
        }
        e.saving = true;
        e.error = None;
        fx.push(Effect::Fetch(Fetch::PatchVisitor(
            site,
            e.visitor.clone(),
            patch,
        )));
    }

    /// The relay stored the contact (or refused it).
    pub(super) fn contact_saved(
        &mut self,
        v: VisitorId,
        r: Result<Box<VisitorProfile>, String>,
    ) -> bool {
        match r {
            Ok(p) => {
                if self.contact_edit.as_ref().is_some_and(|e| e.visitor == v) {
                    self.contact_edit = None;
                }
                // The live record follows the stored one (the relay tells
                // the other agents' consoles too).
                if let (Some(live), Some(user)) = (self.model.visitors.get_mut(&v), &p.user) {
                    Rc::make_mut(live).user = Some(user.clone());
                }
                if self.profile.as_ref().is_some_and(|(x, _)| *x == v) {
                    self.profile = Some((v, Rc::from(p)));
                }
            }
            Err(e) => {
                if let Some(edit) = self.contact_edit.as_mut().filter(|x| x.visitor == v) {
                    edit.saving = false;
                    edit.error = Some(format!("{}{e}", tr(say::NOT_SAVED)));
                }
            }
        }
        true
    }
}
