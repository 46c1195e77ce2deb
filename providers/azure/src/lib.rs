//! Azure AD / Entra ID (v2.0 endpoints), spoken the way MSAL speaks it.

use tokenctl_core::base_url::{join_path, parse_base_url};
use tokenctl_core::provider::FieldError;
use tokenctl_core::provider::names_no_api;
use tokenctl_core::{Endpoints, FieldKind, FieldSpec, Flow, Provider, ProviderConfig, Url};

pub struct Azure;

/// The public cloud; sovereign clouds set `authority-host`.
pub const DEFAULT_AUTHORITY_HOST: &str = "https://login.microsoftonline.com";

/// Tenants that stand for many directories: their issuer has a `{tenantid}` placeholder.
pub const MULTI_TENANT: [&str; 3] = ["common", "organizations", "consumers"];

const FIELDS: &[FieldSpec] = &[
    FieldSpec::required(
        "tenant",
        FieldKind::Text,
        "directory: tenant GUID, domain (contoso.onmicrosoft.com), organizations, common or consumers",
    ),
    FieldSpec::optional(
        "authority-host",
        FieldKind::BaseUrl,
        "authority host; sovereign clouds override it (default https://login.microsoftonline.com)",
    ),
];

impl Provider for Azure {
    fn kind(&self) -> &'static str {
        "azure"
    }

    fn description(&self) -> &'static str {
        "Azure AD / Entra ID v2.0 (browser, device code, client secret, password)"
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

    /// `https://HOST/TENANT/v2.0` (Entra ID's issuer and authority), with or without its
    /// `.well-known/openid-configuration`: the tenant, and the host when it is not the public
    /// cloud's.
    fn fields_from_issuer(&self, issuer: &Url) -> Option<Vec<(&'static str, String)>> {
        let host = issuer.host_str()?;
        if !host.starts_with("login.") {
            return None;
        }
        let tenant = issuer.path_segments()?.next().filter(|t| !t.is_empty())?;
        let mut fields = vec![("tenant", tenant.to_owned())];
        let origin = issuer.origin().ascii_serialization();
        if origin != DEFAULT_AUTHORITY_HOST {
            fields.push(("authority-host", origin));
        }
        Some(fields)
    }

    fn scope_advice(&self) -> &'static str {
        "an API's scopes, such as api://APP-ID/.default (all the API grants this app) or api://APP-ID/SCOPE; Enter for sign-in only"
    }

    fn endpoints(&self, config: &ProviderConfig<'_>) -> Result<Endpoints, FieldError> {
        let host = match config.text("authority-host") {
            Some(_) => config.base_url("authority-host")?,
            None => parse_base_url(DEFAULT_AUTHORITY_HOST)
                .map_err(|r| FieldError::new("authority-host", r.to_string()))?,
        };
        let tenant = config.require("tenant")?;
        let tenant_base = join_path(&host, tenant);
        let v2 = |path: &str| Some(join_path(&tenant_base, &format!("oauth2/v2.0/{path}")));
        // Entra ID's `iss` names the directory by its GUID in lower case, on a host of its
        // cloud that may not be the authority's (China: login.partner.microsoftonline.cn):
        // the tenant's own discovery document says it, and is read at sign-in.
        Ok(Endpoints {
            discovery: Some(join_path(
                &tenant_base,
                "v2.0/.well-known/openid-configuration",
            )),
            authorization: v2("authorize"),
            token: v2("token"),
            device_authorization: v2("devicecode"),
            revocation: None,
            end_session: v2("logout"),
            jwks: Some(join_path(&tenant_base, "discovery/v2.0/keys")),
            // "If the application has custom signing keys as a result of using the
            // claims-mapping feature, append an appid query parameter" (Microsoft's access
            // token documentation).
            app_jwks: config.text("client-id").map(|client| {
                let mut keys = join_path(&tenant_base, "discovery/v2.0/keys");
                keys.query_pairs_mut().append_pair("appid", client);
                keys
            }),
            issuer: None,
            tenant: is_guid(tenant).then(|| tenant.to_ascii_lowercase()),
            ..Endpoints::default()
        })
    }

    /// MSAL (and Azure kubelogin) listen on `http://localhost:PORT` and tell you to register
    /// `http://localhost`: Entra ID ignores the port of a localhost redirect URI but matches its
    /// path (learn.microsoft.com, "Redirect URI restrictions: localhost exceptions").
    fn loopback_host(&self) -> &'static str {
        "localhost"
    }

    fn redirect_path(&self) -> &'static str {
        ""
    }

    /// Entra ID's federated credentials expect this audience unless the app says otherwise.
    fn ci_token_audience(&self) -> Option<&'static str> {
        Some("api://AzureADTokenExchange")
    }

    /// As MSAL asks: an ID token, the profile and a refresh token; no `email` scope on v2.
    fn standard_scopes(&self, flow: Flow) -> &'static [&'static str] {
        if flow.signs_in_a_person() {
            &["openid", "profile", "offline_access"]
        } else {
            &[]
        }
    }

    /// A custom scope without its API (`platform:read`) is a Microsoft Graph scope to Entra ID,
    /// which answers AADSTS650053: name the API by its App ID URI.
    /// Client credentials take exactly one `RESOURCE/.default` scope (AADSTS900144 without a
    /// scope, AADSTS1002012 for a delegated one).
    fn check_request(
        &self,
        config: &ProviderConfig<'_>,
        flow: Flow,
        scopes: &[String],
    ) -> Result<(), String> {
        if let Some(bare) = scopes.iter().find(|scope| names_no_api(scope)) {
            return Err(format!(
                "the scope {bare:?} names no API, and Entra ID would read it as a Microsoft Graph scope: set the API's App ID URI as the provider's scope-prefix (`{} config set-provider {} --scope-prefix api://YOUR-API/`), or write the scope in full (api://YOUR-API/{bare})",
                tokenctl_core::program::name(),
                config.name
            ));
        }
        let defaults = scopes.iter().filter(|s| s.ends_with("/.default")).count();
        if flow == Flow::ClientCredentials && !(defaults == 1 && scopes.len() == 1) {
            return Err(format!(
                "Entra ID's client credentials take exactly one scope, the API's `/.default` (api://YOUR-API/.default), not {}: set the provider's or the context's scopes",
                if scopes.is_empty() {
                    "none".to_owned()
                } else {
                    scopes.join(" ")
                }
            ));
        }
        Ok(())
    }

    fn validate_extra(&self, config: &ProviderConfig<'_>) -> Vec<FieldError> {
        match config.text("tenant") {
            Some(tenant) if !is_tenant(tenant) => vec![FieldError::new(
                "tenant",
                format!(
                    "must be a tenant GUID, a domain (contoso.onmicrosoft.com), organizations, common or consumers, not {tenant:?}"
                ),
            )],
            _ => Vec::new(),
        }
    }
}

