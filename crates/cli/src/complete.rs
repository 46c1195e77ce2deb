//! Shell completion. The scripts register `tokenctl` as its own completer, so context,
//! provider and cluster names come from the contexts file at TAB time: no network, no keyring,
//! no validation, and never an error on the terminal.

use std::ffi::OsString;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use clap_complete::engine::CompletionCandidate;
use clap_complete::env::Shells;
use tokenctl_core::internal::config::{DISCOVER, Section, complete_names, config_paths};

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
    let script = String::from_utf8(buf)?;
    // clap_complete's scripts, mended where they fail people (its zsh file completes nothing
    // on the first TAB when autoloaded from $fpath; its bash one reads `--context=` as two
    // words); a clap_complete whose script changed fails here, not at a user's TAB.
    match shell {
        "zsh" => mend(&script, ZSH_REGISTER, ZSH_AUTOLOAD),
        "bash" => [
            (BASH_INDEX, BASH_JOINED_WORDS),
            (BASH_WORDS, BASH_JOINED_CURRENT),
            (BASH_END, BASH_STRIP_PREFIX),
        ]
        .iter()
        .try_fold(script, |script, (from, to)| mend(&script, from, to)),
        _ => Ok(script),
    }
}

fn mend(script: &str, from: &str, to: &str) -> Result<String> {
    anyhow::ensure!(
        script.contains(from),
        "the completion script of clap_complete changed: {from:?} is not in it"
    );
    Ok(script.replacen(from, to, 1))
}

const ZSH_REGISTER: &str = "compdef _clap_dynamic_completer_tokenctl tokenctl\n";

/// Autoloaded as `_tokenctl` from $fpath the file is the completion function itself, and must
/// complete at once; sourced, it registers the function.
const ZSH_AUTOLOAD: &str = r#"if [[ "${funcstack[1]}" == "_tokenctl" ]]; then
    _clap_dynamic_completer_tokenctl "$@"
else
    compdef _clap_dynamic_completer_tokenctl tokenctl
fi
"#;

const BASH_INDEX: &str = r#"    local _CLAP_COMPLETE_INDEX=${COMP_CWORD}
"#;

/// bash splits `--context=dev` at `=` (COMP_WORDBREAKS); clap wants the flag and its value as
/// one word, and bash wants back only what follows the `=`.
const BASH_JOINED_WORDS: &str = r#"    local _CLAP_COMPLETE_INDEX=0 _CLAP_PREFIX="" _clap_i _clap_words=()
    for ((_clap_i = 0; _clap_i < ${#COMP_WORDS[@]}; _clap_i++)); do
        local _clap_last=$((${#_clap_words[@]} - 1))
        if [[ ${COMP_WORDS[_clap_i]} == "=" ]] && ((_clap_last >= 0)) && [[ ${_clap_words[_clap_last]} == --* ]]; then
            _clap_words[_clap_last]+="="
            if ((_clap_i == COMP_CWORD)); then
                _CLAP_COMPLETE_INDEX=$_clap_last
                _CLAP_PREFIX="${_clap_words[_clap_last]}"
            elif ((_clap_i + 1 <= COMP_CWORD)); then
                ((_clap_i++))
                _clap_words[_clap_last]+="${COMP_WORDS[_clap_i]}"
                if ((_clap_i == COMP_CWORD)); then
                    _CLAP_COMPLETE_INDEX=$_clap_last
                    _CLAP_PREFIX="${_clap_words[_clap_last]%%=*}="
                fi
            fi
        else
            _clap_words+=("${COMP_WORDS[_clap_i]}")
            ((_clap_i == COMP_CWORD)) && _CLAP_COMPLETE_INDEX=$((${#_clap_words[@]} - 1))
        fi
    done
"#;

const BASH_WORDS: &str = r#"    local words=("${COMP_WORDS[@]}")
    if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
        words[COMP_CWORD]="$2"
    fi
"#;

const BASH_JOINED_CURRENT: &str = r#"    local words=("${_clap_words[@]}")
    if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
        words[_CLAP_COMPLETE_INDEX]="${_CLAP_PREFIX}$2"
    fi
"#;

const BASH_END: &str = r#"        compopt -o nospace
    fi
}
"#;

const BASH_STRIP_PREFIX: &str = r#"        compopt -o nospace
    fi
    if [[ -n $_CLAP_PREFIX && -n ${COMPREPLY+x} ]]; then
        COMPREPLY=("${COMPREPLY[@]#"$_CLAP_PREFIX"}")
    fi
}
"#;

pub(crate) fn print_script(args: &CompletionArgs) -> Result<()> {
    std::io::Write::write_all(
        &mut std::io::stdout().lock(),
        script(&args.shell)?.as_bytes(),
    )?;
    Ok(())
}

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
