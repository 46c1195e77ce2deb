//! ID token verification (OpenID Connect Core 1.0, 3.1.3.7): signature by a key of the issuer's
//! JWKS, `iss`, `aud`, `exp`, and `nonce` when one was sent. A login whose ID token fails is
//! refused and nothing is stored. An ID token from a refresh passes the same checks and names
//! the same subject (12.2).
#![doc(hidden)]

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

/// What the ID token must say.
#[derive(Clone, Copy, Debug)]
pub struct Expected<'a> {
    /// The issuer, exactly. Entra ID's discovery documents write `{tenantid}` where each token
    /// carries its directory: that part stands for the token's `tid` claim. `None`: no issuer is
    /// known, and the token is refused.
    pub issuer: Option<&'a str>,
    /// The directory the token's `tid` must name (Entra ID, a tenant configured as a GUID),
    /// compared without regard to case.
    pub tenant: Option<&'a str>,
    /// This client's ID.
    pub audience: &'a str,
    /// The nonce sent with the authorization request, if any.
    pub nonce: Option<&'a str>,
    /// The `max_age` sent with the sign-in: `auth_time` is then required, and no older.
    pub max_age: Option<u64>,
}

/// Clock skew tolerated on `exp` and `nbf`.
const LEEWAY_SECONDS: u64 = 30;

/// Why an ID token was refused. Never contains the token.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IdTokenError {
    #[error("the ID token is not a signed JWT ({0})")]
    Malformed(String),
    #[error("the ID token is signed with `{alg:?}`, which is not accepted{hint}", alg = .0, hint = algorithm_hint(*.0))]
    Algorithm(Algorithm),
    #[error("no key in the issuer's JWKS matches the ID token's key id {0:?}")]
    UnknownKey(Option<String>),
    #[error("the ID token failed verification: {0}")]
    Invalid(String),
    #[error("the ID token's nonce does not match the one sent: the reply may be replayed")]
    Nonce,
    #[error("the ID token's issuer is {found:?}, but the provider's is {expected:?}")]
    Issuer { expected: String, found: String },
    #[error(
        "the ID token is for the directory {found:?}, but the provider's tenant is {expected:?}"
    )]
    Tenant { expected: String, found: String },
    #[error("no issuer is known to check the ID token against")]
    NoIssuer,
    #[error("max_age was asked for, but the ID token has no auth_time")]
    NoAuthTime,
    #[error(
        "the ID token's sign-in is {age} s old, more than the max_age of {max_age} s asked for"
    )]
    TooOld { age: i64, max_age: u64 },
    #[error("the refreshed ID token names another subject ({now:?}, not {was:?})")]
    Subject { was: String, now: String },
}

/// An HMAC-signed ID token is checked with the client secret, which a public client has not:
/// legacy Auth0 apps still sign that way until switched.
fn algorithm_hint(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
            ": switch the app's ID token signing algorithm to RS256 (Auth0: the application's Advanced Settings, OAuth)"
        }
        _ => "",
    }
}

