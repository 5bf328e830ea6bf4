//! What a subscription must be before it is stored: an endpoint the relay
//! will POST to, and RFC 8291 keys that encryption can use.
//!
//! Endpoints: `https://` always; `http://` only to a loopback host
//! (`localhost`, `127.0.0.0/8`, `[::1]`) — a push service on the relay's
//! own box, as in tests — never plain HTTP across a network.

use base64::alphabet::URL_SAFE;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use hyper::Uri;
use protocol::api::PushSubscription;
use protocol::limits::MAX_PUSH_ENDPOINT_BYTES;
use std::net::IpAddr;

/// Bytes of an uncompressed P-256 point (`0x04 ‖ x ‖ y`).
pub const P256_POINT_BYTES: usize = 65;
/// Bytes of the RFC 8291 auth secret.
pub const AUTH_SECRET_BYTES: usize = 16;

/// base64url, with or without `=` padding (browsers send none).
const B64URL: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A subscription that passed: its parsed endpoint and decoded keys.
pub struct Checked {
    pub endpoint: String,
    pub p256dh: p256::PublicKey,
    pub auth: [u8; AUTH_SECRET_BYTES],
}

impl Checked {
    /// The keys as stored: base64url without padding.
    pub fn p256dh_b64(&self) -> String {
        use p256::elliptic_curve::sec1::ToEncodedPoint as _;
        B64URL.encode(self.p256dh.to_encoded_point(false).as_bytes())
    }

    pub fn auth_b64(&self) -> String {
        B64URL.encode(self.auth)
    }
}

/// Checks a browser's `PushSubscription.toJSON()`; the error says which
/// part is wrong.
pub fn subscription(s: &PushSubscription) -> Result<Checked, String> {
    endpoint(&s.endpoint)?;
    Ok(Checked {
        endpoint: s.endpoint.clone(),
        p256dh: p256dh(&s.keys.p256dh)?,
        auth: auth(&s.keys.auth)?,
    })
}

/// An endpoint the relay may POST pushes to (see the module doc).
pub fn endpoint(e: &str) -> Result<Uri, String> {
    if e.len() > MAX_PUSH_ENDPOINT_BYTES {
        return Err(format!("endpoint: at most {MAX_PUSH_ENDPOINT_BYTES} bytes"));
    }
    let uri: Uri = e.parse().map_err(|_| "endpoint: not a URL".to_string())?;
    let host = uri
        .host()
        .filter(|h| !h.is_empty())
        .ok_or("endpoint: no host")?;
    if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
        return Err("endpoint: no user info allowed".into());
    }
    match uri.scheme_str() {
        Some("https") => Ok(uri.clone()),
        Some("http") if is_loopback(host) => Ok(uri.clone()),
        _ => Err("endpoint: must be https:// (http:// only to a loopback host)".into()),
    }
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The user agent's public key: an uncompressed point on P-256.
pub fn p256dh(k: &str) -> Result<p256::PublicKey, String> {
    let bytes = B64URL
        .decode(k)
        .map_err(|_| "keys.p256dh: not base64url".to_string())?;
    if bytes.len() != P256_POINT_BYTES || bytes[0] != 0x04 {
        return Err(format!(
            "keys.p256dh: must be a {P256_POINT_BYTES}-byte uncompressed P-256 point"
        ));
    }
    p256::PublicKey::from_sec1_bytes(&bytes)
        .map_err(|_| "keys.p256dh: not a point on P-256".to_string())
}

/// The auth secret: 16 bytes.
pub fn auth(a: &str) -> Result<[u8; AUTH_SECRET_BYTES], String> {
    let bytes = B64URL
        .decode(a)
        .map_err(|_| "keys.auth: not base64url".to_string())?;
    bytes
        .try_into()
        .map_err(|_| format!("keys.auth: must be {AUTH_SECRET_BYTES} bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::elliptic_curve::sec1::ToEncodedPoint as _;
    use protocol::api::PushSubscriptionKeys;

    fn sub(endpoint: &str, p256dh: String, auth: &str) -> PushSubscription {
        PushSubscription {
            endpoint: endpoint.into(),
            expiration_time: None,
            keys: PushSubscriptionKeys {
                p256dh,
                auth: auth.into(),
            },
        }
    }

    fn point() -> String {
        let k = p256::SecretKey::random(&mut rand::rngs::OsRng).public_key();
        B64URL.encode(k.to_encoded_point(false).as_bytes())
    }

    const AUTH: &str = "AAECAwQFBgcICQoLDA0ODw"; // 16 bytes

    #[test]
    fn good_subscriptions_pass_and_round_trip() {
        let p = point();
        let c = subscription(&sub(
            "https://fcm.googleapis.com/fcm/send/x",
            p.clone(),
            AUTH,
        ));
        let c = c.expect("valid");
        assert_eq!(c.p256dh_b64(), p);
        assert_eq!(c.auth_b64(), AUTH);
        let padded = format!("{AUTH}==");
        assert!(subscription(&sub("http://127.0.0.1:9/p", point(), &padded)).is_ok());
        assert!(subscription(&sub("http://localhost/p", point(), AUTH)).is_ok());
        assert!(subscription(&sub("http://[::1]:80/p", point(), AUTH)).is_ok());
    }

    #[test]
    fn bad_endpoints_are_refused() {
        for e in [
            "http://push.example/x",
            "http://10.0.0.1/x",
            "ftp://push.example/x",
            "https://",
            "/relative",
            "https://user:pw@push.example/x",
            "not a url",
        ] {
            assert!(endpoint(e).is_err(), "{e}");
        }
        let long = format!(
            "https://push.example/{}",
            "a".repeat(MAX_PUSH_ENDPOINT_BYTES)
        );
        assert!(endpoint(&long).is_err());
    }

    #[test]
    fn bad_keys_are_refused() {
        let e = "https://push.example/x";
        let short = B64URL.encode([4u8; 33]);
        assert!(subscription(&sub(e, short, AUTH)).is_err());
        let off_curve = B64URL.encode([[4u8].as_slice(), &[1u8; 64]].concat());
        assert!(subscription(&sub(e, off_curve, AUTH)).is_err());
        assert!(subscription(&sub(e, "!!".into(), AUTH)).is_err());
        assert!(subscription(&sub(e, point(), "AAECAwQFBgcICQoLDA0O")).is_err());
        assert!(subscription(&sub(e, point(), "AAECAwQFBgcICQoLDA0ODxA")).is_err());
    }
}
