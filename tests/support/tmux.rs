//! A terminal for tests: tmux at a chosen size, driven by keys, read by screen captures.

use super::Sandbox;

/// A tmux session of `columns` x `rows` running `script` in the sandbox's environment; gone
/// when dropped.
pub(crate) struct Tmux {
    socket: String,
}

impl Tmux {
    pub(crate) fn start(
        sandbox: &Sandbox,
        columns: u16,
        rows: u16,
        color: bool,
        script: &str,
    ) -> Tmux {
        let tmux = super::require_tool("tmux", "apt-get install tmux");
        static SESSIONS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let socket = format!(
            "tokenctl-test-{}-{}",
            std::process::id(),
            SESSIONS.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        );
        let file = sandbox.path(&format!("{socket}.sh"));
        sandbox.write(&file, script);
        let mut command = std::process::Command::new(tmux);
        sandbox.isolate(&mut command);
        if color {
            command.env_remove("NO_COLOR");
        }
        let status = command
            .env("TERM", "xterm-256color")
            .args(["-L", &socket, "-f", "/dev/null", "new-session", "-d", "-x"])
            .arg(columns.to_string())
            .arg("-y")
            .arg(rows.to_string())
            .arg(format!("sh {}", file.display()))
            .status()
            .unwrap();
        assert!(status.success());
        Tmux { socket }
    }

    pub(crate) fn tmux(&self, args: &[&str]) -> String {
        let output = std::process::Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Types `text` and Enter, as a person answers a prompt.
    pub(crate) fn answer(&self, text: &str) {
        self.tmux(&["send-keys", "-t", "0", "-l", text]);
        self.tmux(&["send-keys", "-t", "0", "Enter"]);
    }

    /// The screen (with colours when `escapes`) once it shows `text`, within 20 s.
    pub(crate) fn screen_with(&self, text: &str, escapes: bool) -> String {
        let started = std::time::Instant::now();
        loop {
            let mut args = vec!["capture-pane", "-p", "-t", "0"];
            if escapes {
                args.push("-e");
            }
            let screen = self.tmux(&args);
            if screen.contains(text) {
                return screen;
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(20),
                "no {text:?} on the screen:\n{screen}"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.tmux(&["kill-server"]);
    }
}
