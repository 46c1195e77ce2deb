//! Examples for every command, and the sections every man page ends with. One table feeds
//! `--help` (an "Examples:" block after the options) and the man pages (EXAMPLES), so the two
//! never differ.

/// Each command's path below `tokenctl` ("" for the root), with examples: what it does, then
/// the command line.
pub const EXAMPLES: &[(&str, &[(&str, &str)])] = &[
    (
        "",
        &[
            (
                "Set up a context and log in, guided, at a terminal",
                "tokenctl auth login",
            ),
            (
                "A token for curl",
                "curl -H \"Authorization: Bearer $(tokenctl auth token)\" https://api.example.com/",
            ),
            (
                "One command in another context",
                "tokenctl --context dev auth status",
            ),
            (
                "Docker's credential helper: a link by its name, then credHelpers in ~/.docker/config.json",
                "ln -s \"$(command -v tokenctl)\" ~/.local/bin/docker-credential-tokenctl",
            ),
        ],
    ),
    (
        "auth",
        &[
            ("Log in with the context's flow", "tokenctl auth login"),
            ("Switch contexts", "tokenctl auth use-context prod"),
        ],
    ),
    (
        "auth login",
        &[
            (
                "Log in with the context's flow (guided setup on a first run)",
                "tokenctl auth login",
            ),
            (
                "Log in to the one Azure provider, with the device flow",
                "tokenctl auth login --provider azure --flow device",
            ),
            (
                "The password flow, the password from a file",
                "tokenctl auth login --flow password --username alice --password-stdin < pw.txt",
            ),
            (
                "A client-credentials login, the secret kept in the OS keyring",
                "tokenctl --context ci auth login --client-secret-stdin < secret.txt",
            ),
            (
                "A token once, stored nowhere",
                "tokenctl auth login --no-store",
            ),
            (
                "Pick the account, bob's filled in",
                "tokenctl auth login --prompt select_account --login-hint bob@example.com",
            ),
            (
                "Step up to what an API asked for (RFC 9470)",
                "tokenctl auth login --acr-values urn:example:mfa",
            ),
            (
                "Over SSH: open the URL on your computer, paste back where it ends",
                "tokenctl auth login --no-browser",
            ),
        ],
    ),
    (
        "auth token",
        &[
            (
                "The access token, renewed when less than 5 minutes remain",
                "tokenctl auth token",
            ),
            (
                "A token that lasts at least 30 more minutes",
                "tokenctl auth token --min-valid 30m",
            ),
            (
                "The claims of the ID token",
                "tokenctl auth token --id-token --decode",
            ),
        ],
    ),
    (
        "auth refresh",
        &[("Renew the access token now", "tokenctl auth refresh")],
    ),
    (
        "auth exec-credential",
        &[
            (
                "Write the kubeconfig entries that call it",
                "tokenctl kubeconfig setup",
            ),
            (
                "Call it as kubectl does (KUBERNETES_EXEC_INFO holds the ExecCredential request)",
                "tokenctl auth exec-credential",
            ),
        ],
    ),
    (
        "auth logout",
        &[
            (
                "Revoke and remove the context's login",
                "tokenctl auth logout",
            ),
            ("Every stored login", "tokenctl auth logout --all"),
        ],
    ),
    (
        "auth status",
        &[
            (
                "Who is logged in, until when, and where the secrets are",
                "tokenctl auth status",
            ),
            (
                "For a script: exit 4 and logged_in false when not logged in",
                "tokenctl auth status -o json",
            ),
            (
                "Every context's login, from the store",
                "tokenctl auth status --all",
            ),
        ],
    ),
    (
        "auth env",
        &[
            (
                "The token and its expiry in this shell (what `source exportToken.bash` did by hand)",
                "eval \"$(tokenctl auth env)\"",
            ),
            (
                "In fish, under another name",
                "tokenctl auth env --shell fish --var GITLAB_TOKEN | source",
            ),
        ],
    ),
    (
        "auth git-credential",
        &[
            (
                "Let git use the token of the context whose git-hosts names the host",
                "git config --global credential.https://git.example.com.helper '!tokenctl auth git-credential'",
            ),
            (
                "Map the host to a context",
                "tokenctl config set-context dev --set git-hosts=git.example.com",
            ),
        ],
    ),
    (
        "auth use-context",
        &[
            (
                "Make prod the current context",
                "tokenctl auth use-context prod",
            ),
            (
                "Use dev in this checkout and below, whatever current-context says",
                "cd ~/src/app && tokenctl auth use-context dev --here",
            ),
        ],
    ),
    (
        "auth current-context",
        &[
            ("The context in use", "tokenctl auth current-context"),
            (
                "The context this shell uses",
                "TOKENCTL_CONTEXT=dev tokenctl auth current-context",
            ),
            (
                "Which of --context, TOKENCTL_CONTEXT, a .tokenctl or current-context chose it",
                "tokenctl auth current-context -v",
            ),
        ],
    ),
    (
        "auth get-contexts",
        &[
            (
                "Every context, the one in use marked",
                "tokenctl auth get-contexts",
            ),
            (
                "Names only, for scripts",
                "tokenctl auth get-contexts -o name",
            ),
            (
                "With the kind, cluster, flow and shared logins",
                "tokenctl auth get-contexts -o wide",
            ),
        ],
    ),
    (
        "config",
        &[
            (
                "Add a provider",
                "tokenctl config set-provider kc --kind keycloak --server https://sso.io --realm r --client-id cli",
            ),
            ("Show the contexts file", "tokenctl config view"),
        ],
    ),
    (
        "config set",
        &[
            (
                "Keep refresh tokens in 0600 files without a word (no keyring here)",
                "tokenctl config set credential-store file",
            ),
            (
                "Make prod the current context",
                "tokenctl config set current-context prod",
            ),
        ],
    ),
    (
        "config unset",
        &[(
            "Back to the default store (the OS keyring when one answers)",
            "tokenctl config unset credential-store",
        )],
    ),
    (
        "config view",
        &[
            (
                "The merged contexts files, secrets redacted",
                "tokenctl config view",
            ),
            (
                "One context with its provider and cluster, as JSON",
                "tokenctl config view --minify -o json",
            ),
        ],
    ),
    (
        "config set-provider",
        &[
            (
                "A Keycloak realm",
                "tokenctl config set-provider kc --kind keycloak --server https://sso.io --realm r --client-id cli",
            ),
            (
                "An Entra ID tenant",
                "tokenctl config set-provider corp --kind azure --tenant contoso.com --client-id $APP_ID",
            ),
            (
                "Change one field",
                "tokenctl config set-provider sso --scopes openid,profile,platform:read",
            ),
            (
                "A private_key_jwt key, kept in the OS keyring",
                "tokenctl config set-provider sso --client-key-stdin < key.pem",
            ),
        ],
    ),
    (
        "config set-cluster",
        &[(
            "An API server with a private CA",
            "tokenctl config set-cluster prod --server https://api.example.com --certificate-authority ca.pem",
        )],
    ),
    (
        "config set-context",
        &[
            (
                "A context of a provider and a cluster",
                "tokenctl config set-context prod --provider corp --cluster prod --flow device",
            ),
            (
                "Its own scopes and an attribute for plugins",
                "tokenctl config set-context prod --scopes platform:read --set workspace=default",
            ),
            (
                "A second identity on the same provider",
                "tokenctl config set-context work --provider sso --login work",
            ),
            (
                "A GitHub Actions job's ID token exchanged at Keycloak (legacy token exchange, V1; no login)",
                "tokenctl config set-context ci --provider sso-ci --flow exchange --subject-token github-actions --subject-issuer github",
            ),
            (
                "Entra ID federated credentials: the job's token as the client assertion",
                "tokenctl config set-context ci-azure --provider corp --flow client-credentials --client-assertion github-actions",
            ),
        ],
    ),
    (
        "config delete-context",
        &[("Delete a context", "tokenctl config delete-context old")],
    ),
    (
        "config delete-provider",
        &[(
            "Delete a provider no context uses",
            "tokenctl config delete-provider old",
        )],
    ),
    (
        "config delete-cluster",
        &[(
            "Delete a cluster no context uses",
            "tokenctl config delete-cluster old",
        )],
    ),
    (
        "config rename-context",
        &[(
            "Rename a context (current-context follows)",
            "tokenctl config rename-context prod production",
        )],
    ),
    (
        "config allow",
        &[
            (
                "Let the nearest .tokenctl choose the context, after reading it",
                "tokenctl config allow",
            ),
            (
                "Allow a cloned repository's file",
                "tokenctl config allow ~/src/app/.tokenctl",
            ),
        ],
    ),
    (
        "proxy",
        &[
            (
                "The context's cluster on localhost:8001 for curl, a browser or Postman",
                "tokenctl proxy",
            ),
            (
                "kubectl through it, without a kubeconfig user",
                "kubectl --server http://localhost:8001 get pods",
            ),
            (
                "A socket only you can reach",
                "tokenctl --context prod proxy --unix-socket ~/.cache/prod.sock",
            ),
        ],
    ),
    (
        "exec",
        &[
            (
                "A command with a fresh token in its environment",
                "tokenctl exec -- terraform apply",
            ),
            (
                "Under the name the command reads; a long job reads $TOKENCTL_TOKEN_FILE, kept fresh",
                "tokenctl --context ci exec --var GITHUB_TOKEN -- ./long-job.sh",
            ),
        ],
    ),
    (
        "api",
        &[
            (
                "A GET on the context's cluster",
                "tokenctl api /api/v1/namespaces?limit=5",
            ),
            (
                "The same in another context",
                "tokenctl --context dev api /healthz",
            ),
        ],
    ),
    (
        "kubeconfig",
        &[("Let kubectl use the context", "tokenctl kubeconfig setup")],
    ),
    (
        "kubeconfig setup",
        &[
            (
                "Write the user, cluster and context for kubectl",
                "tokenctl kubeconfig setup",
            ),
            ("Then", "kubectl get pods"),
        ],
    ),
    (
        "kubeconfig import",
        &[
            (
                "What the kubelogin users would become",
                "tokenctl kubeconfig import --dry-run",
            ),
            (
                "Import them, and point them at tokenctl (a backup is kept)",
                "tokenctl kubeconfig import",
            ),
        ],
    ),
    (
        "kubeconfig remove",
        &[("Remove what setup wrote", "tokenctl kubeconfig remove")],
    ),
    ("plugin", &[("The plugins on PATH", "tokenctl plugin list")]),
    (
        "plugin list",
        &[("The plugins on PATH", "tokenctl plugin list")],
    ),
    (
        "completion",
        &[
            (
                "bash",
                "echo 'source <(tokenctl completion bash)' >> ~/.bashrc",
            ),
            (
                "zsh (~/.zfunc on $fpath before compinit)",
                "tokenctl completion zsh > ~/.zfunc/_tokenctl",
            ),
            (
                "fish (in ~/.config/fish/completions, made first with mkdir -p)",
                "tokenctl completion fish > ~/.config/fish/completions/tokenctl.fish",
            ),
        ],
    ),
    ("version", &[("The version", "tokenctl version")]),
];

