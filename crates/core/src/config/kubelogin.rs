//! What a kubeconfig user that runs int128/kubelogin (`kubectl oidc-login get-token …`) or
//! Azure kubelogin (`kubelogin get-token …`) means as a tokenctl provider: its kind, fields
//! and flow, and every option that has no tokenctl counterpart, named, for
//! `kubeconfig import`.

use indexmap::IndexMap;
use serde_yaml_ng::Value;

use crate::config::TokenKind;
use crate::provider::Flow;

/// A kubelogin user as tokenctl would configure it.
#[derive(Debug, PartialEq)]
pub struct Imported {
    /// "int128/kubelogin" or "Azure kubelogin".
    pub tool: &'static str,
    pub kind: &'static str,
    /// The provider's fields (not `kind`).
    pub fields: IndexMap<String, Value>,
    /// The flow the user's login mode means; `None`: the kind's default.
    pub flow: Option<Flow>,
    /// The token the user handed kubectl: int128's ID token unless `--oidc-use-access-token`,
    /// Azure kubelogin's access token.
    pub cluster_token: TokenKind,
    /// Options that have no tokenctl counterpart, as written (`--token-cache-dir=/x`), each
    /// with what to do instead where there is something.
    pub unmapped: Vec<String>,
}

/// The user's exec `command` and `args`, when they run a kubelogin; `None` for any other
/// credential plugin.
pub fn from_exec(command: &str, args: &[String]) -> Option<Imported> {
    let program = command.rsplit('/').next().unwrap_or(command);
    let rest: &[String] = match (program, args.first().map(String::as_str)) {
        ("kubectl", Some("oidc-login")) => &args[1..],
        ("kubectl-oidc_login" | "kubectl-oidc-login", _) => args,
        ("kubelogin", Some("get-token")) => return Some(azure(&options(&args[1..]))),
        _ => return None,
    };
    let rest = match rest.first().map(String::as_str) {
        Some("get-token") => &rest[1..],
        _ => return None,
    };
    Some(int128(&options(rest)))
}

/// `--name=value`, `--name value` and bare `--flag`, in order.
fn options(args: &[String]) -> Vec<(String, Option<String>)> {
    let mut found = Vec::new();
    let mut words = args.iter().peekable();
    while let Some(word) = words.next() {
        let Some(flag) = word.strip_prefix("--").or_else(|| word.strip_prefix('-')) else {
            found.push((word.clone(), None));
            continue;
        };
        match flag.split_once('=') {
            Some((name, value)) => found.push((name.to_owned(), Some(value.to_owned()))),
            None => {
                let value = words.next_if(|next| !next.starts_with('-')).cloned();
                found.push((flag.to_owned(), value));
            }
        }
    }
    found
}

fn written(name: &str, value: &Option<String>) -> String {
    dropped(name, value, "no tokenctl counterpart")
}

/// An option left out, and why (or what to do instead).
fn dropped(name: &str, value: &Option<String>, why: &str) -> String {
    match value {
        Some(value) => format!("--{name}={value} ({why})"),
        None => format!("--{name} ({why})"),
    }
}

