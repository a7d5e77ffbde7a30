//! Pulling an image: resolve the name (registries.conf) → manifest (choosing a platform from an index)
//! → config (verified) → diff IDs and chain IDs → the missing layers, fetched in parallel and streamed
//! into the store (download, hash, decompress and extract in one pass) → the image record, written only
//! after every layer is in.
//!
//! The network part ([`Puller`], [`Remote`]) knows nothing of the store; [`pull`] adds the store calls.

use anyhow::{anyhow, bail, Context as _, Result};
use std::io::{IsTerminal as _, Read};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tracing::{debug, warn};

use super::auth;
use super::client::{Client, ClientOptions, FetchedManifest, RegistryError};
use super::manifest::{self, ImageManifest, Manifest, Platform};
use super::policy::Policy;
use super::reference::Reference;
use super::registries::{PullSource, RegistriesConf};
use crate::context::Context;
use crate::storage::{Digest, ImageRecord, Store};

/// How many layers are fetched at once.
pub const PARALLEL_LAYERS: usize = 3;

/// Podman's `--pull` / `--policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PullPolicy {
    /// Always ask the registry; fetch nothing when the local image is already the remote one.
    #[default]
    Always,
    /// Pull only when the image is not in local storage (no network otherwise).
    Missing,
    /// Never pull; fail when the image is not in local storage.
    Never,
    /// Pull when the registry has a different image than local storage; keep the local one when the
    /// registry cannot be reached.
    Newer,
}

impl std::str::FromStr for PullPolicy {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<PullPolicy> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "always" | "true" => PullPolicy::Always,
            "missing" | "ifmissing" | "if-missing" | "" => PullPolicy::Missing,
            "never" | "false" => PullPolicy::Never,
            "newer" | "ifnewer" | "if-newer" => PullPolicy::Newer,
            _ => bail!("invalid pull policy {s:?}: use always, missing, never or newer"),
        })
    }
}

/// Everything a pull needs besides the name.
#[derive(Debug, Clone)]
pub struct PullOptions {
    pub client: ClientOptions,
    pub platform: Platform,
    /// The platform was asked for (`--platform`, `--arch`, `--os`, `--variant`), not the host's.
    pub explicit_platform: bool,
}

impl Default for PullOptions {
    fn default() -> Self {
        PullOptions { client: ClientOptions::default(), platform: Platform::host(), explicit_platform: false }
    }
}

/// An image found on a registry: its manifest for our platform, ready to fetch.
pub struct Remote {
    /// The name the image gets locally (the resolved reference, e.g. `localhost:5000/warren/busybox:latest`).
    pub name: Reference,
    /// Where it is actually fetched from (differs from `name` for mirrors and rewritten prefixes).
    pub source: Reference,
    pub client: Client,
    /// The digest the tag points to (an index's digest for multi-arch images).
    pub top_digest: Digest,
    pub top_media_type: String,
    /// The platform manifest.
    pub manifest: ImageManifest,
    pub manifest_bytes: Vec<u8>,
    pub manifest_digest: Digest,
    /// The platform asked for.
    pub platform: Platform,
}

/// One layer to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerPlan {
    pub blob: Digest,
    pub blob_size: u64,
    /// OCI media type the store decompresses by.
    pub media_type: &'static str,
    pub diff_id: Digest,
    pub chain_id: Digest,
    pub parent: Option<Digest>,
}

/// What the config says that a pull needs.
#[derive(Debug, Clone)]
pub struct ConfigInfo {
    pub bytes: Vec<u8>,
    pub digest: Digest,
    pub diff_ids: Vec<Digest>,
    pub created: Option<String>,
    pub os: Option<String>,
    pub architecture: Option<String>,
}

/// The network side of a pull.
pub struct Puller {
    pub conf: RegistriesConf,
    pub policy: Policy,
    pub opts: PullOptions,
}

impl Puller {
    pub fn new(opts: PullOptions) -> Result<Puller> {
        Ok(Puller { conf: RegistriesConf::load()?, policy: Policy::load()?, opts })
    }

