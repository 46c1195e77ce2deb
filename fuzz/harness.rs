//! What each fuzz target feeds to tokenctl. Shared, one definition, by the cargo-fuzz targets
//! (fuzz/fuzz_targets/*.rs) and by the smoke run in the test suite (tests/fuzz_smoke.rs).
//! A target passes when tokenctl returns, whatever it returns: a panic, a hang or a crash is
//! the finding.

use std::path::Path;

use tokenctl_core::internal::config::{ConfigFile, ConfigSet, ProviderEntry};
use tokenctl_core::internal::http::Reply;

/// A fuzz target's body: any bytes in, nothing out.
pub type Target = fn(&[u8]);

/// The targets by name, for the smoke run.
pub const TARGETS: [(&str, Target); 6] = [
    ("contexts_file", contexts_file),
    ("token_reply", token_reply),
    ("jwt", jwt),
    ("exec_credential_input", exec_credential_input),
    ("callback_request", callback_request),
    ("discovery_document", discovery_document),
];

/// What arrives on the browser login's loopback port: the request head a local program sends.
pub fn callback_request(data: &[u8]) {
    let _ = tokenctl_core::internal::flows::parse_callback_request(data, "/callback");
}

/// An identity provider's discovery document, read against a configured issuer (the first
/// byte picks a path issuer or a bare origin).
pub fn discovery_document(data: &[u8]) {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let issuer = if selector & 1 == 0 {
        "https://idp.example.com/realms/r"
    } else {
        "https://idp.example.com"
    };
    let issuer = url::Url::parse(issuer).expect("static URL");
    let _ = tokenctl_core::internal::discovery::read(body, Some(&issuer));
}

/// A contexts file: parse, validate, resolve the current context.
pub fn contexts_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(file) = ConfigFile::parse(Path::new("fuzz.yaml"), text) else {
        return;
    };
    let set = ConfigSet::of(vec![file]);
    let _ = set.problems();
    if let Ok(resolved) = set.resolve(None) {
        let _ = resolved.provider.map(|entry| entry.dialect());
    }
}

/// A token endpoint's reply, read by every dialect's wire: the first byte picks the status
/// and the content type, the rest is the body.
pub fn token_reply(data: &[u8]) {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let statuses = [200, 400, 401, 403, 429, 500, 503];
    let reply = Reply {
        status: statuses[usize::from(selector) % statuses.len()],
        content_type: Some(
            if selector & 0x80 == 0 {
                "application/json"
            } else {
                "text/html"
            }
            .into(),
        ),
        headers: Vec::new(),
        body: body.to_vec(),
    };
    let url = url::Url::parse("https://idp.example/token").expect("static URL");
    for dialect in tokenctl_providers::providers() {
        let entry = ProviderEntry {
            name: "fuzz".into(),
            kind: dialect.kind().into(),
            fields: Default::default(),
        };
        let wire = dialect.token_wire(&entry.as_config());
        let _ = wire.decode(&url, &reply);
    }
}

/// A JWT (access or ID token): decode, and read what tokenctl reads from it.
pub fn jwt(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(decoded) = tokenctl_core::jwt::decode(text) {
        let _ = (decoded.expires_at(), decoded.identity(), decoded.scopes());
    }
}

/// `KUBERNETES_EXEC_INFO` as kubectl sets it.
pub fn exec_credential_input(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = tokenctl_cli::exec_credential::ExecInfo::parse(text);
    }
}
