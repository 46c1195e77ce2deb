//! `cargo xtask bench`: whole-process benchmarks of the release binary with hyperfine, written
//! to docs/benchmarks.md with the machine, the exact commands and min/median/max.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::{cargo, run as run_checked};

/// Contexts-file sizes measured, from a personal file to a very large generated one.
const SIZES: [usize; 5] = [10, 100, 1_000, 5_000, 10_000];

/// One measured command: what it is called in the report and its argv.
struct Case {
    label: &'static str,
    env: Vec<(&'static str, &'static str)>,
    args: Vec<&'static str>,
    /// Touch the contexts file before each run, as an edit would: the parse cache misses.
    after_edit: bool,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            label: "auth get-contexts",
            env: vec![],
            args: vec!["auth", "get-contexts"],
            after_edit: false,
        },
        Case {
            label: "auth current-context",
            env: vec![],
            args: vec!["auth", "current-context"],
            after_edit: false,
        },
        Case {
            label: "TAB: auth use-context p<TAB>",
            env: vec![("COMPLETE", "bash"), ("_CLAP_COMPLETE_INDEX", "3")],
            args: vec!["--", "tokenctl", "auth", "use-context", "p"],
            after_edit: false,
        },
        Case {
            label: "auth get-contexts, first after an edit",
            env: vec![],
            args: vec!["auth", "get-contexts"],
            after_edit: true,
        },
    ]
}

/// min, median, max in milliseconds, and peak RSS in KiB.
struct Figures {
    min_ms: f64,
    median_ms: f64,
    max_ms: f64,
    runs: usize,
    peak_rss_kib: u64,
}

/// The title of the proxy's section, the report's last: `cargo xtask bench proxy` rewrites it.
const PROXY_TITLE: &str = "## tokenctl proxy beside direct requests to the cluster";

