//! The OpenID provider configuration document (OpenID Connect Discovery 1.0, RFC 8414), read
//! and checked before any of its endpoints is used: the issuer it states must be the one
//! configured, and every endpoint must be `https://`, or `http://` on this machine. A document
//! that names `http://` to another host, `file:`, `javascript:` or a custom scheme is refused
//! before the browser opener or any request sees it.
#![doc(hidden)]

use serde::Deserialize;
use url::Url;

use crate::base_url::is_loopback;

#[derive(Debug, Deserialize)]
struct Document {
    issuer: String,
    token_endpoint: Url,
    #[serde(default)]
    authorization_endpoint: Option<Url>,
    #[serde(default)]
    device_authorization_endpoint: Option<Url>,
    #[serde(default)]
    revocation_endpoint: Option<Url>,
    #[serde(default)]
    end_session_endpoint: Option<Url>,
    #[serde(default)]
    jwks_uri: Option<Url>,
    #[serde(default)]
    userinfo_endpoint: Option<Url>,
    #[serde(default)]
    token_endpoint_auth_methods_supported: Option<Vec<String>>,
    #[serde(default)]
    authorization_response_iss_parameter_supported: bool,
    #[serde(default)]
    code_challenge_methods_supported: Option<Vec<String>>,
    #[serde(default)]
    scopes_supported: Option<Vec<String>>,
    #[serde(default)]
    cloud_instance_name: Option<String>,
}

/// What a checked document says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Discovered {
    pub issuer: String,
    pub token_endpoint: Option<Url>,
    pub authorization_endpoint: Option<Url>,
    pub device_authorization_endpoint: Option<Url>,
    pub revocation_endpoint: Option<Url>,
    pub end_session_endpoint: Option<Url>,
    pub jwks_uri: Option<Url>,
    pub userinfo_endpoint: Option<Url>,
    /// The client authentication methods the token endpoint lists.
    pub token_endpoint_auth_methods: Option<Vec<String>>,
    /// RFC 9207: the authorization response carries `iss`, which must then be checked.
    pub iss_in_authorization_response: bool,
    /// RFC 8414: `code_challenge_methods_supported` lists S256, so a code is bound to this
    /// client's PKCE verifier.
    pub pkce_s256: bool,
    pub scopes_supported: Option<Vec<String>>,
    /// Entra ID's name for its cloud: the provider is Entra ID.
    pub cloud_instance_name: Option<String>,
}

/// Reads a discovery document; `expected` is the configured issuer. An error says what is wrong
/// in one line, naming the field.
pub fn read(body: &[u8], expected: Option<&Url>) -> Result<Discovered, String> {
    let document: Document = serde_json::from_slice(body)
        .map_err(|err| format!("not an OpenID configuration ({err})"))?;
    if let Some(expected) = expected
        && !same_issuer(&document.issuer, expected)
    {
        return Err(format!(
            "the document says its issuer is {:?}, not {expected}; the issuer must match exactly",
            document.issuer
        ));
    }
    let endpoints = [
        ("token_endpoint", Some(&document.token_endpoint)),
        (
            "authorization_endpoint",
            document.authorization_endpoint.as_ref(),
        ),
        (
            "device_authorization_endpoint",
            document.device_authorization_endpoint.as_ref(),
        ),
        ("revocation_endpoint", document.revocation_endpoint.as_ref()),
        (
            "end_session_endpoint",
            document.end_session_endpoint.as_ref(),
        ),
        ("jwks_uri", document.jwks_uri.as_ref()),
        ("userinfo_endpoint", document.userinfo_endpoint.as_ref()),
    ];
    for (field, url) in endpoints {
        if let Some(url) = url {
            check_endpoint(field, url)?;
        }
    }
    Ok(Discovered {
        issuer: document.issuer,
        token_endpoint: Some(document.token_endpoint),
        authorization_endpoint: document.authorization_endpoint,
        device_authorization_endpoint: document.device_authorization_endpoint,
        revocation_endpoint: document.revocation_endpoint,
        end_session_endpoint: document.end_session_endpoint,
        jwks_uri: document.jwks_uri,
        userinfo_endpoint: document.userinfo_endpoint,
        token_endpoint_auth_methods: document.token_endpoint_auth_methods_supported,
        iss_in_authorization_response: document.authorization_response_iss_parameter_supported,
        pkce_s256: document
            .code_challenge_methods_supported
            .is_some_and(|methods| methods.iter().any(|m| m == "S256")),
        scopes_supported: document.scopes_supported,
        cloud_instance_name: document.cloud_instance_name,
    })
}

