//! Drawing the console: login, top bar, connection banner, inbox with the
//! conversation and the visitor's profile, and the live visitor list.

use super::rows::{clock, duration, path_of, visitor_label, ConvRow, VisitorRow};
use super::{settings, App, ConnState, Filter, Msg, Route, VISITORS_PER_PAGE};
use crate::model::{Conv, Pending};
use crate::{notify, ua};
use protocol::{Attachment, EventBody, Side, VisitorInfo};
use serde_json::Value;
use wasm_bindgen::JsCast;
use web_sys::{HtmlInputElement, HtmlTextAreaElement, NotificationPermission};
use yew::prelude::*;

pub fn app(a: &App, ctx: &Context<App>) -> Html {
    if a.me.is_none() {
        if a.api.is_some() {
            return html! { <div class="boot">{"Connecting to the relay…"}</div> };
        }
        return login(a, ctx);
    }
    let body = match a.route {
        Route::Inbox => inbox(a, ctx),
        Route::Visitors => visitors(a, ctx),
        Route::Settings => settings::view(a, ctx),
    };
    html! {
        <div class="shell">
            { topbar(a, ctx) }
            { banner(a, ctx) }
            if let Some(t) = &a.toast {
                <div class="toast" role="alert">
                    <span>{ t }</span>
                    <button onclick={ctx.link().callback(|_| Msg::DismissToast)} aria-label="Dismiss">{"×"}</button>
                </div>
            }
            <main>{ body }</main>
        </div>
    }
}

fn login(a: &App, ctx: &Context<App>) -> Html {
    let email = NodeRef::default();
    let password = NodeRef::default();
    let onsubmit = {
        let (email, password) = (email.clone(), password.clone());
        ctx.link().callback(move |e: SubmitEvent| {
            e.prevent_default();
            let val = |r: &NodeRef| {
                r.cast::<HtmlInputElement>()
                    .map(|i| i.value())
                    .unwrap_or_default()
            };
            Msg::Login {
                email: val(&email),
                password: val(&password),
            }
        })
    };
    html! {
        <div class="login">
            <form {onsubmit} class="card">
                <h1>{"kefu"}<small>{" agents' console"}</small></h1>
                <label>{"E-mail"}<input ref={email} type="email" name="email" autocomplete="username" required=true /></label>
                <label>{"Password"}<input ref={password} type="password" name="password" autocomplete="current-password" required=true /></label>
                if let Some(e) = &a.login_error { <p class="error" role="alert">{ e }</p> }
                <button type="submit" disabled={a.login_busy}>{ if a.login_busy { "Signing in…" } else { "Sign in" } }</button>
            </form>
        </div>
    }
}

fn topbar(a: &App, ctx: &Context<App>) -> Html {
    let Some(me) = &a.me else { return html! {} };
    let nav = |r: Route, label: String| {
        html! {
            <button class={classes!("tab", (a.route == r).then_some("active"))}
                onclick={ctx.link().callback(move |_| Msg::Nav(r))} data-nav={format!("{r:?}").to_lowercase()}>
                { label }
            </button>
        }
    };
    let unread = a.model.total_unread();
    let inbox_label = if unread > 0 {
        format!("Inbox ({unread})")
    } else {
        "Inbox".into()
    };
    let on_site = ctx.link().callback(|e: Event| {
        Msg::SwitchSite(
            e.target_unchecked_into::<web_sys::HtmlSelectElement>()
                .value(),
        )
    });
    let site = a
        .model
        .site
        .as_ref()
        .map(|s| s.to_string())
        .unwrap_or_default();
    let away = a.away;
    html! {
        <header class="topbar">
            <span class="brand">{"kefu"}</span>
            if me.sites.len() > 1 {
                <select class="site-switch" onchange={on_site} aria-label="Site">
                    { for me.sites.iter().map(|s| {
                        let name = a.sites.iter().find(|v| &v.id == s).map(|v| v.name.clone()).unwrap_or_else(|| s.clone());
                        html! { <option value={s.clone()} selected={*s == site}>{ name }</option> }
                    }) }
                </select>
            } else {
                <span class="site-name">{ a.sites.first().map(|s| s.name.clone()).unwrap_or(site.clone()) }</span>
            }
            <nav>
                { nav(Route::Inbox, inbox_label) }
                { nav(Route::Visitors, format!("Visitors ({})", a.model.visitors.len())) }
                { nav(Route::Settings, "Settings".into()) }
            </nav>
            <span class="spacer"></span>
            if notify::permission() == NotificationPermission::Default {
                <button class="link" onclick={ctx.link().callback(|_| Msg::EnableNotifications)}>{"Enable notifications"}</button>
            }
            <button class={classes!("status", if away { "away" } else { "online" })}
                onclick={ctx.link().callback(move |_| Msg::SetAway(!away))}
                title="Your availability, as visitors see it" data-status={if away { "away" } else { "online" }}>
                <span class="dot"></span>{ if away { "Away" } else { "Online" } }
            </button>
            <span class="me">{ &me.name }</span>
            <button class="link" onclick={ctx.link().callback(|_| Msg::Logout)}>{"Sign out"}</button>
        </header>
    }
}

