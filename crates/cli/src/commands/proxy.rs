//! `tokenctl proxy`: a loopback HTTP proxy to the context's cluster that adds a fresh bearer
//! token to every request, for tools that cannot do OAuth (a browser on an API, Postman, old
//! scripts). It attaches the user's token to whatever reaches it, so it defends itself as
//! `kubectl proxy` does and more: loopback only unless told, a Host allow-list against DNS
//! rebinding, no cross-origin use by web pages, kubectl's rejected paths, no request that
//! brings its own credentials, and a unix socket only its user can reach. The token comes from
//! core's [`Session`]: one renewal serves every request in flight.

use crate::output::say;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use bytes::Bytes;
use clap::Args;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use regex_lite::Regex;
use tokenctl_core::Session;

use crate::GlobalArgs;

/// kubectl proxy's default port.
pub(crate) const DEFAULT_PORT: u16 = 8001;
/// kubectl proxy's default `--accept-hosts`: the loopback names.
pub(crate) const DEFAULT_ACCEPT_HOSTS: &str = r"^localhost$,^127\.0\.0\.1$,^\[::1\]$";
/// kubectl proxy's default `--reject-paths`: no exec into or attach to a pod.
pub(crate) const DEFAULT_REJECT_PATHS: &str = r"^/api/.*/pods/.*/exec,^/api/.*/pods/.*/attach";

#[derive(Debug, Args)]
pub struct ProxyArgs {
    /// The port to listen on (0: any free one, said at start)
    #[arg(short, long, default_value_t = DEFAULT_PORT)]
    pub port: u16,
    /// The address to listen on; another than loopback needs --accept-hosts
    #[arg(long, default_value = "127.0.0.1")]
    pub address: IpAddr,
    /// Listen on this unix socket instead (mode 0600: for this user only)
    #[arg(long, value_name = "PATH", value_hint = clap::ValueHint::FilePath)]
    pub unix_socket: Option<PathBuf>,
    /// Regular expressions, comma-separated, one of which a request's Host must match
    #[arg(long, value_name = "REGEXES")]
    pub accept_hosts: Option<String>,
    /// Regular expressions, comma-separated, of paths refused with 403
    #[arg(long, value_name = "REGEXES", default_value = DEFAULT_REJECT_PATHS)]
    pub reject_paths: String,
}

/// What a request must pass before the token is added.
struct Rules {
    accept_hosts: Vec<Regex>,
    reject_paths: Vec<Regex>,
    /// The port clients reach us on, for same-origin `Origin`s (None: a unix socket).
    port: Option<u16>,
}

fn regexes(flag: &str, text: &str) -> Result<Vec<Regex>> {
    text.split(',')
        .map(str::trim)
        .filter(|pattern| !pattern.is_empty())
        .map(|pattern| {
            Regex::new(pattern)
                .map_err(|err| anyhow!("{flag}: {pattern:?} is not a regular expression: {err}"))
        })
        .collect()
}

/// The host of a `Host` header or an origin's authority, without its port; `[::1]junk` keeps
/// its junk, so that no pattern accepts it.
fn host_part(authority: &str) -> &str {
    if authority.starts_with('[') {
        return match authority.split_once(']') {
            Some((host, rest)) if rest.is_empty() || rest.starts_with(':') => {
                &authority[..=host.len()]
            }
            _ => authority,
        };
    }
    authority
        .rsplit_once(':')
        .map_or(authority, |(host, _)| host)
}

/// Why a request's target is not one the proxy can judge (RFC 9112 §3.2): two `Host` headers,
/// one that is not text, or an absolute-form target whose authority is another host.
fn ambiguous_target(request: &Request<Incoming>) -> Option<&'static str> {
    let mut hosts = request.headers().get_all(header::HOST).iter();
    let host = hosts.next();
    if hosts.next().is_some() {
        return Some("two Host headers");
    }
    let host = match host.map(|value| value.to_str()) {
        Some(Ok(host)) => Some(host),
        Some(Err(_)) => return Some("a Host header that is not text"),
        None => None,
    };
    match (request.uri().authority(), host) {
        (Some(authority), Some(host)) if !authority.as_str().eq_ignore_ascii_case(host) => {
            Some("a target whose authority is not its Host")
        }
        _ => None,
    }
}

