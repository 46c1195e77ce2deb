//! A smoke run of every fuzz target (fuzz/harness.rs) in the test suite: the seed inputs of
//! fuzz/corpus, then a few thousand mutations of them, each within a time budget. The long runs
//! use cargo-fuzz (docs/hardening.md); this keeps the targets building and catches the easy
//! finds on every change.

// Public for the fuzz crate (fuzz/lib.rs), which the targets link.
#[allow(unreachable_pub)]
#[path = "../fuzz/harness.rs"]
mod harness;

use std::time::{Duration, Instant};

const MUTATIONS: usize = 20_000;
const BUDGET: Duration = Duration::from_secs(5);

fn seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
        .map(|entry| std::fs::read(entry.unwrap().path()).unwrap())
        .collect();
    assert!(!seeds.is_empty(), "no seeds in {}", dir.display());
    seeds.sort();
    seeds
}

/// Bit flips, byte changes, inserts, deletions, truncations and splices, as a fuzzer's first
/// mutations would be; xorshift with a fixed seed, so a failure repeats.
fn mutate(input: &[u8], other: &[u8], state: &mut u64) -> Vec<u8> {
    let mut next = || {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    };
    let mut data = input.to_vec();
    for _ in 0..1 + next() % 4 {
        let at = if data.is_empty() {
            0
        } else {
            (next() as usize) % data.len()
        };
        match next() % 6 {
            0 if !data.is_empty() => data[at] ^= 1 << (next() % 8),
            1 if !data.is_empty() => {
                data[at] = b"{}[]:,\"'\n -#&*!|>0xyz\\\x00\xff"[(next() % 24) as usize]
            }
            2 => data.insert(at, next() as u8),
            3 if !data.is_empty() => {
                data.remove(at);
            }
            4 => data.truncate(at),
            _ => {
                let from = (next() as usize) % other.len().max(1);
                data.splice(
                    at..at,
                    other[from.min(other.len())..].iter().copied().take(64),
                );
            }
        }
    }
    data
}

#[test]
fn every_fuzz_target_survives_its_seeds_and_mutations_of_them() {
    for (name, target) in harness::TARGETS {
        let seeds = seeds(name);
        let started = Instant::now();
        for seed in &seeds {
            target(seed);
        }
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut runs = seeds.len();
        for round in 0..MUTATIONS {
            if started.elapsed() > BUDGET {
                break;
            }
            let input = &seeds[round % seeds.len()];
            let other = &seeds[(round / seeds.len()) % seeds.len()];
            target(&mutate(input, other, &mut state));
            runs += 1;
        }
        eprintln!("{name}: {runs} inputs in {:?}", started.elapsed());
        assert!(runs > seeds.len(), "{name}: no mutation ran");
    }
}
