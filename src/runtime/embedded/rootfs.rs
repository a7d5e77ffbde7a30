//! The container's filesystem, set up by the container process in its new mount namespace: the rootfs
//! bound onto itself, the spec's mounts (proc, /dev, devpts, sysfs with an rbind fallback, binds,
//! tmpfs), device nodes (mknod, or a bind of the host's node where mknod is refused, as in a user
//! namespace), pivot_root, then masked and read-only paths.

use super::sys::{self, on, Fail, Result};
use nix::errno::Errno;
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sys::stat::{mknod, Mode, SFlag};
use oci_spec::runtime::{LinuxDevice, Mount};
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Component, Path, PathBuf};

/// Mount options split into flags, propagation and filesystem data.
#[derive(Debug, PartialEq)]
pub struct Options {
    pub flags: MsFlags,
    pub clear: MsFlags,
    pub propagation: MsFlags,
    pub data: Vec<String>,
    pub bind: bool,
    pub recursive: bool,
}

pub fn parse_options(options: &[String]) -> Options {
    let mut o = Options {
        flags: MsFlags::empty(),
        clear: MsFlags::empty(),
        propagation: MsFlags::empty(),
        data: Vec::new(),
        bind: false,
        recursive: false,
    };
    for opt in options {
        let (set, clr) = match opt.as_str() {
            "defaults" => (MsFlags::empty(), MsFlags::empty()),
            "ro" => (MsFlags::MS_RDONLY, MsFlags::empty()),
            "rw" => (MsFlags::empty(), MsFlags::MS_RDONLY),
            "nosuid" => (MsFlags::MS_NOSUID, MsFlags::empty()),
            "suid" => (MsFlags::empty(), MsFlags::MS_NOSUID),
            "nodev" => (MsFlags::MS_NODEV, MsFlags::empty()),
            "dev" => (MsFlags::empty(), MsFlags::MS_NODEV),
            "noexec" => (MsFlags::MS_NOEXEC, MsFlags::empty()),
            "exec" => (MsFlags::empty(), MsFlags::MS_NOEXEC),
            "sync" => (MsFlags::MS_SYNCHRONOUS, MsFlags::empty()),
            "async" => (MsFlags::empty(), MsFlags::MS_SYNCHRONOUS),
            "dirsync" => (MsFlags::MS_DIRSYNC, MsFlags::empty()),
            "mand" => (MsFlags::MS_MANDLOCK, MsFlags::empty()),
            "nomand" => (MsFlags::empty(), MsFlags::MS_MANDLOCK),
            "noatime" => (MsFlags::MS_NOATIME, MsFlags::empty()),
            "atime" => (MsFlags::empty(), MsFlags::MS_NOATIME),
            "nodiratime" => (MsFlags::MS_NODIRATIME, MsFlags::empty()),
            "diratime" => (MsFlags::empty(), MsFlags::MS_NODIRATIME),
            "relatime" => (MsFlags::MS_RELATIME, MsFlags::empty()),
            "norelatime" => (MsFlags::empty(), MsFlags::MS_RELATIME),
            "strictatime" => (MsFlags::MS_STRICTATIME, MsFlags::empty()),
            "nostrictatime" => (MsFlags::empty(), MsFlags::MS_STRICTATIME),
            "bind" => {
                o.bind = true;
                continue;
            }
            "rbind" => {
                o.bind = true;
                o.recursive = true;
                continue;
            }
            "private" | "rprivate" | "shared" | "rshared" | "slave" | "rslave" | "unbindable" | "runbindable" => {
                let p = match opt.trim_start_matches('r') {
                    "private" => MsFlags::MS_PRIVATE,
                    "shared" => MsFlags::MS_SHARED,
                    "slave" => MsFlags::MS_SLAVE,
                    _ => MsFlags::MS_UNBINDABLE,
                };
                o.propagation = p | if opt.starts_with('r') { MsFlags::MS_REC } else { MsFlags::empty() };
                continue;
            }
            // Options of other engines' runtimes that have no meaning here.
            "tmpcopyup" | "notmpcopyup" | "z" | "Z" | "U" | "copy" | "nocopy" | "idmap" => continue,
            other => {
                o.data.push(other.to_string());
                continue;
            }
        };
        o.flags |= set;
        o.flags &= !clr;
        o.clear |= clr;
    }
    o
}

