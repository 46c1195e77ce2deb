//! `auth env`: the token as shell assignments, quoted for the shell that evaluates them.

use crate::GlobalArgs;
use crate::logins::usable_login;
use crate::output;
use anyhow::Result;
use clap::{Args, ValueEnum};
use std::io::Write;
use tokenctl_core::internal::logins::{Freshness, Handout};

/// The variable the token goes in unless `--var` names another.
pub(crate) const TOKEN_VAR: &str = "TOKENCTL_TOKEN";

/// When the token in [`TOKEN_VAR`] expires (RFC 3339).
pub(crate) const EXPIRES_VAR: &str = "TOKENCTL_TOKEN_EXPIRES_AT";

/// `exec`: a 0600 file holding the token, rewritten before it goes stale.
pub(crate) const TOKEN_FILE_VAR: &str = "TOKENCTL_TOKEN_FILE";

/// A shell whose syntax `auth env` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Sh,
    Fish,
    Powershell,
}

impl Shell {
    /// The shell `$SHELL` names, else sh (bash, zsh, dash, ksh all read sh's `export`).
    fn from_env() -> Shell {
        let shell = std::env::var_os("SHELL").unwrap_or_default();
        let name = std::path::Path::new(&shell)
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or("");
        match name {
            "fish" => Shell::Fish,
            "pwsh" | "powershell" | "pwsh.exe" | "powershell.exe" => Shell::Powershell,
            _ => Shell::Sh,
        }
    }

    /// One assignment that exports `value` to programs the shell starts. POSIX quoting is
    /// shlex's; fish and PowerShell quote unlike POSIX shells, and no crate covers them.
    fn export(self, name: &str, value: &str) -> String {
        match self {
            // A NUL, which no shell can hold, leaves the variable empty.
            Shell::Sh => format!(
                "export {name}={}",
                shlex::try_quote(value).unwrap_or_else(|_| "''".into())
            ),
            Shell::Fish => format!(
                "set -gx {name} '{}';",
                value.replace('\\', r"\\").replace('\'', r"\'")
            ),
            Shell::Powershell => format!("$env:{name} = '{}'", powershell_quoted(value)),
        }
    }

    fn unset(self, name: &str) -> String {
        match self {
            Shell::Sh => format!("unset {name}"),
            Shell::Fish => format!("set -e {name};"),
            Shell::Powershell => format!("Remove-Item Env:{name} -ErrorAction SilentlyContinue"),
        }
    }
}

/// The inside of a PowerShell single-quoted string: every character PowerShell reads as a
/// single quote doubled, U+2018 to U+201B as well as `'` (its own
/// `CodeGeneration.EscapeSingleQuotedStringContent` does the same).
fn powershell_quoted(value: &str) -> String {
    let mut quoted = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}') {
            quoted.push(c);
        }
        quoted.push(c);
    }
    quoted
}

/// `--var NAME`: a name every shell takes for an environment variable.
pub(crate) fn parse_var(text: &str) -> Result<String, String> {
    let mut chars = text.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "{text:?} is not a variable name (letters, digits and _, not starting with a digit)"
        ))
    }
}

#[derive(Debug, Args)]
pub struct EnvArgs {
    /// The syntax to write (default: from $SHELL)
    #[arg(long, value_enum)]
    pub shell: Option<Shell>,
    /// The variable that holds the token
    #[arg(long, value_name = "NAME", default_value = TOKEN_VAR, value_parser = parse_var)]
    pub var: String,
}

/// `auth env`: exports of a fresh token and its expiry, for `eval "$(tokenctl auth env)"`.
pub(crate) fn run(args: EnvArgs, global: &GlobalArgs) -> Result<()> {
    let shell = args.shell.unwrap_or_else(Shell::from_env);
    let login = usable_login(global, Freshness::CLI, Handout::Access)?.login;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{}",
        shell.export(&args.var, login.access_token.expose())
    )?;
    match login.expires_at {
        Some(at) => writeln!(out, "{}", shell.export(EXPIRES_VAR, &output::rfc3339(at)))?,
        None => writeln!(out, "{}", shell.unset(EXPIRES_VAR))?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A quote PowerShell reads as `'` cannot end the literal (the security review's M5).
    #[test]
    fn powershell_doubles_every_single_quote_it_knows() {
        let hostile = "x\u{2019}; New-Item PWNED; \u{2018}'\u{201A}\u{201B}y";
        assert_eq!(
            Shell::Powershell.export("T", hostile),
            "$env:T = 'x\u{2019}\u{2019}; New-Item PWNED; \u{2018}\u{2018}''\u{201A}\u{201A}\u{201B}\u{201B}y'"
        );
    }
}