/// OpenID Connect Core 12.2: a refreshed ID token's `sub` is the one the login was made for
/// (the `sub` of the ID token it had, when it had one).
pub fn same_subject(
    previous: Option<&str>,
    claims: &Map<String, Value>,
) -> Result<(), IdTokenError> {
    let was = previous
        .and_then(|token| crate::jwt::decode(token).ok())
        .and_then(|decoded| {
            decoded
                .claims
                .get("sub")
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
    let now = claims
        .get("sub")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match was {
        Some(was) if was != now => Err(IdTokenError::Subject {
            was,
            now: now.to_owned(),
        }),
        _ => Ok(()),
    }
}

/// Algorithms an ID token may be signed with; never `none` and never HMAC with a public key.
/// Keycloak realms may sign with ES384 or EdDSA (its realm keys' options), or ES512 ([`ES512`]).
const ACCEPTED: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// Verifies `token` against the issuer's `jwks`; returns its claims.
pub fn verify(
    token: &str,
    jwks: &JwkSet,
    expected: &Expected<'_>,
) -> Result<Map<String, Value>, IdTokenError> {
    let claims = match segment(token, 0)?.get("alg").and_then(Value::as_str) {
        Some(ES512) => es512_claims(token, jwks, expected.audience)?,
        _ => signed_claims(token, jwks, expected.audience)?,
    };
    check_issuer(&claims, expected)?;
    if let Some(nonce) = expected.nonce
        && claims.get("nonce").and_then(Value::as_str) != Some(nonce)
    {
        return Err(IdTokenError::Nonce);
    }
    if let Some(max_age) = expected.max_age {
        let auth_time = claims
            .get("auth_time")
            .and_then(Value::as_i64)
            .ok_or(IdTokenError::NoAuthTime)?;
        let age = crate::clock::unix_now().saturating_sub(auth_time);
        let allowed = i64::try_from(max_age.saturating_add(LEEWAY_SECONDS)).unwrap_or(i64::MAX);
        if age > allowed {
            return Err(IdTokenError::TooOld { age, max_age });
        }
    }
    Ok(claims)
}

/// The claims of a token signed with one of [`ACCEPTED`], checked as [`verify`] says.
fn signed_claims(
    token: &str,
    jwks: &JwkSet,
    audience: &str,
) -> Result<Map<String, Value>, IdTokenError> {
    let header = jsonwebtoken::decode_header(token)
        .map_err(|err| IdTokenError::Malformed(err.to_string()))?;
    if !ACCEPTED.contains(&header.alg) {
        return Err(IdTokenError::Algorithm(header.alg));
    }
    let jwk = key_for(jwks, header.kid.as_deref())?;
    let key = DecodingKey::from_jwk(jwk).map_err(|err| IdTokenError::Invalid(err.to_string()))?;
    let mut validation = Validation::new(header.alg);
    validation.leeway = LEEWAY_SECONDS;
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&REQUIRED_CLAIMS);
    jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
        .map(|data| data.claims)
        .map_err(|err| IdTokenError::Invalid(err.to_string()))
}

const REQUIRED_CLAIMS: [&str; 4] = ["exp", "iss", "aud", "sub"];

/// ECDSA P-521 with SHA-512, a Keycloak realm key option that jsonwebtoken has no algorithm
/// for: verified here with the RustCrypto curve, then checked as jsonwebtoken checks the others.
const ES512: &str = "ES512";

fn es512_claims(
    token: &str,
    jwks: &JwkSet,
    audience: &str,
) -> Result<Map<String, Value>, IdTokenError> {
    use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve};
    use p521::ecdsa::signature::Verifier;
    let invalid = |what: &str| IdTokenError::Invalid(what.to_owned());
    let kid = segment(token, 0)?
        .get("kid")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let jwk = key_for(jwks, kid.as_deref())?;
    let AlgorithmParameters::EllipticCurve(params) = &jwk.algorithm else {
        return Err(invalid("the key for an ES512 token is not an EC key"));
    };
    let coordinate = |text: &str| {
        base64url(text)
            .filter(|bytes| bytes.len() == 66)
            .ok_or_else(|| invalid("the P-521 key's coordinates are not 66 bytes each"))
    };
    if params.curve != EllipticCurve::P521 {
        return Err(invalid("the key for an ES512 token is not on P-521"));
    }
    // SEC 1's uncompressed point: 0x04, then x and y.
    let point = [vec![4], coordinate(&params.x)?, coordinate(&params.y)?].concat();
    let key = p521::ecdsa::VerifyingKey::from_sec1_bytes(&point)
        .map_err(|_| invalid("the P-521 key is not a point of the curve"))?;
    let (signed, signature) = token
        .rsplit_once('.')
        .ok_or_else(|| IdTokenError::Malformed("not three parts".into()))?;
    let signature = base64url(signature)
        .and_then(|bytes| p521::ecdsa::Signature::from_slice(&bytes).ok())
        .ok_or_else(|| IdTokenError::Malformed("an ES512 signature of another size".into()))?;
    key.verify(signed.as_bytes(), &signature)
        .map_err(|_| invalid("InvalidSignature"))?;
    let claims = segment(token, 1)?;
    if let Some(missing) = REQUIRED_CLAIMS.iter().find(|c| !claims.contains_key(**c)) {
        return Err(invalid(&format!("Missing required claim: {missing}")));
    }
    let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
    let leeway = i64::try_from(LEEWAY_SECONDS).unwrap_or(0);
    if exp.saturating_add(leeway) < crate::clock::unix_now() {
        return Err(invalid("ExpiredSignature"));
    }
    let audiences = match claims.get("aud") {
        Some(Value::Array(all)) => all.iter().filter_map(Value::as_str).collect(),
        Some(Value::String(one)) => vec![one.as_str()],
        _ => Vec::new(),
    };
    if !audiences.contains(&audience) {
        return Err(invalid("InvalidAudience"));
    }
    Ok(claims)
}

