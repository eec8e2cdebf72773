//! Migrations: the embedded SQL of each backend, applied at start-up (and
//! by `api migrate`), and what they leave for Rust to compute.

use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::connection::{DatabaseUrl, DbConnection};
use crate::error::{StoreError, StoreResult};
use crate::search::reindex_pending;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

fn create_parent_dir(path: &std::path::Path) -> StoreResult<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => {
            std::fs::create_dir_all(dir).map_err(|error| StoreError::Configuration {
                message: format!("cannot create {}", dir.display()),
                source: Some(error.into()),
            })
        }
        _ => Ok(()),
    }
}

/// Connects once, applies pending migrations, and computes in Rust what
/// they left to compute (the search words and breach times of tickets from
/// before search); returns how many migrations ran.
pub fn migrate(url: &DatabaseUrl) -> StoreResult<usize> {
    if let DatabaseUrl::Sqlite(path) = url {
        create_parent_dir(path)?;
    }
    let conn = &mut url.connect()?;
    let applied = run_migrations(conn)?;
    reindex_pending(conn)?;
    Ok(applied)
}

/// Applies the embedded migrations of the connection's backend; returns how
/// many were applied (none on a second run).
fn run_migrations(conn: &mut DbConnection) -> StoreResult<usize> {
    let applied = match conn {
        DbConnection::Pg(pg) => pg
            .run_pending_migrations(POSTGRES_MIGRATIONS)
            .map(|v| v.len()),
        DbConnection::Sqlite(sqlite) => sqlite
            .run_pending_migrations(SQLITE_MIGRATIONS)
            .map(|v| v.len()),
    };
    applied.map_err(StoreError::Internal)
}
