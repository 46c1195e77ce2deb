//! tokenctl-cli: the `tokenctl` command tree, a thin adaptor over `tokenctl-core`.
//!
//! The one clap definition here produces the parser, `--help`, the shell completions and the
//! man pages. The `auth` group is public so another CLI can mount it as `mycli auth …`.
#![allow(
    rustdoc::bare_urls,
    reason = "the command tree's doc comments are its --help text, where a URL is text"
)]

mod commands;
pub mod complete;
pub mod examples;
pub mod fast_path;
pub mod generate;
mod logins;
mod output;
mod runtime;
mod terminal;

/// What the `tokenctl` binary and the fuzz targets reach beyond the command tree.
pub use commands::auth::exec_credential;
pub use commands::docker_credential;

use crate::output::say;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand};
use clap_complete::engine::ArgValueCandidates;

pub use commands::auth::AuthCommand;
pub use commands::config::ConfigCommand;

// Every built-in dialect registers itself at link time; this keeps them linked (the
// `builtin-providers` feature, on by default).
#[cfg(feature = "builtin-providers")]
use tokenctl_providers as _;

/// Get, store, refresh and hand out OAuth 2.0 / OpenID Connect tokens.
#[derive(Debug, Parser)]
#[command(
    name = "tokenctl",
    version,
    propagate_version = true,
    max_term_width = 100,
    after_help = "Contexts file: $XDG_CONFIG_HOME/tokenctl/config.yaml unless --config or TOKENCTL_CONFIG say otherwise."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    /// None: `tokenctl` alone, which prints the help.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Flags every command takes.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Context to use for this command, without changing current-context
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        env = tokenctl_core::internal::config::CONTEXT_ENV,
        hide_env_values = true,
        value_name = "NAME",
        add = ArgValueCandidates::new(complete::contexts)
    )]
    pub context: Option<String>,

    /// Contexts file to use instead of TOKENCTL_CONFIG or the default
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "PATH",
        value_hint = clap::ValueHint::FilePath
    )]
    pub config: Option<PathBuf>,

    /// How long a request to an identity provider or cluster may take (30s, 2m)
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "DURATION",
        default_value = "30s",
        value_parser = tokenctl_core::provider::parse_duration
    )]
    pub request_timeout: std::time::Duration,

    /// Hand out the stored access token as it is, never refreshing it
    #[arg(long, global = true, help_heading = "Global options")]
    pub no_auto_refresh: bool,

    /// More log output on stderr: -v info, -vv debug, -vvv trace (RUST_LOG overrides)
    #[arg(short, long, global = true, help_heading = "Global options", action = clap::ArgAction::Count)]
    pub verbose: u8,
}

impl GlobalArgs {
    /// The flags as given none (a credential helper run by another program): clap's
    /// defaults, so that they are written once.
    pub fn defaults() -> GlobalArgs {
        parse(vec![OsString::from("tokenctl")]).global
    }

