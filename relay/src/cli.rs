//! The command line: raw flags (clap, with env vars) → a validated
//! [`Config`], plus admin subcommands that work on a stopped relay's data dir.

use crate::{auth, store::Store, Config};
use clap::{Args, Parser, Subcommand};
use protocol::SiteId;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(
    name = "kefu-relay",
    version,
    about = "kefu live-chat relay: one process, one data dir"
)]
pub struct Cli {
    /// Where kefu keeps its data (sled under `<dir>/sled`; created if missing).
    #[arg(long, env = "KEFU_DATA_DIR", default_value = "data", global = true)]
    pub data_dir: PathBuf,
    /// Without a subcommand the relay serves, with these flags.
    #[command(flatten)]
    pub serve: Serve,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create a site; prints its secret (for `user_hash`).
    SiteAdd {
        #[arg(long)]
        id: String,
        #[arg(long, default_value = "My site")]
        name: String,
    },
    /// Create an agent on one or more sites; prints a session token.
    AgentAdd {
        #[arg(long)]
        name: String,
        /// Login e-mail (with --password, the agent can log in to the console).
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        password: Option<String>,
        /// Owner: may create sites and add/remove agents.
        #[arg(long)]
        owner: bool,
        /// A site the agent belongs to (repeat for several).
        #[arg(long = "site", required = true)]
        sites: Vec<String>,
    },
    /// Set an agent's password on the box (the relay stopped, like every
    /// subcommand); prints a generated one unless --password is given.
    /// Ends every sign-in session of the agent.
    PasswordReset {
        /// The agent's sign-in e-mail.
        #[arg(long)]
        email: String,
        /// The new password (at least 8 characters); omitted: a random one.
        #[arg(long)]
        password: Option<String>,
    },
    /// Print the reply address of a conversation for its visitor or one
    /// agent (what mail about it is sent with; replies to it come back in).
    #[command(group(clap::ArgGroup::new("to").required(true).args(["visitor", "agent"])))]
    MailReplyAddress {
        #[arg(long)]
        conv: String,
        /// The address for the conversation's visitor.
        #[arg(long)]
        visitor: bool,
        /// The address for this agent (id).
        #[arg(long)]
        agent: Option<String>,
        /// The relay's sender address the reply address is made from
        /// (`kefu@example.com` or `Name <kefu@example.com>`, as --mail-from).
        #[arg(long, env = "KEFU_MAIL_FROM")]
        from: String,
    },
    /// Write one site's stream (docs/export-format.md): every
    /// conversation, event, visitor, page, upload and setting. Reads the
    /// data dir of a stopped relay, or with --relay asks a running one to
    /// write the file on its machine.
    Export {
        #[arg(long)]
        site: String,
        /// Where to write it (`-`: stdout; with --relay, an absolute path
        /// on the relay's machine that does not exist yet).
        #[arg(long, default_value = "-")]
        out: String,
        #[command(flatten)]
        online: Online,
    },
    /// Import a site's stream into the data dir of a stopped relay. The
    /// whole stream is checked first: a truncated or altered one is
    /// refused and nothing is written.
    Import {
        /// The stream (`-`: stdin).
        #[arg(long = "in", default_value = "-")]
        input: String,
        /// Replace the site when it exists here (its old data is removed).
        #[arg(long)]
        replace: bool,
        /// Only check the stream; write nothing.
        #[arg(long)]
        check: bool,
    },
    /// Back up a running relay into DIR (absent or empty, on the relay's
    /// machine): a consistent copy of every tree and the uploads.
    Backup {
        #[arg(long)]
        to: PathBuf,
        #[command(flatten)]
        online: Online,
    },
    /// Restore a backup into --data-dir (its sled/ and files/ absent or
    /// empty), the relay stopped; then start the relay on it.
    Restore {
        #[arg(long)]
        from: PathBuf,
    },
}

