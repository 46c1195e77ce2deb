//! Auth0: `https://{domain}/…`, an `audience` on every request, an issuer with a trailing `/`.

use tokenctl_core::base_url::join_path;
use tokenctl_core::provider::{AssertionAudience, FieldError};
use tokenctl_core::{Endpoints, FieldKind, FieldSpec, Flow, Provider, ProviderConfig};

pub struct Auth0;

const FIELDS: &[FieldSpec] = &[
    FieldSpec::required(
        "domain",
        FieldKind::BaseUrl,
        "tenant domain (netfoundry-production.auth0.com) or a custom domain",
    ),
    FieldSpec::optional(
        "audience",
        FieldKind::Text,
        "API identifier sent as `audience` on authorize, device and token requests",
    ),
];

impl Provider for Auth0 {
    fn kind(&self) -> &'static str {
        "auth0"
    }

    fn description(&self) -> &'static str {
        "Auth0 tenant (client credentials with audience, browser, device, password)"
    }

    fn dialect_fields(&self) -> &'static [FieldSpec] {
        FIELDS
    }

    fn flows(&self) -> &'static [Flow] {
        &[
            Flow::ClientCredentials,
            Flow::Browser,
            Flow::Device,
            Flow::Password,
            Flow::Token,
            Flow::Exchange,
        ]
    }

    /// Auth0 issues tokens for an API only when told which: `audience` on every request.
    fn extra_params(&self, config: &ProviderConfig<'_>, _flow: Flow) -> Vec<(String, String)> {
        config
            .text("audience")
            .map(|audience| vec![("audience".to_owned(), audience.to_owned())])
            .unwrap_or_default()
    }

    fn assertion_audience(&self) -> AssertionAudience {
        AssertionAudience::IssuerAsIs
    }

    /// "Default Audience does not affect the Client Credentials flow" (auth0/docs#9123): an
    /// application's own token needs `audience`, which Auth0 would otherwise refuse with a bare
    /// access_denied.
    fn check_request(
        &self,
        config: &ProviderConfig<'_>,
        flow: Flow,
        _scopes: &[String],
    ) -> Result<(), String> {
        if flow == Flow::ClientCredentials && config.text("audience").is_none() {
            return Err(format!(
                "Auth0's client credentials need the API's audience: `{} config set-provider {} --audience https://YOUR-API/`",
                tokenctl_core::program::name(),
                config.name
            ));
        }
        Ok(())
    }

    fn endpoints(&self, config: &ProviderConfig<'_>) -> Result<Endpoints, FieldError> {
        let domain = config.base_url("domain")?;
        let at = |path: &str| Some(join_path(&domain, path));
        Ok(Endpoints {
            issuer: at("/"),
            discovery: at(".well-known/openid-configuration"),
            authorization: at("authorize"),
            token: at("oauth/token"),
            device_authorization: at("oauth/device/code"),
            revocation: at("oauth/revoke"),
            end_session: at("v2/logout"),
            jwks: at(".well-known/jwks.json"),
            ..Endpoints::default()
        })
    }
}

tokenctl_core::register_provider!(Auth0);

#[cfg(test)]
mod tests {
    use super::*;
    use tokenctl_core::ProviderEntry;

    #[test]
    fn endpoints_hang_off_the_domain_and_the_issuer_ends_in_a_slash() {
        let nf = ProviderEntry::with_text_fields(
            "nf",
            "auth0",
            &[
                ("domain", "netfoundry-production.auth0.com"),
                ("client-id", "abc"),
            ],
        );
        let endpoints = Auth0.endpoints(&nf.as_config()).unwrap();
        assert_eq!(
            endpoints.issuer.unwrap().as_str(),
            "https://netfoundry-production.auth0.com/"
        );
        assert_eq!(
            endpoints.token.unwrap().as_str(),
            "https://netfoundry-production.auth0.com/oauth/token"
        );
        assert_eq!(
            endpoints.device_authorization.unwrap().as_str(),
            "https://netfoundry-production.auth0.com/oauth/device/code"
        );
    }
}
