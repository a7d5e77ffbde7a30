//! Local storage: layers (extracted once, keyed by chain ID, owned through the id mapping), image
//! metadata, and container root filesystems.
//!
//! Layout under the storage root:
//! ```text
//! layers/<chain-id-hex>/diff/    extracted layer (whiteouts in the overlay form)
//! layers/<chain-id-hex>/layer.json
//! images/<image-id-hex>/         manifest, config, image.json
//! tmp/                           staging; anything here after a crash is garbage
//! ```

pub mod digest;
pub mod extract;
pub mod report;
pub mod rootfs;
pub mod store;
mod sys;

pub use digest::Digest;
pub use store::{ImageRecord, LayerRecord, Store, StoreLock, StoreOptions};
