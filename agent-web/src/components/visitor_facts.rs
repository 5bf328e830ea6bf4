//! Facts about a visitor: the live record when online, the stored profile
//! otherwise (or both). The contact first — name, email, phone, the answers
//! to the site's custom form fields under their labels, consent with when it
//! was given — with "Edit contact" when the agent may correct it.

use super::{channel_badge, ChannelBadge};
use crate::format::{attr_text, duration, full_time, local_offset_minutes, path_of};
use crate::i18n::{tr, trf};
use crate::state::{CONSENT_ATTRIBUTE, PHONE_ATTRIBUTE};
use crate::ua;
use protocol::api::VisitorProfile;
use protocol::VisitorInfo;
use std::rc::Rc;
use yew::prelude::*;

/// Pages of the visitor's history shown, newest first.
const PAGES_SHOWN: usize = 15;

/// What the contact rows say, in one place (English keys, shown through `tr`).
mod say {
    use crate::i18n::en;

    pub const NAME: &str = en("Name");
    pub const EMAIL: &str = en("E-mail");
    pub const PHONE: &str = en("Phone");
    pub const CONSENT: &str = en("Consent");
    pub const GIVEN: &str = en("✓ given");
    pub const CONTACT: &str = en("Contact");
    pub const NONE_GIVEN: &str = en("none given");
    pub const EDIT: &str = en("Edit contact");
    pub const YES: &str = en("Yes");
    pub const NO: &str = en("No");
}

#[derive(Properties, PartialEq)]
pub struct VisitorFactsProps {
    pub live: Option<Rc<VisitorInfo>>,
    pub profile: Option<Rc<VisitorProfile>>,
    /// The console's clock (ms), for "this visit".
    pub now: f64,
    /// The site's custom form fields: key and label (their answers show
    /// under the label, apart from other attributes).
    #[prop_or_default]
    pub fields: Vec<(String, String)>,
    /// Opens the contact editor (none: no "Edit contact").
    #[prop_or_default]
    pub onedit: Option<Callback<MouseEvent>>,
}

/// A form answer as read: a ticked checkbox is "Yes".
fn answer_text(v: &serde_json::Value) -> String {
    match v.as_str() {
        Some("true") => tr(say::YES).into(),
        Some("false") => tr(say::NO).into(),
        _ => attr_text(v),
    }
}

