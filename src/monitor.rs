//! The monitor (Warren's conmon): runs a container's runtime process, records its pid and exit status
//! in the state store, and — for detached containers — owns its output and writes the log.
//!
//! A foreground `run` is its own monitor (no extra process: the engine waits). `run -d` and `start`
//! leave a detached `warren __monitor ID` process (setsid, stdio on /dev/null) that does the same and then
//! cleans up.

use anyhow::{Context as _, Result};
use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

use crate::context::Context;
use crate::state::{process_start_time, ContainerRecord, State};

/// Where the container's stdio goes.
pub enum Stdio3 {
    /// The caller's terminal or pipes (foreground run); stdin only with `-i`.
    Inherit { interactive: bool },
    /// A log file in Podman's k8s-file format (detached containers).
    Log(PathBuf),
}

/// The pid of the runtime process, for forwarding signals the engine receives.
static CHILD_PID: AtomicI32 = AtomicI32::new(0);

extern "C" fn forward_signal(sig: libc::c_int) {
    let pid = CHILD_PID.load(Ordering::SeqCst);
    if pid > 0 {
        // SAFETY: kill(2) is async-signal-safe.
        unsafe {
            libc::kill(pid, sig);
        }
    }
}

/// While a container runs, the monitor forwards these signals to it instead of dying, so cleanup and
/// `--rm` always happen.
fn forward_signals() {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT, libc::SIGUSR1, libc::SIGUSR2] {
        // SAFETY: the handler only calls kill(2); exec resets it to the default in children.
        unsafe {
            libc::signal(sig, forward_signal as *const () as usize);
        }
    }
}

/// Run the container whose bundle is ready, record it as running with its pid, wait, record the exit.
/// Returns the container's exit code (128+N when killed by signal N).
pub fn supervise(ctx: &Context, state: &State, rec: &mut ContainerRecord, bundle: &Path, io: Stdio3) -> Result<i32> {
    supervise_notify(ctx, state, rec, bundle, io, &mut |_| {})
}

/// What `started` is told: the container runs, or (exit code, message) when it never got that far.
pub type Started = std::result::Result<(), (i32, String)>;

