//! The browser flow: authorization code with PKCE (S256), `state` and `nonce`, answered on a
//! loopback listener that only this machine can reach. It serves connections concurrently,
//! each with a read deadline (an idle connection cannot stall the login), answers a request
//! with the wrong `state` 400 and keeps waiting for the right one, checks the response's `iss`
//! (RFC 9207), and, where the redirect host is `localhost`, holds the port on both 127.0.0.1
//! and [::1] so that no other program can take the answer on the family the browser picks.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use url::Url;

use super::target::{LoginError, LoginUi, Target, verify_id_token};
use crate::http::HttpClient;
use crate::oauth::{self, Grant, TokenSet};
use crate::secret::Secret;
use crate::secret::random_token;

/// How long the person has to finish signing in.
pub(super) const SIGN_IN_TIMEOUT: Duration = Duration::from_secs(300);

/// Opens a URL in a browser; the CLI uses `BROWSER` or the platform's opener, tests a script.
pub trait BrowserOpener: Send + Sync {
    /// Whether a browser can be shown here at all (no display over SSH, say).
    fn available(&self) -> bool;
    fn open(&self, url: &Url) -> std::io::Result<()>;
}

/// RFC 7636 S256: BASE64URL(SHA256(verifier)).
pub(super) fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// The page the browser shows once the code has arrived.
const SUCCESS_PAGE: &str = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>tokenctl</title></head>\
<body style=\"font-family: sans-serif; margin: 4em\"><h1>Signed in</h1>\
<p>tokenctl has what it needs. You can close this tab and return to the terminal.</p></body></html>";

const FAILURE_PAGE: &str = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>tokenctl</title></head>\
<body style=\"font-family: sans-serif; margin: 4em\"><h1>Sign-in failed</h1>\
<p>Return to the terminal for the reason.</p></body></html>";

/// Runs the browser flow: listen, open the authorization URL, take one callback, exchange the
/// code, verify the ID token with the nonce.
pub(super) async fn login(
    http: &HttpClient,
    target: &Target,
    opener: &dyn BrowserOpener,
    ui: &dyn LoginUi,
) -> Result<TokenSet, LoginError> {
    let config_error = |message: &str| LoginError::Config {
        provider: target.provider.clone(),
        message: message.to_owned(),
    };
    let authorization = target
        .endpoints
        .authorization
        .clone()
        .ok_or_else(|| config_error("the provider has no authorization endpoint"))?;
    let token_url = target
        .endpoints
        .token
        .clone()
        .ok_or_else(|| config_error("no token endpoint"))?;
    let (listeners, port) = listen_on_any(&target.redirect, ui)
        .await
        .map_err(|message| config_error(&message))?;
    let redirect_uri = target.redirect.uri(port);

    let verifier = random_token(32);
    let pkce = target.wire.completes_pkce();
    let state = random_token(16);
    let nonce = random_token(16);
    let url = authorization_url(
        authorization,
        target,
        &redirect_uri,
        [&state, &nonce],
        pkce.then(|| pkce_challenge(&verifier)),
    );
    let pasted = ui.pasted_lines();
    show(&url, opener, ui);
    let expected = Expected {
        path: target.redirect.request_path().to_owned(),
        state,
        issuer: target.endpoints.issuer.clone(),
        iss_required: target.endpoints.iss_in_authorization_response,
    };
    let paste = pasted.map(|lines| Paste {
        lines,
        redirect: Url::parse(&redirect_uri).ok(),
        // A bare code is safe only where it is useless without this client's PKCE verifier
        // and the provider does not promise an `iss` to check (RFC 9207).
        bare_code: pkce
            && target.endpoints.pkce_s256
            && !target.endpoints.iss_in_authorization_response,
    });
    let code = tokio::time::timeout(
        target.sign_in_timeout,
        callback(&listeners, expected, paste, ui),
    )
    .await
    .map_err(|_| LoginError::SignInTimeout(target.sign_in_timeout.as_secs()))??;
    drop(listeners);

    let grant = Grant::AuthorizationCode {
        code,
        redirect_uri,
        code_verifier: pkce.then(|| Secret::new(verifier)),
    };
    let request = oauth::TokenRequest {
        scopes: &[],
        ..target.request(&token_url, &grant)
    };
    let tokens = oauth::request_token(http, target.wire.as_ref(), &request).await?;
    match &tokens.id_token {
        Some(id_token) => verify_id_token(http, target, id_token, Some(&nonce)).await?,
        None if target.scopes.iter().any(|s| s == "openid") => {
            return Err(config_error(
                "the provider sent no ID token although openid was asked for",
            ));
        }
        None => {}
    }
    Ok(tokens)
}

