//! A bound on alias expansion in the YAML files people edit (the contexts file, a kubeconfig),
//! checked on the parser's events before serde expands anything: a few KB of nested aliases
//! ("billion laughs") would otherwise grow into gigabytes of memory and parse cache.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, Parser};

/// How many times its own nodes a document may grow through aliases.
const MAX_GROWTH: u64 = 10;

/// Below this many nodes after expansion, any use of aliases is fine (small files with a few
/// shared blocks).
const FLOOR: u64 = 10_000;

/// Refuses a document whose aliases expand it beyond [`MAX_GROWTH`] times its own nodes: the
/// error gives the line of the alias that crossed the bound. A document the event parser cannot
/// read passes; serde reports it with its own words.
pub fn check(text: &str) -> Result<(), (usize, String)> {
    // No alias, no expansion: the common case costs one scan.
    if !text.contains('*') {
        return Ok(());
    }
    let Some(own) = count_nodes(text) else {
        return Ok(());
    };
    let bound = own.saturating_mul(MAX_GROWTH).max(FLOOR);
    let mut sizes: HashMap<usize, u64> = HashMap::new();
    // Each open collection: its anchor (0: none) and its expanded size so far.
    let mut open: Vec<(usize, u64)> = Vec::new();
    let mut expanded: u64 = 0;
    let mut parser = Parser::new_from_str(text);
    loop {
        let Ok((event, mark)) = parser.next_token() else {
            return Ok(());
        };
        let grown = match event {
            Event::StreamEnd => return Ok(()),
            Event::Scalar(_, _, anchor, _) => {
                if anchor != 0 {
                    sizes.insert(anchor, 1);
                }
                1
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                open.push((anchor, 1));
                expanded = expanded.saturating_add(1);
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
            Event::Alias(anchor) => {
                let size = sizes.get(&anchor).copied().unwrap_or(0);
                if expanded.saturating_add(size) > bound {
                    return Err((
                        mark.line(),
                        format!(
                            "aliases expand the document beyond {bound} nodes ({MAX_GROWTH} times its own {own}); refusing to read it"
                        ),
                    ));
                }
                size
            }
            _ => continue,
        };
        expanded = expanded.saturating_add(grown);
        if let Some((_, parent)) = open.last_mut() {
            *parent = parent.saturating_add(grown);
        }
    }
}

/// The document's own nodes (scalars, collections, aliases), `None` when it does not parse.
fn count_nodes(text: &str) -> Option<u64> {
    let mut parser = Parser::new_from_str(text);
    let mut nodes: u64 = 0;
    loop {
        match parser.next_token().ok()?.0 {
            Event::StreamEnd => return Some(nodes),
            Event::Scalar(..)
            | Event::SequenceStart(..)
            | Event::MappingStart(..)
            | Event::Alias(_) => nodes = nodes.saturating_add(1),
            _ => {}
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
        assert_eq!(line, 5, "{message}");
        assert!(
            message.contains("aliases expand the document beyond 10000 nodes"),
            "{message}"
        );
    }

    #[test]
    fn shared_blocks_and_files_without_aliases_pass() {
        assert!(check(&laughs(2)).is_ok(), "a hundred nodes");
        let shared = "base: &base {kind: keycloak, realm: r}\nproviders:\n  - {<<: *base, name: a}\n  - {<<: *base, name: b}\n";
        assert!(check(shared).is_ok());
        assert!(check("contexts: [{name: '*'}]\n").is_ok());
        assert!(check("not: [closed\n").is_ok(), "serde reports it");
    }
}
