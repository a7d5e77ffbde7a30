//! A container's filesystem from the host: `cp`, `diff`, `export`, `mount`/`unmount`.
//!
//! Paths inside the container are resolved with openat2(RESOLVE_IN_ROOT) against its root
//! filesystem, so a symlink in the container (even an absolute one, or `..`) never leads out of it.
//! Copies are tar streams: produced without following symlinks, and written with the same safe
//! extraction as image layers ([`crate::storage::extract::extract_tar`]). They see the container's
//! root filesystem only, not its volumes or tmpfs mounts.

use anyhow::{bail, Context as _, Result};
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use crate::container;
use crate::context::Context;
use crate::error::{ExitError, EXIT_ENGINE};
use crate::state::{ContainerRecord, State};
use crate::storage::extract::{self, ExtractOptions, IdPolicy, LayerLabel};
use crate::storage::rootfs;

fn user_error(msg: impl Into<String>) -> anyhow::Error {
    ExitError::new(EXIT_ENGINE, msg).into()
}

/// Whether `p` is a mount point (its device differs from its parent's).
pub fn is_mounted(p: &Path) -> bool {
    match (std::fs::metadata(p), p.parent().map(std::fs::metadata)) {
        (Ok(a), Some(Ok(b))) => a.dev() != b.dev(),
        _ => false,
    }
}

/// Rootless `mount`/`unmount` only make sense inside `warren unshare` (the mount lives in the engine's
/// mount namespace), as in Podman.
pub fn require_unshare(cmd: &str) -> Result<()> {
    let rootless = !nix::unistd::geteuid().is_root() || userns::in_engine_namespace();
    if rootless && !userns::in_engine_namespace() {
        bail!(user_error(format!(
            "cannot run command \"warren {cmd}\" in rootless mode, must execute `warren unshare` first"
        )));
    }
    Ok(())
}

/// The container's root filesystem, mounted for as long as this guard lives (left as it was found).
struct Rootfs {
    merged: PathBuf,
    mounted_here: bool,
}

impl Drop for Rootfs {
    fn drop(&mut self) {
        if self.mounted_here {
            rootfs::unmount(&self.merged);
        }
    }
}

fn driver_of(rec: &ContainerRecord) -> Result<Option<rootfs::Driver>> {
    rec.config["Driver"].as_str().map(rootfs::Driver::parse).transpose()
}

/// Mount the container's rootfs when it is not (a stopped container), as `prepare` does before a start.
fn ensure_mounted(ctx: &Context, rec: &ContainerRecord) -> Result<(PathBuf, bool)> {
    let dir = container::storage_dir(ctx, &rec.id);
    let merged = dir.join("merged");
    let driver = driver_of(rec)?;
    if driver == Some(rootfs::Driver::Vfs) || is_mounted(&merged) {
        return Ok((merged, false));
    }
    let store = crate::storage::Store::open(ctx)?;
    let layers: Vec<crate::storage::Digest> = serde_json::from_value(rec.config["Layers"].clone()).unwrap_or_default();
    rootfs::create(&store, &layers, &dir, driver, ctx.rootless, container::auto_remove(rec))
        .with_context(|| format!("mounting the root filesystem of container {}", rec.name))?;
    Ok((merged, true))
}

fn open_rootfs(ctx: &Context, rec: &ContainerRecord) -> Result<Rootfs> {
    let (merged, mounted_here) = ensure_mounted(ctx, rec)?;
    Ok(Rootfs { merged, mounted_here })
}

#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
const RESOLVE_IN_ROOT: u64 = 0x10;

/// openat2(dirfd, path, O_PATH, RESOLVE_IN_ROOT): `path` resolved as if `dirfd` were `/`.
fn openat2_in_root(dirfd: &OwnedFd, path: &Path) -> std::io::Result<OwnedFd> {
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))?;
    let how = OpenHow {
        flags: (libc::O_PATH | libc::O_CLOEXEC) as u64,
        mode: 0,
        resolve: RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    };
    // SAFETY: `c` and `how` outlive the call; the size is the struct's; the result is a new fd we own.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dirfd.as_raw_fd(),
            c.as_ptr(),
            &how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: the kernel just gave us this descriptor.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// The host path of container path `path` inside `root`, or None when it does not exist. Never
