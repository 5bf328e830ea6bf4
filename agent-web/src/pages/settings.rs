//! Settings: this device's notifications (anyone), widget appearance with
//! a live preview, allowed origins, the snippet to copy (owners), agents
//! (owners), routing — mode, reassignment, teams, labels, capacities
//! (owners), offline & hours and forms & rating (owners, in `offline.rs`,
//! with each agent's own email notifications), integrations — webhooks
//! with their delivery logs, API keys (owners) — the chat link with its QR code and canned replies (anyone on
//! the site).

mod offline;

use crate::app::Handlers;
use crate::components::{LabelChip, WidgetPreview};
use crate::format::role_name;
use crate::state::{
    allowed_file_types, Action, AgentField, Confirm, IntegrationsAction, IntegrationsState, Note,
    PushAction, PushStatus, RoutingAction, SettingsAction, ShownOnce, State, WechatField,
};
use protocol::api::integrations::{ApiKeyView, DeliveryView, HookEvent, WebhookView};
use protocol::api::{Routing, RoutingMode, WechatMode};
use protocol::limits::{MAX_CAPACITY, MAX_REASSIGN_MINUTES, MIN_CAPACITY};
use protocol::{FileClass, Position, WidgetSettings};
use wasm_bindgen::JsCast;
use web_sys::{HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;

type Dispatch = Callback<Action>;

fn input_cb(d: &Dispatch, f: impl Fn(String) -> SettingsAction + 'static) -> Callback<InputEvent> {
    d.reform(move |e: InputEvent| {
        let t = e.target_unchecked_into::<web_sys::EventTarget>();
        let v = if let Some(i) = t.dyn_ref::<HtmlInputElement>() {
            i.value()
        } else if let Some(i) = t.dyn_ref::<HtmlTextAreaElement>() {
            i.value()
        } else {
            String::new()
        };
        Action::Settings(f(v))
    })
}

fn select_cb(d: &Dispatch, f: impl Fn(String) -> SettingsAction + 'static) -> Callback<Event> {
    d.reform(move |e: Event| {
        Action::Settings(f(e.target_unchecked_into::<HtmlSelectElement>().value()))
    })
}

fn submit_cb(d: &Dispatch, a: fn() -> SettingsAction) -> Callback<SubmitEvent> {
    d.reform(move |e: SubmitEvent| {
        e.prevent_default();
        Action::Settings(a())
    })
}

fn checked(e: Event) -> bool {
    e.target_unchecked_into::<HtmlInputElement>().checked()
}

pub fn view(s: &State, h: &Handlers) -> Html {
    let d = &h.dispatch;
    let Some(w) = &s.settings.widget else {
        return html! {
            <div class="settings">{ device(s, d) }{ offline::mail(s, d) }<p>{"Loading settings…"}</p>{ canned(s, d) }</div>
        };
    };
    html! {
        <div class="settings">
            if let Some(n) = &s.settings.notice { <p class="notice" role="status">{ n }</p> }
            { device(s, d) }
            { offline::mail(s, d) }
            if s.is_owner() {
                <section class="card appearance">
                    <h3>{"Widget appearance"}</h3>
                    <div class="split">
                        { appearance(s, w, d) }
                        <WidgetPreview widget={w.clone()} />
                    </div>
                </section>
                { install(s, d) }
                { agents(s, d) }
                { routing(s, d) }
                { offline::hours(s, d) }
                { offline::forms(s, d) }
                { webhooks(s, d) }
                { api_keys(s, d) }
                { wechat(s, d) }
            }
            { chat_link(s, d) }
            { canned(s, d) }
            { blocks(s) }
        </div>
    }
}

/// "Blocked visitors" (everyone on the site) and the erasure log (owners).
fn blocks(s: &State) -> Html {
    let (Some(token), Some(site)) = (s.token.clone(), s.model.site.clone()) else {
        return html! {};
    };
    html! { <crate::components::BlocksCard {token} {site} owner={s.is_owner()} /> }
}

/// "Chat link": the site's hosted chat page to copy, and its QR code to
/// show and download (anyone on the site: agents hand it out too).
fn chat_link(s: &State, d: &Dispatch) -> Html {
    let (Some(url), Some(site)) = (&s.settings.chat_url, &s.model.site) else {
        return html! {};
    };
    // Same origin as the console: relative, so an https console never
    // asks for an http image.
    let qr = |ext: &str| format!("/chat/{}/qr.{ext}", site.as_str());
    let file = |ext: &str| format!("chat-{}.{ext}", site.as_str());
    html! {
        <section class="card chat-link">
            <h3>{"Chat link"}</h3>
            <p class="hint">{"The chat as a page of its own, for app WebViews, official-account menus,                 QR codes and e-mails. Your backend can add a signed identity to it (uid, name, email, ts, sig)                 so the visitor shows as verified."}</p>
            <div class="link-row">
                <input readonly=true value={url.clone()} aria-label="Chat link" class="chat-url" />
                <button type="button" onclick={d.reform(|_| Action::Settings(SettingsAction::CopyChatLink))}>{"Copy"}</button>
            </div>
            <div class="qr">
                <img src={qr("svg")} alt="QR code of the chat link" width="180" height="180" />
                <p>
                    <a href={qr("svg")} download={file("svg")}>{"Download SVG"}</a>
                    <a href={qr("png")} download={file("png")}>{"Download PNG"}</a>
                </p>
            </div>
        </section>
    }
}

/// "Notifications on this device": the Web Push toggle and its state.
fn device(s: &State, d: &Dispatch) -> Html {
    let p = &s.push;
    let (state, text) = match &p.status {
        PushStatus::Checking => ("checking", "Checking this device…".to_string()),
        PushStatus::On => ("on", "On: this device is told of new conversations, of visitors' messages in \
            yours and unassigned ones, and of transfers to you, whenever no console tab of yours is in view. \
            A click on a notification opens the conversation.".to_string()),
        PushStatus::Off => ("off", "Off: turn on to be told of new conversations and messages on this \
            device while no console tab of yours is in view, even with the console closed.".to_string()),
        PushStatus::Blocked => ("blocked", "Blocked by the browser: allow notifications for this site in \
            the browser's site settings, then turn this on.".to_string()),
        PushStatus::Unsupported(why) => ("unsupported", format!("Not available here: {why}.")),
    };
    let on = p.status == PushStatus::On;
    let usable = matches!(p.status, PushStatus::On | PushStatus::Off);
    let label = if p.busy {
        "Working…"
    } else if on {
        "On"
    } else {
        "Off"
    };
    html! {
        <section class="card device-push" data-push-state={state}>
            <h3>{"Notifications on this device"}</h3>
            <label class="switch">
                <input type="checkbox" role="switch" checked={on} disabled={p.busy || !usable}
                    aria-describedby="push-state"
                    onchange={d.reform(|e: Event| Action::Push(PushAction::Toggle(checked(e))))} />
                <span class="track" aria-hidden="true"></span>
                <span class="switch-label">{ label }</span>
            </label>
            <p id="push-state" class="hint">{ text }</p>
            if let Some(e) = &p.error { <p class="push-error" role="alert">{ e }</p> }
        </section>
    }
}

fn file_class_label(class: FileClass) -> &'static str {
    match class {
        FileClass::Image => "Images",
        FileClass::Pdf => "PDF",
        FileClass::Office => "Office documents",
        FileClass::Text => "Plain text",
    }
}

