//! A real IMAP server for the mail-in tests: Debian's Dovecot
//! (`dovecot-imapd`), started in the foreground with a generated
//! configuration in a temp dir — its own base and state dirs, one user in
//! a passwd file, a Maildir, IMAP in the clear on a free 127.0.0.1 port
//! (plaintext login allowed: loopback only) — and killed when dropped.
//!
//! [`Dovecot::start_tls`] adds TLS (STARTTLS, and implicit TLS on a
//! second port) under a certificate from a CA the test makes with openssl.
//!
//! Mail arrives the way a local delivery agent delivers it: written into
//! the Maildir's `tmp/`, then renamed into `new/` (the Maildir protocol);
//! Dovecot notices it (IDLE clients are told) and gives it the next UID.
//!
//! As root (CI), Dovecot's own unprivileged users run its processes and
//! own the mailbox (it refuses to serve mail as root); as anyone else it
//! runs entirely as that user.

use anyhow::{anyhow, bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::process::{Child, Command};

/// The mailbox's user and password.
pub const USER: &str = "kefu";
pub const PASSWORD: &str = "imap-test-pass";

/// Where Debian installs the server.
pub const DOVECOT: &str = "/usr/sbin/dovecot";

/// A running Dovecot.
pub struct Dovecot {
    child: Option<Child>,
    /// IMAP (with STARTTLS when started with TLS).
    pub port: u16,
    /// IMAP over TLS (0: none).
    pub tls_port: u16,
    dir: PathBuf,
    maildir: PathBuf,
    owner: Option<(u32, u32)>,
    delivered: u32,
    _tmp: tempfile::TempDir,
}

fn uid_gid(name: &str) -> Result<(u32, u32)> {
    let out = std::process::Command::new("id")
        .arg("-u")
        .arg(name)
        .output()?;
    let uid = String::from_utf8(out.stdout)?.trim().parse()?;
    let out = std::process::Command::new("id")
        .arg("-g")
        .arg(name)
        .output()?;
    let gid = String::from_utf8(out.stdout)?.trim().parse()?;
    Ok((uid, gid))
}

fn me() -> Result<(u32, u32, String, String)> {
    let run = |a: &str| -> Result<String> {
        let o = std::process::Command::new("id").arg(a).output()?;
        Ok(String::from_utf8(o.stdout)?.trim().to_string())
    };
    Ok((
        run("-u")?.parse()?,
        run("-g")?.parse()?,
        run("-un")?,
        run("-gn")?,
    ))
}

fn chown(path: &Path, owner: Option<(u32, u32)>) -> Result<()> {
    if let Some((u, g)) = owner {
        std::os::unix::fs::chown(path, Some(u), Some(g))
            .with_context(|| format!("chown {}", path.display()))?;
    }
    Ok(())
}

impl Dovecot {
    /// Starts Dovecot on a free loopback port, IMAP in the clear (no
    /// STARTTLS); ready when it greets.
    pub async fn start() -> Result<Dovecot> {
        Dovecot::launch(false).await
    }

    /// Like [`Dovecot::start`], with TLS: STARTTLS on [`Dovecot::port`]
    /// and implicit TLS on [`Dovecot::tls_port`], under a certificate for
    /// 127.0.0.1 from a test CA made here ([`Dovecot::ca`]).
    pub async fn start_tls() -> Result<Dovecot> {
        Dovecot::launch(true).await
    }

    async fn launch(tls: bool) -> Result<Dovecot> {
        if !Path::new(DOVECOT).exists() {
            bail!("{DOVECOT} missing: apt-get install dovecot-imapd (scripts/setup.sh does)");
        }
        let tmp = tempfile::tempdir()?;
        let dir = tmp.path().to_path_buf();
        let (my_uid, my_gid, my_user, my_group) = me()?;
        // Root: Dovecot's own users (the package makes them); else: me.
        let (internal, login, mail_owner) = if my_uid == 0 {
            let d = uid_gid("dovecot").context("the dovecot user")?;
            ("dovecot".to_string(), "dovenull".to_string(), Some(d))
        } else {
            (my_user.clone(), my_user.clone(), None)
        };
        let (mail_uid, mail_gid) = mail_owner.unwrap_or((my_uid, my_gid));
        let group = if my_uid == 0 {
            "dovecot".to_string()
        } else {
            my_group
        };
        let home = dir.join("home");
        let maildir = home.join("Maildir");
        for d in ["tmp", "new", "cur"] {
            std::fs::create_dir_all(maildir.join(d))?;
        }
        for d in [&home, &maildir] {
            chown(d, mail_owner)?;
        }
        for d in ["tmp", "new", "cur"] {
            chown(&maildir.join(d), mail_owner)?;
        }
        // Dovecot's base dir must be reachable by its unprivileged users.
        if my_uid == 0 {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))?;
        }
        std::fs::create_dir_all(dir.join("run"))?;
        std::fs::create_dir_all(dir.join("state"))?;
        let port = free_port()?;
        let tls_port = if tls { free_port()? } else { 0 };
        let ssl = if tls {
            make_certs(&dir)?;
            format!(
                "ssl = yes\nssl_cert = <{d}/server.pem\nssl_key = <{d}/server.key\n",
                d = dir.display()
            )
        } else {
            "ssl = no\n".to_string()
        };
        std::fs::write(
            dir.join("passwd"),
            format!(
                "{USER}:{{PLAIN}}{PASSWORD}:{mail_uid}:{mail_gid}::{}\n",
                home.display()
            ),
        )?;
        let imaps = if tls {
            format!("    address = 127.0.0.1\n    port = {tls_port}\n    ssl = yes\n")
        } else {
            "    port = 0\n".to_string()
        };
        let conf = format!(
            r#"# Generated by kefu's tests.
base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
protocols = imap
listen = 127.0.0.1
{ssl}disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal}
default_internal_group = {group}
default_login_user = {login}
first_valid_uid = 1
mail_location = maildir:{maildir}
mail_uid = {mail_uid}
mail_gid = {mail_gid}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {dir}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {dir}/passwd
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
{imaps}  }}
}}
service anvil {{
  chroot =
}}
service auth {{
  unix_listener auth-userdb {{
    mode = 0666
  }}
}}
imap_idle_notify_interval = 1 secs
# IDLE clients hear of new mail within a second even where inotify
# events do not reach the server (some containers).
mailbox_idle_check_interval = 1 secs
"#,
            dir = dir.display(),
            maildir = maildir.display(),
        );
        let conf_path = dir.join("dovecot.conf");
        std::fs::write(&conf_path, conf)?;
        let child = Command::new(DOVECOT)
            .arg("-F")
            .arg("-c")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("spawn dovecot")?;
        let mut d = Dovecot {
            child: Some(child),
            port,
            tls_port,
            dir,
            maildir,
            owner: mail_owner,
            delivered: 0,
            _tmp: tmp,
        };
        d.wait_ready().await?;
        Ok(d)
    }

    async fn wait_ready(&mut self) -> Result<()> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(mut s) = tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await {
                let mut buf = [0u8; 64];
                if let Ok(Ok(n)) =
                    tokio::time::timeout(Duration::from_secs(2), s.read(&mut buf)).await
                {
                    if buf[..n].starts_with(b"* OK") {
                        return Ok(());
                    }
                }
            }
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(status)) = c.try_wait() {
                    let mut err = String::new();
                    if let Some(mut e) = c.stderr.take() {
                        let _ = e.read_to_string(&mut err).await;
                    }
                    bail!("dovecot exited ({status}): {err}\n{}", self.log());
                }
            }
            if tokio::time::Instant::now() > deadline {
                bail!(
                    "dovecot did not greet on port {}: {}",
                    self.port,
                    self.log()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The relay's `--imap-url` for this mailbox (`extra`: query flags).
    pub fn url(&self, extra: &str) -> String {
        let q = if extra.is_empty() {
            String::new()
        } else {
            format!("?{extra}")
        };
        format!("imap://{USER}:{PASSWORD}@127.0.0.1:{}/INBOX{q}", self.port)
    }

    /// The test CA's certificate (PEM) the server's is signed by.
    pub fn ca(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// The `--imap-url` over implicit TLS, trusting the test CA.
    pub fn tls_url(&self) -> String {
        format!(
            "imaps://{USER}:{PASSWORD}@127.0.0.1:{}/INBOX?ca={}",
            self.tls_port,
            self.ca().display()
        )
    }

    /// Dovecot's own log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("dovecot.log")).unwrap_or_default()
    }

    /// Delivers `raw` into the mailbox as a delivery agent does: written
    /// under `tmp/`, renamed into `new/`.
    pub fn deliver(&mut self, raw: &[u8]) -> Result<()> {
        self.delivered += 1;
        let name = format!(
            "{}.M{}P{}.kefu-tests",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_secs(),
            self.delivered,
            std::process::id()
        );
        let tmp = self.maildir.join("tmp").join(&name);
        std::fs::write(&tmp, raw)?;
        chown(&tmp, self.owner)?;
        std::fs::rename(&tmp, self.maildir.join("new").join(&name))?;
        Ok(())
    }

    /// Every mail in the mailbox with its Maildir flags (`S`: \Seen).
    pub fn mails(&self) -> Result<Vec<(String, String)>> {
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            for e in std::fs::read_dir(self.maildir.join(sub))? {
                let name = e?.file_name().to_string_lossy().into_owned();
                let flags = name
                    .rsplit_once(":2,")
                    .map(|(_, f)| f.to_string())
                    .unwrap_or_default();
                out.push((name, flags));
            }
        }
        Ok(out)
    }

    /// Waits until every mail in the mailbox is flagged \Seen.
    pub async fn until_all_seen(&self, count: usize, wait: Duration) -> Result<()> {
        self.until_seen(count, count, wait).await
    }

    /// Waits until the mailbox holds `count` mails, `seen` of them \Seen.
    pub async fn until_seen(&self, count: usize, seen: usize, wait: Duration) -> Result<()> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let mails = self.mails()?;
            let n = mails.iter().filter(|(_, f)| f.contains('S')).count();
            if mails.len() == count && n == seen {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                return Err(anyhow!(
                    "expected {count} mails, {seen} \\Seen, have {mails:?}\n{}",
                    self.log()
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Dovecot {
    /// SIGTERM, so the master stops its children too (a SIGKILL would
    /// leave them running); SIGKILL only if it is still there after that.
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            if let Some(pid) = c.id() {
                let _ = std::process::Command::new("kill")
                    .arg("-TERM")
                    .arg(pid.to_string())
                    .status();
                for _ in 0..50 {
                    if matches!(c.try_wait(), Ok(Some(_))) {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
            let _ = c.start_kill();
        }
    }
}

/// A CA and a server certificate for 127.0.0.1 and localhost signed by
/// it (a CA certificate cannot serve as the server's own), with openssl.
fn make_certs(dir: &Path) -> Result<()> {
    let run = |args: &[&str]| -> Result<()> {
        let out = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .context("openssl (apt-get install openssl)")?;
        if !out.status.success() {
            bail!("openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(())
    };
    std::fs::write(
        dir.join("server.ext"),
        "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n\
extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )?;
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=kefu test CA",
    ])?;
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ])?;
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "server.ext",
    ])
}

fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}