/// outside `root`.
fn resolve(root: &Path, path: &str) -> Result<Option<PathBuf>> {
    let rootfd: OwnedFd = std::fs::File::open(root).with_context(|| format!("opening {}", root.display()))?.into();
    let fd = match openat2_in_root(&rootfd, Path::new(path)) {
        Ok(fd) => fd,
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT) | Some(libc::ENOTDIR)) => return Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => {
            bail!("resolving {path} in the container: openat2 is not available (Linux ≥ 5.6 needed)")
        }
        Err(e) => return Err(e).with_context(|| format!("resolving {path} in the container")),
    };
    let real = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))
        .with_context(|| format!("resolving {path} in the container"))?;
    let root_real = std::fs::canonicalize(root)?;
    if !real.starts_with(&root_real) {
        bail!("{path} resolves outside the container ({})", real.display());
    }
    Ok(Some(real))
}

/// Like [`resolve`], but a final symlink is the link itself (cp copies a symlink as a symlink, like
/// Podman without -L); a trailing `/` or `/.` follows it.
fn resolve_source(root: &Path, path: &str) -> Result<Option<PathBuf>> {
    let p = Path::new(path);
    let name = match p.file_name() {
        Some(n) if !path.ends_with('/') && !path.ends_with("/.") => n,
        _ => return resolve(root, path),
    };
    let parent = p.parent().map(|x| x.to_string_lossy().to_string()).filter(|x| !x.is_empty());
    let Some(dir) = resolve(root, parent.as_deref().unwrap_or("/"))? else { return Ok(None) };
    let full = dir.join(name);
    Ok(full.symlink_metadata().is_ok().then_some(full))
}

/// `CONTAINER:PATH` → (container, path); a host path or `-` → None.
fn split_ref(s: &str) -> Option<(&str, &str)> {
    if s == "-" || s.starts_with('/') || s.starts_with('.') {
        return None;
    }
    let (c, p) = s.split_once(':')?;
    (!c.is_empty() && !c.contains('/')).then_some((c, p))
}

fn base_name(p: &Path) -> Result<std::ffi::OsString> {
    match p.file_name() {
        Some(n) => Ok(n.to_os_string()),
        None => bail!(user_error(format!("{}: cannot copy a path without a final name", p.display()))),
    }
}

/// Who owns copied files: as archived, or all given to one uid/gid (Podman's `cp --archive`: the
/// container's user when copying in, the invoking user when copying out rootless).
pub type Owner = Option<(u32, u32)>;

/// Write a tar of `src` (not following symlinks) to `out`: its top entry named `name`, or with
/// `contents`, only the entries below a directory.
fn write_tar(src: &Path, name: &std::ffi::OsStr, contents: bool, owner: Owner, out: impl Write) -> Result<()> {
    let mut b = tar::Builder::new(out);
    let meta = std::fs::symlink_metadata(src).with_context(|| format!("reading {}", src.display()))?;
    if meta.is_dir() && contents {
        let mut entries: Vec<_> = std::fs::read_dir(src)?.collect::<std::io::Result<_>>()?;
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            append(&mut b, &e.path(), Path::new(&e.file_name()), owner)?;
        }
    } else {
        append(&mut b, src, Path::new(name), owner)?;
    }
    b.finish().context("writing the tar stream")?;
    Ok(())
}

