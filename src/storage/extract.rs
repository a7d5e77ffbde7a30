//! Layer extraction: our own loop over the tar entries of a layer blob (never `tar::Archive::unpack`).
//!
//! The reader chain is: blob → sha256 of the compressed bytes → decompressor (by media type) → sha256
//! of the tar stream → tar entries. Both digests are checked after the streams are drained to EOF; the
//! caller commits the extracted tree only when everything matched.
//!
//! Safety: every entry is resolved component by component from a descriptor of the layer root with
//! `O_NOFOLLOW`, and created with `*at` calls relative to its parent's descriptor, so nothing can be
//! written outside the layer root. Absolute entry names, `..` components, entries whose parent is a
//! symlink, and hardlinks whose target is absolute, escapes or goes through a symlink are refused with an
//! error naming the layer and the entry. Symlink *targets* are only stored (absolute targets are normal
//! in images: `/bin/sh -> /bin/busybox`).
//!
//! Whiteouts are stored in the overlay form:
//! - `.wh.NAME` becomes a character device 0/0 named NAME (an unprivileged user namespace may create
//!   it since Linux 5.8). **Fallback:** when the kernel refuses it (EPERM), we keep the AUFS form instead:
//!   an empty regular file `.wh.NAME` with mode 0. fuse-overlayfs and [`apply_layer_dir`] understand that
//!   form, the kernel overlay does not; [`ExtractStats::aufs_whiteouts`] reports it so the store records
//!   it and the rootfs driver can avoid the kernel overlay for that layer.
//! - `.wh..wh..opq` in directory D sets `user.overlay.opaque=y` on D in a user namespace (overlay mounted
//!   with `userxattr`) and `trusted.overlay.opaque=y` for real root. Same fallback (an empty
//!   `.wh..wh..opq` file) when the attribute cannot be set.
//!
//! Owners: container ids from the tar headers are set with `lchown` as they are when the current user
//! namespace maps them. Unmapped ids are squashed to 0 on the single-id mapping (the caller warns once) or
//! with `ignore_chown_errors`; otherwise extraction fails before anything is committed.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::AtFlags;
use nix::sys::stat::{FileStat, Mode, SFlag, UtimensatFlags};
use nix::sys::time::TimeSpec;
use nix::unistd::{Gid, Uid, UnlinkatFlags};
use sha2::Digest as _;

use super::sys;
use super::Digest;

/// Names a layer in messages: `layer sha256:... of IMAGE`.
#[derive(Debug, Clone, Default)]
pub struct LayerLabel {
    pub digest: String,
    pub image: String,
}

impl fmt::Display for LayerLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "layer {}", self.digest)?;
        if !self.image.is_empty() {
            write!(f, " of {}", self.image)?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error("{layer}: entry {entry:?}: {reason}")]
    Refused { layer: LayerLabel, entry: String, reason: String },
    #[error(
        "{layer}: entry {entry:?} is owned by {kind} {id}, which the user namespace does not map (it maps container {kind}s {mapped}); \
         pull with --storage-opt ignore_chown_errors=true to give such files to the container's root, \
         or give the user a larger range in /etc/subuid and /etc/subgid (65536 ids)"
    )]
    UnmappedOwner { layer: LayerLabel, entry: String, kind: &'static str, id: u64, mapped: String },
    #[error("{layer}: {what} is {actual}, expected {expected}: the blob is corrupt or was altered")]
    DigestMismatch { layer: LayerLabel, what: &'static str, expected: String, actual: String },
    #[error("{layer}: entry {entry:?}: {op}: {source}")]
    Io { layer: LayerLabel, entry: String, op: String, source: io::Error },
    #[error("{layer}: reading the layer stream: {source}")]
    Read { layer: LayerLabel, source: io::Error },
    #[error("{layer}: unsupported layer media type {media_type:?} (expected a tar, tar+gzip or tar+zstd layer)")]
    MediaType { layer: LayerLabel, media_type: String },
}

/// Which container ids the current user namespace can represent, and what to do with the others.
#[derive(Debug, Clone)]
pub struct IdPolicy {
    uids: Vec<(u64, u64)>,
    gids: Vec<(u64, u64)>,
    /// Only one id is mapped (the single-id fallback): squash silently.
    pub single_id: bool,
    /// We run in a user namespace (the uid map is not the identity of the initial namespace).
    pub in_userns: bool,
    /// We are root in our namespace, so chown and mknod of whiteouts can work.
    pub can_chown: bool,
    pub ignore_chown_errors: bool,
}

/// Parse /proc/PID/uid_map text into `(first container id, count)` ranges.
pub fn parse_id_map(text: &str) -> Vec<(u64, u64)> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace().map(|x| x.parse::<u64>());
            match (f.next(), f.next(), f.next()) {
                (Some(Ok(inside)), Some(Ok(_outside)), Some(Ok(count))) => Some((inside, count)),
                _ => None,
            }
        })
        .collect()
}

impl IdPolicy {
    /// The policy of the running process (reads /proc/self/uid_map and gid_map).
    pub fn current(ignore_chown_errors: bool) -> io::Result<IdPolicy> {
        let uid_map = std::fs::read_to_string("/proc/self/uid_map")?;
        let gid_map = std::fs::read_to_string("/proc/self/gid_map")?;
        Ok(IdPolicy::from_maps(&uid_map, &gid_map, nix::unistd::geteuid().is_root(), ignore_chown_errors))
    }

    pub fn from_maps(uid_map: &str, gid_map: &str, is_root: bool, ignore_chown_errors: bool) -> IdPolicy {
        let uids = parse_id_map(uid_map);
        let gids = parse_id_map(gid_map);
        let total: u64 = uids.iter().map(|r| r.1).sum();
        IdPolicy {
            in_userns: !is_identity_map(uid_map),
            single_id: total == 1,
            can_chown: is_root,
            uids,
            gids,
            ignore_chown_errors,
        }
    }

