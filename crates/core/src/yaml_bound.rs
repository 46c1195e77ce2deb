//! A bound on alias expansion in the YAML files people edit (the contexts file, a kubeconfig,
//! `.tokenctl`), checked on the parser's events before serde expands anything: a few KB of
//! nested aliases ("billion laughs") would otherwise grow into gigabytes of memory and parse
//! cache.
#![doc(hidden)]

use std::collections::HashMap;

use yaml_rust2::parser::{Event, Parser};

/// How many times its own size a file may grow through aliases.
const MAX_GROWTH: u64 = 10;

/// Up to this many bytes after expansion, any use of aliases is fine (small files with a few
/// shared blocks).
const FLOOR: u64 = 1 << 20;

/// What a collection adds to the expanded document besides its items (brackets, a separator).
const COLLECTION_BYTES: u64 = 2;
/// What a scalar adds besides its text (quotes or a separator).
const SCALAR_BYTES: u64 = 2;

/// The most bytes a file of `len` bytes may expand to: max(1 MiB, 10 times its size).
pub fn bound(len: usize) -> u64 {
    (len as u64).saturating_mul(MAX_GROWTH).max(FLOOR)
}

/// Refuses a file whose aliases expand it past [`bound`] bytes (its scalars' text and a few
/// bytes of structure per node, as the parsed document and its cache hold them): the error
/// gives the line of the alias that crossed it. A file with aliases that this checker cannot
/// read is refused too, at the line it stops at: another parser might read and expand it, so
/// the check never fails open.
pub fn check(text: &str) -> Result<(), (usize, String)> {
    // No alias, no expansion: the common case costs one scan.
    if !text.contains('*') {
        return Ok(());
    }
    let bound = bound(text.len());
    // Each anchor's expanded size.
    let mut sizes: HashMap<usize, u64> = HashMap::new();
    // Each open collection: its anchor (0: none) and its expanded size so far.
    let mut open: Vec<(usize, u64)> = Vec::new();
    let mut expanded: u64 = 0;
    let mut parser = Parser::new_from_str(text);
    loop {
        let (event, mark) = parser.next_token().map_err(|err| {
            (
                err.marker().line(),
                format!(
                    "this file uses aliases, and the check that bounds them cannot read it here ({err}); write it without aliases, or in plainer YAML (no tab after a colon, say)"
                ),
            )
        })?;
        let grown = match event {
            Event::StreamEnd => return Ok(()),
            Event::Scalar(value, _, anchor, _) => {
                let size = (value.len() as u64).saturating_add(SCALAR_BYTES);
                if anchor != 0 {
                    sizes.insert(anchor, size);
                }
                size
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                open.push((anchor, COLLECTION_BYTES));
                expanded = expanded.saturating_add(COLLECTION_BYTES);
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some((anchor, size)) = open.pop() else {
                    continue;
                };
                if anchor != 0 {
                    sizes.insert(anchor, size);
                }
                if let Some((_, parent)) = open.last_mut() {
                    *parent = parent.saturating_add(size);
                }
                continue;
            }
            Event::Alias(anchor) => sizes.get(&anchor).copied().unwrap_or(0),
            _ => continue,
        };
        expanded = expanded.saturating_add(grown);
        if expanded > bound {
            return Err((
                mark.line(),
                format!(
                    "aliases expand this file past {bound} bytes (at most {MAX_GROWTH} times its own {} bytes, or 1 MiB); refusing to read it",
                    text.len()
                ),
            ));
        }
        if let Some((_, parent)) = open.last_mut() {
            *parent = parent.saturating_add(grown);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::check;

    /// Nine levels of ten aliases each: 20 lines that would expand to a billion nodes.
    fn laughs(levels: usize) -> String {
        let mut text = String::from("a0: &a0 [lol]\n");
        for level in 1..=levels {
            let previous = format!("*a{}", level - 1);
            let row = [previous.as_str(); 10].join(", ");
            text.push_str(&format!("a{level}: &a{level} [{row}]\n"));
        }
        text
    }

    #[test]
    fn nested_aliases_are_refused_at_the_line_that_crosses_the_bound() {
        let (line, message) = check(&laughs(9)).unwrap_err();
        assert_eq!(line, 7, "{message}");
        assert!(
            message.contains("aliases expand this file past 1048576 bytes"),
            "{message}"
        );
    }

    /// Few nodes, many bytes (the security review's M6): long scalars repeated by aliases.
    #[test]
    fn the_bound_counts_bytes_not_nodes() {
        let long = "x".repeat(20_000);
        let row = vec!["*a"; 100].join(", ");
        let text = format!("a: &a {long}\nb: [{row}]\n");
        let (line, message) = check(&text).unwrap_err();
        assert_eq!(line, 2, "{message}");
        assert!(message.contains("past 1048576 bytes"), "{message}");
    }

    /// A file with aliases that this parser cannot read is refused, never passed to another
    /// parser that reads and expands it (the security review's M7: a tab after a colon).
    #[test]
    fn a_file_with_aliases_the_check_cannot_read_is_refused() {
        let text = format!("{}zz:\t1\n", laughs(9));
        let (line, message) = check(&text).unwrap_err();
        assert!(
            message.contains("cannot read it here") || message.contains("past"),
            "{line}: {message}"
        );
        assert!(check("a: &a [x]\nb: *a\nzz:\t1\n").is_err());
    }

    #[test]
    fn shared_blocks_and_files_without_aliases_pass() {
        assert!(check(&laughs(2)).is_ok(), "a hundred nodes");
        let shared = "base: &base {kind: keycloak, realm: r}\nproviders:\n  - {<<: *base, name: a}\n  - {<<: *base, name: b}\n";
        assert!(check(shared).is_ok());
        assert!(check("contexts: [{name: '*'}]\n").is_ok());
        assert!(
            check("not: [closed\n").is_ok(),
            "no alias: serde reports it"
        );
    }
}