/// Archive `src` as `name`, recursively; symlinks as symlinks, sockets skipped (as in Podman).
fn append<W: Write>(b: &mut tar::Builder<W>, src: &Path, name: &Path, owner: Owner) -> Result<()> {
    let meta = std::fs::symlink_metadata(src).with_context(|| format!("reading {}", src.display()))?;
    let ft = meta.file_type();
    if ft.is_socket() {
        return Ok(());
    }
    let mut h = tar::Header::new_gnu();
    h.set_metadata_in_mode(&meta, tar::HeaderMode::Complete);
    if let Some((u, g)) = owner {
        h.set_uid(u as u64);
        h.set_gid(g as u64);
    }
    let err = || format!("archiving {}", src.display());
    if ft.is_symlink() {
        let target = std::fs::read_link(src).with_context(err)?;
        h.set_size(0);
        b.append_link(&mut h, name, &target).with_context(err)?;
    } else if ft.is_file() {
        let f = std::fs::File::open(src).with_context(err)?;
        b.append_data(&mut h, name, f).with_context(err)?;
    } else if ft.is_dir() {
        h.set_size(0);
        b.append_data(&mut h, name, std::io::empty()).with_context(err)?;
        let mut entries: Vec<_> = std::fs::read_dir(src).with_context(err)?.collect::<std::io::Result<_>>()?;
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            append(b, &e.path(), &name.join(e.file_name()), owner)?;
        }
    } else {
        // devices and fifos: header only
        h.set_size(0);
        b.append_data(&mut h, name, std::io::empty()).with_context(err)?;
    }
    Ok(())
}

/// Extract a tar stream into the directory `dest` with the layer extractor's safety rules.
fn extract_into(reader: &mut dyn Read, dest: &Path, what: &str) -> Result<()> {
    let ids = IdPolicy::current(true).context("reading the id mapping")?;
    let label = LayerLabel { digest: what.to_string(), image: String::new() };
    extract::extract_tar(reader, dest, &ExtractOptions { ids }, &label)?;
    Ok(())
}

/// Copy `src` (top entry renamed `name`) into the directory `dest_dir` through a tar stream.
fn copy_via_tar(
    src: &Path,
    name: &std::ffi::OsStr,
    contents: bool,
    owner: Owner,
    dest_dir: &Path,
    what: &str,
) -> Result<()> {
    let (rd, wr) = std::os::unix::net::UnixStream::pair().context("socketpair")?;
    let src2 = src.to_path_buf();
    let name2 = name.to_os_string();
    let producer = std::thread::spawn(move || write_tar(&src2, &name2, contents, owner, wr));
    let mut rd = rd;
    let r = extract_into(&mut rd, dest_dir, what);
    drop(rd);
    let p = producer.join().map_err(|_| anyhow::anyhow!("the tar producer panicked"))?;
    r?;
    p
}

/// `cp SRC DEST`: one side is `CONTAINER:PATH`, the other a host path or `-` (a tar stream).
pub fn cp(ctx: &Context, src: &str, dest: &str) -> Result<()> {
    let state = State::open(&ctx.storage_root)?;
    match (split_ref(src), split_ref(dest)) {
        (Some(_), Some(_)) => bail!(user_error("copying between containers is not supported")),
        (None, None) => bail!(user_error(
            "invalid arguments {src}, {dest}: you must use just one container: one of them must be CONTAINER:PATH"
        )),
        (Some((c, path)), None) => {
            let rec = state.get(c)?;
            let _lock = (!container::is_running(&rec)).then(|| state.lock_container(&rec.id)).transpose()?;
            let root = open_rootfs(ctx, &rec)?;
            // Rootless, copied files belong to the user (root of the engine namespace).
            let owner = if ctx.rootless { Some((0, 0)) } else { None };
            copy_out(&root.merged, &rec.name, path, dest, owner)
        }
        (None, Some((c, path))) => {
            let rec = state.get(c)?;
            let _lock = (!container::is_running(&rec)).then(|| state.lock_container(&rec.id)).transpose()?;
            let root = open_rootfs(ctx, &rec)?;
            let plan = crate::run::stored_plan(&rec)?;
            copy_in(&root.merged, &rec.name, src, path, Some((plan.uid, plan.gid)))
        }
    }
}

