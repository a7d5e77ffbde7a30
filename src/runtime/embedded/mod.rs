//! Warren's embedded OCI runtime. It runs as a fresh, single-threaded process (`warren __runtime`),
//! never as a fork of a threaded engine.
//!
//! `warren __runtime run --bundle DIR ID` behaves like `crun run`: it reads DIR/config.json, clones the
//! container process into new namespaces (PID 1 of a new PID namespace), relays the console when the
//! spec asks for a terminal, forwards signals, and exits with the container's status (128+N when signal
//! N killed it; 125 for a runtime error, 126 when the command cannot be invoked, 127 when it is not
//! found, each with a message naming the syscall, path and errno).
//!
//! Process model (no threads anywhere):
//! ```text
//!  warren __runtime (parent, in the caller's namespaces)        container process (clone)
//!   block forwarded signals, signalfd                             wait for `G`
//!   clone(NEWPID|NEWNS|NEWUTS|NEWIPC[|NEWNET][|NEWUSER]) ──────►  mounts, devices, pivot_root
//!   [write uid_map/gid_map], pid file, send `G`                   [open the console in its devpts,
//!   [receive the console master, set its size, send `A`] ◄──────   send the master, wait for `A`]
//!   poll: signalfd (forward; SIGCHLD → wait), channel             masks, hostname, rlimits, creds,
//!         (errors / EOF at exec), stdin ⇄ console master          caps, seccomp, exec (or init+fork)
//! ```
//!
//! Seccomp: the filter is loaded last before exec when no_new_privs is set, else just before the
//! credentials change (while CAP_SYS_ADMIN is still held). A filter the kernel refuses is an error
//! (125), never silently skipped.
//!
//! Descriptors: everything above 2 is made close-on-exec before exec, so nothing the caller leaked
//! reaches the container.
//!
//! Signals and PID 1: the kernel delivers a signal to a PID namespace's init only if it has installed a
//! handler for it — except SIGKILL (and SIGSTOP) sent from an ancestor namespace. So a forwarded
//! SIGTERM (or `kill -TERM` of the container's PID 1 from the host) kills a shell without a TERM handler
//! only with `--init` (the init forwards it to the command, which is not PID 1); SIGKILL always works
//! (137). This is what crun and Podman do too.

mod cgroups;
mod channel;
mod container;
mod rootfs;
mod seccomp;
mod sys;
mod syscalls;

