//! The browser flow: authorization code with PKCE (S256), `state` and `nonce`, answered on a
//! one-shot loopback listener bound to 127.0.0.1 only.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use url::Url;

use super::target::{LoginError, LoginUi, Target, verify_id_token};
use crate::http::HttpClient;
use crate::oauth::{self, Grant, TokenSet};
use crate::secret::Secret;
use crate::secret::random_token;

/// How long the person has to finish signing in.
pub const SIGN_IN_TIMEOUT: Duration = Duration::from_secs(300);

/// Opens a URL in a browser; the CLI uses `BROWSER` or the platform's opener, tests a script.
pub trait BrowserOpener: Send + Sync {
    /// Whether a browser can be shown here at all (no display over SSH, say).
    fn available(&self) -> bool;
    fn open(&self, url: &Url) -> std::io::Result<()>;
}

/// RFC 7636 S256: BASE64URL(SHA256(verifier)).
pub fn pkce_challenge(verifier: &str) -> String {
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
pub async fn login(
    http: &HttpClient,
    target: &Target,
    opener: &dyn BrowserOpener,
    ui: &dyn LoginUi,
) -> Result<TokenSet, LoginError> {
    let redirect_port = target.redirect_port;
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
    // 127.0.0.1 only: nothing else on the network can reach the listener.
    let listener = TcpListener::bind(("127.0.0.1", redirect_port))
        .await
        .map_err(|err| {
            config_error(&format!(
                "cannot listen on 127.0.0.1:{redirect_port}: {err}"
            ))
        })?;
    let port = listener
        .local_addr()
        .map_err(|err| config_error(&err.to_string()))?
        .port();
    let redirect_uri = format!("http://{}:{port}/callback", target.loopback_host);

    let verifier = random_token(32);
    let state = random_token(16);
    let nonce = random_token(16);
    let mut url = authorization;
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair("response_type", "code")
            .append_pair("client_id", &target.client.id)
            .append_pair("redirect_uri", &redirect_uri)
            .append_pair("scope", &target.scopes.join(" "))
            .append_pair("state", &state)
            .append_pair("nonce", &nonce)
            .append_pair("code_challenge", &pkce_challenge(&verifier))
            .append_pair("code_challenge_method", "S256");
        for (key, value) in target.extra.iter().chain(&target.authorize_params) {
            query.append_pair(key, value);
        }
    }
    ui.browser_url(&url);
    if let Err(err) = opener.open(&url) {
        tracing::warn!("could not open a browser ({err}); open the URL above yourself");
    }
    let code = tokio::time::timeout(SIGN_IN_TIMEOUT, callback(&listener, &state))
        .await
        .map_err(|_| LoginError::SignInTimeout(SIGN_IN_TIMEOUT.as_secs()))??;
    drop(listener);

    let grant = Grant::AuthorizationCode {
        code,
        redirect_uri,
        code_verifier: Secret::new(verifier),
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

/// Accepts connections until the callback arrives; answers it and returns the code. Other
/// requests (a favicon, say) get a 404 and do not end the wait.
async fn callback(listener: &TcpListener, state: &str) -> Result<Secret, LoginError> {
    loop {
        let (mut stream, _) = listener
            .accept()
            .await
            .map_err(|err| LoginError::Callback(err.to_string()))?;
        let mut buffer = vec![0u8; 16 * 1024];
        let mut read = 0;
        // The request line and headers; the callback has no body.
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
        let head = String::from_utf8_lossy(&buffer[..read]);
        let target = head
            .lines()
            .next()
            .and_then(|line| line.strip_prefix("GET "))
            .and_then(|rest| rest.split(' ').next())
            .unwrap_or("");
        let Ok(url) = Url::parse(&format!("http://loopback{target}")) else {
            respond(&mut stream, 400, FAILURE_PAGE).await;
            continue;
        };
        if url.path() != "/callback" {
            respond(&mut stream, 404, "not found").await;
            continue;
        }
        let param = |name: &str| {
            url.query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        };
        let outcome = if param("state").as_deref() != Some(state) {
            Err(LoginError::Callback(
                "the sign-in answer carries the wrong state: it did not come from this login"
                    .into(),
            ))
        } else if let Some(error) = param("error") {
            Err(LoginError::OAuth(Box::new(oauth::OAuthError::Provider {
                error,
                description: param("error_description"),
                status: 400,
            })))
        } else {
            param("code")
                .map(Secret::new)
                .ok_or_else(|| LoginError::Callback("the sign-in answer has no code".into()))
        };
        let page = if outcome.is_ok() {
            SUCCESS_PAGE
        } else {
            FAILURE_PAGE
        };
        respond(&mut stream, 200, page).await;
        return outcome;
    }
}

async fn respond(stream: &mut tokio::net::TcpStream, status: u16, body: &str) {
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
