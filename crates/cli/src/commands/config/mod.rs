//! `tokenctl config …`: view and edit the contexts file.

use crate::output::say;
use anyhow::{Result, bail};
use clap::{Args, Subcommand};
use clap_complete::engine::ArgValueCandidates;
use indexmap::IndexMap;
use serde_yaml_ng::Value;
use std::path::PathBuf;
use tokenctl_core::Flow;
use tokenctl_core::internal::client_auth::KeyringKeyEdit;
use tokenctl_core::internal::config::{
    ConfigSet, Edit, EditOutcome, Section, TOP_LEVEL_KEYS, TokenKind,
};
use tokenctl_core::program;

use crate::GlobalArgs;
use crate::commands::auth::contexts;
use crate::complete;
use crate::output::{self, DocFormat};
pub(crate) mod set_provider;

pub(crate) use set_provider::SetProviderArgs;

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Show the merged contexts files (secrets redacted unless --raw)
    View {
        /// Output format
        #[arg(short, long, value_enum, default_value_t = DocFormat::Yaml)]
        output: DocFormat,
        /// Show secrets and certificate data as they are
        #[arg(long)]
        raw: bool,
        /// Only the context in use, with its provider and cluster
        #[arg(long)]
        minify: bool,
    },
    /// Set a top-level key of the contexts file: current-context or credential-store
    /// (auto, keyring, file, none)
    Set {
        /// The key
        #[arg(value_parser = clap::builder::PossibleValuesParser::new(TOP_LEVEL_KEYS))]
        key: String,
        /// Its value
        value: String,
    },
    /// Remove a top-level key of the contexts file
    Unset {
        /// The key
        #[arg(value_parser = clap::builder::PossibleValuesParser::new(TOP_LEVEL_KEYS))]
        key: String,
    },
    /// Create a provider or change its fields (the flags below come from the provider kinds)
    SetProvider(SetProviderArgs),
    /// Create a cluster or change its fields
    SetCluster(SetClusterArgs),
    /// Create a context or change its fields
    SetContext(Box<SetContextArgs>),
    /// Delete a context
    DeleteContext {
        /// Context name
        #[arg(add = ArgValueCandidates::new(complete::contexts))]
        name: String,
    },
    /// Rename a context (current-context follows)
    RenameContext {
        /// Current name
        #[arg(add = ArgValueCandidates::new(complete::contexts))]
        old: String,
        /// New name
        new: String,
    },
    /// Delete a provider that no context uses
    DeleteProvider {
        /// Provider name
        #[arg(add = ArgValueCandidates::new(complete::providers))]
        name: String,
    },
    /// Delete a cluster that no context uses
    DeleteCluster {
        /// Cluster name
        #[arg(add = ArgValueCandidates::new(complete::clusters))]
        name: String,
    },
    /// Let a .tokenctl choose the context below its directory, after showing it (again after
    /// every change to it)
    Allow {
        /// The .tokenctl or its directory (default: the nearest one above the working directory)
        #[arg(value_name = "PATH", value_hint = clap::ValueHint::AnyPath)]
        path: Option<std::path::PathBuf>,
    },
    /// kubectl's habit for `auth use-context`
    #[command(hide = true)]
    UseContext(contexts::UseContextArgs),
    /// kubectl's habit for `auth get-contexts`
    #[command(hide = true)]
    GetContexts(contexts::GetContextsArgs),
    /// kubectl's habit for `auth current-context`
    #[command(hide = true)]
    CurrentContext(contexts::CurrentContextArgs),
}

