//! One fetched mail → at most one conversation's messages, or a refusal.
//!
//! The reply address's token is the proof of who may write where: it
//! names the conversation and the recipient it was given to (the visitor,
//! or one agent), and its HMAC cannot be made without the relay's mail
//! key. `In-Reply-To`/`References` only confirm it (a mismatch is
//! logged); a mail with a token that does not verify is refused, one with
//! no sub-address at all is not kefu's (left unflagged, for people who
//! share the mailbox).
//! - No valid token, but `In-Reply-To`/`References` name one of kefu's
//!   Message-IDs (a client that answered the plain sender address): taken
//!   only when `From` is that conversation's visitor's stored email (a
//!   visitor message) or a registered email of one of the site's agents
//!   (an agent message); anything else is refused, as without a token.
//! - Visitor's token → a visitor message (a `From` other than the
//!   visitor's known address is logged, not refused: people reply from
//!   another account of theirs, and the token is what they were given).
//! - Agent's token → an agent message, only from that agent's registered
//!   email (case-insensitive) and while they are an agent of the site;
//!   anything else is refused and logged.
//!
//! Messages go through the same group commit as a `send` does, with a
//! cid derived from the Message-ID: a mail processed twice is stored once,
//! and a closed conversation is reopened like any visitor message does.

use super::parse::{self, Inbound};
use crate::commit::{CommitError, NewMessage, Target};
use crate::mail::token::{self, MailKey, Recipient};
use crate::store::{ConvRecord, MailInRecord};
use crate::App;
use protocol::limits::{
    MAX_INBOUND_MAILS_PER_CONV_PER_MINUTE, MAX_INBOUND_MAIL_ATTACHMENTS, MAX_TEXT_BYTES,
    RAW_HEADER_SCAN_BYTES,
};
use protocol::{Attachment, Author, Cid, ConvId, Side};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// What became of a mail. Everything but [`Outcome::Retry`] marks it
/// processed for good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Stored as messages in `conv` (the first at `seq`).
    Stored { conv: String, seq: u64 },
    /// Processed before (the same Message-ID).
    Duplicate,
    /// A program's mail (out-of-office, bounce): nothing stored.
    Ignored(String),
    /// Not stored, for this reason (logged).
    Refused(String),
    /// Not a reply to the relay's mail (no reply address of its own among
    /// the recipients): left unflagged for whoever else reads the mailbox.
    NotOurs,
    /// Could not be stored now (disk, shutdown): leave it for next time.
    Retry(String),
}

impl Outcome {
    /// The words kept with the mail's record and logged.
    pub fn describe(&self) -> String {
        match self {
            Outcome::Stored { conv, seq } => format!("stored in {conv} at seq {seq}"),
            Outcome::Duplicate => "already processed".into(),
            Outcome::Ignored(why) => format!("ignored: {why}"),
            Outcome::Refused(why) => format!("refused: {why}"),
            Outcome::NotOurs => "not a reply to kefu's mail: left as it is".into(),
            Outcome::Retry(why) => format!("not processed yet: {why}"),
        }
    }

    /// Whether the mail is flagged `\Seen` on the server: all that kefu
    /// dealt with, not mail for someone else sharing the mailbox.
    pub fn flag_seen(&self) -> bool {
        !matches!(self, Outcome::NotOurs | Outcome::Retry(_))
    }
}

/// The id a mail is remembered by when it cannot be parsed: its
/// `Message-ID` line if one can be found among the first lines, else
/// `sha256:` and the hex of its bytes.
pub fn raw_id(raw: &[u8]) -> String {
    let head = &raw[..raw.len().min(RAW_HEADER_SCAN_BYTES)];
    let found = String::from_utf8_lossy(head)
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.trim().eq_ignore_ascii_case("message-id").then(|| {
                value
                    .trim()
                    .trim_matches(|c| c == '<' || c == '>')
                    .to_string()
            })
        })
        .filter(|id| !id.is_empty() && id.len() <= protocol::limits::MAX_EMAIL_BYTES);
    found.unwrap_or_else(|| format!("sha256:{}", hex::encode(Sha256::digest(raw))))
}

/// Processes one mail: remembered by Message-ID once it is decided
/// (durably, before the caller marks it on the server).
pub async fn deliver(app: &Arc<App>, key: &MailKey, raw: Vec<u8>) -> Outcome {
    let mail = match parse::parse(&raw) {
        Ok(m) => m,
        Err(e) => {
            let outcome = Outcome::Refused(format!("malformed: {e}"));
            return remember(app, &raw_id(&raw), outcome, None);
        }
    };
    match app.store.mail_in(&mail.message_id) {
        Ok(Some(_)) => return Outcome::Duplicate,
        Ok(None) => {}
        Err(e) => return Outcome::Retry(format!("store: {e}")),
    }
    let outcome = decide(app, key, &mail).await;
    remember(app, &mail.message_id, outcome, Some(&mail))
}