/// [`supervise`], calling `started` once the container's process runs (or failed to).
pub fn supervise_notify(
    ctx: &Context,
    state: &State,
    rec: &mut ContainerRecord,
    bundle: &Path,
    io: Stdio3,
    started: &mut dyn FnMut(Started),
) -> Result<i32> {
    let pid_file = bundle.join("pid");
    let _ = std::fs::remove_file(&pid_file);
    let mut cmd = crate::runtime::command(ctx, bundle, &rec.id, &pid_file)?;
    // A foreground run without a terminal is logged too (like Podman): its output goes through us.
    let tee = match &io {
        Stdio3::Inherit { .. } if !rec.config["Tty"].as_bool().unwrap_or(false) => {
            let cfg = crate::logs::LogConfig::of(rec, &crate::container::log_path(ctx, &rec.id));
            matches!(cfg.driver.as_str(), "k8s-file" | "json-file").then_some(cfg)
        }
        _ => None,
    };
    match &io {
        Stdio3::Inherit { interactive } => {
            if !interactive {
                cmd.stdin(Stdio::null());
            }
            if tee.is_some() {
                cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
            }
        }
        Stdio3::Log(p) => {
            let none = crate::logs::LogConfig::of(rec, p).driver == "none";
            let out = || if none { Stdio::null() } else { Stdio::piped() };
            cmd.stdin(Stdio::null()).stdout(out()).stderr(out());
        }
    }
    tracing::debug!("running {cmd:?}");
    forward_signals();
    let mut child = cmd.spawn().with_context(|| format!("starting the runtime {:?}", cmd.get_program()))?;
    CHILD_PID.store(child.id() as i32, Ordering::SeqCst);

    // The embedded runtime writes the container's pid once the command runs (crun: before), so no pid
    // file means the container could not be started.
    let pid = wait_for_pid(&mut child, &pid_file);
    // Detached, the runtime's stderr is the log pipe: read why it failed from there (it has exited).
    let mut start_error = None;
    if pid.is_none() && matches!(io, Stdio3::Log(_)) {
        if let Some(mut e) = child.stderr.take() {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut e, &mut text);
            start_error = text.lines().rev().find(|l| !l.trim().is_empty()).map(|l| {
                let l = l.trim();
                l.strip_prefix("Error: ").unwrap_or(l).to_string()
            });
        }
    }
    rec.state = "running".into();
    rec.pid = pid.unwrap_or(0);
    rec.pid_start = pid.and_then(process_start_time).unwrap_or(0);
    rec.started = Some(crate::format::now_rfc3339_nano());
    rec.finished = None;
    rec.exit_code = None;
    state.update(rec)?;
    if pid.is_some() {
        crate::events::emit(&ctx.storage_root, crate::events::Event::container("init", rec));
        crate::events::emit(&ctx.storage_root, crate::events::Event::container("start", rec));
        started(Ok(()));
    }

    let log_cfg = match &io {
        Stdio3::Log(path) => Some(crate::logs::LogConfig::of(rec, path)).filter(|c| c.driver != "none"),
        Stdio3::Inherit { .. } => tee.clone(),
    };
    if let Some(cfg) = log_cfg {
        let mut writer = crate::logs::LogWriter::open(&cfg)
            .map_err(|e| tracing::warn!("container {}: {e:#}: its output is not logged", rec.name))
            .ok();
        if let Err(e) = pump_logs(&mut child, writer.as_mut(), tee.is_some()) {
            tracing::warn!("container {}: copying its output: {e:#}", rec.name);
        }
    }
    let status = loop {
        match child.wait() {
            Ok(s) => break s,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).context("waiting for the container"),
        }
    };
    CHILD_PID.store(0, Ordering::SeqCst);
    let code = status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
    let code = crate::runtime::after_exit(ctx, &rec.id, bundle, code);
    if pid.is_none() {
        let why = start_error
            .unwrap_or_else(|| format!("container {} failed to start: see `warren logs {}`", rec.name, rec.name));
        started(Err((code, why)));
    }
    // Others may have changed the record meanwhile (rename, `stop` marking StoppedByUser): keep that.
    if let Ok(fresh) = state.get(&rec.id) {
        rec.name = fresh.name;
        rec.config = fresh.config;
    }
    rec.state = "exited".into();
    rec.exit_code = Some(code as i64);
    rec.finished = Some(crate::format::now_rfc3339_nano());
    rec.pid = 0;
    rec.pid_start = 0;
    state.update(rec)?;
    crate::events::emit(&ctx.storage_root, crate::events::Event::container("died", rec).with_exit_code(code as i64));
    Ok(code)
}

/// Wait until the runtime has written the pid file (Some(pid)) or exited without one (None).
fn wait_for_pid(child: &mut Child, pid_file: &Path) -> Option<i64> {
    let read = || std::fs::read_to_string(pid_file).ok().and_then(|s| s.trim().parse::<i64>().ok());
    // Woken by the kernel: inotify on the bundle for the pid file, a pidfd for the runtime's exit.
    if let Some(w) = PidFileWatch::new(child.id(), pid_file) {
        loop {
            if let Some(p) = read() {
                return Some(p);
            }
            if let Ok(Some(_)) = child.try_wait() {
                return read();
            }
            if !w.wait() {
                break; // poll failed: fall back to polling the file
            }
        }
    }
    let mut delay = Duration::from_micros(200);
    loop {
        if let Some(p) = read() {
            return Some(p);
        }
        if let Ok(Some(_)) = child.try_wait() {
            return read();
        }
        std::thread::sleep(delay);
        delay = (delay * 2).min(Duration::from_millis(20));
    }
}

/// An inotify watch on the directory of the pid file and a pidfd of the runtime (Linux ≥ 5.3). Without
/// them the monitor polls the file with a backoff, which adds up to the last sleep to every start.
struct PidFileWatch {
    inotify: std::os::fd::OwnedFd,
    pidfd: std::os::fd::OwnedFd,
}

