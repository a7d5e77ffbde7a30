//! The image and layer store: layers extracted once (keyed by chain ID) and shared by every image that
//! has them; image metadata in a small, versioned, locked store. Writes are atomic (temp + rename).

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use std::io::Read;
use std::path::PathBuf;

use super::Digest;
use crate::context::Context;

/// Options from `--storage-opt` and storage.conf.
#[derive(Debug, Clone, Default)]
pub struct StoreOptions {
    /// Squash owners the id mapping cannot represent to the container's root instead of failing the pull
    /// (like Podman's `ignore_chown_errors`). Always on for the single-id mapping.
    pub ignore_chown_errors: bool,
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

/// The store under a storage root.
pub struct Store {
    pub root: PathBuf,
    pub opts: StoreOptions,
}

/// Held while writing shared metadata; released on drop.
pub struct StoreLock {
    _file: std::fs::File,
}

impl Store {
    /// Open (creating if needed) the store of this invocation.
    pub fn open(_ctx: &Context) -> Result<Store> {
        bail!("the store is not built yet")
    }

    /// Exclusive lock on the store's metadata.
    pub fn lock(&self) -> Result<StoreLock> {
        bail!("the store is not built yet")
    }

    /// The layer with this chain ID, if it is fully in storage.
    pub fn layer(&self, _chain_id: &Digest) -> Result<Option<LayerRecord>> {
        bail!("the store is not built yet")
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
        _chain_id: &Digest,
        _parent: Option<&Digest>,
        _blob_digest: &Digest,
        _diff_id: &Digest,
        _media_type: &str,
        _reader: &mut dyn Read,
        _progress: &dyn Fn(u64),
    ) -> Result<LayerRecord> {
        bail!("the store is not built yet")
    }

    /// Record an image whose layers are all in storage (atomically; replaces a record with the same ID and
    /// moves its names from any other image that held them).
    pub fn put_image(&self, _rec: &ImageRecord, _manifest: &[u8], _config: &[u8]) -> Result<()> {
        bail!("the store is not built yet")
    }

    /// Every image in storage.
    pub fn images(&self) -> Result<Vec<ImageRecord>> {
        bail!("the store is not built yet")
    }

    /// Look an image up by name (short or full, normalised like Podman), full ID, or unique ID prefix.
    pub fn find_image(&self, _name_or_id: &str) -> Result<Option<ImageRecord>> {
        bail!("the store is not built yet")
    }

    /// The raw config blob of an image.
    pub fn image_config(&self, _id: &Digest) -> Result<Vec<u8>> {
        bail!("the store is not built yet")
    }

    /// The raw manifest of an image.
    pub fn image_manifest(&self, _id: &Digest) -> Result<Vec<u8>> {
        bail!("the store is not built yet")
    }
}
