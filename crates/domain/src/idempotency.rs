//! Idempotent creation (the IETF `Idempotency-Key` header): what a key is,
//! whose it is, and what a request that brings a key already seen gets:
//! the first answer again, a refusal, or the key to use afresh.
//!
//! A key is kept with the request's fingerprint (the SHA-256 of its body)
//! and, once answered, the answer, for [`KEY_LIFETIME`]. While the first
//! request with a key is still being answered its key is "in flight"; one
//! in flight for longer than a request may take was abandoned (its change
//! never committed: the answer is recorded in the change's own
//! transaction).

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use sha2::{Digest, Sha256};

use crate::ids::UserId;
use crate::refusal::Refusal;
use crate::values::ValidationError;

/// How long a key and its answer are kept.
pub const KEY_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

/// The longest key: 255 characters.
pub const KEY_MAX_CHARS: usize = 255;

/// The words of a key reused for another request.
pub const KEY_REUSED: &str = "this Idempotency-Key was used for a request with another body; use a new key for a new request";

/// The words of a key whose first request is still being answered.
pub const KEY_IN_FLIGHT: &str =
    "a request with this Idempotency-Key is still being answered; retry shortly";

/// The words when a request's hold on its key was taken over (it ran past
/// the request time limit and a retry took the key): its change is undone.
pub const KEY_TAKEN_OVER: &str =
    "this request took too long and a retry with the same Idempotency-Key took its place";

/// An `Idempotency-Key`: 1 to 255 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let visible = raw.bytes().all(|byte| byte.is_ascii_graphic());
        if raw.is_empty() || raw.len() > KEY_MAX_CHARS || !visible {
            return Err(ValidationError::new(
                "Idempotency-Key",
                "must be 1 to 255 visible ASCII characters",
            ));
        }
        Ok(IdempotencyKey(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A request's fingerprint: the SHA-256 of its body.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    pub fn of(body: &[u8]) -> Self {
        Fingerprint(Sha256::digest(body).into())
    }

    /// Lower-case hex, as it is stored.
    pub fn to_hex(self) -> String {
        self.0.iter().map(|byte| format!("{byte:02x}")).collect()
    }

    /// A fingerprint as [`Fingerprint::to_hex`] wrote it.
    pub fn from_hex(hex: &str) -> Option<Self> {
        if hex.len() != 64 || !hex.is_ascii() {
            return None;
        }
        let mut bytes = [0u8; 32];
        for (index, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[index * 2..index * 2 + 2], 16).ok()?;
        }
        Some(Fingerprint(bytes))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({})", self.to_hex())
    }
}

/// Whose keys a request's key is among: the caller's account, or, signed
/// out, the client address (as the request budgets key it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyOwner {
    Account(UserId),
    Address(String),
}

/// Where a key counts: its owner, the method and the path. The same key
/// of another account, or on another path, is another key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyScope {
    owner: String,
    method: String,
    path: String,
}

impl KeyScope {
    pub fn new(owner: &KeyOwner, method: &str, path: &str) -> Self {
        let owner = match owner {
            KeyOwner::Account(id) => format!("account:{id}"),
            KeyOwner::Address(address) => format!("address:{address}"),
        };
        KeyScope {
            owner,
            method: method.to_owned(),
            path: path.to_owned(),
        }
    }

    /// `account:42` or `address:192.0.2.7`.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    pub fn method(&self) -> &str {
        &self.method
    }

    pub fn path(&self) -> &str {
        &self.path
    }
}

/// A request that brought a key: where, which, and its fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyedRequest {
    pub scope: KeyScope,
    pub key: IdempotencyKey,
    pub fingerprint: Fingerprint,
}

/// An answer as it is kept and given again: its status and its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAnswer {
    pub status: u16,
    pub body: String,
}

