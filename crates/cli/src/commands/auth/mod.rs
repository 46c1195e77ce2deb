//! The `auth` group: its commands, one file each; another CLI mounts it as `mycli auth …`.

pub mod contexts;
pub mod env;
pub mod exec_credential;
pub mod git_credential;
mod guided;
pub mod login;
pub mod logout;
pub mod refresh;
pub mod status;
pub mod token;

use crate::GlobalArgs;
use crate::complete;
use crate::output::{DocFormat, ListFormat};
use anyhow::Result;
use clap::Subcommand;
use clap_complete::engine::ArgValueCandidates;
use login::LoginArgs;

#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Log in to the context's provider (or --provider) and store the login
    Login(LoginArgs),
    /// Print the access token of the context in use (for curl, scripts, SDKs)
    Token {
        /// Renew the token when less than this remains, and fail when even a new one does not
        /// last this long (30s, 5m, 1h). Without it: renewed when less than 5 minutes, or half
        /// the lifetime of shorter-lived tokens, remain
        #[arg(long, value_name = "DURATION", value_parser = tokenctl_core::provider::parse_duration)]
        min_valid: Option<std::time::Duration>,
        /// Print the token's header and claims as JSON instead of the token
        #[arg(long)]
        decode: bool,
        /// The ID token instead of the access token
        #[arg(long)]
        id_token: bool,
    },
    /// Refresh the access token now, whatever its expiry
    Refresh,
    /// kubectl's exec credential plugin: print an ExecCredential (v1 or v1beta1, as
    /// KUBERNETES_EXEC_INFO asks) with a fresh token
    ExecCredential {
        /// Serve the context TOKENCTL_CONTEXT, .tokenctl or current-context names, when its
        /// cluster is the one kubectl calls (same server and CA); else the --context one, with
        /// a note (`kubeconfig setup --follow` writes this)
        #[arg(long)]
        follow: bool,
    },
    /// Revoke the refresh token at the provider where it can, then remove the login here
    Logout {
        /// Every stored login, not only the context's
        #[arg(long)]
        all: bool,
    },
    /// Show the session: context, provider, identity, scopes, expiry, store (never the token)
    Status {
        /// Output format (default: text for people)
        #[arg(short, long, value_enum)]
        output: Option<DocFormat>,
        /// Every context's login, from the store (no network)
        #[arg(long)]
        all: bool,
    },
    /// Print shell exports of a fresh token and its expiry, for `eval "$(tokenctl auth env)"`
    Env(env::EnvArgs),
    /// git's credential helper: the token of the context whose git-hosts names the host
    /// (git config credential.https://HOST.helper '!tokenctl auth git-credential')
    GitCredential {
        /// What git asks (it sends the request on stdin)
        #[arg(value_enum)]
        operation: git_credential::GitOperation,
    },
    /// Make NAME the current context (stored as current-context in the contexts file)
    UseContext {
        /// Context name
        #[arg(add = ArgValueCandidates::new(complete::contexts))]
        name: String,
        /// Use NAME in this directory and below only: write and allow ./.tokenctl, leaving
        /// current-context as it is
        #[arg(long)]
        here: bool,
    },
    /// Print the context in use (--context, TOKENCTL_CONTEXT and an allowed .tokenctl take
    /// precedence over current-context; -v says which chose it)
    CurrentContext,
    /// List the contexts; the one in use is marked with `*`
    GetContexts {
        /// Output format
        #[arg(short, long, value_enum, default_value_t = ListFormat::Table)]
        output: ListFormat,
    },
}

/// Runs an `auth` subcommand with the host's global flags.
pub fn run(command: AuthCommand, global: &GlobalArgs) -> Result<()> {
    let paths = global.config_paths();
    match command {
        AuthCommand::Login(args) => login::login(args, global),
        AuthCommand::Token {
            min_valid,
            decode,
            id_token,
        } => token::token(global, min_valid, decode, id_token),
        AuthCommand::Status { output, all: false } => status::status(global, output),
        AuthCommand::Status { output, all: true } => status::status_all(global, output),
        AuthCommand::Refresh => refresh::refresh(global),
        AuthCommand::Env(args) => env::env(global, args),
        AuthCommand::GitCredential { operation } => {
            git_credential::git_credential(global, operation)
        }
        AuthCommand::ExecCredential { follow } => exec_credential::exec_credential(global, follow),
        AuthCommand::Logout { all } => logout::logout(global, all),
        AuthCommand::UseContext { name, here } => contexts::use_context(&paths, &name, here),
        AuthCommand::CurrentContext => contexts::current_context(&paths, global),
        AuthCommand::GetContexts { output } => contexts::get_contexts(&paths, global, output),
    }
}
