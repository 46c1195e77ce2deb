//! The async runtime the network commands run on (the hot path has none).

use anyhow::{Context, Result};

/// Runs async work on a runtime of this thread (network commands only; the hot path has none).
pub(crate) fn block_on<F: std::future::Future>(work: F) -> Result<F::Output> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    Ok(runtime.block_on(work))
}