fn appearance(s: &State, w: &WidgetSettings, d: &Dispatch) -> Html {
    let texts = protocol::texts::pick(w.language.as_deref().unwrap_or("en"));
    let allowed = allowed_file_types(w);
    let lang = w.language.as_deref();
    html! {
        <form class="form" onsubmit={submit_cb(d, || SettingsAction::Save)}>
            <label>{"Colour"}<input type="color" value={w.color_rrggbb()} oninput={input_cb(d, SettingsAction::Color)} /></label>
            <label>{"Position"}
                <select onchange={select_cb(d, SettingsAction::Position)}>
                    <option value="right" selected={w.position == Position::Right}>{"Bottom right"}</option>
                    <option value="left" selected={w.position == Position::Left}>{"Bottom left"}</option>
                </select>
            </label>
            <label>{"Greeting"}<input value={w.greeting.clone()} placeholder={texts.greeting} oninput={input_cb(d, SettingsAction::Greeting)} /></label>
            <label>{"Offline message"}<input value={w.offline_message.clone()} placeholder={texts.offline} oninput={input_cb(d, SettingsAction::Offline)} /></label>
            <label>{"Language"}
                <select onchange={select_cb(d, SettingsAction::Language)}>
                    <option value="" selected={lang.is_none()}>{"From the visitor's browser"}</option>
                    <option value="en" selected={lang == Some("en")}>{"English"}</option>
                    <option value="zh-CN" selected={lang == Some("zh-CN")}>{"简体中文"}</option>
                </select>
            </label>
            <label class="check"><input type="checkbox" checked={w.draft_preview} data-setting="draft_preview"
                onchange={d.reform(|e: Event| Action::Settings(SettingsAction::DraftPreview(checked(e))))} />
                {"Show agents what visitors type before they send it"}</label>
            <label>{"When an agent writes while the chat is closed"}
                <select data-setting="on_agent_message" onchange={select_cb(d, SettingsAction::OnAgentMessage)}>
                    <option value="preview" selected={w.on_agent_message == protocol::OnAgentMessage::Preview}>{"Show a preview beside the launcher"}</option>
                    <option value="open" selected={w.on_agent_message == protocol::OnAgentMessage::Open}>{"Open the chat"}</option>
                </select>
            </label>
            <fieldset class="file-types">
                <legend>{"Attachments visitors and agents may send"}</legend>
                { for FileClass::ALL.into_iter().map(|class| html! {
                    <label class="check"><input type="checkbox" checked={allowed.contains(&class)} data-file-type={class.as_str()}
                        onchange={d.reform(move |e: Event| Action::Settings(SettingsAction::FileType(class, checked(e))))} />
                        { file_class_label(class) }</label>
                }) }
            </fieldset>
            <label>{"Allowed origins (one per line; empty allows any)"}
                <textarea rows="3" value={s.settings.origins.clone()} oninput={input_cb(d, SettingsAction::Origins)} placeholder="https://shop.example.com" /></label>
            { refused(s, d) }
            <button class="primary" type="submit">{"Save"}</button>
        </form>
    }
}

