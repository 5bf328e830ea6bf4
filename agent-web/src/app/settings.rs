//! Settings: widget appearance with a live preview, allowed origins, the
//! snippet to copy (owners), agents (owners), and canned replies (anyone
//! on the site).

use super::{App, Msg};
use crate::api::{self, AgentView, SiteView};
use protocol::{Position, WidgetSettings};
use serde_json::json;
use web_sys::{HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;

#[derive(Default)]
pub struct SettingsState {
    site: Option<SiteView>,
    /// The form's working copy (previewed live, saved on submit).
    widget: Option<WidgetSettings>,
    origins: String,
    snippet: Option<String>,
    agents: Vec<AgentView>,
    notice: Option<String>,
    new_agent: NewAgent,
    new_canned: (String, String),
}

#[derive(Default, Clone)]
struct NewAgent {
    name: String,
    email: String,
    password: String,
    owner: bool,
}

pub enum SettingsMsg {
    Site(api::ApiResult<SiteView>),
    Snippet(api::ApiResult<String>),
    Agents(api::ApiResult<Vec<AgentView>>),
    Color(String),
    Position(String),
    Greeting(String),
    Offline(String),
    Language(String),
    DraftPreview(bool),
    /// Whether visitors and agents may attach this kind of file.
    FileType(protocol::FileClass, bool),
    Origins(String),
    Save,
    Saved(api::ApiResult<SiteView>),
    CopySnippet,
    AgentField(&'static str, String),
    AddAgent,
    AgentAdded(api::ApiResult<AgentView>),
    DeleteAgent(String),
    AgentDeleted(api::ApiResult<serde_json::Value>),
    CannedField(bool, String),
    AddCanned,
    CannedDone(api::ApiResult<serde_json::Value>),
    DeleteCanned(String),
}

fn s(m: SettingsMsg) -> Msg {
    Msg::Settings(m)
}

fn owner(a: &App) -> bool {
    a.me.as_ref().is_some_and(AgentView::is_owner)
}

/// Fetches what the page shows.
pub fn load(a: &mut App, ctx: &Context<App>) {
    let (Some(api), Some(site)) = (a.api.clone(), a.model.site.clone()) else {
        return;
    };
    let (x, id) = (api.clone(), site.to_string());
    ctx.link()
        .send_future(async move { s(SettingsMsg::Site(x.site(&id).await)) });
    if owner(a) {
        let (x, id) = (api.clone(), site.to_string());
        ctx.link()
            .send_future(async move { s(SettingsMsg::Snippet(x.snippet(&id).await)) });
        ctx.link()
            .send_future(async move { s(SettingsMsg::Agents(api.agents().await)) });
    }
}

fn reload_canned(a: &App, ctx: &Context<App>) {
    if let (Some(api), Some(site)) = (a.api.clone(), a.model.site.clone()) {
        ctx.link()
            .send_future(async move { Msg::CannedList(api.canned(site.as_str()).await) });
    }
}

pub fn update(a: &mut App, ctx: &Context<App>, m: SettingsMsg) -> bool {
    let st = &mut a.settings;
    let w = st.widget.get_or_insert_with(WidgetSettings::default);
    match m {
        SettingsMsg::Site(Ok(site)) => {
            st.widget = Some(site.widget.clone());
            st.origins = site.allowed_origins.join("\n");
            st.site = Some(site);
        }
        SettingsMsg::Site(Err(e)) | SettingsMsg::Snippet(Err(e)) | SettingsMsg::Agents(Err(e)) => {
            st.notice = Some(e)
        }
        SettingsMsg::Snippet(Ok(html)) => st.snippet = Some(html),
        SettingsMsg::Agents(Ok(list)) => st.agents = list,
        SettingsMsg::Color(c) => w.color = c,
        SettingsMsg::Position(p) => {
            w.position = if p == "left" {
                Position::Left
            } else {
                Position::Right
            }
        }
        SettingsMsg::Greeting(t) => w.greeting = t,
        SettingsMsg::Offline(t) => w.offline_message = t,
        SettingsMsg::Language(l) => w.language = (!l.is_empty()).then_some(l),
        SettingsMsg::DraftPreview(on) => w.draft_preview = on,
        SettingsMsg::FileType(class, on) => {
            let types = w
                .file_types
                .get_or_insert_with(|| protocol::FileClass::ALL.to_vec());
            types.retain(|c| *c != class);
            if on {
                types.push(class);
                types.sort();
            }
        }
        SettingsMsg::Origins(o) => {
            st.origins = o;
            return false;
        }
        SettingsMsg::Save => {
            let (Some(api), Some(site)) = (a.api.clone(), a.model.site.clone()) else {
                return false;
            };
            let origins: Vec<String> = st
                .origins
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect();
            let body = json!({ "widget": st.widget, "allowed_origins": origins });
            st.notice = Some("Saving…".into());
            ctx.link().send_future(async move {
                s(SettingsMsg::Saved(
                    api.patch_site(site.as_str(), &body).await,
                ))
            });
        }
        SettingsMsg::Saved(Ok(site)) => {
            st.notice = Some("Saved. Visitors get the new look on their next page.".into());
            st.widget = Some(site.widget.clone());
            st.site = Some(site);
        }
        SettingsMsg::Saved(Err(e)) => st.notice = Some(format!("Not saved: {e}")),
        SettingsMsg::CopySnippet => {
            if let (Some(text), Some(w)) = (&st.snippet, web_sys::window()) {
                let _ = w.navigator().clipboard().write_text(text);
                st.notice = Some("Snippet copied.".into());
            }
        }
        SettingsMsg::AgentField(f, v) => {
            match f {
                "name" => st.new_agent.name = v,
                "email" => st.new_agent.email = v,
                "password" => st.new_agent.password = v,
                _ => st.new_agent.owner = v == "owner",
            }
            return false;
        }
        SettingsMsg::AddAgent => {
            let (Some(api), Some(site)) = (a.api.clone(), a.model.site.clone()) else {
                return false;
            };
            let n = st.new_agent.clone();
            let body = json!({
                "name": n.name, "email": n.email, "password": n.password,
                "role": if n.owner { "owner" } else { "agent" }, "sites": [site],
            });
            ctx.link()
                .send_future(async move { s(SettingsMsg::AgentAdded(api.add_agent(&body).await)) });
        }
        SettingsMsg::AgentAdded(Ok(agent)) => {
            st.notice = Some(format!("Added {}.", agent.name));
            st.new_agent = NewAgent::default();
            load(a, ctx);
            a.load_site_data(ctx);
        }
        SettingsMsg::AgentAdded(Err(e)) => st.notice = Some(format!("Not added: {e}")),
        SettingsMsg::DeleteAgent(id) => {
            if let Some(api) = a.api.clone() {
                ctx.link().send_future(async move {
                    s(SettingsMsg::AgentDeleted(api.delete_agent(&id).await))
                });
            }
        }
        SettingsMsg::AgentDeleted(r) => {
            st.notice = Some(match r {
                Ok(_) => "Agent removed.".into(),
                Err(e) => format!("Not removed: {e}"),
            });
            load(a, ctx);
        }
        SettingsMsg::CannedField(is_text, v) => {
            if is_text {
                st.new_canned.1 = v;
            } else {
                st.new_canned.0 = v;
            }
            return false;
        }
        SettingsMsg::AddCanned => {
            let (Some(api), Some(site)) = (a.api.clone(), a.model.site.clone()) else {
                return false;
            };
            let (short, text) = st.new_canned.clone();
            ctx.link().send_future(async move {
                let r = api
                    .add_canned(site.as_str(), &short, &text)
                    .await
                    .map(|_| json!(null));
                s(SettingsMsg::CannedDone(r))
            });
        }
        SettingsMsg::DeleteCanned(id) => {
            let (Some(api), Some(site)) = (a.api.clone(), a.model.site.clone()) else {
                return false;
            };
            ctx.link().send_future(async move {
                s(SettingsMsg::CannedDone(
                    api.delete_canned(site.as_str(), &id).await,
                ))
            });
        }
        SettingsMsg::CannedDone(r) => {
            match r {
                Ok(_) => {
                    st.new_canned = Default::default();
                    st.notice = None;
                }
                Err(e) => st.notice = Some(e),
            }
            reload_canned(a, ctx);
        }
    }
    true
}

fn input_cb(ctx: &Context<App>, f: fn(String) -> SettingsMsg) -> Callback<InputEvent> {
    ctx.link().callback(move |e: InputEvent| {
        let t = e.target_unchecked_into::<web_sys::EventTarget>();
        let v = if let Some(i) = wasm_bindgen::JsCast::dyn_ref::<HtmlInputElement>(&t) {
            i.value()
        } else if let Some(i) = wasm_bindgen::JsCast::dyn_ref::<HtmlTextAreaElement>(&t) {
            i.value()
        } else {
            String::new()
        };
        s(f(v))
    })
}

fn select_cb(ctx: &Context<App>, f: fn(String) -> SettingsMsg) -> Callback<Event> {
    ctx.link()
        .callback(move |e: Event| s(f(e.target_unchecked_into::<HtmlSelectElement>().value())))
}

pub fn view(a: &App, ctx: &Context<App>) -> Html {
    let st = &a.settings;
    let is_owner = owner(a);
    let canned = html! {
        <section class="card">
            <h3>{"Canned replies"}</h3>
            <p class="hint">{"Type / in a reply to search them."}</p>
            <ul class="canned-list">
                { for a.canned.iter().map(|c| {
                    let id = c.id.clone();
                    html! {
                        <li key={c.id.clone()}>
                            <b>{ format!("/{}", c.shortcut) }</b>{" "}{ c.text.clone() }
                            <button class="link" onclick={ctx.link().callback(move |_| s(SettingsMsg::DeleteCanned(id.clone())))}>{"Delete"}</button>
                        </li>
                    }
                }) }
            </ul>
            <form class="row" onsubmit={ctx.link().callback(|e: SubmitEvent| { e.prevent_default(); s(SettingsMsg::AddCanned) })}>
                <input placeholder="shortcut" value={st.new_canned.0.clone()} oninput={input_cb(ctx, |v| SettingsMsg::CannedField(false, v))} aria-label="Shortcut" />
                <input placeholder="Reply text" class="grow" value={st.new_canned.1.clone()} oninput={input_cb(ctx, |v| SettingsMsg::CannedField(true, v))} aria-label="Reply text" />
                <button type="submit">{"Add"}</button>
            </form>
        </section>
    };
    let Some(w) = &st.widget else {
        return html! { <div class="settings"><p>{"Loading settings…"}</p>{ canned }</div> };
    };
    let me_id = a.me.as_ref().map(|m| m.id.clone()).unwrap_or_default();
    html! {
        <div class="settings">
            if let Some(n) = &st.notice { <p class="notice" role="status">{ n }</p> }
            if is_owner {
                <section class="card appearance">
                    <h3>{"Widget appearance"}</h3>
                    <div class="split">
                        <form class="form" onsubmit={ctx.link().callback(|e: SubmitEvent| { e.prevent_default(); s(SettingsMsg::Save) })}>
                            <label>{"Colour"}<input type="color" value={w.color.clone()} oninput={input_cb(ctx, SettingsMsg::Color)} /></label>
                            <label>{"Position"}
                                <select onchange={select_cb(ctx, SettingsMsg::Position)}>
                                    <option value="right" selected={w.position == Position::Right}>{"Bottom right"}</option>
                                    <option value="left" selected={w.position == Position::Left}>{"Bottom left"}</option>
                                </select>
                            </label>
                            <label>{"Greeting"}<input value={w.greeting.clone()} placeholder="Hi! How can we help?" oninput={input_cb(ctx, SettingsMsg::Greeting)} /></label>
                            <label>{"Offline message"}<input value={w.offline_message.clone()} placeholder="We're away — leave a message." oninput={input_cb(ctx, SettingsMsg::Offline)} /></label>
                            <label>{"Language"}
                                <select onchange={select_cb(ctx, SettingsMsg::Language)}>
                                    <option value="" selected={w.language.is_none()}>{"From the visitor's browser"}</option>
                                    <option value="en" selected={w.language.as_deref() == Some("en")}>{"English"}</option>
                                    <option value="zh-CN" selected={w.language.as_deref() == Some("zh-CN")}>{"简体中文"}</option>
                                </select>
                            </label>
                            <label class="check"><input type="checkbox" checked={w.draft_preview} data-setting="draft_preview"
                                onchange={ctx.link().callback(|e: Event| s(SettingsMsg::DraftPreview(e.target_unchecked_into::<HtmlInputElement>().checked())))} />
                                {"Show agents what visitors type before they send it"}</label>
                            <fieldset class="file-types">
                                <legend>{"Attachments visitors and agents may send"}</legend>
                                { for protocol::FileClass::ALL.into_iter().map(|class| {
                                    let on = w.file_types.as_ref().is_none_or(|t| t.contains(&class));
                                    let label = match class {
                                        protocol::FileClass::Image => "Images",
                                        protocol::FileClass::Pdf => "PDF",
                                        protocol::FileClass::Office => "Office documents",
                                        protocol::FileClass::Text => "Plain text",
                                    };
                                    html! {
                                        <label class="check"><input type="checkbox" checked={on} data-file-type={class.as_str()}
                                            onchange={ctx.link().callback(move |e: Event| s(SettingsMsg::FileType(class, e.target_unchecked_into::<HtmlInputElement>().checked())))} />
                                            { label }</label>
                                    }
                                }) }
                            </fieldset>
                            <label>{"Allowed origins (one per line; empty allows any)"}
                                <textarea rows="3" value={st.origins.clone()} oninput={input_cb(ctx, SettingsMsg::Origins)} placeholder="https://shop.example.com" /></label>
                            <button class="primary" type="submit">{"Save"}</button>
                        </form>
                        { preview(w) }
                    </div>
                </section>
                <section class="card">
                    <h3>{"Install"}</h3>
                    <p class="hint">{"Paste this before </body> on every page of the site."}</p>
                    <pre class="snippet">{ st.snippet.clone().unwrap_or_default() }</pre>
                    <button onclick={ctx.link().callback(|_| s(SettingsMsg::CopySnippet))}>{"Copy snippet"}</button>
                    if let Some(secret) = st.site.as_ref().and_then(|x| x.secret.clone()) {
                        <p class="hint">{"Identity secret (for user_hash = HMAC-SHA256(secret, user id)): "}<code>{ secret }</code></p>
                    }
                </section>
                <section class="card">
                    <h3>{"Agents"}</h3>
                    <table class="agents">
                        { for st.agents.iter().map(|ag| {
                            let id = ag.id.clone();
                            html! {
                                <tr key={ag.id.clone()}>
                                    <td>{ ag.name.clone() }</td>
                                    <td>{ ag.email.clone().unwrap_or_default() }</td>
                                    <td>{ ag.role.clone() }</td>
                                    <td>if ag.id != me_id {
                                        <button class="link" onclick={ctx.link().callback(move |_| s(SettingsMsg::DeleteAgent(id.clone())))}>{"Remove"}</button>
                                    }</td>
                                </tr>
                            }
                        }) }
                    </table>
                    <form class="row" onsubmit={ctx.link().callback(|e: SubmitEvent| { e.prevent_default(); s(SettingsMsg::AddAgent) })}>
                        <input placeholder="Name" value={st.new_agent.name.clone()} oninput={input_cb(ctx, |v| SettingsMsg::AgentField("name", v))} aria-label="Name" />
                        <input placeholder="E-mail" type="email" value={st.new_agent.email.clone()} oninput={input_cb(ctx, |v| SettingsMsg::AgentField("email", v))} aria-label="E-mail" />
                        <input placeholder="Password" type="password" value={st.new_agent.password.clone()} oninput={input_cb(ctx, |v| SettingsMsg::AgentField("password", v))} aria-label="Password" />
                        <select onchange={select_cb(ctx, |v| SettingsMsg::AgentField("role", v))} aria-label="Role">
                            <option value="agent">{"Agent"}</option>
                            <option value="owner">{"Owner"}</option>
                        </select>
                        <button type="submit">{"Add agent"}</button>
                    </form>
                </section>
            }
            { canned }
        </div>
    }
}

/// The widget as visitors will see it, drawn from the form's values.
fn preview(w: &WidgetSettings) -> Html {
    let zh = w.language.as_deref() == Some("zh-CN");
    let greeting = if !w.greeting.is_empty() {
        w.greeting.clone()
    } else if zh {
        "您好！有什么可以帮您？".into()
    } else {
        "Hi! How can we help?".into()
    };
    let side = if w.position == Position::Left {
        "left"
    } else {
        "right"
    };
    // The colour was validated as #rrggbb by the relay or comes from the
    // colour input; anything else falls back to the default.
    let color = if w.color.len() == 7
        && w.color.starts_with('#')
        && w.color[1..].chars().all(|c| c.is_ascii_hexdigit())
    {
        w.color.clone()
    } else {
        WidgetSettings::default().color
    };
    html! {
        <div class="wpreview" aria-label="Preview">
            <div class={classes!("pv-panel", side)}>
                <div class="pv-head" style={format!("background:{color}")}>{ if zh { "在线客服" } else { "Chat with us" } }</div>
                <div class="pv-body">
                    <div class="pv-bubble">{ greeting }</div>
                    if !w.offline_message.is_empty() { <div class="pv-bubble muted">{ w.offline_message.clone() }</div> }
                </div>
                <div class="pv-input">{ if zh { "输入消息…" } else { "Type a message…" } }</div>
            </div>
            <div class={classes!("pv-launcher", side)} style={format!("background:{color}")}>
                <svg width="24" height="24" viewBox="0 0 24 24" aria-hidden="true"><path fill="#fff" d="M4 4h16a2 2 0 0 1 2 2v9a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"/></svg>
            </div>
        </div>
    }
}
