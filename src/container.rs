//! Containers that outlive a command: the operations `ps`, `stop`, `kill`, `rm`, `wait` and the monitor
//! share. Cleanup is one idempotent function that the monitor, `rm` and a later `warren` can all run
//! again after a crash.

use anyhow::{bail, Context as _, Result};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::context::Context;
use crate::error::{ExitError, EXIT_ENGINE};
use crate::state::{process_alive, ContainerRecord, State};
use crate::storage::rootfs;

fn user_error(msg: impl Into<String>) -> anyhow::Error {
    ExitError::new(EXIT_ENGINE, msg).into()
}

/// Where a container's storage (upper layer, rootfs mount point) lives.
pub fn storage_dir(ctx: &Context, id: &str) -> PathBuf {
    ctx.storage_root.join("containers").join(id)
}

/// Where a container's runtime bundle (config.json, hosts, resolv.conf, pid) lives.
pub fn bundle_dir(ctx: &Context, id: &str) -> PathBuf {
    ctx.run_dir.join("containers").join(id)
}

/// The container's log file (k8s-file).
pub fn log_path(ctx: &Context, id: &str) -> PathBuf {
    storage_dir(ctx, id).join("userdata").join("ctr.log")
}

/// Whether the container's process is really running (the record may be stale after a crash).
pub fn is_running(rec: &ContainerRecord) -> bool {
    matches!(rec.state.as_str(), "running" | "paused") && process_alive(rec.pid, rec.pid_start)
}

/// Bring a record up to date with the truth: a "running" container whose process and monitor are both
/// gone died with its monitor; record it as exited and clean up after it.
pub fn refresh(ctx: &Context, state: &State, mut rec: ContainerRecord) -> Result<ContainerRecord> {
    if matches!(rec.state.as_str(), "running" | "paused") && !process_alive(rec.pid, rec.pid_start) {
        // Give a live monitor the chance to record the real exit status.
        if rec.monitor_pid > 0 && process_alive(rec.monitor_pid, 0) && rec.monitor_pid != std::process::id() as i64 {
            let deadline = Instant::now() + Duration::from_secs(2);
            while Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
                let fresh = state.get(&rec.id)?;
                if fresh.state != "running" && fresh.state != "paused" {
                    return Ok(fresh);
                }
            }
        }
        let _lock = state.lock_container(&rec.id)?;
        rec = state.get(&rec.id)?;
        if matches!(rec.state.as_str(), "running" | "paused") && !process_alive(rec.pid, rec.pid_start) {
            tracing::debug!("container {}: its process is gone without a recorded exit", rec.name);
            rec.state = "exited".into();
            rec.exit_code = rec.exit_code.or(Some(137));
            rec.finished = Some(crate::format::now_rfc3339_nano());
            rec.pid = 0;
            rec.pid_start = 0;
            state.update(&rec)?;
            cleanup(ctx, state, &rec, auto_remove(&rec))?;
        }
    }
    Ok(rec)
}

