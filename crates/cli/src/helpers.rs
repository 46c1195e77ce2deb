//! Tokens for programs that cannot do OAuth: `auth env` (exports to `eval`), `exec` (a command
//! with a fresh token in its environment, and a file kept fresh), and the credential-helper
//! protocols of git (`auth git-credential`) and Docker (`docker-credential-tokenctl`). Which
//! context a host maps to, and when a token is renewed, are core's rules.

use std::ffi::OsString;
use std::io::{BufRead, Write};

use anyhow::{Result, anyhow, bail};
use clap::{Args, ValueEnum};
use tokenctl_core::config::hosts::HostMap;
use tokenctl_core::config::{self, ConfigSet};
use tokenctl_core::logins::{Freshness, Handout, StoredLogin, Usable};

use crate::GlobalArgs;
use crate::output;
use crate::runtime::block_on;
use crate::tokens::{self, usable_login};

/// The variable the token goes in unless `--var` names another.
pub const TOKEN_VAR: &str = "TOKENCTL_TOKEN";
/// When the token in [`TOKEN_VAR`] expires (RFC 3339).
pub const EXPIRES_VAR: &str = "TOKENCTL_TOKEN_EXPIRES_AT";
/// `exec`: a 0600 file holding the token, rewritten before it goes stale.
pub const TOKEN_FILE_VAR: &str = "TOKENCTL_TOKEN_FILE";

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
fn parse_var(text: &str) -> Result<String, String> {
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
pub fn env(global: &GlobalArgs, args: EnvArgs) -> Result<()> {
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

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// The variable that holds the token
    #[arg(long, value_name = "NAME", default_value = TOKEN_VAR, value_parser = parse_var)]
    pub var: String,
    /// The command and its arguments (after `--`)
    #[arg(required = true, trailing_var_arg = true, value_name = "COMMAND")]
    pub command: Vec<OsString>,
}

/// `exec -- CMD ARGS…`: runs the command with a fresh token in `--var`, its expiry, and
/// TOKENCTL_TOKEN_FILE, a 0600 file rewritten before the token goes stale while the command
/// runs, and gone after ([`TokenFile`]). The command's exit status is returned (128+N after
/// signal N).
pub fn exec(global: &GlobalArgs, args: ExecArgs) -> Result<u8> {
    let Usable { context, login, .. } = usable_login(global, Freshness::CLI, Handout::Access)?;
    let (program, rest) = args
        .command
        .split_first()
        .ok_or_else(|| anyhow!("no command given: tokenctl exec -- COMMAND [ARGS…]"))?;
    let file = std::sync::Arc::new(TokenFile::create()?);
    let path = file.path();
    file.write(&login)?;
    let mut command = std::process::Command::new(program);
    command
        .args(rest)
        .env(&args.var, login.access_token.expose())
        .env(TOKEN_FILE_VAR, &path)
        .env(config::CONTEXT_ENV, &context);
    match login.expires_at {
        Some(at) => command.env(EXPIRES_VAR, output::rfc3339(at)),
        None => command.env_remove(EXPIRES_VAR),
    };
    let mut child = command
        .spawn()
        .map_err(|err| anyhow!("cannot run {}: {err}", program.to_string_lossy()))?;
    // Ctrl-C reaches the command (same process group); tokenctl stays to clean up after it.
    #[cfg(unix)]
    // SAFETY: changes this process's disposition of two signals; the child already runs with
    // its own.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_IGN);
        libc::signal(libc::SIGQUIT, libc::SIG_IGN);
    }
    {
        // Ends with the process: nothing to join.
        let global = GlobalArgs {
            context: Some(context),
            ..global.clone()
        };
        let file = file.clone();
        std::thread::spawn(move || keep_fresh(&global, &file, login));
    }
    let status = child.wait()?;
    drop(file);
    Ok(exit_code(status))
}

/// Where `exec`'s command reads its token. On Linux a memory file (memfd) the command
/// inherits and reads as `/dev/fd/N`: it is never on a disk, and ends with the last process
/// that holds it, so no signal to tokenctl (SIGKILL included) leaves it behind. Elsewhere a
/// 0600 temporary file, removed when tokenctl ends.
enum TokenFile {
    #[cfg(target_os = "linux")]
    Memory(std::fs::File),
    #[cfg(not(target_os = "linux"))]
    Temporary(tempfile::NamedTempFile),
}

