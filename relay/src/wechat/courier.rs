//! Agents' replies to WeChat followers, through the durable outbound
//! queue ([`crate::outbox`]).
//!
//! [`Replies`] is the commit thread's [`Stage`]: an agent's message in a
//! conversation whose channel is WeChat becomes one job in the same batch
//! as the message (lane: the conversation, so replies go one at a time,
//! in order). The commit thread has already refused what WeChat would not
//! take (outside the window, a sixth reply, a file that is no image).
//!
//! [`WechatCourier`] makes one attempt per job with [`super::client`]:
//! - errcode 0 → delivered; the job is deleted and never sent again.
//! - 40001 / 40014 / 42001 (token refused) → the client fetched a new
//!   token and sent once more within the same attempt.
//! - -1 (system busy), 45009 (daily quota), no answer → retried with
//!   backoff ([`RETRY_FIRST_MS`] doubling to [`RETRY_MAX_MS`]) until the
//!   job is [`MAX_AGE_MS`] old — the reply window's own length.
//! - 45015 / 45047 (window closed, too many replies) → dropped, and the
//!   conversation's window marked closed, so agents see it and further
//!   replies are refused until the follower writes.
//! - anything else (a wrong AppSecret, an unknown openid …) → dropped and
//!   logged: it cannot succeed as it is.
//!
//! A reply given up (dropped, or still failing after [`MAX_AGE_MS`]) is
//! noted in its conversation as a private note from "WeChat" saying why,
//! so agents know the follower did not get it.

use super::client::{errcode, CallError, Outgoing};
use crate::outbox::{Courier, Kind, OutJob, Outcome, Policy, Queue, Stage};
use crate::store::{ConvRecord, Store, StoreError};
use crate::App;
use protocol::{Channel, ConvId, EventBody, FileId, Side, SiteId, VisitorId};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// The first retry's delay (ms); each further failure doubles it …
pub const RETRY_FIRST_MS: u64 = 1_000;
/// … up to this (ms).
pub const RETRY_MAX_MS: u64 = 5 * 60 * 1000;
/// A reply still unsent this long after it was written is given up: the
/// window it was written in has closed by then.
pub const MAX_AGE_MS: u64 = protocol::limits::WECHAT_WINDOW_MS;
/// Replies in flight at once (over all followers).
pub const IN_FLIGHT: usize = 8;

/// One reply as queued.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    pub site: SiteId,
    pub conv: ConvId,
    pub seq: u64,
    pub visitor: VisitorId,
    #[serde(default)]
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<FileId>,
}

/// The WeChat replies' queue, as the commit thread stages into it.
pub struct Replies {
    queue: Arc<Queue>,
}

impl Replies {
    pub fn open(store: Arc<Store>) -> Result<Arc<Replies>, StoreError> {
        Ok(Arc::new(Replies {
            queue: Queue::open(store, Kind::Wechat)?,
        }))
    }

    pub fn queue(&self) -> &Arc<Queue> {
        &self.queue
    }
}

impl Stage for Replies {
    fn jobs_for(&self, rec: &ConvRecord, ev: &protocol::Event) -> Vec<OutJob> {
        if rec.channel != Channel::Wechat {
            return Vec::new();
        }
        let EventBody::Message {
            from, text, file, ..
        } = &ev.body
        else {
            return Vec::new();
        };
        if from.side != Side::Agent {
            return Vec::new();
        }
        let reply = |text: String, file: Option<FileId>| Reply {
            site: rec.site.clone(),
            conv: rec.id.clone(),
            seq: ev.seq,
            visitor: rec.visitor.clone(),
            text,
            file,
        };
        // WeChat takes text and an image as two messages: two jobs, in
        // order in the lane, so a retry never repeats a confirmed one.
        let mut replies = Vec::new();
        if !text.trim().is_empty() {
            replies.push(reply(text.clone(), None));
        }
        if let Some(f) = file {
            replies.push(reply(String::new(), Some(f.id.clone())));
        }
        replies
            .iter()
            .filter_map(|r| match serde_json::to_value(r) {
                Ok(body) => Some(OutJob::new(Kind::Wechat, rec.id.as_str(), body)),
                Err(e) => {
                    tracing::error!(error = %e, "wechat: reply not queued");
                    None
                }
            })
            .collect()
    }

    fn queue(&self) -> &Queue {
        &self.queue
    }
}

