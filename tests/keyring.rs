//! Where the refresh token rests: a real Secret Service (GNOME Keyring in its own D-Bus
//! session), the kernel's keyutils (in its own session keyring), or, where no keyring answers,
//! a 0600 file with a loud warning. The access token stays in the file either way, so handing
//! it out never needs a keyring.

use crate::support;

use std::process::{Command, Stdio};

use support::idp::Idp;
use support::{Run, Sandbox, require_tool, wait_bounded};

fn sandbox(idp: &Idp) -> Sandbox {
    Sandbox::with_config(&format!(
        "providers:\n  - {{name: sso, kind: keycloak, server: '{}', realm: nmr, client-id: cli}}\n\
         contexts:\n  - {{name: sso, provider: sso, flow: password}}\ncurrent-context: sso\n",
        idp.base
    ))
}

/// Runs a shell script in the sandbox's environment, with `tokenctl` on PATH.
fn shell(sandbox: &Sandbox, wrapper: &[&str], script: &str) -> Run {
    let mut command = Command::new(wrapper[0]);
    command.args(&wrapper[1..]).args(["sh", "-c", script]);
    sandbox.isolate(&mut command);
    command
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env("TOKENCTL_USERNAME", "alice")
        .env("TOKENCTL_PASSWORD", "correct-horse")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    Run::from(wait_bounded(
        command.spawn().unwrap(),
        "the keyring session",
    ))
}

/// The stored login file's text.
fn login_file(sandbox: &Sandbox) -> String {
    std::fs::read_to_string(sandbox.login_file()).unwrap()
}

#[test]
#[ignore = "needs dbus-run-session, gnome-keyring-daemon, secret-tool, the test IdP (node)"]
fn secret_service_holds_the_refresh_token() {
    let dbus = require_tool("dbus-run-session", "apt-get install dbus-daemon");
    require_tool("gnome-keyring-daemon", "apt-get install gnome-keyring");
    require_tool("secret-tool", "apt-get install libsecret-tools");
    let idp = Idp::start();
    let sandbox = sandbox(&idp);
    let run = shell(
        &sandbox,
        &[dbus.to_str().unwrap(), "--"],
        "printf keyring-test-password | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1 \
         && tokenctl auth login && tokenctl auth status -o json \
         && secret-tool search --all service tokenctl 2>&1",
    );
    let stdout = run.ok().to_owned();
    assert!(
        stdout.contains("\"refresh_token_store\": \"OS keyring (Secret Service)\""),
        "{stdout}\n{}",
        run.stderr
    );
    assert!(
        stdout.contains("attribute.service = tokenctl"),
        "the entry is in the keyring: {stdout}"
    );
    assert!(
        !run.stderr.contains("no OS keyring answered"),
        "{}",
        run.stderr
    );
    let file = login_file(&sandbox);
    assert!(
        file.contains("\"refresh_token\": null")
            && file.contains("\"refresh_token_in\": \"secret-service\""),
        "{file}"
    );
}

