//! kefu's relay: the HTTP API, the WebSocket and long-poll transports, the
//! hub of live connections, and durable storage in sled — one process.
//!
//! # Layout
//! Layers, each using only those below it:
//! - [`cli`]: flags and env vars → a validated [`Config`]; admin subcommands.
//! - [`http`]: the public port's route table (and the metrics port's).
//!   Beneath it, side by side: [`api`] (the JSON API under `/v1/api/`, one
//!   module per resource), [`files::routes`] (uploads and downloads),
//!   [`assets`] (static files), [`chat_page`] (the hosted chat page
//!   `/chat/{site}`, its signed links and QR codes).
//! - [`ws`], [`longpoll`]: transports — bytes ⇄ protocol frames, nothing else.
//! - [`reply`]: the one error type (`Problem`), `recover`, the JSON reply
//!   helpers and body filter — used by every route, the long-poll included.
//! - [`session`]: one client's protocol state machine, shared by both
//!   transports (hello, auth, cursors, send → ack, replay, live).
//! - [`hub`]: live presence and subscribers, bounded queues.
//! - [`commit`]: group commit — batches writes, one flush + fdatasync, then acks.
//! - [`auth`]: visitor tokens, agent tokens, verified identity.
//! - [`files`] (its pure parts: [`files::kind`], [`files::thumb`],
//!   [`files::blobs`]): what an upload is, thumbnails, bytes on disk — no HTTP.
//! - [`export`]: the site stream (export, import, a move's format) and
//!   [`backup`]: whole-relay backup and restore, and the operator's
//!   routes on the metrics port that ask a running relay for either.
//! - [`store`]: the only module that touches sled.
//! - [`search`]: the full-text index under `<data_dir>/search` (tantivy),
//!   fed by the commit thread, rebuilt from the store when missing.
//! - [`metrics`]: counters, served as `/metrics` on the metrics port only
//!   (`--metrics-listen`, loopback by default).
//! - [`ratelimit`]: fixed one-minute windows for abuse limits.
//! - [`refused`]: origins refused for a site's widget — logged
//!   (rate-limited), remembered per site, written to the store coalesced.
//! - [`push`]: Web Push to agents — who is pushed when, VAPID, and the
//!   durable outbound queue's sender (a background task).
//! - [`hours`]: business hours — open or not at an instant, the next change
//!   (pure; the hub holds each site's state and its clock flips it).
//! - [`mail`]: mail out — agents' notices, visitors' unread replies and
//!   transcripts over SMTP on the outbound queue; reply addresses and
//!   Message-IDs; the unsubscribe page (beside [`api`]); mail in —
//!   replies fetched by IMAP become messages ([`mail::inbound`]).
//! - [`privacy`]: blocking visitors (client IPs behind trusted proxies,
//!   the sites' blocks), a visitor's export and erasure (resumable, the
//!   database rewritten after it at the next start).
//! - [`wechat`]: the WeChat Official Account bridge — message pushes in
//!   (beside [`api`] on the public port), customer-service replies out.

