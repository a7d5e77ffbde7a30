//! The mode of this invocation, decided once at start-up: who we are (root or rootless), the id mapping,
//! and where storage and runtime state live. Stages read it; none of them re-decide it.

use anyhow::{Context as _, Result};
use std::path::PathBuf;

use crate::cli::GlobalOpts;

pub struct Context {
    pub global: GlobalOpts,
    /// True when the invoking user is not root on the host.
    pub rootless: bool,
    /// The id mapping storage and containers use (identity for root).
    pub mapping: userns::Mapping,
    /// Where images, layers and containers live.
    pub storage_root: PathBuf,
    /// Per-user scratch: pause pid, container bundles, locks (a tmpfs on normal hosts).
    pub run_dir: PathBuf,
}

impl Context {
    /// Decide the mode and, when the command needs it, enter (or join) the engine's user namespace.
    /// Must run while the process is still single-threaded.
    pub fn new(global: &GlobalOpts, needs_userns: bool) -> Result<Context> {
        let rootless = !nix::unistd::geteuid().is_root() || userns::in_engine_namespace();
        let run_dir = match &global.runroot {
            Some(p) => p.clone(),
            None => userns::rundir::runtime_dir().context("choosing the runtime directory")?,
        };
        let storage_root = match &global.root {
            Some(p) => p.clone(),
            None => default_storage_root(rootless)?,
        };
        let mapping = userns::Mapping::for_current_user().context("reading the id mapping")?;
        if needs_userns && rootless && !userns::in_engine_namespace() {
            mapping.warn_if_degraded();
            userns::enter_engine_namespace(&mapping, &run_dir)?;
        }
        Ok(Context {
            global: global.clone(),
            rootless,
            mapping,
            storage_root,
            run_dir,
        })
    }
}

/// `$XDG_DATA_HOME/warren/storage` (default `~/.local/share/warren/storage`) rootless,
/// `/var/lib/warren/storage` for root.
fn default_storage_root(rootless: bool) -> Result<PathBuf> {
    if !rootless {
        return Ok(PathBuf::from("/var/lib/warren/storage"));
    }
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(x).join("warren/storage"));
    }
    let home = std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .context("neither XDG_DATA_HOME nor HOME is set: cannot choose a storage directory (use --root PATH)")?;
    Ok(PathBuf::from(home).join(".local/share/warren/storage"))
}

/// Podman's `--log-level`: debug, info, warn, error (trace and fatal/panic accepted).
pub fn init_logging(level: &str) {
    let filter = match level {
        "trace" => tracing::Level::TRACE,
        "debug" => tracing::Level::DEBUG,
        "info" => tracing::Level::INFO,
        "error" | "fatal" | "panic" => tracing::Level::ERROR,
        _ => tracing::Level::WARN,
    };
    let _ = tracing_subscriber::fmt()
        .with_max_level(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .try_init();
}
