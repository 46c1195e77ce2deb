use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // Completion requests (COMPLETE=bash tokenctl -- …) are answered here and exit; this comes
    // before anything else so TAB stays fast and side-effect free.
    clap_complete::CompleteEnv::with_factory(tokenctl_cli::command).complete();
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(code) = tokenctl_cli::hot::try_serve(&args) {
        return code;
    }
    tokenctl_cli::run(tokenctl_cli::Cli::parse_from(args))
}