/// `cargo xtask bench`: every section; `cargo xtask bench proxy`: only the proxy's.
pub(crate) fn run(root: &Path, only: Option<&str>) -> Result<()> {
    run_checked(Command::new(cargo()).current_dir(root).args([
        "build",
        "--release",
        "--quiet",
        "-p",
        "tokenctl",
    ]))?;
    let bin = root.join("target/release/tokenctl");
    let work = root.join("target/bench");
    std::fs::create_dir_all(&work)?;
    match only {
        None => {}
        Some("proxy") => {
            let path = root.join("docs/benchmarks.md");
            let report = std::fs::read_to_string(&path)
                .with_context(|| format!("{}: run `cargo xtask bench` first", path.display()))?;
            let kept = report.split(PROXY_TITLE).next().unwrap_or_default();
            let section = proxy_section(root, &bin, &work)?;
            std::fs::write(&path, format!("{kept}{section}"))?;
            println!("wrote the proxy section of docs/benchmarks.md");
            return Ok(());
        }
        Some(other) => bail!("unknown benchmark section {other:?}: cargo xtask bench [proxy]"),
    }
    let hyperfine = find_tool("hyperfine", "apt-get install hyperfine")?;
    let gnu_time = find_tool("time", "apt-get install time")?;

    let mut report = String::new();
    writeln!(report, "# Benchmarks\n")?;
    writeln!(
        report,
        "Made by `cargo xtask bench` (release build, hyperfine, GNU time for peak RSS). Each figure \
         is a whole `tokenctl` process, start to exit, as a shell or kubectl sees it.\n"
    )?;
    writeln!(report, "## Machine\n\n{}\n", machine(&bin)?)?;
    writeln!(
        report,
        "## Contexts file: listing, loading and TAB completion by size\n"
    )?;
    writeln!(
        report,
        "Each contexts file has N contexts (names `prod-0`…, `dev-0`…), N/10 clusters and 3 \
         providers, every context with a flow, scopes and an attribute. Commands, with \
         `TOKENCTL_CONFIG` pointing at the file:\n"
    )?;
    for case in cases() {
        let prepare = if case.after_edit {
            " (hyperfine `--prepare 'touch FILE'`)"
        } else {
            ""
        };
        writeln!(
            report,
            "- {}: `{}`{prepare}",
            case.label,
            show_command(&case)
        )?;
    }
    writeln!(
        report,
        "\nA command reads the contexts file through a parse cache (`$XDG_CACHE_HOME/tokenctl/`, \
         keyed by the file's size, mtime and ctime) and skips validation for a set of file versions \
         this build already validated; the first command after an edit parses the YAML and \
         validates, and is measured separately."
    )?;
    writeln!(
        report,
        "\n| contexts | command | min ms | median ms | max ms | runs | peak RSS MiB |\n|---:|---|---:|---:|---:|---:|---:|"
    )?;
    let mut medians: Vec<(usize, &'static str, f64)> = Vec::new();
    for size in SIZES {
        let config = work.join(format!("contexts-{size}.yaml"));
        std::fs::write(&config, contexts_file(size))?;
        for case in cases() {
            let figures = measure(&hyperfine, &gnu_time, &bin, &config, &case, &work)?;
            writeln!(
                report,
                "| {size} | {} | {:.2} | {:.2} | {:.2} | {} | {:.1} |",
                case.label,
                figures.min_ms,
                figures.median_ms,
                figures.max_ms,
                figures.runs,
                figures.peak_rss_kib as f64 / 1024.0
            )?;
            println!(
                "{size:>6} contexts  {:<40} median {:.2} ms",
                case.label, figures.median_ms
            );
            medians.push((size, case.label, figures.median_ms));
        }
    }
    writeln!(report, "\n{}", growth(&medians))?;
    writeln!(
        report,
        "{}",
        hot_path(root, &hyperfine, &gnu_time, &bin, &work)?
    )?;
    writeln!(report, "{}", proxy_section(root, &bin, &work)?)?;
    std::fs::create_dir_all(root.join("docs"))?;
    std::fs::write(root.join("docs/benchmarks.md"), report)?;
    println!("wrote docs/benchmarks.md");
    Ok(())
}

/// How the median grows with the file, per command: every size, and the cost per context
/// between the two largest files.
fn growth(medians: &[(usize, &'static str, f64)]) -> String {
    let mut text = String::from("Growth of the median with the number of contexts:\n");
    for case in cases() {
        let of_case: Vec<&(usize, &str, f64)> = medians
            .iter()
            .filter(|(_, label, _)| *label == case.label)
            .collect();
        let series: Vec<String> = of_case
            .iter()
            .map(|(size, _, ms)| format!("{ms:.2} ms at {size}"))
            .collect();
        if let [.., before, last] = of_case.as_slice() {
            let per_context_us = (last.2 - before.2) * 1000.0 / (last.0 - before.0) as f64;
            let _ = writeln!(
                text,
                "\n- {}: {}; about {per_context_us:.2} µs per context between the two largest files.",
                case.label,
                series.join(", "),
            );
        }
    }
    text
}

fn show_command(case: &Case) -> String {
    let env: Vec<String> = case.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut words = env;
    words.push("tokenctl".into());
    words.extend(case.args.iter().map(|a| a.to_string()));
    words.join(" ")
}

fn measure(
    hyperfine: &Path,
    gnu_time: &Path,
    bin: &Path,
    config: &Path,
    case: &Case,
    work: &Path,
) -> Result<Figures> {
    let mut argv = vec![bin.display().to_string()];
    argv.extend(case.args.iter().map(|a| a.to_string()));
    let mut env: Vec<(String, String)> =
        vec![("TOKENCTL_CONFIG".into(), config.display().to_string())];
    env.extend(case.env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let prepare = case
        .after_edit
        .then(|| format!("touch {}", config.display()));
    measure_command(
        hyperfine,
        gnu_time,
        &argv,
        &env,
        prepare.as_deref(),
        None,
        work,
    )
}

/// Times a whole command with hyperfine (no shell) and takes its peak RSS with GNU time.
fn measure_command(
    hyperfine: &Path,
    gnu_time: &Path,
    argv: &[String],
    env: &[(String, String)],
    prepare: Option<&str>,
    cwd: Option<&Path>,
    work: &Path,
) -> Result<Figures> {
    let export = work.join("hyperfine.json");
    let mut hf = Command::new(hyperfine);
    let mut time = Command::new(gnu_time);
    if let Some(dir) = cwd {
        hf.current_dir(dir);
        time.current_dir(dir);
    }
    hf.args([
        "--shell=none",
        "--warmup",
        "5",
        "--min-runs",
        "40",
        "--style",
        "none",
    ]);
    if let Some(prepare) = prepare {
        hf.arg("--prepare").arg(prepare);
    }
    hf.arg("--export-json")
        .arg(&export)
        .arg(argv.join(" "))
        .envs(env.iter().map(|(k, v)| (k, v)));
    run_checked(&mut hf)?;
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&export)?)?;
    let result = &json["results"][0];
    let seconds = |key: &str| {
        result[key]
            .as_f64()
            .context("hyperfine JSON lacks a figure")
    };
    let runs = result["times"].as_array().map_or(0, Vec::len);

    let output = time
        .args(["-f", "%M"])
        .args(argv)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(std::process::Stdio::null())
        .output()?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    let peak_rss_kib = stderr
        .lines()
        .last()
        .and_then(|line| line.trim().parse().ok())
        .with_context(|| format!("GNU time printed no peak RSS: {stderr}"))?;
    Ok(Figures {
        min_ms: seconds("min")? * 1000.0,
        median_ms: seconds("median")? * 1000.0,
        max_ms: seconds("max")? * 1000.0,
        runs,
        peak_rss_kib,
    })
}

/// The hot path and a token request, beside the simplest tools that do the same I/O: `cat` of
/// the login file, and `curl` of the token endpoint. Against the test IdP on loopback.
fn hot_path(
    root: &Path,
    hyperfine: &Path,
    gnu_time: &Path,
    bin: &Path,
    work: &Path,
) -> Result<String> {
    let curl = find_tool("curl", "apt-get install curl")?;
    let idp = crate::demo::start_idp(&root.join("tests/idp"))?;
    let home = work.join("home");
    let _ = std::fs::remove_dir_all(&home);
    std::fs::create_dir_all(&home)?;
    let config = home.join("config.yaml");
    std::fs::write(
        &config,
        format!(
            "providers:\n  - {{name: sso, kind: keycloak, server: '{base}', realm: nmr, client-id: cli}}\n  \
             - {{name: svc, kind: keycloak, server: '{base}', realm: nmr, client-id: service, client-secret-env: SVC_SECRET}}\n\
             contexts:\n  - {{name: sso, provider: sso, flow: password}}\n  - {{name: svc, provider: svc, flow: client-credentials}}\n\
             current-context: sso\ncredential-store: file\n",
            base = idp.base
        ),
    )?;
    let env: Vec<(String, String)> = vec![
        ("TOKENCTL_CONFIG".into(), config.display().to_string()),
        (
            "XDG_DATA_HOME".into(),
            home.join("data").display().to_string(),
        ),
        (
            "XDG_CACHE_HOME".into(),
            home.join("cache").display().to_string(),
        ),
        ("HOME".into(), home.display().to_string()),
        ("TOKENCTL_USERNAME".into(), "alice".into()),
        ("TOKENCTL_PASSWORD".into(), "correct-horse".into()),
        ("SVC_SECRET".into(), "service-secret".into()),
    ];
    run_checked(
        Command::new(bin)
            .args(["auth", "login"])
            .envs(env.iter().map(|(k, v)| (k, v))),
    )?;
    let login_file = std::fs::read_dir(home.join("data/tokenctl/logins"))?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "json"))
        .context("no stored login")?;
    let token_url = format!("{}/realms/nmr/protocol/openid-connect/token", idp.base);
    let agent = OidcAgent::start(work, &format!("{}/realms/nmr", idp.base))?;
    let mut env = env;
    env.push(("OIDC_SOCK".into(), agent.socket.clone()));
    env.push((
        "KUBERNETES_EXEC_INFO".into(),
        r#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","spec":{"interactive":false}}"#.into(),
    ));
    let words = |text: &str| text.split(' ').map(str::to_owned).collect::<Vec<_>>();
    // A checkout whose .tokenctl picks the context: the hot path's upward search, measured.
    let checkout = home.join("src/app/deep/er/est");
    std::fs::create_dir_all(&checkout)?;
    run_checked(
        Command::new(bin)
            .args(["auth", "use-context", "sso", "--here"])
            .current_dir(home.join("src/app"))
            .envs(env.iter().map(|(k, v)| (k, v))),
    )?;
    let bin = bin.display().to_string();
    let oidc_token = agent.oidc_token.display();
    // Two groups, each measured in one run and compared with its first row.
    let groups: [Group; 2] = [
        (
            "Hot path: a valid access token handed out",
            vec![
                (
                    "cat of the login file",
                    words(&format!("cat {}", login_file.display())),
                    None,
                ),
                (
                    "tokenctl auth token",
                    words(&format!("{bin} auth token")),
                    None,
                ),
                (
                    "tokenctl auth token, 3 levels below an allowed .tokenctl",
                    words(&format!("{bin} auth token")),
                    Some(checkout.clone()),
                ),
                (
                    "tokenctl auth exec-credential (KUBERNETES_EXEC_INFO v1)",
                    words(&format!("{bin} auth exec-credential")),
                    None,
                ),
                (
                    "oidc-token bench (oidc-agent's cache)",
                    words(&format!("{oidc_token} bench")),
                    None,
                ),
            ],
        ),
        (
            "Token requests: a new access token from the provider",
            vec![
                (
                    "curl: client credentials at the token endpoint",
                    words(&format!(
                        "{} -s -o /dev/null -X POST {token_url} -d grant_type=client_credentials&client_id=service&client_secret=service-secret",
                        curl.display()
                    )),
                    None,
                ),
                (
                    "tokenctl auth refresh (forced; rotating refresh token)",
                    words(&format!("{bin} auth refresh")),
                    None,
                ),
                (
                    "tokenctl --context svc auth login (client credentials)",
                    words(&format!("{bin} --context svc auth login")),
                    None,
                ),
                (
                    "tokenctl --context svc auth refresh (client credentials re-acquired, under the login's lock)",
                    words(&format!("{bin} --context svc auth refresh")),
                    None,
                ),
                (
                    "oidc-token --force-new bench (forced refresh through oidc-agent)",
                    words(&format!("{oidc_token} --force-new bench")),
                    None,
                ),
            ],
        ),
    ];
    let mut text = format!(
        "## Hot path and token requests, beside oidc-agent\n\nA stored login (file store) against the \
         test identity provider on loopback, and oidc-agent {} with an account for the same realm \
         (client `service`, password flow). `auth token` and `auth exec-credential` with a valid \
         access token read the contexts file through its cache and one login file: no keyring, no \
         network, no lock. Ratios are to the first row of each table.\n",
        agent.version
    );
    for (title, cases) in groups {
        let _ = write!(
            text,
            "\n### {title}\n\n| command | min ms | median ms | max ms | runs | peak RSS MiB | ratio |\n|---|---:|---:|---:|---:|---:|---:|\n"
        );
        let mut baseline = None;
        for (label, argv, cwd) in &cases {
            let figures =
                measure_command(hyperfine, gnu_time, argv, &env, None, cwd.as_deref(), work)?;
            let base = *baseline.get_or_insert(figures.median_ms);
            let _ = writeln!(
                text,
                "| {label} | {:.2} | {:.2} | {:.2} | {} | {:.1} | {:.2}x |",
                figures.min_ms,
                figures.median_ms,
                figures.max_ms,
                figures.runs,
                figures.peak_rss_kib as f64 / 1024.0,
                figures.median_ms / base
            );
            println!("{label:<70} median {:.2} ms", figures.median_ms);
        }
    }
    Ok(text)
}