#[test]
#[ignore = "needs keyctl, the test IdP (node)"]
fn kernel_keyutils_holds_the_refresh_token_without_a_desktop() {
    let keyctl = require_tool("keyctl", "apt-get install keyutils");
    let idp = Idp::start();
    let sandbox = sandbox(&idp);
    let run = shell(
        &sandbox,
        &[keyctl.to_str().unwrap(), "session", "-"],
        "tokenctl auth login && tokenctl auth status && keyctl show @s",
    );
    let stdout = run.ok().to_owned();
    assert!(
        stdout.contains("Refresh token:  yes, in OS keyring (kernel keyutils, session keyring)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("tokenctl"),
        "the key is in the session keyring: {stdout}"
    );
    assert!(login_file(&sandbox).contains("\"refresh_token_in\": \"keyutils\""));
}

#[test]
#[ignore = "needs the test IdP (node)"]
fn without_a_keyring_the_file_fallback_is_announced_loudly() {
    let idp = Idp::start();
    let sandbox = sandbox(&idp);
    let run = sandbox.run_env(
        ["auth", "login"],
        &[
            ("TOKENCTL_USERNAME", "alice"),
            ("TOKENCTL_PASSWORD", "correct-horse"),
        ],
    );
    run.ok();
    assert!(
        run.stderr.contains("warning: no OS keyring answered (tried Secret Service, kernel keyutils): refresh tokens are stored in files"),
        "{}",
        run.stderr
    );
    let status = sandbox.run(["auth", "status"]).ok().to_owned();
    assert!(status.contains("Refresh token:  yes, in file "), "{status}");
    // Said once, not at every login.
    let again = sandbox.run_env(["auth", "login"], &support::ALICE);
    again.ok();
    assert!(
        !again.stderr.contains("no OS keyring answered"),
        "{}",
        again.stderr
    );
    sandbox.run(["auth", "token"]).ok();

    // credential-store: keyring refuses rather than falling back.
    let strict = Sandbox::with_config(&format!(
        "credential-store: keyring\nproviders:\n  - {{name: sso, kind: keycloak, server: '{}', realm: nmr, client-id: cli}}\n\
         contexts:\n  - {{name: sso, provider: sso, flow: password}}\ncurrent-context: sso\n",
        idp.base
    ));
    let run = strict.run_env(
        ["auth", "login"],
        &[
            ("TOKENCTL_USERNAME", "alice"),
            ("TOKENCTL_PASSWORD", "correct-horse"),
        ],
    );
    assert!(
        run.fails_with(1)
            .contains("credential-store: keyring, but no OS keyring answered"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("password flow"),
        "refused before the sign-in: {}",
        run.stderr
    );
    assert!(!strict.dir.path().join("data/tokenctl/logins").exists());
}

/// The token endpoint's requests, as the test IdP counts them, from a shell.
const TOKEN_REQUESTS: &str = r#"token_requests() { curl -s "$IDP/test/requests" | grep -o '"POST /realms/nmr/protocol/openid-connect/token": *[0-9]*' || true; }"#;

/// keyutils counts each user's bytes (20,000 by default, `/proc/sys/kernel/keys/maxbytes`):
/// before a refresh spends the refresh token, room for a longer one is set aside under the same
/// key, so a full quota means no refresh is sent and the login is kept. (Run as another user,
/// whose quota is the default, in a session keyring of its own.)
#[test]
#[ignore = "needs keyctl, setpriv, the test IdP (node); runs as root, as CI does"]
fn a_full_keyutils_quota_sends_no_refresh_and_loses_no_login() {
    let keyctl = require_tool("keyctl", "apt-get install keyutils");
    let setpriv = require_tool("setpriv", "apt-get install util-linux");
    let idp = Idp::start();
    let sandbox = sandbox(&idp);
    // The other user runs its own copy of tokenctl, in a sandbox it owns.
    let bin = sandbox.path("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::copy(support::tokenctl_bin(), bin.join("tokenctl")).unwrap();
    let chown = Command::new("chown")
        .args(["-R", "65534:65534"])
        .arg(sandbox.dir.path())
        .status()
        .unwrap();
    assert!(chown.success());
    let refreshes = || idp.requests("POST /realms/nmr/protocol/openid-connect/token");
    let run = shell(
        &sandbox,
        &[
            setpriv.to_str().unwrap(),
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            keyctl.to_str().unwrap(),
            "session",
            "-",
        ],
        r#"PATH="$HOME/bin:$PATH"
           tokenctl auth login || exit 9
           i=0
           for size in 16000 8000 4000 2000 1000 500 250 120 60 30 15 8 4 2 1; do
             while i=$((i+1)); head -c $size /dev/zero | tr '\0' x | keyctl padd user fill$i @s >/dev/null 2>&1; do :; done
           done
           echo "--- full"
           tokenctl auth refresh; echo "refresh: $?"
           echo "--- room"
           printf x | keyctl pupdate "$(keyctl search @s user fill1)"
           tokenctl auth refresh; echo "refresh: $?"
           tokenctl auth status"#,
    );
    let stdout = run.ok().to_owned();
    let (_, rest) = stdout.split_once("--- full").unwrap();
    let (full, room) = rest.split_once("--- room").unwrap();
    assert!(full.contains("refresh: 1"), "{stdout}\n{}", run.stderr);
    assert!(
        run.stderr.contains("OS keyring (kernel keyutils, session keyring): ")
            && run.stderr.contains(
                "no room could be set aside for the renewed refresh token, so the refresh was not sent and the login is as it was; make room in the kernel keyring"
            ),
        "{}",
        run.stderr
    );
    assert!(room.contains("refresh: 0"), "{stdout}\n{}", run.stderr);
    assert!(
        room.contains("Refresh token:  yes, in OS keyring (kernel keyutils"),
        "{room}"
    );
    // The login's refresh, then only the one with room: the full quota sent nothing.
    assert_eq!(refreshes(), 2, "{}", run.stderr);
}

/// A Secret Service that refuses the rotated refresh token (here its collection is locked
/// while the refresh is under way, as a screen lock or a restarted daemon does) is asked once
/// more; then the token goes into the login file under `credential-store: auto`, and under
/// `keyring` the person is told exactly what is lost. The access token serves either way.
#[test]
#[ignore = "needs dbus-run-session, gnome-keyring-daemon, dbus-send, curl, the test IdP (node)"]
fn a_secret_service_that_refuses_the_rotated_token_loses_nothing_silently() {
    let dbus = require_tool("dbus-run-session", "apt-get install dbus-daemon");
    require_tool("gnome-keyring-daemon", "apt-get install gnome-keyring");
    require_tool("dbus-send", "apt-get install dbus-bin");
    require_tool("curl", "apt-get install curl");
    let idp = Idp::start();
    let refused = |store: &str| {
        let sandbox = Sandbox::with_config(&format!(
            "credential-store: {store}\nproviders:\n  - {{name: sso, kind: keycloak, server: '{}', realm: nmr, client-id: cli}}\n\
             contexts:\n  - {{name: sso, provider: sso, flow: password}}\ncurrent-context: sso\n",
            idp.base
        ));
        let run = shell(
            &sandbox,
            &[dbus.to_str().unwrap(), "--"],
            &format!(
                r#"IDP='{base}'
                {TOKEN_REQUESTS}
                printf keyring-test-password | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1
                tokenctl auth login || exit 9
                curl -s "$IDP/test/delay?ms=2500&after=1" >/dev/null
                before=$(token_requests)
                tokenctl auth refresh & refresh=$!
                while [ "$(token_requests)" = "$before" ]; do sleep 0.05; done
                dbus-send --session --print-reply --dest=org.freedesktop.secrets /org/freedesktop/secrets \
                  org.freedesktop.Secret.Service.Lock array:objpath:/org/freedesktop/secrets/collection/login >/dev/null
                wait $refresh; echo "refresh: $?"
                curl -s "$IDP/test/delay?ms=0&after=1" >/dev/null
                echo "--- after"
                tokenctl auth token >/dev/null; echo "token: $?"
                tokenctl auth refresh 2>&1; echo "again: $?"
                tokenctl auth status"#,
                base = idp.base
            ),
        );
        (run, sandbox)
    };

    let (run, sandbox) = refused("auto");
    let stdout = run.ok().to_owned();
    let (first, after) = stdout.split_once("--- after").unwrap();
    assert!(first.contains("refresh: 0"), "{stdout}\n{}", run.stderr);
    let path = sandbox.login_file();
    assert!(
        run.stderr.contains(
            "warning: the OS keyring (Secret Service) refused the new refresh token of context \"sso\" twice ("
        ) && run.stderr.contains(&format!(
            "it is kept in {} (mode 0600) instead, until the next sign-in",
            path.display()
        )),
        "{}",
        run.stderr
    );
    assert!(
        after.contains("token: 0") && after.contains("again: 0"),
        "{stdout}"
    );
    assert!(after.contains("Refresh token:  yes, in file "), "{after}");

    let (run, _sandbox) = refused("keyring");
    let stdout = run.ok().to_owned();
    let (first, after) = stdout.split_once("--- after").unwrap();
    assert!(first.contains("refresh: 0"), "{stdout}\n{}", run.stderr);
    assert!(
        run.stderr.contains("refused the new refresh token of context \"sso\" twice (")
            && run.stderr.contains(
                "`credential-store: keyring` keeps it out of files, so it is lost; sign in again before the access token expires: run `tokenctl --context sso auth login`"
            ),
        "{}",
        run.stderr
    );
    assert!(
        after.contains("token: 0"),
        "the access token serves: {stdout}"
    );
    assert!(after.contains("Refresh token:  no"), "{after}");
}

/// A private_key_jwt key given once on stdin rests in the OS keyring, not in any file: the
/// contexts file names only the keyring entry, logins sign with it, and taking the field out
/// deletes the entry.
#[test]
#[ignore = "needs keyctl, the test IdP (node)"]
fn keyutils_holds_a_client_key_given_on_stdin() {
    let keyctl = require_tool("keyctl", "apt-get install keyutils");
    let idp = Idp::start();
    let sandbox = Sandbox::new();
    let key = sandbox.path("service-jwt.pem");
    sandbox.write(&key, &idp.client_key());
    let run = shell(
        &sandbox,
        &[keyctl.to_str().unwrap(), "session", "-"],
        &format!(
            "set -e
             tokenctl config set-provider jwt --kind keycloak --server '{base}' --realm nmr \
               --client-id service-jwt --client-key-stdin < '{key}'
             tokenctl config set-context jwt --provider jwt --flow client-credentials
             tokenctl --context jwt auth login
             tokenctl --context jwt auth refresh
             echo '--- keyring'; keyctl show @s
             tokenctl config set-provider jwt --unset client-key-keyring
             echo '--- after'; keyctl show @s",
            base = idp.base,
            key = key.display()
        ),
    );
    let stdout = run.ok().to_owned();
    let (with_key, after) = stdout.split_once("--- after").unwrap();
    assert!(with_key.contains("client-key/jwt/"), "{stdout}");
    assert!(
        !after.contains("client-key/jwt/"),
        "deleted with the field: {stdout}"
    );
    assert!(
        run.stderr
            .contains("The client key is kept in the OS keyring (keyutils:client-key/jwt/"),
        "{}",
        run.stderr
    );
    let config = std::fs::read_to_string(&sandbox.config).unwrap();
    assert!(
        !config.contains("PRIVATE KEY") && !config.contains("client-key-file"),
        "{config}"
    );
    assert!(!config.contains("client-key-keyring"), "unset: {config}");
}

/// Without a keyring, --client-key-stdin refuses and says what to do instead; nothing is
/// written.
#[test]
#[ignore = "needs the test IdP (node)"]
fn a_client_key_on_stdin_needs_a_keyring() {
    let idp = Idp::start();
    let sandbox = Sandbox::new();
    let run = sandbox.run_input(
        [
            "config",
            "set-provider",
            "jwt",
            "--kind",
            "keycloak",
            "--server",
            idp.base.as_str(),
            "--realm",
            "nmr",
            "--client-id",
            "service-jwt",
            "--client-key-stdin",
        ],
        &idp.client_key(),
        &[],
    );
    let stderr = run.fails_with(1).to_owned();
    assert!(
        stderr.contains("no OS keyring answered; keep the key in a file of mode 0600 and set client-key-file instead"),
        "{stderr}"
    );
    assert!(!sandbox.config.exists(), "nothing written");
}