/// The examples of the command at `path` ("auth login").
pub fn examples(path: &str) -> &'static [(&'static str, &'static str)] {
    // kubectl's habits (`config use-context`) are the `auth` commands, examples and all.
    let path = match path.strip_prefix("config ") {
        Some(alias @ ("use-context" | "get-contexts" | "current-context")) => {
            return examples(&format!("auth {alias}"));
        }
        _ => path,
    };
    EXAMPLES
        .iter()
        .find(|(at, _)| *at == path)
        .map_or(&[], |(_, examples)| examples)
}

/// The widest example line, with its indent and a continuation's ` \`, in an 80-column help.
const EXAMPLE_WIDTH: usize = 76;

/// An example command folded at its words (never inside quotes) onto lines of at most
/// 76 columns (`EXAMPLE_WIDTH`), each but the last ending in ` \` and the rest indented, as a shell
/// takes it: a long command never wraps mid-word at 80 columns.
pub fn folded(line: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut quote = None;
    for c in line.chars() {
        match (c, quote) {
            (' ', None) => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                continue;
            }
            ('\'' | '"', None) => quote = Some(c),
            (c, Some(open)) if c == open => quote = None,
            _ => {}
        }
        word.push(c);
    }
    words.push(word);
    let mut lines = crate::output::fill(words.iter().map(String::as_str), "", 2, EXAMPLE_WIDTH);
    let last = lines.len() - 1;
    for line in &mut lines[..last] {
        line.push_str(" \\");
    }
    lines
}

