//! On Linux `tokenctl` is linked as a position-dependent executable, as Go links kubectl and
//! kubelogin: a position-independent one has ~9000 pointers relocated at every start, 36 page
//! copies and a fifth of the instructions of an `auth token` that answers from the store.
//! Shared libraries, stack and heap stay randomised. Packagers whose policy wants PIE build with
//! TOKENCTL_PIE=1 (`tokenctl version` says which it is).
#![allow(
    clippy::print_stdout,
    reason = "a build script talks to cargo on stdout"
)]

fn main() {
    println!("cargo::rerun-if-env-changed=TOKENCTL_PIE");
    let linux = std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux");
    if linux && std::env::var_os("TOKENCTL_PIE").is_none() {
        println!("cargo::rustc-link-arg-bin=tokenctl=-no-pie");
    }
}
