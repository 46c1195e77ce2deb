//! The test identity provider (tests/idp/server.js) as a child process of one test.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use super::{require_tool, workspace_root};

/// The Azure tenant the test IdP serves.
pub(crate) const AZURE_TENANT: &str = "11111111-2222-3333-4444-555555555555";

/// The resource the test IdP's access tokens are for (their `aud`).
pub(crate) const RESOURCE: &str = "https://api.tokenctl.test";

/// The directory of personal Microsoft accounts, which the test IdP serves at /consumers.
pub(crate) const MSA_TENANT: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

/// A running test IdP; stopped when dropped.
pub(crate) struct Idp {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
}

impl Idp {
    pub(crate) fn start() -> Idp {
        Idp::start_with(&[])
    }

    /// Starts the IdP with options of tests/idp/server.js (`--access-token-ttl 60`, say).
    pub(crate) fn start_with(args: &[&str]) -> Idp {
        let (child, ready) = start_node("server.js", args);
        Idp {
            child,
            base: ready["base"].as_str().unwrap().to_owned(),
        }
    }

    /// Whether the IdP's introspection endpoint `path` reports `refresh_token` active, asked as
    /// the public client `client_id` that holds it (RFC 7662).
    pub(crate) fn refresh_token_active(
        &self,
        path: &str,
        client_id: &str,
        refresh_token: &str,
    ) -> bool {
        let body =
            format!("token={refresh_token}&token_type_hint=refresh_token&client_id={client_id}");
        let (status, reply) = http_request("POST", &format!("{}{path}", self.base), Some(&body));
        assert_eq!(status, 200, "introspection at {path}: {reply}");
        let reply: serde_json::Value = serde_json::from_str(&reply)
            .unwrap_or_else(|_| panic!("introspection reply is not JSON: {reply}"));
        reply["active"].as_bool().expect("an `active` member")
    }

    /// How many requests the IdP saw for `METHOD /path`.
    pub(crate) fn requests(&self, what: &str) -> u64 {
        let body = http_get_body(&format!("{}/test/requests", self.base));
        let counts: serde_json::Value = serde_json::from_str(&body).unwrap();
        counts[what].as_u64().unwrap_or(0)
    }

    /// The query of the last authorization request the IdP saw, as it arrived.
    pub(crate) fn last_authorization(&self) -> serde_json::Value {
        serde_json::from_str(&http_get_body(&format!(
            "{}/test/last-authorization",
            self.base
        )))
        .unwrap()
    }

    /// Makes every token request wait `ms` milliseconds before it is answered (0: none).
    pub(crate) fn delay_tokens(&self, ms: u64) {
        let status = http_get_status(&format!("{}/test/delay?ms={ms}", self.base));
        assert_eq!(status, 200, "setting the token delay");
    }

    /// Makes every token request be carried out, then answered only after `ms` milliseconds
    /// (0: at once): a provider that rotates a refresh token and answers too late.
    pub(crate) fn hold_token_replies(&self, ms: u64) {
        let status = http_get_status(&format!("{}/test/delay?ms={ms}&after=1", self.base));
        assert_eq!(status, 200, "setting the token hold");
    }

    /// The private key (PEM) of the client `service-jwt`, which authenticates with
    /// private_key_jwt.
    pub(crate) fn client_key(&self) -> String {
        http_get_body(&format!("{}/test/client-key", self.base))
    }

    /// Shapes refresh replies: `issued` (as oidc-provider issues them), `forged` (an ID token
    /// signed by a key in no JWKS), `bare` (no `scope`, no `id_token`).
    pub(crate) fn refresh_replies(&self, shape: &str) {
        let status = http_get_status(&format!("{}/test/refresh-reply?as={shape}", self.base));
        assert_eq!(status, 200, "shaping refresh replies");
    }