/// How the CLI reaches a running relay: its metrics (operator) port, with
/// an owner's token.
#[derive(Args, Debug)]
pub struct Online {
    /// The running relay's metrics address (`--metrics-listen`), e.g.
    /// http://127.0.0.1:9464. Export without it reads the data dir.
    #[arg(long, env = "KEFU_RELAY_ADMIN")]
    relay: Option<String>,
    /// An owner's token (a session token, or one from `agent-add --owner`).
    #[arg(long, env = "KEFU_TOKEN")]
    token: Option<String>,
}

impl Online {
    fn call(&self, path: &str, body: serde_json::Value) -> anyhow::Result<serde_json::Value> {
        let default = format!("http://{DEFAULT_METRICS_LISTEN}");
        let base = self
            .relay
            .as_deref()
            .unwrap_or(&default)
            .trim_end_matches('/');
        let token = self
            .token
            .as_deref()
            .ok_or_else(|| anyhow::anyhow!("--token (or KEFU_TOKEN): an owner's token"))?;
        admin_post(&format!("{base}{path}"), token, body)
    }
}

/// POSTs JSON to the relay's operator port; the answer's JSON, or its
/// error message.
fn admin_post(
    url: &str,
    token: &str,
    body: serde_json::Value,
) -> anyhow::Result<serde_json::Value> {
    use http_body_util::BodyExt;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http::<http_body_util::Full<bytes::Bytes>>();
        let req = hyper::Request::post(url)
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(http_body_util::Full::new(bytes::Bytes::from(
                serde_json::to_vec(&body)?,
            )))?;
        let resp = client.request(req).await.map_err(|e| {
            anyhow::anyhow!("{url}: {e} (is the relay running, with --metrics-listen there?)")
        })?;
        let status = resp.status();
        let bytes = resp.into_body().collect().await?.to_bytes();
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        if !status.is_success() {
            anyhow::bail!(
                "{status}: {}",
                v["message"]
                    .as_str()
                    .unwrap_or(&String::from_utf8_lossy(&bytes))
            );
        }
        Ok(v)
    })
}

/// Loopback, so only the box itself (or a scraper on it) reads the
/// counters; 9464 is the port Prometheus exporters commonly use.
pub const DEFAULT_METRICS_LISTEN: &str = "127.0.0.1:9464";