/// A table of the report: its title and its commands (label, argv, working directory).
type Group<'a> = (&'a str, Vec<(&'a str, Vec<String>, Option<PathBuf>)>);

/// An oidc-agent of its own (Debian `oidc-agent-cli`), with an account `bench` for the test
/// IdP's realm; stopped when dropped.
struct OidcAgent {
    pid: u32,
    socket: String,
    oidc_token: PathBuf,
    version: String,
}

impl OidcAgent {
    fn start(work: &Path, issuer: &str) -> Result<OidcAgent> {
        let install = "apt-get install oidc-agent-cli";
        let agent = find_tool("oidc-agent", install)?;
        let generate = find_tool("oidc-gen", install)?;
        let oidc_token = find_tool("oidc-token", install)?;
        let home = work.join("oidc-home");
        let _ = std::fs::remove_dir_all(&home);
        std::fs::create_dir_all(&home)?;
        // It prints shell assignments: OIDC_SOCK=...; export OIDC_SOCK; OIDCD_PID=...; ...
        let output = Command::new(&agent).env("HOME", &home).output()?;
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        let value = |name: &str| {
            text.split(';')
                .map(str::trim)
                .find_map(|part| part.strip_prefix(&format!("{name}=")))
                .map(str::to_owned)
                .with_context(|| format!("oidc-agent printed no {name}: {text}"))
        };
        let started = OidcAgent {
            socket: value("OIDC_SOCK")?,
            pid: value("OIDCD_PID")?.parse()?,
            oidc_token,
            version: command_output(agent.to_str().unwrap_or("oidc-agent"), &["--version"])
                .unwrap_or_default()
                .trim_start_matches("oidc-agent ")
                .to_owned(),
        };
        run_checked(
            Command::new(generate)
                .env("HOME", &home)
                .env("OIDC_SOCK", &started.socket)
                .env("OIDC_ENCRYPTION_PW", "bench")
                .args([
                    "bench",
                    &format!("--issuer={issuer}"),
                    "--client-id=service",
                    "--client-secret=service-secret",
                    "--flow=password",
                    "--op-username=alice",
                    "--op-password=correct-horse",
                    "--scope=openid offline_access platform:read",
                    "--pw-env",
                    "--confirm-default",
                    "--prompt=none",
                ])
                .stdout(std::process::Stdio::null()),
        )?;
        Ok(started)
    }
}

impl Drop for OidcAgent {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.pid.to_string()).status();
    }
}

