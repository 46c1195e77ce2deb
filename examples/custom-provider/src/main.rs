//! `mycli`: a platform's own CLI with tokenctl's `auth` and `config` groups, in which the Okta
//! dialect of this crate is a provider kind like the built-in ones (`config set-provider
//! --kind okta`, `auth login --provider okta`, and TAB completion of both).

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use tokenctl_cli::{AuthCommand, ConfigCommand, GlobalArgs};

// Links this crate's registration (a crate the binary never names would be dropped).
use custom_provider as _;

/// My platform's CLI.
#[derive(Parser)]
#[command(name = "mycli")]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Log in, pick contexts, and hand out tokens (tokenctl's auth group)
    #[command(subcommand)]
    Auth(AuthCommand),
    /// View and edit the contexts file (tokenctl's config group)
    #[command(subcommand)]
    Config(ConfigCommand),
}

fn main() -> ExitCode {
    // TAB completion (COMPLETE=bash mycli …) answers here and exits.
    clap_complete::CompleteEnv::with_factory(Cli::command).complete();
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|err| err.exit());
    match cli.command {
        Command::Auth(command) => tokenctl_cli::run_auth(command, &cli.global),
        Command::Config(command) => tokenctl_cli::run_config(command, &cli.global),
    }
}