#[derive(Args, Debug)]
pub struct Serve {
    /// Address to listen on.
    #[arg(long, env = "KEFU_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Address for `/metrics` and `/healthz` (Prometheus), never served on
    /// the public port; `off` (or empty) serves them nowhere.
    #[arg(long, env = "KEFU_METRICS_LISTEN", default_value = DEFAULT_METRICS_LISTEN)]
    pub metrics_listen: String,
    /// Milliseconds a visitor without connections still shows online.
    #[arg(long, env = "KEFU_OFFLINE_GRACE_MS", default_value_t = protocol::limits::OFFLINE_GRACE_MS)]
    pub offline_grace_ms: u64,
    /// Skip flush+fdatasync before acks. Loses acked messages on a crash:
    /// for measuring the ceiling in benchmarks only.
    #[arg(long, env = "KEFU_NO_FSYNC")]
    pub no_fsync: bool,
    /// Most WebSocket connections plus long-poll sessions at once.
    #[arg(long, env = "KEFU_MAX_CONNECTIONS", default_value_t = protocol::limits::MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// Do not create the demo site and agent on an empty data dir.
    #[arg(long, env = "KEFU_NO_DEMO")]
    pub no_demo: bool,
    /// Token for the demo agent (default: random, printed once).
    #[arg(long, env = "KEFU_DEMO_TOKEN")]
    pub demo_token: Option<String>,
    /// Login e-mail of the first-run owner.
    #[arg(long, env = "KEFU_DEMO_EMAIL", default_value = "owner@example.com")]
    pub demo_email: String,
    /// Password of the first-run owner (default: random, printed once).
    #[arg(long, env = "KEFU_DEMO_PASSWORD")]
    pub demo_password: Option<String>,
    /// WebSocket heartbeat interval in ms (dead after 2.4× this in silence).
    #[arg(long, env = "KEFU_HEARTBEAT_MS", default_value_t = protocol::limits::HEARTBEAT_INTERVAL_MS)]
    pub heartbeat_ms: u64,
    /// How long an empty long-poll waits, in ms.
    #[arg(long, env = "KEFU_LONGPOLL_WAIT_MS", default_value_t = protocol::limits::LONGPOLL_WAIT_MS)]
    pub longpoll_wait_ms: u64,
    /// Visitor messages per minute from one IP address (raise it for sites
    /// whose visitors share a large NAT).
    #[arg(long, env = "KEFU_SENDS_PER_IP", default_value_t = protocol::limits::MAX_VISITOR_SENDS_PER_IP_PER_MINUTE)]
    pub sends_per_ip: u32,
    /// Messages per minute from one visitor connection.
    #[arg(long, env = "KEFU_SENDS_PER_VISITOR", default_value_t = protocol::limits::MAX_VISITOR_SENDS_PER_MINUTE)]
    pub sends_per_visitor: u32,
    /// Visitor page views per minute from one IP address.
    #[arg(long, env = "KEFU_PAGE_VIEWS_PER_IP", default_value_t = protocol::limits::MAX_PAGE_VIEWS_PER_IP_PER_MINUTE)]
    pub page_views_per_ip: u32,
    /// Reverse proxies whose `X-Forwarded-For` / `Forwarded` header names
    /// the client: comma-separated addresses or CIDR ranges (e.g.
    /// `127.0.0.1,10.0.0.0/8`). From any other peer those headers are
    /// ignored (anyone can send them). Empty: the socket's address is the
    /// client's.
    #[arg(long, env = "KEFU_TRUST_PROXY", default_value = "")]
    pub trust_proxy: String,
    /// Largest upload in bytes.
    #[arg(long, env = "KEFU_MAX_FILE_BYTES", default_value_t = protocol::limits::MAX_FILE_BYTES)]
    pub max_file_bytes: u64,
    /// Bytes of uploads one visitor may store in all.
    #[arg(long, env = "KEFU_VISITOR_UPLOAD_QUOTA", default_value_t = protocol::limits::MAX_VISITOR_UPLOAD_BYTES)]
    pub visitor_upload_quota: u64,
    /// Uploads per minute from one visitor.
    #[arg(long, env = "KEFU_UPLOADS_PER_VISITOR", default_value_t = protocol::limits::MAX_VISITOR_UPLOADS_PER_MINUTE)]
    pub uploads_per_visitor: u32,
    /// Uploads per minute from all visitors behind one IP address.
    #[arg(long, env = "KEFU_UPLOADS_PER_IP", default_value_t = protocol::limits::MAX_UPLOADS_PER_IP_PER_MINUTE)]
    pub uploads_per_ip: u32,
    /// Largest image, in pixels (width × height), accepted for a thumbnail;
    /// bigger ones are refused as decompression bombs.
    #[arg(long, env = "KEFU_MAX_IMAGE_PIXELS", default_value_t = protocol::limits::MAX_IMAGE_PIXELS)]
    pub max_image_pixels: u64,
    /// File kinds sites accept unless their settings say otherwise:
    /// comma-separated from image, pdf, office, text; empty turns
    /// attachments off.
    #[arg(long, env = "KEFU_FILE_TYPES", default_value = "image,pdf,office,text")]
    pub file_types: String,
    /// Web Push: the contact named to push services in every VAPID JWT
    /// (RFC 8292 `sub`), a `mailto:` or `https:` URL where the operator
    /// can be reached about this relay's pushes.
    #[arg(long, env = "KEFU_VAPID_SUBJECT", default_value = crate::push::vapid::DEFAULT_VAPID_SUBJECT)]
    pub vapid_subject: String,
    /// WeChat Official Accounts: the API host replies, access tokens and
    /// media go to (`http(s)://host[:port]`, no path). Only tests and
    /// proxies change it.
    #[arg(long, env = "KEFU_WECHAT_API_BASE", default_value = DEFAULT_WECHAT_API_BASE)]
    pub wechat_api_base: String,
    /// Webhooks: also allow endpoints on loopback, private and link-local
    /// addresses, and plain `http://` (for tests and endpoints inside
    /// your own network). Off: only public `https://` endpoints.
    #[arg(long, env = "KEFU_WEBHOOKS_ALLOW_PRIVATE")]
    pub webhooks_allow_private: bool,
    /// Webhooks: the first retry's delay in ms (doubling up to an hour).
    #[arg(long, env = "KEFU_WEBHOOK_RETRY_MS", default_value_t = crate::hooks::send::RETRY_FIRST_MS)]
    pub webhook_retry_ms: u64,
    /// Mail in: the mailbox replies to kefu's mail arrive in, fetched by
    /// IMAP: `imaps://user:password@host[:port]/INBOX`, or `imap://…`
    /// (STARTTLS). Flags: `?starttls=required|auto|no`, `?idle=no`,
    /// `?poll_s=N`, `?ca=/path.pem`. Unset: no mail is read.
    #[arg(long, env = "KEFU_IMAP_URL")]
    pub imap_url: Option<String>,
    /// Mail: the SMTP server mail goes through. `smtp://host:port`
    /// (plain), `smtp://host:port?tls=starttls` (STARTTLS required;
    /// `?tls=opportunistic` when offered), `smtps://host:port` (TLS from
    /// the start); `user:pass@` before the host to log in. Unset: the
    /// relay sends no mail and the widget never mentions email.
    #[arg(long, env = "KEFU_SMTP_URL")]
    pub smtp_url: Option<String>,
    /// Mail: the sender, `Name <kefu@example.com>`; replies come back to
    /// this address with a token (`kefu+TOKEN@example.com`). Needed with
    /// --smtp-url.
    #[arg(long, env = "KEFU_MAIL_FROM")]
    pub mail_from: Option<String>,
    /// Mail: the first retry's delay in ms (doubling up to an hour, for
    /// two days).
    #[arg(long, env = "KEFU_MAIL_RETRY_MS", default_value_t = crate::mail::send::RETRY_FIRST_MS)]
    pub mail_retry_ms: u64,
    /// Mail: how long one minute of a site's continuity delay lasts, in
    /// ms. Only tests shorten it.
    #[arg(
        long,
        env = "KEFU_MAIL_MINUTE_MS",
        default_value_t = 60_000,
        hide = true
    )]
    pub mail_minute_ms: u64,
    /// The address people reach this relay at (`https://chat.example.com`),
    /// for links in mail. Default: `http://` and the listening address,
    /// which is only allowed when that is a specific one (a loopback
    /// address for trying it out): with --smtp-url on 0.0.0.0 or [::]
    /// the relay refuses to start without it.
    #[arg(long, env = "KEFU_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Tests only: read the time (ms since the epoch) from this file on
    /// every look at the clock, so a test can seed a history with known
    /// timings. Never for a real install.
    #[arg(long, hide = true)]
    pub clock_file: Option<PathBuf>,
}

