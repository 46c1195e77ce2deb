//! Shell completion. The scripts register `tokenctl` as its own completer, so context,
//! provider and cluster names come from the contexts file at TAB time: no network, no keyring,
//! no validation, and never an error on the terminal.

use std::ffi::OsString;
use std::path::PathBuf;

use clap_complete::engine::CompletionCandidate;
use tokenctl_core::internal::config::{DISCOVER, Section, complete_names, config_paths};

/// The contexts files of the command line being completed: `--config` if it is on that
/// line, else what `TOKENCTL_CONFIG` or the default say.
pub(crate) fn completion_paths() -> Vec<PathBuf> {
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

/// `auth login --provider`: the providers by name, then each kind (a kind no provider has
/// yet starts a guided setup), with what it is for.
pub fn providers_or_kinds() -> Vec<CompletionCandidate> {
    let mut all = providers();
    for dialect in tokenctl_core::provider::providers() {
        if !all
            .iter()
            .any(|named| named.get_value() == std::ffi::OsStr::new(dialect.kind()))
        {
            all.push(
                CompletionCandidate::new(dialect.kind()).help(Some(dialect.description().into())),
            );
        }
    }
    all
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
