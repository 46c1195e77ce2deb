//! The guided first run of `auth login` at a terminal, as `gh auth login` asks: the provider
//! kind, its required fields (checked against the provider before anything is written), the
//! scopes, the flow and an optional cluster. Core's `config::setup` decides when it applies,
//! checks each answer and writes the entries; this file only asks.

use crate::output::{self, say};
use std::io::BufRead;

use anyhow::{Result, bail};
use tokenctl_core::Flow;
use tokenctl_core::internal::config::setup::{self, Created, FirstRun, Setup};
use tokenctl_core::provider::{self, FieldSpec, Provider};

/// Asks the questions on stderr, reads the answers from stdin, and writes the entries.
pub(super) fn run(first: FirstRun, paths: &[std::path::PathBuf]) -> Result<Created> {
    let kind = match first {
        FirstRun::Kind(kind) => {
            say!(
                "No provider of kind {} is defined yet; let's add one.",
                kind.kind()
            );
            kind
        }
        FirstRun::NoContexts => {
            say!("No context is defined yet; let's set one up.");
            ask_kind()?
        }
    };
    // Nothing is written until the provider answers: a wrong answer is asked again.
    let (fields, listed) = loop {
        let fields = ask_fields(kind)?;
        let http = tokenctl_core::internal::http::HttpClient::new(
            tokenctl_core::internal::http::DEFAULT_REQUEST_TIMEOUT,
        )?;
        match crate::runtime::block_on(tokenctl_core::internal::flows::check_provider(
            &http, kind, &fields,
        ))? {
            Ok(listed) => break (fields, listed),
            Err(err) => say!("  {err}\n  Nothing was written; the provider's fields again:"),
        }
    };
    let scopes = ask_scopes(kind, listed.as_deref())?;
    let flow = ask_flow(kind)?;
    let cluster_server = ask_until(
        "Cluster API server URL, whose API takes these tokens (Enter for none): ",
        |answer| match answer {
            "" => Ok(None),
            url => setup::cluster_answer(url).map(Some),
        },
    )?;
    let setup = Setup {
        kind,
        fields,
        flow,
        scopes,
        cluster_server,
    };
    let created = setup.write(paths)?;
    let cluster = created
        .cluster
        .as_ref()
        .map(|name| format!(", cluster {name:?}"))
        .unwrap_or_default();
    say!(
        "Created provider {:?}{cluster} and context {:?} in {}; it becomes the current context once this login succeeds.",
        created.provider,
        created.context,
        created.path.display()
    );
    Ok(created)
}

/// The kind's required fields, each checked as it is given and then with the dialect's rules
/// across fields (each field it refuses is asked again). A pasted issuer URL fills the fields
/// it stands for (Keycloak's `…/realms/R`: server and realm).
fn ask_fields(
    kind: &'static dyn Provider,
) -> Result<indexmap::IndexMap<String, serde_yaml_ng::Value>> {
    let mut fields = indexmap::IndexMap::new();
    for field in setup::asked_fields(kind) {
        if fields.contains_key(field.name) {
            continue;
        }
        say!("{}: {}", field.name, field.help);
        let answer = ask_until(
            &format!("{}: ", field.name),
            |answer| match setup::taken_apart(kind, answer) {
                Some(parts) => Ok(Err(parts)),
                None => setup::field_answer(field, answer).map(Ok),
            },
        )?;
        match answer {
            Ok(value) => {
                fields.insert(field.name.to_owned(), value);
            }
            Err(parts) => {
                let named: Vec<String> = parts
                    .iter()
                    .map(|(name, value)| format!("{name} {}", value.as_str().unwrap_or_default()))
                    .collect();
                say!(
                    "  That is an issuer URL; taken apart: {}.",
                    named.join(", ")
                );
                for (name, value) in parts {
                    fields.insert(name.to_owned(), value);
                }
            }
        }
    }
    loop {
        let problems = setup::problems(kind, &fields);
        let Some(problem) = problems.first() else {
            return Ok(fields);
        };
        say!("  {problem}");
        let Some(field) = kind.fields().find(|field| field.name == problem.field) else {
            bail!("the provider would not be usable, so nothing was written: {problem}");
        };
        let value = ask_field(field)?;
        fields.insert(field.name.to_owned(), value);
    }
}