/// Mail carries links back to the relay: with mail on and no
/// `--public-url`, they would name the listen address, which must then be
/// one people can reach — never the unspecified 0.0.0.0 or [::].
fn check_mail_links(
    mail: bool,
    public_url: Option<&str>,
    listen: std::net::SocketAddr,
) -> anyhow::Result<()> {
    if mail && public_url.is_none() && listen.ip().is_unspecified() {
        anyhow::bail!(
            "--smtp-url needs --public-url (the address people reach this relay at, \
             e.g. https://chat.example.com) when listening on {listen}: links in mail \
             would otherwise point to http://{listen}"
        );
    }
    Ok(())
}

/// WeChat's API host.
pub const DEFAULT_WECHAT_API_BASE: &str = "https://api.weixin.qq.com";

impl Serve {
    /// Stage two: raw flags → validated config.
    pub fn config(&self, data_dir: PathBuf) -> anyhow::Result<Config> {
        let listen: SocketAddr = self
            .listen
            .parse()
            .map_err(|e| anyhow::anyhow!("--listen {:?} is not host:port: {e}", self.listen))?;
        let metrics_listen = match self.metrics_listen.trim() {
            "" | "off" => None,
            a => Some(a.parse::<SocketAddr>().map_err(|e| {
                anyhow::anyhow!("--metrics-listen {a:?} is not host:port or off: {e}")
            })?),
        };
        if self.heartbeat_ms < 100 || self.longpoll_wait_ms < 100 {
            anyhow::bail!("--heartbeat-ms and --longpoll-wait-ms must be at least 100");
        }
        if self.max_connections == 0 {
            anyhow::bail!("--max-connections must be at least 1");
        }
        if let Some(p) = &self.demo_password {
            crate::auth::check_new_password(p)
                .map_err(|e| anyhow::anyhow!("--demo-password: {e}"))?;
        }
        if let Some(t) = &self.demo_token {
            if t.len() < 8 {
                anyhow::bail!("--demo-token must be at least 8 characters");
            }
        }
        let mut file_types = Vec::new();
        for t in self
            .file_types
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            let c = protocol::FileClass::parse(t).ok_or_else(|| {
                anyhow::anyhow!("--file-types: {t:?} is not one of image, pdf, office, text")
            })?;
            if !file_types.contains(&c) {
                file_types.push(c);
            }
        }
        let mut trust_proxy = Vec::new();
        for p in self
            .trust_proxy
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            trust_proxy.push(
                protocol::api::privacy::IpRange::parse(p)
                    .map_err(|e| anyhow::anyhow!("--trust-proxy: {e}"))?,
            );
        }
        if trust_proxy.len() > protocol::limits::MAX_TRUSTED_PROXIES {
            anyhow::bail!(
                "--trust-proxy: at most {} ranges",
                protocol::limits::MAX_TRUSTED_PROXIES
            );
        }
        if self.max_file_bytes == 0 {
            anyhow::bail!("--max-file-bytes must be at least 1");
        }
        let vapid_subject = self.vapid_subject.trim().to_string();
        crate::push::vapid::check_subject(&vapid_subject)
            .map_err(|e| anyhow::anyhow!("--vapid-subject: {e}"))?;
        let wechat_api_base = self
            .wechat_api_base
            .trim()
            .trim_end_matches('/')
            .to_string();
        match url::Url::parse(&wechat_api_base) {
            Ok(u)
                if matches!(u.scheme(), "http" | "https")
                    && u.path() == "/"
                    && u.host().is_some() => {}
            _ => anyhow::bail!(
                "--wechat-api-base {wechat_api_base:?} is not an http(s)://host[:port] URL"
            ),
        }
        let imap = match self.imap_url.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(u) => Some(
                crate::mail::inbound::ImapUrl::parse(u)
                    .map_err(|e| anyhow::anyhow!("--imap-url: {e}"))?,
            ),
        };
        let mail = match (&self.smtp_url, &self.mail_from) {
            (None, None) => None,
            (Some(url), Some(from)) => Some(
                crate::mail::MailConfig::new(url, from, self.mail_retry_ms, self.mail_minute_ms)
                    .map_err(|e| anyhow::anyhow!(e))?,
            ),
            _ => anyhow::bail!("--smtp-url and --mail-from go together"),
        };
        let public_url = match self.public_url.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(u) => match url::Url::parse(u) {
                Ok(p) if matches!(p.scheme(), "http" | "https") && p.host().is_some() => {
                    Some(u.trim_end_matches('/').to_string())
                }
                _ => anyhow::bail!("--public-url {u:?} is not an http(s):// URL"),
            },
        };
        check_mail_links(mail.is_some(), public_url.as_deref(), listen)?;
        Ok(Config {
            listen,
            metrics_listen,
            data_dir,
            offline_grace: Duration::from_millis(self.offline_grace_ms),
            durable: !self.no_fsync,
            max_connections: self.max_connections,
            demo: !self.no_demo,
            demo_token: self.demo_token.clone(),
            demo_email: self.demo_email.trim().to_ascii_lowercase(),
            demo_password: self.demo_password.clone(),
            heartbeat: Duration::from_millis(self.heartbeat_ms),
            longpoll_wait: Duration::from_millis(self.longpoll_wait_ms),
            sends_per_ip: self.sends_per_ip,
            sends_per_visitor: self.sends_per_visitor,
            page_views_per_ip: self.page_views_per_ip,
            max_file_bytes: self.max_file_bytes,
            visitor_upload_quota: self.visitor_upload_quota,
            uploads_per_visitor: self.uploads_per_visitor,
            uploads_per_ip: self.uploads_per_ip,
            max_image_pixels: self.max_image_pixels,
            file_types,
            vapid_subject,
            wechat_api_base,
            webhooks_allow_private: self.webhooks_allow_private,
            webhook_retry_ms: self.webhook_retry_ms.max(1),
            imap,
            mail,
            public_url,
            clock_file: self.clock_file.clone(),
            trust_proxy,
        })
    }
}

