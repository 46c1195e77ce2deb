//! Base URLs of identity providers: the one place that decides what `server`, `domain`,
//! `authority-host` and `issuer` may be.

use std::net::IpAddr;

use url::{Host, Url};

/// Why a text is not a provider's base URL; each says what the text may be instead.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BaseUrlError {
    /// Nothing was given.
    #[error("must not be empty")]
    Empty,
    /// A path, where a URL or host name belongs.
    #[error("must be a URL or a host name, not a path")]
    Path,
    /// Not a URL at all.
    #[error("is not a valid URL ({0})")]
    Invalid(url::ParseError),
    /// A query or fragment, which a base never has.
    #[error("must not have a query or fragment")]
    QueryOrFragment,
    /// A user name or password in the URL.
    #[error("must not contain credentials")]
    Credentials,
    /// Plain http to another machine: tokens would cross the network in clear text.
    #[error("uses plain http on a non-loopback host ({host}); use https")]
    PlainHttp {
        /// The host named.
        host: String,
    },
    /// A scheme other than https (or http on loopback).
    #[error("has unsupported scheme `{scheme}`; use https")]
    Scheme {
        /// The scheme named.
        scheme: String,
    },
}

/// Parses a provider base: a full `https://` URL, a bare host name (https is assumed), or
/// plain `http://` on a loopback address (for local testing). Anything else is refused,
/// because tokens and secrets would cross the network in clear text.
pub fn parse_base_url(text: &str) -> Result<Url, BaseUrlError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(BaseUrlError::Empty);
    }
    if text.starts_with('/') {
        return Err(BaseUrlError::Path);
    }
    let with_scheme = if text.contains("://") {
        text.to_owned()
    } else {
        format!("https://{text}")
    };
    let url = Url::parse(&with_scheme).map_err(BaseUrlError::Invalid)?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(BaseUrlError::QueryOrFragment);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(BaseUrlError::Credentials);
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(BaseUrlError::PlainHttp {
            host: url.host_str().unwrap_or_default().to_owned(),
        }),
        other => Err(BaseUrlError::Scheme {
            scheme: other.to_owned(),
        }),
    }
}

/// Whether the URL's host is on this machine: 127.0.0.0/8, ::1 or `localhost`.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// `base` with `path` appended below its own path (`https://h/auth` + `realms/x` gives
/// `https://h/auth/realms/x`), whatever slashes either side has.
pub fn join_path(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    let joined = format!(
        "{}/{}",
        base.path().trim_end_matches('/'),
        path.trim_start_matches('/')
    );
    url.set_path(&joined);
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_https_bare_hosts_and_loopback_http() {
        assert_eq!(
            parse_base_url("sso.example.com").unwrap().as_str(),
            "https://sso.example.com/"
        );
        assert_eq!(
            parse_base_url("https://login.microsoftonline.com")
                .unwrap()
                .as_str(),
            "https://login.microsoftonline.com/"
        );
        for loopback in [
            "http://127.0.0.1:8080",
            "http://localhost:1",
            "http://[::1]:9",
        ] {
            assert!(parse_base_url(loopback).is_ok(), "{loopback}");
        }
    }

    #[test]
    fn refuses_plain_http_elsewhere_and_odd_schemes() {
        let err = parse_base_url("http://sso.example.com").unwrap_err();
        assert_eq!(
            err,
            BaseUrlError::PlainHttp {
                host: "sso.example.com".into()
            }
        );
        assert!(err.to_string().contains("plain http"), "{err}");
        assert_eq!(
            parse_base_url("ftp://x.example").unwrap_err(),
            BaseUrlError::Scheme {
                scheme: "ftp".into()
            }
        );
        assert_eq!(
            parse_base_url("https://u:p@x.example").unwrap_err(),
            BaseUrlError::Credentials
        );
        assert_eq!(
            parse_base_url("https://x.example/?a=b").unwrap_err(),
            BaseUrlError::QueryOrFragment
        );
        assert_eq!(parse_base_url("  ").unwrap_err(), BaseUrlError::Empty);
        assert_eq!(parse_base_url("/oidc").unwrap_err(), BaseUrlError::Path);
    }

    #[test]
    fn join_path_keeps_the_base_path() {
        let base = Url::parse("https://h.example/auth/").unwrap();
        assert_eq!(
            join_path(&base, "/realms/r/protocol").as_str(),
            "https://h.example/auth/realms/r/protocol"
        );
        let bare = Url::parse("https://h.example").unwrap();
        assert_eq!(
            join_path(&bare, "oauth/token").as_str(),
            "https://h.example/oauth/token"
        );
    }
}