/// Resolve `path` (absolute, inside the container) under `root`, following symlinks as the container
/// would see them: an absolute link target restarts at `root`, `..` never climbs above it.
pub fn resolve_in_root(root: &Path, path: &Path) -> PathBuf {
    let mut pending: Vec<std::ffi::OsString> = path
        .components()
        .rev()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_os_string()),
            Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect();
    let mut cur = PathBuf::new();
    let mut links = 0;
    while let Some(comp) = pending.pop() {
        if comp == ".." {
            cur.pop();
            continue;
        }
        let candidate = root.join(&cur).join(&comp);
        match fs::symlink_metadata(&candidate) {
            Ok(m) if m.file_type().is_symlink() && links < 40 => {
                links += 1;
                let Ok(target) = fs::read_link(&candidate) else {
                    cur.push(&comp);
                    continue;
                };
                if target.is_absolute() {
                    cur = PathBuf::new();
                }
                for c in target.components().rev() {
                    match c {
                        Component::Normal(s) => pending.push(s.to_os_string()),
                        Component::ParentDir => pending.push("..".into()),
                        _ => {}
                    }
                }
            }
            _ => cur.push(&comp),
        }
    }
    root.join(cur)
}

fn mkdir_all(p: &Path) -> Result<()> {
    fs::create_dir_all(p).map_err(sys::io_on(format!("mkdir {}", p.display())))
}

/// Create the mount point `dest`: a directory, or an empty file when `file` (binding a file).
fn make_mountpoint(dest: &Path, file: bool) -> Result<()> {
    if fs::symlink_metadata(dest).is_ok() {
        return Ok(());
    }
    if file {
        if let Some(parent) = dest.parent() {
            mkdir_all(parent)?;
        }
        fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dest)
            .map(drop)
            .map_err(sys::io_on(format!("create mount point {}", dest.display())))
    } else {
        mkdir_all(dest)
    }
}

fn data_str(o: &Options) -> Option<String> {
    (!o.data.is_empty()).then(|| o.data.join(","))
}

