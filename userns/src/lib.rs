//! User namespaces and id mapping for Warren.
//!
//! - [`subid`]: /etc/subuid and /etc/subgid;
//! - [`idmap`]: the mapping (container id ↔ host id);
//! - [`enter`]: create the engine's user namespace with newuidmap/newgidmap (or a single-id mapping),
//!   or join the one the pause process keeps alive;
//! - [`pause`]: the pause process;
//! - [`rundir`]: the per-user runtime directory.

pub mod enter;
pub mod idmap;
pub mod pause;
pub mod rundir;
pub mod subid;

pub use enter::{enter_engine_namespace, in_engine_namespace};
pub use idmap::{IdMap, IdMapEntry};

/// How the mapping was chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MappingKind {
    /// Root on the host: container ids are host ids.
    Identity,
    /// Container root is the user; 1..=N come from the subordinate ranges.
    Subordinate,
    /// Only the user's own id is mapped (to container root); `reason` says what is missing and how to add it.
    SingleId { reason: String },
}

/// The id mapping this user's storage and containers use.
#[derive(Debug, Clone)]
pub struct Mapping {
    pub map: IdMap,
    pub kind: MappingKind,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{op}: {source}")]
    Io { op: String, source: std::io::Error },
    #[error("{0}")]
    Other(String),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Mapping {
    /// The mapping for the invoking user: identity for root, else subordinate ranges, else single id.
    pub fn for_current_user() -> Result<Mapping> {
        Err(Error::Other(
            "userns::Mapping::for_current_user is not built yet".into(),
        ))
    }

    /// Print one warning (not one per file) when the mapping is the single-id fallback.
    pub fn warn_if_degraded(&self) {}
}
