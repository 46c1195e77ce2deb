//! Which login a context uses, through the real binary against the test IdP: only one made for
//! what the context asks; logins that need no person renew themselves; races between
//! processes end as a person expects.

use crate::support;

use std::process::Stdio;

use support::Sandbox;
use support::idp::{ApiServer, Idp, RESOURCE};

const TOKEN_ENDPOINT: &str = "POST /realms/nmr/protocol/openid-connect/token";

fn user(name: &str) -> [(&'static str, String); 2] {
    [
        ("TOKENCTL_USERNAME", name.to_owned()),
        ("TOKENCTL_PASSWORD", "correct-horse".to_owned()),
    ]
}

fn env<'a>(pairs: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    pairs.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

fn status(sandbox: &Sandbox, context: &str) -> support::Run {
    sandbox.run(["--context", context, "auth", "status"])
}

#[test]
#[ignore = "needs the test IdP (node)"]
fn a_context_never_hands_out_another_identity() {
    let idp = Idp::start();
    let base = &idp.base;
    let sandbox = Sandbox::with_config(&format!(
        "\
providers:
  - {{name: sso, kind: keycloak, server: '{base}', realm: nmr, client-id: cli}}
  - {{name: svc, kind: keycloak, server: '{base}', realm: nmr, client-id: service, client-secret-env: SERVICE_SECRET}}
contexts:
  - {{name: pw, provider: sso, flow: password, scopes: [platform:read]}}
  - {{name: pw-too, provider: sso, flow: password, scopes: [platform:read]}}
  - {{name: alice, provider: sso, flow: password, scopes: [platform:read, platform:write]}}
  - {{name: second, provider: sso, flow: password, scopes: [platform:read], login: second}}
  - {{name: person, provider: svc, flow: password}}
  - {{name: machine, provider: svc, flow: client-credentials}}
current-context: pw
"
    ));
    let mallory = user("mallory");
    sandbox
        .run_env(["--context", "pw", "auth", "login"], &env(&mallory))
        .ok();
    // Other scopes, or a login of its own: not mallory's.
    for other in ["alice", "second"] {
        let stderr = status(&sandbox, other).fails_with(4).to_owned();
        assert!(stderr.contains("not logged in"), "{stderr}");
        sandbox
            .run(["--context", other, "auth", "token"])
            .fails_with(4);
    }
    let shared = status(&sandbox, "pw-too").ok().to_owned();
    assert!(
        shared.contains("Logged in as:   mallory@example.com")
            && shared.contains("Shared with:    pw"),
        "contexts that ask the same share one sign-in: {shared}"
    );
    let listed: serde_json::Value =
        serde_json::from_str(sandbox.run(["auth", "get-contexts", "-o", "json"]).ok()).unwrap();
    let login = |i: usize| listed[i]["login"].clone();
    assert!(login(0).is_string() && login(0) == login(1), "{listed}");
    for alone in 2..6 {
        assert!(login(alone).is_null(), "{listed}");
    }
    let table = sandbox
        .run(["auth", "get-contexts", "-o", "wide"])
        .ok()
        .to_owned();
    assert!(
        table.lines().next().unwrap().ends_with("SHARES LOGIN WITH")
            && table.lines().nth(1).unwrap().ends_with("pw-too"),
        "{table}"
    );

    let alice = user("alice");
    sandbox
        .run_env(["--context", "alice", "auth", "login"], &env(&alice))
        .ok();
    assert!(status(&sandbox, "alice").ok().contains("alice@example.com"));
    sandbox.run(["--context", "alice", "auth", "logout"]).ok();
    status(&sandbox, "alice").fails_with(4);
    assert!(status(&sandbox, "pw").ok().contains("mallory@example.com"));
    let logout = sandbox.run(["--context", "pw", "auth", "logout"]);
    assert!(
        logout.ok().is_empty()
            && logout
                .stderr
                .contains("Contexts pw-too used the same login"),
        "{}",
        logout.stderr
    );
    status(&sandbox, "pw-too").fails_with(4);

    // A person and the application on one client: the person's logout leaves the machine its
    // own token, and never hands the machine's token to the person's context.
    let secret = [("SERVICE_SECRET", "service-secret")];
    let mut person = env(&alice);
    person.extend(secret);
    sandbox
        .run_env(["--context", "person", "auth", "login"], &person)
        .ok();
    let machine = sandbox
        .run_env(
            ["--context", "machine", "auth", "token", "--decode"],
            &secret,
        )
        .ok()
        .to_owned();
    assert!(machine.contains("\"sub\": \"service\""), "{machine}");
    sandbox.run(["--context", "person", "auth", "logout"]).ok();
    sandbox
        .run_env(["--context", "person", "auth", "token"], &secret)
        .fails_with(4);
    sandbox
        .run_env(["--context", "machine", "auth", "token"], &secret)
        .ok();
}

/// A client-credentials context whose tokens live 20 seconds, a CA'd API server that trusts
/// the realm, and kubectl's view of it.
fn service_sandbox(idp: &Idp, api: &ApiServer, secret_env: bool) -> Sandbox {
    let base = &idp.base;
    let secret = if secret_env {
        ", client-secret-env: CI_SECRET"
    } else {
        ""
    };
    Sandbox::with_config(&format!(
        "\
providers:
  - {{name: ci, kind: keycloak, server: '{base}', realm: nmr, client-id: service-short{secret}}}
clusters:
  - {{name: api, server: '{}', certificate-authority: '{}'}}
contexts:
  - {{name: ci, provider: ci, cluster: api, flow: client-credentials}}
current-context: ci
",
        api.base, api.ca
    ))
}

fn lifetime(sandbox: &Sandbox, env: &[(&str, &str)]) -> i64 {
    let decoded = sandbox
        .run_env(["auth", "token", "--decode"], env)
        .ok()
        .to_owned();
    let decoded: serde_json::Value = serde_json::from_str(&decoded).unwrap();
    let claims = &decoded["claims"];
    claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap()
}

#[test]
#[ignore = "needs openssl, the test IdP (node)"]
fn a_service_login_is_acquired_and_renewed_without_a_person() {
    let idp = Idp::start();
    let api = ApiServer::for_audience(&[format!("{}/realms/nmr", idp.base)], RESOURCE);
    let sandbox = service_sandbox(&idp, &api, true);
    let secret = [("CI_SECRET", "service-short-secret")];

    // No `auth login`: a CI job just asks.
    assert_eq!(lifetime(&sandbox, &secret), 20, "a 20-second token");
    assert_eq!(idp.requests(TOKEN_ENDPOINT), 1);
    sandbox.run_env(["auth", "token"], &secret).ok();
    assert_eq!(
        idp.requests(TOKEN_ENDPOINT),
        1,
        "fresh: served from the store"
    );

    // Expired: 20 kubectl-style callers at once cause one token request.
    sandbox.age_login(-5);
    let children: Vec<_> = (0..20)
        .map(|_| {
            sandbox
                .command(["auth", "exec-credential"])
                .env("CI_SECRET", "service-short-secret")
                .env(
                    "KUBERNETES_EXEC_INFO",
                    r#"{"apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}"#,
                )
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut tokens = Vec::new();
    for child in children {
        let output = support::wait_bounded(child, "tokenctl auth exec-credential");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let credential: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        tokens.push(credential["status"]["token"].as_str().unwrap().to_owned());
    }
    assert_eq!(idp.requests(TOKEN_ENDPOINT), 2, "exactly one renewal");
    assert!(tokens.iter().all(|t| *t == tokens[0]));

    // `tokenctl api` after expiry too.
    sandbox.age_login(-5);
    sandbox.run_env(["api", "/api"], &secret).ok();
    assert_eq!(idp.requests(TOKEN_ENDPOINT), 3);
    assert!(api.requests("401") == 0);

    // A logout stays a logout: nothing is acquired until `auth login`.
    let logout = sandbox.run_env(["auth", "logout"], &secret);
    assert!(
        logout
            .stderr
            .contains("not acquired again on its own until `tokenctl --context ci auth login`"),
        "{}",
        logout.stderr
    );
    let stderr = sandbox
        .run_env(["auth", "token"], &secret)
        .fails_with(4)
        .to_owned();
    assert!(stderr.contains("logged out"), "{stderr}");
    assert_eq!(idp.requests(TOKEN_ENDPOINT), 3);
    sandbox.run_env(["auth", "login"], &secret).ok();
    sandbox.run_env(["auth", "token"], &secret).ok();
}

#[test]
#[ignore = "needs openssl, the test IdP (node)"]
fn a_secret_given_once_on_stdin_renews_the_login() {
    let idp = Idp::start();
    let api = ApiServer::for_audience(&[format!("{}/realms/nmr", idp.base)], RESOURCE);
    let sandbox = service_sandbox(&idp, &api, false);
    sandbox
        .run_input(
            ["auth", "login", "--client-secret-stdin"],
            "service-short-secret\n",
            &[],
        )
        .ok();
    sandbox.age_login(-5);
    let before = idp.requests(TOKEN_ENDPOINT);
    sandbox.run(["auth", "token"]).ok();
    assert_eq!(
        idp.requests(TOKEN_ENDPOINT),
        before + 1,
        "renewed with the kept secret"
    );
    assert!(
        !std::fs::read_to_string(sandbox.config.clone())
            .unwrap()
            .contains("service-short-secret")
    );
    sandbox.run(["auth", "logout"]).ok();
    let kept = std::fs::read_dir(sandbox.dir.path().join("data/tokenctl/logins"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap_or_default())
        .any(|text| text.contains("service-short-secret"));
    assert!(!kept, "the secret is removed at logout");
}

#[test]
#[ignore = "needs openssl, the test IdP (node)"]
fn min_valid_longer_than_the_tokens_live_fails_and_says_so() {
    let idp = Idp::start();
    let api = ApiServer::for_audience(&[format!("{}/realms/nmr", idp.base)], RESOURCE);
    let sandbox = service_sandbox(&idp, &api, true);
    let secret = [("CI_SECRET", "service-short-secret")];
    sandbox.run_env(["auth", "token"], &secret).ok();
    let stderr = sandbox
        .run_env(["auth", "token", "--min-valid", "2h"], &secret)
        .fails_with(1)
        .to_owned();
    assert!(
        stderr.contains("--min-valid 2h cannot be met") && stderr.contains("live 20s"),
        "{stderr}"
    );
    let requests = idp.requests(TOKEN_ENDPOINT);
    sandbox
        .run_env(["auth", "token", "--min-valid", "2h"], &secret)
        .fails_with(1);
    assert_eq!(
        idp.requests(TOKEN_ENDPOINT),
        requests,
        "the lifetime is known: nothing asked"
    );
    for absurd in ["99999999999h", "1e9s", "-5m"] {
        let stderr = sandbox
            .run_env(["auth", "token", &format!("--min-valid={absurd}")], &secret)
            .fails_with(2)
            .to_owned();
        assert!(stderr.contains("--min-valid"), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    sandbox
        .run_env(
            ["--request-timeout", "99999999999h", "auth", "token"],
            &secret,
        )
        .fails_with(2);
}

/// A logged-in sandbox (password flow, context `sso`) whose token is about to expire, and an
/// `auth token` under way that refreshes it slowly (the IdP waits 1.5 s), holding the lock.
fn refresh_in_background() -> (Idp, Sandbox, std::process::Child) {
    let (idp, sandbox) = support::idp::logged_in(&[]);
    sandbox.age_login(60);
    idp.delay_tokens(1500);
    let refreshing = spawn(&sandbox, &["auth", "token"], &[]);
    std::thread::sleep(std::time::Duration::from_millis(400));
    (idp, sandbox, refreshing)
}

fn spawn(sandbox: &Sandbox, args: &[&str], env: &[(&str, &str)]) -> std::process::Child {
    sandbox
        .command(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
#[ignore = "needs the test IdP (node)"]
fn a_logout_during_a_refresh_stays_logged_out() {
    let (idp, sandbox, refreshing) = refresh_in_background();
    let logout = support::Run::from(support::wait_bounded(
        spawn(&sandbox, &["auth", "logout"], &[]),
        "logout",
    ));
    logout.ok();
    let _ = support::wait_bounded(refreshing, "refresh");
    idp.delay_tokens(0);
    let stderr = sandbox.run(["auth", "token"]).fails_with(4).to_owned();
    assert!(stderr.contains("not logged in"), "{stderr}");
    assert!(sandbox.run(["auth", "status"]).code == 4);
}

#[test]
#[ignore = "needs the test IdP (node)"]
fn a_login_during_a_refresh_keeps_its_own_tokens() {
    let (idp, sandbox, refreshing) = refresh_in_background();
    let bob = user("bob");
    let login = spawn(&sandbox, &["auth", "login"], &env(&bob));
    let _ = support::wait_bounded(refreshing, "refresh");
    assert!(support::wait_bounded(login, "login").status.success());
    idp.delay_tokens(0);
    assert!(
        sandbox
            .run(["auth", "status"])
            .ok()
            .contains("bob@example.com")
    );
    // Bob's refresh token is the one kept: refreshing works and stays bob's.
    sandbox.run(["auth", "refresh"]).ok();
    let claims = sandbox.run(["auth", "token", "--decode"]).ok().to_owned();
    assert!(claims.contains("\"sub\": \"bob\""), "{claims}");
}

#[test]
#[ignore = "needs the test IdP (node)"]
fn waiters_behind_a_refused_refresh_cause_one_request() {
    let (idp, sandbox) = support::idp::logged_in(&[]);
    sandbox.revoke_stored_refresh_token();
    sandbox.age_login(60);
    idp.delay_tokens(500);
    let before = idp.requests(TOKEN_ENDPOINT);
    let children: Vec<_> = (0..10)
        .map(|_| spawn(&sandbox, &["auth", "token"], &[]))
        .collect();
    for child in children {
        let run = support::Run::from(support::wait_bounded(child, "auth token"));
        let stderr = run.fails_with(4);
        assert!(
            stderr.contains("tokenctl --context sso auth login"),
            "{stderr}"
        );
    }
    assert_eq!(
        idp.requests(TOKEN_ENDPOINT),
        before + 1,
        "one refused request"
    );
}

#[test]
#[ignore = "needs the test IdP (node)"]
fn a_changed_provider_gets_no_refresh_token_and_no_cached_token() {
    let (idp, sandbox) = support::idp::logged_in(&[]);
    let config = std::fs::read_to_string(&sandbox.config).unwrap();
    sandbox.write(
        &sandbox.config,
        &config.replace("realm: nmr", "realm: test"),
    );
    let before = idp.requests("POST /realms/test/protocol/openid-connect/token");
    let stderr = sandbox.run(["auth", "token"]).fails_with(4).to_owned();
    assert!(
        stderr.contains("changed since you logged in")
            && stderr.contains("/realms/nmr → ")
            && stderr.contains("tokenctl --context sso auth login"),
        "{stderr}"
    );
    sandbox.age_login(60);
    sandbox.run(["auth", "token"]).fails_with(4);
    assert_eq!(
        idp.requests("POST /realms/test/protocol/openid-connect/token"),
        before,
        "the refresh token went nowhere"
    );
}

/// A workload's token (a projected service-account token, a CI job's ID token) kept in a file
/// or a variable: `flow: exchange` with `subject-token` exchanges it for the provider's token,
/// the first time and at every renewal, reading it again each time; no person, nothing stored
/// but the exchanged token. Keycloak 26.2+'s standard token exchange: a confidential client,
/// access tokens only (the default for keycloak), `audience` and `requested_token_type` passed
/// through from `authorize-params`.
#[test]
#[ignore = "needs the test IdP (node)"]
fn an_exchange_from_a_subject_token_source_renews_itself() {
    let idp = Idp::start();
    let base = &idp.base;
    let subject_file = tempfile::NamedTempFile::new().unwrap();
    let secret_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(secret_file.path(), "exchanger-secret\n").unwrap();
    let sandbox = Sandbox::with_config(&format!(
        "\
providers:
  - {{name: ci, kind: keycloak, server: '{base}', realm: nmr, client-id: service-short, client-secret-env: CI_SECRET}}
  - {{name: sso, kind: keycloak, server: '{base}', realm: nmr, client-id: exchanger, client-secret-file: '{secret}'}}
  - {{name: public, kind: keycloak, server: '{base}', realm: nmr, client-id: cli}}
contexts:
  - {{name: ci, provider: ci, flow: client-credentials}}
  - {{name: workload, provider: sso, flow: exchange, subject-token: 'file:{subject}', scopes: [platform:read]}}
  - {{name: from-env, provider: sso, flow: exchange, subject-token: 'env:CI_JOB_JWT', subject-token-type: access_token}}
  - {{name: narrowed, provider: sso, flow: exchange, subject-token: 'file:{subject}', authorize-params: {{audience: cli}}}}
  - {{name: as-id, provider: sso, flow: exchange, subject-token: 'file:{subject}', authorize-params: {{requested_token_type: id_token}}}}
  - {{name: as-jwt, provider: sso, flow: exchange, subject-token: 'file:{subject}', subject-token-type: jwt}}
  - {{name: public, provider: public, flow: exchange, subject-token: 'file:{subject}'}}
current-context: workload
",
        subject = subject_file.path().display(),
        secret = secret_file.path().display(),
    ));
    let secret = [("CI_SECRET", "service-short-secret")];
    // The workload's own token: 20 seconds, as kubelet or the CI runner would write it.
    let subject = sandbox
        .run_env(["--context", "ci", "auth", "token"], &secret)
        .ok()
        .trim()
        .to_owned();
    std::fs::write(subject_file.path(), format!("{subject}\n")).unwrap();
    let before = idp.requests(TOKEN_ENDPOINT);

    // No `auth login`: the first `auth token` exchanges it.
    let first = sandbox.run(["auth", "token"]).ok().trim().to_owned();
    assert_eq!(idp.requests(TOKEN_ENDPOINT), before + 1);
    let claims = |token: &str| support::jwt_claims(token);
    assert_eq!(claims(&first)["sub"], claims(&subject)["sub"]);
    assert_eq!(claims(&first)["client_id"], "exchanger");
    assert!(
        claims(&first)["exp"].as_i64() <= claims(&subject)["exp"].as_i64(),
        "the IdP lets it live no longer than the subject token"
    );
    sandbox.run(["auth", "token"]).ok();
    assert_eq!(idp.requests(TOKEN_ENDPOINT), before + 1, "fresh: stored");

    // The source is read again at renewal: a token the IdP refuses shows as its refusal…
    std::fs::write(subject_file.path(), "not-a-jwt\n").unwrap();
    sandbox.age_login_of("sso", -5);
    let refused = sandbox.run(["auth", "token"]).fails_with(1).to_owned();
    assert!(
        refused.contains(&format!(
            "the token that subject-token file:{} holds was refused: invalid_request (Invalid token)",
            subject_file.path().display()
        )),
        "{refused}"
    );
    assert!(!refused.contains(&subject), "no token in errors");
    // …and a rotated one renews the login.
    sandbox
        .run_env(["--context", "ci", "auth", "refresh"], &secret)
        .ok();
    let subject = sandbox
        .run_env(["--context", "ci", "auth", "token"], &secret)
        .ok()
        .trim()
        .to_owned();
    std::fs::write(subject_file.path(), &subject).unwrap();
    let renewed = sandbox.run(["auth", "token"]).ok().trim().to_owned();
    assert_ne!(renewed, first);

    // `audience` narrows the token to another client; `requested_token_type` asks for an ID
    // token, which Keycloak sends in `access_token`.
    let token_of = |context: &str| {
        sandbox
            .run(["--context", context, "auth", "token"])
            .ok()
            .trim()
            .to_owned()
    };
    assert_eq!(
        claims(&token_of("narrowed"))["aud"],
        serde_json::json!(["cli"])
    );
    let id = claims(&token_of("as-id"));
    assert_eq!(id["aud"], "exchanger");
    assert_eq!(id["sub"], claims(&subject)["sub"]);
    // What Keycloak refuses is named with the fix.
    for (context, said, fix) in [
        (
            "as-jwt",
            "supports access tokens only",
            "subject-token-type: access_token",
        ),
        (
            "public",
            "Public client is not allowed to exchange token",
            "needs a confidential client",
        ),
    ] {
        let refused = sandbox.run(["--context", context, "auth", "token"]);
        let stderr = refused.fails_with(1);
        assert!(stderr.contains(said) && stderr.contains(fix), "{stderr}");
    }

    // An environment variable works the same; its type is the context's.
    let from_env = sandbox
        .run_env(
            ["--context", "from-env", "auth", "token"],
            &[("CI_JOB_JWT", subject.as_str())],
        )
        .ok()
        .trim()
        .to_owned();
    assert_eq!(claims(&from_env)["sub"], claims(&subject)["sub"]);
    let unset = sandbox
        .run(["--context", "from-env", "auth", "refresh"])
        .fails_with(1)
        .to_owned();
    assert!(
        unset.contains("env:CI_JOB_JWT, which is not set"),
        "{unset}"
    );

    // A logout stays a logout.
    let logout = sandbox.run(["auth", "logout"]);
    assert!(
        logout.stderr.contains(
            "not acquired again on its own until `tokenctl --context workload auth login`"
        ),
        "{}",
        logout.stderr
    );
    sandbox.run(["auth", "token"]).fails_with(4);
    sandbox.run(["auth", "login"]).ok();
    sandbox.run(["auth", "token"]).ok();
}