fn banner(a: &App, ctx: &Context<App>) -> Html {
    let pending = a.model.outbox.iter().filter(|p| p.failed.is_none()).count();
    let kept = if pending > 0 {
        format!(
            " {pending} unsent repl{} kept; sent on reconnect.",
            if pending == 1 { "y" } else { "ies" }
        )
    } else {
        String::new()
    };
    let (class, text, retry) = match &a.conn {
        ConnState::Online | ConnState::Idle => return html! {},
        ConnState::Connecting => ("connecting", "Connecting…".to_string(), false),
        ConnState::Retrying { at, attempt } => (
            "retrying",
            format!(
                "Connection lost. Reconnecting in {} s (attempt {attempt}).{kept}",
                ((at - super::now_ms()) / 1000.0).ceil().max(0.0)
            ),
            true,
        ),
        ConnState::Offline => ("offline", format!("You are offline.{kept}"), false),
    };
    html! {
        <div class={classes!("banner", class)} role="status" data-conn={class}>
            <span>{ text }</span>
            if retry { <button onclick={ctx.link().callback(|_| Msg::Reconnect)}>{"Retry now"}</button> }
        </div>
    }
}

// --- inbox -------------------------------------------------------------------

fn filter_keep(a: &App, f: Filter, c: &Conv) -> bool {
    let me = a.me.as_ref().map(|m| m.id.as_str()).unwrap_or_default();
    let s = &c.summary;
    match f {
        Filter::Unassigned => s.open && s.assignee.is_none(),
        Filter::Mine => s.open && s.assignee.as_ref().is_some_and(|x| x.as_str() == me),
        Filter::Open => s.open,
        Filter::Closed => !s.open,
    }
}

fn inbox(a: &App, ctx: &Context<App>) -> Html {
    let tabs = [
        (Filter::Unassigned, "Unassigned"),
        (Filter::Mine, "Mine"),
        (Filter::Open, "All open"),
        (Filter::Closed, "Closed"),
    ];
    let mut list: Vec<&Conv> = a
        .model
        .convs
        .values()
        .filter(|c| filter_keep(a, a.filter, c))
        .collect();
    list.sort_by_key(|c| std::cmp::Reverse(c.summary.updated));
    let team_name = |id: &str| a.team.iter().find(|t| t.id == id).map(|t| t.name.clone());
    html! {
        <div class="inbox">
            <aside class="convs">
                <div class="filters" role="tablist">
                    { for tabs.iter().map(|&(f, label)| {
                        let unread: u32 = if f == Filter::Closed { 0 } else {
                            a.model.convs.values().filter(|c| filter_keep(a, f, c)).map(|c| c.unread).sum()
                        };
                        html! {
                            <button role="tab" class={classes!((a.filter == f).then_some("active"))}
                                onclick={ctx.link().callback(move |_| Msg::SetFilter(f))} data-filter={label}>
                                { label }
                                if unread > 0 { <span class="unread">{ unread }</span> }
                            </button>
                        }
                    }) }
                </div>
                <ul class="conv-list">
                    { for list.iter().map(|c| html! {
                        <ConvRow key={c.summary.id.to_string()}
                            summary={c.summary.clone()}
                            name={a.model.visitor_name(&c.summary.visitor)}
                            unread={c.unread}
                            typing={c.visitor_typing}
                            active={a.model.viewing.as_ref() == Some(&c.summary.id)}
                            assignee={c.summary.assignee.as_ref().and_then(|x| team_name(x.as_str()))}
                            onopen={a.on_open_conv.clone()} />
                    }) }
                    if list.is_empty() { <li class="empty">{"No conversations here."}</li> }
                </ul>
            </aside>
            { conversation(a, ctx) }
            { profile(a, ctx) }
        </div>
    }
}

