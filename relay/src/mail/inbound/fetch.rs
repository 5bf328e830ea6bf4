//! The IMAP fetcher: one task, one connection to one mailbox.
//!
//! Each round reads every mail with a UID above the last one processed
//! (kept in the store per mailbox, with the mailbox's UIDVALIDITY), hands
//! it to [`deliver`], then flags it `\Seen` on the server (unless it is
//! no reply to kefu's mail at all: that stays as it is, for people who
//! share the mailbox) and moves the mark on. Mail is never deleted or
//! moved: the mailbox stays the archive of what came in, and `\Seen`
//! shows a person reading it what kefu has done. A mail processed but
//! not yet flagged when the relay stops is recognised by its Message-ID
//! next time and only flagged; if the UIDVALIDITY changes (the mailbox
//! was rebuilt), everything is read again and the Message-IDs keep it
//! from being processed twice.
//!
//! Between rounds it waits in IDLE (RFC 2177) where the server has it,
//! renewed at least every [`IDLE_RENEW`], else it polls every `poll` (see
//! [`super::url::POLL_INTERVAL`]). Any error drops the connection and
//! reconnects after a backoff doubling from [`BACKOFF_FIRST`] to
//! [`BACKOFF_MAX`] (reset by a login that works).
//!
//! The crate: `async-imap` (maintained with the chatmail/Delta Chat
//! client, on tokio with `runtime-tokio`), over tokio-rustls — the same
//! rustls and ring the relay's other clients use, so no OpenSSL. It
//! takes any stream, which is what STARTTLS needs.

use super::deliver::{deliver, Outcome};
use super::url::{ImapUrl, Security};
use crate::mail::MailKey;
use crate::App;
use async_imap::extensions::idle::IdleResponse;
use async_imap::types::UnsolicitedResponse;
use async_imap::{Client, Session};
use futures_util::StreamExt;
use protocol::limits::{IMAP_FETCH_BATCH, MAX_INBOUND_MAIL_BYTES};
use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::sync::CancellationToken;

/// First wait before reconnecting after an error.
pub const BACKOFF_FIRST: Duration = Duration::from_secs(1);
/// Longest wait between reconnects (a server down for hours is tried
/// every few minutes, not hammered).
pub const BACKOFF_MAX: Duration = Duration::from_secs(300);
/// IDLE is ended and issued again at least this often: RFC 2177 has
/// servers drop clients idle for 30 minutes, and the DONE (answered within
/// [`IO_TIMEOUT`]) finds a connection that died without a word.
pub const IDLE_RENEW: Duration = Duration::from_secs(10 * 60);
/// Connecting, TLS and the greeting, each; and any one command.
pub const IO_TIMEOUT: Duration = Duration::from_secs(60);

/// The connection, plain or TLS, behind one type.
trait Io: AsyncRead + AsyncWrite + Unpin + Send + Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + Debug> Io for T {}
type Stream = Box<dyn Io>;