/// The binary's whole `main`.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            // hyper reports every client that hangs up mid-request as a
            // server "error"; with many flaky mobile clients that is noise.
            tracing_subscriber::EnvFilter::try_from_env("KEFU_LOG")
                .unwrap_or_else(|_| "info,warp::server=off".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kefu-relay: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let data_dir = cli.data_dir;
    match cli.command {
        None => serve(cli.serve.config(data_dir)?),
        Some(Command::SiteAdd { id, name }) => {
            let store = Store::open(&data_dir.join("sled"))?;
            let id = SiteId::new(id).map_err(|e| anyhow::anyhow!("--id: {e}"))?;
            if store.site(&id)?.is_some() {
                anyhow::bail!("site {id} exists already");
            }
            let site = auth::create_site(&store, id, &name)?;
            println!("{}", site.secret);
            Ok(())
        }
        Some(Command::AgentAdd {
            name,
            sites,
            email,
            password,
            owner,
        }) => {
            let store = Store::open(&data_dir.join("sled"))?;
            let mut ids = Vec::new();
            for s in sites {
                let id = SiteId::new(s).map_err(|e| anyhow::anyhow!("--site: {e}"))?;
                if store.site(&id)?.is_none() {
                    anyhow::bail!("no site {id}");
                }
                ids.push(id);
            }
            if let Some(p) = &password {
                auth::check_new_password(p).map_err(|e| anyhow::anyhow!("--password: {e}"))?;
            }
            if let Some(e) = &email {
                if store
                    .agent_by_email(&e.trim().to_ascii_lowercase())?
                    .is_some()
                {
                    anyhow::bail!("an agent with e-mail {e} exists already");
                }
            }
            let role = if owner {
                crate::store::AgentRole::Owner
            } else {
                crate::store::AgentRole::Agent
            };
            let new = auth::NewAgent {
                name,
                sites: ids,
                email,
                password,
                role,
            };
            // CLI tokens are for integrations: they do not expire.
            let (_, token) = auth::create_agent(&store, new, None)?;
            println!("{token}");
            Ok(())
        }
        Some(Command::PasswordReset { email, password }) => {
            let store = Store::open(&data_dir.join("sled"))?;
            let email = email.trim().to_ascii_lowercase();
            let Some(agent) = store.agent_by_email(&email)? else {
                anyhow::bail!("no agent signs in with {email}");
            };
            let (password, generated) = match password {
                Some(p) => {
                    auth::check_new_password(&p).map_err(|e| anyhow::anyhow!("--password: {e}"))?;
                    (p, false)
                }
                None => (auth::random_b64(12), true),
            };
            let ended = auth::set_password(&store, &agent.id, &password, None)?.unwrap_or(0);
            if generated {
                println!("{password}");
            }
            eprintln!("password of {email} set; {ended} sign-in sessions ended");
            Ok(())
        }
        Some(Command::MailReplyAddress {
            conv,
            visitor,
            agent,
            from,
        }) => {
            let store = Store::open(&data_dir.join("sled"))?;
            let conv = protocol::ConvId::new(conv).map_err(|e| anyhow::anyhow!("--conv: {e}"))?;
            if store.conv(&conv)?.is_none() {
                anyhow::bail!("no conversation {conv}");
            }
            let to = match (visitor, agent) {
                (true, _) => crate::mail::Recipient::Visitor,
                (false, Some(a)) => {
                    let a =
                        protocol::AgentId::new(a).map_err(|e| anyhow::anyhow!("--agent: {e}"))?;
                    if store.agent(&a)?.is_none() {
                        anyhow::bail!("no agent {a}");
                    }
                    crate::mail::Recipient::Agent(a)
                }
                (false, None) => anyhow::bail!("--visitor or --agent"),
            };
            // `Name <kefu@example.com>` (as --mail-from takes it) or bare.
            let from = match (from.rfind('<'), from.rfind('>')) {
                (Some(a), Some(b)) if a < b => &from[a + 1..b],
                _ => from.as_str(),
            }
            .trim();
            if from.split('@').count() != 2 || from.starts_with('@') || from.ends_with('@') {
                anyhow::bail!("--from {from:?} is not an address (kefu@example.com)");
            }
            let key = crate::mail::MailKey::new(store.mail_key()?);
            println!("{}", key.reply_address(from, &conv, &to));
            Ok(())
        }
        Some(Command::Export { site, out, online }) => export(&data_dir, &site, &out, &online),
        Some(Command::Import {
            input,
            replace,
            check,
        }) => import(&data_dir, &input, replace, check),
        Some(Command::Backup { to, online }) => {
            if !to.is_absolute() {
                anyhow::bail!("--to must be an absolute path (the relay writes it)");
            }
            let v = online.call("/admin/backup", serde_json::json!({ "to": to }))?;
            println!("{}", serde_json::to_string_pretty(&v)?);
            Ok(())
        }
        Some(Command::Restore { from }) => {
            let m = crate::backup::restore(&from, &data_dir)?;
            eprintln!(
                "kefu-relay: restored the backup of {} ({} uploads) into {}",
                m.taken_at,
                m.blobs,
                data_dir.display()
            );
            Ok(())
        }
    }
}