/// Shows the authorization URL and opens it in the browser, or says to open it elsewhere
/// where no browser opens here (the person then pastes the answer).
fn show(url: &Url, opener: &dyn BrowserOpener, ui: &dyn LoginUi) {
    let opens = opener.available();
    if !opens {
        ui.notice(
            "no browser can be opened here: open the URL below in a browser on another machine",
        );
    }
    ui.browser_url(url);
    if let Err(err) = opens.then(|| opener.open(url)).transpose() {
        tracing::warn!("could not open a browser ({err}); open the URL above yourself");
    }
}

/// The authorization request (RFC 6749 §4.1.1): the client, its redirect, the scopes, `state`
/// and `nonce`, the PKCE challenge where the token request can carry its verifier, then the
/// dialect's and the person's parameters.
fn authorization_url(
    mut url: Url,
    target: &Target,
    redirect_uri: &str,
    [state, nonce]: [&str; 2],
    challenge: Option<String>,
) -> Url {
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair("response_type", "code")
            .append_pair("client_id", &target.client.id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", &target.scopes.join(" "))
            .append_pair("state", state)
            .append_pair("nonce", nonce);
        if let Some(challenge) = challenge {
            query
                .append_pair("code_challenge", &challenge)
                .append_pair("code_challenge_method", "S256");
        }
        for (key, value) in &target.authorize_params {
            query.append_pair(key, value);
        }
    }
    url
}

/// How long one connection to the listener may take to send its request.
const READ_DEADLINE: Duration = Duration::from_secs(10);

/// How often a random port is tried before giving up on finding one free on both families.
const PORT_TRIES: usize = 20;

/// The listeners on the first of the redirect's ports that is free (int128/kubelogin's 8000,
/// then 18000), or on any free port when none is given; a non-loopback `listen-address` is said.
async fn listen_on_any(
    redirect: &super::target::Redirect,
    ui: &dyn LoginUi,
) -> Result<(Vec<TcpListener>, u16), String> {
    if let Some(address) = redirect.listen.filter(|address| !address.is_loopback()) {
        ui.notice(&format!(
            "listening for the sign-in's answer on {address} (listen-address): other machines can reach that port while the sign-in waits"
        ));
    }
    let Some((last, first)) = redirect.ports.split_last() else {
        return listen(redirect, 0).await;
    };
    for &port in first {
        match listen(redirect, port).await {
            Ok(found) => return Ok(found),
            Err(err) => tracing::debug!("{err}; trying the next redirect-port"),
        }
    }
    listen(redirect, *last).await
}

