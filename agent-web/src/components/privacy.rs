//! A visitor's privacy actions in its profile — block (with its IP or the
//! IP's /24 or /64), unblock, export its data, erase it behind a typed
//! confirmation — and the Settings card listing the site's blocks (and,
//! for owners, the erasure log). Each talks to the API itself: what it
//! shows is its own, and the profile is reloaded when it changes.

use crate::format::full_time;
use crate::i18n::{tr, trf};
use crate::services::api::Api;
use protocol::api::privacy::{BlockView, ErasureView, IpRange, NewBlock, ERASE_CONFIRMATION};
use protocol::{SiteId, VisitorId};
use web_sys::HtmlInputElement;
use yew::platform::spawn_local;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct PrivacyActionsProps {
    pub token: String,
    pub site: SiteId,
    pub visitor: VisitorId,
    /// The visitor's name as the profile shows it (typing it confirms an erase).
    #[prop_or_default]
    pub name: Option<String>,
    /// The address of the visitor's latest connection.
    #[prop_or_default]
    pub last_ip: Option<String>,
    /// The blocks that refuse the visitor now.
    #[prop_or_default]
    pub blocks: Vec<BlockView>,
    /// The profile changed (blocked, unblocked, erased): read it again.
    pub onchange: Callback<()>,
}

/// What "also block" adds to a visitor block.
#[derive(Clone, Copy, PartialEq)]
enum AlsoIp {
    None,
    Exact,
    /// /24 for IPv4, /64 for IPv6.
    Range,
}

/// The range "also block" means for `ip`.
fn range_for(ip: &str, also: AlsoIp) -> Option<String> {
    let addr: std::net::IpAddr = ip.parse().ok()?;
    match also {
        AlsoIp::None => None,
        AlsoIp::Exact => Some(IpRange::around(addr, 128).to_string()),
        AlsoIp::Range => {
            Some(IpRange::around(addr, if addr.is_ipv4() { 24 } else { 64 }).to_string())
        }
    }
}

