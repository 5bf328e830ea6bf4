//! The HTTP API under `/v1/api/` (JSON): login, agents, sites, settings,
//! conversations, canned replies, visitor profiles, stats, Web Push
//! devices, OpenAPI.
//!
//! Every handler authenticates with `Authorization: Bearer <token>` and
//! checks membership ([`auth`]): an agent reaches only the sites it belongs
//! to, and resources of other sites answer exactly like missing ones (404),
//! so ids cannot be probed. Owners additionally manage agents, sites and
//! settings. The API is same-origin only (the console is served by the
//! relay): no CORS grant, on preflights or answers.
//!
//! One module per resource, one named handler per route:
//! [`accounts`], [`sites`], [`conversations`], [`visitors`], [`stats`],
//! [`push`], [`integrations`] (webhooks, API keys), [`search`],
//! [`privacy`] (blocks, a visitor's export and erasure, the erasure log).

pub mod accounts;
pub mod auth;
pub mod conversations;
pub mod integrations;
pub mod privacy;
pub mod push;
pub mod search;
pub mod sites;
pub mod stats;
pub mod visitors;

use crate::reply::{json_body as body, with_app, Reply};
use crate::App;
use bytes::Bytes;
use std::sync::Arc;
use warp::filters::BoxedFilter;
use warp::http::{header, Response};
use warp::{delete, get, patch, path, post, put, Filter, Rejection};

/// The limit on logins per account (tests use it to reach it).
pub use protocol::limits::MAX_LOGINS_PER_ACCOUNT_PER_MINUTE;

/// Every route of the API: (method, path template). The OpenAPI test checks
/// each is described in `openapi.json`.
pub const ROUTES: &[(&str, &str)] = &[
    ("POST", "/v1/api/login"),
    ("POST", "/v1/api/logout"),
    ("GET", "/v1/api/me"),
    ("POST", "/v1/api/me/password"),
    ("PUT", "/v1/api/me/avatar"),
    ("DELETE", "/v1/api/me/avatar"),
    ("GET", "/v1/api/password-reset"),
    ("POST", "/v1/api/password-reset"),
    ("POST", "/v1/api/password-reset/confirm"),
    ("GET", "/v1/api/agents"),
    ("POST", "/v1/api/agents"),
    ("PATCH", "/v1/api/agents/{agent}"),
    ("DELETE", "/v1/api/agents/{agent}"),
    ("GET", "/v1/api/sites"),
    ("POST", "/v1/api/sites"),
    ("GET", "/v1/api/sites/{site}"),
    ("PATCH", "/v1/api/sites/{site}"),
    ("POST", "/v1/api/sites/{site}/rotate-secret"),
    ("GET", "/v1/api/sites/{site}/snippet"),
    ("GET", "/v1/api/sites/{site}/refused-origins"),
    ("GET", "/v1/api/sites/{site}/conversations"),
    ("GET", "/v1/api/sites/{site}/canned"),
    ("POST", "/v1/api/sites/{site}/canned"),
    ("DELETE", "/v1/api/sites/{site}/canned/{id}"),
    ("GET", "/v1/api/sites/{site}/visitors/{visitor}"),
    ("PATCH", "/v1/api/sites/{site}/visitors/{visitor}"),
    ("GET", "/v1/api/sites/{site}/visitors/{visitor}/export"),
    ("POST", "/v1/api/sites/{site}/visitors/{visitor}/erase"),
    ("GET", "/v1/api/sites/{site}/blocks"),
    ("POST", "/v1/api/sites/{site}/blocks"),
    ("DELETE", "/v1/api/sites/{site}/blocks/{block}"),
    ("GET", "/v1/api/sites/{site}/erasures"),
    ("GET", "/v1/api/sites/{site}/agents"),
    ("GET", "/v1/api/sites/{site}/stats"),
    ("GET", "/v1/api/sites/{site}/stats.csv"),
    ("GET", "/v1/api/sites/{site}/search"),
    ("GET", "/v1/api/conversations/{conv}/events"),
    ("POST", "/v1/api/conversations/{conv}/assign"),
    ("POST", "/v1/api/conversations/{conv}/transfer"),
    ("POST", "/v1/api/conversations/{conv}/close"),
    ("POST", "/v1/api/conversations/{conv}/reopen"),
    ("POST", "/v1/api/conversations/{conv}/notes"),
    ("PUT", "/v1/api/conversations/{conv}/labels/{label}"),
    ("DELETE", "/v1/api/conversations/{conv}/labels/{label}"),
    ("POST", "/v1/api/conversations/{conv}/messages"),
    ("GET", "/v1/api/sites/{site}/webhooks"),
    ("POST", "/v1/api/sites/{site}/webhooks"),
    ("PATCH", "/v1/api/sites/{site}/webhooks/{hook}"),
    ("DELETE", "/v1/api/sites/{site}/webhooks/{hook}"),
    ("GET", "/v1/api/sites/{site}/webhooks/{hook}/deliveries"),
    (
        "POST",
        "/v1/api/sites/{site}/webhooks/{hook}/deliveries/{delivery}/redeliver",
    ),
    ("GET", "/v1/api/sites/{site}/keys"),
    ("POST", "/v1/api/sites/{site}/keys"),
    ("DELETE", "/v1/api/sites/{site}/keys/{key}"),
    ("GET", "/v1/api/push/key"),
    ("GET", "/v1/api/push/subscriptions"),
    ("POST", "/v1/api/push/subscriptions"),
    ("DELETE", "/v1/api/push/subscriptions"),
    ("GET", "/v1/api/openapi.json"),
    ("POST", "/v1/files"),
    ("GET", "/v1/files/{file}"),
    ("GET", "/v1/files/{file}/thumb"),
    ("GET", "/v1/avatars/{agent}"),
    ("GET", "/v1/wechat/{site}"),
    ("POST", "/v1/wechat/{site}"),
];

