//! The HTTP client every flow uses: rustls, no redirects (a token endpoint that redirects is
//! misconfigured or hostile), bounded time and bounded replies, and plain http refused except
//! on loopback.

use std::time::Duration;

use url::Url;

use crate::base_url::is_loopback;

/// Replies larger than this are refused: a token reply is a few KiB.
pub const MAX_REPLY_BYTES: usize = 1 << 20;

/// How long a connection may take to open.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a whole request may take unless the caller says otherwise.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a request got no usable reply. Messages name the URL and never a secret.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("refusing plain http to {0}: tokens would cross the network in clear text; use https")]
    PlainHttp(Url),
    #[error("cannot connect to {url}: {reason}")]
    Connect { url: Url, reason: String },
    #[error("{url} did not answer within {seconds} s")]
    Timeout { url: Url, seconds: u64 },
    #[error("{url} sent a reply larger than {limit} bytes")]
    TooLarge { url: Url, limit: usize },
    #[error("request to {url} failed: {reason}")]
    Other { url: Url, reason: String },
}

/// A reply: status, content type and the (bounded) body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn is_json(&self) -> bool {
        self.content_type
            .as_deref()
            .is_some_and(|t| t.starts_with("application/json") || t.contains("+json"))
    }
}

#[derive(Clone, Debug)]
pub struct HttpClient {
    inner: reqwest::Client,
    timeout: Duration,
}

impl HttpClient {
    /// A client whose every request ends within `timeout` (connecting included).
    pub fn new(timeout: Duration) -> Result<HttpClient, HttpError> {
        let inner = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT.min(timeout))
            .timeout(timeout)
            .user_agent(concat!("tokenctl/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|err| HttpError::Other {
                url: Url::parse("https://localhost/").expect("static URL"),
                reason: err.to_string(),
            })?;
        Ok(HttpClient { inner, timeout })
    }

    /// POSTs a form, with HTTP Basic client authentication when `basic` is given.
    pub async fn post_form(
        &self,
        url: &Url,
        form: &[(&str, &str)],
        basic: Option<(&str, &str)>,
    ) -> Result<Reply, HttpError> {
        check_scheme(url)?;
        let body = form_urlencoded(form);
        let mut request = self
            .inner
            .post(url.clone())
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .body(body);
        if let Some((user, password)) = basic {
            request = request.basic_auth(form_component(user), Some(form_component(password)));
        }
        self.send(url, request).await
    }

    /// POSTs a JSON document.
    pub async fn post_json(&self, url: &Url, body: &serde_json::Value) -> Result<Reply, HttpError> {
        check_scheme(url)?;
        let request = self
            .inner
            .post(url.clone())
            .header("content-type", "application/json")
            .header("accept", "application/json")
            .body(body.to_string());
        self.send(url, request).await
    }

    pub async fn get(&self, url: &Url) -> Result<Reply, HttpError> {
        check_scheme(url)?;
        let request = self
            .inner
            .get(url.clone())
            .header("accept", "application/json");
        self.send(url, request).await
    }

    async fn send(&self, url: &Url, request: reqwest::RequestBuilder) -> Result<Reply, HttpError> {
        let classify = |err: reqwest::Error| {
            if err.is_timeout() {
                HttpError::Timeout {
                    url: url.clone(),
                    seconds: self.timeout.as_secs(),
                }
            } else if err.is_connect() {
                HttpError::Connect {
                    url: url.clone(),
                    reason: root_cause(&err),
                }
            } else {
                HttpError::Other {
                    url: url.clone(),
                    reason: root_cause(&err),
                }
            }
        };
        tracing::debug!(%url, "sending request");
        let mut response = request.send().await.map_err(classify)?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_ascii_lowercase);
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(classify)? {
            if body.len() + chunk.len() > MAX_REPLY_BYTES {
                return Err(HttpError::TooLarge {
                    url: url.clone(),
                    limit: MAX_REPLY_BYTES,
                });
            }
            body.extend_from_slice(&chunk);
        }
        tracing::debug!(%url, status, bytes = body.len(), "reply");
        Ok(Reply {
            status,
            content_type,
            body,
        })
    }
}

/// The innermost cause of an error, which is the informative one for connection failures.
fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// Only https, or plain http to this machine.
pub fn check_scheme(url: &Url) -> Result<(), HttpError> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        _ => Err(HttpError::PlainHttp(url.clone())),
    }
}

/// `application/x-www-form-urlencoded` encoding of a form.
pub fn form_urlencoded(form: &[(&str, &str)]) -> String {
    form.iter()
        .map(|(key, value)| format!("{}={}", form_component(key), form_component(value)))
        .collect::<Vec<_>>()
        .join("&")
}

/// One form component, percent-encoded (RFC 6749 appendix B: also for Basic credentials).
fn form_component(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
