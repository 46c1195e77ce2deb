//! `auth token`: a fresh token on stdout (the hot path answers first when it can).

use crate::GlobalArgs;
use crate::logins::{freshness, usable_login};
use crate::output::{self, DocFormat};
use anyhow::{Context, Result};
use std::io::Write;
use tokenctl_core::internal::logins::Handout;
use tokenctl_core::jwt;

// No doc comment here: the `auth` variant's is the command's help.
#[derive(Debug, clap::Args)]
pub struct TokenArgs {
    /// Renew the token when less than this remains, and fail when even a new one does not
    /// last this long (30s, 5m, 1h). Without it: renewed when less than 5 minutes, or half
    /// the lifetime of shorter-lived tokens, remain
    #[arg(long, value_name = "DURATION", value_parser = tokenctl_core::provider::parse_duration)]
    min_valid: Option<std::time::Duration>,
    /// Print the token's header and claims as JSON instead of the token
    #[arg(long)]
    decode: bool,
    /// The ID token instead of the access token
    #[arg(long)]
    id_token: bool,
}

pub(crate) fn run(args: TokenArgs, global: &GlobalArgs) -> Result<()> {
    let TokenArgs {
        min_valid,
        decode,
        id_token,
    } = args;
    let handout = if id_token {
        Handout::Id
    } else {
        Handout::Access
    };
    let usable = usable_login(global, freshness(min_valid), handout)?;
    let token = usable.token();
    if decode {
        let decoded = jwt::decode(token.expose()).context("cannot decode the token")?;
        let document = serde_json::json!({ "header": decoded.header, "claims": decoded.claims });
        output::document(&mut std::io::stdout().lock(), DocFormat::Json, &document)?;
    } else {
        writeln!(std::io::stdout().lock(), "{}", token.expose())?;
    }
    Ok(())
}
