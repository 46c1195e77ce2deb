//! No secret in any output: every flow and every command that touches a token, run at `-vvv`
//! with `RUST_LOG=trace`, with all that it prints scanned for every token and secret issued
//! during the run (the commands whose job is to print a token are scanned on stderr only).

use crate::support;

use support::idp::{ApiServer, Idp};
use support::{Run, Sandbox};

/// Secrets the test hands to tokenctl.
const PASSWORD: &str = "correct-horse";
const CLIENT_SECRET: &str = "service-secret";
const RUNAI_SECRET: &str = "runai-client-secret";
const EXCHANGER_SECRET: &str = "exchanger-secret";

/// Everything printed, labelled by the command that printed it.
#[derive(Default)]
struct Transcript {
    shown: Vec<(String, String)>,
    secrets: Vec<String>,
}

impl Transcript {
    /// Keeps what a command printed; `prints_token`: its stdout is a token by design.
    fn keep(&mut self, label: &str, run: &Run, prints_token: bool) {
        self.shown
            .push((format!("{label} (stderr)"), run.stderr.clone()));
        if prints_token {
            self.secret(run.stdout.trim());
        } else {
            self.shown
                .push((format!("{label} (stdout)"), run.stdout.clone()));
        }
    }

    /// A secret to look for: a JWT by its signature, anything else whole.
    fn secret(&mut self, value: &str) {
        let value = value.trim();
        if value.is_empty() {
            return;
        }
        let needle = if value.split('.').count() == 3 {
            value.rsplit('.').next().unwrap()
        } else {
            value
        };
        if needle.len() >= 8 && !self.secrets.iter().any(|s| s == needle) {
            self.secrets.push(needle.to_owned());
        }
    }

    /// Every token in the stored logins (access, refresh, ID).
    fn collect_store(&mut self, sandbox: &Sandbox) {
        let dir = sandbox.dir.path().join("data/tokenctl/logins");
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let login: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            for field in ["access_token", "refresh_token", "id_token"] {
                if let Some(token) = login[field].as_str() {
                    self.secret(token);
                }
            }
        }
    }
}

