//! Runtimes: the OCI `config.json` generated from a [`crate::plan::ContainerPlan`], Warren's embedded runtime
//! (the default) and external OCI runtimes (`--runtime crun`), both driven from the same bundle.

pub mod embedded;
pub mod external;
pub mod spec;

use anyhow::{Context as _, Result};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::context::Context;

/// Run the container in `bundle` to completion under this process and return its exit code
/// (the container's status; 128+N when killed by signal N; 125/126/127 from the runtime).
pub fn run_bundle(ctx: &Context, bundle: &Path, id: &str, interactive: bool) -> Result<i32> {
    let mut cmd = match ctx.global.runtime.as_deref() {
        None | Some("warren") => {
            let mut c = Command::new("/proc/self/exe");
            c.arg("--log-level").arg(&ctx.global.log_level).arg("__runtime").arg("run");
            c.arg("--bundle").arg(bundle).arg(id);
            c
        }
        Some(rt) => external::run_command(ctx, rt, bundle, id)?,
    };
    if !interactive {
        cmd.stdin(Stdio::null());
    }
    tracing::debug!("running {cmd:?}");
    crate::run::forward_signals();
    let mut child = cmd.spawn().with_context(|| format!("starting the runtime {:?}", cmd.get_program()))?;
    crate::run::CHILD_PID.store(child.id() as i32, std::sync::atomic::Ordering::SeqCst);
    let status = loop {
        match child.wait() {
            Ok(s) => break s,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).context("waiting for the container"),
        }
    };
    crate::run::CHILD_PID.store(0, std::sync::atomic::Ordering::SeqCst);
    if let Some(rt) = ctx.global.runtime.as_deref().filter(|r| *r != "warren") {
        external::delete(ctx, rt, id);
    }
    Ok(status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0)))
}