#[allow(
    clippy::too_many_lines,
    reason = "a flat table: one arm per int128/kubelogin option"
)]
fn int128(options: &[(String, Option<String>)]) -> Imported {
    let mut fields = IndexMap::new();
    let mut scopes: Vec<Value> = Vec::new();
    let mut flow = None;
    let mut cluster_token = TokenKind::Id;
    // int128 listens on 127.0.0.1:8000, else :18000, and redirects to http://localhost:PORT
    // with no path (pkg/cmd/authentication.go; docs/setup.md registers exactly those).
    let mut ports: Vec<u64> = Vec::new();
    let mut redirect_host = "localhost".to_owned();
    let mut params = serde_yaml_ng::Mapping::new();
    let mut username = false;
    let mut unmapped = Vec::new();
    for (name, value) in options {
        let text = value.clone().unwrap_or_default();
        match name.as_str() {
            // "Instead of using the id_token, use the access_token to authenticate to
            // Kubernetes" (int128/kubelogin pkg/cmd/get_token.go), a boolean flag.
            "oidc-use-access-token" => match value.as_deref() {
                None | Some("true") => cluster_token = TokenKind::Access,
                Some("false") => cluster_token = TokenKind::Id,
                Some(_) => unmapped.push(written(name, value)),
            },
            // `key=value`, repeated: extra parameters of the authorization request.
            "oidc-auth-request-extra-params" => match text.split_once('=') {
                Some((key, param)) if crate::provider::check_authorize_param(key).is_ok() => {
                    params.insert(Value::from(key), Value::from(param));
                }
                _ => unmapped.push(written(name, value)),
            },
            "listen-address" => match text.rsplit_once(':').map(|(_, p)| p.parse::<u16>()) {
                Some(Ok(port)) if port > 0 => ports.push(u64::from(port)),
                _ => unmapped.push(written(name, value)),
            },
            "oidc-redirect-url-hostname"
                if crate::provider::REDIRECT_HOSTS.contains(&text.as_str()) =>
            {
                redirect_host = text;
            }
            "oidc-issuer-url" => {
                fields.insert("issuer".into(), Value::from(text));
            }
            "oidc-client-id" => {
                fields.insert("client-id".into(), Value::from(text));
            }
            "oidc-client-secret" => {
                fields.insert("client-secret".into(), Value::from(text));
            }
            "oidc-extra-scope" => scopes.extend(
                text.split(',')
                    .filter(|scope| !scope.is_empty())
                    .map(Value::from),
            ),
            "certificate-authority" => {
                fields.insert("certificate-authority".into(), Value::from(text));
            }
            "grant-type" => match text.as_str() {
                "authcode" | "authcode-keyboard" => flow = Some(Flow::Browser),
                "device-code" => flow = Some(Flow::Device),
                "password" => flow = Some(Flow::Password),
                "client-credentials" => flow = Some(Flow::ClientCredentials),
                "auto" => {}
                _ => unmapped.push(written(name, value)),
            },
            // PKCE is always on in tokenctl; these only pick what kubelogin does by default.
            "oidc-use-pkce" | "oidc-pkce-method" | "skip-open-browser" => {}
            // With `--grant-type=auto`, a user name means the password grant
            // (int128/kubelogin pkg/cmd/authentication.go, grantOptionSet).
            "username" => {
                username = true;
                unmapped.push(dropped(
                    name,
                    value,
                    "give it with --username or TOKENCTL_USERNAME at sign-in",
                ));
            }
            "certificate-authority-data" => unmapped.push(dropped(
                name,
                value,
                "save it to a file and set the provider's certificate-authority",
            )),
            "insecure-skip-tls-verify" => unmapped.push(dropped(
                name,
                value,
                "tokenctl always checks the identity provider's certificate",
            )),
            _ => unmapped.push(written(name, value)),
        }
    }
    if username && flow.is_none() {
        flow = Some(Flow::Password);
    }
    if !scopes.is_empty() {
        fields.insert("scopes".into(), Value::Sequence(scopes));
    }
    if ports.is_empty() {
        ports = vec![8000, 18000];
    }
    fields.insert("redirect-host".into(), Value::from(redirect_host));
    fields.insert("redirect-port".into(), crate::provider::ports_value(ports));
    fields.insert("redirect-path".into(), Value::from(""));
    if !params.is_empty() {
        fields.insert("authorize-params".into(), Value::Mapping(params));
    }
    Imported {
        tool: "int128/kubelogin",
        kind: "oidc",
        fields,
        flow,
        cluster_token,
        unmapped,
    }
}