/// The origins refused recently, under the allowed ones, each with an
/// "Allow" button (pages with no or an opaque origin cannot be allowed).
fn refused(s: &State, d: &Dispatch) -> Html {
    let list = &s.settings.refused;
    if list.is_empty() {
        return html! {};
    }
    let busy = s.settings.allowing.is_some();
    html! {
        <div class="refused">
            <p class="hint">{"Refused recently — pages on these origins tried to load the chat:"}</p>
            <ul>
                { for list.iter().map(|r| {
                    let origin = r.origin.clone();
                    let shown = match origin.as_str() {
                        "" => "(no origin)".to_string(),
                        "null" => "null (a sandboxed frame or a local file)".to_string(),
                        o => o.to_string(),
                    };
                    let when = crate::format::full_time(r.last_seen, crate::format::local_offset_minutes(r.last_seen));
                    let times = if r.count == 1 { "once".to_string() } else { format!("{} times", r.count) };
                    let allowable = protocol::api::valid_origin(&origin);
                    html! {
                        <li data-origin={origin.clone()}>
                            <span class="origin">{ shown }</span>
                            <span class="hint">{ format!("{times}, last {when}") }</span>
                            if allowable {
                                <button type="button" disabled={busy}
                                    onclick={d.reform(move |_| Action::Settings(SettingsAction::AllowOrigin(origin.clone())))}>{"Allow"}</button>
                            }
                        </li>
                    }
                }) }
            </ul>
        </div>
    }
}

fn install(s: &State, d: &Dispatch) -> Html {
    let st = &s.settings;
    html! {
        <section class="card">
            <h3>{"Install"}</h3>
            <p class="hint">{"Paste this before </body> on every page of the site."}</p>
            <pre class="snippet">{ st.snippet.clone().unwrap_or_default() }</pre>
            <button onclick={d.reform(|_| Action::Settings(SettingsAction::CopySnippet))}>{"Copy snippet"}</button>
            if let Some(secret) = st.site.as_ref().and_then(|x| x.secret.clone()) {
                <p class="hint">{"Identity secret (for user_hash = HMAC-SHA256(secret, user id)): "}<code>{ secret }</code></p>
            }
        </section>
    }
}

