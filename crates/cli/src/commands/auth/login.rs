//! `auth login`: parse, prompt and print around the sign-in use case, which owns every rule.
//! Secrets are read from stdin or a no-echo prompt, never from arguments.

use crate::GlobalArgs;
use crate::logins::{logins, logins_of};
use crate::output::say;
use crate::output::{self};
use crate::runtime::block_on;
use crate::terminal::{self, SystemBrowser, TerminalUi, read_stdin_secret};
use anyhow::{Result, anyhow, bail};
use std::io::Write;
use std::sync::Arc;
use tokenctl_core::internal::clock::{expiry_phrase, unix_now};
use tokenctl_core::internal::config::ConfigSet;
use tokenctl_core::internal::flows::Method;
use tokenctl_core::internal::logins::{
    SignIn, SignInOutcome, Trigger, identity_of, others, store::TRIED_KEYRINGS,
};
use tokenctl_core::internal::text::printable;
use tokenctl_core::program;
use tokenctl_core::{Flow, Secret};

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
    /// Device flow: copy the code to the clipboard (OSC 52, which works over SSH and in tmux)
    #[arg(long)]
    pub copy_code: bool,
    #[command(flatten)]
    pub sign_in: SignInParams,
}

/// What the provider's sign-in page is asked for, on top of `authorize-params`.
#[derive(Debug, Default, clap::Args)]
#[command(next_help_heading = "Sign-in parameters")]
pub struct SignInParams {
    /// Show the account picker, ask for the password again, ask for consent again, or show
    /// nothing
    #[arg(long, value_parser = ["select_account", "login", "consent", "none"])]
    pub prompt: Option<String>,
    /// The account to sign in as, filled in on the provider's page
    #[arg(long, value_name = "USER")]
    pub login_hint: Option<String>,
    /// Entra ID: the organization's domain, which skips the account picker
    #[arg(long, value_name = "DOMAIN")]
    pub domain_hint: Option<String>,
    /// The authentication context to step up to (MFA, say): space-separated ACR values
    #[arg(long, value_name = "ACR")]
    pub acr_values: Option<String>,
    /// Sign in again if the last sign-in at the provider is older than this (0, 15m)
    #[arg(long, value_name = "DURATION", value_parser = parse_max_age)]
    pub max_age: Option<u64>,
    /// Keycloak: the identity provider to sign in with (kc_idp_hint)
    #[arg(long, value_name = "ALIAS")]
    pub idp_hint: Option<String>,
    /// The resource the token is for (RFC 8707), on the token requests too
    #[arg(long, value_name = "URI")]
    pub resource: Option<String>,
    /// Any other authorization parameter (repeatable)
    #[arg(long = "auth-param", value_name = "NAME=VALUE", value_parser = parse_auth_param)]
    pub auth_params: Vec<(String, String)>,
    /// A claims challenge an API answered with, base64 as Entra ID sends it (az's flag)
    #[arg(long, value_name = "BASE64", value_parser = parse_claims_challenge)]
    pub claims_challenge: Option<String>,
}

impl SignInParams {
    /// The token's audience is part of the login's identity (its store key, and what a
    /// refresh asks for again), which comes from the contexts file: a flag cannot change it
    /// for a stored login.
    fn check_stored(&self, no_store: bool) -> Result<()> {
        if no_store {
            return Ok(());
        }
        if let Some((name, _)) = self
            .params()
            .into_iter()
            .find(|(name, _)| matches!(name.as_str(), "resource" | "audience"))
        {
            bail!(
                "`{name}` sets the token's audience, which a stored login takes from the contexts file: set `authorize-params: {{{name}: VALUE}}` on the context or its provider (`{}`), or add --no-store for one token of that audience",
                program::run(&format!(
                    "config set-provider NAME --authorize-params {name}=VALUE"
                ))
            );
        }
        Ok(())
    }

    /// The authorization parameters, in the order given; `--auth-param` last.
    fn params(&self) -> Vec<(String, String)> {
        let named = [
            ("prompt", self.prompt.clone()),
            ("login_hint", self.login_hint.clone()),
            ("domain_hint", self.domain_hint.clone()),
            ("acr_values", self.acr_values.clone()),
            ("max_age", self.max_age.map(|age| age.to_string())),
            ("kc_idp_hint", self.idp_hint.clone()),
            ("resource", self.resource.clone()),
        ];
        named
            .into_iter()
            .filter_map(|(name, value)| Some((name.to_owned(), value?)))
            .chain(self.auth_params.iter().cloned())
            .collect()
    }
}

