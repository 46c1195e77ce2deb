//! The terminal side of a sign-in: prompts, the device screen with its QR code and countdown,
//! and the system's browser. Injected into the flows, which never touch a terminal.

use crate::output::{self, say};
use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tokenctl_core::Secret;
use tokenctl_core::internal::clock::human_duration;
use tokenctl_core::internal::flows::BrowserOpener;
use tokenctl_core::internal::flows::LoginUi;
use tokenctl_core::internal::text::printable;
use tokenctl_core::oauth::DeviceAuthorization;

/// Reads one line from stdin (a secret piped in), without its line ending.
pub(crate) fn read_stdin_secret(what: &str) -> Result<Secret> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .with_context(|| format!("reading the {what} from stdin"))?;
    let value = line.trim_end_matches(['\n', '\r']);
    if value.is_empty() {
        bail!("no {what} on stdin");
    }
    Ok(Secret::new(value))
}

/// Reads all of stdin (a PEM key piped in).
pub(crate) fn read_stdin_document(what: &str) -> Result<Secret> {
    let mut text = String::new();
    std::io::Read::read_to_string(&mut std::io::stdin().lock(), &mut text)
        .with_context(|| format!("reading {what} from stdin"))?;
    if text.trim().is_empty() {
        bail!("no {what} on stdin");
    }
    Ok(Secret::new(text))
}

/// Whether a person can answer a prompt.
pub(crate) fn stdin_is_terminal() -> bool {
    std::io::stdin().is_terminal()
}

/// Whether a person is there to be asked questions: stdin and stderr are a terminal.
pub(crate) fn person_at_terminal() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

pub(crate) fn prompt(question: &str) -> Result<String> {
    output::put(question)?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim().to_owned())
}

/// The device flow on a terminal: URL, code and QR code on stderr, and a countdown.
#[derive(Default)]
pub(crate) struct TerminalUi {
    /// `--no-qr`: never draw the QR code.
    no_qr: bool,
    /// `--copy-code`: put the device code on the clipboard.
    copy_code: bool,
    /// Whether a countdown line is showing, to be cleared before the next message.
    counting: std::sync::atomic::AtomicBool,
    /// The user code, repeated on the countdown line.
    code: std::sync::Mutex<String>,
    /// Whether the browser sign-in reads a pasted answer, which its screen then asks for.
    pasting: std::sync::atomic::AtomicBool,
    /// The device flow: the browser its page opens in when the person presses Enter.
    browser: Option<SystemBrowser>,
    /// The device flow's page, and the terminal's lines while it waits for Enter.
    enter_opens: std::sync::Mutex<Option<(url::Url, tokio::sync::mpsc::UnboundedReceiver<Secret>)>>,
}

impl TerminalUi {
    /// `no_qr`: `--no-qr`; `copy_code`: `--copy-code`.
    pub(crate) fn new(no_qr: bool, copy_code: bool) -> TerminalUi {
        TerminalUi {
            no_qr,
            copy_code,
            ..TerminalUi::default()
        }
    }

    /// The device flow offers to open its page in `browser` (Enter) where one opens.
    pub(crate) fn offering(mut self, browser: &SystemBrowser) -> TerminalUi {
        self.browser = (browser.open && browser.available()).then(|| browser.clone());
        self
    }

    /// Clears the countdown line, if one is showing, and stops waiting for Enter.
    pub(crate) fn finish(&self) {
        if let Ok(mut offer) = self.enter_opens.lock() {
            offer.take();
        }
        self.clear_countdown();
    }

    /// Clears the countdown line, if one is showing, for a message below it.
    fn clear_countdown(&self) {
        if self
            .counting
            .swap(false, std::sync::atomic::Ordering::Relaxed)
        {
            let _ = output::put("\r\x1b[K");
        }
    }
}

impl TerminalUi {
    /// The device page to open on Enter, and the terminal's lines to see Enter in: where a
    /// browser opens here, someone watches the terminal, and the page is a web page.
    fn enter_page(
        &self,
        authorization: &DeviceAuthorization,
    ) -> Option<(url::Url, tokio::sync::mpsc::UnboundedReceiver<Secret>)> {
        self.browser.as_ref()?;
        if !std::io::stderr().is_terminal() {
            return None;
        }
        let page = url::Url::parse(
            authorization
                .verification_uri_complete
                .as_deref()
                .unwrap_or(&authorization.verification_uri),
        )
        .ok()
        .filter(|page| {
            tokenctl_core::internal::discovery::check_endpoint("verification_uri", page).is_ok()
        })?;
        Some((page, paste::read_lines()?))
    }

