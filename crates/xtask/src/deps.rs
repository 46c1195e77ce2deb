//! What the end-to-end tests drive, installed when missing: the Debian packages of the tools
//! (chromium, kubectl, the keyrings, the shells) and the test identity provider's npm modules.
//! `.ci/run` reaches this through `cargo xtask test`, so a fresh machine and CI install alike.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

/// A command the tests run, the Debian package that provides it, and what needs it.
const TOOLS: &[(&str, &str, &str)] = &[
    ("node", "nodejs", "the test identity provider"),
    ("npm", "npm", "the test identity provider's modules"),
    ("chromium", "chromium", "browser logins"),
    (
        "kubectl",
        "kubernetes-client",
        "kubectl through the exec plugin",
    ),
    (
        "dbus-run-session",
        "dbus-daemon",
        "the Secret Service keyring",
    ),
    (
        "gnome-keyring-daemon",
        "gnome-keyring",
        "the Secret Service keyring",
    ),
    (
        "dbus-send",
        "dbus-bin",
        "locking the Secret Service keyring",
    ),
    (
        "secret-tool",
        "libsecret-tools",
        "the Secret Service keyring",
    ),
    ("keyctl", "keyutils", "the kernel keyring"),
    ("bash", "bash", "completion"),
    ("zsh", "zsh", "completion"),
    ("fish", "fish", "completion"),
    ("tmux", "tmux", "screens at a terminal"),
    ("script", "bsdutils", "prompts at a terminal"),
    ("openssl", "openssl", "certificates"),
    ("curl", "curl", "the README's commands"),
    ("git", "git", "the git credential helper"),
    ("ruby", "ruby", "the Homebrew formula's syntax check"),
    ("lintian", "lintian", "the Debian package's check"),
    ("man", "man-db", "the Debian package's man page"),
];

/// How missing tools get installed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Install {
    /// As root or in CI (`CI=true`): install without asking.
    IfAllowed,
    /// `--install-deps`: run `sudo apt-get install` for a person.
    Yes,
}

/// Installs the missing tools (or says the one command to run), then the npm modules.
pub(crate) fn ensure(root: &Path, install: Install) -> Result<()> {
    let missing: Vec<(&str, &str, &str)> = TOOLS
        .iter()
        .copied()
        .filter(|(tool, _, _)| find_on_path(tool).is_none())
        .collect();
    if !missing.is_empty() {
        let mut packages: Vec<&str> = missing.iter().map(|(_, package, _)| *package).collect();
        packages.dedup();
        let is_root = is_root();
        let in_ci = std::env::var("CI").is_ok_and(|value| value == "true" || value == "1");
        let line = format!(
            "{}apt-get install -y --no-install-recommends {}",
            if is_root { "" } else { "sudo " },
            packages.join(" ")
        );
        if install == Install::IfAllowed && !is_root && !in_ci {
            let why: Vec<String> = missing
                .iter()
                .map(|(tool, _, why)| format!("{tool} ({why})"))
                .collect();
            bail!(
                "the tests drive tools this machine lacks: {}. Install them with `{line}`, or run `cargo xtask test --install-deps`",
                why.join(", ")
            );
        }
        eprintln!("installing what the tests drive: {line}");
        let apt = |args: &[&str]| {
            let mut command = if is_root {
                Command::new("apt-get")
            } else {
                let mut sudo = Command::new("sudo");
                sudo.arg("apt-get");
                sudo
            };
            crate::run(command.args(args).env("DEBIAN_FRONTEND", "noninteractive"))
        };
        apt(&["update", "-qq"])?;
        let mut install = vec!["install", "-y", "-qq", "--no-install-recommends"];
        install.extend(&packages);
        apt(&install)?;
    }
    npm_ci(&root.join("tests/idp"))
}

/// `npm ci` for the test IdP, unless its modules are installed from this very lock file (a
/// copy of the lock kept beside them says so).
fn npm_ci(idp: &Path) -> Result<()> {
    let lock = idp.join("package-lock.json");
    let installed = idp.join("node_modules/.tokenctl-installed-lock.json");
    let wanted = std::fs::read(&lock).with_context(|| format!("reading {}", lock.display()))?;
    if std::fs::read(&installed).is_ok_and(|have| have == wanted) {
        return Ok(());
    }
    crate::run(
        Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--prefix"])
            .arg(idp),
    )?;
    std::fs::write(&installed, wanted).with_context(|| format!("writing {}", installed.display()))
}

/// The first `tool` on PATH.
pub(crate) fn find_on_path(tool: &str) -> Option<std::path::PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(tool))
        .find(|path| path.is_file())
}

/// Whether this process runs as root: the owner of its own /proc entry.
fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|meta| meta.uid() == 0)
}
