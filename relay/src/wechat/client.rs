//! The WeChat API client: the access token (`GET /cgi-bin/token`, cached
//! per AppID and refreshed [`TOKEN_MARGIN_MS`] before WeChat's
//! `expires_in`), customer-service messages (`POST
//! /cgi-bin/message/custom/send`), image uploads (`POST
//! /cgi-bin/media/upload?type=image`, multipart) and media downloads
//! (`GET /cgi-bin/media/get`, and a follower image's `PicUrl`).
//!
//! Every call answers WeChat's JSON `{errcode, errmsg}`: errcode 0 (or
//! none) is success; the caller decides what the others mean. A token
//! WeChat calls invalid or expired (40001, 40014, 42001) is fetched anew
//! once and the call made again.

use crate::push::send::{client, PushClient};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::{Method, Request};
use protocol::api::WechatSettings;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// Refresh a token this long before WeChat says it expires (WeChat's own
/// advice: its tokens last 7,200 s and the old one stays valid for five
/// minutes after a new one is fetched).
pub const TOKEN_MARGIN_MS: u64 = 5 * 60 * 1000;
/// One call to WeChat (connect, TLS, request, answer) may take this long.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// A follower's media fetched while WeChat waits for the push's answer
/// (it gives up after 5 s): past this the message is stored without it.
pub const MEDIA_FETCH_TIMEOUT: Duration = Duration::from_secs(3);
/// The longest JSON answer read from WeChat.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// WeChat's error codes the relay acts on.
pub mod errcode {
    /// 系统繁忙: retry later.
    pub const BUSY: i64 = -1;
    /// The access token is invalid (another server fetched a new one…).
    pub const INVALID_TOKEN: i64 = 40001;
    /// The access token is not a token.
    pub const BAD_TOKEN: i64 = 40014;
    /// The access token expired.
    pub const EXPIRED_TOKEN: i64 = 42001;
    /// Out of the 48-hour reply window.
    pub const WINDOW_CLOSED: i64 = 45015;
    /// Too many replies in the window.
    pub const TOO_MANY_REPLIES: i64 = 45047;
    /// API calls over quota for the day.
    pub const QUOTA: i64 = 45009;
}

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// No answer (network, timeout, not JSON, HTTP error): worth retrying.
    #[error("WeChat unreachable: {0}")]
    Net(String),
    /// WeChat answered with an error code.
    #[error("WeChat errcode {errcode}: {errmsg}")]
    Api { errcode: i64, errmsg: String },
}

impl CallError {
    pub fn errcode(&self) -> Option<i64> {
        match self {
            CallError::Api { errcode, .. } => Some(*errcode),
            CallError::Net(_) => None,
        }
    }

    fn token_refused(&self) -> bool {
        matches!(
            self.errcode(),
            Some(errcode::INVALID_TOKEN | errcode::BAD_TOKEN | errcode::EXPIRED_TOKEN)
        )
    }
}

/// A reply as WeChat's customer-service API takes it.
#[derive(Debug, Clone)]
pub enum Outgoing {
    Text(String),
    Image {
        bytes: Vec<u8>,
        name: String,
        mime: String,
    },
}

struct Token {
    value: String,
    /// When to fetch a new one (ms).
    refresh_at: u64,
}

/// The client, one per relay; tokens cached per AppID.
pub struct Wechat {
    /// `--wechat-api-base` without its trailing `/`.
    base: String,
    http: PushClient,
    tokens: Mutex<HashMap<String, Token>>,
}

impl Wechat {
    pub fn new(base: &str) -> anyhow::Result<Wechat> {
        Ok(Wechat {
            base: base.trim_end_matches('/').to_string(),
            http: client()?,
            tokens: Mutex::new(HashMap::new()),
        })
    }

    fn cached(&self, app_id: &str) -> Option<String> {
        let tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        tokens
            .get(app_id)
            .filter(|t| t.refresh_at > crate::now_ms())
            .map(|t| t.value.clone())
    }