#[derive(Debug, Args)]
pub struct SetClusterArgs {
    /// Cluster name
    #[arg(add = ArgValueCandidates::new(complete::clusters))]
    pub name: String,
    /// API server URL (https, or http on loopback)
    #[arg(long, value_name = "URL", value_hint = clap::ValueHint::Url)]
    pub server: Option<String>,
    /// CA bundle file that signs the server's certificate
    #[arg(long, value_name = "PATH", value_hint = clap::ValueHint::FilePath)]
    pub certificate_authority: Option<String>,
    /// CA bundle, base64-encoded PEM
    #[arg(long, value_name = "BASE64")]
    pub certificate_authority_data: Option<String>,
    /// Name the server's certificate is checked for, instead of the server URL's host
    #[arg(long, value_name = "HOST")]
    pub tls_server_name: Option<String>,
    /// Do not verify the server's certificate (testing only)
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub insecure_skip_tls_verify: Option<bool>,
    /// Remove a field
    #[arg(long, value_name = "FIELD", value_parser = clap::builder::PossibleValuesParser::new(tokenctl_core::internal::config::CLUSTER_KEYS))]
    pub unset: Vec<String>,
}

#[derive(Debug, Args)]
pub struct SetContextArgs {
    /// Context name
    #[arg(add = ArgValueCandidates::new(complete::contexts))]
    pub name: String,
    /// Provider name, or `discover` to ask the cluster
    #[arg(long, value_name = "NAME", add = ArgValueCandidates::new(complete::providers_or_discover))]
    pub provider: Option<String>,
    /// Cluster name
    #[arg(long, value_name = "NAME", add = ArgValueCandidates::new(complete::clusters))]
    pub cluster: Option<String>,
    /// Default flow for `auth login` in this context
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(Flow::ALL.map(Flow::as_str)))]
    pub flow: Option<String>,
    /// Scopes to request: repeated, comma- or space-separated
    #[arg(long, value_name = "SCOPE")]
    pub scopes: Vec<String>,
    /// Keep a login of this context's own under NAME (a second account on the same provider)
    #[arg(long, value_name = "NAME")]
    pub login: Option<String>,
    /// Exchange flow: where the token to exchange is read, again at every renewal
    /// (github-actions, file:PATH or env:NAME)
    #[arg(long, value_name = "SOURCE")]
    pub subject_token: Option<String>,
    /// Exchange flow: the alias of the subject token's issuer (Keycloak's legacy V1 external
    /// exchange; standard token exchange, 26.2+, refuses it)
    #[arg(long, value_name = "ALIAS")]
    pub subject_issuer: Option<String>,
    /// Client-credentials flow: authenticate the client with the token this source holds, a
    /// CI job's ID token (github-actions, file:PATH or env:NAME; Entra ID federated credentials)
    #[arg(long, value_name = "SOURCE")]
    pub client_assertion: Option<String>,
    /// The audience a github-actions source asks for (default: api://AzureADTokenExchange for
    /// azure, else the provider's issuer)
    #[arg(long, value_name = "AUDIENCE")]
    pub ci_token_audience: Option<String>,
    /// Exchange flow: the RFC 8693 type of that token (jwt, access_token, id_token, … or a URN;
    /// default: jwt from a source, access_token from --subject-token-stdin)
    #[arg(long, value_name = "TYPE")]
    pub subject_token_type: Option<String>,
    /// A free-form attribute, passed to plugins as TOKENCTL_<KEY> (e.g. workspace=default), or
    /// a credential helper's map: git-hosts=a,b, git-username, registries=a,b, registry-username
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_attribute)]
    pub attributes: Vec<(String, String)>,
    /// Remove a field or attribute
    #[arg(long, value_name = "KEY")]
    pub unset: Vec<String>,
}

