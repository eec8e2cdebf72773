//! `cargo xtask screenshots`: the browser test that visits every main page
//! at a desktop's and a phone's width, run with `SCREENSHOTS_DIR` pointing
//! at `docs/screenshots/`, so the README's pictures are of the real pages.

use std::env;
use std::path::Path;
use std::process::{Command, ExitCode};

use anyhow::{Context as _, bail};

/// Where the pictures go, from the workspace root.
const DIR: &str = "docs/screenshots";
/// The test that takes them (a filter on the `browser` test binary's names).
const TEST: &str = "screenshots";

pub fn run(root: &Path) -> anyhow::Result<ExitCode> {
    let dir = root.join(DIR);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    // The pictures of pages that no longer exist would stay otherwise.
    for entry in std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or("");
        if (name.starts_with("desktop-") || name.starts_with("phone-")) && name.ends_with(".png") {
            std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
        }
    }

    let status = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .current_dir(root)
        .args(["test", "-p", "api", "--test", "browser", "--", TEST])
        .args(["--test-threads=1", "--nocapture"])
        .env("SCREENSHOTS_DIR", &dir)
        .status()
        .context("running cargo test")?;

    let taken = std::fs::read_dir(&dir)?
        .filter_map(Result::ok)
        .filter(|entry| entry.path().extension().is_some_and(|ext| ext == "png"))
        .count();
    if taken == 0 {
        bail!(
            "no screenshot was taken in {}: is chromedriver installed \
             (apt-get install chromium chromium-driver)?",
            dir.display()
        );
    }
    eprintln!("xtask: {taken} screenshots in {}", dir.display());
    Ok(ExitCode::from(
        status
            .code()
            .and_then(|code| u8::try_from(code).ok())
            .unwrap_or(1),
    ))
}