pub mod api;
pub mod assets;
pub mod auth;
pub mod backup;
pub mod chat_page;
pub mod cli;
pub mod commit;
pub mod export;
pub mod files;
pub mod hooks;
pub mod hours;
pub mod http;
pub mod hub;
pub mod longpoll;
pub mod mail;
pub mod metrics;
pub mod outbox;
pub mod privacy;
pub mod push;
pub mod ratelimit;
pub mod refused;
pub mod reply;
pub mod routing;
pub mod search;
pub mod session;
pub mod store;
pub mod wechat;
pub mod ws;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Validated settings (see [`cli`] for the flags that fill it).
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    /// Where `/metrics` (and `/healthz`) are served; `None`: nowhere. Never
    /// on the public port: visitor counts and traffic are not for visitors.
    pub metrics_listen: Option<SocketAddr>,
    /// sled lives in `<data_dir>/sled`.
    pub data_dir: PathBuf,
    /// How long a visitor without connections still shows online.
    pub offline_grace: Duration,
    /// Ack only after flush + fdatasync. Off only to measure the ceiling.
    pub durable: bool,
    /// Cap on WebSocket connections + long-poll sessions.
    pub max_connections: usize,
    /// On an empty data dir, create a demo site and agent and print them.
    pub demo: bool,
    /// Use this token for the demo agent instead of a random one.
    pub demo_token: Option<String>,
    /// The first-run owner's login e-mail.
    pub demo_email: String,
    /// The first-run owner's password (default: random, printed once).
    pub demo_password: Option<String>,
    /// Heartbeat interval on WebSockets; a connection silent for
    /// `heartbeat * 2.4` is dead (the default is 25 s → 60 s).
    pub heartbeat: Duration,
    /// How long an empty long-poll waits before answering.
    pub longpoll_wait: Duration,
    /// Visitor messages per minute from one IP (all visitors behind it).
    pub sends_per_ip: u32,
    /// Messages per minute from one visitor connection.
    pub sends_per_visitor: u32,
    /// Visitor page views per minute from one IP.
    pub page_views_per_ip: u32,
    /// Largest upload, bytes.
    pub max_file_bytes: u64,
    /// Bytes of uploads one visitor may store.
    pub visitor_upload_quota: u64,
    /// Uploads per minute from one visitor, and from one IP.
    pub uploads_per_visitor: u32,
    pub uploads_per_ip: u32,
    /// Largest image (width × height) the relay decodes for a thumbnail.
    pub max_image_pixels: u64,
    /// File kinds a site accepts unless its settings say otherwise.
    pub file_types: Vec<protocol::FileClass>,
    /// The contact (`mailto:` or `https:`) named in every VAPID JWT.
    pub vapid_subject: String,
    /// WeChat's API host (`--wechat-api-base`), without a trailing `/`.
    pub wechat_api_base: String,
    /// Webhook endpoints may be private addresses and plain http.
    pub webhooks_allow_private: bool,
    /// The first webhook retry's delay (ms).
    pub webhook_retry_ms: u64,
    /// Mail in: the mailbox replies are fetched from (`--imap-url`).
    pub imap: Option<mail::inbound::ImapUrl>,
    /// Mail out (`--smtp-url`, `--mail-from`); `None`: no mail at all.
    pub mail: Option<mail::MailConfig>,
    /// The relay's public base URL for links that leave it (mail), without
    /// a trailing `/`; `None`: `http://` and the bound address.
    pub public_url: Option<String>,
    /// Tests only (`--clock-file`): a file holding the time, in ms since
    /// the epoch, that [`now_ms`] answers, so a test can seed a history
    /// with known timings across days. `None`: the system clock.
    pub clock_file: Option<std::path::PathBuf>,
    /// Peers whose forwarded-for headers are believed (`--trust-proxy`).
    pub trust_proxy: Vec<protocol::api::privacy::IpRange>,
}

impl Config {
    /// Silence after which a WebSocket is considered dead.
    pub fn heartbeat_timeout(&self) -> Duration {
        self.heartbeat * 12 / 5
    }
}

/// Everything the layers share; one per process.
pub struct App {
    pub store: Arc<store::Store>,
    pub hub: Arc<hub::Hub>,
    pub commit: commit::Committer,
    /// Full-text search over messages and visitor profiles.
    pub search: Arc<search::Search>,
    /// Web Push: visibility of agents, their devices, the VAPID key.
    pub push: Arc<push::Pusher>,
    /// Webhook endpoints per site and their delivery queue.
    pub hooks: Arc<hooks::Hooks>,
    pub auth: auth::Auth,
    pub metrics: Arc<metrics::Metrics>,
    /// Cancelled when shutdown starts: upgraded sockets and long-polls
    /// watch it (hyper no longer tracks them).
    pub shutdown: CancellationToken,
    /// Tasks to wait for at shutdown (long-poll sessions).
    pub tasks: TaskTracker,
    pub connections: Arc<Semaphore>,
    pub longpoll: longpoll::Registry,
    /// Rate-limit windows: logins per account and IP, visitor sends and
    /// page views per IP.
    pub limiter: ratelimit::Limiter,
    /// Upload blobs on disk (`<data_dir>/files`).
    pub files: files::Blobs,
    /// Origins refused recently per site (see [`refused`]).
    pub refused: Arc<refused::Refused>,
    /// The WeChat API client (access tokens cached per account).
    pub wechat: Arc<wechat::client::Wechat>,
    /// WeChat replies waiting to go out (the outbound queue's).
    pub wechat_replies: Arc<wechat::courier::Replies>,
    /// Mail out, when configured.
    pub mail: Option<Arc<mail::Mailer>>,
    /// The sites' blocks, cached (see [`privacy::Blocks`]).
    pub blocks: privacy::Blocks,
    /// `--trust-proxy`, shared by the routes that read the client's IP.
    pub trusted_proxies: Arc<Vec<protocol::api::privacy::IpRange>>,
    pub config: Config,
}

