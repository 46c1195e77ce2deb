//! Shared helpers for the end-to-end tests: a throwaway home with its own contexts file, and
//! the real `tokenctl` binary run as a user would run it.

#![allow(dead_code)] // each test file uses a different part of this module

pub(crate) mod idp;
pub(crate) mod tmux;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The `tokenctl` binary cargo built for these tests.
pub(crate) fn tokenctl_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_tokenctl"))
}

/// The claims of a JWT, as `auth token --decode` shows them.
pub(crate) fn jwt_claims(token: &str) -> serde_json::Value {
    serde_json::Value::Object(tokenctl_core::jwt::decode(token).expect("a JWT").claims)
}

/// The workspace root (completions/, man/ and tests/ live there).
pub(crate) fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/tokenctl is two levels below the root")
        .to_path_buf()
}

/// Fails the test with an install hint when a tool it needs is missing: no silent skip.
pub(crate) fn require_tool(tool: &str, install: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(tool))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| panic!("this test needs `{tool}`; install it with: {install}"))
}

/// Reads a device login's stderr up to "Waiting for the sign-in"; returns what it showed and
/// the user code it asked for.
pub(crate) fn read_device_prompt(stderr: &mut impl std::io::BufRead) -> (String, String) {
    let mut shown = String::new();
    let mut line = String::new();
    while stderr.read_line(&mut line).unwrap() > 0 {
        shown.push_str(&line);
        if line.starts_with("Waiting for the sign-in") {
            break;
        }
        line.clear();
    }
    let code = shown
        .split("enter the code ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no user code shown: {shown}"))
        .to_owned();
    (shown, code)
}

/// A home directory of its own, with `TOKENCTL_CONFIG` pointing into it.
pub(crate) struct Sandbox {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
}

/// A program of /examples, built by `cargo test --all-targets` (or `cargo build --examples`).
pub(crate) fn example_bin(name: &str) -> PathBuf {
    let path = tokenctl_bin().parent().unwrap().join("examples").join(name);
    assert!(
        path.is_file(),
        "{} is not built: run the tests with `cargo test --all-targets` or `cargo build --examples` first",
        path.display()
    );
    path
}

/// The test IdP's user, as `auth login` reads it from the environment (password flow).
pub(crate) const ALICE: [(&str, &str); 2] = [
    ("TOKENCTL_USERNAME", "alice"),
    ("TOKENCTL_PASSWORD", "correct-horse"),
];

/// What a finished command left behind.
pub(crate) struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// How long one tokenctl command may take in a test before it counts as hung.
pub(crate) const COMMAND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(90);

/// How long the pipes of a child that has ended may stay open: a daemon it started (the
/// dbus-daemon of a killed dbus-run-session, say) must not hold the suite forever.
const PIPES_AFTER_EXIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Waits for a spawned child with a deadline: a hang fails the test with what the child
/// printed, instead of hanging the suite. A child that timed out is killed with its process
/// group (the children of [`Sandbox::isolate`] lead their own), and pipes held open by what
/// it left behind are read only for a few seconds more.
pub(crate) fn wait_bounded(mut child: std::process::Child, what: &str) -> Output {
    use std::io::Read;
    let pipe = |p: Option<Box<dyn Read + Send>>| {
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            if let Some(mut p) = p {
                let mut chunk = [0u8; 8192];
                while let Ok(n) = p.read(&mut chunk) {
                    if n == 0 {
                        break;
                    }
                    let _ = sender.send(Some(chunk[..n].to_vec()));
                }
            }
            let _ = sender.send(None);
        });
        receiver
    };
    let stdout = pipe(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = pipe(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for the child") {
            break status;
        }
        if started.elapsed() > COMMAND_TIMEOUT {
            kill_group(&mut child);
            panic!(
                "{what} did not finish within {}s\nstderr: {}",
                COMMAND_TIMEOUT.as_secs(),
                String::from_utf8_lossy(&drain(&stderr, after_exit()))
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    let deadline = after_exit();
    Output {
        status,
        stdout: drain(&stdout, deadline),
        stderr: drain(&stderr, deadline),
    }
}

fn after_exit() -> std::time::Instant {
    std::time::Instant::now() + PIPES_AFTER_EXIT
}

/// What a pipe's reader got until its end, or until `deadline`.
fn drain(
    chunks: &std::sync::mpsc::Receiver<Option<Vec<u8>>>,
    deadline: std::time::Instant,
) -> Vec<u8> {
    let mut bytes = Vec::new();
    while let Ok(Some(chunk)) =
        chunks.recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()))
    {
        bytes.extend(chunk);
    }
    bytes
}

/// Kills `child` and the process group it leads (what it started, a dbus-daemon say).
fn kill_group(child: &mut std::process::Child) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .stderr(Stdio::null())
        .status();
    let _ = child.kill();
    let _ = child.wait();
}

