//! `tokenctl api`: an authenticated request to the current context's cluster, as `gh api` does
//! for GitHub: the server and CA come from the cluster, the bearer token from the login.

use std::io::{IsTerminal, Read, Write};

use anyhow::{Context, Result, anyhow, bail};
use tokenctl_core::SessionError;
use tokenctl_core::config::ConfigSet;
use tokenctl_core::http::HttpClient;

use crate::{GlobalArgs, tokens};
use tokenctl_core::logins::{Freshness, Handout};

/// Replies larger than this are refused (a big list of a big cluster still fits).
const MAX_API_REPLY: usize = 64 << 20;

#[derive(Debug, clap::Args)]
pub struct ApiArgs {
    /// Path on the cluster's server, with its query (`/api/v1/namespaces?limit=5`)
    #[arg(value_name = "PATH")]
    pub path: String,
    /// HTTP method (default: GET, or POST with --data)
    #[arg(short = 'X', long, value_name = "METHOD")]
    pub method: Option<String>,
    /// Request body; `@FILE` reads a file, `@-` stdin (sent as JSON unless -H says otherwise)
    #[arg(short = 'd', long, value_name = "BODY")]
    pub data: Option<String>,
    /// Extra header `Name: value` (repeatable)
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// Print the status line and the response headers before the body
    #[arg(short = 'i', long)]
    pub include: bool,
}

pub fn run(args: ApiArgs, global: &GlobalArgs) -> Result<()> {
    let set = ConfigSet::load_valid(&global.config_paths())?;
    let resolved = set.resolve(global.context.as_deref())?;
    let context = resolved.context.name.clone();
    let cluster = resolved
        .cluster
        .ok_or_else(|| anyhow!("context {context:?} has no cluster to send the request to"))?;
    let server = cluster
        .server
        .as_deref()
        .ok_or_else(|| anyhow!("cluster {:?} has no server", cluster.name))?;
    if !args.path.starts_with('/') {
        bail!("the path must start with `/` (got {:?})", args.path);
    }
    let url = url::Url::parse(&format!("{}{}", server.trim_end_matches('/'), args.path))
        .with_context(|| format!("{server}{} is not a URL", args.path))?;
    let mut headers = Vec::new();
    for header in &args.headers {
        let (name, value) = header
            .split_once(':')
            .ok_or_else(|| anyhow!("header {header:?} is not `Name: value`"))?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    let body = args.data.as_deref().map(read_body).transpose()?;
    let has = |headers: &[(String, String)], name: &str| {
        headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
    };
    if body.is_some() && !has(&headers, "content-type") {
        headers.push(("Content-Type".into(), "application/json".into()));
    }
    if !has(&headers, "accept") {
        headers.push(("Accept".into(), "application/json, */*".into()));
    }
    let method = args
        .method
        .clone()
        .unwrap_or_else(|| if body.is_some() { "POST" } else { "GET" }.into())
        .to_ascii_uppercase();

    let usable = tokens::usable_login(global, Freshness::CLI, Handout::Cluster)?;
    let http = HttpClient::trusting(
        &tokenctl_core::flows::cluster_trust(cluster),
        global.request_timeout,
    )?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let reply = runtime.block_on(http.request(
        &method,
        &url,
        &headers,
        body,
        Some(usable.token()),
        MAX_API_REPLY,
    ))?;

    let mut out = std::io::stdout().lock();
    if args.include {
        writeln!(out, "HTTP {}", reply.status)?;
        for (name, value) in &reply.headers {
            writeln!(out, "{name}: {value}")?;
        }
        writeln!(out)?;
    }
    if reply.status == 401 {
        return Err(SessionError::LoginRequired(format!(
            "authentication required: run `{}` (the server answered HTTP 401 to the token of context {context:?})",
            tokenctl_core::logins::run_in(&context, "auth login")
        ))
        .into());
    }
    let pretty = std::io::stdout().is_terminal() && reply.is_json();
    match serde_json::from_slice::<serde_json::Value>(&reply.body) {
        Ok(value) if pretty => writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?,
        _ => {
            out.write_all(&reply.body)?;
            if pretty && !reply.body.ends_with(b"\n") {
                writeln!(out)?;
            }
        }
    }
    out.flush()?;
    if !(200..300).contains(&reply.status) {
        bail!("{method} {} answered HTTP {}", args.path, reply.status);
    }
    Ok(())
}

/// `-d`: the text itself, `@FILE`, or `@-` for stdin.
fn read_body(data: &str) -> Result<Vec<u8>> {
    match data.strip_prefix('@') {
        Some("-") => {
            let mut body = Vec::new();
            std::io::stdin()
                .read_to_end(&mut body)
                .context("reading the body from stdin")?;
            Ok(body)
        }
        Some(path) => {
            std::fs::read(path).with_context(|| format!("cannot read the body file {path}"))
        }
        None => Ok(data.as_bytes().to_vec()),
    }
}
