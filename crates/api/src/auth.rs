//! Authentication: PIN hashing, tokens, login with throttling, and the
//! extractors that tell a handler who is calling.

use std::sync::LazyLock;
use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use chrono::Utc;
use domain::throttle::{BAD_CREDENTIALS, admit_login};
use domain::{Actor, Pin, User, UserId, Username};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::config::JwtSecret;
use crate::error::ApiError;
use crate::state::{AppState, run_blocking};

const BAD_TOKEN: &str = "missing, invalid or expired token";

/// Hashes a PIN with Argon2id at OWASP's recommended parameters
/// (19 MiB, 2 passes, 1 lane: the crate's defaults) and a random salt.
pub fn hash_pin(pin: &Pin) -> Result<String, ApiError> {
    Argon2::default()
        .hash_password(pin.expose().as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| ApiError::Internal(format!("hashing a pin: {e}")))
}

/// Whether `pin` matches the stored PHC string.
pub fn verify_pin(pin: &Pin, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(pin.expose().as_bytes(), &hash)
            .is_ok()
    })
}

/// A hash no PIN is checked against except for unknown usernames, so that
/// an unknown name costs the same Argon2 work as a wrong PIN.
static DUMMY_HASH: LazyLock<Result<String, String>> = LazyLock::new(|| {
    let pin = Pin::parse("000000000000").map_err(|e| e.to_string())?;
    hash_pin(&pin).map_err(|e| e.to_string())
});

/// The dummy hash; the server computes it at start-up and refuses to start
/// without it, so unknown usernames never skip the Argon2 work.
pub fn dummy_hash() -> Result<&'static str, ApiError> {
    DUMMY_HASH
        .as_deref()
        .map_err(|e| ApiError::Internal(format!("dummy hash: {e}")))
}

/// Claims of our JWT: the user id as `sub`, the role at issue time (for
/// clients; the server reads the role from the database), `iat`, `exp`.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    role: domain::Role,
    iat: i64,
    exp: i64,
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

    pub fn issue(&self, user: &User) -> Result<String, ApiError> {
        let now = Utc::now().timestamp();
        let lifetime = i64::try_from(self.lifetime.as_secs()).unwrap_or(i64::MAX);
        let claims = Claims {
            sub: user.id.to_string(),
            role: user.role,
            iat: now,
            exp: now.saturating_add(lifetime),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| ApiError::Internal(format!("signing a token: {e}")))
    }

    /// The user id a valid, unexpired token was issued to.
    fn verify(&self, token: &str) -> Result<UserId, ApiError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map_err(|_| ApiError::Unauthorized(BAD_TOKEN))?;
        data.claims
            .sub
            .parse()
            .map(UserId)
            .map_err(|_| ApiError::Unauthorized(BAD_TOKEN))
    }
}

/// Checks a username and PIN, with throttling; returns the user and a token.
///
/// A locked username answers 429 before any hashing; otherwise the attempt
/// is counted before the PIN is checked, so parallel guesses cannot outrun
/// the lock. An unknown username, a wrong PIN and a deactivated account
/// answer the same 401, after the same Argon2 work.
pub async fn login(
    state: &AppState,
    username: Username,
    pin: Pin,
) -> Result<(User, String), ApiError> {
    let found = state
        .blocking(move |store| store.find_login(&username))
        .await?;
    if let Some(candidate) = &found {
        let (id, now) = (candidate.user.id, store::now());
        state
            .blocking(move |store| store.claim_login_attempt(id, now))
            .await?;
    }
    let stored_hash = found.as_ref().map(|c| c.pin_hash.clone());
    let pin_matches = run_blocking(move || {
        let hash = match stored_hash {
            Some(hash) => hash,
            None => dummy_hash()?.to_owned(),
        };
        Ok(verify_pin(&pin, &hash))
    })
    .await?;
    let Some(candidate) = found else {
        return Err(ApiError::Unauthorized(BAD_CREDENTIALS));
    };
    admit_login(pin_matches, candidate.user.active)?;
    let id = candidate.user.id;
    state
        .blocking(move |store| store.record_login_success(id))
        .await?;
    let token = state.tokens.issue(&candidate.user)?;
    Ok((candidate.user, token))
}

/// The caller, authenticated: its token is valid and its account exists and
/// is active. The role is the one in the database now, not in the token.
#[derive(Debug, Clone, Copy)]
pub struct Caller(pub Actor);

/// The caller if a token was sent, `None` if none was. A token that was
/// sent but does not hold is still a 401.
#[derive(Debug, Clone, Copy)]
pub struct MaybeCaller(pub Option<Actor>);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match MaybeCaller::from_request_parts(parts, state).await? {
            MaybeCaller(Some(actor)) => Ok(Caller(actor)),
            MaybeCaller(None) => Err(ApiError::Unauthorized(BAD_TOKEN)),
        }
    }
}

impl FromRequestParts<AppState> for MaybeCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(header) = parts.headers.get(AUTHORIZATION) else {
            return Ok(MaybeCaller(None));
        };
        let token = header
            .to_str()
            .ok()
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or(ApiError::Unauthorized(BAD_TOKEN))?;
        let user_id = state.tokens.verify(token)?;
        let user = state.blocking(move |store| store.get_user(user_id)).await?;
        match user {
            Some(user) if user.active => Ok(MaybeCaller(Some(Actor {
                id: user.id,
                role: user.role,
            }))),
            _ => Err(ApiError::Unauthorized(BAD_TOKEN)),
        }
    }
}
