//! TAB completion in real shells, sourcing the committed scripts in completions/.

use crate::support;

use std::process::Command;

use support::tmux::Tmux;
use support::{SAMPLE, Sandbox, require_tool, workspace_root};

/// What bash offers for `line` (completing its last word) with the committed script sourced.
fn bash_complete(sandbox: &Sandbox, line: &str) -> Vec<String> {
    let bash = require_tool("bash", "apt-get install bash");
    let script = workspace_root().join("completions/tokenctl.bash");
    let words: Vec<&str> = line.split(' ').collect();
    let driver = format!(
        r#"source '{script}'
COMP_WORDS=({words})
COMP_CWORD={cword}
COMP_LINE='{line}'
COMP_POINT=${{#COMP_LINE}}
COMP_TYPE=9
complete -p tokenctl >/dev/null || {{ echo 'no completion registered' >&2; exit 3; }}
_clap_complete_tokenctl tokenctl '{current}' '{previous}'
printf '%s\n' "${{COMPREPLY[@]}}""#,
        script = script.display(),
        words = words
            .iter()
            .map(|w| format!("'{w}'"))
            .collect::<Vec<_>>()
            .join(" "),
        cword = words.len() - 1,
        current = words[words.len() - 1],
        previous = words[words.len() - 2],
    );
    let mut command = Command::new(bash);
    command.args(["--norc", "--noprofile", "-c", &driver]);
    sandbox.isolate(&mut command);
    let output = command.output().expect("bash runs");
    assert!(
        output.status.success(),
        "bash: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
#[ignore = "needs bash"]
fn bash_completes_context_names_from_the_contexts_file() {
    let sandbox = Sandbox::with_config(SAMPLE);
    assert_eq!(
        bash_complete(&sandbox, "tokenctl auth use-context p"),
        ["prod", "prod-eu"]
    );
    assert_eq!(
        bash_complete(&sandbox, "tokenctl auth use-context d"),
        ["dev"]
    );
    assert_eq!(
        bash_complete(&sandbox, "tokenctl --context prod-"),
        ["prod-eu"]
    );
}

#[test]
#[ignore = "needs bash"]
fn bash_completes_providers_clusters_kinds_and_subcommands() {
    let sandbox = Sandbox::with_config(SAMPLE);
    assert_eq!(
        bash_complete(&sandbox, "tokenctl config set-context x --provider "),
        ["corp", "sso", "discover"]
    );
    assert_eq!(
        bash_complete(&sandbox, "tokenctl config set-context x --cluster "),
        ["prod"]
    );
    assert_eq!(
        bash_complete(&sandbox, "tokenctl config set-provider x --kind "),
        ["auth0", "azure", "keycloak", "oidc", "runai"]
    );
    let auth = bash_complete(&sandbox, "tokenctl auth ");
    for subcommand in ["use-context", "current-context", "get-contexts"] {
        assert!(auth.iter().any(|c| c == subcommand), "{auth:?}");
    }
}

#[test]
#[ignore = "needs bash"]
fn completion_follows_a_config_flag_on_the_line_and_survives_a_broken_file() {
    let sandbox = Sandbox::with_config("contexts: [ {name: broken");
    let offered = bash_complete(&sandbox, "tokenctl auth use-context ");
    assert!(
        offered.iter().all(|c| c.starts_with("--")),
        "only flags, no error: {offered:?}"
    );
    let other = sandbox.path("other.yaml");
    sandbox.write(&other, SAMPLE);
    let line = format!(
        "tokenctl --config {} auth use-context prod-",
        other.display()
    );
    assert_eq!(bash_complete(&sandbox, &line), ["prod-eu"]);
}

#[test]
#[ignore = "needs fish"]
fn fish_completes_context_names() {
    let fish = require_tool("fish", "apt-get install fish");
    let sandbox = Sandbox::with_config(SAMPLE);
    let script = workspace_root().join("completions/tokenctl.fish");
    let mut command = Command::new(fish);
    command.args([
        "--no-config",
        "-c",
        &format!(
            "source '{}'; complete -C 'tokenctl auth use-context p'",
            script.display()
        ),
    ]);
    sandbox.isolate(&mut command);
    let output = command.output().expect("fish runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let offered: Vec<&str> = stdout
        .lines()
        .map(|l| l.split('\t').next().unwrap_or(""))
        .collect();
    assert_eq!(
        offered,
        ["prod", "prod-eu"],
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_completion_command_prints_the_committed_scripts() {
    let sandbox = Sandbox::new();
    for (shell, file) in [
        ("bash", "tokenctl.bash"),
        ("zsh", "_tokenctl"),
        ("fish", "tokenctl.fish"),
        ("powershell", "_tokenctl.ps1"),
        ("elvish", "tokenctl.elv"),
    ] {
        let printed = sandbox.run(["completion", shell]).ok().to_owned();
        let committed =
            std::fs::read_to_string(workspace_root().join("completions").join(file)).unwrap();
        assert_eq!(printed, committed, "{shell}");
    }
    sandbox.run(["completion", "tcsh"]).fails_with(2);
}

/// `config set-provider NAME --<TAB>` offers the fields of NAME's kind (or of `--kind`) only,
/// and plugins on PATH complete as commands.
#[test]
#[ignore = "needs bash"]
fn bash_offers_a_kinds_own_fields_and_plugins_as_commands() {
    let sandbox = Sandbox::with_config(SAMPLE);
    let flags = bash_complete(&sandbox, "tokenctl config set-provider sso --");
    assert!(flags.iter().any(|f| f == "--realm"), "{flags:?}");
    assert!(
        !flags.iter().any(|f| f == "--tenant" || f == "--audience"),
        "{flags:?}"
    );
    let flags = bash_complete(&sandbox, "tokenctl config set-provider new --kind azure --");
    assert!(flags.iter().any(|f| f == "--tenant"), "{flags:?}");
    assert!(!flags.iter().any(|f| f == "--realm"), "{flags:?}");

    let plugins = sandbox.path("plugins");
    let plugin = plugins.join("tokenctl-hello");
    sandbox.write(&plugin, "#!/bin/sh\necho hello\n");
    std::fs::set_permissions(&plugin, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let bash = require_tool("bash", "apt-get install bash");
    let script = workspace_root().join("completions/tokenctl.bash");
    let mut command = Command::new(bash);
    command.args([
        "--norc",
        "--noprofile",
        "-c",
        &format!(
            "source '{}'; PATH='{}':$PATH; COMP_WORDS=(tokenctl he); COMP_CWORD=1; COMP_TYPE=9; \
             _clap_complete_tokenctl tokenctl he tokenctl; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            script.display(),
            plugins.display()
        ),
    ]);
    sandbox.isolate(&mut command);
    let output = command.output().unwrap();
    let offered = String::from_utf8_lossy(&output.stdout);
    assert!(
        offered.lines().any(|line| line.trim() == "hello"),
        "{offered}"
    );
}

/// In real shells at a terminal: zsh with `_tokenctl` in a directory of the user's on $fpath
/// (as the README installs it) completes on the very first TAB of a new shell, and bash
/// completes `--context=` values although it splits the word at `=`.
#[test]
#[ignore = "needs tmux, zsh, bash"]
fn the_first_tab_completes_in_zsh_and_bash_completes_after_an_equals_sign() {
    require_tool("zsh", "apt-get install zsh");
    let sandbox = Sandbox::with_config(SAMPLE);
    let home = sandbox.path("");
    let functions = home.join(".zfunc");
    std::fs::create_dir_all(&functions).unwrap();
    std::fs::copy(
        workspace_root().join("completions/_tokenctl"),
        functions.join("_tokenctl"),
    )
    .unwrap();
    sandbox.write(
        &home.join(".zshrc"),
        "fpath=(~/.zfunc $fpath)\nautoload -Uz compinit && compinit -u\nPROMPT='zsh> '\n",
    );
    let zsh = Tmux::start(&sandbox, 80, 24, false, "exec zsh -i\n");
    zsh.screen_with("zsh>", false);
    zsh.tmux(&[
        "send-keys",
        "-t",
        "0",
        "-l",
        "tokenctl auth use-context prod-",
    ]);
    zsh.tmux(&["send-keys", "-t", "0", "Tab"]);
    zsh.screen_with("tokenctl auth use-context prod-eu", false);

    let script = workspace_root().join("completions/tokenctl.bash");
    let bash = Tmux::start(&sandbox, 80, 24, false, "exec bash --norc --noprofile -i\n");
    bash.answer(&format!("PS1='bash> '; source '{}'", script.display()));
    bash.screen_with("bash>", false);
    bash.tmux(&["send-keys", "-t", "0", "-l", "tokenctl --context=prod-"]);
    bash.tmux(&["send-keys", "-t", "0", "Tab"]);
    bash.screen_with("tokenctl --context=prod-eu", false);
}
