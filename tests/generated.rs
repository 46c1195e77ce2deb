//! completions/ and man/ are committed; they must match what `cargo xtask gen` makes now.

use crate::support;

use std::collections::BTreeMap;
use std::path::Path;

use support::workspace_root;

fn read_dir(dir: &Path) -> BTreeMap<String, String> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
        .map(|entry| {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(entry.path()).unwrap())
        })
        .collect()
}

fn assert_fresh(committed: &Path, generate: impl Fn(&Path) -> anyhow::Result<()>) {
    let fresh = tempfile::tempdir().unwrap();
    generate(fresh.path()).unwrap();
    let (want, have) = (read_dir(fresh.path()), read_dir(committed));
    let want_names: Vec<&String> = want.keys().collect();
    let have_names: Vec<&String> = have.keys().collect();
    assert_eq!(
        have_names,
        want_names,
        "{} is stale: run `cargo xtask gen`",
        committed.display()
    );
    for (name, text) in &want {
        assert!(
            have[name] == *text,
            "{}/{name} is stale: run `cargo xtask gen`",
            committed.display()
        );
    }
}

#[test]
fn completion_scripts_are_up_to_date() {
    assert_fresh(
        &workspace_root().join("completions"),
        tokenctl_cli::generate::write_completions,
    );
}

#[test]
fn man_pages_are_up_to_date_one_per_command() {
    let man = workspace_root().join("man");
    assert_fresh(&man, tokenctl_cli::generate::write_man_pages);
    let pages = read_dir(&man);
    for page in [
        "tokenctl.1",
        "tokenctl-auth-use-context.1",
        "tokenctl-config-set-provider.1",
        "tokenctl-completion.1",
    ] {
        assert!(pages.contains_key(page), "{page} in {:?}", pages.keys());
    }
    assert!(
        pages["tokenctl-config-set-provider.1"].contains("tenant"),
        "dialect fields reach the man page"
    );
}

/// Every command's `--help` ends with examples, and every man page has EXAMPLES, EXIT STATUS,
/// ENVIRONMENT (each variable tokenctl reads), FILES and SEE ALSO.
#[test]
fn every_command_has_examples_and_every_man_page_the_usual_sections() {
    fn walk(cmd: &mut clap::Command, path: &str, seen: &mut Vec<String>) {
        let help = cmd.render_long_help().to_string();
        assert!(
            help.contains("\nExamples:\n  # "),
            "`tokenctl {path} --help` has no examples:\n{help}"
        );
        // A command in an example fits 80 columns: a long one is folded at its words.
        let examples = help.split("\nExamples:\n").nth(1).unwrap_or_default();
        for line in examples
            .lines()
            .filter(|line| !line.trim_start().starts_with('#'))
        {
            assert!(
                line.chars().count() <= 80,
                "`tokenctl {path} --help` has an example wider than 80 columns:\n{line}"
            );
        }
        seen.push(path.to_owned());
        for sub in cmd
            .get_subcommands_mut()
            .filter(|sub| sub.get_name() != "help")
        {
            let at = format!("{path} {}", sub.get_name()).trim().to_owned();
            walk(sub, &at, seen);
        }
    }
    let mut root = tokenctl_cli::command();
    root.build();
    let mut seen = Vec::new();
    walk(&mut root, "", &mut seen);
    assert!(seen.len() > 25, "{seen:?}");

    let pages = read_dir(&workspace_root().join("man"));
    for (name, page) in &pages {
        for section in [
            ".SH EXAMPLES",
            ".SH \"EXIT STATUS\"",
            ".SH ENVIRONMENT",
            ".SH FILES",
            ".SH \"SEE ALSO\"",
        ] {
            assert!(page.contains(section), "{name} lacks {section}");
        }
        for variable in [
            "TOKENCTL_CONFIG",
            "TOKENCTL_CONTEXT",
            "TOKENCTL_USERNAME",
            "TOKENCTL_PASSWORD",
            "BROWSER",
            "NO_COLOR",
            "RUST_LOG",
            "KUBERNETES_EXEC_INFO",
            "KUBECONFIG",
            "XDG_CONFIG_HOME",
            "XDG_DATA_HOME",
            "HTTPS_PROXY",
            "NO_PROXY",
            "SSL_CERT_FILE",
        ] {
            assert!(
                page.contains(variable),
                "{name}: ENVIRONMENT lacks {variable}"
            );
        }
    }
}
