//! tokenctl where people use tokens: real kubectl with a kubeconfig written by `tokenctl
//! kubeconfig setup`, plugins, and `tokenctl api`, against a loopback HTTPS stub API server
//! that accepts only tokens signed by the test identity provider.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use support::idp::{AZURE_TENANT, ApiServer, Idp, RESOURCE};
use support::{Run, Sandbox, require_tool};

const TOKEN_ENDPOINT: &str = "POST /realms/nmr/protocol/openid-connect/token";
const USER: [(&str, &str); 2] = support::ALICE;

/// An IdP, a stub API server trusting its realm `nmr`, and a sandbox logged in to context `sso`
/// (cluster `stub`). Context `elsewhere` signs in to realm `test`, which the server does not
/// trust.
struct World {
    idp: Idp,
    api: ApiServer,
    sandbox: Sandbox,
}

fn world() -> World {
    let idp = Idp::start();
    let api = ApiServer::start(&[format!("{}/realms/nmr", idp.base)]);
    let sandbox = Sandbox::with_config(&format!(
        "\
providers:
  - {{name: sso, kind: keycloak, server: '{idp}', realm: nmr, client-id: cli}}
  - {{name: other, kind: keycloak, server: '{idp}', realm: test, client-id: cli}}
clusters:
  - {{name: stub, server: '{api}', certificate-authority: '{ca}'}}
contexts:
  - {{name: sso, provider: sso, cluster: stub, flow: password, scopes: [platform:read], cluster-token: id, workspace: team-a}}
  - {{name: elsewhere, provider: other, cluster: stub, flow: password, cluster-token: id}}
current-context: sso
",
        idp = idp.base,
        api = api.base,
        ca = api.ca
    ));
    sandbox.run_env(["auth", "login"], &USER).ok();
    World { idp, api, sandbox }
}

fn kubeconfig(sandbox: &Sandbox) -> PathBuf {
    sandbox.path("kube/config")
}

/// `tokenctl kubeconfig setup` into the sandbox's kubeconfig.
fn setup_kubeconfig(sandbox: &Sandbox) -> Run {
    let path = kubeconfig(sandbox);
    sandbox.run([
        "kubeconfig",
        "setup",
        "--kubeconfig",
        path.to_str().unwrap(),
    ])
}

/// `kubectl ARGS` with the sandbox's environment (tokenctl on PATH) and no terminal.
fn kubectl(sandbox: &Sandbox, args: &[&str]) -> Command {
    let kubectl = require_tool("kubectl", "apt-get install kubernetes-client");
    let mut command = Command::new(kubectl);
    sandbox.isolate(&mut command);
    command
        .arg("--kubeconfig")
        .arg(kubeconfig(sandbox))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

fn finish(mut command: Command, what: &str) -> Run {
    Run::from(support::wait_bounded(command.spawn().unwrap(), what))
}

#[test]
#[ignore = "needs kubectl, the test IdP (node)"]
fn kubectl_runs_with_the_kubeconfig_tokenctl_wrote_and_says_when_to_log_in() {
    let World {
        api,
        sandbox,
        idp: _idp,
    } = world();
    let path = kubeconfig(&sandbox);
    sandbox.write(
        &path,
        "\
apiVersion: v1
kind: Config
current-context: mine
preferences: {}
clusters:
- name: mine
  cluster: {server: 'https://mine.example.com'}
users:
- name: me
  user: {token: not-a-real-one}
contexts:
- name: mine
  context: {cluster: mine, user: me}
x-team-note: kept
",
    );
    let setup = setup_kubeconfig(&sandbox);
    setup.ok();
    assert!(
        setup.stderr.contains("Wrote kube context \"sso\""),
        "{}",
        setup.stderr
    );
    let written = std::fs::read_to_string(&path).unwrap();
    // Again: the same file, no duplicates.
    setup_kubeconfig(&sandbox).ok();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), written);
    let config: serde_json::Value = serde_yaml_ng::from_str(&written).unwrap();
    assert_eq!(config["current-context"], "mine", "kept");
    assert_eq!(config["x-team-note"], "kept");
    assert_eq!(config["users"][0]["user"]["token"], "not-a-real-one");
    let user = &config["users"][1];
    assert_eq!(user["name"], "tokenctl-sso");
    let exec = &user["user"]["exec"];
    assert_eq!(exec["apiVersion"], "client.authentication.k8s.io/v1");
    assert_eq!(exec["interactiveMode"], "IfAvailable");
    assert_eq!(
        exec["args"],
        serde_json::json!(["auth", "exec-credential", "--context", "sso"])
    );
    let hint = exec["installHint"].as_str().unwrap();
    assert!(
        hint.contains("cargo install --path crates/tokenctl") && !hint.contains("example.invalid"),
        "the README's install command: {hint}"
    );
    // An absolute path, as PATH finds it: a GUI runs kubectl without the shell's PATH.
    let command = exec["command"].as_str().unwrap();
    assert!(
        Path::new(command).is_absolute() && command.ends_with("/tokenctl"),
        "{command}"
    );
    assert!(
        hint.contains(&format!("is not at {command}")) && hint.contains("kubeconfig setup"),
        "{hint}"
    );
    assert_eq!(config["clusters"][1]["cluster"]["server"], api.base);
    assert_eq!(
        config["clusters"][1]["cluster"]["certificate-authority"],
        api.ca
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    let ok = finish(
        kubectl(&sandbox, &["--context", "sso", "get", "--raw", "/api"]),
        "kubectl",
    );
    assert!(ok.ok().contains("\"APIVersions\""), "{}", ok.stdout);

    sandbox.run(["auth", "logout"]).ok();
    let refused = finish(
        kubectl(&sandbox, &["--context", "sso", "get", "--raw", "/api"]),
        "kubectl",
    );
    assert_ne!(refused.code, 0);
    assert!(
        refused.stderr.contains(
            "not logged in to sso (context \"sso\"): run `tokenctl --context sso auth login`"
        ),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("without a terminal"),
        "{}",
        refused.stderr
    );
}

