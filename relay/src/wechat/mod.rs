//! The WeChat Official Account (公众号) bridge: followers chat from inside
//! WeChat, agents answer in the console.
//!
//! - In: WeChat pushes each follower message to `POST /v1/wechat/{site}`
//!   ([`inbound`]): the signature is checked (and in safe mode the
//!   `msg_signature`, then the AES decryption and the AppID, [`crypto`]),
//!   the XML read with DTDs and entities refused ([`xml`]), and the
//!   message stored through the commit thread — durable — before WeChat is
//!   answered `success`. WeChat retries a push it got no answer to within
//!   5 s up to three times: the message's `MsgId` (an event's
//!   `CreateTime`) is its cid in the follower's own scope, so the commit
//!   path's cid dedup stores it once.
//! - A follower is a visitor of the site with channel `wechat`; its
//!   visitor id is [`visitor_id`] of the openid (reversible: [`openid`]).
//!   `subscribe` creates the visitor (no conversation), `unsubscribe` is
//!   noted in its attributes, a menu `CLICK` becomes the visitor message
//!   `[menu] <EventKey>` (so agents see it where they read, and it opens
//!   WeChat's reply window, as WeChat's own rules have it).
//! - Out: an agent's message in a WeChat conversation is a job of the
//!   durable outbound queue, staged in the same batch as the message
//!   ([`jobs_for`]), and sent through the customer-service API by
//!   [`courier`] with the client in [`client`]. The commit thread refuses
//!   replies WeChat would not take (48 h after the follower's last
//!   message, or a sixth reply in that window: [`protocol::WechatWindow`]).
//!
//! # Layout
//! - [`crypto`]: signatures, the AES key, decryption.
//! - [`xml`]: the push XML's fields, refusing DTDs and entities.
//! - [`inbound`]: the two routes, what each push type stores.
//! - [`client`]: access tokens, customer-service sends, media.
//! - [`courier`]: the outbound queue's WeChat deliveries.

pub mod client;
pub mod courier;
pub mod crypto;
pub mod inbound;
pub mod xml;

use protocol::VisitorId;

/// What a follower's visitor id starts with; web visitors may not take
/// such an id (their hello is refused), so no page can pose as a follower.
pub const VISITOR_PREFIX: &str = "wx-";

/// The visitor id of a follower: `wx-` and the openid (WeChat's openids
/// are 28 characters of `[A-Za-z0-9_-]`); `None` for anything that would
/// not make a valid id.
pub fn visitor_id(openid: &str) -> Option<VisitorId> {
    VisitorId::new(format!("{VISITOR_PREFIX}{openid}")).ok()
}

/// The openid of a follower's visitor id.
pub fn openid(visitor: &VisitorId) -> Option<&str> {
    visitor
        .as_str()
        .strip_prefix(VISITOR_PREFIX)
        .filter(|o| !o.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follower_ids_round_trip() {
        let v = visitor_id("oLVPpjqs9BhvzwPj5A-vTYAX3GLc").expect("valid");
        assert_eq!(v.as_str(), "wx-oLVPpjqs9BhvzwPj5A-vTYAX3GLc");
        assert_eq!(openid(&v), Some("oLVPpjqs9BhvzwPj5A-vTYAX3GLc"));
        assert!(visitor_id("bad/openid").is_none());
        assert!(visitor_id(&"a".repeat(70)).is_none());
        assert!(openid(&VisitorId::new("v1").expect("id")).is_none());
    }
}