/// `config allow [PATH]`: shows the file, then records it as allowed.
fn allow(paths: &[std::path::PathBuf], path: Option<std::path::PathBuf>) -> Result<()> {
    use tokenctl_core::internal::config::here;
    let cwd = std::env::current_dir()?;
    let path = match path {
        Some(path) if path.is_dir() => path.join(here::FILE_NAME),
        Some(path) => path,
        None => here::find_from(&cwd, std::env::home_dir().as_deref()).ok_or_else(|| {
            anyhow::anyhow!(
                "no {} in {} or above it (up to your home directory); create one with `{}`",
                here::FILE_NAME,
                cwd.display(),
                program::run("auth use-context NAME --here")
            )
        })?,
    };
    // Records are kept by absolute path, as the upward search finds them.
    let path = match (path.parent(), path.file_name()) {
        (Some(dir), Some(name)) => {
            let dir = if dir.as_os_str().is_empty() {
                std::path::Path::new(".")
            } else {
                dir
            };
            std::fs::canonicalize(dir)
                .map_err(|err| anyhow::anyhow!("{}: {err}", dir.display()))?
                .join(name)
        }
        _ => bail!("{}: not a .tokenctl file", path.display()),
    };
    let file = here::inspect(&path)
        .map_err(|reason| anyhow::anyhow!("{}: not allowed: it {reason}", path.display()))?;
    say!("{}:", path.display());
    for line in file.text.lines() {
        say!("  {}", tokenctl_core::internal::text::printable(line));
    }
    let set = ConfigSet::load(paths)?;
    if set.context(&file.context).is_none() {
        output::warnings(&[set.not_found(Section::Contexts, &file.context).to_string()]);
    }
    here::allow(&file, &here::allow_dir())
        .map_err(|err| anyhow::anyhow!("{}: {err}", here::allow_dir().display()))?;
    say!(
        "Allowed: context {:?} applies in {} and below.",
        file.context,
        path.parent().unwrap_or(&path).display()
    );
    Ok(())
}

fn parse_attribute(text: &str) -> Result<(String, String), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("expected KEY=VALUE, got {text:?}"))?;
    let key = key.trim();
    if key.is_empty() {
        return Err("the key before `=` is empty".into());
    }
    if key == "cluster-token" && TokenKind::parse(value).is_none() {
        return Err(format!(
            "cluster-token takes {}, not {value:?}",
            TokenKind::NAMES.join(" or ")
        ));
    }
    if tokenctl_core::internal::config::SET_KEYS.contains(&key) {
        return Ok((key.to_owned(), value.to_owned()));
    }
    if tokenctl_core::internal::config::CONTEXT_KEYS.contains(&key) {
        return Err(format!("`{key}` has its own flag: --{key}"));
    }
    tokenctl_core::internal::config::attribute_variable(key)?;
    Ok((key.to_owned(), value.to_owned()))
}

pub(crate) fn run(command: ConfigCommand, global: &GlobalArgs) -> Result<()> {
    let paths = global.config_paths();
    let apply = |edit: Edit| apply(&paths, edit);
    match command {
        ConfigCommand::UseContext(args) => return contexts::use_context(args, global),
        ConfigCommand::GetContexts(args) => return contexts::get_contexts(args, global),
        ConfigCommand::CurrentContext(args) => return contexts::current_context(args, global),
        ConfigCommand::Allow { path } => allow(&paths, path)?,
        ConfigCommand::View {
            output,
            raw,
            minify,
        } => view(&paths, global, (output, raw, minify))?,
        ConfigCommand::Set { key, value } => {
            let outcome = apply(top_level(&key, Some(value.clone())))?;
            say!("Set {key} to {value:?} in {}.", outcome.path.display());
        }
        ConfigCommand::Unset { key } => {
            let outcome = apply(top_level(&key, None))?;
            say!("Removed {key} from {}.", outcome.path.display());
        }
        ConfigCommand::SetProvider(args) => set_provider(&paths, args)?,
        ConfigCommand::SetCluster(args) => set_cluster(&paths, args)?,
        ConfigCommand::SetContext(args) => set_context(&paths, *args)?,
        ConfigCommand::DeleteContext { name } => delete(apply, Section::Contexts, name)?,
        ConfigCommand::DeleteProvider { name } => delete(apply, Section::Providers, name)?,
        ConfigCommand::DeleteCluster { name } => delete(apply, Section::Clusters, name)?,
        ConfigCommand::RenameContext { old, new } => {
            let outcome = apply(Edit::RenameContext {
                from: old.clone(),
                to: new.clone(),
            })?;
            say!(
                "Context {old:?} renamed to {new:?} in {}.",
                outcome.path.display()
            );
        }
    }
    Ok(())
}