    /// The attribute that marks an opaque directory for the overlay this storage is mounted with.
    pub fn opaque_xattr(&self) -> &'static str {
        if self.in_userns || !self.can_chown {
            "user.overlay.opaque"
        } else {
            "trusted.overlay.opaque"
        }
    }

    fn describe(ranges: &[(u64, u64)]) -> String {
        // Merge adjacent ranges (`0 1002 1` + `1 100000 65536` is container ids 0-65536).
        let mut sorted = ranges.to_vec();
        sorted.sort();
        let mut merged: Vec<(u64, u64)> = Vec::new();
        for (s, n) in sorted {
            match merged.last_mut() {
                Some(last) if last.0 + last.1 == s => last.1 += n,
                _ => merged.push((s, n)),
            }
        }
        let v: Vec<String> =
            merged.iter().map(|(s, n)| if *n == 1 { s.to_string() } else { format!("{}-{}", s, s + n - 1) }).collect();
        if v.is_empty() {
            "none".into()
        } else {
            v.join(", ")
        }
    }

    fn mapped(ranges: &[(u64, u64)], id: u64) -> bool {
        ranges.iter().any(|(s, n)| id >= *s && id < s + n)
    }
}

/// True for the initial namespace's map, `0 0 4294967295`.
pub fn is_identity_map(map: &str) -> bool {
    let r = parse_id_map(map);
    r.len() == 1 && r[0] == (0, 4294967295) && map.split_whitespace().nth(1) == Some("0")
}

/// What extraction did, for the record and for the caller's one-line notes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtractStats {
    pub entries: u64,
    /// Bytes of the uncompressed tar stream.
    pub tar_size: u64,
    /// Owners replaced by 0 because the mapping cannot represent them.
    pub squashed_owners: u64,
    /// Character and block devices that could not be created (rootless).
    pub skipped_devices: u64,
    /// Extended attributes the filesystem or the kernel refused.
    pub skipped_xattrs: u64,
    /// Whiteouts had to be stored in the AUFS form (see the module docs).
    pub aufs_whiteouts: bool,
}

/// How a layer's tar stream is compressed, from its media type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    pub fn from_media_type(mt: &str) -> Option<Compression> {
        match mt {
            "application/vnd.oci.image.layer.v1.tar+gzip"
            | "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
            | "application/vnd.docker.image.rootfs.diff.tar.gzip"
            | "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip" => Some(Compression::Gzip),
            "application/vnd.oci.image.layer.v1.tar+zstd"
            | "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd" => Some(Compression::Zstd),
            "application/vnd.oci.image.layer.v1.tar"
            | "application/vnd.oci.image.layer.nondistributable.v1.tar"
            | "application/vnd.docker.image.rootfs.diff.tar" => Some(Compression::None),
            _ => None,
        }
    }
}

/// A reader that hashes what passes through it and counts the bytes.
struct Hashing<'p, R> {
    inner: R,
    hasher: sha2::Sha256,
    count: u64,
    progress: Option<&'p dyn Fn(u64)>,
}

impl<'p, R: Read> Hashing<'p, R> {
    fn new(inner: R, progress: Option<&'p dyn Fn(u64)>) -> Self {
        Hashing { inner, hasher: sha2::Sha256::new(), count: 0, progress }
    }
    fn digest(&self) -> Digest {
        Digest::from_sha256_hex(&hex::encode(self.hasher.clone().finalize()))
    }
}

impl<R: Read> Read for Hashing<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        if let Some(p) = self.progress {
            if n > 0 {
                p(self.count);
            }
        }
        Ok(n)
    }
}

/// Size of the chunks of tar stream passed from the decompressing thread to the extracting one.
const CHUNK: usize = 256 * 1024;

