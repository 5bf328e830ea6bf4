//! A local stand-in for WeChat's Official Account API, and a follower's
//! side of the message push, both written from WeChat's public
//! documentation (公众号 开发文档: 获取Access token, 客服消息, 新增临时素材,
//! 获取临时素材, 消息加解密说明) — not from kefu's code.
//!
//! [`StandIn`] serves, over plain HTTP/1.1 on 127.0.0.1:
//! - `GET /cgi-bin/token?grant_type=client_credential&appid=&secret=` →
//!   `{"access_token","expires_in":7200}`, or 40013 (bad AppID) / 40125
//!   (bad AppSecret); each call mints a new token.
//! - `POST /cgi-bin/message/custom/send?access_token=` with the JSON
//!   message → `{"errcode":0,"errmsg":"ok"}`, 40001 for a token it did not
//!   mint or has expired, or the codes it was told to answer next.
//! - `POST /cgi-bin/media/upload?access_token=&type=image` (multipart) →
//!   `{"type":"image","media_id","created_at"}`.
//! - `GET /cgi-bin/media/get?access_token=&media_id=` and `GET /pic/…`
//!   (a `PicUrl`) → an image's bytes.
//!
//! It records every message it accepted, and can be told to fail: the
//! next answers' error codes ([`StandIn::fail_next`]), every token expired
//! ([`StandIn::expire_tokens`]), or down altogether ([`StandIn::set_down`]).
//!
//! [`Push`] builds what WeChat POSTs: the XML, the `signature` over
//! (token, timestamp, nonce), and in safe mode the AES-256-CBC `Encrypt`
//! field and its `msg_signature`, implemented here from the spec.

use aes::cipher::{block_padding::NoPadding, BlockEncryptMut, KeyIvInit};
use anyhow::Result;
use base64::Engine as _;
use serde_json::{json, Value};
use sha1::{Digest, Sha1};
use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The documentation's example AppID.
pub const APP_ID: &str = "wx5823bf96d3bd56c7";
pub const APP_SECRET: &str = "0123456789abcdef0123456789abcdef";
pub const TOKEN: &str = "kefuToken2026";
/// 43 characters, as the admin generates them.
pub const AES_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

/// What the stand-in received and accepted.
#[derive(Debug, Default)]
pub struct Seen {
    /// Accepted customer-service messages, in order.
    pub sent: Vec<Value>,
    /// Token requests answered.
    pub tokens: u32,
    /// Every send attempt (accepted or not) with the token it carried.
    pub attempts: Vec<(String, i64)>,
    /// Bytes of each accepted upload.
    pub uploads: Vec<usize>,
}

#[derive(Default)]
struct State {
    seen: Seen,
    valid: HashSet<String>,
    minted: u32,
    fail: VecDeque<i64>,
    down: bool,
    image: Vec<u8>,
}

/// The stand-in server (runs until dropped with the test's runtime).
#[derive(Clone)]
pub struct StandIn {
    pub addr: String,
    state: Arc<Mutex<State>>,
}

impl StandIn {
    /// Listens on 127.0.0.1:0; `image` is what media/get and PicUrls serve.
    pub async fn start(image: Vec<u8>) -> Result<StandIn> {
        let l = TcpListener::bind("127.0.0.1:0").await?;
        let s = StandIn {
            addr: l.local_addr()?.to_string(),
            state: Arc::new(Mutex::new(State {
                image,
                ..State::default()
            })),
        };
        let me = s.clone();
        tokio::spawn(async move {
            while let Ok((sock, _)) = l.accept().await {
                let me = me.clone();
                tokio::spawn(async move {
                    let _ = me.serve(sock).await;
                });
            }
        });
        Ok(s)
    }

    /// `--wechat-api-base` for the relay.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next send attempts answer these error codes, in order.
    pub fn fail_next(&self, codes: &[i64]) {
        self.lock().fail.extend(codes);
    }

    /// Every token minted so far is now expired (the next send with one
    /// gets 40001).
    pub fn expire_tokens(&self) {
        self.lock().valid.clear();
    }

    /// Down: every connection is closed without an answer.
    pub fn set_down(&self, down: bool) {
        self.lock().down = down;
    }

    /// Reads what was seen.
    pub fn seen<T>(&self, f: impl FnOnce(&Seen) -> T) -> T {
        f(&self.lock().seen)
    }

