//! Generic OpenID Connect: everything comes from the issuer's discovery document.

use tokenctl_core::base_url::join_path;
use tokenctl_core::provider::FieldError;
use tokenctl_core::{Endpoints, FieldKind, FieldSpec, Flow, Provider, ProviderConfig};

pub struct Oidc;

const FIELDS: &[FieldSpec] = &[FieldSpec::required(
    "issuer",
    FieldKind::BaseUrl,
    "issuer URL; its /.well-known/openid-configuration says the rest",
)];

impl Provider for Oidc {
    fn kind(&self) -> &'static str {
        "oidc"
    }

    fn description(&self) -> &'static str {
        "any standards-conformant OpenID Connect provider, by discovery"
    }

    fn dialect_fields(&self) -> &'static [FieldSpec] {
        FIELDS
    }

    fn flows(&self) -> &'static [Flow] {
        &Flow::ALL
    }

    /// OpenID Connect Core 11: a refresh token for offline use comes with `prompt=consent`.
    /// Not at Entra ID, which issues one without it and whose consent prompt stops users who
    /// may not consent (MicrosoftDocs/entra-docs#652).
    fn authorize_params(
        &self,
        _config: &ProviderConfig<'_>,
        endpoints: &Endpoints,
        scopes: &[String],
    ) -> Vec<(String, String)> {
        if scopes.iter().any(|s| s == "offline_access") && endpoints.cloud_instance_name.is_none() {
            vec![("prompt".to_owned(), "consent".to_owned())]
        } else {
            Vec::new()
        }
    }

    fn endpoints(&self, config: &ProviderConfig<'_>) -> Result<Endpoints, FieldError> {
        let issuer = config.base_url("issuer")?;
        Ok(Endpoints {
            discovery: Some(join_path(&issuer, ".well-known/openid-configuration")),
            issuer: Some(issuer),
            ..Endpoints::default()
        })
    }
}

tokenctl_core::register_provider!(Oidc);

#[cfg(test)]
mod tests {
    use super::*;
    use tokenctl_core::ProviderEntry;

    #[test]
    fn discovery_hangs_off_the_issuer() {
        let dex = ProviderEntry::with_text_fields(
            "dex",
            "oidc",
            &[
                ("issuer", "https://dex.example.com/dex"),
                ("client-id", "cli"),
            ],
        );
        let endpoints = Oidc.endpoints(&dex.as_config()).unwrap();
        assert_eq!(
            endpoints.discovery.unwrap().as_str(),
            "https://dex.example.com/dex/.well-known/openid-configuration"
        );
    }
}