use crate::error::ExitError;
use anyhow::{Context as _, Result};
use channel::Msg;
use clap::{Args, Subcommand};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sched::CloneFlags;
use nix::sys::signal::{kill, sigprocmask, SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::termios;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use oci_spec::runtime::{LinuxNamespaceType, Spec};
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct RuntimeArgs {
    #[command(subcommand)]
    pub command: RuntimeCommand,
}

#[derive(Subcommand, Debug)]
pub enum RuntimeCommand {
    /// Create and start a container from a bundle and wait for it (like `crun run`); exits with the
    /// container's status (128+N for a signal, 126/127 when the command cannot be run).
    Run {
        #[arg(long, short)]
        bundle: PathBuf,
        #[arg(long)]
        pid_file: Option<PathBuf>,
        id: String,
    },
    /// Run a process in the running container whose PID 1 is PID (like `crun exec --process`): join
    /// every namespace it has, then fork and exec the spec's process with the spec's seccomp; exits
    /// with the process's status.
    Exec {
        /// The container's PID 1 (host view).
        #[arg(long)]
        pid: i32,
        /// A config.json whose `process` is the one to run (deleted once read).
        #[arg(long)]
        config: PathBuf,
    },
}

/// Entry point of `warren __runtime`.
pub fn main(args: RuntimeArgs) -> Result<i32> {
    match args.command {
        RuntimeCommand::Run { bundle, pid_file, id } => run(&bundle, pid_file.as_deref(), &id),
        RuntimeCommand::Exec { pid, config } => exec(pid, &config),
    }
}

/// Signals the runtime does not forward to the container's PID 1 (Podman's sig-proxy skips the same:
/// SIGCHLD, SIGPIPE, SIGURG), plus the faults that belong to the runtime itself. Every other catchable
/// signal is forwarded, so `kill -USR1 <runtime>` or a terminal's SIGTSTP reach the container.
const NOT_FORWARDED: &[Signal] = &[
    Signal::SIGKILL,
    Signal::SIGSTOP,
    Signal::SIGCHLD,
    Signal::SIGPIPE,
    Signal::SIGURG,
    Signal::SIGSEGV,
    Signal::SIGBUS,
    Signal::SIGILL,
    Signal::SIGFPE,
    Signal::SIGTRAP,
    Signal::SIGSYS,
];

fn runtime_error(msg: String) -> anyhow::Error {
    ExitError::new(crate::error::EXIT_ENGINE, msg).into()
}

/// Restores the terminal mode of stdin on every exit path.
struct RawMode {
    fd: RawFd,
    saved: termios::Termios,
}

impl RawMode {
    fn enable(fd: RawFd) -> Option<RawMode> {
        // SAFETY: fd 0 stays open for the whole life of the process.
        let bfd = unsafe { BorrowedFd::borrow_raw(fd) };
        let saved = termios::tcgetattr(bfd).ok()?;
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        termios::tcsetattr(bfd, termios::SetArg::TCSANOW, &raw).ok()?;
        Some(RawMode { fd, saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        // SAFETY: as above.
        let bfd = unsafe { BorrowedFd::borrow_raw(self.fd) };
        let _ = termios::tcsetattr(bfd, termios::SetArg::TCSANOW, &self.saved);
    }
}

fn copy_winsize(to: RawFd) {
    for from in [0, 1, 2] {
        if let Some(ws) = sys::get_winsize(from) {
            sys::set_winsize(to, &ws);
            return;
        }
    }
}

fn write_pid_file(path: &Path, pid: Pid) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, pid.as_raw().to_string()).with_context(|| format!("writing pid file {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing pid file {}", path.display()))?;
    Ok(())
}

/// Write the nested user namespace's maps for `pid` (from the namespace that owns it). As the
/// namespace's owner with CAP_SETUID/CAP_SETGID no setgroups "deny" is needed; without them, the
/// kernel refuses gid_map until setgroups is denied, so retry that way.
fn write_id_maps(pid: Pid, spec: &Spec) -> Result<()> {
    let linux = spec.linux().as_ref();
    let fmt = |m: Option<&Vec<oci_spec::runtime::LinuxIdMapping>>| -> String {
        m.into_iter().flatten().map(|e| format!("{} {} {}\n", e.container_id(), e.host_id(), e.size())).collect()
    };
    let uid_map = fmt(linux.and_then(|l| l.uid_mappings().as_ref()));
    let gid_map = fmt(linux.and_then(|l| l.gid_mappings().as_ref()));
    let proc_ = PathBuf::from(format!("/proc/{pid}"));
    std::fs::write(proc_.join("uid_map"), &uid_map)
        .map_err(|e| runtime_error(format!("write {}/uid_map ({}): {e}", proc_.display(), uid_map.trim())))?;
    if let Err(e) = std::fs::write(proc_.join("gid_map"), &gid_map) {
        if e.raw_os_error() != Some(libc::EPERM) {
            return Err(runtime_error(format!("write {}/gid_map ({}): {e}", proc_.display(), gid_map.trim())));
        }
        std::fs::write(proc_.join("setgroups"), "deny")
            .map_err(|e| runtime_error(format!("write {}/setgroups: {e}", proc_.display())))?;
        std::fs::write(proc_.join("gid_map"), &gid_map)
            .map_err(|e| runtime_error(format!("write {}/gid_map ({}): {e}", proc_.display(), gid_map.trim())))?;
    }
    Ok(())
}

fn status_code(ws: WaitStatus) -> Option<i32> {
    match ws {
        WaitStatus::Exited(_, code) => Some(code),
        WaitStatus::Signaled(_, sig, _) => Some(128 + sig as i32),
        _ => None,
    }
}

fn run(bundle: &Path, pid_file: Option<&Path>, id: &str) -> Result<i32> {
    let config = bundle.join("config.json");
    let spec = Spec::load(&config).map_err(|e| runtime_error(format!("reading {}: {e}", config.display())))?;
    let root = spec.root().as_ref().map(|r| r.path().clone()).unwrap_or_else(|| "rootfs".into());
    let root = if root.is_absolute() { root } else { bundle.join(root) };
    let rootfs = std::fs::canonicalize(&root).map_err(|e| runtime_error(format!("rootfs {}: {e}", root.display())))?;
    let process = spec.process().as_ref().ok_or_else(|| runtime_error(format!("{}: no process", config.display())))?;
    let terminal = process.terminal().unwrap_or(false);
    let init = spec
        .annotations()
        .as_ref()
        .and_then(|a| a.get(crate::runtime::spec::ANNOTATION_INIT))
        .is_some_and(|v| v == "true");

    let mut flags = CloneFlags::empty();
    let mut userns = false;
    let mut join: Vec<(OwnedFd, CloneFlags, String)> = Vec::new();
    for ns in spec.linux().as_ref().and_then(|l| l.namespaces().as_ref()).into_iter().flatten() {
        if let Some(path) = ns.path() {
            // Joining an existing namespace (a network namespace made by pasta/slirp4netns, a pod's
            // ipc/uts): the runtime itself joins it before clone, so the container process starts
            // inside it. Joining from the child would fail with a nested user namespace (keep-id),
            // which holds no capability over the namespace to join.
            let kind = match ns.typ() {
                LinuxNamespaceType::Network => CloneFlags::CLONE_NEWNET,
                LinuxNamespaceType::Ipc => CloneFlags::CLONE_NEWIPC,
                LinuxNamespaceType::Uts => CloneFlags::CLONE_NEWUTS,
                LinuxNamespaceType::Cgroup => CloneFlags::CLONE_NEWCGROUP,
                other => {
                    return Err(runtime_error(format!(
                        "joining an existing {other:?} namespace ({}) is not supported by the embedded runtime; use --runtime crun",
                        path.display()
                    )))
                }
            };
            let fd = std::fs::File::open(path)
                .map_err(|e| runtime_error(format!("open namespace {}: {e}", path.display())))?;
            join.push((fd.into(), kind, path.display().to_string()));
            continue;
        }
        flags |= match ns.typ() {
            LinuxNamespaceType::Pid => CloneFlags::CLONE_NEWPID,
            LinuxNamespaceType::Mount => CloneFlags::CLONE_NEWNS,
            LinuxNamespaceType::Uts => CloneFlags::CLONE_NEWUTS,
            LinuxNamespaceType::Ipc => CloneFlags::CLONE_NEWIPC,
            LinuxNamespaceType::Network => CloneFlags::CLONE_NEWNET,
            LinuxNamespaceType::Cgroup => CloneFlags::CLONE_NEWCGROUP,
            LinuxNamespaceType::User => {
                userns = true;
                CloneFlags::CLONE_NEWUSER
            }
            LinuxNamespaceType::Time => CloneFlags::empty(),
        };
    }
    tracing::debug!(
        "container {id}: rootfs {}, namespaces {flags:?}, terminal {terminal}, init {init}",
        rootfs.display()
    );

    // Block the signals we forward (and SIGCHLD) and read them from a signalfd: no handlers, no threads.
    let mut set = SigSet::empty();
    for s in Signal::iterator().filter(|s| !NOT_FORWARDED.contains(s)) {
        set.add(s);
    }
    set.add(Signal::SIGCHLD);
    // A closed stdout must not kill the runtime (and with it the container) while relaying a console.
    // SAFETY: SIG_IGN is a valid disposition; the container process resets dispositions before exec.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    let mut saved_mask = SigSet::empty();
    sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), Some(&mut saved_mask)).context("blocking signals")?;
    let sfd = SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK).context("signalfd")?;

    for (fd, kind, path) in &join {
        nix::sched::setns(fd, *kind).map_err(|e| runtime_error(format!("join the namespace {path}: {}", e.desc())))?;
    }
    drop(join);

    let (parent_sock, child_sock) = channel::pair().context("socketpair")?;
    let ctx = container::Ctx { spec: spec.clone(), rootfs, sock: child_sock.as_raw_fd(), userns, init, saved_mask };
    // The child runs on its own stack until it execs; 8 MiB, touched only as used.
    let mut stack = vec![0u8; 8 << 20];
    let cb = Box::new(|| container::main(&ctx));
    // SAFETY: the runtime is single-threaded, so the cloned child (a copy of this process without
    // CLONE_VM) has consistent memory; it either execs or _exits.
    let child = unsafe { nix::sched::clone(cb, &mut stack, flags, Some(libc::SIGCHLD)) }
        .map_err(|e| runtime_error(format!("clone the container process ({flags:?}): {}", e.desc())))?;
    drop(child_sock);
    drop(stack);

    // Resource limits: the container's process joins its cgroup before it is told to go on.
    let cgroup = cgroups::apply(&spec, id, child.as_raw()).map_err(|e| runtime_error(format!("resource limits: {e}")));
    let mut reaped = false;
    let result = match &cgroup {
        Ok(_) => monitor(&spec, child, &parent_sock, &sfd, pid_file, userns, terminal, &mut reaped),
        Err(e) => Err(runtime_error(format!("{e:#}"))),
    };
    if !reaped {
        // The container must not outlive a runtime that failed.
        let _ = kill(child, Signal::SIGKILL);
        let _ = waitpid(child, None);
    }
    if let Ok(Some(cg)) = &cgroup {
        cg.remove();
    }
    let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&saved_mask), None);
    result
}

