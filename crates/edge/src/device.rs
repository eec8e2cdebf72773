//! The device cookie: a signed mark that a client logged in to an account
//! before, sent back only to a login door, so its attempts count on that
//! account's own failure record, which strangers' wrong PINs cannot lock
//! (see `domain::login::LoginLane`). The API's login and the pages'
//! sign-in both give it and read it.

use axum::http::{HeaderMap, header};
use cookie::{Cookie, SameSite};
use domain::UserId;

use crate::keys::{DEVICE_LIFETIME, Keys};
use crate::problem::Problem;

/// The device cookie's name.
pub const DEVICE_COOKIE: &str = "tracker_device";

/// The device cookie that marks a client as one that logged in to `user`,
/// sent back only to the login at `path`.
pub fn device_cookie(
    keys: &Keys,
    user: UserId,
    path: &'static str,
    secure: bool,
) -> Result<Cookie<'static>, Problem> {
    Ok(Cookie::build((DEVICE_COOKIE, keys.issue_device(user)?))
        .path(path)
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Strict)
        .max_age(cookie::time::Duration::seconds(
            i64::try_from(DEVICE_LIFETIME.as_secs()).unwrap_or(i64::MAX),
        ))
        .build())
}

/// The account the client's device cookie (verified) was issued to.
pub fn known_device(keys: &Keys, headers: &HeaderMap) -> Option<UserId> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|cookie| cookie.name() == DEVICE_COOKIE)
        .and_then(|cookie| keys.verify_device(cookie.value_raw()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::ServerSecret;
    use axum::http::HeaderValue;
    use std::time::Duration;

    #[test]
    fn a_device_cookie_names_its_account_among_other_cookies() {
        let secret = ServerSecret::new("a-secret-of-at-least-thirty-two-bytes").expect("long");
        let keys = Keys::new(&secret, Duration::from_secs(60));
        let cookie = device_cookie(&keys, UserId(5), "/login", true).expect("signed");
        let text = cookie.to_string();
        assert!(
            text.contains("HttpOnly") && text.contains("Secure"),
            "{text}"
        );
        assert!(
            text.contains("SameSite=Strict") && text.contains("Path=/login"),
            "{text}"
        );
        let mut headers = HeaderMap::new();
        let sent = format!("theme=dark; {DEVICE_COOKIE}={}", cookie.value());
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&sent).expect("header"),
        );
        assert_eq!(known_device(&keys, &headers), Some(UserId(5)));
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("tracker_device=forged"),
        );
        assert_eq!(known_device(&keys, &headers), None);
    }
}
