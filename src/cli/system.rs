//! `info`, `version`, `unshare`.

use anyhow::{bail, Result};
use clap::Args;

use crate::context::Context;

#[derive(Args, Debug, Clone)]
pub struct InfoArgs {
    /// Change the output format to JSON or a Go template
    #[arg(short, long)]
    pub format: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct VersionArgs {
    /// Change the output format to JSON or a Go template
    #[arg(short, long)]
    pub format: Option<String>,
}

#[derive(Args, Debug, Clone)]
#[command(trailing_var_arg = true)]
pub struct UnshareArgs {
    /// Command to run (default: the user's shell)
    #[arg(allow_hyphen_values = true)]
    pub command: Vec<String>,
}

pub fn info(_ctx: &Context, _args: InfoArgs) -> Result<i32> {
    bail!("info is not built yet")
}

pub fn version(_ctx: &Context, args: VersionArgs) -> Result<i32> {
    let v = env!("CARGO_PKG_VERSION");
    match args.format.as_deref() {
        Some("json") => println!(
            "{}",
            serde_json::json!({"Client": {"Version": v, "OsArch": format!("{}/{}", std::env::consts::OS, crate::image::host_arch())}})
        ),
        _ => {
            println!("Client:       Warren");
            println!("Version:      {v}");
            println!(
                "OS/Arch:      {}/{}",
                std::env::consts::OS,
                crate::image::host_arch()
            );
        }
    }
    Ok(0)
}

/// `warren unshare [CMD...]`: run CMD (default `$SHELL`, else /bin/sh) inside the engine's user and mount
/// namespace (entered by `Context::new`), exiting with its status. As root it just runs CMD. Like
/// Podman, it sets CONTAINERS_GRAPHROOT and CONTAINERS_RUNROOT for the command.
pub fn unshare(ctx: &Context, args: UnshareArgs) -> Result<i32> {
    use crate::error::{ExitError, EXIT_CANNOT_INVOKE, EXIT_NOT_FOUND};
    use std::os::unix::process::ExitStatusExt;

    let argv = if args.command.is_empty() {
        vec![std::env::var("SHELL")
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "/bin/sh".into())]
    } else {
        args.command
    };
    let mut cmd = std::process::Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .env("CONTAINERS_GRAPHROOT", &ctx.storage_root)
        .env("CONTAINERS_RUNROOT", &ctx.run_dir);
    tracing::debug!("running {argv:?}");
    let mut child = cmd.spawn().map_err(|e| {
        let (code, why) = match e.kind() {
            std::io::ErrorKind::NotFound if !argv[0].contains('/') => (
                EXIT_NOT_FOUND,
                "executable file not found in $PATH".to_string(),
            ),
            std::io::ErrorKind::NotFound => {
                (EXIT_NOT_FOUND, "no such file or directory".to_string())
            }
            std::io::ErrorKind::PermissionDenied => {
                (EXIT_CANNOT_INVOKE, "permission denied".to_string())
            }
            _ => (EXIT_CANNOT_INVOKE, e.to_string()),
        };
        ExitError::new(code, format!("exec: \"{}\": {why}", argv[0]))
    })?;
    // The terminal sends ^C and ^\ to the command too; let it decide, and report how it ended.
    for sig in [
        nix::sys::signal::Signal::SIGINT,
        nix::sys::signal::Signal::SIGQUIT,
    ] {
        // SAFETY: SIG_IGN installs no handler code.
        let _ = unsafe { nix::sys::signal::signal(sig, nix::sys::signal::SigHandler::SigIgn) };
    }
    let status = child
        .wait()
        .map_err(|e| anyhow::anyhow!("waiting for {}: {e}", argv[0]))?;
    Ok(status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)))
}
