//! `auth logout`: the refresh token is revoked where the dialect can (the provider's
//! introspection then reports it inactive), the login is removed here in every case, and Entra
//! ID's lack of revocation is said.

use crate::support;

use support::Sandbox;
use support::idp::{AZURE_TENANT, Idp};

fn sandbox(idp: &Idp) -> Sandbox {
    let base = &idp.base;
    Sandbox::with_config(&format!(
        "\
providers:
  - {{name: sso, kind: keycloak, server: '{base}', realm: nmr, client-id: cli}}
  - {{name: nf, kind: auth0, domain: '{base}/auth0', client-id: cli}}
  - {{name: corp, kind: azure, authority-host: '{base}', tenant: {AZURE_TENANT}, client-id: cli}}
  - {{name: dex, kind: oidc, issuer: '{base}/oidc', client-id: cli}}
contexts:
  - {{name: sso, provider: sso, flow: password}}
  - {{name: nf, provider: nf, flow: password}}
  - {{name: corp, provider: corp, flow: password}}
  - {{name: dex, provider: dex, flow: password}}
current-context: sso
"
    ))
}

const USER: [(&str, &str); 2] = support::ALICE;

/// Logs in to `context` and returns the refresh token from the (file) store.
fn login(sandbox: &Sandbox, context: &str) -> String {
    sandbox
        .run_env(["--context", context, "auth", "login"], &USER)
        .ok();
    let logins = sandbox.dir.path().join("data/tokenctl/logins");
    let newest = std::fs::read_dir(logins)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .max_by_key(|p| std::fs::metadata(p).unwrap().modified().unwrap())
        .unwrap();
    let login: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(newest).unwrap()).unwrap();
    login["refresh_token"].as_str().unwrap().to_owned()
}

#[test]
#[ignore = "needs the test IdP (node)"]
fn logout_revokes_at_keycloak_auth0_and_a_plain_oidc_provider() {
    let idp = Idp::start();
    let sandbox = sandbox(&idp);
    for (context, introspection) in [
        (
            "sso",
            "/realms/nmr/protocol/openid-connect/token/introspect",
        ),
        ("nf", "/auth0/oauth/introspect"),
        ("dex", "/oidc/token/introspection"),
    ] {
        let refresh = login(&sandbox, context);
        assert!(
            idp.refresh_token_active(introspection, "cli", &refresh),
            "{context}: active after login"
        );
        let run = sandbox.run(["--context", context, "auth", "logout"]);
        run.ok();
        assert!(
            run.stderr.contains("Revoked the refresh token"),
            "{}",
            run.stderr
        );
        assert!(
            !idp.refresh_token_active(introspection, "cli", &refresh),
            "{context}: the provider reports it inactive"
        );
        let stderr = sandbox
            .run(["--context", context, "auth", "token"])
            .fails_with(4)
            .to_owned();
        assert!(stderr.contains("not logged in"), "{stderr}");
    }
}

#[test]
#[ignore = "needs the test IdP (node)"]
fn azure_logout_is_local_and_says_so_and_all_removes_everything() {
    let idp = Idp::start();
    let sandbox = sandbox(&idp);
    login(&sandbox, "corp");
    let run = sandbox.run(["--context", "corp", "auth", "logout"]);
    run.ok();
    assert!(
        run.stderr.contains("has no token revocation endpoint"),
        "{}",
        run.stderr
    );
    sandbox
        .run(["--context", "corp", "auth", "token"])
        .fails_with(4);

    login(&sandbox, "sso");
    login(&sandbox, "nf");
    let run = sandbox.run(["auth", "logout", "--all"]);
    run.ok();
    assert_eq!(
        run.stderr.matches("Revoked the refresh token").count(),
        2,
        "{}",
        run.stderr
    );
    let left = std::fs::read_dir(sandbox.dir.path().join("data/tokenctl/logins"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "json")
        })
        .count();
    assert_eq!(left, 0);
    assert!(sandbox.run(["auth", "logout"]).ok().is_empty());
}

#[test]
#[ignore = "needs the test IdP (node)"]
fn a_failed_revocation_still_logs_out_here_and_warns() {
    let idp = Idp::start();
    let sandbox = sandbox(&idp);
    let refresh = login(&sandbox, "sso");
    drop(idp); // the provider is gone
    let run = sandbox.run(["auth", "logout"]);
    run.ok();
    assert!(
        run.stderr
            .contains("warning: could not revoke the refresh token at sso"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("removed the login here anyway"));
    assert!(!run.stderr.contains(&refresh), "no secret in the warning");
    sandbox.run(["auth", "token"]).fails_with(4);
}