#[test]
#[ignore = "needs kubectl, the test IdP (node)"]
fn twenty_kubectl_processes_with_an_expiring_token_cause_one_refresh() {
    let World { idp, api, sandbox } = world();
    setup_kubeconfig(&sandbox).ok();
    sandbox.age_login(60);
    let before = idp.requests(TOKEN_ENDPOINT);
    let children: Vec<_> = (0..20)
        .map(|_| {
            kubectl(&sandbox, &["--context", "sso", "get", "--raw", "/api"])
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let run = Run::from(support::wait_bounded(child, "kubectl"));
        assert!(run.ok().contains("APIVersions"));
    }
    assert_eq!(idp.requests(TOKEN_ENDPOINT), before + 1, "one refresh");
    assert_eq!(api.requests("401"), 0);
}

#[test]
#[ignore = "needs the test IdP (node)"]
fn exec_credential_speaks_v1_and_v1beta1_and_never_waits_without_a_person() {
    let World {
        sandbox,
        idp: _idp,
        api: _api,
    } = world();
    // `cluster-token: id`: kubectl gets the ID token, `auth token` still the access token.
    let token = sandbox
        .run(["auth", "token", "--id-token"])
        .ok()
        .trim()
        .to_owned();
    assert_ne!(sandbox.run(["auth", "token"]).ok().trim(), token);
    let v1 = r#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","spec":{"interactive":false}}"#;
    // The hot path and the full parser (-v) answer alike.
    for args in [
        &["auth", "exec-credential"][..],
        &["-v", "auth", "exec-credential"][..],
    ] {
        let run = sandbox.run_env(args, &[("KUBERNETES_EXEC_INFO", v1)]);
        let credential: serde_json::Value = serde_json::from_str(run.ok()).unwrap();
        assert_eq!(credential["apiVersion"], "client.authentication.k8s.io/v1");
        assert_eq!(credential["kind"], "ExecCredential");
        assert_eq!(credential["status"]["token"], token.as_str());
        assert!(
            credential["status"]["expirationTimestamp"]
                .as_str()
                .unwrap()
                .ends_with('Z')
        );
    }
    let beta = sandbox.run(["auth", "exec-credential"]);
    let credential: serde_json::Value = serde_json::from_str(beta.ok()).unwrap();
    assert_eq!(
        credential["apiVersion"],
        "client.authentication.k8s.io/v1beta1"
    );

    let v2 = r#"{"apiVersion":"client.authentication.k8s.io/v2","spec":{}}"#;
    let stderr = sandbox
        .run_env(["auth", "exec-credential"], &[("KUBERNETES_EXEC_INFO", v2)])
        .fails_with(1)
        .to_owned();
    assert!(
        stderr.contains("\"client.authentication.k8s.io/v2\"")
            && stderr.contains("client.authentication.k8s.io/v1"),
        "{stderr}"
    );

    sandbox.run(["auth", "logout"]).ok();
    let started = std::time::Instant::now();
    let stderr = sandbox
        .run_env(["auth", "exec-credential"], &[("KUBERNETES_EXEC_INFO", v1)])
        .fails_with(4)
        .to_owned();
    assert!(
        stderr.contains("run `tokenctl --context sso auth login`"),
        "{stderr}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(10));

    // With a person there, it logs in; stdout holds only the ExecCredential.
    let interactive =
        r#"{"apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":true}}"#;
    let mut env = USER.to_vec();
    env.push(("KUBERNETES_EXEC_INFO", interactive));
    let run = sandbox.run_env(["auth", "exec-credential"], &env);
    let credential: serde_json::Value = serde_json::from_str(run.ok()).unwrap();
    assert_eq!(
        credential["status"]["token"],
        sandbox.run(["auth", "token", "--id-token"]).ok().trim()
    );
    assert!(run.stderr.contains("logging in now"), "{}", run.stderr);
    assert!(
        run.stderr.contains("Logged in to sso as alice"),
        "{}",
        run.stderr
    );
}

/// `kubeconfig setup` gives kubectl the token each kind of cluster validates: Kubernetes' OIDC
/// authenticator (`--oidc-client-id=cli`) the ID token of a Keycloak- or Dex-shaped provider,
/// AKS the access token of Entra ID's API. Setup records the choice in the context, never flips
/// it when run again, and `--cluster-token` changes it.
#[test]
#[ignore = "needs kubectl, the test IdP (node)"]
fn kubeconfig_setup_gives_kubectl_the_token_each_kind_of_cluster_validates() {
    let idp = Idp::start();
    let base = &idp.base;
    let keycloak = format!("{base}/realms/nmr");
    let dex = format!("{base}/oidc");
    let kube = ApiServer::start(&[keycloak, dex]);
    let aks = ApiServer::for_audience(&[format!("{base}/{AZURE_TENANT}/v2.0")], RESOURCE);
    let sandbox = Sandbox::with_config(&format!(
        "\
providers:
  - {{name: sso, kind: keycloak, server: '{base}', realm: nmr, client-id: cli}}
  - {{name: dex, kind: oidc, issuer: '{base}/oidc', client-id: cli}}
  - {{name: corp, kind: azure, authority-host: '{base}', tenant: contoso.onmicrosoft.com, client-id: cli, scope-prefix: 'api://nmp/'}}
clusters:
  - {{name: kube, server: '{kube}', certificate-authority: '{kube_ca}'}}
  - {{name: aks, server: '{aks}', certificate-authority: '{aks_ca}'}}
contexts:
  - {{name: sso, provider: sso, cluster: kube, flow: password}}
  - {{name: dex, provider: dex, cluster: kube, flow: password}}
  - {{name: corp, provider: corp, cluster: aks, flow: password, scopes: [platform:read]}}
",
        kube = kube.base,
        kube_ca = kube.ca,
        aks = aks.base,
        aks_ca = aks.ca,
    ));
    let path = kubeconfig(&sandbox);
    let setup = |context: &str, extra: &[&str]| {
        let mut args = vec!["--context", context, "kubeconfig", "setup", "--kubeconfig"];
        args.push(path.to_str().unwrap());
        args.extend_from_slice(extra);
        sandbox.run(args)
    };
    let whoami = |context: &str| {
        finish(
            kubectl(&sandbox, &["--context", context, "get", "--raw", "/whoami"]),
            "kubectl",
        )
    };
    for (context, token, aud) in [
        ("sso", "id", "cli"),
        ("dex", "id", "cli"),
        ("corp", "access", RESOURCE),
    ] {
        sandbox
            .run_env(["--context", context, "auth", "login"], &USER)
            .ok();
        let run = setup(context, &[]);
        assert!(
            run.ok().is_empty()
                && run
                    .stderr
                    .contains(&format!("kubectl gets the {token} token")),
            "{}",
            run.stderr
        );
        let reply: serde_json::Value = serde_json::from_str(whoami(context).ok()).unwrap();
        assert_eq!(reply["aud"], aud, "{context}: {reply}");
        assert_eq!(reply["username"], "alice", "{context}: {reply}");
    }
    assert!(sandbox.read_config().contains("cluster-token: id"));

    // The choice is the context's: setup again keeps it, the flag changes it.
    sandbox
        .run([
            "config",
            "set-context",
            "sso",
            "--set",
            "cluster-token=access",
        ])
        .ok();
    setup("sso", &[]).ok();
    let refused = whoami("sso");
    assert_ne!(refused.code, 0, "the access token is not for the client");
    setup("sso", &["--cluster-token", "id"]).ok();
    whoami("sso").ok();
    let bad = sandbox.run([
        "config",
        "set-context",
        "sso",
        "--set",
        "cluster-token=both",
    ]);
    assert!(
        bad.fails_with(2)
            .contains("cluster-token takes access or id"),
        "{}",
        bad.stderr
    );
}

/// Lens, Headlamp and IDEs run kubectl without a terminal (`interactive: false`): tokenctl
/// still opens the browser sign-in there, once for many kubectl processes that find no login
/// (the others wait for it and use its login). After a sign-in is abandoned, kubectl without a
/// terminal gets exit 4 at once for a while: a GUI that retries opens no more tabs. Not in CI.
#[test]
#[ignore = "needs kubectl, chromium, the test IdP (node)"]
fn gui_clients_sign_in_once_in_the_browser_and_an_abandoned_sign_in_is_not_retried() {
    require_tool("chromium", "apt-get install chromium");
    let idp = Idp::start();
    let api = ApiServer::start(&[format!("{}/realms/nmr", idp.base)]);
    let sandbox = Sandbox::with_config(&format!(
        "\
providers:
  - {{name: sso, kind: keycloak, server: '{idp}', realm: nmr, client-id: cli}}
clusters:
  - {{name: stub, server: '{api}', certificate-authority: '{ca}'}}
contexts:
  - {{name: gui, provider: sso, cluster: stub, flow: browser}}
current-context: gui
",
        idp = idp.base,
        api = api.base,
        ca = api.ca
    ));
    setup_kubeconfig(&sandbox).ok();
    let opened = sandbox.path("browsers-opened");
    let node = require_tool("node", "apt-get install nodejs npm");
    let browser_js = support::workspace_root().join("tests/idp/browser.js");
    let signs_in = sandbox.path("bin/signs-in");
    script(
        &signs_in,
        &format!(
            "#!/bin/sh\necho \"$1\" >> '{}'\nexec '{}' '{}' \"$1\"\n",
            opened.display(),
            node.display(),
            browser_js.display()
        ),
    );
    let walks_away = sandbox.path("bin/walks-away");
    script(
        &walks_away,
        &format!("#!/bin/sh\necho \"$1\" >> '{}'\n", opened.display()),
    );
    let opened_count = || {
        std::fs::read_to_string(&opened)
            .map(|text| text.lines().count())
            .unwrap_or(0)
    };
    let round = |browser: &Path| -> Vec<Run> {
        let children: Vec<_> = (0..10)
            .map(|_| {
                let mut command = kubectl(&sandbox, &["get", "--raw", "/whoami"]);
                command
                    .env("BROWSER", browser)
                    .env_remove("CI")
                    .env_remove("DISPLAY");
                command.spawn().unwrap()
            })
            .collect();
        children
            .into_iter()
            .map(|child| Run::from(support::wait_bounded(child, "kubectl")))
            .collect()
    };

    for run in round(&signs_in) {
        assert!(run.ok().contains("alice"), "{}", run.stderr);
    }
    assert_eq!(opened_count(), 1, "one browser for ten kubectl processes");

    sandbox.run(["auth", "logout"]).ok();
    sandbox
        .run(["config", "set-provider", "sso", "--sign-in-timeout", "3s"])
        .ok();
    let abandoned = round(&walks_away);
    assert!(abandoned.iter().all(|run| run.code != 0));
    assert_eq!(
        opened_count(),
        2,
        "the sign-in nobody finished opened one tab"
    );
    assert!(
        abandoned.iter().any(|run| run
            .stderr
            .contains("waiting for the sign-in in another tokenctl (pid ")),
        "{}",
        abandoned[0].stderr
    );
    let started = std::time::Instant::now();
    let again = round(&walks_away);
    assert!(again.iter().all(|run| run.code != 0));
    assert_eq!(opened_count(), 2, "right after, none");
    assert!(
        again[0].stderr.contains("failed or was abandoned"),
        "{}",
        again[0].stderr
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(30));

    // In CI, never a browser.
    let mut ci = kubectl(&sandbox, &["get", "--raw", "/whoami"]);
    ci.env("BROWSER", &walks_away).env("CI", "true");
    let ci = finish(ci, "kubectl");
    assert_ne!(ci.code, 0);
    assert_eq!(opened_count(), 2);
}

/// Writes an executable script.
fn script(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

#[test]
#[ignore = "needs kubectl, the test IdP (node)"]
fn a_plugin_gets_the_context_and_a_token_the_cluster_accepts() {
    let World {
        api,
        sandbox,
        idp: _idp,
    } = world();
    let first = sandbox.path("bin1");
    let second = sandbox.path("bin2");
    script(
        &first.join("tokenctl-whoami"),
        "#!/bin/sh\n\
         curl -sS --fail --cacert \"$STUB_CA\" -H \"Authorization: Bearer $TOKENCTL_TOKEN\" \"$TOKENCTL_SERVER/whoami\" || exit 9\n\
         echo\n\
         echo \"context=$TOKENCTL_CONTEXT workspace=$TOKENCTL_WORKSPACE config=$TOKENCTL_CONFIG args=$*\"\n\
         exit \"${1:-0}\"\n",
    );
    script(&second.join("tokenctl-whoami"), "#!/bin/sh\nexit 0\n");
    script(&second.join("tokenctl-auth"), "#!/bin/sh\nexit 0\n");
    std::fs::write(second.join("tokenctl-broken"), "#!/bin/sh\n").unwrap();
    let path = std::env::join_paths(
        [first.clone(), second.clone()]
            .into_iter()
            .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    let env = [
        ("PATH", path.to_str().unwrap()),
        ("STUB_CA", api.ca.as_str()),
    ];

    let run = sandbox.run_env(["whoami", "0"], &env);
    let stdout = run.ok();
    assert!(stdout.contains("\"sub\":\"alice\""), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "context=sso workspace=team-a config={} args=0",
            sandbox.config.display()
        )),
        "{stdout}"
    );
    sandbox.run_env(["whoami", "7"], &env).fails_with(7);

    let list = sandbox.run_env(["plugin", "list"], &env);
    let stdout = list.ok();
    assert!(
        stdout.contains(&format!(
            "whoami\t{}",
            first.join("tokenctl-whoami").display()
        )),
        "{stdout}"
    );
    for warning in [
        format!("{}: shadowed by", second.join("tokenctl-whoami").display()),
        format!(
            "{}: not executable",
            second.join("tokenctl-broken").display()
        ),
        "named like tokenctl's own `auth` command".to_owned(),
    ] {
        assert!(list.stderr.contains(&warning), "{warning}\n{}", list.stderr);
    }
    // A usage error: exit status 2.
    let stderr = sandbox.run_env(["nosuch"], &env).fails_with(2).to_owned();
    assert!(
        stderr.contains("no plugin tokenctl-nosuch on PATH"),
        "{stderr}"
    );

    // tokenctl as a kubectl plugin.
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(support::tokenctl_bin(), first.join("kubectl-tokenctl"))
            .unwrap();
        // kubectl takes no flags before a plugin's name.
        let mut command =
            Command::new(require_tool("kubectl", "apt-get install kubernetes-client"));
        sandbox.isolate(&mut command);
        command
            .args(["tokenctl", "auth", "current-context"])
            .env("PATH", &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        assert_eq!(finish(command, "kubectl tokenctl").ok().trim(), "sso");
        // Its usage line and hints say how it was run: `kubectl tokenctl …`.
        let kubectl_run = |args: &[&str]| {
            let mut command =
                Command::new(require_tool("kubectl", "apt-get install kubernetes-client"));
            sandbox.isolate(&mut command);
            command
                .arg("tokenctl")
                .args(args)
                .env("PATH", &path)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            finish(command, "kubectl tokenctl")
        };
        let help = kubectl_run(&["auth", "login", "--help"]);
        assert!(
            help.ok().contains("Usage: kubectl tokenctl auth login"),
            "{}",
            help.stdout
        );
        // A hint made in core: the provider is in use, and the fix names the program.
        let refused = kubectl_run(&["config", "delete-provider", "sso"]);
        assert!(
            refused
                .fails_with(1)
                .contains("(`kubectl tokenctl config set-context NAME --provider OTHER`)"),
            "{}",
            refused.stderr
        );
        // `kubectl tokenctl auth status` (issue 29's bar): the session, through kubectl's lookup.
        let status = kubectl_run(&["auth", "status"]);
        let shown = format!("{}{}", status.stdout, status.stderr);
        assert!(
            matches!(status.code, 0 | 4) && shown.contains("sso"),
            "{shown}"
        );
    }
}

/// Step-up (RFC 9470): an API that wants another authentication level answers 401 with
/// `insufficient_user_authentication`; with nobody at a terminal, `tokenctl api` names the
/// sign-in that answers it (`--acr-values`). Entra ID's claims challenge names
/// `--claims-challenge` with its claims, and the URL it carries is not repeated.
#[test]
#[ignore = "needs the test IdP (node)"]
fn api_names_the_sign_in_a_step_up_challenge_asks_for() {
    let World {
        api: _api,
        sandbox,
        idp: _idp,
    } = world();
    let stepped = sandbox
        .run(["api", "/step-up/acr/urn:example:mfa"])
        .fails_with(1)
        .to_owned();
    assert!(
        stepped.contains("asking for a stronger sign-in (RFC 9470): \"A different authentication level is required\"")
            && stepped.contains("auth login --acr-values=urn:example:mfa`"),
        "{stepped}"
    );
    let claims = sandbox
        .run(["api", "/step-up/claims"])
        .fails_with(1)
        .to_owned();
    assert!(
        claims.contains("auth login --claims-challenge=eyJhY2Nlc3NfdG9rZW4iOnsiYWNycyI6eyJlc3NlbnRpYWwiOnRydWUsInZhbHVlIjoiYzEifX19`"),
        "{claims}"
    );
    assert!(!claims.contains("login.microsoftonline.com"), "{claims}");
    // The flag takes the challenge as the API sent it.
    let login = sandbox
        .run(["auth", "login", "--claims-challenge", "not base64!"])
        .fails_with(2)
        .to_owned();
    assert!(login.contains("--claims-challenge"), "{login}");
}

#[test]
#[ignore = "needs the test IdP (node)"]
fn api_sends_the_token_to_the_cluster_and_explains_a_401() {
    let World {
        api,
        sandbox,
        idp: _idp,
    } = world();
    let whoami = sandbox.run(["api", "/whoami"]);
    let reply: serde_json::Value = serde_json::from_str(whoami.ok()).unwrap();
    assert_eq!(reply["sub"], "alice");

    let echo = sandbox.run([
        "api",
        "-X",
        "patch",
        "/echo",
        "-d",
        r#"{"a":1}"#,
        "-H",
        "X-Test: yes",
    ]);
    let reply: serde_json::Value = serde_json::from_str(echo.ok()).unwrap();
    assert_eq!(reply["method"], "PATCH");
    assert_eq!(reply["contentType"], "application/json");
    assert_eq!(reply["body"], r#"{"a":1}"#);
    assert_eq!(reply["headers"]["x-test"], "yes");

    let file = sandbox.path("body.txt");
    std::fs::write(&file, "from a file").unwrap();
    let at = format!("@{}", file.display());
    let echo = sandbox.run(["api", "/echo", "-d", &at, "-H", "content-type: text/plain"]);
    let reply: serde_json::Value = serde_json::from_str(echo.ok()).unwrap();
    assert_eq!(reply["method"], "POST");
    assert_eq!(reply["body"], "from a file");
    assert_eq!(reply["contentType"], "text/plain");

    let include = sandbox.run(["api", "-i", "/whoami"]);
    assert!(include.ok().starts_with("HTTP 200\n"), "{}", include.stdout);
    assert!(include.stdout.contains("content-type: application/json"));

    let failed = sandbox.run(["api", "/status/503"]);
    failed.fails_with(1);
    assert!(failed.stdout.contains("\"code\":503"), "{}", failed.stdout);
    assert!(
        failed.stderr.contains("answered HTTP 503"),
        "{}",
        failed.stderr
    );

    // Signed in to a realm the cluster does not trust: 401.
    sandbox
        .run_env(["--context", "elsewhere", "auth", "login"], &USER)
        .ok();
    // The token is valid: the cluster refused whom it is from or for, which another sign-in
    // as the same user would not change. What the token says is shown, and the fixes (issue 25).
    let refused = sandbox.run(["--context", "elsewhere", "api", "/whoami"]);
    let stderr = refused.fails_with(1);
    assert!(
        stderr.contains("the cluster answered HTTP 401 to the ID token of context \"elsewhere\", which is valid: the cluster does not accept this token (its issuer, its audience, or this user)")
            && stderr.contains("/realms/test, aud cli, expires in ")
            && stderr.contains("`tokenctl config set-context elsewhere --provider NAME`")
            && stderr.contains("`tokenctl --context elsewhere auth login`")
            && !stderr.contains("cluster-token=id"),
        "{stderr}"
    );
    // The request, and the look at what the cluster publishes (`/apis/auth/discovery`), which
    // this API server answers as Kubernetes does a request without a token.
    assert_eq!(api.requests("401"), 2);
}

/// `COMMAND` run by `script` on a pseudo-terminal (util-linux), as a person at a terminal would.
fn on_a_terminal(sandbox: &Sandbox, command: &str, env: &[(&str, &str)]) -> Run {
    let script = require_tool("script", "apt-get install bsdutils");
    let mut runner = Command::new(script);
    sandbox.isolate(&mut runner);
    runner
        .args(["--quiet", "--return", "--command", command, "/dev/null"])
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    finish(runner, command)
}

#[test]
#[ignore = "needs script, the test IdP (node)"]
fn at_a_terminal_kubectl_lets_tokenctl_log_in_and_api_pretty_prints() {
    let World {
        sandbox,
        idp: _idp,
        api: _api,
    } = world();
    setup_kubeconfig(&sandbox).ok();
    sandbox.run(["auth", "logout"]).ok();
    let kubeconfig = kubeconfig(&sandbox);
    let run = on_a_terminal(
        &sandbox,
        &format!(
            "kubectl --kubeconfig {} --context sso get --raw /api",
            kubeconfig.display()
        ),
        &USER,
    );
    let shown = run.ok();
    assert!(shown.contains("logging in now"), "{shown}");
    assert!(shown.contains("\"APIVersions\""), "{shown}");
    sandbox.run(["auth", "token"]).ok();

    let run = on_a_terminal(&sandbox, "tokenctl api /whoami", &[]);
    let shown = run.ok();
    assert!(
        shown.contains("{\r\n  \"sub\": \"alice\""),
        "indented: {shown:?}"
    );
}

/// A sandbox logged in to realm `nmr` whose cluster `stub` is `api`, trusted through `ca`.
fn logged_in_to(idp: &Idp, api: &ApiServer, ca: &str) -> Sandbox {
    let sandbox = Sandbox::with_config(&format!(
        "\
providers:
  - {{name: sso, kind: keycloak, server: '{idp}', realm: nmr, client-id: cli}}
clusters:
  - {{name: stub, server: '{api}', certificate-authority: '{ca}'}}
contexts:
  - {{name: sso, provider: sso, cluster: stub, flow: password, cluster-token: id}}
current-context: sso
",
        idp = idp.base,
        api = api.base,
    ));
    sandbox.run_env(["auth", "login"], &USER).ok();
    sandbox
}

/// kubectl's trust: a self-signed server certificate that is its own CA (CA:TRUE, what
/// `openssl req -x509` makes) is accepted with that file as the cluster's CA, as kubectl and
/// curl accept it; a certificate from another CA, even one the system trusts, is refused before
/// any token is sent, because the cluster's CA replaces the system roots.
#[test]
#[ignore = "needs openssl, the test IdP (node)"]
fn a_cluster_is_trusted_exactly_through_its_certificate_authority() {
    let idp = Idp::start();
    let issuer = [format!("{}/realms/nmr", idp.base)];

    let own = ApiServer::with_certificate(&issuer, "self-signed");
    let sandbox = logged_in_to(&idp, &own, &own.ca);
    let whoami = sandbox.run(["api", "/whoami"]);
    assert!(whoami.ok().contains("\"sub\""), "{}", whoami.stdout);
    let curl = std::process::Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--cacert",
            &own.ca,
        ])
        .arg(format!("{}/api", own.base))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&curl.stdout),
        "401",
        "curl accepts the certificate too (and is refused for want of a token)"
    );

    let public = ApiServer::with_certificate(&issuer, "other-ca");
    let sandbox = logged_in_to(&idp, &public, &public.ca);
    let system_roots = public.other_ca.clone().unwrap();
    let stderr = sandbox
        .run_env(
            ["api", "/whoami"],
            &[("SSL_CERT_FILE", system_roots.as_str())],
        )
        .fails_with(1)
        .to_owned();
    assert!(stderr.contains("certificate"), "a TLS refusal: {stderr}");
    assert_eq!(public.requests("GET /whoami"), 0, "no token was sent");
}

