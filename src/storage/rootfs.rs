//! Container root filesystems: the image's layers plus a writable upper layer, by the best driver that
//! works, tried in this order: the kernel overlay (mounted inside the user namespace with `userxattr`
//! when rootless), fuse-overlayfs, then a plain copy ("vfs"). `--storage-driver` forces one.

use anyhow::{bail, Context as _, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{Digest, Store};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    Overlay,
    FuseOverlayfs,
    Vfs,
}

impl Driver {
    pub fn name(self) -> &'static str {
        match self {
            Driver::Overlay => "overlay",
            Driver::FuseOverlayfs => "fuse-overlayfs",
            Driver::Vfs => "vfs",
        }
    }

    /// Parse `--storage-driver` (Podman's names; `overlay2` accepted as overlay).
    pub fn parse(s: &str) -> Result<Driver> {
        Ok(match s {
            "overlay" | "overlay2" => Driver::Overlay,
            "fuse-overlayfs" => Driver::FuseOverlayfs,
            "vfs" => Driver::Vfs,
            _ => bail!(crate::error::ExitError::new(
                crate::error::EXIT_ENGINE,
                format!("unknown storage driver {s:?}: choose overlay, fuse-overlayfs or vfs")
            )),
        })
    }
}

/// A container's root filesystem, ready for the runtime.
#[derive(Debug)]
pub struct Rootfs {
    pub driver: Driver,
    /// Why this driver was chosen (for `--log-level=debug` and `info`).
    pub reason: String,
    /// The directory the container sees as `/`.
    pub merged: PathBuf,
    /// The container's storage directory (upper, work, merged).
    pub dir: PathBuf,
}

/// Build the root filesystem for `layers` (chain IDs, bottom first) under `dir`. `volatile` (for
/// containers removed when they exit, `--rm`, as Podman does) mounts the kernel overlay with
/// `volatile`: see [`mount_overlay`].
pub fn create(
    store: &Store,
    layers: &[Digest],
    dir: &Path,
    forced: Option<Driver>,
    rootless: bool,
    volatile: bool,
) -> Result<Rootfs> {
    let merged = dir.join("merged");
    for d in ["upper", "work", "merged"] {
        std::fs::create_dir_all(dir.join(d)).with_context(|| format!("creating {}", dir.join(d).display()))?;
    }
    let lowers: Vec<PathBuf> = layers.iter().rev().map(|c| store.layer_diff_dir(c)).collect();
    let lowers = if lowers.is_empty() {
        let empty = dir.join("empty");
        std::fs::create_dir_all(&empty)?;
        vec![empty]
    } else {
        lowers
    };
    let order: Vec<Driver> = match forced {
        Some(d) => vec![d],
        None => vec![Driver::Overlay, Driver::FuseOverlayfs, Driver::Vfs],
    };
    let mut failures = vec![];
    for driver in order {
        let attempt = match driver {
            Driver::Overlay => mount_overlay(&lowers, dir, rootless, volatile),
            Driver::FuseOverlayfs => mount_fuse_overlayfs(&lowers, dir),
            Driver::Vfs => copy_layers(store, layers, &merged),
        };
        match attempt {
            Ok(()) => {
                let reason = if failures.is_empty() {
                    match forced {
                        Some(_) => "forced by --storage-driver".to_string(),
                        None => "first choice; it works here".to_string(),
                    }
                } else {
                    failures.join("; ")
                };
                tracing::debug!("storage driver {} for {} ({reason})", driver.name(), dir.display());
                return Ok(Rootfs { driver, reason, merged, dir: dir.to_path_buf() });
            }
            Err(e) => {
                tracing::debug!("storage driver {} unavailable: {e:#}", driver.name());
                failures.push(format!("{}: {e:#}", driver.name()));
            }
        }
    }
    bail!("no storage driver could build the root filesystem: {}", failures.join("; "))
}

fn join_paths(paths: &[PathBuf]) -> String {
    paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(":")
}

/// The kernel overlay. Rootless it must be mounted inside the user namespace with `userxattr`
/// (Linux ≥ 5.11), which is where the engine runs.
///
/// `volatile` (Linux ≥ 5.10) is for a writable layer that is thrown away when the container exits:
/// without it, unmounting the overlay syncs the whole upper filesystem (`sync_filesystem` of the
/// partition holding the storage, everything anyone wrote there), which on a busy host costs more
/// than the rest of `run --rm` together. Podman mounts `--rm` containers volatile too. A kernel
/// without it refuses the option; then the overlay is mounted without it.
fn mount_overlay(lowers: &[PathBuf], dir: &Path, rootless: bool, volatile: bool) -> Result<()> {
    if volatile {
        // A volatile mount that was not unmounted cleanly (crash, engine namespace gone) leaves
        // work/incompat/volatile, and the kernel refuses to mount that upper again until it is gone.
        let _ = std::fs::remove_dir_all(dir.join("work/incompat"));
        match mount_overlay_with(lowers, dir, rootless, ",volatile") {
            Ok(()) => return Ok(()),
            Err(e) => tracing::debug!("overlay with volatile: {e:#}; mounting it without"),
        }
    }
    mount_overlay_with(lowers, dir, rootless, "")
}

