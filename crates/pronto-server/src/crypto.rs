//! Secrets: the installation's key that seals channel secrets at rest (ChaCha20-Poly1305),
//! random tokens for sessions, CSRF and the API, and their SHA-256 hashes (only hashes are
//! stored).

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use sha2::{Digest, Sha256};
use std::fmt;

/// The 32-byte key that seals channel secrets. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey([u8; 32]);

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("the secret key must be 32 bytes in base64 (44 characters)")]
    BadKey,
    #[error("a sealed secret could not be opened: wrong key or damaged data")]
    Unseal,
}

/// Sealed data starts with this version byte, then the 12-byte nonce, then the ciphertext.
const SEALED_V1: u8 = 1;

impl SecretKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::fill(&mut bytes);
        Self(bytes)
    }

    /// Reads the key from base64 (standard alphabet, padded or not; surrounding whitespace ignored).
    pub fn from_base64(text: &str) -> Result<Self, CryptoError> {
        let text = text.trim().trim_end_matches('=');
        let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(text)
            .map_err(|_| CryptoError::BadKey)?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| CryptoError::BadKey)?;
        Ok(Self(bytes))
    }

    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    fn cipher(&self) -> ChaCha20Poly1305 {
        ChaCha20Poly1305::new_from_slice(&self.0).expect("a 32-byte key")
    }

    /// Encrypts `plaintext` under a fresh random nonce.
    pub fn seal(&self, plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; 12];
        rand::fill(&mut nonce);
        let ciphertext = self
            .cipher()
            .encrypt(&Nonce::from(nonce), plaintext)
            .expect("encryption in memory does not fail");
        let mut sealed = Vec::with_capacity(1 + 12 + ciphertext.len());
        sealed.push(SEALED_V1);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        sealed
    }

    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let [SEALED_V1, rest @ ..] = sealed else {
            return Err(CryptoError::Unseal);
        };
        if rest.len() < 12 {
            return Err(CryptoError::Unseal);
        }
        let (nonce, ciphertext) = rest.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| CryptoError::Unseal)?;
        self.cipher()
            .decrypt(&Nonce::from(nonce), ciphertext)
            .map_err(|_| CryptoError::Unseal)
    }
}

/// A new random token: 32 bytes, base64url without padding (43 characters).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The SHA-256 of a token: what the store keeps.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

pub fn base64_encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    STANDARD.decode(text).ok()
}

/// Compares two secrets in time independent of where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_with_their_key_only() {
        let key = SecretKey::generate();
        let sealed = key.seal(b"page token");
        assert!(!sealed.windows(10).any(|w| w == b"page token"));
        assert_eq!(key.open(&sealed).unwrap(), b"page token");
        assert_ne!(key.seal(b"page token"), sealed, "a fresh nonce each time");
        assert_eq!(
            SecretKey::generate().open(&sealed),
            Err(CryptoError::Unseal)
        );
        let mut damaged = sealed.clone();
        *damaged.last_mut().unwrap() ^= 1;
        assert_eq!(key.open(&damaged), Err(CryptoError::Unseal));
    }

    #[test]
    fn keys_read_from_base64_of_32_bytes() {
        let key = SecretKey::generate();
        assert_eq!(SecretKey::from_base64(&key.to_base64()).unwrap(), key);
        assert_eq!(
            SecretKey::from_base64(&format!(" {}\n", key.to_base64())).unwrap(),
            key
        );
        assert_eq!(SecretKey::from_base64("c2hvcnQ="), Err(CryptoError::BadKey));
        assert_eq!(
            SecretKey::from_base64("not base64!"),
            Err(CryptoError::BadKey)
        );
        assert_eq!(format!("{key:?}"), "SecretKey(<redacted>)");
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let (a, b) = (random_token(), random_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(token_hash(&a).len(), 32);
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
