//! `cargo xtask gen | test | bench`: the project's chores, in Rust so they run anywhere cargo does.

mod bench;
mod demo;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

const USAGE: &str = "usage: cargo xtask <command>

commands:
  demo    tokenctl against the test identity provider, in a throwaway home
  gen     write completions/ and man/ from the command definition
  test    run every test of the workspace
  bench   run the whole-process benchmarks and write docs/benchmarks.md";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("gen") => generate(),
        Some("test") => test(&args[1..]),
        Some("bench") => bench::run(&workspace_root()),
        Some("demo") => demo::run(&workspace_root()),
        Some("-h" | "--help" | "help") | None => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => bail!("unknown xtask command `{other}`\n\n{USAGE}"),
    }
}

/// The workspace root, two levels above this crate.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/xtask sits two levels below the workspace root")
        .to_path_buf()
}

fn generate() -> Result<()> {
    let root = workspace_root();
    let completions = root.join("completions");
    let man = root.join("man");
    for dir in [&completions, &man] {
        if dir.exists() {
            std::fs::remove_dir_all(dir).with_context(|| format!("clearing {}", dir.display()))?;
        }
    }
    tokenctl_cli::generate::write_completions(&completions)?;
    tokenctl_cli::generate::write_man_pages(&man)?;
    println!("wrote {} and {}", completions.display(), man.display());
    Ok(())
}

/// Runs every test: the test identity provider's own tests, the workspace's unit,
/// integration and end-to-end tests, and the demo. Extra arguments go to `cargo test` (a name
/// filter, say; the demo is then skipped).
fn test(extra: &[String]) -> Result<()> {
    let root = workspace_root();
    let idp = root.join("tests/idp");
    if !idp.join("node_modules/oidc-provider").is_dir() {
        bail!(
            "the test identity provider is not installed: run `npm ci --prefix tests/idp` \
             (needs Node.js 20.19 or later: apt-get install nodejs npm)"
        );
    }
    // The example programs the tests run (tests/library.rs); `cargo test` builds them only as
    // test harnesses.
    run(Command::new(cargo())
        .current_dir(&root)
        .args(["build", "--workspace", "--examples"]))?;
    let mut tally = Tally::default();
    tally.run(Command::new("node").current_dir(&idp).arg("--test"))?;
    tally.run(
        Command::new(cargo())
            .current_dir(&root)
            .args(["test", "--workspace", "--all-targets"])
            .args(extra),
    )?;
    // The README's first command must work as written.
    if extra.is_empty() {
        demo::run(&root)?;
        tally.passed += 1;
    }
    println!("\ntests: {} passed, {} failed", tally.passed, tally.failed);
    Ok(())
}

/// Tests counted across runners (cargo's "test result:" lines, node's "# pass"/"# fail"), so
/// that the run ends on one line that says how many ran.
#[derive(Default)]
struct Tally {
    passed: u64,
    failed: u64,
}

impl Tally {
    /// Runs a test command, echoing its stdout and counting what it reports.
    fn run(&mut self, command: &mut Command) -> Result<()> {
        use std::io::{BufRead, BufReader};
        let mut child = command
            .stdout(std::process::Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {command:?}"))?;
        let stdout = child.stdout.take().expect("piped");
        for line in BufReader::new(stdout).lines() {
            let line = line?;
            println!("{line}");
            let number = |after: &str| -> u64 {
                line.split(after)
                    .next()
                    .and_then(|head| head.split_whitespace().last())
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0)
            };
            if line.starts_with("test result:") {
                self.passed += number(" passed");
                self.failed += number(" failed");
            } else if let Some(n) = line.strip_prefix("# pass ") {
                self.passed += n.trim().parse::<u64>().unwrap_or(0);
            } else if let Some(n) = line.strip_prefix("# fail ") {
                self.failed += n.trim().parse::<u64>().unwrap_or(0);
            }
        }
        let status = child.wait()?;
        if !status.success() {
            bail!("{command:?} failed with {status}");
        }
        Ok(())
    }
}

pub(crate) fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

pub(crate) fn run(command: &mut Command) -> Result<()> {
    let status = command
        .status()
        .with_context(|| format!("starting {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed with {status}");
    }
    Ok(())
}