/// The issuer's key for a token's `kid`, or its only key when the token names none.
fn key_for<'a>(
    jwks: &'a JwkSet,
    kid: Option<&str>,
) -> Result<&'a jsonwebtoken::jwk::Jwk, IdTokenError> {
    match kid {
        Some(kid) => jwks.find(kid),
        None if jwks.keys.len() == 1 => jwks.keys.first(),
        None => None,
    }
    .ok_or_else(|| IdTokenError::UnknownKey(kid.map(str::to_owned)))
}

/// The JSON object in part `index` of a JWT (0 the header, 1 the claims).
fn segment(token: &str, index: usize) -> Result<Map<String, Value>, IdTokenError> {
    token
        .split('.')
        .nth(index)
        .and_then(base64url)
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| IdTokenError::Malformed(format!("part {} is not base64url JSON", index + 1)))
}

fn base64url(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .ok()
}

/// How Entra ID's discovery writes the directory part of a multi-tenant issuer; a URL parser
/// percent-encodes the braces.
const TENANT_PLACEHOLDERS: [&str; 2] = ["{tenantid}", "%7Btenantid%7D"];

/// The token's `iss` is the expected issuer (its `{tenantid}` the token's `tid`), and its `tid`
/// the configured tenant. Both values are named on a mismatch.
fn check_issuer(claims: &Map<String, Value>, expected: &Expected<'_>) -> Result<(), IdTokenError> {
    let claim = |name: &str| claims.get(name).and_then(Value::as_str).unwrap_or_default();
    let (found, tid) = (claim("iss"), claim("tid"));
    let template = expected.issuer.ok_or(IdTokenError::NoIssuer)?;
    let placeholder = TENANT_PLACEHOLDERS.iter().find(|p| template.contains(*p));
    let issuer = match placeholder {
        Some(_) if tid.is_empty() => {
            return Err(IdTokenError::Issuer {
                expected: template.to_owned(),
                found: format!("{found} (without a tid claim)"),
            });
        }
        Some(placeholder) => template.replace(placeholder, tid),
        None => template.to_owned(),
    };
    // `https://idp.example` and `https://idp.example/` name the same issuer.
    if found.trim_end_matches('/') != issuer.trim_end_matches('/') {
        return Err(IdTokenError::Issuer {
            expected: issuer,
            found: found.to_owned(),
        });
    }
    if let Some(tenant) = expected.tenant
        && !tid.eq_ignore_ascii_case(tenant)
    {
        return Err(IdTokenError::Tenant {
            expected: tenant.to_owned(),
            found: tid.to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use jsonwebtoken::{EncodingKey, Header};
    use rsa::pkcs1::EncodeRsaPrivateKey;
    use rsa::traits::PublicKeyParts;

    struct Keys {
        encoding: EncodingKey,
        jwks: JwkSet,
    }

    fn make_keys(kid: &str) -> Keys {
        let private = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
        let public = private.to_public_key();
        let der = private.to_pkcs1_der().unwrap();
        let jwks: JwkSet = serde_json::from_value(serde_json::json!({"keys": [{
            "kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
            "n": URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
        }]}))
        .unwrap();
        Keys {
            encoding: EncodingKey::from_rsa_der(der.as_bytes()),
            jwks,
        }
    }

    fn sign(keys: &Keys, kid: &str, claims: Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid.into());
        jsonwebtoken::encode(&header, &claims, &keys.encoding).unwrap()
    }

    fn claims(overrides: Value) -> Value {
        let now = crate::clock::unix_now();
        let mut base = serde_json::json!({
            "iss": "https://idp.example/realms/r", "aud": "cli", "sub": "alice",
            "exp": now + 300, "iat": now, "nonce": "n-1",
        });
        for (key, value) in overrides.as_object().unwrap() {
            base[key] = value.clone();
        }
        base
    }

    const EXPECTED: Expected<'static> = Expected {
        issuer: Some("https://idp.example/realms/r"),
        tenant: None,
        audience: "cli",
        nonce: Some("n-1"),
        max_age: None,
    };

    #[test]
    fn a_good_token_passes_and_each_bad_one_fails_for_its_reason() {
        let keys = make_keys("k1");
        let good = sign(&keys, "k1", claims(serde_json::json!({})));
        assert_eq!(
            verify(&good, &keys.jwks, &EXPECTED).unwrap()["sub"],
            "alice"
        );

        let wrong_aud = sign(&keys, "k1", claims(serde_json::json!({"aud": "other"})));
        assert!(matches!(
            verify(&wrong_aud, &keys.jwks, &EXPECTED),
            Err(IdTokenError::Invalid(_))
        ));
        let wrong_iss = sign(
            &keys,
            "k1",
            claims(serde_json::json!({"iss": "https://evil.example"})),
        );
        let err = verify(&wrong_iss, &keys.jwks, &EXPECTED).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the ID token's issuer is \"https://evil.example\", but the provider's is \"https://idp.example/realms/r\""
        );
        let expired = sign(
            &keys,
            "k1",
            claims(serde_json::json!({"exp": crate::clock::unix_now() - 120})),
        );
        assert!(matches!(
            verify(&expired, &keys.jwks, &EXPECTED),
            Err(IdTokenError::Invalid(_))
        ));
        let replayed = sign(&keys, "k1", claims(serde_json::json!({"nonce": "n-2"})));
        assert_eq!(
            verify(&replayed, &keys.jwks, &EXPECTED),
            Err(IdTokenError::Nonce)
        );
        let unknown = sign(&keys, "k2", claims(serde_json::json!({})));
        assert_eq!(
            verify(&unknown, &keys.jwks, &EXPECTED),
            Err(IdTokenError::UnknownKey(Some("k2".into())))
        );

        let other = make_keys("k1");
        let forged = sign(&other, "k1", claims(serde_json::json!({})));
        assert!(matches!(
            verify(&forged, &keys.jwks, &EXPECTED),
            Err(IdTokenError::Invalid(_))
        ));

        let hmac = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims(serde_json::json!({})),
            &EncodingKey::from_secret(b"client-secret"),
        )
        .unwrap();
        let err = verify(&hmac, &keys.jwks, &EXPECTED)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("switch the app's ID token signing algorithm to RS256"),
            "{err}"
        );

        let unsigned = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(claims(serde_json::json!({})).to_string())
        );
        assert!(verify(&unsigned, &keys.jwks, &EXPECTED).is_err());
    }

    /// Entra ID: the issuer its discovery states (`{tenantid}` where many directories share
    /// it), with the token's `tid` put in, exactly; a configured GUID tenant binds `tid`.
    #[test]
    fn entra_issuers_take_the_tokens_directory() {
        let keys = make_keys("k1");
        let tid = "11111111-2222-3333-4444-555555555555";
        let token = |iss: &str, tid: Option<&str>| {
            let mut extra = serde_json::json!({ "iss": iss });
            if let Some(tid) = tid {
                extra["tid"] = tid.into();
            }
            sign(&keys, "k1", claims(extra))
        };
        let own = format!("https://login.microsoftonline.com/{tid}/v2.0");
        let expect = |issuer, tenant| Expected {
            issuer: Some(issuer),
            tenant,
            audience: "cli",
            nonce: None,
            max_age: None,
        };
        for template in [
            "https://login.microsoftonline.com/{tenantid}/v2.0",
            "https://login.microsoftonline.com/%7Btenantid%7D/v2.0",
        ] {
            let multi = expect(template, None);
            assert!(verify(&token(&own, Some(tid)), &keys.jwks, &multi).is_ok());
            // Any other host, scheme or suffix is refused, not only another directory.
            for foreign in [
                format!("https://login.microsoftonline.com/{tid}/v2.0/x"),
                format!("https://evil.example/{tid}/v2.0"),
                format!("https://login.microsoftonline.com/other/{tid}/v2.0"),
            ] {
                let err = verify(&token(&foreign, Some(tid)), &keys.jwks, &multi).unwrap_err();
                assert!(
                    matches!(&err, IdTokenError::Issuer { expected, found } if *expected == own && *found == foreign),
                    "{err}"
                );
            }
            assert!(matches!(
                verify(&token(&own, None), &keys.jwks, &multi),
                Err(IdTokenError::Issuer { .. })
            ));
        }
        // A GUID configured in upper case binds the token's lower-case tid.
        let upper = tid.to_ascii_uppercase();
        let single = expect(&own, Some(&upper));
        assert!(verify(&token(&own, Some(tid)), &keys.jwks, &single).is_ok());
        let other = "99999999-2222-3333-4444-555555555555";
        assert!(matches!(
            verify(&token(&own, Some(other)), &keys.jwks, &single),
            Err(IdTokenError::Tenant { .. })
        ));
        assert_eq!(
            verify(
                &token(&own, Some(tid)),
                &keys.jwks,
                &Expected {
                    issuer: None,
                    ..single
                }
            ),
            Err(IdTokenError::NoIssuer)
        );
    }

    /// The signatures a Keycloak realm may be set to: ECDSA P-384 and Ed25519 (fixed test keys).
    #[test]
    fn es384_and_eddsa_signatures_verify() {
        const P384: &str = "-----BEGIN PRIVATE KEY-----
MIG2AgEAMBAGByqGSM49AgEGBSuBBAAiBIGeMIGbAgEBBDAycSCiulboSxdU+U34
4P69LRN6V1QrJcbzqGvndNM6asMkxH5b9DzJhaeGSu7QIFehZANiAAQNgMvhtRHF
m/gkhnIFY3Oa3OvxlqSJFKIwzFK/9icxS5GZI6VbGWgjWmsmEAsEmckW7XKdE2iv
Y9OenGtULnO2eBd2UVqCkFX77ZEXmr1CXyiVOnvjD+j68njMIfzExBM=
-----END PRIVATE KEY-----";
        const ED25519: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIHKLE2ExExY/BuOT3YNs+XJMP8ihPuVJDQSyulqXQKOr
-----END PRIVATE KEY-----";
        let cases = [
            (
                Algorithm::ES384,
                EncodingKey::from_ec_pem(P384.as_bytes()).unwrap(),
                serde_json::json!({"kty": "EC", "crv": "P-384", "kid": "k",
                    "x": "DYDL4bURxZv4JIZyBWNzmtzr8ZakiRSiMMxSv_YnMUuRmSOlWxloI1prJhALBJnJ",
                    "y": "Fu1ynRNor2PTnpxrVC5ztngXdlFagpBV--2RF5q9Ql8olTp74w_o-vJ4zCH8xMQT"}),
            ),
            (
                Algorithm::EdDSA,
                EncodingKey::from_ed_pem(ED25519.as_bytes()).unwrap(),
                serde_json::json!({"kty": "OKP", "crv": "Ed25519", "kid": "k",
                    "x": "x4iMS4jLCPfcm6gnysHcdGKqr8z81RttcARw2mqyyVs"}),
            ),
        ];
        for (alg, key, jwk) in cases {
            let jwks: JwkSet =
                serde_json::from_value(serde_json::json!({ "keys": [jwk] })).unwrap();
            let mut header = Header::new(alg);
            header.kid = Some("k".into());
            let token =
                jsonwebtoken::encode(&header, &claims(serde_json::json!({})), &key).unwrap();
            assert!(verify(&token, &jwks, &EXPECTED).is_ok(), "{alg:?}");
        }
    }

    /// ES512 (a Keycloak realm's P-521 key), which jsonwebtoken lacks: a good token verifies;
    /// another signature, an expired token or another audience does not.
    #[test]
    fn es512_signatures_verify_and_are_checked_like_the_others() {
        use p521::ecdsa::signature::RandomizedSigner;
        let mut scalar = [7u8; 66];
        scalar[0] = 0;
        let signing = p521::ecdsa::SigningKey::from_slice(&scalar).unwrap();
        let point = p521::ecdsa::VerifyingKey::from(&signing).to_encoded_point(false);
        let jwks: JwkSet = serde_json::from_value(serde_json::json!({"keys": [{
            "kty": "EC", "crv": "P-521", "kid": "p521", "use": "sig",
            "x": URL_SAFE_NO_PAD.encode(point.x().unwrap()),
            "y": URL_SAFE_NO_PAD.encode(point.y().unwrap()),
        }]}))
        .unwrap();
        let token = |claims: Value| {
            let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"ES512","kid":"p521","typ":"JWT"}"#);
            let body = URL_SAFE_NO_PAD.encode(claims.to_string());
            let signed = format!("{header}.{body}");
            let signature: p521::ecdsa::Signature =
                signing.sign_with_rng(&mut rsa::rand_core::OsRng, signed.as_bytes());
            format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
        };
        let good = token(claims(serde_json::json!({})));
        assert_eq!(verify(&good, &jwks, &EXPECTED).unwrap()["sub"], "alice");
        // Another last character, whatever the random signature ended in (1 in 64 ends in A).
        let last = if good.ends_with('A') { 'B' } else { 'A' };
        let forged = format!("{}{last}", &good[..good.len() - 1]);
        assert!(verify(&forged, &jwks, &EXPECTED).is_err());
        let now = crate::clock::unix_now();
        let expired = token(claims(serde_json::json!({"exp": now - 600})));
        assert!(matches!(
            verify(&expired, &jwks, &EXPECTED),
            Err(IdTokenError::Invalid(why)) if why.contains("Expired")
        ));
        let other = token(claims(serde_json::json!({"aud": "someone-else"})));
        assert!(verify(&other, &jwks, &EXPECTED).is_err());
    }

    /// OpenID Connect Core 3.1.3.7: with `max_age` sent, `auth_time` is required and checked.
    #[test]
    fn max_age_needs_a_recent_auth_time() {
        let keys = make_keys("k1");
        let now = crate::clock::unix_now();
        let with_max_age = Expected {
            max_age: Some(300),
            ..EXPECTED
        };
        let signed = |extra| sign(&keys, "k1", claims(extra));
        let recent = signed(serde_json::json!({ "auth_time": now - 60 }));
        assert!(verify(&recent, &keys.jwks, &with_max_age).is_ok());
        let old = signed(serde_json::json!({ "auth_time": now - 3600 }));
        assert!(matches!(
            verify(&old, &keys.jwks, &with_max_age),
            Err(IdTokenError::TooOld { max_age: 300, .. })
        ));
        let none = signed(serde_json::json!({}));
        assert_eq!(
            verify(&none, &keys.jwks, &with_max_age),
            Err(IdTokenError::NoAuthTime)
        );
        assert!(
            verify(&none, &keys.jwks, &EXPECTED).is_ok(),
            "no max_age sent"
        );
    }

    #[test]
    fn a_refreshed_id_token_must_name_the_same_subject() {
        let previous = format!(
            "{}.{}.sig",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256"}"#),
            URL_SAFE_NO_PAD.encode(r#"{"sub":"alice"}"#)
        );
        let claims = |sub: &str| {
            serde_json::json!({ "sub": sub })
                .as_object()
                .cloned()
                .unwrap()
        };
        assert!(same_subject(Some(&previous), &claims("alice")).is_ok());
        let err = same_subject(Some(&previous), &claims("mallory")).unwrap_err();
        assert!(
            err.to_string().contains("\"mallory\", not \"alice\""),
            "{err}"
        );
        assert!(
            same_subject(None, &claims("anyone")).is_ok(),
            "no ID token before: nothing to compare"
        );
    }
}