/// `tls-server-name`: a server reached by address whose certificate names it otherwise (a
/// tunnel, a load balancer) is refused until the cluster says which name to check, then accepted
/// by tokenctl and, after `kubeconfig setup`, by kubectl.
#[test]
#[ignore = "needs kubectl, openssl, the test IdP (node)"]
fn tls_server_name_is_the_name_the_certificate_is_checked_for() {
    let idp = Idp::start();
    let api = ApiServer::with_certificate(&[format!("{}/realms/nmr", idp.base)], "named");
    let sandbox = logged_in_to(&idp, &api, &api.ca);
    let stderr = sandbox.run(["api", "/whoami"]).fails_with(1).to_owned();
    assert!(
        stderr.contains("certificate not valid for name"),
        "the address is not in the certificate: {stderr}"
    );
    sandbox
        .run([
            "config",
            "set-cluster",
            "stub",
            "--tls-server-name",
            "apiserver.tokenctl.test",
        ])
        .ok();
    let whoami = sandbox.run(["api", "/whoami"]);
    assert!(
        whoami.ok().contains("\"sub\":\"alice\""),
        "{}",
        whoami.stderr
    );

    setup_kubeconfig(&sandbox).ok();
    let written = std::fs::read_to_string(kubeconfig(&sandbox)).unwrap();
    assert!(
        written.contains("tls-server-name: apiserver.tokenctl.test"),
        "{written}"
    );
    let run = finish(kubectl(&sandbox, &["get", "--raw", "/whoami"]), "kubectl");
    assert!(run.ok().contains("\"sub\":\"alice\""), "{}", run.stderr);

    let stderr = sandbox
        .run([
            "config",
            "set-cluster",
            "stub",
            "--tls-server-name",
            "not a name",
        ])
        .fails_with(1)
        .to_owned();
    assert!(
        stderr.contains("field `tls-server-name` \"not a name\" is not a host name"),
        "{stderr}"
    );
}

