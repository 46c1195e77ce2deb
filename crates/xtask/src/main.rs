//! `cargo xtask gen | test | bench`: the project's chores, in Rust so they run anywhere cargo does.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::disallowed_methods,
    clippy::too_many_lines,
    reason = "a developer's chore runner: it talks on its terminal, reads the repository's files, and its steps read best in order"
)]

mod bench;
mod demo;
mod deps;
mod dist;
mod manifests;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};

const USAGE: &str = "usage: cargo xtask <command>

commands:
  demo    tokenctl against the test identity provider, in a throwaway home
  gen     write completions/ and man/ from the command definition
  test    run every test of the workspace, installing what they drive when missing
          (as root or with CI=true; else --install-deps); extra arguments go to cargo test
  dist    the release archive of the host target, its SHA256SUMS, SBOM, .deb, the packaged
          crates, and the krew, Homebrew and winget manifests, in target/dist
  manifests DIR
          the krew, Homebrew and winget manifests of every release archive in DIR (the
          release job's step, with every target's archive)
  bench   run the whole-process benchmarks and write docs/benchmarks.md
          (`bench proxy`: only the proxy section)";

/// Ends with one line on failure: no backtrace, which would bury the failing test target.
fn main() -> ExitCode {
    match run_command() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run_command() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("gen") => generate(),
        Some("test") => test(&args[1..]),
        Some("bench") => bench::run(&workspace_root(), args.get(1).map(String::as_str)),
        Some("demo") => demo::run(&workspace_root()),
        Some("dist") => dist::check(&dist::run_dist(&workspace_root())?),
        Some("manifests") => manifests_of(args.get(1).context("usage: cargo xtask manifests DIR")?),
        Some("-h" | "--help" | "help") | None => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => bail!("unknown xtask command `{other}`\n\n{USAGE}"),
    }
}

/// The release job's step: the package managers' manifests of every archive in `dir`.
fn manifests_of(dir: &str) -> Result<()> {
    let root = workspace_root();
    let version = env!("CARGO_PKG_VERSION");
    let dir = std::path::Path::new(dir);
    let archives = manifests::archives(dir, version, &dist::release_base(&root)?)?;
    let homepage = dist::workspace_value(&root, "[workspace.package]", "repository")?;
    manifests::write(dir, &homepage, version, &archives)
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
/// integration and end-to-end tests (the tool-driven tier too, which plain `cargo test` reports
/// as ignored), and the demo. Extra arguments go to `cargo test` (a name filter, say; the demo
/// is then skipped), after `--install-deps` is taken out.
fn test(extra: &[String]) -> Result<()> {
    let root = workspace_root();
    let install = if extra.iter().any(|arg| arg == "--install-deps") {
        deps::Install::Yes
    } else {
        deps::Install::IfAllowed
    };
    let extra: Vec<&String> = extra
        .iter()
        .filter(|arg| *arg != "--install-deps")
        .collect();
    deps::ensure(&root, install)?;
    // The example programs the tests run (tests/library.rs); `cargo test` builds them only as
    // test harnesses.
    run(Command::new(cargo())
        .current_dir(&root)
        .args(["build", "--workspace", "--examples"]))?;
    let mut tally = Tally::default();
    tally
        .run(
            Command::new("node")
                .current_dir(root.join("tests/idp"))
                .arg("--test"),
        )
        .context("the test identity provider's own tests (node --test in tests/idp) failed")?;
    // Cargo's arguments, then the test harness's after `--`, where `--include-ignored` goes.
    let split = extra.iter().position(|arg| *arg == "--");
    let (cargo_args, harness_args) = match split {
        Some(at) => (&extra[..at], &extra[at + 1..]),
        None => (&extra[..], &[][..]),
    };
    tally.run(
        Command::new(cargo())
            .current_dir(&root)
            .args(["test", "--workspace", "--all-targets", "--no-fail-fast"])
            .args(cargo_args)
            .arg("--")
            .arg("--include-ignored")
            .args(harness_args),
    )?;
    if extra.is_empty() {
        // Doc tests (--all-targets leaves them out): core's crate example, the dialect guide.
        tally.run(Command::new(cargo()).current_dir(&root).args([
            "test",
            "--workspace",
            "--doc",
            "--no-fail-fast",
        ]))?;
        // The README's first command must work as written.
        demo::run(&root).context("`cargo xtask demo` failed")?;
        tally.passed += 1;
        // What a release ships, unpacked and run as a user would.
        // SAFETY: one thread runs here; the variable is read by dist, in this process.
        unsafe {
            std::env::set_var(
                "TOKENCTL_RELEASE_BASE",
                format!("file://{}", root.join("target/dist/releases").display()),
            )
        };
        let dist = dist::run_dist(&root).context("`cargo xtask dist` failed")?;
        dist::check(&dist).context("the release archive is not as shipped")?;
        tally.passed += 1;
    }
    println!("\ntests: {} passed, {} failed", tally.passed, tally.failed);
    Ok(())
}

/// How long one test command or step may run: CI stops a hung one here, with its output, long
/// before the CI run's own limit.
const COMMAND_LIMIT: std::time::Duration = std::time::Duration::from_secs(25 * 60);

/// How long a test command's output may stay open after it ended (a daemon it left behind).
const PIPES_AFTER_EXIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Tests counted across runners (cargo's "test result:" lines, node's "# pass"/"# fail"), so
/// that the run ends on one line that says how many ran.
#[derive(Default)]
struct Tally {
    passed: u64,
    failed: u64,
}

impl Tally {
    /// Runs a test command, echoing its output and counting what it reports. A failure names
    /// the failing test targets, as cargo lists them on stderr (`--test contexts`).
    fn run(&mut self, command: &mut Command) -> Result<()> {
        use std::io::{BufRead, BufReader};
        let mut child = command
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {command:?}"))?;
        let stderr = child.stderr.take().expect("piped");
        let (found, failed_targets) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut targets = Vec::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("{line}");
                // Cargo names a target once as it fails and again in its closing list.
                if let Some(target) = failed_target(&line).filter(|t| !targets.contains(t)) {
                    targets.push(target);
                }
            }
            let _ = found.send(targets);
        });
        let stdout = child.stdout.take().expect("piped");
        let (sender, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    return;
                }
            }
        });
        let started = std::time::Instant::now();
        let mut exited_at = None;
        let mut output_open = true;
        let status = loop {
            if output_open {
                match lines.recv_timeout(std::time::Duration::from_millis(200)) {
                    Ok(line) => self.count(&line),
                    // The output ended: the command has ended, or is about to.
                    Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => output_open = false,
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                }
            } else {
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
            match child.try_wait()? {
                Some(status) if !output_open => break status,
                // What it left running may hold its output open: read on for a little while.
                Some(status) => {
                    let at = *exited_at.get_or_insert_with(std::time::Instant::now);
                    if at.elapsed() > PIPES_AFTER_EXIT {
                        eprintln!(
                            "xtask: {command:?} ended, but something it started still holds its output; going on"
                        );
                        break status;
                    }
                }
                None if started.elapsed() > COMMAND_LIMIT => {
                    kill_tree(&mut child);
                    bail!(
                        "{command:?} did not finish within {} minutes: a test hangs (the tests that had not reported are the ones)",
                        COMMAND_LIMIT.as_secs() / 60
                    );
                }
                None => {}
            }
        };
        let targets = failed_targets
            .recv_timeout(PIPES_AFTER_EXIT)
            .unwrap_or_default();
        if !status.success() {
            if targets.is_empty() {
                bail!("{command:?} failed with {status}");
            }
            bail!(
                "{} failed in {}: rerun one with `cargo xtask test {}`",
                plural(self.failed, "test"),
                targets.join(", "),
                targets[0]
            );
        }
        Ok(())
    }
}