/// One edit of the contexts files, its warnings said.
fn apply(paths: &[PathBuf], edit: Edit) -> Result<EditOutcome> {
    let outcome = ConfigSet::apply(paths, &edit)?;
    output::warnings(&outcome.warnings);
    Ok(outcome)
}

/// `config view [-o FORMAT] [--raw] [--minify]`.
fn view(
    paths: &[PathBuf],
    global: &GlobalArgs,
    (output, raw, minify): (DocFormat, bool, bool),
) -> Result<()> {
    let set = ConfigSet::load(paths)?;
    let only = if minify {
        Some(set.resolve(global.context.as_deref())?.context.name.clone())
    } else {
        None
    };
    let document = set.view(raw, only.as_deref())?;
    output::document(&mut std::io::stdout().lock(), output, &document)?;
    output::warnings(
        &set.problems()
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
    );
    output::notices(&set);
    Ok(())
}

/// `config set-provider NAME …`: the fields, and a client key kept in the OS keyring.
fn set_provider(paths: &[PathBuf], args: SetProviderArgs) -> Result<()> {
    let apply = |edit: Edit| apply(paths, edit);
    let mut set = args.fields;
    let mut unset = args.unset;
    if let Some(kind) = args.kind {
        set.insert("kind".into(), Value::from(kind));
    }
    let name = args.name.clone();
    let existing = ConfigSet::load(paths)
        .ok()
        .and_then(|loaded| loaded.provider(&name).cloned());
    missing_flags(&name, existing.as_ref(), &set, &unset)?;
    let kept = existing
        .as_ref()
        .and_then(|entry| entry.as_config().text(KEYRING_FIELD).map(str::to_owned));
    let given = if args.client_key_stdin {
        Some(crate::terminal::read_stdin_document("the client key")?)
    } else {
        None
    };
    let key = KeyringKeyEdit::plan(
        &name,
        kept.as_deref(),
        given.as_ref(),
        set.contains_key("client-key-file"),
        unset.iter().any(|field| field == KEYRING_FIELD),
    )
    .map_err(|reason| anyhow::anyhow!("provider {name:?}: {reason}"))?;
    if let Some(place) = &key.place {
        set.insert(KEYRING_FIELD.into(), Value::from(place.as_str()));
    }
    for field in &key.unset {
        if !unset.iter().any(|f| f == field) {
            unset.push((*field).to_owned());
        }
    }
    let outcome = apply(entry_edit(Section::Providers, args.name, set, unset));
    if outcome.is_err() {
        key.undo();
    }
    report(outcome?, "provider", &name);
    if let Some(place) = &key.place {
        say!("The client key is kept in the OS keyring ({place}).");
    }
    if let Err((place, reason)) = key.finish() {
        say!("warning: the key in the OS keyring ({place}) could not be deleted: {reason}");
    }
    Ok(())
}

/// `config set-cluster NAME …`.
fn set_cluster(paths: &[PathBuf], args: SetClusterArgs) -> Result<()> {
    let apply = |edit: Edit| apply(paths, edit);
    let mut set = IndexMap::new();
    insert_text(&mut set, "server", args.server);
    insert_text(
        &mut set,
        "certificate-authority",
        args.certificate_authority
            .map(tokenctl_core::internal::fsutil::absolute_text),
    );
    insert_text(
        &mut set,
        "certificate-authority-data",
        args.certificate_authority_data,
    );
    insert_text(&mut set, "tls-server-name", args.tls_server_name);
    if let Some(insecure) = args.insecure_skip_tls_verify {
        set.insert("insecure-skip-tls-verify".into(), Value::Bool(insecure));
    }
    let name = args.name.clone();
    report(
        apply(entry_edit(Section::Clusters, args.name, set, args.unset))?,
        "cluster",
        &name,
    );
    Ok(())
}

