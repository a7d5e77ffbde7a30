//! The pause process: keeps the engine's user and mount namespaces alive between commands.
//!
//! It is started inside the fresh namespaces (see [`crate::enter`]) as `warren __pause`, in its own
//! session, with stdio on /dev/null and `/` as its working directory, so it holds nothing of the user's
//! open. It sleeps until SIGTERM or SIGKILL.
use crate::Result;

/// The name `ps` shows for the pause process.
pub const PROCESS_NAME: &str = "warren-pause";
/// The hidden subcommand that runs [`run`].
pub const SUBCOMMAND: &str = "__pause";

/// Body of `warren __pause`.
pub fn run() -> Result<()> {
    // Whatever the spawner let through (it should be nothing) must not be kept open for ever.
    crate::sys::close_fds_from_3();
    let _ = std::env::set_current_dir("/");
    let _ = nix::sys::prctl::set_name(&std::ffi::CString::new(PROCESS_NAME).expect("no NUL in name"));
    crate::sys::ignore_signals_but_term();
    loop {
        crate::sys::pause();
    }
}
