//! The web pages (`web`) mounted in this server: what they reach of it
//! is the same store, the same budgets and the same report stream as the
//! API's.

use axum::response::Response;
use store::{ResolvedReport, Store};
use web::{Door, Throttled, WebConfig};

use crate::error::ApiError;
use crate::routes::report::stream_report;
use crate::state::AppState;

impl web::Host for AppState {
    fn store(&self) -> &Store {
        &self.store
    }

    fn web(&self) -> &WebConfig {
        &self.tokens.web
    }

    fn admit(&self, door: Door<'_>) -> Result<(), Throttled> {
        let admitted = match door {
            Door::SignIn(parts) => self.limits.admit_login(self.limits.client_of(parts)),
            Door::SignUp(parts) => self.limits.admit_sign_up(self.limits.client_of(parts)),
            Door::Write(account) => self.limits.admit_write(account),
        };
        admitted.map_err(|refusal| match refusal {
            ApiError::TooManyRequests {
                message,
                retry_after_secs,
            } => Throttled {
                message,
                retry_after_secs,
            },
            // A budget answers nothing else; should it, it is still a wait.
            other => {
                tracing::error!(refusal = %other, "a budget refused with an unexpected error");
                Throttled {
                    message: "too many requests; try again later",
                    retry_after_secs: 1,
                }
            }
        })
    }

    fn stream_report(&self, report: ResolvedReport) -> Response {
        stream_report(report, self.limits.request_timeout())
    }
}