/// The extractor's end of the decompression pipeline: chunks of `(buffer, bytes used)`. Each emptied
/// buffer goes back to the producer, which fills it again (instead of allocating and zeroing a new one
/// per chunk).
struct ChannelReader {
    rx: std::sync::mpsc::Receiver<(Vec<u8>, usize)>,
    back: std::sync::mpsc::Sender<Vec<u8>>,
    chunk: Vec<u8>,
    len: usize,
    pos: usize,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos >= self.len {
            match self.rx.recv() {
                Ok((c, len)) => {
                    let used = std::mem::replace(&mut self.chunk, c);
                    if !used.is_empty() {
                        let _ = self.back.send(used); // the producer may be done already
                    }
                    self.len = len;
                    self.pos = 0;
                }
                Err(_) => return Ok(0), // the producer is done (or failed: it reports why)
            }
        }
        let n = buf.len().min(self.len - self.pos);
        buf[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Read until `buf` is full or the stream ends; returns how much was read.
fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Options for one extraction.
#[derive(Debug, Clone)]
pub struct ExtractOptions {
    pub ids: IdPolicy,
}

/// Extract one layer blob into `dest` (an existing empty directory), verifying the blob digest and the
/// diff ID when given. On error `dest` holds a partial tree the caller must discard.
#[allow(clippy::too_many_arguments)]
pub fn extract_layer(
    reader: &mut dyn Read,
    media_type: &str,
    blob_digest: Option<&Digest>,
    diff_id: Option<&Digest>,
    dest: &Path,
    opts: &ExtractOptions,
    label: &LayerLabel,
    progress: &dyn Fn(u64),
) -> Result<ExtractStats, ExtractError> {
    let compression = Compression::from_media_type(media_type)
        .ok_or_else(|| ExtractError::MediaType { layer: label.clone(), media_type: media_type.to_string() })?;
    let read_err = |source| ExtractError::Read { layer: label.clone(), source };
    let mut compressed = Hashing::new(reader, Some(progress));
    // Two stages in parallel, balanced for two cores: this thread reads, hashes the blob and
    // decompresses; a scoped thread hashes the tar stream (the diff ID) and creates the files. Chunks go
    // through a small bounded channel; emptied buffers come back through another.
    let (tx, rx) = std::sync::mpsc::sync_channel::<(Vec<u8>, usize)>(8);
    let (back, recycled) = std::sync::mpsc::channel::<Vec<u8>>();
    let (extracted, produced) = std::thread::scope(|s| {
        let worker = s.spawn(move || {
            let mut r = Hashing::new(ChannelReader { rx, back, chunk: Vec::new(), len: 0, pos: 0 }, None);
            let stats = extract_tar(&mut r, dest, opts, label)?;
            // The diff ID covers the whole stream: hash the padding after the end-of-archive marker too.
            io::copy(&mut r, &mut io::sink()).map_err(|source| ExtractError::Read { layer: label.clone(), source })?;
            Ok((stats, (r.digest(), r.count)))
        });
        let produced = (|| -> io::Result<()> {
            let mut decoder: Box<dyn Read + '_> = match compression {
                Compression::None => Box::new(&mut compressed),
                Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(&mut compressed)),
                Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(&mut compressed)?),
            };
            loop {
                let mut chunk = recycled.try_recv().unwrap_or_else(|_| vec![0u8; CHUNK]);
                let n = read_full(&mut decoder, &mut chunk)?;
                if n == 0 {
                    return Ok(());
                }
                // A send fails only when the extractor stopped on an error: that is the one to report.
                if tx.send((chunk, n)).is_err() || n < CHUNK {
                    return Ok(());
                }
            }
        })();
        drop(tx);
        let extracted = worker.join().unwrap_or_else(|_| {
            Err(ExtractError::Read { layer: label.clone(), source: io::Error::other("the extraction thread panicked") })
        });
        (extracted, produced)
    });
    let (mut stats, (tar_digest, tar_size)) = match (extracted, produced) {
        // A failed read or decompression cut the tar stream short: that is the cause to report.
        (Err(ExtractError::Read { .. }) | Ok(_), Err(e)) => return Err(read_err(e)),
        (Err(e), _) => return Err(e),
        (Ok(st), Ok(())) => st,
    };
    stats.tar_size = tar_size;
    io::copy(&mut compressed, &mut io::sink()).map_err(read_err)?;
    if let Some(expected) = blob_digest {
        let actual = compressed.digest();
        if &actual != expected {
            return Err(ExtractError::DigestMismatch {
                layer: label.clone(),
                what: "the blob's sha256",
                expected: expected.to_string(),
                actual: actual.to_string(),
            });
        }
    }
    if let Some(expected) = diff_id {
        if &tar_digest != expected {
            return Err(ExtractError::DigestMismatch {
                layer: label.clone(),
                what: "the sha256 of the uncompressed layer (its diff ID)",
                expected: expected.to_string(),
                actual: tar_digest.to_string(),
            });
        }
    }
    Ok(stats)
}

/// Extract an uncompressed tar stream into `dest` (which must exist). Reads entries up to the
/// end-of-archive marker only.
pub fn extract_tar(
    reader: &mut dyn Read,
    dest: &Path,
    opts: &ExtractOptions,
    label: &LayerLabel,
) -> Result<ExtractStats, ExtractError> {
    let root = sys::openat(libc::AT_FDCWD, dest.as_os_str(), libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW, 0)
        .map_err(|source| ExtractError::Io {
            layer: label.clone(),
            entry: String::new(),
            op: format!("opening {}", dest.display()),
            source,
        })?;
    let mut x = Extractor {
        root,
        opts,
        label,
        cache: None,
        dirs: Vec::new(),
        stats: ExtractStats::default(),
        warned_xattr: false,
    };
    let mut archive = tar::Archive::new(reader);
    let entries = archive.entries().map_err(|source| ExtractError::Read { layer: label.clone(), source })?;
    for entry in entries {
        let entry = entry.map_err(|source| ExtractError::Read { layer: label.clone(), source })?;
        x.entry(entry)?;
    }
    x.finish_dirs()?;
    if x.stats.skipped_devices > 0 {
        tracing::warn!(
            "{}: skipped {} device nodes (a user namespace cannot create devices)",
            label,
            x.stats.skipped_devices
        );
    }
    Ok(x.stats)
}

/// The metadata of an entry, ready to apply.
struct Meta {
    mode: u32,
    owner: Option<(u32, u32)>,
    mtime: TimeSpec,
    xattrs: Vec<(OsString, Vec<u8>)>,
}

struct Extractor<'a> {
    root: OwnedFd,
    opts: &'a ExtractOptions,
    label: &'a LayerLabel,
    /// The last parent directory opened, by its path relative to the root.
    cache: Option<(PathBuf, OwnedFd)>,
    /// Directories whose mode and mtime are set at the end (after their content).
    dirs: Vec<(PathBuf, u32, TimeSpec)>,
    stats: ExtractStats,
    warned_xattr: bool,
}

/// Split an entry name into its normal components, refusing absolute names and `..`.
fn components(p: &Path) -> Result<Vec<&OsStr>, &'static str> {
    let mut out = Vec::new();
    for c in p.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => {
                return Err("absolute path: entries must be relative to the layer root")
            }
            Component::ParentDir => return Err("path escapes the layer root (\"..\" component)"),
        }
    }
    Ok(out)
}

fn lstat_at(dirfd: RawFd, name: &OsStr) -> nix::Result<Option<FileStat>> {
    match nix::sys::stat::fstatat(Some(dirfd), name, AtFlags::AT_SYMLINK_NOFOLLOW) {
        Ok(st) => Ok(Some(st)),
        Err(Errno::ENOENT) => Ok(None),
        Err(e) => Err(e),
    }
}

fn is_dir(st: &FileStat) -> bool {
    st.st_mode & libc::S_IFMT == libc::S_IFDIR
}

fn open_dir_at(dirfd: RawFd, name: &OsStr) -> io::Result<OwnedFd> {
    sys::openat(dirfd, name, libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW, 0)
}

/// Remove every entry of an open directory (without following symlinks).
pub(crate) fn empty_dir(dirfd: RawFd) -> io::Result<()> {
    let fd = sys::openat(dirfd, OsStr::new("."), libc::O_RDONLY | libc::O_DIRECTORY, 0)?;
    let mut dir = nix::dir::Dir::from(fd)?;
    let names: Vec<OsString> = dir
        .iter()
        .filter_map(|e| e.ok())
        .map(|e| sys::cstr_os(e.file_name()).to_os_string())
        .filter(|n| n != "." && n != "..")
        .collect();
    for n in names {
        remove_at(dirfd, &n)?;
    }
    Ok(())
}