#[derive(Debug, thiserror::Error)]
enum FetchError {
    #[error("imap: {0}")]
    Imap(#[from] async_imap::error::Error),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Other(String),
}

type Result<T> = std::result::Result<T, FetchError>;

fn other(s: impl Into<String>) -> FetchError {
    FetchError::Other(s.into())
}

async fn timed<T, E: Into<FetchError>>(
    what: &str,
    f: impl std::future::Future<Output = std::result::Result<T, E>>,
) -> Result<T> {
    match tokio::time::timeout(IO_TIMEOUT, f).await {
        Ok(r) => r.map_err(Into::into),
        Err(_) => Err(other(format!("{what}: no answer in {IO_TIMEOUT:?}"))),
    }
}

/// Runs until `shutdown`: fetch, wait, reconnect on errors.
pub async fn run(app: Arc<App>, url: ImapUrl, key: MailKey, shutdown: CancellationToken) {
    let tls = match tls_config(&url) {
        Ok(t) => Arc::new(t),
        Err(e) => {
            tracing::error!(url = %url.redacted(), error = %e, "mail in: off, TLS cannot be set up");
            return;
        }
    };
    let mut backoff = BACKOFF_FIRST;
    loop {
        let mut logged_in = false;
        let r = tokio::select! {
            r = session(&app, &url, &key, &tls, &mut logged_in, &shutdown) => r,
            _ = shutdown.cancelled() => return,
        };
        if logged_in {
            backoff = BACKOFF_FIRST;
        }
        match r {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!(url = %url.redacted(), error = %e, retry_in = ?backoff,
                    "mail in: IMAP connection failed");
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = shutdown.cancelled() => return,
        }
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

fn tls_config(url: &ImapUrl) -> std::result::Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(ca) = &url.ca {
        use rustls::pki_types::pem::PemObject;
        let certs = rustls::pki_types::CertificateDer::pem_file_iter(ca)
            .map_err(|e| format!("ca={}: {e}", ca.display()))?;
        for c in certs {
            let c = c.map_err(|e| format!("ca={}: {e}", ca.display()))?;
            roots
                .add(c)
                .map_err(|e| format!("ca={}: {e}", ca.display()))?;
        }
    }
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())
        .map(|b| b.with_root_certificates(roots).with_no_client_auth())
}

async fn tls_wrap(
    tls: &Arc<rustls::ClientConfig>,
    host: &str,
    tcp: tokio::net::TcpStream,
) -> Result<Stream> {
    let name = rustls::pki_types::ServerName::try_from(host.to_string())
        .map_err(|e| other(format!("TLS server name {host:?}: {e}")))?;
    let connector = tokio_rustls::TlsConnector::from(tls.clone());
    let s = timed("TLS handshake", connector.connect(name, tcp)).await?;
    Ok(Box::new(s))
}

/// Connects, secures and logs in.
async fn login(url: &ImapUrl, tls: &Arc<rustls::ClientConfig>) -> Result<Session<Stream>> {
    let tcp = timed(
        "connect",
        tokio::net::TcpStream::connect((url.host.as_str(), url.port)),
    )
    .await?;
    let client = match url.security {
        Security::Tls => {
            let mut c = Client::new(tls_wrap(tls, &url.host, tcp).await?);
            greeting(&mut c).await?;
            c
        }
        Security::Plain => {
            let mut c = Client::new(Box::new(tcp) as Stream);
            greeting(&mut c).await?;
            c
        }
        Security::StartTlsRequired | Security::StartTlsAuto => {
            let mut c = Client::new(tcp);
            greeting(&mut c).await?;
            match timed("STARTTLS", c.run_command_and_check_ok("STARTTLS", None)).await {
                Ok(()) => Client::new(tls_wrap(tls, &url.host, c.into_inner()).await?),
                Err(e) if url.security == Security::StartTlsAuto => {
                    tracing::info!(host = %url.host, error = %e,
                        "mail in: no STARTTLS on a loopback server; logging in in the clear");
                    Client::new(Box::new(c.into_inner()) as Stream)
                }
                Err(e) => {
                    return Err(other(format!(
                        "the server refused STARTTLS ({e}); add ?starttls=no to log in in the clear"
                    )))
                }
            }
        }
    };
    timed("login", async {
        client
            .login(&url.user, &url.password)
            .await
            .map_err(|(e, _)| e)
    })
    .await
}

async fn greeting<T: AsyncRead + AsyncWrite + Unpin + Send + Debug>(
    c: &mut Client<T>,
) -> Result<()> {
    match timed("greeting", c.read_response()).await? {
        Some(_) => Ok(()),
        None => Err(other("the server closed before its greeting")),
    }
}

/// One connection's life: login, select, rounds and waits. `Ok` only at
/// shutdown.
async fn session(
    app: &Arc<App>,
    url: &ImapUrl,
    key: &MailKey,
    tls: &Arc<rustls::ClientConfig>,
    logged_in: &mut bool,
    shutdown: &CancellationToken,
) -> Result<()> {
    let mut s = login(url, tls).await?;
    *logged_in = true;
    let caps = timed("CAPABILITY", s.capabilities()).await?;
    let idle = url.idle && caps.has_str("IDLE");
    let mailbox = timed("SELECT", s.select(&url.mailbox)).await?;
    let validity = mailbox.uid_validity.unwrap_or(0);
    tracing::info!(url = %url.redacted(), idle, uid_validity = validity, "mail in: watching the mailbox");
    let mailbox_key = url.mailbox_key();
    // The server's unsolicited EXISTS/RECENT are hints that mail came;
    // the UID search is the truth. A clone of the channel async-imap
    // puts them in, so they can be read while IDLE holds the session.
    let hints = s.unsolicited_responses.clone();
    loop {
        // Hints so far are covered by the search this round makes.
        while hints.try_recv().is_ok() {}
        while round(app, key, &mut s, &mailbox_key, validity).await? {}
        if shutdown.is_cancelled() {
            return Ok(());
        }
        // Mail that came during the round is read before waiting.
        if new_mail(&hints) {
            continue;
        }
        if idle {
            let mut h = s.idle();
            timed("IDLE", h.init()).await?;
            // The server may report mail as IDLE starts (before its
            // continuation): then there is nothing to wait for.
            if !new_mail(&hints) {
                let (wait, _stop) = h.wait_with_timeout(IDLE_RENEW);
                // The wait's own timeout restarts with every keepalive the
                // server sends; the sleep bounds the IDLE as a whole.
                tokio::select! {
                    r = wait => {
                        if let IdleResponse::NewData(_) = r? {
                            tracing::debug!("mail in: the server says the mailbox changed");
                        }
                    }
                    _ = tokio::time::sleep(IDLE_RENEW) => {}
                    _ = shutdown.cancelled() => return Ok(()),
                }
            }
            s = timed("DONE", h.done()).await?;
        } else {
            tokio::select! {
                _ = tokio::time::sleep(url.poll) => {}
                _ = shutdown.cancelled() => return Ok(()),
            }
            timed("NOOP", s.noop()).await?;
        }
    }
}

/// Whether the server said new mail came (EXISTS or RECENT) since the
/// hints were last read; reads them all.
fn new_mail(hints: &async_channel::Receiver<UnsolicitedResponse>) -> bool {
    let mut any = false;
    while let Ok(h) = hints.try_recv() {
        any |= matches!(
            h,
            UnsolicitedResponse::Exists(_) | UnsolicitedResponse::Recent(_)
        );
    }
    any
}

/// Processes up to [`IMAP_FETCH_BATCH`] new mails; true when there may be more.
async fn round(
    app: &Arc<App>,
    mail_key: &MailKey,
    s: &mut Session<Stream>,
    key: &str,
    validity: u32,
) -> Result<bool> {
    let last = match app
        .store
        .mailbox_mark(key)
        .map_err(|e| other(e.to_string()))?
    {
        Some((v, uid)) if v == validity => uid,
        Some((v, _)) => {
            tracing::warn!(old = v, new = validity,
                "mail in: the mailbox's UIDVALIDITY changed; reading it again (Message-IDs prevent repeats)");
            0
        }
        None => 0,
    };
    let found = timed(
        "UID SEARCH",
        s.uid_search(format!("UID {}:*", last.saturating_add(1))),
    )
    .await?;
    // `n:*` always includes the highest UID, even below n.
    let mut uids: Vec<u32> = found.into_iter().filter(|u| *u > last).collect();
    uids.sort_unstable();
    let more = uids.len() > IMAP_FETCH_BATCH;
    uids.truncate(IMAP_FETCH_BATCH);
    for uid in uids {
        let raw = fetch_one(s, uid).await?;
        let outcome = match raw {
            Fetched::Body(raw) => deliver(app, mail_key, raw).await,
            Fetched::TooLarge(size) => {
                let o = Outcome::Refused(format!(
                    "the mail is {size} bytes; at most {MAX_INBOUND_MAIL_BYTES} are read"
                ));
                tracing::warn!(uid, outcome = %o.describe(), "mail in");
                o
            }
            Fetched::Gone => {
                tracing::info!(uid, "mail in: the mail was removed before it was read");
                Outcome::Ignored("removed".into())
            }
        };
        if outcome == Outcome::Duplicate {
            tracing::info!(
                uid,
                "mail in: already processed (the same Message-ID); only flagged"
            );
        }
        if let Outcome::Retry(why) = outcome {
            return Err(other(format!("mail UID {uid} not processed: {why}")));
        }
        if outcome.flag_seen() {
            timed(
                "UID STORE",
                collect(s.uid_store(uid.to_string(), "+FLAGS.SILENT (\\Seen)")),
            )
            .await?;
        }
        app.store
            .set_mailbox_mark(key, validity, uid)
            .and_then(|()| app.store.sync())
            .map_err(|e| other(e.to_string()))?;
    }
    Ok(more)
}

enum Fetched {
    Body(Vec<u8>),
    TooLarge(u32),
    Gone,
}

/// The mail with `uid`: its size first, the bytes only when they are at
/// most [`MAX_INBOUND_MAIL_BYTES`] (`BODY.PEEK`: reading does not flag it).
async fn fetch_one(s: &mut Session<Stream>, uid: u32) -> Result<Fetched> {
    let sizes = timed("UID FETCH", async {
        let stream = s.uid_fetch(uid.to_string(), "(UID RFC822.SIZE)").await?;
        let items: Vec<_> = stream.collect().await;
        Ok::<_, FetchError>(items)
    })
    .await?;
    let mut size = None;
    for f in sizes {
        let f = f?;
        if f.uid == Some(uid) {
            size = f.size;
        }
    }
    let Some(size) = size else {
        return Ok(Fetched::Gone);
    };
    if size as usize > MAX_INBOUND_MAIL_BYTES {
        return Ok(Fetched::TooLarge(size));
    }
    let bodies = timed("UID FETCH", async {
        let stream = s.uid_fetch(uid.to_string(), "(UID BODY.PEEK[])").await?;
        let items: Vec<_> = stream.collect().await;
        Ok::<_, FetchError>(items)
    })
    .await?;
    for f in bodies {
        let f = f?;
        if f.uid == Some(uid) {
            if let Some(b) = f.body() {
                return Ok(Fetched::Body(b.to_vec()));
            }
        }
    }
    Ok(Fetched::Gone)
}

async fn collect<S, T>(
    f: impl std::future::Future<Output = async_imap::error::Result<S>>,
) -> Result<()>
where
    S: futures_util::Stream<Item = async_imap::error::Result<T>>,
{
    let stream = f.await?;
    let items: Vec<_> = stream.collect().await;
    for i in items {
        i?;
    }
    Ok(())
}
