//! The package managers' manifests, from the release archives in one directory and their sums:
//! krew's plugin manifest and the Homebrew formula for every Linux and macOS archive there,
//! and winget's three manifest files for the Windows one. `cargo xtask dist` writes them for
//! the host's archive; the release job, with every target's archive downloaded, runs
//! `cargo xtask manifests DIR`.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

/// winget's package identifier (Publisher.Package), to be claimed at the first submission.
const WINGET_ID: &str = "Tokenctl.Tokenctl";
/// The winget manifest schema the files follow.
const WINGET_SCHEMA: &str = "1.6.0";

/// One release archive: its target, file name, download URL and sha256.
pub(crate) struct Archive {
    pub(crate) target: String,
    pub(crate) file_name: String,
    pub(crate) url: String,
    pub(crate) sum: String,
}

impl Archive {
    /// `tokenctl-VERSION-TARGET`, the archive's top directory.
    fn top(&self) -> &str {
        self.file_name
            .trim_end_matches(".tar.gz")
            .trim_end_matches(".zip")
    }
}

/// The archives of `version` in `dir` (`tokenctl-VERSION-TARGET.tar.gz`, `.zip` for Windows),
/// in name order, with their sums and their URLs under `base`.
pub(crate) fn archives(dir: &Path, version: &str, base: &str) -> Result<Vec<Archive>> {
    let prefix = format!("tokenctl-{version}-");
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let file_name = entry?.file_name().to_string_lossy().into_owned();
        let Some(target) = file_name
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix(".tar.gz").or(rest.strip_suffix(".zip")))
        else {
            continue;
        };
        let sum = format!("{:x}", Sha256::digest(std::fs::read(dir.join(&file_name))?));
        found.push(Archive {
            target: target.to_owned(),
            url: format!("{base}/v{version}/{file_name}"),
            file_name,
            sum,
        });
    }
    found.sort_by(|a, b| a.file_name.cmp(&b.file_name));
    Ok(found)
}

/// Writes `tokenctl.yaml` (krew), `tokenctl.rb` (Homebrew) and, where a Windows archive is
/// among them, `winget/` into `dir`.
pub(crate) fn write(dir: &Path, homepage: &str, version: &str, archives: &[Archive]) -> Result<()> {
    if archives.is_empty() {
        bail!("no tokenctl-{version}-TARGET archive in {}", dir.display());
    }
    std::fs::write(
        dir.join("tokenctl.yaml"),
        krew(homepage, version, archives)?,
    )?;
    std::fs::write(dir.join("tokenctl.rb"), brew(homepage, version, archives)?)?;
    match archives
        .iter()
        .find(|a| a.target == "x86_64-pc-windows-msvc")
    {
        Some(windows) => {
            let winget = dir.join("winget");
            std::fs::create_dir_all(&winget)?;
            for (suffix, text) in winget_files(homepage, version, windows) {
                std::fs::write(winget.join(format!("{WINGET_ID}{suffix}.yaml")), text)?;
            }
        }
        None => println!(
            "no Windows archive in {}: the winget manifest is written where the release job has one",
            dir.display()
        ),
    }
    Ok(())
}

/// krew's `os` and `arch` for a Rust target.
fn platform(target: &str) -> Result<(&'static str, &'static str)> {
    let os = match target {
        t if t.contains("-linux-") => "linux",
        t if t.contains("-apple-") => "darwin",
        t if t.contains("-windows-") => "windows",
        other => bail!("no platform for {other}"),
    };
    let arch = match target.split('-').next() {
        Some("x86_64") => "amd64",
        Some("aarch64") => "arm64",
        other => bail!("no architecture for {other:?}"),
    };
    Ok((os, arch))
}

/// The krew plugin manifest: krew links `kubectl-tokenctl` to the binary, which then names
/// itself `kubectl tokenctl` in its usage and hints.
fn krew(homepage: &str, version: &str, archives: &[Archive]) -> Result<String> {
    let mut text = format!(
        r#"apiVersion: krew.googlecontainertools.github.com/v1alpha2
kind: Plugin
metadata:
  name: tokenctl
spec:
  version: v{version}
  homepage: {homepage}
  shortDescription: Tokens for kubectl from many OIDC providers
  description: |
    Signs in to Keycloak, Entra ID, Auth0, Run:ai or any OpenID Connect provider and hands
    kubectl the right token for each context, as an exec credential plugin.
  platforms:
"#
    );
    for archive in archives {
        let (os, arch) = platform(&archive.target)?;
        let exe = if os == "windows" { ".exe" } else { "" };
        write!(
            text,
            r#"    - selector:
        matchLabels:
          os: {os}
          arch: {arch}
      uri: {url}
      sha256: {sum}
      files:
        - from: {top}/tokenctl{exe}
          to: .
        - from: {top}/LICENSE-*
          to: .
      bin: tokenctl{exe}
"#,
            url = archive.url,
            sum = archive.sum,
            top = archive.top(),
        )?;
    }
    Ok(text)
}