/// An identity provider behind a company's private CA: refused while only the system roots are
/// trusted, then reached through the provider's own `certificate-authority` (a relative path read
/// beside the contexts file), for the login and for its renewal.
#[test]
#[ignore = "needs openssl, the test IdP (node)"]
fn a_provider_behind_a_private_ca_is_trusted_through_its_certificate_authority() {
    let idp = Idp::start();
    let front = ApiServer::fronting(&idp);
    let config = |ca: &str| {
        format!(
            "\
providers:
  - {{name: runai, kind: runai, server: '{front}/idp/runai', client-id: runai-client, client-secret-env: RUNAI_SECRET{ca}}}
contexts:
  - {{name: svc, provider: runai, flow: client-credentials}}
current-context: svc
",
            front = front.base
        )
    };
    let secret = [("RUNAI_SECRET", "runai-client-secret")];
    let sandbox = Sandbox::with_config(&config(""));
    let stderr = sandbox
        .run_env(["auth", "login"], &secret)
        .fails_with(1)
        .to_owned();
    assert!(stderr.contains("UnknownIssuer"), "{stderr}");

    std::fs::copy(
        &front.ca,
        sandbox.config.parent().unwrap().join("corp-ca.pem"),
    )
    .unwrap();
    sandbox.write(
        &sandbox.config,
        &config(", certificate-authority: corp-ca.pem"),
    );
    sandbox.run_env(["auth", "login"], &secret).ok();
    sandbox.run_env(["auth", "refresh"], &secret).ok();
    assert!(
        front.requests("POST /idp/runai/api/v2/token") >= 2,
        "both went through the front"
    );
}

