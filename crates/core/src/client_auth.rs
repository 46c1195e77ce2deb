//! How this tool proves itself as a client at the token, device and revocation endpoints
//! (RFC 6749 §2.3.1), and which way worked last with a provider. Servers must accept HTTP Basic
//! and may refuse a secret in the body; many clients are registered for exactly one of the two
//! (Auth0's are), whatever discovery lists.

use std::path::PathBuf;

use sha2::{Digest, Sha256};
use url::Url;

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
}

impl ClientAuth {
    /// The values of the `client-auth` provider field.
    pub const NAMES: &'static [&'static str] = &["basic", "post", "none"];

    pub fn parse(text: &str) -> Option<ClientAuth> {
        match text {
            "basic" => Some(ClientAuth::Basic),
            "post" => Some(ClientAuth::Post),
            "none" => Some(ClientAuth::None),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ClientAuth::Basic => "basic",
            ClientAuth::Post => "post",
            ClientAuth::None => "none",
        }
    }

    /// The other way of sending a secret, tried once when the provider refuses this one.
    pub fn other(self) -> Option<ClientAuth> {
        match self {
            ClientAuth::Basic => Some(ClientAuth::Post),
            ClientAuth::Post => Some(ClientAuth::Basic),
            ClientAuth::None => None,
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
        let text = std::fs::read_to_string(&self.file).ok()?;
        ClientAuth::parse(text.trim()).filter(|auth| *auth != ClientAuth::None)
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
        assert_eq!(ClientAuth::parse("private-key-jwt"), None);
        assert_eq!(ClientAuth::Basic.other(), Some(ClientAuth::Post));
        assert_eq!(ClientAuth::Post.other(), Some(ClientAuth::Basic));
        assert_eq!(ClientAuth::None.other(), None);
    }
}
