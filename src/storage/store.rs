//! The image and layer store: layers extracted once (keyed by chain ID) and shared by every image that
//! has them; image metadata in a small, versioned, locked store. Writes are atomic (temp + rename).
//!
//! Layout under the storage root:
//! ```text
//! storage.json                 format version and the id mapping the layers were written with
//! storage.lock                 flock: held exclusively while changing images.json or deleting layers
//! images.json                  every image record (names index included); replaced atomically
//! images/<id-hex>/             manifest, config, image.json (a copy of the record)
//! layers/<chain-hex>/diff/     extracted layer; layer.json beside it (present = complete)
//! locks/<chain-hex>.lock       per-layer flock: two pulls of one layer extract it once
//! tmp/                         staging (tmp.lock shared while staging; garbage after a crash)
//! ```
//! Readers (`images`, `inspect`) take no lock and need no user namespace: images.json and images/ are
//! written by the user (root of the engine's namespace is the user on the host) and only ever replaced
//! by rename. A layer directory appears under layers/ by one rename of a fully extracted, synced staging
//! directory, and an image record is written only when all of its layers are present.

use anyhow::{bail, Context as _, Result};
use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::extract::{self, ExtractOptions, ExtractStats, IdPolicy, LayerLabel};
use super::Digest;
use crate::context::Context;

/// The on-disk format version of a store.
pub const STORAGE_VERSION: u32 = 1;

/// Options from `--storage-opt` and storage.conf.
#[derive(Debug, Clone, Default)]
pub struct StoreOptions {
    /// Squash owners the id mapping cannot represent to the container's root instead of failing the pull
    /// (like Podman's `ignore_chown_errors`). Always on for the single-id mapping.
    pub ignore_chown_errors: bool,
}

impl StoreOptions {
    /// storage.conf (`[storage.options] ignore_chown_errors`, also under `[storage.options.overlay]`), then
    /// `--storage-opt KEY=VALUE` flags (which win). Unknown options are ignored with a debug note.
    pub fn from_config(storage_opts: &[String], rootless: bool) -> Result<StoreOptions> {
        let mut o = StoreOptions::default();
        if let Some(path) = storage_conf_path(rootless) {
            // A storage.conf written for Podman may hold things we do not parse the same way: never let it
            // stop a command, say what was ignored.
            let res = std::fs::read_to_string(&path).map_err(anyhow::Error::from).and_then(|t| o.apply_conf(&t));
            if let Err(e) = res {
                tracing::warn!("ignoring {}: {e:#}", path.display());
            }
        }
        for opt in storage_opts {
            o.apply_opt(opt)?;
        }
        Ok(o)
    }

    fn apply_conf(&mut self, text: &str) -> Result<()> {
        let v: toml::Value = toml::from_str(text)?;
        let opts = v.get("storage").and_then(|s| s.get("options"));
        for table in [opts, opts.and_then(|o| o.get("overlay"))].into_iter().flatten() {
            if let Some(x) = table.get("ignore_chown_errors") {
                self.ignore_chown_errors = match x {
                    toml::Value::Boolean(b) => *b,
                    toml::Value::String(s) => parse_bool(s).with_context(|| format!("ignore_chown_errors = {s:?}"))?,
                    other => bail!("ignore_chown_errors must be true or false, not {other}"),
                };
            }
        }
        Ok(())
    }

    fn apply_opt(&mut self, opt: &str) -> Result<()> {
        let (k, v) = opt.split_once('=').unwrap_or((opt, "true"));
        let k = k.trim();
        let k = k.strip_prefix("overlay.").or_else(|| k.strip_prefix("vfs.")).unwrap_or(k);
        match k {
            "ignore_chown_errors" => {
                self.ignore_chown_errors =
                    parse_bool(v).with_context(|| format!("--storage-opt {opt}: expected true or false"))?
            }
            _ => tracing::debug!("ignoring storage option {opt:?}"),
        }
        Ok(())
    }
}