/// Remove `name` in `dirfd`, recursively for a directory; absent is fine.
pub(crate) fn remove_at(dirfd: RawFd, name: &OsStr) -> io::Result<()> {
    let Some(st) = lstat_at(dirfd, name)? else {
        return Ok(());
    };
    if is_dir(&st) {
        let sub = open_dir_at(dirfd, name)?;
        empty_dir(sub.as_raw_fd())?;
        drop(sub);
        nix::unistd::unlinkat(Some(dirfd), name, UnlinkatFlags::RemoveDir)?;
    } else {
        nix::unistd::unlinkat(Some(dirfd), name, UnlinkatFlags::NoRemoveDir)?;
    }
    Ok(())
}

fn pax_time(v: &str) -> Option<TimeSpec> {
    let (s, frac) = v.split_once('.').unwrap_or((v, ""));
    let mut secs: i64 = s.parse().ok()?;
    let mut nanos: i64 = 0;
    if !frac.is_empty() {
        let digits: String = frac.chars().take(9).collect();
        nanos = format!("{digits:0<9}").parse().ok()?;
        // -1.25 is -2 s + 0.75 s (nanoseconds are never negative).
        if s.starts_with('-') && nanos > 0 {
            secs -= 1;
            nanos = 1_000_000_000 - nanos;
        }
    }
    Some(TimeSpec::new(secs, nanos))
}