    /// The fully qualified names a user-supplied name may mean, in order.
    pub fn candidates(&self, input: &str) -> Result<Vec<Reference>> {
        Ok(self.conf.candidates(input)?)
    }

    /// Connect to the registry of a pull source, with the credentials and TLS settings for it.
    pub fn connect(&self, src: &PullSource) -> Result<Client> {
        let registry = &src.reference.registry;
        let insecure = match self.opts.client.tls_verify {
            Some(v) => !v,
            None => src.insecure,
        };
        let creds = auth::lookup(
            self.opts.client.creds.as_deref(),
            self.opts.client.authfile.as_deref(),
            registry,
            Some(&src.reference.repository),
        )?;
        Ok(Client::connect(registry, insecure, creds, self.opts.client.cert_dir.as_deref())?)
    }

    /// Every tag of a repository (`--all-tags`): the fully qualified name and its tags, from the first
    /// candidate registry that answers.
    pub fn tags(&self, input: &str) -> Result<(Reference, Vec<String>)> {
        // A tag or digest with --all-tags is contradictory (a registry port is fine).
        if input.contains('@') || input.rsplit('/').next().is_some_and(|last| last.contains(':')) {
            bail!("{input}: --all-tags takes a repository name without a tag or digest");
        }
        let mut last = None;
        for cand in self.candidates(input)? {
            let src = self.conf.pull_sources(&cand)?.pop().expect("pull_sources ends with the location");
            let res = self.connect(&src).and_then(|c| {
                let scope = super::client::pull_scope(&src.reference.repository);
                let what = format!("listing the tags of {}", src.reference.name());
                let v = c.get_json(&format!("/v2/{}/tags/list", src.reference.repository), Some(&scope), &what)?;
                Ok(v.get("tags")
                    .and_then(|t| t.as_array())
                    .map(|a| a.iter().filter_map(|t| t.as_str().map(str::to_string)).collect::<Vec<_>>())
                    .unwrap_or_default())
            });
            match res {
                Ok(tags) => return Ok((cand, tags)),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| anyhow!("{input}: no registry to list tags from")))
    }

    /// Find `name` (fully qualified) on its registry or a mirror: the manifest for our platform.
    pub fn remote(&self, name: &Reference) -> Result<Remote> {
        self.policy.check(name)?;
        let sources = self.conf.pull_sources(name)?;
        let mut errors = Vec::new();
        for src in &sources {
            match self.remote_from(name, src) {
                Ok(r) => return Ok(r),
                Err(e) => {
                    if src.mirror {
                        debug!("mirror {} failed: {e:#}", src.reference);
                    }
                    errors.push(e)
                }
            }
        }
        Err(errors.pop().unwrap_or_else(|| anyhow!("no source to pull {name} from")))
    }

    fn remote_from(&self, name: &Reference, src: &PullSource) -> Result<Remote> {
        let r = &src.reference;
        let client = self.connect(src)?;
        let what = format!("reading manifest {} in {}", r.manifest_ref(), r.name());
        let top = client.manifest(&r.repository, r.manifest_ref(), &what)?;
        let parsed = Manifest::parse(&r.to_string(), &top.bytes, top.content_type.as_deref())?;
        let (manifest, bytes, digest, top_media_type) = match parsed {
            Manifest::Image(m) => {
                let mt = m.media_type.clone();
                (m, top.bytes.clone(), top.digest.clone(), mt)
            }
            Manifest::Index { media_type, manifests } => {
                let chosen = manifest::select_platform(&r.to_string(), &manifests, &self.opts.platform)?;
                debug!("{r}: chose {} for {}", chosen.digest, self.opts.platform);
                let d = Digest::parse(&chosen.digest).with_context(|| format!("{r}: index entry"))?;
                let what = format!("reading manifest {d} in {}", r.name());
                let FetchedManifest { bytes, digest, content_type } =
                    client.manifest(&r.repository, d.as_str(), &what)?;
                match Manifest::parse(&format!("{}@{d}", r.name()), &bytes, content_type.as_deref())? {
                    Manifest::Image(m) => (m, bytes, digest, media_type),
                    Manifest::Index { .. } => {
                        bail!("{r}: the index entry for {} is itself an index", self.opts.platform)
                    }
                }
            }
        };
        Ok(Remote {
            name: name.clone(),
            source: r.clone(),
            client,
            top_digest: top.digest,
            top_media_type,
            manifest,
            manifest_bytes: bytes,
            manifest_digest: digest,
            platform: self.opts.platform.clone(),
        })
    }
}