/// Sends the queue's replies.
pub struct WechatCourier {
    app: Arc<App>,
}

impl WechatCourier {
    pub fn new(app: Arc<App>) -> WechatCourier {
        WechatCourier { app }
    }

    /// What WeChat should receive for `r`: its image, or its text.
    fn message(&self, r: &Reply) -> Result<Outgoing, String> {
        if let Some(id) = &r.file {
            let rec = self
                .app
                .store
                .file(id)
                .map_err(|e| e.to_string())?
                .ok_or("the attached file is gone")?;
            let bytes = std::fs::read(self.app.files.path(&rec.sha256, false))
                .map_err(|e| format!("the attached file cannot be read: {e}"))?;
            return Ok(Outgoing::Image {
                bytes,
                name: rec.name,
                mime: rec.mime,
            });
        }
        Ok(Outgoing::Text(r.text.clone()))
    }
}

impl Courier for WechatCourier {
    fn policy(&self) -> Policy {
        Policy {
            first_ms: RETRY_FIRST_MS,
            max_ms: RETRY_MAX_MS,
            max_age_ms: MAX_AGE_MS,
            in_flight: IN_FLIGHT,
            // A token fetch, an upload and a send, each bounded by the
            // client's own timeout; this is the runner's backstop.
            timeout: super::client::CALL_TIMEOUT * 3 + Duration::from_secs(5),
        }
    }

    async fn attempt(&self, job: &OutJob) -> Outcome {
        let r: Reply = match serde_json::from_value(job.body.clone()) {
            Ok(r) => r,
            Err(e) => {
                return Outcome::Drop {
                    why: format!("unreadable job: {e}"),
                }
            }
        };
        let settings = match self.app.store.site(&r.site) {
            Ok(Some(s)) => s.wechat.filter(|w| w.enabled),
            Ok(None) => None,
            Err(e) => {
                return Outcome::Retry {
                    after_ms: None,
                    why: format!("store: {e}"),
                }
            }
        };
        let Some(w) = settings else {
            return Outcome::Drop {
                why: "the site's WeChat bridge is off".into(),
            };
        };
        let Some(openid) = super::openid(&r.visitor) else {
            return Outcome::Drop {
                why: "not a follower".into(),
            };
        };
        let msg = match self.message(&r) {
            Ok(m) => m,
            Err(why) => return Outcome::Drop { why },
        };
        match self.app.wechat.send(&w, openid, &msg).await {
            Ok(()) => Outcome::Delivered {
                detail: format!("sent to {openid}"),
            },
            Err(e) => self.failed(&r, e),
        }
    }

    /// A reply given up tells the agents, in the conversation: a private
    /// note (never sent to the follower), once per job.
    fn settled(&self, job: &OutJob, outcome: &Outcome, final_: bool) {
        let (true, Outcome::Drop { why }) = (final_, outcome) else {
            return;
        };
        let Ok(r) = serde_json::from_value::<Reply>(job.body.clone()) else {
            return;
        };
        let Ok(cid) = protocol::Cid::new(format!("wx-undelivered-{}", job.id)) else {
            return;
        };
        let commit = self.app.commit.clone();
        let from = protocol::Author {
            side: Side::System,
            id: "wechat".into(),
            name: Some("WeChat".into()),
        };
        let text = format!("Not delivered to WeChat: {why}");
        tokio::spawn(async move {
            if let Err(e) = commit.note("wechat".into(), cid, r.conv, from, text).await {
                tracing::warn!(error = %e, "wechat: undelivered reply not noted");
            }
        });
    }
}

impl WechatCourier {
    fn failed(&self, r: &Reply, e: CallError) -> Outcome {
        let why = e.to_string();
        match e.errcode() {
            None | Some(errcode::BUSY | errcode::QUOTA) => Outcome::Retry {
                after_ms: None,
                why,
            },
            Some(errcode::WINDOW_CLOSED | errcode::TOO_MANY_REPLIES) => {
                tracing::info!(conv = %r.conv, error = %why, "wechat: reply window closed");
                let (commit, conv) = (self.app.commit.clone(), r.conv.clone());
                tokio::spawn(async move { commit.wechat_closed(conv).await });
                Outcome::Drop { why }
            }
            Some(_) => {
                tracing::warn!(conv = %r.conv, error = %why, "wechat: reply not sent");
                Outcome::Drop { why }
            }
        }
    }
}
