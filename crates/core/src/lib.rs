//! tokenctl-core: the provider model and registry, the contexts file, the OAuth wire and the
//! flows, and the file-system primitives every stored file goes through. No clap and no
//! terminal code live here.

pub mod base_url;
pub mod client_auth;
pub mod clock;
pub mod config;
pub mod dirs;
pub mod discovery;
pub mod flows;
pub mod fsutil;
pub mod http;
pub mod idtoken;
pub mod jwt;
pub mod logins;
pub mod oauth;
pub mod os_keyring;
pub mod program;
pub mod provider;
pub mod secret;
pub mod session;
pub mod text;
pub mod tls;
pub mod yaml_bound;

/// Re-exported for [`register_provider!`].
#[doc(hidden)]
pub use inventory;

pub use logins::LoginRequired;
pub use provider::{Endpoints, FieldKind, FieldSpec, Flow, Provider, ProviderConfig};
pub use secret::Secret;
pub use session::{Session, SessionError};
/// The URL type of [`Endpoints`] and the dialect hooks.
pub use url::Url;
