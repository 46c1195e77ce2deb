//! `tokenctl completion SHELL`: the script that registers tokenctl as its own completer in a
//! shell; the candidates themselves come from `crate::complete` at TAB time.

use anyhow::{Context, Result};
use clap::Args;
use clap_complete::env::Shells;

/// The environment variable the registration scripts set to ask for completions.
pub(crate) const COMPLETE_ENV: &str = "COMPLETE";

/// The shells tokenctl writes a completion script for.
pub(crate) const SHELLS: [&str; 5] = ["bash", "zsh", "fish", "powershell", "elvish"];

#[derive(Debug, Args)]
pub struct CompletionArgs {
    /// Shell to complete in
    #[arg(value_parser = clap::builder::PossibleValuesParser::new(SHELLS))]
    pub shell: String,
}

/// The registration script for `shell`; it calls `tokenctl` (found on PATH) for candidates.
pub(crate) fn script(shell: &str) -> Result<String> {
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

/// `tokenctl completion SHELL`: the registration script on stdout.
pub(crate) fn run(args: &CompletionArgs) -> Result<()> {
    std::io::Write::write_all(
        &mut std::io::stdout().lock(),
        script(&args.shell)?.as_bytes(),
    )?;
    Ok(())
}
