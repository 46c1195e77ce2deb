//! Okta as a tokenctl dialect, written outside tokenctl: an org (`https://dev-123.okta.com`)
//! and one of its authorization servers (`default`, or a custom one's id), whose issuer is
//! `{org}/oauth2/{server}` with every endpoint below `/v1`. Registering it is one macro; the
//! flows, the token store, the refresh rules and the checks of an ID token are tokenctl's.

use tokenctl_core::base_url::join_path;
use tokenctl_core::provider::FieldError;
use tokenctl_core::{Endpoints, FieldKind, FieldSpec, Flow, Provider, ProviderConfig};

/// The `kind: okta` dialect.
pub struct Okta;

/// Okta's own authorization server, which every org has.
pub const DEFAULT_AUTHORIZATION_SERVER: &str = "default";

const FIELDS: &[FieldSpec] = &[
    FieldSpec::required(
        "org-url",
        FieldKind::BaseUrl,
        "the Okta org's URL (https://dev-123.okta.com)",
    ),
    FieldSpec::optional(
        "authorization-server",
        FieldKind::Text,
        "the authorization server's id, as in {org}/oauth2/{id} (default: default)",
    ),
];

impl Provider for Okta {
    fn kind(&self) -> &'static str {
        "okta"
    }

    fn description(&self) -> &'static str {
        "Okta org, through one of its authorization servers (browser, device, client credentials)"
    }

    fn dialect_fields(&self) -> &'static [FieldSpec] {
        FIELDS
    }

    fn flows(&self) -> &'static [Flow] {
        &[
            Flow::Browser,
            Flow::Device,
            Flow::ClientCredentials,
            Flow::Password,
            Flow::Token,
        ]
    }

    fn endpoints(&self, config: &ProviderConfig<'_>) -> Result<Endpoints, FieldError> {
        let org = config.base_url("org-url")?;
        let server = config
            .text("authorization-server")
            .unwrap_or(DEFAULT_AUTHORIZATION_SERVER);
        let issuer = join_path(&org, &format!("oauth2/{server}"));
        let v1 = |path: &str| Some(join_path(&issuer, &format!("v1/{path}")));
        Ok(Endpoints {
            discovery: Some(join_path(&issuer, ".well-known/openid-configuration")),
            authorization: v1("authorize"),
            token: v1("token"),
            device_authorization: v1("device/authorize"),
            revocation: v1("revoke"),
            end_session: v1("logout"),
            jwks: v1("keys"),
            issuer: Some(issuer),
            ..Endpoints::default()
        })
    }

    /// An id, not a path: `/oauth2/` is added here.
    fn validate_extra(&self, config: &ProviderConfig<'_>) -> Vec<FieldError> {
        match config.text("authorization-server") {
            Some(id) if id.is_empty() || id.contains('/') => vec![FieldError::new(
                "authorization-server",
                "is an authorization server's id (default, aus1a2b3c…), not a path",
            )],
            _ => Vec::new(),
        }
    }
}

tokenctl_core::register_provider!(Okta);

/// docs/providers.md, the dialect guide: its code is compiled as this crate's doc tests, so the
/// guide cannot drift from the API it teaches.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/providers.md")]
pub struct DialectGuide;

#[cfg(test)]
mod tests {
    use super::*;
    use tokenctl_core::ProviderEntry;
    use tokenctl_core::provider::validate_provider;

    #[test]
    fn endpoints_hang_off_the_authorization_server() {
        let entry = ProviderEntry::with_text_fields(
            "okta",
            "okta",
            &[
                ("org-url", "https://dev-123.okta.com"),
                ("client-id", "cli"),
            ],
        );
        let endpoints = Okta.endpoints(&entry.as_config()).unwrap();
        assert_eq!(
            endpoints.issuer.unwrap().as_str(),
            "https://dev-123.okta.com/oauth2/default"
        );
        assert_eq!(
            endpoints.token.unwrap().as_str(),
            "https://dev-123.okta.com/oauth2/default/v1/token"
        );
    }

    #[test]
    fn an_authorization_server_is_an_id() {
        let entry = ProviderEntry::with_text_fields(
            "okta",
            "okta",
            &[
                ("org-url", "https://dev-123.okta.com"),
                ("client-id", "cli"),
                ("authorization-server", "oauth2/default"),
            ],
        );
        let problems = validate_provider(&Okta, &entry.as_config());
        assert!(
            problems.iter().any(|p| p.field == "authorization-server"),
            "{problems:?}"
        );
    }
}
