//! Signing and checking the HS256 tokens that log-in hands out.

use std::time::Duration;

use chrono::Utc;
use domain::login::BAD_TOKEN;
use domain::{CursorKey, LoggedIn, Refusal, SessionEpoch, UserId};
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

/// Claims of a device cookie: the account it logged in to, and when.
#[derive(Debug, Serialize, Deserialize)]
struct DeviceClaims {
    sub: String,
    iat: i64,
    exp: i64,
}

/// How long a device stays known after its last successful login.
pub const DEVICE_LIFETIME: Duration = Duration::from_secs(180 * 24 * 60 * 60);

/// Issues and checks HS256 tokens, and the device cookies' values. Those
/// are signed with a key of their own (derived from the same secret), so
/// neither can ever pass for the other; so are list cursors.
pub struct Tokens {
    /// Seals and opens list cursors.
    pub cursors: CursorKey,
    /// The web pages' keys (their cursors are these same cursors) and
    /// session lifetime, which is a token's.
    pub web: web::WebConfig,
    encoding: EncodingKey,
    decoding: DecodingKey,
    device_encoding: EncodingKey,
    device_decoding: DecodingKey,
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
        let device_key = [secret.expose(), b"/device-cookie"].concat();
        Self {
            cursors: CursorKey::derive(secret.expose()),
            web: web::WebConfig::new(secret.expose(), lifetime, None),
            encoding: EncodingKey::from_secret(secret.expose()),
            decoding: DecodingKey::from_secret(secret.expose()),
            device_encoding: EncodingKey::from_secret(&device_key),
            device_decoding: DecodingKey::from_secret(&device_key),
            lifetime,
        }
    }

    /// The value of a device cookie for `user`, who just logged in.
    pub fn issue_device(&self, user: UserId) -> Result<String, ApiError> {
        let now = Utc::now().timestamp();
        let lifetime = i64::try_from(DEVICE_LIFETIME.as_secs()).unwrap_or(i64::MAX);
        let claims = DeviceClaims {
            sub: user.to_string(),
            iat: now,
            exp: now.saturating_add(lifetime),
        };
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.device_encoding,
        )
        .map_err(ApiError::internal)
    }

    /// The account a device cookie was issued to, if it is ours and
    /// unexpired; anything else is no device cookie at all.
    pub fn verify_device(&self, value: &str) -> Option<UserId> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        let data =
            jsonwebtoken::decode::<DeviceClaims>(value, &self.device_decoding, &validation).ok()?;
        data.claims.sub.parse().map(UserId).ok()
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
