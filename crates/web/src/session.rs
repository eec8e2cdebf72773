//! The browser's side of signing in: the session cookie, the CSRF token
//! every form carries, the same-site check on every POST, and where a
//! sign-in may send the browser next. The session's validity itself (expiry,
//! deactivation, PIN change) is `domain::login::decide_browser_session`,
//! asked by the store.

use std::time::Duration;

use axum::http::HeaderMap;
use axum::http::header::{HOST, ORIGIN};
use cookie::{Cookie, SameSite};
use edge::random_secret;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "tracker_session";
/// The hidden field every state-changing form carries.
pub const CSRF_FIELD: &str = "_csrf";
/// Random bytes in a session secret.
const SECRET_BYTES: usize = 32;

/// The random secret a session cookie holds. The database keeps only its
/// [`digest`](Self::digest), and the CSRF token is derived from it.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionSecret(String);

impl std::fmt::Debug for SessionSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionSecret(..)")
    }
}

impl SessionSecret {
    /// A new secret from the operating system's random source.
    pub fn generate() -> Self {
        Self(random_secret::generate(SECRET_BYTES))
    }

    /// The secret a cookie value holds, if it has the shape of one of ours;
    /// anything else is no session at all (never a query with junk).
    pub fn from_cookie(value: &str) -> Option<Self> {
        random_secret::has_shape(value, SECRET_BYTES).then(|| Self(value.to_owned()))
    }

    /// The secret itself, for the key that derives its CSRF token.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The session's key in the database: SHA-256 of the secret, in hex.
    pub fn digest(&self) -> String {
        random_secret::digest(&self.0)
    }

    /// The session cookie that carries this secret for `lifetime`.
    pub fn cookie(&self, lifetime: Duration, secure: bool) -> Cookie<'static> {
        Cookie::build((SESSION_COOKIE, self.0.clone()))
            .path("/")
            .http_only(true)
            .secure(secure)
            .same_site(SameSite::Lax)
            .max_age(cookie::time::Duration::seconds(
                i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX),
            ))
            .build()
    }

    /// The session secret the request's cookie holds, if any.
    pub fn of_request(headers: &HeaderMap) -> Option<Self> {
        headers
            .get_all(axum::http::header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(Cookie::split_parse)
            .filter_map(Result::ok)
            .find(|cookie| cookie.name() == SESSION_COOKIE)
            .and_then(|cookie| Self::from_cookie(cookie.value()))
    }
}

/// The cookie that clears the session cookie from the browser.
pub fn expired_session_cookie(secure: bool) -> Cookie<'static> {
    let mut cookie = Cookie::build((SESSION_COOKIE, ""))
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .build();
    cookie.make_removal();
    cookie
}

/// Whether a POST came from one of our own pages, as far as the browser
/// tells: `Sec-Fetch-Site` when it sends one, else `Origin` against our
/// public origin (`PUBLIC_URL`) or, without one, `http://` and the `Host`
/// it was sent to (the server itself speaks plain http; behind a TLS proxy
/// `PUBLIC_URL` says so). Scheme, host and port must all match. A request
/// that carries neither (an old browser, curl) passes here; the forms of a
/// session still need their CSRF token.
pub fn is_same_site_post(headers: &HeaderMap, public_origin: Option<&str>) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return matches!(site.as_bytes(), b"same-origin" | b"none");
    }
    let Some(origin) = headers.get(ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    match public_origin {
        Some(ours) => origin.eq_ignore_ascii_case(ours),
        None => {
            let host = headers.get(HOST).and_then(|host| host.to_str().ok());
            let origin_host = origin
                .get(.."http://".len())
                .filter(|scheme| scheme.eq_ignore_ascii_case("http://"))
                .and_then(|_| origin.get("http://".len()..));
            matches!((origin_host, host), (Some(a), Some(b)) if a.eq_ignore_ascii_case(b))
        }
    }
}

