//! External OCI runtimes (`--runtime crun`, `runc`, or a path), driven from the same `config.json`.

use anyhow::{bail, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::context::Context;
use crate::error::{ExitError, EXIT_ENGINE};

/// Find the runtime binary: a path, or a name on PATH.
pub fn locate(rt: &str) -> Result<PathBuf> {
    if rt.contains('/') {
        let p = PathBuf::from(rt);
        if p.is_file() {
            return Ok(p);
        }
        bail!(ExitError::new(EXIT_ENGINE, format!("OCI runtime {rt:?} not found")));
    }
    let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into());
    for d in path.split(':').chain(["/usr/local/bin", "/usr/bin", "/usr/sbin", "/sbin"]) {
        let p = Path::new(d).join(rt);
        if p.is_file() {
            return Ok(p);
        }
    }
    bail!(ExitError::new(
        EXIT_ENGINE,
        format!("OCI runtime {rt:?} not found in $PATH: install it (e.g. apt-get install {rt}) or drop --runtime to use Warren's embedded runtime")
    ))
}

/// The state directory we give the external runtime (`--root`), private to this user.
fn state_root(ctx: &Context, rt: &Path) -> PathBuf {
    let name = rt.file_name().map(|s| s.to_string_lossy().to_string()).unwrap_or_else(|| "oci".into());
    ctx.run_dir.join(format!("runtime-{name}"))
}

/// `RUNTIME --root STATE run --bundle BUNDLE ID`: create, start and wait, like Podman's foreground run.
pub fn run_command(ctx: &Context, rt: &str, bundle: &Path, id: &str, pid_file: &Path) -> Result<Command> {
    let bin = locate(rt)?;
    let mut c = Command::new(&bin);
    c.arg("--root").arg(state_root(ctx, &bin));
    // The runtime's own errors go to a log file, so they can be told from the container's output.
    let log = bundle.join("runtime.log");
    let _ = std::fs::remove_file(&log);
    c.arg(format!("--log=file:{}", log.display()));
    if ctx.rootless || !uses_cgroups(bundle) {
        // Cgroups are touched only when the container asks for limits.
        c.arg("--cgroup-manager=disabled");
    }
    c.arg("run").arg("--bundle").arg(bundle).arg("--pid-file").arg(pid_file).arg(id);
    Ok(c)
}

/// `RUNTIME --root STATE exec --process PROCESS.json ID`, the process taken from the config.json
/// `config` (rewritten in place as the process alone).
pub fn exec_command(ctx: &Context, rt: &str, id: &str, config: &Path) -> Result<Command> {
    let bin = locate(rt)?;
    let spec: serde_json::Value = serde_json::from_slice(&std::fs::read(config)?)?;
    std::fs::write(config, serde_json::to_vec(&spec["process"])?)?;
    let mut c = Command::new(&bin);
    c.arg("--root").arg(state_root(ctx, &bin));
    if ctx.rootless {
        c.arg("--cgroup-manager=disabled");
    }
    c.arg("exec").arg("--process").arg(config).arg(id);
    Ok(c)
}

/// Remove the runtime's state for a container (best effort; `run` already waited for it).
pub fn delete(ctx: &Context, rt: &str, id: &str) {
    if let Ok(bin) = locate(rt) {
        let _ = Command::new(&bin).arg("--root").arg(state_root(ctx, &bin)).args(["delete", "--force", id]).output();
    }
}

/// Whether the bundle's config asks for resource limits (then the runtime must manage cgroups).
fn uses_cgroups(bundle: &Path) -> bool {
    std::fs::read(bundle.join("config.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .map(|v| {
            let r = &v["linux"]["resources"];
            !r["memory"]["limit"].is_null() || !r["cpu"]["quota"].is_null() || !r["pids"]["limit"].is_null()
        })
        .unwrap_or(false)
}

/// After an external runtime exited with `code`: when its log holds an error of its own (the container
/// never ran), print it the way Podman does and return 127 (command not found), 126 (cannot invoke) or
/// 125 (any other runtime failure). Otherwise the code is the container's.
pub fn map_exit(bundle: &Path, code: i32) -> i32 {
    if code == 0 {
        return code;
    }
    let log = std::fs::read_to_string(bundle.join("runtime.log")).unwrap_or_default();
    let Some(line) = log.lines().rev().find(|l| !l.trim().is_empty()) else { return code };
    // crun's text format: `TIME: LEVEL: MESSAGE` or JSON `{"msg":...}`; keep the message part.
    let msg = serde_json::from_str::<serde_json::Value>(line)
        .ok()
        .and_then(|v| v["msg"].as_str().map(str::to_string))
        .unwrap_or_else(|| line.to_string());
    let lower = msg.to_lowercase();
    let mapped = if lower.contains("not found") || lower.contains("no such file") {
        crate::error::EXIT_NOT_FOUND
    } else if lower.contains("permission denied") || lower.contains("exec format error") {
        crate::error::EXIT_CANNOT_INVOKE
    } else {
        EXIT_ENGINE
    };
    tracing::debug!("the OCI runtime failed before the container ran: {msg}");
    mapped
}