impl Remote {
    fn what(&self) -> String {
        self.source.to_string()
    }

    /// Fetch and verify the config blob, and read what a pull needs from it.
    pub fn config(&self) -> Result<ConfigInfo> {
        let digest = Digest::parse(&self.manifest.config.digest)
            .with_context(|| format!("{}: config descriptor", self.what()))?;
        let bytes = self.client.blob_bytes(&self.source.repository, &digest, &self.what())?;
        parse_config(&self.what(), bytes, digest)
    }

    /// The layers with their diff and chain IDs.
    pub fn layers(&self, config: &ConfigInfo) -> Result<Vec<LayerPlan>> {
        plan_layers(&self.what(), &self.manifest, &config.diff_ids)
    }

    /// A verified stream of a layer blob.
    pub fn blob(&self, layer: &LayerPlan) -> Result<super::client::BlobReader, RegistryError> {
        self.client.blob(&self.source.repository, &layer.blob, Some(layer.blob_size), &self.what())
    }

    /// `repo@digest` forms for the record: the tag's digest and, for an index, the platform manifest's.
    pub fn repo_digests(&self) -> Vec<String> {
        let mut v = vec![format!("{}@{}", self.name.name(), self.top_digest)];
        if self.manifest_digest != self.top_digest {
            v.push(format!("{}@{}", self.name.name(), self.manifest_digest));
        }
        v
    }
}

/// Read diff IDs, created, os and architecture from a config blob.
pub fn parse_config(what: &str, bytes: Vec<u8>, digest: Digest) -> Result<ConfigInfo> {
    let v: serde_json::Value =
        serde_json::from_slice(&bytes).with_context(|| format!("{what}: parsing the image config {digest}"))?;
    let diff_ids = v
        .pointer("/rootfs/diff_ids")
        .and_then(|d| d.as_array())
        .ok_or_else(|| anyhow!("{what}: the image config {digest} has no rootfs.diff_ids"))?
        .iter()
        .map(|d| {
            d.as_str()
                .ok_or_else(|| anyhow!("{what}: a diff ID in the config is not a string"))
                .and_then(|s| Digest::parse(s).with_context(|| format!("{what}: diff ID in the config")))
        })
        .collect::<Result<Vec<_>>>()?;
    let s = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
    Ok(ConfigInfo { created: s("created"), os: s("os"), architecture: s("architecture"), bytes, digest, diff_ids })
}

/// Pair each layer with its diff ID and compute chain IDs.
pub fn plan_layers(what: &str, m: &ImageManifest, diff_ids: &[Digest]) -> Result<Vec<LayerPlan>> {
    if m.layers.len() != diff_ids.len() {
        bail!(
            "{what}: the manifest has {} layers but the config has {} diff IDs: the image is inconsistent",
            m.layers.len(),
            diff_ids.len()
        );
    }
    let mut parent: Option<Digest> = None;
    let mut out = Vec::new();
    for (d, diff_id) in m.layers.iter().zip(diff_ids) {
        let blob = Digest::parse(&d.digest).with_context(|| format!("{what}: layer descriptor"))?;
        let media_type = manifest::layer_media_type(what, d)?;
        let chain_id = Digest::chain(parent.as_ref(), diff_id);
        out.push(LayerPlan {
            blob,
            blob_size: d.size,
            media_type,
            diff_id: diff_id.clone(),
            chain_id: chain_id.clone(),
            parent: parent.clone(),
        });
        parent = Some(chain_id);
    }
    Ok(out)
}