fn remember(app: &App, id: &str, outcome: Outcome, mail: Option<&Inbound>) -> Outcome {
    let from = mail.map(|m| m.from.as_str()).unwrap_or("?");
    match &outcome {
        Outcome::Retry(why) => {
            tracing::warn!(message_id = %id, from, why, "mail in: not processed, will retry");
            return outcome;
        }
        Outcome::Stored { .. } | Outcome::NotOurs => {
            tracing::info!(message_id = %id, from, outcome = %outcome.describe(), "mail in")
        }
        _ => tracing::warn!(message_id = %id, from, outcome = %outcome.describe(), "mail in"),
    }
    let rec = MailInRecord {
        at: crate::now_ms(),
        outcome: outcome.describe(),
    };
    if let Err(e) = app
        .store
        .put_mail_in(id, &rec)
        .and_then(|()| app.store.sync())
    {
        return Outcome::Retry(format!("store: {e}"));
    }
    outcome
}

async fn decide(app: &Arc<App>, key: &MailKey, mail: &Inbound) -> Outcome {
    if let Some(why) = &mail.automatic {
        return Outcome::Ignored(format!("sent by a program ({why})"));
    }
    // A copy of the relay's own mail (a Bcc, a forward of it): never a reply.
    if token::conv_of_message_id(&mail.message_id).is_some() {
        return Outcome::Ignored("the relay's own mail (its Message-ID is kefu's)".into());
    }
    let tokens: Vec<_> = mail
        .recipients
        .iter()
        .filter_map(|a| key.read_reply_address(a, |c| crate::mail::site_agents(&app.store, c)))
        .collect();
    let Some((conv_id, recipient)) = tokens.first().cloned() else {
        let tagged = mail
            .recipients
            .iter()
            .any(|a| a.split('@').next().is_some_and(|local| local.contains('+')));
        return match by_thread(app, mail) {
            Ok(Some((conv_id, recipient))) => {
                tracing::info!(conv = %conv_id, from = %mail.from,
                    "mail in: no valid reply token; threaded by In-Reply-To/References from a known address");
                store(app, mail, conv_id, recipient).await
            }
            Err(o) => o,
            Ok(None) if tagged => {
                Outcome::Refused("the reply token does not verify (forged or damaged)".into())
            }
            Ok(None)
                if mail
                    .answers
                    .iter()
                    .any(|a| token::conv_of_message_id(a).is_some()) =>
            {
                Outcome::Refused(format!(
                    "no reply token, and From {} is neither the conversation's visitor's \
                     address nor one of its agents' registered addresses",
                    mail.from
                ))
            }
            Ok(None) => Outcome::NotOurs,
        };
    };
    if tokens.iter().any(|t| t.0 != conv_id) {
        return Outcome::Refused("reply tokens for different conversations".into());
    }
    for answered in &mail.answers {
        if let Some(c) = token::conv_of_message_id(answered) {
            if c != conv_id {
                tracing::info!(token = %conv_id, references = %c,
                    "mail in: References name another conversation than the token; the token counts");
            }
        }
    }
    store(app, mail, conv_id, recipient).await
}

/// The conversation and sender of a mail without a valid reply token
/// whose `In-Reply-To`/`References` name one of kefu's Message-IDs: only
/// when its `From` is that conversation's visitor's stored email (the
/// visitor) or the registered email of one of the site's agents (that
/// agent). The Message-ID is not signed, so the address is the proof.
fn by_thread(app: &App, mail: &Inbound) -> Result<Option<(ConvId, Recipient)>, Outcome> {
    let store_err = |e: crate::store::StoreError| Outcome::Retry(format!("store: {e}"));
    let from = mail.from.trim();
    if from.is_empty() {
        return Ok(None);
    }
    for conv_id in mail
        .answers
        .iter()
        .filter_map(|a| token::conv_of_message_id(a))
    {
        let Some(conv) = app.store.conv(&conv_id).map_err(store_err)? else {
            continue;
        };
        let visitor = app
            .store
            .visitor(&conv.site, &conv.visitor)
            .map_err(store_err)?;
        let visitor_email = visitor
            .as_ref()
            .and_then(|v| v.user.as_ref())
            .and_then(|u| u.email.as_deref());
        if visitor_email.is_some_and(|e| e.trim().eq_ignore_ascii_case(from)) {
            return Ok(Some((conv_id, Recipient::Visitor)));
        }
        let agent = app
            .store
            .agents()
            .map_err(store_err)?
            .into_iter()
            .find(|a| {
                a.sites.contains(&conv.site)
                    && a.email
                        .as_deref()
                        .is_some_and(|e| e.trim().eq_ignore_ascii_case(from))
            });
        if let Some(agent) = agent {
            return Ok(Some((conv_id, Recipient::Agent(agent.id))));
        }
    }
    Ok(None)
}