/// The WeChat Official Account bridge: the URL to paste into the 公众号
/// admin and the account's settings (owners).
fn wechat(s: &State, d: &Dispatch) -> Html {
    let w = &s.settings.wechat;
    let Some(site) = s.model.site.clone() else {
        return html! {};
    };
    let host = web_sys::window()
        .and_then(|w| w.location().host().ok())
        .unwrap_or_default();
    let url = format!("https://{host}/v1/wechat/{site}");
    let field = |f: WechatField| move |v: String| SettingsAction::Wechat(f, v);
    html! {
        <section class="card wechat-settings">
            <h3>{"WeChat Official Account"}</h3>
            <p class="hint">{"In the 公众号 admin, 开发 → 基本配置 → 服务器配置: paste this URL, the same Token and EncodingAESKey, and choose the same mode. Add this relay's IP address to the IP allow-list (IP白名单)."}</p>
            <pre class="snippet" data-wechat-url="">{ url }</pre>
            <form class="form" onsubmit={submit_cb(d, || SettingsAction::SaveWechat)}>
                <label class="check"><input type="checkbox" checked={w.enabled} data-setting="wechat_enabled"
                    onchange={d.reform(|e: Event| Action::Settings(SettingsAction::WechatEnabled(checked(e))))} />
                    {"Bridge this site's WeChat followers"}</label>
                <label>{"AppID (开发者ID)"}<input value={w.app_id.clone()} placeholder="wx…" data-setting="wechat_app_id" oninput={input_cb(d, field(WechatField::AppId))} /></label>
                <label>{"AppSecret (开发者密码)"}<input type="password" value={w.app_secret.clone()} autocomplete="off" data-setting="wechat_app_secret" oninput={input_cb(d, field(WechatField::AppSecret))} /></label>
                <label>{"Token (令牌)"}<input value={w.token.clone()} data-setting="wechat_token" oninput={input_cb(d, field(WechatField::Token))} /></label>
                <label>{"EncodingAESKey (消息加解密密钥)"}<input value={w.encoding_aes_key.clone()} autocomplete="off" data-setting="wechat_aes_key" oninput={input_cb(d, field(WechatField::AesKey))} /></label>
                <label>{"Mode (消息加解密方式)"}
                    <select data-setting="wechat_mode" onchange={select_cb(d, field(WechatField::Mode))}>
                        <option value="plain" selected={w.mode == WechatMode::Plain}>{"Plain (明文模式)"}</option>
                        <option value="compatible" selected={w.mode == WechatMode::Compatible}>{"Compatible (兼容模式)"}</option>
                        <option value="safe" selected={w.mode == WechatMode::Safe}>{"Safe (安全模式)"}</option>
                    </select>
                </label>
                <p class="hint">{"AppSecret and EncodingAESKey are shown masked; leave them as they are to keep the saved ones. WeChat takes replies to a follower only within 48 h of their last message, 5 at most."}</p>
                <button class="primary" type="submit">{"Save WeChat settings"}</button>
            </form>
        </section>
    }
}

fn agents(s: &State, d: &Dispatch) -> Html {
    let st = &s.settings;
    let me = s.my_id();
    let field = |f: AgentField| move |v: String| SettingsAction::AgentField(f, v);
    html! {
        <section class="card">
            <h3>{"Agents"}</h3>
            <table class="agents">
                { for st.agents.iter().map(|ag| {
                    let id = ag.id.to_string();
                    html! {
                        <tr key={ag.id.to_string()}>
                            <td>{ ag.name.clone() }</td>
                            <td>{ ag.email.clone().unwrap_or_default() }</td>
                            <td>{ role_name(ag.role) }</td>
                            <td>if ag.id.as_str() != me {
                                <button class="link" onclick={d.reform(move |_| Action::Settings(SettingsAction::DeleteAgent(id.clone())))}>{"Remove"}</button>
                            }</td>
                        </tr>
                    }
                }) }
            </table>
            <form class="row" onsubmit={submit_cb(d, || SettingsAction::AddAgent)}>
                <input placeholder="Name" value={st.new_agent.name.clone()} oninput={input_cb(d, field(AgentField::Name))} aria-label="Name" />
                <input placeholder="E-mail" type="email" value={st.new_agent.email.clone()} oninput={input_cb(d, field(AgentField::Email))} aria-label="E-mail" />
                <input placeholder="Password" type="password" value={st.new_agent.password.clone()} oninput={input_cb(d, field(AgentField::Password))} aria-label="Password" />
                <select onchange={select_cb(d, field(AgentField::Role))} aria-label="Role">
                    <option value="agent">{"Agent"}</option>
                    <option value="owner">{"Owner"}</option>
                </select>
                <button type="submit">{"Add agent"}</button>
            </form>
        </section>
    }
}

/// A routing action from a field's value.
fn routing_cb(d: &Dispatch, f: impl Fn(String) -> RoutingAction + 'static) -> Callback<InputEvent> {
    input_cb(d, move |v| SettingsAction::Routing(f(v)))
}

fn routing_do(d: &Dispatch, f: impl Fn() -> RoutingAction + 'static) -> Callback<MouseEvent> {
    d.reform(move |_| Action::Settings(SettingsAction::Routing(f())))
}

fn routing_submit(d: &Dispatch, a: fn() -> RoutingAction) -> Callback<SubmitEvent> {
    d.reform(move |e: SubmitEvent| {
        e.prevent_default();
        Action::Settings(SettingsAction::Routing(a()))
    })
}

