//! `config set-provider`: its flags are the union of every registered dialect's fields, so
//! a new dialect brings its flags, help and validation with it.

use clap::builder::PossibleValuesParser;
use clap::{Arg, ArgAction, ArgMatches, Args, Command, FromArgMatches};
use clap_complete::engine::ArgValueCandidates;
use indexmap::IndexMap;
use serde_yaml_ng::Value;
use tokenctl_core::provider::{self, FieldKind, FieldSpec};

use crate::complete;

#[derive(Debug, Clone)]
pub struct SetProviderArgs {
    pub name: String,
    pub kind: Option<String>,
    /// Field name → value, typed by the field's kind.
    pub fields: IndexMap<String, Value>,
    pub unset: Vec<String>,
    /// `--client-key-stdin`: a private_key_jwt key (PEM) to keep in the OS keyring.
    pub client_key_stdin: bool,
}

/// The kind whose fields alone `config set-provider NAME --<TAB>` offers (see
/// [`complete_for_line`]); unset, the flags are every kind's.
static COMPLETING_KIND: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();

/// For TAB completion: when the line is `config set-provider NAME …` with `--kind KIND`, or NAME
/// a provider of the contexts files, only that kind's fields are offered as flags.
pub(crate) fn complete_for_line(args: &[String], paths: &[std::path::PathBuf]) {
    let Some(at) = args.iter().position(|arg| arg == "set-provider") else {
        return;
    };
    let rest = &args[at + 1..];
    let given = rest
        .iter()
        .enumerate()
        .find_map(|(i, arg)| match arg.strip_prefix("--kind") {
            Some("") => rest.get(i + 1).cloned(),
            Some(value) => value.strip_prefix('=').map(str::to_owned),
            None => None,
        });
    let kind = given.or_else(|| {
        let name = rest.first().filter(|name| !name.starts_with('-'))?;
        let list = tokenctl_core::internal::config::ContextList::load(paths).ok()?;
        list.kind_of_provider(name).map(str::to_owned)
    });
    if let Some(dialect) = kind.as_deref().and_then(provider::provider) {
        let _ = COMPLETING_KIND.set(dialect.kind());
    }
}

/// Each field once, with the kinds that use it, in a stable order.
fn field_union() -> Vec<(FieldSpec, Vec<&'static str>)> {
    let mut union: Vec<(FieldSpec, Vec<&'static str>)> = Vec::new();
    let only = COMPLETING_KIND.get();
    for dialect in provider::providers()
        .into_iter()
        .filter(|dialect| only.is_none_or(|kind| dialect.kind() == *kind))
    {
        for field in dialect.fields() {
            match union.iter_mut().find(|(known, _)| known.name == field.name) {
                Some((_, kinds)) => kinds.push(dialect.kind()),
                None => union.push((*field, vec![dialect.kind()])),
            }
        }
    }
    union.sort_by_key(|(field, _)| field.name);
    union
}

/// Each kind with what it is for and its required fields, for `--help`.
fn kinds_help() -> String {
    let mut text = String::from("Provider kinds:");
    for dialect in provider::providers() {
        let required: Vec<&str> = dialect
            .fields()
            .filter(|f| f.required)
            .map(|f| f.name)
            .collect();
        let lead = format!("  {:<9} ", dialect.kind());
        text.push('\n');
        text.push_str(&crate::output::hanging(&lead, dialect.description(), 80));
        text.push('\n');
        text.push_str(&crate::output::hanging(
            &" ".repeat(lead.len()),
            &format!("required: {}", required.join(", ")),
            80,
        ));
    }
    text
}

/// `--authorize-params KEY=VALUE` (an empty VALUE removes a default).
fn parse_param(text: &str) -> Result<(String, String), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("expected KEY=VALUE, got {text:?}"))?;
    tokenctl_core::provider::check_authorize_param(key)?;
    Ok((key.to_owned(), value.to_owned()))
}

