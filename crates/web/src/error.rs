//! The pages' answer to a failure: the one vocabulary every door shares
//! (`edge::problem::Problem`) shown as a readable page, or, for an ended
//! session, a trip to the sign-in page and back.

use axum::body::Body;
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use domain::{Refusal, ValidationError};
use edge::problem::{Problem, Said};
use store::StoreError;

use crate::views::{ErrorPage, query_value, render};

/// The answer to a form without its session's token, or posted from
/// another site; nothing was changed.
pub const CROSS_SITE: &str = "this form has expired or was sent from another site, so nothing was changed; reload the page and try again";

#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// No session, or one that ended: sign in, then come back to `next`.
    #[error("sign in to continue")]
    SignIn { next: String },
    /// Anything else, as every door says it.
    #[error(transparent)]
    Problem(#[from] Problem),
}

impl PageError {
    /// The refusal to show beside the form that caused it, or, for a
    /// failure of ours or an ended session, the error to answer instead.
    pub fn refusal(self) -> Result<Problem, PageError> {
        match self {
            PageError::Problem(problem)
                if !matches!(problem, Problem::Internal(_) | Problem::Unavailable(_)) =>
            {
                Ok(problem)
            }
            other => Err(other),
        }
    }
}

impl From<Refusal> for PageError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            // A page that finds its session ended sends the browser to sign
            // in; where it came from is filled in by the caller.
            Refusal::Unauthenticated(_) => PageError::SignIn {
                next: "/".to_owned(),
            },
            other => PageError::Problem(other.into()),
        }
    }
}

impl From<ValidationError> for PageError {
    fn from(error: ValidationError) -> Self {
        PageError::Problem(error.into())
    }
}

impl From<StoreError> for PageError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Refused(refusal) => refusal.into(),
            other => PageError::Problem(other.into()),
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::SignIn { next } => Redirect::to(&sign_in_then(&next)).into_response(),
            PageError::Problem(problem) => problem.into_response(),
        }
    }
}

/// Writes every failure of the routes it wraps that came back bare (a
/// [`Problem`], or what axum or a guard answers itself) as an error page;
/// a page a handler rendered is left as it is.
pub async fn html_errors(request: Request<Body>, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let bare = !response.headers().contains_key(header::CONTENT_TYPE);
    if !(status.is_client_error() || status.is_server_error()) || !bare {
        return response;
    }
    let message = response.extensions().get::<Said>().map_or_else(
        || fallback_words(status).to_owned(),
        |Said(words)| words.clone(),
    );
    let (mut parts, _) = response.into_parts();
    let page = render(&ErrorPage::new(status, message));
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    Response::from_parts(parts, page.into_body())
}

/// The words of a failure that came without any (axum's, a guard's).
fn fallback_words(status: StatusCode) -> &'static str {
    match status {
        StatusCode::SERVICE_UNAVAILABLE => edge::problem::UNAVAILABLE,
        StatusCode::NOT_FOUND => edge::problem::NOTHING_HERE,
        StatusCode::METHOD_NOT_ALLOWED => "this page does not take that kind of request",
        status if status.is_server_error() => edge::problem::INTERNAL,
        _ => "the request could not be served",
    }
}

/// The sign-in page, set to come back to `next`.
pub fn sign_in_then(next: &str) -> String {
    if next == "/" {
        return "/login".to_owned();
    }
    format!("/login?next={}", query_value(next))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::routing::get;
    use tower::ServiceExt as _;

    #[test]
    fn an_ended_session_signs_in_and_every_other_refusal_is_a_problem() {
        assert!(matches!(
            PageError::from(Refusal::Unauthenticated("x")),
            PageError::SignIn { .. }
        ));
        for refusal in [
            Refusal::Invalid("x"),
            Refusal::Forbidden("x"),
            Refusal::NotFound,
            Refusal::Conflict("x"),
            Refusal::Throttled {
                retry_after_secs: 3,
            },
        ] {
            let status = Problem::from(refusal.clone()).status();
            match PageError::from(refusal) {
                PageError::Problem(problem) => assert_eq!(problem.status(), status),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn a_failure_of_ours_is_never_shown_beside_a_form() {
        let refusal = PageError::from(Refusal::Conflict("resolved"));
        assert!(matches!(refusal.refusal(), Ok(Problem::Conflict(_))));
        let failure = PageError::from(StoreError::Internal("bug".into()));
        assert!(matches!(
            failure.refusal(),
            Err(PageError::Problem(Problem::Internal(_)))
        ));
        let ended = PageError::SignIn { next: "/".into() };
        assert!(matches!(ended.refusal(), Err(PageError::SignIn { .. })));
    }

    #[tokio::test]
    async fn a_bare_failure_becomes_a_page_that_shows_no_cause() {
        async fn fails() -> PageError {
            PageError::Problem(Problem::internal("secret table name"))
        }
        let app = Router::new()
            .route("/", get(fails))
            .layer(axum::middleware::from_fn(html_errors));
        let response = app
            .oneshot(Request::get("/").body(Body::empty()).expect("request"))
            .await
            .expect("an answer");
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("body");
        let html = String::from_utf8_lossy(&body);
        assert!(html.contains("Something went wrong on our side"), "{html}");
        assert!(!html.contains("secret table name"));
    }

    #[test]
    fn signing_in_comes_back_to_the_page_asked_for() {
        assert_eq!(sign_in_then("/"), "/login");
        assert_eq!(
            sign_in_then("/tickets?status=REPLIED&q=a b"),
            "/login?next=/tickets%3Fstatus%3DREPLIED%26q%3Da%20b"
        );
    }
}