/// A relative `certificate-authority` is read from the contexts file's directory, as kubectl
/// reads its kubeconfig's, whatever the current directory; `kubeconfig setup` writes it
/// absolute.
#[test]
#[ignore = "needs openssl, the test IdP (node)"]
fn a_relative_certificate_authority_is_read_beside_the_contexts_file() {
    let idp = Idp::start();
    let api = ApiServer::start(&[format!("{}/realms/nmr", idp.base)]);
    let sandbox = logged_in_to(&idp, &api, "stub-ca.pem");
    let beside_this = sandbox.config.parent().unwrap().join("stub-ca.pem");
    std::fs::copy(&api.ca, &beside_this).unwrap();
    assert_ne!(
        std::env::current_dir().unwrap(),
        sandbox.config.parent().unwrap(),
        "run from elsewhere"
    );
    let whoami = sandbox.run(["api", "/whoami"]);
    assert!(whoami.ok().contains("\"sub\""), "{}", whoami.stdout);

    setup_kubeconfig(&sandbox).ok();
    let kubeconfig = std::fs::read_to_string(kubeconfig(&sandbox)).unwrap();
    let expected = format!("certificate-authority: {}", beside_this.display());
    assert!(kubeconfig.contains(&expected), "{kubeconfig}");
}

/// `kubeconfig setup` shares kubectl's file as client-go does: it never replaces a cluster or
/// context it did not write unless `--force` (a backup first), leaves no lock behind (kubectl
/// writes right after), waits for a lock someone holds, and `kubeconfig remove` takes out what
/// it wrote.
#[test]
#[ignore = "needs kubectl, the test IdP (node)"]
fn kubeconfig_setup_shares_kubectls_file_and_never_replaces_what_it_did_not_write() {
    let World {
        api: _api,
        sandbox,
        idp: _idp,
    } = world();
    let path = kubeconfig(&sandbox);
    let path_text = path.to_str().unwrap();
    let lock = sandbox.path("kube/config.lock");
    let own = "\
apiVersion: v1
kind: Config
clusters:
- name: stub
  cluster: {server: 'https://mine.example.com'}
contexts:
- name: sso
  context: {cluster: stub, user: me, namespace: team}
users:
- name: me
  user: {token: not-a-real-one}
current-context: sso
";
    sandbox.write(&path, own);
    let stderr = setup_kubeconfig(&sandbox).fails_with(1).to_owned();
    for named in ["cluster \"stub\"", "context \"sso\"", "--force"] {
        assert!(stderr.contains(named), "{named}: {stderr}");
    }
    assert_eq!(std::fs::read_to_string(&path).unwrap(), own, "unchanged");
    assert!(!lock.exists(), "no lock left behind");

    sandbox
        .run(["kubeconfig", "setup", "--force", "--kubeconfig", path_text])
        .ok();
    let backup = sandbox.path("kube/config.tokenctl-backup");
    assert_eq!(std::fs::read_to_string(&backup).unwrap(), own, "backed up");
    assert!(!lock.exists(), "no lock left behind");
    let set = finish(
        kubectl(
            &sandbox,
            &["config", "set-context", "other", "--namespace", "x"],
        ),
        "kubectl config set-context",
    );
    set.ok();
    setup_kubeconfig(&sandbox).ok();

    // A lock someone holds is waited on, and left to its holder.
    sandbox.write(&lock, "");
    let started = std::time::Instant::now();
    let waiting = sandbox
        .command(["kubeconfig", "setup", "--kubeconfig", path_text])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(800));
    assert!(lock.exists(), "not removed by the waiter");
    std::fs::remove_file(&lock).unwrap();
    finish_child(waiting).ok();
    assert!(started.elapsed() >= std::time::Duration::from_millis(800));

    sandbox
        .run(["kubeconfig", "remove", "--kubeconfig", path_text])
        .ok();
    let after = std::fs::read_to_string(&path).unwrap();
    assert!(!after.contains("tokenctl-sso"), "{after}");
    assert!(!after.contains("name: sso"), "{after}");
    assert!(
        after.contains("name: other"),
        "kubectl's own entry stays: {after}"
    );
}

