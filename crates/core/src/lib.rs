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
#[doc(hidden)]
mod client_auth;
#[doc(hidden)]
mod clock;
#[doc(hidden)]
mod config;
#[doc(hidden)]
mod dirs;
#[doc(hidden)]
mod discovery;
#[doc(hidden)]
mod flows;
#[doc(hidden)]
mod fsutil;
#[doc(hidden)]
mod http;
#[doc(hidden)]
mod idtoken;
pub mod jwt;
#[doc(hidden)]
mod logins;
pub mod oauth;
#[doc(hidden)]
mod os_keyring;
pub mod program;
pub mod provider;
pub mod secret;
pub mod session;
#[doc(hidden)]
mod text;
#[doc(hidden)]
mod tls;
#[doc(hidden)]
mod yaml_bound;

/// tokenctl's own CLI reaches the core's machinery here: the contexts files, the login store,
/// the flows. Nothing in it is a promise of this crate's version; a program uses [`Session`],
/// a dialect [`provider`] and [`oauth`].
#[doc(hidden)]
pub mod internal {
    pub mod client_auth {
        pub use crate::client_auth::*;
    }
    pub mod clock {
        pub use crate::clock::*;
    }
    pub mod config {
        pub use crate::config::*;
    }
    pub mod dirs {
        pub use crate::dirs::*;
    }
    pub mod discovery {
        pub use crate::discovery::*;
    }
    pub mod flows {
        pub use crate::flows::*;
    }
    pub mod fsutil {
        pub use crate::fsutil::*;
    }
    pub mod http {
        pub use crate::http::*;
    }
    pub mod idtoken {
        pub use crate::idtoken::*;
    }
    pub mod logins {
        pub use crate::logins::*;
    }
    pub mod os_keyring {
        pub use crate::os_keyring::*;
    }
    pub mod text {
        pub use crate::text::*;
    }
    pub mod tls {
        pub use crate::tls::*;
    }
    pub mod yaml_bound {
        pub use crate::yaml_bound::*;
    }
}

/// Re-exported for [`register_provider!`].
#[doc(hidden)]
pub use inventory;

/// A provider entry of the contexts file; a dialect's tests build one with
/// [`ProviderEntry::with_text_fields`].
pub use config::ProviderEntry;
pub use logins::LoginRequired;
pub use provider::{Endpoints, FieldKind, FieldSpec, Flow, Provider, ProviderConfig};
pub use secret::Secret;
pub use session::{Session, SessionError};
/// The URL type of [`Endpoints`] and the dialect hooks.
pub use url::Url;