impl Extractor<'_> {
    fn refuse(&self, entry: &str, reason: impl Into<String>) -> ExtractError {
        ExtractError::Refused { layer: self.label.clone(), entry: entry.to_string(), reason: reason.into() }
    }

    fn io(&self, entry: &str, op: impl Into<String>, source: impl Into<io::Error>) -> ExtractError {
        ExtractError::Io { layer: self.label.clone(), entry: entry.to_string(), op: op.into(), source: source.into() }
    }

    /// Open the directory `comps` below the root without following symlinks, creating missing
    /// directories (owned by the container's root) when `create`.
    fn walk(&self, comps: &[&OsStr], create: bool, entry: &str) -> Result<OwnedFd, ExtractError> {
        let mut cur = open_dir_at(self.root.as_raw_fd(), OsStr::new("."))
            .map_err(|e| self.io(entry, "opening the layer root", e))?;
        for (i, c) in comps.iter().enumerate() {
            let next = match open_dir_at(cur.as_raw_fd(), c) {
                Ok(fd) => fd,
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) && create => {
                    nix::sys::stat::mkdirat(Some(cur.as_raw_fd()), *c, Mode::from_bits_truncate(0o755))
                        .map_err(|e| self.io(entry, "creating a parent directory", e))?;
                    open_dir_at(cur.as_raw_fd(), c).map_err(|e| self.io(entry, "opening a parent directory", e))?
                }
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                    let p: PathBuf = comps[..=i].iter().collect();
                    return Err(self.refuse(entry, format!("{:?} does not exist in the layer", p)));
                }
                Err(e) if matches!(e.raw_os_error(), Some(libc::ELOOP) | Some(libc::ENOTDIR)) => {
                    let p: PathBuf = comps[..=i].iter().collect();
                    let is_link = matches!(lstat_at(cur.as_raw_fd(), c), Ok(Some(st)) if st.st_mode & libc::S_IFMT == libc::S_IFLNK);
                    return Err(self.refuse(
                        entry,
                        if is_link {
                            format!("path goes through the symlink {:?}: refusing to follow it (it could point outside the layer root)", p)
                        } else {
                            format!("path goes through {:?}, which is not a directory", p)
                        },
                    ));
                }
                Err(e) => return Err(self.io(entry, "opening a parent directory", e)),
            };
            cur = next;
        }
        Ok(cur)
    }

    /// The (cached) descriptor of the parent directory `parent`.
    fn parent_fd(&mut self, parent: &[&OsStr], entry: &str) -> Result<RawFd, ExtractError> {
        let key: PathBuf = parent.iter().collect();
        if let Some((p, fd)) = &self.cache {
            if *p == key {
                return Ok(fd.as_raw_fd());
            }
        }
        let fd = self.walk(parent, true, entry)?;
        let raw = fd.as_raw_fd();
        self.cache = Some((key, fd));
        Ok(raw)
    }

    /// Make room for a new entry `name`: keep an existing directory when `keep_dir`, else remove what is there.
    fn clear_slot(&mut self, dirfd: RawFd, name: &OsStr, keep_dir: bool, entry: &str) -> Result<bool, ExtractError> {
        match lstat_at(dirfd, name).map_err(|e| self.io(entry, "stat", e))? {
            None => Ok(false),
            Some(st) if keep_dir && is_dir(&st) => Ok(true),
            Some(_) => {
                remove_at(dirfd, name).map_err(|e| self.io(entry, "replacing an earlier entry", e))?;
                // A removed directory may be the cached parent (or one of its ancestors).
                let keep = self.cache.take();
                if let Some((p, fd)) = keep {
                    // Only keep the cache when it is the directory we are working in.
                    if fd.as_raw_fd() == dirfd {
                        self.cache = Some((p, fd));
                    }
                }
                Ok(false)
            }
        }
    }

    fn owner(&mut self, uid: u64, gid: u64, entry: &str) -> Result<Option<(u32, u32)>, ExtractError> {
        let ids = &self.opts.ids;
        if !ids.can_chown {
            if uid != 0 || gid != 0 {
                self.stats.squashed_owners += 1;
            }
            return Ok(None);
        }
        let mut squashed = false;
        let mut pick = |id: u64, ranges: &[(u64, u64)], kind: &'static str| -> Result<u32, ExtractError> {
            if IdPolicy::mapped(ranges, id) && id <= u32::MAX as u64 {
                return Ok(id as u32);
            }
            if ids.single_id || ids.ignore_chown_errors {
                squashed = true;
                return Ok(0);
            }
            Err(ExtractError::UnmappedOwner {
                layer: self.label.clone(),
                entry: entry.to_string(),
                kind,
                id,
                mapped: IdPolicy::describe(ranges),
            })
        };
        let u = pick(uid, &ids.uids, "uid")?;
        let g = pick(gid, &ids.gids, "gid")?;
        if squashed {
            self.stats.squashed_owners += 1;
        }
        Ok(Some((u, g)))
    }

    fn set_xattrs_fd(&mut self, fd: RawFd, xattrs: &[(OsString, Vec<u8>)], entry: &str) -> Result<(), ExtractError> {
        for (k, v) in xattrs {
            if let Err(e) = sys::fsetxattr(fd, k, v) {
                self.xattr_failed(k, e, entry)?;
            }
        }
        Ok(())
    }

    fn xattr_failed(&mut self, name: &OsStr, e: io::Error, entry: &str) -> Result<(), ExtractError> {
        match e.raw_os_error() {
            Some(libc::ENOTSUP) | Some(libc::EPERM) | Some(libc::EACCES) | Some(libc::EINVAL) => {
                self.stats.skipped_xattrs += 1;
                if !self.warned_xattr {
                    self.warned_xattr = true;
                    tracing::warn!("{}: entry {:?}: cannot set extended attribute {:?} ({}); skipping it and any others this filesystem refuses", self.label, entry, name, e);
                }
                Ok(())
            }
            _ => Err(self.io(entry, format!("setting extended attribute {name:?}"), e)),
        }
    }

    fn entry<R: Read>(&mut self, mut e: tar::Entry<'_, R>) -> Result<(), ExtractError> {
        let path = e.path().map_err(|source| ExtractError::Read { layer: self.label.clone(), source })?.into_owned();
        let entry = path.to_string_lossy().into_owned();
        let kind = e.header().entry_type();
        if matches!(
            kind,
            tar::EntryType::XGlobalHeader
                | tar::EntryType::XHeader
                | tar::EntryType::GNULongName
                | tar::EntryType::GNULongLink
        ) {
            return Ok(());
        }
        self.stats.entries += 1;
        let comps = components(&path).map_err(|r| self.refuse(&entry, r))?;

        // Metadata from the header and PAX records.
        let h = e.header();
        let mode = h.mode().unwrap_or(0o644) & 0o7777;
        let uid = h.uid().unwrap_or(0);
        let gid = h.gid().unwrap_or(0);
        let mut mtime = TimeSpec::new(h.mtime().unwrap_or(0) as i64, 0);
        let dev = (h.device_major().ok().flatten().unwrap_or(0), h.device_minor().ok().flatten().unwrap_or(0));
        let link = e
            .link_name()
            .map_err(|source| ExtractError::Read { layer: self.label.clone(), source })?
            .map(|l| l.into_owned());
        let mut xattrs = Vec::new();
        if let Some(pax) =
            e.pax_extensions().map_err(|source| ExtractError::Read { layer: self.label.clone(), source })?
        {
            for ext in pax.flatten() {
                let Ok(key) = ext.key() else { continue };
                if let Some(name) = key.strip_prefix("SCHILY.xattr.") {
                    // An empty value means "no such attribute" (what Podman does too).
                    if !ext.value_bytes().is_empty() {
                        xattrs.push((OsString::from(name), ext.value_bytes().to_vec()));
                    }
                } else if key == "mtime" {
                    if let Some(t) = ext.value().ok().and_then(pax_time) {
                        mtime = t;
                    }
                }
            }
        }

        let Some((name, parent)) = comps.split_last() else {
            // The layer root itself ("./").
            if kind == tar::EntryType::Directory {
                let owner = self.owner(uid, gid, &entry)?;
                if let Some(o) = owner {
                    let fd = self.root.as_raw_fd();
                    self.chown(fd, None, o, &entry)?;
                }
                let fd = self.root.as_raw_fd();
                self.set_xattrs_fd(fd, &xattrs, &entry)?;
                self.dirs.push((PathBuf::new(), mode, mtime));
                return Ok(());
            }
            return Err(self.refuse(&entry, "a non-directory entry names the layer root"));
        };
        let name: &OsStr = name;
        let nb = name.as_bytes();

        // Whiteouts.
        if let Some(target) = nb.strip_prefix(b".wh.") {
            let dirfd = self.parent_fd(parent, &entry)?;
            if target == b".wh..opq" {
                let attr = self.opts.ids.opaque_xattr();
                if let Err(err) = sys::fsetxattr(dirfd, OsStr::new(attr), b"y") {
                    tracing::debug!("{}: cannot set {attr} ({err}); keeping the AUFS opaque marker", self.label);
                    self.aufs_marker(dirfd, name, &entry)?;
                }
                return Ok(());
            }
            if target.starts_with(b".wh.") {
                return Ok(()); // AUFS metadata (.wh..wh.plnk etc.), meaningless here
            }
            if target.is_empty() || target == b"." || target == b".." || target.contains(&b'/') {
                return Err(self.refuse(&entry, "invalid whiteout name"));
            }
            let target = OsStr::from_bytes(target);
            self.clear_slot(dirfd, target, false, &entry)?;
            match nix::sys::stat::mknodat(Some(dirfd), target, SFlag::S_IFCHR, Mode::empty(), 0) {
                Ok(()) => {}
                Err(Errno::EPERM) => self.aufs_marker(dirfd, name, &entry)?,
                Err(err) => return Err(self.io(&entry, "creating a whiteout device", err)),
            }
            return Ok(());
        }

        match kind {
            tar::EntryType::Directory => {
                let owner = self.owner(uid, gid, &entry)?;
                let dirfd = self.parent_fd(parent, &entry)?;
                if !self.clear_slot(dirfd, name, true, &entry)? {
                    nix::sys::stat::mkdirat(Some(dirfd), name, Mode::from_bits_truncate(0o700))
                        .map_err(|e| self.io(&entry, "mkdir", e))?;
                }
                let fd = open_dir_at(dirfd, name).map_err(|e| self.io(&entry, "opening the new directory", e))?;
                if let Some(o) = owner {
                    self.chown(fd.as_raw_fd(), None, o, &entry)?;
                }
                self.set_xattrs_fd(fd.as_raw_fd(), &xattrs, &entry)?;
                self.dirs.push((comps.iter().collect(), mode, mtime));
            }
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
                let owner = self.owner(uid, gid, &entry)?;
                let dirfd = self.parent_fd(parent, &entry)?;
                self.clear_slot(dirfd, name, false, &entry)?;
                let fd =
                    sys::openat(dirfd, name, libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW, 0o600)
                        .map_err(|e| self.io(&entry, "creating the file", e))?;
                let mut f = File::from(fd);
                io::copy(&mut e, &mut f).map_err(|err| self.io(&entry, "writing the file", err))?;
                self.meta_fd(&f, &entry, Meta { mode, owner, mtime, xattrs })?;
            }
            tar::EntryType::Symlink => {
                let owner = self.owner(uid, gid, &entry)?;
                let Some(target) = link else {
                    return Err(self.refuse(&entry, "symlink without a target"));
                };
                let dirfd = self.parent_fd(parent, &entry)?;
                self.clear_slot(dirfd, name, false, &entry)?;
                nix::unistd::symlinkat(&target, Some(dirfd), name)
                    .map_err(|e| self.io(&entry, "creating the symlink", e))?;
                if let Some(o) = owner {
                    self.chown(dirfd, Some(name), o, &entry)?;
                }
                nix::sys::stat::utimensat(Some(dirfd), name, &mtime, &mtime, UtimensatFlags::NoFollowSymlink)
                    .map_err(|e| self.io(&entry, "setting the mtime", e))?;
            }
            tar::EntryType::Link => {
                let Some(target) = link else {
                    return Err(self.refuse(&entry, "hardlink without a target"));
                };
                let tcomps = components(&target)
                    .map_err(|r| self.refuse(&entry, format!("hardlink target {:?}: {r}", target)))?;
                let Some((tname, tparent)) = tcomps.split_last() else {
                    return Err(self.refuse(&entry, "hardlink to the layer root"));
                };
                if tcomps == comps {
                    return Ok(());
                }
                let tdir = self.walk(tparent, false, &entry)?;
                match lstat_at(tdir.as_raw_fd(), tname) {
                    Ok(Some(st)) if is_dir(&st) => {
                        return Err(self.refuse(&entry, format!("hardlink target {:?} is a directory", target)))
                    }
                    Ok(Some(_)) => {}
                    Ok(None) => {
                        return Err(
                            self.refuse(&entry, format!("hardlink target {:?} does not exist in the layer", target))
                        )
                    }
                    Err(err) => return Err(self.io(&entry, "stat of the hardlink target", err)),
                }
                let dirfd = self.parent_fd(parent, &entry)?;
                self.clear_slot(dirfd, name, false, &entry)?;
                nix::unistd::linkat(Some(tdir.as_raw_fd()), *tname, Some(dirfd), name, AtFlags::empty())
                    .map_err(|e| self.io(&entry, format!("linking to {:?}", target), e))?;
            }
            tar::EntryType::Fifo | tar::EntryType::Char | tar::EntryType::Block => {
                let (sflag, rdev) = match kind {
                    tar::EntryType::Fifo => (SFlag::S_IFIFO, 0),
                    tar::EntryType::Char => (SFlag::S_IFCHR, nix::sys::stat::makedev(dev.0 as u64, dev.1 as u64)),
                    _ => (SFlag::S_IFBLK, nix::sys::stat::makedev(dev.0 as u64, dev.1 as u64)),
                };
                if sflag != SFlag::S_IFIFO && (self.opts.ids.in_userns || !self.opts.ids.can_chown) {
                    self.stats.skipped_devices += 1;
                    return Ok(());
                }
                let owner = self.owner(uid, gid, &entry)?;
                let dirfd = self.parent_fd(parent, &entry)?;
                self.clear_slot(dirfd, name, false, &entry)?;
                match nix::sys::stat::mknodat(Some(dirfd), name, sflag, Mode::from_bits_truncate(0o600), rdev) {
                    Ok(()) => {}
                    Err(Errno::EPERM) if sflag != SFlag::S_IFIFO => {
                        self.stats.skipped_devices += 1;
                        return Ok(());
                    }
                    Err(err) => return Err(self.io(&entry, "mknod", err)),
                }
                if let Some(o) = owner {
                    self.chown(dirfd, Some(name), o, &entry)?;
                }
                nix::sys::stat::fchmodat(
                    Some(dirfd),
                    name,
                    Mode::from_bits_truncate(mode),
                    nix::sys::stat::FchmodatFlags::FollowSymlink,
                )
                .map_err(|e| self.io(&entry, "chmod", e))?;
                nix::sys::stat::utimensat(Some(dirfd), name, &mtime, &mtime, UtimensatFlags::NoFollowSymlink)
                    .map_err(|e| self.io(&entry, "setting the mtime", e))?;
            }
            other => {
                tracing::debug!("{}: entry {:?}: skipping tar entry type {:?}", self.label, entry, other);
            }
        }
        Ok(())
    }

    /// Store a whiteout in the AUFS form: an empty file with mode 0 keeping its `.wh.` name.
    fn aufs_marker(&mut self, dirfd: RawFd, name: &OsStr, entry: &str) -> Result<(), ExtractError> {
        self.clear_slot(dirfd, name, false, entry)?;
        sys::openat(dirfd, name, libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW, 0)
            .map_err(|e| self.io(entry, "creating a whiteout marker", e))?;
        self.stats.aufs_whiteouts = true;
        Ok(())
    }

    /// Give an entry its owner (`name` in `dirfd`, or `dirfd` itself). A filesystem that refuses the id
    /// (NFS and other network filesystems often do) fails the pull with the fix, unless
    /// `ignore_chown_errors`, which leaves the entry to the container's root.
    fn chown(
        &mut self,
        dirfd: RawFd,
        name: Option<&OsStr>,
        (u, g): (u32, u32),
        entry: &str,
    ) -> Result<(), ExtractError> {
        let (uid, gid) = (Some(Uid::from_raw(u)), Some(Gid::from_raw(g)));
        let res = match name {
            None => nix::unistd::fchown(dirfd, uid, gid),
            Some(n) => nix::unistd::fchownat(Some(dirfd), n, uid, gid, AtFlags::AT_SYMLINK_NOFOLLOW),
        };
        match res {
            Ok(()) => Ok(()),
            Err(e @ (Errno::EPERM | Errno::EINVAL)) if self.opts.ids.ignore_chown_errors => {
                tracing::debug!("{}: entry {entry:?}: chown {u}:{g}: {e}; left to the container's root", self.label);
                self.stats.squashed_owners += 1;
                Ok(())
            }
            Err(e @ (Errno::EPERM | Errno::EINVAL)) => Err(self.io(
                entry,
                format!(
                    "chown to container uid {u} gid {g} (the filesystem under the storage root refused it, as NFS and other \
                     network filesystems do: use a local --root, or --storage-opt ignore_chown_errors=true)"
                ),
                e,
            )),
            Err(e) => Err(self.io(entry, "chown", e)),
        }
    }

    /// Owner, then mode (chown clears setuid), then attributes (chown clears file capabilities), then mtime.
    fn meta_fd(&mut self, f: &File, entry: &str, m: Meta) -> Result<(), ExtractError> {
        let fd = f.as_raw_fd();
        if let Some(o) = m.owner {
            self.chown(fd, None, o, entry)?;
        }
        nix::sys::stat::fchmod(fd, Mode::from_bits_truncate(m.mode)).map_err(|e| self.io(entry, "chmod", e))?;
        self.set_xattrs_fd(fd, &m.xattrs, entry)?;
        nix::sys::stat::futimens(fd, &m.mtime, &m.mtime).map_err(|e| self.io(entry, "setting the mtime", e))?;
        Ok(())
    }

    /// Directory modes and mtimes, deepest first, once their content is in place.
    fn finish_dirs(&mut self) -> Result<(), ExtractError> {
        self.cache = None;
        let dirs = std::mem::take(&mut self.dirs);
        // A directory may appear twice; the last entry wins, applied once.
        let mut last: HashMap<&Path, usize> = HashMap::new();
        for (i, (p, _, _)) in dirs.iter().enumerate() {
            last.insert(p.as_path(), i);
        }
        let mut order: Vec<usize> = last.into_values().collect();
        order.sort_by_key(|i| std::cmp::Reverse(dirs[*i].0.components().count()));
        for i in order {
            let (p, mode, mtime) = &dirs[i];
            let entry = p.to_string_lossy().into_owned();
            let comps: Vec<&OsStr> = p.iter().collect();
            let fd = match self.walk(&comps, false, &entry) {
                Ok(fd) => fd,
                // Replaced by a later non-directory entry or removed by a whiteout: nothing to fix.
                Err(ExtractError::Refused { .. }) => continue,
                Err(e) => return Err(e),
            };
            nix::sys::stat::fchmod(fd.as_raw_fd(), Mode::from_bits_truncate(*mode))
                .map_err(|e| self.io(&entry, "chmod", e))?;
            nix::sys::stat::futimens(fd.as_raw_fd(), mtime, mtime)
                .map_err(|e| self.io(&entry, "setting the mtime", e))?;
        }
        Ok(())
    }
}

