//! `auth login`, `token`, `refresh`, `logout` and `status`: parse, prompt and print around the
//! login use cases of `tokenctl_core::logins`, which own every rule. Secrets are read from stdin
//! or a no-echo prompt, never from arguments.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use serde::Serialize;
use tokenctl_core::clock::{SystemClock, expiry_phrase, relative, unix_now};
use tokenctl_core::config::{Chosen, ConfigSet};
use tokenctl_core::flows::{Method, RevokeError};
use tokenctl_core::jwt;
use tokenctl_core::logins::{
    Freshness, Handout, LoggedOut, LoginStore, Logins, ProviderAuthority, SignIn, SignInOutcome,
    StoredLogin, Trigger, Usable, Want, identity_of, others, store::TRIED_KEYRINGS,
};
use tokenctl_core::text::printable;
use tokenctl_core::{Flow, Secret};

use crate::GlobalArgs;
use crate::output::{self, DocFormat};
use crate::runtime::block_on;
use crate::terminal::{self, SystemBrowser, TerminalUi, read_stdin_secret};

#[derive(Debug, clap::Args)]
pub struct LoginArgs {
    /// Provider to log in to, by name or by kind (default: the context's provider)
    #[arg(long, value_name = "NAME", add = clap_complete::engine::ArgValueCandidates::new(crate::complete::providers_or_kinds))]
    pub provider: Option<String>,
    /// Grant flow (default: the context's flow, else the provider's first)
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(Flow::ALL.map(Flow::as_str)))]
    pub flow: Option<String>,
    /// Scopes to request instead of the configured ones: repeated, comma- or space-separated
    #[arg(long = "scope", value_name = "SCOPE")]
    pub scopes: Vec<String>,
    /// User name for the password flow (or TOKENCTL_USERNAME)
    #[arg(long, env = "TOKENCTL_USERNAME", hide_env_values = true)]
    pub username: Option<String>,
    /// Read the password from stdin (else TOKENCTL_PASSWORD, else a prompt)
    #[arg(long)]
    pub password_stdin: bool,
    /// Read the client secret from stdin (kept in the OS keyring to renew the login)
    #[arg(long)]
    pub client_secret_stdin: bool,
    /// Read a token obtained elsewhere from stdin (token flow)
    #[arg(long)]
    pub token_stdin: bool,
    /// Read the token to exchange from stdin (exchange flow; without it, the context's subject-token)
    #[arg(long)]
    pub subject_token_stdin: bool,
    /// Keep nothing: print the access token to stdout instead of storing the login
    #[arg(long)]
    pub no_store: bool,
    /// Browser flow: print the sign-in URL but do not open a browser
    #[arg(long)]
    pub no_browser: bool,
    /// Device flow: do not draw the QR code of the sign-in URL
    #[arg(long)]
    pub no_qr: bool,
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

/// The login use cases over the contexts files these flags select.
pub fn logins(global: &GlobalArgs) -> Result<Logins<ProviderAuthority>> {
    let set = Arc::new(ConfigSet::load_valid(&global.config_paths())?);
    logins_of(set, global.request_timeout)
}

/// The login use cases over a loaded contexts file set; a `credential-store` that names no
/// store stops here.
pub fn logins_of(
    set: Arc<ConfigSet>,
    request_timeout: Duration,
) -> Result<Logins<ProviderAuthority>> {
    let setting = set.credential_store()?;
    Ok(logins_with(set, setting, request_timeout))
}

/// [`logins_of`] with the credential store given (listing logins reads them whatever the
/// setting says).
pub fn logins_with(
    set: Arc<ConfigSet>,
    setting: tokenctl_core::config::CredentialStore,
    request_timeout: Duration,
) -> Logins<ProviderAuthority> {
    let store = LoginStore::default_location(setting);
    Logins::new(
        set.clone(),
        store,
        Arc::new(SystemClock),
        ProviderAuthority::new(set, request_timeout),
    )
    .with_request_timeout(request_timeout)
}

/// `auth login`: signs in, after any sign-in another tokenctl is running for the same login.
pub fn login(args: LoginArgs, global: &GlobalArgs) -> Result<()> {
    sign_in(args, global, Trigger::Asked)
}

