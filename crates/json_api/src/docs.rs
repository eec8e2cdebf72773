//! The API's documentation page, `/docs`: Swagger UI over the served
//! OpenAPI document, with the headers it needs and no more.
//!
//! - `Content-Security-Policy` ([`CONTENT_SECURITY_POLICY`]): Swagger UI's
//!   page loads its scripts, its stylesheets and its icons from `/docs/`
//!   (no inline script: the initializer is a file), draws icons as `data:`
//!   images, and fetches the document from us; nothing else is allowed,
//!   and no site may frame it (`X-Frame-Options: DENY` too, for browsers
//!   without `frame-ancestors`).
//! - `Cache-Control`: the page and its initializer (which holds our
//!   settings) are revalidated on every visit; the other assets (the
//!   1.5 MB bundle, its stylesheet, its icons) are kept a week. Their names
//!   carry no version, so a week rather than a year: after an upgrade a
//!   browser may show the old bundle for at most that long.
//! - Compression: every answer is gzipped when the browser accepts it, and
//!   each asset is gzipped once (see [`gzip_once`]), never per request.

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::{LazyLock, Mutex};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse as _, Response};
use flate2::Compression;
use flate2::write::GzEncoder;
use http_body_util::BodyExt as _;
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa_swagger_ui::{Config, SwaggerUi};

/// Where the page is served.
pub const DOCS_PATH: &str = "/docs";

/// What Swagger UI needs to render, and nothing more: its own scripts and
/// stylesheets, its own and `data:` images (its stylesheet draws the select
/// arrows and icons as `data:` SVGs), and a fetch of the document from us.
/// No inline script and no `'unsafe-inline'` style: the one `<style>`
/// element the bundle (Swagger UI 5.32.6) writes at start-up is allowed by
/// its hash. Without the hash the page looks the same (screenshots in
/// headless Chromium were identical, the operations, "Try it out", the
/// schemas and the authorize dialog opened) but the console reports the
/// blocked style; a Swagger UI upgrade that changes it fails the same
/// harmless way.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self' 'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='; \
     img-src 'self' data:; connect-src 'self'; form-action 'none'; \
     frame-ancestors 'none'; base-uri 'none'";

/// The page and its initializer: asked again on every visit.
pub const PAGE_CACHE_CONTROL: &str = "no-cache";

/// The static assets: a week (their names carry no version).
pub const ASSET_CACHE_CONTROL: &str = "public, max-age=604800";

/// The documentation page over the document at `document_path`.
pub fn router(document_path: &'static str) -> Router {
    let docs: Router = SwaggerUi::new(DOCS_PATH)
        .config(Config::new([document_path]).validator_url("none"))
        .into();
    // Failures are the envelope, written before the answer is compressed.
    docs.layer(middleware::from_fn(crate::error::json_errors))
        .layer(middleware::from_fn(cache_control))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(middleware::from_fn(gzip_once))
}

/// An asset's gzipped answer: its headers and its bytes.
#[derive(Clone)]
struct Gzipped {
    headers: HeaderMap,
    body: Bytes,
}

/// Each path's gzipped answer, made the first time a client took gzip.
/// Only answers 200 are kept, so the keys are the assets built into the
/// binary, a dozen or so.
static GZIPPED: LazyLock<Mutex<HashMap<String, Gzipped>>> = LazyLock::new(Mutex::default);

/// Gzips each asset once: they are built into the binary and never change,
/// and gzipping the 1.5 MB bundle takes 60 to 90 ms of a core, which a
/// client asking for it again and again would otherwise get for free (a
/// compression layer compresses per request).
async fn gzip_once(request: Request, next: Next) -> Response {
    let takes_gzip = accepts_gzip(request.headers());
    let path = request.uri().path().to_owned();
    let kept = || GZIPPED.lock().ok()?.get(&path).cloned();
    if takes_gzip && let Some(gzipped) = kept() {
        return gzipped_answer(gzipped);
    }
    let mut response = next.run(request).await;
    response
        .headers_mut()
        .append(header::VARY, HeaderValue::from_static("accept-encoding"));
    if !takes_gzip || response.status() != StatusCode::OK {
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(collected) = body.collect().await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let plain = collected.to_bytes();
    let Ok(Ok(body)) = tokio::task::spawn_blocking(move || gzip(&plain)).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let mut headers = parts.headers;
    headers.remove(header::CONTENT_LENGTH);
    headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    let gzipped = Gzipped { headers, body };
    if let Ok(mut kept) = GZIPPED.lock() {
        kept.insert(path, gzipped.clone());
    }
    gzipped_answer(gzipped)
}

fn gzip(plain: &[u8]) -> std::io::Result<Bytes> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(plain)?;
    Ok(encoder.finish()?.into())
}

fn gzipped_answer(gzipped: Gzipped) -> Response {
    let mut response = Response::new(Body::from(gzipped.body));
    *response.headers_mut() = gzipped.headers;
    response
}

/// Whether `Accept-Encoding` takes gzip: `gzip` or `*`, with no `q=0`.
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or("");
            let refused = parts.any(|param| {
                param
                    .strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

/// How long an answer may be kept: see the module's notes. Only a 200 is
/// kept; a redirect or a miss is not.
async fn cache_control(request: Request, next: Next) -> Response {
    let policy = cache_policy(request.uri().path());
    let mut response = next.run(request).await;
    let value = match response.status() {
        StatusCode::OK => policy,
        _ => "no-store",
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
    response
}

fn cache_policy(path: &str) -> &'static str {
    let file = path
        .strip_prefix(DOCS_PATH)
        .unwrap_or(path)
        .trim_start_matches('/');
    match file {
        "" | "index.html" | "swagger-initializer.js" => PAGE_CACHE_CONTROL,
        _ => ASSET_CACHE_CONTROL,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_is_taken_unless_refused() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(
                header::ACCEPT_ENCODING,
                HeaderValue::from_str(value).expect("ascii"),
            );
            accepts_gzip(&headers)
        };
        for taken in ["gzip", "gzip, deflate, br", "br;q=1.0, GZIP;q=0.5", "*"] {
            assert!(with(taken), "{taken}");
        }
        for refused in [
            "identity",
            "br",
            "gzip;q=0",
            "deflate, gzip ; q=0.0",
            "xgzip",
        ] {
            assert!(!with(refused), "{refused}");
        }
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[test]
    fn the_page_and_its_settings_are_revalidated_and_the_rest_kept() {
        for page in [
            "/docs",
            "/docs/",
            "/docs/index.html",
            "/docs/swagger-initializer.js",
        ] {
            assert_eq!(cache_policy(page), PAGE_CACHE_CONTROL, "{page}");
        }
        for asset in [
            "/docs/swagger-ui-bundle.js",
            "/docs/swagger-ui.css",
            "/docs/favicon-32x32.png",
        ] {
            assert_eq!(cache_policy(asset), ASSET_CACHE_CONTROL, "{asset}");
        }
    }
}
