//! Tokens for other programs, through the real binary: `auth env` evaluated by real shells,
//! `exec` with its token file, git's credential protocol driven by git itself, and Docker's
//! credential-helper protocol as Docker speaks it.

use crate::support;

use std::process::Command;

use support::idp::Idp;
use support::{Run, Sandbox, jwt_claims};

fn machine(idp: &Idp) -> Sandbox {
    let base = &idp.base;
    Sandbox::with_config(&format!(
        "\
current-context: svc
providers:
  - {{name: kc, kind: keycloak, server: '{base}', realm: nmr, client-id: service, client-secret: service-secret}}
  - {{name: short, kind: keycloak, server: '{base}', realm: nmr, client-id: service-short, client-secret: service-short-secret}}
  - {{name: other, kind: keycloak, server: '{base}', realm: nmr, client-id: service-post, client-secret: service-post-secret}}
contexts:
  - name: svc
    provider: kc
    flow: client-credentials
    git-hosts: [git.example.com, 'localhost:3000']
    registries: registry.example.com
  - name: short
    provider: short
    flow: client-credentials
  - name: builds
    provider: other
    flow: client-credentials
    git-username: ci-bot
    registries: ['https://ghcr.example.com']
    registry-username: robot
"
    ))
}

fn shell(sandbox: &Sandbox, program: &str, script: &str) -> Run {
    sandbox.run_program(Command::new(program).arg("-c").arg(script), None)
}

#[test]
#[ignore = "needs the test IdP (node), sh and fish"]
fn auth_env_exports_a_fresh_token_that_sh_and_fish_read_back() {
    let idp = Idp::start();
    let sandbox = machine(&idp);
    let token = sandbox.run(["auth", "token"]).ok().trim().to_owned();

    let sh = shell(
        &sandbox,
        "sh",
        "eval \"$(tokenctl auth env --shell sh)\" && printf '%s\\n%s\\n' \"$TOKENCTL_TOKEN\" \"$TOKENCTL_TOKEN_EXPIRES_AT\"",
    );
    let lines: Vec<&str> = sh.ok().lines().collect();
    assert_eq!(lines[0], token);
    assert!(
        lines[1].ends_with('Z') && lines[1].contains('T'),
        "RFC 3339: {}",
        lines[1]
    );

    // $SHELL picks the syntax; --var names the variable.
    support::require_tool("fish", "apt-get install fish");
    let exports = sandbox.run_env(
        ["auth", "env", "--var", "API_TOKEN"],
        &[("SHELL", "/usr/bin/fish")],
    );
    assert!(
        exports.ok().starts_with("set -gx API_TOKEN '"),
        "{}",
        exports.stdout
    );
    let fish = shell(
        &sandbox,
        "fish",
        "tokenctl auth env --shell fish --var API_TOKEN | source; and echo $API_TOKEN",
    );
    assert_eq!(fish.ok().trim(), token);

    let powershell = sandbox.run(["auth", "env", "--shell", "powershell"]);
    assert!(
        powershell
            .ok()
            .starts_with(&format!("$env:TOKENCTL_TOKEN = '{token}'")),
        "{}",
        powershell.stdout
    );
    let refused = sandbox.run(["auth", "env", "--var", "1X"]);
    assert!(refused.fails_with(2).contains("is not a variable name"));
}