fn finish_child(child: std::process::Child) -> Run {
    Run::from(support::wait_bounded(child, "tokenctl kubeconfig setup"))
}

/// Coming from kubelogin: `kubeconfig import` turns a user that runs int128/kubelogin into a
/// tokenctl provider and context (issuer, client, scopes, flow, the cluster with its CA), names
/// what it cannot map, skips an Azure kubelogin user whose login mode tokenctl has no flow for,
/// changes nothing with `--dry-run`, and points the kube user at tokenctl after a backup; kubectl
/// then gets its token from tokenctl.
#[test]
#[ignore = "needs kubectl, openssl, the test IdP (node)"]
fn kubeconfig_import_turns_kubelogin_users_into_contexts_kubectl_uses() {
    let idp = Idp::start();
    let issuer = format!("{}/realms/nmr", idp.base);
    let api = ApiServer::start(std::slice::from_ref(&issuer));
    // A cluster configured for the API's audience, where an int128 user sent access tokens.
    let api_at = ApiServer::for_audience(std::slice::from_ref(&issuer), RESOURCE);
    let sandbox = Sandbox::new();
    let kubeconfig = kubeconfig(&sandbox);
    let original = format!(
        "\
apiVersion: v1
kind: Config
clusters:
- name: stub
  cluster: {{server: '{api}', certificate-authority: '{ca}'}}
- name: stub-at
  cluster: {{server: '{api_at}', certificate-authority: '{ca_at}'}}
users:
- name: oidc
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: kubectl
      args: [oidc-login, get-token, '--oidc-issuer-url={issuer}', --oidc-client-id=cli, --oidc-extra-scope=platform:read, --grant-type=password, --token-cache-dir=/tmp/kubelogin-cache]
- name: oidc-at
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: kubectl
      args: [oidc-login, get-token, '--oidc-issuer-url={issuer}', --oidc-client-id=cli, --oidc-extra-scope=platform:read, --grant-type=password, --oidc-use-access-token]
- name: aks
  user:
    exec: {{apiVersion: client.authentication.k8s.io/v1beta1, command: kubelogin, args: [get-token, --login, azurecli, --server-id, 6dae42f8-4368-4678-94ff-3960e28e3630]}}
- name: static
  user: {{token: not-a-kubelogin-user}}
contexts:
- name: dev
  context: {{cluster: stub, user: oidc}}
- name: dev-at
  context: {{cluster: stub-at, user: oidc-at}}
- name: aks
  context: {{cluster: stub, user: aks}}
current-context: dev
",
        api = api.base,
        ca = api.ca,
        api_at = api_at.base,
        ca_at = api_at.ca,
    );
    sandbox.write(&kubeconfig, &original);
    let import = |extra: &[&str]| {
        let mut args = vec!["kubeconfig", "import", "--kubeconfig"];
        let path = kubeconfig.to_str().unwrap();
        args.push(path);
        args.extend_from_slice(extra);
        sandbox.run(args)
    };

    let dry = import(&["--dry-run"]);
    let stderr = dry.fails_with(0).to_owned();
    assert!(
        stderr.contains("kube user \"oidc\" (int128/kubelogin) → provider \"dev\" (oidc), context \"dev\", flow password, cluster \"stub\", the id token for kubectl"),
        "{stderr}"
    );
    assert!(
        stderr.contains("kube user \"oidc-at\" (int128/kubelogin) → provider \"dev-at\" (oidc), context \"dev-at\", flow password, cluster \"stub-at\", the access token for kubectl"),
        "{stderr}"
    );
    assert!(
        stderr.contains("not mapped: --token-cache-dir=/tmp/kubelogin-cache"),
        "{stderr}"
    );
    assert!(
        stderr.contains("kube user \"aks\" (Azure kubelogin): not imported")
            && stderr.contains("not mapped: --login=azurecli"),
        "{stderr}"
    );
    assert!(stderr.contains("Dry run: nothing was changed."), "{stderr}");
    assert_eq!(std::fs::read_to_string(&kubeconfig).unwrap(), original);
    assert!(!sandbox.config.exists(), "no contexts file written");

    import(&[]).ok();
    let config = sandbox.read_config();
    for expected in [
        "kind: oidc",
        &format!("issuer: {issuer}"),
        "platform:read",
        "flow: password",
    ] {
        assert!(config.contains(expected), "{expected}:\n{config}");
    }
    let backup = kubeconfig.with_file_name("config.tokenctl-backup");
    assert_eq!(std::fs::read_to_string(&backup).unwrap(), original);
    let kube: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(&kubeconfig).unwrap()).unwrap();
    let user = |name: &str| {
        kube["users"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|u| u["name"] == name)
            .unwrap()["user"]
            .clone()
    };
    let oidc = user("oidc");
    let args: Vec<&str> = oidc["exec"]["args"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|a| a.as_str())
        .collect();
    assert_eq!(args, ["auth", "exec-credential", "--context", "dev"]);
    assert_eq!(
        user("aks")["exec"]["command"],
        "kubelogin",
        "left as it was"
    );
    assert_eq!(user("static")["token"], "not-a-kubelogin-user");

    // Each imported user reaches its cluster with the token it sent before: int128's default
    // the ID token, `--oidc-use-access-token` the access token.
    for (context, aud) in [("dev", "cli"), ("dev-at", RESOURCE)] {
        sandbox
            .run_env(["--context", context, "auth", "login"], &USER)
            .ok();
        let mut kubectl =
            Command::new(require_tool("kubectl", "apt-get install kubernetes-client"));
        sandbox.isolate(&mut kubectl);
        let output = kubectl
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .args(["--context", context, "get", "--raw", "/whoami"])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && stdout.contains("alice"),
            "kubectl: {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let reply: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        let named = |aud: &serde_json::Value, wanted: &str| match aud {
            serde_json::Value::Array(all) => all.iter().any(|a| a == wanted),
            one => one == wanted,
        };
        assert!(named(&reply["aud"], aud), "{context}: {reply}");
    }
}

