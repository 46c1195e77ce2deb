//! completions/ and man/ are committed; they must match what `cargo xtask gen` makes now.

mod support;

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