// --- output --------------------------------------------------------------------------------------------

/// What a pull prints on stderr: nothing, or Podman's lines with progress bars (on a terminal).
pub struct Reporter {
    bars: Option<indicatif::MultiProgress>,
    /// Once a bar is drawn, lines must go through the MultiProgress to keep the bars intact.
    drawing: AtomicBool,
}

impl Reporter {
    /// Progress only when stderr is a terminal and the caller is not quiet.
    pub fn new(quiet: bool) -> Reporter {
        let tty = std::io::stderr().is_terminal();
        Reporter { bars: (!quiet && tty).then(indicatif::MultiProgress::new), drawing: AtomicBool::new(false) }
    }

    pub fn silent() -> Reporter {
        Reporter { bars: None, drawing: AtomicBool::new(false) }
    }

    /// Whether lines are printed (progress on a terminal).
    pub fn prints(&self) -> bool {
        self.bars.is_some()
    }

    fn line(&self, s: &str) {
        if let Some(b) = &self.bars {
            if self.drawing.load(Ordering::SeqCst) {
                let _ = b.println(s);
            } else {
                eprintln!("{s}");
            }
        }
    }

    fn bar(&self, blob: &Digest, total: u64) -> Option<indicatif::ProgressBar> {
        let mp = self.bars.as_ref()?;
        self.drawing.store(true, Ordering::SeqCst);
        let pb = mp.add(indicatif::ProgressBar::new(total));
        pb.set_style(
            indicatif::ProgressStyle::with_template(
                "Copying blob {prefix} {wide_bar} {bytes} / {total_bytes} ({bytes_per_sec}) {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        pb.set_prefix(short(blob));
        Some(pb)
    }
}

fn short(d: &Digest) -> String {
    d.hex()[..12].to_string()
}

// --- the pull ----------------------------------------------------------------------------------------

/// Find the image locally or pull it, following `policy`. Used by `pull` (with `Always` by default) and
/// by `run`/`create` for the implicit pull. Returns the local image.
pub fn ensure_image(
    _ctx: &Context,
    store: &Store,
    reference: &str,
    policy: PullPolicy,
    opts: &PullOptions,
    quiet: bool,
) -> Result<ImageRecord> {
    let reporter = Reporter::new(quiet);
    let img = pull_with(store, reference, policy, opts, &reporter)?;
    if let Some(msg) = platform_mismatch(store, &img, &opts.platform) {
        // Podman: a "WARNING:" line among the pull's progress, else a logged warning.
        if reporter.prints() {
            reporter.line(&format!("WARNING: {msg}"));
        } else {
            warn!("{msg}");
        }
    }
    Ok(img)
}

/// Podman's warning for an image (pulled or local) whose platform is not the one asked for (`--arch`,
/// `--platform`, else the host's): `image platform (linux/arm64) does not match the expected platform
/// (linux/amd64)`. None when it matches or the config does not say.
pub fn platform_mismatch(store: &Store, img: &ImageRecord, expected: &Platform) -> Option<String> {
    let config: serde_json::Value = serde_json::from_slice(&store.image_config(&img.id).ok()?).ok()?;
    let s = |k: &str| config.get(k).and_then(|v| v.as_str()).filter(|v| !v.is_empty()).map(str::to_string);
    let got = Platform { os: s("os")?, architecture: s("architecture")?, variant: s("variant") };
    (!expected.matches(&got))
        .then(|| format!("image platform ({got}) does not match the expected platform ({expected})"))
}

/// The whole pull, reporting through `reporter`.
pub fn pull_with(
    store: &Store,
    input: &str,
    policy: PullPolicy,
    opts: &PullOptions,
    reporter: &Reporter,
) -> Result<ImageRecord> {
    // Podman accepts the docker:// transport prefix; it is the only transport a pull here knows.
    let input = input.strip_prefix("docker://").unwrap_or(input);
    // Reject malformed names before anything else.
    Reference::parse_unresolved(input)?;
    let conf = std::cell::OnceCell::new();
    let local = || -> Result<Option<ImageRecord>> {
        if let Some(img) = store.find_image(input).with_context(|| format!("looking up {input} in local storage"))? {
            return Ok(Some(img));
        }
        // A short name: also look for what it resolves to (registries.conf), whatever the store's rule.
        if Reference::parse_unresolved(input)?.is_short() {
            let conf = conf.get_or_init(|| RegistriesConf::load().unwrap_or_default());
            for cand in conf.candidates(input).unwrap_or_default() {
                if let Some(img) = store.find_image(&cand.familiar_name())? {
                    return Ok(Some(img));
                }
            }
        }
        Ok(None)
    };
    match policy {
        PullPolicy::Missing => {
            if let Some(img) = local()? {
                // Like Podman: a platform asked for that the local image does not have is pulled.
                match platform_mismatch(store, &img, &opts.platform).filter(|_| opts.explicit_platform) {
                    None => {
                        debug!("{input} is in local storage ({}); not pulling (policy missing)", img.id);
                        return Ok(img);
                    }
                    Some(why) => debug!("{input} is in local storage ({}) but {why}: pulling", img.id),
                }
            }
        }
        PullPolicy::Never => {
            return local()?.ok_or_else(|| {
                anyhow!("{input}: image not known (pull policy is never: pull it first with `warren pull {input}`)")
            });
        }
        PullPolicy::Always | PullPolicy::Newer => {}
    }
    let puller = Puller::new(opts.clone())?;
    let candidates = puller.candidates(input)?;
    let parsed = Reference::parse_unresolved(input)?;
    if let Some(file) = puller.conf.alias_sources.get(&parsed.repository).filter(|_| parsed.is_short()) {
        reporter.line(&format!("Resolved \"{}\" as an alias ({})", parsed.repository, file.display()));
    }
    let mut errors = Vec::new();
    for cand in &candidates {
        reporter.line(&format!("Trying to pull {cand}..."));
        let remote = match puller.remote(cand) {
            Ok(r) => r,
            Err(e) => {
                debug!("{cand}: {e:#}");
                errors.push((cand.clone(), e));
                continue;
            }
        };
        let img = pull_remote(store, &remote, reporter).with_context(|| format!("pulling {cand}"))?;
        crate::events::emit(&store.root, crate::events::Event::image("pull", &img.id.to_string(), &cand.to_string()));
        return Ok(img);
    }
    if policy == PullPolicy::Newer {
        if let Some(img) = local()? {
            let (c, e) = errors.last().expect("at least one candidate");
            warn!("checking {c} for a newer image failed ({e:#}); using the local image {}", img.id);
            return Ok(img);
        }
    }
    Err(combine_errors(input, errors))
}

fn combine_errors(input: &str, mut errors: Vec<(Reference, anyhow::Error)>) -> anyhow::Error {
    if errors.len() == 1 {
        let (c, e) = errors.pop().expect("one");
        return e.context(format!("initializing source docker://{c}"));
    }
    let mut msg = format!("{} errors occurred while pulling {input}:", errors.len());
    for (c, e) in &errors {
        msg.push_str(&format!("\n * initializing source docker://{c}: {e:#}"));
    }
    anyhow!(msg)
}

/// Is this remote image already complete in storage? Then only its names may need updating.
fn already_present(store: &Store, remote: &Remote) -> Result<Option<ImageRecord>> {
    // Match on the platform manifest: an index digest says nothing about which platform is local.
    let inst = format!("@{}", remote.manifest_digest);
    for img in store.images()? {
        let same = img.digest == remote.manifest_digest || img.repo_digests.iter().any(|d| d.ends_with(&inst));
        if !same {
            continue;
        }
        let mut complete = true;
        for l in &img.layers {
            if store.layer(l)?.is_none() {
                complete = false;
                break;
            }
        }
        if complete {
            return Ok(Some(img));
        }
    }
    Ok(None)
}

/// Pull a resolved remote image into the store.
pub fn pull_remote(store: &Store, remote: &Remote, reporter: &Reporter) -> Result<ImageRecord> {
    let name = remote.name.familiar_name();
    if let Some(mut img) = already_present(store, remote)? {
        debug!("{name}: manifest {} is already in storage as {}; fetching no blobs", remote.top_digest, img.id);
        reporter.line("Getting image source signatures");
        for l in &remote.manifest.layers {
            if let Ok(d) = Digest::parse(&l.digest) {
                reporter.line(&format!("Copying blob {} skipped: already exists", short(&d)));
            }
        }
        let mut changed = false;
        if !img.names.contains(&name) {
            img.names.insert(0, name.clone());
            changed = true;
        }
        for d in remote.repo_digests() {
            if !img.repo_digests.contains(&d) {
                img.repo_digests.push(d);
                changed = true;
            }
        }
        if changed {
            let manifest = store.image_manifest(&img.id)?;
            let config = store.image_config(&img.id)?;
            store.put_image(&img, &manifest, &config).with_context(|| format!("recording {name} in local storage"))?;
        }
        reporter.line("Writing manifest to image destination");
        return Ok(img);
    }

    reporter.line("Getting image source signatures");
    let config = remote.config()?;
    let plan = remote.layers(&config)?;
    let mut sizes = vec![0u64; plan.len()];
    let mut todo = Vec::new();
    for (i, l) in plan.iter().enumerate() {
        match store.layer(&l.chain_id)? {
            Some(rec) => {
                debug!("layer {} ({}) already in storage", l.chain_id, l.blob);
                reporter.line(&format!("Copying blob {} skipped: already exists", short(&l.blob)));
                sizes[i] = rec.size;
            }
            None => todo.push(i),
        }
    }
    for (i, size) in fetch_layers(store, remote, &plan, &todo, reporter)? {
        sizes[i] = size;
    }
    reporter.line(&format!("Copying config {} done", short(&config.digest)));
    reporter.line("Writing manifest to image destination");

    let mut rec = ImageRecord {
        id: config.digest.clone(),
        names: vec![name.clone()],
        digest: remote.top_digest.clone(),
        repo_digests: remote.repo_digests(),
        manifest_media_type: remote.manifest.media_type.clone(),
        layers: plan.iter().map(|l| l.chain_id.clone()).collect(),
        size: sizes.iter().sum(),
        created: config.created.clone(),
        pulled: now_rfc3339(),
    };
    // Another name may already hold this image (same config): keep its names and digests.
    if let Some(existing) = store.images()?.into_iter().find(|i| i.id == rec.id) {
        for n in existing.names {
            if !rec.names.contains(&n) {
                rec.names.push(n);
            }
        }
        for d in existing.repo_digests {
            if !rec.repo_digests.contains(&d) {
                rec.repo_digests.push(d);
            }
        }
    }
    store
        .put_image(&rec, &remote.manifest_bytes, &config.bytes)
        .with_context(|| format!("recording {name} in local storage"))?;
    Ok(rec)
}

/// Fetch layers `todo` (indexes into `plan`) with up to [`PARALLEL_LAYERS`] at once; returns their
/// uncompressed sizes. Stops handing out work at the first failure and reports the root cause.
fn fetch_layers(
    store: &Store,
    remote: &Remote,
    plan: &[LayerPlan],
    todo: &[usize],
    reporter: &Reporter,
) -> Result<Vec<(usize, u64)>> {
    if todo.is_empty() {
        return Ok(Vec::new());
    }
    let next = AtomicUsize::new(0);
    let abort = Arc::new(AtomicBool::new(false));
    let results: Mutex<Vec<(usize, u64)>> = Mutex::new(Vec::new());
    let first_err: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    let workers = todo.len().min(PARALLEL_LAYERS);
    let bars: Vec<Option<indicatif::ProgressBar>> =
        todo.iter().map(|&i| reporter.bar(&plan[i].blob, plan[i].blob_size)).collect();
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                if abort.load(Ordering::SeqCst) {
                    return;
                }
                let k = next.fetch_add(1, Ordering::SeqCst);
                let Some(&i) = todo.get(k) else { return };
                let layer = &plan[i];
                match fetch_one(store, remote, layer, bars[k].as_ref(), &abort) {
                    Ok(size) => {
                        if let Some(b) = &bars[k] {
                            b.finish_with_message("done");
                        }
                        results.lock().unwrap_or_else(|e| e.into_inner()).push((i, size));
                    }
                    Err(e) => {
                        if let Some(b) = &bars[k] {
                            b.abandon_with_message("failed");
                        }
                        let mut slot = first_err.lock().unwrap_or_else(|e| e.into_inner());
                        // The first real failure wins over the cancellations it caused.
                        if slot.is_none() && !is_cancelled(&e) {
                            *slot = Some(e);
                        }
                        abort.store(true, Ordering::SeqCst);
                        return;
                    }
                }
            });
        }
    });
    // The bars are finished and stay as they are: plain lines from here on.
    if reporter.drawing.swap(false, Ordering::SeqCst) {
        // indicatif leaves the cursor at the end of the last bar.
        eprintln!();
    }
    if let Some(e) = first_err.into_inner().unwrap_or_else(|e| e.into_inner()) {
        return Err(e);
    }
    if abort.load(Ordering::SeqCst) {
        bail!("pulling {}: cancelled", remote.name);
    }
    Ok(results.into_inner().unwrap_or_else(|e| e.into_inner()))
}

