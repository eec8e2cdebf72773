//! Why a rule says no. Each kind is a different answer for every door (the
//! API's status, a page's heading); the words are written for a person and
//! fit any door, so they name no status, header or wire field.

/// Why a rule refused an action.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The caller must prove who they are first, or what they proved does
    /// not hold (a wrong PIN, an ended session).
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// The caller's role may not do this.
    #[error("{0}")]
    Forbidden(&'static str),
    /// The thing asked for does not exist, or is not visible to the caller;
    /// both answer the same, so ids leak nothing.
    #[error("{NOT_FOUND}")]
    NotFound,
    /// The request conflicts with the current state.
    #[error("{0}")]
    Conflict(&'static str),
    /// The request asks for something the rules do not offer.
    #[error("{0}")]
    Invalid(&'static str),
    /// The thing has changed since the version the request was made
    /// against (a write's `If-Match`); nothing was changed.
    #[error("{0}")]
    Changed(&'static str),
    /// The request is well formed but cannot be taken as it stands: it
    /// reuses an idempotency key of a different request.
    #[error("{0}")]
    Mismatch(&'static str),
    /// Too many failed logins for this username: retry after this many
    /// seconds.
    #[error("{TOO_MANY_FAILED_LOGINS}")]
    Throttled { retry_after_secs: u64 },
}

/// What a missing or hidden thing is called.
pub const NOT_FOUND: &str = "not found";

/// The answer while a username is locked.
pub const TOO_MANY_FAILED_LOGINS: &str = "too many failed logins; try again later";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_reads_as_its_message() {
        assert_eq!(Refusal::Forbidden("no").to_string(), "no");
        assert_eq!(Refusal::NotFound.to_string(), NOT_FOUND);
        let throttled = Refusal::Throttled {
            retry_after_secs: 9,
        };
        assert_eq!(throttled.to_string(), TOO_MANY_FAILED_LOGINS);
    }
}
