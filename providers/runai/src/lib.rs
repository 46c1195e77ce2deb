//! Run:ai: one JSON token endpoint, `POST {server}/api/v1/token`, with a `grantType` per flow.

use tokenctl_core::base_url::join_path;
use tokenctl_core::provider::{FieldError, fields};
use tokenctl_core::{Endpoints, FieldKind, FieldSpec, Flow, Provider, ProviderConfig};

pub struct RunAi;

const FIELDS: &[FieldSpec] = &[FieldSpec::required(
    "server",
    FieldKind::BaseUrl,
    "Run:ai control plane URL (https://app.run.ai or your tenant's URL)",
)];

impl Provider for RunAi {
    fn kind(&self) -> &'static str {
        "runai"
    }

    fn description(&self) -> &'static str {
        "Run:ai token API (application tokens, client credentials, password, token exchange)"
    }

    fn dialect_fields(&self) -> &'static [FieldSpec] {
        FIELDS
    }

    fn client_fields(&self) -> &'static [FieldSpec] {
        fields::APP_CREDENTIALS
    }

    fn flows(&self) -> &'static [Flow] {
        &[
            Flow::ClientCredentials,
            Flow::Password,
            Flow::Token,
            Flow::Exchange,
        ]
    }

    fn endpoints(&self, config: &ProviderConfig<'_>) -> Result<Endpoints, FieldError> {
        let server = config.base_url("server")?;
        Ok(Endpoints {
            token: Some(join_path(&server, "api/v1/token")),
            ..Endpoints::default()
        })
    }
}

tokenctl_core::register_provider!(RunAi);

#[cfg(test)]
mod tests {
    use super::*;
    use tokenctl_core::config::ProviderEntry;

    #[test]
    fn the_token_endpoint_is_the_json_api() {
        let runai =
            ProviderEntry::with_text_fields("runai", "runai", &[("server", "https://app.run.ai")]);
        let endpoints = RunAi.endpoints(&runai.as_config()).unwrap();
        assert_eq!(
            endpoints.token.unwrap().as_str(),
            "https://app.run.ai/api/v1/token"
        );
        assert_eq!(endpoints.authorization, None);
    }
}