fn conversation(a: &App, ctx: &Context<App>) -> Html {
    let Some(c) = a.model.viewed() else {
        return html! { <section class="chat empty"><p>{"Pick a conversation, or start one from Visitors."}</p></section> };
    };
    let s = &c.summary;
    let me = a.me.as_ref().map(|m| m.id.clone()).unwrap_or_default();
    let mine = s.assignee.as_ref().is_some_and(|x| x.as_str() == me);
    let others: Vec<_> = a
        .team
        .iter()
        .filter(|t| t.id != me && Some(t.id.as_str()) != s.assignee.as_ref().map(|x| x.as_str()))
        .collect();
    let on_transfer = ctx.link().callback(|e: Event| {
        let v = e
            .target_unchecked_into::<web_sys::HtmlSelectElement>()
            .value();
        Msg::ConvAction("transfer", Some(v))
    });
    let pending: Vec<&Pending> = a
        .model
        .outbox
        .iter()
        .filter(|p| p.conv.as_ref() == Some(&s.id))
        .filter(|p| {
            !c.events
                .values()
                .any(|e| matches!(&e.body, EventBody::Message { cid, .. } if cid.as_str() == p.cid))
        })
        .collect();
    let oninput = ctx.link().callback(|e: InputEvent| {
        Msg::ComposerInput(e.target_unchecked_into::<HtmlTextAreaElement>().value())
    });
    let onkeydown = ctx.link().callback(Msg::ComposerKey);
    let matches = a.canned_matches();
    let files_of = |list: Option<web_sys::FileList>| -> Vec<web_sys::File> {
        list.map(|l| (0..l.length()).filter_map(|i| l.get(i)).collect())
            .unwrap_or_default()
    };
    let onpick = ctx.link().callback(move |e: Event| {
        let input = e.target_unchecked_into::<HtmlInputElement>();
        let files = files_of(input.files());
        input.set_value("");
        Msg::AttachFiles(files)
    });
    let ondrop = ctx.link().callback(move |e: DragEvent| {
        e.prevent_default();
        Msg::AttachFiles(files_of(e.data_transfer().and_then(|d| d.files())))
    });
    let ondragover = Callback::from(|e: DragEvent| e.prevent_default());
    let onpaste = ctx.link().batch_callback(move |e: Event| {
        let files = e
            .dyn_ref::<web_sys::ClipboardEvent>()
            .and_then(|c| c.clipboard_data())
            .and_then(|d| d.files())
            .filter(|f| f.length() > 0);
        // Only files are ours; pasted text goes into the composer as usual.
        files.map(|f| {
            e.prevent_default();
            Msg::AttachFiles(files_of(Some(f)))
        })
    });
    let name = a.model.visitor_name(&s.visitor);
    html! {
        <section class="chat" data-conv={s.id.to_string()} {ondrop} {ondragover}>
            <header>
                <div>
                    <h2>{ &name }</h2>
                    <span class={classes!("state", if s.open { "open" } else { "closed" })}>{ if s.open { "open" } else { "closed" } }</span>
                    <span class="assignee">{
                        match s.assignee.as_ref() {
                            Some(x) => format!("Assigned to {}", a.team.iter().find(|t| t.id == x.as_str()).map(|t| t.name.clone()).unwrap_or_else(|| x.to_string())),
                            None => "Unassigned".into(),
                        }
                    }</span>
                </div>
                <div class="actions">
                    if !mine && s.open {
                        <button data-action="assign-me" onclick={ctx.link().callback(move |_| Msg::ConvAction("assign", Some(me.clone())))}>{"Assign to me"}</button>
                    }
                    if s.open && !others.is_empty() {
                        <select onchange={on_transfer} aria-label="Transfer to" data-action="transfer">
                            <option value="" selected=true disabled=true>{"Transfer to…"}</option>
                            { for others.iter().map(|t| html! { <option value={t.id.clone()}>{ &t.name }</option> }) }
                        </select>
                    }
                    if s.open {
                        <button data-action="close" onclick={ctx.link().callback(|_| Msg::ConvAction("close", None))}>{"Close"}</button>
                    } else {
                        <button data-action="reopen" onclick={ctx.link().callback(|_| Msg::ConvAction("reopen", None))}>{"Reopen"}</button>
                    }
                </div>
            </header>
            <ol class="messages" aria-live="polite">
                if c.more_before {
                    <li class="more"><button onclick={ctx.link().callback(|_| Msg::LoadEarlier)}>{"Load earlier messages"}</button></li>
                }
                { for c.events.values().map(|e| {
                    let key = e.seq.to_string();
                    match &e.body {
                        EventBody::Message { from, text, file, .. } => {
                            let side = match from.side { Side::Visitor => "visitor", Side::Agent => "agent", Side::System => "system" };
                            let who = match from.side {
                                Side::Visitor => name.clone(),
                                _ => from.name.clone().unwrap_or_else(|| from.id.clone()),
                            };
                            let seen = from.side == Side::Agent && s.visitor_read >= e.seq;
                            html! {
                                <li {key} class={classes!("msg", side)} data-seq={e.seq.to_string()}>
                                    <div class="meta">{ who }{" · "}{ clock(e.ts) }</div>
                                    <div class="bubble">
                                        if let Some(f) = file { { attachment(a, f) } }
                                        if !text.is_empty() { <span>{ text.clone() }</span> }
                                    </div>
                                    if seen { <div class="seen">{"Seen"}</div> }
                                </li>
                            }
                        }
                        EventBody::Closed { by } => html! { <li {key} class="sys">{ format!("Closed by {} · {}", by.name.clone().unwrap_or_else(|| by.id.clone()), clock(e.ts)) }</li> },
                        EventBody::Reopened { by } => html! { <li {key} class="sys">{ format!("Reopened by {} · {}", by.name.clone().unwrap_or_else(|| by.id.clone()), clock(e.ts)) }</li> },
                        EventBody::Assigned { by, to } => html! { <li {key} class="sys">{
                            match to {
                                Some(t) => format!("{} assigned this to {}", by.name.clone().unwrap_or_default(), t.name.clone().unwrap_or_else(|| t.id.clone())),
                                None => format!("{} unassigned this", by.name.clone().unwrap_or_default()),
                            }
                        }</li> },
                    }
                }) }
                { for pending.iter().map(|p| html! {
                    <li key={p.cid.clone()} class="msg agent pending">
                        <div class="bubble">
                            if let Some(f) = &p.file { { attachment(a, f) } }
                            if !p.text.is_empty() { <span>{ p.text.clone() }</span> }
                        </div>
                        <div class="seen">{ p.failed.clone().map(|f| format!("Not sent: {f}")).unwrap_or_else(|| "Sending…".into()) }</div>
                    </li>
                }) }
                { for a.uploads.iter().filter(|u| u.1 == s.id).map(|u| html! {
                    <li key={u.0.clone()} class="msg agent pending uploading">
                        <div class="bubble">{ u.2.clone() }</div>
                        <div class="seen">{"Uploading…"}</div>
                    </li>
                }) }
            </ol>
            if c.visitor_typing {
                <div class="typing-line">
                    { format!("{name} is typing…") }
                    if let Some(d) = &c.draft { <span class="draft" title="What the visitor is typing (not sent yet)">{ d.clone() }</span> }
                </div>
            }
            if !matches.is_empty() {
                <ul class="canned-pick" role="listbox">
                    { for matches.iter().map(|m| {
                        let text = m.text.clone();
                        html! {
                            <li role="option" onclick={ctx.link().callback(move |_| Msg::PickCanned(text.clone()))}>
                                <b>{ format!("/{}", m.shortcut) }</b>{" "}{ m.text.clone() }
                            </li>
                        }
                    }) }
                </ul>
            }
            <div class="composer">
                <label class="attach" title="Attach files (or drop / paste them)">
                    <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true"><path d="M9 13V6a3 3 0 0 1 6 0v10a5 5 0 0 1-10 0V8" fill="none" stroke="currentColor" stroke-width="2" /></svg>
                    <input type="file" multiple=true onchange={onpick} aria-label="Attach files" />
                </label>
                <textarea value={a.composer.clone()} {oninput} {onkeydown} onpaste={onpaste} rows="3"
                    placeholder="Reply… (Enter sends, Shift+Enter for a new line, / for canned replies)"
                    aria-label="Reply" />
                <button class="primary" onclick={ctx.link().callback(|_| Msg::SendReply)}>{"Send"}</button>
            </div>
        </section>
    }
}