    /// The account's access token: cached, or fetched (`fresh`: fetched
    /// even when one is cached).
    pub async fn token(&self, s: &WechatSettings, fresh: bool) -> Result<String, CallError> {
        if !fresh {
            if let Some(t) = self.cached(&s.app_id) {
                return Ok(t);
            }
        }
        let url = format!(
            "{}/cgi-bin/token?grant_type=client_credential&appid={}&secret={}",
            self.base,
            enc(&s.app_id),
            enc(&s.app_secret)
        );
        let v = self.json(Method::GET, &url, None, None).await?;
        let value = v["access_token"]
            .as_str()
            .ok_or_else(|| CallError::Net("no access_token in the answer".into()))?
            .to_string();
        let expires_ms = v["expires_in"].as_u64().unwrap_or(7200) * 1000;
        let refresh_at = crate::now_ms() + expires_ms.saturating_sub(TOKEN_MARGIN_MS).max(1000);
        tracing::debug!(app_id = %s.app_id, "wechat: new access token");
        self.tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                s.app_id.clone(),
                Token {
                    value: value.clone(),
                    refresh_at,
                },
            );
        Ok(value)
    }

    /// Sends one customer-service message to `openid` (an image is
    /// uploaded first). A refused token is fetched anew once.
    pub async fn send(
        &self,
        s: &WechatSettings,
        openid: &str,
        msg: &Outgoing,
    ) -> Result<(), CallError> {
        match self.send_once(s, openid, msg, false).await {
            Err(e) if e.token_refused() => {
                tracing::info!(app_id = %s.app_id, error = %e, "wechat: token refused; fetching a new one");
                self.send_once(s, openid, msg, true).await
            }
            r => r,
        }
    }

    async fn send_once(
        &self,
        s: &WechatSettings,
        openid: &str,
        msg: &Outgoing,
        fresh: bool,
    ) -> Result<(), CallError> {
        let token = self.token(s, fresh).await?;
        let body = match msg {
            Outgoing::Text(text) => serde_json::json!({
                "touser": openid,
                "msgtype": "text",
                "text": {"content": text},
            }),
            Outgoing::Image { bytes, name, mime } => {
                let media_id = self.upload_image(&token, bytes, name, mime).await?;
                serde_json::json!({
                    "touser": openid,
                    "msgtype": "image",
                    "image": {"media_id": media_id},
                })
            }
        };
        let url = format!(
            "{}/cgi-bin/message/custom/send?access_token={}",
            self.base,
            enc(&token)
        );
        let body = serde_json::to_vec(&body).map_err(|e| CallError::Net(e.to_string()))?;
        self.json(
            Method::POST,
            &url,
            Some("application/json".into()),
            Some(body),
        )
        .await
        .map(|_| ())
    }

    /// `media/upload?type=image`: the temporary media id of `bytes`.
    async fn upload_image(
        &self,
        token: &str,
        bytes: &[u8],
        name: &str,
        mime: &str,
    ) -> Result<String, CallError> {
        let boundary = format!("kefu{}", ulid::Ulid::new());
        let safe: String = name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || ".-_".contains(*c))
            .collect();
        let safe = if safe.is_empty() {
            "image".into()
        } else {
            safe
        };
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"media\"; filename=\"{safe}\"\r\nContent-Type: {mime}\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let url = format!(
            "{}/cgi-bin/media/upload?access_token={}&type=image",
            self.base,
            enc(token)
        );
        let v = self
            .json(
                Method::POST,
                &url,
                Some(format!("multipart/form-data; boundary={boundary}")),
                Some(body),
            )
            .await?;
        v["media_id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| CallError::Net("no media_id in the answer".into()))
    }

    /// A follower's media by id (`media/get`), at most `max` bytes.
    pub async fn media(
        &self,
        s: &WechatSettings,
        media_id: &str,
        max: usize,
    ) -> Result<Vec<u8>, CallError> {
        let token = self.token(s, false).await?;
        let url = format!(
            "{}/cgi-bin/media/get?access_token={}&media_id={}",
            self.base,
            enc(&token),
            enc(media_id)
        );
        let (ctype, bytes) = self.fetch(&url, max).await?;
        if ctype.contains("json") || ctype.starts_with("text/") {
            return Err(api_error(&bytes));
        }
        Ok(bytes)
    }

    /// The bytes at `url` (a follower image's `PicUrl`), at most `max`.
    pub async fn download(&self, url: &str, max: usize) -> Result<Vec<u8>, CallError> {
        self.fetch(url, max).await.map(|(_, b)| b)
    }

    async fn fetch(&self, url: &str, max: usize) -> Result<(String, Vec<u8>), CallError> {
        let req = Request::builder()
            .method(Method::GET)
            .uri(url)
            .body(Full::new(Bytes::new()))
            .map_err(|e| CallError::Net(e.to_string()))?;
        let call = async {
            let res = self
                .http
                .request(req)
                .await
                .map_err(|e| CallError::Net(e.to_string()))?;
            if !res.status().is_success() {
                return Err(CallError::Net(format!("HTTP {}", res.status())));
            }
            let ctype = res
                .headers()
                .get(hyper::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_ascii_lowercase();
            let body = Limited::new(res.into_body(), max)
                .collect()
                .await
                .map_err(|e| CallError::Net(e.to_string()))?
                .to_bytes();
            Ok((ctype, body.to_vec()))
        };
        tokio::time::timeout(CALL_TIMEOUT, call)
            .await
            .map_err(|_| CallError::Net("timed out".into()))?
    }

    /// One JSON call; WeChat's error codes become [`CallError::Api`].
    async fn json(
        &self,
        method: Method,
        url: &str,
        ctype: Option<String>,
        body: Option<Vec<u8>>,
    ) -> Result<serde_json::Value, CallError> {
        let mut req = Request::builder().method(method).uri(url);
        if let Some(c) = ctype {
            req = req.header(hyper::header::CONTENT_TYPE, c);
        }
        let req = req
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| CallError::Net(e.to_string()))?;
        let call = async {
            let res = self
                .http
                .request(req)
                .await
                .map_err(|e| CallError::Net(e.to_string()))?;
            let status = res.status();
            let body = Limited::new(res.into_body(), MAX_ANSWER_BYTES)
                .collect()
                .await
                .map_err(|e| CallError::Net(e.to_string()))?
                .to_bytes();
            if !status.is_success() {
                return Err(CallError::Net(format!("HTTP {status}")));
            }
            let v: serde_json::Value = serde_json::from_slice(&body)
                .map_err(|_| CallError::Net("the answer is not JSON".into()))?;
            match v["errcode"].as_i64() {
                None | Some(0) => Ok(v),
                Some(_) => Err(api_error(&body)),
            }
        };
        tokio::time::timeout(CALL_TIMEOUT, call)
            .await
            .map_err(|_| CallError::Net("timed out".into()))?
    }
}

fn api_error(body: &[u8]) -> CallError {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    match v["errcode"].as_i64() {
        Some(errcode) => CallError::Api {
            errcode,
            errmsg: v["errmsg"]
                .as_str()
                .unwrap_or("")
                .chars()
                .take(200)
                .collect(),
        },
        None => CallError::Net("an answer that is neither media nor JSON".into()),
    }
}

/// A query-string value: everything but RFC 3986's unreserved characters
/// percent-encoded.
fn enc(s: &str) -> String {
    use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
    const QUERY: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    utf8_percent_encode(s, QUERY).to_string()
}
