//! Every key the server derives from its one secret, each derived once:
//! the HS256 tokens a login hands out, the device cookies that mark a
//! client as one that logged in before, the seals of list cursors, and the
//! web forms' CSRF tokens. Each is a key of its own, so none can pass for
//! another.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use domain::login::BAD_TOKEN;
use domain::{CursorKey, LoggedIn, NotificationKind, Refusal, SessionEpoch, TicketId, UserId};
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::problem::Problem;

/// The secret the keys are derived from (`JWT_SECRET`); never printed.
#[derive(Clone)]
pub struct ServerSecret(Vec<u8>);

/// The shortest secret accepted: HS256 wants a key at least as long as its
/// 256-bit hash, or tokens can be forged by guessing the key.
pub const SECRET_MIN_BYTES: usize = 32;

impl ServerSecret {
    /// A secret of at least [`SECRET_MIN_BYTES`] bytes; the error names
    /// `JWT_SECRET`, where it comes from.
    pub fn new(bytes: impl Into<Vec<u8>>) -> anyhow::Result<Self> {
        let bytes = bytes.into();
        if bytes.len() < SECRET_MIN_BYTES {
            anyhow::bail!(
                "JWT_SECRET is {} bytes long; it must be at least {SECRET_MIN_BYTES} (for example `openssl rand -hex 32`)",
                bytes.len()
            );
        }
        Ok(Self(bytes))
    }

    /// A fresh random secret: what it signs dies with the process.
    pub fn random() -> Self {
        let mut bytes = vec![0u8; SECRET_MIN_BYTES];
        rand::rng().fill_bytes(&mut bytes);
        Self(bytes)
    }

    fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for ServerSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerSecret(<redacted>)")
    }
}

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

/// Claims of a one-click unsubscribe link: the account and the kind of
/// notification it turns off.
#[derive(Debug, Serialize, Deserialize)]
struct UnsubscribeClaims {
    sub: String,
    kind: NotificationKind,
    exp: i64,
}

/// How long a mail's unsubscribe link works.
pub const UNSUBSCRIBE_LIFETIME: Duration = Duration::from_secs(90 * 24 * 60 * 60);

/// How long a device stays known after its last successful login.
pub const DEVICE_LIFETIME: Duration = Duration::from_secs(180 * 24 * 60 * 60);

/// A pair of HS256 keys from one secret.
struct Signing {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl Signing {
    fn new(secret: &[u8]) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        }
    }

    fn sign(&self, claims: &impl Serialize) -> Result<String, Problem> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(Problem::internal)
    }

    /// The claims of a value we signed that has not expired.
    fn open<C: for<'de> Deserialize<'de>>(&self, value: &str) -> Option<C> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        jsonwebtoken::decode::<C>(value, &self.decoding, &validation)
            .ok()
            .map(|data| data.claims)
    }
}

/// The server's keys, and how long what a login opens (a token, a browser
/// session) lasts.
pub struct Keys {
    /// Seals and opens list cursors, for every door.
    pub cursors: CursorKey,
    /// Derives the web forms' CSRF tokens.
    pub csrf: CsrfKey,
    tokens: Signing,
    devices: Signing,
    unsubscribe: Signing,
    /// Derives a PIN reset link's token from the nonce its mail carries.
    pin_resets: HmacSha256,
    /// Tags a ticket's reply address.
    reply_addresses: HmacSha256,
    session_lifetime: Duration,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("session_lifetime", &self.session_lifetime)
            .finish_non_exhaustive()
    }
}

impl Keys {
    pub fn new(secret: &ServerSecret, session_lifetime: Duration) -> Self {
        let device_key = [secret.expose(), b"/device-cookie"].concat();
        let unsubscribe_key = [secret.expose(), b"/unsubscribe-link"].concat();
        let pin_reset_key = [secret.expose(), b"/pin-reset-link"].concat();
        let reply_address_key = [secret.expose(), b"/reply-address"].concat();
        Self {
            cursors: CursorKey::derive(secret.expose()),
            csrf: CsrfKey::derive(secret.expose()),
            tokens: Signing::new(secret.expose()),
            devices: Signing::new(&device_key),
            unsubscribe: Signing::new(&unsubscribe_key),
            pin_resets: HmacSha256::new_from_slice(&pin_reset_key).expect("HMAC takes any key"),
            reply_addresses: HmacSha256::new_from_slice(&reply_address_key)
                .expect("HMAC takes any key"),
            session_lifetime,
        }
    }

    /// How long a token, or a browser session, lasts.
    pub fn session_lifetime(&self) -> Duration {
        self.session_lifetime
    }

