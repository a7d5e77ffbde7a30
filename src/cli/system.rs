//! `info`, `version`, `unshare`.

use anyhow::Result;
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

/// Body of the hidden `__probe-driver`: runs inside the engine namespace, prints `DRIVER\tREASON`.
pub fn probe_driver(ctx: &Context) -> Result<i32> {
    let forced = ctx.global.storage_driver.as_deref().map(crate::storage::rootfs::Driver::parse).transpose()?;
    let scratch = ctx.storage_root.join("tmp");
    let (d, why) = crate::storage::rootfs::probe(&scratch, forced, ctx.rootless)?;
    println!("{}\t{why}", d.name());
    Ok(0)
}

/// Ask a child in the engine namespace which storage driver works (info itself never needs the namespace).
fn driver_report(ctx: &Context) -> (String, String) {
    let mut cmd = std::process::Command::new("/proc/self/exe");
    cmd.arg("--root").arg(&ctx.storage_root).arg("--runroot").arg(&ctx.run_dir);
    if let Some(d) = &ctx.global.storage_driver {
        cmd.arg("--storage-driver").arg(d);
    }
    cmd.arg("__probe-driver").stdin(std::process::Stdio::null());
    match cmd.output() {
        Ok(o) if o.status.success() => {
            let text = String::from_utf8_lossy(&o.stdout).to_string();
            let (d, why) = text.trim().split_once('\t').unwrap_or((text.trim(), ""));
            (d.to_string(), why.to_string())
        }
        Ok(o) => ("unknown".into(), String::from_utf8_lossy(&o.stderr).trim().to_string()),
        Err(e) => ("unknown".into(), format!("probing: {e}")),
    }
}

fn cgroup_version() -> &'static str {
    match nix::sys::statfs::statfs("/sys/fs/cgroup") {
        Ok(s) if s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC => "v2",
        Ok(_) => "v1",
        Err(_) => "unknown",
    }
}

fn id_map_json(m: &[userns::IdMapEntry]) -> serde_json::Value {
    m.iter().map(|e| serde_json::json!({"container_id": e.container, "host_id": e.host, "size": e.size})).collect()
}

/// The `--network` modes this machine can use: the user-mode programs that are installed (pasta first,
/// the default), then the modes that need none.
fn network_modes() -> Vec<&'static str> {
    let mut modes: Vec<&str> =
        ["pasta", "slirp4netns"].into_iter().filter(|p| net::mode::find_in_path(p).is_some()).collect();
    modes.extend(["none", "host", "container", "ns", "private"]);
    modes
}

/// `warren info`: the host, the id mapping and how it was chosen, storage (driver and why), versions.
pub fn info(ctx: &Context, args: InfoArgs) -> Result<i32> {
    let (driver, reason) = driver_report(ctx);
    let (kind, why) = match &ctx.mapping.kind {
        userns::MappingKind::Identity => ("identity", String::new()),
        userns::MappingKind::Subordinate => ("subordinate", "ranges from /etc/subuid and /etc/subgid".into()),
        userns::MappingKind::SingleId { reason } => ("single-id", reason.clone()),
    };
    let kernel = nix::sys::utsname::uname().map(|u| u.release().to_string_lossy().to_string()).unwrap_or_default();
    let find = |p: &str| userns::find_helper(p).map(|p| p.display().to_string()).unwrap_or_default();
    let images = crate::storage::Store::open(ctx).and_then(|s| s.images()).map(|v| v.len()).unwrap_or(0);
    let containers = crate::state::State::open(&ctx.storage_root).and_then(|s| s.list()).map(|v| v.len()).unwrap_or(0);
    let runtime = ctx.global.runtime.clone().unwrap_or_else(|| "warren (embedded)".into());
    let v = serde_json::json!({
        "host": {
            "arch": crate::image::host_arch(),
            "os": std::env::consts::OS,
            "kernel": kernel,
            "cgroupVersion": cgroup_version(),
            "security": {"rootless": ctx.rootless},
            "idMappings": {"uidmap": id_map_json(&ctx.mapping.map.uids), "gidmap": id_map_json(&ctx.mapping.map.gids)},
            "idMappingKind": kind,
            "idMappingReason": why,
            "ociRuntime": {"name": runtime},
            "networkModes": network_modes(),
            "newuidmap": find("newuidmap"),
            "fuseOverlayfs": find("fuse-overlayfs"),
            "pasta": find("pasta"),
            "slirp4netns": find("slirp4netns"),
        },
        "store": {
            "graphRoot": ctx.storage_root,
            "runRoot": ctx.run_dir,
            "graphDriverName": driver,
            "graphDriverReason": reason,
            "imageStore": {"number": images},
            "containerStore": {"number": containers},
        },
        "version": {"Version": env!("CARGO_PKG_VERSION"), "OsArch": format!("{}/{}", std::env::consts::OS, crate::image::host_arch())},
    });
    match args.format.as_deref() {
        Some("json") => println!("{}", serde_json::to_string_pretty(&v)?),
        Some(t) => println!("{}", crate::format::render_simple(t, &v)?),
        None => print!("{}", crate::format::yaml(&v, 0)),
    }
    Ok(0)
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
            println!("OS/Arch:      {}/{}", std::env::consts::OS, crate::image::host_arch());
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
        vec![std::env::var("SHELL").ok().filter(|s| !s.is_empty()).unwrap_or_else(|| "/bin/sh".into())]
    } else {
        args.command
    };
    let mut cmd = std::process::Command::new(&argv[0]);
    cmd.args(&argv[1..]).env("CONTAINERS_GRAPHROOT", &ctx.storage_root).env("CONTAINERS_RUNROOT", &ctx.run_dir);
    tracing::debug!("running {argv:?}");
    let mut child = cmd.spawn().map_err(|e| {
        let (code, why) = match e.kind() {
            std::io::ErrorKind::NotFound if !argv[0].contains('/') => {
                (EXIT_NOT_FOUND, "executable file not found in $PATH".to_string())
            }
            std::io::ErrorKind::NotFound => (EXIT_NOT_FOUND, "no such file or directory".to_string()),
            std::io::ErrorKind::PermissionDenied => (EXIT_CANNOT_INVOKE, "permission denied".to_string()),
            _ => (EXIT_CANNOT_INVOKE, e.to_string()),
        };
        ExitError::new(code, format!("exec: \"{}\": {why}", argv[0]))
    })?;
    // The terminal sends ^C and ^\ to the command too; let it decide, and report how it ended.
    for sig in [nix::sys::signal::Signal::SIGINT, nix::sys::signal::Signal::SIGQUIT] {
        // SAFETY: SIG_IGN installs no handler code.
        let _ = unsafe { nix::sys::signal::signal(sig, nix::sys::signal::SigHandler::SigIgn) };
    }
    let status = child.wait().map_err(|e| anyhow::anyhow!("waiting for {}: {e}", argv[0]))?;
    Ok(status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0)))
}
