//! `cargo xtask dist`: the release archive of the host target, as a user downloads it, in
//! `target/dist/`:
//! - `tokenctl-VERSION-TARGET.tar.gz`: the binary, its `docker-credential-tokenctl` and
//!   `kubectl-tokenctl` links, completions in the directories each shell reads, the man pages,
//!   README and licenses;
//! - `tokenctl-VERSION-TARGET.cdx.json`: the CycloneDX SBOM (`cargo cyclonedx`);
//! - `tokenctl_VERSION-1_ARCH.deb`: the Debian package (`cargo deb`), with the binary and its
//!   links in /usr/bin, the man pages, and the bash, zsh and fish completions;
//! - `SHA256SUMS` of these, as `sha256sum -c` reads it;
//! - `tokenctl.yaml`, the krew plugin manifest, and `tokenctl.rb`, the Homebrew formula, for
//!   this target from its sum (other targets need their archives' sums: no release job builds
//!   them yet).
//!
//! The binary is position-independent (`TOKENCTL_PIE=1`), as Debian builds a program that
//! holds credentials.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

use crate::{cargo, manifests, run};

/// The SBOM tool and the Debian packager, installed with `cargo install --locked` at these
/// versions when missing.
const CYCLONEDX_VERSION: &str = "0.5.9";
const CARGO_DEB_VERSION: &str = "3.8.0";

/// Where, below the archive's top directory, each shell's completion goes (as packagers install
/// them under a prefix); the name is the one `tokenctl_cli::generate` writes.
const COMPLETION_DIRS: [(&str, &str); 5] = [
    (
        "tokenctl.bash",
        "share/bash-completion/completions/tokenctl",
    ),
    ("_tokenctl", "share/zsh/site-functions/_tokenctl"),
    (
        "tokenctl.fish",
        "share/fish/vendor_completions.d/tokenctl.fish",
    ),
    ("_tokenctl.ps1", "share/powershell/tokenctl.ps1"),
    ("tokenctl.elv", "share/elvish/lib/tokenctl.elv"),
];

/// What `cargo xtask dist` wrote.
pub(crate) struct Dist {
    pub(crate) archive: PathBuf,
    pub(crate) sbom: PathBuf,
    pub(crate) sums: PathBuf,
    pub(crate) deb: PathBuf,
    /// `tokenctl-VERSION-TARGET`, the archive's top directory.
    pub(crate) name: String,
}

pub(crate) fn run_dist(root: &Path) -> Result<Dist> {
    let version = env!("CARGO_PKG_VERSION");
    let target = host_target()?;
    run(Command::new(cargo())
        .current_dir(root)
        .env("TOKENCTL_PIE", "1")
        .args(["build", "--release", "--locked", "-p", "tokenctl"]))?;
    let dist = root.join("target/dist");
    let name = format!("tokenctl-{version}-{target}");
    let stage = dist.join(&name);
    if stage.exists() {
        std::fs::remove_dir_all(&stage)?;
    }
    std::fs::create_dir_all(&stage)?;
    stage_files(root, &stage)?;

    let archive = dist.join(format!("{name}.tar.gz"));
    // Entries sorted, owned by root, without this machine's user names.
    run(Command::new("tar")
        .current_dir(&dist)
        .args([
            "--sort=name",
            "--owner=0",
            "--group=0",
            "--numeric-owner",
            "-czf",
        ])
        .arg(&archive)
        .arg(&name))?;
    let sbom = dist.join(format!("{name}.cdx.json"));
    write_sbom(root, &sbom)?;
    let deb = write_deb(root, &dist)?;
    let sums = dist.join("SHA256SUMS");
    let mut listed = String::new();
    for file in [&archive, &sbom, &deb] {
        let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        let sum = format!("{:x}", Sha256::digest(&bytes));
        let file_name = file.file_name().unwrap_or_default().to_string_lossy();
        writeln!(listed, "{sum}  {file_name}")?;
    }
    std::fs::write(&sums, listed)?;
    let base = release_base(root)?;
    let homepage = workspace_value(root, "[workspace.package]", "repository")?;
    // A local base (the tests') is published to, so that the manifests' URL resolves.
    if let Some(local) = base.strip_prefix("file://") {
        let release = Path::new(local).join(format!("v{version}"));
        std::fs::create_dir_all(&release)?;
        std::fs::copy(
            &archive,
            release.join(archive.file_name().unwrap_or_default()),
        )?;
    }
    let archives = manifests::archives(&dist, version, &base)?;
    manifests::write(&dist, &homepage, version, &archives)?;
    package_crates(root)?;
    println!(
        "wrote {}, {}, {} and {}",
        archive.display(),
        deb.display(),
        sbom.display(),
        sums.display()
    );
    Ok(Dist {
        archive,
        sbom,
        sums,
        deb,
        name,
    })
}

