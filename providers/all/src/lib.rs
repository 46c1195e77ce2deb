//! Links every provider dialect. Registrations made with `inventory` in a crate the final
//! binary never names are dropped by the linker; naming each crate here keeps them.

use tokenctl_auth0 as _;
use tokenctl_azure as _;
use tokenctl_keycloak as _;
use tokenctl_oidc as _;
use tokenctl_runai as _;

pub use tokenctl_core::provider::{provider, providers};

#[cfg(test)]
mod tests {
    #[test]
    fn every_dialect_is_registered_once_and_sorted() {
        let kinds: Vec<&str> = super::providers().iter().map(|p| p.kind()).collect();
        assert_eq!(kinds, ["auth0", "azure", "keycloak", "oidc", "runai"]);
    }
}
