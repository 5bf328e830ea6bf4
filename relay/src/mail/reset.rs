//! "Forgot password?": the reset mail and the page its link opens.
//!
//! `POST /v1/api/password-reset` queues, for an agent's address, one
//! [`MailJob::Account`] on the durable mail queue: a link
//! `/v1/mail/password-reset?token=…` signed under the relay's mail key,
//! valid [`PASSWORD_RESET_MAX_AGE_S`], bound to the agent's current
//! password hash ([`super::MailKey::reset_sig`]): using it changes the
//! hash, so it works once, and any other change kills it too.
//!
//! `GET /v1/mail/password-reset?token=…` shows a form (new password twice;
//! GET changes nothing, so link scanners are harmless); its `POST` — or
//! `POST /v1/api/password-reset/confirm` with JSON — sets the password
//! and ends every sign-in session of the agent. A forged, altered,
//! expired or used token is refused with one message for all.

use super::{MailJob, Mailer};
use crate::assets::html_escape;
use crate::outbox::{Kind, OutJob};
use crate::reply::{with_app, Problem, Reply};
use crate::store::StoreError;
use crate::{auth, App};
use bytes::Bytes;
use protocol::limits::*;
use protocol::ErrorCode;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::sync::Arc;
use warp::http::StatusCode;
use warp::{Filter, Rejection};

/// A mail about an agent's account (no conversation): the reset link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountMail {
    /// The agent's sign-in address (from the store).
    pub to: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_name: Option<String>,
    pub subject: String,
    pub text: String,
}

/// The one answer for every token that does not work.
const BAD_LINK: &str =
    "this reset link is not valid: it may have expired or been used already; ask for a new one";

impl Mailer {
    /// Counts one reset request against the address's and the IP's hourly
    /// limits, before anything is looked up; why not, if over one.
    pub fn reset_limits(&self, email: &str, ip: Option<IpAddr>) -> Result<(), String> {
        if let Some(ip) = ip {
            if !self.resets.take(
                &format!("reset-ip\0{ip}"),
                1,
                MAX_RESETS_PER_IP_PER_HOUR,
                RESET_WINDOW_MS,
            ) {
                return Err(format!(
                    "at most {MAX_RESETS_PER_IP_PER_HOUR} reset requests an hour from one address; try later"
                ));
            }
        }
        if !self.resets.take(
            &format!("reset\0{email}"),
            1,
            MAX_RESETS_PER_ADDRESS_PER_HOUR,
            RESET_WINDOW_MS,
        ) {
            return Err(format!(
                "at most {MAX_RESETS_PER_ADDRESS_PER_HOUR} reset mails an hour to one address; try later"
            ));
        }
        Ok(())
    }

    /// The reset link of the agent signing in with `email`, if there is
    /// one with a password (on a blocking thread): queued durably.
    pub fn queue_reset(&self, email: &str) -> Result<bool, StoreError> {
        let store = self.store();
        let Some(agent) = store.agent_by_email(email)? else {
            return Ok(false);
        };
        let (Some(phc), Some(to)) = (agent.password.as_deref(), agent.email.clone()) else {
            return Ok(false);
        };
        let exp = (crate::now_ms() / 1000).saturating_add(PASSWORD_RESET_MAX_AGE_S);
        let token = self.key.reset_token(&agent.id, exp, phc);
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        q.append_pair("token", &token);
        let link = format!("{}/v1/mail/password-reset?{}", self.base, q.finish());
        let minutes = PASSWORD_RESET_MAX_AGE_S / 60;
        let text = format!(
            "Hello {name},\n\n\
             Someone (hopefully you) asked to set a new password for your kefu console \
             account. Open this link within {minutes} minutes to choose one:\n\n{link}\n\n\
             If you did not ask, ignore this mail: your password stays as it is.\n\n\
             ——\n\n\
             您好，{name}：\n\n\
             有人（希望是您本人）申请重设 kefu 客服后台的密码。请在 {minutes} 分钟内打开下面的链接设置新密码：\n\n{link}\n\n\
             如果不是您本人操作，请忽略此邮件，您的密码不会改变。\n",
            name = super::display_name(&agent.name),
        );
        let mail = AccountMail {
            to: to.clone(),
            to_name: Some(agent.name.clone()),
            subject: "Set a new kefu password / 重设 kefu 密码".into(),
            text,
        };
        let body = serde_json::to_value(MailJob::Account(mail)).map_err(StoreError::Encode)?;
        let job = OutJob::new(Kind::Mail, to.to_ascii_lowercase(), body);
        let queued = self.queue.enqueue(&job)?;
        tracing::info!(agent = %agent.id, queued, "password reset mail");
        Ok(queued)
    }
}