impl Run {
    pub(crate) fn from(output: Output) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Asserts success and returns stdout.
    #[track_caller]
    pub(crate) fn ok(&self) -> &str {
        assert_eq!(
            self.code, 0,
            "expected success\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        &self.stdout
    }

    /// Asserts the exit code and returns stderr.
    #[track_caller]
    pub(crate) fn fails_with(&self, code: i32) -> &str {
        assert_eq!(
            self.code, code,
            "unexpected exit code\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        &self.stderr
    }
}

impl Sandbox {
    pub(crate) fn new() -> Sandbox {
        let dir = tempfile::tempdir().expect("temporary directory");
        let config = dir
            .path()
            .join("config")
            .join("tokenctl")
            .join("config.yaml");
        Sandbox { dir, config }
    }

    /// A sandbox whose contexts file holds `yaml`.
    pub(crate) fn with_config(yaml: &str) -> Sandbox {
        let sandbox = Sandbox::new();
        sandbox.write(&sandbox.config, yaml);
        sandbox
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub(crate) fn write(&self, path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// The stored login's file (the first, when there are several).
    /// The stored logins' files: none after a sign-in that failed (which leaves at most its
    /// lock and the record of the failure beside them).
    pub(crate) fn stored_logins(&self) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(self.dir.path().join("data/tokenctl/logins")) else {
            return Vec::new();
        };
        entries
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|e| e == "json"))
            .collect()
    }

    pub(crate) fn login_file(&self) -> PathBuf {
        std::fs::read_dir(self.dir.path().join("data/tokenctl/logins"))
            .expect("a login store")
            .map(|entry| entry.unwrap().path())
            .find(|path| path.extension().is_some_and(|e| e == "json"))
            .expect("a stored login")
    }

    /// Replaces the refresh token in the one stored login (a file store) with one the provider
    /// never issued, as if it had been revoked elsewhere; returns the login's file.
    pub(crate) fn revoke_stored_refresh_token(&self) -> PathBuf {
        let file = self.login_file();
        let text = std::fs::read_to_string(&file).unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        let refresh = value["refresh_token"]
            .as_str()
            .expect("file store in this test");
        std::fs::write(&file, text.replace(refresh, "revoked-elsewhere")).unwrap();
        file
    }

    /// Moves the one stored login's clock: its access token now expires in `seconds` and was
    /// obtained an hour before that.
    pub(crate) fn age_login(&self, seconds: i64) {
        self.age_logins(|_| true, seconds)
    }

    /// [`Sandbox::age_login`] for the logins to `provider`.
    pub(crate) fn age_login_of(&self, provider: &str, seconds: i64) {
        self.age_logins(|login| login["provider"] == provider, seconds)
    }

    fn age_logins(&self, which: impl Fn(&serde_json::Value) -> bool, seconds: i64) {
        let logins = self.dir.path().join("data/tokenctl/logins");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let mut aged = 0;
        for entry in std::fs::read_dir(&logins).unwrap() {
            let file = entry.unwrap().path();
            if file.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let mut login: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
            if which(&login) {
                login["expires_at"] = (now + seconds).into();
                login["obtained_at"] = (now + seconds - 3600).into();
                // The ID token ages with the access token: its claims say when, and nothing
                // checks a stored ID token's signature again (a refresh replaces it).
                if let Some(id_token) = login["id_token"].as_str() {
                    login["id_token"] = aged_jwt(id_token, now + seconds).into();
                }
                std::fs::write(&file, serde_json::to_vec(&login).unwrap()).unwrap();
                aged += 1;
            }
        }
        assert!(aged > 0, "no stored login to age");
    }

    pub(crate) fn read_config(&self) -> String {
        std::fs::read_to_string(&self.config).unwrap_or_default()
    }

    /// `tokenctl ARGS` with a clean environment: HOME and XDG dirs inside the sandbox,
    /// `TOKENCTL_CONFIG` at the sandbox's contexts file, no inherited TOKENCTL_* variables.
    pub(crate) fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = Command::new(tokenctl_bin());
        command.args(args);
        self.isolate(&mut command);
        command
    }

    /// Gives any command (a shell, say) the sandbox's environment and `tokenctl` on PATH.
    pub(crate) fn isolate(&self, command: &mut Command) {
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy().into_owned();
            if key.starts_with("TOKENCTL_") || key == "RUST_LOG" || key.starts_with("XDG_") {
                command.env_remove(key);
            }
        }
        let bin_dir = tokenctl_bin().parent().unwrap().to_path_buf();
        let path = std::env::var_os("PATH").unwrap_or_default();
        let path =
            std::env::join_paths(std::iter::once(bin_dir).chain(std::env::split_paths(&path)))
                .unwrap();
        command
            .env("PATH", path)
            .env("HOME", self.dir.path())
            .env("XDG_CONFIG_HOME", self.dir.path().join("config"))
            .env("XDG_DATA_HOME", self.dir.path().join("data"))
            .env("TOKENCTL_CONFIG", &self.config)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        // Its own process group, so that a hung command is killed with what it started.
        std::os::unix::process::CommandExt::process_group(command, 0);
    }

    /// Runs `tokenctl ARGS` to completion.
    pub(crate) fn run<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        finish(&mut self.command(args), None, "tokenctl")
    }

    /// Runs `tokenctl ARGS` with `input` on stdin and extra environment variables.
    pub(crate) fn run_input<I, S>(&self, args: I, input: &str, env: &[(&str, &str)]) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        finish(
            self.command(args).envs(env.iter().copied()),
            Some(input),
            "tokenctl",
        )
    }

    /// Runs `tokenctl ARGS` with extra environment variables.
    pub(crate) fn run_env<I, S>(&self, args: I, env: &[(&str, &str)]) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        finish(
            self.command(args).envs(env.iter().copied()),
            None,
            "tokenctl",
        )
    }

    /// Runs any program (a shell, git, a binary built on tokenctl) with the sandbox's
    /// environment, to completion.
    pub(crate) fn run_program(&self, command: &mut Command, input: Option<&str>) -> Run {
        self.isolate(command);
        let what = command.get_program().to_string_lossy().into_owned();
        finish(command, input, &what)
    }
}