/// The binary and its links, completions, man pages, README and licenses, into `stage`.
fn stage_files(root: &Path, stage: &Path) -> Result<()> {
    let binary = root.join("target/release/tokenctl");
    std::fs::copy(&binary, stage.join("tokenctl"))
        .with_context(|| format!("copying {}", binary.display()))?;
    #[cfg(unix)]
    for link in ["docker-credential-tokenctl", "kubectl-tokenctl"] {
        std::os::unix::fs::symlink("tokenctl", stage.join(link))?;
    }
    let generated = stage.join(".generated");
    tokenctl_cli::generate::write_completions(&generated)?;
    for (file, place) in COMPLETION_DIRS {
        let to = stage.join(place);
        std::fs::create_dir_all(to.parent().context("a completion directory")?)?;
        std::fs::rename(generated.join(file), &to)
            .with_context(|| format!("placing the {file} completion"))?;
    }
    if std::fs::read_dir(&generated)?.next().is_some() {
        bail!("a completion script has no place in the archive: add it to COMPLETION_DIRS");
    }
    std::fs::remove_dir(&generated)?;
    tokenctl_cli::generate::write_man_pages(&stage.join("share/man/man1"))?;
    for file in ["README.md", "LICENSE-MIT", "LICENSE-APACHE"] {
        std::fs::copy(root.join(file), stage.join(file))
            .with_context(|| format!("copying {file}"))?;
    }
    Ok(())
}

/// The CycloneDX SBOM of the `tokenctl` package, installing `cargo cyclonedx` when missing.
fn write_sbom(root: &Path, to: &Path) -> Result<()> {
    cargo_tool("cyclonedx", CYCLONEDX_VERSION)?;
    // It writes one beside every workspace member's manifest (.gitignore'd): the binary's
    // package's is kept, the others removed.
    run(Command::new(cargo()).current_dir(root).args([
        "cyclonedx",
        "--format",
        "json",
        "--override-filename",
        SBOM_STEM,
    ]))?;
    let sbom = format!("{SBOM_STEM}.json");
    std::fs::rename(root.join("crates/tokenctl").join(&sbom), to)
        .with_context(|| format!("moving the SBOM to {}", to.display()))?;
    let members = Command::new(cargo())
        .current_dir(root)
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .output()?;
    let metadata: serde_json::Value = serde_json::from_slice(&members.stdout)?;
    for package in metadata["packages"].as_array().into_iter().flatten() {
        if let Some(dir) = package["manifest_path"]
            .as_str()
            .and_then(|m| Path::new(m).parent())
        {
            let _ = std::fs::remove_file(dir.join(&sbom));
        }
    }
    Ok(())
}

/// The name `cargo cyclonedx` gives its files here, before `.json`.
const SBOM_STEM: &str = "tokenctl-dist.cdx";

/// Installs `cargo-NAME` at `version` (`--locked`) unless `cargo NAME` runs.
fn cargo_tool(name: &str, version: &str) -> Result<()> {
    // The version asked for, not whichever one happens to be installed.
    let installed = Command::new(cargo())
        .args([name, "--version"])
        .output()
        .is_ok_and(|out| {
            out.status.success() && String::from_utf8_lossy(&out.stdout).contains(version)
        });
    if !installed {
        run(Command::new(cargo()).args([
            "install",
            "--locked",
            "--version",
            version,
            &format!("cargo-{name}"),
        ]))?;
    }
    Ok(())
}

