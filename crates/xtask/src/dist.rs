//! `cargo xtask dist`: the release archive of the host target, as a user downloads it, in
//! `target/dist/`:
//! - `tokenctl-VERSION-TARGET.tar.gz`: the binary, its `docker-credential-tokenctl` and
//!   `kubectl-tokenctl` links, completions in the directories each shell reads, the man pages,
//!   README and licenses;
//! - `tokenctl-VERSION-TARGET.cdx.json`: the CycloneDX SBOM (`cargo cyclonedx`);
//! - `SHA256SUMS` of both, as `sha256sum -c` reads it;
//! - `tokenctl.yaml`, the krew plugin manifest, and `tokenctl.rb`, the Homebrew formula, for
//!   this target from its sum (the release job adds the other targets' from theirs).
//!
//! The binary is position-independent (`TOKENCTL_PIE=1`), as Debian builds a program that
//! holds credentials.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

use crate::{cargo, run};

/// The SBOM tool, installed with `cargo install --locked` at this version when missing.
const CYCLONEDX_VERSION: &str = "0.5.9";

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
    let sums = dist.join("SHA256SUMS");
    let mut listed = String::new();
    for file in [&archive, &sbom] {
        let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        let file_name = file.file_name().unwrap_or_default().to_string_lossy();
        writeln!(listed, "{:x}  {file_name}", Sha256::digest(&bytes))?;
    }
    std::fs::write(&sums, listed)?;
    let archive_sum = format!("{:x}", Sha256::digest(std::fs::read(&archive)?));
    let base = release_base(root)?;
    let homepage = workspace_value(root, "[workspace.package]", "repository")?;
    let url = format!("{base}/v{version}/{name}.tar.gz");
    std::fs::write(
        dist.join("tokenctl.yaml"),
        krew_manifest(&homepage, version, &target, &name, &url, &archive_sum)?,
    )?;
    std::fs::write(
        dist.join("tokenctl.rb"),
        brew_formula(&homepage, version, &target, &url, &archive_sum)?,
    )?;
    println!(
        "wrote {}, {} and {}",
        archive.display(),
        sbom.display(),
        sums.display()
    );
    Ok(Dist {
        archive,
        sbom,
        sums,
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
    let installed = Command::new(cargo())
        .args(["cyclonedx", "--version"])
        .output()
        .is_ok_and(|out| out.status.success());
    if !installed {
        run(Command::new(cargo()).args([
            "install",
            "--locked",
            "--version",
            CYCLONEDX_VERSION,
            "cargo-cyclonedx",
        ]))?;
    }
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
    let version = Command::new(top.join("tokenctl"))
        .args(["version", "-o", "json"])
        .output()?;
    let facts: serde_json::Value = serde_json::from_slice(&version.stdout)
        .with_context(|| format!("the archive's tokenctl version -o json: {version:?}"))?;
    if facts["version"] != env!("CARGO_PKG_VERSION") || facts["pie"] != true {
        bail!("the archive's binary says {facts}: expected this version, built as PIE");
    }
    let plugin = Command::new(top.join("kubectl-tokenctl"))
        .args(["auth", "login", "--help"])
        .output()?;
    if !String::from_utf8_lossy(&plugin.stdout).contains("Usage: kubectl tokenctl auth login") {
        bail!("kubectl-tokenctl in the archive does not run as the kubectl plugin: {plugin:?}");
    }
    let sbom: serde_json::Value = serde_json::from_slice(&std::fs::read(&dist.sbom)?)?;
    if sbom["bomFormat"] != "CycloneDX" || sbom["metadata"]["component"]["name"] != "tokenctl" {
        bail!("{} is not tokenctl's CycloneDX SBOM", dist.sbom.display());
    }
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
    let formula = dir.join("tokenctl.rb");
    if !std::fs::read_to_string(&formula)?.contains(&format!("sha256 \"{sum}\"")) {
        bail!("the Homebrew formula does not carry this archive's sum");
    }
    run(Command::new("ruby").arg("-c").arg(&formula))?;
    println!(
        "checked {}: sums, layout, binary, plugin link, SBOM, krew manifest, Homebrew formula",
        dist.archive.display()
    );
    Ok(())
}

/// The release base URL of the workspace metadata (`[workspace.metadata.tokenctl]`), or
/// `TOKENCTL_RELEASE_BASE` (the tests give a local `file://` one).
fn release_base(root: &Path) -> Result<String> {
    if let Ok(base) = std::env::var("TOKENCTL_RELEASE_BASE") {
        return Ok(base.trim_end_matches('/').to_owned());
    }
    workspace_value(root, "[workspace.metadata.tokenctl]", "release-base-url")
}

/// A `key = "value"` of a section of the workspace's Cargo.toml (the repository and release
/// URLs are set there once, at first publication).
fn workspace_value(root: &Path, section: &str, key: &str) -> Result<String> {
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

/// krew's `os` and `arch` for a Rust target.
fn krew_platform(target: &str) -> Result<(&'static str, &'static str)> {
    let os = match target {
        t if t.contains("-linux-") => "linux",
        t if t.contains("-apple-") => "darwin",
        t if t.contains("-windows-") => "windows",
        other => bail!("no krew platform for {other}"),
    };
    let arch = match target.split('-').next() {
        Some("x86_64") => "amd64",
        Some("aarch64") => "arm64",
        other => bail!("no krew architecture for {other:?}"),
    };
    Ok((os, arch))
}

/// The krew plugin manifest: krew links `kubectl-tokenctl` to the binary, which then names
/// itself `kubectl tokenctl` in its usage and hints.
fn krew_manifest(
    homepage: &str,
    version: &str,
    target: &str,
    name: &str,
    url: &str,
    sum: &str,
) -> Result<String> {
    let (os, arch) = krew_platform(target)?;
    Ok(format!(
        r#"apiVersion: krew.googlecontainertools.github.com/v1alpha2
kind: Plugin
metadata:
  name: tokenctl
spec:
  version: v{version}
  homepage: {homepage}
  shortDescription: OAuth 2.0 / OpenID Connect tokens for kubectl from many identity providers
  description: |
    Signs in to Keycloak, Entra ID, Auth0, Run:ai or any OpenID Connect provider and hands
    kubectl the right token for each context, as an exec credential plugin.
  platforms:
    - selector:
        matchLabels:
          os: {os}
          arch: {arch}
      uri: {url}
      sha256: {sum}
      files:
        - from: {name}/tokenctl
          to: .
        - from: {name}/LICENSE-*
          to: .
      bin: tokenctl
"#
    ))
}

/// The Homebrew formula: the binary, its links, man pages and completions where brew puts them.
fn brew_formula(
    homepage: &str,
    version: &str,
    target: &str,
    url: &str,
    sum: &str,
) -> Result<String> {
    let (os, arch) = krew_platform(target)?;
    let (os_block, arch_block) = (
        if os == "darwin" {
            "on_macos"
        } else {
            "on_linux"
        },
        if arch == "arm64" {
            "on_arm"
        } else {
            "on_intel"
        },
    );
    Ok(format!(
        r##"class Tokenctl < Formula
  desc "OAuth 2.0 / OpenID Connect tokens for kubectl, curl and git from many identity providers"
  homepage "{homepage}"
  version "{version}"
  license any_of: ["MIT", "Apache-2.0"]

  {os_block} do
    {arch_block} do
      url "{url}"
      sha256 "{sum}"
    end
  end

  def install
    bin.install "tokenctl"
    bin.install_symlink "tokenctl" => "kubectl-tokenctl"
    bin.install_symlink "tokenctl" => "docker-credential-tokenctl"
    man1.install Dir["share/man/man1/*.1"]
    bash_completion.install "share/bash-completion/completions/tokenctl"
    zsh_completion.install "share/zsh/site-functions/_tokenctl"
    fish_completion.install "share/fish/vendor_completions.d/tokenctl.fish"
  end

  test do
    assert_match version.to_s, shell_output("#{{bin}}/tokenctl version")
  end
end
"##
    ))
}
