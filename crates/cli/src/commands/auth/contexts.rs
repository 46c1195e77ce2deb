//! `auth get-contexts`, `current-context` and `use-context`.

use crate::GlobalArgs;
use crate::output::say;
use crate::output::{self, ListFormat};
use anyhow::Result;
use serde::Serialize;
use tokenctl_core::internal::config::{Chosen, ConfigSet, ContextList, Edit};
use tokenctl_core::internal::logins::ContextLogin;
use tokenctl_core::internal::text::printable;

/// One row of `auth get-contexts`.
#[derive(Serialize)]
struct ContextRow<'a> {
    name: &'a str,
    current: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    provider: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cluster: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    flow: Option<&'a str>,
    /// The login's key, when other contexts use the same login (one sign-in serves them all):
    /// contexts with the same `login` share it. A key, not a list, keeps the output linear.
    #[serde(skip_serializing_if = "Option::is_none")]
    login: Option<&'a str>,
    /// Who the stored login speaks for (the provider's text, made printable when shown).
    #[serde(skip_serializing_if = "Option::is_none")]
    logged_in_as: Option<String>,
    /// Seconds the stored access token has left (negative: expired).
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_in_seconds: Option<i64>,
    #[serde(skip)]
    shared_cell: String,
    #[serde(skip)]
    expires_cell: String,
    #[serde(skip)]
    logged_in_cell: String,
}

/// A table cell for the other contexts of a login: the first three, then how many more.
fn few(group: &[String], context: &str) -> String {
    let others = group.len().saturating_sub(1);
    let named: Vec<&str> = group
        .iter()
        .map(String::as_str)
        .filter(|name| *name != context)
        .take(3)
        .collect();
    match others {
        0..=3 => named.join(", "),
        n => format!("{} +{} more", named.join(", "), n - 3),
    }
}

/// `auth use-context NAME [--here]`.
#[derive(Debug, clap::Args)]
pub struct UseContextArgs {
    /// Context name
    #[arg(add = clap_complete::engine::ArgValueCandidates::new(crate::complete::contexts))]
    name: String,
    /// Use NAME in this directory and below only: write and allow ./.tokenctl, leaving
    /// current-context as it is
    #[arg(long)]
    here: bool,
}

#[derive(Debug, clap::Args)]
pub struct CurrentContextArgs {}

#[derive(Debug, clap::Args)]
pub struct GetContextsArgs {
    /// Output format
    #[arg(short, long, value_enum, default_value_t = ListFormat::Table)]
    output: ListFormat,
}

pub(crate) fn use_context(args: UseContextArgs, global: &GlobalArgs) -> Result<()> {
    let paths = &global.config_paths();
    let (name, here) = (args.name.as_str(), args.here);
    use tokenctl_core::internal::config::{CONTEXT_ENV, here as dir};
    if here {
        let set = ConfigSet::load_valid(paths)?;
        if set.context(name).is_none() {
            return Err(set
                .not_found(tokenctl_core::internal::config::Section::Contexts, name)
                .into());
        }
        let cwd = std::env::current_dir()?;
        let path = dir::write_and_allow(&cwd, name, &dir::allow_dir())
            .map_err(|err| anyhow::anyhow!("{}: {err}", cwd.join(dir::FILE_NAME).display()))?;
        say!(
            "Context {name:?} applies in {} and below ({} written and allowed; current-context unchanged).",
            cwd.display(),
            path.display()
        );
    } else {
        let outcome = ConfigSet::apply(paths, &Edit::UseContext(name.to_owned()))?;
        output::warnings(&outcome.warnings);
        say!("Switched to context {name:?}.");
        if let dir::Here::Chosen { path, context } = dir::current()
            && context != name
        {
            output::warnings(&[format!(
                "{} selects {context:?} in this directory and wins over current-context here",
                path.display()
            )]);
        }
    }
    if let Ok(over) = std::env::var(CONTEXT_ENV)
        && !over.is_empty()
        && over != name
    {
        output::warnings(&[format!(
            "{CONTEXT_ENV}={over} overrides {} in this shell; `unset {CONTEXT_ENV}` to use {name:?} here",
            if here {
                "the directory's file"
            } else {
                "current-context"
            }
        )]);
    }
    Ok(())
}

