//! The `auth` group: its commands, one file each; another CLI mounts it as `mycli auth …`.

pub(crate) mod contexts;
pub(crate) mod env;
pub mod exec_credential;
pub(crate) mod git_credential;
mod guided;
pub(crate) mod login;
pub(crate) mod logout;
pub(crate) mod refresh;
pub(crate) mod status;
pub(crate) mod token;

use crate::GlobalArgs;
use anyhow::Result;
use clap::Subcommand;
use login::LoginArgs;

#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Log in to the context's provider (or --provider) and store the login
    Login(Box<LoginArgs>),
    /// Print the access token of the context in use (for curl, scripts, SDKs)
    Token(token::TokenArgs),
    /// Refresh the access token now, whatever its expiry
    Refresh(refresh::RefreshArgs),
    /// kubectl's exec credential plugin: print an ExecCredential (v1 or v1beta1, as
    /// KUBERNETES_EXEC_INFO asks) with a fresh token
    ExecCredential(exec_credential::ExecCredentialArgs),
    /// Revoke the refresh token at the provider where it can, then remove the login here
    Logout(logout::LogoutArgs),
    /// Show the session: context, provider, identity, scopes, expiry, store (never the token)
    Status(status::StatusArgs),
    /// Print shell exports of a fresh token and its expiry, for `eval "$(tokenctl auth env)"`
    Env(env::EnvArgs),
    /// git's credential helper: the token of the context whose git-hosts names the host
    /// (git config credential.https://HOST.helper '!tokenctl auth git-credential')
    GitCredential(git_credential::GitCredentialArgs),
    /// Make NAME the current context (stored as current-context in the contexts file)
    UseContext(contexts::UseContextArgs),
    /// Print the context in use (--context, TOKENCTL_CONTEXT and an allowed .tokenctl take
    /// precedence over current-context; -v says which chose it)
    CurrentContext(contexts::CurrentContextArgs),
    /// List the contexts; the one in use is marked with `*`
    GetContexts(contexts::GetContextsArgs),
}

/// Runs an `auth` subcommand with the host's global flags: each command's `run(args, global)`.
pub(crate) fn run(command: AuthCommand, global: &GlobalArgs) -> Result<()> {
    match command {
        AuthCommand::Login(args) => login::run(*args, global),
        AuthCommand::Token(args) => token::run(args, global),
        AuthCommand::Status(args) => status::run(args, global),
        AuthCommand::Refresh(args) => refresh::run(args, global),
        AuthCommand::Env(args) => env::run(args, global),
        AuthCommand::GitCredential(args) => git_credential::run(args, global),
        AuthCommand::ExecCredential(args) => exec_credential::run(args, global),
        AuthCommand::Logout(args) => logout::run(args, global),
        AuthCommand::UseContext(args) => contexts::use_context(args, global),
        AuthCommand::CurrentContext(args) => contexts::current_context(args, global),
        AuthCommand::GetContexts(args) => contexts::get_contexts(args, global),
    }
}
