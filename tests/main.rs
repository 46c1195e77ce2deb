//! The end-to-end tests, in one binary as ripgrep's and cargo's are: a module per file of this
//! directory, and a check that no file is left out (a test file nobody declares would never
//! run).

#![allow(
    clippy::disallowed_methods,
    clippy::too_many_lines,
    reason = "tests read the files tokenctl wrote to check them; a scenario reads best whole"
)]

mod support;

mod browser;
mod completion;
mod contexts;
mod crash;
mod custom_provider;
mod directories;
mod faults;
mod files;
mod fuzz_smoke;
mod generated;
mod helpers;
mod identity;
mod keyring;
mod kubectl;
mod layers;
mod library;
mod login;
mod logout;
mod proxy;
mod readme;
mod refresh;
mod secrets;
mod workload;

/// Every `.rs` file beside this one is a module of it.
#[test]
fn every_test_file_is_declared_here() {
    let dir = support::workspace_root().join("tests");
    let main = std::fs::read_to_string(dir.join("main.rs")).unwrap();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let Some(name) = path.file_stem().and_then(|n| n.to_str()) else {
            continue;
        };
        if path.extension().is_some_and(|e| e == "rs") && name != "main" {
            assert!(
                main.contains(&format!("\nmod {name};\n")),
                "tests/{name}.rs is not declared in tests/main.rs, so it never runs"
            );
        }
    }
}