/// A key as it is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    pub fingerprint: Fingerprint,
    /// When the key was first used: it is forgotten [`KEY_LIFETIME`] later.
    pub created_at: DateTime<Utc>,
    /// When the request now holding it took it.
    pub claimed_at: DateTime<Utc>,
    /// `None` while in flight.
    pub answer: Option<StoredAnswer>,
}

/// What a request gets that brings a key already kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyReuse {
    /// The same request again: its first answer, and nothing done.
    Replay(StoredAnswer),
    /// The key is free to use afresh: expired (not yet swept), or
    /// abandoned in flight.
    TakeOver,
}

/// The verdict on a request with a key already kept as `record`, at `now`;
/// `in_flight_limit` is the longest a request may take. A different body
/// is refused (422) whether or not the first is answered yet; the same
/// one, while the first is in flight, is asked to retry (409).
pub fn decide_key_reuse(
    record: &KeyRecord,
    fingerprint: Fingerprint,
    now: DateTime<Utc>,
    in_flight_limit: Duration,
) -> Result<KeyReuse, Refusal> {
    if now >= record.created_at + delta(KEY_LIFETIME) {
        return Ok(KeyReuse::TakeOver);
    }
    let abandoned = now >= record.claimed_at + delta(in_flight_limit);
    match &record.answer {
        None if abandoned => Ok(KeyReuse::TakeOver),
        _ if record.fingerprint != fingerprint => Err(Refusal::Mismatch(KEY_REUSED)),
        Some(answer) => Ok(KeyReuse::Replay(answer.clone())),
        None => Err(Refusal::Conflict(KEY_IN_FLIGHT)),
    }
}

/// Whether an answer of `status` is kept for retries. Successes and the
/// client's mistakes are (the same mistake gets the same answer); a
/// server's failure (5xx) is not, so a retry runs again, nor are the 4xx
/// that say to come back (401: prove who you are; 408 and 429: later).
pub fn keeps_answer(status: u16) -> bool {
    match status {
        401 | 408 | 429 => false,
        200..=499 => true,
        _ => false,
    }
}

/// When a key first used at `created_at` is forgotten.
pub fn key_expires_at(created_at: DateTime<Utc>) -> DateTime<Utc> {
    created_at + delta(KEY_LIFETIME)
}

