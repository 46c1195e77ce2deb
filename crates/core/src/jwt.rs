//! Reading JWTs without verifying them: for expiry, identity and `auth token --decode`.
//! (Verification of ID tokens against the issuer's keys is separate and required at login.)

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

/// A JWT's header and claims.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// The JOSE header (`alg`, `kid`, `typ`).
    pub header: Map<String, Value>,
    /// The claims (`iss`, `aud`, `exp`, …), as the token says them: nothing is verified.
    pub claims: Map<String, Value>,
}

impl Decoded {
    /// `exp`, seconds since the epoch.
    pub fn expires_at(&self) -> Option<i64> {
        self.claims.get("exp").and_then(Value::as_i64)
    }

    /// Who the token is for, as a person would say it: email, upn, preferred_username or sub.
    pub fn identity(&self) -> Option<&str> {
        ["email", "upn", "preferred_username", "unique_name", "sub"]
            .iter()
            .find_map(|claim| self.claims.get(*claim).and_then(Value::as_str))
    }

    /// The granted scopes from `scope` (space-separated) or `scp` (Azure: string or list).
    pub fn scopes(&self) -> Vec<String> {
        match self.claims.get("scope").or_else(|| self.claims.get("scp")) {
            Some(Value::String(text)) => text.split_whitespace().map(str::to_owned).collect(),
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// Why a string is not a readable JWT. Never includes the token.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    #[error("not a JWT: expected three dot-separated parts")]
    /// Not three dot-separated parts.
    Shape,
    #[error("not a JWT: the {0} is not base64url-encoded JSON")]
    /// This part (`header` or `claims`) is not base64url-encoded JSON.
    Part(&'static str),
}

/// Decodes a compact JWS's header and claims.
pub fn decode(token: &str) -> Result<Decoded, DecodeError> {
    let mut parts = token.split('.');
    let (Some(header), Some(claims), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(DecodeError::Shape);
    };
    Ok(Decoded {
        header: part(header, "header")?,
        claims: part(claims, "claims")?,
    })
}

fn part(text: &str, name: &'static str) -> Result<Map<String, Value>, DecodeError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .map_err(|_| DecodeError::Part(name))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(DecodeError::Part(name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: &str) -> String {
        format!(
            "{}.{}.sig",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256"}"#),
            URL_SAFE_NO_PAD.encode(claims)
        )
    }

    #[test]
    fn reads_expiry_identity_and_scopes() {
        let token = decode(&jwt(
            r#"{"sub":"s","upn":"a@corp","exp":123,"scp":"read write"}"#,
        ))
        .unwrap();
        assert_eq!(token.expires_at(), Some(123));
        assert_eq!(token.identity(), Some("a@corp"));
        assert_eq!(token.scopes(), ["read", "write"]);
        assert_eq!(
            decode(&jwt(r#"{"sub":"s"}"#)).unwrap().identity(),
            Some("s")
        );
    }

    #[test]
    fn refuses_what_is_not_a_jwt_without_echoing_it() {
        assert_eq!(decode("opaque-token").unwrap_err(), DecodeError::Shape);
        let err = decode("a.b.c").unwrap_err();
        assert_eq!(err, DecodeError::Part("header"));
        assert!(!err.to_string().contains("a.b.c"));
    }
}