fn parse_bool(s: &str) -> Result<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => bail!("not a boolean: {s:?}"),
    }
}

/// The storage.conf Podman would read: the user's (`$XDG_CONFIG_HOME/containers/storage.conf`) when
/// rootless and present, else `/etc/containers/storage.conf` (or `$CONTAINERS_STORAGE_CONF`).
fn storage_conf_path(rootless: bool) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CONTAINERS_STORAGE_CONF").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(p)).filter(|p| p.is_file());
    }
    if rootless {
        let cfg = std::env::var_os("XDG_CONFIG_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")));
        if let Some(p) = cfg.map(|c| c.join("containers/storage.conf")).filter(|p| p.is_file()) {
            return Some(p);
        }
    }
    Some(PathBuf::from("/etc/containers/storage.conf")).filter(|p| p.is_file())
}

/// A layer extracted in storage.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LayerRecord {
    pub chain_id: Digest,
    pub parent: Option<Digest>,
    /// sha256 of the uncompressed tar stream.
    pub diff_id: Digest,
    /// Digest of the blob it was pulled as, when it came from a registry.
    pub compressed_digest: Option<Digest>,
    /// Uncompressed size in bytes.
    pub size: u64,
}

/// layer.json: the record plus what extraction had to do.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct LayerMeta {
    #[serde(flatten)]
    record: LayerRecord,
    #[serde(default)]
    aufs_whiteouts: bool,
    #[serde(default)]
    squashed_owners: u64,
    #[serde(default)]
    skipped_devices: u64,
}

/// An image in storage. Its ID is the digest of its config, as in Podman.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ImageRecord {
    pub id: Digest,
    /// Fully qualified names, e.g. `docker.io/library/busybox:latest`.
    pub names: Vec<String>,
    /// The manifest digest it was pulled by (the one `--digests` shows).
    pub digest: Digest,
    /// `repo@digest` forms, e.g. `localhost:5000/lab/busybox@sha256:...`.
    pub repo_digests: Vec<String>,
    pub manifest_media_type: String,
    /// Chain IDs, bottom layer first.
    pub layers: Vec<Digest>,
    /// Sum of uncompressed layer sizes.
    pub size: u64,
    /// `created` from the image config (RFC 3339), if any.
    pub created: Option<String>,
    /// When this store received it (RFC 3339).
    pub pulled: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct ImagesFile {
    version: u32,
    images: Vec<ImageRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct StorageFile {
    version: u32,
    /// `[container, host, size]` lines of the mapping the layers were written with.
    uid_map: Vec<[u32; 3]>,
    gid_map: Vec<[u32; 3]>,
}

/// The store under a storage root.
pub struct Store {
    pub root: PathBuf,
    pub opts: StoreOptions,
}

/// Held while writing shared metadata; released on drop. Re-entrant within one process (a nested
/// `lock()` while this one is held returns a no-op guard).
pub struct StoreLock {
    _file: Option<Flock<File>>,
    root: PathBuf,
}

/// Store roots whose lock a thread of this process holds (flock is per open file: a second flock from
/// the same thread would deadlock).
static HELD: Mutex<Vec<(PathBuf, std::thread::ThreadId)>> = Mutex::new(Vec::new());

impl Drop for StoreLock {
    fn drop(&mut self) {
        if self._file.is_some() {
            if let Ok(mut h) = HELD.lock() {
                let me = std::thread::current().id();
                h.retain(|(p, t)| !(p == &self.root && *t == me));
            }
        }
    }
}

fn io_ctx<T>(r: std::io::Result<T>, what: impl FnOnce() -> String) -> Result<T> {
    r.with_context(what)
}

/// Write `data` to `path` atomically: a temp file beside it, fsync, rename, fsync of the directory.
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    let dir = path.parent().context("atomic write of a path without a parent")?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}-{}",
        path.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id(),
        fastrand_u64()
    ));
    let res = (|| -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    })();
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    io_ctx(res, || format!("writing {}", path.display()))
}