/// The listeners for the redirect's host and the port they share: 127.0.0.1 alone, [::1] alone,
/// or for `localhost` both (where the host has an IPv6 loopback), on `port` or, when it is 0, on
/// a random port free on both; one on `listen-address` where that is set.
async fn listen(
    redirect: &super::target::Redirect,
    port: u16,
) -> Result<(Vec<TcpListener>, u16), String> {
    let host = redirect.host.as_str();
    if let Some(address) = redirect.listen {
        let listener = TcpListener::bind((address, port)).await.map_err(|err| {
            format!("cannot listen on {address} port {port} (listen-address): {err}")
        })?;
        let port = listener.local_addr().map_err(|err| err.to_string())?.port();
        let mut listeners = vec![listener];
        // A `localhost` redirect may reach [::1]: hold it too, so that no other program can.
        if host == "localhost" && address.is_ipv4() {
            match TcpListener::bind(("::1", port)).await {
                Ok(v6) => listeners.push(v6),
                Err(err) if err.kind() == std::io::ErrorKind::AddrInUse => {
                    return Err(format!(
                        "[::1]:{port} (IPv6) is taken by another program: a browser that resolves localhost to ::1 would hand it the sign-in; stop that program or choose another redirect-port"
                    ));
                }
                Err(err) => tracing::debug!("no IPv6 loopback here ({err})"),
            }
        }
        return Ok((listeners, port));
    }
    let bind_v4 = |port: u16| async move {
        TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(|err| format!("cannot listen on 127.0.0.1:{port}: {err}"))
    };
    let local_port = |listener: &TcpListener| {
        listener
            .local_addr()
            .map(|address| address.port())
            .map_err(|err| err.to_string())
    };
    if host == "[::1]" {
        let v6 = TcpListener::bind(("::1", port))
            .await
            .map_err(|err| format!("cannot listen on [::1]:{port}: {err}"))?;
        let port = local_port(&v6)?;
        return Ok((vec![v6], port));
    }
    if host != "localhost" {
        let v4 = bind_v4(port).await?;
        let port = local_port(&v4)?;
        return Ok((vec![v4], port));
    }
    for _ in 0..PORT_TRIES {
        let v4 = bind_v4(port).await?;
        let chosen = local_port(&v4)?;
        match TcpListener::bind(("::1", chosen)).await {
            Ok(v6) => return Ok((vec![v4, v6], chosen)),
            Err(err) if err.kind() == std::io::ErrorKind::AddrInUse => {
                if port != 0 {
                    return Err(format!(
                        "[::1]:{port} (IPv6) is taken by another program: a browser that resolves localhost to ::1 would hand it the sign-in; stop that program or choose another redirect-port"
                    ));
                }
            }
            Err(err) => {
                tracing::debug!("no IPv6 loopback here ({err}); listening on 127.0.0.1 only");
                return Ok((vec![v4], chosen));
            }
        }
    }
    Err(format!(
        "found no port free on both 127.0.0.1 and [::1] in {PORT_TRIES} tries"
    ))
}

/// What the answer must carry to be this login's.
#[derive(Clone)]
struct Expected {
    /// The redirect URI's path, where the answer arrives (`/` for a URI without one).
    path: String,
    state: String,
    issuer: Option<Url>,
    /// The provider says it sends `iss` (RFC 9207), so an answer without one is refused.
    iss_required: bool,
}

/// One request to the listener, as its request line says.
#[derive(Debug, PartialEq, Eq)]
pub enum Request {
    /// The callback, with its query parameters.
    Callback(Vec<(String, String)>),
    /// Another path (a favicon): 404.
    Elsewhere,
    /// Not an HTTP GET of a path: 400.
    Malformed,
}

/// Reads the request line of `head` (the bytes up to the blank line); the callback is a GET of
/// `path`.
pub fn parse_callback_request(head: &[u8], path: &str) -> Request {
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let Ok(line) = std::str::from_utf8(line) else {
        return Request::Malformed;
    };
    let mut parts = line.trim_end_matches('\r').split(' ');
    let (Some("GET"), Some(target)) = (parts.next(), parts.next()) else {
        return Request::Malformed;
    };
    if !target.starts_with('/') {
        return Request::Malformed;
    }
    let Ok(url) = Url::parse(&format!("http://loopback{target}")) else {
        return Request::Malformed;
    };
    if url.path() != path {
        return Request::Elsewhere;
    }
    Request::Callback(url.query_pairs().into_owned().collect())
}

