//! How this tool proves itself as a client at the token, device and revocation endpoints
//! (RFC 6749 §2.3.1), and which way worked last with a provider. Servers must accept HTTP Basic
//! and may refuse a secret in the body; many clients are registered for exactly one of the two
//! (Auth0's are), whatever discovery lists.
#![doc(hidden)]

use std::path::PathBuf;

use sha2::{Digest, Sha256};
use url::Url;

use crate::os_keyring::{Backend, Keyring};
use crate::secret::Secret;

/// A way of authenticating the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAuth {
    /// `client_secret_basic`: id and secret, form-urlencoded, in an `Authorization: Basic`
    /// header.
    Basic,
    /// `client_secret_post`: `client_id` and `client_secret` in the form.
    Post,
    /// A public client: `client_id` in the form, never a secret.
    None,
    /// `private_key_jwt` (RFC 7523 §2.2): a fresh assertion signed with the client's key.
    PrivateKeyJwt,
    /// A JWT assertion minted elsewhere (a CI job's ID token: Entra ID federated credentials);
    /// set by the context's `client-assertion`, never by `client-auth`.
    Federated,
}

impl ClientAuth {
    /// The values of the `client-auth` provider field.
    pub const NAMES: &'static [&'static str] = &["basic", "post", "private-key-jwt", "none"];

    pub fn parse(text: &str) -> Option<ClientAuth> {
        match text {
            "basic" => Some(ClientAuth::Basic),
            "post" => Some(ClientAuth::Post),
            "none" => Some(ClientAuth::None),
            "private-key-jwt" => Some(ClientAuth::PrivateKeyJwt),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ClientAuth::Basic => "basic",
            ClientAuth::Post => "post",
            ClientAuth::None => "none",
            ClientAuth::PrivateKeyJwt => "private-key-jwt",
            ClientAuth::Federated => "client-assertion",
        }
    }

    /// The other way of sending a secret, tried once when the provider refuses this one.
    pub fn other(self) -> Option<ClientAuth> {
        match self {
            ClientAuth::Basic => Some(ClientAuth::Post),
            ClientAuth::Post => Some(ClientAuth::Basic),
            ClientAuth::None | ClientAuth::PrivateKeyJwt | ClientAuth::Federated => None,
        }
    }

    /// The way to start with, from discovery's `token_endpoint_auth_methods_supported`:
    /// Basic where it is listed or nothing is, the body where only that is offered.
    pub fn preferred(listed: Option<&[String]>) -> ClientAuth {
        match listed {
            Some(methods)
                if !methods.iter().any(|m| m == "client_secret_basic")
                    && methods.iter().any(|m| m == "client_secret_post") =>
            {
                ClientAuth::Post
            }
            _ => ClientAuth::Basic,
        }
    }
}

/// Which way worked last for one client at one token endpoint, kept in the cache directory so
/// that the next process asks right the first time. Losing it costs one refused request.
#[derive(Clone, Debug)]
pub struct Learned {
    file: PathBuf,
}

impl Learned {
    /// The record for `client_id` at `token_endpoint`; `None` without a cache directory.
    pub fn at(token_endpoint: &Url, client_id: &str) -> Option<Learned> {
        let digest = Sha256::digest(format!("{token_endpoint}\n{client_id}"));
        let name: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        let file = crate::dirs::cache_dir()?.join("client-auth").join(name);
        Some(Learned { file })
    }

    pub fn recall(&self) -> Option<ClientAuth> {
        let text = crate::fsutil::read_own_file(&self.file).ok()?;
        ClientAuth::parse(String::from_utf8_lossy(&text).trim())
            .filter(|auth| auth.other().is_some())
    }

    /// Best effort: a cache that cannot be written only costs a refused request next time.
    pub fn remember(&self, auth: ClientAuth) {
        if let Err(err) = crate::fsutil::write_own_file(&self.file, auth.as_str().as_bytes()) {
            tracing::debug!(
                "client-auth not remembered ({}): {err}",
                self.file.display()
            );
        }
    }
}

/// The client's key for `private_key_jwt`: RSA (RS256) or EC P-256 (ES256), with the
/// thumbprints of its certificate when one is given (Entra ID finds the key by `x5t#S256`).
#[derive(Clone)]
pub struct ClientKey {
    key: jsonwebtoken::EncodingKey,
    header: jsonwebtoken::Header,
}

impl std::fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientKey(..)")
    }
}