    /// Approves (or denies) a device sign-in by its user code, as the person would.
    pub(crate) fn answer_device(&self, user_code: &str, approve: bool) {
        let deny = if approve { "" } else { "&deny=1" };
        let url = format!(
            "{}/test/device?user_code={user_code}&user=alice{deny}",
            self.base
        );
        let status = http_get_status(&url);
        assert_eq!(status, 200, "approving {user_code}");
    }
}

impl Drop for Idp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts a script of tests/idp and waits (bounded) for the JSON line it prints once it listens.
/// A start takes some 30 ms (the IdP's RSA keys are made once per install, not at each start);
/// one that misses the bound fails the test with its start-up stages.
fn start_node(script: &str, args: &[&str]) -> (Child, serde_json::Value) {
    try_start_node(script, args).unwrap_or_else(|report| panic!("{report}"))
}

fn try_start_node(script: &str, args: &[&str]) -> Result<(Child, serde_json::Value), String> {
    let node = require_tool("node", "apt-get install nodejs npm");
    let dir = workspace_root().join("tests/idp");
    assert!(
        dir.join("node_modules/oidc-provider").is_dir(),
        "the test identity provider is not installed: run `npm ci --prefix tests/idp`"
    );
    // Its stderr goes to a file, shown when it fails to start.
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut child = Command::new(node)
        .arg(dir.join(script))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log.reopen().unwrap())
        .spawn()
        .expect("node starts");
    let stdout = child.stdout.take().unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let _ = reader.read_line(&mut line);
        let _ = sender.send(line);
        // Keep reading: oidc-provider logs notices to stdout, and a closed pipe would
        // kill the server with EPIPE in the middle of a test.
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
    });
    let started = std::time::Instant::now();
    let line = receiver
        .recv_timeout(std::time::Duration::from_secs(20))
        .unwrap_or_default();
    match serde_json::from_str(&line) {
        Ok(ready) => Ok((child, ready)),
        Err(_) => {
            let _ = child.kill();
            let status = child.wait();
            Err(format!(
                "tests/idp/{script} did not start ({status:?} after {:.1} s; it printed {line:?})\nits stderr:\n{}",
                started.elapsed().as_secs_f64(),
                std::fs::read_to_string(log.path()).unwrap_or_default()
            ))
        }
    }
}

/// The stub Kubernetes API server (tests/idp/apiserver.js) on HTTPS with a CA of its own; it
/// accepts only JWTs signed by the given issuers. Stopped when dropped.
pub(crate) struct ApiServer {
    child: Child,
    _dir: tempfile::TempDir,
    /// `https://127.0.0.1:PORT`
    pub base: String,
    /// The cluster's CA file: the one that signed its certificate (or the certificate itself).
    pub ca: String,
    /// `other-ca`: the CA that really signed the certificate (a public one, as it were).
    pub other_ca: Option<String>,
}

impl ApiServer {
    /// A cluster that accepts tokens of `issuers` issued for the client `cli` (its
    /// `--oidc-client-id`): ID tokens, as Kubernetes' OIDC authenticator wants them.
    pub(crate) fn start(issuers: &[String]) -> ApiServer {
        ApiServer::with_certificate(issuers, "signed")
    }

    /// A cluster whose authentication configuration accepts tokens for `audience` (an API's
    /// access tokens, say) instead of the client `cli`.
    pub(crate) fn for_audience(issuers: &[String], audience: &str) -> ApiServer {
        ApiServer::start_node(issuers, "signed", None, &["--audience", audience])
    }

    /// `certificate`: `signed` (by its CA), `self-signed` (its own CA, CA:TRUE), `other-ca`
    /// (by a CA that is not the cluster's) or `named` (by its CA, for
    /// apiserver.tokenctl.test only).
    pub(crate) fn with_certificate(issuers: &[String], certificate: &str) -> ApiServer {
        ApiServer::start_node(issuers, certificate, None, &[])
    }

    /// A TLS front of `idp` at `{base}/idp/…`, with a certificate from a private CA (`ca`): an
    /// identity provider as a company serves it.
    pub(crate) fn fronting(idp: &Idp) -> ApiServer {
        ApiServer::start_node(
            std::slice::from_ref(&idp.base),
            "signed",
            Some(&idp.base),
            &[],
        )
    }