/// A request path as the cluster will read it: percent-decoded. `None` when it has
/// dot-segments (`/./`, `/../`, also encoded), which would change it on the way (and `..` could
/// leave the cluster server's own base path).
fn decoded_path(path: &str) -> Option<String> {
    let decoded = percent_encoding::percent_decode_str(path)
        .decode_utf8_lossy()
        .into_owned();
    let dotted = decoded
        .split('/')
        .chain(path.split('/'))
        .any(|segment| segment == "." || segment == "..");
    (!dotted).then_some(decoded)
}

impl Rules {
    fn host_accepted(&self, host: &str) -> bool {
        let host = host_part(host);
        self.accept_hosts
            .iter()
            .any(|pattern| pattern.is_match(host))
    }

    /// Why a request is refused, with the status to answer; `None`: it may go on.
    fn refusal(&self, request: &Request<Incoming>) -> Option<(StatusCode, String)> {
        if let Some(why) = ambiguous_target(request) {
            return Some((StatusCode::BAD_REQUEST, format!("{why} is refused")));
        }
        let headers = request.headers();
        let host = headers
            .get(header::HOST)
            .and_then(|value| value.to_str().ok())
            .or_else(|| request.uri().authority().map(|a| a.as_str()));
        match host {
            Some(host) if self.host_accepted(host) => {}
            Some(host) => {
                return Some((
                    StatusCode::FORBIDDEN,
                    format!("host {host:?} is not accepted (see --accept-hosts)"),
                ));
            }
            None => {
                return Some((
                    StatusCode::FORBIDDEN,
                    "a request without Host is refused".into(),
                ));
            }
        }
        // A browser names the site a request comes from, Origin or not (an <img>, a <script>,
        // a no-cors fetch carry none): another site's is refused.
        if let Some(site) = headers.get("sec-fetch-site")
            && !matches!(site.to_str(), Ok("same-origin" | "none"))
        {
            return Some((
                StatusCode::FORBIDDEN,
                "requests from another site are refused: no web page may use this proxy".into(),
            ));
        }
        if let Some(origin) = headers.get(header::ORIGIN) {
            let same = origin
                .to_str()
                .ok()
                .is_some_and(|origin| self.same_origin(origin));
            if !same {
                return Some((
                    StatusCode::FORBIDDEN,
                    "cross-origin requests are refused: no web page may use this proxy".into(),
                ));
            }
        }
        if headers.contains_key(header::AUTHORIZATION)
            || headers.contains_key(header::PROXY_AUTHORIZATION)
        {
            return Some((
                StatusCode::BAD_REQUEST,
                "this request carries its own Authorization: tokenctl proxy adds the context's token and never forwards another"
                    .into(),
            ));
        }
        let path = request.uri().path();
        let Some(decoded) = decoded_path(path) else {
            return Some((
                StatusCode::BAD_REQUEST,
                format!("path {path} has dot-segments, which would change it on the way: refused"),
            ));
        };
        if self
            .reject_paths
            .iter()
            .any(|pattern| pattern.is_match(path) || pattern.is_match(&decoded))
        {
            return Some((
                StatusCode::FORBIDDEN,
                format!("path {path} is refused (see --reject-paths)"),
            ));
        }
        None
    }

    /// An `Origin` of this proxy itself: http, an accepted host, our port.
    fn same_origin(&self, origin: &str) -> bool {
        let Some(authority) = origin.strip_prefix("http://") else {
            return false;
        };
        let port = authority
            .strip_prefix(host_part(authority))
            .and_then(|rest| rest.strip_prefix(':'))
            .and_then(|port| port.parse::<u16>().ok())
            .unwrap_or(80);
        self.host_accepted(authority) && self.port.is_some_and(|ours| ours == port)
    }
}

/// Headers that belong to one connection, not to the request (RFC 9110 §7.6.1).
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
];