/// How long an assertion is good for: one request.
const ASSERTION_LIFETIME: i64 = 120;

/// Where the client's private key is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeySource<'a> {
    /// `client-key-file`: a PEM file only its owner can read.
    File(&'a str),
    /// `client-key-keyring`: `BACKEND:ACCOUNT`, an entry of the OS keyring that
    /// `config set-provider --client-key-stdin` wrote.
    Keyring(&'a str),
}

impl std::fmt::Display for KeySource<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::File(path) => write!(f, "client-key-file {path}"),
            KeySource::Keyring(place) => write!(f, "client-key-keyring {place}"),
        }
    }
}

/// The keyring and account a `client-key-keyring` value names.
fn keyring_place(place: &str) -> Result<(Keyring, &str), String> {
    place
        .split_once(':')
        .and_then(|(backend, account)| {
            Some((Keyring { backend: Backend::parse(backend)? }, account))
        })
        .filter(|(_, account)| !account.is_empty())
        .ok_or_else(|| {
            format!("client-key-keyring {place:?} is not BACKEND:ACCOUNT as `config set-provider --client-key-stdin` writes it")
        })
}

/// Checks a `client-key-keyring` value without reading the keyring.
pub fn check_keyring_place(place: &str) -> Result<(), String> {
    keyring_place(place).map(|_| ())
}

/// Keeps a client's private key (PEM, checked first) in the OS keyring for provider `provider`,
/// in the entry `previous` names when there is one; returns the `client-key-keyring` value.
pub fn keep_in_keyring(
    provider: &str,
    pem: &Secret,
    previous: Option<&str>,
) -> Result<String, String> {
    ClientKey::from_pem(pem.expose().as_bytes(), "the key given on stdin", None)?;
    let (keyring, account) = match previous.map(keyring_place) {
        Some(Ok((keyring, account))) => (keyring, account.to_owned()),
        _ => {
            let keyring = Keyring::probe().ok_or_else(|| {
                "no OS keyring answered; keep the key in a file of mode 0600 and set client-key-file instead".to_owned()
            })?;
            let account = format!("client-key/{provider}/{}", crate::secret::random_token(6));
            (keyring, account)
        }
    };
    keyring.set(&account, pem).map_err(|err| err.to_string())?;
    Ok(format!("{}:{account}", keyring.backend.as_str()))
}

/// What an edit of a provider entry does to its key in the OS keyring: the one rule for keeping,
/// replacing and forgetting it, whoever edits the entry.
#[derive(Debug, Default)]
pub struct KeyringKeyEdit {
    /// The `client-key-keyring` value to set, when a key was given.
    pub place: Option<String>,
    /// Fields the edit must also take out.
    pub unset: Vec<&'static str>,
    /// The entry the edit stops naming, deleted once the edit is written.
    dropped: Option<String>,
    /// Whether `place` is a new keyring entry, taken out again if the edit fails.
    created: bool,
}

impl KeyringKeyEdit {
    /// `kept`: the entry's `client-key-keyring` now; `given`: a key to keep (it replaces the key
    /// file and reuses the kept entry); `sets_key_file` / `unsets_keyring`: what the edit does.
    pub fn plan(
        provider: &str,
        kept: Option<&str>,
        given: Option<&Secret>,
        sets_key_file: bool,
        unsets_keyring: bool,
    ) -> Result<KeyringKeyEdit, String> {
        let mut edit = KeyringKeyEdit::default();
        if let Some(pem) = given {
            edit.place = Some(keep_in_keyring(provider, pem, kept)?);
            edit.unset.push(CLIENT_KEY_FILE);
            edit.created = kept.is_none();
        } else if sets_key_file || unsets_keyring {
            edit.dropped = kept.map(str::to_owned);
            if edit.dropped.is_some() {
                edit.unset.push(CLIENT_KEY_KEYRING);
            }
        }
        Ok(edit)
    }

    /// After the edit failed: a keyring entry nothing names is taken out again.
    pub fn undo(&self) {
        if let (true, Some(place)) = (self.created, &self.place) {
            let _ = forget_in_keyring(place);
        }
    }

    /// After the edit was written: the entry it stopped naming is deleted; the error says why
    /// not.
    pub fn finish(&self) -> Result<(), (String, String)> {
        match &self.dropped {
            Some(place) => forget_in_keyring(place).map_err(|reason| (place.clone(), reason)),
            None => Ok(()),
        }
    }
}