fn delta(duration: Duration) -> TimeDelta {
    TimeDelta::from_std(duration).unwrap_or(TimeDelta::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + seconds, 0).unwrap_or_default()
    }

    const LIMIT: Duration = Duration::from_secs(30);

    fn record(answer: Option<StoredAnswer>) -> KeyRecord {
        KeyRecord {
            fingerprint: Fingerprint::of(b"{\"body\":\"a\"}"),
            created_at: at(0),
            claimed_at: at(0),
            answer,
        }
    }

    fn created_answer() -> StoredAnswer {
        StoredAnswer {
            status: 201,
            body: "{}".to_owned(),
        }
    }

    #[test]
    fn a_key_is_one_to_255_visible_ascii_characters() {
        for good in ["a", "4f1c-99", &"k".repeat(255), "!~\"{}"] {
            assert_eq!(
                IdempotencyKey::parse(good).map(|k| k.as_str().to_owned()),
                Ok(good.to_owned())
            );
        }
        for bad in ["", " ", "a b", "tab\t", &"k".repeat(256), "é", "nul\0"] {
            assert!(IdempotencyKey::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_same_request_is_answered_again_and_another_is_refused() {
        let same = Fingerprint::of(b"{\"body\":\"a\"}");
        let other = Fingerprint::of(b"{\"body\":\"b\"}");
        let done = record(Some(created_answer()));
        assert_eq!(
            decide_key_reuse(&done, same, at(5), LIMIT),
            Ok(KeyReuse::Replay(created_answer()))
        );
        assert_eq!(
            decide_key_reuse(&done, other, at(5), LIMIT),
            Err(Refusal::Mismatch(KEY_REUSED))
        );
        // Long after the request time limit, an answered key still replays.
        assert_eq!(
            decide_key_reuse(&done, same, at(3_600), LIMIT),
            Ok(KeyReuse::Replay(created_answer()))
        );
        let in_flight = record(None);
        assert_eq!(
            decide_key_reuse(&in_flight, same, at(5), LIMIT),
            Err(Refusal::Conflict(KEY_IN_FLIGHT))
        );
        assert_eq!(
            decide_key_reuse(&in_flight, other, at(5), LIMIT),
            Err(Refusal::Mismatch(KEY_REUSED))
        );
    }

    #[test]
    fn an_abandoned_or_expired_key_is_taken_over() {
        let same = Fingerprint::of(b"{\"body\":\"a\"}");
        let other = Fingerprint::of(b"x");
        let in_flight = record(None);
        assert_eq!(
            decide_key_reuse(&in_flight, same, at(29), LIMIT),
            Err(Refusal::Conflict(KEY_IN_FLIGHT))
        );
        assert_eq!(
            decide_key_reuse(&in_flight, same, at(30), LIMIT),
            Ok(KeyReuse::TakeOver)
        );
        assert_eq!(
            decide_key_reuse(&in_flight, other, at(30), LIMIT),
            Ok(KeyReuse::TakeOver)
        );
        let day = 24 * 60 * 60;
        let done = record(Some(created_answer()));
        assert_eq!(
            decide_key_reuse(&done, other, at(day - 1), LIMIT),
            Err(Refusal::Mismatch(KEY_REUSED))
        );
        assert_eq!(
            decide_key_reuse(&done, other, at(day), LIMIT),
            Ok(KeyReuse::TakeOver)
        );
        assert_eq!(key_expires_at(at(0)), at(day));
    }

    #[test]
    fn successes_and_mistakes_are_kept_failures_and_come_back_later_are_not() {
        for kept in [200, 201, 400, 403, 404, 409, 413, 415, 422] {
            assert!(keeps_answer(kept), "{kept}");
        }
        for not_kept in [401, 408, 429, 500, 503, 100, 600] {
            assert!(!keeps_answer(not_kept), "{not_kept}");
        }
    }

    #[test]
    fn a_scope_names_its_owner_method_and_path() {
        let account = KeyScope::new(&KeyOwner::Account(UserId(42)), "POST", "/api/v1/tickets");
        assert_eq!(account.owner(), "account:42");
        assert_eq!(
            (account.method(), account.path()),
            ("POST", "/api/v1/tickets")
        );
        let address = KeyScope::new(
            &KeyOwner::Address("192.0.2.7".to_owned()),
            "POST",
            "/api/v1/users",
        );
        assert_eq!(address.owner(), "address:192.0.2.7");
    }

    proptest! {
        #[test]
        fn a_fingerprint_reads_back_from_its_hex(body in proptest::collection::vec(any::<u8>(), 0..64)) {
            let fingerprint = Fingerprint::of(&body);
            prop_assert_eq!(Fingerprint::from_hex(&fingerprint.to_hex()), Some(fingerprint));
        }

        /// Whatever the times, a different body never replays an answer,
        /// and the same body never gets a refusal once answered.
        #[test]
        fn a_replay_is_only_ever_of_the_same_request(
            created in 0i64..200_000,
            claimed_after in 0i64..100,
            now_after in 0i64..200_000,
            answered in any::<bool>(),
            same in any::<bool>(),
        ) {
            let record = KeyRecord {
                fingerprint: Fingerprint::of(b"a"),
                created_at: at(created),
                claimed_at: at(created + claimed_after),
                answer: answered.then(created_answer),
            };
            let fingerprint = Fingerprint::of(if same { b"a" } else { b"b" });
            let verdict = decide_key_reuse(&record, fingerprint, at(created + claimed_after + now_after), LIMIT);
            if let Ok(KeyReuse::Replay(_)) = verdict {
                prop_assert!(same && answered);
            }
            if same && answered {
                prop_assert!(verdict.is_ok());
            }
        }
    }
}
