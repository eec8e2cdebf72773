//! End-to-end tests of the web pages: a real headless Chromium, driven
//! through chromedriver (Debian's `chromium` and `chromium-driver`),
//! against the real `api` binary on a fresh SQLite database per test.
//!
//! Without chromedriver the tests say so loudly and pass, unless `CI` is
//! set: there a missing browser fails them. With `SCREENSHOTS_DIR` set,
//! `pages::screenshots_at_phone_and_desktop_width` saves PNGs of the main
//! pages there (`cargo xtask screenshots` writes `docs/screenshots/`).

mod escaping;
mod harness;
mod held;
mod pages;
mod pin_reset;
mod story;
