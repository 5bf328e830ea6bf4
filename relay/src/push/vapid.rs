//! The relay's VAPID identity (RFC 8292): its P-256 key pair, and the
//! `Authorization: vapid t=<JWT>, k=<public key>` header of each push.
//!
//! The JWT is a JWS compact serialization of `{aud, exp, sub}` signed with
//! ES256 (p256's ECDSA with SHA-256, deterministic nonces per RFC 6979);
//! the signature is the raw 64-byte `r ‖ s` JWS wants, not DER.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use hyper::Uri;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use serde::Serialize;

/// How long one VAPID JWT is valid (RFC 8292 §2: at most 24 hours). Each
/// push signs a fresh one, so 12 h leaves room for a relay whose clock is
/// somewhat ahead of the push service's without nearing the limit.
pub const VAPID_JWT_VALIDITY_SECS: u64 = 12 * 3600;

/// The subject a relay names when its operator gave none: a contact the
/// push service may write to about this relay's traffic.
pub const DEFAULT_VAPID_SUBJECT: &str = "mailto:admin@localhost";

/// Longest `--vapid-subject` accepted.
pub const MAX_VAPID_SUBJECT_BYTES: usize = 256;

pub struct Vapid {
    key: SigningKey,
    /// The uncompressed public point, base64url: `GET /v1/api/push/key`
    /// and the header's `k=`.
    public: String,
}

#[derive(Debug, thiserror::Error)]
pub enum VapidError {
    #[error("the stored VAPID key is not a P-256 secret scalar")]
    BadKey,
    #[error("the push endpoint has no scheme or host")]
    NoOrigin,
}

#[derive(Serialize)]
struct Claims<'a> {
    aud: &'a str,
    exp: u64,
    sub: &'a str,
}

impl Vapid {
    /// A new random secret scalar (32 bytes), for the store to keep.
    pub fn generate() -> Vec<u8> {
        p256::SecretKey::random(&mut rand::rngs::OsRng)
            .to_bytes()
            .to_vec()
    }

    /// The key pair of a stored secret.
    pub fn from_secret(secret: &[u8]) -> Result<Vapid, VapidError> {
        let key = SigningKey::from_slice(secret).map_err(|_| VapidError::BadKey)?;
        let point = key.verifying_key().to_encoded_point(false);
        Ok(Vapid {
            public: B64.encode(point.as_bytes()),
            key,
        })
    }

    /// The public key, base64url without padding (65 bytes decoded).
    pub fn public_key(&self) -> &str {
        &self.public
    }