/// "Routing": how new conversations are handed out, reassignment after
/// no answer, teams, labels, and each agent's capacity.
fn routing(s: &State, d: &Dispatch) -> Html {
    let form = &s.settings.routing;
    let Some(r) = &form.draft else {
        return html! {
            <section class="card routing"><h3>{"Routing"}</h3><p>{"Loading…"}</p></section>
        };
    };
    let mode = select_cb(d, |v| SettingsAction::Routing(RoutingAction::Mode(v)));
    html! {
        <section class="card routing" data-section="routing">
            <h3>{"Routing"}</h3>
            <div class="form">
                <label>{"New conversations"}
                    <select data-setting="routing_mode" onchange={mode}>
                        <option value="manual" selected={r.mode == RoutingMode::Manual}>{"Manual: agents take them"}</option>
                        <option value="auto" selected={r.mode == RoutingMode::Auto}>{"Auto: to the least busy available agent"}</option>
                    </select>
                </label>
                <label>{"Reassign after N minutes without an answer (0 = off)"}
                    <input type="number" min="0" max={MAX_REASSIGN_MINUTES.to_string()} data-setting="reassign_after_min"
                        value={r.reassign_after_min.to_string()} oninput={routing_cb(d, RoutingAction::ReassignAfter)} />
                </label>
                { teams(s, r, d) }
                { labels(s, r, d) }
                <button class="primary" type="button" data-action="save-routing"
                    disabled={form.saving} onclick={routing_do(d, || RoutingAction::Save)}>{"Save routing"}</button>
            </div>
            { capacities(s, d) }
        </section>
    }
}

/// The teams of the routing form: each renamed in place, its members
/// ticked among the site's agents, removable; a new one by name.
fn teams(s: &State, r: &Routing, d: &Dispatch) -> Html {
    let form = &s.settings.routing;
    html! {
        <fieldset class="teams">
            <legend>{"Teams"}</legend>
            if r.teams.is_empty() { <p class="hint">{"No teams: every agent takes any conversation."}</p> }
            { for r.teams.iter().map(|t| {
                let id = t.id.to_string();
                let rename = { let id = id.clone(); routing_cb(d, move |name| RoutingAction::TeamName { team: id.clone(), name }) };
                let remove = { let id = id.clone(); routing_do(d, move || RoutingAction::RemoveTeam(id.clone())) };
                html! {
                    <div class="team" key={id.clone()} data-team={id.clone()}>
                        <div class="team-head">
                            <input class="grow" value={t.name.clone()} oninput={rename} aria-label={format!("Name of team {}", t.id)} />
                            <button type="button" class="link" onclick={remove}>{"Remove team"}</button>
                        </div>
                        <div class="members">
                            { for s.team.iter().map(|a| {
                                let on = t.members.contains(&a.id);
                                let (team, agent) = (id.clone(), a.id.to_string());
                                let onchange = d.reform(move |e: Event| Action::Settings(SettingsAction::Routing(
                                    RoutingAction::Member { team: team.clone(), agent: agent.clone(), on: checked(e) })));
                                html! {
                                    <label class="check"><input type="checkbox" checked={on} data-member={a.id.to_string()} {onchange} />{ &a.name }</label>
                                }
                            }) }
                        </div>
                    </div>
                }
            }) }
            <form class="row" onsubmit={routing_submit(d, || RoutingAction::AddTeam)}>
                <input class="grow" placeholder="New team (Sales, Support…)" aria-label="New team name"
                    value={form.new_team.clone()} oninput={routing_cb(d, RoutingAction::NewTeam)} />
                <button type="submit">{"Add team"}</button>
            </form>
        </fieldset>
    }
}

/// The site's labels: each as its chip with "Remove"; a new one by name
/// and colour.
fn labels(s: &State, r: &Routing, d: &Dispatch) -> Html {
    let form = &s.settings.routing;
    html! {
        <fieldset class="label-set">
            <legend>{"Labels"}</legend>
            if r.labels.is_empty() { <p class="hint">{"No labels yet."}</p> }
            <ul class="label-list">
                { for r.labels.iter().map(|l| {
                    let name = l.name.clone();
                    html! {
                        <li key={l.name.clone()}>
                            <LabelChip label={l.clone()} />
                            <button type="button" class="link" aria-label={format!("Remove label {}", l.name)}
                                onclick={routing_do(d, move || RoutingAction::RemoveLabel(name.clone()))}>{"Remove"}</button>
                        </li>
                    }
                }) }
            </ul>
            <form class="row" onsubmit={routing_submit(d, || RoutingAction::AddLabel)}>
                <input class="grow" placeholder="New label (VIP, Billing…)" aria-label="New label name"
                    value={form.new_label.clone()} oninput={routing_cb(d, RoutingAction::NewLabel)} />
                <input type="color" aria-label="Label colour" value={form.new_color.clone()}
                    oninput={routing_cb(d, RoutingAction::NewColor)} />
                <button type="submit">{"Add label"}</button>
            </form>
        </fieldset>
    }
}