/// Starts a browser download of `bytes` named `name` (a data: URL on a
/// temporary link: no object URL to revoke).
fn download(name: &str, bytes: &[u8]) {
    use base64::Engine as _;
    use wasm_bindgen::JsCast as _;
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let Ok(a) = doc.create_element("a") else {
        return;
    };
    let href = format!(
        "data:application/gzip;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    );
    let _ = a.set_attribute("href", &href);
    let _ = a.set_attribute("download", name);
    if let Ok(a) = a.dyn_into::<web_sys::HtmlElement>() {
        a.click();
    }
}

#[function_component]
pub fn PrivacyActions(p: &PrivacyActionsProps) -> Html {
    let also = use_state(|| AlsoIp::None);
    let busy = use_state(|| false);
    let status = use_state(|| None::<String>);
    let confirming = use_state(|| false);
    let typed = use_state(String::new);
    let api = Api {
        token: p.token.clone(),
    };

    let block = {
        let (api, site, visitor, ip) = (
            api.clone(),
            p.site.clone(),
            p.visitor.clone(),
            p.last_ip.clone(),
        );
        let (also, busy, status, onchange) = (
            also.clone(),
            busy.clone(),
            status.clone(),
            p.onchange.clone(),
        );
        Callback::from(move |_: MouseEvent| {
            let body = NewBlock {
                visitor: Some(visitor.clone()),
                ip: ip.as_deref().and_then(|ip| range_for(ip, *also)),
                reason: None,
            };
            let (api, site, busy, status, onchange) = (
                api.clone(),
                site.clone(),
                busy.clone(),
                status.clone(),
                onchange.clone(),
            );
            busy.set(true);
            spawn_local(async move {
                match api.add_block(&site, &body).await {
                    Ok(_) => status.set(Some(
                        tr("Blocked: their messages and uploads are refused.").into(),
                    )),
                    Err(e) => status.set(Some(trf("Not blocked: {}", &[&e]))),
                }
                busy.set(false);
                onchange.emit(());
            });
        })
    };
    let unblock = {
        let (api, site, ids) = (
            api.clone(),
            p.site.clone(),
            p.blocks.iter().map(|b| b.id.clone()).collect::<Vec<_>>(),
        );
        let (busy, status, onchange) = (busy.clone(), status.clone(), p.onchange.clone());
        Callback::from(move |_: MouseEvent| {
            let (api, site, ids, busy, status, onchange) = (
                api.clone(),
                site.clone(),
                ids.clone(),
                busy.clone(),
                status.clone(),
                onchange.clone(),
            );
            busy.set(true);
            spawn_local(async move {
                let mut failed = None;
                for id in ids {
                    if let Err(e) = api.delete_block(&site, &id).await {
                        failed = Some(e);
                    }
                }
                match failed {
                    None => status.set(Some(tr("Unblocked.").into())),
                    Some(e) => status.set(Some(trf("Not unblocked: {}", &[&e]))),
                }
                busy.set(false);
                onchange.emit(());
            });
        })
    };
    let export = {
        let (api, site, visitor) = (api.clone(), p.site.clone(), p.visitor.clone());
        let (busy, status) = (busy.clone(), status.clone());
        Callback::from(move |_: MouseEvent| {
            let (api, site, visitor, busy, status) = (
                api.clone(),
                site.clone(),
                visitor.clone(),
                busy.clone(),
                status.clone(),
            );
            busy.set(true);
            spawn_local(async move {
                match api.export(&site, &visitor).await {
                    Ok(bytes) => {
                        download(&format!("kefu-{site}-{visitor}.tar.gz"), &bytes);
                        status.set(Some(tr("Exported: the archive is downloading.").into()));
                    }
                    Err(e) => status.set(Some(trf("Not exported: {}", &[&e]))),
                }
                busy.set(false);
            });
        })
    };
    let name = p
        .name
        .clone()
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty());
    let confirmed = {
        let t = typed.trim();
        t == ERASE_CONFIRMATION || name.as_deref().is_some_and(|n| n == t)
    };
    let erase = {
        let (api, site, visitor) = (api.clone(), p.site.clone(), p.visitor.clone());
        let (typed, busy, status, confirming, onchange) = (
            typed.clone(),
            busy.clone(),
            status.clone(),
            confirming.clone(),
            p.onchange.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let (api, site, visitor, busy, status, confirming, onchange) = (
                api.clone(),
                site.clone(),
                visitor.clone(),
                busy.clone(),
                status.clone(),
                confirming.clone(),
                onchange.clone(),
            );
            let confirm = typed.trim().to_string();
            busy.set(true);
            spawn_local(async move {
                match api.erase(&site, &visitor, &confirm).await {
                    Ok(done) => {
                        confirming.set(false);
                        status.set(Some(trf(
                            "Erased: {} conversations, {} files, {} page views.",
                            &[&done.conversations, &done.files, &done.pages],
                        )));
                    }
                    Err(e) => status.set(Some(trf("Not erased: {}", &[&e]))),
                }
                busy.set(false);
                onchange.emit(());
            });
        })
    };
    let blocked = !p.blocks.is_empty();
    let also_change = {
        let also = also.clone();
        Callback::from(move |e: Event| {
            let v = e
                .target_unchecked_into::<web_sys::HtmlSelectElement>()
                .value();
            also.set(match v.as_str() {
                "ip" => AlsoIp::Exact,
                "range" => AlsoIp::Range,
                _ => AlsoIp::None,
            });
        })
    };
    let v6 = p.last_ip.as_deref().is_some_and(|ip| ip.contains(':'));
    html! {
        <div class="privacy-actions" data-section="privacy">
            if let Some(ip) = &p.last_ip {
                <p class="hint-text" data-fact="last-ip">{ trf("Last IP: {}", &[ip]) }</p>
            }
            if blocked {
                <p class="notice" data-state="blocked">{ tr("This visitor is blocked.") }</p>
                <button type="button" data-action="unblock" disabled={*busy} onclick={unblock}>{ tr("Unblock") }</button>
            } else {
                <div class="row">
                    <button type="button" data-action="block" disabled={*busy} onclick={block}>{ tr("Block visitor") }</button>
                    if p.last_ip.is_some() {
                        <select data-field="block-ip" onchange={also_change} aria-label={tr("Also block")}>
                            <option value="none" selected={*also == AlsoIp::None}>{ tr("Visitor only") }</option>
                            <option value="ip" selected={*also == AlsoIp::Exact}>{ tr("Also their IP") }</option>
                            <option value="range" selected={*also == AlsoIp::Range}>{ if v6 { tr("Also their /64") } else { tr("Also their /24") } }</option>
                        </select>
                    }
                </div>
            }
            <div class="row">
                <button type="button" data-action="export" disabled={*busy} onclick={export}>{ tr("Export data") }</button>
                <button type="button" class="danger" data-action="erase" disabled={*busy}
                    onclick={ { let c = confirming.clone(); move |_| c.set(true) } }>{ tr("Erase visitor…") }</button>
            </div>
            if *confirming {
                <form class="confirm-erase" role="dialog" aria-label={tr("Erase visitor")} onsubmit={erase}>
                    <p>{ tr("Every message of this visitor's conversations is replaced by [erased], their files, profile and pages are deleted. This cannot be undone.") }</p>
                    <label>{ match &name {
                        Some(n) => trf("Type {} or ERASE to confirm", &[n]),
                        None => tr("Type ERASE to confirm").to_string(),
                    } }
                        <input data-field="erase-confirm" value={(*typed).clone()}
                            oninput={ { let t = typed.clone(); move |e: InputEvent| t.set(e.target_unchecked_into::<HtmlInputElement>().value()) } } />
                    </label>
                    <div class="row">
                        <button type="submit" class="danger" data-action="erase-confirm" disabled={!confirmed || *busy}>{ tr("Erase") }</button>
                        <button type="button" onclick={ { let c = confirming.clone(); move |_| c.set(false) } }>{ tr("Cancel") }</button>
                    </div>
                </form>
            }
            if let Some(s) = &*status { <p class="notice" role="status">{ s.clone() }</p> }
        </div>
    }
}

