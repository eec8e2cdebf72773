//! Inbound messages' original bytes, kept in parts of [`PART_BYTES`] in
//! their own table. A database copies what a statement binds (SQLite
//! copies a bound blob, then builds its record from it), so one 25 MiB
//! value cost 50 MiB more in the server at once, in the C library's
//! allocator, which kept it; one part per statement costs a part.

use diesel::prelude::*;

use crate::connection::DbConnection;
use crate::error::{StoreError, StoreResult};
use crate::schema::inbound_originals;

/// The bytes of one part.
const PART_BYTES: usize = 256 * 1024;

/// Writes `original` as message `message`'s, part by part.
pub(crate) fn write_original(
    conn: &mut DbConnection,
    message: i64,
    original: &[u8],
) -> StoreResult<()> {
    for (part, bytes) in original.chunks(PART_BYTES).enumerate() {
        let part = i32::try_from(part).map_err(StoreError::internal)?;
        diesel::insert_into(inbound_originals::table)
            .values((
                inbound_originals::message_id.eq(message),
                inbound_originals::part.eq(part),
                inbound_originals::bytes.eq(bytes),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Message `message`'s original, its parts joined in order (empty for an
/// empty message).
pub(crate) fn read_original(conn: &mut DbConnection, message: i64) -> StoreResult<Vec<u8>> {
    let parts: Vec<Vec<u8>> = inbound_originals::table
        .filter(inbound_originals::message_id.eq(message))
        .order_by(inbound_originals::part)
        .select(inbound_originals::bytes)
        .load(conn)?;
    Ok(parts.concat())
}