/// An attachment in a bubble: a thumbnail that opens the full image in a
/// new tab, or a card (name, size, type) that downloads the file.
fn attachment(a: &App, f: &Attachment) -> Html {
    let Some(api) = &a.api else { return html! {} };
    let href = api.file_url(f.id.as_str(), false);
    if f.thumb {
        return html! {
            <a class="att-img" href={href} target="_blank" rel="noopener noreferrer" title={f.name.clone()}>
                <img src={api.file_url(f.id.as_str(), true)} alt={f.name.clone()}
                    width={f.width.map(|w| w.min(320).to_string())} loading="lazy" />
            </a>
        };
    }
    let kind = f
        .name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_uppercase())
        .unwrap_or_else(|| f.mime.clone());
    html! {
        <a class="att-file" href={href} target="_blank" rel="noopener noreferrer" download={f.name.clone()}>
            <svg class="att-icon" viewBox="0 0 24 24" width="26" height="26" aria-hidden="true"><path d="M6 2h8l5 5v15H6z M14 2v5h5" fill="none" stroke="currentColor" stroke-width="1.6" stroke-linejoin="round" /></svg>
            <span class="att-name">{ f.name.clone() }</span>
            <small>{ format!("{} · {}", human_size(f.size), kind) }</small>
        </a>
    }
}