#[function_component]
pub fn VisitorFacts(props: &VisitorFactsProps) -> Html {
    let live = props.live.as_deref();
    let p = props.profile.as_deref();
    let user = live.and_then(|v| v.user.as_ref());
    let stored = p.and_then(|p| p.user.as_ref());
    let name = user
        .and_then(|u| u.name.clone())
        .or_else(|| stored.and_then(|u| u.name.clone()));
    let email = user
        .and_then(|u| u.email.clone())
        .or_else(|| stored.and_then(|u| u.email.clone()));
    let verified = live
        .map(|v| v.verified)
        .or_else(|| p.map(|p| p.verified))
        .unwrap_or(false);
    let ua_s = live
        .and_then(|v| v.user_agent.clone())
        .or_else(|| p.and_then(|p| p.user_agent.clone()));
    // The live record's attributes when it has any, else the stored ones.
    let all = match (user, stored) {
        (Some(u), _) if !u.attributes.is_empty() => Some(&u.attributes),
        (_, Some(u)) => Some(&u.attributes),
        _ => None,
    };
    let attr = |k: &str| all.and_then(|a| a.get(k));
    let phone = attr(PHONE_ATTRIBUTE)
        .map(attr_text)
        .filter(|p| !p.is_empty());
    let consent = attr(CONSENT_ATTRIBUTE).map(|v| match v.as_u64() {
        Some(ms) => format!(
            "{} · {}",
            tr(say::GIVEN),
            full_time(ms, local_offset_minutes(ms))
        ),
        None => tr(say::GIVEN).to_string(),
    });
    let answers: Vec<(String, String)> = props
        .fields
        .iter()
        .filter_map(|(k, label)| Some((label.clone(), answer_text(attr(k)?))))
        .collect();
    let attrs: Vec<(String, String)> = all
        .into_iter()
        .flatten()
        .filter(|(k, _)| {
            k.as_str() != PHONE_ATTRIBUTE
                && k.as_str() != CONSENT_ATTRIBUTE
                && !props.fields.iter().any(|(f, _)| f == *k)
        })
        .map(|(k, v)| (k.clone(), attr_text(v)))
        .collect();
    let no_contact = name.is_none() && email.is_none() && phone.is_none();
    let pages: Vec<(String, String)> = p
        .map(|p| {
            p.pages
                .iter()
                .rev()
                .take(PAGES_SHOWN)
                .map(|pg| (pg.title.clone(), pg.url.clone()))
                .collect()
        })
        .unwrap_or_default();
    // The visit's external referrer (the live one, else the stored one).
    let referrer = live
        .and_then(|v| v.referrer.clone())
        .or_else(|| p.and_then(|p| p.referrer.clone()))
        .filter(|r| !r.is_empty());
    let visits = live
        .map(|v| v.visits as u64)
        .or_else(|| p.map(|p| u64::from(p.visits)))
        .unwrap_or(0);
    html! {
        <dl class="facts">
            if p.is_some_and(|p| p.channel == protocol::Channel::Wechat) {
                <dt>{tr("Channel")}</dt><dd><ChannelBadge channel={protocol::Channel::Wechat} />{" "}{tr("Official Account follower")}</dd>
            } else {
                <dt>{tr("Status")}</dt><dd>{ if live.is_some() { tr("online") } else { tr("offline") } }</dd>
            }
            if no_contact { <dt>{ tr(say::CONTACT) }</dt><dd class="hint-text">{ tr(say::NONE_GIVEN) }</dd> }
            if let Some(n) = name { <dt>{ tr(say::NAME) }</dt><dd data-fact="name">{ n }</dd> }
            if let Some(e) = email { <dt>{ tr(say::EMAIL) }</dt><dd data-fact="email">{ e }</dd> }
            if let Some(ph) = phone { <dt>{ tr(say::PHONE) }</dt><dd data-fact="phone">{ ph }</dd> }
            { for answers.into_iter().map(|(label, v)| html! { <><dt>{ label }</dt><dd data-fact="field">{ v }</dd></> }) }
            if let Some(c) = consent { <dt>{ tr(say::CONSENT) }</dt><dd data-fact="consent">{ c }</dd> }
            if let Some(onclick) = props.onedit.clone() {
                <dd class="edit-contact"><button type="button" class="link" data-action="edit-contact" {onclick}>{ tr(say::EDIT) }</button></dd>
            }
            if let Some(c) = p.map(|p| p.channel).filter(|c| *c != protocol::Channel::Wechat && channel_badge(*c).is_some()) {
                <dt>{tr("Channel")}</dt><dd><ChannelBadge channel={c} /></dd>
            }
            <dt>{tr("Identity")}</dt><dd>{ if verified { tr("✓ verified") } else { tr("not verified") } }</dd>
            if let Some(v) = live {
                if let Some(pg) = &v.page {
                    <dt>{tr("Now on")}</dt><dd>{ pg.title.clone() }<br/><span class="url">{ pg.url.clone() }</span></dd>
                }
            }
            if live.is_some() || p.is_some() {
                <dt>{tr("Referrer")}</dt><dd class="referrer">{ referrer.unwrap_or_else(|| tr("direct").into()) }</dd>
            }
            if let Some(v) = live {
                <dt>{tr("This visit")}</dt><dd>{ trf("{} pages, {}", &[&v.pages, &duration(props.now - v.since as f64)]) }</dd>
            }
            <dt>{tr("Visits")}</dt><dd>{ visits }</dd>
            if let Some(u) = ua_s { <dt>{tr("Browser")}</dt><dd>{ format!("{} · {}", ua::browser(&u), ua::os(&u)) }</dd> }
            if !attrs.is_empty() {
                <dt>{tr("Attributes")}</dt>
                <dd><table class="attrs">{ for attrs.into_iter().map(|(k, v)| html! { <tr><th>{ k }</th><td>{ v }</td></tr> }) }</table></dd>
            }
            if !pages.is_empty() {
                <dt>{tr("Pages")}</dt>
                <dd><ol class="pages">{ for pages.into_iter().map(|(t, u)| html! { <li title={u.clone()}>{ if t.is_empty() { path_of(&u) } else { t } }</li> }) }</ol></dd>
            }
        </dl>
    }
}