    /// Opens the device page once Enter was pressed.
    fn open_on_enter(&self) {
        let Ok(mut offer) = self.enter_opens.lock() else {
            return;
        };
        let pressed = offer
            .as_mut()
            .is_some_and(|(_, lines)| lines.try_recv().is_ok());
        if !pressed {
            return;
        }
        if let (Some((page, _)), Some(browser)) = (offer.take(), &self.browser)
            && let Err(err) = browser.open(&page)
        {
            tracing::warn!("could not open a browser ({err})");
        }
    }
}

/// Puts a device code on the clipboard of the terminal the person looks at, through OSC 52
/// (which SSH carries and tmux takes with `set-clipboard`), and says what happened. Only a
/// code of letters, digits and dashes is sent: the provider's text never reaches the escape.
fn copy_to_clipboard(code: &str) -> String {
    use base64::Engine;
    let plain = !code.is_empty()
        && code.len() <= 32
        && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !plain {
        return "The code was not copied: it is not letters, digits and dashes.".to_owned();
    }
    if !std::io::stderr().is_terminal() {
        return "The code was not copied: no terminal to hand it to.".to_owned();
    }
    let encoded = base64::engine::general_purpose::STANDARD.encode(code);
    let _ = output::put(&format!("\x1b]52;c;{encoded}\x07"));
    "The code is on the clipboard (if the terminal accepts OSC 52).".to_owned()
}

/// Lines printed around the QR code (the URL lines, the code, the wait and the countdown), so
/// that it is drawn only where it fits with them on one screen.
const LINES_AROUND_QR: usize = 7;

/// The terminal's columns and rows, from stderr.
fn terminal_size() -> Option<(usize, usize)> {
    let (columns, rows) = terminal_size::terminal_size_of(std::io::stderr())?;
    (columns.0 > 0 && rows.0 > 0).then(|| (usize::from(columns.0), usize::from(rows.0)))
}

/// The QR code of `target` drawn dark on light whatever the terminal's theme (a phone reads
/// nothing else), or in plain blocks under `NO_COLOR`; `None` when it does not fit the
/// terminal with `around` lines of text.
fn qr_picture(target: &str, around: usize) -> Option<String> {
    let (columns, rows) = terminal_size()?;
    let code = qrcode::QrCode::new(target.as_bytes()).ok()?;
    let picture = code
        .render::<qrcode::render::unicode::Dense1x2>()
        .quiet_zone(true)
        .build();
    let width = picture
        .lines()
        .next()
        .map_or(0, |line| line.chars().count());
    let height = picture.lines().count();
    if width > columns || height + around > rows {
        return None;
    }
    if std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty()) {
        return Some(picture);
    }
    // Black on white, line by line, so a dark theme does not invert the code.
    Some(
        picture
            .lines()
            .map(|line| format!("\x1b[38;5;16;48;5;231m{line}\x1b[0m"))
            .collect::<Vec<_>>()
            .join("\n"),
    )
}

