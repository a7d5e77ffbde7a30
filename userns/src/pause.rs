//! The pause process: keeps the engine's user and mount namespaces alive between commands.
use crate::Result;

/// Body of `warren __pause`.
pub fn run() -> Result<()> {
    Ok(())
}