/// The namespaces `exec` joins, in order: the user namespace first (it grants the capabilities the
/// others need), the mount namespace last (it changes our root).
const EXEC_NAMESPACES: &[(&str, CloneFlags)] = &[
    ("user", CloneFlags::CLONE_NEWUSER),
    ("ipc", CloneFlags::CLONE_NEWIPC),
    ("uts", CloneFlags::CLONE_NEWUTS),
    ("net", CloneFlags::CLONE_NEWNET),
    ("cgroup", CloneFlags::CLONE_NEWCGROUP),
    ("pid", CloneFlags::CLONE_NEWPID),
    ("mnt", CloneFlags::CLONE_NEWNS),
];

/// Join the container's namespaces. The user namespace goes last: the others may belong to an ancestor
/// of it (the network namespace that pasta made in the engine's namespace, under a nested `keep-id`
/// user namespace), which only the capabilities we hold before entering it can join. A namespace that
/// still refuses (EPERM) is tried again from inside the user namespace.
fn join_namespaces(pid: i32, joins: &[(&str, CloneFlags, OwnedFd)]) -> Result<()> {
    let setns = |name: &str, flag: CloneFlags, fd: &OwnedFd| {
        nix::sched::setns(fd, flag)
            .map_err(|e| (e, format!("setns to the {name} namespace of pid {pid}: {}", e.desc())))
    };
    let mut refused = vec![];
    for (name, flag, fd) in joins.iter().filter(|j| j.1 != CloneFlags::CLONE_NEWUSER) {
        match setns(name, *flag, fd) {
            Ok(()) => {}
            Err((nix::errno::Errno::EPERM, _)) => refused.push((name, flag, fd)),
            Err((_, msg)) => return Err(runtime_error(msg)),
        }
    }
    for (name, flag, fd) in joins.iter().filter(|j| j.1 == CloneFlags::CLONE_NEWUSER) {
        setns(name, *flag, fd).map_err(|(_, msg)| runtime_error(msg))?;
    }
    for (name, flag, fd) in refused {
        setns(name, *flag, fd).map_err(|(_, msg)| runtime_error(msg))?;
    }
    Ok(())
}