impl LoginUi for TerminalUi {
    fn device_code(&self, authorization: &DeviceAuthorization) {
        // The provider's text, made printable: it cannot forge lines or move the cursor.
        let uri = printable(&authorization.verification_uri);
        let code = printable(&authorization.user_code);
        let complete = authorization
            .verification_uri_complete
            .as_deref()
            .map(printable);
        if let Ok(mut shown) = self.code.lock() {
            shown.clone_from(&code.to_string());
        }
        let mut err = std::io::stderr().lock();
        // The URLs on lines of their own, so that a narrow terminal never breaks one.
        let _ = writeln!(
            err,
            "To sign in, enter the code {code} at this page:\n  {uri}"
        );
        if let Some(complete) = &complete {
            let _ = writeln!(err, "or, with the code filled in:\n  {complete}");
        }
        // A QR code of the URL for a phone, on a terminal where it fits.
        if !self.no_qr && std::io::stderr().is_terminal() {
            let target = authorization
                .verification_uri_complete
                .as_deref()
                .unwrap_or(&authorization.verification_uri);
            match qr_picture(target, LINES_AROUND_QR + 1 + usize::from(self.copy_code)) {
                Some(picture) => {
                    let _ = writeln!(err, "{picture}");
                }
                None => {
                    let _ = writeln!(err, "(No QR code: the terminal is too small.)");
                }
            }
        }
        // The code on a line of its own, below the QR code, where it stays in view.
        let _ = writeln!(err, "Code: {code}");
        if let Some(page) = self.enter_page(authorization) {
            let _ = writeln!(err, "Press Enter to open the page in the browser.");
            if let Ok(mut offer) = self.enter_opens.lock() {
                *offer = Some(page);
            }
        }
        if self.copy_code {
            let _ = writeln!(err, "{}", copy_to_clipboard(&authorization.user_code));
        }
        let _ = writeln!(
            err,
            "Waiting for the sign-in (the code expires in {})...",
            human_duration(i64::try_from(authorization.expires_in).unwrap_or(i64::MAX))
        );
    }

    /// A live countdown with the code on a terminal; nothing in a pipe or a log. Enter, pressed
    /// meanwhile, opens the page.
    fn waiting(&self, remaining: Duration) {
        self.open_on_enter();
        if std::io::stderr().is_terminal() {
            let code = self
                .code
                .lock()
                .map(|code| code.clone())
                .unwrap_or_default();
            let mut err = std::io::stderr().lock();
            let _ = write!(
                err,
                "\r{} left, code {code}  ",
                human_duration(i64::try_from(remaining.as_secs()).unwrap_or(i64::MAX))
            );
            let _ = err.flush();
            self.counting
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }

    fn browser_url(&self, url: &url::Url) {
        let pasting = self.pasting.load(std::sync::atomic::Ordering::Relaxed);
        if pasting && std::env::var_os("SSH_CONNECTION").is_some() {
            say!(
                "Over SSH, open this URL on your computer, then paste the address it ends on:\n{url}"
            );
        } else if pasting {
            say!(
                "Sign in with your browser. If it does not open, open this URL:\n{url}\nBrowser on another machine? Paste the address it ends on here, then Enter."
            );
        } else {
            say!("Sign in with your browser. If it does not open, open this URL:\n{url}");
        }
    }

    fn notice(&self, message: &str) {
        self.clear_countdown();
        say!("{message}");
    }

    fn can_paste(&self) -> bool {
        std::io::stderr().is_terminal() && paste::terminal_readable()
    }

    /// Lines typed at the terminal (`/dev/tty`, so under kubectl too), read while stderr is a
    /// terminal someone watches; the terminal's modes are never changed.
    fn pasted_lines(&self) -> Option<tokio::sync::mpsc::UnboundedReceiver<Secret>> {
        if !std::io::stderr().is_terminal() {
            return None;
        }
        let lines = paste::read_lines()?;
        self.pasting
            .store(true, std::sync::atomic::Ordering::Relaxed);
        Some(lines)
    }
}

/// Reading what a person pastes at the terminal while a sign-in waits for its browser.
#[cfg(unix)]
mod paste {
    use std::io::Read;
    use std::os::fd::AsRawFd;

    use tokenctl_core::Secret;
    use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

    /// The longest line kept: one byte over the longest answer the flow takes, so that a longer
    /// line, cut here, is still refused there.
    const MAX_LINE: usize = 16 * 1024 + 1;

    fn open_terminal() -> Option<std::fs::File> {
        std::fs::OpenOptions::new().read(true).open("/dev/tty").ok()
    }

    /// Whether this process has a terminal to read from.
    pub(super) fn terminal_readable() -> bool {
        open_terminal().is_some()
    }

    /// The terminal's lines, read on a thread of their own until the receiver is dropped.
    pub(super) fn read_lines() -> Option<UnboundedReceiver<Secret>> {
        let tty = open_terminal()?;
        let (sender, receiver) = unbounded_channel();
        std::thread::Builder::new()
            .name("paste".into())
            .spawn(move || read(tty, &sender))
            .ok()?;
        Some(receiver)
    }