/// What to do with a callback: refuse it and wait on (`None`: not this login's answer), or end
/// the wait with it.
fn judge(params: &[(String, String)], expected: &Expected) -> Option<Result<Secret, LoginError>> {
    let param = |name: &str| {
        params
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    if param("state") != Some(expected.state.as_str()) {
        return None;
    }
    // RFC 9207: an answer that names another issuer is a mix-up, whatever it carries.
    match (param("iss"), &expected.issuer) {
        (Some(iss), Some(issuer)) if !crate::discovery::same_issuer(iss, issuer) => {
            return Some(Err(LoginError::Callback(format!(
                "the sign-in answer comes from issuer {iss:?}, not {issuer}: refused (a mix-up attack, RFC 9207)"
            ))));
        }
        (None, Some(issuer)) if expected.iss_required => {
            return Some(Err(LoginError::Callback(format!(
                "the sign-in answer does not name its issuer, which {issuer} says it always does (RFC 9207): refused"
            ))));
        }
        _ => {}
    }
    Some(if let Some(error) = param("error") {
        Err(LoginError::OAuth(Box::new(oauth::OAuthError::provider(
            error,
            param("error_description").map(str::to_owned),
            400,
        ))))
    } else {
        param("code")
            .map(Secret::new)
            .ok_or_else(|| LoginError::Callback("the sign-in answer has no code".into()))
    })
}

/// Lines pasted at the terminal, and what a pasted answer must match.
struct Paste {
    lines: tokio::sync::mpsc::UnboundedReceiver<Secret>,
    /// The redirect URI sent: a pasted address must have its scheme, host, port and path.
    redirect: Option<Url>,
    /// Whether a bare code is taken instead of the whole address.
    bare_code: bool,
}

/// The longest line taken as a pasted answer (Entra ID's codes make addresses of ~2 KB).
const MAX_PASTE: usize = 16 * 1024;

impl Paste {
    /// What to do with a pasted line: refuse it (the reason, which never quotes the line: it
    /// may hold a code) and wait on, or end the wait with it.
    fn judge(&self, line: &str, expected: &Expected) -> Result<Result<Secret, LoginError>, String> {
        let line = line.trim();
        if line.is_empty() || line.len() > MAX_PASTE {
            return Err("that is not the address the browser ended on".into());
        }
        let Some(redirect) = &self.redirect else {
            return Err("this sign-in takes no pasted answer".into());
        };
        if let Ok(pasted) = Url::parse(line) {
            let same_place = pasted.scheme() == redirect.scheme()
                && pasted.host_str() == redirect.host_str()
                && pasted.port_or_known_default() == redirect.port_or_known_default()
                && pasted.path() == redirect.path();
            if !same_place {
                return Err(format!(
                    "that address is not the one this sign-in sent the browser back to ({redirect})"
                ));
            }
            let params: Vec<(String, String)> = pasted.query_pairs().into_owned().collect();
            return judge(&params, expected).ok_or_else(|| {
                "that address carries another state: it is not this sign-in's answer (refused)"
                    .to_owned()
            });
        }
        let code_like = line
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b));
        match (code_like, self.bare_code) {
            (true, true) => Ok(Ok(Secret::new(line))),
            (true, false) => Err(format!(
                "paste the whole address from the browser's address bar (starting {redirect}): this provider's answer must be checked, not only its code"
            )),
            (false, _) => Err(format!(
                "that is not the address the browser ended on (it starts {redirect})"
            )),
        }
    }
}

/// Accepts connections on every listener, and lines pasted at the terminal, until this
/// login's answer arrives by either; each connection is served on its own task, so none can
/// hold up another.
async fn callback(
    listeners: &[TcpListener],
    expected: Expected,
    mut paste: Option<Paste>,
    ui: &dyn LoginUi,
) -> Result<Secret, LoginError> {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let pasted = async {
            match paste.as_mut() {
                Some(paste) => paste.lines.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            accepted = accept_any(listeners) => {
                let stream = accepted.map_err(|err| LoginError::Callback(err.to_string()))?;
                connections.spawn(serve(stream, expected.clone()));
            }
            line = pasted => match (line, paste.as_ref()) {
                // Enter alone, or the other half of a CR LF: nothing pasted.
                (Some(line), _) if line.expose().trim().is_empty() => {}
                (Some(line), Some(judge)) => match judge.judge(line.expose(), &expected) {
                    Ok(outcome) => return outcome,
                    Err(why) => ui.notice(&format!("{why}; paste again, or finish in the browser")),
                },
                // Nobody can paste any more (the terminal closed): the callback alone goes on.
                _ => paste = None,
            },
            Some(served) = connections.join_next(), if !connections.is_empty() => {
                match served {
                    Ok(Served::Done(outcome)) => return outcome,
                    Ok(Served::Refused) => ui.notice(
                        "refused a sign-in answer with the wrong state (it did not come from this login); still waiting",
                    ),
                    _ => {}
                }
            }
        }
    }
}