#[derive(Properties, PartialEq)]
pub struct BlocksCardProps {
    pub token: String,
    pub site: SiteId,
    pub owner: bool,
}

/// Settings: the site's blocks with Unblock, and the erasure log (owners).
#[function_component]
pub fn BlocksCard(p: &BlocksCardProps) -> Html {
    let blocks = use_state(|| None::<Result<Vec<BlockView>, String>>);
    let log = use_state(|| None::<Result<Vec<ErasureView>, String>>);
    let reload = use_state(|| 0u32);
    {
        let (token, site, owner, blocks, log) = (
            p.token.clone(),
            p.site.clone(),
            p.owner,
            blocks.clone(),
            log.clone(),
        );
        use_effect_with((p.site.clone(), *reload), move |_| {
            spawn_local(async move {
                let api = Api { token };
                blocks.set(Some(api.blocks(&site).await));
                if owner {
                    log.set(Some(api.erasures(&site).await));
                }
            });
        });
    }
    let unblock = |id: String| {
        let (token, site, reload) = (p.token.clone(), p.site.clone(), reload.clone());
        Callback::from(move |_: MouseEvent| {
            let (api, site, id, reload) = (
                Api {
                    token: token.clone(),
                },
                site.clone(),
                id.clone(),
                reload.clone(),
            );
            spawn_local(async move {
                let _ = api.delete_block(&site, &id).await;
                reload.set(*reload + 1);
            });
        })
    };
    let offset = |ms: u64| crate::format::local_offset_minutes(ms);
    html! {
        <section class="card blocks" data-section="blocks">
            <h3>{ tr("Blocked visitors") }</h3>
            { match &*blocks {
                None => html! { <p>{ tr("Loading…") }</p> },
                Some(Err(e)) => html! { <p class="error">{ e.clone() }</p> },
                Some(Ok(list)) if list.is_empty() => html! { <p class="hint-text">{ tr("Nobody is blocked.") }</p> },
                Some(Ok(list)) => html! {
                    <ul class="blocks-list">
                        { for list.iter().map(|b| {
                            let what = match (&b.visitor, &b.ip) {
                                (Some(v), Some(ip)) => format!("{v} · {ip}"),
                                (Some(v), None) => v.to_string(),
                                (None, Some(ip)) => ip.clone(),
                                (None, None) => String::new(),
                            };
                            html! {
                                <li data-block={b.id.clone()}>
                                    <span class="what">{ what }</span>
                                    <span class="hint-text">{ trf("by {} · {}", &[&b.by_name, &full_time(b.at, offset(b.at))]) }</span>
                                    if let Some(r) = &b.reason { <span class="reason">{ r.clone() }</span> }
                                    <button type="button" data-action="unblock" onclick={unblock(b.id.clone())}>{ tr("Unblock") }</button>
                                </li>
                            }
                        }) }
                    </ul>
                },
            } }
            if p.owner {
                <h3>{ tr("Erasure log") }</h3>
                { match &*log {
                    None => html! { <p>{ tr("Loading…") }</p> },
                    Some(Err(e)) => html! { <p class="error">{ e.clone() }</p> },
                    Some(Ok(list)) if list.is_empty() => html! { <p class="hint-text">{ tr("No visitor has been erased.") }</p> },
                    Some(Ok(list)) => html! {
                        <ul class="erasures-list">
                            { for list.iter().map(|e| html! {
                                <li data-erasure={e.id.clone()}>
                                    { trf("{} erased {} · {}", &[
                                        &e.by_name,
                                        &e.visitor.as_ref().map(|v| v.to_string()).unwrap_or_default(),
                                        &full_time(e.at, offset(e.at)),
                                    ]) }
                                    <span class="hint-text">{ trf(" ({} conversations, {} files, {} page views)", &[&e.conversations, &e.files, &e.pages]) }</span>
                                </li>
                            }) }
                        </ul>
                    },
                } }
            }
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// "Also block" turns the last IP into the address, or its /24 (IPv4)
    /// or /64 (IPv6).
    #[test]
    fn also_block_picks_the_range() {
        assert_eq!(
            range_for("203.0.113.9", AlsoIp::Exact).as_deref(),
            Some("203.0.113.9")
        );
        assert_eq!(
            range_for("203.0.113.9", AlsoIp::Range).as_deref(),
            Some("203.0.113.0/24")
        );
        assert_eq!(
            range_for("2001:db8:1:2::9", AlsoIp::Range).as_deref(),
            Some("2001:db8:1:2::/64")
        );
        assert_eq!(range_for("203.0.113.9", AlsoIp::None), None);
        assert_eq!(range_for("junk", AlsoIp::Exact), None);
    }
}