fn copy_out(root: &Path, name: &str, cpath: &str, dest: &str, owner: Owner) -> Result<()> {
    let what = format!("{name}:{cpath}");
    let real = resolve_source(root, cpath)?.ok_or_else(|| {
        user_error(format!("{what}: could not find the path in the container: no such file or directory"))
    })?;
    let contents = cpath.ends_with("/.") || cpath == ".";
    let is_dir = std::fs::symlink_metadata(&real)?.is_dir();
    let top = if real == std::fs::canonicalize(root)? { std::ffi::OsString::from("rootfs") } else { base_name(&real)? };
    if dest == "-" {
        let out = std::io::stdout().lock();
        return write_tar(&real, &top, contents, None, out);
    }
    let dest = PathBuf::from(dest);
    let dest_meta = std::fs::metadata(&dest).ok();
    let (dir, entry, contents) = match (&dest_meta, is_dir) {
        (Some(m), true) if m.is_dir() => {
            if contents {
                (dest.clone(), top, true)
            } else {
                (dest.clone(), top, false)
            }
        }
        (Some(m), false) if m.is_dir() => (dest.clone(), top, false),
        (Some(_), true) => bail!(user_error(format!("cannot copy directory {what} onto the file {}", dest.display()))),
        (Some(_), false) => (parent_of(&dest)?, base_name(&dest)?, false),
        (None, _) => {
            if dest.as_os_str().as_bytes().ends_with(b"/") && !is_dir {
                bail!(user_error(format!("{}: no such directory", dest.display())));
            }
            let parent = parent_of(&dest)?;
            if !parent.is_dir() {
                bail!(user_error(format!("{}: no such directory", parent.display())));
            }
            if is_dir && contents {
                std::fs::create_dir(&dest).with_context(|| format!("creating {}", dest.display()))?;
                (dest.clone(), top, true)
            } else {
                (parent, base_name(&dest)?, false)
            }
        }
    };
    copy_via_tar(&real, &entry, contents, owner, &dir, &what)
}

fn parent_of(p: &Path) -> Result<PathBuf> {
    Ok(match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    })
}

fn copy_in(root: &Path, name: &str, src: &str, cpath: &str, owner: Owner) -> Result<()> {
    let what = format!("{name}:{cpath}");
    if src == "-" {
        let dir = resolve(root, cpath)?
            .filter(|p| p.is_dir())
            .ok_or_else(|| user_error(format!("{what}: destination must be a directory when copying from stdin")))?;
        return extract_into(&mut std::io::stdin().lock(), &dir, &what);
    }
    let srcp = PathBuf::from(src);
    let meta = std::fs::symlink_metadata(&srcp)
        .map_err(|e| user_error(format!("{src}: {e}: could not find the source on the host")))?;
    let contents = src.ends_with("/.") && meta.is_dir();
    let top = base_name(&std::fs::canonicalize(&srcp).unwrap_or(srcp.clone()))?;
    match resolve(root, cpath)? {
        Some(d) if d.is_dir() => copy_via_tar(&srcp, &top, contents, owner, &d, &what),
        Some(f) => {
            if meta.is_dir() {
                bail!(user_error(format!("cannot copy directory {src} onto the file {what}")));
            }
            let parent = f.parent().map(Path::to_path_buf).unwrap_or_else(|| root.to_path_buf());
            copy_via_tar(&srcp, &base_name(&f)?, false, owner, &parent, &what)
        }
        None => {
            let cp = Path::new(cpath);
            let parent = cp.parent().map(|p| p.to_string_lossy().to_string()).unwrap_or_else(|| "/".into());
            let parent = if parent.is_empty() { "/".to_string() } else { parent };
            let dir = resolve(root, &parent)?
                .filter(|p| p.is_dir())
                .ok_or_else(|| user_error(format!("{name}:{parent}: no such directory in the container")))?;
            let entry = base_name(cp)?;
            if entry == ".." {
                bail!(user_error(format!("{what}: invalid destination")));
            }
            if contents {
                let target = dir.join(&entry);
                std::fs::create_dir(&target).with_context(|| format!("creating {what}"))?;
                copy_via_tar(&srcp, &top, true, owner, &target, &what)
            } else {
                copy_via_tar(&srcp, &entry, false, owner, &dir, &what)
            }
        }
    }
}

