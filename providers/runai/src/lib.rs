//! Run:ai's token API. Current servers (v2.24 on) take the OAuth2 form at
//! `POST {server}/api/v2/token` and deprecate v1; older ones have only `POST
//! {server}/api/v1/token`: JSON, camelCase fields, a `grantType` per flow, replies without
//! `expires_in` (the JWT's `exp` says). v2 is asked first; a server that answers 404 is asked at
//! v1, and the login keeps to it. Errors are `{code, message, details}` in both. Also the
//! deprecated `/v1/k8s/auth/oauth/apptoken`.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value, json};
use tokenctl_core::base_url::join_path;
use tokenctl_core::oauth::Reply;
use tokenctl_core::oauth::{Grant, OAuthError, TokenRequest, TokenSet, TokenWire, WireRequest};
use tokenctl_core::provider::{FieldError, fields};
use tokenctl_core::{Endpoints, FieldKind, FieldSpec, Flow, Provider, ProviderConfig, Secret};
use url::Url;

pub struct RunAi;

/// How the client-credentials flow asks: `client_credentials`, `app_token`, or the deprecated
/// application-token endpoint.
const CLIENT_GRANTS: [&str; 3] = ["client_credentials", "app_token", "apptoken-endpoint"];

const FIELDS: &[FieldSpec] = &[
    FieldSpec::required(
        "server",
        FieldKind::BaseUrl,
        "Run:ai control plane URL (https://app.run.ai or your tenant's URL)",
    ),
    FieldSpec::optional(
        "client-grant",
        FieldKind::Text,
        "grant for --flow client-credentials: client_credentials (default), app_token (deprecated: gone from v2.24 on, which list client_credentials only) or apptoken-endpoint (deprecated)",
    ),
    FieldSpec::optional(
        "app-name",
        FieldKind::Text,
        "application name, for the deprecated apptoken endpoint",
    ),
    FieldSpec::optional(
        "authorize-url",
        FieldKind::BaseUrl,
        "authorization endpoint of the tenant's sign-in page, for --flow browser (the code is then exchanged with grantType exchange_token)",
    ),
];

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
            Flow::Browser,
            Flow::Token,
            Flow::Exchange,
        ]
    }

    /// Run:ai's token API takes no scopes; its sign-in page is OpenID Connect.
    fn standard_scopes(&self, flow: Flow) -> &'static [&'static str] {
        if flow == Flow::Browser {
            &["openid"]
        } else {
            &[]
        }
    }

    fn endpoints(&self, config: &ProviderConfig<'_>) -> Result<Endpoints, FieldError> {
        let server = config.base_url("server")?;
        let authorization = match config.text("authorize-url") {
            Some(_) => Some(config.base_url("authorize-url")?),
            None => None,
        };
        Ok(Endpoints {
            token: Some(join_path(&server, V2_PATH)),
            token_fallback: Some(join_path(&server, V1_PATH)),
            authorization,
            ..Endpoints::default()
        })
    }

    fn token_wire(&self, config: &ProviderConfig<'_>) -> Arc<dyn TokenWire> {
        Arc::new(RunAiWire {
            client_grant: config
                .text("client-grant")
                .unwrap_or("client_credentials")
                .to_owned(),
            app_name: config.text("app-name").map(str::to_owned),
        })
    }

    fn validate_extra(&self, config: &ProviderConfig<'_>) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let grant = config.text("client-grant");
        if let Some(grant) = grant
            && !CLIENT_GRANTS.contains(&grant)
        {
            errors.push(FieldError::new(
                "client-grant",
                format!("must be one of {}, not {grant:?}", CLIENT_GRANTS.join(", ")),
            ));
        }
        if grant == Some("apptoken-endpoint") && config.text("app-name").is_none() {
            errors.push(FieldError::new(
                "app-name",
                "is required with client-grant: apptoken-endpoint",
            ));
        }
        errors
    }
}

const V2_PATH: &str = "api/v2/token";
const V1_PATH: &str = "api/v1/token";