/// Where a sign-in may send the browser: a path on this site only (never
/// another host, `//host` or `/\host`), written only in the characters a
/// URL may hold as they are (what [`crate::error::sign_in_then`] writes),
/// so it goes into `Location` unchanged; else the start page.
pub fn local_destination(next: Option<&str>) -> &str {
    let url_safe =
        |byte: u8| byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?%#".contains(&byte);
    match next {
        Some(path)
            if path.starts_with('/') && !path.starts_with("//") && path.bytes().all(url_safe) =>
        {
            path
        }
        _ => "/",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use proptest::prelude::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).expect("header"));
        }
        map
    }

    #[test]
    fn a_session_secret_survives_its_cookie_and_junk_is_no_session() {
        let secret = SessionSecret::generate();
        let cookie = secret.cookie(Duration::from_secs(60), false);
        assert_eq!(
            SessionSecret::from_cookie(cookie.value()),
            Some(secret.clone())
        );
        assert_ne!(SessionSecret::generate(), secret);
        for junk in ["", "x", "' OR 1=1 --", &"A".repeat(44), &"A".repeat(42)] {
            assert_eq!(SessionSecret::from_cookie(junk), None, "{junk}");
        }
    }

    #[test]
    fn the_database_key_is_a_digest_not_the_secret() {
        let secret = SessionSecret::generate();
        let digest = secret.digest();
        assert_eq!(digest.len(), 64);
        assert!(!digest.contains(&secret.0));
        assert_eq!(digest, secret.digest());
    }

    #[test]
    fn the_session_cookie_is_http_only_lax_and_secure_only_on_https() {
        let secret = SessionSecret::generate();
        let plain = secret.cookie(Duration::from_secs(3600), false).to_string();
        assert!(plain.contains("HttpOnly"), "{plain}");
        assert!(plain.contains("SameSite=Lax"), "{plain}");
        assert!(plain.contains("Max-Age=3600"), "{plain}");
        assert!(plain.contains("Path=/"), "{plain}");
        assert!(!plain.contains("Secure"), "{plain}");
        let secure = secret.cookie(Duration::from_secs(3600), true).to_string();
        assert!(secure.contains("Secure"), "{secure}");
        let removal = expired_session_cookie(false).to_string();
        assert!(removal.contains("Max-Age=0"), "{removal}");
    }

    #[test]
    fn the_session_is_read_from_among_other_cookies() {
        let secret = SessionSecret::generate();
        let sent = headers(&[(
            "cookie",
            &format!("theme=dark; {SESSION_COOKIE}={}; other=1", secret.0),
        )]);
        assert_eq!(SessionSecret::of_request(&sent), Some(secret));
        assert_eq!(
            SessionSecret::of_request(&headers(&[("cookie", "theme=dark")])),
            None
        );
    }

    proptest! {
        #[test]
        fn a_sign_in_never_sends_the_browser_off_site(next in ".*") {
            let destination = local_destination(Some(&next));
            prop_assert!(destination.starts_with('/'));
            prop_assert!(!destination.starts_with("//"));
            prop_assert!(!destination.starts_with("/\\"));
            prop_assert!(destination.bytes().all(|byte| byte.is_ascii_graphic() && byte != b'"' && byte != b'\\'));
        }
    }

    #[test]
    fn a_sign_in_goes_back_to_a_local_page_only() {
        assert_eq!(local_destination(Some("/tickets/5")), "/tickets/5");
        assert_eq!(
            local_destination(Some("/tickets?status=OPEN&q=a")),
            "/tickets?status=OPEN&q=a"
        );
        for away in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "evil",
            "/a\nb",
            "/tickets?q=café",
            "/a b",
            "/\"x",
        ] {
            assert_eq!(local_destination(Some(away)), "/", "{away}");
        }
        assert_eq!(local_destination(None), "/");
    }

    #[test]
    fn a_cross_site_post_is_told_apart_from_ours() {
        let ours = |pairs: &[(&'static str, &str)]| is_same_site_post(&headers(pairs), None);
        assert!(ours(&[("sec-fetch-site", "same-origin")]));
        assert!(!ours(&[
            ("sec-fetch-site", "cross-site"),
            ("origin", "http://localhost:9003"),
            ("host", "localhost:9003")
        ]));
        assert!(!ours(&[("sec-fetch-site", "same-site")]));
        assert!(ours(&[
            ("origin", "http://localhost:9003"),
            ("host", "localhost:9003")
        ]));
        assert!(!ours(&[
            ("origin", "http://evil.example"),
            ("host", "localhost:9003")
        ]));
        assert!(!ours(&[("origin", "null"), ("host", "localhost:9003")]));
        assert!(ours(&[
            ("origin", "HTTP://LocalHost:9003"),
            ("host", "localhost:9003")
        ]));
        // Scheme, host and port each count (issue 25, finding 6): this
        // server speaks http, so an https page is another origin.
        for other in [
            "https://localhost:9003",
            "http://localhost:9004",
            "http://localhost",
            "http://localhost:9003.evil.example",
            "ws://localhost:9003",
            "http:/localhost:9003",
            "localhost:9003",
        ] {
            assert!(
                !ours(&[("origin", other), ("host", "localhost:9003")]),
                "{other}"
            );
        }
        // Neither header: not a browser's cross-site form.
        assert!(ours(&[("host", "localhost:9003")]));
        let public = |pairs: &[(&'static str, &str)]| {
            is_same_site_post(&headers(pairs), Some("https://help.example.com"))
        };
        assert!(public(&[
            ("origin", "https://help.example.com"),
            ("host", "10.0.0.5:9003")
        ]));
        for other in [
            "http://help.example.com",
            "https://help.example.com:8443",
            "https://help.example.org",
            "https://evil.help.example.com",
        ] {
            assert!(
                !public(&[("origin", other), ("host", "help.example.com")]),
                "{other}"
            );
        }
    }
}
