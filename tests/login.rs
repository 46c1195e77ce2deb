//! `auth login`, `auth token` and `auth status` through the real binary against the test
//! identity provider (oidc-provider), one dialect layout at a time.

use crate::support;

use std::io::BufReader;
use std::process::Stdio;

use support::idp::{AZURE_TENANT, Idp, MSA_TENANT};
use support::tmux::Tmux;
use support::{Run, Sandbox};

/// A contexts file with one provider per dialect layout of the test IdP, and a context each.
fn sandbox(idp: &Idp) -> Sandbox {
    let base = &idp.base;
    Sandbox::with_config(&format!(
        "\
providers:
  - {{name: sso, kind: keycloak, server: '{base}', realm: nmr, client-id: cli}}
  - {{name: sso-svc, kind: keycloak, server: '{base}', realm: nmr, client-id: service, client-secret-env: SVC_SECRET}}
  - {{name: nf, kind: auth0, domain: '{base}/auth0', audience: 'https://api.tokenctl.test', client-id: service, client-secret-env: SVC_SECRET}}
  - {{name: corp, kind: azure, authority-host: '{base}', tenant: {AZURE_TENANT}, client-id: service, client-secret-env: SVC_SECRET, scopes: ['api://nmp/.default']}}
  - {{name: corp-user, kind: azure, authority-host: '{base}', tenant: {AZURE_TENANT}, client-id: cli}}
  - {{name: dex, kind: oidc, issuer: '{base}/oidc', client-id: cli}}
  - {{name: exchanger, kind: keycloak, server: '{base}', realm: nmr, client-id: exchanger, client-secret-env: EXCHANGER_SECRET}}
contexts:
  - {{name: sso, provider: sso, flow: password, scopes: [platform:read]}}
  - {{name: svc, provider: sso-svc, flow: client-credentials, scopes: [platform:read]}}
  - {{name: nf, provider: nf, flow: client-credentials}}
  - {{name: corp, provider: corp, flow: client-credentials}}
  - {{name: dex, provider: dex, flow: device, scopes: [platform:read]}}
  - {{name: corp-user, provider: corp-user, flow: device}}
  - {{name: sso-device, provider: sso, flow: device}}
  - {{name: exchanged, provider: exchanger, flow: exchange}}
"
    ))
}

const SECRET: (&str, &str) = ("SVC_SECRET", "service-secret");

fn claims(sandbox: &Sandbox, context: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["--context", context, "auth", "token", "--decode"];
    args.extend_from_slice(extra);
    serde_json::from_str::<serde_json::Value>(sandbox.run(&args).ok()).unwrap()["claims"].clone()
}

#[test]
#[ignore = "needs the test IdP (node)"]
fn client_credentials_on_keycloak_auth0_and_azure_layouts() {
    let idp = Idp::start();
    let sandbox = sandbox(&idp);
    for context in ["svc", "nf", "corp"] {
        let run = sandbox.run_env(["--context", context, "auth", "login"], &[SECRET]);
        run.ok();
        assert!(
            run.stderr.contains(&format!(
                "Logged in to {}",
                if context == "svc" { "sso-svc" } else { context }
            )),
            "{}",
            run.stderr
        );
    }
    let keycloak = claims(&sandbox, "svc", &[]);
    assert_eq!(keycloak["iss"], format!("{}/realms/nmr", idp.base));
    assert_eq!(keycloak["scope"], "platform:read");
    let auth0 = claims(&sandbox, "nf", &[]);
    assert_eq!(auth0["iss"], format!("{}/auth0/", idp.base));
    assert_eq!(
        auth0["aud"], "https://api.tokenctl.test",
        "the audience reached Auth0"
    );
    let azure = claims(&sandbox, "corp", &[]);
    assert_eq!(azure["iss"], format!("{}/{AZURE_TENANT}/v2.0", idp.base));

    let status: serde_json::Value = serde_json::from_str(
        sandbox
            .run(["--context", "svc", "auth", "status", "-o", "json"])
            .ok(),
    )
    .unwrap();
    assert_eq!(status["kind"], "keycloak");
    assert_eq!(status["identity"], "service");
    assert_eq!(status["refresh_token"], false);
    assert!(status["expires_in_seconds"].as_i64().unwrap() > 3500);

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let logins = sandbox.dir.path().join("data/tokenctl/logins");
        assert_eq!(
            std::fs::metadata(&logins).unwrap().permissions().mode() & 0o777,
            0o700
        );
        for entry in std::fs::read_dir(&logins).unwrap() {
            assert_eq!(
                entry.unwrap().metadata().unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
    }
}

#[test]
#[ignore = "needs the test IdP (node)"]
fn a_wrong_client_secret_is_one_clear_line_and_stores_nothing() {
    let idp = Idp::start();
    let sandbox = sandbox(&idp);
    let run = sandbox.run_env(
        ["--context", "svc", "auth", "login"],
        &[("SVC_SECRET", "wrong")],
    );
    let stderr = run.fails_with(1);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("invalid_client")
            && stderr.contains("check client-id and the client secret"),
        "{stderr}"
    );
    assert!(!sandbox.dir.path().join("data/tokenctl/logins").exists());
    // Auth0 says access_denied (401) for a wrong secret: not a declined sign-in.
    let auth0 = sandbox.run_env(
        ["--context", "nf", "auth", "login"],
        &[("SVC_SECRET", "wrong")],
    );
    let stderr = auth0.fails_with(1);
    assert!(
        stderr.contains("access_denied")
            && stderr.contains("check the client secret")
            && !stderr.contains("declined"),
        "{stderr}"
    );
    let stderr = sandbox
        .run(["--context", "svc", "auth", "token"])
        .fails_with(4)
        .to_owned();
    // The missing variable first, and both ways out: `auth login` alone would fail the same
    // way.
    assert!(
        stderr.contains("SVC_SECRET is not set (client-secret-env names it): export it")
            && stderr.contains("tokenctl --context svc auth login --client-secret-stdin"),
        "{stderr}"
    );

    // The secret from stdin, or from client-secret-file.
    sandbox
        .run_input(
            ["--context", "svc", "auth", "login", "--client-secret-stdin"],
            "service-secret\n",
            &[],
        )
        .ok();
    let secret_file = sandbox.path("secret.txt");
    sandbox.write(&secret_file, "service-secret\n");
    let original = sandbox.read_config();
    let with_file = original.replace(
        "client-secret-env: SVC_SECRET",
        &format!("client-secret-file: '{}'", secret_file.display()),
    );
    sandbox.write(&sandbox.config, &with_file);
    sandbox.run(["--context", "svc", "auth", "login"]).ok();
    sandbox.write(&sandbox.config, &original);

    let run = sandbox.run_env(["--context", "svc", "auth", "login"], &[]);
    assert!(
        run.fails_with(1)
            .contains("SVC_SECRET is not set (client-secret-env names it): export it"),
        "{}",
        run.stderr
    );
}

