//! PIN hashing: Argon2id at OWASP's recommended parameters (19 MiB, 2
//! passes, 1 lane: the crate's defaults) with a random salt. Every hash and
//! every check of a PIN goes through here.

use std::sync::LazyLock;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use domain::Pin;

/// Hashing a PIN failed (the salt source, or Argon2 itself).
#[derive(Debug, Clone, thiserror::Error)]
#[error("hashing a pin failed")]
pub struct PinHashError(#[source] argon2::password_hash::Error);

/// A PIN's Argon2id hash as a PHC string; the only form a PIN is stored in.
pub(crate) fn hash_pin(pin: &Pin) -> Result<String, PinHashError> {
    Argon2::default()
        .hash_password(pin.expose().as_bytes())
        .map(|hash| hash.to_string())
        .map_err(PinHashError)
}

/// Whether `pin` matches the stored PHC string; for an unknown account,
/// `None` checks against [`dummy_hash`] so that it costs the same work.
pub(crate) fn verify_pin(pin: &Pin, stored: Option<&str>) -> Result<bool, PinHashError> {
    let hash = match stored {
        Some(hash) => hash,
        None => dummy_hash()?,
    };
    let matches = PasswordHash::new(hash).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(pin.expose().as_bytes(), &hash)
            .is_ok()
    });
    Ok(matches && stored.is_some())
}

/// A hash no PIN is checked against except for unknown usernames, so that
/// an unknown name costs the same Argon2 work as a wrong PIN.
static DUMMY_HASH: LazyLock<Result<String, PinHashError>> = LazyLock::new(|| {
    let pin = Pin::parse("000000000000").unwrap_or_else(|_| unreachable!("twelve digits"));
    hash_pin(&pin)
});

/// The dummy hash; [`crate::Store::connect`] computes it, so a store that
/// could not make one never starts and unknown usernames never skip the work.
pub(crate) fn dummy_hash() -> Result<&'static str, PinHashError> {
    DUMMY_HASH.as_deref().map_err(Clone::clone)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_own_pin_and_no_other() {
        let pin = Pin::parse("0000").expect("valid");
        let other = Pin::parse("0001").expect("valid");
        let hash = hash_pin(&pin).expect("hash");
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(!hash.contains("0000"));
        assert_eq!(verify_pin(&pin, Some(&hash)).ok(), Some(true));
        assert_eq!(verify_pin(&other, Some(&hash)).ok(), Some(false));
        assert_eq!(verify_pin(&pin, Some("not a hash")).ok(), Some(false));
    }

    #[test]
    fn an_unknown_account_matches_no_pin() {
        for pin in ["0000", "000000000000"] {
            let pin = Pin::parse(pin).expect("valid");
            assert_eq!(verify_pin(&pin, None).ok(), Some(false));
        }
    }
}