/// Apply a stored layer (`layer_diff`, whiteouts in the overlay or AUFS form) onto a plain directory tree
/// (`lower_merged`, the lower layers already applied): the copy ("vfs") driver. Whiteouts delete, opaque
/// directories are emptied first, a directory replaces a non-directory, and nothing in `lower_merged` is
/// followed through a symlink. Owners, modes, attributes, hardlinks (within the layer) and mtimes are kept.
pub fn apply_layer_dir(lower_merged: &Path, layer_diff: &Path) -> io::Result<()> {
    let dst = sys::openat(libc::AT_FDCWD, lower_merged.as_os_str(), libc::O_RDONLY | libc::O_DIRECTORY, 0)?;
    let mut a = Apply { root: dst.as_raw_fd(), links: HashMap::new() };
    apply_dir(layer_diff, dst.as_raw_fd(), Path::new(""), &mut a)?;
    let st = std::fs::symlink_metadata(layer_diff)?;
    copy_meta_dir(layer_diff, dst.as_raw_fd(), &st)
}

fn is_opaque(src: &Path) -> io::Result<bool> {
    let fd = sys::openat(libc::AT_FDCWD, src.as_os_str(), libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW, 0)?;
    for a in ["user.overlay.opaque", "trusted.overlay.opaque"] {
        if sys::fgetxattr(fd.as_raw_fd(), OsStr::new(a))?.as_deref() == Some(b"y") {
            return Ok(true);
        }
    }
    Ok(src.join(".wh..wh..opq").symlink_metadata().is_ok())
}

