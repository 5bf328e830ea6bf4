//! The relay's HTTP API (`/v1/api/…`), as the console uses it. Every call
//! carries the session token; errors come back as the relay's message.

use gloo_net::http::{Request, RequestBuilder, Response};
use protocol::{Attachment, ConvSummary, Event, WidgetSettings};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AgentView {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub email: Option<String>,
    pub role: String,
    pub sites: Vec<String>,
}

impl AgentView {
    pub fn is_owner(&self) -> bool {
        self.role == "owner"
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct LoginReply {
    pub token: String,
    pub agent: AgentView,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteView {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    pub widget: WidgetSettings,
    #[serde(default)]
    pub secret: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Teammate {
    pub id: String,
    pub name: String,
    pub role: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Canned {
    pub id: String,
    pub shortcut: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct EventsPage {
    pub events: Vec<Event>,
    pub more: bool,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ConvPage {
    pub convs: Vec<ConvSummary>,
}

/// An error the console shows: the relay's own message when it sent one.
pub type ApiResult<T> = Result<T, String>;

async fn read<T: DeserializeOwned>(r: Result<Response, gloo_net::Error>) -> ApiResult<T> {
    let r = r.map_err(|e| format!("network error: {e}"))?;
    let status = r.status();
    let text = r.text().await.map_err(|e| format!("network error: {e}"))?;
    if !(200..300).contains(&status) {
        let msg = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v["message"].as_str().map(str::to_string))
            .unwrap_or_else(|| format!("HTTP {status}"));
        return Err(if status == 401 {
            format!("unauthorized: {msg}")
        } else {
            msg
        });
    }
    let text = if text.is_empty() { "null" } else { &text };
    serde_json::from_str(text).map_err(|e| format!("unexpected answer: {e}"))
}

pub fn is_unauthorized(e: &str) -> bool {
    e.starts_with("unauthorized")
}

/// `encodeURIComponent` for ids in paths (ids are validated by the relay,
/// but a path must never be built from raw text).
fn enc(s: &str) -> String {
    String::from(js_sys::encode_uri_component(s))
}

pub async fn login(email: &str, password: &str) -> ApiResult<LoginReply> {
    let body = serde_json::json!({ "email": email, "password": password });
    match Request::post("/v1/api/login").json(&body) {
        Ok(req) => read(req.send().await).await,
        Err(e) => Err(e.to_string()),
    }
}

/// An authenticated client.
#[derive(Clone, PartialEq)]
pub struct Api {
    pub token: String,
}

impl Api {
    fn auth(&self, b: RequestBuilder) -> RequestBuilder {
        b.header("Authorization", &format!("Bearer {}", self.token))
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> ApiResult<T> {
        read(self.auth(Request::get(path)).send().await).await
    }

    async fn with_body<T: DeserializeOwned>(
        &self,
        b: RequestBuilder,
        body: &Value,
    ) -> ApiResult<T> {
        match self.auth(b).json(body) {
            Ok(req) => read(req.send().await).await,
            Err(e) => Err(e.to_string()),
        }
    }

    pub async fn me(&self) -> ApiResult<AgentView> {
        self.get("/v1/api/me").await
    }

    pub async fn logout(&self) -> ApiResult<Value> {
        read(self.auth(Request::post("/v1/api/logout")).send().await).await
    }

    pub async fn site(&self, site: &str) -> ApiResult<SiteView> {
        self.get(&format!("/v1/api/sites/{}", enc(site))).await
    }

    pub async fn sites(&self) -> ApiResult<Vec<SiteView>> {
        self.get("/v1/api/sites").await
    }

    pub async fn patch_site(&self, site: &str, body: &Value) -> ApiResult<SiteView> {
        let url = format!("/v1/api/sites/{}", enc(site));
        self.with_body(Request::patch(&url), body).await
    }

    pub async fn snippet(&self, site: &str) -> ApiResult<String> {
        let v: Value = self
            .get(&format!("/v1/api/sites/{}/snippet", enc(site)))
            .await?;
        Ok(v["html"].as_str().unwrap_or_default().to_string())
    }

    pub async fn team(&self, site: &str) -> ApiResult<Vec<Teammate>> {
        self.get(&format!("/v1/api/sites/{}/agents", enc(site)))
            .await
    }

    pub async fn agents(&self) -> ApiResult<Vec<AgentView>> {
        self.get("/v1/api/agents").await
    }

    pub async fn add_agent(&self, body: &Value) -> ApiResult<AgentView> {
        self.with_body(Request::post("/v1/api/agents"), body).await
    }

    pub async fn delete_agent(&self, id: &str) -> ApiResult<Value> {
        let url = format!("/v1/api/agents/{}", enc(id));
        read(self.auth(Request::delete(&url)).send().await).await
    }

    pub async fn canned(&self, site: &str) -> ApiResult<Vec<Canned>> {
        self.get(&format!("/v1/api/sites/{}/canned", enc(site)))
            .await
    }

    pub async fn add_canned(&self, site: &str, shortcut: &str, text: &str) -> ApiResult<Canned> {
        let url = format!("/v1/api/sites/{}/canned", enc(site));
        let body = serde_json::json!({ "shortcut": shortcut, "text": text });
        self.with_body(Request::post(&url), &body).await
    }

    pub async fn delete_canned(&self, site: &str, id: &str) -> ApiResult<Value> {
        let url = format!("/v1/api/sites/{}/canned/{}", enc(site), enc(id));
        read(self.auth(Request::delete(&url)).send().await).await
    }

    pub async fn convs(&self, site: &str, status: &str) -> ApiResult<ConvPage> {
        self.get(&format!(
            "/v1/api/sites/{}/conversations?status={}&limit=200",
            enc(site),
            enc(status)
        ))
        .await
    }

    /// The latest `limit` events below `before`.
    pub async fn events_before(
        &self,
        conv: &str,
        before: u64,
        limit: u32,
    ) -> ApiResult<EventsPage> {
        self.get(&format!(
            "/v1/api/conversations/{}/events?before={before}&limit={limit}",
            enc(conv)
        ))
        .await
    }

    pub async fn visitor(&self, site: &str, visitor: &str) -> ApiResult<Value> {
        self.get(&format!(
            "/v1/api/sites/{}/visitors/{}",
            enc(site),
            enc(visitor)
        ))
        .await
    }

    /// Uploads a file for `site` (the relay sniffs its type); send it
    /// afterwards with `send {file: id}`.
    pub async fn upload(&self, site: &str, file: web_sys::File) -> ApiResult<Attachment> {
        let url = format!("/v1/files?site={}&name={}", enc(site), enc(&file.name()));
        match self.auth(Request::post(&url)).body(file) {
            Ok(req) => read(req.send().await).await,
            Err(e) => Err(e.to_string()),
        }
    }

    /// Where a file (or its thumbnail) is read: the token rides in the
    /// query because `<img src>` and links cannot send a header; the relay
    /// checks it on every download.
    pub fn file_url(&self, id: &str, thumb: bool) -> String {
        format!(
            "/v1/files/{}{}?token={}",
            enc(id),
            if thumb { "/thumb" } else { "" },
            enc(&self.token)
        )
    }

    /// `action`: assign | transfer | close | reopen.
    pub async fn conv_action(
        &self,
        conv: &str,
        action: &str,
        body: &Value,
    ) -> ApiResult<ConvSummary> {
        let url = format!("/v1/api/conversations/{}/{}", enc(conv), enc(action));
        self.with_body(Request::post(&url), body).await
    }
}