impl Tally {
    /// Echoes a line of a test command's output and counts what it reports.
    fn count(&mut self, line: &str) {
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
}

/// The target a line of cargo's stderr names as failed: "error: test failed, to rerun pass
/// `--test contexts`", or a line "    `--test contexts`" of its list after `--no-fail-fast`.
fn failed_target(line: &str) -> Option<String> {
    let quoted = line
        .strip_prefix("error: test failed, to rerun pass ")
        .or_else(|| line.strip_prefix("    `").map(|_| line.trim()))?;
    Some(quoted.trim_matches('`').to_owned())
}

fn plural(n: u64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

pub(crate) fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// Kills `child` and everything it started (found through /proc's parent links: a hung test
/// binary under cargo, a rustc), so that nothing keeps running or holds CI's output.
fn kill_tree(child: &mut std::process::Child) {
    let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            // `pid (comm) state ppid …`: the name may hold spaces and parentheses.
            let ppid = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            Some((pid, ppid))
        })
        .collect();
    let mut tree = vec![child.id()];
    let mut at = 0;
    while at < tree.len() {
        let parent = tree[at];
        tree.extend(
            parents
                .iter()
                .filter(|(_, p)| *p == parent)
                .map(|(pid, _)| *pid),
        );
        at += 1;
    }
    for pid in tree.iter().skip(1).rev() {
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .stderr(std::process::Stdio::null())
            .status();
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Runs a step (an install, a build, a check) to completion; one that runs past
/// [`COMMAND_LIMIT`] is stopped and named, so that CI fails with the step instead of hanging.
pub(crate) fn run(command: &mut Command) -> Result<()> {
    let mut child = command
        .spawn()
        .with_context(|| format!("starting {command:?}"))?;
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() > COMMAND_LIMIT {
            kill_tree(&mut child);
            bail!(
                "{command:?} did not finish within {} minutes; stopped",
                COMMAND_LIMIT.as_secs() / 60
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    if !status.success() {
        bail!("{command:?} failed with {status}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::failed_target;

    /// A stopped step takes what it started with it (a test binary under cargo).
    #[test]
    fn a_stopped_step_takes_its_children_with_it() {
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 300 & echo $! ; wait"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        let grandchild = format!("/proc/{}", line.trim());
        assert!(std::path::Path::new(&grandchild).exists());
        super::kill_tree(&mut child);
        std::thread::sleep(std::time::Duration::from_millis(300));
        // Killed, and reaped by init once its parent is gone: no longer running.
        let state = std::fs::read_to_string(format!("{grandchild}/stat")).unwrap_or_default();
        assert!(state.is_empty() || state.contains(") Z "), "{state}");
    }

    #[test]
    fn failed_targets_are_read_from_cargos_stderr() {
        let stderr = "error: test failed, to rerun pass `--test contexts`\n\
                      error: 2 targets failed:\n    `--test contexts`\n    `-p tokenctl-core --lib`\n\
                      warning: unused variable";
        let found: Vec<String> = stderr.lines().filter_map(failed_target).collect();
        assert_eq!(
            found,
            [
                "--test contexts",
                "--test contexts",
                "-p tokenctl-core --lib"
            ]
        );
    }
}