fn parse_max_age(text: &str) -> Result<u64, String> {
    tokenctl_core::provider::parse_duration(text).map(|age| age.as_secs())
}

/// `NAME=VALUE`, where NAME is not one of the protocol's own parameters.
fn parse_auth_param(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not NAME=VALUE"))?;
    if name.is_empty() {
        return Err(format!("{text:?} has no name before `=`"));
    }
    tokenctl_core::provider::check_authorize_param(name)
        .map_err(|err| err.replace("cannot be set here", "cannot be set with --auth-param"))?;
    Ok((name.to_owned(), value.to_owned()))
}

/// A claims challenge as `az login --claims-challenge` takes it: base64 of a JSON object.
fn parse_claims_challenge(text: &str) -> Result<String, String> {
    use base64::Engine;
    let engines = [
        base64::engine::general_purpose::STANDARD,
        base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ];
    let decoded = engines
        .iter()
        .find_map(|engine| engine.decode(text.trim()).ok())
        .ok_or("not base64")?;
    let claims: serde_json::Value =
        serde_json::from_slice(&decoded).map_err(|_| "its base64 does not hold JSON")?;
    if !claims.is_object() {
        return Err("its JSON is not an object of claims".into());
    }
    Ok(claims.to_string())
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

/// `auth login`: signs in, after any sign-in another tokenctl is running for the same login.
pub(crate) fn run(args: LoginArgs, global: &GlobalArgs) -> Result<()> {
    sign_in(args, global, Trigger::Asked)
}

/// The sign-in an API's challenge asks for (RFC 9470's `acr_values` and `max_age`, Entra ID's
/// claims), started by `tokenctl api` for a person at a terminal.
pub(crate) fn step_up(
    global: &GlobalArgs,
    step: &tokenctl_core::internal::challenge::StepUp,
) -> Result<()> {
    let mut args = LoginArgs::from_environment()?;
    args.sign_in.acr_values.clone_from(&step.acr_values);
    args.sign_in.max_age = step.max_age;
    args.sign_in.claims_challenge = step
        .claims
        .as_deref()
        .map(parse_claims_challenge)
        .transpose()
        .map_err(|err| anyhow!("the API's claims challenge is {err}"))?;
    sign_in(args, global, Trigger::Asked)
}

/// The sign-in a command starts when it finds no usable login (kubectl's exec credential):
/// one per login across processes, and none nobody attends (`attended: false`, no terminal)
/// right after one failed.
pub(crate) fn login_when_missing(global: &GlobalArgs, attended: bool) -> Result<()> {
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
    let first = tokenctl_core::internal::config::setup::FirstRun::needed(
        &set,
        global.context.as_deref(),
        args.provider.as_deref(),
    );
    // Without a person to ask, core's error names the commands to run.
    let mut created = None;
    let logins = match first.filter(|_| terminal::person_at_terminal()) {
        Some(first) => {
            let new = super::guided::run(first, &paths)?;
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
        output::warn(warning);
    }
    let client_secret = if args.client_secret_stdin {
        Some(read_stdin_secret("client secret")?)
    } else {
        None
    };
    args.sign_in.check_stored(args.no_store)?;
    let method = method_for(flow, &args)?;
    let browser = SystemBrowser {
        open: !args.no_browser,
        command: SystemBrowser::command(
            logins.sign_in_browser(global.context.as_deref(), args.provider.as_deref())?,
        )?,
    };
    let terminal = TerminalUi::new(args.no_qr, args.copy_code).offering(&browser);
    // Nobody at a terminal (a GUI runs kubectl): the device flow's page opens in the browser.
    let unattended = terminal::OpeningDevicePage {
        ui: &terminal,
        opener: &browser,
    };
    let ui: &dyn tokenctl_core::internal::flows::LoginUi = match trigger {
        Trigger::Missing { attended: false } => &unattended,
        _ => &terminal,
    };
    let how = SignIn {
        trigger,
        flow,
        method,
        scopes: &tokenctl_core::internal::flows::split_scopes(&args.scopes),
        client_secret,
        claims: args.sign_in.claims_challenge.clone(),
        params: args.sign_in.params(),
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
    let outcome = settle_setup(outcome, created.as_ref(), &paths)?;
    say(outcome, args.sign_in.acr_values.is_some())
}

/// A guided setup's context becomes current once its login succeeded; a failed login says how
/// to correct the answers.
fn settle_setup(
    outcome: Result<SignInOutcome, tokenctl_core::SessionError>,
    created: Option<&tokenctl_core::internal::config::setup::Created>,
    paths: &[std::path::PathBuf],
) -> Result<SignInOutcome> {
    Ok(match (outcome, created) {
        (Ok(outcome), Some(created)) => {
            created.make_current(paths)?;
            say!("Context {:?} is now the current context.", created.context);
            outcome
        }
        (Ok(outcome), None) => outcome,
        (Err(err), Some(created)) => {
            return Err(anyhow::Error::new(err).context(format!(
                "provider {provider:?} and context {context:?} are saved, but the current context is as it was; correct an answer with `{program} config set-provider {provider} --FIELD VALUE` (the fields: `{program} config set-provider --help`), then run `{login}`",
                provider = created.provider,
                context = created.context,
                program = program::name(),
                login = program::run_in(&created.context, "auth login"),
            )));
        }
        (Err(err), None) => return Err(err.into()),
    })
}

/// What a sign-in did, said: the login line, and what the person should know about it
/// (`asked_acr`: the authentication context the provider says it gave).
fn say(outcome: SignInOutcome, asked_acr: bool) -> Result<()> {
    let signed = match outcome {
        SignInOutcome::NotStored(tokens) => {
            let who = identity_of(tokens.id_token.as_ref(), &tokens.access_token);
            writeln!(std::io::stdout().lock(), "{}", tokens.access_token.expose())?;
            say!("Logged in{}; nothing was stored.", as_whom(who.as_deref()));
            return Ok(());
        }
        SignInOutcome::Existing(login) => {
            say!(
                "Another tokenctl signed in to {} meanwhile; using that login.",
                login.provider
            );
            return Ok(());
        }
        SignInOutcome::Stored(signed) => signed,
    };
    let login = &signed.login;
    if signed.first_file_fallback {
        say!(
            "warning: no OS keyring answered (tried {TRIED_KEYRINGS}): refresh tokens are stored in files like {} (mode 0600). This is said once; `auth status` names the store. `{}` accepts it.",
            signed.path.display(),
            program::run("config set credential-store file")
        );
    }
    if let Some(warning) = &signed.warning {
        output::warn(warning);
    }
    if let Some(before) = &signed.replaced {
        let others = others(&signed.used_by, &signed.context);
        let users = if others.is_empty() {
            String::new()
        } else {
            format!(", which contexts {} also use", others.join(", "))
        };
        say!("This replaces the login of {before}{users}.");
    }
    if !signed.context.is_empty() && !signed.used_by.contains(&signed.context) {
        say!(
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
        say!(
            "warning: {} returned no refresh token: this login ends when its access token expires. Allow offline access for this client or API at the provider (Auth0: the API's \"Allow Offline Access\"; Google: authorize-params access_type: offline)",
            login.provider
        );
    }
    let missing = login.scopes_not_granted();
    if !missing.is_empty() {
        say!(
            "warning: {} granted fewer scopes than asked; not granted: {}",
            login.provider,
            printable(&missing.join(" "))
        );
    }
    let who = identity_of(login.id_token.as_ref(), &login.access_token);
    say!(
        "Logged in to {}{}; the access token {}.",
        login.provider,
        as_whom(who.as_deref()),
        expiry_phrase(login.expires_at, unix_now())
    );
    if asked_acr {
        say_acr(login);
    }
    Ok(())
}

/// The authentication context the provider says the sign-in reached (its ID token's `acr`),
/// after `--acr-values` asked for one.
fn say_acr(login: &tokenctl_core::internal::logins::StoredLogin) {
    let acr = login
        .id_token
        .as_ref()
        .and_then(|token| tokenctl_core::jwt::decode(token.expose()).ok())
        .and_then(|decoded| Some(printable(decoded.claims.get("acr")?.as_str()?).to_string()));
    match acr {
        Some(acr) => say!("Authentication context (acr): {acr}"),
        None => say!("note: the provider names no authentication context (acr) for this sign-in"),
    }
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
            say!(
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
        other => bail!("the {other} flow is not available in this version of tokenctl-cli"),
    })
}

fn as_whom(identity: Option<&str>) -> String {
    identity
        .map(|who| format!(" as {}", printable(who)))
        .unwrap_or_default()
}