impl TokenFile {
    #[cfg(target_os = "linux")]
    fn create() -> Result<TokenFile> {
        use std::os::fd::FromRawFd;
        // No MFD_CLOEXEC: the command inherits it.
        // SAFETY: a valid NUL-terminated name; the descriptor returned is owned by the File.
        let fd = unsafe { libc::memfd_create(c"tokenctl-token".as_ptr(), 0) };
        if fd < 0 {
            return Err(anyhow!(
                "cannot create the token file: {}",
                std::io::Error::last_os_error()
            ));
        }
        // SAFETY: fd is a new descriptor nothing else owns.
        let file = unsafe { std::fs::File::from_raw_fd(fd) };
        file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
        Ok(TokenFile::Memory(file))
    }

    #[cfg(not(target_os = "linux"))]
    fn create() -> Result<TokenFile> {
        let dir = std::env::var_os("XDG_RUNTIME_DIR")
            .map(std::path::PathBuf::from)
            .filter(|dir| dir.is_absolute() && dir.is_dir())
            .unwrap_or_else(std::env::temp_dir);
        // A link there is the person's (macOS's /tmp), not one planted in tokenctl's own
        // directories: the token file goes where it leads.
        let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
        let file = tempfile::Builder::new()
            .prefix("tokenctl-token-")
            .tempfile_in(&dir)
            .map_err(|err| anyhow!("cannot create the token file in {}: {err}", dir.display()))?;
        Ok(TokenFile::Temporary(file))
    }

    fn path(&self) -> std::path::PathBuf {
        match self {
            #[cfg(target_os = "linux")]
            TokenFile::Memory(file) => {
                format!("/dev/fd/{}", std::os::fd::AsRawFd::as_raw_fd(file)).into()
            }
            #[cfg(not(target_os = "linux"))]
            TokenFile::Temporary(file) => file.path().to_path_buf(),
        }
    }

    /// Puts the login's access token in the file: a memory file is rewritten in place (the new
    /// token first, then the length), a temporary file replaced atomically.
    fn write(&self, login: &StoredLogin) -> Result<()> {
        let token = login.access_token.expose().as_bytes();
        let written = match self {
            #[cfg(target_os = "linux")]
            TokenFile::Memory(file) => std::os::unix::fs::FileExt::write_all_at(file, token, 0)
                .and_then(|()| file.set_len(token.len() as u64)),
            #[cfg(not(target_os = "linux"))]
            TokenFile::Temporary(file) => tokenctl_core::fsutil::write_own_file(file.path(), token),
        };
        written.map_err(|err| {
            anyhow!(
                "{}: cannot write the token file: {err}",
                self.path().display()
            )
        })
    }
}

/// Rewrites the token file whenever the token stops counting as fresh, until the process ends.
fn keep_fresh(global: &GlobalArgs, file: &TokenFile, mut login: StoredLogin) {
    loop {
        let Some(at) = Freshness::CLI.renew_at(&login) else {
            return; // a token without an expiry never needs renewing
        };
        let wait = at.saturating_sub(tokenctl_core::clock::unix_now()).max(1);
        std::thread::sleep(std::time::Duration::from_secs(
            u64::try_from(wait).unwrap_or(1),
        ));
        match usable_login(global, Freshness::CLI, Handout::Access) {
            Ok(Usable { login: fresh, .. }) => {
                if let Err(err) = file.write(&fresh) {
                    output::warnings(&[format!("{err:#}")]);
                }
                login = fresh;
            }
            Err(err) => {
                output::warnings(&[format!("the token file is not renewed: {err:#}")]);
                return;
            }
        }
    }
}

/// A child's exit status as a shell reports it.
fn exit_code(status: std::process::ExitStatus) -> u8 {
    #[cfg(unix)]
    if let Some(signal) = std::os::unix::process::ExitStatusExt::signal(&status) {
        return u8::try_from(128 + signal.clamp(0, 127)).unwrap_or(255);
    }
    status
        .code()
        .and_then(|code| u8::try_from(code.clamp(0, 255)).ok())
        .unwrap_or(1)
}

/// What git asks a credential helper.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GitOperation {
    Get,
    Store,
    Erase,
}

/// `key=value` lines up to a blank line or the end, as git's credential protocol sends them.
fn read_git_request(input: impl BufRead) -> Result<Vec<(String, String)>> {
    let mut fields = Vec::new();
    for line in input.lines().take(1000) {
        let line = line?;
        if line.is_empty() {
            break;
        }
        if let Some((key, value)) = line.split_once('=') {
            fields.push((key.to_owned(), value.to_owned()));
        }
    }
    Ok(fields)
}