/// `kubeconfig setup --follow` writes a user that follows TOKENCTL_CONTEXT, `.tokenctl` and
/// current-context, as far as the context's cluster is the one kubectl calls (kubectl says
/// which, `provideClusterInfo`); a context for another cluster is not followed, and one note
/// says so. Without `--follow`, the context setup named is used whatever the shell says
/// (issue 25).
#[test]
#[ignore = "needs kubectl, the test IdP (node)"]
fn a_following_kube_user_serves_the_shells_context_only_for_its_cluster() {
    let World {
        api,
        sandbox,
        idp: _idp,
    } = world();
    sandbox
        .run_env(["--context", "elsewhere", "auth", "login"], &USER)
        .ok();
    sandbox
        .run([
            "config",
            "set-cluster",
            "far",
            "--server",
            "https://far.example.com",
        ])
        .ok();
    sandbox
        .run([
            "config",
            "set-context",
            "far",
            "--provider",
            "sso",
            "--cluster",
            "far",
            "--flow",
            "password",
        ])
        .ok();
    let whoami = |env: &[(&str, &str)], dir: Option<&std::path::Path>| {
        let mut command = kubectl(&sandbox, &["get", "--raw", "/whoami"]);
        command.envs(env.iter().copied());
        if let Some(dir) = dir {
            command.current_dir(dir);
        }
        finish(command, "kubectl")
    };

    // Pinned: the shell's context changes nothing.
    let pinned = setup_kubeconfig(&sandbox);
    pinned.ok();
    assert!(
        pinned
            .stderr
            .contains("kubectl always uses context \"sso\" through it"),
        "{}",
        pinned.stderr
    );
    whoami(&[("TOKENCTL_CONTEXT", "elsewhere")], None).ok();
    assert_eq!(api.requests("401"), 0);

    let path = kubeconfig(&sandbox);
    let follows = sandbox.run([
        "kubeconfig",
        "setup",
        "--follow",
        "--kubeconfig",
        path.to_str().unwrap(),
    ]);
    follows.ok();
    let written = std::fs::read_to_string(&path).unwrap();
    assert!(
        written.contains("- --follow") && written.contains("provideClusterInfo: true"),
        "{written}"
    );
    // The same cluster: followed, so the other realm's token goes (and this API server,
    // which trusts only realm nmr, refuses it).
    let refused = whoami(&[("TOKENCTL_CONTEXT", "elsewhere")], None);
    refused.fails_with(1);
    assert_eq!(api.requests("401"), 1, "{}", refused.stderr);
    // From a directory's .tokenctl, likewise.
    let checkout = sandbox.path("checkout");
    std::fs::create_dir_all(&checkout).unwrap();
    let mut here = sandbox.command(["auth", "use-context", "elsewhere", "--here"]);
    here.current_dir(&checkout);
    sandbox.run_program(&mut here, None).ok();
    whoami(&[], Some(&checkout)).fails_with(1);
    assert_eq!(api.requests("401"), 2);
    // Another cluster's context: not followed; the pinned context's token, and one note.
    let far = whoami(&[("TOKENCTL_CONTEXT", "far")], None);
    far.ok();
    assert!(
        far.stderr.contains(
            "note: context \"far\" (from TOKENCTL_CONTEXT) is for cluster \"far\" (https://far.example.com), not the cluster kubectl calls ("
        ) && far.stderr.contains("using context \"sso\", which this kube user was set up for"),
        "{}",
        far.stderr
    );
    assert_eq!(far.stderr.matches("note:").count(), 1, "{}", far.stderr);
    // Following current-context, which names the pinned one: as before, without a note.
    let current = whoami(&[], None);
    current.ok();
    assert!(!current.stderr.contains("note:"), "{}", current.stderr);
    assert_eq!(api.requests("401"), 2);
}