    /// A bearer token for a PIN just proven.
    pub fn issue(&self, session: &LoggedIn) -> Result<String, Problem> {
        let user = &session.user;
        let now = Utc::now().timestamp();
        let lifetime = i64::try_from(self.session_lifetime.as_secs()).unwrap_or(i64::MAX);
        self.tokens.sign(&Claims {
            sub: user.id.to_string(),
            role: user.role,
            iat: now,
            exp: now.saturating_add(lifetime),
            sev: session.epoch.0,
        })
    }

    /// The user id a valid, unexpired token of ours was issued to, and the
    /// session generation it belongs to; whether that account and generation
    /// still hold is the store's to say.
    pub fn verify(&self, token: &str) -> Result<(UserId, SessionEpoch), Refusal> {
        let bad_token = Refusal::Unauthenticated(BAD_TOKEN);
        let claims: Claims = self.tokens.open(token).ok_or_else(|| bad_token.clone())?;
        let subject = claims.sub.parse().map(UserId).map_err(|_| bad_token)?;
        Ok((subject, SessionEpoch(claims.sev)))
    }

    /// The value of a device cookie for `user`, who just logged in.
    pub fn issue_device(&self, user: UserId) -> Result<String, Problem> {
        let now = Utc::now().timestamp();
        let lifetime = i64::try_from(DEVICE_LIFETIME.as_secs()).unwrap_or(i64::MAX);
        self.devices.sign(&DeviceClaims {
            sub: user.to_string(),
            iat: now,
            exp: now.saturating_add(lifetime),
        })
    }

    /// The account a device cookie was issued to, if it is ours and
    /// unexpired; anything else is no device cookie at all.
    pub fn verify_device(&self, value: &str) -> Option<UserId> {
        let claims: DeviceClaims = self.devices.open(value)?;
        claims.sub.parse().map(UserId).ok()
    }

    /// The token of a one-click link that turns `kind` off for `user`,
    /// valid for [`UNSUBSCRIBE_LIFETIME`]: no sign-in is needed to use it.
    pub fn unsubscribe_token(
        &self,
        user: UserId,
        kind: NotificationKind,
    ) -> Result<String, Problem> {
        let lifetime = i64::try_from(UNSUBSCRIBE_LIFETIME.as_secs()).unwrap_or(i64::MAX);
        self.unsubscribe.sign(&UnsubscribeClaims {
            sub: user.to_string(),
            kind,
            exp: Utc::now().timestamp().saturating_add(lifetime),
        })
    }

    /// The account and kind an unexpired unsubscribe token of ours names;
    /// anything else (forged, expired, another key's) is `None`.
    pub fn read_unsubscribe_token(&self, token: &str) -> Option<(UserId, NotificationKind)> {
        let claims: UnsubscribeClaims = self.unsubscribe.open(token)?;
        Some((claims.sub.parse().map(UserId).ok()?, claims.kind))
    }

    /// The token of a PIN reset link, derived from the `nonce` its mail
    /// carries: the database holds the nonce (in the queued mail) and the
    /// token's digest, never the token, and neither makes one without the
    /// server's secret.
    pub fn pin_reset_token(&self, nonce: &str) -> String {
        let mut mac = self.pin_resets.clone();
        mac.update(nonce.as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// The tag of ticket `ticket`'s reply address (`support+<id>.<tag>@`):
    /// 16 lower-case hex digits of an HMAC of the id, so an address cannot
    /// be made for another ticket. Lower case, as some mail servers fold
    /// the local part's case.
    pub fn reply_address_tag(&self, ticket: TicketId) -> String {
        let mut mac = self.reply_addresses.clone();
        mac.update(ticket.0.to_string().as_bytes());
        mac.finalize().into_bytes()[..8]
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }
}

type HmacSha256 = Hmac<Sha256>;

/// Derives the CSRF tokens of browser sessions: HMAC-SHA-256 of a
/// session's secret under a key of its own, so every process that shares
/// the server's secret accepts the others' forms and no token can be made
/// without it.
#[derive(Clone)]
pub struct CsrfKey(HmacSha256);

impl std::fmt::Debug for CsrfKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CsrfKey(..)")
    }
}

impl CsrfKey {
    pub fn derive(server_secret: &[u8]) -> Self {
        let mut derive = HmacSha256::new_from_slice(server_secret).expect("HMAC takes any key");
        derive.update(b"tracker/web/csrf");
        let key = derive.finalize().into_bytes();
        Self(HmacSha256::new_from_slice(&key).expect("HMAC takes any key"))
    }

