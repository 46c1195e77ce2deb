//! The layering reads top-down: no two modules of a crate use each other, directly or through
//! others. Read from the sources (`crate::NAME` and `super::NAME` paths), so a new cycle fails
//! here with the modules that form it.

use crate::support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Each module of the crate at `src` (a top-level file or directory, or a child of one) and the
/// modules it names.
fn module_graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    collect(src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let relative = file.strip_prefix(src).unwrap().with_extension("");
        let mut parts: Vec<String> = relative
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        if parts.last().is_some_and(|p| p == "mod") {
            parts.pop();
        }
        if parts.first().is_some_and(|p| p == "lib" || p == "main") || parts.is_empty() {
            continue;
        }
        // `tests` files are unit tests of their parent: part of it.
        if parts.len() > 1 && parts.last().is_some_and(|p| p == "tests") {
            parts.pop();
        }
        let name = parts.join("::");
        let text = std::fs::read_to_string(file).unwrap();
        let edges = graph.entry(name.clone()).or_default();
        for (prefix, base) in [("crate::", Vec::new()), ("super::", parent_of(&parts))] {
            for (at, _) in text.match_indices(prefix) {
                for word in named(&text[at + prefix.len()..]) {
                    if word.chars().next().unwrap().is_uppercase() {
                        continue;
                    }
                    let mut target = base.clone();
                    target.push(word);
                    let target = target.join("::");
                    if target != name && !name.starts_with(&format!("{target}::")) {
                        edges.insert(target);
                    }
                }
            }
        }
    }
    // Keep only edges to modules that exist (items re-exported at the root are not modules).
    let names: BTreeSet<String> = graph.keys().cloned().collect();
    for edges in graph.values_mut() {
        edges.retain(|target| names.contains(target));
    }
    graph
}

/// The names a path after `crate::` starts with: one (`a::x`), or each of a group's
/// (`{a, b::{x, y}}`).
fn named(rest: &str) -> Vec<String> {
    let word = |text: &str| -> String {
        text.trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let Some(group) = rest.strip_prefix('{') else {
        return Some(word(rest))
            .filter(|w| !w.is_empty())
            .into_iter()
            .collect();
    };
    let mut names = Vec::new();
    let mut depth = 0;
    let mut item_start = 0;
    for (at, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                names.push(word(&group[item_start..at]));
                break;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                names.push(word(&group[item_start..at]));
                item_start = at + 1;
            }
            _ => {}
        }
    }
    names.retain(|name| !name.is_empty() && name != "self");
    names
}

fn parent_of(parts: &[String]) -> Vec<String> {
    parts[..parts.len().saturating_sub(1)].to_vec()
}

fn collect(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

/// A cycle, as the modules along it, if there is one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

#[test]
fn no_module_uses_another_that_uses_it_back() {
    let root = support::workspace_root();
    for krate in ["crates/core/src", "crates/cli/src"] {
        let graph = module_graph(&root.join(krate));
        assert!(graph.len() > 5, "{krate}: modules found: {graph:?}");
        if let Some(cycle) = find_cycle(&graph) {
            panic!("{krate}: an import cycle: {}", cycle.join(" → "));
        }
    }
}

#[test]
fn the_checker_sees_a_cycle() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.rs"), "use crate::b::X;").unwrap();
    std::fs::write(dir.path().join("b.rs"), "use crate::c;").unwrap();
    std::fs::write(dir.path().join("c.rs"), "fn f() { crate::a::g() }").unwrap();
    let cycle = find_cycle(&module_graph(dir.path())).expect("a cycle");
    assert_eq!(cycle, ["a", "b", "c", "a"]);

    // A group names each of its modules (the review found the checker blind to them).
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.rs"), "use crate::{x, b::{Y, z}};").unwrap();
    std::fs::write(dir.path().join("b.rs"), "use crate::{\n    a::f,\n};").unwrap();
    std::fs::write(dir.path().join("x.rs"), "").unwrap();
    let cycle = find_cycle(&module_graph(dir.path())).expect("a cycle through groups");
    assert_eq!(cycle, ["a", "b", "a"]);
}