#[test]
#[ignore = "needs the test IdP (node)"]
fn password_flow_reads_the_password_from_stdin_and_warns_about_mfa() {
    let idp = Idp::start();
    let sandbox = sandbox(&idp);
    let run = sandbox.run_input(
        [
            "--context",
            "sso",
            "auth",
            "login",
            "--username",
            "alice",
            "--password-stdin",
        ],
        "correct-horse\n",
        &[],
    );
    run.ok();
    assert!(
        run.stderr.contains("bypasses multi-factor authentication"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("as alice@example.com"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("no OS keyring answered"),
        "the file store is announced: {}",
        run.stderr
    );
    let status = sandbox
        .run(["--context", "sso", "auth", "status"])
        .ok()
        .to_owned();
    assert!(
        status.contains("Logged in as:   alice@example.com"),
        "{status}"
    );
    assert!(status.contains("Refresh token:  yes"), "{status}");
    assert!(status.contains("platform:read"), "{status}");
    let id = claims(&sandbox, "sso", &["--id-token"]);
    assert_eq!(id["aud"], "cli");

    let wrong = sandbox.run_input(
        [
            "--context",
            "sso",
            "auth",
            "login",
            "--username",
            "alice",
            "--password-stdin",
        ],
        "wrong\n",
        &[],
    );
    assert!(
        wrong
            .fails_with(1)
            .contains("error: the identity provider refused alice's username or password"),
        "{}",
        wrong.stderr
    );
    let env = sandbox.run_env(
        ["-vv", "--context", "sso", "auth", "login"],
        &[
            ("TOKENCTL_USERNAME", "bob"),
            ("TOKENCTL_PASSWORD", "correct-horse"),
        ],
    );
    env.ok();
    assert!(env.stderr.contains("as bob@example.com"), "{}", env.stderr);
    assert!(env.stderr.contains("ID token verified"), "{}", env.stderr);
}

/// `auth login` in `context` as alice, her password on stdin; `extra` flags after it.
fn password_login(sandbox: &Sandbox, context: &str, extra: &[&str]) -> Run {
    let mut args = vec![
        "--context",
        context,
        "auth",
        "login",
        "--username",
        "alice",
        "--password-stdin",
    ];
    args.extend_from_slice(extra);
    sandbox.run_input(args, "correct-horse\n", &[])
}

fn device_login(sandbox: &Sandbox, idp: &Idp, context: &str, approve: bool) -> (Run, String) {
    support::idp::device_login(sandbox, idp, &["--context", context], &[], approve)
}

#[test]
#[ignore = "needs the test IdP (node)"]
fn device_flow_with_discovery_shows_the_code_and_waits_for_approval() {
    let idp = Idp::start();
    let sandbox = sandbox(&idp);
    let (run, code) = device_login(&sandbox, &idp, "dex", true);
    run.ok();
    assert!(
        run.stderr.contains(&format!("{}/oidc/device", idp.base)),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!("user_code={code}")),
        "the complete URL too: {}",
        run.stderr
    );
    let id = claims(&sandbox, "dex", &["--id-token"]);
    assert_eq!(id["iss"], format!("{}/oidc", idp.base));
    assert_eq!(id["sub"], "alice");

    let (denied, _) = device_login(&sandbox, &idp, "dex", false);
    assert!(
        denied.fails_with(1).contains("access_denied"),
        "{}",
        denied.stderr
    );
}

#[test]
#[ignore = "needs the test IdP (node)"]
fn a_direct_token_and_a_token_exchange() {
    let idp = Idp::start();
    let sandbox = sandbox(&idp);
    sandbox
        .run_env(["--context", "svc", "auth", "login"], &[SECRET])
        .ok();
    let service_token = sandbox
        .run(["--context", "svc", "auth", "token"])
        .ok()
        .trim()
        .to_owned();

    // Direct token: kept as it is, no refresh.
    sandbox
        .run_input(
            [
                "--context",
                "sso",
                "auth",
                "login",
                "--flow",
                "token",
                "--token-stdin",
            ],
            &format!("{service_token}\n"),
            &[],
        )
        .ok();
    assert_eq!(
        sandbox
            .run(["--context", "sso", "auth", "token"])
            .ok()
            .trim(),
        service_token
    );
    let status = sandbox
        .run(["--context", "sso", "auth", "status"])
        .ok()
        .to_owned();
    assert!(
        status.contains("Flow:           token") && status.contains("Refresh token:  no"),
        "{status}"
    );

    // RFC 8693 at Keycloak 26.2+ (standard token exchange): a public client may not exchange,
    // and the refusal says what to use instead…
    let exchange = |context: &str, env: &[(&str, &str)]| {
        sandbox.run_input(
            [
                "--context",
                context,
                "auth",
                "login",
                "--flow",
                "exchange",
                "--subject-token-stdin",
                "--scope",
                "platform:read",
            ],
            &format!("{service_token}\n"),
            env,
        )
    };
    let public = exchange("sso", &[]);
    let stderr = public.fails_with(1);
    assert!(
        stderr.contains("Public client is not allowed to exchange token")
            && stderr.contains("needs a confidential client"),
        "{stderr}"
    );
    // …a confidential one exchanges the service's token for its own.
    exchange("exchanged", &[("EXCHANGER_SECRET", "exchanger-secret")]).ok();
    let exchanged = claims(&sandbox, "exchanged", &[]);
    assert_eq!(exchanged["sub"], "service");
    assert_eq!(exchanged["client_id"], "exchanger");
}

#[test]
#[ignore = "needs the test IdP (node)"]
fn no_store_prints_the_token_and_keeps_nothing() {
    let idp = Idp::start();
    let sandbox = sandbox(&idp);
    let run = sandbox.run_env(
        ["--context", "svc", "auth", "login", "--no-store"],
        &[SECRET],
    );
    assert_eq!(run.ok().matches('.').count(), 2, "a JWT on stdout");
    assert!(!sandbox.dir.path().join("data/tokenctl/logins").exists());
}

#[test]
#[ignore = "needs the test IdP (node)"]
fn no_secret_reaches_the_terminal_at_any_verbosity() {
    let idp = Idp::start();
    let sandbox = sandbox(&idp);
    let run = sandbox.run_env(
        ["-vvv", "--context", "svc", "auth", "login"],
        &[SECRET, ("RUST_LOG", "trace")],
    );
    run.ok();
    let token = sandbox
        .run(["--context", "svc", "auth", "token"])
        .ok()
        .trim()
        .to_owned();
    let signature = token.rsplit('.').next().unwrap();
    for shown in [&run.stdout, &run.stderr] {
        assert!(!shown.contains("service-secret"), "client secret leaked");
        assert!(!shown.contains(signature), "access token leaked");
    }
    let run = sandbox.run_input(
        [
            "-vvv",
            "--context",
            "sso",
            "auth",
            "login",
            "--username",
            "alice",
            "--password-stdin",
        ],
        "correct-horse\n",
        &[("RUST_LOG", "trace")],
    );
    run.ok();
    assert!(!run.stderr.contains("correct-horse"), "password leaked");
    let status = sandbox.run(["-vvv", "--context", "sso", "auth", "status", "-o", "json"]);
    let token = sandbox
        .run(["--context", "sso", "auth", "token"])
        .ok()
        .trim()
        .to_owned();
    assert!(
        !status.ok().contains(token.rsplit('.').next().unwrap()),
        "status never shows the token"
    );
}

/// Every grant of Run:ai's token API: a current server (v2.24 on) through `/api/v2/token`; a
/// 2.22 server, which has only v1, through v1 once its v2 answered 404, and the login keeps to
/// v1 (no second probe at refresh); `app_token` and the apptoken endpoint on the old server.
#[test]
#[ignore = "needs chromium, the test IdP (node)"]
fn every_runai_grant_type() {
    let idp = Idp::start();
    let base = &idp.base;
    let sandbox = Sandbox::with_config(&format!(
        "\
providers:
  - {{name: runai, kind: runai, server: '{base}/runai', client-id: runai-client, client-secret-env: RUNAI_SECRET}}
  - {{name: runai-app, kind: runai, server: '{base}/runai-old', client-id: app-id, client-secret-env: RUNAI_SECRET, client-grant: app_token}}
  - {{name: runai-legacy, kind: runai, server: '{base}/runai-old', client-id: app-id, client-secret-env: RUNAI_SECRET, client-grant: apptoken-endpoint, app-name: ci}}
  - {{name: runai-user, kind: runai, server: '{base}/runai'}}
  - {{name: runai-old-user, kind: runai, server: '{base}/runai-old'}}
  - {{name: runai-sso, kind: runai, server: '{base}/runai', client-id: runai-web, authorize-url: '{base}/oidc/auth'}}
contexts:
  - {{name: client, provider: runai, flow: client-credentials}}
  - {{name: app, provider: runai-app, flow: client-credentials}}
  - {{name: legacy, provider: runai-legacy, flow: client-credentials}}
  - {{name: user, provider: runai-user, flow: password}}
  - {{name: old-user, provider: runai-old-user, flow: password}}
  - {{name: sso, provider: runai-sso, flow: browser}}
"
    ));
    const V2: &str = "POST /runai/api/v2/token";
    const V1: &str = "POST /runai/api/v1/token";
    let login = |context: &str, secret: &str| {
        sandbox.run_env(
            ["--context", context, "auth", "login"],
            &[("RUNAI_SECRET", secret)],
        )
    };
    login("client", "runai-client-secret").ok();
    assert_eq!(
        claims(&sandbox, "client", &[])["sub"],
        "client:runai-client"
    );
    assert_eq!((idp.requests(V2), idp.requests(V1)), (1, 0), "v2 only");
    login("app", "app-secret").ok();
    assert_eq!(claims(&sandbox, "app", &[])["sub"], "app:app-id");
    login("legacy", "app-secret").ok();
    assert_eq!(claims(&sandbox, "legacy", &[])["sub"], "app:ci");
    let refused = login("client", "wrong");
    let stderr = refused.fails_with(1);
    assert!(
        stderr.contains("400 Bad request.") && stderr.contains("invalid client credentials"),
        "{stderr}"
    );

    sandbox
        .run_input(
            [
                "--context",
                "user",
                "auth",
                "login",
                "--username",
                "bob",
                "--password-stdin",
            ],
            "correct-horse\n",
            &[],
        )
        .ok();
    // refresh_token grant: the fake rotates the refresh token; two refreshes in a row work.
    sandbox.run(["--context", "user", "auth", "refresh"]).ok();
    sandbox.run(["--context", "user", "auth", "refresh"]).ok();
    assert_eq!(
        idp.requests(V1),
        0,
        "a current server is spoken to through v2"
    );

    // A 2.22 server: v2 answers 404 once, then v1; its refreshes go to v1 straight away.
    let old = |version: &str| idp.requests(&format!("POST /runai-old/api/{version}/token"));
    let v1_before = old("v1");
    sandbox
        .run_input(
            [
                "--context",
                "old-user",
                "auth",
                "login",
                "--username",
                "carol",
                "--password-stdin",
            ],
            "correct-horse\n",
            &[],
        )
        .ok();
    sandbox
        .run(["--context", "old-user", "auth", "refresh"])
        .ok();
    sandbox
        .run(["--context", "old-user", "auth", "refresh"])
        .ok();
    assert_eq!((old("v2"), old("v1") - v1_before), (1, 3));
    assert_eq!(claims(&sandbox, "old-user", &[])["sub"], "carol");
    let status = sandbox
        .run(["--context", "user", "auth", "status"])
        .ok()
        .to_owned();
    assert!(
        status.contains("Logged in as:   bob@example.com"),
        "{status}"
    );
    assert!(status.contains("Refresh token:  yes"), "{status}");
    assert!(
        status.contains("Token expires:  20"),
        "expiry read from the JWT: {status}"
    );

    sandbox
        .run_input(
            [
                "--context",
                "user",
                "auth",
                "login",
                "--flow",
                "exchange",
                "--subject-token-stdin",
            ],
            "external-idp-token\n",
            &[],
        )
        .ok();
    assert_eq!(claims(&sandbox, "user", &[])["sub"], "external-user");

    // exchange_token: a sign-in in the browser (real Chromium), its code redeemed by Run:ai at
    // its identity provider, which has no verifier to send: no PKCE challenge, or the code
    // could not be redeemed.
    support::require_tool("chromium", "apt-get install chromium");
    let node = support::require_tool("node", "apt-get install nodejs npm");
    let script = support::workspace_root().join("tests/idp/browser.js");
    let browser = format!("{} {} %s", node.display(), script.display());
    sandbox
        .run_env(
            ["--context", "sso", "auth", "login"],
            &[("BROWSER", &browser)],
        )
        .ok();
    assert_eq!(claims(&sandbox, "sso", &[])["sub"], "alice");
}

#[test]
#[ignore = "needs the test IdP (node)"]
fn a_cluster_that_advertises_its_provider_nemo_style() {
    let idp = Idp::start();
    let base = &idp.base;
    let sandbox = Sandbox::with_config(&format!(
        "\
clusters:
  - {{name: nmp, server: '{base}/cluster'}}
contexts:
  - {{name: nmp, provider: discover, cluster: nmp, flow: password}}
current-context: nmp
"
    ));
    let run = sandbox.run_input(
        [
            "auth",
            "login",
            "--username",
            "alice",
            "--password-stdin",
            "--scope",
            "platform:read",
        ],
        "correct-horse\n",
        &[],
    );
    run.ok();
    assert!(
        run.stderr
            .contains("Logged in to discover:nmp as alice@example.com"),
        "{}",
        run.stderr
    );
    let claims = claims(&sandbox, "nmp", &[]);
    assert_eq!(
        claims["iss"],
        format!("{base}/oidc"),
        "the cluster's provider issued it"
    );
    assert_eq!(
        claims["scope"], "platform:read",
        "--scope narrowed the request"
    );
    let status = sandbox.run(["auth", "status"]).ok().to_owned();
    assert!(
        status.contains("Provider:       discover:nmp (oidc)"),
        "{status}"
    );
    assert!(status.contains("Cluster:        nmp"), "{status}");

    // A cluster that does not advertise a provider says so.
    let lost = Sandbox::with_config(&format!(
        "clusters:\n  - {{name: c, server: '{base}/nowhere'}}\ncontexts:\n  - {{name: c, provider: discover, cluster: c, flow: password}}\ncurrent-context: c\n"
    ));
    let run = lost.run_input(
        ["auth", "login", "--username", "a", "--password-stdin"],
        "x\n",
        &[],
    );
    assert!(
        run.fails_with(1)
            .contains("does this cluster advertise its identity provider?"),
        "{}",
        run.stderr
    );
}

#[test]
#[ignore = "needs the test IdP (node)"]
fn ctrl_c_ends_a_device_login_cleanly() {
    let idp = Idp::start();
    let sandbox = sandbox(&idp);
    let mut child = sandbox
        .command(["--context", "dex", "auth", "login"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    support::read_device_prompt(&mut stderr);
    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let rest = std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut rest);
        rest
    });
    let output = support::wait_bounded(child, "tokenctl auth login (interrupted)");
    assert_eq!(output.status.code(), Some(130), "as a shell reports SIGINT");
    assert!(
        rest.join()
            .unwrap()
            .contains("login interrupted; nothing was stored")
    );
    assert!(sandbox.stored_logins().is_empty());
}

