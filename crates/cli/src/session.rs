//! `auth login`, `auth token` and `auth status`: the CLI side of logging in and handing out
//! tokens. Secrets are read from stdin or a no-echo prompt, never from arguments.

use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use serde::Serialize;
use tokenctl_core::browser::BrowserOpener;
use tokenctl_core::config::{ConfigSet, CredentialStore};
use tokenctl_core::http::HttpClient;
use tokenctl_core::jwt;
use tokenctl_core::lifecycle;
use tokenctl_core::login::{self, LoginUi, Method};
use tokenctl_core::oauth::{DeviceAuthorization, now};
use tokenctl_core::os_keyring::Keyring;
use tokenctl_core::session::{FoundLogin, Provided, SessionError, find_login, fresh_login, select};
use tokenctl_core::store::{FileStore, StoredLogin, login_key};
use tokenctl_core::{Flow, Secret};

use crate::GlobalArgs;
use crate::output::{self, DocFormat};

/// The keyrings tried on this platform, for messages.
const TRIED_KEYRINGS: &str = if cfg!(target_os = "linux") {
    "Secret Service, kernel keyutils"
} else if cfg!(target_os = "macos") {
    "Keychain"
} else {
    "Credential Manager"
};

#[derive(Debug, clap::Args)]
pub struct LoginArgs {
    /// Provider to log in to (default: the context's provider)
    #[arg(long, value_name = "NAME", add = clap_complete::engine::ArgValueCandidates::new(crate::complete::providers))]
    pub provider: Option<String>,
    /// Grant flow (default: the context's flow, else the provider's first)
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(Flow::ALL.map(Flow::as_str)))]
    pub flow: Option<String>,
    /// Scope to request instead of the configured ones (repeatable)
    #[arg(long = "scope", value_name = "SCOPE")]
    pub scopes: Vec<String>,
    /// User name for the password flow (or TOKENCTL_USERNAME)
    #[arg(long, env = "TOKENCTL_USERNAME", hide_env_values = true)]
    pub username: Option<String>,
    /// Read the password from stdin (else TOKENCTL_PASSWORD, else a prompt)
    #[arg(long)]
    pub password_stdin: bool,
    /// Read the client secret from stdin
    #[arg(long)]
    pub client_secret_stdin: bool,
    /// Read a token obtained elsewhere from stdin (token flow)
    #[arg(long)]
    pub token_stdin: bool,
    /// Read the token to exchange from stdin (exchange flow)
    #[arg(long)]
    pub subject_token_stdin: bool,
    /// Keep nothing: print the access token to stdout instead of storing the login
    #[arg(long)]
    pub no_store: bool,
    /// Browser flow: print the sign-in URL but do not open a browser
    #[arg(long)]
    pub no_browser: bool,
}

impl LoginArgs {
    /// `auth login` with no flags, as the environment sets it up (TOKENCTL_USERNAME): the login
    /// another command starts on its own.
    pub fn from_environment() -> Result<LoginArgs> {
        use clap::{Args, FromArgMatches};
        let matches =
            LoginArgs::augment_args(clap::Command::new("login")).try_get_matches_from(["login"])?;
        Ok(LoginArgs::from_arg_matches(&matches)?)
    }
}

/// Reads one line from stdin (a secret piped in), without its line ending.
fn read_stdin_secret(what: &str) -> Result<Secret> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .with_context(|| format!("reading the {what} from stdin"))?;
    let value = line.trim_end_matches(['\n', '\r']);
    if value.is_empty() {
        bail!("no {what} on stdin");
    }
    Ok(Secret::new(value))
}