/// `auth current-context`: the name on stdout; where it came from with -v.
pub(crate) fn current_context(_args: CurrentContextArgs, global: &GlobalArgs) -> Result<()> {
    let paths = &global.config_paths();
    let list = ContextList::load(paths)?;
    let (context, chosen) = list.chosen(global.context.as_deref())?;
    std::io::Write::write_all(
        &mut std::io::stdout().lock(),
        format!("{}\n", context.name).as_bytes(),
    )?;
    if chosen == Chosen::OnlyContext || global.verbose > 0 {
        say!("({})", output::chosen_from(chosen));
    }
    Ok(())
}

/// `auth get-contexts`: every context, the one in use marked, and its login.
pub(crate) fn get_contexts(args: GetContextsArgs, global: &GlobalArgs) -> Result<()> {
    let paths = &global.config_paths();
    let output = args.output;
    // One load: the rows, which contexts share a login, and the stored logins.
    let set = std::sync::Arc::new(ConfigSet::load_valid(paths)?);
    // Broken entries stop only their users; the list names them.
    output::warnings(
        &set.deferred
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
    );
    output::notices(&set);
    let list = ContextList::of(&set);
    // A stale --context or TOKENCTL_CONTEXT marks no row but stops nothing: the list
    // is how one finds the right name.
    let in_use = list
        .in_use(global.context.as_deref())
        .map_err(|err| {
            if global.context.is_some() {
                output::warnings(&[err.to_string()]);
            }
        })
        .ok()
        .map(|context| context.name.as_str());
    let setting = set.credential_store().unwrap_or_else(|err| {
        output::warn(err);
        Default::default()
    });
    let logins = crate::logins::logins_with(set.clone(), setting, global.request_timeout);
    let summaries = logins.summaries(tokenctl_core::internal::clock::unix_now());
    let summary_of: std::collections::HashMap<&str, &ContextLogin> = summaries
        .iter()
        .map(|summary| (summary.context.as_str(), summary))
        .collect();
    let rows: Vec<ContextRow<'_>> = list
        .contexts
        .iter()
        .filter_map(|context| Some((context, *summary_of.get(context.name.as_str())?)))
        .map(|(context, summary)| {
            row(
                context,
                summary,
                &list,
                in_use == Some(context.name.as_str()),
            )
        })
        .collect();
    output::list(
        output,
        &rows,
        (
            [
                "CURRENT",
                "NAME",
                "PROVIDER",
                "KIND",
                "CLUSTER",
                "FLOW",
                "LOGGED IN AS",
                "EXPIRES",
                "SHARES LOGIN WITH",
            ],
            &["CURRENT", "NAME", "PROVIDER", "LOGGED IN AS", "EXPIRES"],
        ),
        |row| {
            [
                if row.current { "*" } else { "" },
                row.name,
                row.provider.unwrap_or(""),
                row.kind.unwrap_or(""),
                row.cluster.unwrap_or(""),
                row.flow.unwrap_or(""),
                &row.logged_in_cell,
                &row.expires_cell,
                &row.shared_cell,
            ]
        },
        |row| row.name,
    )
}

/// One row of `get-contexts`: the context's entries, and its login from the summary.
fn row<'a>(
    context: &'a tokenctl_core::internal::config::ContextSummary,
    summary: &'a ContextLogin,
    list: &'a ContextList,
    current: bool,
) -> ContextRow<'a> {
    ContextRow {
        current,
        name: &context.name,
        provider: context.provider.as_deref(),
        kind: list.kind_of(context),
        cluster: context.cluster.as_deref(),
        flow: context.flow.map(|flow| flow.as_str()),
        shared_cell: few(&summary.shared_with, &context.name),
        login: summary
            .login_key
            .as_deref()
            .filter(|_| summary.shared_with.len() > 1),
        logged_in_cell: summary
            .identity
            .clone()
            .flatten()
            .map(|who| printable(&who).into_owned())
            .unwrap_or_default(),
        logged_in_as: summary
            .identity
            .clone()
            .map(|who| who.unwrap_or_else(|| "(unnamed)".to_owned())),
        expires_in_seconds: summary.expires_in,
        expires_cell: output::expires_cell(summary.expires_in),
    }
}