/// Stores the mail in `conv_id` as from `recipient` (checked again by
/// [`sender`]).
async fn store(app: &Arc<App>, mail: &Inbound, conv_id: ConvId, recipient: Recipient) -> Outcome {
    let conv = match app.store.conv(&conv_id) {
        Ok(Some(c)) => c,
        Ok(None) => return Outcome::Refused(format!("no conversation {conv_id}")),
        Err(e) => return Outcome::Retry(format!("store: {e}")),
    };
    let (scope, from) = match sender(app, mail, &conv, &recipient) {
        Ok(s) => s,
        Err(o) => return o,
    };
    if from.side == Side::Visitor
        && app
            .blocks
            .blocked(&app.store, &conv.site, &conv.visitor, None)
    {
        return Outcome::Refused(format!(
            "the visitor of conversation {} is blocked",
            conv.id
        ));
    }
    if app
        .limiter
        .hit(
            &format!("mail-in:{}", conv.id),
            MAX_INBOUND_MAILS_PER_CONV_PER_MINUTE,
        )
        .is_err()
    {
        return Outcome::Refused(format!(
            "more than {MAX_INBOUND_MAILS_PER_CONV_PER_MINUTE} mails a minute into conversation {}",
            conv.id
        ));
    }
    let text = clip(mail.text.clone());
    let files = attachments(app, mail, &conv, from.side, &from.id).await;
    if text.is_empty() && files.is_empty() {
        return Outcome::Refused("nothing to store: no text besides the quote, no file".into());
    }
    let base = cid_base(&mail.message_id);
    let mut first = None;
    let mut messages = vec![(text, files.first().cloned())];
    messages.extend(
        files
            .iter()
            .skip(1)
            .map(|f| (String::new(), Some(f.clone()))),
    );
    for (i, (text, file)) in messages.into_iter().enumerate() {
        let cid = if i == 0 {
            base.clone()
        } else {
            format!("{base}.{}", i + 1)
        };
        let Ok(cid) = Cid::new(cid) else {
            return Outcome::Refused("no cid can be made from the Message-ID".into());
        };
        let msg = NewMessage {
            scope: scope.clone(),
            cid,
            target: Target::Conv(conv.id.clone()),
            from: from.clone(),
            text,
            file,
        };
        match app.commit.message(msg).await {
            Ok(c) => {
                first.get_or_insert(c.seq);
            }
            Err(e @ (CommitError::Storage | CommitError::ShuttingDown)) => {
                return Outcome::Retry(e.to_string())
            }
            Err(e) => return Outcome::Refused(e.to_string()),
        }
    }
    Outcome::Stored {
        conv: conv.id.to_string(),
        seq: first.unwrap_or(0),
    }
}

/// Who the mail is from, as the token and the sender check allow: the
/// cid scope and the author.
fn sender(
    app: &App,
    mail: &Inbound,
    conv: &ConvRecord,
    recipient: &Recipient,
) -> Result<(String, Author), Outcome> {
    let store_err = |e: crate::store::StoreError| Outcome::Retry(format!("store: {e}"));
    match recipient {
        Recipient::Visitor => {
            let known = app
                .store
                .visitor(&conv.site, &conv.visitor)
                .map_err(store_err)?;
            let email = known
                .as_ref()
                .and_then(|v| v.user.as_ref())
                .and_then(|u| u.email.clone());
            let name = known
                .as_ref()
                .and_then(|v| v.user.as_ref())
                .and_then(|u| u.name.clone());
            if email
                .as_deref()
                .is_some_and(|e| !e.trim().eq_ignore_ascii_case(&mail.from))
            {
                tracing::info!(conv = %conv.id, from = %mail.from,
                    "mail in: a visitor's reply from another address than theirs (the token is valid)");
            }
            Ok((
                format!("v:{}:{}", conv.site, conv.visitor),
                Author {
                    side: Side::Visitor,
                    id: conv.visitor.to_string(),
                    name,
                },
            ))
        }
        Recipient::Agent(agent_id) => {
            let Some(agent) = app.store.agent(agent_id).map_err(store_err)? else {
                return Err(Outcome::Refused(format!("no agent {agent_id}")));
            };
            let registered = agent
                .email
                .as_deref()
                .is_some_and(|e| e.trim().eq_ignore_ascii_case(&mail.from));
            if !registered {
                return Err(Outcome::Refused(format!(
                    "an agent's reply token, but From {} is not that agent's registered email",
                    mail.from
                )));
            }
            if !agent.sites.contains(&conv.site) {
                return Err(Outcome::Refused(format!(
                    "agent {agent_id} is no longer an agent of site {}",
                    conv.site
                )));
            }
            Ok((
                format!("a:{}", agent.id),
                Author {
                    side: Side::Agent,
                    id: agent.id.to_string(),
                    name: Some(agent.name.clone()),
                },
            ))
        }
    }
}