fn human_size(n: u64) -> String {
    match n {
        n if n >= 1024 * 1024 => format!("{:.1} MB", n as f64 / (1024.0 * 1024.0)),
        n if n >= 1024 => format!("{} KB", n.div_ceil(1024)),
        n => format!("{n} B"),
    }
}

fn attr_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn profile(a: &App, _ctx: &Context<App>) -> Html {
    let Some(c) = a.model.viewed() else {
        return html! {};
    };
    let live = a.model.visitors.get(&c.summary.visitor);
    let p = a
        .profile
        .as_ref()
        .filter(|(v, _)| *v == c.summary.visitor)
        .map(|(_, p)| p);
    html! {
        <aside class="profile">
            <h3>{"Visitor"}</h3>
            { visitor_facts(a, live.map(|v| &**v), p) }
        </aside>
    }
}

/// Facts about a visitor: the live record when online, the stored profile
/// otherwise (or both).
fn visitor_facts(a: &App, live: Option<&VisitorInfo>, p: Option<&Value>) -> Html {
    let user = live.and_then(|v| v.user.clone());
    let name = user
        .as_ref()
        .and_then(|u| u.name.clone())
        .or_else(|| p.and_then(|p| p["user"]["name"].as_str().map(str::to_string)));
    let email = user
        .as_ref()
        .and_then(|u| u.email.clone())
        .or_else(|| p.and_then(|p| p["user"]["email"].as_str().map(str::to_string)));
    let verified = live
        .map(|v| v.verified)
        .or_else(|| p.and_then(|p| p["verified"].as_bool()))
        .unwrap_or(false);
    let ua_s = live
        .and_then(|v| v.user_agent.clone())
        .or_else(|| p.and_then(|p| p["user_agent"].as_str().map(str::to_string)));
    let attrs: Vec<(String, String)> = match (&user, p) {
        (Some(u), _) if !u.attributes.is_empty() => u
            .attributes
            .iter()
            .map(|(k, v)| (k.clone(), attr_text(v)))
            .collect(),
        (_, Some(p)) => p["user"]["attributes"]
            .as_object()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), attr_text(v))).collect())
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    let pages: Vec<(String, String)> = p
        .and_then(|p| p["pages"].as_array())
        .map(|a| {
            a.iter()
                .rev()
                .take(15)
                .map(|pg| {
                    (
                        pg["title"].as_str().unwrap_or("").to_string(),
                        pg["url"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let visits = live
        .map(|v| v.visits as u64)
        .or_else(|| p.and_then(|p| p["visits"].as_u64()))
        .unwrap_or(0);
    html! {
        <dl class="facts">
            <dt>{"Status"}</dt><dd>{ if live.is_some() { "online" } else { "offline" } }</dd>
            if let Some(n) = name { <dt>{"Name"}</dt><dd>{ n }</dd> }
            if let Some(e) = email { <dt>{"E-mail"}</dt><dd>{ e }</dd> }
            <dt>{"Identity"}</dt><dd>{ if verified { "✓ verified" } else { "not verified" } }</dd>
            if let Some(v) = live {
                if let Some(pg) = &v.page {
                    <dt>{"Now on"}</dt><dd>{ pg.title.clone() }<br/><span class="url">{ pg.url.clone() }</span></dd>
                    <dt>{"Referrer"}</dt><dd>{ pg.referrer.clone().filter(|r| !r.is_empty()).unwrap_or_else(|| "direct".into()) }</dd>
                }
                <dt>{"This visit"}</dt><dd>{ format!("{} pages, {}", v.pages, duration(a.now - v.since as f64)) }</dd>
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

// --- live visitors -------------------------------------------------------------

fn visitors(a: &App, ctx: &Context<App>) -> Html {
    let mut all: Vec<&std::rc::Rc<VisitorInfo>> = a.model.visitors.values().collect();
    // Newest visits first; ties by id keep the order stable between renders.
    all.sort_by(|x, y| y.since.cmp(&x.since).then_with(|| x.id.cmp(&y.id)));
    let total = all.len();
    let pages = total.div_ceil(VISITORS_PER_PAGE).max(1);
    let page = a.visitor_page.min(pages - 1);
    let shown =
        &all[(page * VISITORS_PER_PAGE).min(total)..((page + 1) * VISITORS_PER_PAGE).min(total)];
    let now_min = (a.now / 60_000.0) as u64;
    let chatting = |v: &VisitorInfo| {
        a.model
            .conv_for_visitor(&v.id)
            .is_some_and(|c| c.summary.open)
    };
    html! {
        <div class="visitors">
            <section class="list">
                <div class="list-head">
                    <h2>{ format!("{total} visitor{} online", if total == 1 { "" } else { "s" }) }</h2>
                    if pages > 1 {
                        <div class="pager">
                            <button disabled={page == 0} onclick={ctx.link().callback(move |_| Msg::VisitorPage(page.saturating_sub(1)))}>{"‹"}</button>
                            <span>{ format!("{}–{} of {total}", page * VISITORS_PER_PAGE + 1, (page * VISITORS_PER_PAGE + shown.len())) }</span>
                            <button disabled={page + 1 >= pages} onclick={ctx.link().callback(move |_| Msg::VisitorPage(page + 1))}>{"›"}</button>
                        </div>
                    }
                </div>
                <table class="vtable">
                    <thead><tr>
                        <th>{"Visitor"}</th><th>{"Current page"}</th><th>{"Pages"}</th><th>{"Referrer"}</th>
                        <th>{"On site"}</th><th>{"Browser"}</th><th>{"Visits"}</th>
                    </tr></thead>
                    <tbody>
                        { for shown.iter().map(|v| html! {
                            <VisitorRow key={v.id.to_string()} v={(*v).clone()} {now_min}
                                selected={a.selected_visitor.as_ref() == Some(&v.id)}
                                chatting={chatting(v)}
                                onselect={a.on_select_visitor.clone()} />
                        }) }
                    </tbody>
                </table>
                if total == 0 { <p class="empty">{"Nobody is on the site right now."}</p> }
            </section>
            { visitor_detail(a, ctx) }
        </div>
    }
}

fn visitor_detail(a: &App, ctx: &Context<App>) -> Html {
    let Some(id) = a.selected_visitor.clone() else {
        return html! {};
    };
    let live = a.model.visitors.get(&id);
    let p = a.profile.as_ref().filter(|(v, _)| *v == id).map(|(_, p)| p);
    let conv = a
        .model
        .conv_for_visitor(&id)
        .filter(|c| c.summary.open)
        .map(|c| c.summary.id.clone());
    let title = live
        .map(|v| visitor_label(v))
        .unwrap_or_else(|| a.model.visitor_name(&id));
    let oninput = ctx.link().callback(|e: InputEvent| {
        Msg::InviteInput(e.target_unchecked_into::<HtmlTextAreaElement>().value())
    });
    let onsubmit = ctx.link().callback(|e: SubmitEvent| {
        e.prevent_default();
        Msg::Invite
    });
    let inviting = a
        .model
        .outbox
        .iter()
        .any(|p| p.invite.as_ref().is_some_and(|(_, v)| *v == id) && p.failed.is_none());
    html! {
        <aside class="detail" data-visitor={id.to_string()}>
            <header>
                <h3>{ title }</h3>
                <button class="link" onclick={ctx.link().callback(|_| Msg::CloseVisitor)} aria-label="Close">{"×"}</button>
            </header>
            { visitor_facts(a, live.map(|v| &**v), p) }
            if let Some(conv) = conv {
                <button class="primary" onclick={let c = conv.clone(); ctx.link().callback(move |_| Msg::OpenConv(c.clone()))}>{"Open conversation"}</button>
            } else {
                <form class="invite" {onsubmit}>
                    <label>{"Start a chat"}
                        <textarea {oninput} value={a.invite_text.clone()} rows="3" placeholder="Hi! Can I help you find something?" /></label>
                    <button class="primary" type="submit" disabled={inviting}>{ if inviting { "Sending…" } else { "Start chat" } }</button>
                </form>
            }
        </aside>
    }
}
