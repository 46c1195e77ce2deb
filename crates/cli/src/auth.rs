//! `tokenctl auth …`: the command group another CLI can mount.

use anyhow::Result;
use clap::Subcommand;
use clap_complete::engine::ArgValueCandidates;
use serde::Serialize;
use tokenctl_core::config::{ConfigSet, Edit};

use crate::GlobalArgs;
use crate::complete;
use crate::output::{self, ListFormat};

#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Make NAME the current context (stored as current-context in the contexts file)
    UseContext {
        /// Context name
        #[arg(add = ArgValueCandidates::new(complete::contexts))]
        name: String,
    },
    /// Print the context in use (--context and TOKENCTL_CONTEXT take precedence over the file)
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
        AuthCommand::UseContext { name } => {
            let outcome = ConfigSet::apply(&paths, &Edit::UseContext(name.clone()))?;
            output::warnings(&outcome.warnings);
            eprintln!("Switched to context {name:?}.");
            Ok(())
        }
        AuthCommand::CurrentContext => {
            let set = ConfigSet::load_valid(&paths)?;
            let resolved = set.resolve(global.context.as_deref())?;
            println!("{}", resolved.context.name);
            Ok(())
        }
        AuthCommand::GetContexts { output } => {
            let set = ConfigSet::load_valid(&paths)?;
            let in_use = match global.context.as_deref() {
                Some(name) => Some(set.resolve(Some(name))?.context.name.as_str()),
                None => set.current_context(),
            };
            let rows: Vec<ContextRow<'_>> = set
                .contexts()
                .into_iter()
                .map(|(_, context)| {
                    let provider = context.provider.as_deref();
                    ContextRow {
                        current: in_use == Some(context.name.as_str()),
                        name: &context.name,
                        provider,
                        kind: provider
                            .and_then(|name| set.provider(name))
                            .map(|p| p.kind.as_str()),
                        cluster: context.cluster.as_deref(),
                        flow: context.flow.map(|flow| flow.as_str()),
                    }
                })
                .collect();
            output::list(
                output,
                &rows,
                &["CURRENT", "NAME", "PROVIDER", "KIND", "CLUSTER", "FLOW"],
                |row| {
                    vec![
                        if row.current { "*" } else { "" }.to_owned(),
                        row.name.to_owned(),
                        row.provider.unwrap_or("").to_owned(),
                        row.kind.unwrap_or("").to_owned(),
                        row.cluster.unwrap_or("").to_owned(),
                        row.flow.unwrap_or("").to_owned(),
                    ]
                },
                |row| row.name,
            )
        }
    }
}

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
}