fn azure(options: &[(String, Option<String>)]) -> Imported {
    let mut fields = IndexMap::new();
    let mut flow = None;
    let mut unmapped = Vec::new();
    for (name, value) in options {
        let text = value.clone().unwrap_or_default();
        match name.as_str() {
            "server-id" => {
                let scope = format!("{}/.default", text.trim_end_matches('/'));
                fields.insert("scopes".into(), Value::Sequence(vec![Value::from(scope)]));
            }
            "client-id" => {
                fields.insert("client-id".into(), Value::from(text));
            }
            "tenant-id" | "t" => {
                fields.insert("tenant".into(), Value::from(text));
            }
            "client-secret" => {
                fields.insert("client-secret".into(), Value::from(text));
            }
            "login" | "l" => match text.as_str() {
                "devicecode" => flow = Some(Flow::Device),
                "interactive" => flow = Some(Flow::Browser),
                "spn" => {
                    flow = Some(Flow::ClientCredentials);
                    fields
                        .entry("client-secret-env".to_owned())
                        .or_insert_with(|| Value::from("AAD_SERVICE_PRINCIPAL_CLIENT_SECRET"));
                }
                "ropc" => flow = Some(Flow::Password),
                // The token Azure CLI holds: tokenctl signs in itself, as an app of its own.
                "azurecli" => unmapped.push(dropped(
                    name,
                    value,
                    "Azure CLI's own sign-in: tokenctl signs in itself, so give the provider a tenant and a client (an app registration) and pick --login devicecode or interactive",
                )),
                _ => unmapped.push(written(name, value)),
            },
            "environment" | "e" => match text.as_str() {
                "AzurePublicCloud" | "" => {}
                "AzureChinaCloud" => {
                    fields.insert(
                        "authority-host".into(),
                        Value::from("https://login.chinacloudapi.cn"),
                    );
                }
                "AzureUSGovernmentCloud" => {
                    fields.insert(
                        "authority-host".into(),
                        Value::from("https://login.microsoftonline.us"),
                    );
                }
                _ => unmapped.push(written(name, value)),
            },
            _ => unmapped.push(written(name, value)),
        }
    }
    // A client secret in the kubeconfig wins over the environment kubelogin would read.
    if fields.contains_key("client-secret") {
        fields.shift_remove("client-secret-env");
    }
    Imported {
        tool: "Azure kubelogin",
        kind: "azure",
        fields,
        flow,
        cluster_token: TokenKind::Access,
        unmapped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn an_int128_user_becomes_an_oidc_provider_and_names_what_it_cannot_map() {
        let imported = from_exec(
            "kubectl",
            &words(
                "oidc-login get-token --oidc-issuer-url=https://id.example.com --oidc-client-id cli \
                 --oidc-extra-scope=groups,email --oidc-extra-scope team --grant-type=device-code \
                 --token-cache-dir=/tmp/x --oidc-use-pkce",
            ),
        )
        .unwrap();
        assert_eq!(imported.kind, "oidc");
        assert_eq!(imported.flow, Some(Flow::Device));
        assert_eq!(imported.fields["issuer"], "https://id.example.com");
        assert_eq!(imported.fields["client-id"], "cli");
        assert_eq!(
            imported.fields["scopes"],
            Value::Sequence(vec!["groups".into(), "email".into(), "team".into()])
        );
        assert_eq!(
            imported.unmapped,
            ["--token-cache-dir=/tmp/x (no tokenctl counterpart)"]
        );
        let ropc = from_exec(
            "kubectl",
            &words("oidc-login get-token --username=alice --insecure-skip-tls-verify"),
        )
        .unwrap();
        assert_eq!(ropc.flow, Some(Flow::Password), "auto with a user name");
        assert!(
            ropc.unmapped[1].contains("always checks"),
            "{:?}",
            ropc.unmapped
        );
        assert_eq!(imported.cluster_token, TokenKind::Id, "int128's default");
        // int128's redirect URIs: http://localhost:8000, then :18000, with no path.
        assert_eq!(imported.fields["redirect-host"], "localhost");
        assert_eq!(
            imported.fields["redirect-port"],
            Value::Sequence(vec![8000.into(), 18000.into()])
        );
        assert_eq!(imported.fields["redirect-path"], "");
        let listening = from_exec(
            "kubectl",
            &words("oidc-login get-token --listen-address=127.0.0.1:9000 --oidc-redirect-url-hostname=127.0.0.1"),
        )
        .unwrap();
        assert_eq!(listening.fields["redirect-port"], 9000);
        let google = from_exec(
            "kubectl",
            &words("oidc-login get-token --oidc-auth-request-extra-params=access_type=offline --oidc-auth-request-extra-params=scope=x"),
        )
        .unwrap();
        assert_eq!(
            google.fields["authorize-params"]["access_type"], "offline",
            "{google:?}"
        );
        assert_eq!(
            google.unmapped,
            ["--oidc-auth-request-extra-params=scope=x (no tokenctl counterpart)"]
        );
        assert_eq!(listening.fields["redirect-host"], "127.0.0.1");
        for flag in ["--oidc-use-access-token", "--oidc-use-access-token=true"] {
            let access = from_exec("kubectl", &words(&format!("oidc-login get-token {flag}")));
            assert_eq!(access.unwrap().cluster_token, TokenKind::Access, "{flag}");
        }
        assert!(from_exec("kubectl-oidc_login", &words("get-token --oidc-client-id a")).is_some());
        assert!(from_exec("aws", &words("eks get-token")).is_none());
    }

    #[test]
    fn an_azure_kubelogin_user_becomes_an_azure_provider() {
        let imported = from_exec(
            "/usr/local/bin/kubelogin",
            &words(
                "get-token --login spn --server-id 6dae42f8-4368-4678-94ff-3960e28e3630 \
                 --client-id app --tenant-id contoso.com --environment AzureChinaCloud",
            ),
        )
        .unwrap();
        assert_eq!(imported.kind, "azure");
        assert_eq!(imported.flow, Some(Flow::ClientCredentials));
        assert_eq!(imported.cluster_token, TokenKind::Access);
        assert_eq!(
            imported.fields["scopes"],
            Value::Sequence(vec!["6dae42f8-4368-4678-94ff-3960e28e3630/.default".into()])
        );
        assert_eq!(imported.fields["tenant"], "contoso.com");
        assert_eq!(
            imported.fields["client-secret-env"],
            "AAD_SERVICE_PRINCIPAL_CLIENT_SECRET"
        );
        assert_eq!(
            imported.fields["authority-host"],
            "https://login.chinacloudapi.cn"
        );
        let azurecli = from_exec(
            "kubelogin",
            &words("get-token --login azurecli --server-id x"),
        )
        .unwrap();
        assert!(
            azurecli.unmapped[0].starts_with("--login=azurecli (Azure CLI's own sign-in"),
            "{:?}",
            azurecli.unmapped
        );
    }
}
