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
mod sys;

pub use enter::{enter_engine_namespace, in_engine_namespace};
pub use idmap::{IdMap, IdMapEntry};

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use subid::{SubIdFiles, SubIdRange};

/// Where set-up problems and their fixes are documented.
pub const DOCS: &str = "docs/rootless.md";

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
///
/// How the stages use it: once the engine has entered its namespace (`Context::new` does it for
/// commands that need it), container id N *is* id N of the process (container root is uid 0 of the
/// namespace). So storage chowns to container ids as they are; the map tells which container ids exist
/// ([`IdMap::contains_uid`], [`IdMap::max_container_uid`]: an id outside is an error or is squashed,
/// never silently wrong) and what they are on the host ([`IdMap::to_host_uid`], for messages and
/// `warren info`). The same holds for root with the identity map. The OCI spec's uid/gid mappings of a
/// container in the engine namespace are relative to that namespace.
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

impl Error {
    pub(crate) fn io(op: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io { op: op.into(), source }
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// What the host offers the user: their ids and name, their subordinate ranges, the setuid helpers.
/// Gathered by [`Mapping::for_current_user`]; a plain value so [`Mapping::decide`] is testable.
#[derive(Debug, Clone)]
pub struct HostFacts {
    pub user: String,
    pub uid: u32,
    pub gid: u32,
    pub uid_ranges: Vec<SubIdRange>,
    pub gid_ranges: Vec<SubIdRange>,
    pub files: SubIdFiles,
    pub newuidmap: Option<PathBuf>,
    pub newgidmap: Option<PathBuf>,
}

static WARNED: AtomicBool = AtomicBool::new(false);

/// The `usermod` line that gives `user` a range (the conventional first free range).
pub fn usermod_hint(user: &str) -> String {
    format!("usermod --add-subuids 100000-165535 --add-subgids 100000-165535 {user}")
}

impl Mapping {
    /// The mapping for the invoking user: identity for root, else subordinate ranges, else single id.
    /// Inside the engine namespace (a re-exec, `warren unshare warren ...`) it is the namespace's own
    /// mapping, read from /proc/self/uid_map and gid_map.
    pub fn for_current_user() -> Result<Mapping> {
        Self::for_current_user_with(&SubIdFiles::default())
    }

    /// [`Mapping::for_current_user`] reading subordinate ids from `files`.
    pub fn for_current_user_with(files: &SubIdFiles) -> Result<Mapping> {
        if enter::in_engine_namespace() {
            return Self::of_current_namespace(files);
        }
        if nix::unistd::geteuid().is_root() {
            return Ok(Self::for_root());
        }
        let uid = nix::unistd::getuid().as_raw();
        let gid = nix::unistd::getgid().as_raw();
        Ok(Self::decide(&HostFacts::gather(uid, gid, files)?))
    }

    /// Root: the identity, unless this root is itself inside a user namespace that maps only part of
    /// the id space (a container, a CI runner, `unshare -r`): then only the ids that exist here.
    fn for_root() -> Mapping {
        let own = match sys::read_self_map() {
            Ok(m) if !m.is_identity() => m,
            _ => return Mapping { map: IdMap::identity(), kind: MappingKind::Identity },
        };
        Self::for_root_in(&own)
    }

    /// [`Mapping::for_root`] given this namespace's own map (pure): ids map to themselves, as far as
    /// they exist here.
    fn for_root_in(own: &IdMap) -> Mapping {
        let same = |es: &[IdMapEntry]| {
            es.iter().map(|e| IdMapEntry { container: e.container, host: e.container, size: e.size }).collect()
        };
        let map = IdMap { uids: same(&own.uids), gids: same(&own.gids) };
        if map.max_container_uid().unwrap_or(0) > 0 && map.max_container_gid().unwrap_or(0) > 0 {
            return Mapping { map, kind: MappingKind::Subordinate };
        }
        let reason = format!(
            "running as root inside a user namespace that maps only uid/gid 0 (uid_map \"{}\"), so files that \
             images give to other owners are stored as owned by the container's root; to fix, give this \
             environment more ids (e.g. run its container with subordinate ids) (see {DOCS})",
            own.uid_map_text().trim_end().replace('\n', ", ")
        );
        Mapping { map, kind: MappingKind::SingleId { reason } }
    }

    /// The mapping of the user namespace this process is in.
    fn of_current_namespace(files: &SubIdFiles) -> Result<Mapping> {
        let map = sys::read_self_map()?;
        if map.is_identity() {
            return Ok(Mapping { map, kind: MappingKind::Identity });
        }
        let uid = map.to_host_uid(nix::unistd::getuid().as_raw());
        let gid = map.to_host_gid(nix::unistd::getgid().as_raw());
        let (Some(uid), Some(gid)) = (uid, gid) else {
            return Err(Error::Other("this process's own uid/gid are not mapped in its user namespace".into()));
        };
        if map.uids.len() > 1 || map.gids.len() > 1 || map.uids.iter().any(|e| e.size > 1) {
            return Ok(Mapping { map, kind: MappingKind::Subordinate });
        }
        let wanted = Self::decide(&HostFacts::gather(uid, gid, files)?);
        let reason = match wanted.kind {
            MappingKind::SingleId { reason } => reason,
            _ => format!(
                "the engine namespace was created before subordinate ids were available; stop its pause \
                 process (`kill $(cut -d' ' -f1 RUNDIR/pause.pid)`) when no container runs, see {DOCS}"
            ),
        };
        Ok(Mapping { map, kind: MappingKind::SingleId { reason } })
    }

    /// The mapping the host facts allow (pure).
    pub fn decide(f: &HostFacts) -> Mapping {
        let mut missing = Vec::new();
        let files: Vec<String> = [(&f.uid_ranges, &f.files.subuid), (&f.gid_ranges, &f.files.subgid)]
            .iter()
            .filter(|(r, _)| r.is_empty())
            .map(|(_, p)| p.display().to_string())
            .collect();
        if !files.is_empty() {
            missing.push(format!("no line for user {} (uid {}) in {}", f.user, f.uid, files.join(" or ")));
        }
        let mut fixes = Vec::new();
        if !missing.is_empty() {
            fixes.push(format!("as root run `{}`", usermod_hint(&f.user)));
        }
        let tools: Vec<&str> = [("newuidmap", &f.newuidmap), ("newgidmap", &f.newgidmap)]
            .iter()
            .filter(|(_, p)| p.is_none())
            .map(|(n, _)| *n)
            .collect();
        if !tools.is_empty() {
            missing.push(format!("{} not found in PATH or /usr/bin", tools.join(" and ")));
            fixes.push("install the uidmap package (shadow-utils on Fedora/RHEL)".into());
        }
        if missing.is_empty() {
            let map = IdMap::from_subordinate(f.uid, f.gid, &f.uid_ranges, &f.gid_ranges);
            return Mapping { map, kind: MappingKind::Subordinate };
        }
        let reason = format!(
            "{}; only uid {} and gid {} are mapped (to root in containers), so files that images give to other \
             owners are stored as owned by the container's root; to fix, {} (see {DOCS})",
            missing.join(", "),
            f.uid,
            f.gid,
            fixes.join(" and "),
        );
        Mapping { map: IdMap::single(f.uid, f.gid), kind: MappingKind::SingleId { reason } }
    }

    /// Print one warning (not one per file) when the mapping is the single-id fallback.
    pub fn warn_if_degraded(&self) {
        if let MappingKind::SingleId { reason } = &self.kind {
            if !WARNED.swap(true, Ordering::SeqCst) {
                tracing::warn!("using a single-id user namespace: {reason}");
            }
        }
    }
}

impl HostFacts {
    /// Look up the user's name, subordinate ranges and the helpers on this host.
    pub fn gather(uid: u32, gid: u32, files: &SubIdFiles) -> Result<HostFacts> {
        let user = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
            .ok()
            .flatten()
            .map(|u| u.name)
            .or_else(|| std::env::var("USER").ok().filter(|u| !u.is_empty()))
            .unwrap_or_else(|| uid.to_string());
        let read = |p: &Path| {
            subid::read_ranges(p, Some(&user), uid).map_err(|e| Error::io(format!("reading {}", p.display()), e))
        };
        let uid_ranges = read(&files.subuid)?;
        let gid_ranges = read(&files.subgid)?;
        Ok(HostFacts {
            user,
            uid,
            gid,
            uid_ranges,
            gid_ranges,
            files: files.clone(),
            newuidmap: find_helper("newuidmap"),
            newgidmap: find_helper("newgidmap"),
        })
    }
}

/// `name` in $PATH, then /usr/bin, /usr/sbin, /bin (an `env -i` PATH may be short).
pub fn find_helper(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/bin", "/usr/sbin", "/bin"].iter().map(PathBuf::from))
        .filter(|d| d.is_absolute())
        .map(|d| d.join(name))
        .find(|p| std::fs::metadata(p).map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> HostFacts {
        HostFacts {
            user: "dev".into(),
            uid: 1002,
            gid: 1002,
            uid_ranges: vec![SubIdRange { start: 100000, count: 65536 }],
            gid_ranges: vec![SubIdRange { start: 100000, count: 65536 }],
            files: SubIdFiles::default(),
            newuidmap: Some("/usr/bin/newuidmap".into()),
            newgidmap: Some("/usr/bin/newgidmap".into()),
        }
    }

    #[test]
    fn root_inside_a_partial_namespace_maps_what_exists() {
        let own = IdMap {
            uids: vec![
                IdMapEntry { container: 0, host: 1002, size: 1 },
                IdMapEntry { container: 1, host: 100000, size: 65536 },
            ],
            gids: vec![IdMapEntry { container: 0, host: 1002, size: 65537 }],
        };
        let m = Mapping::for_root_in(&own);
        assert_eq!(m.kind, MappingKind::Subordinate);
        assert_eq!(m.map.to_host_uid(1000), Some(1000));
        assert_eq!(m.map.to_host_uid(65537), None);
        let m = Mapping::for_root_in(&IdMap::single(1001, 1001));
        assert_eq!(m.map, IdMap::single(0, 0));
        let MappingKind::SingleId { reason } = m.kind else { panic!() };
        assert!(reason.contains("uid_map \"0 1001 1\""), "{reason}");
    }

    #[test]
    fn subordinate_when_everything_is_there() {
        let m = Mapping::decide(&facts());
        assert_eq!(m.kind, MappingKind::Subordinate);
        assert_eq!(m.map.uid_map_text(), "0 1002 1\n1 100000 65536\n");
    }

    #[test]
    fn single_id_names_the_missing_line_and_the_fix() {
        let mut f = facts();
        f.user = "hpc".into();
        f.uid = 1001;
        f.gid = 1001;
        f.uid_ranges.clear();
        f.gid_ranges.clear();
        let m = Mapping::decide(&f);
        assert_eq!(m.map, IdMap::single(1001, 1001));
        let MappingKind::SingleId { reason } = m.kind else { panic!("not single id") };
        assert!(reason.contains("no line for user hpc (uid 1001) in /etc/subuid"), "{reason}");
        assert!(reason.contains("/etc/subgid"), "{reason}");
        assert!(reason.contains("usermod --add-subuids 100000-165535 --add-subgids 100000-165535 hpc"), "{reason}");
        assert!(reason.contains("docs/rootless.md"), "{reason}");
        assert!(!reason.contains("uidmap package"), "{reason}");
    }

    #[test]
    fn single_id_when_only_gids_missing() {
        let mut f = facts();
        f.gid_ranges.clear();
        let MappingKind::SingleId { reason } = Mapping::decide(&f).kind else { panic!() };
        assert!(reason.contains("in /etc/subgid") && !reason.contains("in /etc/subuid"), "{reason}");
    }

    #[test]
    fn single_id_when_helper_missing() {
        let mut f = facts();
        f.newgidmap = None;
        let MappingKind::SingleId { reason } = Mapping::decide(&f).kind else { panic!() };
        assert!(reason.contains("newgidmap not found"), "{reason}");
        assert!(reason.contains("install the uidmap package"), "{reason}");
        assert!(!reason.contains("usermod"), "{reason}");
    }

    #[test]
    fn gather_reads_the_given_files() {
        let dir = std::env::temp_dir().join(format!("warren-facts-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let files = SubIdFiles { subuid: dir.join("subuid"), subgid: dir.join("subgid") };
        std::fs::write(&files.subuid, "# x\n4242:10:5\n").unwrap();
        std::fs::write(&files.subgid, "junk\n").unwrap();
        let f = HostFacts::gather(4242, 4243, &files).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(f.uid_ranges, vec![SubIdRange { start: 10, count: 5 }]);
        assert!(f.gid_ranges.is_empty());
        let MappingKind::SingleId { reason } = Mapping::decide(&f).kind else { panic!() };
        assert!(reason.contains("subgid"), "{reason}");
    }
}