fn exec(pid: i32, config: &Path) -> Result<i32> {
    use std::os::unix::fs::MetadataExt;
    let spec = Spec::load(config).map_err(|e| runtime_error(format!("reading {}: {e}", config.display())))?;
    let _ = std::fs::remove_file(config);
    let process = spec.process().as_ref().ok_or_else(|| runtime_error(format!("{}: no process", config.display())))?;
    let terminal = process.terminal().unwrap_or(false);
    let gone = |what: &str, e: std::io::Error| {
        runtime_error(format!("open /proc/{pid}/{what}: {e} (the container is not running any more?)"))
    };
    // Everything is opened while /proc/PID still names the container's PID 1 in our view.
    let mut joins = vec![];
    for (name, flag) in EXEC_NAMESPACES {
        let target = format!("/proc/{pid}/ns/{name}");
        let theirs = match std::fs::metadata(&target) {
            Ok(m) => m,
            // A kernel without this namespace type.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && *name == "cgroup" => continue,
            Err(e) => return Err(gone(&format!("ns/{name}"), e)),
        };
        let ours = std::fs::metadata(format!("/proc/self/ns/{name}")).ok();
        if ours.is_some_and(|o| o.ino() == theirs.ino() && o.dev() == theirs.dev()) {
            continue; // shared with us (e.g. --network host, or the engine's user namespace)
        }
        let f = std::fs::File::open(&target).map_err(|e| gone(&format!("ns/{name}"), e))?;
        joins.push((*name, *flag, OwnedFd::from(f)));
    }
    let root: OwnedFd = std::fs::File::open(format!("/proc/{pid}/root")).map_err(|e| gone("root", e))?.into();
    tracing::debug!(
        "exec in the container of pid {pid}: joining {:?}, terminal {terminal}",
        joins.iter().map(|j| j.0).collect::<Vec<_>>()
    );

    let mut set = SigSet::empty();
    for s in Signal::iterator().filter(|s| !NOT_FORWARDED.contains(s)) {
        set.add(s);
    }
    set.add(Signal::SIGCHLD);
    // SAFETY: SIG_IGN is a valid disposition; the exec'd process resets dispositions before exec.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    let mut saved_mask = SigSet::empty();
    sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), Some(&mut saved_mask)).context("blocking signals")?;
    let sfd = SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK).context("signalfd")?;

    join_namespaces(pid, &joins)?;
    let (parent_sock, child_sock) = channel::pair().context("socketpair")?;
    let ctx = container::ExecCtx { spec: spec.clone(), root, sock: child_sock.as_raw_fd(), saved_mask };
    // SAFETY: the runtime is single-threaded; the child only sets itself up and execs (or _exits).
    let child = match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Child) => {
            drop(parent_sock);
            sys::exit_now(container::exec_main(&ctx) as i32)
        }
        Ok(nix::unistd::ForkResult::Parent { child }) => child,
        Err(e) => return Err(runtime_error(format!("fork into the container: {}", e.desc()))),
    };
    drop(child_sock);
    drop(ctx);
    let mut reaped = false;
    let result = monitor(&spec, child, &parent_sock, &sfd, None, false, terminal, &mut reaped);
    if !reaped {
        let _ = kill(child, Signal::SIGKILL);
        let _ = waitpid(child, None);
    }
    let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&saved_mask), None);
    result
}

