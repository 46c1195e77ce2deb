//! Crash safety: `tokenctl` processes killed with SIGKILL at random moments while they refresh a
//! login and edit the contexts file, 200 rounds. After every kill the contexts file and the
//! stored login load, every finished edit is there, and the refresh token still works, unless
//! the kill fell between the provider rotating it and tokenctl saving the new one (the provider
//! then refuses the old one; no client can avoid that window, and the test counts it).

use crate::support;

use std::process::Stdio;
use std::time::Duration;

const TOKEN_ENDPOINT: &str = "POST /realms/nmr/protocol/openid-connect/token";
const ROUNDS: usize = 200;

/// A small xorshift generator: the kill moments, reproducible from the printed seed.
struct Moments(u64);

impl Moments {
    fn next_millis(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below
    }
}

#[test]
#[ignore = "needs the test IdP (node)"]
fn sigkill_while_refreshing_and_editing_loses_nothing_tokenctl_had() {
    let (idp, sandbox) = support::idp::logged_in(&[]);
    let seed = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("crash rounds with CRASH_SEED={seed}");
    let mut moments = Moments(seed);
    let mut finished_edits: Vec<String> = Vec::new();
    let mut lost_in_flight = 0;
    let mut refreshes_cut = 0;
    for round in 0..ROUNDS {
        sandbox.age_login(30);
        let before = idp.requests(TOKEN_ENDPOINT);
        let quiet = |mut command: std::process::Command| {
            command
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        };
        let mut refresher = quiet(sandbox.command(["auth", "token"]));
        let name = format!("c{round}");
        let mut editor = quiet(sandbox.command([
            "config",
            "set-context",
            &name,
            "--provider",
            "sso",
            "--set",
            "round=yes",
        ]));
        std::thread::sleep(Duration::from_millis(moments.next_millis(150)));
        let edited = matches!(editor.try_wait(), Ok(Some(status)) if status.success());
        let _ = refresher.kill();
        let _ = editor.kill();
        let _ = refresher.wait();
        let _ = editor.wait();
        if edited {
            finished_edits.push(name);
        }

        let names = sandbox.run(["auth", "get-contexts", "-o", "name"]);
        let names = names.ok();
        for edit in &finished_edits {
            assert!(
                names.lines().any(|line| line == edit),
                "round {round} (CRASH_SEED={seed}): the finished edit {edit} is gone"
            );
        }
        sandbox.run(["auth", "status", "-o", "json"]).ok();

        let reached_provider = idp.requests(TOKEN_ENDPOINT) > before;
        refreshes_cut += usize::from(reached_provider);
        let refresh = sandbox.run(["auth", "refresh"]);
        match refresh.code {
            0 => {}
            4 => {
                assert!(
                    reached_provider,
                    "round {round} (CRASH_SEED={seed}): the refresh token was lost though no refresh reached the provider\n{}",
                    refresh.stderr
                );
                lost_in_flight += 1;
                sandbox.run_env(["auth", "login"], &support::ALICE).ok();
            }
            _ => panic!("round {round} (CRASH_SEED={seed}): {}", refresh.stderr),
        }
    }
    // The next writer of each file (it holds the file's lock) removes what killed ones left.
    sandbox
        .run(["config", "set-context", "last", "--provider", "sso"])
        .ok();
    sandbox.run(["auth", "refresh"]).ok();
    let leftovers: Vec<_> = [
        sandbox.config.parent().unwrap().to_path_buf(),
        sandbox.dir.path().join("data/tokenctl/logins"),
    ]
    .iter()
    .flat_map(|dir| std::fs::read_dir(dir).unwrap())
    .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
    .filter(|name| name.ends_with(".tmp"))
    .collect();
    eprintln!(
        "{ROUNDS} rounds: {} edits finished before the kill, {refreshes_cut} refreshes reached the provider before it, {lost_in_flight} rotations lost in flight, {} temporary files left by killed writers",
        finished_edits.len(),
        leftovers.len()
    );
    assert!(
        !finished_edits.is_empty() && refreshes_cut > 0,
        "some edits and refreshes got going: the kills were not all too early"
    );
    assert!(leftovers.is_empty(), "left behind: {leftovers:?}");
}
