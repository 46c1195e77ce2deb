//! Shell completion. The scripts register `tokenctl` as its own completer, so context,
//! provider and cluster names come from the contexts file at TAB time: no network, no keyring,
//! no validation, and never an error on the terminal.

use std::ffi::OsString;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use clap_complete::engine::CompletionCandidate;
use clap_complete::env::Shells;
use tokenctl_core::config::{DISCOVER, Section, complete_names, config_paths};

/// The environment variable the registration scripts set to ask for completions.
pub const COMPLETE_ENV: &str = "COMPLETE";

/// The shells tokenctl writes a completion script for.
pub const SHELLS: [&str; 5] = ["bash", "zsh", "fish", "powershell", "elvish"];

#[derive(Debug, Args)]
pub struct CompletionArgs {
    /// Shell to complete in
    #[arg(value_parser = clap::builder::PossibleValuesParser::new(SHELLS))]
    pub shell: String,
}

/// The registration script for `shell`; it calls `tokenctl` (found on PATH) for candidates.
pub fn script(shell: &str) -> Result<String> {
    let shells = Shells::builtins();
    let completer = shells
        .completer(shell)
        .with_context(|| format!("no completion support for {shell}"))?;
    let mut buf = Vec::new();
    completer.write_registration(COMPLETE_ENV, "tokenctl", "tokenctl", "tokenctl", &mut buf)?;
    Ok(String::from_utf8(buf)?)
}

pub(crate) fn print_script(args: &CompletionArgs) -> Result<()> {
    std::io::Write::write_all(
        &mut std::io::stdout().lock(),
        script(&args.shell)?.as_bytes(),
    )?;
    Ok(())
}

/// The contexts files of the command line being completed: `--config` if it is on that
/// line, else what `TOKENCTL_CONFIG` or the default say.
fn completion_paths() -> Vec<PathBuf> {
    let args: Vec<OsString> = std::env::args_os().collect();
    let explicit = args.iter().enumerate().find_map(|(i, arg)| {
        let text = arg.to_str()?;
        if text == "--config" {
            args.get(i + 1).map(PathBuf::from)
        } else {
            text.strip_prefix("--config=").map(PathBuf::from)
        }
    });
    config_paths(explicit.as_deref())
}

fn candidates(section: Section) -> Vec<CompletionCandidate> {
    complete_names(&completion_paths(), section)
        .into_iter()
        .map(CompletionCandidate::new)
        .collect()
}

pub fn contexts() -> Vec<CompletionCandidate> {
    candidates(Section::Contexts)
}

pub fn providers() -> Vec<CompletionCandidate> {
    candidates(Section::Providers)
}

pub fn providers_or_discover() -> Vec<CompletionCandidate> {
    let mut all = providers();
    all.push(
        CompletionCandidate::new(DISCOVER)
            .help(Some("ask the cluster which provider to use".into())),
    );
    all
}

pub fn clusters() -> Vec<CompletionCandidate> {
    candidates(Section::Clusters)
}