/// The sign-in a command starts when it finds no usable login (kubectl's exec credential):
/// one per login across processes, and none nobody attends (`attended: false`, no terminal)
/// right after one failed.
pub fn login_when_missing(global: &GlobalArgs, attended: bool) -> Result<()> {
    sign_in(
        LoginArgs::from_environment()?,
        global,
        Trigger::Missing { attended },
    )
}

fn sign_in(mut args: LoginArgs, global: &GlobalArgs, trigger: Trigger) -> Result<()> {
    let guided_global;
    let mut global = global;
    let paths = global.config_paths();
    let set = Arc::new(ConfigSet::load_valid(&paths)?);
    output::notices(&set);
    let first = tokenctl_core::config::setup::FirstRun::needed(
        &set,
        global.context.as_deref(),
        args.provider.as_deref(),
    );
    // Without a person to ask, core's error names the commands to run.
    let mut created = None;
    let logins = match first.filter(|_| terminal::person_at_terminal()) {
        Some(first) => {
            let new = crate::guided::run(first, &paths)?;
            guided_global = GlobalArgs {
                context: Some(new.context.clone()),
                ..global.clone()
            };
            created = Some(new);
            global = &guided_global;
            args.provider = None;
            // The files the setup just wrote.
            logins(global)?
        }
        None => logins_of(set, global.request_timeout)?,
    };
    let flow = match args.flow.as_deref() {
        Some(name) => Flow::parse(name).ok_or_else(|| anyhow!("unknown flow {name:?}"))?,
        None => logins.sign_in_flow(global.context.as_deref(), args.provider.as_deref())?,
    };
    logins.ready_to_store(!args.no_store)?;
    if let Some(warning) =
        logins.sign_in_warning(global.context.as_deref(), args.provider.as_deref())?
    {
        eprintln!("warning: {warning}");
    }
    let client_secret = if args.client_secret_stdin {
        Some(read_stdin_secret("client secret")?)
    } else {
        None
    };
    let method = method_for(flow, &args)?;
    let terminal = TerminalUi::new(args.no_qr);
    let browser = SystemBrowser {
        open: !args.no_browser,
    };
    // Nobody at a terminal (a GUI runs kubectl): the device flow's page opens in the browser.
    let unattended = terminal::OpeningDevicePage {
        ui: &terminal,
        opener: &browser,
    };
    let ui: &dyn tokenctl_core::flows::LoginUi = match trigger {
        Trigger::Missing { attended: false } => &unattended,
        _ => &terminal,
    };
    let how = SignIn {
        trigger,
        flow,
        method,
        scopes: &split_scopes(args.scopes.clone()),
        client_secret,
        claims: None,
        ui,
        opener: &browser,
    };
    let outcome = block_on(async {
        tokio::select! {
            outcome = logins.sign_in(global.context.as_deref(), args.provider.as_deref(), how, !args.no_store) => Some(outcome),
            _ = tokio::signal::ctrl_c() => None,
        }
    })?;
    terminal.finish();
    let outcome = outcome.ok_or(crate::Interrupted)?;
    let outcome = match (outcome, &created) {
        (Ok(outcome), Some(created)) => {
            created.make_current(&paths)?;
            eprintln!("Context {:?} is now the current context.", created.context);
            outcome
        }
        (Ok(outcome), None) => outcome,
        (Err(err), Some(created)) => {
            return Err(anyhow::Error::new(err).context(format!(
                "provider {provider:?} and context {context:?} are saved, but the current context is as it was; correct an answer with `tokenctl config set-provider {provider} --FIELD VALUE` (the fields: `tokenctl config set-provider --help`), then run `tokenctl --context {context} auth login`",
                provider = created.provider,
                context = created.context,
            )));
        }
        (Err(err), None) => return Err(err.into()),
    };
    let signed = match outcome {
        SignInOutcome::NotStored(tokens) => {
            let who = identity_of(tokens.id_token.as_ref(), &tokens.access_token);
            writeln!(std::io::stdout().lock(), "{}", tokens.access_token.expose())?;
            eprintln!("Logged in{}; nothing was stored.", as_whom(who.as_deref()));
            return Ok(());
        }
        SignInOutcome::Existing(login) => {
            eprintln!(
                "Another tokenctl signed in to {} meanwhile; using that login.",
                login.provider
            );
            return Ok(());
        }
        SignInOutcome::Stored(signed) => signed,
    };
    let login = &signed.login;
    if signed.first_file_fallback {
        eprintln!(
            "warning: no OS keyring answered (tried {TRIED_KEYRINGS}): refresh tokens are stored in files like {} (mode 0600). This is said once; `auth status` names the store. `tokenctl config set credential-store file` accepts it.",
            signed.path.display()
        );
    }
    if let Some(warning) = &signed.warning {
        eprintln!("warning: {warning}");
    }
    if let Some(before) = &signed.replaced {
        let others = others(&signed.used_by, &signed.context);
        let users = if others.is_empty() {
            String::new()
        } else {
            format!(", which contexts {} also use", others.join(", "))
        };
        eprintln!("This replaces the login of {before}{users}.");
    }
    if !signed.context.is_empty() && !signed.used_by.contains(&signed.context) {
        eprintln!(
            "note: context {:?} does not use this login (it asks for another identity: its own flow or scopes); contexts that use it: {}",
            signed.context,
            if signed.used_by.is_empty() {
                "none".to_owned()
            } else {
                signed.used_by.join(", ")
            }
        );
    }
    // Auth0 without "Allow Offline Access", Google without access_type=offline: the login ends
    // with this access token, which is better known now than in an hour.
    if login.flow.signs_in_a_person() && !login.has_refresh_token() {
        eprintln!(
            "warning: {} returned no refresh token: this login ends when its access token expires. Allow offline access for this client or API at the provider (Auth0: the API's \"Allow Offline Access\"; Google: authorize-params access_type: offline)",
            login.provider
        );
    }
    let missing = login.scopes_not_granted();
    if !missing.is_empty() {
        eprintln!(
            "warning: {} granted fewer scopes than asked; not granted: {}",
            login.provider,
            printable(&missing.join(" "))
        );
    }
    let who = identity_of(login.id_token.as_ref(), &login.access_token);
    eprintln!(
        "Logged in to {}{}; the access token {}.",
        login.provider,
        as_whom(who.as_deref()),
        expiry_phrase(login.expires_at, unix_now())
    );
    Ok(())
}

