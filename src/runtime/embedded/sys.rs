//! The few system calls nix does not wrap, each in a small commented `unsafe` block, plus the error type
//! the container process reports to its parent.

use nix::errno::Errno;
use std::ffi::CString;
use std::fmt;
use std::os::fd::RawFd;
use std::path::Path;

/// A failure while setting up or starting the container: the exit code Podman uses for it
/// (125 runtime error, 126 cannot invoke, 127 not found) and a message naming the syscall and path.
#[derive(Debug)]
pub struct Fail {
    pub code: i32,
    pub msg: String,
}

impl Fail {
    pub fn new(code: i32, msg: impl Into<String>) -> Self {
        Fail { code, msg: msg.into() }
    }
    pub fn runtime(msg: impl Into<String>) -> Self {
        Fail::new(crate::error::EXIT_ENGINE, msg)
    }
}

impl fmt::Display for Fail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

pub type Result<T> = std::result::Result<T, Fail>;

/// `op: strerror(errno)`, like crun's messages.
pub fn errno_fail(op: impl fmt::Display, e: Errno) -> Fail {
    Fail::runtime(format!("{op}: {}", e.desc()))
}

/// `.map_err(on("mount proc on /proc"))`.
pub fn on<D: fmt::Display>(op: D) -> impl FnOnce(Errno) -> Fail {
    move |e| errno_fail(op, e)
}

pub fn io_on<D: fmt::Display>(op: D) -> impl FnOnce(std::io::Error) -> Fail {
    move |e| {
        let errno = e.raw_os_error().map(Errno::from_raw);
        match errno {
            Some(n) => errno_fail(op, n),
            None => Fail::runtime(format!("{op}: {e}")),
        }
    }
}

pub fn cstr(p: &Path) -> Result<CString> {
    use std::os::unix::ffi::OsStrExt;
    CString::new(p.as_os_str().as_bytes())
        .map_err(|_| Fail::runtime(format!("path {} contains a NUL byte", p.display())))
}

/// pivot_root(2), which nix wraps but with an API that hides which path failed; kept here for the
/// `pivot_root(".", ".")` idiom.
pub fn pivot_root_dot() -> std::result::Result<(), Errno> {
    let dot = c".";
    // SAFETY: two valid NUL-terminated strings; the syscall does not retain them.
    let r = unsafe { libc::syscall(libc::SYS_pivot_root, dot.as_ptr(), dot.as_ptr()) };
    Errno::result(r).map(drop)
}

const MOUNT_ATTR_RDONLY: u64 = 0x1;
const MOUNT_ATTR_NOSUID: u64 = 0x2;
const MOUNT_ATTR_NODEV: u64 = 0x4;
const MOUNT_ATTR_NOEXEC: u64 = 0x8;

#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// Set ro/nosuid/nodev/noexec on the mount at `path` and, with `recursive`, every mount below it
/// (mount_setattr(2), Linux ≥ 5.12). Unlike a bind remount it needs no knowledge of the flags the
/// kernel has locked on the mount.
pub fn mount_setattr(path: &Path, flags: nix::mount::MsFlags, recursive: bool) -> std::result::Result<(), Errno> {
    use nix::mount::MsFlags;
    let mut set = 0;
    if flags.contains(MsFlags::MS_RDONLY) {
        set |= MOUNT_ATTR_RDONLY;
    }
    if flags.contains(MsFlags::MS_NOSUID) {
        set |= MOUNT_ATTR_NOSUID;
    }
    if flags.contains(MsFlags::MS_NODEV) {
        set |= MOUNT_ATTR_NODEV;
    }
    if flags.contains(MsFlags::MS_NOEXEC) {
        set |= MOUNT_ATTR_NOEXEC;
    }
    let attr = MountAttr { attr_set: set, attr_clr: 0, propagation: 0, userns_fd: 0 };
    let c = cstr(path).map_err(|_| Errno::EINVAL)?;
    let at_recursive: libc::c_uint = 0x8000;
    let fl = libc::AT_NO_AUTOMOUNT as libc::c_uint | if recursive { at_recursive } else { 0 };
    // SAFETY: `c` and `attr` live across the call; the size passed is the struct's.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            libc::AT_FDCWD,
            c.as_ptr(),
            fl,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    Errno::result(r).map(drop)
}

