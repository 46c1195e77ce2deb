//! Plugins, kubectl style: `tokenctl NAME ARGS...` runs `tokenctl-NAME` from PATH with the
//! context's server, a fresh token and its attributes in the environment; `plugin list` shows
//! what PATH offers.

use crate::output::say;
use std::collections::HashMap;
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use tokenctl_core::program;

use anyhow::{Result, anyhow};
use clap::CommandFactory;
use tokenctl_core::internal::config::{self, ConfigSet};

use crate::{GlobalArgs, is_login_required};
use tokenctl_core::internal::logins::{Freshness, Handout};

const PREFIX: &str = "tokenctl-";

#[derive(Debug, clap::Subcommand)]
pub enum PluginCommand {
    /// List the plugins on PATH (`tokenctl-NAME` executables), with warnings for shadowed,
    /// non-executable and unreachable ones
    List,
}

pub(crate) fn run(command: PluginCommand) -> Result<()> {
    match command {
        PluginCommand::List => list(),
    }
}

/// Every `tokenctl-*` file on PATH, in PATH order.
fn candidates() -> Vec<(String, PathBuf)> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut found = Vec::new();
    for dir in std::env::split_paths(&path) {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut here: Vec<(String, PathBuf)> = entries
            .filter_map(|entry| entry.ok())
            .filter_map(|entry| {
                let name = entry.file_name().to_str()?.strip_prefix(PREFIX)?.to_owned();
                let path = entry.path();
                (!name.is_empty() && path.is_file()).then_some((name, path))
            })
            .collect();
        here.sort();
        found.extend(here);
    }
    found
}

/// The plugins that can run, once each (the first on PATH), for TAB completion as commands.
pub(crate) fn runnable() -> Vec<String> {
    let builtins = builtin_names();
    let mut names: Vec<String> = Vec::new();
    for (name, path) in candidates() {
        if is_executable(&path) && !builtins.contains(&name) && !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}

/// The names of tokenctl's own commands: a plugin with one of them can never run.
fn builtin_names() -> Vec<String> {
    crate::Cli::command()
        .get_subcommands()
        .flat_map(|c| {
            std::iter::once(c.get_name().to_owned()).chain(c.get_all_aliases().map(str::to_owned))
        })
        .chain(["help".to_owned()])
        .collect()
}

fn list() -> Result<()> {
    let builtins = builtin_names();
    let mut first_seen: HashMap<String, PathBuf> = HashMap::new();
    let mut warnings = 0;
    let found = candidates();
    if found.is_empty() {
        say!("No plugins (tokenctl-NAME executables) on PATH.");
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "NAME\tPATH")?;
    for (name, path) in found {
        writeln!(out, "{name}\t{}", path.display())?;
        let mut warn = |message: String| {
            say!("  warning: {}: {message}", path.display());
            warnings += 1;
        };
        if !is_executable(&path) {
            warn("not executable".into());
        }
        if builtins.contains(&name) {
            warn(format!(
                "named like tokenctl's own `{name}` command, so it never runs"
            ));
        }
        match first_seen.get(&name) {
            Some(first) => warn(format!("shadowed by {}", first.display())),
            None => {
                first_seen.insert(name, path);
            }
        }
    }
    if warnings > 0 {
        say!("{warnings} plugin warning(s)");
    }
    Ok(())
}

/// Runs `tokenctl-NAME ARGS...`; its exit code becomes tokenctl's.
pub(crate) fn run_external(args: Vec<OsString>, global: &GlobalArgs) -> Result<u8> {
    let (name, rest) = args
        .split_first()
        .ok_or_else(|| anyhow!("no command given"))?;
    let name = name.to_string_lossy().into_owned();
    let Some(program) = candidates()
        .into_iter()
        .find(|(found, path)| *found == name && is_executable(path))
        .map(|(_, path)| path)
    else {
        // A usage error (exit status 2), with the command meant when it is a typo.
        let commands = crate::command();
        let own = commands
            .get_subcommands()
            .filter(|command| !command.is_hide_set())
            .map(|command| command.get_name());
        // kubectl habits: `tokenctl login` for `auth login`, `status` for `auth status`.
        let auth = commands
            .find_subcommand("auth")
            .is_some_and(|auth| auth.find_subcommand(&name).is_some());
        let hint = match tokenctl_core::internal::config::closest_names(&name, own).first() {
            _ if auth => format!("did you mean `{}`? ", program::run(&format!("auth {name}"))),
            Some(close) => format!("did you mean `{}`? ", program::run(close)),
            None => String::new(),
        };
        say!(
            "error: unknown command {name:?}: not a tokenctl command, and no plugin {PREFIX}{name} on PATH; {hint}see `{program} --help` and `{program} plugin list`",
            program = program::name()
        );
        return Ok(2);
    };
    let mut command = std::process::Command::new(&program);
    command.args(rest);
    for (key, value) in plugin_env(global)? {
        command.env(key, value);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let err = command.exec();
        Err(anyhow!("cannot run {}: {err}", program.display()))
    }
    #[cfg(not(unix))]
    {
        let status = command
            .status()
            .map_err(|err| anyhow!("cannot run {}: {err}", program.display()))?;
        Ok(u8::try_from(status.code().unwrap_or(1).clamp(0, 255)).unwrap_or(1))
    }
}

/// TOKENCTL_CONTEXT, TOKENCTL_SERVER, TOKENCTL_TOKEN (fresh; absent without a login),
/// TOKENCTL_CONFIG, and the context's attributes as TOKENCTL_<NAME>.
fn plugin_env(global: &GlobalArgs) -> Result<Vec<(String, String)>> {
    let paths = global.config_paths();
    let mut env = vec![(
        config::CONFIG_ENV.to_owned(),
        std::env::join_paths(&paths)?.to_string_lossy().into_owned(),
    )];
    let Ok(set) = ConfigSet::load_valid(&paths) else {
        // A plugin may be the thing that repairs the file: it runs, told only where it is.
        return Ok(env);
    };
    let Ok(resolved) = set.resolve(global.context.as_deref()) else {
        return Ok(env);
    };
    // A valid set has only attributes that map to a variable of their own.
    for (key, value) in &resolved.context.attributes {
        if let Ok(variable) = config::attribute_variable(key) {
            env.push((variable, env_value(value)));
        }
    }
    env.push((
        config::CONTEXT_ENV.to_owned(),
        resolved.context.name.clone(),
    ));
    if let Some(server) = resolved.cluster.and_then(|c| c.server.clone()) {
        env.push(("TOKENCTL_SERVER".to_owned(), server));
    }
    match crate::logins::usable_login(global, Freshness::CLI, Handout::Cluster) {
        Ok(usable) => env.push((
            "TOKENCTL_TOKEN".to_owned(),
            usable.token().expose().to_owned(),
        )),
        Err(err) if is_login_required(&err) => {}
        Err(err) => say!("warning: no TOKENCTL_TOKEN for the plugin: {err:#}"),
    }
    Ok(env)
}

/// An attribute as an environment value: scalars as written, lists and maps as JSON.
fn env_value(value: &serde_yaml_ng::Value) -> String {
    use serde_yaml_ng::Value;
    match value {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        Value::Bool(flag) => flag.to_string(),
        Value::Null => String::new(),
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}
