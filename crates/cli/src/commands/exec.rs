//! `tokenctl exec`: a command run with a fresh token in its environment, and a token file
//! kept fresh while it runs.

use crate::GlobalArgs;
use crate::commands::auth::env::{EXPIRES_VAR, TOKEN_FILE_VAR, TOKEN_VAR, parse_var};
use crate::logins::usable_login;
use crate::output;
use anyhow::{Result, anyhow};
use clap::Args;
use std::ffi::OsString;
use tokenctl_core::internal::config::{self};
use tokenctl_core::internal::logins::{Freshness, Handout, StoredLogin, Usable};

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
pub(crate) fn run(args: ExecArgs, global: &GlobalArgs) -> Result<u8> {
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
            TokenFile::Temporary(file) => {
                tokenctl_core::internal::fsutil::write_own_file(file.path(), token)
            }
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
        let wait = at
            .saturating_sub(tokenctl_core::internal::clock::unix_now())
            .max(1);
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