/// The OpenAPI 3 description of every route the relay serves.
pub const OPENAPI: &str = include_str!("../openapi.json");

/// Every API route: path, method, what the handler takes, the handler.
/// Each is boxed, and the chain is boxed at every step: nesting 25 `Or`
/// types unboxed costs many minutes of compile time.
#[rustfmt::skip]
pub fn routes(app: Arc<App>) -> BoxedFilter<(Reply,)> {
    use self::{accounts as ac, conversations as cv, integrations as ig, sites as st};
    use warp::query;
    let me = || auth::authed(app.clone());
    let host = || warp::header::optional::<String>("host");
    let all: Vec<BoxedFilter<(Reply,)>> = vec![
        path!("v1" / "api" / "login").and(post()).and(warp::addr::remote()).and(body()).and(with_app(app.clone())).and_then(ac::login).boxed(),
        path!("v1" / "api" / "logout").and(post()).and(me()).and_then(ac::logout).boxed(),
        path!("v1" / "api" / "me").and(get()).and(me()).and_then(ac::me).boxed(),
        path!("v1" / "api" / "me" / "password").and(post()).and(me()).and(body()).and_then(ac::password).boxed(),
        path!("v1" / "api" / "me" / "avatar").and(put()).and(me()).and(crate::files::routes::avatar_body()).and_then(ac::avatar_put).boxed(),
        path!("v1" / "api" / "me" / "avatar").and(delete()).and(me()).and_then(ac::avatar_delete).boxed(),
        path!("v1" / "api" / "password-reset").and(get()).and(with_app(app.clone())).and_then(ac::reset_options).boxed(),
        path!("v1" / "api" / "password-reset").and(post()).and(warp::addr::remote()).and(body()).and(with_app(app.clone())).and_then(ac::reset_request).boxed(),
        path!("v1" / "api" / "password-reset" / "confirm").and(post()).and(body()).and(with_app(app.clone())).and_then(ac::reset_confirm).boxed(),
        path!("v1" / "api" / "agents").and(get()).and(me()).and_then(ac::agents_list).boxed(),
        path!("v1" / "api" / "agents").and(post()).and(me()).and(body()).and_then(ac::agents_add).boxed(),
        path!("v1" / "api" / "agents" / String).and(patch()).and(me()).and(body()).and_then(ac::agents_patch).boxed(),
        path!("v1" / "api" / "agents" / String).and(delete()).and(me()).and_then(ac::agents_delete).boxed(),
        path!("v1" / "api" / "sites").and(get()).and(me()).and_then(st::list).boxed(),
        path!("v1" / "api" / "sites").and(post()).and(me()).and(body()).and_then(st::add).boxed(),
        path!("v1" / "api" / "sites" / String).and(get()).and(me()).and_then(st::get).boxed(),
        path!("v1" / "api" / "sites" / String).and(patch()).and(me()).and(body()).and_then(st::patch).boxed(),
        path!("v1" / "api" / "sites" / String / "rotate-secret").and(post()).and(me()).and_then(st::rotate_secret).boxed(),
        path!("v1" / "api" / "sites" / String / "snippet").and(get()).and(host()).and(me()).and_then(st::snippet).boxed(),
        path!("v1" / "api" / "sites" / String / "refused-origins").and(get()).and(me()).and_then(st::refused_origins).boxed(),
        path!("v1" / "api" / "sites" / String / "agents").and(get()).and(me()).and_then(st::team).boxed(),
        path!("v1" / "api" / "sites" / String / "canned").and(get()).and(me()).and_then(st::canned_list).boxed(),
        path!("v1" / "api" / "sites" / String / "canned").and(post()).and(me()).and(body()).and_then(st::canned_add).boxed(),
        path!("v1" / "api" / "sites" / String / "canned" / String).and(delete()).and(me()).and_then(st::canned_delete).boxed(),
        path!("v1" / "api" / "sites" / String / "conversations").and(get()).and(query()).and(me()).and_then(cv::list).boxed(),
        path!("v1" / "api" / "sites" / String / "visitors" / String).and(get()).and(me()).and_then(visitors::profile).boxed(),
        path!("v1" / "api" / "sites" / String / "visitors" / String).and(patch()).and(me()).and(body()).and_then(visitors::patch).boxed(),
        path!("v1" / "api" / "sites" / String / "visitors" / String / "export").and(get()).and(me()).and_then(privacy::export).boxed(),
        path!("v1" / "api" / "sites" / String / "visitors" / String / "erase").and(post()).and(me()).and(body()).and_then(privacy::erase).boxed(),
        path!("v1" / "api" / "sites" / String / "blocks").and(get()).and(me()).and_then(privacy::blocks_list).boxed(),
        path!("v1" / "api" / "sites" / String / "blocks").and(post()).and(me()).and(body()).and_then(privacy::blocks_add).boxed(),
        path!("v1" / "api" / "sites" / String / "blocks" / String).and(delete()).and(me()).and_then(privacy::blocks_delete).boxed(),
        path!("v1" / "api" / "sites" / String / "erasures").and(get()).and(me()).and_then(privacy::erasures).boxed(),
        path!("v1" / "api" / "sites" / String / "stats").and(get()).and(query()).and(me()).and_then(stats::stats).boxed(),
        path!("v1" / "api" / "sites" / String / "stats.csv").and(get()).and(query()).and(me()).and_then(stats::stats_csv).boxed(),
        path!("v1" / "api" / "sites" / String / "search").and(get()).and(query()).and(me()).and_then(search::search).boxed(),
        path!("v1" / "api" / "conversations" / String / "events").and(get()).and(query()).and(me()).and_then(cv::events).boxed(),
        path!("v1" / "api" / "conversations" / String / "assign").and(post()).and(me()).and(body()).and_then(cv::assign).boxed(),
        path!("v1" / "api" / "conversations" / String / "transfer").and(post()).and(me()).and(body()).and_then(cv::transfer).boxed(),
        path!("v1" / "api" / "conversations" / String / "close").and(post()).and(me()).and_then(cv::close).boxed(),
        path!("v1" / "api" / "conversations" / String / "reopen").and(post()).and(me()).and_then(cv::reopen).boxed(),
        path!("v1" / "api" / "conversations" / String / "notes").and(post()).and(me()).and(body()).and_then(cv::note).boxed(),
        path!("v1" / "api" / "conversations" / String / "labels" / String).and(put()).and(me()).and_then(cv::label_add).boxed(),
        path!("v1" / "api" / "conversations" / String / "labels" / String).and(delete()).and(me()).and_then(cv::label_remove).boxed(),
        path!("v1" / "api" / "conversations" / String / "messages").and(post()).and(me()).and(body()).and_then(cv::message).boxed(),
        path!("v1" / "api" / "sites" / String / "webhooks").and(get()).and(me()).and_then(ig::hooks_list).boxed(),
        path!("v1" / "api" / "sites" / String / "webhooks").and(post()).and(me()).and(body()).and_then(ig::hooks_add).boxed(),
        path!("v1" / "api" / "sites" / String / "webhooks" / String).and(patch()).and(me()).and(body()).and_then(ig::hooks_patch).boxed(),
        path!("v1" / "api" / "sites" / String / "webhooks" / String).and(delete()).and(me()).and_then(ig::hooks_delete).boxed(),
        path!("v1" / "api" / "sites" / String / "webhooks" / String / "deliveries").and(get()).and(me()).and_then(ig::deliveries).boxed(),
        path!("v1" / "api" / "sites" / String / "webhooks" / String / "deliveries" / String / "redeliver").and(post()).and(me()).and_then(ig::redeliver).boxed(),
        path!("v1" / "api" / "sites" / String / "keys").and(get()).and(me()).and_then(ig::keys_list).boxed(),
        path!("v1" / "api" / "sites" / String / "keys").and(post()).and(me()).and(body()).and_then(ig::keys_add).boxed(),
        path!("v1" / "api" / "sites" / String / "keys" / String).and(delete()).and(me()).and_then(ig::keys_delete).boxed(),
        path!("v1" / "api" / "push" / "key").and(get()).and(me()).and_then(push::key).boxed(),
        path!("v1" / "api" / "push" / "subscriptions").and(get()).and(me()).and_then(push::list).boxed(),
        path!("v1" / "api" / "push" / "subscriptions").and(post()).and(me()).and(body()).and_then(push::subscribe).boxed(),
        path!("v1" / "api" / "push" / "subscriptions").and(delete()).and(me()).and(body()).and_then(push::unsubscribe).boxed(),
    ];
    let openapi = path!("v1" / "api" / "openapi.json").and(get()).and_then(openapi).boxed();
    all.into_iter().fold(openapi, |acc, f| acc.or(f).unify().boxed())
}

/// GET /v1/api/openapi.json
async fn openapi() -> Result<Reply, Rejection> {
    Ok(Response::builder()
        .header(header::CONTENT_TYPE, "application/json")
        .body(Bytes::from_static(OPENAPI.as_bytes()))
        .unwrap_or_default())
}