/// Keys the rate limiter tracks at most (~100 bytes each).
pub const LIMITER_MAX_KEYS: usize = 100_000;

/// The file [`now_ms`] reads the time from, when tests set one
/// ([`Config::clock_file`]): once per process, before anything is stored.
static CLOCK_FILE: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();

/// Milliseconds since the Unix epoch: the system clock, or in tests
/// started with `--clock-file` the number in that file (read on every
/// call, so the test moves the clock by rewriting it; unreadable: the
/// system clock).
pub fn now_ms() -> u64 {
    if let Some(ms) = CLOCK_FILE
        .get()
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|s| s.trim().parse().ok())
    {
        return ms;
    }
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Whether `origin` may use a site's visitor endpoints. An empty allow-list
/// admits every origin (a new site works at once); otherwise the request
/// must carry one of the listed origins exactly.
pub fn origin_allowed(allowed: &[String], origin: Option<&str>) -> bool {
    if allowed.is_empty() {
        return true;
    }
    origin.is_some_and(|o| allowed.iter().any(|a| a.eq_ignore_ascii_case(o)))
}

/// Whether a visitor page at `origin` may use a site's visitor endpoints:
/// the allow-list ([`origin_allowed`]), or the relay's own origin (the
/// request's Host), where only the relay's own pages run — the hosted
/// chat page `/chat/{site}` works for every site, whatever its list.
pub fn visitor_origin_allowed(
    allowed: &[String],
    origin: Option<&str>,
    host: Option<&str>,
) -> bool {
    let own = match (origin, host) {
        (Some(o), Some(h)) => ["http://", "https://"].iter().any(|scheme| {
            o.get(..scheme.len())
                .is_some_and(|s| s.eq_ignore_ascii_case(scheme))
                && o[scheme.len()..].eq_ignore_ascii_case(h)
        }),
        _ => false,
    };
    own || origin_allowed(allowed, origin)
}

/// The hosted chat page's address for `site`, from the relay's base URL
/// (see [`reply::base_url`]).
pub fn chat_url(base: &str, site: &protocol::SiteId) -> String {
    format!("{base}/chat/{site}")
}

/// The HTML a site owner pastes into every page.
pub fn snippet(base: &str, site: &protocol::SiteId) -> String {
    format!(
        "<script>window.kefu=window.kefu||function(){{(kefu.q=kefu.q||[]).push(arguments)}};</script>\n\
         <script async src=\"{base}/widget/loader.js\" data-site=\"{site}\"></script>"
    )
}

/// The site first run creates, and the demo page at `/` shows.
pub const DEMO_SITE: &str = "demo";
/// The first run's site name and owner name: placeholders the console
/// asks the owner to replace on first sign-in.
pub const DEMO_SITE_NAME: &str = "Demo site";
/// See [`DEMO_SITE_NAME`].
pub const DEMO_AGENT_NAME: &str = "Demo Agent";

/// What first run created, for printing.
pub struct FirstRun {
    pub site: store::SiteRecord,
    pub agent: store::AgentRecord,
    pub token: String,
    pub email: String,
    pub password: String,
}

