//! `cargo xtask demo`: tokenctl against the test identity provider on loopback, in a throwaway
//! home (never the user's contexts file), each command printed before it runs.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::{cargo, run as run_checked};

/// The test IdP, stopped when dropped.
pub(crate) struct Idp {
    child: Child,
    pub(crate) base: String,
}

impl Drop for Idp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn run(root: &Path) -> Result<()> {
    run_checked(
        Command::new(cargo())
            .current_dir(root)
            .args(["build", "--quiet", "-p", "tokenctl"]),
    )?;
    let bin = root.join("target/debug/tokenctl");
    let idp_dir = root.join("tests/idp");
    if !idp_dir.join("node_modules/oidc-provider").is_dir() {
        println!("Installing the test identity provider (npm ci --prefix tests/idp)...");
        run_checked(
            Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--prefix"])
                .arg(&idp_dir),
        )
        .context("the demo needs Node.js 20.19 or later and npm: apt-get install nodejs npm")?;
    }
    let idp = start_idp(&idp_dir)?;
    let home = std::env::temp_dir().join(format!("tokenctl-demo-{}", std::process::id()));
    std::fs::create_dir_all(&home)?;
    let demo = Demo {
        bin,
        home: home.clone(),
        base: idp.base.clone(),
    };
    let outcome = demo.walk_through(&idp);
    let _ = std::fs::remove_dir_all(&home);
    drop(idp);
    println!("\nThe test identity provider is stopped and the demo's files are removed.");
    outcome
}

/// Starts a node script of tests/idp that prints one JSON line when it listens; the child (kill
/// it when done) and that line.
pub(crate) fn start_node(script: &Path, args: &[&str]) -> Result<(Idp, serde_json::Value)> {
    let mut child = Command::new("node")
        .arg(script)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting node {}", script.display()))?;
    let mut line = String::new();
    let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
    stdout.read_line(&mut line)?;
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let ready: serde_json::Value = serde_json::from_str(&line)
        .with_context(|| format!("{} did not start: {line:?}", script.display()))?;
    let base = ready["base"].as_str().unwrap_or_default().to_owned();
    Ok((Idp { child, base }, ready))
}

pub(crate) fn start_idp(dir: &Path) -> Result<Idp> {
    let (idp, _) = start_node(&dir.join("server.js"), &[])
        .context("starting the test identity provider (node tests/idp/server.js)")?;
    if idp.base.is_empty() {
        bail!("no address from the test identity provider");
    }
    println!(
        "Test identity provider (oidc-provider) listening on {}",
        idp.base
    );
    Ok(idp)
}

struct Demo {
    bin: PathBuf,
    home: PathBuf,
    base: String,
}

impl Demo {
    /// `tokenctl ARGS` in the demo's home, with extra environment.
    fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut command = Command::new(&self.bin);
        command
            .args(args)
            .env("TOKENCTL_CONFIG", self.home.join("config.yaml"))
            .env("XDG_DATA_HOME", self.home.join("data"))
            .env("XDG_CACHE_HOME", self.home.join("cache"))
            .env_remove("TOKENCTL_CONTEXT")
            .envs(env.iter().copied());
        command
    }

    fn show(&self, args: &[&str], env: &[(&str, &str)]) {
        let prefix: String = env.iter().map(|(k, v)| format!("{k}={v} ")).collect();
        println!("\n$ {prefix}tokenctl {}", args.join(" "));
        let _ = std::io::stdout().flush();
    }

    /// Shows and runs a command; its output goes to the terminal.
    fn step(&self, args: &[&str], env: &[(&str, &str)]) -> Result<()> {
        self.show(args, env);
        let status = self.command(args, env).status()?;
        if !status.success() {
            bail!("`tokenctl {}` failed with {status}", args.join(" "));
        }
        Ok(())
    }

    fn walk_through(&self, idp: &Idp) -> Result<()> {
        let base = &self.base;
        println!(
            "\nA throwaway contexts file: {}",
            self.home.join("config.yaml").display()
        );
        for args in [
            vec![
                "config",
                "set-provider",
                "sso",
                "--kind",
                "keycloak",
                "--server",
                base,
                "--realm",
                "nmr",
                "--client-id",
                "cli",
            ],
            vec![
                "config",
                "set-provider",
                "sso-service",
                "--kind",
                "keycloak",
                "--server",
                base,
                "--realm",
                "nmr",
                "--client-id",
                "service",
                "--client-secret-env",
                "SERVICE_SECRET",
            ],
            vec![
                "config",
                "set-context",
                "service",
                "--provider",
                "sso-service",
                "--flow",
                "client-credentials",
                "--scopes",
                "platform:read",
            ],
            vec![
                "config",
                "set-context",
                "alice",
                "--provider",
                "sso",
                "--flow",
                "device",
                "--scopes",
                "platform:read,platform:write",
            ],
        ] {
            self.step(&args, &[])?;
        }
        self.step(&["auth", "get-contexts"], &[])?;
        self.step(&["auth", "use-context", "service"], &[])?;
        self.step(&["auth", "login"], &[("SERVICE_SECRET", "service-secret")])?;
        self.step(&["auth", "status"], &[])?;
        self.step(&["auth", "use-context", "alice"], &[])?;
        self.device_login(idp)?;
        self.step(&["auth", "status"], &[])?;
        self.step(&["auth", "token", "--decode"], &[])?;
        self.step(&["auth", "get-contexts"], &[])?;
        Ok(())
    }

    /// `auth login` with the device flow; the demo plays the person and approves the code at
    /// the test identity provider.
    fn device_login(&self, idp: &Idp) -> Result<()> {
        self.show(&["auth", "login"], &[]);
        let mut child = self
            .command(&["auth", "login"], &[])
            .stderr(Stdio::piped())
            .spawn()?;
        let mut stderr = BufReader::new(child.stderr.take().expect("piped"));
        let mut line = String::new();
        let mut code = None;
        while stderr.read_line(&mut line)? > 0 {
            eprint!("{line}");
            if let Some(rest) = line.split("enter the code ").nth(1) {
                code = rest.split_whitespace().next().map(str::to_owned);
            }
            if line.starts_with("Waiting for the sign-in") {
                break;
            }
            line.clear();
        }
        let code = code.context("the device flow showed no code")?;
        println!(
            "(the demo signs in as alice and approves code {code} at the test identity provider)"
        );
        approve(&idp.base, &code)?;
        let mut rest = String::new();
        stderr.read_to_string(&mut rest)?;
        eprint!("{rest}");
        let status = child.wait()?;
        if !status.success() {
            bail!("the device login failed with {status}");
        }
        Ok(())
    }
}

/// GET /test/device?user_code=… on the test IdP (plain HTTP on loopback).
fn approve(base: &str, code: &str) -> Result<()> {
    let host = base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(host)?;
    write!(
        stream,
        "GET /test/device?user_code={code}&user=alice HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply)?;
    if !reply.starts_with("HTTP/1.1 200") {
        bail!(
            "the test identity provider did not approve the code: {}",
            reply.lines().next().unwrap_or("")
        );
    }
    Ok(())
}