/// The store of a stopped relay's data dir (a clear word when it runs).
fn open_stopped(data_dir: &std::path::Path) -> anyhow::Result<Store> {
    Store::open(&data_dir.join("sled")).map_err(|e| {
        anyhow::anyhow!(
            "cannot open {}: {e} (a running relay holds it: stop it, or use --relay)",
            data_dir.join("sled").display()
        )
    })
}

fn export(
    data_dir: &std::path::Path,
    site: &str,
    out: &str,
    online: &Online,
) -> anyhow::Result<()> {
    let site = SiteId::new(site).map_err(|e| anyhow::anyhow!("--site: {e}"))?;
    if online.relay.is_some() {
        if out == "-" {
            anyhow::bail!("with --relay, --out is a path on the relay's machine");
        }
        let v = online.call(
            "/admin/export",
            serde_json::json!({"site": site, "to": out}),
        )?;
        eprintln!("kefu-relay: exported {site} to {out}: {}", v["totals"]);
        return Ok(());
    }
    let store = open_stopped(data_dir)?;
    let blobs = crate::files::Blobs::open(&data_dir.join("files"))?;
    let started = std::time::Instant::now();
    let totals = if out == "-" {
        crate::export::export_site(&store, &blobs, &site, std::io::stdout().lock())?
    } else {
        crate::backup::export_to_file(&store, &blobs, &site, std::path::Path::new(out))?
    };
    eprintln!(
        "kefu-relay: exported {site}: {} records, {} bytes of uploads, {} bytes in {} ms",
        totals.records,
        totals.blob_bytes,
        totals.bytes,
        started.elapsed().as_millis()
    );
    Ok(())
}