    /// The `Authorization` header value for a push to `endpoint` at
    /// `now_secs` (Unix time), naming `subject` as the contact.
    pub fn authorization(
        &self,
        endpoint: &Uri,
        subject: &str,
        now_secs: u64,
    ) -> Result<String, VapidError> {
        let aud = origin(endpoint).ok_or(VapidError::NoOrigin)?;
        let claims = Claims {
            aud: &aud,
            exp: now_secs + VAPID_JWT_VALIDITY_SECS,
            sub: subject,
        };
        let claims = serde_json::to_vec(&claims).unwrap_or_default();
        let input = format!(
            "{}.{}",
            B64.encode(br#"{"typ":"JWT","alg":"ES256"}"#),
            B64.encode(claims)
        );
        let sig: Signature = self.key.sign(input.as_bytes());
        Ok(format!(
            "vapid t={input}.{}, k={}",
            B64.encode(sig.to_bytes()),
            self.public
        ))
    }
}

/// The ASCII serialization of `uri`'s origin (RFC 6454): scheme, host,
/// and the port only when it is not the scheme's default. The JWT's `aud`
/// must be exactly the push resource's origin.
pub fn origin(uri: &Uri) -> Option<String> {
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let host = uri.host()?.to_ascii_lowercase();
    let default = match scheme.as_str() {
        "https" => 443,
        "http" => 80,
        _ => 0,
    };
    Some(match uri.port_u16() {
        Some(p) if p != default => format!("{scheme}://{host}:{p}"),
        _ => format!("{scheme}://{host}"),
    })
}

/// Checks an operator's `--vapid-subject`: a `mailto:` or `https:` URL
/// (RFC 8292 §2.1), printable, short.
pub fn check_subject(s: &str) -> Result<(), String> {
    let ok_scheme = s.starts_with("mailto:") || s.starts_with("https://");
    if !ok_scheme || s.len() <= "mailto:".len() {
        return Err(format!("{s:?} is not a mailto: or https: URL"));
    }
    if s.len() > MAX_VAPID_SUBJECT_BYTES || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "{s:?}: at most {MAX_VAPID_SUBJECT_BYTES} bytes, no spaces"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Verifier as _;
    use p256::ecdsa::VerifyingKey;

    /// The header carries a JWT that verifies against the advertised key,
    /// with the endpoint's origin (port included) and an `exp` within 24 h.
    #[test]
    fn jwt_verifies_against_the_public_key() -> anyhow::Result<()> {
        let v = Vapid::from_secret(&Vapid::generate())?;
        let uri: Uri = "http://127.0.0.1:4567/push/abc?x=1".parse()?;
        let h = v.authorization(&uri, "mailto:ops@example.com", 1_000)?;
        let rest = h
            .strip_prefix("vapid t=")
            .ok_or(anyhow::anyhow!("scheme"))?;
        let (jwt, k) = rest.split_once(", k=").ok_or(anyhow::anyhow!("k="))?;
        assert_eq!(k, v.public_key());
        let (input, sig) = jwt.rsplit_once('.').ok_or(anyhow::anyhow!("sig"))?;
        let key = VerifyingKey::from_sec1_bytes(&B64.decode(k)?)?;
        key.verify(input.as_bytes(), &Signature::from_slice(&B64.decode(sig)?)?)?;
        let claims = input.split('.').nth(1).ok_or(anyhow::anyhow!("claims"))?;
        let claims: serde_json::Value = serde_json::from_slice(&B64.decode(claims)?)?;
        assert_eq!(claims["aud"], "http://127.0.0.1:4567");
        assert_eq!(claims["sub"], "mailto:ops@example.com");
        assert_eq!(claims["exp"], 1_000 + VAPID_JWT_VALIDITY_SECS);
        const { assert!(VAPID_JWT_VALIDITY_SECS <= 24 * 3600) };
        Ok(())
    }

    #[test]
    fn origins_drop_default_ports_only() -> anyhow::Result<()> {
        let o = |s: &str| origin(&s.parse::<Uri>().expect("uri"));
        assert_eq!(
            o("https://FCM.googleapis.com:443/fcm/send/x").as_deref(),
            Some("https://fcm.googleapis.com")
        );
        assert_eq!(
            o("https://push.example:8443/a").as_deref(),
            Some("https://push.example:8443")
        );
        assert_eq!(o("/relative"), None);
        Ok(())
    }

    #[test]
    fn subjects_are_mailto_or_https() {
        assert!(check_subject(DEFAULT_VAPID_SUBJECT).is_ok());
        assert!(check_subject("https://relay.example/contact").is_ok());
        assert!(check_subject("admin@example.com").is_err());
        assert!(check_subject("mailto:").is_err());
        assert!(check_subject("mailto:a b@example.com").is_err());
    }

    #[test]
    fn a_stored_secret_gives_the_same_public_key() -> anyhow::Result<()> {
        let secret = Vapid::generate();
        assert_eq!(
            Vapid::from_secret(&secret)?.public_key(),
            Vapid::from_secret(&secret)?.public_key()
        );
        assert_eq!(
            B64.decode(Vapid::from_secret(&secret)?.public_key())?.len(),
            65
        );
        assert!(Vapid::from_secret(&[0u8; 32]).is_err());
        Ok(())
    }
}