/// The Run:ai token API on the wire: the v2 form or the v1 JSON, by the endpoint asked.
struct RunAiWire {
    client_grant: String,
    app_name: Option<String>,
}

impl TokenWire for RunAiWire {
    fn encode(&self, request: &TokenRequest<'_>) -> Result<WireRequest, OAuthError> {
        let client_id = request.client.id.as_str();
        let secret = request.client.secret.as_ref().map(Secret::expose);
        let body = match request.grant {
            Grant::ClientCredentials if self.client_grant == "apptoken-endpoint" => {
                let legacy = server_url(request.url, "v1/k8s/auth/oauth/apptoken");
                return Ok(WireRequest::Json {
                    url: legacy,
                    body: json!({
                        "id": client_id,
                        "name": self.app_name.as_deref().unwrap_or(client_id),
                        "secret": secret,
                    }),
                });
            }
            // v2 has no app_token: it goes to v1 on any server.
            Grant::ClientCredentials if self.client_grant == "app_token" => {
                return Ok(WireRequest::Json {
                    url: server_url(request.url, V1_PATH),
                    body: json!({ "grantType": "app_token", "appID": client_id, "appSecret": secret }),
                });
            }
            Grant::ClientCredentials => {
                json!({ "grantType": "client_credentials", "clientID": client_id, "clientSecret": secret })
            }
            Grant::Password { username, password } => json!({
                "grantType": "password",
                "username": username,
                "password": password.expose(),
                "clientID": non_empty(client_id),
            }),
            Grant::RefreshToken(token) => {
                json!({ "grantType": "refresh_token", "refreshToken": token.expose(), "clientID": non_empty(client_id) })
            }
            Grant::AuthorizationCode {
                code, redirect_uri, ..
            } => {
                json!({ "grantType": "exchange_token", "code": code.expose(), "redirectUri": redirect_uri })
            }
            Grant::TokenExchange { subject_token, .. } => {
                json!({ "grantType": "external_token_exchange", "externalToken": subject_token.expose() })
            }
            Grant::DeviceCode(_) => {
                return Err(OAuthError::provider(
                    "unsupported_grant_type",
                    Some("Run:ai has no device flow".into()),
                    400,
                ));
            }
            // A grant a later tokenctl adds: refused as the endpoint would.
            _ => {
                return Err(OAuthError::provider(
                    "unsupported_grant_type",
                    Some("Run:ai does not offer this grant".into()),
                    400,
                ));
            }
        };
        let body = strip_nulls(body);
        if !request.url.path().ends_with(V2_PATH) {
            return Ok(WireRequest::Json {
                url: request.url.clone(),
                body,
            });
        }
        // v2 takes the same fields as an OAuth2 form, in snake case.
        let fields = body
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(key, value)| Some((v2_name(key), value.as_str()?.to_owned())))
            .collect();
        Ok(WireRequest::OwnForm {
            url: request.url.clone(),
            fields,
        })
    }

    /// The sign-in page's code is redeemed by `exchange_token`, which has no verifier field.
    fn completes_pkce(&self) -> bool {
        false
    }

    /// Run:ai answers a refresh token it no longer takes with its own 400 or 401
    /// (`{code, message, details}`), never `invalid_grant`.
    fn refused_refresh(&self, error: &OAuthError) -> bool {
        matches!(
            error,
            OAuthError::Provider {
                status: 400 | 401,
                ..
            }
        )
    }

    fn decode(&self, url: &Url, reply: &Reply) -> Result<TokenSet, OAuthError> {
        let ok = (200..300).contains(&reply.status);
        if ok && url.path().ends_with(V2_PATH) {
            return tokenctl_core::oauth::parse_token_reply(url, reply);
        }
        if ok {
            let parsed: RunAiReply =
                serde_json::from_slice(&reply.body).map_err(|_| OAuthError::Reply {
                    url: url.clone(),
                    status: reply.status,
                    what: "JSON that is not a Run:ai token reply".into(),
                })?;
            let access = parsed.access_token;
            return Ok(TokenSet {
                lifetime: tokenctl_core::oauth::jwt_lifetime(&access),
                access_token: Secret::new(access),
                token_type: "Bearer".into(),
                refresh_token: parsed.refresh_token.map(Secret::new),
                id_token: parsed.id_token.map(Secret::new),
                scope: None,
                token_endpoint: None,
            });
        }
        match serde_json::from_slice::<RunAiError>(&reply.body) {
            Ok(error) => Err(OAuthError::provider(
                format!("{} {}", error.code, error.message),
                error.details,
                reply.status,
            )),
            Err(_) => Err(tokenctl_core::oauth::provider_error(url, reply)),
        }
    }
}

