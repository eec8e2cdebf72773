//! Signing and checking the HS256 tokens that log-in hands out.

use std::time::Duration;

use chrono::Utc;
use domain::login::BAD_TOKEN;
use domain::{LoggedIn, Refusal, SessionEpoch, UserId};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::config::JwtSecret;
use crate::error::ApiError;

/// Claims of our JWT: the user id as `sub`, the role at issue time (for
/// clients; the server reads the role from the database), `iat`, `exp`,
/// and the account's session generation (`sev`) it was issued in.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    role: domain::Role,
    iat: i64,
    exp: i64,
    /// Absent in tokens issued before generations existed: the first one.
    #[serde(default)]
    sev: i64,
}

/// Issues and checks HS256 tokens.
pub struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    lifetime: Duration,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}

impl Tokens {
    pub fn new(secret: &JwtSecret, lifetime: Duration) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret.expose()),
            decoding: DecodingKey::from_secret(secret.expose()),
            lifetime,
        }
    }

    pub fn issue(&self, session: &LoggedIn) -> Result<String, ApiError> {
        let user = &session.user;
        let now = Utc::now().timestamp();
        let lifetime = i64::try_from(self.lifetime.as_secs()).unwrap_or(i64::MAX);
        let claims = Claims {
            sub: user.id.to_string(),
            role: user.role,
            iat: now,
            exp: now.saturating_add(lifetime),
            sev: session.epoch.0,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(ApiError::internal)
    }

    /// The user id a valid, unexpired token of ours was issued to, and the
    /// session generation it belongs to; whether that account and generation
    /// still hold is the store's to say.
    pub fn verify(&self, token: &str) -> Result<(UserId, SessionEpoch), Refusal> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        let bad_token = Refusal::Unauthenticated(BAD_TOKEN);
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map_err(|_| bad_token.clone())?;
        let subject = data.claims.sub.parse().map(UserId).map_err(|_| bad_token)?;
        Ok((subject, SessionEpoch(data.claims.sev)))
    }
}