/// Sets the password a valid reset `token` allows, ending every sign-in
/// session of the agent; nothing changes otherwise.
pub async fn confirm(app: &App, token: &str, password: &str) -> Result<(), Problem> {
    let bad_link = || Problem::new(ErrorCode::Forbidden, BAD_LINK);
    let Some(mailer) = app.mail.as_ref() else {
        return Err(bad_link());
    };
    auth::check_new_password(password).map_err(|e| Problem::new(ErrorCode::BadRequest, e))?;
    if token.len() > MAX_RESET_TOKEN_BYTES {
        return Err(bad_link());
    }
    let (agent, exp, sig) = super::MailKey::read_reset_token(token).ok_or_else(bad_link)?;
    let rec = app
        .store
        .agent(&agent)
        .map_err(Problem::from)?
        .ok_or_else(bad_link)?;
    let phc = rec.password.clone().ok_or_else(bad_link)?;
    if !mailer
        .key()
        .check_reset(&agent, exp, &phc, &sig, crate::now_ms() / 1000)
    {
        return Err(bad_link());
    }
    let store = app.store.clone();
    let new = password.to_string();
    let ended = tokio::task::spawn_blocking(move || auth::set_password(&store, &agent, &new, None))
        .await
        .map_err(|e| Problem::new(ErrorCode::Internal, e.to_string()))?
        .map_err(Problem::from)?;
    tracing::info!(agent = %rec.id, ended = ?ended, "password reset by mailed link");
    Ok(())
}

/// GET and POST /v1/mail/password-reset?token=…
pub fn routes(app: Arc<App>) -> impl Filter<Extract = (Reply,), Error = Rejection> + Clone {
    let query = warp::query::raw().or(warp::any().map(String::new)).unify();
    let get = warp::path!("v1" / "mail" / "password-reset")
        .and(warp::get())
        .and(query)
        .map(|q: String| form_page(&token_of(&q), None));
    let post = warp::path!("v1" / "mail" / "password-reset")
        .and(warp::post())
        .and(query)
        .and(warp::body::content_length_limit(MAX_UNSUBSCRIBE_BODY))
        .and(warp::body::bytes())
        .and(with_app(app))
        .then(|q: String, body: Bytes, app: Arc<App>| async move {
            let token = token_of(&q);
            let field = |name: &str| {
                url::form_urlencoded::parse(&body)
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default()
            };
            let (password, again) = (field("password"), field("again"));
            if password != again {
                return form_page(
                    &token,
                    Some("The two passwords differ. / 两次输入的密码不一致。"),
                );
            }
            match confirm(&app, &token, &password).await {
                Ok(()) => super::routes::html(
                    StatusCode::OK,
                    "New password set / 新密码已设置",
                    "<p>Your new password is set; every earlier session is signed out. \
                     <a href=\"/console/\">Sign in</a>.</p>\
                     <p>新密码已设置，之前的登录都已退出。<a href=\"/console/\">登录</a></p>",
                ),
                Err(p) if p.0.code == ErrorCode::BadRequest => {
                    form_page(&token, Some(&p.0.message))
                }
                Err(p) => super::routes::html(
                    StatusCode::FORBIDDEN,
                    "Reset link / 重设链接",
                    &format!(
                        "<p>{}</p><p>此重设链接无效：可能已过期或已被使用，请重新申请。</p>",
                        html_escape(&p.0.message)
                    ),
                ),
            }
        });
    get.or(post).unify()
}

/// The `token` of a query string (empty if none).
fn token_of(query: &str) -> String {
    if query.len() > MAX_LINK_QUERY_BYTES {
        return String::new();
    }
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// The form: the new password twice. It posts to its own URL (the token
/// stays in the query, never in a field a script could read elsewhere).
fn form_page(token: &str, error: Option<&str>) -> Reply {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair("token", token);
    let action = format!("/v1/mail/password-reset?{}", q.finish());
    let error = error
        .map(|e| {
            format!(
                "<p role=\"alert\" style=\"color:#c92a2a\">{}</p>",
                html_escape(e)
            )
        })
        .unwrap_or_default();
    let body = format!(
        "<form method=\"post\" action=\"{action}\">{error}\
         <p><label>New password / 新密码<br><input type=\"password\" name=\"password\" \
         autocomplete=\"new-password\" minlength=\"{min}\" required></label></p>\
         <p><label>Again / 再次输入<br><input type=\"password\" name=\"again\" \
         autocomplete=\"new-password\" minlength=\"{min}\" required></label></p>\
         <p><button type=\"submit\">Set password / 设置密码</button></p></form>",
        action = html_escape(&action),
        min = auth::MIN_PASSWORD_CHARS,
    );
    super::routes::html(StatusCode::OK, "Set a new password / 设置新密码", &body)
}
