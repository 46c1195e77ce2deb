//! Keycloak: realms under `{server}/realms/{realm}`. A server still on the legacy `/auth`
//! context path is written with it: `server: https://sso.example.com/auth`.

use tokenctl_core::base_url::join_path;
use tokenctl_core::oauth::{ACCESS_TOKEN_TYPE, OAuthError};
use tokenctl_core::provider::{AssertionAudience, FieldError};
use tokenctl_core::{Endpoints, FieldKind, FieldSpec, Flow, Provider, ProviderConfig, Url};

pub struct Keycloak;

const FIELDS: &[FieldSpec] = &[
    FieldSpec::required(
        "server",
        FieldKind::BaseUrl,
        "Keycloak base URL, with /auth for legacy servers (https://sso.example.com)",
    ),
    FieldSpec::required(
        "realm",
        FieldKind::Text,
        "realm name (the part after /realms/)",
    ),
];

/// What Keycloak's standard token exchange says, and the way out.
const EXCHANGE_HINTS: &[(&str, &str)] = &[
    (
        "'subject_issuer' is not supported for standard token exchange",
        "another issuer's token (subject-issuer) is exchanged only by Keycloak's legacy token exchange (the preview feature token-exchange:v1); for a token of this realm, remove subject-issuer from the context",
    ),
    (
        "Public client is not allowed to exchange token",
        "standard token exchange needs a confidential client: give the provider entry a client that has a secret (client-secret-env) or a key (client-key-file)",
    ),
    (
        "Standard token exchange is not enabled for the requested client",
        "turn on \"Standard token exchange\" in the client's Capability config in Keycloak's admin console",
    ),
    (
        "Parameter 'subject_token' supports access tokens only",
        "standard token exchange takes access tokens only: set the context's subject-token-type: access_token",
    ),
    (
        "Client is not within the token audience",
        "the subject token must name this client in its audience: add an Audience mapper for this client to the client that issued it",
    ),
    (
        "Audience not found",
        "the audience in authorize-params must be the client id of a client of this realm",
    ),
    (
        "requested_token_type unsupported",
        "ask for requested_token_type access_token or id_token; a refresh token needs the client's \"Allow refresh token in Standard Token Exchange\"",
    ),
];

impl Provider for Keycloak {
    fn kind(&self) -> &'static str {
        "keycloak"
    }

    fn description(&self) -> &'static str {
        "Keycloak realm (browser, device, password, client credentials, token exchange)"
    }

    fn dialect_fields(&self) -> &'static [FieldSpec] {
        FIELDS
    }

    fn flows(&self) -> &'static [Flow] {
        &[
            Flow::Browser,
            Flow::Device,
            Flow::Password,
            Flow::ClientCredentials,
            Flow::Token,
            Flow::Exchange,
        ]
    }

    /// Keycloak takes the realm's issuer as a client assertion's audience.
    fn assertion_audience(&self) -> AssertionAudience {
        AssertionAudience::Issuer
    }

    /// Standard token exchange (26.2+, on by default) takes access tokens only.
    fn subject_token_type(&self) -> Option<&'static str> {
        Some(ACCESS_TOKEN_TYPE)
    }

    /// Standard token exchange's refusals (StandardTokenExchangeProvider, keycloak.org's
    /// securing-apps/token-exchange) say what is wrong but not where to change it.
    fn exchange_hint(&self, error: &OAuthError) -> Option<&'static str> {
        let OAuthError::Provider {
            description: Some(description),
            ..
        } = error
        else {
            return None;
        };
        EXCHANGE_HINTS
            .iter()
            .find(|(said, _)| description.contains(said))
            .map(|(_, hint)| *hint)
    }

    fn endpoints(&self, config: &ProviderConfig<'_>) -> Result<Endpoints, FieldError> {
        let server = config.base_url("server")?;
        let realm = config.require("realm")?;
        let issuer = join_path(&server, &format!("realms/{realm}"));
        let oidc = |path: &str| {
            Some(join_path(
                &issuer,
                &format!("protocol/openid-connect/{path}"),
            ))
        };
        Ok(Endpoints {
            discovery: Some(join_path(&issuer, ".well-known/openid-configuration")),
            authorization: oidc("auth"),
            token: oidc("token"),
            device_authorization: oidc("auth/device"),
            revocation: oidc("revoke"),
            end_session: oidc("logout"),
            jwks: oidc("certs"),
            issuer: Some(issuer),
            ..Endpoints::default()
        })
    }

    /// `{server}/realms/{realm}`, with or without its `.well-known/openid-configuration`.
    fn fields_from_issuer(&self, issuer: &Url) -> Option<Vec<(&'static str, String)>> {
        let segments: Vec<&str> = issuer.path_segments()?.collect();
        let at = segments.iter().position(|segment| *segment == "realms")?;
        let realm = segments.get(at + 1).filter(|realm| !realm.is_empty())?;
        let mut server = issuer.clone();
        server.set_query(None);
        server.set_fragment(None);
        server.set_path(&segments[..at].join("/"));
        let server = server.as_str().trim_end_matches('/').to_owned();
        Some(vec![("server", server), ("realm", (*realm).to_owned())])
    }

    fn scope_advice(&self) -> &'static str {
        "the realm's client scopes beyond the defaults (roles, a custom scope such as platform:read)"
    }

    fn validate_extra(&self, config: &ProviderConfig<'_>) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if config
            .text("realm")
            .is_some_and(|realm| realm.contains('/'))
        {
            errors.push(FieldError::new(
                "realm",
                "is a realm name, not a path (no `/`)",
            ));
        }
        // A realm's issuer given as the server (`https://sso/realms/R`) would look for realms
        // under it, and every request would answer 404.
        if let Ok(server) = config.base_url("server")
            && let Some(fields) = self.fields_from_issuer(&server)
        {
            errors.push(FieldError::new(
                "server",
                format!(
                    "is the URL of realm {:?}, not the server: set server: {} and realm: {}",
                    fields[1].1, fields[0].1, fields[1].1
                ),
            ));
        }
        errors
    }
}