    /// The texts of the accepted messages, in order.
    pub fn texts(&self) -> Vec<String> {
        self.seen(|s| {
            s.sent
                .iter()
                .map(|m| m["text"]["content"].as_str().unwrap_or("").to_string())
                .collect()
        })
    }

    async fn serve(&self, mut sock: TcpStream) -> Result<()> {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 8192];
        let head_end = loop {
            let n = sock.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
            if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break p + 4;
            }
        };
        if self.lock().down {
            return Ok(());
        }
        let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
        let len = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse::<usize>().ok())?
            })
            .unwrap_or(0);
        while buf.len() < head_end + len {
            let n = sock.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let body = buf[head_end..].to_vec();
        let first = head.lines().next().unwrap_or("");
        let mut parts = first.split(' ');
        let method = parts.next().unwrap_or("").to_string();
        let target = parts.next().unwrap_or("").to_string();
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        let q = |k: &str| {
            query
                .split('&')
                .find_map(|kv| kv.strip_prefix(&format!("{k}=")))
                .map(percent_decode)
                .unwrap_or_default()
        };
        let (ctype, out): (&str, Vec<u8>) = match (method.as_str(), path) {
            ("GET", "/cgi-bin/token") => {
                ("application/json", self.token(&q("appid"), &q("secret")))
            }
            ("POST", "/cgi-bin/message/custom/send") => (
                "application/json",
                self.custom_send(&q("access_token"), &body),
            ),
            ("POST", "/cgi-bin/media/upload") => (
                "application/json",
                self.upload(&q("access_token"), &q("type"), &body),
            ),
            ("GET", "/cgi-bin/media/get") => {
                if self.lock().valid.contains(&q("access_token")) {
                    ("image/png", self.lock().image.clone())
                } else {
                    ("application/json", err(40001, "invalid credential"))
                }
            }
            ("GET", p) if p.starts_with("/pic/") => ("image/png", self.lock().image.clone()),
            _ => ("application/json", err(-1, "no such path")),
        };
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            out.len()
        );
        sock.write_all(head.as_bytes()).await?;
        sock.write_all(&out).await?;
        sock.shutdown().await?;
        Ok(())
    }

    fn token(&self, appid: &str, secret: &str) -> Vec<u8> {
        if appid != APP_ID {
            return err(40013, "invalid appid");
        }
        if secret != APP_SECRET {
            return err(40125, "invalid appsecret");
        }
        let mut s = self.lock();
        s.minted += 1;
        let t = format!("standin-token-{}", s.minted);
        s.valid.insert(t.clone());
        s.seen.tokens += 1;
        json!({"access_token": t, "expires_in": 7200})
            .to_string()
            .into_bytes()
    }

    fn custom_send(&self, token: &str, body: &[u8]) -> Vec<u8> {
        let mut s = self.lock();
        if !s.valid.contains(token) {
            s.seen.attempts.push((token.to_string(), 40001));
            return err(
                40001,
                "invalid credential, access_token is invalid or not latest",
            );
        }
        if let Some(code) = s.fail.pop_front() {
            s.seen.attempts.push((token.to_string(), code));
            return match code {
                -1 => err(-1, "system error"),
                45015 => err(
                    45015,
                    "response out of time limit or subscription is canceled",
                ),
                45047 => err(45047, "out of response count limit"),
                c => err(c, "failed on command"),
            };
        }
        let Ok(msg) = serde_json::from_slice::<Value>(body) else {
            return err(47001, "data format error");
        };
        let ok = msg["touser"].is_string()
            && match msg["msgtype"].as_str() {
                Some("text") => msg["text"]["content"].is_string(),
                Some("image") => msg["image"]["media_id"].is_string(),
                _ => false,
            };
        if !ok {
            return err(47001, "data format error");
        }
        s.seen.attempts.push((token.to_string(), 0));
        s.seen.sent.push(msg);
        err(0, "ok")
    }

    fn upload(&self, token: &str, kind: &str, body: &[u8]) -> Vec<u8> {
        let mut s = self.lock();
        if !s.valid.contains(token) {
            return err(40001, "invalid credential");
        }
        if kind != "image" {
            return err(40004, "invalid media type");
        }
        let text = String::from_utf8_lossy(body);
        if !text.contains("name=\"media\"") {
            return err(41005, "media data missing");
        }
        s.seen.uploads.push(body.len());
        let id = format!("standin-media-{}", s.seen.uploads.len());
        json!({"type": "image", "media_id": id, "created_at": 1_700_000_000})
            .to_string()
            .into_bytes()
    }
}