/// Runs `command` with `input` on stdin (else none), within [`COMMAND_TIMEOUT`].
pub(crate) fn finish(command: &mut Command, input: Option<&str>, what: &str) -> Run {
    use std::io::Write;
    let mut child = command
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| panic!("{what} does not start: {err}"));
    if let Some(input) = input {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    Run::from(wait_bounded(child, what))
}

/// A small valid contexts file: two providers, a cluster, three contexts, `prod` current.
pub(crate) const SAMPLE: &str = "\
current-context: prod
preferences:
  colors: false
providers:
  - name: corp
    kind: azure
    tenant: contoso.onmicrosoft.com
    client-id: 11111111-2222-3333-4444-555555555555
    redirect-port: 53000
    scopes: [api://nmp/.default]
    team-note: kept as is
  - name: sso
    kind: keycloak
    server: https://sso.example.com
    realm: nmr
    client-id: cli
    client-secret: s3cr3t-inline
clusters:
  - name: prod
    server: https://nmp.company.com
    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJpekNDQVRHZ0F3SUJBZ0lVZXBXbkRZVkRiQ3VMUWd3Rjl4MUFrZml3OXk0d0NnWUlLb1pJemowRUF3SXcKR2pFWU1CWUdBMVVFQXd3UGJtMXdMbU52YlhCaGJua3VZMjl0TUNBWERUSTJNVEl3TVRFME5UazBOMW9ZRHpJeApNall4TVRBM01UUTFPVFEzV2pBYU1SZ3dGZ1lEVlFRRERBOXViWEF1WTI5dGNHRnVlUzVqYjIwd1dUQVRCZ2NxCmhrak9QUUlCQmdncWhrak9QUU1CQndOQ0FBVHhkeElZbm9KNUFURkZPY2NuSlVFMHR0d2RBSm00bzZJeDk3R0UKWGgxRndQd08rT0JQRytNTURyaitpWVNadGtNUnprczdZbUR6eWJFdTZwK041U0xHbzFNd1VUQWRCZ05WSFE0RQpGZ1FVOXpocjlWbWpLTXlRZlhsMXZUeEJ1NzBIZ3pNd0h3WURWUjBqQkJnd0ZvQVU5emhyOVZtaktNeVFmWGwxCnZUeEJ1NzBIZ3pNd0R3WURWUjBUQVFIL0JBVXdBd0VCL3pBS0JnZ3Foa2pPUFFRREFnTklBREJGQWlCZnNzN0cKRXR3eXRaRllyaHZEYjRLaVluaWJzUkN4dG45aExmMGdxTmhjL3dJaEFQRFBUL2FNdkkwUXhGdlE2WkM0ZGlyNQprYnJJSTAzNjdrUy9CNEZzeDRSawotLS0tLUVORCBDRVJUSUZJQ0FURS0tLS0tCg==
contexts:
  - name: prod
    provider: corp
    cluster: prod
    flow: device
    scopes: [platform:read, platform:write]
    workspace: default
  - name: prod-eu
    provider: corp
    cluster: prod
  - name: dev
    provider: sso
    flow: browser
";

/// `token` with `exp` set to `expires_at` (and `iat` an hour before), its signature left as is.
pub(crate) fn aged_jwt(token: &str, expires_at: i64) -> String {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    claims["exp"] = expires_at.into();
    claims["iat"] = (expires_at - 3600).into();
    let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{}.{claims}.{}", parts[0], parts[2])
}

/// A command that leaves a process holding its output open (a daemon it started) does not hold
/// the suite: its output is read for a few seconds after it ends, then taken as it is.
#[test]
fn a_daemon_left_holding_the_pipes_does_not_hang_the_suite() {
    let mut command = Command::new("sh");
    command
        .args(["-c", "sleep 60 & echo started"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = std::time::Instant::now();
    let output = wait_bounded(command.spawn().unwrap(), "sh");
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    assert_eq!(String::from_utf8_lossy(&output.stdout), "started\n");
}