/// [`refresh`] for a listing: a container that another command removes meanwhile (`rm`, a `--rm`
/// monitor) is left out instead of failing the whole listing.
pub fn refresh_all(ctx: &Context, state: &State, list: Vec<ContainerRecord>) -> Result<Vec<ContainerRecord>> {
    let mut out = Vec::with_capacity(list.len());
    for rec in list {
        let id = rec.id.clone();
        match refresh(ctx, state, rec) {
            Ok(r) => out.push(r),
            Err(_) if state.lookup(&id)?.is_none() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// Clear the "stopped by the user" mark before a (re)start.
pub fn mark_started(state: &State, id: &str) -> Result<ContainerRecord> {
    let mut rec = state.get(id)?;
    rec.config["StoppedByUser"] = false.into();
    state.update(&rec)?;
    Ok(rec)
}

/// `--rm` was given.
pub fn auto_remove(rec: &ContainerRecord) -> bool {
    rec.config["AutoRemove"].as_bool().unwrap_or(false)
}

/// Undo what starting a container did: unmount its rootfs, drop its bundle; with `remove`, also delete
/// its storage and its record. Idempotent, collects errors instead of stopping at the first.
pub fn cleanup(ctx: &Context, state: &State, rec: &ContainerRecord, remove: bool) -> Result<()> {
    let mut errors = crate::network::teardown(ctx, rec);
    let dir = storage_dir(ctx, &rec.id);
    rootfs::unmount(&dir.join("merged"));
    crate::procs::remove_freezer(&rec.id);
    // No bundle: the container never started, or whoever saw it exit (its monitor) already cleaned
    // up and said so; like Podman, a second `cleanup` event is not emitted.
    let was_set_up = match std::fs::remove_dir_all(bundle_dir(ctx, &rec.id)) {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => {
            errors.push(format!("removing the bundle: {e}"));
            true
        }
    };
    if remove {
        // `--rm`: a `wait` may be waiting (or about to wait) for this exit code.
        if auto_remove(rec) {
            state.record_exit(rec);
        }
        if let Err(e) = rootfs::remove(&dir) {
            errors.push(format!("{e:#}"));
        }
        if let Err(e) = state.remove(&rec.id) {
            errors.push(format!("{e:#}"));
        }
        if auto_remove(rec) {
            crate::volume::remove_anonymous(ctx, state, rec);
        }
    }
    if was_set_up {
        crate::events::emit(&ctx.storage_root, crate::events::Event::container("cleanup", rec));
    }
    if remove {
        crate::events::emit(&ctx.storage_root, crate::events::Event::container("remove", rec));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        bail!("cleaning up container {}: {}", rec.name, errors.join("; "))
    }
}

/// Send a signal to the container's PID 1.
pub fn kill(rec: &ContainerRecord, sig: nix::sys::signal::Signal) -> Result<()> {
    if !is_running(rec) {
        bail!(user_error(format!(
            "can only kill running containers. {} is in state {}: container state improper",
            rec.name, rec.state
        )));
    }
    if rec.state == "paused" && sig == nix::sys::signal::Signal::SIGKILL {
        crate::procs::thaw(rec);
    }
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(rec.pid as i32), sig)
        .with_context(|| format!("sending {sig} to container {} (pid {})", rec.name, rec.pid))
}

/// Parse a signal name or number (`TERM`, `SIGTERM`, `15`).
pub fn parse_signal(s: &str) -> Result<nix::sys::signal::Signal> {
    use std::str::FromStr;
    if let Ok(n) = s.parse::<i32>() {
        return nix::sys::signal::Signal::try_from(n).map_err(|_| user_error(format!("invalid signal {s:?}")));
    }
    let up = s.to_uppercase();
    let name = if up.starts_with("SIG") { up } else { format!("SIG{up}") };
    nix::sys::signal::Signal::from_str(&name).map_err(|_| user_error(format!("invalid signal {s:?}")))
}

/// Wait until the container is no longer running and its exit is recorded; returns the record.
pub fn wait_exited(ctx: &Context, state: &State, id: &str, timeout: Option<Duration>) -> Result<ContainerRecord> {
    let start = Instant::now();
    let mut delay = Duration::from_millis(5);
    loop {
        let rec = refresh(ctx, state, state.get(id)?)?;
        if !matches!(rec.state.as_str(), "running" | "paused") {
            return Ok(rec);
        }
        if timeout.is_some_and(|t| start.elapsed() >= t) {
            return Ok(rec);
        }
        std::thread::sleep(delay);
        delay = (delay * 2).min(Duration::from_millis(100));
    }
}

/// The container's stop timeout in seconds (`--stop-timeout`, Podman's default 10): what `stop`,
/// `restart`, `rm -f` and `pod stop`/`pod rm -f` wait after the stop signal unless `-t` is given.
pub fn stop_timeout(rec: &ContainerRecord) -> u64 {
    rec.config["StopTimeout"].as_u64().unwrap_or(10)
}

/// `stop`: the stop signal, then SIGKILL after `timeout`.
pub fn stop(ctx: &Context, state: &State, rec: &ContainerRecord, timeout: u64) -> Result<ContainerRecord> {
    let rec = refresh(ctx, state, rec.clone())?;
    if !is_running(&rec) {
        return Ok(rec);
    }
    // The monitor must not restart a container the user stopped.
    {
        let _lock = state.lock_container(&rec.id)?;
        let mut fresh = state.get(&rec.id)?;
        fresh.config["StoppedByUser"] = true.into();
        state.update(&fresh)?;
    }
    let sig =
        rec.config["StopSignal"].as_str().map(parse_signal).transpose()?.unwrap_or(nix::sys::signal::Signal::SIGTERM);
    if rec.state == "paused" {
        crate::procs::thaw(&rec);
    }
    let _ = kill(&rec, sig);
    let deadline = Instant::now() + Duration::from_secs(timeout);
    while Instant::now() < deadline && process_alive(rec.pid, rec.pid_start) {
        std::thread::sleep(Duration::from_millis(20));
    }
    if process_alive(rec.pid, rec.pid_start) {
        tracing::debug!("container {}: still running {timeout}s after {sig}; sending SIGKILL", rec.name);
        let _ = kill(&rec, nix::sys::signal::Signal::SIGKILL);
    }
    let r = wait_exited(ctx, state, &rec.id, Some(Duration::from_secs(10)))?;
    // The monitor records the exit, then cleans up (unmounts the rootfs, tears down the network): stop
    // returns once that is done too, so the next command (mount, start, rm) finds a settled container.
    wait_monitor_gone(&r, Duration::from_secs(10));
    crate::events::emit(&ctx.storage_root, crate::events::Event::container("stop", &r));
    Ok(r)
}

/// Wait (up to `timeout`) until the previous monitor of a container that is no longer running has
/// finished cleaning up, so a new start does not race its unmount.
pub fn wait_monitor_gone(rec: &ContainerRecord, timeout: Duration) {
    let me = std::process::id() as i64;
    if rec.monitor_pid <= 0 || rec.monitor_pid == me {
        return;
    }
    let deadline = Instant::now() + timeout;
    while process_alive(rec.monitor_pid, 0) && Instant::now() < deadline {
        let comm = std::fs::read_to_string(format!("/proc/{}/comm", rec.monitor_pid)).unwrap_or_default();
        if comm.trim() != "warren-monitor" {
            return; // the pid is something else now
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `rm`: refuses a running container unless `force`; then stops it like Podman: the stop signal, and
/// SIGKILL after `timeout` seconds (`rm -t`), else after the container's own stop timeout.
pub fn remove(ctx: &Context, state: &State, rec: &ContainerRecord, force: bool, timeout: Option<u64>) -> Result<()> {
    let mut rec = refresh(ctx, state, rec.clone())?;
    if is_running(&rec) {
        if !force {
            bail!(user_error(format!(
                "cannot remove container {} as it is running - running or paused containers cannot be removed without force: container state improper",
                rec.id
            )));
        }
        let stopped = stop(ctx, state, &rec, timeout.unwrap_or_else(|| stop_timeout(&rec)))?;
        // Let its monitor finish its cleanup (and, with --rm, the removal) before ours.
        wait_monitor_gone(&stopped, Duration::from_secs(10));
        match state.lookup(&rec.id)? {
            Some(fresh) => rec = fresh,
            None => return Ok(()), // removed by its monitor (--rm)
        }
    }
    let _lock = state.lock_container(&rec.id)?;
    cleanup(ctx, state, &rec, true)
}

/// Podman's STATUS column: `Up 5 seconds`, `Exited (0) 3 seconds ago`, `Created`.
pub fn status_line(rec: &ContainerRecord) -> String {
    match rec.state.as_str() {
        "running" => format!(
            "Up {}",
            crate::format::human_duration(crate::format::seconds_since(rec.started.as_deref().unwrap_or("")))
        ),
        "paused" => "Paused".into(),
        "exited" | "stopped" => format!(
            "Exited ({}) {} ago",
            rec.exit_code.unwrap_or(0),
            crate::format::human_duration(crate::format::seconds_since(rec.finished.as_deref().unwrap_or("")))
        ),
        "created" => "Created".into(),
        other => other.to_string(),
    }
}
