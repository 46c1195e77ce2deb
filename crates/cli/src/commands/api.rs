//! `tokenctl api`: an authenticated request to the current context's cluster, as `gh api` does
//! for GitHub: the server and CA come from the cluster, the bearer token from the login.

use std::io::{IsTerminal, Read, Write};
use tokenctl_core::program;

use anyhow::{Context, Result, anyhow, bail};
use tokenctl_core::SessionError;
use tokenctl_core::internal::config::ConfigSet;
use tokenctl_core::internal::http::HttpClient;

use crate::GlobalArgs;
use crate::output::say;
use tokenctl_core::internal::challenge::{self, StepUp};
use tokenctl_core::internal::config::TokenKind;
use tokenctl_core::internal::logins::{Freshness, Handout, Usable};

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

pub(crate) fn run(args: ApiArgs, global: &GlobalArgs) -> Result<()> {
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

    let mut usable = crate::logins::usable_login(global, Freshness::CLI, Handout::Cluster)?;
    let http = HttpClient::trusting(
        &tokenctl_core::internal::flows::cluster_trust(cluster),
        global.request_timeout,
    )?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // The body is held in memory, so a request can be sent again after a step-up.
    let send = |usable: &Usable| {
        runtime.block_on(http.request(
            &method,
            &url,
            &headers,
            body.clone(),
            Some(usable.token()),
            MAX_API_REPLY,
        ))
    };
    let mut reply = send(&usable)?;
    if let Some(step) = step_up_of(&reply) {
        // RFC 9470: at a terminal, sign in again as asked and send once more.
        if !crate::terminal::person_at_terminal() {
            return Err(stepped_up(&step, &context, "run"));
        }
        say!("{}; signing in again.", asks_for(&step));
        crate::commands::auth::login::step_up(global, &step)?;
        usable = crate::logins::usable_login(global, Freshness::CLI, Handout::Cluster)?;
        reply = send(&usable)?;
        if let Some(step) = step_up_of(&reply) {
            return Err(anyhow!(
                "the new sign-in did not satisfy the API: {}",
                stepped_up(&step, &context, "the provider may not offer it; try")
            ));
        }
    }

    let mut out = std::io::stdout().lock();
    if args.include {
        writeln!(out, "HTTP {}", reply.status)?;
        for (name, value) in &reply.headers {
            writeln!(out, "{name}: {value}")?;
        }
        writeln!(out)?;
    }
    if reply.status == 401 {
        let published = runtime
            .block_on(tokenctl_core::internal::flows::discover_cluster(
                &http, cluster,
            ))
            .ok();
        return Err(refused(&usable, &context, published.as_ref()));
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

/// The stronger sign-in a 401 asks for in its `WWW-Authenticate` (RFC 9470, Entra ID's claims
/// challenge), if it asks for one.
fn step_up_of(reply: &tokenctl_core::internal::http::Reply) -> Option<StepUp> {
    if reply.status != 401 {
        return None;
    }
    challenge::step_up(
        reply
            .headers
            .iter()
            .filter(|(name, _)| name.eq_ignore_ascii_case("www-authenticate"))
            .map(|(_, value)| value.as_str()),
    )
}

/// What the API asks for, in its words (made printable).
fn asks_for(step: &StepUp) -> String {
    let what = if step.error == "insufficient_claims" {
        "more claims (a Conditional Access claims challenge)"
    } else {
        "a stronger sign-in (RFC 9470)"
    };
    let said = step
        .description
        .as_deref()
        .map(|text| format!(": {text:?}"))
        .unwrap_or_default();
    format!("the API answered HTTP 401 asking for {what}{said}")
}

/// The step-up as an error that names the sign-in to run: `verb` leads the command.
pub(crate) fn stepped_up(step: &StepUp, context: &str, verb: &str) -> anyhow::Error {
    let flags: Vec<String> = step
        .login_flags()
        .into_iter()
        .map(|(flag, value)| {
            let quoted = shlex::try_quote(&value).map_or_else(|_| "''".into(), |q| q.into_owned());
            // `=`: a value that starts with `-` stays the flag's value.
            format!("{flag}={quoted}")
        })
        .collect();
    let login = program::run_in(context, &format!("auth login {}", flags.join(" ")));
    anyhow!("{}; {verb} `{}`", asks_for(step), login.trim_end())
}

/// The cluster refused the token (HTTP 401). A token that is still valid was refused for
/// whom it is from or for, which another sign-in would not change: what it says (decoded, never
/// its signature) is shown beside what the cluster publishes, with the fixes.
fn refused(
    usable: &Usable,
    context: &str,
    published: Option<&tokenctl_core::internal::config::ProviderEntry>,
) -> anyhow::Error {
    let now = tokenctl_core::internal::clock::unix_now();
    if usable.expires_at().is_some_and(|at| at <= now) {
        return SessionError::LoginRequired {
            context: context.to_owned(),
            why: tokenctl_core::LoginRequired::ExpiredAtServer,
        }
        .into();
    }
    let login = tokenctl_core::program::run_in(context, "auth login");
    let kind = match usable.kind {
        TokenKind::Id => "ID token",
        TokenKind::Access => "access token",
    };
    let shown = |value: Option<&serde_json::Value>| match value {
        Some(serde_json::Value::String(text)) => tokenctl_core::internal::text::one_line(text, 120),
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .filter_map(serde_json::Value::as_str)
            .map(|item| tokenctl_core::internal::text::one_line(item, 120))
            .collect::<Vec<_>>()
            .join(", "),
        Some(other) => tokenctl_core::internal::text::one_line(&other.to_string(), 120),
        None => "(none)".to_owned(),
    };
    let says = match tokenctl_core::jwt::decode(usable.token().expose()) {
        Ok(decoded) => format!(
            "\n  the token: iss {}, aud {}, {}",
            shown(decoded.claims.get("iss")),
            shown(decoded.claims.get("aud")),
            tokenctl_core::internal::clock::expiry_phrase(decoded.expires_at(), now)
        ),
        Err(_) => {
            "\n  the token is not a JWT, so its issuer and audience cannot be shown".to_owned()
        }
    };
    let expects = published
        .map(|entry| {
            let field = |name: &str| {
                entry
                    .fields
                    .get(name)
                    .and_then(|value| value.as_str())
                    .map(|text| tokenctl_core::internal::text::one_line(text, 120))
                    .unwrap_or_else(|| "(none)".to_owned())
            };
            format!(
                "\n  the cluster publishes: issuer {}, client {}",
                field("issuer"),
                field("client-id")
            )
        })
        .unwrap_or_default();
    let id_token = match usable.kind {
        TokenKind::Access => format!(
            "; send the ID token, whose aud is the client, as Kubernetes' OIDC authenticator expects (`{} config set-context {context} --set cluster-token=id`)",
            program::name()
        ),
        TokenKind::Id => String::new(),
    };
    anyhow!(
        "the cluster answered HTTP 401 to the {kind} of context {context:?}, which is valid: the cluster does not accept this token (its issuer, its audience, or this user){says}{expects}\n  fixes: point the context at the provider the cluster trusts (`{program} config set-context {context} --provider NAME`){id_token}; or sign in as another user (`{login}`)",
        program = program::name()
    )
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
        Some(path) => tokenctl_core::internal::fsutil::read_user_bytes(std::path::Path::new(path))
            .with_context(|| format!("cannot read the body file {path}")),
        None => Ok(data.as_bytes().to_vec()),
    }
}