/// On an empty store, create the demo site and agent.
pub fn first_run(store: &store::Store, config: &Config) -> anyhow::Result<Option<FirstRun>> {
    if !config.demo || store.site_count() > 0 {
        return Ok(None);
    }
    let site_id = protocol::SiteId::new(DEMO_SITE).map_err(|e| anyhow::anyhow!("{e}"))?;
    let site = auth::create_site(store, site_id.clone(), DEMO_SITE_NAME)?;
    let email = config.demo_email.clone();
    let password = config
        .demo_password
        .clone()
        .unwrap_or_else(|| auth::random_b64(9));
    let new = auth::NewAgent {
        name: DEMO_AGENT_NAME.into(),
        sites: vec![site_id],
        email: Some(email.clone()),
        password: Some(password.clone()),
        role: store::AgentRole::Owner,
    };
    let (agent, token) = auth::create_agent(store, new, config.demo_token.clone())?;
    Ok(Some(FirstRun {
        site,
        agent,
        token,
        email,
        password,
    }))
}

impl App {
    /// The shared state over an open store; starts the commit thread (it
    /// ends once every [`commit::Committer`] is dropped).
    pub fn start(
        store: Arc<store::Store>,
        config: Config,
    ) -> anyhow::Result<(Arc<App>, std::thread::JoinHandle<()>)> {
        let hub = hub::Hub::new(config.offline_grace);
        // Business hours: the hub knows every site's from the start, so
        // the first welcome already says whether the site is open.
        let now = now_ms();
        for s in store.sites()? {
            if s.offline.hours.enabled {
                hub.load_hours(&s.id, &s.offline.hours, now);
            }
        }
        let metrics = Arc::new(metrics::Metrics::default());
        let push = push::Pusher::open(&store, config.vapid_subject.clone(), metrics.clone())?;
        let hooks = hooks::Hooks::open(store.clone(), config.webhooks_allow_private)?;
        let wechat_replies = wechat::courier::Replies::open(store.clone())?;
        let mailer = match &config.mail {
            Some(m) => {
                let base = config
                    .public_url
                    .clone()
                    .unwrap_or_else(|| format!("http://{}", config.listen));
                Some(mail::Mailer::open(
                    store.clone(),
                    hub.clone(),
                    m.clone(),
                    base,
                )?)
            }
            None => None,
        };
        let mut stages = vec![
            push.clone() as Arc<dyn outbox::Stage>,
            hooks.clone() as Arc<dyn outbox::Stage>,
            wechat_replies.clone() as Arc<dyn outbox::Stage>,
        ];
        if let Some(m) = &mailer {
            stages.push(m.clone() as Arc<dyn outbox::Stage>);
        }
        let outlets = outbox::Outlets::new(stages);
        // Never fails: without an index the relay runs, search answers 503.
        let search = search::Search::open(&search::dir_in(&config.data_dir), store.clone());
        let (commit, commit_thread) = commit::Committer::start(
            commit::Parts {
                store: store.clone(),
                hub: hub.clone(),
                metrics: metrics.clone(),
                outlets,
                search: search.feed(),
            },
            config.durable,
        );
        let app = Arc::new(App {
            push,
            hooks,
            auth: auth::Auth::new(store.server_key()?),
            refused: Arc::new(refused::Refused::new(store.clone())),
            wechat: Arc::new(wechat::client::Wechat::new(&config.wechat_api_base)?),
            wechat_replies,
            mail: mailer,
            store,
            hub,
            commit,
            search,
            metrics,
            shutdown: CancellationToken::new(),
            tasks: TaskTracker::new(),
            connections: Arc::new(Semaphore::new(config.max_connections)),
            longpoll: longpoll::Registry::default(),
            limiter: ratelimit::Limiter::new(LIMITER_MAX_KEYS),
            files: files::Blobs::open(&config.data_dir.join("files"))?,
            blocks: privacy::Blocks::default(),
            trusted_proxies: Arc::new(config.trust_proxy.clone()),
            config,
        });
        Ok((app, commit_thread))
    }

    /// Whether this relay sends mail (`--smtp-url`): then the offline form
    /// needs an email (the widget asks for one, told by `welcome.mail`).
    pub fn mail_on(&self) -> bool {
        self.mail.is_some()
    }
}

