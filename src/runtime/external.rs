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
    if ctx.rootless || !uses_cgroups(bundle) {
        // Cgroups are touched only when the container asks for limits.
        c.arg("--cgroup-manager=disabled");
    }
    c.arg("run").arg("--bundle").arg(bundle).arg("--pid-file").arg(pid_file).arg(id);
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