tokenctl_core::register_provider!(Keycloak);

#[cfg(test)]
mod tests {
    use super::*;
    use tokenctl_core::ProviderEntry;
    use tokenctl_core::provider::validate_provider;

    fn config(fields: &[(&str, &str)]) -> ProviderEntry {
        ProviderEntry::with_text_fields("sso", "keycloak", fields)
    }

    /// A realm's issuer, pasted where the server goes (issue 25): taken apart, with the
    /// legacy `/auth` kept, and refused as a server.
    #[test]
    fn an_issuer_url_is_the_server_and_the_realm() {
        let apart = |url: &str| Keycloak.fields_from_issuer(&Url::parse(url).unwrap());
        assert_eq!(
            apart("https://sso.example.com/auth/realms/nmr/.well-known/openid-configuration"),
            Some(vec![
                ("server", "https://sso.example.com/auth".to_owned()),
                ("realm", "nmr".to_owned())
            ])
        );
        assert_eq!(
            apart("https://sso.example.com/realms/nmr"),
            Some(vec![
                ("server", "https://sso.example.com".to_owned()),
                ("realm", "nmr".to_owned())
            ])
        );
        assert_eq!(apart("https://sso.example.com/auth"), None);
        let pasted = config(&[
            ("server", "https://sso.example.com/realms/nmr"),
            ("realm", "nmr"),
            ("client-id", "cli"),
        ]);
        let errors = validate_provider(&Keycloak, &pasted.as_config());
        assert_eq!(
            errors[0].to_string(),
            "field `server` is the URL of realm \"nmr\", not the server: set server: https://sso.example.com and realm: nmr"
        );
    }

    #[test]
    fn endpoints_follow_the_realm_layout_with_and_without_the_legacy_prefix() {
        let entry = config(&[
            ("server", "https://sso.example.com"),
            ("realm", "nmr"),
            ("client-id", "cli"),
        ]);
        let endpoints = Keycloak.endpoints(&entry.as_config()).unwrap();
        assert_eq!(
            endpoints.token.unwrap().as_str(),
            "https://sso.example.com/realms/nmr/protocol/openid-connect/token"
        );
        assert_eq!(
            endpoints.device_authorization.unwrap().as_str(),
            "https://sso.example.com/realms/nmr/protocol/openid-connect/auth/device"
        );
        let legacy = config(&[
            ("server", "https://sso.example.com/auth/"),
            ("realm", "nmr"),
            ("client-id", "cli"),
        ]);
        assert_eq!(
            Keycloak
                .endpoints(&legacy.as_config())
                .unwrap()
                .issuer
                .unwrap()
                .as_str(),
            "https://sso.example.com/auth/realms/nmr"
        );
    }

    #[test]
    fn standard_token_exchange_refusals_get_their_fix() {
        let refusal = |description: &str| {
            OAuthError::provider("invalid_request", Some(description.to_owned()), 400)
        };
        assert_eq!(Keycloak.subject_token_type(), Some(ACCESS_TOKEN_TYPE));
        let hint = Keycloak.exchange_hint(&refusal(
            "Parameter 'subject_issuer' is not supported for standard token exchange",
        ));
        assert!(hint.unwrap().contains("token-exchange:v1"));
        let hint =
            Keycloak.exchange_hint(&refusal("Public client is not allowed to exchange token"));
        assert!(hint.unwrap().contains("confidential client"));
        assert_eq!(Keycloak.exchange_hint(&refusal("Invalid token")), None);
    }

    #[test]
    fn a_missing_realm_is_named() {
        let entry = config(&[("server", "https://sso.example.com"), ("client-id", "cli")]);
        let errors = validate_provider(&Keycloak, &entry.as_config());
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "realm");
    }
}