fn mount_overlay_with(lowers: &[PathBuf], dir: &Path, rootless: bool, extra: &str) -> Result<()> {
    let mut data = format!(
        "lowerdir={},upperdir={},workdir={}",
        join_paths(lowers),
        dir.join("upper").display(),
        dir.join("work").display()
    );
    if rootless {
        data.push_str(",userxattr");
    }
    data.push_str(extra);
    nix::mount::mount(
        Some("overlay"),
        &dir.join("merged"),
        Some("overlay"),
        nix::mount::MsFlags::empty(),
        Some(data.as_str()),
    )
    .with_context(|| format!("mount overlay on {} ({data})", dir.join("merged").display()))
}

fn mount_fuse_overlayfs(lowers: &[PathBuf], dir: &Path) -> Result<()> {
    let data = format!(
        "lowerdir={},upperdir={},workdir={}",
        join_paths(lowers),
        dir.join("upper").display(),
        dir.join("work").display()
    );
    let mut cmd = Command::new("fuse-overlayfs");
    cmd.arg("-o").arg(&data).arg(dir.join("merged"));
    tracing::debug!("running {cmd:?}");
    let out = cmd.output().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => anyhow::anyhow!("fuse-overlayfs is not installed"),
        _ => anyhow::anyhow!("running fuse-overlayfs: {e}"),
    })?;
    if !out.status.success() {
        bail!("fuse-overlayfs failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

fn copy_layers(store: &Store, layers: &[Digest], merged: &Path) -> Result<()> {
    if merged.read_dir()?.next().is_some() {
        // A previous start of the same container already copied the layers.
        return Ok(());
    }
    for chain in layers {
        super::extract::apply_layer_dir(merged, &store.layer_diff_dir(chain))
            .with_context(|| format!("copying layer {chain} into {}", merged.display()))?;
    }
    Ok(())
}

/// Unmount (when mounted) and delete a container's root filesystem. Idempotent.
pub fn remove(dir: &Path) -> Result<()> {
    let merged = dir.join("merged");
    unmount(&merged);
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("removing {}", dir.display())),
    }
}

/// Unmount a root filesystem if something is mounted there.
pub fn unmount(merged: &Path) {
    loop {
        match nix::mount::umount2(merged, nix::mount::MntFlags::MNT_DETACH) {
            Ok(()) => continue, // stacked mounts: keep going until EINVAL
            Err(nix::errno::Errno::EINVAL) | Err(nix::errno::Errno::ENOENT) => break,
            Err(e) => {
                tracing::debug!("umount {}: {e}", merged.display());
                break;
            }
        }
    }
}

/// Find the driver `create` would choose, by trying each on an empty layer under `scratch` (removed
/// afterwards). Returns the driver and why it was chosen (and why the others were not).
pub fn probe(scratch: &Path, forced: Option<Driver>, rootless: bool) -> Result<(Driver, String)> {
    let dir = scratch.join(format!("probe-{}", std::process::id()));
    let lower = dir.join("lower");
    for d in ["lower", "upper", "work", "merged"] {
        std::fs::create_dir_all(dir.join(d)).with_context(|| format!("creating {}", dir.join(d).display()))?;
    }
    let order: Vec<Driver> = match forced {
        Some(d) => vec![d],
        None => vec![Driver::Overlay, Driver::FuseOverlayfs, Driver::Vfs],
    };
    let mut failures = vec![];
    let mut chosen = None;
    for driver in order {
        let attempt = match driver {
            Driver::Overlay => mount_overlay(std::slice::from_ref(&lower), &dir, rootless, true),
            Driver::FuseOverlayfs => mount_fuse_overlayfs(std::slice::from_ref(&lower), &dir),
            Driver::Vfs => Ok(()),
        };
        unmount(&dir.join("merged"));
        match attempt {
            Ok(()) => {
                chosen = Some(driver);
                break;
            }
            Err(e) => failures.push(format!("{} unavailable: {e:#}", driver.name())),
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    let driver = chosen.ok_or_else(|| anyhow::anyhow!("no storage driver works here: {}", failures.join("; ")))?;
    let reason = match (forced, failures.is_empty()) {
        (Some(_), _) => "forced by --storage-driver".to_string(),
        (None, true) if driver == Driver::Overlay && rootless => {
            "the kernel overlay mounts inside the user namespace (userxattr)".to_string()
        }
        (None, true) => "the kernel overlay works".to_string(),
        (None, false) => failures.join("; "),
    };
    Ok((driver, reason))
}
