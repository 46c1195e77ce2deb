//! tokenctl-core: the framework under tokenctl. Two kinds of code build on it:
//!
//! - **A dialect** teaches tokenctl one identity provider: where its endpoints are, which
//!   fields an entry of its kind takes, its flows and quirks ([`Provider`], registered with
//!   [`register_provider!`]). The flows, PKCE, ID token checks, the token store and its refresh
//!   rules are the core's; a token endpoint that does not speak form-encoded OAuth brings its
//!   own [`oauth::TokenWire`]. The dialect guide is `docs/providers.md`.
//! - **A program** calls an API with the login `tokenctl auth login` (or a host CLI built on
//!   `tokenctl-cli`) stored: [`Session`] hands out a fresh token, renewed under the same lock
//!   and rules as the CLI's; [`SessionError::LoginRequired`] says why a person must sign in
//!   ([`LoginRequired`]), with a hint that names the program that runs ([`program`]).
//!
//! The rest of the crate serves tokenctl's own CLI and is not part of this API.
//!
//! A dialect, registered and used:
//!
//! ```
//! use tokenctl_core::base_url::join_path;
//! use tokenctl_core::provider::{FieldError, provider};
//! use tokenctl_core::{Endpoints, FieldKind, FieldSpec, Flow, Provider, ProviderConfig, ProviderEntry};
//!
//! struct Corp;
//!
//! const FIELDS: &[FieldSpec] =
//!     &[FieldSpec::required("server", FieldKind::BaseUrl, "the sign-on server's URL")];
//!
//! impl Provider for Corp {
//!     fn kind(&self) -> &'static str { "corp" }
//!     fn description(&self) -> &'static str { "Corp's single sign-on" }
//!     fn dialect_fields(&self) -> &'static [FieldSpec] { FIELDS }
//!     fn flows(&self) -> &'static [Flow] { &[Flow::Browser, Flow::Device] }
//!     fn endpoints(&self, config: &ProviderConfig<'_>) -> Result<Endpoints, FieldError> {
//!         let server = config.base_url("server")?;
//!         Ok(Endpoints {
//!             token: Some(join_path(&server, "oauth/token")),
//!             issuer: Some(server),
//!             ..Endpoints::default()
//!         })
//!     }
//! }
//!
//! tokenctl_core::register_provider!(Corp);
//!
//! let corp = provider("corp").expect("registered at link time");
//! let entry = ProviderEntry::with_text_fields(
//!     "sso",
//!     "corp",
//!     &[("server", "https://login.corp.example"), ("client-id", "cli")],
//! );
//! let endpoints = corp.endpoints(&entry.as_config()).unwrap();
//! assert_eq!(endpoints.token.unwrap().as_str(), "https://login.corp.example/oauth/token");
//! ```

#![warn(missing_docs)]

pub mod base_url;
pub mod jwt;
pub mod oauth;
pub mod program;
pub mod provider;
pub mod secret;
pub mod session;

// The core's own modules: private, each marked `#![doc(hidden)]`, and reached by tokenctl's
// CLI under `internal`.
mod challenge;
mod client_auth;
mod clock;
mod config;
mod dirs;
mod discovery;
mod flows;
mod fsutil;
mod http;
mod idtoken;
mod logins;
mod os_keyring;
mod text;
mod tls;
mod yaml_bound;

/// The core's machinery for tokenctl's own CLI: the contexts files, the login store, the flows.
/// Nothing here is promised across versions; a program uses [`Session`], a dialect [`provider`]
/// and [`oauth`].
#[doc(hidden)]
pub mod internal {
    /// `pub mod m { pub use crate::m::*; }` for each module named.
    macro_rules! reexport {
        ($($module:ident),* $(,)?) => {
            $(pub mod $module {
                pub use crate::$module::*;
            })*
        };
    }
    reexport!(
        challenge,
        client_auth,
        clock,
        config,
        dirs,
        discovery,
        flows,
        fsutil,
        http,
        idtoken,
        logins,
        os_keyring,
        text,
        tls,
        yaml_bound,
    );
}

/// Re-exported for [`register_provider!`].
#[doc(hidden)]
pub use inventory;

/// A provider entry of the contexts file; a dialect's tests build one with
/// [`ProviderEntry::with_text_fields`].
pub use config::ProviderEntry;
pub use logins::{LoginRequired, Removed};
pub use provider::{Endpoints, FieldKind, FieldSpec, Flow, Provider, ProviderConfig};
pub use secret::Secret;
pub use session::{Session, SessionError};
/// The URL type of [`Endpoints`] and the dialect hooks.
pub use url::Url;