/// A random-enough suffix for temp names (pid + time + a counter; no crypto needed).
fn fastrand_u64() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let t =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0);
    t ^ (N.fetch_add(1, Ordering::Relaxed) << 48) ^ ((std::process::id() as u64) << 32)
}

fn lock_file(path: &Path, arg: FlockArg) -> Result<Flock<File>> {
    let f = io_ctx(std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(path), || {
        format!("opening the lock file {}", path.display())
    })?;
    Flock::lock(f, arg).map_err(|(_, e)| anyhow::anyhow!("locking {}: {e}", path.display()))
}

/// Whether a user name like `localhost:5000/lab/busybox:latest` matches a short or full input.
fn split_tag(name: &str) -> (&str, Option<&str>) {
    let (name, _digest) = name.split_once('@').unwrap_or((name, ""));
    match name.rfind(':') {
        Some(i) if !name[i..].contains('/') => (&name[..i], Some(&name[i + 1..])),
        _ => (name, None),
    }
}

impl Store {
    /// Open (creating if needed) the store of this invocation.
    pub fn open(ctx: &Context) -> Result<Store> {
        let opts = StoreOptions::from_config(&ctx.global.storage_opts, ctx.rootless)?;
        let store = Store::open_at(&ctx.storage_root, opts)?;
        store.check_mapping(&ctx.mapping.map);
        Ok(store)
    }

    /// Open the store at `root` (creating its directories when we may).
    pub fn open_at(root: &Path, opts: StoreOptions) -> Result<Store> {
        let store = Store { root: root.to_path_buf(), opts };
        private_dir(root);
        let created =
            ["layers", "images", "tmp", "locks"].iter().try_for_each(|d| std::fs::create_dir_all(root.join(d)));
        match created {
            Ok(()) => {
                if !root.join("storage.json").exists() {
                    let f = StorageFile { version: STORAGE_VERSION, uid_map: Vec::new(), gid_map: Vec::new() };
                    write_atomic(&root.join("storage.json"), &serde_json::to_vec_pretty(&f)?)?;
                }
            }
            // A read-only or foreign root is still readable (images, inspect).
            Err(e) if root.join("images.json").exists() || !root.exists() => {
                tracing::debug!("cannot create the store directories under {}: {e}", root.display());
            }
            Err(e) => {
                return Err(e).with_context(|| format!("creating the storage directories under {}", root.display()))
            }
        }
        if let Ok(text) = std::fs::read_to_string(root.join("storage.json")) {
            if let Ok(f) = serde_json::from_str::<StorageFile>(&text) {
                if f.version > STORAGE_VERSION {
                    bail!(
                        "the storage at {} has format version {}, newer than this warren understands ({}): upgrade warren or use another --root",
                        root.display(),
                        f.version,
                        STORAGE_VERSION
                    );
                }
            }
        }
        store.clean_tmp();
        Ok(store)
    }

    /// Record the id mapping with the first write, and warn once when it changed since: files in layers
    /// keep the ids they were extracted with.
    fn check_mapping(&self, map: &userns::IdMap) {
        if map.uids.is_empty() {
            return;
        }
        let conv = |v: &[userns::IdMapEntry]| v.iter().map(|e| [e.container, e.host, e.size]).collect::<Vec<_>>();
        let now = StorageFile { version: STORAGE_VERSION, uid_map: conv(&map.uids), gid_map: conv(&map.gids) };
        let path = self.root.join("storage.json");
        let old = std::fs::read_to_string(&path).ok().and_then(|t| serde_json::from_str::<StorageFile>(&t).ok());
        match old {
            Some(old) if old.uid_map.is_empty() => {
                let _ = write_atomic(&path, &serde_json::to_vec_pretty(&now).unwrap_or_default());
            }
            Some(old) if old.uid_map != now.uid_map || old.gid_map != now.gid_map => {
                tracing::warn!(
                    "the storage at {} was written with the id mapping uids {:?} gids {:?}, but the current mapping is uids {:?} gids {:?}: \
                     files in existing layers may have the wrong owners; remove the storage directory and pull again to fix it",
                    self.root.display(),
                    old.uid_map,
                    old.gid_map,
                    now.uid_map,
                    now.gid_map
                );
            }
            _ => {}
        }
    }