/// `path` on the server of `token_url` (`{server}/api/v2/token` or `{server}/api/v1/token`).
fn server_url(token_url: &Url, path: &str) -> Url {
    let mut url = token_url.clone();
    let base = token_url.path();
    let base = base
        .strip_suffix(V2_PATH)
        .or_else(|| base.strip_suffix(V1_PATH))
        .unwrap_or(base)
        .to_owned();
    url.set_path(&format!("{base}{path}"));
    url
}

/// A v1 field's v2 name ("Create an access token v2": `grant_type`, `client_id`, …).
fn v2_name(v1: &str) -> String {
    match v1 {
        "clientID" => "client_id".into(),
        other => other
            .chars()
            .flat_map(|c| {
                let lower = c.to_ascii_lowercase();
                (c.is_ascii_uppercase().then_some('_').into_iter()).chain([lower])
            })
            .collect(),
    }
}

fn non_empty(text: &str) -> Option<&str> {
    (!text.is_empty()).then_some(text)
}

/// Leaves out fields that are not set, as the API's optional properties are.
fn strip_nulls(mut body: Value) -> Value {
    if let Value::Object(map) = &mut body {
        map.retain(|_, v| !v.is_null());
    }
    body
}

/// `{accessToken, idToken, refreshToken, externalToken}`, or the deprecated endpoint's
/// `{access_token, id_token}`.
#[derive(Deserialize)]
struct RunAiReply {
    #[serde(rename = "accessToken", alias = "access_token")]
    access_token: String,
    #[serde(rename = "idToken", alias = "id_token", default)]
    id_token: Option<String>,
    #[serde(rename = "refreshToken", default)]
    refresh_token: Option<String>,
}

#[derive(Deserialize)]
struct RunAiError {
    code: u16,
    message: String,
    #[serde(default)]
    details: Option<String>,
}

tokenctl_core::register_provider!(RunAi);

#[cfg(test)]
mod tests {
    use super::*;
    use tokenctl_core::ProviderEntry;
    use tokenctl_core::oauth::Client;

    fn wire(grant: &str) -> RunAiWire {
        RunAiWire {
            client_grant: grant.into(),
            app_name: Some("ci".into()),
        }
    }

    /// What `grant` is sent as at `path` of app.run.ai: v1's JSON, or v2's form as JSON.
    fn encode_at(path: &str, wire: &RunAiWire, grant: &Grant) -> (Url, Value) {
        let url = Url::parse("https://app.run.ai/")
            .unwrap()
            .join(path)
            .unwrap();
        let client = Client::fixed(
            "id".into(),
            Some(Secret::new("s")),
            tokenctl_core::oauth::ClientAuth::Post,
        );
        let request = TokenRequest {
            url: &url,
            client: &client,
            grant,
            scopes: &[],
            extra: &[],
            fallback: None,
        };
        match wire.encode(&request).unwrap() {
            WireRequest::Json { url, body } => (url, body),
            WireRequest::OwnForm { url, fields } => (
                url,
                fields
                    .into_iter()
                    .map(|(k, v)| (k, Value::from(v)))
                    .collect::<serde_json::Map<_, _>>()
                    .into(),
            ),
            other => panic!("Run:ai names the client itself, not {other:?}"),
        }
    }