/// `ps --size` and `inspect --size`: Podman's RwSize (the bytes in the container's writable layer) and
/// RootFsSize (those plus its image's layers). The vfs driver keeps one full copy, whose size beyond the
/// image's counts as written.
pub fn sizes(ctx: &Context, rec: &ContainerRecord) -> (u64, u64) {
    let image = crate::storage::Store::open(ctx)
        .ok()
        .and_then(|s| s.find_image(&rec.image_id).ok().flatten())
        .map_or(0, |i| i.size);
    let dir = container::storage_dir(ctx, &rec.id);
    let rw = if driver_of(rec).ok().flatten() == Some(rootfs::Driver::Vfs) {
        tree_size(&dir.join("merged")).saturating_sub(image)
    } else {
        tree_size(&dir.join("upper"))
    };
    (rw, image + rw)
}

/// Bytes in the regular files and symlinks under `dir` (not following links, not crossing mounts);
/// what cannot be read counts as nothing.
fn tree_size(dir: &Path) -> u64 {
    let Ok(top) = std::fs::symlink_metadata(dir) else { return 0 };
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let Ok(m) = e.metadata() else { continue };
            if m.is_dir() {
                if m.dev() == top.dev() {
                    stack.push(e.path());
                }
            } else if m.is_file() || m.is_symlink() {
                total += m.len();
            }
        }
    }
    total
}

/// `diff`: the changes in the container's writable layer, Podman's `A`/`C`/`D` lines sorted by path.
pub fn diff(ctx: &Context, rec: &ContainerRecord) -> Result<Vec<(char, String)>> {
    let dir = container::storage_dir(ctx, &rec.id);
    if driver_of(rec)? == Some(rootfs::Driver::Vfs) {
        bail!(user_error(format!(
            "container {} uses the vfs storage driver, which keeps no separate writable layer: diff needs overlay or fuse-overlayfs",
            rec.name
        )));
    }
    let upper = dir.join("upper");
    if !upper.is_dir() {
        bail!(user_error(format!("container {} has no writable layer at {}", rec.name, upper.display())));
    }
    let store = crate::storage::Store::open(ctx)?;
    let layers: Vec<crate::storage::Digest> = serde_json::from_value(rec.config["Layers"].clone()).unwrap_or_default();
    let lowers: Vec<PathBuf> = layers.iter().map(|l| store.layer_diff_dir(l)).collect();
    let mut out = vec![];
    walk(&upper, Path::new("/"), &lowers, &mut out)?;
    out.sort_by(|a, b| a.1.cmp(&b.1));
    // Mount points the engine created (/etc/hosts, volume targets) are not the user's changes; nor is
    // a directory copied up only to hold them.
    let plan = crate::run::stored_plan(rec).unwrap_or_default();
    let mut hidden: Vec<String> = ["/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/run/.containerenv"]
        .iter()
        .map(|s| s.to_string())
        .chain(plan.mounts.iter().map(|m| m.destination.clone()))
        .filter(|d| out.iter().any(|(k, p)| *k == 'A' && p == d))
        .collect();
    hidden.sort();
    out.retain(|(_, p)| !hidden.contains(p));
    let keep: Vec<bool> = out
        .iter()
        .map(|(k, p)| {
            let prefix = format!("{}/", p.trim_end_matches('/'));
            let ancestor_of_hidden = hidden.iter().any(|h| h.starts_with(&prefix));
            *k != 'C' || !ancestor_of_hidden || out.iter().any(|(_, q)| q.starts_with(&prefix))
        })
        .collect();
    let mut it = keep.into_iter();
    out.retain(|_| it.next().unwrap_or(true));
    Ok(out)
}

