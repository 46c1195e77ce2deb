//! CI workload identity through the real binary: a job's ID token from a fake GitHub Actions
//! token service (the test IdP's /test/github-actions/token, trusted by its Keycloak and Entra ID
//! mounts as the real ones are configured) becomes the context's token with no `auth login`,
//! renewed by itself, and no secret stored.

use crate::support;

use support::idp::{AZURE_TENANT, Idp};
use support::{Sandbox, jwt_claims};

/// What a GitHub Actions job with `permissions: id-token: write` has in its environment.
fn runner_env(idp: &Idp) -> Vec<(&'static str, String)> {
    vec![
        (
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            format!("{}/test/github-actions/token?api-version=2.0", idp.base),
        ),
        (
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
            "gh-runner-request-token".to_owned(),
        ),
        // The job's secret for the Keycloak client that exchanges.
        ("EXCHANGER_SECRET", "exchanger-secret".to_owned()),
    ]
}

/// A job token as the runner's service hands it out, fetched by hand (what a CI script writing
/// it to a file would do).
fn github_job_token(idp: &Idp, audience: &str) -> String {
    use std::io::{Read, Write};
    let address = idp.base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(
        stream,
        "GET /test/github-actions/token?audience={audience} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer gh-runner-request-token\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    let body = reply.split_once("\r\n\r\n").unwrap().1;
    let value: serde_json::Value = serde_json::from_str(body).unwrap();
    value["value"].as_str().unwrap().to_owned()
}

fn run(sandbox: &Sandbox, env: &[(&'static str, String)], args: &[&str]) -> support::Run {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    sandbox.run_env(args, &env)
}

fn config(idp: &Idp) -> Sandbox {
    let base = &idp.base;
    Sandbox::with_config(&format!(
        "\
current-context: ci
providers:
  - {{name: sso, kind: keycloak, server: '{base}', realm: legacy, client-id: exchanger, client-secret-env: EXCHANGER_SECRET}}
  - {{name: sso-standard, kind: keycloak, server: '{base}', realm: nmr, client-id: exchanger, client-secret-env: EXCHANGER_SECRET}}
  - {{name: entra, kind: azure, authority-host: '{base}', tenant: {AZURE_TENANT}, client-id: federated-app, scopes: ['api://nmp/.default']}}
contexts:
  - name: ci
    provider: sso
    flow: exchange
    subject-token: github-actions
    subject-issuer: github
    scopes: [platform:read]
  - name: ci-no-alias
    provider: sso
    flow: exchange
    subject-token: github-actions
  - name: ci-standard
    provider: sso-standard
    flow: exchange
    subject-token: github-actions
    subject-issuer: github
  - name: entra-ci
    provider: entra
    flow: client-credentials
    client-assertion: github-actions
  - name: entra-wrong-audience
    provider: entra
    flow: client-credentials
    client-assertion: github-actions
    ci-token-audience: api://SomethingElse
    login: wrong-audience
"
    ))
}

#[test]
#[ignore = "needs the test IdP (node)"]
fn a_github_actions_job_exchanges_its_id_token_at_keycloak_without_a_login() {
    let idp = Idp::start();
    let sandbox = config(&idp);
    let env = runner_env(&idp);

    let token = run(&sandbox, &env, &["auth", "token"])
        .ok()
        .trim()
        .to_owned();
    let claims = jwt_claims(&token);
    assert_eq!(claims["sub"], "repo:octo/app:ref:refs/heads/main");
    assert_eq!(claims["client_id"], "exchanger");
    assert_eq!(claims["scope"], "platform:read");
    assert_eq!(idp.requests("GET /test/github-actions/token"), 1);

    // Stored: the access token only; the job's token is never kept.
    let login = std::fs::read_to_string(sandbox.login_file()).unwrap();
    assert!(!login.contains("refresh_token\":\""), "{login}");
    let job_token_marker = "github-actions/token";
    assert!(!login.contains(job_token_marker));

    // Served from the store while fresh; renewed with a new job token once it is not.
    run(&sandbox, &env, &["auth", "token"]).ok();
    assert_eq!(idp.requests("GET /test/github-actions/token"), 1);
    sandbox.age_login(30);
    let renewed = run(&sandbox, &env, &["auth", "token"])
        .ok()
        .trim()
        .to_owned();
    assert_ne!(renewed, token);
    assert_eq!(idp.requests("GET /test/github-actions/token"), 2);

    // Keycloak wants the external issuer's alias; its refusal is said.
    let refused = run(
        &sandbox,
        &env,
        &["--context", "ci-no-alias", "auth", "token"],
    );
    let stderr = refused.fails_with(1);
    assert!(stderr.contains("subject_issuer"), "{stderr}");
    // Keycloak 26.2+'s standard token exchange takes no other issuer's token: the refusal
    // names the legacy exchange that does.
    let standard = run(
        &sandbox,
        &env,
        &["--context", "ci-standard", "auth", "token"],
    );
    let stderr = standard.fails_with(1);
    assert!(
        stderr.contains("'subject_issuer' is not supported for standard token exchange")
            && stderr.contains("legacy token exchange"),
        "{stderr}"
    );

    // Outside a job (or without id-token: write): what is missing, named.
    let outside = sandbox.run_env(
        ["--context", "ci", "auth", "refresh"],
        &[("EXCHANGER_SECRET", "exchanger-secret")],
    );
    let stderr = outside.fails_with(1);
    assert!(
        stderr.contains("ACTIONS_ID_TOKEN_REQUEST_URL")
            && stderr.contains("permissions: id-token: write"),
        "{stderr}"
    );
    assert!(!stderr.contains("gh-runner-request-token"), "{stderr}");
}

#[test]
#[ignore = "needs the test IdP (node)"]
fn an_entra_federated_credential_takes_the_job_token_as_client_assertion() {
    let idp = Idp::start();
    let sandbox = config(&idp);
    let env = runner_env(&idp);

    let token = run(&sandbox, &env, &["--context", "entra-ci", "auth", "token"])
        .ok()
        .trim()
        .to_owned();
    let claims = jwt_claims(&token);
    assert_eq!(claims["client_id"], "federated-app");
    let status: serde_json::Value = serde_json::from_str(
        run(
            &sandbox,
            &env,
            &["--context", "entra-ci", "auth", "status", "-o", "json"],
        )
        .ok(),
    )
    .unwrap();
    assert_eq!(status["flow"], "client-credentials");
    assert_eq!(status["refresh_token"], false);

    // Renewed by itself with a new job token once the access token runs low.
    let asked = idp.requests("GET /test/github-actions/token");
    sandbox.age_login_of("entra", 30);
    let renewed = run(&sandbox, &env, &["--context", "entra-ci", "auth", "token"])
        .ok()
        .trim()
        .to_owned();
    assert_ne!(renewed, token);
    assert_eq!(idp.requests("GET /test/github-actions/token"), asked + 1);

    // The same federated credential from a file (GitLab's id_tokens, a projected token).
    let job_token = github_job_token(&idp, "api://AzureADTokenExchange");
    let file = sandbox.path("ci-token.jwt");
    std::fs::write(&file, format!("{job_token}\n")).unwrap();
    sandbox
        .run([
            "config",
            "set-context",
            "entra-file",
            "--provider",
            "entra",
            "--flow",
            "client-credentials",
            "--client-assertion",
            &format!("file:{}", file.display()),
            "--login",
            "from-file",
        ])
        .ok();
    let from_file = sandbox.run(["--context", "entra-file", "auth", "token"]);
    assert_eq!(
        jwt_claims(from_file.ok().trim())["client_id"],
        "federated-app"
    );

    // The audience is Entra's (api://AzureADTokenExchange) unless the context says otherwise,
    // and a federated record for another audience does not match.
    let wrong = run(
        &sandbox,
        &env,
        &["--context", "entra-wrong-audience", "auth", "token"],
    );
    let stderr = wrong.fails_with(1);
    assert!(stderr.contains("AADSTS700211"), "{stderr}");
    assert!(!stderr.contains("eyJ"), "no token in the error: {stderr}");
}

#[test]
fn ci_keys_are_checked_where_they_are_written() {
    let sandbox = Sandbox::with_config(
        "providers:\n  - {name: sso, kind: keycloak, server: 'https://sso.example.com', realm: nmr, client-id: cli}\n\
         contexts:\n  - {name: ci, provider: sso, flow: exchange}\n",
    );
    let before = sandbox.read_config();
    let refused = sandbox.run([
        "config",
        "set-context",
        "ci",
        "--client-assertion",
        "github-actions",
    ]);
    assert!(
        refused
            .fails_with(1)
            .contains("field `client-assertion` needs `flow: client-credentials`"),
        "{}",
        refused.stderr
    );
    let refused = sandbox.run(["config", "set-context", "ci", "--subject-token", "gha"]);
    assert!(
        refused
            .fails_with(1)
            .contains("is not `github-actions`, `file:PATH` or `env:NAME`"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        sandbox.read_config(),
        before,
        "a refused edit changes nothing"
    );
    sandbox
        .run([
            "config",
            "set-context",
            "ci",
            "--subject-token",
            "github-actions",
            "--subject-issuer",
            "github",
            "--ci-token-audience",
            "https://sso.example.com/realms/nmr",
        ])
        .ok();
    let text = sandbox.read_config();
    assert!(
        text.contains("subject-token: github-actions")
            && text.contains("subject-issuer: github")
            && text.contains("ci-token-audience: https://sso.example.com/realms/nmr"),
        "{text}"
    );
}
