//! The web pages (`web`) mounted in this server: what they reach of it
//! is the same store, the same budgets and the same report stream as the
//! API's.

use axum::http::HeaderMap;
use axum::response::Response;
use domain::UserId;
use store::{ResolvedReport, Store};
use web::{Door, Throttled, WebConfig};

use crate::error::ApiError;
use crate::routes::auth::{device_cookie, known_device};
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

    fn known_device(&self, headers: &HeaderMap) -> Option<UserId> {
        known_device(&self.tokens, headers)
    }

    fn remember_device(&self, user: UserId) -> Option<String> {
        let secure = self.tokens.web.secure_cookies();
        match device_cookie(&self.tokens, user, web::SIGN_IN_PATH, secure) {
            Ok(cookie) => Some(cookie.to_string()),
            Err(error) => {
                tracing::error!(cause = %error, "could not sign a device cookie");
                None
            }
        }
    }

    fn stream_report(&self, report: ResolvedReport) -> Response {
        stream_report(report, self.limits.request_timeout())
    }
}