fn import(
    data_dir: &std::path::Path,
    input: &str,
    replace: bool,
    check: bool,
) -> anyhow::Result<()> {
    // Import reads the stream twice (check, then write): stdin is spooled
    // to a file beside the store first.
    let spool;
    let path = if input == "-" {
        std::fs::create_dir_all(data_dir)?;
        spool = tempfile_in(data_dir)?;
        let mut f = std::fs::File::create(&spool.0)?;
        std::io::copy(&mut std::io::stdin().lock(), &mut f)?;
        f.sync_all()?;
        spool.0.clone()
    } else {
        PathBuf::from(input)
    };
    let started = std::time::Instant::now();
    if check {
        let (h, t) = crate::export::verify(&path)?;
        eprintln!(
            "kefu-relay: stream of site {} is whole: {} records",
            h.site, t.records
        );
        return Ok(());
    }
    let store = open_stopped(data_dir)?;
    let blobs = crate::files::Blobs::open(&data_dir.join("files"))?;
    let done = crate::export::import_site(
        &store,
        &blobs,
        &path,
        replace,
        &crate::search::dir_in(data_dir),
    )?;
    eprintln!(
        "kefu-relay: imported {}: {} records ({} agents added, {} merged) in {} ms",
        done.site,
        done.totals.records,
        done.agents_added,
        done.agents_merged,
        started.elapsed().as_millis()
    );
    Ok(())
}