    /// Remove staging left by a crashed writer, when no writer is staging now (they hold tmp.lock shared).
    /// Only when we can remove what a writer created (root in our namespace).
    fn clean_tmp(&self) {
        if !nix::unistd::geteuid().is_root() {
            return;
        }
        let Ok(f) =
            std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(self.root.join("tmp.lock"))
        else {
            return;
        };
        let Ok(_guard) = Flock::lock(f, FlockArg::LockExclusiveNonblock) else {
            return;
        };
        let Ok(rd) = std::fs::read_dir(self.root.join("tmp")) else {
            return;
        };
        for e in rd.flatten() {
            let p = e.path();
            tracing::debug!("removing leftover staging {}", p.display());
            let r = if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                remove_tree(&p)
            } else {
                std::fs::remove_file(&p).map_err(Into::into)
            };
            if let Err(err) = r {
                tracing::warn!("cannot remove leftover staging {}: {err:#}", p.display());
            }
        }
    }

    /// Exclusive lock on the store's metadata.
    pub fn lock(&self) -> Result<StoreLock> {
        {
            let held = HELD.lock().map_err(|_| anyhow::anyhow!("store lock table poisoned"))?;
            let me = std::thread::current().id();
            if held.iter().any(|(p, t)| p == &self.root && *t == me) {
                return Ok(StoreLock { _file: None, root: self.root.clone() });
            }
        }
        let f = lock_file(&self.root.join("storage.lock"), FlockArg::LockExclusive)?;
        HELD.lock()
            .map_err(|_| anyhow::anyhow!("store lock table poisoned"))?
            .push((self.root.clone(), std::thread::current().id()));
        Ok(StoreLock { _file: Some(f), root: self.root.clone() })
    }

    fn layer_meta(&self, chain_id: &Digest) -> Result<Option<LayerMeta>> {
        let p = self.root.join("layers").join(chain_id.hex()).join("layer.json");
        match std::fs::read(&p) {
            Ok(b) => Ok(Some(serde_json::from_slice(&b).with_context(|| format!("parsing {}", p.display()))?)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("reading {}", p.display())),
        }
    }

    /// The layer with this chain ID, if it is fully in storage.
    pub fn layer(&self, chain_id: &Digest) -> Result<Option<LayerRecord>> {
        Ok(self.layer_meta(chain_id)?.map(|m| m.record))
    }

    /// Whether a layer's whiteouts had to be stored in the AUFS form (`.wh.NAME` files) because the kernel
    /// refused whiteout devices: the kernel overlay cannot use such a layer (fuse-overlayfs and the copy
    /// driver can).
    pub fn layer_has_aufs_whiteouts(&self, chain_id: &Digest) -> Result<bool> {
        Ok(self.layer_meta(chain_id)?.map(|m| m.aufs_whiteouts).unwrap_or(false))
    }

    /// The directory holding a layer's extracted content.
    pub fn layer_diff_dir(&self, chain_id: &Digest) -> PathBuf {
        self.root.join("layers").join(chain_id.hex()).join("diff")
    }

    /// Stream one compressed layer blob into storage: decompress (by `media_type`: gzip, zstd, none),
    /// hash both streams, extract safely through the id mapping, and commit atomically only when the
    /// blob matches `blob_digest` and the tar stream matches `diff_id`. Idempotent: importing a layer that
    /// is already present only drains the reader. `progress` is called with the compressed bytes read so far.
    #[allow(clippy::too_many_arguments)]
    pub fn import_layer(
        &self,
        chain_id: &Digest,
        parent: Option<&Digest>,
        blob_digest: &Digest,
        diff_id: &Digest,
        media_type: &str,
        reader: &mut dyn Read,
        progress: &dyn Fn(u64),
    ) -> Result<LayerRecord> {
        self.import_layer_of("", chain_id, parent, blob_digest, diff_id, media_type, reader, progress).map(|(r, _)| r)
    }

    /// [`Store::import_layer`], naming `image` in errors (`layer sha256:... of IMAGE: entry ...`) and returning
    /// what extraction had to do (squashed owners, skipped devices) for the caller's one-line notes. The
    /// stats are all zero when the layer was already present.
    #[allow(clippy::too_many_arguments)]
    pub fn import_layer_of(
        &self,
        image: &str,
        chain_id: &Digest,
        parent: Option<&Digest>,
        blob_digest: &Digest,
        diff_id: &Digest,
        media_type: &str,
        reader: &mut dyn Read,
        progress: &dyn Fn(u64),
    ) -> Result<(LayerRecord, ExtractStats)> {
        let expected_chain = Digest::chain(parent, diff_id);
        if &expected_chain != chain_id {
            bail!("layer {blob_digest}: chain ID {chain_id} does not match its parent and diff ID (expected {expected_chain})");
        }
        let drain = |reader: &mut dyn Read| -> Result<()> {
            let mut buf = vec![0u8; 64 * 1024];
            let mut total = 0u64;
            loop {
                let n = reader.read(&mut buf).with_context(|| format!("reading layer {blob_digest}"))?;
                if n == 0 {
                    return Ok(());
                }
                total += n as u64;
                progress(total);
            }
        };
        let _layer_lock =
            lock_file(&self.root.join("locks").join(format!("{}.lock", chain_id.hex())), FlockArg::LockExclusive)?;
        if let Some(rec) = self.layer(chain_id)? {
            drain(reader)?;
            return Ok((rec, ExtractStats::default()));
        }
        let _staging_lock = lock_file(&self.root.join("tmp.lock"), FlockArg::LockShared)?;
        let staging = self.root.join("tmp").join(format!(
            "layer-{}-{}-{:x}",
            &chain_id.hex()[..12],
            std::process::id(),
            fastrand_u64()
        ));
        let diff = staging.join("diff");
        io_ctx(std::fs::create_dir_all(&diff), || format!("creating {}", diff.display()))?;
        let result = (|| -> Result<(LayerRecord, ExtractStats)> {
            let ids = IdPolicy::current(self.opts.ignore_chown_errors).context("reading /proc/self/uid_map")?;
            let label = LayerLabel { digest: blob_digest.to_string(), image: image.to_string() };
            let stats = extract::extract_layer(
                reader,
                media_type,
                Some(blob_digest),
                Some(diff_id),
                &diff,
                &ExtractOptions { ids },
                &label,
                progress,
            )?;
            let meta = LayerMeta {
                record: LayerRecord {
                    chain_id: chain_id.clone(),
                    parent: parent.cloned(),
                    diff_id: diff_id.clone(),
                    compressed_digest: Some(blob_digest.clone()),
                    size: stats.tar_size,
                },
                aufs_whiteouts: stats.aufs_whiteouts,
                squashed_owners: stats.squashed_owners,
                skipped_devices: stats.skipped_devices,
            };
            let mut f = File::create(staging.join("layer.json"))?;
            f.write_all(&serde_json::to_vec_pretty(&meta)?)?;
            // One flush of the filesystem instead of an fsync per extracted file.
            super::sys::syncfs(f.as_raw_fd()).context("syncing the extracted layer")?;
            drop(f);
            let dest = self.root.join("layers").join(chain_id.hex());
            std::fs::rename(&staging, &dest)
                .with_context(|| format!("committing layer {} to {}", chain_id, dest.display()))?;
            File::open(self.root.join("layers"))?.sync_all()?;
            Ok((meta.record, stats))
        })();
        if result.is_err() {
            if let Err(e) = remove_tree(&staging) {
                tracing::warn!("cannot remove staging {}: {e:#}", staging.display());
            }
        }
        result
    }

    fn load_images(&self) -> Result<ImagesFile> {
        let p = self.root.join("images.json");
        match std::fs::read(&p) {
            Ok(b) => {
                let f: ImagesFile = serde_json::from_slice(&b).with_context(|| format!("parsing {}", p.display()))?;
                if f.version > STORAGE_VERSION {
                    bail!("{} has format version {}, newer than this warren understands", p.display(), f.version);
                }
                Ok(f)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Ok(ImagesFile { version: STORAGE_VERSION, images: Vec::new() })
            }
            Err(e) => Err(e).with_context(|| format!("reading {}", p.display())),
        }
    }

    fn save_images(&self, f: &ImagesFile) -> Result<()> {
        write_atomic(&self.root.join("images.json"), &serde_json::to_vec_pretty(f)?)
    }

    /// Record an image whose layers are all in storage (atomically; replaces a record with the same ID and
    /// moves its names from any other image that held them).
    pub fn put_image(&self, rec: &ImageRecord, manifest: &[u8], config: &[u8]) -> Result<()> {
        let _lock = self.lock()?;
        for l in &rec.layers {
            if self.layer(l)?.is_none() {
                bail!(
                    "cannot record image {}: its layer {} is not in storage (removed concurrently?); pull it again",
                    rec.id,
                    l
                );
            }
        }
        let dir = self.root.join("images").join(rec.id.hex());
        io_ctx(std::fs::create_dir_all(&dir), || format!("creating {}", dir.display()))?;
        write_atomic(&dir.join("manifest"), manifest)?;
        write_atomic(&dir.join("config"), config)?;
        let mut f = self.load_images()?;
        let mut rec = rec.clone();
        if let Some(old) = f.images.iter().find(|i| i.id == rec.id) {
            // Names and digests given to it before stay (a re-pull under another name adds one).
            for n in &old.names {
                if !rec.names.contains(n) {
                    rec.names.push(n.clone());
                }
            }
            for d in &old.repo_digests {
                if !rec.repo_digests.contains(d) {
                    rec.repo_digests.push(d.clone());
                }
            }
        }
        f.images.retain(|i| i.id != rec.id);
        for other in &mut f.images {
            other.names.retain(|n| !rec.names.contains(n));
        }
        write_atomic(&dir.join("image.json"), &serde_json::to_vec_pretty(&rec)?)?;
        f.images.push(rec);
        f.version = STORAGE_VERSION;
        self.save_images(&f)
    }

    /// Every image in storage.
    pub fn images(&self) -> Result<Vec<ImageRecord>> {
        Ok(self.load_images()?.images)
    }

    /// Look an image up by name (short or full, normalised like Podman), full ID, or unique ID prefix.
    pub fn find_image(&self, name_or_id: &str) -> Result<Option<ImageRecord>> {
        let images = self.images()?;
        find_in(&images, name_or_id)
    }

    /// The raw config blob of an image.
    pub fn image_config(&self, id: &Digest) -> Result<Vec<u8>> {
        let p = self.root.join("images").join(id.hex()).join("config");
        std::fs::read(&p).with_context(|| format!("reading the config of image {id} ({})", p.display()))
    }

    /// The raw manifest of an image.
    pub fn image_manifest(&self, id: &Digest) -> Result<Vec<u8>> {
        let p = self.root.join("images").join(id.hex()).join("manifest");
        std::fs::read(&p).with_context(|| format!("reading the manifest of image {id} ({})", p.display()))
    }

    /// Add a name to an image (taking it from any other image that had it).
    pub fn tag_image(&self, id: &Digest, name: &str) -> Result<()> {
        let _lock = self.lock()?;
        let mut f = self.load_images()?;
        if !f.images.iter().any(|i| &i.id == id) {
            bail!("image {id} is not in storage");
        }
        for i in &mut f.images {
            if &i.id == id {
                if !i.names.iter().any(|n| n == name) {
                    i.names.push(name.to_string());
                }
            } else {
                i.names.retain(|n| n != name);
            }
        }
        self.save_images(&f)
    }

    /// Remove names from an image (all of them when `names` is empty). Returns the names removed.
    pub fn untag_image(&self, id: &Digest, names: &[String]) -> Result<Vec<String>> {
        let _lock = self.lock()?;
        let mut f = self.load_images()?;
        let Some(img) = f.images.iter_mut().find(|i| &i.id == id) else { bail!("image {id} is not in storage") };
        let removed: Vec<String> =
            img.names.iter().filter(|n| names.is_empty() || names.contains(n)).cloned().collect();
        img.names.retain(|n| !removed.contains(n));
        self.save_images(&f)?;
        Ok(removed)
    }

    /// Remove an image record and every layer no remaining image uses. Returns the removed layers.
    pub fn remove_image(&self, id: &Digest) -> Result<Vec<Digest>> {
        let _lock = self.lock()?;
        let mut f = self.load_images()?;
        let before = f.images.len();
        f.images.retain(|i| &i.id != id);
        if f.images.len() == before {
            bail!("image {id} is not in storage");
        }
        self.save_images(&f)?;
        let dir = self.root.join("images").join(id.hex());
        if let Err(e) = std::fs::remove_dir_all(&dir) {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!("cannot remove {}: {e}", dir.display());
            }
        }
        self.remove_unused_layers(&f)
    }

    /// Delete every layer no image uses (e.g. the layers of a pull that failed on a later layer).
    /// Returns the removed layers.
    pub fn prune_layers(&self) -> Result<Vec<Digest>> {
        let _lock = self.lock()?;
        let f = self.load_images()?;
        self.remove_unused_layers(&f)
    }

    /// Delete layers no image record references (after a crash or an rmi), skipping layers another
    /// process is importing right now. Callers hold the store lock.
    fn remove_unused_layers(&self, f: &ImagesFile) -> Result<Vec<Digest>> {
        let used: HashSet<&str> = f.images.iter().flat_map(|i| i.layers.iter().map(|l| l.hex())).collect();
        let mut removed = Vec::new();
        let _staging = lock_file(&self.root.join("tmp.lock"), FlockArg::LockShared)?;
        let rd = match std::fs::read_dir(self.root.join("layers")) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(removed),
            Err(e) => return Err(e).context("listing layers"),
        };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if used.contains(name.as_str()) {
                continue;
            }
            let Ok(d) = Digest::parse(&format!("sha256:{name}")) else {
                continue;
            };
            let lock_path = self.root.join("locks").join(format!("{name}.lock"));
            let Ok(lock) = lock_file(&lock_path, FlockArg::LockExclusiveNonblock) else {
                continue; // being imported by another pull: it will be used
            };
            // Move it out of layers/ first, so a crash mid-delete leaves garbage only in tmp/.
            let trash =
                self.root.join("tmp").join(format!("deleted-{}-{:x}", &name[..12.min(name.len())], fastrand_u64()));
            std::fs::rename(e.path(), &trash).with_context(|| format!("removing layer {d}"))?;
            remove_tree(&trash).with_context(|| format!("removing layer {d} ({})", trash.display()))?;
            let _ = std::fs::remove_file(&lock_path);
            drop(lock);
            removed.push(d);
        }
        Ok(removed)
    }
}