    fn start_node(
        issuers: &[String],
        certificate: &str,
        upstream: Option<&str>,
        extra: &[&str],
    ) -> ApiServer {
        require_tool("openssl", "apt-get install openssl");
        let dir = tempfile::tempdir().unwrap();
        let mut args = vec![
            "--dir",
            dir.path().to_str().unwrap(),
            "--certificate",
            certificate,
        ];
        if let Some(upstream) = upstream {
            args.extend(["--upstream", upstream]);
        }
        for issuer in issuers {
            args.extend(["--issuer", issuer.as_str()]);
        }
        args.extend(extra);
        let (child, ready) = start_node("apiserver.js", &args);
        ApiServer {
            child,
            _dir: dir,
            base: ready["base"].as_str().unwrap().to_owned(),
            ca: ready["ca"].as_str().unwrap().to_owned(),
            other_ca: ready["other_ca"].as_str().map(str::to_owned),
        }
    }

    /// How many requests it saw for `METHOD /path` ("401": how many it refused).
    pub(crate) fn requests(&self, what: &str) -> u64 {
        let output = Command::new("curl")
            .args([
                "-sS",
                "--cacert",
                self.other_ca.as_deref().unwrap_or(&self.ca),
                &format!("{}/test/requests", self.base),
            ])
            .output()
            .expect("curl runs");
        let counts: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        counts[what].as_u64().unwrap_or(0)
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Approves the device sign-in with `user_code` at the IdP at `base`, as alice would (for a
/// thread that has no `Idp` of its own).
pub(crate) fn approve_device(base: &str, user_code: &str) -> u16 {
    http_get_status(&format!(
        "{base}/test/device?user_code={user_code}&user=alice"
    ))
}

fn http_get_status(url: &str) -> u16 {
    http_request("GET", url, None).0
}

fn http_get_body(url: &str) -> String {
    http_request("GET", url, None).1
}

/// A plain HTTP request on loopback (a form body for POST), without pulling an HTTP client into
/// the tests.
fn http_request(method: &str, url: &str, form: Option<&str>) -> (u16, String) {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    let body = form.unwrap_or("");
    let content = match form {
        Some(_) => format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
            body.len()
        ),
        None => String::new(),
    };
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\n{content}Connection: close\r\n\r\n{body}"
    )
    .unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    let status = reply.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = reply
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// A sandbox logged in (password flow, Keycloak realm `nmr`, client `cli`, context `sso`) to
/// an IdP started with `args`.
pub(crate) fn logged_in(args: &[&str]) -> (Idp, super::Sandbox) {
    let idp = Idp::start_with(args);
    let sandbox = super::Sandbox::with_config(&format!(
        "providers:\n  - {{name: sso, kind: keycloak, server: '{}', realm: nmr, client-id: cli}}\n\
         contexts:\n  - {{name: sso, provider: sso, flow: password, scopes: [platform:read]}}\ncurrent-context: sso\n",
        idp.base
    ));
    sandbox.run_env(["auth", "login"], &super::ALICE).ok();
    (idp, sandbox)
}

/// Starts `tokenctl [GLOBAL...] auth login --flow device` with `env`, answers it at the IdP
/// as the person would, and returns the run and the user code.
pub(crate) fn device_login(
    sandbox: &super::Sandbox,
    idp: &Idp,
    global: &[&str],
    env: &[(&str, &str)],
    approve: bool,
) -> (super::Run, String) {
    let mut args = global.to_vec();
    args.extend(["auth", "login", "--flow", "device"]);
    let mut child = sandbox
        .command(&args)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let (shown, code) = super::read_device_prompt(&mut stderr);
    idp.answer_device(&code, approve);
    let rest = std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut rest);
        rest
    });
    let output = super::wait_bounded(child, "tokenctl auth login (device)");
    let run = super::Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: format!("{shown}{}", rest.join().unwrap()),
    };
    (run, code)
}
