//! The name of the program that runs, as a person types it: hints say `mycli --context dev auth
//! login` in a team's own CLI, `kubectl tokenctl …` when tokenctl runs as a kubectl plugin, and
//! `tokenctl …` otherwise.

use std::sync::OnceLock;

static NAME: OnceLock<String> = OnceLock::new();

/// The name tokenctl itself is typed by, and the fallback when nothing else is known.
pub const DEFAULT_NAME: &str = "tokenctl";

/// Sets the program name every hint uses, once, at the start (a host CLI's `main`, or
/// tokenctl's when it runs as a kubectl plugin). Returns false, and changes nothing, when a
/// name is already set.
pub fn set_name(name: impl Into<String>) -> bool {
    NAME.set(name.into()).is_ok()
}

/// The program name hints use: the one set with [`set_name`], else [`DEFAULT_NAME`] (a
/// program using [`crate::Session`] sends its users to `tokenctl` to sign in).
pub fn name() -> &'static str {
    NAME.get().map_or(DEFAULT_NAME, String::as_str)
}

/// The command that runs `words` for `context`, to paste: `--context` names it, so the hint
/// never acts on another context (empty: no context applies).
pub fn run_in(context: &str, words: &str) -> String {
    let program = name();
    if context.is_empty() {
        return format!("{program} {words}");
    }
    let plain = context
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | ':' | '@'));
    if plain {
        format!("{program} --context {context} {words}")
    } else {
        format!(
            "{program} --context '{}' {words}",
            context.replace('\'', "'\\''")
        )
    }
}

/// `program words`: a command to paste that names no context.
pub fn run(words: &str) -> String {
    format!("{} {words}", name())
}
