//! A PIN reset link's secrets, made here for both doors that take a reset
//! request: a random nonce (which the mail carries), the link's token
//! derived from it with the server's key (which only the mail worker
//! makes again), and the token's digest (which the database keeps). The
//! token itself is never stored, logged or answered.

use crate::keys::Keys;
use crate::random_secret;

/// Random bytes of a reset mail's nonce.
const NONCE_BYTES: usize = 32;
/// Bytes of a link's token (HMAC-SHA-256 of the nonce).
const TOKEN_BYTES: usize = 32;

/// A new link's nonce and its token's digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLink {
    pub nonce: String,
    pub token_digest: String,
}

/// Made for every request, an account matched or not, so the work and
/// the answer are the same either way.
pub fn new_link(keys: &Keys) -> NewLink {
    let nonce = random_secret::generate(NONCE_BYTES);
    let token_digest = random_secret::digest(&keys.pin_reset_token(&nonce));
    NewLink {
        nonce,
        token_digest,
    }
}

/// The digest a presented link's `token` is kept under, or `None` when it
/// is not the shape of any token of ours (no link at all).
pub fn link_digest(token: &str) -> Option<String> {
    random_secret::has_shape(token, TOKEN_BYTES).then(|| random_secret::digest(token))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::keys::ServerSecret;

    #[test]
    fn a_link_is_found_by_the_digest_of_the_token_its_nonce_derives() {
        let keys = Keys::new(&ServerSecret::random(), Duration::from_secs(60));
        let link = new_link(&keys);
        let token = keys.pin_reset_token(&link.nonce);
        assert_eq!(link_digest(&token), Some(link.token_digest.clone()));
        assert_ne!(link.token_digest, token);
        assert_ne!(new_link(&keys), link, "every link is new");
        assert_eq!(link_digest("not-a-token"), None);
        assert_eq!(link_digest(&link.nonce[..20]), None);
    }
}
