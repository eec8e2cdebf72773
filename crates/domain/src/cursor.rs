//! Keyset cursors: where a list's next page starts, sealed so that only the
//! server's secret makes one and only the query it came from takes it.
//!
//! A cursor is `base64url(payload || tag)`. The payload holds a version, a
//! digest of the query it belongs to (the list, who asked, the filters,
//! sort, direction and limit) and the last row's sort value and id; the tag
//! is HMAC-SHA-256 over the payload, cut to 16 bytes. The store gets typed
//! values back, never text from the client.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::values::ValidationError;
use crate::workflow::{Priority, TicketStatus};

const VERSION: u8 = 1;
const BINDING_BYTES: usize = 8;
const TAG_BYTES: usize = 16;
/// Version, binding, value kind, value, id.
const PAYLOAD_BYTES: usize = 1 + BINDING_BYTES + 1 + 8 + 8;
const CURSOR_BYTES: usize = PAYLOAD_BYTES + TAG_BYTES;

type HmacSha256 = Hmac<Sha256>;

/// The key that seals cursors, derived from the server's secret so that
/// every process sharing the secret (and the database) takes the others'.
#[derive(Clone)]
pub struct CursorKey([u8; 32]);

impl std::fmt::Debug for CursorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorKey(..)")
    }
}

/// The query a cursor belongs to, digested: everything about a list
/// request but where its page starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryBinding([u8; BINDING_BYTES]);

impl QueryBinding {
    pub fn of(description: &str) -> Self {
        let digest = Sha256::digest(description.as_bytes());
        let mut binding = [0; BINDING_BYTES];
        binding.copy_from_slice(&digest[..BINDING_BYTES]);
        Self(binding)
    }
}

/// The sort value of the last row a page showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortValue {
    /// The list is sorted by id alone.
    Id,
    /// A timestamp (`createdAt`, `updatedAt`, `resolvedAt`, `resolutionDueAt`).
    At(DateTime<Utc>),
    /// The `resolvedAt` of an unresolved ticket, which sorts after every
    /// resolved one in both directions.
    Unset,
    Status(TicketStatus),
    Priority(Priority),
}

/// Where the next page starts: after the row with this sort value and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub value: SortValue,
    pub id: i64,
}

impl Position {
    /// After the row `id` of a list sorted by id alone.
    pub fn after_id(id: i64) -> Self {
        Self {
            value: SortValue::Id,
            id,
        }
    }
}

impl CursorKey {
    pub fn derive(secret: &[u8]) -> Self {
        let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes a key of any length");
        mac.update(b"support-tracker/list-cursor/v1");
        Self(mac.finalize().into_bytes().into())
    }