#[test]
#[ignore = "needs the test IdP (node)"]
fn device_code_on_the_azure_and_keycloak_layouts() {
    let idp = Idp::start();
    let sandbox = sandbox(&idp);
    let (run, _) = device_login(&sandbox, &idp, "corp-user", true);
    run.ok();
    assert!(
        run.stderr
            .contains(&format!("{}/{AZURE_TENANT}/devicelogin", idp.base)),
        "{}",
        run.stderr
    );
    let id = claims(&sandbox, "corp-user", &["--id-token"]);
    assert_eq!(id["iss"], format!("{}/{AZURE_TENANT}/v2.0", idp.base));
    let (run, _) = device_login(&sandbox, &idp, "sso-device", true);
    run.ok();
    assert!(
        run.stderr
            .contains(&format!("{}/realms/nmr/device", idp.base)),
        "{}",
        run.stderr
    );
}

/// Entra ID names a tenant by its GUID in `iss` whatever name was configured: a verified
/// domain, the GUID in upper case, or a multi-tenant authority. Each signs in, its ID token
/// is verified against the issuer the tenant's discovery states, and a refresh verifies again.
#[test]
#[ignore = "needs the test IdP (node)"]
fn entra_tenants_by_domain_upper_case_guid_and_multi_tenant_names() {
    let idp = Idp::start();
    let base = &idp.base;
    let upper = AZURE_TENANT.to_ascii_uppercase();
    let alias = base.replace("127.0.0.1", "localhost");
    let sandbox = Sandbox::with_config(&format!(
        "\
providers:
  - {{name: domain, kind: azure, authority-host: '{base}', tenant: contoso.onmicrosoft.com, client-id: cli}}
  - {{name: upper, kind: azure, authority-host: '{base}', tenant: '{upper}', client-id: cli}}
  - {{name: orgs, kind: azure, authority-host: '{base}', tenant: organizations, client-id: cli}}
  - {{name: common, kind: azure, authority-host: '{base}', tenant: common, client-id: cli}}
  - {{name: consumers, kind: azure, authority-host: '{base}', tenant: consumers, client-id: cli}}
  - {{name: china, kind: azure, authority-host: '{alias}', tenant: {AZURE_TENANT}, client-id: cli}}
  - {{name: own-keys, kind: azure, authority-host: '{base}', tenant: {AZURE_TENANT}, client-id: custom-keys}}
contexts:
  - {{name: domain, provider: domain, flow: password}}
  - {{name: upper, provider: upper, flow: password}}
  - {{name: orgs, provider: orgs, flow: password}}
  - {{name: common, provider: common, flow: device}}
  - {{name: consumers, provider: consumers, flow: device}}
  - {{name: china, provider: china, flow: password}}
  - {{name: own-keys, provider: own-keys, flow: password}}
"
    ));
    let password = |context: &str| password_login(&sandbox, context, &[]);
    let work_issuer = format!("{base}/{AZURE_TENANT}/v2.0");
    for context in ["domain", "upper", "orgs"] {
        password(context).ok();
        let id = claims(&sandbox, context, &["--id-token"]);
        assert_eq!(id["iss"], work_issuer, "{context}");
        assert_eq!(id["tid"], AZURE_TENANT, "{context}");
        // The refreshed ID token passes the same check, with the issuer the login recorded.
        sandbox.run(["--context", context, "auth", "refresh"]).ok();
    }
    for (context, tid) in [("common", AZURE_TENANT), ("consumers", MSA_TENANT)] {
        let (run, _) = device_login(&sandbox, &idp, context, true);
        run.ok();
        let id = claims(&sandbox, context, &["--id-token"]);
        assert_eq!(id["iss"], format!("{base}/{tid}/v2.0"), "{context}");
    }
    // A cloud whose issuer host is not its authority host (China: login.chinacloudapi.cn
    // issues as login.partner.microsoftonline.cn): here `localhost` answers for 127.0.0.1.
    password("china").ok();
    let id = claims(&sandbox, "china", &["--id-token"]);
    assert_eq!(id["iss"], work_issuer);

    // An app with signing keys of its own (claims mapping): its ID token's key is only in
    // keys?appid=…, which is asked once the tenant's keys lack it.
    password("own-keys").ok();
    let decoded: serde_json::Value = serde_json::from_str(
        sandbox
            .run([
                "--context",
                "own-keys",
                "auth",
                "token",
                "--id-token",
                "--decode",
            ])
            .ok(),
    )
    .unwrap();
    assert_eq!(decoded["header"]["kid"], "custom-keys-rs256");

    // A bare API scope would be Microsoft Graph's (AADSTS650053): refused before any request,
    // with the fix; with the API's App ID URI as scope-prefix, it is that API's scope.
    let before = idp.requests(&format!("POST /{AZURE_TENANT}/oauth2/v2.0/token"));
    let bare = password_login(&sandbox, "domain", &["--scope", "platform:read"]);
    assert!(
        bare.fails_with(1)
            .contains("the scope \"platform:read\" names no API")
            && bare.stderr.contains("--scope-prefix api://YOUR-API/"),
        "{}",
        bare.stderr
    );
    assert_eq!(
        idp.requests(&format!("POST /{AZURE_TENANT}/oauth2/v2.0/token")),
        before
    );
    sandbox
        .run([
            "config",
            "set-provider",
            "domain",
            "--scope-prefix",
            "api://nmp/",
        ])
        .ok();
    password_login(&sandbox, "domain", &["--scope", "platform:read"]).ok();
    assert_eq!(claims(&sandbox, "domain", &[])["scope"], "platform:read");
}

