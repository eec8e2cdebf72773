//! The store's error type; every Diesel, r2d2 and hashing error is
//! converted here, keeping it as the source.

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use domain::Refusal;

/// Any error kept as the cause of another.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A rule in `domain` refused the operation, or what it names does not
    /// exist (which the rules answer like a hidden ticket).
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The database settings cannot work (a bad URL, a data folder that
    /// cannot be made); found at start-up.
    #[error("{message}")]
    Configuration {
        message: String,
        #[source]
        source: Option<BoxError>,
    },
    /// The database cannot be reached, or is too busy to answer in time.
    #[error("database unavailable")]
    Unavailable(#[source] BoxError),
    /// Too much PIN hashing is under way: refused at once rather than
    /// queued without bound; worth trying again after a moment.
    #[error("too many logins at once")]
    Busy { retry_after_secs: u64 },
    /// As many reports are being read as may be at once; worth trying
    /// again once one has finished.
    #[error("too many reports at once")]
    TooManyReports { retry_after_secs: u64 },
    /// Anything else: a bug or corrupt data, never the client's doing.
    #[error("database error")]
    Internal(#[source] BoxError),
}

impl StoreError {
    pub(crate) fn configuration(message: impl Into<String>) -> Self {
        StoreError::Configuration {
            message: message.into(),
            source: None,
        }
    }

    pub(crate) fn internal(error: impl Into<BoxError>) -> Self {
        StoreError::Internal(error.into())
    }
}

impl From<DieselError> for StoreError {
    fn from(error: DieselError) -> Self {
        match &error {
            DieselError::NotFound => StoreError::Refused(Refusal::NotFound),
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                StoreError::Refused(Refusal::Conflict("already exists"))
            }
            // Kinds Diesel derives from the SQLSTATE (40001; class 08) or
            // from the connection's state. A row lock wait that timed out
            // and a deadlock arrive as 40001 too, from `lock_rows`.
            DieselError::DatabaseError(
                DatabaseErrorKind::ClosedConnection
                | DatabaseErrorKind::UnableToSendCommand
                | DatabaseErrorKind::SerializationFailure,
                _,
            )
            | DieselError::BrokenTransactionManager => StoreError::Unavailable(error.into()),
            DieselError::DatabaseError(_, info) if is_busy(info.message()) => {
                StoreError::Unavailable(error.into())
            }
            _ => StoreError::Internal(error.into()),
        }
    }
}

/// What is left to recognise by its text, worth trying again:
/// - SQLite's busy and locked results, and a disk that is full, failing or
///   read-only, which Diesel passes on only as the library's result-code
///   text, fixed in SQLite and never translated;
/// - PostgreSQL waits outside `lock_rows` (a table another client locked
///   with `LOCK TABLE` or DDL, a `statement_timeout` an operator set),
///   whose SQLSTATE Diesel 2.3 does not expose (diesel-rs/diesel#5232):
///   recognised on a server that speaks English, a 500 on one that does not;
/// - a PostgreSQL connection that was lost after its last check (see
///   `PINGED_RECENTLY`): libpq's own texts, and the server's notice that it
///   is shutting down (57P01).
fn is_busy(message: &str) -> bool {
    [
        "no connection to the server",
        "server closed the connection unexpectedly",
        "terminating connection due to administrator command",
        "database is locked",
        "database table is locked",
        "database or disk is full",
        "disk I/O error",
        "attempt to write a readonly database",
        "lock timeout",
        "canceling statement due to statement timeout",
    ]
    .iter()
    .any(|busy| message.contains(busy))
}

impl From<r2d2::Error> for StoreError {
    fn from(error: r2d2::Error) -> Self {
        StoreError::Unavailable(error.into())
    }
}

impl From<diesel::ConnectionError> for StoreError {
    fn from(error: diesel::ConnectionError) -> Self {
        StoreError::Unavailable(error.into())
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// An error and its causes, one after another, for a log line (the API
/// and the pages log a 5xx's whole chain, once, where it is answered).
pub fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(next) = cause {
        text.push_str(": ");
        text.push_str(&next.to_string());
        cause = next.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn a_driver_error_stays_the_source() {
        let error = StoreError::from(DieselError::RollbackTransaction);
        assert!(matches!(error, StoreError::Internal(_)));
        let source = error.source().map(ToString::to_string);
        assert_eq!(source, Some(DieselError::RollbackTransaction.to_string()));
    }

    #[test]
    fn busy_lost_and_disk_failures_are_unavailable_other_errors_internal() {
        let from_sqlite = |message: &str| {
            StoreError::from(DieselError::DatabaseError(
                DatabaseErrorKind::Unknown,
                Box::new(message.to_owned()),
            ))
        };
        for message in [
            "no connection to the server\n",
            "server closed the connection unexpectedly\n\tThis probably means the server terminated abnormally",
            "terminating connection due to administrator command",
            "database is locked",
            "database or disk is full",
            "disk I/O error",
            "attempt to write a readonly database",
        ] {
            assert!(
                matches!(from_sqlite(message), StoreError::Unavailable(_)),
                "{message}"
            );
        }
        assert!(matches!(
            from_sqlite("no such table: tickets"),
            StoreError::Internal(_)
        ));
    }

    #[test]
    fn a_missing_row_is_the_rules_not_found() {
        assert!(matches!(
            StoreError::from(DieselError::NotFound),
            StoreError::Refused(Refusal::NotFound)
        ));
    }
}