/// The Homebrew formula: the binary, its links, man pages and completions where brew puts
/// them, for each macOS and Linux archive.
fn brew(homepage: &str, version: &str, archives: &[Archive]) -> Result<String> {
    let mut blocks = String::new();
    for (os, block) in [("darwin", "on_macos"), ("linux", "on_linux")] {
        let mut arches = String::new();
        for archive in archives {
            let (archive_os, arch) = platform(&archive.target)?;
            if archive_os != os {
                continue;
            }
            let arch_block = if arch == "arm64" {
                "on_arm"
            } else {
                "on_intel"
            };
            write!(
                arches,
                "    {arch_block} do\n      url \"{}\"\n      sha256 \"{}\"\n    end\n",
                archive.url, archive.sum
            )?;
        }
        if !arches.is_empty() {
            write!(blocks, "\n  {block} do\n{arches}  end\n")?;
        }
    }
    Ok(format!(
        r##"class Tokenctl < Formula
  desc "OAuth and OpenID Connect tokens for kubectl, curl and git"
  homepage "{homepage}"
  version "{version}"
  license any_of: ["MIT", "Apache-2.0"]
{blocks}
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

/// winget's multi-file manifest (version, installer, default locale), as winget-pkgs takes
/// it: the zip holds a portable `tokenctl.exe`, put on PATH as `tokenctl`.
fn winget_files(homepage: &str, version: &str, windows: &Archive) -> [(&'static str, String); 3] {
    let head = |kind: &str| {
        format!(
            "# yaml-language-server: $schema=https://aka.ms/winget-manifest.{kind}.{WINGET_SCHEMA}.schema.json\nPackageIdentifier: {WINGET_ID}\nPackageVersion: {version}\n"
        )
    };
    let tail = |kind: &str| format!("ManifestType: {kind}\nManifestVersion: {WINGET_SCHEMA}\n");
    [
        (
            "",
            format!(
                "{}DefaultLocale: en-US\n{}",
                head("version"),
                tail("version")
            ),
        ),
        (
            ".installer",
            format!(
                "{}InstallerType: zip\nNestedInstallerType: portable\nNestedInstallerFiles:\n  - RelativeFilePath: {top}\\tokenctl.exe\n    PortableCommandAlias: tokenctl\nInstallers:\n  - Architecture: x64\n    InstallerUrl: {url}\n    InstallerSha256: {sum}\n{}",
                head("installer"),
                tail("installer"),
                top = windows.top(),
                url = windows.url,
                sum = windows.sum.to_ascii_uppercase(),
            ),
        ),
        (
            ".locale.en-US",
            format!(
                "{}PackageLocale: en-US\nPublisher: tokenctl\nPackageName: tokenctl\nPackageUrl: {homepage}\nLicense: MIT OR Apache-2.0\nShortDescription: OAuth and OpenID Connect tokens for kubectl, curl and git\nMoniker: tokenctl\n{}",
                head("defaultLocale"),
                tail("defaultLocale"),
            ),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A release with every target's archive, as the release job has it: krew gets each
    /// platform with its sum, Homebrew the macOS and Linux ones, winget the Windows zip.
    #[test]
    fn every_targets_archive_reaches_its_package_managers_manifest() {
        let dir = tempfile::tempdir().unwrap();
        let targets = [
            ("x86_64-unknown-linux-gnu", "tar.gz"),
            ("aarch64-unknown-linux-gnu", "tar.gz"),
            ("aarch64-apple-darwin", "tar.gz"),
            ("x86_64-pc-windows-msvc", "zip"),
        ];
        for (target, ext) in targets {
            std::fs::write(
                dir.path().join(format!("tokenctl-1.2.3-{target}.{ext}")),
                target,
            )
            .unwrap();
        }
        std::fs::write(
            dir.path()
                .join("tokenctl-1.2.2-x86_64-unknown-linux-gnu.tar.gz"),
            "old",
        )
        .unwrap();
        let found = archives(dir.path(), "1.2.3", "https://example.com/releases").unwrap();
        assert_eq!(found.len(), 4, "only this version's archives");
        write(dir.path(), "https://example.com/tokenctl", "1.2.3", &found).unwrap();
        let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
        let sum = |target: &str| format!("{:x}", Sha256::digest(target.as_bytes()));

        let krew = read("tokenctl.yaml");
        for (target, _) in targets {
            assert!(
                krew.contains(&format!("sha256: {}", sum(target))),
                "{target}: {krew}"
            );
        }
        assert!(
            krew.contains("os: windows\n          arch: amd64"),
            "{krew}"
        );
        assert!(
            krew.contains("from: tokenctl-1.2.3-x86_64-pc-windows-msvc/tokenctl.exe")
                && krew.contains("bin: tokenctl.exe"),
            "{krew}"
        );
        assert!(
            krew.contains("uri: https://example.com/releases/v1.2.3/tokenctl-1.2.3-aarch64-apple-darwin.tar.gz"),
            "{krew}"
        );

        let formula = read("tokenctl.rb");
        assert!(formula.contains("on_macos do\n    on_arm do"), "{formula}");
        assert!(
            formula.contains(&sum("aarch64-unknown-linux-gnu")),
            "{formula}"
        );
        assert!(
            !formula.contains(&sum("x86_64-pc-windows-msvc")),
            "{formula}"
        );

        let installer = read("winget/Tokenctl.Tokenctl.installer.yaml");
        assert!(
            installer.contains(&format!(
                "InstallerSha256: {}",
                sum("x86_64-pc-windows-msvc").to_ascii_uppercase()
            )) && installer.contains("PortableCommandAlias: tokenctl"),
            "{installer}"
        );
        for file in [
            "Tokenctl.Tokenctl.yaml",
            "Tokenctl.Tokenctl.locale.en-US.yaml",
        ] {
            let text = read(&format!("winget/{file}"));
            assert!(
                text.contains("PackageVersion: 1.2.3") && text.contains("ManifestVersion: 1.6.0"),
                "{file}: {text}"
            );
        }
    }
}