/// A contexts file with `size` contexts.
fn contexts_file(size: usize) -> String {
    let clusters = (size / 10).max(1);
    let mut yaml = String::from("current-context: prod-0\nproviders:\n");
    yaml.push_str("  - name: corp\n    kind: azure\n    tenant: contoso.onmicrosoft.com\n    client-id: 11111111-2222-3333-4444-555555555555\n");
    yaml.push_str("  - name: sso\n    kind: keycloak\n    server: https://sso.example.com\n    realm: nmr\n    client-id: cli\n");
    yaml.push_str(
        "  - name: dex\n    kind: oidc\n    issuer: https://dex.example.com\n    client-id: cli\n",
    );
    yaml.push_str("clusters:\n");
    for i in 0..clusters {
        let _ = write!(
            yaml,
            "  - name: cluster-{i}\n    server: https://k{i}.example.com\n"
        );
    }
    yaml.push_str("contexts:\n");
    let providers = ["corp", "sso", "dex"];
    for i in 0..size {
        let name = if i % 2 == 0 {
            format!("prod-{}", i / 2)
        } else {
            format!("dev-{}", i / 2)
        };
        let _ = write!(
            yaml,
            "  - name: {name}\n    provider: {}\n    cluster: cluster-{}\n    flow: device\n    scopes: [platform:read, platform:write]\n    workspace: team-{}\n",
            providers[i % 3],
            i % clusters,
            i % 7
        );
    }
    yaml
}

