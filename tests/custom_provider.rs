//! tokenctl as a framework: examples/custom-provider, a crate outside the tokenctl crates that
//! registers an Okta dialect and builds its own `mycli`. This builds it with cargo, as its
//! authors would, and runs it against the test IdP's Okta-shaped mount.

use crate::support;

use std::path::PathBuf;
use std::process::Command;

use support::idp::Idp;
use support::{Run, Sandbox, jwt_claims, workspace_root};

/// `cargo build -p custom-provider`: the `mycli` binary beside tokenctl's.
fn build_mycli() -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(workspace_root())
        .args([
            "build",
            "--quiet",
            "-p",
            "custom-provider",
            "--bin",
            "mycli",
        ])
        .status()
        .expect("cargo runs");
    assert!(status.success(), "examples/custom-provider does not build");
    let path = support::tokenctl_bin().with_file_name("mycli");
    assert!(path.is_file(), "{} was not built", path.display());
    path
}

fn mycli(sandbox: &Sandbox, bin: &PathBuf, args: &[&str], env: &[(&str, &str)]) -> Run {
    sandbox.run_program(Command::new(bin).args(args).envs(env.iter().copied()), None)
}

#[test]
#[ignore = "needs cargo and the test IdP (node)"]
fn an_out_of_tree_dialect_is_a_kind_like_the_built_in_ones() {
    let bin = build_mycli();
    let idp = Idp::start();
    let sandbox = Sandbox::new();
    let org = format!("{}/okta", idp.base);

    // Its fields are flags of set-provider, checked as the built-in ones are.
    let help = mycli(&sandbox, &bin, &["config", "set-provider", "--help"], &[]);
    assert!(help.ok().contains("--org-url"), "{}", help.stdout);
    let refused = mycli(
        &sandbox,
        &bin,
        &[
            "config",
            "set-provider",
            "okta",
            "--kind",
            "okta",
            "--org-url",
            &org,
            "--client-id",
            "cli",
            "--authorization-server",
            "oauth2/default",
        ],
        &[],
    );
    assert!(
        refused.fails_with(1).contains("authorization-server"),
        "{}",
        refused.stderr
    );
    mycli(
        &sandbox,
        &bin,
        &[
            "config",
            "set-provider",
            "okta",
            "--kind",
            "okta",
            "--org-url",
            &org,
            "--client-id",
            "cli",
        ],
        &[],
    )
    .ok();
    mycli(
        &sandbox,
        &bin,
        &[
            "config",
            "set-context",
            "work",
            "--provider",
            "okta",
            "--flow",
            "password",
            "--scopes",
            "platform:read",
        ],
        &[],
    )
    .ok();
    mycli(&sandbox, &bin, &["auth", "use-context", "work"], &[]).ok();
    // Its hints name mycli, core's included, never a tokenctl its users do not have.
    let before = mycli(&sandbox, &bin, &["auth", "token"], &[]);
    assert!(
        before
            .fails_with(4)
            .contains("run `mycli --context work auth login`"),
        "{}",
        before.stderr
    );
    assert!(!before.stderr.contains("tokenctl"), "{}", before.stderr);

    // A login through the dialect's endpoints, verified ID token and all.
    let login = mycli(
        &sandbox,
        &bin,
        &["auth", "login", "--provider", "okta"],
        &support::ALICE,
    );
    login.ok();
    assert!(
        login.stderr.contains("Logged in to okta"),
        "{}",
        login.stderr
    );
    let token = mycli(&sandbox, &bin, &["auth", "token"], &[]);
    let claims = jwt_claims(token.ok().trim());
    assert_eq!(claims["iss"], format!("{org}/oauth2/default"));
    assert_eq!(claims["sub"], "alice");

    // TAB completion knows the kind: --provider offers it, and so does --kind.
    let complete = |words: &[&str]| {
        let mut args = vec!["--", "mycli"];
        args.extend_from_slice(words);
        let index = (args.len() - 2).to_string();
        mycli(
            &sandbox,
            &bin,
            &args,
            &[
                ("COMPLETE", "bash"),
                ("_CLAP_COMPLETE_INDEX", index.as_str()),
            ],
        )
    };
    let offered = complete(&["auth", "login", "--provider", "ok"]);
    assert!(
        offered.ok().lines().any(|line| line == "okta"),
        "{}",
        offered.stdout
    );
    // Built without tokenctl's dialects (`default-features = false`): its own kind only.
    let offered = complete(&["config", "set-provider", "other", "--kind", ""]);
    let kinds: Vec<&str> = offered.ok().lines().collect();
    assert_eq!(kinds, ["okta"]);

    // tokenctl itself has no such kind: the dialect lives only where it is linked.
    let plain = sandbox.run(["config", "set-provider", "x", "--kind", "okta"]);
    assert_eq!(plain.code, 2, "{}", plain.stderr);
}
