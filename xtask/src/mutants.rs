//! `cargo xtask mutants`: mutation testing of the `domain` crate with
//! cargo-mutants, judged by domain's own tests only (its unit tests and
//! properties beside the code), so a rule that only another crate's tests
//! pin down shows up as a survivor. Too slow for CI (25 minutes on two
//! cores); run it by hand after changing the rules. The report goes to
//! `target/mutants.out/` (`missed.txt` lists the survivors).

use std::env;
use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};

use anyhow::{Context as _, bail};

/// What `cargo mutants` is told, before any extra arguments.
const ARGS: &[&str] = &[
    "mutants",
    "--package",
    "domain",
    // Only domain's own tests may kill a mutant.
    "--test-package",
    "domain",
    "--jobs",
    "2",
    // The suite runs in seconds; a mutant that makes a loop or a property
    // run forever is cut off at a minute, even on a busy machine.
    "--minimum-test-timeout",
    "60",
    "--output",
    "target",
];

/// The properties' settings for every test run (each unless already set).
/// A property that fails in one mutant's run must not be saved to
/// `proptest-regressions/` in cargo-mutants' copy of the tree, or every
/// later mutant built there replays it, fails and counts as caught. A
/// fixed seed makes two runs over the same code give the same score.
const PROPTEST_ENV: &[(&str, &str)] = &[
    ("PROPTEST_DISABLE_FAILURE_PERSISTENCE", "1"),
    ("PROPTEST_RNG_SEED", "1"),
];

/// Runs cargo-mutants from `root` with `extra` arguments appended (e.g.
/// `--file crates/domain/src/login.rs` for one module).
pub fn run(root: &Path, extra: &[String]) -> anyhow::Result<ExitCode> {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let installed = Command::new(&cargo)
        .args(["mutants", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !installed {
        bail!(
            "cargo-mutants is not installed; install it with \
             `cargo install cargo-mutants --locked` (version 27 or later)"
        );
    }

    let mut command = Command::new(&cargo);
    command.current_dir(root).args(ARGS).args(extra);
    for (name, value) in PROPTEST_ENV {
        if env::var_os(name).is_none() {
            command.env(name, value);
        }
    }
    let status = command.status().context("running cargo mutants")?;
    if !extra.iter().any(|arg| arg.starts_with("--list")) {
        eprintln!(
            "xtask: the report is in {} (survivors in missed.txt)",
            root.join("target/mutants.out").display()
        );
    }
    Ok(ExitCode::from(
        status
            .code()
            .and_then(|code| u8::try_from(code).ok())
            .unwrap_or(1),
    ))
}
