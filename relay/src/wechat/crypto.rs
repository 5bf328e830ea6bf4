//! WeChat's message signatures and safe mode's encryption (公众号
//! 消息加解密), as the Official Account documentation specifies them:
//!
//! - `signature = hex(sha1(sort([token, timestamp, nonce]).join("")))`
//!   on every request; `msg_signature` adds the `Encrypt` field to the
//!   sorted list.
//! - AES-256-CBC with key = Base64Decode(EncodingAESKey + "=") and IV =
//!   the key's first 16 bytes; the ciphertext (base64 in `Encrypt`) is
//!   PKCS#7-padded to 32-byte blocks; the plaintext is 16 random bytes ‖
//!   a 4-byte big-endian length ‖ the XML ‖ the AppID.

use aes::cipher::{block_padding::NoPadding, BlockDecryptMut, KeyIvInit};
use base64::Engine as _;
use sha1::{Digest, Sha1};

/// Why an encrypted push was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("Encrypt is not base64")]
    Base64,
    #[error("Encrypt is not whole 32-byte blocks")]
    Blocks,
    #[error("the decrypted message's padding is wrong")]
    Padding,
    #[error("the decrypted message's length field is wrong")]
    Length,
    #[error("the decrypted message is not UTF-8")]
    Utf8,
    #[error("the decrypted message is for another AppID")]
    AppId,
}

/// WeChat's keys leave base64's trailing bits unset only by chance: a
/// decoder that insists on canonical encodings refuses real keys.
const LENIENT: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
);

/// The block size WeChat pads to (its PKCS#7 variant uses 32, not AES's 16).
const PAD_BLOCK: usize = 32;

/// `hex(sha1(sorted parts joined))`: `signature` over (token, timestamp,
/// nonce), `msg_signature` with `Encrypt` as a fourth part.
pub fn signature(parts: &[&str]) -> String {
    let mut sorted = parts.to_vec();
    sorted.sort_unstable();
    let mut h = Sha1::new();
    for p in sorted {
        h.update(p.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Whether `given` is the signature of `parts` (compared in constant time).
pub fn verify(given: &str, parts: &[&str]) -> bool {
    crate::auth::same_hex(&signature(parts), given.trim())
}

/// The AES key of an EncodingAESKey (43 characters → 32 bytes).
pub fn aes_key(encoding_aes_key: &str) -> Option<[u8; 32]> {
    let bytes = LENIENT
        .decode(format!("{}=", encoding_aes_key.trim()))
        .ok()?;
    bytes.try_into().ok()
}

/// The XML inside `Encrypt`, checked to be for `app_id`.
pub fn decrypt(key: &[u8; 32], encrypt: &str, app_id: &str) -> Result<String, CryptoError> {
    let mut buf = base64::engine::general_purpose::STANDARD
        .decode(encrypt.trim())
        .map_err(|_| CryptoError::Base64)?;
    if buf.is_empty() || buf.len() % PAD_BLOCK != 0 {
        return Err(CryptoError::Blocks);
    }
    let iv: [u8; 16] = key[..16].try_into().map_err(|_| CryptoError::Blocks)?;
    let plain = cbc::Decryptor::<aes::Aes256>::new(key.into(), &iv.into())
        .decrypt_padded_mut::<NoPadding>(&mut buf)
        .map_err(|_| CryptoError::Blocks)?;
    let pad = usize::from(*plain.last().ok_or(CryptoError::Padding)?);
    if pad == 0 || pad > PAD_BLOCK || pad > plain.len() {
        return Err(CryptoError::Padding);
    }
    let body = &plain[..plain.len() - pad];
    if plain[plain.len() - pad..]
        .iter()
        .any(|&b| usize::from(b) != pad)
    {
        return Err(CryptoError::Padding);
    }
    // 16 random bytes, then the XML's length.
    let rest = body.get(16..).ok_or(CryptoError::Length)?;
    let len_bytes: [u8; 4] = rest
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .ok_or(CryptoError::Length)?;
    let len = u32::from_be_bytes(len_bytes) as usize;
    let rest = &rest[4..];
    if len > rest.len() {
        return Err(CryptoError::Length);
    }
    let (xml, id) = rest.split_at(len);
    if id != app_id.as_bytes() {
        return Err(CryptoError::AppId);
    }
    String::from_utf8(xml.to_vec()).map_err(|_| CryptoError::Utf8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aes::cipher::BlockEncryptMut;

    /// The documentation's example key (43 characters).
    const KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

    fn encrypt(key: &[u8; 32], xml: &str, app_id: &str) -> String {
        let mut plain = b"0123456789abcdef".to_vec();
        plain.extend_from_slice(&(xml.len() as u32).to_be_bytes());
        plain.extend_from_slice(xml.as_bytes());
        plain.extend_from_slice(app_id.as_bytes());
        let pad = PAD_BLOCK - plain.len() % PAD_BLOCK;
        plain.extend(std::iter::repeat_n(pad as u8, pad));
        let n = plain.len();
        let iv: [u8; 16] = key[..16].try_into().expect("16");
        cbc::Encryptor::<aes::Aes256>::new(key.into(), &iv.into())
            .encrypt_padded_mut::<NoPadding>(&mut plain, n)
            .expect("whole blocks");
        base64::engine::general_purpose::STANDARD.encode(plain)
    }

    #[test]
    fn signatures_sort_their_parts() {
        // sha1("1234567890abcnoncetoken") — the parts sorted byte-wise.
        let s = signature(&["token", "1234567890", "abcnonce"]);
        assert_eq!(s, signature(&["abcnonce", "token", "1234567890"]));
        assert_eq!(s.len(), 40);
        assert!(verify(
            &s.to_uppercase(),
            &["1234567890", "abcnonce", "token"]
        ));
        assert!(!verify(&s, &["1234567891", "abcnonce", "token"]));
        assert!(!verify("", &["a"]));
    }

    #[test]
    fn decrypts_what_the_spec_encrypts_and_checks_the_app_id() {
        let key = aes_key(KEY).expect("a 43-character key");
        let xml = "<xml><Content><![CDATA[你好]]></Content></xml>";
        let enc = encrypt(&key, xml, "wx5823bf96d3bd56c7");
        assert_eq!(
            decrypt(&key, &enc, "wx5823bf96d3bd56c7").as_deref(),
            Ok(xml)
        );
        assert_eq!(
            decrypt(&key, &enc, "wx0000000000000000"),
            Err(CryptoError::AppId)
        );
        assert_eq!(decrypt(&key, "not base64!", "x"), Err(CryptoError::Base64));
        assert_eq!(decrypt(&key, "AAAA", "x"), Err(CryptoError::Blocks));
        let other = aes_key("Abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG").expect("key");
        assert!(decrypt(&other, &enc, "wx5823bf96d3bd56c7").is_err());
        assert!(aes_key("short").is_none());
    }
}
