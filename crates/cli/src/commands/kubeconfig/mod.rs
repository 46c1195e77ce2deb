//! The `kubeconfig` group: `setup`, `import` and `remove`, a file each, over the kubeconfig
//! document (`document.rs`: read, locked as client-go locks it, edited, backed up).

mod document;
mod import;
mod remove;
mod setup;

use crate::GlobalArgs;
use anyhow::Result;
use std::path::PathBuf;
use tokenctl_core::internal::config::TokenKind;

#[derive(Debug, clap::Subcommand)]
pub enum KubeconfigCommand {
    /// Add or update a kubeconfig user that runs `tokenctl auth exec-credential`, with a
    /// cluster and a context for the tokenctl context's cluster; everything else is kept
    Setup {
        /// kubeconfig to edit (default: the first file of KUBECONFIG, else ~/.kube/config)
        #[arg(long, value_name = "PATH", value_hint = clap::ValueHint::FilePath)]
        kubeconfig: Option<PathBuf>,
        /// Replace a cluster or context of the same name that tokenctl did not write (the
        /// kubeconfig is copied to <kubeconfig>.tokenctl-backup first)
        #[arg(long)]
        force: bool,
        /// The token kubectl sends: `id` (what Kubernetes' OIDC authenticator validates) or
        /// `access`; written as the context's `cluster-token`. Without it, a context that has
        /// none gets `id`, or `access` for azure, and an existing choice is kept
        #[arg(long, value_name = "KIND", value_parser = clap::builder::PossibleValuesParser::new(TokenKind::NAMES))]
        cluster_token: Option<String>,
        /// A user that follows TOKENCTL_CONTEXT, .tokenctl and current-context, for contexts
        /// whose cluster is the one kubectl calls (kubectl tells it, provideClusterInfo);
        /// without it, kubectl always uses this context
        #[arg(long)]
        follow: bool,
    },
    /// Turn each kubeconfig user that runs int128/kubelogin (`kubectl oidc-login get-token`)
    /// or Azure kubelogin (`kubelogin get-token`) into a tokenctl provider and context, and
    /// point the user at `tokenctl auth exec-credential` (the kubeconfig is copied to
    /// <kubeconfig>.tokenctl-backup first)
    Import {
        /// kubeconfig to read (default: the first file of KUBECONFIG, else ~/.kube/config)
        #[arg(long, value_name = "PATH", value_hint = clap::ValueHint::FilePath)]
        kubeconfig: Option<PathBuf>,
        /// Say what would be imported and change nothing
        #[arg(long)]
        dry_run: bool,
        /// Create the tokenctl entries but leave the kubeconfig's users as they are
        #[arg(long)]
        keep: bool,
    },
    /// Remove what `kubeconfig setup` wrote for the context: its user, and the context and
    /// cluster that point at it (a cluster other contexts use stays)
    Remove {
        /// kubeconfig to edit (default: the first file of KUBECONFIG, else ~/.kube/config)
        #[arg(long, value_name = "PATH", value_hint = clap::ValueHint::FilePath)]
        kubeconfig: Option<PathBuf>,
    },
}

pub(crate) fn run(command: KubeconfigCommand, global: &GlobalArgs) -> Result<()> {
    match command {
        KubeconfigCommand::Setup {
            kubeconfig,
            force,
            cluster_token,
            follow,
        } => setup::run(
            global,
            kubeconfig,
            force,
            cluster_token.as_deref().and_then(TokenKind::parse),
            follow,
        ),
        KubeconfigCommand::Remove { kubeconfig } => remove::run(global, kubeconfig),
        KubeconfigCommand::Import {
            kubeconfig,
            dry_run,
            keep,
        } => import::run(global, kubeconfig, dry_run, keep),
    }
}
