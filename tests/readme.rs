//! The README as a contract: its install lines for completion and its whole quick start run as
//! written, in a sandbox, against the test IdP and the stub API server. The only changes are
//! the example hosts and client IDs, mapped to the test IdP's layouts by [`TEST_HOSTS`] (each
//! must still be in the README); a device sign-in is approved as the person would.

use crate::support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use support::idp::{AZURE_TENANT, ApiServer, Idp, RESOURCE, approve_device};
use support::{Sandbox, require_tool, workspace_root};

/// The README's example hosts and IDs, and what stands for them here.
const TEST_HOSTS: &[(&str, &str)] = &[
    ("https://sso.example.com", "{idp}"),
    (
        "--tenant contoso.onmicrosoft.com",
        "--tenant contoso.onmicrosoft.com --authority-host {idp}",
    ),
    (
        "--client-id 11111111-2222-3333-4444-555555555555",
        "--client-id cli",
    ),
    ("nf.example.auth0.com", "{idp}/auth0"),
    ("https://gateway.example.io/", "https://api.tokenctl.test"),
    ("--client-id nf-ci", "--client-id service"),
    ("NF_CLIENT_SECRET=...", "NF_CLIENT_SECRET=service-secret"),
    (
        "--server https://nmp.company.com",
        "--server {api} --certificate-authority {ca}",
    ),
    ("https://nmp.company.com", "{api}"),
    ("curl ", "curl -sSf --cacert {ca} "),
];

/// The ```sh blocks of the README between the heading `from` and the next heading of its level.
fn blocks(readme: &str, from: &str) -> Vec<String> {
    let start = readme
        .find(&format!("\n{from}\n"))
        .unwrap_or_else(|| panic!("README has no {from:?}"));
    let level = from.split(' ').next().unwrap();
    let rest = &readme[start + from.len() + 2..];
    let end = rest.find(&format!("\n{level} ")).unwrap_or(rest.len());
    rest[..end]
        .split("```sh\n")
        .skip(1)
        .map(|block| block.split("```").next().unwrap().to_owned())
        .collect()
}

/// Runs one block as a bash script that stops at the first failing command, approving any
/// device sign-in it shows.
fn run_block(sandbox: &Sandbox, idp: &Idp, script: &str) -> (String, String) {
    let bash = require_tool("bash", "apt-get install bash");
    let mut command = Command::new(bash);
    command.args([
        "--norc",
        "--noprofile",
        "-c",
        &format!("set -euo pipefail\n{script}"),
    ]);
    sandbox.isolate(&mut command);
    command
        .env("PASSWORD", "correct-horse")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let base = idp.base.clone();
    let reader = std::thread::spawn(move || {
        let mut seen = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(code) = line
                .split("enter the code ")
                .nth(1)
                .and_then(|rest| rest.split_whitespace().next())
            {
                assert_eq!(approve_device(&base, code), 200, "approving {code}");
            }
            seen.push_str(&line);
            seen.push('\n');
        }
        seen
    });
    let output = support::wait_bounded(child, "a README block");
    let stderr = reader.join().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "this README block failed:\n{script}\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    (stdout, stderr)
}

#[test]
#[ignore = "needs bash, zsh, fish, curl, openssl, the test IdP (node)"]
fn the_readme_install_lines_and_quick_start_run_as_written() {
    require_tool("curl", "apt-get install curl");
    let idp = Idp::start();
    let azure = format!("{}/{AZURE_TENANT}/v2.0", idp.base);
    // An AKS-like cluster: it accepts the API's access tokens (the azure default).
    let api = ApiServer::for_audience(&[azure], RESOURCE);
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).unwrap();
    let mut mapped = readme.clone();
    for (example, here) in TEST_HOSTS {
        assert!(
            readme.contains(example),
            "the README no longer says {example:?}"
        );
        let here = here
            .replace("{idp}", &idp.base)
            .replace("{api}", &api.base)
            .replace("{ca}", &api.ca);
        mapped = mapped.replace(example, &here);
    }
    // No contexts file yet: the quick start makes it.
    let sandbox = Sandbox::new();

    // Install: the completion lines, into the sandbox's home; then each shell completes.
    let install = blocks(&mapped, "## Install");
    let completion = install
        .iter()
        .find(|block| block.contains("tokenctl completion"))
        .expect("an install block with the completion lines");
    run_block(&sandbox, &idp, completion);
    let home = sandbox.path("");
    for file in [
        ".bashrc",
        ".zshrc",
        ".zfunc/_tokenctl",
        ".config/fish/completions/tokenctl.fish",
    ] {
        assert!(home.join(file).is_file(), "{file} written");
    }

    let quick = blocks(&mapped, "## Quick start");
    assert!(quick.len() >= 2, "{quick:?}");
    let (stdout, _) = run_block(&sandbox, &idp, &quick[0]);
    assert!(
        stdout.contains("dev\n"),
        "current-context of --context dev: {stdout}"
    );
    assert!(
        stdout.contains("REDACTED") || !stdout.contains("service-secret"),
        "{stdout}"
    );
    let (stdout, stderr) = run_block(&sandbox, &idp, &quick[1]);
    assert!(stderr.contains("Logged in to corp as alice"), "{stderr}");
    assert!(stderr.contains("Logged in to nf"), "{stderr}");
    assert!(
        stdout.contains("\"workspaces\""),
        "curl reached the cluster: {stdout}"
    );
    assert!(
        stdout.contains("\"claims\"") || stdout.contains("\"payload\""),
        "{stdout}"
    );
    // kubectl, the API and plugins: the README presumes a job file and a plugin of yours.
    require_tool("kubectl", "apt-get install kubernetes-client");
    sandbox.write(&sandbox.path("job.json"), "{\"name\": \"train\"}\n");
    let plugin = sandbox.path("bin/tokenctl-jobs");
    sandbox.write(
        &plugin,
        "#!/bin/sh\necho \"jobs of $TOKENCTL_CONTEXT in $TOKENCTL_WORKSPACE\"\n",
    );
    std::fs::set_permissions(&plugin, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    for block in &quick[2..] {
        let script = format!("export PATH=\"$HOME/bin:$PATH\"\ncd \"$HOME\"\n{block}");
        let (stdout, _) = run_block(&sandbox, &idp, &script);
        if block.contains("tokenctl jobs list") {
            assert!(
                stdout.contains("\"items\"") && stdout.contains("job-1"),
                "{stdout}"
            );
            assert!(stdout.contains("jobs of prod in default"), "{stdout}");
        }
    }
}
