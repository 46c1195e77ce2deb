//! A server trusted as kubectl trusts a cluster's: a `certificate-authority` replaces the system
//! roots, a server certificate that is byte-for-byte one of those CA certificates (a self-signed
//! `CA:TRUE` certificate, what `openssl req -x509` makes) is accepted with its name still
//! checked, where webpki alone refuses a CA as a server's own certificate, and `tls-server-name`
//! is the name the certificate must carry. The handshake still proves the server holds that
//! certificate's key. Clusters and providers (an identity provider behind a corporate CA) share
//! these rules.
#![doc(hidden)]

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// The certificates of a PEM bundle; an error says what is wrong with it.
pub fn certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let certificates = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| format!("the certificate authority is not PEM: {err}"))?;
    if certificates.is_empty() {
        return Err("the certificate authority holds no certificate".into());
    }
    Ok(certificates)
}

/// The certificates of `certificate-authority-data` (base64 of a PEM bundle); the error reads
/// after the field's name.
pub fn certificates_from_data(data: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    use base64::Engine;
    let pem = base64::engine::general_purpose::STANDARD
        .decode(data.trim())
        .map_err(|_| "is not base64 (of the CA's PEM file)".to_owned())?;
    certificates(&pem).map_err(|reason| format!("is not usable: {reason}"))
}

/// How a server is trusted, from its entry in the contexts file.
#[derive(Clone, Debug, Default)]
pub struct TlsTrust {
    /// Whose settings these are, for messages: `cluster "prod"`, `provider "sso"`.
    pub whose: String,
    pub ca_file: Option<String>,
    /// Base64-encoded PEM.
    pub ca_data: Option<String>,
    /// The name the server's certificate must carry instead of the URL's host.
    pub server_name: Option<String>,
    pub insecure_skip_verify: bool,
}

impl TlsTrust {
    /// Whether these are the system's defaults (nothing of the entry's own).
    pub fn is_default(&self) -> bool {
        self.ca_file.is_none()
            && self.ca_data.is_none()
            && self.server_name.is_none()
            && !self.insecure_skip_verify
    }

    /// Applies these settings to a client builder; an error says what is wrong with them.
    pub fn apply(&self, builder: reqwest::ClientBuilder) -> Result<reqwest::ClientBuilder, String> {
        let authorities = match (&self.ca_file, &self.ca_data) {
            (Some(path), _) => {
                let pem = crate::fsutil::read_user_bytes(std::path::Path::new(path))
                    .map_err(|err| format!("cannot read certificate-authority {path}: {err}"))?;
                Some(certificates(&pem)?)
            }
            (None, Some(data)) => Some(
                certificates_from_data(data)
                    .map_err(|reason| format!("certificate-authority-data {reason}"))?,
            ),
            (None, None) => None,
        };
        if self.insecure_skip_verify {
            tracing::warn!(
                whose = %self.whose,
                "insecure-skip-tls-verify: the server's certificate is not checked"
            );
            return Ok(builder.danger_accept_invalid_certs(true));
        }
        let server_name = self
            .server_name
            .as_deref()
            .map(|name| {
                ServerName::try_from(name.to_owned())
                    .map_err(|_| format!("tls-server-name {name:?} is not a host name"))
            })
            .transpose()?;
        if authorities.is_none() && server_name.is_none() {
            return Ok(builder);
        }
        let config = trusting(authorities, server_name)?;
        Ok(builder.use_preconfigured_tls(config))
    }
}

/// A TLS client configuration that trusts exactly `authorities` (the system's roots when
/// `None`), checking the server's certificate for `server_name` when given.
fn trusting(
    authorities: Option<Vec<CertificateDer<'static>>>,
    server_name: Option<ServerName<'static>>,
) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    match &authorities {
        Some(authorities) => {
            for authority in authorities {
                roots.add(authority.clone()).map_err(|err| {
                    format!("a certificate of the certificate authority cannot be used: {err}")
                })?;
            }
        }
        // What reqwest trusts by default: the system's roots, webpki's where there are none.
        None => {
            let (added, _) =
                roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
            if added == 0 {
                roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            }
        }
    }
    let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|err| err.to_string())?;
    let verifier = Verifier {
        inner,
        authorities: authorities.unwrap_or_default(),
        server_name,
    };
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|err| err.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth())
}

#[derive(Debug)]
struct Verifier {
    inner: Arc<WebPkiServerVerifier>,
    authorities: Vec<CertificateDer<'static>>,
    /// `tls-server-name`, checked in place of the URL's host.
    server_name: Option<ServerName<'static>>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let server_name = self.server_name.as_ref().unwrap_or(server_name);
        if self
            .authorities
            .iter()
            .any(|authority| authority.as_ref() == end_entity.as_ref())
        {
            let parsed = rustls::server::ParsedCertificate::try_from(end_entity)?;
            rustls::client::verify_server_name(&parsed, server_name)?;
            return Ok(ServerCertVerified::assertion());
        }
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