/// Copies end-to-end headers; `upgrade` keeps `Connection: upgrade` and `Upgrade`.
fn end_to_end(from: &HeaderMap, upgrade: bool) -> HeaderMap {
    let named: Vec<HeaderName> = from
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    let mut to = HeaderMap::with_capacity(from.len());
    for (name, value) in from {
        let kept_upgrade = upgrade && name == header::UPGRADE;
        let drop = !kept_upgrade
            && (HOP_BY_HOP.contains(&name.as_str())
                || name == header::HOST
                || name == header::UPGRADE
                || named.contains(name));
        if !drop {
            to.append(name.clone(), value.clone());
        }
    }
    if upgrade {
        to.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    }
    to
}

type Body = UnsyncBoxBody<Bytes, Box<dyn std::error::Error + Send + Sync>>;

fn text(status: StatusCode, message: &str) -> Response<Body> {
    let mut response = Response::new(
        Full::new(Bytes::from(format!("{message}\n")))
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// Everything a request needs, shared by all.
struct Proxy {
    rules: Rules,
    session: Session,
    client: reqwest::Client,
    server: url::Url,
    /// What the operator was last told on stderr.
    told: Told,
}

/// The last problem told ([`Proxy::tell`]), and the last step-up the cluster asked for
/// ([`Proxy::tell_step_up`]): each told once until it changes.
#[derive(Default)]
struct Told {
    problem: std::sync::Mutex<Option<String>>,
    step_up: std::sync::Mutex<Option<String>>,
}

impl Proxy {
    /// [`Proxy::forward`], and what any page the cluster serves may do in the proxy's origin:
    /// nothing (a sandbox without scripts, forms or same-origin rights).
    async fn handle(
        self: Arc<Self>,
        request: Request<Incoming>,
    ) -> Result<Response<Body>, Infallible> {
        let mut response = self.forward(request).await?;
        response.headers_mut().insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("sandbox"),
        );
        Ok(response)
    }

    async fn forward(
        self: Arc<Self>,
        mut request: Request<Incoming>,
    ) -> Result<Response<Body>, Infallible> {
        if let Some((status, message)) = self.rules.refusal(&request) {
            tracing::info!(method = %request.method(), path = request.uri().path(), %status, "refused: {message}");
            return Ok(text(status, &message));
        }
        let token = match self.session.cluster_token().await {
            Ok(token) => {
                self.tell(None);
                token
            }
            Err(err) => {
                let status = if err.is_login_required() {
                    StatusCode::UNAUTHORIZED
                } else {
                    StatusCode::BAD_GATEWAY
                };
                let message = format!("tokenctl: {err}");
                self.tell(Some(&message));
                return Ok(text(status, &message));
            }
        };
        let url = self.upstream_url(request.uri());
        let upgrade = request.headers().contains_key(header::UPGRADE);
        let headers = end_to_end(request.headers(), upgrade);
        let method = request.method().clone();
        // The client side of an upgrade, once both sides agreed to it.
        let client_upgrade = upgrade.then(|| hyper::upgrade::on(&mut request));
        let body = reqwest::Body::wrap(request.into_body());
        let sent = self
            .client
            .request(method, url)
            .headers(headers)
            .bearer_auth(token.expose())
            .body(body)
            .send()
            .await;
        let reply = match sent {
            Ok(reply) => reply,
            Err(err) => {
                let what =
                    tokenctl_core::internal::text::one_line(&err.without_url().to_string(), 300);
                return Ok(text(
                    StatusCode::BAD_GATEWAY,
                    &format!("tokenctl: the cluster did not answer: {what}"),
                ));
            }
        };
        let status = reply.status();
        self.tell_step_up(status, reply.headers());
        let headers = end_to_end(reply.headers(), status == StatusCode::SWITCHING_PROTOCOLS);
        if status == StatusCode::SWITCHING_PROTOCOLS
            && let Some(client_upgrade) = client_upgrade
        {
            tokio::spawn(async move {
                let (Ok(client), Ok(mut cluster)) = (client_upgrade.await, reply.upgrade().await)
                else {
                    return;
                };
                let mut client = TokioIo::new(client);
                let _ = tokio::io::copy_bidirectional(&mut client, &mut cluster).await;
            });
            let mut response = Response::new(Body::default());
            *response.status_mut() = status;
            *response.headers_mut() = headers;
            return Ok(response);
        }
        let body: reqwest::Body = http::Response::from(reply).into_body();
        let mut response = Response::new(body.map_err(Into::into).boxed_unsync());
        *response.status_mut() = status;
        *response.headers_mut() = headers;
        Ok(response)
    }

    /// Tells the operator, on stderr, why requests fail (a logout, a refused login), once per
    /// reason: the clients only see their 401 or 502.
    fn tell(&self, problem: Option<&str>) {
        let mut told = self
            .told
            .problem
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if problem != told.as_deref() {
            if let Some(problem) = problem {
                say!("{}", tokenctl_core::internal::text::printable(problem));
            }
            *told = problem.map(str::to_owned);
        }
    }

    /// Tells the operator once when the cluster asks for a stronger sign-in (RFC 9470, Entra
    /// ID's claims challenge), with the sign-in to run: the clients only see their 401.
    fn tell_step_up(&self, status: StatusCode, headers: &http::HeaderMap) {
        let step = (status == StatusCode::UNAUTHORIZED)
            .then(|| {
                tokenctl_core::internal::challenge::step_up(
                    headers
                        .get_all(header::WWW_AUTHENTICATE)
                        .iter()
                        .filter_map(|value| value.to_str().ok()),
                )
            })
            .flatten()
            .map(|step| super::api::stepped_up(&step, self.session.context(), "run").to_string());
        let mut told = self
            .told
            .step_up
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(message) = step
            && Some(&message) != told.as_ref()
        {
            say!("tokenctl proxy: {message}");
            *told = Some(message);
        }
    }

    /// The cluster's URL for a request's path and query (below the server's own path).
    fn upstream_url(&self, uri: &hyper::Uri) -> url::Url {
        let mut url = self.server.clone();
        let base = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!("{base}{}", uri.path()));
        url.set_query(uri.query());
        url
    }
}