/// The Debian package of the binary just built (`--no-build`: the PIE one), into `dist`.
fn write_deb(root: &Path, dist: &Path) -> Result<PathBuf> {
    cargo_tool("deb", CARGO_DEB_VERSION)?;
    let out = Command::new(cargo())
        .current_dir(root)
        .args(["deb", "-p", "tokenctl", "--no-build", "--output"])
        .arg(dist)
        .output()?;
    if !out.status.success() {
        bail!("cargo deb failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    // It prints the path of the package it wrote.
    let written = String::from_utf8_lossy(&out.stdout)
        .lines()
        .rev()
        .find(|line| line.trim_end().ends_with(".deb"))
        .map(|line| PathBuf::from(line.trim()))
        .context("cargo deb named no package")?;
    Ok(written)
}

/// The host's target triple, as rustc names it.
fn host_target() -> Result<String> {
    let out = Command::new("rustc").arg("-vV").output()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|line| line.strip_prefix("host: "))
        .map(str::to_owned)
        .context("rustc -vV names no host")
}

/// Checks what `dist` wrote as a user would: the sums verify, the archive unpacks into the
/// layout packagers expect, its binary runs (PIE) as itself and as a kubectl plugin, and the
/// SBOM describes the `tokenctl` package.
pub(crate) fn check(dist: &Dist) -> Result<()> {
    let dir = dist.archive.parent().context("the dist directory")?;
    run(Command::new("sha256sum")
        .current_dir(dir)
        .args(["--check", "--quiet"])
        .arg(&dist.sums))?;
    let unpacked = tempfile::tempdir()?;
    run(Command::new("tar")
        .arg("-xzf")
        .arg(&dist.archive)
        .arg("-C")
        .arg(unpacked.path()))?;
    let top = unpacked.path().join(&dist.name);
    for (_, place) in COMPLETION_DIRS {
        let file = top.join(place);
        if !file.is_file() {
            bail!("the archive lacks {place}");
        }
    }
    for file in [
        "share/man/man1/tokenctl.1",
        "share/man/man1/tokenctl-auth-login.1",
        "README.md",
        "LICENSE-MIT",
        "LICENSE-APACHE",
    ] {
        if !top.join(file).is_file() {
            bail!("the archive lacks {file}");
        }
    }
    check_binaries(&top, "the archive")?;
    let sbom: serde_json::Value = serde_json::from_slice(&std::fs::read(&dist.sbom)?)?;
    if sbom["bomFormat"] != "CycloneDX" || sbom["metadata"]["component"]["name"] != "tokenctl" {
        bail!("{} is not tokenctl's CycloneDX SBOM", dist.sbom.display());
    }
    check_deb(&dist.deb)?;
    let sum = format!("{:x}", Sha256::digest(std::fs::read(&dist.archive)?));
    let archive_name = dist
        .archive
        .file_name()
        .unwrap_or_default()
        .to_string_lossy();
    let krew = std::fs::read_to_string(dir.join("tokenctl.yaml"))?;
    if !krew.contains(&format!("sha256: {sum}")) || !krew.contains(&format!("/{archive_name}\n")) {
        bail!("the krew manifest does not name this archive and its sum:\n{krew}");
    }
    // What the manifests' URL serves, where it is local (the tests' base), is this archive.
    let uri = krew
        .lines()
        .find_map(|line| line.trim().strip_prefix("uri: "))
        .context("the krew manifest has no uri")?;
    if let Some(local) = uri.strip_prefix("file://") {
        let served = format!("{:x}", Sha256::digest(std::fs::read(local)?));
        if served != sum {
            bail!("{uri} is not this archive");
        }
    }
    check_packages(dir.parent().context("target/")?)?;
    let formula = dir.join("tokenctl.rb");
    if !std::fs::read_to_string(&formula)?.contains(&format!("sha256 \"{sum}\"")) {
        bail!("the Homebrew formula does not carry this archive's sum");
    }
    run(Command::new("ruby").arg("-c").arg(&formula))?;
    println!(
        "checked {} and {}: sums, layout, binary, plugin link, man page, bash completion, lintian, SBOM, crates, krew manifest, Homebrew formula",
        dist.archive.display(),
        dist.deb.display()
    );
    Ok(())
}

/// The release base URL of the workspace metadata (`[workspace.metadata.tokenctl]`), or
/// `TOKENCTL_RELEASE_BASE` (the tests give a local `file://` one).
pub(crate) fn release_base(root: &Path) -> Result<String> {
    if let Ok(base) = std::env::var("TOKENCTL_RELEASE_BASE") {
        return Ok(base.trim_end_matches('/').to_owned());
    }
    workspace_value(root, "[workspace.metadata.tokenctl]", "release-base-url")
}

/// A `key = "value"` of a section of the workspace's Cargo.toml (the repository and release
/// URLs are set there once, at first publication).
pub(crate) fn workspace_value(root: &Path, section: &str, key: &str) -> Result<String> {
    let manifest = std::fs::read_to_string(root.join("Cargo.toml"))?;
    manifest
        .lines()
        .skip_while(|line| line.trim() != section)
        .skip(1)
        .take_while(|line| !line.trim_start().starts_with('['))
        .find_map(|line| line.trim().strip_prefix(key)?.trim().strip_prefix('='))
        .map(|value| {
            value
                .trim()
                .trim_matches('"')
                .trim_end_matches('/')
                .to_owned()
        })
        .with_context(|| format!("Cargo.toml has no {key} in {section}"))
}

/// A verified `.crate` of every crate the workspace publishes (all but `publish = false`).
fn check_packages(target: &Path) -> Result<()> {
    let out = Command::new(cargo())
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .output()?;
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let packages = metadata["packages"]
        .as_array()
        .context("cargo metadata lists no packages")?;
    let mut published = 0;
    for package in packages
        .iter()
        .filter(|p| p["publish"] != serde_json::json!([]))
    {
        let name = format!(
            "{}-{}.crate",
            package["name"].as_str().unwrap_or_default(),
            package["version"].as_str().unwrap_or_default()
        );
        if !target.join("package").join(&name).is_file() {
            bail!("cargo package wrote no {name}");
        }
        published += 1;
    }
    println!("packaged and verified {published} crates");
    Ok(())
}

/// Every published crate packaged and verified as crates.io would build it (`cargo package`,
/// the workspace's unpublished crates served from a local registry): the crates a `cargo
/// install tokenctl` would fetch.
fn package_crates(root: &Path) -> Result<()> {
    run(Command::new(cargo()).current_dir(root).args([
        "package",
        "--workspace",
        "--exclude",
        "custom-provider",
        "--exclude",
        "xtask",
        "--locked",
    ]))
}

/// `tokenctl` in `dir` is this version, built as PIE, and its `kubectl-tokenctl` link there
/// runs as the kubectl plugin (usage and hints say `kubectl tokenctl`).
fn check_binaries(dir: &Path, shipped_in: &str) -> Result<()> {
    let version = Command::new(dir.join("tokenctl"))
        .args(["version", "-o", "json"])
        .output()?;
    let facts: serde_json::Value = serde_json::from_slice(&version.stdout)
        .with_context(|| format!("tokenctl version -o json in {shipped_in}: {version:?}"))?;
    if facts["version"] != env!("CARGO_PKG_VERSION") || facts["pie"] != true {
        bail!("the binary in {shipped_in} says {facts}: expected this version, built as PIE");
    }
    let plugin = Command::new(dir.join("kubectl-tokenctl"))
        .args(["auth", "login", "--help"])
        .output()?;
    if !String::from_utf8_lossy(&plugin.stdout).contains("Usage: kubectl tokenctl auth login") {
        bail!("kubectl-tokenctl in {shipped_in} does not run as the kubectl plugin: {plugin:?}");
    }
    Ok(())
}

/// The Debian package unpacked into a scratch root (`dpkg -x`): its binaries check out (see
/// [`check_binaries`]), its man page opens, bash completes through its completion file, and lintian
/// finds no error or warning.
fn check_deb(deb: &Path) -> Result<()> {
    let scratch = tempfile::tempdir()?;
    let root = scratch.path();
    run(Command::new("dpkg").arg("-x").arg(deb).arg(root))?;
    let bin = root.join("usr/bin");
    check_binaries(&bin, "the Debian package")?;
    let man_dir = root.join("usr/share/man/man1");
    let page = std::fs::read_dir(&man_dir)?
        .flatten()
        .map(|entry| entry.path())
        .find(|path| {
            path.file_name()
                .is_some_and(|name| name.to_string_lossy().starts_with("tokenctl.1"))
        })
        .context("the package has no tokenctl(1) man page")?;
    let man = Command::new("man")
        .env("MANWIDTH", "80")
        .args(["-P", "cat", "-l"])
        .arg(&page)
        .output()?;
    if !String::from_utf8_lossy(&man.stdout).contains("tokenctl") {
        bail!("man -l {} shows nothing: {man:?}", page.display());
    }
    // TAB after `tokenctl au` through the packaged bash file, with the packaged binary on PATH.
    let completion = root.join("usr/share/bash-completion/completions/tokenctl");
    let script = format!(
        "source '{}'; f=$(complete -p tokenctl | sed -E 's/.* -F ([^ ]+) .*/\\1/'); \
         COMP_WORDS=(tokenctl au); COMP_CWORD=1; COMP_LINE='tokenctl au'; COMP_POINT=11; \
         \"$f\" tokenctl au tokenctl; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        completion.display()
    );
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let completed = Command::new("bash")
        .args(["--norc", "-c", &script])
        .env("PATH", path)
        .output()?;
    if !String::from_utf8_lossy(&completed.stdout)
        .lines()
        .any(|line| line.trim() == "auth")
    {
        bail!("the packaged bash completion does not complete `tokenctl au`: {completed:?}");
    }
    run(Command::new("lintian")
        .args(["--fail-on", "error,warning"])
        .arg(deb))?;
    Ok(())
}
