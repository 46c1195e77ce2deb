//! Per-directory contexts (`.tokenctl`), through the real binary: two checkouts, two contexts,
//! at the same time, and a file nobody allowed never counts.

use crate::support;

use std::path::Path;
use std::process::Stdio;

use support::idp::Idp;
use support::{Run, Sandbox, jwt_claims, wait_bounded};

/// Two machine contexts on two clients of the test IdP; `current-context` is a third.
fn two_clients(idp: &Idp) -> Sandbox {
    let base = &idp.base;
    Sandbox::with_config(&format!(
        "\
current-context: other
providers:
  - {{name: a, kind: keycloak, server: '{base}', realm: nmr, client-id: service, client-secret: service-secret}}
  - {{name: b, kind: keycloak, server: '{base}', realm: nmr, client-id: service-post, client-secret: service-post-secret}}
contexts:
  - {{name: team-a, provider: a, flow: client-credentials}}
  - {{name: team-b, provider: b, flow: client-credentials}}
  - {{name: other, provider: a, flow: client-credentials, scopes: [platform:read]}}
"
    ))
}

fn run_in(sandbox: &Sandbox, dir: &Path, args: &[&str]) -> Run {
    support::finish(sandbox.command(args).current_dir(dir), None, "tokenctl")
}

#[test]
#[ignore = "needs the test IdP (node)"]
fn two_shells_in_two_checkouts_get_their_own_contexts_at_once() {
    let idp = Idp::start();
    let sandbox = two_clients(&idp);
    let repo_a = sandbox.path("src/repo-a");
    let repo_b = sandbox.path("src/repo-b");
    std::fs::create_dir_all(repo_a.join("deep/er")).unwrap();
    std::fs::create_dir_all(&repo_b).unwrap();
    let before = sandbox.read_config();

    let said = run_in(
        &sandbox,
        &repo_a,
        &["auth", "use-context", "team-a", "--here"],
    );
    assert!(said.ok().is_empty());
    assert!(
        said.stderr.contains("current-context unchanged"),
        "{}",
        said.stderr
    );
    run_in(
        &sandbox,
        &repo_b,
        &["auth", "use-context", "team-b", "--here"],
    )
    .ok();
    assert_eq!(
        std::fs::read_to_string(repo_a.join(".tokenctl")).unwrap(),
        "context: \"team-a\"\n"
    );

    // Both at once, many times over, from below the files as well.
    let threads: Vec<_> = (0..6)
        .map(|i| {
            let dir = if i % 2 == 0 {
                repo_a.join("deep/er")
            } else {
                repo_b.clone()
            };
            let mut command = sandbox.command(["auth", "token"]);
            command
                .current_dir(&dir)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            std::thread::spawn(move || {
                (
                    i,
                    Run::from(wait_bounded(command.spawn().unwrap(), "auth token")),
                )
            })
        })
        .collect();
    for thread in threads {
        let (i, run) = thread.join().unwrap();
        let claims = jwt_claims(run.ok().trim());
        let expected = if i % 2 == 0 {
            "service"
        } else {
            "service-post"
        };
        assert_eq!(claims["client_id"], expected, "run {i}: {claims}");
    }
    assert_eq!(
        sandbox.read_config(),
        before,
        "current-context in the file is untouched"
    );

    // Where the choice came from, in words and for scripts.
    let verbose = run_in(&sandbox, &repo_a, &["auth", "current-context", "-v"]);
    assert_eq!(verbose.ok(), "team-a\n");
    assert!(
        verbose.stderr.contains(&format!(
            "from {}",
            repo_a.canonicalize().unwrap().join(".tokenctl").display()
        )),
        "{}",
        verbose.stderr
    );
    let status = run_in(&sandbox, &repo_b, &["auth", "status", "-o", "json"]);
    let doc: serde_json::Value = serde_json::from_str(status.ok()).unwrap();
    assert_eq!(doc["context"], "team-b");
    assert_eq!(doc["context_from"], "directory");
    assert!(
        doc["context_file"]
            .as_str()
            .unwrap()
            .ends_with("repo-b/.tokenctl")
    );

    // --context and TOKENCTL_CONTEXT still win; outside the checkouts current-context does.
    let asked = run_in(
        &sandbox,
        &repo_a,
        &["--context", "team-b", "auth", "current-context"],
    );
    assert_eq!(asked.ok(), "team-b\n");
    assert_eq!(
        run_in(&sandbox, &sandbox.path("src"), &["auth", "current-context"]).ok(),
        "other\n"
    );

    // use-context inside: current-context changes, and the file still wins here.
    let switched = run_in(&sandbox, &repo_a, &["auth", "use-context", "team-b"]);
    switched.ok();
    assert!(
        switched
            .stderr
            .contains("selects \"team-a\" in this directory and wins over current-context here"),
        "{}",
        switched.stderr
    );
    assert_eq!(
        run_in(&sandbox, &repo_a, &["auth", "current-context"]).ok(),
        "team-a\n"
    );
}