/// Make `fd` the controlling terminal of the calling process (which must be a session leader).
pub fn set_controlling_tty(fd: RawFd) -> std::result::Result<(), Errno> {
    // SAFETY: TIOCSCTTY takes an int argument, no pointer.
    let r = unsafe { libc::ioctl(fd, libc::TIOCSCTTY, 0) };
    Errno::result(r).map(drop)
}

pub fn get_winsize(fd: RawFd) -> Option<libc::winsize> {
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ writes a winsize into the pointed-to struct, which outlives the call.
    let r = unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) };
    (r == 0).then_some(ws)
}

pub fn set_winsize(fd: RawFd, ws: &libc::winsize) {
    // SAFETY: TIOCSWINSZ reads a winsize from the pointed-to struct, which outlives the call.
    unsafe { libc::ioctl(fd, libc::TIOCSWINSZ, ws as *const libc::winsize) };
}

/// Load a classic BPF seccomp filter for the calling thread.
pub fn seccomp_load(prog: &[libc::sock_filter]) -> std::result::Result<(), Errno> {
    let fprog = libc::sock_fprog { len: prog.len() as u16, filter: prog.as_ptr() as *mut libc::sock_filter };
    // SAFETY: `fprog` points into `prog`, which outlives the call; the kernel copies the program.
    let r = unsafe {
        libc::syscall(libc::SYS_seccomp, libc::SECCOMP_SET_MODE_FILTER, 0, &fprog as *const libc::sock_fprog)
    };
    Errno::result(r).map(drop)
}

pub fn prctl(option: libc::c_int, arg: libc::c_ulong) -> std::result::Result<(), Errno> {
    // SAFETY: the options used here (PR_SET_NO_NEW_PRIVS, PR_SET_KEEPCAPS, PR_SET_PDEATHSIG,
    // PR_CAPBSET_DROP, PR_SET_CHILD_SUBREAPER) take integer arguments only.
    let r = unsafe { libc::prctl(option, arg, 0, 0, 0) };
    Errno::result(r).map(drop)
}

/// Reset every signal to its default disposition (the engine ignores SIGPIPE; a container must not
/// inherit that).
pub fn reset_signal_dispositions() {
    for sig in 1..=64 {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        // SAFETY: SIG_DFL is always a valid disposition; failures (invalid numbers) are ignored.
        unsafe { libc::signal(sig, libc::SIG_DFL) };
    }
}

/// Mark every descriptor from 3 up close-on-exec, so nothing the runtime inherited leaks into the
/// container (the channel to the parent stays usable until exec, as crun does).
pub fn cloexec_from_3() {
    const CLOSE_RANGE_CLOEXEC: libc::c_uint = 4;
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only sets flags on descriptors; no memory involved.
    let r = unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, CLOSE_RANGE_CLOEXEC) };
    if r == 0 {
        return;
    }
    // Before Linux 5.11: walk /proc/self/fd.
    let fds: Vec<RawFd> = std::fs::read_dir("/proc/self/fd")
        .map(|rd| rd.flatten().filter_map(|e| e.file_name().to_str()?.parse().ok()).filter(|fd| *fd > 2).collect())
        .unwrap_or_default();
    for fd in fds {
        // SAFETY: F_SETFD on a descriptor number; an already-closed one just fails with EBADF.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
}

/// `_exit` without running destructors or atexit handlers (the forked child must not flush the
/// parent's buffers twice).
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and is async-signal-safe.
    unsafe { libc::_exit(code) }
}
