//! Create or join the engine's user namespace.
use crate::{Error, Mapping, Result};
use std::path::Path;

/// True when this process already runs inside Warren's engine namespace.
pub fn in_engine_namespace() -> bool {
    false
}

/// Join the namespace the pause process keeps alive, or create it (and the pause process).
pub fn enter_engine_namespace(_mapping: &Mapping, _run_dir: &Path) -> Result<()> {
    Err(Error::Other(
        "entering the user namespace is not built yet".into(),
    ))
}
