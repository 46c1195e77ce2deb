//! The HTTP client every flow uses: rustls, no redirects (a token endpoint that redirects is
//! misconfigured or hostile), bounded time and bounded replies, and plain http refused except
//! on loopback.
#![doc(hidden)]

use std::time::Duration;

use url::Url;

use crate::base_url::is_loopback;
use crate::secret::Secret;
use crate::tls::TlsTrust;

/// Replies larger than this are refused: a token reply is a few KiB.
pub const MAX_REPLY_BYTES: usize = 1 << 20;

/// How long a connection may take to open.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a whole request may take unless the caller says otherwise.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a request got no usable reply. Messages name the URL and never a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
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
    /// A cluster's or provider's TLS settings cannot be used.
    #[error("{whose}: {reason}")]
    Trust { whose: String, reason: String },
}

/// A reply: status, content type and the (bounded) body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: Option<String>,
    /// Every response header, in order (names lowercase).
    pub headers: Vec<(String, String)>,
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
        HttpClient::from_builder(client_builder(timeout), timeout)
    }

    /// A client for a server with TLS settings of its own (a cluster's, a provider's): its
    /// certificate authority in place of the system roots, its `tls-server-name`, or, with
    /// `insecure-skip-tls-verify: true`, any certificate (said in a warning).
    pub fn trusting(trust: &TlsTrust, timeout: Duration) -> Result<HttpClient, HttpError> {
        let builder = trust
            .apply(client_builder(timeout))
            .map_err(|reason| HttpError::Trust {
                whose: trust.whose.clone(),
                reason,
            })?;
        HttpClient::from_builder(builder, timeout)
    }

    /// How long a request may take.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    fn from_builder(
        builder: reqwest::ClientBuilder,
        timeout: Duration,
    ) -> Result<HttpClient, HttpError> {
        let inner = builder.build().map_err(|err| HttpError::Other {
            url: Url::parse("https://localhost/").expect("static URL"),
            reason: err.to_string(),
        })?;
        Ok(HttpClient { inner, timeout })
    }

    /// Any request (`tokenctl api`), with a bearer token, and a reply of at most `limit` bytes.
    pub async fn request(
        &self,
        method: &str,
        url: &Url,
        headers: &[(String, String)],
        body: Option<Vec<u8>>,
        bearer: Option<&Secret>,
        limit: usize,
    ) -> Result<Reply, HttpError> {
        check_scheme(url)?;
        let method =
            reqwest::Method::from_bytes(method.as_bytes()).map_err(|_| HttpError::Other {
                url: url.clone(),
                reason: format!("{method:?} is not an HTTP method"),
            })?;
        let verb = method.as_str().to_owned();
        let mut request = self.inner.request(method, url.clone());
        for (name, value) in headers {
            request = request.header(name, value);
        }
        if let Some(token) = bearer {
            request = request.bearer_auth(token.expose());
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        self.send_limited(&verb, url, request, limit).await
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
        self.send("POST", url, request).await
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
        self.send("POST", url, request).await
    }

    pub async fn get(&self, url: &Url) -> Result<Reply, HttpError> {
        check_scheme(url)?;
        let request = self
            .inner
            .get(url.clone())
            .header("accept", "application/json");
        self.send("GET", url, request).await
    }

    async fn send(
        &self,
        method: &str,
        url: &Url,
        request: reqwest::RequestBuilder,
    ) -> Result<Reply, HttpError> {
        self.send_limited(method, url, request, MAX_REPLY_BYTES)
            .await
    }

    /// What a transport error was: a timeout, a refused connection, or something else.
    fn classify(&self, url: &Url, err: &reqwest::Error) -> HttpError {
        let url = url.clone();
        if err.is_timeout() {
            HttpError::Timeout {
                url,
                seconds: self.timeout.as_secs(),
            }
        } else if err.is_connect() {
            HttpError::Connect {
                url,
                reason: root_cause(err),
            }
        } else {
            HttpError::Other {
                url,
                reason: root_cause(err),
            }
        }
    }

    /// Sends a request; `-v` logs one line for it: method, URL (query values left out, as
    /// they may be secrets), status and time.
    async fn send_limited(
        &self,
        method: &str,
        url: &Url,
        mut request: reqwest::RequestBuilder,
        limit: usize,
    ) -> Result<Reply, HttpError> {
        let classify = |err: reqwest::Error| self.classify(url, &err);
        let started = std::time::Instant::now();
        let mut attempts = 1;
        let mut response = loop {
            let retry = request.try_clone();
            tracing::debug!(url = %loggable(url), attempts, "sending request");
            let response = request.send().await.map_err(classify)?;
            // 503 and 429 say the request was not acted on, so sending it again is safe even
            // for a rotating refresh token; wait as asked when the wait fits the time left.
            let wait = retry_after(&response);
            match (retry, wait) {
                (Some(again), Some(wait))
                    if attempts < MAX_ATTEMPTS
                        && wait <= MAX_RETRY_WAIT
                        && started.elapsed() + wait < self.timeout =>
                {
                    tracing::info!(
                        url = %loggable(url),
                        status = response.status().as_u16(),
                        seconds = wait.as_secs(),
                        "the server asks to retry later; retrying"
                    );
                    tokio::time::sleep(wait).await;
                    request = again;
                    attempts += 1;
                }
                _ => break response,
            }
        };
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_ascii_lowercase);
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                (name.as_str().to_owned(), value)
            })
            .collect();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(classify)? {
            if body.len() + chunk.len() > limit {
                return Err(HttpError::TooLarge {
                    url: url.clone(),
                    limit,
                });
            }
            body.extend_from_slice(&chunk);
        }
        tracing::debug!(url = %loggable(url), status, bytes = body.len(), "reply");
        tracing::info!(
            "{method} {} {status} {} ms",
            loggable(url),
            started.elapsed().as_millis()
        );
        Ok(Reply {
            status,
            content_type,
            headers,
            body,
        })
    }
}

/// A URL for logs: its query's values, which may be codes or secrets, replaced by `…`.
fn loggable(url: &Url) -> String {
    let mut shown = url.clone();
    shown.set_fragment(None);
    if url.query().is_some() {
        let keys: Vec<String> = url
            .query_pairs()
            .map(|(key, _)| format!("{key}=…"))
            .collect();
        shown.set_query(Some(&keys.join("&")));
    }
    shown.to_string()
}

/// How often a request is sent at most when the server answers 503 or 429 with Retry-After.
const MAX_ATTEMPTS: u32 = 3;

/// The longest Retry-After honoured; a longer one is reported rather than waited for.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(10);

/// The wait a 503 or 429 reply asks for (`Retry-After` in seconds; an HTTP date counts as
/// too long to wait).
fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let status = response.status().as_u16();
    if status != 503 && status != 429 {
        return None;
    }
    let value = response.headers().get("retry-after")?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// The settings every client shares: no redirects, bounded time, a user agent.
fn client_builder(timeout: Duration) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(CONNECT_TIMEOUT.min(timeout))
        .timeout(timeout)
        .user_agent(concat!("tokenctl/", env!("CARGO_PKG_VERSION")))
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
