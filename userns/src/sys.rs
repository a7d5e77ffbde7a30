//! The crate's system calls and /proc reads; every `unsafe` block of the crate lives here.

use crate::idmap::{parse_map, IdMap};
use crate::{Error, Result};
use nix::sys::signal::{self, SigHandler, Signal};
use nix::unistd::ForkResult;

/// The uid and gid maps of this process's user namespace.
pub(crate) fn read_self_map() -> Result<IdMap> {
    read_map_of("self")
}

/// The uid and gid maps of process `pid` ("self" or a number).
pub(crate) fn read_map_of(pid: &str) -> Result<IdMap> {
    let read = |what: &str| -> Result<Vec<crate::IdMapEntry>> {
        let p = format!("/proc/{pid}/{what}");
        let text = std::fs::read_to_string(&p).map_err(|e| Error::io(format!("reading {p}"), e))?;
        parse_map(&text).ok_or_else(|| Error::Other(format!("{p}: unexpected content {text:?}")))
    };
    Ok(IdMap { uids: read("uid_map")?, gids: read("gid_map")? })
}

/// The `user:[INODE]` link naming this process's user namespace.
pub(crate) fn self_userns_link() -> Option<std::ffi::OsString> {
    std::fs::read_link("/proc/self/ns/user").ok().map(|p| p.into_os_string())
}

/// Number of threads of this process (from /proc/self/status), if readable.
pub(crate) fn thread_count() -> Option<usize> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines().find_map(|l| l.strip_prefix("Threads:")).and_then(|v| v.trim().parse().ok())
}

/// Start time of `pid` (field 22 of /proc/PID/stat, clock ticks since boot) and whether it is a zombie.
pub(crate) fn proc_start_time(pid: i32) -> Option<(u64, bool)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state); field 22 is index 19.
    let zombie = matches!(fields.first(), Some(&"Z") | Some(&"X"));
    Some((fields.get(19)?.parse().ok()?, zombie))
}

/// Fork. The caller must be single-threaded (checked by the caller with [`thread_count`]), so the child
/// may run ordinary Rust code (allocation, std) until it execs or `_exit`s.
pub(crate) fn fork() -> Result<ForkResult> {
    // SAFETY: the only caller (enter::create) runs while the process is single-threaded (first thing in
    // main, verified via /proc/self/status), so no lock can be held by another thread in the child.
    unsafe { nix::unistd::fork() }.map_err(|e| Error::io("fork", e.into()))
}

/// End a forked child without running the parent's destructors or atexit handlers.
pub(crate) fn exit_child(code: i32) -> ! {
    // SAFETY: _exit is always safe to call; it never returns.
    unsafe { libc::_exit(code) }
}

/// Close every file descriptor from 3 up.
pub(crate) fn close_fds_from_3() {
    // SAFETY: close_range only closes descriptors; no Rust object of this process owns fds >= 3 at the
    // point the pause process calls it (right at its start).
    let r = unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32) };
    if r != 0 {
        // Old kernel: close what /proc/self/fd lists (collected first: the listing holds its own fd).
        let fds: Vec<i32> = std::fs::read_dir("/proc/self/fd")
            .map(|d| d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect())
            .unwrap_or_default();
        for fd in fds.into_iter().filter(|fd| *fd >= 3) {
            // SAFETY: as above; closing an fd that is already closed only returns EBADF.
            unsafe { libc::close(fd) };
        }
    }
}

/// Ignore every catchable signal except SIGTERM (and SIGCHLD, left at its default).
pub(crate) fn ignore_signals_but_term() {
    for sig in Signal::iterator() {
        if matches!(sig, Signal::SIGTERM | Signal::SIGKILL | Signal::SIGSTOP | Signal::SIGCHLD) {
            continue;
        }
        // SAFETY: SIG_IGN installs no handler code, so no async-signal-safety concern.
        let _ = unsafe { signal::signal(sig, SigHandler::SigIgn) };
    }
}

/// Sleep until a signal arrives.
pub(crate) fn pause() {
    // SAFETY: pause(2) has no arguments and no memory effects.
    unsafe { libc::pause() };
}