fn walk(dir: &Path, rel: &Path, lowers: &[PathBuf], out: &mut Vec<(char, String)>) -> Result<()> {
    for e in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let e = e?;
        let name = e.file_name();
        let meta = e.path().symlink_metadata()?;
        let nb = name.as_bytes();
        if nb == b".wh..wh..opq" {
            continue;
        }
        if let Some(target) = nb.strip_prefix(b".wh.") {
            out.push(('D', rel.join(std::ffi::OsStr::from_bytes(target)).display().to_string()));
            continue;
        }
        let crel = rel.join(&name);
        if meta.file_type().is_char_device() && meta.rdev() == 0 {
            out.push(('D', crel.display().to_string()));
            continue;
        }
        let inner = crel.strip_prefix("/").unwrap_or(&crel);
        let existed = lowers.iter().any(|l| l.join(inner).symlink_metadata().is_ok());
        out.push((if existed { 'C' } else { 'A' }, crel.display().to_string()));
        if meta.is_dir() {
            walk(&e.path(), &crel, lowers, out)?;
        }
    }
    Ok(())
}

/// `export`: a tar of the container's root filesystem to `output` or stdout.
pub fn export(ctx: &Context, rec: &ContainerRecord, output: Option<&Path>) -> Result<()> {
    let state = State::open(&ctx.storage_root)?;
    let _lock = (!container::is_running(rec)).then(|| state.lock_container(&rec.id)).transpose()?;
    let root = open_rootfs(ctx, rec)?;
    let write = |w: &mut dyn Write| -> Result<()> {
        let mut b = tar::Builder::new(w);
        let mut entries: Vec<_> = std::fs::read_dir(&root.merged)?.collect::<std::io::Result<_>>()?;
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            append(&mut b, &e.path(), Path::new(&e.file_name()), None)?;
        }
        b.finish().context("writing the tar stream")?;
        Ok(())
    };
    match output {
        Some(p) => {
            let mut f = std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?;
            write(&mut f)?;
            f.sync_all()?;
        }
        None => write(&mut std::io::stdout().lock())?,
    }
    Ok(())
}

/// `mount`: mount the container's rootfs (inside `warren unshare` when rootless) and return its path.
pub fn mount(ctx: &Context, rec: &ContainerRecord) -> Result<PathBuf> {
    let (merged, _) = ensure_mounted(ctx, rec)?;
    Ok(merged)
}

/// `unmount`: unmount a stopped container's rootfs (a running container keeps it).
pub fn unmount(ctx: &Context, state: &State, rec: &ContainerRecord) -> Result<()> {
    let rec = container::refresh(ctx, state, rec.clone())?;
    if container::is_running(&rec) {
        return Ok(()); // Podman: the running container holds its own mount; nothing to release
    }
    rootfs::unmount(&container::storage_dir(ctx, &rec.id).join("merged"));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_references() {
        assert_eq!(split_ref("web:/etc/hosts"), Some(("web", "/etc/hosts")));
        assert_eq!(split_ref("/tmp/a:b"), None);
        assert_eq!(split_ref("./x:y"), None);
        assert_eq!(split_ref("-"), None);
        assert_eq!(split_ref("plain"), None);
    }

    #[test]
    fn resolution_stays_in_the_root() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("root");
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::write(root.join("etc/passwd"), "x").unwrap();
        std::os::unix::fs::symlink("/etc", root.join("abs")).unwrap();
        std::os::unix::fs::symlink("../../../../..", root.join("up")).unwrap();
        let canon = std::fs::canonicalize(&root).unwrap();
        assert_eq!(resolve(&root, "/abs/passwd").unwrap(), Some(canon.join("etc/passwd")));
        assert_eq!(resolve(&root, "/up/etc/passwd").unwrap(), Some(canon.join("etc/passwd")));
        assert_eq!(resolve(&root, "/../../etc").unwrap(), Some(canon.join("etc")));
        assert_eq!(resolve(&root, "/nope").unwrap(), None);
    }
}
