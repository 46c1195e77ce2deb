//! `tokenctl version [-o json]`: what a bug report needs: the version, the commit, the target,
//! and whether the binary is position-independent.

use std::io::Write;

use anyhow::Result;
use clap::Args;
use serde::Serialize;

use crate::output::{self, DocFormat};

#[derive(Debug, Args)]
pub struct VersionArgs {
    /// `json`: the same facts as a JSON document (version, commit, target, pie)
    #[arg(short, long, value_name = "FORMAT", value_parser = ["json"])]
    output: Option<String>,
}

/// How this binary was built (build.rs says).
#[derive(Serialize)]
struct Build {
    version: &'static str,
    commit: &'static str,
    target: &'static str,
    pie: bool,
}

pub(crate) fn run(args: &VersionArgs) -> Result<()> {
    let build = Build {
        version: env!("CARGO_PKG_VERSION"),
        commit: env!("TOKENCTL_COMMIT"),
        target: env!("TOKENCTL_TARGET"),
        pie: env!("TOKENCTL_PIE_BUILT") == "true",
    };
    let mut out = std::io::stdout().lock();
    if args.output.is_some() {
        return output::document(&mut out, DocFormat::Json, &build);
    }
    let linked = if build.pie {
        "position-independent (PIE)"
    } else {
        "position-dependent (TOKENCTL_PIE=1 builds PIE)"
    };
    writeln!(
        out,
        "tokenctl {}\ncommit: {}\ntarget: {}\nlinked: {linked}",
        build.version, build.commit, build.target
    )?;
    Ok(())
}