/// `tokenctl proxy`.
pub(crate) fn run(args: ProxyArgs, global: &GlobalArgs) -> Result<()> {
    if !args.address.is_loopback() && args.accept_hosts.is_none() && args.unix_socket.is_none() {
        bail!(
            "--address {} is not loopback: anyone who reaches it would act with your token; also give --accept-hosts with the names clients use",
            args.address
        );
    }
    let session = Session::load_from(
        &global.config_paths(),
        global.context.as_deref(),
        global.request_timeout,
    )?;
    let cluster = session.cluster().ok_or_else(|| {
        anyhow!(
            "context {:?} has no cluster: the proxy forwards to a cluster's server",
            session.context()
        )
    })?;
    let server = cluster
        .server
        .as_deref()
        .ok_or_else(|| anyhow!("cluster {:?} has no server", cluster.name))?;
    let server = url::Url::parse(server)
        .with_context(|| format!("cluster {:?}: server {server:?}", cluster.name))?;
    // Streams (watch, logs -f, port-forward) outlive any request timeout: only connecting has one.
    let client = session
        .cluster_client_builder()?
        .connect_timeout(global.request_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .context("cannot build the cluster's HTTP client")?;
    let accept_hosts = args.accept_hosts.as_deref().unwrap_or(DEFAULT_ACCEPT_HOSTS);
    let mut rules = Rules {
        accept_hosts: regexes("--accept-hosts", accept_hosts)?,
        reject_paths: regexes("--reject-paths", &args.reject_paths)?,
        port: None,
    };
    let proxy = |rules| {
        Arc::new(Proxy {
            rules,
            session,
            client,
            server,
            told: Told::default(),
        })
    };
    crate::runtime::block_on(async move {
        match &args.unix_socket {
            Some(path) => {
                let listener = bind_unix(path)?;
                // Only this user can reach the socket (see bind_unix).
                let accept = || async { listener.accept().await.map(|(stream, _)| (stream, None)) };
                serve(proxy(rules), &path.display().to_string(), accept).await;
                let _ = std::fs::remove_file(path);
            }
            None => {
                let address = SocketAddr::new(args.address, args.port);
                let listener = match tokio::net::TcpListener::bind(address).await {
                    Ok(listener) => listener,
                    Err(err) if err.kind() == std::io::ErrorKind::AddrInUse => bail!(
                        "cannot listen on {address}: the port is taken (another proxy?); give another with --port, or --port 0 for any free one"
                    ),
                    Err(err) => {
                        return Err(
                            anyhow::Error::from(err).context(format!("cannot listen on {address}"))
                        );
                    }
                };
                let bound = listener.local_addr()?;
                rules.port = Some(bound.port());
                let accept = || async {
                    let (stream, peer) = listener.accept().await?;
                    let foreign = stream
                        .local_addr()
                        .ok()
                        .and_then(|local| other_users_uid(local, peer));
                    Ok((stream, foreign))
                };
                serve(proxy(rules), &bound.to_string(), accept).await;
            }
        }
        Ok(())
    })?
}

/// A unix socket only this user can reach: created under a 0077 umask, then checked.
fn bind_unix(path: &std::path::Path) -> Result<tokio::net::UnixListener> {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            bail!(
                "{}: exists and is not a socket; not replaced",
                path.display()
            );
        }
        // A socket left by a proxy that did not stop cleanly.
        std::fs::remove_file(path)
            .with_context(|| format!("{}: cannot remove the old socket", path.display()))?;
    }
    // SAFETY: umask only changes this process's mode mask; restored right after the bind.
    let old = unsafe { libc::umask(0o077) };
    let bound = tokio::net::UnixListener::bind(path);
    unsafe { libc::umask(old) };
    let listener = bound.with_context(|| format!("cannot listen on {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// Says where it listens (kubectl proxy's words), then accepts connections until Ctrl-C, each
/// served on its own task (HTTP/1.1 with upgrades).
async fn serve<S, F, A>(proxy: Arc<Proxy>, at: &str, accept: A)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    F: std::future::Future<Output = std::io::Result<(S, Option<u32>)>>,
    A: Fn() -> F,
{
    say!(
        "Starting to serve on {at} (context {:?})",
        proxy.session.context()
    );
    let mut connections = Connections::new();
    let mut warned: Option<tokio::time::Instant> = None;
    loop {
        let (stream, foreign) = tokio::select! {
            accepted = accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of descriptors (EMFILE): wait for some to close, and say so at most
                    // once a minute instead of spinning.
                    if warned.is_none_or(|at| at.elapsed() > std::time::Duration::from_secs(60)) {
                        tracing::warn!("accept: {err}");
                        warned = Some(tokio::time::Instant::now());
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = tokio::signal::ctrl_c() => return,
        };
        let proxy = proxy.clone();
        let reading = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let started = reading.clone();
        let connection = tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                started.store(false, std::sync::atomic::Ordering::Relaxed);
                let proxy = proxy.clone();
                async move {
                    match foreign {
                        Some(uid) => Ok(text(
                            StatusCode::FORBIDDEN,
                            &format!("tokenctl proxy serves only its own user, not uid {uid}"),
                        )),
                        None => proxy.handle(request).await,
                    }
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades()
                .await;
        });
        connections.admit(connection.abort_handle(), reading);
    }
}

/// The uid of another local user's process at the other end of a TCP connection, from the
/// kernel's socket table (Linux's /proc/net/tcp and tcp6: the peer's socket is the entry whose
/// local address is the peer and whose remote is ours). `None`: this user's, not local, or
/// where the platform cannot tell (the README says to use --unix-socket there).
fn other_users_uid(local: SocketAddr, peer: SocketAddr) -> Option<u32> {
    if !cfg!(target_os = "linux") || !peer.ip().is_loopback() {
        return None;
    }
    let table = match peer {
        SocketAddr::V4(_) => "/proc/net/tcp",
        SocketAddr::V6(_) => "/proc/net/tcp6",
    };
    // Read as a stream: a table of many sockets is never cut short, so the peer's line is found.
    let table = tokenctl_core::internal::fsutil::open_stream(std::path::Path::new(table)).ok()?;
    let (want_local, want_remote) = (kernel_address(peer), kernel_address(local));
    let uid = std::io::BufRead::lines(table)
        .map_while(Result::ok)
        .skip(1)
        .find_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            (fields.get(1) == Some(&want_local.as_str())
                && fields.get(2) == Some(&want_remote.as_str()))
            .then(|| fields.get(7)?.parse::<u32>().ok())
            .flatten()
        })?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    (uid != unsafe { libc::geteuid() }).then_some(uid)
}