/// The scopes the context asks for, with the dialect's advice and what the provider lists.
fn ask_scopes(kind: &dyn Provider, listed: Option<&[String]>) -> Result<Vec<String>> {
    say!("Scopes: {}.", kind.scope_advice());
    if let Some(listed) = listed.filter(|listed| !listed.is_empty()) {
        const SHOWN: usize = 12;
        let more = listed.len().saturating_sub(SHOWN);
        let names: Vec<String> = listed
            .iter()
            .take(SHOWN)
            .map(|scope| tokenctl_core::internal::text::printable(scope).into_owned())
            .collect();
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        say!("  The provider lists: {}{more}.", names.join(" "));
    }
    ask_until(
        "Scopes, separated by spaces (Enter for sign-in only): ",
        |answer| {
            let scopes = tokenctl_core::internal::flows::split_scopes(&[answer.to_owned()]);
            match scopes.iter().find(|scope| {
                scope
                    .chars()
                    .any(|c| c.is_control() || c == '"' || c == '\\')
            }) {
                Some(bad) => Err(format!(
                    "{:?} is not a scope (RFC 6749 scope tokens have no quotes, backslashes or control characters)",
                    tokenctl_core::internal::text::printable(bad)
                )),
                None => Ok(scopes),
            }
        },
    )
}

/// One field, asked with its help until its kind takes the answer.
fn ask_field(field: &FieldSpec) -> Result<serde_yaml_ng::Value> {
    say!("{}: {}", field.name, field.help);
    ask_until(&format!("{}: ", field.name), |answer| {
        setup::field_answer(field, answer)
    })
}

/// The kind, by number or name, from the registry with each kind's description.
fn ask_kind() -> Result<&'static dyn Provider> {
    let kinds = provider::providers();
    say!("Provider kinds:");
    for (n, kind) in kinds.iter().enumerate() {
        let lead = format!("  {}) {:<9} ", n + 1, kind.kind());
        say!("{}", output::hanging(&lead, kind.description(), 80));
    }
    ask_until("Kind (number or name): ", |answer| {
        pick(&kinds, answer, |kind| kind.kind()).copied()
    })
}

/// The flow, by number or name; Enter takes the browser where one can open, else the device
/// flow, else the kind's first.
fn ask_flow(kind: &dyn Provider) -> Result<Flow> {
    let flows = kind.flows();
    let names: Vec<String> = flows
        .iter()
        .enumerate()
        .map(|(n, flow)| format!("{}) {}", n + 1, flow.as_str()))
        .collect();
    say!("Flows: {}", names.join("  "));
    // The browser flow even where no browser opens: at this terminal the person pastes the
    // address a browser elsewhere ends on, and many tenants block the device flow.
    let default = [Flow::Browser, Flow::Device]
        .into_iter()
        .find(|flow| flows.contains(flow))
        .or(flows.first().copied())
        .unwrap_or(Flow::Device);
    ask_until(&format!("Flow [{}]: ", default.as_str()), |answer| {
        if answer.is_empty() {
            return Ok(default);
        }
        pick(flows, answer, |flow| flow.as_str()).copied()
    })
}

/// The item named, or numbered from 1, by `answer`.
fn pick<'a, T>(items: &'a [T], answer: &str, name: impl Fn(&T) -> &str) -> Result<&'a T, String> {
    let by_number = answer
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_sub(1))
        .and_then(|n| items.get(n));
    by_number
        .or_else(|| {
            items
                .iter()
                .find(|item| name(item).eq_ignore_ascii_case(answer))
        })
        .ok_or_else(|| {
            let names: Vec<&str> = items.iter().map(&name).collect();
            let close =
                tokenctl_core::internal::config::closest_names(answer, names.iter().copied());
            let hint = close
                .first()
                .map(|near| format!("did you mean {near}? "))
                .unwrap_or_default();
            format!("{hint}pick one of {} (or its number)", names.join(", "))
        })
}

/// Asks until `check` takes the answer; the refusal is shown before asking again. End of input
/// ends the setup with nothing written.
fn ask_until<T>(question: &str, check: impl Fn(&str) -> Result<T, String>) -> Result<T> {
    let stdin = std::io::stdin();
    loop {
        output::put(question)?;
        let mut line = String::new();
        if stdin.lock().read_line(&mut line)? == 0 {
            bail!("the setup ended before it was complete; nothing was written");
        }
        match check(line.trim()) {
            Ok(value) => return Ok(value),
            Err(reason) => say!("  {reason}"),
        }
    }
}