    /// Waits for input in short polls (a blocked read would outlive the sign-in and take a
    /// line meant for the next program), and sends each whole line.
    fn read(mut tty: std::fs::File, lines: &UnboundedSender<Secret>) {
        let mut line = Vec::new();
        let mut buffer = [0u8; 4096];
        while !lines.is_closed() {
            let mut poll = libc::pollfd {
                fd: tty.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd, owned here, for the duration of the call.
            let ready = unsafe { libc::poll(&raw mut poll, 1, 100) };
            if ready < 0
                && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted
            {
                return;
            }
            if ready <= 0 {
                continue;
            }
            // A job in the background (`tokenctl … &`) must not read: the terminal would stop
            // it (SIGTTIN). It reads once it is in the foreground again.
            // SAFETY: plain calls on a descriptor owned here.
            if unsafe { libc::tcgetpgrp(tty.as_raw_fd()) != libc::getpgrp() } {
                std::thread::sleep(std::time::Duration::from_millis(100));
                continue;
            }
            let n = match tty.read(&mut buffer) {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            for &byte in &buffer[..n] {
                // Enter alone is a line too: the device flow's "press Enter".
                if byte == b'\n' || byte == b'\r' {
                    let text = String::from_utf8_lossy(&line).into_owned();
                    line.clear();
                    if lines.send(Secret::new(text)).is_err() {
                        return;
                    }
                } else if line.len() < MAX_LINE {
                    line.push(byte);
                }
            }
        }
    }
}

/// No terminal to read from on this platform: the callback alone answers.
#[cfg(not(unix))]
mod paste {
    pub(super) fn terminal_readable() -> bool {
        false
    }

    pub(super) fn read_lines() -> Option<tokio::sync::mpsc::UnboundedReceiver<tokenctl_core::Secret>>
    {
        None
    }
}

/// The terminal's screens, and the device flow's page opened in the browser: for a sign-in
/// nobody watches a terminal for (kubectl in a GUI).
pub(crate) struct OpeningDevicePage<'a> {
    pub ui: &'a TerminalUi,
    pub opener: &'a SystemBrowser,
}

impl LoginUi for OpeningDevicePage<'_> {
    fn device_code(&self, authorization: &DeviceAuthorization) {
        self.ui.device_code(authorization);
        let page = authorization
            .verification_uri_complete
            .as_deref()
            .and_then(|page| url::Url::parse(page).ok())
            // Only a web page: never a file, a script or another program's scheme.
            .filter(|page| {
                tokenctl_core::internal::discovery::check_endpoint(
                    "verification_uri_complete",
                    page,
                )
                .is_ok()
            });
        match page {
            Some(page) => {
                if let Err(err) = self.opener.open(&page) {
                    tracing::warn!("could not open a browser ({err})");
                }
            }
            None => self.notice(
                "the provider gives no page with the code filled in: open the page above and enter the code",
            ),
        }
    }

    fn waiting(&self, remaining: std::time::Duration) {
        self.ui.waiting(remaining);
    }

    fn browser_url(&self, url: &url::Url) {
        self.ui.browser_url(url);
    }

    fn notice(&self, message: &str) {
        self.ui.notice(message);
    }
}

#[derive(Clone)]
pub(crate) struct SystemBrowser {
    /// False with --no-browser: the URL is printed and nothing is opened.
    pub open: bool,
    /// The provider's `browser` command, in words: run with the URL as one more argument.
    pub command: Option<Vec<String>>,
}

impl SystemBrowser {
    /// `browser: firefox -P work` split as a shell would split it, but never run by one.
    pub(crate) fn command(text: Option<String>) -> Result<Option<Vec<String>>> {
        text.map(|text| {
            shlex::split(&text)
                .filter(|words| !words.is_empty())
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "the provider's browser {text:?} is not a command: unbalanced quotes?"
                    )
                })
        })
        .transpose()
    }
}

impl BrowserOpener for SystemBrowser {
    fn available(&self) -> bool {
        !self.open
            || self.command.is_some()
            || can_open(
                std::env::var("BROWSER").ok().as_deref(),
                std::env::var_os("DISPLAY").is_some()
                    || std::env::var_os("WAYLAND_DISPLAY").is_some(),
            )
    }

