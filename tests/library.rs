//! The library: a program built on `tokenctl_core::Session` (examples/session.rs) uses the
//! login `tokenctl auth login` stored, refreshes it within a minute of expiry, and shares one
//! access token, and one refresh, among all its sessions and tasks.

use crate::support;

use std::process::Stdio;

use support::{Run, Sandbox};

const TOKEN_ENDPOINT: &str = "POST /realms/nmr/protocol/openid-connect/token";

/// Runs examples/session.rs in the sandbox.
fn session_example(sandbox: &Sandbox, args: &[&str]) -> Run {
    let mut command = std::process::Command::new(support::example_bin("session"));
    sandbox.isolate(&mut command);
    let child = command
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the example runs");
    Run::from(support::wait_bounded(child, "examples/session"))
}

/// The `jti` each task printed ("task N: token JTI expires EXP").
fn tokens_seen(run: &Run) -> Vec<String> {
    run.ok()
        .lines()
        .map(|line| line.split_whitespace().nth(3).unwrap().to_owned())
        .collect()
}

fn stored_jti(sandbox: &Sandbox) -> String {
    let decoded = sandbox
        .run([
            "auth",
            "token",
            "--decode",
            "--no-auto-refresh",
            "--min-valid",
            "0s",
        ])
        .ok()
        .to_owned();
    let decoded: serde_json::Value = serde_json::from_str(&decoded).unwrap();
    decoded["claims"]["jti"].as_str().unwrap().to_owned()
}

#[test]
#[ignore = "needs the test IdP (node)"]
fn twenty_sessions_in_one_program_share_one_refresh() {
    let (idp, sandbox) = support::idp::logged_in(&[]);
    let logins = idp.requests(TOKEN_ENDPOINT);

    // Two minutes left: enough for the library (it refreshes inside the last minute; the CLI
    // would refresh inside five).
    sandbox.age_login(120);
    let run = session_example(&sandbox, &["--tasks", "20"]);
    let seen = tokens_seen(&run);
    assert_eq!(seen.len(), 20);
    assert!(seen.iter().all(|jti| *jti == stored_jti(&sandbox)));
    assert_eq!(idp.requests(TOKEN_ENDPOINT), logins, "no refresh");

    // Thirty seconds left: one refresh for all twenty tasks, each with a Session of its own.
    sandbox.age_login(30);
    let before = stored_jti(&sandbox);
    let run = session_example(&sandbox, &["--tasks", "20"]);
    let seen = tokens_seen(&run);
    assert_eq!(
        idp.requests(TOKEN_ENDPOINT),
        logins + 1,
        "exactly one refresh"
    );
    assert!(seen.iter().all(|jti| *jti == seen[0]), "{seen:?}");
    assert_ne!(seen[0], before, "a new token");
    assert_eq!(seen[0], stored_jti(&sandbox), "saved for the CLI too");
}

#[test]
#[ignore = "needs the test IdP (node)"]
fn a_program_without_a_login_is_told_to_log_in() {
    let (_idp, sandbox) = support::idp::logged_in(&[]);
    sandbox.run(["auth", "logout"]).ok();
    let run = session_example(&sandbox, &[]);
    let stderr = run.fails_with(4);
    assert!(
        stderr.contains(
            "not logged in to sso (context \"sso\"): run `tokenctl --context sso auth login`"
        ),
        "{stderr}"
    );
}

/// Runs examples/mycli.rs in the sandbox.
fn mycli(sandbox: &Sandbox, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = std::process::Command::new(support::example_bin("mycli"));
    sandbox.isolate(&mut command);
    let child = command
        .args(args)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the example runs");
    Run::from(support::wait_bounded(child, "examples/mycli"))
}

#[test]
#[ignore = "needs openssl, the test IdP (node)"]
fn a_host_cli_mounts_the_auth_group_and_calls_its_cluster_with_a_session() {
    let idp = support::idp::Idp::start();
    let api = support::idp::ApiServer::for_audience(
        &[format!("{}/realms/nmr", idp.base)],
        support::idp::RESOURCE,
    );
    let sandbox = Sandbox::with_config(&format!(
        "providers:\n  - {{name: sso, kind: keycloak, server: '{}', realm: nmr, client-id: cli}}\n\
         clusters:\n  - {{name: stub, server: '{}', certificate-authority: '{}'}}\n\
         contexts:\n  - {{name: sso, provider: sso, cluster: stub, flow: password}}\ncurrent-context: sso\n",
        idp.base, api.base, api.ca
    ));
    let help = mycli(&sandbox, &["auth", "--help"], &[]);
    assert!(help.ok().contains("exec-credential"), "{}", help.stdout);
    mycli(
        &sandbox,
        &["auth", "login"],
        &[
            ("TOKENCTL_USERNAME", "alice"),
            ("TOKENCTL_PASSWORD", "correct-horse"),
        ],
    )
    .ok();
    let token = mycli(&sandbox, &["auth", "token"], &[]).ok().to_owned();
    assert_eq!(
        token,
        sandbox.run(["auth", "token"]).ok(),
        "one login for both"
    );
    let whoami = mycli(&sandbox, &["whoami"], &[]);
    assert!(
        whoami.ok().contains("\"sub\":\"alice\""),
        "{}",
        whoami.stdout
    );

    mycli(&sandbox, &["auth", "logout"], &[]).ok();
    let stderr = mycli(&sandbox, &["whoami"], &[]).fails_with(4).to_owned();
    assert!(
        stderr.contains("run `tokenctl --context sso auth login`"),
        "{stderr}"
    );
    let stderr = mycli(&sandbox, &["auth", "token"], &[])
        .fails_with(4)
        .to_owned();
    assert!(stderr.contains("not logged in"), "{stderr}");
}
