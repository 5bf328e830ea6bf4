//! Settings: this device's notifications (anyone), widget appearance with
//! a live preview, allowed origins, the snippet to copy (owners), agents
//! (owners), routing — mode, reassignment, teams, labels, capacities
//! (owners), offline & hours and forms & rating (owners, in `offline.rs`,
//! with each agent's own email notifications), integrations — webhooks
//! with their delivery logs, API keys (owners) — the chat link with its QR code and canned replies (anyone on
//! the site).

mod offline;

use crate::app::Handlers;
use crate::components::{Avatar, LabelChip, WidgetPreview};
use crate::format::role_name;
use crate::i18n::{tr, trf};
use crate::state::{
    allowed_file_types, AccountAction, Action, AgentField, Confirm, IntegrationsAction,
    IntegrationsState, Note, PushAction, PushStatus, RoutingAction, SettingsAction, ShownOnce,
    State, WechatField,
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
            <div class="settings">{ profile(s, d) }{ device(s, d) }{ offline::mail(s, d) }<p>{tr("Loading settings…")}</p>{ canned(s, d) }</div>
        };
    };
    html! {
        <div class="settings">
            if let Some(n) = &s.settings.notice { <p class="notice" role="status">{ n }</p> }
            { profile(s, d) }
            { device(s, d) }
            { offline::mail(s, d) }
            if s.is_owner() {
                <section class="card appearance">
                    <h3>{tr("Widget appearance")}</h3>
                    <div class="split">
                        { appearance(s, w, d) }
                        <WidgetPreview widget={w.clone()} lang={preview_lang(s, w)} />
                    </div>
                </section>
                { site_name(s, d) }
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
            <h3>{tr("Chat link")}</h3>
            <p class="hint">{tr("The chat as a page of its own, for app WebViews, official-account menus, \
                QR codes and e-mails. Your backend can add a signed identity to it (uid, name, email, ts, sig) \
                so the visitor shows as verified.")}</p>
            <div class="link-row">
                <input readonly=true value={url.clone()} aria-label={tr("Chat link")} class="chat-url" />
                <button type="button" onclick={d.reform(|_| Action::Settings(SettingsAction::CopyChatLink))}>{tr("Copy")}</button>
            </div>
            <div class="qr">
                <img src={qr("svg")} alt={tr("QR code of the chat link")} width="180" height="180" />
                <p>
                    <a href={qr("svg")} download={file("svg")}>{tr("Download SVG")}</a>
                    <a href={qr("png")} download={file("png")}>{tr("Download PNG")}</a>
                </p>
            </div>
        </section>
    }
}

/// "Notifications on this device": the Web Push toggle and its state.
fn device(s: &State, d: &Dispatch) -> Html {
    let p = &s.push;
    let (state, text) = match &p.status {
        PushStatus::Checking => ("checking", tr("Checking this device…").to_string()),
        PushStatus::On => ("on", tr("On: this device is told of new conversations, of visitors' messages in \
            yours and unassigned ones, and of transfers to you, whenever no console tab of yours is in view. \
            A click on a notification opens the conversation.").to_string()),
        PushStatus::Off => ("off", tr("Off: turn on to be told of new conversations and messages on this \
            device while no console tab of yours is in view, even with the console closed.").to_string()),
        PushStatus::Blocked => ("blocked", tr("Blocked by the browser: allow notifications for this site in \
            the browser's site settings, then turn this on.").to_string()),
        PushStatus::Unsupported(why) => ("unsupported", trf("Not available here: {}.", &[&why])),
    };
    let on = p.status == PushStatus::On;
    let usable = matches!(p.status, PushStatus::On | PushStatus::Off);
    let label = if p.busy {
        tr("Working…")
    } else if on {
        tr("On")
    } else {
        tr("Off")
    };
    html! {
        <section class="card device-push" data-push-state={state}>
            <h3>{tr("Notifications on this device")}</h3>
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
        FileClass::Image => tr("Images"),
        FileClass::Pdf => "PDF",
        FileClass::Office => tr("Office documents"),
        FileClass::Text => tr("Plain text"),
    }
}