pub fn login(args: LoginArgs, global: &GlobalArgs) -> Result<()> {
    let set = ConfigSet::load_valid(&global.config_paths())?;
    let selection = select(&set, global.context.as_deref(), args.provider.as_deref())?;
    let given_secret = if args.client_secret_stdin {
        Some(read_stdin_secret("client secret")?)
    } else {
        None
    };
    // Where the refresh token will go, known before anyone signs in: the OS keyring when one
    // answers (or is demanded, and then its absence stops the login here).
    let store_setting = set.credential_store();
    let keyring = match store_setting {
        _ if args.no_store => None,
        CredentialStore::None | CredentialStore::File => None,
        CredentialStore::Keyring => Some(Keyring::probe().ok_or_else(|| {
            anyhow!(
                "credential-store: keyring, but no OS keyring answered (tried {TRIED_KEYRINGS}); nothing was done"
            )
        })?),
        CredentialStore::Auto => Keyring::probe(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (flow, target, tokens) = runtime.block_on(async {
        let http = HttpClient::new(global.request_timeout)?;
        let entry = selection.provider.entry(&http).await?;
        let entry = entry.as_ref();
        let dialect = entry
            .dialect()
            .ok_or_else(|| anyhow!("unknown provider kind `{}`", entry.kind))?;
        let flow = match args.flow.as_deref() {
            Some(name) => Flow::parse(name).expect("clap checked the flow"),
            None => selection
                .context
                .and_then(|c| c.flow)
                .unwrap_or(dialect.flows()[0]),
        };
        let method = method_for(flow, &args)?;
        let target = login::resolve(
            &http,
            entry,
            selection.context,
            flow,
            &args.scopes,
            given_secret,
        )
        .await?;
        let browser = SystemBrowser {
            open: !args.no_browser,
        };
        let ui = TerminalUi::default();
        let tokens = tokio::select! {
            tokens = login::run(&http, &target, method, &ui, &browser) => tokens,
            _ = tokio::signal::ctrl_c() => {
                ui.finish();
                bail!("login interrupted");
            }
        };
        ui.finish();
        let tokens = tokens?;
        Ok::<_, anyhow::Error>((flow, target, tokens))
    })?;

    let identity = identity_of(tokens.id_token.as_ref().unwrap_or(&tokens.access_token));
    if args.no_store || store_setting == CredentialStore::None {
        println!("{}", tokens.access_token.expose());
        eprintln!(
            "Logged in{}; nothing was stored.",
            as_whom(identity.as_deref())
        );
        return Ok(());
    }
    let key = login_key(
        &target.provider,
        &target.client.id,
        &target.requested_scopes,
    );
    let mut refresh_token = tokens.refresh_token;
    let mut refresh_token_in = None;
    if let (Some(keyring), Some(token)) = (keyring, &refresh_token) {
        keyring.set(&key, token)?;
        refresh_token_in = Some(keyring.backend);
        refresh_token = None;
    }
    let login = StoredLogin {
        provider: target.provider.clone(),
        kind: target.kind.to_owned(),
        client_id: target.client.id.clone(),
        scopes: target.requested_scopes.clone(),
        flow,
        token_type: tokens.token_type,
        access_token: tokens.access_token,
        expires_at: tokens.expires_at,
        refresh_token,
        refresh_token_in,
        id_token: tokens.id_token,
        granted_scope: tokens.scope,
        obtained_at: now(),
    };
    // Under the login's lock, like a refresh of the same login in another process.
    let store = FileStore::default_location();
    let _lock = tokenctl_core::fsutil::LockGuard::acquire(
        &store.path_of(&key),
        "saving the same login",
        lifecycle::REFRESH_LOCK_TIMEOUT,
    )?;
    let path = store.save(&key, &login)?;
    if login.refresh_token.is_some()
        && store_setting == CredentialStore::Auto
        && first_file_fallback(&store)
    {
        eprintln!(
            "warning: no OS keyring answered (tried {TRIED_KEYRINGS}): refresh tokens are stored in files like {} (mode 0600). This is said once; `auth status` names the store. Set credential-store: file to accept it.",
            path.display()
        );
    }
    eprintln!(
        "Logged in to {}{}; the access token {}.",
        target.provider,
        as_whom(identity.as_deref()),
        expiry_phrase(login.expires_at)
    );
    Ok(())
}

/// Whether this is the first time refresh tokens fall back to files in this store: the
/// warning is said once, loudly, not at every login (a marker file beside the logins).
fn first_file_fallback(store: &FileStore) -> bool {
    let marker = store.dir().with_file_name("file-fallback-announced");
    if marker.exists() {
        return false;
    }
    let _ = tokenctl_core::fsutil::write_atomic(&marker, b"refresh tokens fall back to files\n");
    true
}

fn method_for(flow: Flow, args: &LoginArgs) -> Result<Method> {
    Ok(match flow {
        Flow::ClientCredentials => Method::ClientCredentials,
        Flow::Device => Method::Device,
        Flow::Password => {
            let username = match &args.username {
                Some(name) => name.clone(),
                None if std::io::stdin().is_terminal() => prompt("Username: ")?,
                None => bail!("the password flow needs --username or TOKENCTL_USERNAME"),
            };
            let password = if args.password_stdin {
                read_stdin_secret("password")?
            } else if let Ok(password) = std::env::var("TOKENCTL_PASSWORD") {
                Secret::new(password)
            } else if std::io::stdin().is_terminal() {
                Secret::new(rpassword::prompt_password("Password: ")?)
            } else {
                bail!(
                    "the password flow needs --password-stdin, TOKENCTL_PASSWORD or a terminal to ask on"
                );
            };
            eprintln!(
                "warning: the password flow sends your password to the identity provider and bypasses multi-factor authentication"
            );
            Method::Password { username, password }
        }
        Flow::Token => {
            if !args.token_stdin {
                bail!("the token flow reads the token from stdin: pass --token-stdin");
            }
            Method::Token(read_stdin_secret("token")?)
        }
        Flow::Exchange => {
            if !args.subject_token_stdin {
                bail!(
                    "the exchange flow reads the token to exchange from stdin: pass --subject-token-stdin"
                );
            }
            Method::Exchange {
                subject_token: read_stdin_secret("subject token")?,
            }
        }
        Flow::Browser => Method::Browser,
    })
}

fn prompt(question: &str) -> Result<String> {
    eprint!("{question}");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim().to_owned())
}

/// The device flow on a terminal: URL, code and QR code on stderr, and a countdown.
#[derive(Default)]
struct TerminalUi {
    /// Whether a countdown line is showing, to be cleared before the next message.
    counting: std::sync::atomic::AtomicBool,
}

impl TerminalUi {
    /// Clears the countdown line, if one is showing.
    fn finish(&self) {
        if self
            .counting
            .swap(false, std::sync::atomic::Ordering::Relaxed)
        {
            eprint!("\r\x1b[K");
        }
    }
}

impl LoginUi for TerminalUi {
    fn device_code(&self, authorization: &DeviceAuthorization) {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(
            err,
            "To sign in, open {} and enter the code {}",
            authorization.verification_uri, authorization.user_code
        );
        if let Some(complete) = &authorization.verification_uri_complete {
            let _ = writeln!(err, "or open {complete}");
        }
        // A QR code of the URL for a phone, on a terminal that shows it.
        if std::io::stderr().is_terminal() {
            let target = authorization
                .verification_uri_complete
                .as_deref()
                .unwrap_or(&authorization.verification_uri);
            if let Ok(code) = qrcode::QrCode::new(target.as_bytes()) {
                let picture = code
                    .render::<qrcode::render::unicode::Dense1x2>()
                    .quiet_zone(true)
                    .build();
                let _ = writeln!(err, "{picture}");
            }
        }
        let _ = writeln!(
            err,
            "Waiting for the sign-in (the code expires in {})...",
            human_duration(authorization.expires_in as i64)
        );
    }

    /// A live countdown on a terminal; nothing in a pipe or a log.
    fn waiting(&self, remaining: Duration) {
        if std::io::stderr().is_terminal() {
            let mut err = std::io::stderr().lock();
            let _ = write!(
                err,
                "\r{} left  ",
                human_duration(remaining.as_secs() as i64)
            );
            let _ = err.flush();
            self.counting
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }

    fn browser_url(&self, url: &url::Url) {
        eprintln!("Sign in with your browser. If it does not open, open this URL:\n{url}");
    }

    fn notice(&self, message: &str) {
        eprintln!("{message}");
    }
}

/// The browser of `BROWSER` (a `:`-separated list of commands, `%s` for the URL, as Python's
/// webbrowser reads it), else the platform's opener.
struct SystemBrowser {
    /// False with --no-browser: the URL is printed and nothing is opened.
    open: bool,
}

impl BrowserOpener for SystemBrowser {
    fn available(&self) -> bool {
        !self.open
            || std::env::var_os("BROWSER").is_some_and(|b| !b.is_empty())
            || cfg!(any(target_os = "macos", target_os = "windows"))
            || std::env::var_os("DISPLAY").is_some()
            || std::env::var_os("WAYLAND_DISPLAY").is_some()
    }

    fn open(&self, url: &url::Url) -> std::io::Result<()> {
        if !self.open {
            return Ok(());
        }
        let commands: Vec<Vec<String>> = match std::env::var("BROWSER") {
            Ok(list) if !list.is_empty() => list
                .split(':')
                .map(|command| {
                    let mut words: Vec<String> = command
                        .split_whitespace()
                        .map(|w| w.replace("%s", url.as_str()))
                        .collect();
                    if !command.contains("%s") {
                        words.push(url.to_string());
                    }
                    words
                })
                .collect(),
            _ if cfg!(target_os = "macos") => vec![vec!["open".into(), url.to_string()]],
            _ if cfg!(target_os = "windows") => vec![vec![
                "rundll32".into(),
                "url.dll,FileProtocolHandler".into(),
                url.to_string(),
            ]],
            _ => vec![vec!["xdg-open".into(), url.to_string()]],
        };
        let mut last_error = std::io::Error::other("no browser command");
        for words in commands.iter().filter(|w| !w.is_empty()) {
            match std::process::Command::new(&words[0])
                .args(&words[1..])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
            {
                Ok(_) => return Ok(()),
                Err(err) => last_error = err,
            }
        }
        Err(last_error)
    }
}

fn identity_of(token: &Secret) -> Option<String> {
    jwt::decode(token.expose())
        .ok()
        .and_then(|t| t.identity().map(str::to_owned))
}

fn as_whom(identity: Option<&str>) -> String {
    identity.map(|who| format!(" as {who}")).unwrap_or_default()
}

/// The context's stored login.
fn stored_login(set: &ConfigSet, global: &GlobalArgs) -> Result<FoundLogin, SessionError> {
    find_login(
        set,
        &FileStore::default_location(),
        global.context.as_deref(),
    )
}

/// `5m`, `30s`, `1h`, `90` (seconds).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let value: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 30s, 5m or 1h"))?;
    let seconds = match unit {
        "" | "s" => value,
        "m" => value * 60,
        "h" => value * 3600,
        _ => return Err(format!("{text:?} is not a duration like 30s, 5m or 1h")),
    };
    Ok(Duration::from_secs(seconds))
}

/// The context's login with an access token valid for `min_valid`, refreshed when needed
/// (unless --no-auto-refresh); returns the context's name too.
pub fn usable_login(global: &GlobalArgs, min_valid: Duration) -> Result<(String, StoredLogin)> {
    let set = ConfigSet::load_valid(&global.config_paths())?;
    let FoundLogin { context, login, .. } = stored_login(&set, global)?;
    if global.no_auto_refresh {
        if !lifecycle::is_fresh(&login, min_valid) {
            return Err(SessionError::LoginRequired(format!(
                "the access token for context {context:?} {}, less than --min-valid {}s, and --no-auto-refresh is set: run `tokenctl auth refresh` or `tokenctl auth login`",
                expiry_phrase(login.expires_at),
                min_valid.as_secs()
            ))
            .into());
        }
        return Ok((context, login));
    }
    let login = fresh(&set, global, &context, login, min_valid, false)?;
    Ok((context, login))
}

pub fn token(global: &GlobalArgs, min_valid: Duration, decode: bool, id_token: bool) -> Result<()> {
    let (context, login) = usable_login(global, min_valid)?;
    let token = if id_token {
        login.id_token.as_ref().ok_or_else(|| {
            anyhow!(
                "the login for context {context:?} has no ID token (flow {})",
                login.flow
            )
        })?
    } else {
        &login.access_token
    };
    if decode {
        let decoded = jwt::decode(token.expose()).context("cannot decode the token")?;
        let document = serde_json::json!({ "header": decoded.header, "claims": decoded.claims });
        output::document(&mut std::io::stdout().lock(), DocFormat::Json, &document)?;
    } else {
        println!("{}", token.expose());
    }
    Ok(())
}

/// `auth refresh`: a new access token now, whatever the old one's expiry.
pub fn refresh(global: &GlobalArgs) -> Result<()> {
    let set = ConfigSet::load_valid(&global.config_paths())?;
    let FoundLogin { context, login, .. } = stored_login(&set, global)?;
    let login = fresh(&set, global, &context, login, Duration::ZERO, true)?;
    eprintln!(
        "Refreshed the login of context {context:?}; the access token {}.",
        expiry_phrase(login.expires_at)
    );
    Ok(())
}

/// The login, refreshed when its access token does not stay valid for `min_valid` (or when
/// forced). A fresh login is handed back at once: no runtime, lock or network.
fn fresh(
    set: &ConfigSet,
    global: &GlobalArgs,
    context: &str,
    login: StoredLogin,
    min_valid: Duration,
    force: bool,
) -> Result<StoredLogin, SessionError> {
    if !force && lifecycle::is_fresh(&login, min_valid) {
        return Ok(login);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| SessionError::Unusable(format!("cannot start the runtime: {err}")))?;
    let http = HttpClient::new(global.request_timeout).map_err(login::LoginError::from)?;
    let store = FileStore::default_location();
    runtime.block_on(fresh_login(
        &http, set, &store, context, login, min_valid, force,
    ))
}

/// `auth logout [--all]`: revoke the refresh token where the dialect can, then remove the login
/// here whatever the provider said.
pub fn logout(global: &GlobalArgs, all: bool) -> Result<()> {
    let set = ConfigSet::load_valid(&global.config_paths())?;
    let store = FileStore::default_location();
    let logins: Vec<StoredLogin> = if all {
        store.all()?.into_iter().map(|(_, login)| login).collect()
    } else {
        match stored_login(&set, global) {
            Ok(found) => vec![found.login],
            Err(err) if err.is_login_required() => {
                eprintln!("{err}; nothing to log out of.");
                return Ok(());
            }
            Err(err) => return Err(err.into()),
        }
    };
    if logins.is_empty() {
        eprintln!("No stored logins; nothing to log out of.");
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let http = HttpClient::new(global.request_timeout)?;
    for login in logins {
        let key = lifecycle::key_of(&login);
        let keyring = login.refresh_token_in.map(|backend| Keyring { backend });
        let refresh_token = match (&login.refresh_token, keyring) {
            (Some(token), _) => Some(token.clone()),
            (None, Some(keyring)) => keyring.get(&key).ok().flatten(),
            (None, None) => None,
        };
        let revoked = match &refresh_token {
            None => Ok(()),
            Some(token) => runtime.block_on(revoke_login(&set, &http, &login, token)),
        };
        lifecycle::forget(&store, &key, keyring);
        match revoked {
            Ok(()) if refresh_token.is_some() => eprintln!(
                "Revoked the refresh token at {} and removed the login.",
                login.provider
            ),
            Ok(()) => eprintln!(
                "Removed the login to {} (it had no refresh token).",
                login.provider
            ),
            Err(err @ login::RevokeError::NotOffered(_)) => eprintln!(
                "Removed the login to {} here; {err}, so its refresh token stays valid until it expires or is revoked in the provider's portal.",
                login.provider
            ),
            Err(err) => eprintln!(
                "warning: could not revoke the refresh token at {} ({err}); removed the login here anyway.",
                login.provider
            ),
        }
    }
    Ok(())
}

/// Revokes a login's refresh token at its provider, configured or discovered.
async fn revoke_login(
    set: &ConfigSet,
    http: &HttpClient,
    login: &StoredLogin,
    refresh_token: &Secret,
) -> Result<(), login::RevokeError> {
    let failed = |message: String| {
        login::RevokeError::Failed(login::LoginError::Config {
            provider: login.provider.clone(),
            message,
        })
    };
    let provided = Provided::of_login(set, &login.provider).map_err(failed)?;
    let entry = provided.entry(http).await?;
    let target = login::resolve(http, &entry, None, login.flow, &login.scopes, None).await?;
    login::revoke(http, &target, refresh_token).await
}

/// `auth status`: everything about the session but the tokens themselves.
#[derive(Serialize)]
struct Status {
    context: String,
    provider: String,
    kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    cluster: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    identity: Option<String>,
    scopes: Vec<String>,
    flow: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_in_seconds: Option<i64>,
    refresh_token: bool,
    /// Where the access token is.
    store: String,
    /// Where the refresh token is, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token_store: Option<String>,
}

pub fn status(global: &GlobalArgs, format: Option<DocFormat>) -> Result<()> {
    let set = ConfigSet::load_valid(&global.config_paths())?;
    let FoundLogin {
        context,
        login,
        path,
    } = stored_login(&set, global)?;
    let cluster = set
        .resolve(global.context.as_deref())
        .ok()
        .and_then(|r| r.context.cluster.clone());
    let decoded = login
        .id_token
        .as_ref()
        .and_then(|t| jwt::decode(t.expose()).ok())
        .or_else(|| jwt::decode(login.access_token.expose()).ok());
    let access = jwt::decode(login.access_token.expose()).ok();
    // What the provider says it granted, else what the token says, else what was asked for.
    let scopes = match (&login.granted_scope, access.map(|a| a.scopes())) {
        (Some(scope), _) => scope.split_whitespace().map(str::to_owned).collect(),
        (None, Some(scopes)) if !scopes.is_empty() => scopes,
        _ => login.scopes.clone(),
    };
    let status = Status {
        context,
        provider: login.provider.clone(),
        kind: login.kind.clone(),
        cluster,
        identity: decoded
            .as_ref()
            .and_then(|d| d.identity().map(str::to_owned)),
        scopes,
        flow: login.flow.to_string(),
        expires_at: login.expires_at.map(output::rfc3339),
        expires_in_seconds: login.expires_at.map(|at| at - now()),
        refresh_token: login.refresh_token.is_some() || login.refresh_token_in.is_some(),
        store: format!("file {}", path.display()),
        refresh_token_store: match (&login.refresh_token, login.refresh_token_in) {
            (_, Some(backend)) => Some(backend.describe().to_owned()),
            (Some(_), None) => Some(format!("file {}", path.display())),
            (None, None) => None,
        },
    };
    match format {
        Some(format) => output::document(&mut std::io::stdout().lock(), format, &status),
        None => {
            let mut out = std::io::stdout().lock();
            writeln!(out, "Context:        {}", status.context)?;
            writeln!(out, "Provider:       {} ({})", status.provider, status.kind)?;
            if let Some(cluster) = &status.cluster {
                writeln!(out, "Cluster:        {cluster}")?;
            }
            if let Some(identity) = &status.identity {
                writeln!(out, "Logged in as:   {identity}")?;
            }
            writeln!(out, "Scopes:         {}", status.scopes.join(" "))?;
            writeln!(out, "Flow:           {}", status.flow)?;
            writeln!(
                out,
                "Token expires:  {}",
                match (&status.expires_at, login.expires_at) {
                    (Some(at), Some(unix)) => format!("{at} ({})", relative(unix)),
                    _ => "unknown".into(),
                }
            )?;
            writeln!(
                out,
                "Refresh token:  {}",
                match &status.refresh_token_store {
                    Some(place) => format!("yes, in {place}"),
                    None => "no".to_owned(),
                }
            )?;
            writeln!(out, "Access token:   in {}", status.store)?;
            Ok(())
        }
    }
}

fn expiry_phrase(expires_at: Option<i64>) -> String {
    match expires_at {
        Some(at) if at > now() => format!("expires {}", relative(at)),
        Some(at) => format!("expired {}", relative(at)),
        None => "has no stated expiry".into(),
    }
}

/// "in 59m", "3m ago".
fn relative(at: i64) -> String {
    let delta = at - now();
    if delta >= 0 {
        format!("in {}", human_duration(delta))
    } else {
        format!("{} ago", human_duration(-delta))
    }
}

/// 59s, 4m 10s, 2h 5m, 3d 4h.
fn human_duration(seconds: i64) -> String {
    let (d, h, m, s) = (
        seconds / 86400,
        seconds % 86400 / 3600,
        seconds % 3600 / 60,
        seconds % 60,
    );
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m {s}s"),
        (0, _, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    }
}