/// The mail's files stored as the sender's uploads (as an upload is
/// stored: type sniffed against the site's file types, size and the
/// visitor's quota checked, thumbnails made); those refused are logged
/// and skipped.
async fn attachments(
    app: &Arc<App>,
    mail: &Inbound,
    conv: &ConvRecord,
    side: Side,
    owner: &str,
) -> Vec<Attachment> {
    let mut out = Vec::new();
    for (i, part) in mail.attachments.iter().enumerate() {
        if i >= MAX_INBOUND_MAIL_ATTACHMENTS {
            tracing::warn!(message_id = %mail.message_id, skipped = mail.attachments.len() - i,
                "mail in: more attachments than {MAX_INBOUND_MAIL_ATTACHMENTS}; the rest skipped");
            break;
        }
        if part.bytes.len() as u64 > app.config.max_file_bytes {
            tracing::warn!(message_id = %mail.message_id, name = %part.name, bytes = part.bytes.len(),
                max = app.config.max_file_bytes, "mail in: attachment over the file size limit, skipped");
            continue;
        }
        let site = match app.store.site(&conv.site) {
            Ok(Some(s)) => s,
            other => {
                tracing::warn!(message_id = %mail.message_id, site = %conv.site, found = ?other.map(|s| s.is_some()),
                    "mail in: the conversation's site cannot be read; attachments skipped");
                break;
            }
        };
        let (app2, owner2, name, bytes) = (
            app.clone(),
            owner.to_string(),
            part.name.clone(),
            part.bytes.clone(),
        );
        let stored = tokio::task::spawn_blocking(move || {
            crate::files::routes::store_mailed(app2, &site, side, &owner2, &name, &bytes)
        })
        .await;
        match stored {
            Ok(Ok(rec)) => out.push(rec.attachment()),
            Ok(Err(why)) => tracing::warn!(message_id = %mail.message_id, name = %part.name,
                why = %why, "mail in: attachment not stored, skipped"),
            Err(e) => tracing::warn!(message_id = %mail.message_id, error = %e,
                "mail in: attachment not stored, skipped"),
        }
    }
    out
}

/// The cid of a mail's first message: `mail.` and 32 hex characters of
/// SHA-256 over the Message-ID (further files: `.2`, `.3`, …).
fn cid_base(message_id: &str) -> String {
    let h = hex::encode(Sha256::digest(message_id.as_bytes()));
    format!("mail.{}", &h[..32])
}

/// At most [`MAX_TEXT_BYTES`], cut on a character boundary.
fn clip(mut text: String) -> String {
    if text.len() > MAX_TEXT_BYTES {
        let mut end = MAX_TEXT_BYTES;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cid is stable per Message-ID, valid, and differs between mails.
    #[test]
    fn cids_from_message_ids() {
        let a = cid_base("abc@example.com");
        assert_eq!(a, cid_base("abc@example.com"));
        assert_ne!(a, cid_base("abd@example.com"));
        assert!(Cid::new(a.clone()).is_ok());
        assert!(Cid::new(format!("{a}.10")).is_ok());
    }

    /// A malformed mail is remembered by its Message-ID line when it has
    /// one, else by its bytes.
    #[test]
    fn ids_of_unreadable_mail() {
        let raw = b"From: a@b\r\nMessage-Id: <x.1@b>\r\nContent-Type: multipart/mixed\r\n\r\n";
        assert_eq!(raw_id(raw), "x.1@b");
        let raw = b"garbage\n\nMessage-ID: <late@b>";
        assert!(raw_id(raw).starts_with("sha256:"));
        assert_eq!(raw_id(raw), raw_id(raw));
    }

    #[test]
    fn long_text_is_clipped_on_a_char_boundary() {
        let t = clip("é".repeat(MAX_TEXT_BYTES));
        assert!(t.len() <= MAX_TEXT_BYTES);
        assert!(t.chars().all(|c| c == 'é'));
    }
}
