//! The top bar: brand, site switch, the four tabs, notifications,
//! availability, the language picker, the agent's name and "Sign out".

use crate::app::Route;
use crate::components::Avatar;
use crate::i18n::{tr, trf, Lang};
use crate::state::Action;
use protocol::api::{AgentView, SiteView};
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct TopbarProps {
    pub me: AgentView,
    /// The session token, for the agent's picture.
    #[prop_or_default]
    pub token: Option<String>,
    pub sites: Vec<SiteView>,
    /// The site on screen.
    pub site: String,
    pub route: Route,
    pub unread: u32,
    /// Visitors online.
    pub visitors: usize,
    pub away: bool,
    /// Desktop notifications are neither allowed nor refused yet.
    pub ask_notifications: bool,
    pub dispatch: Callback<Action>,
    /// The console's language, and where a choice in the picker goes.
    pub lang: Lang,
    pub onlang: Callback<Lang>,
}

/// English / 简体中文, each in its own words; `onlang` gets the choice.
pub fn lang_picker(lang: Lang, onlang: &Callback<Lang>) -> Html {
    let onchange = onlang.reform(|e: Event| {
        Lang::from_tag(
            &e.target_unchecked_into::<web_sys::HtmlSelectElement>()
                .value(),
        )
    });
    html! {
        <select class="lang-switch" aria-label={tr("Language")} data-lang={lang.tag()} {onchange}>
            { for Lang::ALL.iter().map(|l| html! {
                <option value={l.tag()} lang={l.tag()} selected={*l == lang}>{ l.name() }</option>
            }) }
        </select>
    }
}

#[function_component]
pub fn Topbar(p: &TopbarProps) -> Html {
    let d = &p.dispatch;
    let nav = |r: Route, label: String| {
        html! {
            <button class={classes!("tab", (p.route == r).then_some("active"))}
                onclick={d.reform(move |_| Action::Nav(r))} data-nav={format!("{r:?}").to_lowercase()}>
                { label }
            </button>
        }
    };
    let inbox_label = if p.unread > 0 {
        trf("Inbox ({})", &[&p.unread])
    } else {
        tr("Inbox").into()
    };
    let on_site = d.reform(|e: Event| {
        Action::SwitchSite(
            e.target_unchecked_into::<web_sys::HtmlSelectElement>()
                .value(),
        )
    });
    let site_name = |id: &str| {
        p.sites
            .iter()
            .find(|v| v.id.as_str() == id)
            .map(|v| v.name.clone())
            .unwrap_or_else(|| id.to_string())
    };
    let away = p.away;
    let status = if away { "away" } else { "online" };
    html! {
        <header class="topbar">
            <span class="brand">{"kefu"}</span>
            if p.me.sites.len() > 1 {
                <select class="site-switch" onchange={on_site} aria-label={tr("Site")}>
                    { for p.me.sites.iter().map(|s| html! {
                        <option value={s.to_string()} selected={s.as_str() == p.site}>{ site_name(s.as_str()) }</option>
                    }) }
                </select>
            } else {
                <span class="site-name">{ p.sites.first().map(|s| s.name.clone()).unwrap_or(p.site.clone()) }</span>
            }
            <nav>
                { nav(Route::Inbox, inbox_label) }
                { nav(Route::Visitors, trf("Visitors ({})", &[&p.visitors])) }
                { nav(Route::Reports, tr("Reports").into()) }
                { nav(Route::Settings, tr("Settings").into()) }
            </nav>
            <span class="spacer"></span>
            if p.ask_notifications {
                <button class="link" onclick={d.reform(|_| Action::EnableNotifications)}>{tr("Enable notifications")}</button>
            }
            <button class={classes!("status", status)}
                onclick={d.reform(move |_| Action::SetAway(!away))}
                title={tr("Your availability, as visitors see it")} data-status={status}>
                <span class="dot"></span>{ if away { tr("Away") } else { tr("Online") } }
            </button>
            { lang_picker(p.lang, &p.onlang) }
            <span class="me" data-me="">
                <Avatar name={p.me.name.clone()} url={p.me.avatar.clone()} token={p.token.clone()} />
                <span class="me-name">{ &p.me.name }</span>
            </span>
            <button class="link" onclick={d.reform(|_| Action::Logout)}>{tr("Sign out")}</button>
        </header>
    }
}