/// `%XX` escapes decoded (and `+` as a space), as a query string has them.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        out.push(v);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn err(code: i64, msg: &str) -> Vec<u8> {
    json!({"errcode": code, "errmsg": msg})
        .to_string()
        .into_bytes()
}

/// `hex(sha1(sorted parts joined))`, the documented signature.
pub fn sign(parts: &[&str]) -> String {
    let mut v = parts.to_vec();
    v.sort();
    let mut h = Sha1::new();
    h.update(v.concat().as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Safe mode's `Encrypt`: AES-256-CBC, key = base64(EncodingAESKey + "="),
/// IV = the key's first 16 bytes, over 16 random bytes ‖ the XML's length
/// (4 bytes, big-endian) ‖ the XML ‖ the AppID, PKCS#7-padded to 32.
pub fn encrypt(encoding_aes_key: &str, xml: &str, app_id: &str) -> String {
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
    );
    let key = engine
        .decode(format!("{encoding_aes_key}="))
        .unwrap_or_default();
    let mut plain: Vec<u8> = (0..16).map(|_| rand::random::<u8>()).collect();
    plain.extend_from_slice(&(xml.len() as u32).to_be_bytes());
    plain.extend_from_slice(xml.as_bytes());
    plain.extend_from_slice(app_id.as_bytes());
    let pad = 32 - plain.len() % 32;
    plain.extend(std::iter::repeat_n(pad as u8, pad));
    let n = plain.len();
    let Ok(enc) = cbc::Encryptor::<aes::Aes256>::new_from_slices(&key, &key[..16]) else {
        return String::new();
    };
    let _ = enc.encrypt_padded_mut::<NoPadding>(&mut plain, n);
    base64::engine::general_purpose::STANDARD.encode(plain)
}

/// One push as WeChat POSTs it: the query and the body.
pub struct Push {
    pub query: String,
    pub body: String,
}

/// The push XML of a follower's text message.
pub fn text_xml(openid: &str, msg_id: u64, content: &str) -> String {
    format!(
        "<xml><ToUserName><![CDATA[gh_kefu]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>\
         <CreateTime>{}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content>\
         <MsgId>{msg_id}</MsgId></xml>",
        1_700_000_000 + msg_id % 1000
    )
}

/// The push XML of an event (`subscribe`, `unsubscribe`, `CLICK`).
pub fn event_xml(openid: &str, created: u64, event: &str, key: &str) -> String {
    format!(
        "<xml><ToUserName><![CDATA[gh_kefu]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>\
         <CreateTime>{created}</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[{event}]]></Event>\
         <EventKey><![CDATA[{key}]]></EventKey></xml>"
    )
}

fn nonce() -> String {
    format!("{}", rand::random::<u32>())
}

fn now_secs() -> String {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
        .to_string()
}

impl Push {
    /// Plain mode: the XML as it is, signed over (token, timestamp, nonce).
    pub fn plain(token: &str, xml: &str) -> Push {
        let (ts, n) = (now_secs(), nonce());
        let sig = sign(&[token, &ts, &n]);
        Push {
            query: format!("signature={sig}&timestamp={ts}&nonce={n}&openid=x"),
            body: xml.to_string(),
        }
    }

    /// Safe mode: `<xml><ToUserName/><Encrypt/></xml>`, `encrypt_type=aes`
    /// and `msg_signature` over (token, timestamp, nonce, Encrypt).
    pub fn safe(token: &str, aes_key: &str, app_id: &str, xml: &str) -> Push {
        let (ts, n) = (now_secs(), nonce());
        let enc = encrypt(aes_key, xml, app_id);
        let sig = sign(&[token, &ts, &n]);
        let msg_sig = sign(&[token, &ts, &n, &enc]);
        Push {
            query: format!(
                "signature={sig}&timestamp={ts}&nonce={n}&openid=x&encrypt_type=aes&msg_signature={msg_sig}"
            ),
            body: format!(
                "<xml><ToUserName><![CDATA[gh_kefu]]></ToUserName><Encrypt><![CDATA[{enc}]]></Encrypt></xml>"
            ),
        }
    }
}