/// The language the preview shows: the one whose texts are being edited,
/// else the site's, else English.
fn preview_lang(s: &State, w: &WidgetSettings) -> String {
    match s.settings.texts_lang.as_str() {
        "" => w.language.clone().unwrap_or_else(|| "en".into()),
        l => l.to_string(),
    }
}

/// "Texts for": every language (the plain fields), English or Chinese;
/// then the greeting and offline text of that choice, and for a language
/// the form's own labels in it.
fn site_texts(s: &State, w: &WidgetSettings, d: &Dispatch) -> Html {
    let edit = s.settings.texts_lang.as_str();
    let texts = protocol::texts::pick(&preview_lang(s, w));
    let own = w.texts.get(edit);
    let (greeting, offline) = match (edit, own) {
        ("", _) => (w.greeting.clone(), w.offline_message.clone()),
        (_, Some(t)) => (t.greeting.clone(), t.offline_message.clone()),
        (_, None) => (String::new(), String::new()),
    };
    // Left empty, a language's text is the plain one, then the built-in.
    let fallback = |own: &str, builtin: &'static str| {
        if own.is_empty() {
            builtin.to_string()
        } else {
            own.to_string()
        }
    };
    let (greeting_ph, offline_ph) = if edit.is_empty() {
        (texts.greeting.to_string(), texts.offline.to_string())
    } else {
        (
            fallback(&w.greeting, texts.greeting),
            fallback(&w.offline_message, texts.offline),
        )
    };
    let tab = |value: &'static str, label: &'static str| {
        html! {
            <button type="button" role="tab" aria-selected={(edit == value).to_string()} data-texts-lang={value}
                class={classes!((edit == value).then_some("active"))}
                onclick={d.reform(move |_| Action::Settings(SettingsAction::TextsLang(value.into())))}>{ label }</button>
        }
    };
    let label_input = |key: String, plain: String| {
        let value = own
            .and_then(|t| t.labels.get(&key))
            .cloned()
            .unwrap_or_default();
        let k = key.clone();
        html! {
            <label>{ plain.clone() }
                <input value={value} placeholder={plain} data-label-key={key}
                    oninput={input_cb(d, move |v| SettingsAction::Label(k.clone(), v))} /></label>
        }
    };
    let form = &w.prechat;
    html! {
        <fieldset class="site-texts" data-texts-lang={edit.to_string()}>
            <legend>{tr("Texts for")}</legend>
            <div class="compose-mode" role="tablist" aria-label={tr("Texts for")}>
                { tab("", tr("Every language")) }
                { tab("en", crate::i18n::Lang::En.name()) }
                { tab("zh-CN", crate::i18n::Lang::Zh.name()) }
            </div>
            <p class="hint">{ if edit.is_empty() {
                tr("Used in any language that has no text of its own below.")
            } else {
                tr("Left empty: the text for every language, else the built-in one.")
            } }</p>
            <label>{tr("Greeting")}<input value={greeting} placeholder={greeting_ph} data-setting="greeting" oninput={input_cb(d, SettingsAction::Greeting)} /></label>
            <label>{tr("Offline message")}<input value={offline} placeholder={offline_ph} data-setting="offline_message" oninput={input_cb(d, SettingsAction::Offline)} /></label>
            if !edit.is_empty() && (!form.fields.is_empty() || !form.consent.is_empty()) {
                <fieldset class="form-labels">
                    <legend>{tr("Form labels")}</legend>
                    { for form.fields.iter().map(|f| label_input(f.key.clone(), f.label.clone())) }
                    if !form.consent.is_empty() {
                        { label_input(protocol::api::CONSENT_LABEL.to_string(), form.consent.clone()) }
                    }
                </fieldset>
            }
        </fieldset>
    }
}