    /// `BROWSER`'s first graphical browser (`:`-separated commands, `%s` for the URL, as
    /// Python's webbrowser reads it) on every platform, else the platform's opener. The URL is
    /// one argument of a process started in the background with no terminal, never text for a
    /// shell; the platform's opener takes only http and https.
    fn open(&self, url: &url::Url) -> std::io::Result<()> {
        if !self.open {
            return Ok(());
        }
        if let Some(words) = &self.command {
            // Only https, or http to this machine: the rule of every endpoint.
            if tokenctl_core::internal::discovery::check_endpoint("the sign-in page", url).is_err()
            {
                return Err(std::io::Error::other(
                    "only an https address, or http to this machine, is handed to the browser command",
                ));
            }
            let mut words = words.clone();
            words.push(url.to_string());
            return start(&words);
        }
        match std::env::var("BROWSER") {
            // Read here, not by the webbrowser crate, which runs a text browser in the
            // foreground on our terminal and ignores BROWSER on macOS and Windows.
            Ok(list) if !list.trim().is_empty() => spawn_browser(&list, url),
            _ => webbrowser::open_browser_with_options(
                webbrowser::Browser::Default,
                url.as_str(),
                webbrowser::BrowserOptions::new().with_suppress_output(true),
            ),
        }
    }
}

/// Starts the first command of `BROWSER` that names a graphical browser and starts.
fn spawn_browser(list: &str, url: &url::Url) -> std::io::Result<()> {
    let mut last_error = std::io::Error::other("BROWSER names no graphical browser");
    for command in list.split(':').filter(|command| graphical(command)) {
        let mut words: Vec<String> = command
            .split_whitespace()
            .map(|word| word.replace("%s", url.as_str()))
            .collect();
        if !command.contains("%s") {
            words.push(url.to_string());
        }
        match start(&words) {
            Ok(()) => return Ok(()),
            Err(err) => last_error = err,
        }
    }
    Err(last_error)
}

/// Starts a browser command, its words as arguments (never a shell's), in the background
/// with no terminal.
fn start(words: &[String]) -> std::io::Result<()> {
    let (program, args) = words
        .split_first()
        .ok_or_else(|| std::io::Error::other("an empty browser command"))?;
    std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map(drop)
}

/// Whether a `BROWSER` command names a browser that opens a window (not one of
/// [`TEXT_BROWSERS`]).
fn graphical(command: &str) -> bool {
    command
        .split_whitespace()
        .next()
        .and_then(|program| std::path::Path::new(program).file_name())
        .is_some_and(|name| !TEXT_BROWSERS.iter().any(|text| name == *text))
}

/// Browsers that run in the terminal, which the login is using itself (and kubectl reads the
/// stdout they would draw on): `BROWSER` naming only these counts as no browser.
const TEXT_BROWSERS: [&str; 10] = [
    "lynx", "links", "links2", "elinks", "w3m", "eww", "netrik", "retawq", "browsh", "curl",
];

/// Whether a browser window can open: `BROWSER` names a graphical browser, the platform has
/// one (macOS, Windows), or a display is there.
fn can_open(browser: Option<&str>, display: bool) -> bool {
    match browser.filter(|list| !list.trim().is_empty()) {
        Some(list) => list.split(':').any(graphical),
        None => cfg!(any(target_os = "macos", target_os = "windows")) || display,
    }
}

#[cfg(test)]
mod tests {
    use super::can_open;

    #[test]
    fn a_text_browser_or_no_display_counts_as_no_browser() {
        let desktop = cfg!(any(target_os = "macos", target_os = "windows"));
        assert_eq!(can_open(None, false), desktop);
        assert!(can_open(None, true));
        assert!(can_open(Some("firefox"), false));
        assert!(can_open(Some("/usr/bin/node /x/browser.js %s"), false));
        assert!(!can_open(Some("lynx"), true));
        assert!(!can_open(Some("/usr/bin/w3m %s:elinks"), true));
        assert!(can_open(Some("w3m:chromium --new-window %s"), false));
        assert_eq!(can_open(Some(" "), false), desktop);
        assert!(!super::graphical("w3m %s") && super::graphical("firefox --new-window"));
    }
}