fn machine(bin: &Path) -> Result<String> {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split(':').nth(1))
                .map(|model| model.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = command_output("uname", &["-sr"]).unwrap_or_default();
    let rustc = command_output("rustc", &["--version"]).unwrap_or_default();
    let hyperfine = command_output("hyperfine", &["--version"]).unwrap_or_default();
    // ELF e_type, little-endian at offset 16: 2 a position-dependent executable, 3 PIE.
    let mut header = [0u8; 18];
    std::io::Read::read_exact(&mut std::fs::File::open(bin)?, &mut header)?;
    let linked = match header[16..] {
        [2, 0] => "position-dependent executable (the Linux default; `TOKENCTL_PIE=1` builds PIE)",
        [3, 0] => "position-independent executable (PIE)",
        _ => "not an ELF executable this report knows",
    };
    Ok(format!(
        "- CPU: {cpu}, {cores} cores available\n- OS: {kernel}\n- {rustc}\n- {hyperfine}\n- tokenctl: {linked}"
    ))
}

fn command_output(program: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(program).args(args).output().ok()?;
    Some(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// A tool on PATH, or an error that says how to install it.
fn find_tool(tool: &str, install: &str) -> Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    match std::env::split_paths(&path)
        .map(|dir| dir.join(tool))
        .find(|candidate| candidate.is_file())
    {
        Some(found) => Ok(found),
        None => bail!("the benchmarks need `{tool}`; install it with: {install}"),
    }
}

/// Requests timed per series for the proxy's latency.
const PROXY_REQUESTS: usize = 2_000;

/// `tokenctl proxy` beside direct requests to the stub cluster: curl times each of
/// [`PROXY_REQUESTS`] sequential requests on one kept-alive connection (`-w %{time_total}`),
/// direct (HTTPS, the token in a header) and through the proxy (plain HTTP on loopback, the
/// proxy keeping its own connection to the cluster), then a parallel run for requests per
/// second.
fn proxy_section(root: &Path, bin: &Path, work: &Path) -> Result<String> {
    let curl = find_tool("curl", "apt-get install curl")?;
    let idp = crate::demo::start_idp(&root.join("tests/idp"))?;
    let issuer = format!("{}/realms/nmr", idp.base);
    let cluster_dir = work.join("cluster");
    let (cluster, ready) = crate::demo::start_node(
        &root.join("tests/idp/apiserver.js"),
        &[
            "--issuer",
            &issuer,
            "--dir",
            &cluster_dir.display().to_string(),
        ],
    )?;
    let _cluster = cluster;
    let server = ready["base"].as_str().context("no cluster address")?;
    let ca = ready["ca"].as_str().context("no cluster CA")?;
    let home = work.join("proxy-home");
    let _ = std::fs::remove_dir_all(&home);
    std::fs::create_dir_all(&home)?;
    let config = home.join("config.yaml");
    std::fs::write(
        &config,
        format!(
            "providers:\n  - {{name: sso, kind: keycloak, server: '{}', realm: nmr, client-id: cli}}\n\
             clusters:\n  - {{name: stub, server: '{server}', certificate-authority: '{ca}'}}\n\
             contexts:\n  - {{name: sso, provider: sso, cluster: stub, flow: password, scopes: [platform:read], cluster-token: id}}\n\
             current-context: sso\ncredential-store: file\n",
            idp.base
        ),
    )?;
    let env = [
        ("TOKENCTL_CONFIG", config.display().to_string()),
        ("XDG_DATA_HOME", home.join("data").display().to_string()),
        ("XDG_CACHE_HOME", home.join("cache").display().to_string()),
        ("HOME", home.display().to_string()),
        ("TOKENCTL_USERNAME", "alice".to_owned()),
        ("TOKENCTL_PASSWORD", "correct-horse".to_owned()),
    ];
    run_checked(Command::new(bin).args(["auth", "login"]).envs(env.clone()))?;
    // The token the cluster takes, as the proxy sends it: the ID token (`cluster-token: id`).
    let token = String::from_utf8(
        Command::new(bin)
            .args(["auth", "token", "--id-token"])
            .envs(env.clone())
            .output()?
            .stdout,
    )?
    .trim()
    .to_owned();
    let mut proxy = Command::new(bin)
        .args(["proxy", "--port", "0"])
        .envs(env.clone())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(proxy.stderr.take().context("piped")?),
        &mut line,
    )?;
    let address = line
        .strip_prefix("Starting to serve on ")
        .and_then(|rest| rest.split(' ').next())
        .with_context(|| format!("the proxy did not start: {line:?}"))?
        .to_owned();
    let urls = |base: &str| vec![format!("{base}/whoami"); PROXY_REQUESTS];
    let times = |extra: &[&str], urls: Vec<String>| -> Result<Vec<f64>> {
        // `-o` applies to one URL: each gets its own.
        let output = Command::new(&curl)
            .args(["-s", "--fail", "-w", "%{time_total}\\n"])
            .args(extra)
            .args(
                urls.iter()
                    .flat_map(|url| ["-o", "/dev/null", url.as_str()]),
            )
            .output()?;
        if !output.status.success() {
            bail!("curl failed: {}", String::from_utf8_lossy(&output.stderr));
        }
        let mut times: Vec<f64> = String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|t| t.parse::<f64>().ok())
            .map(|seconds| seconds * 1000.0)
            .collect();
        times.sort_by(f64::total_cmp);
        Ok(times)
    };
    let bearer = format!("Authorization: Bearer {token}");
    let direct_args = ["--cacert", ca, "-H", bearer.as_str()];
    // One warm-up of each, then the measured series.
    times(&direct_args, urls(server))?;
    let proxied_base = format!("http://{address}");
    times(&[], urls(&proxied_base))?;
    let direct = times(&direct_args, urls(server))?;
    let proxied = times(&[], urls(&proxied_base))?;
    let rps = |extra: &[&str], base: &str| -> Result<f64> {
        let started = std::time::Instant::now();
        times(
            &[&["--parallel", "--parallel-max", "32"], extra].concat(),
            urls(base),
        )?;
        Ok(PROXY_REQUESTS as f64 / started.elapsed().as_secs_f64())
    };
    let direct_rps = rps(&direct_args, server)?;
    let proxied_rps = rps(&[], &proxied_base)?;
    let _ = proxy.kill();
    let _ = proxy.wait();
    let at = |times: &[f64], q: f64| {
        let index = ((times.len().saturating_sub(1)) as f64 * q).round() as usize;
        times.get(index).copied().unwrap_or(f64::NAN)
    };
    let mut text = String::new();
    writeln!(
        text,
        "{PROXY_TITLE}\n\n\
         The stub cluster (tests/idp/apiserver.js: HTTPS, verifies the token's signature against \
         the test IdP's keys at every request) on loopback, `GET /whoami`. curl times each of \
         {PROXY_REQUESTS} sequential requests on one kept-alive connection (`curl -w \
         '%{{time_total}}' URL URL …`): direct, over HTTPS with the token in a header \
         (`--cacert CA -H 'Authorization: Bearer …'`), and through `tokenctl proxy --port 0` \
         (plain HTTP on loopback; the proxy keeps its own connection to the cluster and adds the \
         token). Requests per second: the same {PROXY_REQUESTS} requests with `--parallel \
         --parallel-max 32`.\n"
    )?;
    writeln!(
        text,
        "| path | min ms | median ms | p90 ms | max ms | requests/s (32 in parallel) |\n|---|---:|---:|---:|---:|---:|"
    )?;
    for (label, series, per_second) in [
        ("direct (HTTPS, token in the request)", &direct, direct_rps),
        ("through tokenctl proxy", &proxied, proxied_rps),
    ] {
        writeln!(
            text,
            "| {label} | {:.3} | {:.3} | {:.3} | {:.3} | {per_second:.0} |",
            at(series, 0.0),
            at(series, 0.5),
            at(series, 0.9),
            at(series, 1.0)
        )?;
    }
    let added = at(&proxied, 0.5) - at(&direct, 0.5);
    writeln!(
        text,
        "\nMedian added per request: {added:.3} ms (target: under 1 ms). Through the proxy a client \
         speaks plain HTTP on loopback and the proxy the TLS to the cluster, so the added figure \
         is the proxy's own work (parse, checks, the shared token, forward) less the TLS the \
         client no longer does itself."
    )?;
    println!("proxy: median added {added:.3} ms, {proxied_rps:.0} requests/s");
    Ok(text)
}