#[allow(clippy::too_many_arguments)]
fn monitor(
    spec: &Spec,
    child: Pid,
    sock: &OwnedFd,
    sfd: &SignalFd,
    pid_file: Option<&Path>,
    userns: bool,
    terminal: bool,
    reaped: &mut bool,
) -> Result<i32> {
    if userns {
        write_id_maps(child, spec)?;
    }
    // The pid file exists before the container's process runs (crun's contract).
    if let Some(p) = pid_file {
        write_pid_file(p, child)?;
    }
    channel::send(sock.as_raw_fd(), &Msg::Go)
        .map_err(|e| runtime_error(format!("start the container: {}", e.desc())))?;

    let mut master: Option<OwnedFd> = None;
    let mut raw_mode: Option<RawMode> = None;
    let mut sock_open = true;
    let mut stdin_open = terminal;
    let mut error: Option<(i32, String)> = None;
    let mut status: Option<i32> = None;
    let mut buf = vec![0u8; 32 * 1024];
    let stdout = std::io::stdout();

    while status.is_none() {
        let mut fds = vec![PollFd::new(sfd.as_fd(), PollFlags::POLLIN)];
        let sock_idx = sock_open.then(|| {
            fds.push(PollFd::new(sock.as_fd(), PollFlags::POLLIN));
            fds.len() - 1
        });
        let stdin = std::io::stdin();
        let stdin_idx = (stdin_open && master.is_some()).then(|| {
            fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
            fds.len() - 1
        });
        let master_idx = master.as_ref().map(|m| {
            fds.push(PollFd::new(m.as_fd(), PollFlags::POLLIN));
            fds.len() - 1
        });
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(runtime_error(format!("poll: {}", e.desc()))),
        }
        let ready = |i: Option<usize>| i.and_then(|i| fds[i].revents()).is_some_and(|r| !r.is_empty());
        let (sig_ready, sock_ready, stdin_ready, master_ready) =
            (ready(Some(0)), ready(sock_idx), ready(stdin_idx), ready(master_idx));
        drop(fds);

        if sock_ready {
            match channel::recv(sock.as_raw_fd()) {
                Ok(Some(Msg::Tty(m))) => {
                    copy_winsize(m.as_raw_fd());
                    // Raw mode only for a terminal we own: from a background process group,
                    // tcsetattr would stop the runtime with SIGTTOU.
                    let foreground = nix::unistd::tcgetpgrp(std::io::stdin()).ok() == Some(nix::unistd::getpgrp());
                    if nix::unistd::isatty(0).unwrap_or(false) && foreground {
                        raw_mode = RawMode::enable(0);
                    }
                    let _ =
                        nix::fcntl::fcntl(m.as_raw_fd(), nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK));
                    master = Some(m);
                    channel::send(sock.as_raw_fd(), &Msg::Ack)
                        .map_err(|e| runtime_error(format!("console: {}", e.desc())))?;
                }
                Ok(Some(Msg::Error { code, msg })) => error = Some((code, msg)),
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => sock_open = false,
            }
        }
        if master_ready {
            if let Some(m) = &master {
                match nix::unistd::read(m.as_raw_fd(), &mut buf) {
                    Ok(0) | Err(nix::errno::Errno::EIO) => master = None,
                    Ok(n) => {
                        let mut out = stdout.lock();
                        let _ = out.write_all(&buf[..n]);
                        let _ = out.flush();
                    }
                    Err(_) => {}
                }
            }
        }
        if stdin_ready {
            match nix::unistd::read(0, &mut buf) {
                Ok(0) | Err(_) => stdin_open = false,
                Ok(n) => {
                    if let Some(m) = &master {
                        write_all_fd(m.as_raw_fd(), &buf[..n]);
                    }
                }
            }
        }
        if sig_ready {
            while let Ok(Some(info)) = sfd.read_signal() {
                let sig = info.ssi_signo as i32;
                if sig == libc::SIGCHLD {
                    match waitpid(child, Some(WaitPidFlag::WNOHANG)) {
                        Ok(ws) => {
                            if let Some(code) = status_code(ws) {
                                status = Some(code);
                                *reaped = true;
                            }
                        }
                        Err(e) => {
                            *reaped = e == nix::errno::Errno::ECHILD;
                            return Err(runtime_error(format!("wait for the container: {}", e.desc())));
                        }
                    }
                } else if sig == libc::SIGWINCH && master.is_some() {
                    if let Some(m) = &master {
                        copy_winsize(m.as_raw_fd());
                    }
                } else if let Ok(s) = Signal::try_from(sig) {
                    tracing::debug!("forwarding {s} to the container");
                    let _ = kill(child, s);
                }
            }
        }
    }
    // The container is gone: drain what its console and the channel still hold.
    if let Some(m) = &master {
        loop {
            match nix::unistd::read(m.as_raw_fd(), &mut buf) {
                Ok(n) if n > 0 => {
                    let mut out = stdout.lock();
                    let _ = out.write_all(&buf[..n]);
                    let _ = out.flush();
                }
                _ => break,
            }
        }
    }
    let _ = nix::fcntl::fcntl(sock.as_raw_fd(), nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK));
    while sock_open && error.is_none() {
        match channel::recv(sock.as_raw_fd()) {
            Ok(Some(Msg::Error { code, msg })) => error = Some((code, msg)),
            Ok(Some(_)) => {}
            _ => break,
        }
    }
    drop(raw_mode);
    let code = status.unwrap_or(crate::error::EXIT_ENGINE);
    match error {
        Some((c, msg)) => Err(ExitError::new(c, msg).into()),
        None => Ok(code),
    }
}

fn write_all_fd(fd: RawFd, mut data: &[u8]) {
    while !data.is_empty() {
        match nix::unistd::write(unsafe { BorrowedFd::borrow_raw(fd) }, data) {
            Ok(n) => data = &data[n..],
            Err(nix::errno::Errno::EAGAIN) => {
                // SAFETY: fd is the console master, open for the duration of the call.
                let bfd = unsafe { BorrowedFd::borrow_raw(fd) };
                let _ = poll(&mut [PollFd::new(bfd, PollFlags::POLLOUT)], PollTimeout::from(100u16));
            }
            Err(nix::errno::Errno::EINTR) => {}
            Err(_) => return,
        }
    }
}
