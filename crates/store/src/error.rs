//! The store's error type; every Diesel and r2d2 error is converted here.

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use domain::Refusal;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such row.
    #[error("not found")]
    NotFound,
    /// A unique value is taken (a duplicate username).
    #[error("{0}")]
    Conflict(&'static str),
    /// A rule in `domain` refused the operation.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The database settings cannot work (a bad URL, a data folder that
    /// cannot be made); found at start-up.
    #[error("configuration: {0}")]
    Configuration(String),
    /// The database cannot be reached, or is too busy to answer in time.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Anything else: a bug or corrupt data, never the client's doing.
    #[error("database error: {0}")]
    Internal(String),
}

impl From<DieselError> for StoreError {
    fn from(error: DieselError) -> Self {
        match error {
            DieselError::NotFound => StoreError::NotFound,
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                StoreError::Conflict("already exists")
            }
            DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, info) => {
                StoreError::Unavailable(info.message().to_owned())
            }
            DieselError::DatabaseError(DatabaseErrorKind::SerializationFailure, info) => {
                StoreError::Unavailable(info.message().to_owned())
            }
            DieselError::DatabaseError(_, info) if is_busy(info.message()) => {
                StoreError::Unavailable(info.message().to_owned())
            }
            DieselError::BrokenTransactionManager => {
                StoreError::Unavailable("connection left in a broken state".to_owned())
            }
            other => StoreError::Internal(other.to_string()),
        }
    }
}

/// Lock time-outs and deadlocks, which both databases report only in the
/// message text: the request may succeed if tried again.
fn is_busy(message: &str) -> bool {
    [
        "database is locked",
        "database table is locked",
        "lock timeout",
        "deadlock detected",
    ]
    .iter()
    .any(|busy| message.contains(busy))
}

impl From<r2d2::Error> for StoreError {
    fn from(error: r2d2::Error) -> Self {
        StoreError::Unavailable(error.to_string())
    }
}

impl From<diesel::ConnectionError> for StoreError {
    fn from(error: diesel::ConnectionError) -> Self {
        StoreError::Unavailable(error.to_string())
    }
}

impl From<diesel_migrations::MigrationError> for StoreError {
    fn from(error: diesel_migrations::MigrationError) -> Self {
        StoreError::Internal(error.to_string())
    }
}

pub type StoreResult<T> = Result<T, StoreError>;