/// `auth git-credential get|store|erase`: git's credential-helper protocol. `get` answers the
/// hosts mapped by a context's `git-hosts` (an unmapped host gets nothing, and git asks the
/// next helper); `erase` (git's answer to a 401) makes the next `get` renew; `store` does
/// nothing: the token is tokenctl's to keep.
pub fn git_credential(global: &GlobalArgs, operation: GitOperation) -> Result<()> {
    let request = read_git_request(std::io::stdin().lock())?;
    let field = |name: &str| {
        request
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    if operation == GitOperation::Store {
        return Ok(());
    }
    let (Some(protocol), Some(host)) = (field("protocol"), field("host")) else {
        return Ok(());
    };
    if protocol != "https" && !(protocol == "http" && loopback(host)) {
        return Ok(());
    }
    let set = ConfigSet::load_valid(&global.config_paths())?;
    let Some(context) = set.context_for_host(HostMap::Git, host)? else {
        return Ok(());
    };
    let name = context.name.clone();
    let username = HostMap::Git.username(context).to_owned();
    let global = GlobalArgs {
        context: Some(name.clone()),
        ..global.clone()
    };
    match operation {
        GitOperation::Get => {
            let login = usable_login(&global, Freshness::CLI, Handout::Access)?.login;
            let mut out = std::io::stdout().lock();
            writeln!(out, "username={username}")?;
            writeln!(out, "password={}", login.access_token.expose())?;
            if let Some(at) = login.expires_at {
                writeln!(out, "password_expiry_utc={at}")?;
            }
        }
        GitOperation::Erase => {
            let logins = tokens::logins(&global)?;
            block_on(logins.distrust_access_token(Some(&name), field("password")))??;
        }
        GitOperation::Store => {}
    }
    Ok(())
}

/// The name Docker runs a credential helper by: `credsStore: tokenctl` in
/// ~/.docker/config.json runs `docker-credential-tokenctl`.
pub const DOCKER_HELPER: &str = "docker-credential-tokenctl";

/// Docker's "not found" answer, which it takes for "no credentials here".
const DOCKER_NOT_FOUND: &str = "credentials not found in native keychain";

/// `docker-credential-tokenctl get|list|store|erase|version`: Docker's credential-helper
/// protocol for the registries mapped by a context's `registries`.
pub fn docker_credential(args: &[OsString]) -> u8 {
    let global = GlobalArgs::defaults();
    let operation = args.get(1).and_then(|arg| arg.to_str()).unwrap_or("");
    let result = match operation {
        "get" => docker_get(&global),
        "list" => docker_list(&global),
        // Docker hands over what `docker login` was given; the tokens are tokenctl's.
        "store" | "erase" => std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink())
            .map(drop)
            .map_err(Into::into),
        "version" => {
            println!("{DOCKER_HELPER} (tokenctl {})", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        _ => Err(anyhow!(
            "usage: {DOCKER_HELPER} get|list|store|erase|version (Docker runs it for `credsStore: tokenctl` or `credHelpers`)"
        )),
    };
    match result {
        Ok(()) => 0,
        Err(err) => {
            // Docker reads the helper's stdout for the reason.
            println!("{err:#}");
            1
        }
    }
}

fn docker_get(global: &GlobalArgs) -> Result<()> {
    let mut server = String::new();
    std::io::stdin().lock().read_line(&mut server)?;
    let server = server.trim();
    // As for git: an explicit plain-http registry gets no token, unless it is this machine.
    if let Some(host) = server
        .get(..7)
        .filter(|scheme| scheme.eq_ignore_ascii_case("http://"))
        .map(|_| &server[7..])
        && !loopback(host.split('/').next().unwrap_or_default())
    {
        bail!("{DOCKER_NOT_FOUND}");
    }
    let set = ConfigSet::load_valid(&global.config_paths())?;
    let Some(context) = set.context_for_host(HostMap::Registry, server)? else {
        bail!("{DOCKER_NOT_FOUND}");
    };
    let username = HostMap::Registry.username(context).to_owned();
    let global = GlobalArgs {
        context: Some(context.name.clone()),
        ..global.clone()
    };
    let login = usable_login(&global, Freshness::CLI, Handout::Access)?.login;
    let reply = serde_json::json!({
        "ServerURL": server,
        "Username": username,
        "Secret": login.access_token.expose(),
    });
    println!("{reply}");
    Ok(())
}

/// Whether `host` (`name[:port]`) is this machine: a token never goes over plain http to
/// another (core's rule for URLs).
fn loopback(host: &str) -> bool {
    url::Url::parse(&format!("http://{host}/"))
        .is_ok_and(|url| tokenctl_core::base_url::is_loopback(&url))
}

fn docker_list(global: &GlobalArgs) -> Result<()> {
    let set = ConfigSet::load_valid(&global.config_paths())?;
    let listed: serde_json::Map<String, serde_json::Value> = set
        .mapped_hosts(HostMap::Registry)
        .into_iter()
        .map(|(host, context)| {
            (
                host.to_owned(),
                HostMap::Registry.username(context).to_owned().into(),
            )
        })
        .collect();
    println!("{}", serde_json::Value::Object(listed));
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