#[cfg(test)]
impl App {
    /// For route tests: an app over a fresh store in `dir`, configured by
    /// `flags` as the command line would be, with first run done.
    pub(crate) fn for_tests(dir: &std::path::Path, flags: &[&str]) -> Arc<App> {
        use clap::Parser as _;
        let args = std::iter::once("kefu-relay").chain(flags.iter().copied());
        let cli = cli::Cli::try_parse_from(args).expect("test flags");
        let config = cli.serve.config(dir.to_path_buf()).expect("test config");
        let store = Arc::new(store::Store::open(&dir.join("sled")).expect("store"));
        first_run(&store, &config).expect("first run");
        App::start(store, config).expect("app").0
    }
}

fn print_first_run(fr: &FirstRun, addr: SocketAddr) {
    println!(
        "kefu: first run — created site \"{}\" and its owner \"{}\"",
        fr.site.id, fr.agent.name
    );
    println!("  console     : http://{addr}/console/");
    println!("  login       : {} / {}", fr.email, fr.password);
    println!("  agent token : {}", fr.token);
    println!("  site secret : {}", fr.site.secret);
    println!("  demo page   : http://{addr}/");
    println!(
        "  snippet     : {}",
        snippet(&format!("http://{addr}"), &fr.site.id)
    );
}

/// The metrics port's listener, if one is configured and can be had. It
/// is auxiliary: an address in use (a second relay on the box) is a
/// warning, not a reason to refuse visitors.
async fn metrics_listener(addr: Option<SocketAddr>) -> Option<tokio::net::TcpListener> {
    let addr = addr?;
    match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => Some(l),
        Err(e) => {
            tracing::warn!(%addr, error = %e, "metrics not served: cannot listen");
            println!("kefu: metrics not served: cannot listen on {addr}: {e}");
            None
        }
    }
}