/// Each agent's capacity, saved on change.
fn capacities(s: &State, d: &Dispatch) -> Html {
    html! {
        <div class="capacity">
            <h4>{"Capacity"}</h4>
            <p class="hint">{ format!("Open conversations auto-assignment gives each agent at most ({MIN_CAPACITY}–{MAX_CAPACITY}).") }</p>
            <ul class="capacity-list">
                { for s.team.iter().map(|a| {
                    let agent = a.id.to_string();
                    let onchange = d.reform(move |e: Event| Action::Settings(SettingsAction::Routing(RoutingAction::Capacity {
                        agent: agent.clone(),
                        value: e.target_unchecked_into::<HtmlInputElement>().value(),
                    })));
                    html! {
                        <li key={a.id.to_string()}>
                            <span class="grow">{ &a.name }</span>
                            <input type="number" min={MIN_CAPACITY.to_string()} max={MAX_CAPACITY.to_string()}
                                value={a.capacity.to_string()} data-capacity={a.id.to_string()}
                                aria-label={format!("Capacity of {}", a.name)} {onchange} />
                        </li>
                    }
                }) }
            </ul>
        </div>
    }
}

fn canned(s: &State, d: &Dispatch) -> Html {
    let form = &s.settings.new_canned;
    html! {
        <section class="card">
            <h3>{"Canned replies"}</h3>
            <p class="hint">{"Type / in a reply to search them."}</p>
            <ul class="canned-list">
                { for s.canned.iter().map(|c| {
                    let id = c.id.clone();
                    html! {
                        <li key={c.id.clone()}>
                            <b>{ format!("/{}", c.shortcut) }</b>{" "}{ c.text.clone() }
                            <button class="link" onclick={d.reform(move |_| Action::Settings(SettingsAction::DeleteCanned(id.clone())))}>{"Delete"}</button>
                        </li>
                    }
                }) }
            </ul>
            <form class="row" onsubmit={submit_cb(d, || SettingsAction::AddCanned)}>
                <input placeholder="shortcut" value={form.shortcut.clone()} oninput={input_cb(d, SettingsAction::CannedShortcut)} aria-label="Shortcut" />
                <input placeholder="Reply text" class="grow" value={form.text.clone()} oninput={input_cb(d, SettingsAction::CannedText)} aria-label="Reply text" />
                <button type="submit">{"Add"}</button>
            </form>
        </section>
    }
}

fn int_do(d: &Dispatch, f: impl Fn() -> IntegrationsAction + 'static) -> Callback<MouseEvent> {
    d.reform(move |_| Action::Settings(SettingsAction::Integrations(f())))
}

fn int_submit(d: &Dispatch, a: fn() -> IntegrationsAction) -> Callback<SubmitEvent> {
    d.reform(move |e: SubmitEvent| {
        e.prevent_default();
        Action::Settings(SettingsAction::Integrations(a()))
    })
}

fn int_input(d: &Dispatch, f: fn(String) -> IntegrationsAction) -> Callback<InputEvent> {
    input_cb(d, move |v| SettingsAction::Integrations(f(v)))
}

fn when(ms: u64) -> String {
    crate::format::full_time(ms, crate::format::local_offset_minutes(ms))
}

/// A section's line of what happened: an error in the error style.
fn note(n: &Option<Note>) -> Html {
    match n {
        Some(n) if n.bad => html! { <p class="int-note bad" role="alert">{ &n.text }</p> },
        Some(n) => html! { <p class="int-note" role="status">{ &n.text }</p> },
        None => html! {},
    }
}

/// A secret or key shown this once, with "Copy" and what it is for.
fn shown_once(
    d: &Dispatch,
    s: &ShownOnce,
    what: &str,
    hint: String,
    copy: fn() -> IntegrationsAction,
    dismiss: fn() -> IntegrationsAction,
) -> Html {
    html! {
        <div class="shown-once" data-once={what.to_string()} data-id={s.id.clone()}>
            <code class="once-text">{ &s.text }</code>
            <div class="row">
                <button type="button" class="primary" onclick={int_do(d, copy)}>{"Copy"}</button>
                <button type="button" onclick={int_do(d, dismiss)}>{"Done"}</button>
            </div>
            <p class="hint">{ hint }</p>
        </div>
    }
}