/// The "Examples:" block of `--help`.
pub fn help_block(path: &str) -> Option<String> {
    let examples = examples(path);
    if examples.is_empty() {
        return None;
    }
    let mut text = String::from("Examples:");
    for (what, line) in examples {
        text.push_str(&format!("\n  # {what}\n  {}\n", folded(line).join("\n  ")));
    }
    Some(text.trim_end().to_owned())
}

/// EXIT STATUS of every man page: the codes `tokenctl` ends with.
pub const EXIT_STATUS: &[(&str, &str)] = &[
    ("0", "Success."),
    (
        "1",
        "An error: a message on standard error says what and where.",
    ),
    ("2", "A usage error: an unknown command, flag or value."),
    (
        "4",
        "A login is required and none can be had without a person: run the `auth login` the message names.",
    ),
    ("130", "A sign-in ended with Ctrl-C; nothing was stored."),
];

/// ENVIRONMENT of every man page: every variable tokenctl reads.
pub const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "TOKENCTL_CONFIG",
        "The contexts files, separated like PATH (as KUBECONFIG is); --config takes precedence.",
    ),
    (
        "TOKENCTL_CONTEXT",
        "The context to use in this shell, over current-context; --context takes precedence.",
    ),
    ("TOKENCTL_USERNAME", "The user name for the password flow."),
    (
        "TOKENCTL_PASSWORD",
        "The password for the password flow (else --password-stdin or a prompt).",
    ),
    (
        "BROWSER",
        "The program that opens the sign-in page of the browser flow.",
    ),
    (
        "DISPLAY, WAYLAND_DISPLAY",
        "Whether a browser can be opened at all; without them (and without BROWSER) the browser flow falls back to the device flow where the provider has one.",
    ),
    (
        "NO_COLOR",
        "No colour in logs, and the device flow's QR code drawn in plain blocks.",
    ),
    (
        "RUST_LOG",
        "Log filter (tracing's EnvFilter syntax), over -v.",
    ),
    (
        "KUBERNETES_EXEC_INFO",
        "Set by kubectl for auth exec-credential: the ExecCredential version and whether a person is there.",
    ),
    (
        "KUBECONFIG",
        "The kubeconfig that kubeconfig setup and remove edit (its first file), as kubectl reads it.",
    ),
    (
        "XDG_CONFIG_HOME",
        "Where the default contexts file is: $XDG_CONFIG_HOME/tokenctl/config.yaml (else ~/.config).",
    ),
    (
        "XDG_DATA_HOME",
        "Where logins are kept: $XDG_DATA_HOME/tokenctl (else ~/.local/share).",
    ),
    (
        "XDG_CACHE_HOME",
        "Where the parse cache of the contexts file is: $XDG_CACHE_HOME/tokenctl (else ~/.cache).",
    ),
    ("HOME", "The base of the XDG defaults."),
    (
        "HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY",
        "The proxy for requests to identity providers and clusters, and the hosts reached without it.",
    ),
    (
        "SSL_CERT_FILE, SSL_CERT_DIR",
        "The system's trusted CAs, where a provider or cluster names no certificate-authority of its own.",
    ),
    (
        "DBUS_SESSION_BUS_ADDRESS",
        "The session bus on which the Secret Service keyring answers.",
    ),
    ("PATH", "Where plugins (tokenctl-NAME) are found."),
    (
        "(the provider's client-secret-env)",
        "A provider entry may name the variable that holds its client secret; a context's subject-token or client-assertion may be env:NAME.",
    ),
    (
        "TOKENCTL_TOKEN, TOKENCTL_TOKEN_EXPIRES_AT, TOKENCTL_TOKEN_FILE",
        "Set by exec (and auth env) for the command: the token (or --var NAME), its expiry, and a 0600 file holding it, kept fresh while the command runs.",
    ),
    (
        "ACTIONS_ID_TOKEN_REQUEST_URL, ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        "Set by a GitHub Actions runner for a job with `permissions: id-token: write`: where a github-actions source asks for the job's ID token.",
    ),
];