#[derive(Debug, thiserror::Error)]
#[error("cancelled because another layer failed")]
struct Cancelled;

fn is_cancelled(e: &anyhow::Error) -> bool {
    e.downcast_ref::<Cancelled>().is_some()
        || e.chain().any(|c| c.is::<Cancelled>())
        || e.chain().any(|c| {
            c.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()).is_some_and(|inner| inner.is::<Cancelled>())
        })
}

/// Counts bytes for the progress bar, stops when another layer failed, and remembers a digest error
/// passing through (the store may wrap it beyond recognition).
struct Watch<'a> {
    inner: &'a mut super::client::BlobReader,
    bar: Option<&'a indicatif::ProgressBar>,
    abort: &'a AtomicBool,
    digest_error: Option<String>,
}

impl Read for Watch<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.abort.load(Ordering::SeqCst) {
            return Err(std::io::Error::other(Cancelled));
        }
        match self.inner.read(buf) {
            Ok(n) => {
                if let Some(b) = self.bar {
                    b.inc(n as u64);
                }
                Ok(n)
            }
            Err(e) => {
                if e.get_ref().is_some_and(|i| i.is::<RegistryError>()) {
                    self.digest_error = Some(e.to_string());
                }
                Err(e)
            }
        }
    }
}

fn fetch_one(
    store: &Store,
    remote: &Remote,
    layer: &LayerPlan,
    bar: Option<&indicatif::ProgressBar>,
    abort: &AtomicBool,
) -> Result<u64> {
    let mut blob = remote.blob(layer)?;
    if let Some(b) = bar {
        if let Some(t) = blob.total() {
            b.set_length(t);
        }
    }
    let mut watch = Watch { inner: &mut blob, bar, abort, digest_error: None };
    let image = remote.name.to_string();
    let res = store.import_layer_of(
        &image,
        &layer.chain_id,
        layer.parent.as_ref(),
        &layer.blob,
        &layer.diff_id,
        layer.media_type,
        &mut watch,
        &|_| {},
    );
    let digest_error = watch.digest_error.take();
    match res {
        Ok((rec, _)) => Ok(rec.size),
        Err(e) => {
            if let Some(msg) = digest_error {
                return Err(anyhow!(msg));
            }
            if is_cancelled(&e) || abort.load(Ordering::SeqCst) {
                return Err(e.context(Cancelled));
            }
            // The store may have failed on undecodable data before the end of the blob: if the blob
            // itself is corrupt, that is the error to report.
            if let Err(io) = blob.drain() {
                if io.get_ref().is_some_and(|i| i.is::<RegistryError>()) {
                    return Err(anyhow!(io.to_string()));
                }
            }
            Err(e)
        }
    }
}

