//! The text of a program's API token: `trk_` and 32 random bytes in
//! base64url, made here for both doors that hand one out, and its SHA-256,
//! the only form the database keeps.

use crate::random_secret;

/// What every API token starts with, so a program (and a secret scanner)
/// tells one apart from a session's JWT.
pub const TOKEN_PREFIX: &str = "trk_";
/// Random bytes in a token.
const TOKEN_BYTES: usize = 32;

/// An API token as its holder sends it; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiTokenSecret(String);

impl std::fmt::Debug for ApiTokenSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiTokenSecret(..)")
    }
}

impl ApiTokenSecret {
    /// A new token from the operating system's random source.
    pub fn generate() -> Self {
        Self(format!(
            "{TOKEN_PREFIX}{}",
            random_secret::generate(TOKEN_BYTES)
        ))
    }

    /// Whether a bearer credential claims to be an API token (and so is
    /// not a JWT): it starts with [`TOKEN_PREFIX`].
    pub fn is_claimed_by(credential: &str) -> bool {
        credential.starts_with(TOKEN_PREFIX)
    }

    /// The token `credential` holds, if it has the shape of one of ours;
    /// anything else opens nothing (and costs no query).
    pub fn parse(credential: &str) -> Option<Self> {
        let encoded = credential.strip_prefix(TOKEN_PREFIX)?;
        random_secret::has_shape(encoded, TOKEN_BYTES).then(|| Self(credential.to_owned()))
    }

    /// The token itself, for the one answer that shows it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The token's key in the database: SHA-256 of its text, in hex.
    pub fn digest(&self) -> String {
        random_secret::digest(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_the_prefix_and_32_bytes_of_base64url() {
        let token = ApiTokenSecret::generate();
        let text = token.expose();
        assert!(text.starts_with("trk_"));
        assert_eq!(text.len(), 4 + 43);
        assert!(
            text[4..]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_eq!(ApiTokenSecret::parse(text), Some(token.clone()));
        assert_ne!(ApiTokenSecret::generate(), token);
    }

    #[test]
    fn only_our_shape_parses() {
        let token = ApiTokenSecret::generate();
        let text = token.expose();
        assert_eq!(ApiTokenSecret::parse(&text[4..]), None);
        assert_eq!(ApiTokenSecret::parse(&text[..text.len() - 1]), None);
        assert_eq!(ApiTokenSecret::parse(&format!("{text}A")), None);
        assert_eq!(ApiTokenSecret::parse("trk_"), None);
        assert_eq!(ApiTokenSecret::parse("trk_!!!!"), None);
    }

    #[test]
    fn the_database_key_is_a_digest_not_the_token() {
        let token = ApiTokenSecret::generate();
        let digest = token.digest();
        assert_eq!(digest.len(), 64);
        assert!(!digest.contains(&token.expose()[4..]));
        assert_eq!(digest, token.digest());
        assert!(!format!("{token:?}").contains(&token.expose()[4..]));
    }
}