/// An address as the kernel's socket table writes it: each 32-bit word of the IP in host
/// order, in hex, then the port.
fn kernel_address(address: SocketAddr) -> String {
    let words: Vec<u8> = match address.ip() {
        std::net::IpAddr::V4(ip) => ip.octets().to_vec(),
        std::net::IpAddr::V6(ip) => ip.octets().to_vec(),
    };
    let ip: String = words
        .chunks(4)
        .map(|word| {
            format!(
                "{:08X}",
                u32::from_ne_bytes([word[0], word[1], word[2], word[3]])
            )
        })
        .collect();
    format!("{ip}:{:04X}", address.port())
}

/// How long a client may take to send a request's headers.
const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The most connections served at once: the soft open-file limit, raised to the hard one at
/// start, less room for the proxy's own files and its connections to the cluster.
fn connection_cap() -> usize {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct given.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit = raised;
            }
        }
    }
    // Each client connection may hold one to the cluster too.
    usize::try_from(limit.rlim_cur / 2)
        .unwrap_or(usize::MAX)
        .saturating_sub(32)
        .clamp(16, 16_384)
}

/// The connections being served. Beyond the cap, the oldest one still reading its headers is
/// dropped, so that idle sockets cannot lock real clients out.
struct Connections {
    cap: usize,
    live:
        std::collections::VecDeque<(tokio::task::AbortHandle, Arc<std::sync::atomic::AtomicBool>)>,
}