fn copy_xattrs(src_fd: RawFd, dst_fd: RawFd) -> io::Result<()> {
    for name in sys::flistxattr(src_fd)? {
        let name = OsStr::from_bytes(&name);
        let nb = name.as_bytes();
        if nb.ends_with(b".overlay.opaque") || nb.starts_with(b"trusted.overlay.") || nb.starts_with(b"user.overlay.") {
            continue;
        }
        if let Some(v) = sys::fgetxattr(src_fd, name)? {
            if let Err(e) = sys::fsetxattr(dst_fd, name, &v) {
                tracing::debug!("copying attribute {:?}: {e}", name);
            }
        }
    }
    Ok(())
}

fn copy_meta_dir(src: &Path, dst_fd: RawFd, st: &std::fs::Metadata) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let can_chown = nix::unistd::geteuid().is_root();
    if can_chown {
        nix::unistd::fchown(dst_fd, Some(Uid::from_raw(st.uid())), Some(Gid::from_raw(st.gid())))?;
    }
    nix::sys::stat::fchmod(dst_fd, Mode::from_bits_truncate(st.mode() & 0o7777))?;
    let sfd = sys::openat(libc::AT_FDCWD, src.as_os_str(), libc::O_RDONLY | libc::O_NOFOLLOW, 0)?;
    copy_xattrs(sfd.as_raw_fd(), dst_fd)?;
    let t = TimeSpec::new(st.mtime(), st.mtime_nsec());
    nix::sys::stat::futimens(dst_fd, &t, &t)?;
    Ok(())
}