fn appearance(s: &State, w: &WidgetSettings, d: &Dispatch) -> Html {
    let allowed = allowed_file_types(w);
    let lang = w.language.as_deref();
    html! {
        <form class="form" onsubmit={submit_cb(d, || SettingsAction::Save)}>
            <label>{tr("Colour")}<input type="color" value={w.color_rrggbb()} oninput={input_cb(d, SettingsAction::Color)} /></label>
            <label>{tr("Position")}
                <select onchange={select_cb(d, SettingsAction::Position)}>
                    <option value="right" selected={w.position == Position::Right}>{tr("Bottom right")}</option>
                    <option value="left" selected={w.position == Position::Left}>{tr("Bottom left")}</option>
                </select>
            </label>
            <label>{tr("Language")}
                <select onchange={select_cb(d, SettingsAction::Language)}>
                    <option value="" selected={lang.is_none()}>{tr("From the visitor's browser")}</option>
                    <option value="en" selected={lang == Some("en")}>{ crate::i18n::Lang::En.name() }</option>
                    <option value="zh-CN" selected={lang == Some("zh-CN")}>{"简体中文"}</option>
                </select>
            </label>
            { site_texts(s, w, d) }
            <label class="check"><input type="checkbox" checked={w.draft_preview} data-setting="draft_preview"
                onchange={d.reform(|e: Event| Action::Settings(SettingsAction::DraftPreview(checked(e))))} />
                {tr("Show agents what visitors type before they send it")}</label>
            <label>{tr("When an agent writes while the chat is closed")}
                <select data-setting="on_agent_message" onchange={select_cb(d, SettingsAction::OnAgentMessage)}>
                    <option value="preview" selected={w.on_agent_message == protocol::OnAgentMessage::Preview}>{tr("Show a preview beside the launcher")}</option>
                    <option value="open" selected={w.on_agent_message == protocol::OnAgentMessage::Open}>{tr("Open the chat")}</option>
                </select>
            </label>
            <fieldset class="file-types">
                <legend>{tr("Attachments visitors and agents may send")}</legend>
                { for FileClass::ALL.into_iter().map(|class| html! {
                    <label class="check"><input type="checkbox" checked={allowed.contains(&class)} data-file-type={class.as_str()}
                        onchange={d.reform(move |e: Event| Action::Settings(SettingsAction::FileType(class, checked(e))))} />
                        { file_class_label(class) }</label>
                }) }
            </fieldset>
            <label>{tr("Allowed origins (one per line; empty allows any)")}
                <textarea rows="3" value={s.settings.origins.clone()} oninput={input_cb(d, SettingsAction::Origins)} placeholder="https://shop.example.com" /></label>
            { refused(s, d) }
            <button class="primary" type="submit">{tr("Save")}</button>
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
            <p class="hint">{tr("Refused recently — pages on these origins tried to load the chat:")}</p>
            <ul>
                { for list.iter().map(|r| {
                    let origin = r.origin.clone();
                    let shown = match origin.as_str() {
                        "" => tr("(no origin)").to_string(),
                        "null" => tr("null (a sandboxed frame or a local file)").to_string(),
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
                                    onclick={d.reform(move |_| Action::Settings(SettingsAction::AllowOrigin(origin.clone())))}>{tr("Allow")}</button>
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
            <h3>{tr("Install")}</h3>
            <p class="hint">{tr("Paste this before </body> on every page of the site.")}</p>
            <pre class="snippet">{ st.snippet.clone().unwrap_or_default() }</pre>
            <button onclick={d.reform(|_| Action::Settings(SettingsAction::CopySnippet))}>{tr("Copy snippet")}</button>
            if let Some(secret) = st.site.as_ref().and_then(|x| x.secret.clone()) {
                <p class="hint">{tr("Identity secret (for user_hash = HMAC-SHA256(secret, user id)): ")}<code>{ secret }</code></p>
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
            <h3>{tr("WeChat Official Account")}</h3>
            <p class="hint">{tr("In the 公众号 admin, 开发 → 基本配置 → 服务器配置: paste this URL, the same Token and EncodingAESKey, and choose the same mode. Add this relay's IP address to the IP allow-list (IP白名单).")}</p>
            <pre class="snippet" data-wechat-url="">{ url }</pre>
            <form class="form" onsubmit={submit_cb(d, || SettingsAction::SaveWechat)}>
                <label class="check"><input type="checkbox" checked={w.enabled} data-setting="wechat_enabled"
                    onchange={d.reform(|e: Event| Action::Settings(SettingsAction::WechatEnabled(checked(e))))} />
                    {tr("Bridge this site's WeChat followers")}</label>
                <label>{tr("AppID (开发者ID)")}<input value={w.app_id.clone()} placeholder="wx…" data-setting="wechat_app_id" oninput={input_cb(d, field(WechatField::AppId))} /></label>
                <label>{tr("AppSecret (开发者密码)")}<input type="password" value={w.app_secret.clone()} autocomplete="off" data-setting="wechat_app_secret" oninput={input_cb(d, field(WechatField::AppSecret))} /></label>
                <label>{tr("Token (令牌)")}<input value={w.token.clone()} data-setting="wechat_token" oninput={input_cb(d, field(WechatField::Token))} /></label>
                <label>{tr("EncodingAESKey (消息加解密密钥)")}<input value={w.encoding_aes_key.clone()} autocomplete="off" data-setting="wechat_aes_key" oninput={input_cb(d, field(WechatField::AesKey))} /></label>
                <label>{tr("Mode (消息加解密方式)")}
                    <select data-setting="wechat_mode" onchange={select_cb(d, field(WechatField::Mode))}>
                        <option value="plain" selected={w.mode == WechatMode::Plain}>{tr("Plain (明文模式)")}</option>
                        <option value="compatible" selected={w.mode == WechatMode::Compatible}>{tr("Compatible (兼容模式)")}</option>
                        <option value="safe" selected={w.mode == WechatMode::Safe}>{tr("Safe (安全模式)")}</option>
                    </select>
                </label>
                <p class="hint">{tr("AppSecret and EncodingAESKey are shown masked; leave them as they are to keep the saved ones. WeChat takes replies to a follower only within 48 h of their last message, 5 at most.")}</p>
                <button class="primary" type="submit">{tr("Save WeChat settings")}</button>
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
            <h3>{tr("Agents")}</h3>
            <table class="agents">
                { for st.agents.iter().map(|ag| {
                    let id = ag.id.to_string();
                    let typed = s.account.agent_names.get(&id).cloned().unwrap_or_else(|| ag.name.clone());
                    let (i1, i2) = (id.clone(), id.clone());
                    html! {
                        <tr key={ag.id.to_string()} data-agent={ag.email.clone().unwrap_or_default()}>
                            <td><Avatar name={ag.name.clone()} url={ag.avatar.clone()} token={s.token.clone()} /></td>
                            <td>
                                <form class="rename" onsubmit={d.reform(move |e: SubmitEvent| { e.prevent_default(); Action::Account(AccountAction::RenameAgent(i1.clone())) })}>
                                    <input value={typed} aria-label={tr("Name")} data-rename="agent" maxlength="128"
                                        oninput={d.reform(move |e: InputEvent| Action::Account(AccountAction::AgentName(i2.clone(), e.target_unchecked_into::<HtmlInputElement>().value())))} />
                                    <button class="link" type="submit">{ tr("Rename") }</button>
                                </form>
                            </td>
                            <td>{ ag.email.clone().unwrap_or_default() }</td>
                            <td>{ role_name(ag.role) }</td>
                            <td>if ag.id.as_str() != me {
                                <button class="link" onclick={d.reform(move |_| Action::Settings(SettingsAction::DeleteAgent(id.clone())))}>{tr("Remove")}</button>
                            }</td>
                        </tr>
                    }
                }) }
            </table>
            <form class="row" onsubmit={submit_cb(d, || SettingsAction::AddAgent)}>
                <input placeholder={tr("Name")} value={st.new_agent.name.clone()} oninput={input_cb(d, field(AgentField::Name))} aria-label={tr("Name")} />
                <input placeholder={tr("E-mail")} type="email" value={st.new_agent.email.clone()} oninput={input_cb(d, field(AgentField::Email))} aria-label={tr("E-mail")} />
                <input placeholder={tr("Password")} type="password" value={st.new_agent.password.clone()} oninput={input_cb(d, field(AgentField::Password))} aria-label={tr("Password")} />
                // `selected` from the form's state, which keeps the chosen
                // role after an add: the select shows what "Add agent" creates.
                <select onchange={select_cb(d, field(AgentField::Role))} aria-label={tr("Role")} data-new-agent="role">
                    <option value="agent" selected={!st.new_agent.owner}>{ tr("Agent") }</option>
                    <option value="owner" selected={st.new_agent.owner}>{ tr("Owner") }</option>
                </select>
                <button type="submit">{tr("Add agent")}</button>
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
            <section class="card routing"><h3>{tr("Routing")}</h3><p>{tr("Loading…")}</p></section>
        };
    };
    let mode = select_cb(d, |v| SettingsAction::Routing(RoutingAction::Mode(v)));
    html! {
        <section class="card routing" data-section="routing">
            <h3>{tr("Routing")}</h3>
            <div class="form">
                <label>{tr("New conversations")}
                    <select data-setting="routing_mode" onchange={mode}>
                        <option value="manual" selected={r.mode == RoutingMode::Manual}>{tr("Manual: agents take them")}</option>
                        <option value="auto" selected={r.mode == RoutingMode::Auto}>{tr("Auto: to the least busy available agent")}</option>
                    </select>
                </label>
                <label>{tr("Reassign after N minutes without an answer (0 = off)")}
                    <input type="number" min="0" max={MAX_REASSIGN_MINUTES.to_string()} data-setting="reassign_after_min"
                        value={r.reassign_after_min.to_string()} oninput={routing_cb(d, RoutingAction::ReassignAfter)} />
                </label>
                { teams(s, r, d) }
                { labels(s, r, d) }
                <button class="primary" type="button" data-action="save-routing"
                    disabled={form.saving} onclick={routing_do(d, || RoutingAction::Save)}>{tr("Save routing")}</button>
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
            <legend>{tr("Teams")}</legend>
            if r.teams.is_empty() { <p class="hint">{tr("No teams: every agent takes any conversation.")}</p> }
            { for r.teams.iter().map(|t| {
                let id = t.id.to_string();
                let rename = { let id = id.clone(); routing_cb(d, move |name| RoutingAction::TeamName { team: id.clone(), name }) };
                let remove = { let id = id.clone(); routing_do(d, move || RoutingAction::RemoveTeam(id.clone())) };
                html! {
                    <div class="team" key={id.clone()} data-team={id.clone()}>
                        <div class="team-head">
                            <input class="grow" value={t.name.clone()} oninput={rename} aria-label={trf("Name of team {}", &[&t.id])} />
                            <button type="button" class="link" onclick={remove}>{tr("Remove team")}</button>
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
                <input class="grow" placeholder={tr("New team (Sales, Support…)")} aria-label={tr("New team name")}
                    value={form.new_team.clone()} oninput={routing_cb(d, RoutingAction::NewTeam)} />
                <button type="submit">{tr("Add team")}</button>
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
            <legend>{tr("Labels")}</legend>
            if r.labels.is_empty() { <p class="hint">{tr("No labels yet.")}</p> }
            <ul class="label-list">
                { for r.labels.iter().map(|l| {
                    let name = l.name.clone();
                    html! {
                        <li key={l.name.clone()}>
                            <LabelChip label={l.clone()} />
                            <button type="button" class="link" aria-label={trf("Remove label {}", &[&l.name])}
                                onclick={routing_do(d, move || RoutingAction::RemoveLabel(name.clone()))}>{tr("Remove")}</button>
                        </li>
                    }
                }) }
            </ul>
            <form class="row" onsubmit={routing_submit(d, || RoutingAction::AddLabel)}>
                <input class="grow" placeholder={tr("New label (VIP, Billing…)")} aria-label={tr("New label name")}
                    value={form.new_label.clone()} oninput={routing_cb(d, RoutingAction::NewLabel)} />
                <input type="color" aria-label={tr("Label colour")} value={form.new_color.clone()}
                    oninput={routing_cb(d, RoutingAction::NewColor)} />
                <button type="submit">{tr("Add label")}</button>
            </form>
        </fieldset>
    }
}

/// Each agent's capacity, saved on change.
fn capacities(s: &State, d: &Dispatch) -> Html {
    html! {
        <div class="capacity">
            <h4>{tr("Capacity")}</h4>
            <p class="hint">{ trf("Open conversations auto-assignment gives each agent at most ({}–{}).", &[&MIN_CAPACITY, &MAX_CAPACITY]) }</p>
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
                                aria-label={trf("Capacity of {}", &[&a.name])} {onchange} />
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
            <h3>{tr("Canned replies")}</h3>
            <p class="hint">{tr("Type / in a reply to search them.")}</p>
            <ul class="canned-list">
                { for s.canned.iter().map(|c| {
                    let id = c.id.clone();
                    html! {
                        <li key={c.id.clone()}>
                            <b>{ format!("/{}", c.shortcut) }</b>{" "}{ c.text.clone() }
                            <button class="link" onclick={d.reform(move |_| Action::Settings(SettingsAction::DeleteCanned(id.clone())))}>{tr("Delete")}</button>
                        </li>
                    }
                }) }
            </ul>
            <form class="row" onsubmit={submit_cb(d, || SettingsAction::AddCanned)}>
                <input placeholder={tr("shortcut")} value={form.shortcut.clone()} oninput={input_cb(d, SettingsAction::CannedShortcut)} aria-label={tr("Shortcut")} />
                <input placeholder={tr("Reply text")} class="grow" value={form.text.clone()} oninput={input_cb(d, SettingsAction::CannedText)} aria-label={tr("Reply text")} />
                <button type="submit">{tr("Add")}</button>
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
                <button type="button" class="primary" onclick={int_do(d, copy)}>{tr("Copy")}</button>
                <button type="button" onclick={int_do(d, dismiss)}>{tr("Done")}</button>
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
                <button type="button" onclick={int_do(d, || IntegrationsAction::Cancel)}>{tr("Cancel")}</button>
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
            <h3>{tr("Webhooks")}</h3>
            <p class="hint">{tr("The site's events, POSTed as signed JSON to your endpoints (https://; retried with backoff; paused after failing for long).")}</p>
            { note(&st.hooks_note) }
            if let Some(secret) = &st.secret {
                { shown_once(d, secret, "secret", tr("Shown once — use it to verify the Kefu-Signature header").into(),
                    || IntegrationsAction::CopySecret, || IntegrationsAction::DismissSecret) }
            }
            { match &st.hooks {
                None => html! { <p>{tr("Loading…")}</p> },
                Some(list) if list.is_empty() => html! { <p class="hint">{tr("No webhooks yet.")}</p> },
                Some(list) => html! {
                    <ul class="hook-list">{ for list.iter().map(|h| hook_row(st, h, d)) }</ul>
                },
            } }
            <form class="add-hook" novalidate=true onsubmit={int_submit(d, || IntegrationsAction::AddHook)}>
                <label>{tr("Endpoint URL")}
                    <input type="url" inputmode="url" placeholder="https://hooks.example.com/kefu" data-field="hook-url"
                        value={st.new_url.clone()} oninput={int_input(d, IntegrationsAction::Url)} /></label>
                <fieldset class="hook-events">
                    <legend>{tr("Events")}</legend>
                    { for HookEvent::ALL.into_iter().map(|e| html! {
                        <label class="check"><input type="checkbox" checked={st.new_events.contains(&e)} data-event={e.name()}
                            onchange={d.reform(move |ev: Event| Action::Settings(SettingsAction::Integrations(IntegrationsAction::Event(e, checked(ev)))))} />
                            <code>{ e.name() }</code></label>
                    }) }
                </fieldset>
                <button type="submit" class="primary" disabled={st.adding}>{tr("Add webhook")}</button>
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
                    <b>{tr("Paused")}</b>{": "}{ h.paused_reason.clone().unwrap_or_else(|| tr("no deliveries until resumed").into()) }
                </p>
            }
            <div class="hint">
                { trf("Added {}", &[&when(h.created)]) }
                if h.failures > 0 { <span class="failures">{ trf(" · {} failed in a row", &[&h.failures]) }</span> }
            </div>
            <div class="row hook-actions">
                <button type="button" data-action="deliveries" aria-expanded={open.to_string()} onclick={log}>
                    { if open { tr("Hide deliveries") } else { tr("Deliveries") } }</button>
                <button type="button" data-action="pause" onclick={pause}>{ if h.paused { tr("Resume") } else { tr("Pause") } }</button>
                { confirm_or(st, d, Confirm::DeleteHook(id), tr("Delete"), tr("Delete webhook")) }
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
                <h4 class="grow">{tr("Deliveries (last 50, newest first)")}</h4>
                <button type="button" data-action="refresh-deliveries" onclick={int_do(d, || IntegrationsAction::RefreshDeliveries)}>{tr("Refresh")}</button>
            </div>
            { match &log.list {
                None => html! { <p>{tr("Loading…")}</p> },
                Some(list) if list.is_empty() => html! { <p class="hint">{tr("No deliveries yet.")}</p> },
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
        (None, None) => tr("no answer").into(),
    };
    let redeliver = {
        let (hook, delivery) = (h.id.clone(), x.id.clone());
        int_do(d, move || IntegrationsAction::Redeliver {
            hook: hook.clone(),
            delivery: delivery.clone(),
        })
    };
    let outcome = if x.ok { "ok" } else { "failed" };
    html! {
        <li class={classes!("delivery", outcome)} key={x.id.clone()}
            data-delivery={x.id.clone()} data-event-id={x.event_id.clone()} data-ok={x.ok.to_string()}
            data-status={x.status.map(|s| s.to_string()).unwrap_or_default()}>
            <div class="delivery-head">
                <span class={classes!("outcome", outcome)}>{ if x.ok { tr("ok") } else { tr("failed") } }</span>
                <code>{ x.event.name() }</code>
                <span class="hint">{ trf("attempt #{}", &[&x.attempt]) }</span>
            </div>
            <div class="event-id">{ &x.event_id }</div>
            <div class="hint">{ format!("{} · {result} · {} ms", when(x.at), x.duration_ms) }</div>
            <button type="button" data-action="redeliver" onclick={redeliver}>{tr("Redeliver")}</button>
        </li>
    }
}

/// "API keys": programs that work the site as a named bot.
fn api_keys(s: &State, d: &Dispatch) -> Html {
    let st = &s.settings.integrations;
    html! {
        <section class="card integrations api-keys" data-section="api-keys">
            <h3>{tr("API keys")}</h3>
            <p class="hint">{tr("A program with a key works the site's conversations through the HTTP API as a bot agent of that name.")}</p>
            { note(&st.keys_note) }
            if let Some(key) = &st.new_key {
                { shown_once(d, key, "key", trf("Shown once — use as Authorization: Bearer {}", &[&key.text]),
                    || IntegrationsAction::CopyKey, || IntegrationsAction::DismissKey) }
            }
            { match &st.keys {
                None => html! { <p>{tr("Loading…")}</p> },
                Some(list) if list.is_empty() => html! { <p class="hint">{tr("No API keys yet.")}</p> },
                Some(list) => html! {
                    <ul class="key-list">{ for list.iter().map(|k| key_row(st, k, d)) }</ul>
                },
            } }
            <form class="row" onsubmit={int_submit(d, || IntegrationsAction::AddKey)}>
                <input class="grow" placeholder={tr("Bot name (Order bot, CRM…)")} aria-label={tr("Bot name")} data-field="key-name"
                    value={st.new_key_name.clone()} oninput={int_input(d, IntegrationsAction::KeyName)} />
                <button type="submit">{tr("Create key")}</button>
            </form>
        </section>
    }
}

fn key_row(st: &IntegrationsState, k: &ApiKeyView, d: &Dispatch) -> Html {
    html! {
        <li class="api-key" key={k.id.clone()} data-key={k.id.clone()}>
            <div class="key-name"><b>{ &k.name }</b></div>
            <code class="key-prefix">{ format!("{}…", k.prefix) }</code>
            <span class="hint">{ trf("Created {}", &[&when(k.created)]) }</span>
            <div class="key-actions">{ confirm_or(st, d, Confirm::RevokeKey(k.id.clone()), tr("Revoke"), tr("Revoke key")) }</div>
        </li>
    }
}

fn account_input(d: &Dispatch, f: fn(String) -> AccountAction) -> Callback<InputEvent> {
    d.reform(move |e: InputEvent| {
        Action::Account(f(e.target_unchecked_into::<HtmlInputElement>().value()))
    })
}

fn account_submit(d: &Dispatch, a: fn() -> AccountAction) -> Callback<SubmitEvent> {
    d.reform(move |e: SubmitEvent| {
        e.prevent_default();
        Action::Account(a())
    })
}

/// "Your profile" (everyone): name, picture, password.
fn profile(s: &State, d: &Dispatch) -> Html {
    let Some(me) = &s.me else { return html! {} };
    let a = &s.account;
    let onpick = {
        let d = d.clone();
        Callback::from(move |e: Event| {
            let input = e.target_unchecked_into::<HtmlInputElement>();
            let file = input.files().and_then(|f| f.get(0));
            input.set_value("");
            if let Some(f) = file {
                d.emit(Action::Account(AccountAction::Avatar(f)));
            }
        })
    };
    html! {
        <section class="card account-profile" data-section="profile">
            <h3>{ tr("Your profile") }</h3>
            <div class="profile-row">
                <Avatar name={me.name.clone()} url={me.avatar.clone()} token={s.token.clone()} size="lg" />
                <div class="profile-pic">
                    <label class="button">{ tr("Upload a picture") }
                        <input type="file" accept="image/png,image/jpeg,image/gif,image/webp" hidden=true
                            data-avatar-input="" onchange={onpick} /></label>
                    if me.avatar.is_some() {
                        <button class="link" data-avatar-remove=""
                            onclick={d.reform(|_| Action::Account(AccountAction::RemoveAvatar))}>{ tr("Remove picture") }</button>
                    }
                    <p class="hint">{ tr("PNG, JPEG, GIF or WebP, at most 5 MB. Colleagues see it; visitors see your name.") }</p>
                </div>
            </div>
            <form class="row" onsubmit={account_submit(d, || AccountAction::SaveName)}>
                <label>{ tr("Your name, as visitors see it") }
                    <input value={a.name.clone()} maxlength="128" data-profile="name"
                        oninput={account_input(d, AccountAction::Name)} /></label>
                <button type="submit">{ tr("Save name") }</button>
            </form>
            if let Some(n) = &a.note { { note(&Some(n.clone())) } }
            <form class="form password" onsubmit={account_submit(d, || AccountAction::SavePassword)}>
                <h4>{ tr("Change password") }</h4>
                <input type="text" autocomplete="username" value={me.email.clone().unwrap_or_default()} hidden=true readonly=true />
                <label>{ tr("Current password") }<input type="password" autocomplete="current-password" required=true
                    value={a.pw_current.clone()} data-password="current" oninput={account_input(d, AccountAction::PwCurrent)} /></label>
                <label>{ tr("New password") }<input type="password" autocomplete="new-password" required=true minlength="8"
                    value={a.pw_new.clone()} data-password="new" oninput={account_input(d, AccountAction::PwNew)} /></label>
                <label>{ tr("Confirm new password") }<input type="password" autocomplete="new-password" required=true minlength="8"
                    value={a.pw_confirm.clone()} data-password="confirm" oninput={account_input(d, AccountAction::PwConfirm)} /></label>
                if let Some(n) = &a.password_note { { note(&Some(n.clone())) } }
                <button class="primary" type="submit">{ tr("Change password") }</button>
            </form>
        </section>
    }
}

/// "Site name" (owners): what visitors, the site picker and mail show.
fn site_name(s: &State, d: &Dispatch) -> Html {
    html! {
        <section class="card">
            <h3>{ tr("Site name") }</h3>
            <form class="row" onsubmit={account_submit(d, || AccountAction::RenameSite)}>
                <input value={s.account.site_name.clone()} maxlength="128" aria-label={tr("Site name")} data-rename="site"
                    oninput={account_input(d, AccountAction::SiteName)} />
                <button type="submit">{ tr("Rename site") }</button>
            </form>
        </section>
    }
}