/// A tenant GUID, in either case.
fn is_guid(tenant: &str) -> bool {
    tenant.len() == 36
        && tenant.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// A tenant GUID, a verified domain, or one of the multi-tenant names.
fn is_tenant(tenant: &str) -> bool {
    let lower = tenant.to_ascii_lowercase();
    let guid = is_guid(tenant);
    let domain = lower.contains('.')
        && lower
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    guid || domain || MULTI_TENANT.contains(&lower.as_str())
}

tokenctl_core::register_provider!(Azure);

#[cfg(test)]
mod tests {
    use super::*;
    use tokenctl_core::ProviderEntry;
    use tokenctl_core::provider::validate_provider;

    fn entry(fields: &[(&str, &str)]) -> ProviderEntry {
        ProviderEntry::with_text_fields("corp", "azure", fields)
    }

    /// The tenant's issuer or authority, pasted in the guided setup (issue 25).
    #[test]
    fn an_issuer_url_is_the_tenant_and_its_cloud() {
        let apart = |url: &str| Azure.fields_from_issuer(&Url::parse(url).unwrap());
        assert_eq!(
            apart(
                "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration"
            ),
            Some(vec![("tenant", "contoso.onmicrosoft.com".to_owned())])
        );
        assert_eq!(
            apart("https://login.microsoftonline.us/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0"),
            Some(vec![
                ("tenant", "9188040d-6c67-4c5b-b112-36a304b66dad".to_owned()),
                (
                    "authority-host",
                    "https://login.microsoftonline.us".to_owned()
                )
            ])
        );
        assert_eq!(apart("https://sso.example.com/realms/nmr"), None);
    }

    #[test]
    fn endpoints_for_a_domain_tenant_in_the_public_cloud() {
        let corp = entry(&[("tenant", "contoso.onmicrosoft.com"), ("client-id", "c")]);
        let endpoints = Azure.endpoints(&corp.as_config()).unwrap();
        assert_eq!(
            endpoints.token.unwrap().as_str(),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
        );
        assert_eq!(
            endpoints.device_authorization.unwrap().as_str(),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/devicecode"
        );
        assert_eq!(
            endpoints.revocation, None,
            "Entra ID has no RFC 7009 endpoint"
        );
    }

    #[test]
    fn sovereign_hosts_and_multi_tenant_issuers() {
        let gov = entry(&[
            ("tenant", "organizations"),
            ("client-id", "c"),
            ("authority-host", "https://login.microsoftonline.us"),
        ]);
        let endpoints = Azure.endpoints(&gov.as_config()).unwrap();
        assert_eq!(
            endpoints.authorization.unwrap().as_str(),
            "https://login.microsoftonline.us/organizations/oauth2/v2.0/authorize"
        );
        assert_eq!(
            endpoints.issuer, None,
            "the issuer is the discovery document's, read at sign-in"
        );
        assert_eq!(endpoints.tenant, None);
    }

    #[test]
    fn a_guid_tenant_binds_the_tokens_tid_in_lower_case() {
        let upper = entry(&[
            ("tenant", "AAAAAAAA-2222-3333-4444-555555555555"),
            ("client-id", "c"),
        ]);
        let endpoints = Azure.endpoints(&upper.as_config()).unwrap();
        assert_eq!(
            endpoints.tenant.as_deref(),
            Some("aaaaaaaa-2222-3333-4444-555555555555")
        );
        assert_eq!(
            endpoints.discovery.unwrap().as_str(),
            "https://login.microsoftonline.com/AAAAAAAA-2222-3333-4444-555555555555/v2.0/.well-known/openid-configuration"
        );
    }

    #[test]
    fn tenant_must_look_like_a_tenant() {
        for good in [
            "11111111-2222-3333-4444-555555555555",
            "contoso.com",
            "common",
        ] {
            assert!(
                validate_provider(
                    &Azure,
                    &entry(&[("tenant", good), ("client-id", "c")]).as_config()
                )
                .is_empty(),
                "{good}"
            );
        }
        let errors = validate_provider(
            &Azure,
            &entry(&[("tenant", "not a tenant"), ("client-id", "c")]).as_config(),
        );
        assert_eq!(errors[0].field, "tenant");
    }
}