impl Args for SetProviderArgs {
    fn augment_args(cmd: Command) -> Command {
        let kinds: Vec<&'static str> = provider::providers().iter().map(|p| p.kind()).collect();
        let mut cmd = cmd
            .after_help(kinds_help())
            .arg(
                Arg::new("name")
                    .required(true)
                    .value_name("NAME")
                    .help("Provider name (what --provider and contexts refer to)")
                    .add(ArgValueCandidates::new(complete::providers)),
            )
            .arg(
                Arg::new("kind")
                    .long("kind")
                    .value_name("KIND")
                    .help("Provider kind; required when creating a provider")
                    .value_parser(PossibleValuesParser::new(kinds)),
            );
        let union = field_union();
        let names: Vec<&'static str> = union.iter().map(|(field, _)| field.name).collect();
        for (field, kinds) in union {
            let arg = Arg::new(field.name)
                .long(field.name)
                .value_name(field.kind.value_name())
                .help(format!("{} [{}]", capitalize(field.help), kinds.join(", ")));
            cmd = cmd.arg(match field.kind {
                FieldKind::List => arg.action(ArgAction::Append).value_delimiter(','),
                FieldKind::Params => arg.action(ArgAction::Append).value_parser(parse_param),
                FieldKind::Ports => arg
                    .action(ArgAction::Append)
                    .value_delimiter(',')
                    .value_parser(clap::value_parser!(u16).range(1..)),
                FieldKind::Path => arg.value_hint(clap::ValueHint::FilePath),
                FieldKind::BaseUrl => arg.value_hint(clap::ValueHint::Url),
                FieldKind::Choice(words) => arg.value_parser(PossibleValuesParser::new(words)),
                FieldKind::Bool => arg.value_parser(clap::value_parser!(bool)),
                _ => arg,
            });
        }
        cmd.arg(
            Arg::new("client-key-stdin")
                .long("client-key-stdin")
                .action(ArgAction::SetTrue)
                .conflicts_with("client-key-file")
                .help("Read a private_key_jwt key (PEM, RSA or EC P-256) from stdin and keep it in the OS keyring, in place of client-key-file [auth0, azure, keycloak, oidc]"),
        )
        .arg(
            Arg::new("unset")
                .long("unset")
                .value_name("FIELD")
                .action(ArgAction::Append)
                .help("Remove a field")
                .value_parser(PossibleValuesParser::new(names)),
        )
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

impl FromArgMatches for SetProviderArgs {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut fields = IndexMap::new();
        for (field, _) in field_union() {
            let value = match field.kind {
                FieldKind::List => matches
                    .get_many::<String>(field.name)
                    .map(|items| Value::Sequence(items.map(|s| Value::from(s.as_str())).collect())),
                FieldKind::Ports => matches
                    .get_many::<u16>(field.name)
                    .map(|ports| provider::ports_value(ports.map(|p| u64::from(*p)))),
                FieldKind::Params => {
                    matches
                        .get_many::<(String, String)>(field.name)
                        .map(|pairs| {
                            Value::Mapping(
                                pairs
                                    .map(|(k, v)| {
                                        (Value::from(k.as_str()), Value::from(v.as_str()))
                                    })
                                    .collect(),
                            )
                        })
                }
                FieldKind::Bool => matches.get_one::<bool>(field.name).map(|b| Value::Bool(*b)),
                FieldKind::Path => matches.get_one::<String>(field.name).map(|path| {
                    Value::from(tokenctl_core::internal::fsutil::absolute_text(path.clone()))
                }),
                _ => matches
                    .get_one::<String>(field.name)
                    .map(|text| Value::from(text.as_str())),
            };
            if let Some(value) = value {
                fields.insert(field.name.to_owned(), value);
            }
        }
        Ok(SetProviderArgs {
            name: matches
                .get_one::<String>("name")
                .cloned()
                .unwrap_or_default(),
            kind: matches.get_one::<String>("kind").cloned(),
            fields,
            unset: matches
                .get_many::<String>("unset")
                .map(|items| items.cloned().collect())
                .unwrap_or_default(),
            client_key_stdin: matches.get_flag("client-key-stdin"),
        })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