/// `config set-context NAME …`.
fn set_context(paths: &[PathBuf], args: SetContextArgs) -> Result<()> {
    let apply = |edit: Edit| apply(paths, edit);
    let mut set = IndexMap::new();
    insert_text(&mut set, "provider", args.provider);
    insert_text(&mut set, "cluster", args.cluster);
    insert_text(&mut set, "flow", args.flow);
    insert_text(&mut set, "login", args.login);
    insert_text(&mut set, "subject-token", args.subject_token);
    insert_text(&mut set, "subject-token-type", args.subject_token_type);
    insert_text(&mut set, "subject-issuer", args.subject_issuer);
    insert_text(&mut set, "client-assertion", args.client_assertion);
    insert_text(&mut set, "ci-token-audience", args.ci_token_audience);
    if !args.scopes.is_empty() {
        let scopes = tokenctl_core::internal::flows::split_scopes(&args.scopes)
            .into_iter()
            .map(Value::from)
            .collect();
        set.insert("scopes".into(), Value::Sequence(scopes));
    }
    for (key, value) in args.attributes {
        let value = if tokenctl_core::internal::config::LIST_KEYS.contains(&key.as_str()) {
            Value::Sequence(
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|item| !item.is_empty())
                    .map(Value::from)
                    .collect(),
            )
        } else {
            Value::from(value)
        };
        set.insert(key, value);
    }
    if args.unset.iter().any(|key| key == "name") {
        bail!(
            "`name` cannot be unset; use `{}` or delete-context",
            program::run("config rename-context")
        );
    }
    let name = args.name.clone();
    report(
        apply(entry_edit(Section::Contexts, args.name, set, args.unset))?,
        "context",
        &name,
    );
    Ok(())
}

fn top_level(key: &str, value: Option<String>) -> Edit {
    Edit::SetTopLevel {
        key: key.to_owned(),
        value,
    }
}

fn entry_edit(
    section: Section,
    name: String,
    set: IndexMap<String, Value>,
    unset: Vec<String>,
) -> Edit {
    Edit::SetEntry {
        section,
        name,
        set,
        unset,
    }
}

/// Refuses a provider that would lack required fields, naming the flags that give them.
fn missing_flags(
    name: &str,
    existing: Option<&tokenctl_core::internal::config::ProviderEntry>,
    set: &IndexMap<String, Value>,
    unset: &[String],
) -> Result<()> {
    let kind = set
        .get("kind")
        .and_then(Value::as_str)
        .or(existing.map(|entry| entry.kind.as_str()));
    let Some(dialect) = kind.and_then(tokenctl_core::provider::provider) else {
        return Ok(());
    };
    let has = |field: &str| {
        !unset.iter().any(|f| f == field)
            && (set.contains_key(field)
                || existing.is_some_and(|entry| entry.fields.contains_key(field)))
    };
    let missing: Vec<String> = dialect
        .fields()
        .filter(|field| field.required && !has(field.name))
        .map(|field| format!("--{} ({})", field.name, field.help))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    bail!(
        "provider {name:?} ({}) also needs {}; nothing was written",
        dialect.kind(),
        missing.join(" and ")
    )
}

/// The provider field that says where `--client-key-stdin` kept the key.
const KEYRING_FIELD: &str = tokenctl_core::provider::fields::CLIENT_KEY_KEYRING.name;

fn insert_text(set: &mut IndexMap<String, Value>, key: &str, value: Option<String>) {
    if let Some(value) = value {
        set.insert(key.to_owned(), Value::from(value));
    }
}

fn report(outcome: EditOutcome, kind: &str, name: &str) {
    let verb = if outcome.created {
        "created"
    } else {
        "modified"
    };
    say!("{kind} {name:?} {verb} in {}.", outcome.path.display());
}

fn delete(
    apply: impl Fn(Edit) -> Result<EditOutcome>,
    section: Section,
    name: String,
) -> Result<()> {
    let outcome = apply(Edit::DeleteEntry {
        section,
        name: name.clone(),
    })?;
    say!(
        "Deleted {} {name:?} from {}.",
        section.singular(),
        outcome.path.display()
    );
    Ok(())
}