    /// The opaque cursor for `position` in the query `binding` names.
    pub fn seal(&self, binding: QueryBinding, position: Position) -> String {
        let (kind, value) = encode_value(position.value);
        let mut bytes = Vec::with_capacity(CURSOR_BYTES);
        bytes.push(VERSION);
        bytes.extend_from_slice(&binding.0);
        bytes.push(kind);
        bytes.extend_from_slice(&value.to_be_bytes());
        bytes.extend_from_slice(&position.id.to_be_bytes());
        let tag = self.mac(&bytes).finalize().into_bytes();
        bytes.extend_from_slice(&tag[..TAG_BYTES]);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The position a cursor holds, if this server made it for `binding`:
    /// garbage and forgeries are "not a cursor", a real cursor of another
    /// query says so.
    pub fn open(&self, binding: QueryBinding, cursor: &str) -> Result<Position, ValidationError> {
        let invalid = || {
            ValidationError::new(
                "cursor",
                "is not a cursor this server made; pass the next page's cursor as it came",
            )
        };
        let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
        if bytes.len() != CURSOR_BYTES {
            return Err(invalid());
        }
        let (payload, tag) = bytes.split_at(PAYLOAD_BYTES);
        // Constant-time comparison: a forger learns nothing from timing.
        self.mac(payload)
            .verify_truncated_left(tag)
            .map_err(|_| invalid())?;
        if payload[0] != VERSION {
            return Err(invalid());
        }
        if payload[1..=BINDING_BYTES] != binding.0 {
            return Err(ValidationError::new(
                "cursor",
                "belongs to another query: keep the list, filters, sort, direction and limit of the request it came from",
            ));
        }
        let number = |at: usize| {
            let mut word = [0; 8];
            word.copy_from_slice(&payload[at..at + 8]);
            i64::from_be_bytes(word)
        };
        let kind = payload[1 + BINDING_BYTES];
        let value = decode_value(kind, number(2 + BINDING_BYTES)).ok_or_else(invalid)?;
        Ok(Position {
            value,
            id: number(10 + BINDING_BYTES),
        })
    }

    fn mac(&self, payload: &[u8]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes a key of any length");
        mac.update(payload);
        mac
    }
}

/// Timestamps go in as nanoseconds, so the cursor holds exactly the value
/// stored (1677 to 2262, beyond any ticket's dates).
fn encode_value(value: SortValue) -> (u8, i64) {
    match value {
        SortValue::Id => (0, 0),
        SortValue::At(at) => (1, at.timestamp_nanos_opt().unwrap_or(i64::MAX)),
        SortValue::Unset => (2, 0),
        SortValue::Status(status) => (3, status_index(status)),
        SortValue::Priority(priority) => (4, i64::from(priority.rank())),
    }
}

fn decode_value(kind: u8, value: i64) -> Option<SortValue> {
    Some(match kind {
        0 => SortValue::Id,
        1 => SortValue::At(DateTime::from_timestamp_nanos(value)),
        2 => SortValue::Unset,
        3 => SortValue::Status(*TicketStatus::ALL.get(usize::try_from(value).ok()?)?),
        4 => SortValue::Priority(Priority::from_rank(i32::try_from(value).ok()?)?),
        _ => return None,
    })
}

fn status_index(status: TicketStatus) -> i64 {
    TicketStatus::ALL
        .iter()
        .position(|s| *s == status)
        .map_or(0, |index| index as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key() -> CursorKey {
        CursorKey::derive(b"a secret of at least thirty-two bytes!!")
    }

    fn value() -> impl Strategy<Value = SortValue> {
        prop_oneof![
            Just(SortValue::Id),
            Just(SortValue::Unset),
            (0i64..4_102_444_800_000_000_000)
                .prop_map(|n| SortValue::At(DateTime::from_timestamp_nanos(n))),
            proptest::sample::select(TicketStatus::ALL.to_vec()).prop_map(SortValue::Status),
            proptest::sample::select(Priority::ALL.to_vec()).prop_map(SortValue::Priority),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn a_sealed_position_opens_to_itself(value in value(), id in any::<i64>(), query in ".{0,40}") {
            let position = Position { value, id };
            let binding = QueryBinding::of(&query);
            let cursor = key().seal(binding, position);
            prop_assert!(cursor.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
            prop_assert_eq!(key().open(binding, &cursor), Ok(position));
        }

        #[test]
        fn any_changed_byte_is_refused(value in value(), id in any::<i64>(), at in 0..CURSOR_BYTES, flip in 1u8..=255) {
            let binding = QueryBinding::of("q");
            let cursor = key().seal(binding, Position { value, id });
            let mut bytes = URL_SAFE_NO_PAD.decode(&cursor).expect("base64url");
            bytes[at] ^= flip;
            let tampered = URL_SAFE_NO_PAD.encode(bytes);
            let refused = key().open(binding, &tampered);
            prop_assert_eq!(refused.map_err(|e| e.field), Err("cursor"));
        }

        #[test]
        fn garbage_is_refused_without_panicking(raw in ".{0,80}") {
            prop_assert!(key().open(QueryBinding::of("q"), &raw).is_err());
        }
    }

    #[test]
    fn a_cursor_of_another_query_or_another_key_is_refused() {
        let position = Position::after_id(42);
        let cursor = key().seal(QueryBinding::of("tickets|limit=20"), position);
        let other_query = key()
            .open(QueryBinding::of("tickets|limit=21"), &cursor)
            .expect_err("another query");
        assert!(
            other_query.reason.contains("another query"),
            "{other_query:?}"
        );
        let other_key = CursorKey::derive(b"another secret of thirty-two bytes or more");
        let forged = other_key
            .open(QueryBinding::of("tickets|limit=20"), &cursor)
            .expect_err("another key");
        assert!(forged.reason.contains("not a cursor"), "{forged:?}");
    }

    #[test]
    fn the_key_never_prints() {
        assert_eq!(format!("{:?}", key()), "CursorKey(..)");
    }
}
