//! `auth token`: a fresh token on stdout (the hot path answers first when it can).

use crate::GlobalArgs;
use crate::logins::{freshness, usable_login};
use crate::output::{self, DocFormat};
use anyhow::{Context, Result};
use std::io::Write;
use std::time::Duration;
use tokenctl_core::jwt;
use tokenctl_core::logins::Handout;

pub fn token(
    global: &GlobalArgs,
    min_valid: Option<Duration>,
    decode: bool,
    id_token: bool,
) -> Result<()> {
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