/// The provider fields of the client's key (their specs are in `provider::fields`).
pub const CLIENT_KEY_FILE: &str = "client-key-file";
pub const CLIENT_KEY_KEYRING: &str = "client-key-keyring";

/// Deletes the key a `client-key-keyring` value names.
pub fn forget_in_keyring(place: &str) -> Result<(), String> {
    let (keyring, account) = keyring_place(place)?;
    keyring.delete(account).map_err(|err| err.to_string())
}

impl ClientKey {
    /// Reads the key and the certificate (PEM), refusing a key file others can read.
    pub fn load(
        source: KeySource<'_>,
        certificate_file: Option<&str>,
    ) -> Result<ClientKey, String> {
        let pem = match source {
            KeySource::File(key_file) => {
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    let meta = std::fs::metadata(key_file)
                        .map_err(|err| format!("cannot read {source}: {err}"))?;
                    if meta.permissions().mode() & 0o077 != 0 {
                        return Err(format!(
                            "{source} can be read by others: `chmod 600 {key_file}`"
                        ));
                    }
                }
                crate::fsutil::read_user_bytes(std::path::Path::new(key_file))
                    .map_err(|err| format!("cannot read {source}: {err}"))?
            }
            KeySource::Keyring(place) => {
                let (keyring, account) = keyring_place(place)?;
                let key = keyring
                    .get(account)
                    .map_err(|err| format!("cannot read {source}: {err}"))?
                    .ok_or_else(|| {
                        format!(
                            "{source}: the keyring has no such entry; give the key again with `{}`",
                            crate::program::run("config set-provider NAME --client-key-stdin")
                        )
                    })?;
                key.expose().as_bytes().to_vec()
            }
        };
        ClientKey::from_pem(&pem, &source.to_string(), certificate_file)
    }

    /// The key in `pem` (`what` names it in errors), with the thumbprints of `certificate_file`.
    fn from_pem(
        pem: &[u8],
        what: &str,
        certificate_file: Option<&str>,
    ) -> Result<ClientKey, String> {
        let (key, algorithm) = match jsonwebtoken::EncodingKey::from_rsa_pem(pem) {
            Ok(key) => (key, jsonwebtoken::Algorithm::RS256),
            Err(_) => (
                jsonwebtoken::EncodingKey::from_ec_pem(pem).map_err(|_| {
                    format!("{what} is not an RSA or EC (P-256) private key in PEM")
                })?,
                jsonwebtoken::Algorithm::ES256,
            ),
        };
        let mut header = jsonwebtoken::Header::new(algorithm);
        if let Some(file) = certificate_file {
            use base64::Engine;
            use rustls::pki_types::CertificateDer;
            use rustls::pki_types::pem::PemObject;
            let certificate = CertificateDer::from_pem_file(file).map_err(|err| {
                format!("client-certificate-file {file} is not a PEM certificate: {err}")
            })?;
            let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
            header.x5t_s256 = Some(b64.encode(Sha256::digest(certificate.as_ref())));
            header.x5t = Some(b64.encode(sha1::Sha1::digest(certificate.as_ref())));
        }
        Ok(ClientKey { key, header })
    }

    /// A fresh assertion for `client_id` (issuer and subject) to `audience`, good for one
    /// request.
    pub fn assertion(&self, client_id: &str, audience: &str, now: i64) -> Result<String, String> {
        let jti = crate::secret::random_token(16);
        let claims = serde_json::json!({
            "iss": client_id,
            "sub": client_id,
            "aud": audience,
            "jti": jti,
            "iat": now,
            "nbf": now,
            "exp": now.saturating_add(ASSERTION_LIFETIME),
        });
        jsonwebtoken::encode(&self.header, &claims, &self.key)
            .map_err(|err| format!("cannot sign the client assertion: {err}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(methods: &[&str]) -> Vec<String> {
        methods.iter().map(|m| (*m).to_owned()).collect()
    }

    #[test]
    fn basic_is_preferred_unless_only_the_body_is_offered() {
        assert_eq!(ClientAuth::preferred(None), ClientAuth::Basic);
        assert_eq!(ClientAuth::preferred(Some(&[])), ClientAuth::Basic);
        let both = listed(&["client_secret_post", "client_secret_basic"]);
        assert_eq!(ClientAuth::preferred(Some(&both)), ClientAuth::Basic);
        let post = listed(&["client_secret_post", "private_key_jwt"]);
        assert_eq!(ClientAuth::preferred(Some(&post)), ClientAuth::Post);
        let jwt = listed(&["private_key_jwt"]);
        assert_eq!(ClientAuth::preferred(Some(&jwt)), ClientAuth::Basic);
    }

    #[test]
    fn names_round_trip_and_only_secrets_have_another_way() {
        for name in ClientAuth::NAMES {
            assert_eq!(ClientAuth::parse(name).map(ClientAuth::as_str), Some(*name));
        }
        assert_eq!(ClientAuth::parse("private_key_jwt"), None);
        assert_eq!(ClientAuth::PrivateKeyJwt.other(), None);
        assert_eq!(ClientAuth::Basic.other(), Some(ClientAuth::Post));
        assert_eq!(ClientAuth::Post.other(), Some(ClientAuth::Basic));
        assert_eq!(ClientAuth::None.other(), None);
    }

    /// A throwaway P-256 key and its self-signed certificate, made for this test only.
    const TEST_KEY: &str = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgUubbusNroJDucOQV\ny9clpmsnzlL5EOeAUZ15NWB/+AuhRANCAAQ7biNvaXT4+3izlMqD0ZweraGk3NhO\n56ryqfPzo+L0FWu1qlI2bO9//g6BT/7+3MULXYG7nA0vxDWKD8dTFMTf\n-----END PRIVATE KEY-----\n";
    const TEST_CERTIFICATE: &str = "-----BEGIN CERTIFICATE-----\nMIIBlDCCATugAwIBAgIUF3G4QJ5p3SHO012TPQyHMnxvPU4wCgYIKoZIzj0EAwIw\nHzEdMBsGA1UEAwwUdG9rZW5jdGwtdGVzdC1jbGllbnQwIBcNMjYxMjAxMTUwNzQz\nWhgPMjEyNjExMDcxNTA3NDNaMB8xHTAbBgNVBAMMFHRva2VuY3RsLXRlc3QtY2xp\nZW50MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEO24jb2l0+Pt4s5TKg9GcHq2h\npNzYTueq8qnz86Pi9BVrtapSNmzvf/4OgU/+/tzFC12Bu5wNL8Q1ig/HUxTE36NT\nMFEwHQYDVR0OBBYEFLGZ3KfIcned44iNwT3fPvZzVhsHMB8GA1UdIwQYMBaAFLGZ\n3KfIcned44iNwT3fPvZzVhsHMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwID\nRwAwRAIgCOZkBeW4Ko74Q2F9LUa/M21QpWHHgfukm/KKczwvvSICIF06DCcRCXaa\neeseOu9+bMnEY9Uf9RmlYz7myuhjihqw\n-----END CERTIFICATE-----\n";

    #[cfg(unix)]
    #[test]
    fn an_assertion_is_fresh_signed_and_names_the_certificate() {
        use base64::Engine;
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("key.pem");
        let certificate = dir.path().join("cert.pem");
        std::fs::write(&key, TEST_KEY).unwrap();
        std::fs::write(&certificate, TEST_CERTIFICATE).unwrap();
        let (key, certificate) = (key.to_str().unwrap(), certificate.to_str().unwrap());

        std::fs::set_permissions(key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let refused = ClientKey::load(KeySource::File(key), None).unwrap_err();
        assert!(refused.contains(&format!("chmod 600 {key}")), "{refused}");
        std::fs::set_permissions(key, std::fs::Permissions::from_mode(0o600)).unwrap();

        let client_key = ClientKey::load(KeySource::File(key), Some(certificate)).unwrap();
        let first = client_key
            .assertion("app", "https://idp.test/", 1_800_000_000)
            .unwrap();
        let second = client_key
            .assertion("app", "https://idp.test/", 1_800_000_000)
            .unwrap();
        let (first, second) = (
            crate::jwt::decode(&first).unwrap(),
            crate::jwt::decode(&second).unwrap(),
        );
        assert_eq!(first.header["alg"], "ES256");
        let der = CertificateDer::from_pem_slice(TEST_CERTIFICATE.as_bytes()).unwrap();
        let thumbprint =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(der.as_ref()));
        assert_eq!(first.header["x5t#S256"], thumbprint.as_str());
        for claim in ["iss", "sub"] {
            assert_eq!(first.claims[claim], "app");
        }
        assert_eq!(first.claims["aud"], "https://idp.test/");
        assert_eq!(first.claims["exp"], 1_800_000_000 + ASSERTION_LIFETIME);
        assert_ne!(
            first.claims["jti"], second.claims["jti"],
            "a new jti each time"
        );
    }
}