/// The issuer exactly as configured. A configured issuer that is a bare origin
/// (`https://dex.example.com`) is written either way, since a parsed URL always has a path.
pub fn same_issuer(stated: &str, expected: &Url) -> bool {
    stated == expected.as_str()
        || (expected.path() == "/"
            && expected.query().is_none()
            && stated == expected.as_str().trim_end_matches('/'))
}

/// An endpoint must be https, or plain http to this machine (127.0.0.0/8, `[::1]`, localhost).
pub fn check_endpoint(field: &str, url: &Url) -> Result<(), String> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        _ => Err(format!(
            "`{field}` is {url}: an endpoint must be https:// (or http:// on this machine); refusing this provider"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document(issuer: &str, token: &str, extra: &str) -> Vec<u8> {
        format!(r#"{{"issuer": "{issuer}", "token_endpoint": "{token}"{extra}}}"#).into_bytes()
    }

    #[test]
    fn the_issuer_must_match_exactly() {
        let realm = Url::parse("https://sso.example.com/realms/nmr").unwrap();
        let token = "https://sso.example.com/realms/nmr/token";
        assert!(
            read(
                &document("https://sso.example.com/realms/nmr", token, ""),
                Some(&realm)
            )
            .is_ok()
        );
        let slash = read(
            &document("https://sso.example.com/realms/nmr/", token, ""),
            Some(&realm),
        );
        assert!(slash.unwrap_err().contains("the issuer must match exactly"));
        // Auth0's issuer is the origin with its slash; an origin is written either way.
        let origin = Url::parse("https://tenant.auth0.com/").unwrap();
        for stated in ["https://tenant.auth0.com/", "https://tenant.auth0.com"] {
            assert!(
                read(
                    &document(stated, "https://tenant.auth0.com/oauth/token", ""),
                    Some(&origin)
                )
                .is_ok()
            );
        }
    }

    #[test]
    fn every_endpoint_is_https_or_loopback() {
        let issuer = Url::parse("https://idp.example.com").unwrap();
        for (field, url) in [
            ("authorization_endpoint", "http://idp.example.com/auth"),
            ("authorization_endpoint", "javascript:alert(1)"),
            ("jwks_uri", "file:///etc/passwd"),
            ("device_authorization_endpoint", "myapp://device"),
            ("userinfo_endpoint", "http://10.0.0.1/userinfo"),
            ("revocation_endpoint", "ftp://idp.example.com/revoke"),
        ] {
            let body = document(
                "https://idp.example.com",
                "https://idp.example.com/token",
                &format!(r#", "{field}": "{url}""#),
            );
            let err = read(&body, Some(&issuer)).unwrap_err();
            assert!(err.starts_with(&format!("`{field}` is ")), "{err}");
        }
        let body = document(
            "https://idp.example.com",
            "http://idp.example.com/token",
            "",
        );
        assert!(
            read(&body, Some(&issuer))
                .unwrap_err()
                .starts_with("`token_endpoint` is http://idp.example.com/token")
        );
        for loopback in [
            "http://127.0.0.1:8080/t",
            "http://127.3.4.5/t",
            "http://[::1]:9/t",
            "http://localhost/t",
        ] {
            assert!(
                read(
                    &document("https://idp.example.com", loopback, ""),
                    Some(&issuer)
                )
                .is_ok(),
                "{loopback}"
            );
        }
        let nine_two_oh_seven = document(
            "https://idp.example.com",
            "https://idp.example.com/token",
            r#", "authorization_response_iss_parameter_supported": true"#,
        );
        assert!(
            read(&nine_two_oh_seven, Some(&issuer))
                .unwrap()
                .iss_in_authorization_response
        );
    }
}