/// A spool file removed when dropped.
struct Spool(PathBuf);

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn tempfile_in(dir: &std::path::Path) -> anyhow::Result<Spool> {
    Ok(Spool(
        dir.join(format!("import-{}.spool", ulid::Ulid::new())),
    ))
}

fn serve(config: Config) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.listen))?;
        crate::run(config, listener, shutdown_signal()).await
    })
}

/// Resolves on SIGTERM or ctrl-c.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

#[cfg(test)]
mod tests {
    use super::check_mail_links;

    /// Mail on 0.0.0.0 or [::] without --public-url would mail links to
    /// an address nobody can reach: refused with a message naming the
    /// flag; a loopback or specific address, or --public-url, is fine.
    #[test]
    fn mail_links_need_a_reachable_base() {
        let any4 = "0.0.0.0:8080".parse().expect("addr");
        let any6 = "[::]:8080".parse().expect("addr");
        let lo = "127.0.0.1:8080".parse().expect("addr");
        let e = check_mail_links(true, None, any4).expect_err("refused");
        assert!(e.to_string().contains("--public-url"), "{e}");
        assert!(check_mail_links(true, None, any6).is_err());
        assert!(check_mail_links(true, None, lo).is_ok());
        assert!(check_mail_links(true, Some("https://chat.example.com"), any4).is_ok());
        assert!(check_mail_links(false, None, any4).is_ok());
    }

    /// The test clock is a flag only: no environment variable of a real
    /// install can move the relay's time.
    #[test]
    fn the_test_clock_is_no_environment_setting() {
        use clap::CommandFactory;
        let cmd = super::Cli::command();
        let clock = cmd
            .get_arguments()
            .find(|a| a.get_id() == "clock_file")
            .expect("the --clock-file flag");
        assert!(clock.is_hide_set());
        assert_eq!(clock.get_env(), None);
    }
}
