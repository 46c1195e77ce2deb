//! Generated files: completion scripts and man pages, from the one command definition.
//! `cargo xtask gen` writes them; a test fails when the committed copies are stale.

use std::path::Path;

use anyhow::Result;

use crate::complete::{SHELLS, script};

/// The file name of each shell's script in `completions/`.
pub fn completion_file_name(shell: &str) -> String {
    match shell {
        "bash" => "tokenctl.bash".into(),
        "zsh" => "_tokenctl".into(),
        "fish" => "tokenctl.fish".into(),
        "powershell" => "_tokenctl.ps1".into(),
        "elvish" => "tokenctl.elv".into(),
        other => format!("tokenctl.{other}"),
    }
}

/// Writes every shell's completion script into `dir`.
pub fn write_completions(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    for shell in SHELLS {
        std::fs::write(dir.join(completion_file_name(shell)), script(shell)?)?;
    }
    Ok(())
}

/// Writes one man page per command (`tokenctl-auth-use-context.1`, …) into `dir`.
pub fn write_man_pages(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    clap_mangen::generate_to(crate::command(), dir)?;
    Ok(())
}