    /// The token the forms of the session with `session_secret` carry.
    pub fn token(&self, session_secret: &str) -> String {
        let mut mac = self.0.clone();
        mac.update(session_secret.as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// Whether `sent` is the token of the session, compared in constant time.
    pub fn verify(&self, session_secret: &str, sent: &str) -> bool {
        let Ok(sent) = URL_SAFE_NO_PAD.decode(sent) else {
            return false;
        };
        let mut mac = self.0.clone();
        mac.update(session_secret.as_bytes());
        mac.verify_slice(&sent).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::{Role, User};
    use proptest::prelude::*;

    fn keys(secret: &str) -> Keys {
        Keys::new(
            &ServerSecret::new(secret).expect("long enough"),
            Duration::from_secs(60),
        )
    }

    const SECRET: &str = "a-secret-of-at-least-thirty-two-bytes";

    fn logged_in() -> LoggedIn {
        LoggedIn {
            user: User {
                id: UserId(7),
                username: "kayode".to_owned(),
                role: Role::Customer,
                active: true,
                email: None,
                created_at: Utc::now(),
                updated_at: Utc::now(),
            },
            epoch: SessionEpoch(3),
        }
    }

    #[test]
    fn a_token_names_its_user_and_generation_to_its_keys_only() {
        let token = keys(SECRET).issue(&logged_in()).expect("signed");
        assert_eq!(
            keys(SECRET).verify(&token),
            Ok((UserId(7), SessionEpoch(3)))
        );
        let other = keys("another-secret-of-at-least-32-bytes!");
        assert!(other.verify(&token).is_err());
        assert!(keys(SECRET).verify("not.a.token").is_err());
    }

    #[test]
    fn a_device_cookie_is_no_token_and_a_token_no_device_cookie() {
        let keys = keys(SECRET);
        let device = keys.issue_device(UserId(7)).expect("signed");
        assert_eq!(keys.verify_device(&device), Some(UserId(7)));
        assert!(keys.verify(&device).is_err());
        let token = keys.issue(&logged_in()).expect("signed");
        assert_eq!(keys.verify_device(&token), None);
    }

    #[test]
    fn an_unsubscribe_link_names_its_account_and_kind_to_its_key_only() {
        let keys = keys(SECRET);
        let link = keys
            .unsubscribe_token(UserId(7), NotificationKind::StatusChanged)
            .expect("signed");
        assert_eq!(
            keys.read_unsubscribe_token(&link),
            Some((UserId(7), NotificationKind::StatusChanged))
        );
        // Not a sign-in token or a device cookie, and no other server's.
        assert!(keys.verify(&link).is_err());
        assert_eq!(keys.verify_device(&link), None);
        let other = super::tests::keys("another-secret-of-at-least-thirty-two-bytes");
        assert_eq!(other.read_unsubscribe_token(&link), None);
        let device = keys.issue_device(UserId(7)).expect("signed");
        assert_eq!(keys.read_unsubscribe_token(&device), None);
        let mut forged = link.clone();
        forged.push('x');
        assert_eq!(keys.read_unsubscribe_token(&forged), None);
    }

    #[test]
    fn a_pin_reset_token_is_derived_from_its_nonce_and_the_secret() {
        let keys = keys(SECRET);
        let token = keys.pin_reset_token("nonce-1");
        assert_eq!(
            token,
            keys.pin_reset_token("nonce-1"),
            "the worker makes it again"
        );
        assert_ne!(token, keys.pin_reset_token("nonce-2"));
        assert_ne!(
            token,
            super::tests::keys("another-secret-of-at-least-thirty-two-bytes")
                .pin_reset_token("nonce-1")
        );
        assert!(crate::random_secret::has_shape(&token, 32), "{token}");
    }

    #[test]
    fn a_short_secret_is_refused_and_no_secret_prints() {
        let error = ServerSecret::new("hunter2").expect_err("too short");
        assert!(error.to_string().contains("JWT_SECRET"), "{error}");
        assert!(!error.to_string().contains("hunter2"));
        let secret = ServerSecret::new(SECRET).expect("long enough");
        assert!(!format!("{secret:?}").contains(SECRET));
    }

    #[test]
    fn a_csrf_token_holds_for_its_session_and_key_only() {
        let key = CsrfKey::derive(b"server secret");
        let token = key.token("session one");
        assert!(key.verify("session one", &token));
        assert!(!key.verify("session two", &token));
        assert!(!CsrfKey::derive(b"another secret").verify("session one", &token));
        assert!(CsrfKey::derive(b"server secret").verify("session one", &token));
        assert!(!key.verify("session one", ""));
        assert!(!key.verify("session one", &token[..token.len() - 1]));
    }

    proptest! {
        #[test]
        fn no_changed_csrf_token_holds(index in 0usize..43, replacement in "[A-Za-z0-9_-]") {
            let key = CsrfKey::derive(b"server secret");
            let token = key.token("a session");
            let mut forged: Vec<char> = token.chars().collect();
            let index = index % forged.len();
            let new = replacement.chars().next().expect("one char");
            prop_assume!(forged[index] != new);
            forged[index] = new;
            let forged: String = forged.into_iter().collect();
            prop_assert!(!key.verify("a session", &forged));
        }
    }
}
