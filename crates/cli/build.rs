//! Tells `tokenctl version` what it was built from: the commit (a packaged crate's
//! `.cargo_vcs_info.json`, else git's, else `unknown`) and the target. Whether the binary is
//! position-independent it reads from itself.
#![allow(
    clippy::print_stdout,
    clippy::disallowed_methods,
    reason = "a build script talks to cargo on stdout and reads its own package's files"
)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!(
        "cargo::rustc-env=TOKENCTL_TARGET={}",
        std::env::var("TARGET").unwrap_or_default()
    );
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    // A packaged crate's own record first: its folder may sit inside another repository.
    let commit = packaged_commit(&manifest)
        .or_else(|| git_commit(&manifest))
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo::rustc-env=TOKENCTL_COMMIT={commit}");
}

/// The checkout's commit, with the files that change when it does watched.
fn git_commit(dir: &Path) -> Option<String> {
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args(args)
            .current_dir(dir)
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    let commit = git(&["rev-parse", "HEAD"]).filter(|sha| sha.len() == 40)?;
    // HEAD's reflog changes at every commit and checkout, whether the branch's ref is loose or
    // packed; HEAD and packed-refs cover a checkout without a reflog.
    for path in [
        git(&["rev-parse", "--git-path", "logs/HEAD"]),
        git(&["rev-parse", "--git-path", "HEAD"]),
        git(&["rev-parse", "--git-path", "packed-refs"]),
        git(&["symbolic-ref", "-q", "HEAD"])
            .and_then(|name| git(&["rev-parse", "--git-path", &name])),
    ]
    .into_iter()
    .flatten()
    {
        // A file that is missing (no packed-refs yet) would count as changed at every build.
        let path = dir.join(path);
        if path.exists() {
            println!("cargo::rerun-if-changed={}", path.display());
        }
    }
    Some(commit)
}

/// The commit `cargo package` recorded in `.cargo_vcs_info.json` (`{"git": {"sha1": …}}`).
fn packaged_commit(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join(".cargo_vcs_info.json")).ok()?;
    let info: serde_json::Value = serde_json::from_str(&text).ok()?;
    info["git"]["sha1"].as_str().map(str::to_owned)
}