    /// The contexts files these flags select.
    pub fn config_paths(&self) -> Vec<PathBuf> {
        tokenctl_core::internal::config::config_paths(self.config.as_deref())
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Log in, pick contexts, and hand out tokens
    #[command(subcommand)]
    Auth(AuthCommand),
    /// View and edit the contexts file
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Send an authenticated request to the context's cluster and print the reply
    Api(commands::api::ApiArgs),
    /// Write kubectl settings that use tokenctl
    #[command(subcommand)]
    Kubeconfig(commands::kubeconfig::KubeconfigCommand),
    /// Plugins: `tokenctl NAME` runs `tokenctl-NAME` from PATH
    #[command(subcommand)]
    Plugin(commands::plugin::PluginCommand),
    /// A loopback HTTP proxy to the context's cluster that adds a fresh token to every request
    /// (for tools that cannot do OAuth), defended as kubectl proxy is
    Proxy(commands::proxy::ProxyArgs),
    /// Run a command with a fresh token in its environment (TOKENCTL_TOKEN, and
    /// TOKENCTL_TOKEN_FILE kept fresh while it runs); exits with its status
    Exec(commands::exec::ExecArgs),
    /// Print the shell completion script (source it from your shell's startup file)
    Completion(commands::completion::CompletionArgs),
    /// Print tokenctl's version, commit, target and linking
    Version(commands::version::VersionArgs),
    /// A plugin: `tokenctl-NAME` on PATH
    #[command(external_subcommand)]
    External(Vec<OsString>),
}

/// The whole command tree, for completion, man pages and tests, with each command's examples.
pub fn command() -> clap::Command {
    examples::with_examples(Cli::command(), "")
}

/// The tree TAB completion walks: the whole tree, plugins on PATH as commands, and
/// `config set-provider NAME` with the fields of NAME's kind only.
pub fn completion_command() -> clap::Command {
    let args: Vec<String> = std::env::args().collect();
    commands::config::set_provider::complete_for_line(&args, &complete::completion_paths());
    commands::plugin::runnable()
        .into_iter()
        .fold(command(), |tree, name| {
            // clap takes static names; a completion process answers once and exits.
            let about: &'static str = format!("plugin (tokenctl-{name} on PATH)").leak();
            let name: &'static str = name.leak();
            tree.subcommand(clap::Command::new(name).about(about))
        })
}

/// Parses a command line with the whole tree (help with examples); exits on a usage error or
/// `--help`, as clap does.
pub fn parse(args: Vec<OsString>) -> Cli {
    use clap::FromArgMatches;
    name_program(args.first().map(OsString::as_os_str));
    let matches = command()
        .bin_name(tokenctl_core::program::name())
        .get_matches_from(args);
    Cli::from_arg_matches(&matches).unwrap_or_else(|err| err.exit())
}

/// Runs a parsed command line and returns the exit status: 0 ok, 1 error, 2 usage (clap), 4
/// login required, or a plugin's own.
pub fn run(cli: Cli) -> u8 {
    init_logging(cli.global.verbose);
    let Some(command) = cli.command else {
        // `tokenctl` alone: the help, on stdout, as a request for it.
        return status(command_help());
    };
    let result = match command {
        Command::Auth(command) => commands::auth::run(command, &cli.global),
        Command::Config(command) => commands::config::run(command, &cli.global),
        Command::Completion(args) => commands::completion::run(&args),
        Command::Version(args) => commands::version::run(&args),
        Command::Api(args) => commands::api::run(args, &cli.global),
        Command::Proxy(args) => commands::proxy::run(args, &cli.global),
        Command::Exec(args) => match commands::exec::run(args, &cli.global) {
            Ok(code) => return code,
            Err(err) => Err(err),
        },
        Command::Kubeconfig(command) => commands::kubeconfig::run(command, &cli.global),
        Command::Plugin(command) => commands::plugin::run(command),
        Command::External(args) => match commands::plugin::run_external(args, &cli.global) {
            Ok(code) => return code,
            Err(err) => Err(err),
        },
    };
    status(result)
}

/// Names the program in every hint after the name it was started by (`arg0`): a host CLI by
/// its own name, `kubectl tokenctl` as a kubectl plugin (`kubectl-tokenctl`); the credential
/// helpers send people to `tokenctl`. A name set before (`program::set_name`) stays.
pub fn name_program(arg0: Option<&std::ffi::OsStr>) {
    use tokenctl_core::program;
    // The whole file name (`tokenctl-1.2.0-linux` keeps its dots), without Windows' `.exe`.
    let Some(stem) = arg0
        .and_then(|arg0| std::path::Path::new(arg0).file_name())
        .and_then(|name| name.to_str())
        .map(|name| {
            if cfg!(windows) {
                name.strip_suffix(".exe").unwrap_or(name)
            } else {
                name
            }
        })
        .filter(|stem| !stem.is_empty())
    else {
        return;
    };
    let name = if stem == commands::docker_credential::DOCKER_HELPER
        || stem.starts_with("git-credential-")
    {
        program::DEFAULT_NAME.to_owned()
    } else if let Some(plugin) = stem.strip_prefix("kubectl-") {
        // kubectl's rule: `kubectl-foo_bar` is run as `kubectl foo-bar`.
        format!("kubectl {}", plugin.replace('_', "-"))
    } else {
        stem.to_owned()
    };
    program::set_name(name);
}

/// Runs a mounted `auth` group (`mycli auth ...`) with the host's global flags: logging, the
/// command, its error on stderr, and tokenctl's exit codes.
pub fn run_auth(command: AuthCommand, global: &GlobalArgs) -> ExitCode {
    name_program(std::env::args_os().next().as_deref());
    init_logging(global.verbose);
    ExitCode::from(status(commands::auth::run(command, global)))
}

/// Runs a mounted `config` group (`mycli config ...`), as [`run_auth`] does the `auth` group.
pub fn run_config(command: ConfigCommand, global: &GlobalArgs) -> ExitCode {
    name_program(std::env::args_os().next().as_deref());
    init_logging(global.verbose);
    ExitCode::from(status(commands::config::run(command, global)))
}

/// The long help of the whole tree, on stdout.
fn command_help() -> anyhow::Result<()> {
    let help = command().render_long_help().to_string();
    std::io::Write::write_all(&mut std::io::stdout().lock(), help.as_bytes())?;
    Ok(())
}

/// `tokenctl version`.
/// A sign-in ended with Ctrl-C (exit status 130, as a shell reports SIGINT).
#[derive(Debug, thiserror::Error)]
#[error("login interrupted; nothing was stored")]
pub struct Interrupted;

/// Prints an error and picks the exit status: 1, 4 when a person must log in, 130 after
/// Ctrl-C, and 0 when whoever reads stdout stopped reading (`| head`): nothing is wrong.
fn status(result: anyhow::Result<()>) -> u8 {
    match result {
        Ok(()) => 0,
        Err(err) if output::is_broken_pipe(&err) => 0,
        Err(err) if err.is::<Interrupted>() => {
            say!("{err}");
            130
        }
        Err(err) => {
            output::error(&err);
            if is_login_required(&err) { 4 } else { 1 }
        }
    }
}

/// Whether an error means a person must log in (exit code 4), a first run with no context
/// yet included.
pub fn is_login_required(err: &anyhow::Error) -> bool {
    use tokenctl_core::internal::config::ConfigError;
    err.downcast_ref::<tokenctl_core::SessionError>()
        .is_some_and(tokenctl_core::SessionError::is_login_required)
        || err.chain().any(|cause| {
            matches!(
                cause.downcast_ref::<ConfigError>(),
                Some(ConfigError::NoContexts)
            ) || matches!(
                cause.downcast_ref::<tokenctl_core::SessionError>(),
                Some(tokenctl_core::SessionError::Config(ConfigError::NoContexts))
            )
        })
}

/// Logs go to stderr, coloured only at a terminal; `-v` raises the level, `RUST_LOG` replaces
/// it.
fn init_logging(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Without -v a warning is a line for a person, not for a developer.
        .with_target(verbose > 0)
        .with_ansi(
            std::env::var_os("NO_COLOR").is_none()
                && std::io::IsTerminal::is_terminal(&std::io::stderr()),
        )
        .without_time()
        .try_init();
}

#[cfg(test)]
mod tests {
    /// clap's own checks of the tree (a duplicate flag, a conflict naming no argument, a
    /// default outside its possible values), which clap otherwise runs only when a command is
    /// parsed.
    #[test]
    fn the_command_tree_passes_claps_checks() {
        super::command().debug_assert();
        super::completion_command().debug_assert();
    }
}
