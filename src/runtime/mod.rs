//! Runtimes: the OCI `config.json` generated from a [`crate::plan::ContainerPlan`], Warren's embedded runtime
//! (the default) and external OCI runtimes (`--runtime crun`), both driven from the same bundle.

pub mod embedded;
pub mod external;
pub mod spec;

use anyhow::Result;
use std::path::Path;
use std::process::Command;

use crate::context::Context;

/// The command that creates, starts and waits for the container in `bundle` (like `crun run`), writing
/// the container's pid to `pid_file` before its process runs. It exits with the container's status.
pub fn command(ctx: &Context, bundle: &Path, id: &str, pid_file: &Path) -> Result<Command> {
    match external_name(ctx) {
        None => {
            let mut c = Command::new("/proc/self/exe");
            c.arg("--log-level").arg(&ctx.global.log_level).arg("__runtime").arg("run");
            c.arg("--bundle").arg(bundle).arg("--pid-file").arg(pid_file).arg(id);
            Ok(c)
        }
        Some(rt) => external::run_command(ctx, rt, bundle, id, pid_file),
    }
}

/// The command that runs the process described by `config` (a config.json; for an external runtime
/// only its `process` is used) in the running container `id` whose PID 1 is `pid`, and exits with the
/// process's status.
pub fn exec_command(ctx: &Context, id: &str, pid: i64, config: &Path) -> Result<Command> {
    match external_name(ctx) {
        None => {
            let mut c = Command::new("/proc/self/exe");
            c.arg("--log-level").arg(&ctx.global.log_level).arg("__runtime").arg("exec");
            c.arg("--pid").arg(pid.to_string()).arg("--config").arg(config);
            Ok(c)
        }
        Some(rt) => external::exec_command(ctx, rt, id, config),
    }
}

/// After the runtime process exited with `code`: drop an external runtime's state for the container, and
/// turn the runtime's own failures (not the container's) into 125/126/127 like Podman. Returns the exit
/// code to report.
pub fn after_exit(ctx: &Context, id: &str, bundle: &Path, code: i32) -> i32 {
    match external_name(ctx) {
        Some(rt) => {
            external::delete(ctx, rt, id);
            external::map_exit(bundle, code)
        }
        None => code,
    }
}

/// `--runtime NAME|PATH`, unless it names the embedded runtime.
fn external_name(ctx: &Context) -> Option<&str> {
    ctx.global.runtime.as_deref().filter(|r| *r != "warren" && !r.is_empty())
}