impl PidFileWatch {
    fn new(pid: u32, pid_file: &Path) -> Option<PidFileWatch> {
        use std::os::fd::FromRawFd;
        use std::os::unix::ffi::OsStrExt;
        let dir = std::ffi::CString::new(pid_file.parent()?.as_os_str().as_bytes()).ok()?;
        // SAFETY: plain syscalls; each returned descriptor is owned right away.
        unsafe {
            let fd = libc::inotify_init1(libc::IN_CLOEXEC | libc::IN_NONBLOCK);
            if fd < 0 {
                return None;
            }
            let inotify = std::os::fd::OwnedFd::from_raw_fd(fd);
            if libc::inotify_add_watch(fd, dir.as_ptr(), libc::IN_MOVED_TO | libc::IN_CLOSE_WRITE) < 0 {
                return None;
            }
            let pfd = libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) as i32;
            if pfd < 0 {
                return None;
            }
            Some(PidFileWatch { inotify, pidfd: std::os::fd::OwnedFd::from_raw_fd(pfd) })
        }
    }

    /// Block until something happened in the directory or the runtime exited; false if poll fails.
    fn wait(&self) -> bool {
        use std::os::fd::AsRawFd;
        let mut fds = [
            libc::pollfd { fd: self.inotify.as_raw_fd(), events: libc::POLLIN, revents: 0 },
            libc::pollfd { fd: self.pidfd.as_raw_fd(), events: libc::POLLIN, revents: 0 },
        ];
        loop {
            // SAFETY: fds is a valid array of pollfd for the duration of the call.
            let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
            if n >= 0 {
                break;
            }
            if std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
                return false;
            }
        }
        // Drain the events; what happened is read from the file system and the child.
        let mut buf = [0u8; 4096];
        // SAFETY: buf is valid for its length; the descriptor is non-blocking.
        while unsafe { libc::read(self.inotify.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) } > 0 {}
        true
    }
}

/// Copy the container's stdout and stderr into its log (the container's log driver) until both close;
/// with `tee`, also to this process's stdout and stderr (a foreground run). A log that cannot be written
/// is reported once and dropped; the output keeps flowing.
fn pump_logs(child: &mut Child, mut log: Option<&mut crate::logs::LogWriter>, tee: bool) -> Result<()> {
    use std::os::fd::{AsRawFd, OwnedFd};
    let mut streams: Vec<(&str, std::fs::File, Vec<u8>)> = vec![];
    if let Some(o) = child.stdout.take() {
        streams.push(("stdout", std::fs::File::from(OwnedFd::from(o)), vec![]));
    }
    if let Some(e) = child.stderr.take() {
        streams.push(("stderr", std::fs::File::from(OwnedFd::from(e)), vec![]));
    }
    let write = |log: &mut Option<&mut crate::logs::LogWriter>, stream: &str, content: &[u8], full: bool| {
        if let Some(l) = log.as_deref_mut() {
            if let Err(e) = l.write_line(stream, content, full) {
                tracing::warn!("{e:#}: the rest of the container's output is not logged");
                *log = None;
            }
        }
    };
    let mut buf = [0u8; 16384];
    while !streams.is_empty() {
        let mut fds: Vec<libc::pollfd> = streams
            .iter()
            .map(|(_, f, _)| libc::pollfd { fd: f.as_raw_fd(), events: libc::POLLIN, revents: 0 })
            .collect();
        // SAFETY: fds is a valid array of pollfd for the duration of the call.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, -1) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e).context("poll");
        }
        let mut closed = vec![];
        for (i, pfd) in fds.iter().enumerate() {
            if pfd.revents == 0 {
                continue;
            }
            let (name, file, pending) = &mut streams[i];
            match file.read(&mut buf) {
                Ok(0) | Err(_) => {
                    if !pending.is_empty() {
                        write(&mut log, name, pending, false);
                        pending.clear();
                    }
                    closed.push(i);
                }
                Ok(n) => {
                    if tee {
                        // The caller may have gone (a closed pipe): the container keeps running.
                        let _ = if *name == "stdout" {
                            let mut o = std::io::stdout().lock();
                            o.write_all(&buf[..n]).and_then(|_| o.flush())
                        } else {
                            std::io::stderr().lock().write_all(&buf[..n])
                        };
                    }
                    if log.is_none() {
                        continue;
                    }
                    pending.extend_from_slice(&buf[..n]);
                    while let Some(pos) = pending.iter().position(|b| *b == b'\n') {
                        let line: Vec<u8> = pending.drain(..=pos).collect();
                        write(&mut log, name, &line[..line.len() - 1], true);
                    }
                    if pending.len() > 16384 {
                        write(&mut log, name, pending, false);
                        pending.clear();
                    }
                }
            }
        }
        for i in closed.into_iter().rev() {
            streams.remove(i);
        }
    }
    Ok(())
}
