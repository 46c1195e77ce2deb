//! A host CLI built on tokenctl: it mounts tokenctl's `auth` command group as `mycli auth ...`
//! (login, token, status, contexts: the same flags, help and exit codes) and makes its own
//! authenticated calls with `tokenctl_core::Session`.
//!
//! ```text
//! cargo run --example mycli -- auth login
//! cargo run --example mycli -- whoami        # GET {cluster server}/whoami with the token
//! ```

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "an example program talks on its own terminal"
)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tokenctl_cli::{AuthCommand, GlobalArgs};
use tokenctl_core::Session;

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
    /// Ask the cluster who you are
    Whoami,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Auth(command) => tokenctl_cli::run_auth(command, &cli.global),
        Command::Whoami => match whoami(&cli.global) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("mycli: {err}");
                let login_required = err
                    .downcast_ref::<tokenctl_core::SessionError>()
                    .is_some_and(tokenctl_core::SessionError::is_login_required);
                ExitCode::from(if login_required { 4 } else { 1 })
            }
        },
    }
}

#[tokio::main(flavor = "current_thread")]
async fn whoami(global: &GlobalArgs) -> Result<(), Box<dyn std::error::Error>> {
    let session = Session::load_from(
        &global.config_paths(),
        global.context.as_deref(),
        global.request_timeout,
    )?;
    let server = session
        .cluster()
        .and_then(|cluster| cluster.server.clone())
        .ok_or("the context has no cluster server")?;
    let http = session.cluster_client()?;
    let request = session
        .authorize(http.get(format!("{server}/whoami")))
        .await?;
    let reply = request.send().await?;
    let status = reply.status();
    println!("{}", reply.text().await?);
    if !status.is_success() {
        return Err(format!("the cluster answered {status}").into());
    }
    Ok(())
}