/// "Really?" beside a destructive button while it is being confirmed.
fn confirm_or(st: &IntegrationsState, d: &Dispatch, c: Confirm, label: &str, yes: &str) -> Html {
    if st.confirming.as_ref() == Some(&c) {
        return html! {
            <span class="confirm">
                <button type="button" class="danger" data-action="confirm" onclick={int_do(d, || IntegrationsAction::Confirmed)}>{ yes }</button>
                <button type="button" onclick={int_do(d, || IntegrationsAction::Cancel)}>{"Cancel"}</button>
            </span>
        };
    }
    html! {
        <button type="button" class="link" onclick={int_do(d, move || IntegrationsAction::Ask(c.clone()))}>{ label }</button>
    }
}

/// "Webhooks": the site's endpoints, each with its events, state and
/// delivery log; a new one by URL and events.
fn webhooks(s: &State, d: &Dispatch) -> Html {
    let st = &s.settings.integrations;
    html! {
        <section class="card integrations webhooks" data-section="webhooks">
            <h3>{"Webhooks"}</h3>
            <p class="hint">{"The site's events, POSTed as signed JSON to your endpoints (https://; retried with backoff; paused after failing for long)."}</p>
            { note(&st.hooks_note) }
            if let Some(secret) = &st.secret {
                { shown_once(d, secret, "secret", "Shown once — use it to verify the Kefu-Signature header".into(),
                    || IntegrationsAction::CopySecret, || IntegrationsAction::DismissSecret) }
            }
            { match &st.hooks {
                None => html! { <p>{"Loading…"}</p> },
                Some(list) if list.is_empty() => html! { <p class="hint">{"No webhooks yet."}</p> },
                Some(list) => html! {
                    <ul class="hook-list">{ for list.iter().map(|h| hook_row(st, h, d)) }</ul>
                },
            } }
            <form class="add-hook" novalidate=true onsubmit={int_submit(d, || IntegrationsAction::AddHook)}>
                <label>{"Endpoint URL"}
                    <input type="url" inputmode="url" placeholder="https://hooks.example.com/kefu" data-field="hook-url"
                        value={st.new_url.clone()} oninput={int_input(d, IntegrationsAction::Url)} /></label>
                <fieldset class="hook-events">
                    <legend>{"Events"}</legend>
                    { for HookEvent::ALL.into_iter().map(|e| html! {
                        <label class="check"><input type="checkbox" checked={st.new_events.contains(&e)} data-event={e.name()}
                            onchange={d.reform(move |ev: Event| Action::Settings(SettingsAction::Integrations(IntegrationsAction::Event(e, checked(ev)))))} />
                            <code>{ e.name() }</code></label>
                    }) }
                </fieldset>
                <button type="submit" class="primary" disabled={st.adding}>{"Add webhook"}</button>
            </form>
        </section>
    }
}

fn hook_row(st: &IntegrationsState, h: &WebhookView, d: &Dispatch) -> Html {
    let id = h.id.clone();
    let open = st.log.as_ref().is_some_and(|l| l.hook == h.id);
    let events = h
        .events
        .iter()
        .map(|e| e.name())
        .collect::<Vec<_>>()
        .join(", ");
    let pause = {
        let (id, paused) = (id.clone(), !h.paused);
        int_do(d, move || IntegrationsAction::Pause(id.clone(), paused))
    };
    let log = {
        let id = id.clone();
        int_do(d, move || IntegrationsAction::Deliveries(id.clone()))
    };
    html! {
        <li class={classes!("hook", h.paused.then_some("paused"))} key={h.id.clone()} data-hook={h.id.clone()}>
            <div class="hook-url">{ &h.url }</div>
            <div class="hook-events-list">{ events }</div>
            if h.paused {
                <p class="paused-reason" role="alert">
                    <b>{"Paused"}</b>{": "}{ h.paused_reason.clone().unwrap_or_else(|| "no deliveries until resumed".into()) }
                </p>
            }
            <div class="hint">
                { format!("Added {}", when(h.created)) }
                if h.failures > 0 { <span class="failures">{ format!(" · {} failed in a row", h.failures) }</span> }
            </div>
            <div class="row hook-actions">
                <button type="button" data-action="deliveries" aria-expanded={open.to_string()} onclick={log}>
                    { if open { "Hide deliveries" } else { "Deliveries" } }</button>
                <button type="button" data-action="pause" onclick={pause}>{ if h.paused { "Resume" } else { "Pause" } }</button>
                { confirm_or(st, d, Confirm::DeleteHook(id), "Delete", "Delete webhook") }
            </div>
            if open { { deliveries(st, h, d) } }
        </li>
    }
}