#[test]
#[ignore = "needs the test IdP (node) and sh"]
fn exec_passes_the_token_keeps_its_file_fresh_and_passes_the_exit_code() {
    let idp = Idp::start();
    let sandbox = machine(&idp);
    let script = "test \"$GH_TOKEN\" = \"$(cat \"$TOKENCTL_TOKEN_FILE\")\" || exit 99; \
                  stat -L -c %a \"$TOKENCTL_TOKEN_FILE\"; echo \"$TOKENCTL_TOKEN_FILE\"; exit 7";
    let run = sandbox.run(["exec", "--var", "GH_TOKEN", "--", "sh", "-c", script]);
    assert_eq!(run.code, 7, "the command's exit code: {}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines[0], "600", "{}", run.stdout);
    // A memory file the command inherits: nothing on a disk to remove.
    assert!(lines[1].starts_with("/dev/fd/"), "{}", lines[1]);

    // Even when tokenctl is killed (SIGKILL) while the command runs, no token file is left
    // behind (the security review's L2); the command still reads its token.
    let tmp = sandbox.path("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let tmp_text = tmp.to_str().unwrap();
    let killed = sandbox.run_env(
        [
            "exec",
            "--",
            "sh",
            "-c",
            "kill -9 $PPID; sleep 0.2; cut -c1-3 \"$TOKENCTL_TOKEN_FILE\"",
        ],
        &[("TMPDIR", tmp_text), ("XDG_RUNTIME_DIR", tmp_text)],
    );
    assert_eq!(killed.code, -1, "tokenctl was killed: {}", killed.stderr);
    std::thread::sleep(std::time::Duration::from_millis(500));
    let left: Vec<_> = std::fs::read_dir(&tmp).unwrap().flatten().collect();
    assert!(left.is_empty(), "{left:?}");

    // Tokens of 20 seconds: the file is rewritten before the token goes stale.
    let script = "first=$(cat \"$TOKENCTL_TOKEN_FILE\"); sleep 13; \
                  test \"$first\" = \"$TOKENCTL_TOKEN\" && test \"$(cat \"$TOKENCTL_TOKEN_FILE\")\" != \"$first\" && echo renewed";
    let run = sandbox.run(["--context", "short", "exec", "--", "sh", "-c", script]);
    assert_eq!(run.ok().trim(), "renewed", "{}", run.stderr);

    let missing = sandbox.run(["exec", "--", "no-such-program-here"]);
    assert!(
        missing
            .fails_with(1)
            .contains("cannot run no-such-program-here")
    );
}

#[test]
#[ignore = "needs the test IdP (node) and git"]
fn git_gets_the_mapped_contexts_token_and_an_erase_renews_it() {
    let idp = Idp::start();
    let sandbox = machine(&idp);
    support::require_tool("git", "apt-get install git");
    // git with tokenctl as the only helper of both hosts; `credential fill|reject`.
    let git = |operation: &str, request: &str| {
        let mut command = Command::new("git");
        command
            .args(["-c", "credential.helper="])
            .args(
                ["git.example.com", "gitlab.example.com"]
                    .iter()
                    .flat_map(|host| {
                        [
                            "-c".to_owned(),
                            format!(
                                "credential.https://{host}.helper=!tokenctl auth git-credential"
                            ),
                        ]
                    }),
            )
            .args(["credential", operation])
            .env("GIT_TERMINAL_PROMPT", "0");
        sandbox.run_program(&mut command, Some(request))
    };
    let git_fill = |host: &str| git("fill", &format!("protocol=https\nhost={host}\n\n"));
    let filled = git_fill("git.example.com");
    let answer = filled.ok();
    assert!(answer.contains("username=oauth2\n"), "{answer}");
    let password = answer
        .lines()
        .find_map(|line| line.strip_prefix("password="))
        .expect("a password");
    assert_eq!(jwt_claims(password)["client_id"], "service");

    // A host no context maps: nothing from tokenctl, and git goes on to the next helper
    // (here none, and no terminal: it gives up).
    let unmapped = sandbox.run_input(
        ["auth", "git-credential", "get"],
        "protocol=https\nhost=gitlab.example.com\n\n",
        &[],
    );
    assert_eq!(unmapped.ok(), "");
    assert!(git_fill("gitlab.example.com").code != 0);
    // Plain http to another machine never gets the token.
    let http = sandbox.run_input(
        ["auth", "git-credential", "get"],
        "protocol=http\nhost=git.example.com\n\n",
        &[],
    );
    assert_eq!(http.ok(), "");

    // store changes nothing; erase (git after a 401) makes the next get renew.
    let store = sandbox.run_input(
        ["auth", "git-credential", "store"],
        &format!("protocol=https\nhost=git.example.com\nusername=oauth2\npassword={password}\n\n"),
        &[],
    );
    store.ok();
    let again = git_fill("git.example.com");
    assert!(again.ok().contains(&format!("password={password}\n")));
    git(
        "reject",
        &format!("protocol=https\nhost=git.example.com\nusername=oauth2\npassword={password}\n\n"),
    )
    .ok();
    let renewed = git_fill("git.example.com");
    assert!(!renewed.ok().contains(password), "{}", renewed.stdout);

    // A host two contexts map: refused, naming both.
    let doubled = Sandbox::with_config(&format!(
        "{}\n  - {{name: clash, provider: kc, flow: client-credentials, git-hosts: GIT.example.com}}\n",
        sandbox.read_config().trim_end()
    ));
    let refused = doubled.run_input(
        ["auth", "git-credential", "get"],
        "protocol=https\nhost=git.example.com\n\n",
        &[],
    );
    let stderr = refused.fails_with(1);
    assert!(stderr.contains("\"svc\" and \"clash\""), "{stderr}");

    // --set writes the list.
    sandbox
        .run([
            "config",
            "set-context",
            "short",
            "--set",
            "git-hosts=a.example.com, b.example.com",
        ])
        .ok();
    assert!(
        sandbox
            .read_config()
            .contains("git-hosts:\n  - a.example.com\n  - b.example.com"),
        "{}",
        sandbox.read_config()
    );
}

#[test]
#[ignore = "needs the test IdP (node)"]
fn docker_credential_tokenctl_answers_docker_for_mapped_registries() {
    let idp = Idp::start();
    let sandbox = machine(&idp);
    let bin = sandbox.path("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let helper = bin.join("docker-credential-tokenctl");
    #[cfg(unix)]
    std::os::unix::fs::symlink(support::tokenctl_bin(), &helper).unwrap();
    let docker = |args: &[&str], input: &str| {
        sandbox.run_program(Command::new(&helper).args(args), Some(input))
    };

    for asked in ["registry.example.com", "https://registry.example.com"] {
        let run = docker(&["get"], &format!("{asked}\n"));
        let reply: serde_json::Value = serde_json::from_str(run.ok()).unwrap();
        assert_eq!(reply["ServerURL"], asked);
        assert_eq!(reply["Username"], "oauth2accesstoken");
        assert_eq!(
            jwt_claims(reply["Secret"].as_str().unwrap())["client_id"],
            "service"
        );
    }
    let robot = docker(&["get"], "ghcr.example.com\n");
    let reply: serde_json::Value = serde_json::from_str(robot.ok()).unwrap();
    assert_eq!(reply["Username"], "robot");

    // An unmapped registry, and a mapped one asked over plain http (git's rule: the
    // security review's L9), get nothing.
    for asked in [
        "docker.io",
        "http://registry.example.com",
        "HTTP://registry.example.com/v2",
    ] {
        let refused = docker(&["get"], &format!("{asked}\n"));
        assert_eq!(refused.code, 1, "{asked}");
        assert_eq!(
            refused.stdout.trim(),
            "credentials not found in native keychain"
        );
    }

    let listed: serde_json::Value = serde_json::from_str(docker(&["list"], "").ok()).unwrap();
    assert_eq!(
        listed,
        serde_json::json!({"registry.example.com": "oauth2accesstoken", "https://ghcr.example.com": "robot"})
    );
    let before = sandbox.read_config();
    docker(
        &["store"],
        "{\"ServerURL\":\"registry.example.com\",\"Username\":\"u\",\"Secret\":\"s\"}",
    )
    .ok();
    docker(&["erase"], "registry.example.com\n").ok();
    assert_eq!(sandbox.read_config(), before);

    // Docker may stop reading before the helper answers: a closed pipe is an error, never a
    // panic (println! panicked there; the code review's finding).
    let gone = Command::new("sh")
        .arg("-c")
        .arg("(sleep 0.3; \"$0\" version; echo \"status=$?\" >&2) | true")
        .arg(&helper)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&gone.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.contains("status=0") || stderr.contains("status=1"),
        "{stderr}"
    );
}
