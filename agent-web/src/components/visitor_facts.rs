//! Facts about a visitor: the live record when online, the stored profile
//! otherwise (or both).

use super::{channel_badge, ChannelBadge};
use crate::format::{attr_text, duration, path_of};
use crate::ua;
use protocol::api::VisitorProfile;
use protocol::VisitorInfo;
use std::rc::Rc;
use yew::prelude::*;

/// Pages of the visitor's history shown, newest first.
const PAGES_SHOWN: usize = 15;

#[derive(Properties, PartialEq)]
pub struct VisitorFactsProps {
    pub live: Option<Rc<VisitorInfo>>,
    pub profile: Option<Rc<VisitorProfile>>,
    /// The console's clock (ms), for "this visit".
    pub now: f64,
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
    let attrs: Vec<(String, String)> = match (user, stored) {
        (Some(u), _) if !u.attributes.is_empty() => u
            .attributes
            .iter()
            .map(|(k, v)| (k.clone(), attr_text(v)))
            .collect(),
        (_, Some(u)) => u
            .attributes
            .iter()
            .map(|(k, v)| (k.clone(), attr_text(v)))
            .collect(),
        _ => Vec::new(),
    };
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
                <dt>{"Channel"}</dt><dd><ChannelBadge channel={protocol::Channel::Wechat} />{" Official Account follower"}</dd>
            } else {
                <dt>{"Status"}</dt><dd>{ if live.is_some() { "online" } else { "offline" } }</dd>
            }
            if let Some(n) = name { <dt>{"Name"}</dt><dd>{ n }</dd> }
            if let Some(e) = email { <dt>{"E-mail"}</dt><dd>{ e }</dd> }
            if let Some(c) = p.map(|p| p.channel).filter(|c| *c != protocol::Channel::Wechat && channel_badge(*c).is_some()) {
                <dt>{"Channel"}</dt><dd><ChannelBadge channel={c} /></dd>
            }
            <dt>{"Identity"}</dt><dd>{ if verified { "✓ verified" } else { "not verified" } }</dd>
            if let Some(v) = live {
                if let Some(pg) = &v.page {
                    <dt>{"Now on"}</dt><dd>{ pg.title.clone() }<br/><span class="url">{ pg.url.clone() }</span></dd>
                }
            }
            if live.is_some() || p.is_some() {
                <dt>{"Referrer"}</dt><dd class="referrer">{ referrer.unwrap_or_else(|| "direct".into()) }</dd>
            }
            if let Some(v) = live {
                <dt>{"This visit"}</dt><dd>{ format!("{} pages, {}", v.pages, duration(props.now - v.since as f64)) }</dd>
            }
            <dt>{"Visits"}</dt><dd>{ visits }</dd>
            if let Some(u) = ua_s { <dt>{"Browser"}</dt><dd>{ format!("{} · {}", ua::browser(&u), ua::os(&u)) }</dd> }
            if !attrs.is_empty() {
                <dt>{"Attributes"}</dt>
                <dd><table class="attrs">{ for attrs.into_iter().map(|(k, v)| html! { <tr><th>{ k }</th><td>{ v }</td></tr> }) }</table></dd>
            }
            if !pages.is_empty() {
                <dt>{"Pages"}</dt>
                <dd><ol class="pages">{ for pages.into_iter().map(|(t, u)| html! { <li title={u.clone()}>{ if t.is_empty() { path_of(&u) } else { t } }</li> }) }</ol></dd>
            }
        </dl>
    }
}