/// An endpoint's last attempts, newest first, each one redeliverable.
fn deliveries(st: &IntegrationsState, h: &WebhookView, d: &Dispatch) -> Html {
    let Some(log) = &st.log else {
        return html! {};
    };
    html! {
        <div class="deliveries">
            <div class="row deliveries-head">
                <h4 class="grow">{"Deliveries (last 50, newest first)"}</h4>
                <button type="button" data-action="refresh-deliveries" onclick={int_do(d, || IntegrationsAction::RefreshDeliveries)}>{"Refresh"}</button>
            </div>
            { match &log.list {
                None => html! { <p>{"Loading…"}</p> },
                Some(list) if list.is_empty() => html! { <p class="hint">{"No deliveries yet."}</p> },
                Some(list) => html! {
                    <ul class="delivery-list">{ for list.iter().map(|x| delivery_row(h, x, d)) }</ul>
                },
            } }
        </div>
    }
}

fn delivery_row(h: &WebhookView, x: &DeliveryView, d: &Dispatch) -> Html {
    let result = match (x.status, &x.error) {
        (Some(s), Some(e)) => format!("HTTP {s} · {e}"),
        (Some(s), None) => format!("HTTP {s}"),
        (None, Some(e)) => e.clone(),
        (None, None) => "no answer".into(),
    };
    let redeliver = {
        let (hook, delivery) = (h.id.clone(), x.id.clone());
        int_do(d, move || IntegrationsAction::Redeliver {
            hook: hook.clone(),
            delivery: delivery.clone(),
        })
    };
    html! {
        <li class={classes!("delivery", if x.ok { "ok" } else { "failed" })} key={x.id.clone()}
            data-delivery={x.id.clone()} data-event-id={x.event_id.clone()} data-ok={x.ok.to_string()}
            data-status={x.status.map(|s| s.to_string()).unwrap_or_default()}>
            <div class="delivery-head">
                <span class={classes!("outcome", if x.ok { "ok" } else { "failed" })}>{ if x.ok { "ok" } else { "failed" } }</span>
                <code>{ x.event.name() }</code>
                <span class="hint">{ format!("attempt #{}", x.attempt) }</span>
            </div>
            <div class="event-id">{ &x.event_id }</div>
            <div class="hint">{ format!("{} · {result} · {} ms", when(x.at), x.duration_ms) }</div>
            <button type="button" data-action="redeliver" onclick={redeliver}>{"Redeliver"}</button>
        </li>
    }
}

/// "API keys": programs that work the site as a named bot.
fn api_keys(s: &State, d: &Dispatch) -> Html {
    let st = &s.settings.integrations;
    html! {
        <section class="card integrations api-keys" data-section="api-keys">
            <h3>{"API keys"}</h3>
            <p class="hint">{"A program with a key works the site's conversations through the HTTP API as a bot agent of that name."}</p>
            { note(&st.keys_note) }
            if let Some(key) = &st.new_key {
                { shown_once(d, key, "key", format!("Shown once — use as Authorization: Bearer {}", key.text),
                    || IntegrationsAction::CopyKey, || IntegrationsAction::DismissKey) }
            }
            { match &st.keys {
                None => html! { <p>{"Loading…"}</p> },
                Some(list) if list.is_empty() => html! { <p class="hint">{"No API keys yet."}</p> },
                Some(list) => html! {
                    <ul class="key-list">{ for list.iter().map(|k| key_row(st, k, d)) }</ul>
                },
            } }
            <form class="row" onsubmit={int_submit(d, || IntegrationsAction::AddKey)}>
                <input class="grow" placeholder="Bot name (Order bot, CRM…)" aria-label="Bot name" data-field="key-name"
                    value={st.new_key_name.clone()} oninput={int_input(d, IntegrationsAction::KeyName)} />
                <button type="submit">{"Create key"}</button>
            </form>
        </section>
    }
}

fn key_row(st: &IntegrationsState, k: &ApiKeyView, d: &Dispatch) -> Html {
    html! {
        <li class="api-key" key={k.id.clone()} data-key={k.id.clone()}>
            <div class="key-name"><b>{ &k.name }</b></div>
            <code class="key-prefix">{ format!("{}…", k.prefix) }</code>
            <span class="hint">{ format!("Created {}", when(k.created)) }</span>
            <div class="key-actions">{ confirm_or(st, d, Confirm::RevokeKey(k.id.clone()), "Revoke", "Revoke key") }</div>
        </li>
    }
}
