//! A YAML syntax error as a person can act on it: the position where the trouble starts, the
//! line quoted with a caret (secret values redacted), and the indentation to check where that
//! is the likely cause.

/// The position the message is led with, and what follows the message: the quoted line, a
/// caret under the column, and a hint.
pub(crate) struct Shown {
    pub line: usize,
    pub column: usize,
    pub message: String,
    pub excerpt: String,
}

/// `message` is the parser's (its own "at line L column C" removed); `at` is where the parser
/// stopped.
pub(crate) fn show(text: &str, message: &str, at: (usize, usize)) -> Shown {
    // "while scanning a quoted scalar at line 4 column 20": a token that began there and never
    // ended; the parser stops at the end of the file, but the trouble is where it began.
    let began = message
        .split_once("while scanning")
        .and_then(|(_, rest)| position_in(rest));
    let (line, column) = began.unwrap_or(at);
    let message = match began {
        Some(_) => super::strip_location(message),
        None => message.to_owned(),
    };
    let mut excerpt = String::new();
    if let Some(quoted) = text.lines().nth(line.saturating_sub(1)) {
        let (shown, column) = redacted(quoted, column);
        let width = line.to_string().len();
        excerpt.push_str(&format!(
            "\n {line:>width$} | {shown}\n {:>width$} | {}^",
            "",
            " ".repeat(column.saturating_sub(1))
        ));
    }
    if let Some(hint) = indentation_hint(text, line, &message) {
        excerpt.push_str(&format!("\n  {hint}"));
    }
    Shown {
        line,
        column,
        message,
        excerpt,
    }
}

/// "at line L column C" in `text`.
fn position_in(text: &str) -> Option<(usize, usize)> {
    let rest = text.split_once("at line ")?.1;
    let (line, rest) = rest.split_once(" column ")?;
    let column: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some((line.trim().parse().ok()?, column.parse().ok()?))
}

/// Whether a key's value is never quoted: a secret ([`super::view`]'s rule), inline data
/// (`certificate-authority-data`), or a client key.
fn is_secret_key(key: &str) -> bool {
    super::view::names_a_secret(key) || key.ends_with("-data") || key.starts_with("client-key")
}

/// The line as shown (printable; from the first secret key on, `<redacted>`), and the caret's
/// column in it. Every `key:` of the line counts, flow mappings (`{a: 1, client-secret: x}`)
/// included.
fn redacted(line: &str, column: usize) -> (String, usize) {
    let printable = |text: &str| crate::text::printable(text).into_owned();
    let secret_colon = line
        .char_indices()
        .filter(|(_, c)| *c == ':')
        .find(|(at, _)| {
            let before = &line[..*at];
            let key = before
                .rsplit(|c: char| !(c.is_alphanumeric() || c == '-' || c == '_'))
                .next()
                .unwrap_or_default();
            !key.is_empty() && is_secret_key(key)
        });
    let Some((colon, _)) = secret_colon else {
        return (printable(line), column);
    };
    let rest = &line[colon + 1..];
    let value_start = colon + 1 + (rest.len() - rest.trim_start().len());
    if line[value_start..].trim().is_empty() {
        return (printable(line), column);
    }
    let shown = format!("{}<redacted>", printable(&line[..value_start]));
    (shown, column.min(value_start + 1))
}

/// "check the indentation of line N" when the parser's complaint is one bad indentation
/// gives: a tab where YAML wants spaces, or a line indented unlike the one before it.
fn indentation_hint(text: &str, line: usize, message: &str) -> Option<String> {
    const STRUCTURE: [&str; 5] = [
        "did not find expected",
        "mapping values are not allowed",
        "cannot start any token",
        "block sequence entries are not allowed",
        "could not find expected ':'",
    ];
    if !STRUCTURE.iter().any(|m| message.contains(m)) {
        return None;
    }
    let lines: Vec<&str> = text.lines().collect();
    let this = lines.get(line.checked_sub(1)?)?;
    let indent = |l: &str| l.len() - l.trim_start_matches(' ').len();
    // The keys of a sequence entry (`  - name: a`) are indented past its dash.
    let content = |l: &str| l.len() - l.trim_start_matches([' ', '-']).len();
    if this.trim_start_matches(' ').starts_with('\t') {
        return Some(format!(
            "check the indentation of line {line}: it starts with a tab, and YAML indents with spaces only"
        ));
    }
    let before = lines[..line - 1]
        .iter()
        .rev()
        .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))?;
    let (mine, theirs) = (indent(this), content(before));
    (mine != theirs).then(|| {
        format!(
            "check the indentation of line {line}: it is indented {mine} spaces, the line before it {theirs}"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::show;

    #[test]
    fn the_line_is_quoted_with_a_caret_and_secrets_redacted() {
        let text = "providers:\n  - name: kc\n    kind: keycloak\n   client-secret: hunter2\n";
        let shown = show(text, "did not find expected '-' indicator", (4, 4));
        assert_eq!((shown.line, shown.column), (4, 4));
        assert_eq!(
            shown.excerpt,
            "\n 4 |    client-secret: <redacted>\n   |    ^\n  check the indentation of line 4: it is indented 3 spaces, the line before it 4"
        );
        assert!(!shown.excerpt.contains("hunter2"));
    }

    #[test]
    fn an_unclosed_quote_is_shown_where_it_begins() {
        let text = "contexts:\n  - name: \"a\n    provider: p\n";
        let shown = show(
            text,
            "found unexpected end of stream, while scanning a quoted scalar at line 2 column 11",
            (4, 1),
        );
        assert_eq!((shown.line, shown.column), (2, 11));
        assert_eq!(
            shown.message,
            "found unexpected end of stream, while scanning a quoted scalar"
        );
        assert!(
            shown
                .excerpt
                .starts_with("\n 2 |   - name: \"a\n   |           ^"),
            "{}",
            shown.excerpt
        );
    }

    #[test]
    fn a_secret_in_a_flow_mapping_is_redacted_too() {
        let text = "providers:\n  - {name: kc, client-secret: hunter2, realm: \"x}\n";
        let shown = show(text, "found unexpected end of stream", (2, 48));
        assert!(!shown.excerpt.contains("hunter2"), "{}", shown.excerpt);
        assert!(
            shown
                .excerpt
                .contains("  - {name: kc, client-secret: <redacted>"),
            "{}",
            shown.excerpt
        );
    }

    #[test]
    fn a_tab_is_named() {
        let text = "providers:\n\t- name: kc\n";
        let shown = show(text, "found character that cannot start any token", (2, 1));
        assert!(
            shown.excerpt.ends_with("check the indentation of line 2: it starts with a tab, and YAML indents with spaces only"),
            "{}",
            shown.excerpt
        );
    }
}
