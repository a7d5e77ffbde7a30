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
            None => match userns::rundir::runtime_dir() {
                Ok(p) => p,
                Err(e) if needs_userns => return Err(e).context("choosing the runtime directory"),
                // Commands that only read metadata (version, info, ...) never fail for this.
                Err(e) => {
                    tracing::debug!("choosing the runtime directory: {e}");
                    PathBuf::from(format!("/tmp/warren-run-{}", nix::unistd::getuid()))
                }
            },
        };
        let storage_root = match &global.root {
            Some(p) => p.clone(),
            None => default_storage_root(rootless)?,
        };
        let mut mapping = current_mapping();
        if needs_userns && !userns::in_engine_namespace() {
            mapping.warn_if_degraded();
            if rootless {
                userns::enter_engine_namespace(&mapping, &run_dir)?;
                // The namespace's own mapping (it may predate a change of /etc/subuid).
                mapping = current_mapping();
            }
        }
        Ok(Context { global: global.clone(), rootless, mapping, storage_root, run_dir })
    }
}

/// The mapping of this user (or of the namespace we are in); a failure to read it degrades to the
/// single-id mapping, with the cause as the reason, instead of stopping the command.
fn current_mapping() -> userns::Mapping {
    userns::Mapping::for_current_user().unwrap_or_else(|e| {
        tracing::debug!("reading the id mapping: {e}");
        let (uid, gid) = (nix::unistd::getuid().as_raw(), nix::unistd::getgid().as_raw());
        userns::Mapping {
            map: userns::IdMap::single(uid, gid),
            kind: userns::MappingKind::SingleId {
                reason: format!("reading the id mapping failed ({e}); only uid {uid} and gid {gid} are mapped (see docs/rootless.md)"),
            },
        }
    })
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

/// The levels `--log-level` accepts (Podman's).
pub const LOG_LEVELS: [&str; 8] = ["trace", "debug", "info", "warn", "warning", "error", "fatal", "panic"];

/// Podman's `--log-level` (validated by the CLI: [`LOG_LEVELS`]).
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
        .event_format(LevelFirst)
        .try_init();
}

/// One line per message, `LEVEL message` (`WARN using a single-id user namespace: ...`): no timestamp,
/// no padding before the level, no target.
struct LevelFirst;

impl<S, N> tracing_subscriber::fmt::FormatEvent<S, N> for LevelFirst
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        write!(writer, "{} ", event.metadata().level())?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}
