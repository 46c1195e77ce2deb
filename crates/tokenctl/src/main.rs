//! The `tokenctl` binary. `auth token` runs hundreds of times a day and is mostly process
//! start-up, so the entry point is C's `main` itself: Rust's runtime set-up before `fn main`
//! (a stack-guard probe that parses /proc/self/maps, an alternate signal stack: about 20 system
//! calls and a sixth of a hot-path call's instructions) is skipped. The two parts of it that
//! matter are done here: SIGPIPE ignored and the standard descriptors open (and SIGXFSZ
//! ignored).
// A test build keeps the harness's own `main`.
#![cfg_attr(not(test), no_main)]

#[cfg(not(test))]
#[unsafe(no_mangle)]
extern "C" fn main(
    _argc: std::ffi::c_int,
    _argv: *const *const std::ffi::c_char,
) -> std::ffi::c_int {
    #[cfg(unix)]
    unix_runtime();
    // Completion requests (COMPLETE=bash tokenctl -- …) are answered here and exit; this comes
    // before anything else so TAB stays fast and side-effect free.
    clap_complete::CompleteEnv::with_factory(tokenctl_cli::completion_command).complete();
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // Installed as a link named docker-credential-tokenctl: Docker's helper protocol.
    if args.first().is_some_and(|arg0| {
        std::path::Path::new(arg0).file_name()
            == Some(std::ffi::OsStr::new(
                tokenctl_cli::docker_credential::DOCKER_HELPER,
            ))
    }) {
        std::process::exit(i32::from(
            tokenctl_cli::docker_credential::docker_credential(&args),
        ));
    }
    let status = match tokenctl_cli::fast_path::try_serve(&args) {
        Some(status) => status,
        None => tokenctl_cli::run(tokenctl_cli::parse(args)),
    };
    // `exit` flushes stdout; a return from this `main` would not.
    std::process::exit(i32::from(status))
}

/// What std does before `fn main` on Unix: a write to a closed pipe is an error rather than a
/// silent death, and a descriptor 0–2 closed by the caller is /dev/null, so that no file we
/// open (a login, a lock) becomes stdout or stderr.
#[cfg(all(unix, not(test)))]
fn unix_runtime() {
    // SAFETY: system calls on the process's own signal disposition and descriptors, made
    // before any other thread exists; the path is a NUL-terminated literal.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
        // A file-size limit (ulimit -f) fails the write with EFBIG, said as an error, rather
        // than killing the process halfway through saving a login.
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
        for fd in 0..3 {
            if libc::fcntl(fd, libc::F_GETFD) == -1
                && libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) != fd
            {
                libc::abort();
            }
        }
    }
}