/// Scopes as given to `--scope`/`--scopes`: repeated, comma- or space-separated alike.
pub(crate) fn split_scopes(given: Vec<String>) -> Vec<String> {
    given
        .iter()
        .flat_map(|scope| scope.split([',', ' ', '\t']))
        .filter(|scope| !scope.is_empty())
        .map(str::to_owned)
        .collect()
}

fn method_for(flow: Flow, args: &LoginArgs) -> Result<Method> {
    Ok(match flow {
        Flow::ClientCredentials => Method::ClientCredentials,
        Flow::Device => Method::Device,
        Flow::Password => {
            let username = match &args.username {
                Some(name) => name.clone(),
                None if terminal::stdin_is_terminal() => terminal::prompt("Username: ")?,
                None => bail!("the password flow needs --username or TOKENCTL_USERNAME"),
            };
            let password = if args.password_stdin {
                read_stdin_secret("password")?
            } else if let Ok(password) = std::env::var("TOKENCTL_PASSWORD") {
                Secret::new(password)
            } else if terminal::stdin_is_terminal() {
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
        // Without --subject-token-stdin core reads the context's `subject-token` source.
        Flow::Exchange => Method::Exchange {
            subject_token: args
                .subject_token_stdin
                .then(|| read_stdin_secret("subject token"))
                .transpose()?,
        },
        Flow::Browser => Method::Browser,
    })
}

fn as_whom(identity: Option<&str>) -> String {
    identity
        .map(|who| format!(" as {}", printable(who)))
        .unwrap_or_default()
}

pub use tokenctl_core::provider::parse_duration;

/// What `auth token`, kubectl, `api` and plugins ask for: a token fresh by `freshness`,
/// renewed as the use cases decide (unless --no-auto-refresh).
pub fn usable_login(global: &GlobalArgs, freshness: Freshness, handout: Handout) -> Result<Usable> {
    let logins = logins(global)?;
    let want = Want {
        freshness,
        auto_refresh: !global.no_auto_refresh,
        force: false,
        handout,
    };
    let usable = block_on(waiting_visibly(
        logins.usable(global.context.as_deref(), want),
    ))??;
    if let Some(warning) = &usable.warning {
        eprintln!("warning: {warning}");
    }
    Ok(usable)
}

/// How long a command waits on the identity provider before it says so at a terminal.
const SAY_WAITING_AFTER: Duration = Duration::from_secs(1);

/// `work`, with one line at a terminal when it takes longer than [`SAY_WAITING_AFTER`].
async fn waiting_visibly<T>(work: impl std::future::Future<Output = T>) -> T {
    tokio::pin!(work);
    match tokio::time::timeout(SAY_WAITING_AFTER, &mut work).await {
        Ok(done) => done,
        Err(_) => {
            if std::io::stderr().is_terminal() {
                eprintln!("Waiting for the identity provider...");
            }
            work.await
        }
    }
}

/// `--min-valid` given: honoured literally; else the CLI's default rule.
pub fn freshness(min_valid: Option<Duration>) -> Freshness {
    min_valid.map_or(Freshness::CLI, Freshness::at_least)
}

pub fn token(
    global: &GlobalArgs,
    min_valid: Option<Duration>,
    decode: bool,
    id_token: bool,
) -> Result<()> {
    let handout = if id_token {
        Handout::Id
    } else {
        Handout::Access
    };
    let usable = usable_login(global, freshness(min_valid), handout)?;
    let token = usable.token();
    if decode {
        let decoded = jwt::decode(token.expose()).context("cannot decode the token")?;
        let document = serde_json::json!({ "header": decoded.header, "claims": decoded.claims });
        output::document(&mut std::io::stdout().lock(), DocFormat::Json, &document)?;
    } else {
        writeln!(std::io::stdout().lock(), "{}", token.expose())?;
    }
    Ok(())
}

/// `auth refresh`: a new access token now, whatever the old one's expiry.
pub fn refresh(global: &GlobalArgs) -> Result<()> {
    let logins = logins(global)?;
    output::notices(logins.set());
    let want = Want {
        freshness: Freshness::CLI,
        auto_refresh: true,
        force: true,
        handout: Handout::Access,
    };
    let Usable {
        context,
        login,
        warning,
        ..
    } = block_on(waiting_visibly(
        logins.usable(global.context.as_deref(), want),
    ))??;
    if let Some(warning) = warning {
        eprintln!("warning: {warning}");
    }
    eprintln!(
        "Refreshed the login of context {context:?}; the access token {}.",
        expiry_phrase(login.expires_at, unix_now())
    );
    Ok(())
}

/// `auth logout [--all]`: revoke the refresh token where the provider can, then remove the
/// login here whatever the provider said.
pub fn logout(global: &GlobalArgs, all: bool) -> Result<()> {
    let logins = logins(global)?;
    let removed = if all {
        block_on(logins.logout_all())??
    } else {
        match block_on(logins.logout(global.context.as_deref()))?? {
            Some(out) => vec![out],
            None => {
                let found = logins.find(global.context.as_deref())?;
                eprintln!(
                    "not logged in to {} (context {:?}); nothing to log out of.",
                    found.identity.provider, found.context
                );
                return Ok(());
            }
        }
    };
    if removed.is_empty() {
        eprintln!("No stored logins; nothing to log out of.");
    }
    for out in removed {
        say_logged_out(&out);
    }
    Ok(())
}

fn say_logged_out(out: &LoggedOut) {
    let provider = &out.provider;
    match &out.revoked {
        Ok(true) => eprintln!("Revoked the refresh token at {provider} and removed the login."),
        Ok(false) => eprintln!("Removed the login to {provider} (it had no refresh token)."),
        Err(err @ RevokeError::NotOffered(_)) => eprintln!(
            "Removed the login to {provider} here; {err}, so its refresh token stays valid until it expires or is revoked in the provider's portal."
        ),
        Err(err) => eprintln!(
            "warning: could not revoke the refresh token at {provider} ({err}); removed the login here anyway."
        ),
    }
    if !out.also.is_empty() {
        eprintln!(
            "Contexts {} used the same login and are logged out too.",
            out.also.join(", ")
        );
    }
    if out.renewable {
        eprintln!(
            "It is not acquired again on its own until `{}` is run.",
            out.login_again
        );
    }
}

/// `auth status`: everything about the session but the tokens themselves.
#[derive(Serialize)]
struct StatusDoc {
    context: String,
    /// How the context was chosen: asked (--context, TOKENCTL_CONTEXT), current-context, or
    /// only-context (no current-context, and only this one defined).
    context_from: Chosen,
    /// The `.tokenctl` that chose the context, when one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    context_file: Option<String>,
    logged_in: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    provider: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cluster: Option<String>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    login: Option<LoginDoc>,
}

/// What `auth status` says of a stored login.
#[derive(Serialize)]
struct LoginDoc {
    #[serde(skip_serializing_if = "Option::is_none")]
    identity: Option<String>,
    scopes: Vec<String>,
    flow: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    issuer: Option<String>,
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
    /// Every context that uses this login.
    shared_by: Vec<String>,
}

/// The `.tokenctl` behind a choice, for documents.
fn context_file(chosen: Chosen) -> Option<String> {
    (chosen == Chosen::Directory)
        .then(|| tokenctl_core::config::here::current().path())
        .flatten()
        .map(|path| path.display().to_string())
}

/// `auth status`. Not logged in: exit 4, and with `-o` a document that says so (`logged_in:
/// false`, the context and its provider) for scripts.
pub fn status(global: &GlobalArgs, format: Option<DocFormat>) -> Result<()> {
    let logins = logins(global)?;
    output::notices(logins.set());
    let wanted = global.context.as_deref();
    let (_, chosen) = logins.set().chosen_context(wanted)?;
    let status = match block_on(logins.status(wanted))? {
        Ok(status) => status,
        Err(err) if err.is_login_required() && format.is_some() => {
            let (context, provider, kind, cluster) = match logins.set().resolve(wanted) {
                Ok(resolved) => (
                    resolved.context.name.clone(),
                    resolved.provider.map(|p| p.name.clone()),
                    resolved.provider.map(|p| p.kind.clone()),
                    resolved.cluster.map(|c| c.name.clone()),
                ),
                Err(_) => (wanted.unwrap_or_default().to_owned(), None, None, None),
            };
            let doc = StatusDoc {
                context,
                context_from: chosen,
                context_file: context_file(chosen),
                logged_in: false,
                provider,
                kind,
                cluster,
                login: None,
            };
            if let Some(format) = format {
                output::document(&mut std::io::stdout().lock(), format, &doc)?;
            }
            return Err(err.into());
        }
        Err(err) => return Err(err.into()),
    };
    let login = &status.login;
    let cluster = logins
        .set()
        .context(&status.context)
        .and_then(|c| c.cluster.clone());
    let access = jwt::decode(login.access_token.expose()).ok();
    // What the provider says it granted, else what the token says, else what was asked for.
    let scopes = match (&login.granted_scope, access.map(|a| a.scopes())) {
        (Some(scope), _) => scope.split_whitespace().map(str::to_owned).collect(),
        (None, Some(scopes)) if !scopes.is_empty() => scopes,
        _ => login.scopes.clone(),
    };
    let now = unix_now();
    let about = LoginDoc {
        identity: identity_of(login.id_token.as_ref(), &login.access_token),
        scopes,
        flow: login.flow.to_string(),
        issuer: login.issuer.clone(),
        expires_at: login.expires_at.map(output::rfc3339),
        expires_in_seconds: login.expires_at.map(|at| at.saturating_sub(now)),
        refresh_token: login.has_refresh_token(),
        store: format!("file {}", status.path.display()),
        refresh_token_store: status.refresh_token_in.as_ref().map(ToString::to_string),
        shared_by: status.used_by.clone(),
    };
    if let Some(format) = format {
        let doc = StatusDoc {
            context: status.context.clone(),
            context_from: chosen,
            context_file: context_file(chosen),
            logged_in: true,
            provider: Some(login.provider.clone()),
            kind: Some(login.kind.clone()),
            cluster,
            login: Some(about),
        };
        return output::document(&mut std::io::stdout().lock(), format, &doc);
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "Context:        {} ({})",
        status.context,
        output::chosen_from(chosen)
    )?;
    writeln!(out, "Provider:       {} ({})", login.provider, login.kind)?;
    if let Some(cluster) = &cluster {
        writeln!(out, "Cluster:        {cluster}")?;
    }
    // Claims and scopes are the provider's text: printable, as JSON and YAML escape them.
    if let Some(identity) = &about.identity {
        writeln!(out, "Logged in as:   {}", printable(identity))?;
    }
    writeln!(
        out,
        "Scopes:         {}",
        printable(&about.scopes.join(" "))
    )?;
    writeln!(out, "Flow:           {}", about.flow)?;
    writeln!(
        out,
        "Token expires:  {}",
        match (&about.expires_at, login.expires_at) {
            (Some(at), Some(unix)) => format!("{at} ({})", relative(unix, now)),
            _ => "unknown".into(),
        }
    )?;
    writeln!(
        out,
        "Refresh token:  {}",
        match &about.refresh_token_store {
            Some(place) => format!("yes, in {place}"),
            None => "no".to_owned(),
        }
    )?;
    writeln!(out, "Access token:   in {}", about.store)?;
    let others = others(&about.shared_by, &status.context);
    if !others.is_empty() {
        writeln!(out, "Shared with:    {}", others.join(", "))?;
    }
    Ok(())
}

/// One context in `auth status --all`.
#[derive(Serialize)]
struct ContextLogin {
    context: String,
    logged_in: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    provider: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    identity: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_in_seconds: Option<i64>,
    refresh_token: bool,
    #[serde(skip)]
    cells: [String; 4],
}

/// `auth status --all`: every context's stored login, with no network, keyring or lock.
pub fn status_all(global: &GlobalArgs, format: Option<DocFormat>) -> Result<()> {
    let logins = logins(global)?;
    output::notices(logins.set());
    let now = unix_now();
    let rows: Vec<ContextLogin> = logins
        .set()
        .contexts()
        .into_iter()
        .map(|(_, context)| {
            let login = logins.peek(&context.name);
            let identity = login
                .as_ref()
                .and_then(|login| identity_of(login.id_token.as_ref(), &login.access_token));
            let expires_in = login
                .as_ref()
                .and_then(|login| login.expires_at)
                .map(|at| at.saturating_sub(now));
            let cells = [
                context.provider.clone().unwrap_or_default(),
                identity
                    .as_deref()
                    .map(|who| printable(who).into_owned())
                    .unwrap_or_else(|| {
                        if login.is_some() {
                            "(unnamed)".into()
                        } else {
                            "not logged in".into()
                        }
                    }),
                output::expires_cell(expires_in),
                match &login {
                    Some(login) if login.has_refresh_token() => "yes".into(),
                    Some(_) => "no".into(),
                    None => String::new(),
                },
            ];
            ContextLogin {
                context: context.name.clone(),
                logged_in: login.is_some(),
                provider: login.as_ref().map(|login| login.provider.clone()),
                identity,
                expires_at: login
                    .as_ref()
                    .and_then(|l| l.expires_at)
                    .map(output::rfc3339),
                expires_in_seconds: expires_in,
                refresh_token: login.as_ref().is_some_and(StoredLogin::has_refresh_token),
                cells,
            }
        })
        .collect();
    if let Some(format) = format {
        return output::document(&mut std::io::stdout().lock(), format, &rows);
    }
    output::list(
        output::ListFormat::Table,
        &rows,
        [
            "CONTEXT",
            "PROVIDER",
            "LOGGED IN AS",
            "EXPIRES",
            "REFRESH TOKEN",
        ],
        |row| {
            [
                row.context.as_str(),
                row.cells[0].as_str(),
                row.cells[1].as_str(),
                row.cells[2].as_str(),
                row.cells[3].as_str(),
            ]
        },
        |row| row.context.as_str(),
    )
}
