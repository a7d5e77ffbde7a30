//! `warren-init`: the init `warren run --init` puts at /run/warren-init in the container as its PID 1
//! (Podman uses catatonit at /run/podman-init). build.rs compiles this file on its own, statically
//! linked (it runs in any image, with or without a libc), and the warren binary embeds it.
//!
//! `warren-init -- CMD ARG...`: fork the command as PID 2 (in its own process group, owning the
//! terminal if stdin is one), forward every signal to it, reap every child, and exit with the
//! command's status (128+N when signal N killed it). `warren-init -P` pauses instead (a pod's infra).
//! Only std and libc's C functions: no crates.

use std::ffi::CString;
use std::os::raw::{c_char, c_int};

#[repr(C)]
struct SigSet([u64; 16]);

extern "C" {
    fn sigfillset(set: *mut SigSet) -> c_int;
    fn sigdelset(set: *mut SigSet, sig: c_int) -> c_int;
    fn sigprocmask(how: c_int, set: *const SigSet, old: *mut SigSet) -> c_int;
    fn sigwaitinfo(set: *const SigSet, info: *mut [u8; 128]) -> c_int;
    fn fork() -> c_int;
    fn execvp(file: *const c_char, argv: *const *const c_char) -> c_int;
    fn waitpid(pid: c_int, status: *mut c_int, options: c_int) -> c_int;
    fn kill(pid: c_int, sig: c_int) -> c_int;
    fn setpgid(pid: c_int, pgid: c_int) -> c_int;
    fn tcsetpgrp(fd: c_int, pgrp: c_int) -> c_int;
    fn isatty(fd: c_int) -> c_int;
    fn getpid() -> c_int;
    fn _exit(code: c_int) -> !;
}

const SIG_BLOCK: c_int = 0;
const SIG_SETMASK: c_int = 2;
const SIGKILL: c_int = 9;
const SIGSTOP: c_int = 19;
const SIGCHLD: c_int = 17;
const SIGHUP: c_int = 1;
const SIGINT: c_int = 2;
const SIGQUIT: c_int = 3;
const SIGTERM: c_int = 15;
const WNOHANG: c_int = 1;
const ENOENT: i32 = 2;

/// `warren-init -P`: pause (the infra process of a pod, like catatonit -P): hold the namespaces, reap
/// whatever ends up as our child, exit 0 on SIGTERM, SIGINT, SIGHUP or SIGQUIT.
fn pause() -> ! {
    let mut all = SigSet([0; 16]);
    let mut info = [0u8; 128];
    // SAFETY: plain libc calls on valid, owned buffers, in a single-threaded process.
    unsafe {
        sigfillset(&mut all);
        sigdelset(&mut all, SIGKILL);
        sigdelset(&mut all, SIGSTOP);
        sigprocmask(SIG_BLOCK, &all, std::ptr::null_mut());
        loop {
            match sigwaitinfo(&all, &mut info) {
                SIGCHLD => while waitpid(-1, std::ptr::null_mut(), WNOHANG) > 0 {},
                SIGHUP | SIGINT | SIGQUIT | SIGTERM => _exit(0),
                _ => {}
            }
        }
    }
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("-P") {
        pause();
    }
    if args.first().map(String::as_str) == Some("--") {
        args.remove(0);
    }
    if args.is_empty() {
        eprintln!("Error: warren-init: no command (usage: /run/warren-init -- CMD [ARG...])");
        std::process::exit(125);
    }
    let cargs: Vec<CString> = match args.iter().map(|a| CString::new(a.as_bytes())).collect() {
        Ok(v) => v,
        Err(_) => {
            eprintln!("Error: warren-init: an argument contains a NUL byte");
            std::process::exit(125);
        }
    };
    let mut argv: Vec<*const c_char> = cargs.iter().map(|c| c.as_ptr()).collect();
    argv.push(std::ptr::null());

    let mut all = SigSet([0; 16]);
    let mut saved = SigSet([0; 16]);
    // SAFETY: plain libc calls on valid, owned buffers; the process is single-threaded, and the child
    // only calls async-signal-safe functions (setpgid, tcsetpgrp, sigprocmask, execvp, write, _exit)
    // on memory prepared before the fork.
    unsafe {
        sigfillset(&mut all);
        sigdelset(&mut all, SIGKILL);
        sigdelset(&mut all, SIGSTOP);
        sigprocmask(SIG_BLOCK, &all, &mut saved);
        let terminal = isatty(0) == 1;
        let child = fork();
        if child < 0 {
            eprintln!("Error: warren-init: fork: {}", std::io::Error::last_os_error());
            std::process::exit(125);
        }
        if child == 0 {
            setpgid(0, 0);
            if terminal {
                // SIGTTOU is blocked, so a background process group may take the terminal.
                tcsetpgrp(0, getpid());
            }
            sigprocmask(SIG_SETMASK, &saved, std::ptr::null_mut());
            execvp(argv[0], argv.as_ptr());
            let e = std::io::Error::last_os_error();
            let (code, msg) = if e.raw_os_error() == Some(ENOENT) {
                (127, format!("executable file `{}` not found in $PATH: No such file or directory", args[0]))
            } else {
                (126, format!("open executable `{}`: {e}", args[0]))
            };
            eprintln!("Error: warren-init: {msg}");
            _exit(code);
        }
        let mut info = [0u8; 128];
        loop {
            let sig = sigwaitinfo(&all, &mut info);
            if sig < 0 {
                continue;
            }
            if sig == SIGCHLD {
                loop {
                    let mut status: c_int = 0;
                    let pid = waitpid(-1, &mut status, WNOHANG);
                    if pid <= 0 {
                        break;
                    }
                    if pid == child {
                        // WIFEXITED / WEXITSTATUS / WTERMSIG.
                        if status & 0x7f == 0 {
                            std::process::exit((status >> 8) & 0xff);
                        }
                        std::process::exit(128 + (status & 0x7f));
                    }
                }
            } else {
                kill(child, sig);
            }
        }
    }
}