#[test]
#[ignore = "needs the test IdP (node)"]
fn nemo_style_device_login_through_a_discovering_cluster() {
    let idp = Idp::start();
    let base = &idp.base;
    let sandbox = Sandbox::with_config(&format!(
        "clusters:\n  - {{name: nmp, server: '{base}/cluster'}}\n\
         contexts:\n  - {{name: nmp, provider: discover, cluster: nmp, flow: device}}\ncurrent-context: nmp\n"
    ));
    let (run, _) = device_login(&sandbox, &idp, "nmp", true);
    run.ok();
    let status = sandbox.run(["auth", "status"]).ok().to_owned();
    assert!(
        status.contains("Provider:       discover:nmp (oidc)")
            && status.contains("Flow:           device"),
        "{status}"
    );
    assert!(
        status.contains("platform:read platform:write"),
        "the cluster's default scopes: {status}"
    );
}

/// NeMo's documented discovery shapes: a cluster backed by Entra ID whose `scope_prefix` names
/// the API (its bare scopes would be Microsoft Graph's), NeMo Helix's list of clients, and a
/// cluster with authentication off.
#[test]
#[ignore = "needs the test IdP (node)"]
fn nemo_discovery_shapes_entra_with_a_scope_prefix_helix_clients_and_no_auth() {
    let idp = Idp::start();
    let base = &idp.base;
    let sandbox = Sandbox::with_config(&format!(
        "\
clusters:
  - {{name: entra, server: '{base}/cluster-entra'}}
  - {{name: helix, server: '{base}/cluster-helix'}}
  - {{name: open, server: '{base}/cluster-open'}}
contexts:
  - {{name: entra, provider: discover, cluster: entra, flow: device}}
  - {{name: helix, provider: discover, cluster: helix, flow: password}}
  - {{name: open, provider: discover, cluster: open, flow: password}}
"
    ));
    let (run, _) = device_login(&sandbox, &idp, "entra", true);
    run.ok();
    let access = claims(&sandbox, "entra", &[]);
    assert_eq!(access["scope"], "platform:read platform:write", "{access}");
    let status = sandbox
        .run(["--context", "entra", "auth", "status"])
        .ok()
        .to_owned();
    assert!(
        status.contains("api://nmp/platform:read api://nmp/platform:write"),
        "the cluster's default scopes, prefixed: {status}"
    );
    assert!(!status.contains("fewer scopes"), "{status}");
    let id = claims(&sandbox, "entra", &["--id-token"]);
    assert_eq!(id["iss"], format!("{base}/{AZURE_TENANT}/v2.0"));

    let login = |context: &str| password_login(&sandbox, context, &[]);
    login("helix").ok();
    assert_eq!(
        claims(&sandbox, "helix", &[])["client_id"],
        "cli",
        "the default client"
    );
    let open = login("open");
    assert!(
        open.fails_with(1).contains(
            "cluster \"open\" needs no login: its discovery document says auth_enabled: false"
        ),
        "{}",
        open.stderr
    );
}

