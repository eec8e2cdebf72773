//! Random secrets handed to a client and kept by us only as a digest: a
//! browser session's cookie (the web door) and a program's API token
//! (`api_tokens`). One way to make them, to tell their shape, and to digest
//! them, so the two cannot drift apart.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use sha2::{Digest, Sha256};

/// `bytes` bytes from the operating system's random source, in base64url
/// without padding.
pub fn generate(bytes: usize) -> String {
    let mut random = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut random);
    URL_SAFE_NO_PAD.encode(random)
}

/// Whether `encoded` is base64url (without padding) of exactly `bytes`
/// bytes: the shape [`generate`] makes; anything else is no secret of ours.
pub fn has_shape(encoded: &str, bytes: usize) -> bool {
    URL_SAFE_NO_PAD
        .decode(encoded)
        .is_ok_and(|decoded| decoded.len() == bytes)
}

/// A secret's key in the database: SHA-256 of its text, in hex.
pub fn digest(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}