/// The next connection on any of the listeners.
async fn accept_any(listeners: &[TcpListener]) -> std::io::Result<TcpStream> {
    match listeners {
        [v4] => v4.accept().await.map(|(stream, _)| stream),
        [v4, v6, ..] => tokio::select! {
            accepted = v4.accept() => accepted.map(|(stream, _)| stream),
            accepted = v6.accept() => accepted.map(|(stream, _)| stream),
        },
        [] => std::future::pending().await,
    }
}

/// What serving one connection came to.
enum Served {
    /// Not a callback, or it never sent its request in time.
    Ignored,
    /// A callback that is not this login's (the wrong state): answered 400.
    Refused,
    /// This login's answer.
    Done(Result<Secret, LoginError>),
}

/// Reads one request within [`READ_DEADLINE`] and answers it.
async fn serve(mut stream: TcpStream, expected: Expected) -> Served {
    let Ok(head) = tokio::time::timeout(READ_DEADLINE, read_head(&mut stream)).await else {
        return Served::Ignored;
    };
    match parse_callback_request(&head, &expected.path) {
        Request::Malformed => {
            respond(&mut stream, 400, FAILURE_PAGE).await;
            Served::Ignored
        }
        Request::Elsewhere => {
            respond(&mut stream, 404, "not found").await;
            Served::Ignored
        }
        Request::Callback(params) => match judge(&params, &expected) {
            None => {
                respond(&mut stream, 400, FAILURE_PAGE).await;
                Served::Refused
            }
            Some(outcome) => {
                let page = if outcome.is_ok() {
                    SUCCESS_PAGE
                } else {
                    FAILURE_PAGE
                };
                respond(&mut stream, 200, page).await;
                Served::Done(outcome)
            }
        },
    }
}