/// Apply ro/nosuid/nodev/noexec to a bind mount. mount_setattr first (recursive for rbind, and blind to
/// the flags the kernel locked on the source); on older kernels a bind remount that repeats the
/// source's locked flags, which a user namespace requires.
pub fn restrict_bind(dest: &Path, flags: MsFlags, recursive: bool) -> Result<()> {
    let wanted = flags & (MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC);
    if wanted.is_empty() {
        return Ok(());
    }
    match sys::mount_setattr(dest, wanted, recursive) {
        Ok(()) => return Ok(()),
        Err(Errno::ENOSYS) => {}
        Err(e) => tracing::debug!("mount_setattr {}: {}; trying a bind remount", dest.display(), e.desc()),
    }
    let mut locked = MsFlags::empty();
    if let Ok(st) = nix::sys::statvfs::statvfs(dest) {
        use nix::sys::statvfs::FsFlags;
        let f = st.flags();
        for (a, b) in [
            (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
            (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
            (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
            (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
            (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
            (FsFlags::ST_RELATIME, MsFlags::MS_RELATIME),
            (FsFlags::ST_RDONLY, MsFlags::MS_RDONLY),
        ] {
            if f.contains(a) {
                locked |= b;
            }
        }
    }
    mount(None::<&str>, dest, None::<&str>, MsFlags::MS_BIND | MsFlags::MS_REMOUNT | wanted | locked, None::<&str>)
        .map_err(on(format!("remount {} {}", dest.display(), describe(wanted))))
}

fn describe(f: MsFlags) -> String {
    let mut v = Vec::new();
    for (flag, name) in [
        (MsFlags::MS_RDONLY, "ro"),
        (MsFlags::MS_NOSUID, "nosuid"),
        (MsFlags::MS_NODEV, "nodev"),
        (MsFlags::MS_NOEXEC, "noexec"),
    ] {
        if f.contains(flag) {
            v.push(name);
        }
    }
    v.join(",")
}

fn bind(source: &Path, dest: &Path, recursive: bool) -> Result<()> {
    let flags = MsFlags::MS_BIND | if recursive { MsFlags::MS_REC } else { MsFlags::empty() };
    mount(Some(source), dest, None::<&str>, flags, None::<&str>).map_err(on(format!(
        "bind {} on {}",
        source.display(),
        dest.display()
    )))
}

/// One mount of the spec, `dest` already resolved under the rootfs.
fn mount_one(m: &Mount, dest: &Path, shown: &str) -> Result<()> {
    let typ = m.typ().as_deref().unwrap_or("bind");
    let opts = parse_options(m.options().as_deref().unwrap_or(&[]));
    let source = m.source().clone().unwrap_or_else(|| PathBuf::from(typ));
    if opts.bind || typ == "bind" {
        let is_file = fs::metadata(&source).map(|md| !md.is_dir()).unwrap_or(false);
        make_mountpoint(dest, is_file)?;
        bind(&source, dest, opts.recursive || typ == "bind" && !opts.bind)?;
        restrict_bind(dest, opts.flags, opts.recursive)?;
    } else {
        make_mountpoint(dest, false)?;
        match typ {
            "sysfs" => {
                if let Err(e) = mount(Some("sysfs"), dest, Some("sysfs"), opts.flags, data_str(&opts).as_deref()) {
                    // sysfs needs a network namespace owned by our user namespace: with the host's
                    // network (or rootless without one) bind the host's /sys instead, read-only.
                    tracing::debug!("mount sysfs on {shown}: {}; binding /sys instead", e.desc());
                    bind(Path::new("/sys"), dest, true)?;
                    restrict_bind(dest, opts.flags | MsFlags::MS_RDONLY, true)?;
                }
            }
            "cgroup" | "cgroup2" => {
                // Best effort: the host's hierarchy, read-only (Warren does not manage container
                // cgroups in the embedded runtime).
                let host = Path::new("/sys/fs/cgroup");
                let r = mount(Some(host), dest, None::<&str>, MsFlags::MS_BIND | MsFlags::MS_REC, None::<&str>)
                    .map_err(on(format!("bind {} on {shown}", host.display())))
                    .and_then(|_| restrict_bind(dest, MsFlags::MS_RDONLY | opts.flags, true));
                if let Err(e) = r {
                    tracing::debug!("{e}; the container has no /sys/fs/cgroup");
                }
            }
            "devpts" => {
                let r = mount(Some("devpts"), dest, Some("devpts"), opts.flags, data_str(&opts).as_deref());
                match r {
                    Err(Errno::EINVAL) if opts.data.iter().any(|d| d.starts_with("gid=")) => {
                        // gid 5 is not mapped in this user namespace.
                        let data: Vec<_> = opts.data.iter().filter(|d| !d.starts_with("gid=")).cloned().collect();
                        mount(Some("devpts"), dest, Some("devpts"), opts.flags, Some(data.join(",").as_str()))
                            .map_err(on(format!("mount devpts on {shown}")))?;
                    }
                    r => r.map_err(on(format!("mount devpts on {shown}")))?,
                }
            }
            "mqueue" => {
                if let Err(e) = mount(Some("mqueue"), dest, Some("mqueue"), opts.flags, data_str(&opts).as_deref()) {
                    tracing::debug!("mount mqueue on {shown}: {} (best effort, skipped)", e.desc());
                }
            }
            _ => {
                let src =
                    m.source().as_ref().map(|p| p.to_string_lossy().into_owned()).unwrap_or_else(|| typ.to_string());
                mount(Some(src.as_str()), dest, Some(typ), opts.flags, data_str(&opts).as_deref())
                    .map_err(on(format!("mount {typ} on {shown}")))?;
            }
        }
    }
    if !opts.propagation.is_empty() {
        mount(None::<&str>, dest, None::<&str>, opts.propagation, None::<&str>)
            .map_err(on(format!("set propagation of {shown}")))?;
    }
    Ok(())
}

fn make_device(rootfs: &Path, dev: &LinuxDevice) -> Result<()> {
    let dest = resolve_in_root(rootfs, dev.path());
    let shown = dev.path().display();
    let _ = fs::remove_file(&dest);
    if let Some(parent) = dest.parent() {
        mkdir_all(parent)?;
    }
    let kind = match dev.typ() {
        oci_spec::runtime::LinuxDeviceType::B => SFlag::S_IFBLK,
        oci_spec::runtime::LinuxDeviceType::P => SFlag::S_IFIFO,
        _ => SFlag::S_IFCHR,
    };
    let mode = Mode::from_bits_truncate(dev.file_mode().unwrap_or(0o666));
    let devno = nix::sys::stat::makedev(dev.major() as u64, dev.minor() as u64);
    match mknod(&dest, kind, mode, devno) {
        Ok(()) => {
            // mknod applies the umask; chmod sets the requested mode.
            let _ = nix::sys::stat::fchmodat(None, &dest, mode, nix::sys::stat::FchmodatFlags::FollowSymlink);
            let _ = nix::unistd::chown(
                &dest,
                dev.uid().map(nix::unistd::Uid::from_raw),
                dev.gid().map(nix::unistd::Gid::from_raw),
            );
            Ok(())
        }
        Err(Errno::EPERM) | Err(Errno::EACCES) => {
            // A user namespace may not create device nodes: bind the host's node.
            make_mountpoint(&dest, true)?;
            bind(dev.path(), &dest, false).map_err(|e| Fail::runtime(format!("create device {shown}: {e}")))
        }
        Err(e) => Err(sys::errno_fail(format!("mknod {shown}"), e)),
    }
}

/// Everything up to and including pivot_root. `cwd` is created if missing, as Podman does for
/// WorkingDir.
pub fn prepare(rootfs: &Path, mounts: &[Mount], devices: &[LinuxDevice], cwd: &Path) -> Result<()> {
    mount(None::<&str>, "/", None::<&str>, MsFlags::MS_REC | MsFlags::MS_PRIVATE, None::<&str>)
        .map_err(on("make / rprivate"))?;
    bind(rootfs, rootfs, true)?;
    for m in mounts {
        let shown = m.destination().display().to_string();
        let dest = resolve_in_root(rootfs, m.destination());
        mount_one(m, &dest, &shown)?;
    }
    for d in devices {
        make_device(rootfs, d)?;
    }
    let dev = resolve_in_root(rootfs, Path::new("/dev"));
    for (link, target) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
        ("core", "/proc/kcore"),
    ] {
        let p = dev.join(link);
        if fs::symlink_metadata(&p).is_err() {
            symlink(target, &p).map_err(sys::io_on(format!("symlink /dev/{link}")))?;
        }
    }
    let ptmx = dev.join("ptmx");
    if dev.join("pts/ptmx").exists() {
        let _ = fs::remove_file(&ptmx);
        symlink("pts/ptmx", &ptmx).map_err(sys::io_on("symlink /dev/ptmx"))?;
    }
    mkdir_all(&resolve_in_root(rootfs, cwd))?;

    nix::unistd::chdir(rootfs).map_err(on(format!("chdir {}", rootfs.display())))?;
    sys::pivot_root_dot().map_err(on(format!("pivot_root {}", rootfs.display())))?;
    // The old root is now stacked under the new one at "."; detach it.
    umount2(".", MntFlags::MNT_DETACH).map_err(on("umount the old root"))?;
    nix::unistd::chdir("/").map_err(on("chdir /"))?;
    Ok(())
}

/// Masked paths: /dev/null over files, an empty read-only tmpfs over directories; missing paths are
/// skipped.
pub fn mask(paths: &[String]) -> Result<()> {
    for p in paths {
        let Ok(md) = fs::metadata(p) else { continue };
        let r = if md.is_dir() {
            mount(Some("tmpfs"), p.as_str(), Some("tmpfs"), MsFlags::MS_RDONLY, Some("size=0k"))
        } else {
            mount(Some("/dev/null"), p.as_str(), None::<&str>, MsFlags::MS_BIND, None::<&str>)
        };
        r.map_err(on(format!("mask {p}")))?;
    }
    Ok(())
}

/// Read-only paths: a recursive bind of the path onto itself, made read-only.
pub fn readonly(paths: &[String]) -> Result<()> {
    for p in paths {
        if fs::symlink_metadata(p).is_err() {
            continue;
        }
        bind(Path::new(p), Path::new(p), true)?;
        restrict_bind(
            Path::new(p),
            MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
            true,
        )?;
    }
    Ok(())
}

/// `root.readonly`: remount / read-only (not recursive: /dev, /proc, /dev/shm stay writable).
pub fn readonly_root() -> Result<()> {
    restrict_bind(Path::new("/"), MsFlags::MS_RDONLY, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let o = parse_options(&s(&["rbind", "ro", "nosuid", "rprivate", "size=10m", "mode=755"]));
        assert!(o.bind && o.recursive);
        assert_eq!(o.flags, MsFlags::MS_RDONLY | MsFlags::MS_NOSUID);
        assert_eq!(o.propagation, MsFlags::MS_PRIVATE | MsFlags::MS_REC);
        assert_eq!(o.data, s(&["size=10m", "mode=755"]));
        let o = parse_options(&s(&["ro", "rw"]));
        assert!(o.flags.is_empty());
    }

    #[test]
    fn resolve_stays_inside_root() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        fs::create_dir_all(root.join("usr/lib")).unwrap();
        symlink("/usr/lib", root.join("lib")).unwrap();
        symlink("../../../../etc", root.join("usr/escape")).unwrap();
        symlink("lib/x", root.join("rel")).unwrap();
        assert_eq!(resolve_in_root(root, Path::new("/lib/foo")), root.join("usr/lib/foo"));
        assert_eq!(resolve_in_root(root, Path::new("/usr/escape/passwd")), root.join("etc/passwd"));
        assert_eq!(resolve_in_root(root, Path::new("/rel")), root.join("usr/lib/x"));
        assert_eq!(resolve_in_root(root, Path::new("/../../x")), root.join("x"));
    }
}
