//! A program that calls an API with the login `tokenctl auth login` stored, through the
//! library: `Session::load`, then `session.authorize(request)`. Every task loads its own
//! `Session`; they share one access token, and one refresh when it is about to expire.
//!
//! ```text
//! cargo run --example session -- [--context NAME] [--tasks N] [URL]
//! ```
//!
//! With a URL each task GETs it with the bearer token and prints the status; without one each
//! prints which token it got (its `jti`) and when that token expires.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "an example program talks on its own terminal"
)]

use std::process::ExitCode;

use tokenctl_core::{Session, SessionError, jwt};
// Links the provider dialects (Keycloak, Entra ID, Auth0, Run:ai, OIDC) into this program.
use tokenctl_providers as _;

struct Options {
    context: Option<String>,
    tasks: usize,
    url: Option<String>,
}

fn options() -> Result<Options, String> {
    let mut options = Options {
        context: None,
        tasks: 1,
        url: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--context" => options.context = args.next(),
            "--tasks" => {
                let value = args.next().unwrap_or_default();
                options.tasks = value
                    .parse()
                    .map_err(|_| format!("--tasks takes a number, not {value:?}"))?;
            }
            _ if arg.starts_with('-') => return Err(format!("unknown option {arg}")),
            _ => options.url = Some(arg),
        }
    }
    Ok(options)
}

/// What one task does with its own session.
async fn task(
    context: Option<String>,
    url: Option<String>,
    http: reqwest::Client,
    number: usize,
) -> Result<String, SessionError> {
    let session = Session::load(context.as_deref())?;
    match url {
        Some(url) => {
            let request = session.authorize(http.get(&url)).await?;
            let status = match request.send().await {
                Ok(reply) => format!("HTTP {}", reply.status().as_u16()),
                Err(err) => format!("failed: {err}"),
            };
            Ok(format!("task {number}: {status}"))
        }
        None => {
            let token = session.access_token().await?;
            let claims = jwt::decode(token.expose())
                .map(|decoded| decoded.claims)
                .unwrap_or_default();
            Ok(format!(
                "task {number}: token {} expires {}",
                claims.get("jti").and_then(|v| v.as_str()).unwrap_or("?"),
                claims.get("exp").and_then(|v| v.as_i64()).unwrap_or(0)
            ))
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let options = match options() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("session: {message}");
            return ExitCode::from(2);
        }
    };
    let http = reqwest::Client::new();
    let mut tasks = tokio::task::JoinSet::new();
    for number in 0..options.tasks {
        let run = task(
            options.context.clone(),
            options.url.clone(),
            http.clone(),
            number,
        );
        tasks.spawn(async move { (number, run.await) });
    }
    let mut results = tasks.join_all().await;
    results.sort_by_key(|(number, _)| *number);
    let mut code = ExitCode::SUCCESS;
    for (_, result) in results {
        match result {
            Ok(line) => println!("{line}"),
            Err(err) => {
                eprintln!("session: {err}");
                // As the CLI: 4 when a person must log in.
                code = ExitCode::from(if err.is_login_required() { 4 } else { 1 });
            }
        }
    }
    code
}
