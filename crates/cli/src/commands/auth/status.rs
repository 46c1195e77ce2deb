//! `auth status [--all]`: the session, never the token.

use crate::GlobalArgs;
use crate::logins::logins;
use crate::output::{self, DocFormat};
use crate::runtime::block_on;
use anyhow::Result;
use serde::Serialize;
use std::io::Write;
use tokenctl_core::internal::clock::{relative, unix_now};
use tokenctl_core::internal::config::Chosen;
use tokenctl_core::internal::logins::{StoredLogin, identity_of, others};
use tokenctl_core::internal::text::printable;
use tokenctl_core::jwt;

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
        .then(|| tokenctl_core::internal::config::here::current().path())
        .flatten()
        .map(|path| path.display().to_string())
}

/// `auth status`. Not logged in: exit 4, and with `-o` a document that says so (`logged_in:
/// false`, the context and its provider) for scripts.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// Output format (default: text for people)
    #[arg(short, long, value_enum)]
    output: Option<DocFormat>,
    /// Every context's login, from the store (no network)
    #[arg(long)]
    all: bool,
}

pub(crate) fn run(args: StatusArgs, global: &GlobalArgs) -> Result<()> {
    if args.all {
        status_all(global, args.output)
    } else {
        status(global, args.output)
    }
}

fn status(global: &GlobalArgs, format: Option<DocFormat>) -> Result<()> {
    let logins = logins(global)?;
    output::notices(logins.set());
    let wanted = global.context.as_deref();
    let (_, chosen) = logins.set().chosen_context(wanted)?;
    let status = match block_on(logins.status(wanted))? {
        Ok(status) => status,
        Err(err) if err.is_login_required() && format.is_some() => {
            let doc = logged_out_doc(&logins, wanted, chosen);
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
    say_status(&status, chosen, cluster.as_deref(), &about, now)
}

/// `auth status -o json|yaml` of a context that is not logged in: what it would use.
fn logged_out_doc(
    logins: &tokenctl_core::internal::logins::Logins<
        tokenctl_core::internal::logins::ProviderAuthority,
    >,
    wanted: Option<&str>,
    chosen: Chosen,
) -> StatusDoc {
    let (context, provider, kind, cluster) = match logins.set().resolve(wanted) {
        Ok(resolved) => (
            resolved.context.name.clone(),
            resolved.provider.map(|p| p.name.clone()),
            resolved.provider.map(|p| p.kind.clone()),
            resolved.cluster.map(|c| c.name.clone()),
        ),
        Err(_) => (wanted.unwrap_or_default().to_owned(), None, None, None),
    };
    StatusDoc {
        context,
        context_from: chosen,
        context_file: context_file(chosen),
        logged_in: false,
        provider,
        kind,
        cluster,
        login: None,
    }
}

/// `auth status` as text for a person.
fn say_status(
    status: &tokenctl_core::internal::logins::Status,
    chosen: Chosen,
    cluster: Option<&str>,
    about: &LoginDoc,
    now: i64,
) -> Result<()> {
    let login = &status.login;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "Context:        {} ({})",
        status.context,
        output::chosen_from(chosen)
    )?;
    writeln!(out, "Provider:       {} ({})", login.provider, login.kind)?;
    if let Some(cluster) = cluster {
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
struct StatusRow {
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
fn status_all(global: &GlobalArgs, format: Option<DocFormat>) -> Result<()> {
    let logins = logins(global)?;
    output::notices(logins.set());
    let rows: Vec<StatusRow> = logins
        .summaries(unix_now())
        .into_iter()
        .map(|summary| {
            let login = &summary.login;
            let provider = logins
                .set()
                .context(&summary.context)
                .and_then(|context| context.provider.clone());
            let cells = [
                provider.unwrap_or_default(),
                match &summary.identity {
                    Some(Some(who)) => printable(who).into_owned(),
                    Some(None) => "(unnamed)".into(),
                    None => "not logged in".into(),
                },
                output::expires_cell(summary.expires_in),
                match login {
                    Some(login) if login.has_refresh_token() => "yes".into(),
                    Some(_) => "no".into(),
                    None => String::new(),
                },
            ];
            StatusRow {
                logged_in: login.is_some(),
                provider: login.as_ref().map(|login| login.provider.clone()),
                identity: summary.identity.clone().flatten(),
                expires_at: login
                    .as_ref()
                    .and_then(|l| l.expires_at)
                    .map(output::rfc3339),
                expires_in_seconds: summary.expires_in,
                refresh_token: login.as_ref().is_some_and(StoredLogin::has_refresh_token),
                cells,
                context: summary.context,
            }
        })
        .collect();
    if let Some(format) = format {
        return output::document(&mut std::io::stdout().lock(), format, &rows);
    }
    output::list(
        output::ListFormat::Table,
        &rows,
        (
            [
                "CONTEXT",
                "PROVIDER",
                "LOGGED IN AS",
                "EXPIRES",
                "REFRESH TOKEN",
            ],
            &[],
        ),
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