/// State of one [`apply_layer_dir`]: the merged root and, for hardlinked files, where the first link
/// of each inode went (relative to the root; re-resolved without following symlinks when linking).
struct Apply {
    root: RawFd,
    links: HashMap<(u64, u64), PathBuf>,
}

/// Open the directory `rel` below `root` without following symlinks.
fn open_beneath(root: RawFd, rel: &Path) -> io::Result<OwnedFd> {
    let mut cur = open_dir_at(root, OsStr::new("."))?;
    for c in rel.iter() {
        cur = open_dir_at(cur.as_raw_fd(), c)?;
    }
    Ok(cur)
}

fn apply_dir(src: &Path, dst: RawFd, rel: &Path, a: &mut Apply) -> io::Result<()> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    if is_opaque(src)? {
        empty_dir(dst)?;
    }
    let can_chown = nix::unistd::geteuid().is_root();
    let mut names: Vec<OsString> =
        std::fs::read_dir(src)?.map(|e| e.map(|e| e.file_name())).collect::<io::Result<_>>()?;
    names.sort();
    for name in names {
        let sp = src.join(&name);
        let st = std::fs::symlink_metadata(&sp)?;
        let ft = st.file_type();
        let nb = name.as_bytes();
        // Whiteouts: the overlay device, or the AUFS file.
        if ft.is_char_device() && st.rdev() == 0 {
            remove_at(dst, &name)?;
            continue;
        }
        if let Some(t) = nb.strip_prefix(b".wh.") {
            if !t.starts_with(b".wh.") && !t.is_empty() {
                remove_at(dst, OsStr::from_bytes(t))?;
            }
            continue;
        }
        let existing = lstat_at(dst, &name)?;
        if ft.is_dir() {
            if !matches!(&existing, Some(e) if is_dir(e)) {
                remove_at(dst, &name)?;
                nix::sys::stat::mkdirat(Some(dst), name.as_os_str(), Mode::from_bits_truncate(0o700))?;
            }
            let sub = open_dir_at(dst, &name)?;
            apply_dir(&sp, sub.as_raw_fd(), &rel.join(&name), a)?;
            copy_meta_dir(&sp, sub.as_raw_fd(), &st)?;
            continue;
        }
        remove_at(dst, &name)?;
        let owner = can_chown.then(|| (Some(Uid::from_raw(st.uid())), Some(Gid::from_raw(st.gid()))));
        let t = TimeSpec::new(st.mtime(), st.mtime_nsec());
        if st.nlink() > 1 && !ft.is_dir() {
            if let Some(first) = a.links.get(&(st.dev(), st.ino())) {
                let (Some(lparent), Some(lname)) = (first.parent(), first.file_name()) else {
                    return Err(io::Error::other("hardlink bookkeeping lost a name"));
                };
                let ldir = open_beneath(a.root, lparent)?;
                nix::unistd::linkat(Some(ldir.as_raw_fd()), lname, Some(dst), name.as_os_str(), AtFlags::empty())?;
                continue;
            }
        }
        if ft.is_file() {
            let mut from = File::open(&sp)?;
            let out = sys::openat(dst, &name, libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW, 0o600)?;
            let mut out = File::from(out);
            io::copy(&mut from, &mut out)?;
            out.flush()?;
            if let Some((u, g)) = owner {
                nix::unistd::fchown(out.as_raw_fd(), u, g)?;
            }
            nix::sys::stat::fchmod(out.as_raw_fd(), Mode::from_bits_truncate(st.mode() & 0o7777))?;
            copy_xattrs(from.as_raw_fd(), out.as_raw_fd())?;
            nix::sys::stat::futimens(out.as_raw_fd(), &t, &t)?;
        } else if ft.is_symlink() {
            let target = std::fs::read_link(&sp)?;
            nix::unistd::symlinkat(&target, Some(dst), name.as_os_str())?;
            if let Some((u, g)) = owner {
                nix::unistd::fchownat(Some(dst), name.as_os_str(), u, g, AtFlags::AT_SYMLINK_NOFOLLOW)?;
            }
            nix::sys::stat::utimensat(Some(dst), name.as_os_str(), &t, &t, UtimensatFlags::NoFollowSymlink)?;
        } else {
            let kind = if ft.is_fifo() {
                SFlag::S_IFIFO
            } else if ft.is_char_device() {
                SFlag::S_IFCHR
            } else if ft.is_block_device() {
                SFlag::S_IFBLK
            } else {
                SFlag::S_IFSOCK
            };
            nix::sys::stat::mknodat(Some(dst), name.as_os_str(), kind, Mode::from_bits_truncate(0o600), st.rdev())?;
            if let Some((u, g)) = owner {
                nix::unistd::fchownat(Some(dst), name.as_os_str(), u, g, AtFlags::AT_SYMLINK_NOFOLLOW)?;
            }
            nix::sys::stat::fchmodat(
                Some(dst),
                name.as_os_str(),
                Mode::from_bits_truncate(st.mode() & 0o7777),
                nix::sys::stat::FchmodatFlags::FollowSymlink,
            )?;
            nix::sys::stat::utimensat(Some(dst), name.as_os_str(), &t, &t, UtimensatFlags::NoFollowSymlink)?;
        }
        if st.nlink() > 1 {
            a.links.insert((st.dev(), st.ino()), rel.join(&name));
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "extract_tests.rs"]
mod tests;