/// FILES of every man page.
pub const FILES: &[(&str, &str)] = &[
    (
        "~/.config/tokenctl/config.yaml",
        "The contexts file: providers, clusters, contexts and current-context.",
    ),
    (
        "~/.local/share/tokenctl/logins/",
        "Stored logins (mode 0600; refresh tokens in the OS keyring when one answers).",
    ),
    (
        ".tokenctl",
        "In a directory or a parent (up to ~): `context: NAME` picks the context below it, over current-context, once allowed.",
    ),
    (
        "~/.local/share/tokenctl/allowed/",
        "The .tokenctl files allowed, each with a hash of the content allowed.",
    ),
    (
        "~/.cache/tokenctl/",
        "The parse cache of the contexts file; safe to delete.",
    ),
    (
        "~/.kube/config",
        "The kubeconfig that kubeconfig setup edits, unless KUBECONFIG names another.",
    ),
];

/// The command tree with each command's "Examples:" block after its own notes.
pub fn with_examples(cmd: clap::Command, path: &str) -> clap::Command {
    let mut cmd = match help_block(path) {
        Some(block) => {
            let text = match cmd.get_after_help() {
                Some(notes) => format!("{notes}\n\n{block}"),
                None => block,
            };
            cmd.after_help(text)
        }
        None => cmd,
    };
    let path = path.to_owned();
    cmd = cmd.mut_subcommands(move |sub| {
        let at = if path.is_empty() {
            sub.get_name().to_owned()
        } else {
            format!("{path} {}", sub.get_name())
        };
        with_examples(sub, &at)
    });
    cmd
}

/// A command's notes without the examples block that [`with_examples`] added.
pub fn without_examples(after_help: &str) -> String {
    let notes = match after_help.find("Examples:\n") {
        Some(at) => &after_help[..at],
        None => after_help,
    };
    notes.trim().to_owned()
}