/// Runs the relay on `listener` (and `/metrics` on the configured metrics
/// address) until `shutdown` resolves, then stops accepting, closes live
/// sockets with 1012, ends long-polls, and makes the store durable before
/// returning.
pub async fn run(
    config: Config,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    if let Some(p) = &config.clock_file {
        tracing::warn!(file = %p.display(), "the clock is read from a file (tests only)");
        let _ = CLOCK_FILE.set(p.clone());
    }
    // Chat frames are small and latency-bound: without TCP_NODELAY, Nagle
    // holds a frame written right after another until the peer's delayed
    // ACK (~40 ms). Accepted sockets inherit the option from the listener
    // on Linux (warp exposes no per-connection hook).
    if let Err(e) = socket2::SockRef::from(&listener).set_tcp_nodelay(true) {
        tracing::warn!(error = %e, "could not set TCP_NODELAY");
    }
    let addr = listener.local_addr()?;
    // After an erase no old value of sled's log survives the restart; an
    // uncompressed store from before is converted.
    privacy::compact_if_pending(&config.data_dir)?;
    let store = Arc::new(store::Store::open(&config.data_dir.join("sled"))?);
    if let Some(fr) = first_run(&store, &config)? {
        print_first_run(&fr, addr);
    }
    let mut config = config;
    if config.public_url.is_none() {
        config.public_url = Some(format!("http://{addr}"));
    }
    let (app, commit_thread) = App::start(store.clone(), config)?;
    let refused = tokio::spawn(app.refused.clone().run(app.shutdown.clone()));
    // Erases a crash or a stop interrupted: finished before anything else
    // reads the visitor (they run on the commit thread like any write).
    app.tasks.spawn(privacy::resume_erasures(app.clone()));
    // The outbound queues: resumed from the store, end at shutdown.
    app.tasks.spawn(outbox::run(
        app.push.queue().clone(),
        Arc::new(push::send::Courier::new(app.push.clone())?),
        app.shutdown.clone(),
    ));
    let courier = hooks::send::Courier::new(app.hooks.clone(), app.config.webhook_retry_ms)?;
    app.tasks.spawn(outbox::run(
        app.hooks.queue().clone(),
        Arc::new(courier),
        app.shutdown.clone(),
    ));
    // WeChat replies: resumed from the store, end at shutdown.
    app.tasks.spawn(outbox::run(
        app.wechat_replies.queue().clone(),
        Arc::new(wechat::courier::WechatCourier::new(app.clone())),
        app.shutdown.clone(),
    ));
    // The hours clock: sites open and close for their visitors.
    app.tasks
        .spawn(hub::hours_clock(app.hub.clone(), app.shutdown.clone()));
    // Mail: resumed from the store, ends at shutdown.
    if let Some(m) = &app.mail {
        app.tasks.spawn(outbox::run(
            m.queue().clone(),
            Arc::new(mail::send::Courier::new(m.clone())?),
            app.shutdown.clone(),
        ));
    }
    // Mail in: replies by email, fetched from the mailbox until shutdown.
    if let Some(url) = app.config.imap.clone() {
        let key = mail::MailKey::new(app.store.mail_key()?);
        app.tasks.spawn(mail::inbound::fetch::run(
            app.clone(),
            url,
            key,
            app.shutdown.clone(),
        ));
    }
    // The routing clock: no-answer and away deadlines, queue service.
    app.tasks
        .spawn(routing::clock(app.commit.clone(), app.shutdown.clone()));
    let metrics = match metrics_listener(app.config.metrics_listen).await {
        Some(l) => {
            // Before "listening on": whoever waits for that line has this one.
            println!("kefu: metrics on http://{}", l.local_addr()?);
            let server = warp::serve(http::metrics_routes(app.clone()))
                .incoming(l)
                .graceful(app.shutdown.clone().cancelled_owned())
                .run();
            Some(tokio::spawn(server))
        }
        None => None,
    };
    tracing::info!(%addr, durable = app.config.durable, "kefu relay listening");
    // On stdout too: scripts and tests read the bound port from it.
    println!("kefu: listening on http://{addr}");
    println!("kefu: console at http://{addr}/console/ · demo page at http://{addr}/");

    let token = app.shutdown.clone();
    let signal = async move {
        shutdown.await;
        tracing::info!("shutting down");
        token.cancel();
    };
    warp::serve(http::routes(app.clone()))
        .incoming(listener)
        .graceful(signal)
        .run()
        .await;
    if let Some(m) = metrics {
        let _ = m.await;
    }
    let _ = refused.await;

    app.tasks.close();
    let _ = tokio::time::timeout(Duration::from_secs(5), app.tasks.wait()).await;
    // Upgraded sockets saw the token too; give their close frames a moment.
    tokio::time::sleep(Duration::from_millis(100)).await;
    // What the index holds uncommitted (a catch-up would redo it).
    let search = app.search.clone();
    let _ = tokio::task::spawn_blocking(move || search.flush(Duration::from_secs(3))).await;
    drop(app);
    // The commit thread ends once the last Committer clone is gone; sessions
    // still winding down may hold one, so do not wait on it forever.
    let joined = tokio::task::spawn_blocking(move || commit_thread.join());
    let _ = tokio::time::timeout(Duration::from_secs(5), joined).await;
    store.sync()?;
    tracing::info!("stopped");
    Ok(())
}

#[cfg(test)]
mod origin_tests {
    use super::visitor_origin_allowed;

    /// The relay's own origin (the hosted chat page) passes any allow-list;
    /// a look-alike or another port does not.
    #[test]
    fn the_relays_own_origin_passes_the_allow_list() {
        let list = vec!["https://shop.example".to_string()];
        let host = Some("chat.example:8080");
        let ok = |o: &str| visitor_origin_allowed(&list, Some(o), host);
        assert!(ok("https://shop.example"));
        assert!(ok("http://chat.example:8080"));
        assert!(ok("HTTPS://Chat.Example:8080"));
        assert!(!ok("http://chat.example"));
        assert!(!ok("http://chat.example:8080.evil.example"));
        assert!(!ok("http://evil.example"));
        assert!(!visitor_origin_allowed(&list, None, host));
        assert!(!visitor_origin_allowed(
            &list,
            Some("http://chat.example:8080"),
            None
        ));
        assert!(
            visitor_origin_allowed(&[], None, None),
            "an empty list admits all"
        );
    }
}