#[test]
#[ignore = "needs openssl, the test IdP (node)"]
fn no_token_or_secret_in_any_output_at_trace_level() {
    let idp = Idp::start();
    let api = ApiServer::start(&[format!("{}/realms/nmr", idp.base)]);
    let base = &idp.base;
    let sandbox = Sandbox::with_config(&format!(
        "\
credential-store: file
providers:
  - {{name: sso, kind: keycloak, server: '{base}', realm: nmr, client-id: cli}}
  - {{name: svc, kind: keycloak, server: '{base}', realm: nmr, client-id: service, client-secret-env: SVC_SECRET}}
  - {{name: inline, kind: keycloak, server: '{base}', realm: nmr, client-id: service, client-secret: {CLIENT_SECRET}}}
  - {{name: nf, kind: auth0, domain: '{base}/auth0', audience: 'https://api.tokenctl.test', client-id: service, client-secret-env: SVC_SECRET}}
  - {{name: corp, kind: azure, authority-host: '{base}', tenant: {tenant}, client-id: service, client-secret-env: SVC_SECRET, scopes: ['api://nmp/.default']}}
  - {{name: dex, kind: oidc, issuer: '{base}/oidc', client-id: cli}}
  - {{name: exchanger, kind: keycloak, server: '{base}', realm: nmr, client-id: exchanger, client-secret-env: EXCHANGER_SECRET}}
  - {{name: runai, kind: runai, server: '{base}/runai', client-id: runai-client, client-secret-env: RUNAI_SECRET}}
clusters:
  - {{name: stub, server: '{api}', certificate-authority: '{ca}'}}
contexts:
  - {{name: sso, provider: sso, cluster: stub, flow: password, scopes: [platform:read], cluster-token: id}}
  - {{name: svc, provider: svc, flow: client-credentials}}
  - {{name: inline, provider: inline, flow: client-credentials}}
  - {{name: nf, provider: nf, flow: client-credentials}}
  - {{name: corp, provider: corp, flow: client-credentials}}
  - {{name: dex, provider: dex, flow: device}}
  - {{name: runai, provider: runai, flow: client-credentials}}
  - {{name: direct, provider: dex, flow: token}}
  - {{name: exchanged, provider: exchanger, flow: exchange, scopes: [platform:write]}}
current-context: sso
",
        tenant = support::idp::AZURE_TENANT,
        api = api.base,
        ca = api.ca,
    ));
    let mut transcript = Transcript::default();
    for secret in [PASSWORD, CLIENT_SECRET, RUNAI_SECRET, EXCHANGER_SECRET] {
        transcript.secret(secret);
    }
    let trace = [
        ("RUST_LOG", "trace"),
        ("SVC_SECRET", CLIENT_SECRET),
        ("RUNAI_SECRET", RUNAI_SECRET),
        ("EXCHANGER_SECRET", EXCHANGER_SECRET),
        ("KUBERNETES_EXEC_INFO", ""),
    ];
    let run = |args: &[&str]| {
        let mut all = vec!["-vvv"];
        all.extend_from_slice(args);
        sandbox.run_env(&all, &trace)
    };
    let run_input = |args: &[&str], input: &str| {
        let mut all = vec!["-vvv"];
        all.extend_from_slice(args);
        sandbox.run_input(&all, input, &trace)
    };

    // Every flow.
    let login = run_input(
        &["auth", "login", "--username", "alice", "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    login.ok();
    transcript.keep("password login", &login, false);
    for context in ["svc", "inline", "nf", "corp", "runai"] {
        let login = run(&["--context", context, "auth", "login"]);
        login.ok();
        transcript.keep(&format!("client credentials ({context})"), &login, false);
    }
    let (login, _) =
        support::idp::device_login(&sandbox, &idp, &["-vvv", "--context", "dex"], &trace, true);
    login.ok();
    transcript.keep("device login", &login, false);
    let service_token = run(&["--context", "svc", "auth", "token"]);
    transcript.keep("auth token (svc)", &service_token, true);
    let service_token = format!("{}\n", service_token.ok().trim());
    for (context, flag) in [
        ("direct", "--token-stdin"),
        ("exchanged", "--subject-token-stdin"),
    ] {
        let login = run_input(
            &["--context", context, "auth", "login", flag],
            &service_token,
        );
        login.ok();
        transcript.keep(&format!("{context} login"), &login, false);
    }
    let no_store = run(&["--context", "svc", "auth", "login", "--no-store"]);
    transcript.keep("login --no-store", &no_store, true);
    transcript.collect_store(&sandbox);

    // Every command that hands out, refreshes, shows or uses a token.
    let refresh = run(&["auth", "refresh"]);
    refresh.ok();
    transcript.keep("auth refresh", &refresh, false);
    transcript.collect_store(&sandbox);
    for (label, args, prints_token) in [
        ("auth token", &["auth", "token"][..], true),
        (
            "auth token --id-token",
            &["auth", "token", "--id-token"][..],
            true,
        ),
        (
            "auth token --decode",
            &["auth", "token", "--decode"][..],
            false,
        ),
        (
            "auth exec-credential",
            &["auth", "exec-credential"][..],
            true,
        ),
        ("auth status", &["auth", "status", "-o", "json"][..], false),
        ("api", &["api", "-i", "/whoami"][..], false),
        ("config view", &["config", "view"][..], false),
    ] {
        let shown = run(args);
        shown.ok();
        transcript.keep(label, &shown, prints_token);
    }

    // Failures: a wrong password, a refresh token the provider refuses.
    let wrong = run_input(
        &["auth", "login", "--username", "alice", "--password-stdin"],
        "wrong-password-value\n",
    );
    wrong.fails_with(1);
    transcript.secret("wrong-password-value");
    transcript.keep("wrong password", &wrong, false);
    transcript.collect_store(&sandbox);
    sandbox.age_login_of("sso", 30);
    let logins = sandbox.dir.path().join("data/tokenctl/logins");
    for entry in std::fs::read_dir(&logins).unwrap().flatten() {
        let path = entry.path();
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let Ok(mut login) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        if login["provider"] == "sso" && login["refresh_token"].is_string() {
            login["refresh_token"] = "refused-refresh-token-value".into();
            std::fs::write(&path, serde_json::to_vec(&login).unwrap()).unwrap();
        }
    }
    transcript.secret("refused-refresh-token-value");
    let expired = run(&["auth", "token"]);
    expired.fails_with(4);
    transcript.keep("refused refresh token", &expired, true);

    let logout = run(&["auth", "logout", "--all"]);
    logout.ok();
    transcript.keep("logout --all", &logout, false);

    assert!(
        transcript.secrets.len() >= 15,
        "{} secrets",
        transcript.secrets.len()
    );
    let trace_lines: usize = transcript
        .shown
        .iter()
        .map(|(_, text)| text.matches("TRACE").count())
        .sum();
    assert!(
        trace_lines > 100,
        "trace logging was on: {trace_lines} lines"
    );
    for (label, text) in &transcript.shown {
        for secret in &transcript.secrets {
            assert!(
                !text.contains(secret.as_str()),
                "{label} shows a secret ({}…)",
                &secret[..4]
            );
        }
    }
}