#[test]
#[ignore = "needs the test IdP (node)"]
fn a_file_nobody_allowed_is_ignored_with_one_line_until_allowed() {
    let idp = Idp::start();
    let sandbox = two_clients(&idp);
    let repo = sandbox.path("src/cloned");
    std::fs::create_dir_all(&repo).unwrap();
    // As a cloned repository would bring it.
    std::fs::write(repo.join(".tokenctl"), "context: team-b\n").unwrap();
    let path = repo.canonicalize().unwrap().join(".tokenctl");

    // Listing says which context applies, with one line about the file…
    let run = run_in(&sandbox, &repo, &["auth", "current-context"]);
    assert_eq!(run.ok(), "other\n");
    let warnings: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(warnings.len(), 1, "{}", run.stderr);
    assert!(
        warnings[0].contains(&format!("{} ignored: it is not allowed", path.display()))
            && warnings[0].contains("tokenctl config allow"),
        "{}",
        run.stderr
    );
    // …but no token of current-context is handed out in the file's place (the security
    // review's L5: a pinned directory whose file changed must not act on prod); --context says.
    let run = run_in(&sandbox, &repo, &["auth", "token"]);
    let stderr = run.fails_with(1);
    assert!(
        stderr.contains(&format!("{} does not count", path.display()))
            && stderr.contains("tokenctl config allow")
            && stderr.contains("--context"),
        "{stderr}"
    );
    let run = run_in(&sandbox, &repo, &["--context", "other", "auth", "token"]);
    assert_eq!(jwt_claims(run.ok().trim())["scope"], "platform:read");

    let allowed = run_in(&sandbox, &repo, &["config", "allow"]);
    allowed.ok();
    assert!(
        allowed.stderr.contains("  context: team-b") && allowed.stderr.contains("Allowed"),
        "it shows what it allows: {}",
        allowed.stderr
    );
    let run = run_in(&sandbox, &repo, &["auth", "token"]);
    assert_eq!(jwt_claims(run.ok().trim())["client_id"], "service-post");
    assert!(run.stderr.is_empty(), "{}", run.stderr);

    // A change must be allowed again.
    std::fs::write(repo.join(".tokenctl"), "context: team-a\n").unwrap();
    let run = run_in(&sandbox, &repo, &["auth", "current-context"]);
    assert_eq!(run.ok(), "other\n");
    assert!(
        run.stderr.contains("changed since it was allowed"),
        "{}",
        run.stderr
    );

    // Others could write it: never counts, whatever was allowed.
    run_in(&sandbox, &repo, &["config", "allow", "."]).ok();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            repo.join(".tokenctl"),
            std::fs::Permissions::from_mode(0o666),
        )
        .unwrap();
        let run = run_in(&sandbox, &repo, &["auth", "current-context"]);
        assert_eq!(run.ok(), "other\n");
        assert!(run.stderr.contains("writable by others"), "{}", run.stderr);
        let refused = run_in(&sandbox, &repo, &["config", "allow"]);
        assert!(refused.fails_with(1).contains("writable by others"));
    }

    // A file naming a context the user does not have stops with its path.
    std::fs::write(repo.join(".tokenctl"), "context: nowhere\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            repo.join(".tokenctl"),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
    }
    run_in(&sandbox, &repo, &["config", "allow"]).ok();
    let run = run_in(&sandbox, &repo, &["auth", "token"]);
    let stderr = run.fails_with(1);
    assert!(
        stderr.contains(&format!(
            "{}: context \"nowhere\" is not defined",
            path.display()
        )),
        "{stderr}"
    );
    // The same words from a command that only lists contexts.
    let run = run_in(&sandbox, &repo, &["auth", "current-context"]);
    let stderr = run.fails_with(1);
    assert!(
        stderr.contains(&format!(
            "{}: context \"nowhere\" is not defined",
            path.display()
        )),
        "{stderr}"
    );
}
