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

/// How this binary was built (build.rs says), and how it was linked (it says itself).
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
        pie: position_independent(),
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

/// Whether the running binary is position-independent: on Linux its ELF type is `ET_DYN`
/// (whatever built it: tokenctl's own link, or a host CLI's); macOS and Windows binaries always
/// are.
fn position_independent() -> bool {
    if !cfg!(target_os = "linux") {
        return true;
    }
    let mut header = [0u8; 18];
    let read = tokenctl_core::internal::fsutil::open_stream(std::path::Path::new("/proc/self/exe"))
        .and_then(|mut exe| std::io::Read::read_exact(&mut exe, &mut header));
    if read.is_err() || header[..4] != *b"\x7fELF" {
        return false;
    }
    // e_type, in the byte order EI_DATA names (2: big-endian).
    let kind = [header[16], header[17]];
    let e_type = if header[5] == 2 {
        u16::from_be_bytes(kind)
    } else {
        u16::from_le_bytes(kind)
    };
    e_type == 3
}