/// The request line and headers (the callback has no body), at most 16 KiB.
async fn read_head(stream: &mut TcpStream) -> Vec<u8> {
    let mut buffer = vec![0u8; 16 * 1024];
    let mut read = 0;
    while read < buffer.len() {
        let n = stream.read(&mut buffer[read..]).await.unwrap_or(0);
        if n == 0 {
            break;
        }
        read += n;
        if buffer[..read].windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    buffer.truncate(read);
    buffer
}

async fn respond(stream: &mut TcpStream, status: u16, body: &str) {
    let reply = format!(
        "HTTP/1.1 {status} {}\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\ncache-control: no-store\r\nconnection: close\r\n\r\n{body}",
        if status == 200 { "OK" } else { "Error" },
        body.len()
    );
    let _ = stream.write_all(reply.as_bytes()).await;
    let _ = stream.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expected(iss_required: bool) -> Expected {
        Expected {
            path: "/callback".into(),
            state: "s1".into(),
            issuer: Some(Url::parse("https://idp.example.com/realms/r").unwrap()),
            iss_required,
        }
    }

    fn answer(query: &str) -> Vec<(String, String)> {
        match parse_callback_request(
            format!("GET /callback?{query} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes(),
            "/callback",
        ) {
            Request::Callback(params) => params,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn requests_are_read_from_their_first_line_only() {
        assert_eq!(
            parse_callback_request(b"GET /favicon.ico HTTP/1.1\r\n\r\n", "/callback"),
            Request::Elsewhere
        );
        // A redirect URI without a path (MSAL's `http://localhost`) is answered on `/`.
        assert_eq!(
            parse_callback_request(b"GET /?code=c HTTP/1.1\r\n\r\n", "/"),
            Request::Callback(vec![("code".into(), "c".into())])
        );
        assert_eq!(
            parse_callback_request(b"GET /callback?code=c HTTP/1.1\r\n\r\n", "/"),
            Request::Elsewhere
        );
        for bad in [
            &b""[..],
            b"POST /callback HTTP/1.1",
            b"GET http://evil/callback HTTP/1.1",
            b"\xff\xfe",
            b"GET",
        ] {
            assert_eq!(
                parse_callback_request(bad, "/callback"),
                Request::Malformed,
                "{bad:?}"
            );
        }
        assert_eq!(
            answer("code=c&state=s1"),
            [("code".into(), "c".into()), ("state".into(), "s1".into())]
        );
    }

    #[test]
    fn a_wrong_state_is_refused_and_the_wait_goes_on() {
        assert!(judge(&answer("code=stolen&state=other"), &expected(false)).is_none());
        assert!(judge(&answer("code=stolen"), &expected(false)).is_none());
        let code = judge(&answer("code=c&state=s1"), &expected(false))
            .unwrap()
            .unwrap();
        assert_eq!(code.expose(), "c");
    }

    #[test]
    fn the_issuer_of_the_answer_is_checked_rfc_9207() {
        let mixed = judge(
            &answer("code=c&state=s1&iss=https%3A%2F%2Fevil.example.com"),
            &expected(false),
        );
        assert!(mixed.unwrap().unwrap_err().to_string().contains("mix-up"));
        let same = judge(
            &answer("code=c&state=s1&iss=https%3A%2F%2Fidp.example.com%2Frealms%2Fr"),
            &expected(true),
        );
        assert!(same.unwrap().is_ok());
        let missing = judge(&answer("code=c&state=s1"), &expected(true));
        assert!(
            missing
                .unwrap()
                .unwrap_err()
                .to_string()
                .contains("does not name its issuer")
        );
    }

    fn paste(bare_code: bool) -> Paste {
        Paste {
            lines: tokio::sync::mpsc::unbounded_channel().1,
            redirect: Some(Url::parse("http://127.0.0.1:8000/callback").unwrap()),
            bare_code,
        }
    }

    #[test]
    fn a_pasted_address_must_be_the_redirect_sent_with_this_logins_state() {
        let paste = paste(false);
        let judged = |line: &str| paste.judge(line, &expected(false));
        let code = judged("  http://127.0.0.1:8000/callback?code=c0de&state=s1\n")
            .unwrap()
            .unwrap();
        assert_eq!(code.expose(), "c0de");
        for (line, why) in [
            (
                "http://127.0.0.1:8000/callback?code=c0de&state=other",
                "another state",
            ),
            (
                "http://127.0.0.1:8001/callback?code=c0de&state=s1",
                "not the one",
            ),
            (
                "https://127.0.0.1:8000/callback?code=c0de&state=s1",
                "not the one",
            ),
            (
                "http://localhost:8000/callback?code=c0de&state=s1",
                "not the one",
            ),
            (
                "http://127.0.0.1:8000/other?code=c0de&state=s1",
                "not the one",
            ),
            ("c0de", "whole address"),
            ("the c0de is here", "not the address"),
            ("", "not the address"),
        ] {
            let refused = judged(line).unwrap_err();
            assert!(refused.contains(why), "{line:?}: {refused}");
            assert!(
                !refused.contains("c0de"),
                "the code is never repeated: {refused}"
            );
        }
        assert!(
            judged(&format!(
                "http://127.0.0.1:8000/callback?code={}",
                "a".repeat(MAX_PASTE)
            ))
            .is_err()
        );
    }

    #[test]
    fn a_bare_code_is_taken_only_where_pkce_binds_it_and_no_iss_is_promised() {
        assert_eq!(
            paste(true)
                .judge("c0de", &expected(false))
                .unwrap()
                .unwrap()
                .expose(),
            "c0de"
        );
        assert!(paste(false).judge("c0de", &expected(false)).is_err());
        // An address that names another issuer is a mix-up, pasted as on the callback.
        let mixed = paste(true)
            .judge(
                "http://127.0.0.1:8000/callback?code=c&state=s1&iss=https%3A%2F%2Fevil.example.com",
                &expected(false),
            )
            .unwrap();
        assert!(mixed.unwrap_err().to_string().contains("mix-up"));
    }

    #[test]
    fn pkce_s256_matches_rfc_7636_appendix_b() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        let a = random_token(32);
        assert_eq!(a.len(), 43);
        assert_ne!(a, random_token(32));
    }
}
