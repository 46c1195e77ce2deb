//! Generated files: completion scripts and man pages, from the one command definition.
//! `cargo xtask gen` writes them; a test fails when the committed copies are stale.

use std::path::Path;

use anyhow::Result;
use clap_mangen::roff::{Roff, bold, italic, roman};

use crate::commands::completion::{SHELLS, script};
use crate::examples;

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

/// Writes one man page per command (`tokenctl-auth-use-context.1`, …) into `dir`: clap_mangen's
/// sections, then EXAMPLES, EXIT STATUS, ENVIRONMENT, FILES and SEE ALSO, which it has no
/// notion of.
pub fn write_man_pages(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut root = crate::command().disable_help_subcommand(true);
    root.build();
    write_page(&root, "", &[], dir)
}

fn write_page(cmd: &clap::Command, path: &str, parents: &[String], dir: &Path) -> Result<()> {
    let page = page_name(cmd);
    let mut lineage = parents.to_vec();
    lineage.push(page.clone());
    let children: Vec<&clap::Command> = cmd
        .get_subcommands()
        .filter(|sub| !sub.is_hide_set())
        .collect();
    for sub in &children {
        write_page(sub, &join(path, sub.get_name()), &lineage, dir)?;
    }
    let man = clap_mangen::Man::new(cmd.clone());
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    if cmd.get_arguments().any(|arg| !arg.is_hide_set()) {
        man.render_options_section(&mut out)?;
    }
    if !children.is_empty() {
        man.render_subcommands_section(&mut out)?;
    }
    let mut roff = Roff::new();
    if let Some(notes) = cmd.get_after_help().map(ToString::to_string) {
        let notes = examples::without_examples(&notes);
        if !notes.is_empty() {
            roff.control("SH", ["NOTES"]);
            roff.control("nf", []);
            roff.text([roman(notes)]);
            roff.control("fi", []);
        }
    }
    roff.control("SH", ["EXAMPLES"]);
    for (what, line) in examples::examples(path) {
        roff.control("PP", []);
        roff.text([roman(*what)]);
        roff.control("RS", ["4"]);
        roff.control("nf", []);
        roff.text([bold(examples::folded(line).join("\n"))]);
        roff.control("fi", []);
        roff.control("RE", []);
    }
    definitions(&mut roff, "EXIT STATUS", examples::EXIT_STATUS);
    definitions(&mut roff, "ENVIRONMENT", examples::ENVIRONMENT);
    definitions(&mut roff, "FILES", examples::FILES);
    roff.control("SH", ["SEE ALSO"]);
    let mut see: Vec<String> = parents.to_vec();
    see.extend(children.iter().map(|sub| page_name(sub)));
    if see.is_empty() {
        see.push("tokenctl".into());
    }
    let mut refs = Vec::new();
    for (i, name) in see.iter().chain(["kubectl".to_owned()].iter()).enumerate() {
        if i > 0 {
            refs.push(roman(", "));
        }
        refs.push(bold(name.clone()));
        refs.push(roman("(1)"));
    }
    roff.text(refs);
    out.extend_from_slice(roff.render().as_bytes());
    man.render_version_section(&mut out)?;
    std::fs::write(dir.join(format!("{page}.1")), out)?;
    Ok(())
}

/// `.TP` definitions: a bold term and its text.
fn definitions(roff: &mut Roff, title: &str, items: &[(&str, &str)]) {
    roff.control("SH", [title]);
    for (term, text) in items {
        roff.control("TP", []);
        if term.starts_with('(') {
            roff.text([italic(*term)]);
        } else {
            roff.text([bold(*term)]);
        }
        roff.text([roman(*text)]);
    }
}

/// The page's name: `tokenctl-auth-login` (clap's display name once the tree is built).
fn page_name(cmd: &clap::Command) -> String {
    cmd.get_display_name()
        .unwrap_or_else(|| cmd.get_name())
        .to_owned()
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path} {name}")
    }
}