/// Remove a tree we wrote, making directories writable first (layers can hold 0555 directories, which
/// stop an unprivileged owner, though not root in the namespace).
pub fn remove_tree(p: &Path) -> Result<()> {
    match std::fs::remove_dir_all(p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            make_writable(p);
            std::fs::remove_dir_all(p).with_context(|| format!("removing {}", p.display()))
        }
        Err(e) => Err(e).with_context(|| format!("removing {}", p.display())),
    }
}

fn make_writable(p: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(md) = std::fs::symlink_metadata(p) {
        if md.is_dir() {
            let _ = std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o700));
            if let Ok(rd) = std::fs::read_dir(p) {
                for e in rd.flatten() {
                    make_writable(&e.path());
                }
            }
        }
    }
}

/// Find an image among `images` like Podman: full ID (with or without `sha256:`), a full name, a short
/// name (`busybox`, `lab/busybox:1`) matched against the repository path after the registry at a `/`
/// boundary, `name@digest`, or a unique ID prefix of at least 3 hex digits.
pub fn find_in(images: &[ImageRecord], input: &str) -> Result<Option<ImageRecord>> {
    let input = input.trim();
    if input.is_empty() {
        bail!("empty image name");
    }
    let hexpart = input.strip_prefix("sha256:").unwrap_or(input);
    let is_hex = !hexpart.is_empty() && hexpart.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if is_hex && hexpart.len() == 64 {
        if let Some(i) = images.iter().find(|i| i.id.hex() == hexpart) {
            return Ok(Some(i.clone()));
        }
    }
    // Names.
    let (repo_part, digest_part) = match input.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (input, None),
    };
    if let Some(d) = digest_part {
        let (r, _) = split_tag(repo_part);
        let full =
            crate::image::reference::Reference::parse(input).ok().map(|p| format!("{}/{}", p.registry, p.repository));
        let hit = images.iter().find(|i| {
            (i.digest.as_str() == d || i.repo_digests.iter().any(|rd| rd.ends_with(&format!("@{d}"))))
                && i.repo_digests.iter().chain(i.names.iter()).any(|n| {
                    let (nr, _) = split_tag(n);
                    Some(nr.to_string()) == full || nr == r || nr.ends_with(&format!("/{r}"))
                })
        });
        return Ok(hit.cloned());
    }
    let (r, tag) = split_tag(repo_part);
    let tag = tag.unwrap_or("latest");
    let want = format!("{r}:{tag}");
    if let Some(i) = images.iter().find(|i| i.names.iter().any(|n| n == input || *n == want)) {
        return Ok(Some(i.clone()));
    }
    if let Ok(p) = crate::image::reference::Reference::parse(input) {
        let full = p.to_string();
        if let Some(i) = images.iter().find(|i| i.names.contains(&full)) {
            return Ok(Some(i.clone()));
        }
    }
    // Short names: match the repository path at a `/` boundary (busybox → docker.io/library/busybox,
    // localhost:5000/lab/busybox), preferring the most recently pulled image.
    let first = r.split('/').next().unwrap_or("");
    let has_registry = r.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    if !has_registry {
        let mut hits: Vec<&ImageRecord> = images
            .iter()
            .filter(|i| {
                i.names.iter().any(|n| {
                    let (nr, nt) = split_tag(n);
                    nt.unwrap_or("latest") == tag && nr.ends_with(&format!("/{r}"))
                })
            })
            .collect();
        hits.sort_by(|a, b| b.pulled.cmp(&a.pulled));
        if let Some(i) = hits.first() {
            return Ok(Some((*i).clone()));
        }
    }
    if is_hex && hexpart.len() >= 3 {
        let hits: Vec<&ImageRecord> = images.iter().filter(|i| i.id.hex().starts_with(hexpart)).collect();
        match hits.len() {
            0 => {}
            1 => return Ok(Some(hits[0].clone())),
            n => bail!("{n} images have an ID starting with {hexpart:?}: give more digits"),
        }
    }
    Ok(None)
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;

/// Make a storage root private to its owner (0700), as Podman does: it holds every container's
/// environment (secrets passed with `-e`) and files. Created 0700 when missing; an existing root of ours
/// that others can read is tightened. Best effort: a root we cannot create fails later, with the path.
pub fn private_dir(root: &Path) {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    if let Some(parent) = root.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    let _ = std::fs::DirBuilder::new().mode(0o700).create(root);
    if let Ok(m) = std::fs::metadata(root) {
        if m.uid() == nix::unistd::geteuid().as_raw() && m.mode() & 0o077 != 0 {
            let _ = std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o700));
        }
    }
}
