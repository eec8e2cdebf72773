//! The stylesheet and icon, embedded in the binary and served with a
//! fingerprint in their URL, so a browser keeps them for a year and a new
//! build's are fetched at once.

use std::sync::LazyLock;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

use edge::App;

const STYLESHEET: &[u8] = include_bytes!("../assets/app.css");
const ICON: &[u8] = include_bytes!("../assets/icon.svg");

/// An embedded file and the URL it is served at.
struct Asset {
    bytes: &'static [u8],
    content_type: &'static str,
    url: String,
}

impl Asset {
    fn new(name: &str, extension: &str, bytes: &'static [u8], content_type: &'static str) -> Self {
        let fingerprint: String = Sha256::digest(bytes)
            .iter()
            .take(6)
            .map(|byte| format!("{byte:02x}"))
            .collect();
        Self {
            bytes,
            content_type,
            url: format!("/assets/{name}.{fingerprint}.{extension}"),
        }
    }
}

static ASSETS: LazyLock<[Asset; 2]> = LazyLock::new(|| {
    [
        Asset::new("app", "css", STYLESHEET, "text/css; charset=utf-8"),
        Asset::new("icon", "svg", ICON, "image/svg+xml"),
    ]
});

pub fn stylesheet_url() -> &'static str {
    &ASSETS[0].url
}

pub fn icon_url() -> &'static str {
    &ASSETS[1].url
}

pub fn router() -> Router<App> {
    Router::new().route("/assets/{file}", get(get_asset))
}

async fn get_asset(Path(file): Path<String>) -> Response {
    let path = format!("/assets/{file}");
    match ASSETS.iter().find(|asset| asset.url == path) {
        Some(asset) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(asset.content_type),
                ),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=31536000, immutable"),
                ),
            ],
            asset.bytes,
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
            "no such asset",
        )
            .into_response(),
    }
}