impl Connections {
    fn new() -> Connections {
        Connections {
            cap: connection_cap(),
            live: std::collections::VecDeque::new(),
        }
    }

    fn admit(
        &mut self,
        connection: tokio::task::AbortHandle,
        reading: Arc<std::sync::atomic::AtomicBool>,
    ) {
        self.live.retain(|(task, _)| !task.is_finished());
        if self.live.len() >= self.cap
            && let Some(at) = self
                .live
                .iter()
                .position(|(_, reading)| reading.load(std::sync::atomic::Ordering::Relaxed))
            && let Some((idle, _)) = self.live.remove(at)
        {
            idle.abort();
        }
        self.live.push_back((connection, reading));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_matched_without_their_port() {
        assert_eq!(host_part("localhost:8001"), "localhost");
        assert_eq!(host_part("[::1]:8001"), "[::1]");
        assert_eq!(host_part("[::1]"), "[::1]");
        assert_eq!(host_part("example.com"), "example.com");
        let rules = Rules {
            accept_hosts: regexes("", DEFAULT_ACCEPT_HOSTS).unwrap(),
            reject_paths: Vec::new(),
            port: Some(8001),
        };
        assert!(rules.host_accepted("127.0.0.1:8001"));
        assert!(rules.host_accepted("[::1]:8001"));
        assert!(!rules.host_accepted("127.0.0.1.evil.example:8001"));
        assert!(rules.same_origin("http://localhost:8001"));
        assert!(!rules.same_origin("http://localhost:9999"));
        assert!(!rules.same_origin("https://localhost:8001"));
        assert!(!rules.same_origin("http://evil.example:8001"));
        assert!(!rules.same_origin("null"));
    }

    #[test]
    fn kubectls_rejected_paths_are_refused() {
        let reject = regexes("", DEFAULT_REJECT_PATHS).unwrap();
        let refused = |path: &str| reject.iter().any(|r| r.is_match(path));
        assert!(refused("/api/v1/namespaces/default/pods/web/exec"));
        assert!(refused("/api/v1/namespaces/default/pods/web/attach"));
        assert!(!refused("/api/v1/namespaces/default/pods/web/portforward"));
        assert!(!refused("/api/v1/namespaces"));
    }
}
