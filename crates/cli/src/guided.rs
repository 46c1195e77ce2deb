//! The guided first run of `auth login` at a terminal, as `gh auth login` asks: the provider
//! kind, its required fields, the flow and an optional cluster. Core's `config::setup` decides
//! when it applies, checks each answer and writes the entries; this file only asks.

use std::io::{BufRead, Write};

use anyhow::{Result, bail};
use tokenctl_core::Flow;
use tokenctl_core::config::setup::{self, Created, FirstRun, Setup};
use tokenctl_core::provider::{self, FieldSpec, Provider};

/// Asks the questions on stderr, reads the answers from stdin, and writes the entries.
pub fn run(first: FirstRun, paths: &[std::path::PathBuf]) -> Result<Created> {
    let kind = match first {
        FirstRun::Kind(kind) => {
            eprintln!(
                "No provider of kind {} is defined yet; let's add one.",
                kind.kind()
            );
            kind
        }
        FirstRun::NoContexts => {
            eprintln!("No context is defined yet; let's set one up.");
            ask_kind()?
        }
    };
    let mut fields = indexmap::IndexMap::new();
    for field in setup::asked_fields(kind) {
        fields.insert(field.name.to_owned(), ask_field(field)?);
    }
    let flow = ask_flow(kind)?;
    let cluster_server = ask_until(
        "Cluster API server URL, whose API takes these tokens (Enter for none): ",
        |answer| match answer {
            "" => Ok(None),
            url => setup::cluster_answer(url).map(Some),
        },
    )?;
    let mut setup = Setup {
        kind,
        fields,
        flow,
        cluster_server,
    };
    // The dialect's rules across fields: each field it refuses is asked again.
    loop {
        let problems = setup.problems();
        let Some(problem) = problems.first() else {
            break;
        };
        eprintln!("  {problem}");
        let Some(field) = kind.fields().find(|field| field.name == problem.field) else {
            bail!("the provider would not be usable, so nothing was written: {problem}");
        };
        setup
            .fields
            .insert(field.name.to_owned(), ask_field(field)?);
    }
    let created = setup.write(paths)?;
    let cluster = created
        .cluster
        .as_ref()
        .map(|name| format!(", cluster {name:?}"))
        .unwrap_or_default();
    eprintln!(
        "Created provider {:?}{cluster} and context {:?} (now the current context) in {}.",
        created.provider,
        created.context,
        created.path.display()
    );
    Ok(created)
}

/// One field, asked with its help until its kind takes the answer.
fn ask_field(field: &FieldSpec) -> Result<serde_yaml_ng::Value> {
    eprintln!("{}: {}", field.name, field.help);
    ask_until(&format!("{}: ", field.name), |answer| {
        setup::field_answer(field, answer)
    })
}

/// The kind, by number or name, from the registry with each kind's description.
fn ask_kind() -> Result<&'static dyn Provider> {
    let kinds = provider::providers();
    eprintln!("Provider kinds:");
    for (n, kind) in kinds.iter().enumerate() {
        eprintln!("  {}) {:<9} {}", n + 1, kind.kind(), kind.description());
    }
    ask_until("Kind (number or name): ", |answer| {
        pick(&kinds, answer, |kind| kind.kind()).copied()
    })
}

/// The flow, by number or name; Enter takes the kind's default (its first).
fn ask_flow(kind: &dyn Provider) -> Result<Flow> {
    let flows = kind.flows();
    let names: Vec<String> = flows
        .iter()
        .enumerate()
        .map(|(n, flow)| format!("{}) {}", n + 1, flow.as_str()))
        .collect();
    eprintln!("Flows: {}", names.join("  "));
    let default = flows.first().copied().unwrap_or(Flow::Browser);
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
        .or_else(|| items.iter().find(|item| name(item) == answer))
        .ok_or_else(|| {
            let names: Vec<&str> = items.iter().map(&name).collect();
            format!("pick one of {} (or its number)", names.join(", "))
        })
}

/// Asks until `check` takes the answer; the refusal is shown before asking again. End of input
/// ends the setup with nothing written.
fn ask_until<T>(question: &str, check: impl Fn(&str) -> Result<T, String>) -> Result<T> {
    let stdin = std::io::stdin();
    loop {
        eprint!("{question}");
        std::io::stderr().flush()?;
        let mut line = String::new();
        if stdin.lock().read_line(&mut line)? == 0 {
            bail!("the setup ended before it was complete; nothing was written");
        }
        match check(line.trim()) {
            Ok(value) => return Ok(value),
            Err(reason) => eprintln!("  {reason}"),
        }
    }
}