/// Now, as RFC 3339 UTC (`2024-01-01T00:00:00Z`).
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    rfc3339(secs)
}

fn rfc3339(secs: u64) -> String {
    let days = (secs / 86400) as i64;
    let rem = secs % 86400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, (rem % 3600) / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::manifest::Descriptor;

    #[test]
    fn policies() {
        assert_eq!("always".parse::<PullPolicy>().unwrap(), PullPolicy::Always);
        assert_eq!("missing".parse::<PullPolicy>().unwrap(), PullPolicy::Missing);
        assert_eq!("never".parse::<PullPolicy>().unwrap(), PullPolicy::Never);
        assert_eq!("newer".parse::<PullPolicy>().unwrap(), PullPolicy::Newer);
        assert_eq!("IfMissing".parse::<PullPolicy>().unwrap(), PullPolicy::Missing);
        assert!("sometimes".parse::<PullPolicy>().unwrap_err().to_string().contains("always, missing, never or newer"));
    }

    #[test]
    fn time_format() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_704_067_200), "2024-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_709_210_096), "2024-02-29T12:34:56Z");
        assert_eq!(rfc3339(4_102_444_799), "2099-12-31T23:59:59Z");
    }

    fn layer(d: char, mt: &str) -> Descriptor {
        Descriptor {
            media_type: mt.into(),
            digest: format!("sha256:{}", d.to_string().repeat(64)),
            size: 10,
            platform: None,
        }
    }

    #[test]
    fn chain_ids_and_media_types() {
        let m = ImageManifest {
            media_type: manifest::OCI_MANIFEST.into(),
            config: layer('c', "application/vnd.oci.image.config.v1+json"),
            layers: vec![
                layer('a', "application/vnd.docker.image.rootfs.diff.tar.gzip"),
                layer('b', manifest::OCI_LAYER_ZSTD),
            ],
        };
        let d1 = Digest::sha256_of(b"1");
        let d2 = Digest::sha256_of(b"2");
        let p = plan_layers("x", &m, &[d1.clone(), d2.clone()]).unwrap();
        assert_eq!(p[0].chain_id, d1);
        assert_eq!(p[0].parent, None);
        assert_eq!(p[0].media_type, manifest::OCI_LAYER_GZIP);
        assert_eq!(p[1].chain_id, Digest::chain(Some(&d1), &d2));
        assert_eq!(p[1].parent, Some(d1.clone()));
        assert_eq!(p[1].media_type, manifest::OCI_LAYER_ZSTD);
        assert!(plan_layers("x", &m, &[d1]).unwrap_err().to_string().contains("2 layers but the config has 1"));
    }

    #[test]
    fn config_parsing() {
        let d = Digest::sha256_of(b"x");
        let cfg = format!(
            r#"{{"architecture":"amd64","os":"linux","created":"2024-01-01T00:00:00Z","rootfs":{{"type":"layers","diff_ids":["{d}"]}}}}"#
        );
        let c = parse_config("x", cfg.into_bytes(), d.clone()).unwrap();
        assert_eq!(c.diff_ids, std::slice::from_ref(&d));
        assert_eq!(c.created.as_deref(), Some("2024-01-01T00:00:00Z"));
        assert!(parse_config("x", b"{}".to_vec(), d.clone()).unwrap_err().to_string().contains("diff_ids"));
        assert!(parse_config("x", br#"{"rootfs":{"diff_ids":["nope"]}}"#.to_vec(), d).is_err());
    }
}
