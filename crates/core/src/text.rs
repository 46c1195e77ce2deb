//! Text from outside (an identity provider's errors, device codes, claims) made safe to print
//! at a terminal: it cannot forge lines, move the cursor or recolour the screen.
#![doc(hidden)]

use std::borrow::Cow;

/// `text` with every control character (C0 with newline and tab, DEL, C1; ESC begins every
/// escape sequence) and every bidirectional override, which reorders what a line shows,
/// replaced by U+FFFD. JSON and YAML output need none of this: their encoders escape.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unprintable) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| if is_unprintable(c) { '\u{fffd}' } else { c })
            .collect(),
    )
}

/// At most `limit` characters of `text`, printable, on one line, for messages.
pub fn one_line(text: &str, limit: usize) -> String {
    let flat = printable(text);
    match flat.char_indices().nth(limit) {
        Some((at, _)) => format!("{}…", &flat[..at]),
        None => flat.into_owned(),
    }
}

fn is_unprintable(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_line_breaks_and_overrides_are_replaced() {
        assert_eq!(printable("alice@example.com"), "alice@example.com");
        assert_eq!(
            printable("bad\x1b[2J\x1b]0;pwned\x07\r\nerror: fake\u{9b}31m\u{202e}txt.exe"),
            "bad\u{fffd}[2J\u{fffd}]0;pwned\u{fffd}\u{fffd}\u{fffd}error: fake\u{fffd}31m\u{fffd}txt.exe"
        );
        assert_eq!(one_line("abcdef", 3), "abc…");
        assert_eq!(one_line("é\ntoo", 10), "é\u{fffd}too");
    }
}