    fn encode(wire: &RunAiWire, grant: &Grant) -> (Url, Value) {
        encode_at(V1_PATH, wire, grant)
    }

    #[test]
    fn v2_is_the_oauth2_form_of_the_same_fields_but_app_token_stays_on_v1() {
        let (url, fields) = encode_at(
            V2_PATH,
            &wire("client_credentials"),
            &Grant::ClientCredentials,
        );
        assert_eq!(url.as_str(), "https://app.run.ai/api/v2/token");
        assert_eq!(
            fields,
            json!({"grant_type": "client_credentials", "client_id": "id", "client_secret": "s"})
        );
        let code = Grant::AuthorizationCode {
            code: Secret::new("c"),
            redirect_uri: "http://127.0.0.1:8000/callback".into(),
            code_verifier: None,
        };
        let (_, fields) = encode_at(V2_PATH, &wire("client_credentials"), &code);
        assert_eq!(
            fields,
            json!({"grant_type": "exchange_token", "code": "c", "redirect_uri": "http://127.0.0.1:8000/callback"})
        );
        let (url, body) = encode_at(V2_PATH, &wire("app_token"), &Grant::ClientCredentials);
        assert_eq!(url.as_str(), "https://app.run.ai/api/v1/token");
        assert_eq!(body["grantType"], "app_token");
        assert!(!wire("client_credentials").completes_pkce());
    }

    #[test]
    fn every_grant_type_in_camel_case() {
        let (_, body) = encode(&wire("client_credentials"), &Grant::ClientCredentials);
        assert_eq!(
            body,
            json!({"grantType": "client_credentials", "clientID": "id", "clientSecret": "s"})
        );
        let (_, body) = encode(&wire("app_token"), &Grant::ClientCredentials);
        assert_eq!(
            body,
            json!({"grantType": "app_token", "appID": "id", "appSecret": "s"})
        );
        let (_, body) = encode(
            &wire("client_credentials"),
            &Grant::RefreshToken(Secret::new("r")),
        );
        assert_eq!(
            body,
            json!({"grantType": "refresh_token", "refreshToken": "r", "clientID": "id"})
        );
        let (url, body) = encode(&wire("apptoken-endpoint"), &Grant::ClientCredentials);
        assert_eq!(
            url.as_str(),
            "https://app.run.ai/v1/k8s/auth/oauth/apptoken"
        );
        assert_eq!(body, json!({"id": "id", "name": "ci", "secret": "s"}));
    }

    #[test]
    fn errors_are_code_message_and_details() {
        let url = Url::parse("https://app.run.ai/api/v1/token").unwrap();
        let reply = Reply {
            status: 400,
            content_type: Some("application/json".into()),
            headers: Vec::new(),
            body: br#"{"code":400,"message":"Bad request.","details":"invalid client"}"#.to_vec(),
        };
        let err = wire("client_credentials")
            .decode(&url, &reply)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("400 Bad request.") && err.contains("invalid client"),
            "{err}"
        );
    }

    #[test]
    fn v2_is_asked_before_v1_and_client_grant_is_checked() {
        let runai =
            ProviderEntry::with_text_fields("runai", "runai", &[("server", "https://app.run.ai")]);
        let endpoints = RunAi.endpoints(&runai.as_config()).unwrap();
        assert_eq!(
            endpoints.token.unwrap().as_str(),
            "https://app.run.ai/api/v2/token"
        );
        assert_eq!(
            endpoints.token_fallback.unwrap().as_str(),
            "https://app.run.ai/api/v1/token"
        );
        let legacy = ProviderEntry::with_text_fields(
            "runai",
            "runai",
            &[
                ("server", "https://app.run.ai"),
                ("client-grant", "apptoken-endpoint"),
            ],
        );
        let errors = RunAi.validate_extra(&legacy.as_config());
        assert_eq!(errors[0].field, "app-name");
    }
}