/// A caller that closed stderr (a daemon, a cron job, `2>&-`) still logs in: descriptors 0–2
/// are /dev/null before anything opens, so no socket or file tokenctl opens becomes stderr
/// (the `-vv` log lines would go into it, or fail and abort the login).
#[test]
#[ignore = "needs the test IdP (node)"]
fn a_closed_stderr_never_becomes_a_file_or_socket_tokenctl_opens() {
    let idp = Idp::start();
    let sandbox = sandbox(&idp);
    let mut shell = std::process::Command::new("sh");
    shell.args(["-c", "exec tokenctl -vv --context svc auth login 2>&-"]);
    sandbox.isolate(&mut shell);
    let status = shell
        .env(SECRET.0, SECRET.1)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "the login with stderr closed: {status}");
    let status = sandbox.run(["--context", "svc", "auth", "status"]);
    assert!(
        status.ok().contains("Logged in as:   service"),
        "{}",
        status.stdout
    );
}

/// RFC 6749 §2.3.1 as clients are registered: HTTP Basic first; a client that takes its secret
/// only in the form is refused once, asked that way, and remembered; `client-auth` fixes the
/// way and nothing else is tried.
#[test]
#[ignore = "needs the test IdP (node)"]
fn the_client_authenticates_as_it_is_registered() {
    let idp = Idp::start();
    let base = &idp.base;
    let keycloak = format!("kind: keycloak, server: '{base}', realm: nmr");
    let sandbox = Sandbox::with_config(&format!(
        "\
providers:
  - {{name: basic-only, {keycloak}, client-id: service-basic, client-secret-env: BASIC_SECRET}}
  - {{name: post-only, {keycloak}, client-id: service-post, client-secret-env: POST_SECRET}}
  - {{name: forced-post, {keycloak}, client-id: service-basic, client-secret-env: BASIC_SECRET, client-auth: post}}
  - {{name: forced-basic, {keycloak}, client-id: service-post, client-secret-env: POST_SECRET, client-auth: basic}}
contexts:
  - {{name: basic, provider: basic-only, flow: client-credentials}}
  - {{name: post, provider: post-only, flow: client-credentials}}
  - {{name: forced-post, provider: forced-post, flow: client-credentials}}
  - {{name: forced-basic, provider: forced-basic, flow: client-credentials}}
"
    ));
    let env = [
        ("BASIC_SECRET", "service-basic-secret"),
        ("POST_SECRET", "service-post-secret"),
    ];
    let token = "POST /realms/nmr/protocol/openid-connect/token";
    let requests = |args: &[&str], expect_ok: bool| {
        let before = idp.requests(token);
        let run = sandbox.run_env(args, &env);
        let stderr = if expect_ok {
            run.ok();
            run.stderr.clone()
        } else {
            run.fails_with(1).to_owned()
        };
        (idp.requests(token) - before, stderr)
    };

    let (sent, _) = requests(&["--context", "basic", "auth", "login"], true);
    assert_eq!(sent, 1, "a Basic-only client: Basic at the first request");

    let (sent, _) = requests(&["--context", "post", "auth", "login"], true);
    assert_eq!(sent, 2, "a form-only client: Basic refused, then the form");
    let (sent, _) = requests(&["--context", "post", "auth", "refresh"], true);
    assert_eq!(sent, 1, "the way that worked is remembered");
    let status = sandbox.run(["--context", "post", "auth", "status"]);
    assert!(
        status.ok().contains("Logged in as:   service"),
        "{}",
        status.stdout
    );

    for context in ["forced-post", "forced-basic"] {
        let (sent, stderr) = requests(&["--context", context, "auth", "login"], false);
        assert_eq!(
            sent, 1,
            "{context}: client-auth fixes the way; no second try"
        );
        assert!(stderr.contains("invalid_client"), "{context}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    }
}

/// RFC 7523 `private_key_jwt`: a client registered with a key and no secret logs in with a
/// fresh signed assertion per request; a key file others can read is refused, naming the fix.
#[test]
#[ignore = "needs the test IdP (node)"]
fn a_client_authenticates_with_its_private_key() {
    use std::os::unix::fs::PermissionsExt;
    let idp = Idp::start();
    let sandbox = Sandbox::new();
    let key = sandbox.path("keys/service-jwt.pem");
    sandbox.write(&key, &idp.client_key());
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    sandbox.write(
        &sandbox.config,
        &format!(
            "\
providers:
  - {{name: jwt, kind: keycloak, server: '{base}', realm: nmr, client-id: service-jwt, client-key-file: '{key}'}}
  - {{name: jwt0, kind: auth0, domain: '{base}/auth0', audience: 'https://api.tokenctl.test', client-id: service-jwt, client-key-file: '{key}'}}
  - {{name: jwt-oidc, kind: oidc, issuer: '{base}/oidc', client-id: service-jwt, client-key-file: '{key}'}}
contexts:
  - {{name: jwt, provider: jwt, flow: client-credentials}}
  - {{name: jwt0, provider: jwt0, flow: client-credentials}}
  - {{name: jwt-oidc, provider: jwt-oidc, flow: client-credentials}}
current-context: jwt
",
            base = idp.base,
            key = key.display()
        ),
    );
    let token = "POST /realms/nmr/protocol/openid-connect/token";
    let before = idp.requests(token);
    sandbox.run(["auth", "login"]).ok();
    assert_eq!(
        idp.requests(token) - before,
        1,
        "one request, the assertion in it"
    );
    assert_eq!(claims(&sandbox, "jwt", &[])["client_id"], "service-jwt");
    // Each provider's assertion audience: Auth0's tenant URL with its slash, generic OIDC's
    // token endpoint.
    for context in ["jwt0", "jwt-oidc"] {
        sandbox.run(["--context", context, "auth", "login"]).ok();
    }
    // Renewed without a person, with a new assertion (the provider refuses a replayed jti).
    sandbox.run(["auth", "refresh"]).ok();

    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let stderr = sandbox.run(["auth", "refresh"]).fails_with(1).to_owned();
    assert!(
        stderr.contains(&format!("chmod 600 {}", key.display())),
        "{stderr}"
    );
}

/// The device login screen as a person sees it in tmux: the code on a line of its own below
/// the QR code and on the countdown line; the QR code drawn dark on light (colour escapes), and
/// left out where it does not fit (80x24, 40 columns) or with `--no-qr`; Ctrl-C exits 130.
#[test]
#[ignore = "needs tmux, the test IdP (node)"]
fn the_device_screen_keeps_the_code_in_view_and_the_qr_code_readable() {
    let idp = Idp::start();
    let sandbox = sandbox(&idp);
    let status = sandbox.path("status");
    let script = |extra: &str| {
        format!(
            // A trap, not an ignore: the shell outlives Ctrl-C to write the status, and the
            // signal reaches tokenctl as it would at a prompt.
            "trap : INT; tokenctl --context sso-device auth login {extra}; echo $? > '{}'; sleep 30\n",
            status.display()
        )
    };
    let code_line = |screen: &str| {
        screen
            .lines()
            .position(|line| line.starts_with("Code: "))
            .unwrap_or_else(|| panic!("no code line:\n{screen}"))
    };
    let qr_rows = |screen: &str| {
        screen
            .lines()
            .filter(|line| line.contains('▀') || line.contains('█'))
            .count()
    };

    let large = Tmux::start(&sandbox, 200, 50, true, &script(""));
    let screen = large.screen_with(" left, code ", false);
    let first_qr = screen
        .lines()
        .position(|line| line.contains('▀') || line.contains('█'));
    assert!(qr_rows(&screen) > 10, "a QR code at 200x50:\n{screen}");
    assert!(
        first_qr.unwrap() < code_line(&screen),
        "the code below the QR code:\n{screen}"
    );
    let countdown = screen
        .lines()
        .rfind(|line| !line.trim().is_empty())
        .unwrap_or_default();
    assert!(
        countdown.contains(", code ") && countdown.contains(" left"),
        "{screen}"
    );
    let colored = large.screen_with("Code: ", true);
    assert!(
        colored.contains("38;5;16") && colored.contains("48;5;231"),
        "black on white whatever the theme:\n{colored}"
    );
    large.tmux(&["send-keys", "-t", "0", "C-c"]);
    let started = std::time::Instant::now();
    while !status.exists() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "Ctrl-C ended nothing"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert_eq!(std::fs::read_to_string(&status).unwrap().trim(), "130");
    drop(large);

    for (columns, rows, extra) in [(80, 24, ""), (40, 24, ""), (200, 50, "--no-qr")] {
        let _ = std::fs::remove_file(&status);
        let session = Tmux::start(&sandbox, columns, rows, false, &script(extra));
        let screen = session.screen_with(" left, code ", false);
        assert_eq!(
            qr_rows(&screen),
            0,
            "no QR code at {columns}x{rows} {extra}:\n{screen}"
        );
        let line = &screen.lines().nth(code_line(&screen)).unwrap();
        assert!(
            line.len() < usize::from(columns),
            "the code line fits: {line}"
        );
        // Its absence is said, unless it was asked away.
        assert_eq!(
            screen.contains("(No QR code: the terminal is too small.)"),
            extra.is_empty(),
            "{screen}"
        );
    }
}

/// `--copy-code` (issue 28): the device code reaches the clipboard through OSC 52, here tmux's
/// (`set-clipboard on`), as it would through SSH to the person's own terminal.
#[test]
#[ignore = "needs tmux, the test IdP (node)"]
fn copy_code_puts_the_device_code_on_the_clipboard() {
    let idp = Idp::start();
    let sandbox = sandbox(&idp);
    let term = Tmux::start(
        &sandbox,
        100,
        40,
        false,
        "sleep 1; tokenctl --context sso-device auth login --copy-code --no-qr; sleep 30\n",
    );
    term.tmux(&["set-option", "-g", "set-clipboard", "on"]);
    let screen = term.screen_with("The code is on the clipboard", false);
    let code = screen
        .lines()
        .find_map(|line| line.strip_prefix("Code: "))
        .unwrap_or_else(|| panic!("no code line:\n{screen}"))
        .trim();
    assert_eq!(term.tmux(&["show-buffer"]), code, "{screen}");
}

/// The device flow at a terminal where a browser opens (issue 28): Enter opens the page with the
/// code filled in; nothing opens without it.
#[test]
#[ignore = "needs tmux, the test IdP (node)"]
fn enter_opens_the_device_page_in_the_browser() {
    let idp = Idp::start();
    let sandbox = sandbox(&idp);
    let opened = sandbox.path("opened");
    let recorder = sandbox.path("browser.sh");
    sandbox.write(
        &recorder,
        &format!("#!/bin/sh\necho \"$1\" > '{}'\n", opened.display()),
    );
    std::fs::set_permissions(
        &recorder,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let term = Tmux::start(
        &sandbox,
        100,
        40,
        false,
        &format!(
            "BROWSER='{}' tokenctl --context sso-device auth login --no-qr; sleep 30\n",
            recorder.display()
        ),
    );
    term.screen_with("Press Enter to open the page in the browser.", false);
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert!(!opened.exists(), "nothing opens before Enter");
    term.tmux(&["send-keys", "-t", "0", "Enter"]);
    let started = std::time::Instant::now();
    while !opened.exists() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "Enter opened nothing"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let page = std::fs::read_to_string(&opened).unwrap();
    assert!(page.contains("/device?user_code="), "{page}");
}

/// The first run. Without a terminal, `auth login` names the commands that create a context. At
/// a terminal it asks the kind, that kind's required fields (a refused answer is asked again; a
/// pasted issuer URL is taken apart), checks that the provider answers before it writes
/// anything (issue 25), asks the scopes, the flow and a cluster, creates the provider and
/// context, logs in, and only then makes the context current. `--provider KIND` means the one
/// provider of that kind.
#[test]
#[ignore = "needs tmux, the test IdP (node)"]
fn a_first_login_at_a_terminal_sets_up_the_context_and_logs_in() {
    let idp = Idp::start();
    let sandbox = Sandbox::new();
    // Exit status 4 as for every command before the first context: a person must act.
    let stderr = sandbox.run(["auth", "login"]).fails_with(4).to_owned();
    assert!(
        stderr.contains("no context is defined yet")
            && stderr.contains("tokenctl config set-provider NAME --kind KIND")
            && stderr.contains("tokenctl config set-context NAME --provider NAME")
            && stderr.lines().count() == 1,
        "{stderr}"
    );

    let status = sandbox.path("status");
    let term = Tmux::start(
        &sandbox,
        200,
        50,
        false,
        &format!(
            "tokenctl auth login; echo $? > '{}'; sleep 30\n",
            status.display()
        ),
    );
    term.screen_with("Kind (number or name):", false);
    let screen = term.screen_with("Run:ai token API", false);
    assert!(screen.contains("keycloak  Keycloak realm"), "{screen}");
    // A typo is named with the closest kind, and asked again.
    term.answer("keyclok");
    term.screen_with("did you mean keycloak? pick one of", false);
    term.answer("keycloak");
    term.screen_with("server:", false);
    term.answer("http://sso.example.com");
    term.screen_with("plain http on a non-loopback host", false);
    // A realm's issuer pasted as the server is taken apart; a realm that does not exist is
    // found before anything is written, and asked again.
    term.answer(&format!("{}/realms/nope", idp.base));
    term.screen_with("taken apart: server", false);
    term.screen_with("client-id:", false);
    term.answer("cli");
    term.screen_with("Nothing was written; the provider's fields again:", false);
    assert!(!sandbox.config.exists(), "nothing written before the check");
    term.answer(&format!(
        "{}/realms/nmr/.well-known/openid-configuration",
        idp.base
    ));
    let screen = term.screen_with("realm nmr.", false);
    assert!(
        screen.contains(&format!(
            "That is an issuer URL; taken apart: server {}, realm nmr.",
            idp.base
        )),
        "{screen}"
    );
    term.screen_with("client-id:", false);
    term.answer("cli");
    let screen = term.screen_with("Scopes, separated by spaces", false);
    assert!(screen.contains("The provider lists: "), "{screen}");
    term.answer("");
    term.screen_with("Flow [", false);
    term.answer("password");
    term.screen_with("Cluster API server URL", false);
    term.answer("");
    let screen = term.screen_with("Username:", false);
    assert!(
        screen.contains("it becomes the current context once this login succeeds"),
        "{screen}"
    );
    assert!(
        !sandbox.read_config().contains("current-context"),
        "not current before the login"
    );
    term.answer("alice");
    term.screen_with("Password:", false);
    term.answer("correct-horse");
    let screen = term.screen_with("Logged in to keycloak as alice", false);
    assert!(
        screen.contains("Context \"keycloak\" is now the current context."),
        "{screen}"
    );
    let started = std::time::Instant::now();
    while !status.exists() && started.elapsed() < std::time::Duration::from_secs(10) {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(std::fs::read_to_string(&status).unwrap().trim(), "0");
    let config = sandbox.read_config();
    assert!(
        config.contains("current-context: keycloak") && config.contains("realm: nmr"),
        "{config}"
    );
    let run = sandbox.run(["auth", "status"]);
    assert!(
        run.ok()
            .contains("Context:        keycloak (from current-context)\n"),
        "{}",
        run.stdout
    );
    sandbox.run(["auth", "token"]).ok();

    // `--provider KIND`: the one provider of that kind, whatever its name; two of a kind are
    // listed; a kind no provider has names the command that adds one.
    let sandbox = Sandbox::with_config(&format!(
        "\
providers:
  - {{name: corp, kind: keycloak, server: '{base}', realm: nmr, client-id: cli}}
  - {{name: work, kind: azure, authority-host: '{base}', tenant: {AZURE_TENANT}, client-id: cli}}
  - {{name: home, kind: azure, authority-host: '{base}', tenant: {AZURE_TENANT}, client-id: cli}}
contexts:
  - {{name: only, provider: corp, flow: password}}
",
        base = idp.base
    ));
    let login = [
        "auth",
        "login",
        "--provider",
        "keycloak",
        "--flow",
        "password",
    ];
    let login = [&login[..], &["--username", "alice", "--password-stdin"]].concat();
    let run = sandbox.run_input(login, "correct-horse\n", &[]);
    run.ok();
    assert!(
        run.stderr.contains("Logged in to corp as alice"),
        "{}",
        run.stderr
    );
    let stderr = sandbox
        .run(["auth", "login", "--provider", "azure"])
        .fails_with(1)
        .to_owned();
    assert!(
        stderr.contains("providers work, home are of kind azure: pass one of them with --provider"),
        "{stderr}"
    );
    let stderr = sandbox
        .run(["auth", "login", "--provider", "auth0"])
        .fails_with(1)
        .to_owned();
    assert!(
        stderr.contains("no provider of kind auth0 is defined")
            && stderr.contains("config set-provider NAME --kind auth0"),
        "{stderr}"
    );
    // One context and no current-context: that context, and the commands say so.
    let run = sandbox.run(["auth", "current-context"]);
    assert_eq!(run.ok(), "only\n");
    assert!(run.stderr.contains("the only context"), "{}", run.stderr);
    let stdout = sandbox.run(["auth", "status"]).ok().to_owned();
    assert!(
        stdout.contains("Context:        only (the only context; no current-context is set)"),
        "{stdout}"
    );
}

/// The scripting contract: `--scope` split alike however given, a warning when fewer scopes
/// are granted, `-v` one line per request without escapes off a terminal, `auth status --all`
/// and `auth get-contexts` reporting each context's login from the store, and durations
/// written as the flags take them.
#[test]
#[ignore = "needs the test IdP (node)"]
fn scopes_split_alike_and_logs_and_lists_are_for_scripts() {
    let idp = Idp::start();
    let sandbox = sandbox(&idp);
    sandbox
        .run(["config", "set", "credential-store", "file"])
        .ok();
    let both = ["platform:read", "platform:write"];
    for scope_flags in [
        &["--scope", "platform:read platform:write"][..],
        &["--scope", "platform:read,platform:write"][..],
        &["--scope", "platform:read", "--scope", "platform:write"][..],
    ] {
        let mut args = vec!["--context", "sso", "auth", "login", "--username", "alice"];
        args.extend_from_slice(&["--password-stdin"]);
        args.extend_from_slice(scope_flags);
        let run = sandbox.run_input(args, "correct-horse\n", &[]);
        run.ok();
        assert!(
            !run.stderr.contains("no OS keyring answered"),
            "credential-store: file is set: {}",
            run.stderr
        );
        let access = claims(&sandbox, "sso", &[]);
        let granted = access["scope"].as_str().unwrap_or_default().to_owned();
        for scope in both {
            assert!(
                granted.split(' ').any(|s| s == scope),
                "{scope_flags:?}: {granted}"
            );
        }
    }

    let verbose = sandbox.run_input(
        [
            "-v",
            "--context",
            "sso",
            "auth",
            "login",
            "--username",
            "reader",
            "--password-stdin",
            "--scope",
            "platform:read,platform:write",
        ],
        "correct-horse\n",
        &[],
    );
    verbose.ok();
    let stderr = &verbose.stderr;
    assert!(
        stderr
            .contains("warning: sso granted fewer scopes than asked; not granted: platform:write"),
        "{stderr}"
    );
    let token_url = format!(
        "POST {}/realms/nmr/protocol/openid-connect/token 200 ",
        idp.base
    );
    assert_eq!(stderr.matches(&token_url).count(), 1, "{stderr}");
    assert!(
        !stderr.contains('\x1b'),
        "no escapes off a terminal: {stderr:?}"
    );
    assert!(!stderr.contains("correct-horse"));
    assert!(
        stderr.contains("the access token expires in 1h.") || stderr.contains("expires in 59m"),
        "{stderr}"
    );

    let all = sandbox.run(["auth", "status", "--all", "-o", "json"]);
    let all: serde_json::Value = serde_json::from_str(all.ok()).unwrap();
    let of = |name: &str| {
        all.as_array()
            .unwrap()
            .iter()
            .find(|row| row["context"] == name)
            .unwrap_or_else(|| panic!("{name} in {all}"))
            .clone()
    };
    assert_eq!(of("sso")["logged_in"], true);
    assert_eq!(of("sso")["identity"], "reader@example.com");
    assert_eq!(of("dex")["logged_in"], false);
    assert!(of("sso")["expires_in_seconds"].as_i64().unwrap() > 3000);
    let table = sandbox.run(["auth", "status", "--all"]).ok().to_owned();
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("dex ") && l.contains("not logged in")),
        "{table}"
    );

    let listed = sandbox.run(["auth", "get-contexts", "-o", "json"]);
    let listed: serde_json::Value = serde_json::from_str(listed.ok()).unwrap();
    let sso = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["name"] == "sso")
        .unwrap();
    assert_eq!(sso["logged_in_as"], "reader@example.com", "{sso}");
    let table = sandbox.run(["auth", "get-contexts"]).ok().to_owned();
    assert!(
        table.contains("LOGGED IN AS") && table.contains("reader@example.com"),
        "{table}"
    );
}

/// An inline client secret is warned about at sign-in, naming where it should go, unless the
/// provider says it is not secret (`client-secret-public: true`, as Google's desktop clients'
/// is); the warning never shows the secret.
#[test]
#[ignore = "needs the test IdP (node)"]
fn an_inline_client_secret_is_warned_about_unless_it_is_public() {
    let idp = Idp::start();
    let base = &idp.base;
    let sandbox = Sandbox::with_config(&format!(
        "\
providers:
  - {{name: inline, kind: keycloak, server: '{base}', realm: nmr, client-id: service, client-secret: service-secret}}
  - {{name: desktop, kind: keycloak, server: '{base}', realm: nmr, client-id: service, client-secret: service-secret, client-secret-public: true}}
contexts:
  - {{name: inline, provider: inline, flow: client-credentials}}
  - {{name: desktop, provider: desktop, flow: client-credentials}}
"
    ));
    let warned = sandbox.run(["--context", "inline", "auth", "login"]);
    warned.ok();
    assert!(
        warned
            .stderr
            .contains("provider \"inline\" has its client secret written inline")
            && warned
                .stderr
                .contains("client-secret-env or client-secret-file")
            && !warned.stderr.contains("service-secret"),
        "{}",
        warned.stderr
    );
    let public = sandbox.run(["--context", "desktop", "auth", "login"]);
    public.ok();
    assert!(!public.stderr.contains("warning"), "{}", public.stderr);
}

/// A typo is named where a person reads (login, status), never on the hot path: `auth token`
/// and `exec-credential` with a fresh token print nothing on stderr (issue 25).
#[test]
#[ignore = "needs the test IdP (node)"]
fn typos_are_named_at_login_and_status_but_the_hot_path_stays_silent() {
    let idp = Idp::start();
    let sandbox = Sandbox::with_config(&format!(
        "providers:\n  - {{name: sso, kind: keycloak, server: '{}', realm: nmr, client-id: cli, redirct-port: 8000}}\n\
         contexts:\n  - {{name: sso, provider: sso, flow: password, scope: [openid]}}\ncurrent-context: sso\n",
        idp.base
    ));
    let typo = "providers[0] \"sso\": unknown key `redirct-port` (not a field of kind keycloak; ignored): did you mean `redirect-port`?";
    let attribute =
        "contexts[0] \"sso\": key `scope` is taken as a plugin attribute: did you mean `scopes`?";
    let login = sandbox.run_env(["auth", "login"], &support::ALICE);
    login.ok();
    assert!(
        login.stderr.contains(typo) && login.stderr.contains(attribute),
        "{}",
        login.stderr
    );
    let status = sandbox.run(["auth", "status"]);
    status.ok();
    assert!(status.stderr.contains(typo), "{}", status.stderr);
    for args in [&["auth", "token"][..], &["auth", "exec-credential"]] {
        let hot = sandbox.run(args);
        hot.ok();
        assert_eq!(hot.stderr, "", "{args:?} is silent");
    }
}
