//! The `warren` binary: decide the mode, enter the engine's user namespace while the process is still
//! single-threaded, then hand over to the CLI.

fn main() {
    // Like any Unix tool, die quietly on a closed pipe (`warren images | head`) instead of panicking.
    // SAFETY: restoring the default disposition of SIGPIPE before anything else runs.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    std::process::exit(warren::cli::main());
}
