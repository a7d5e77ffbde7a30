//! The container plan: CLI options + image config → what the container is, with no side effects.
//! The runtime spec ([`crate::runtime::spec`]) is generated from it.

use std::path::PathBuf;

/// A mount the user asked for (`-v`, `--mount`, `--tmpfs`) or the engine adds (/etc/hosts ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountPlan {
    /// Path inside the container.
    pub destination: String,
    /// "bind" or "tmpfs".
    pub kind: String,
    /// Host path for binds; "tmpfs" for tmpfs.
    pub source: String,
    /// OCI mount options: "rbind", "ro", "nosuid", "size=...", ...
    pub options: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum NetworkMode {
    /// A new network namespace with only `lo`.
    #[default]
    None,
    /// The host's network namespace.
    Host,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SeccompMode {
    /// Podman's default profile, where the kernel allows it.
    #[default]
    Default,
    Unconfined,
    /// A Podman/Docker JSON profile.
    Profile(PathBuf),
}

/// Everything the runtime spec needs, decided before anything touches the system.
#[derive(Debug, Clone, Default)]
pub struct ContainerPlan {
    /// 64 hex digits.
    pub id: String,
    pub name: String,
    /// The container's root filesystem (mounted or copied) on the host.
    pub rootfs: PathBuf,
    pub readonly_rootfs: bool,
    /// The process: argv, environment (KEY=VALUE), working directory.
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: String,
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    pub terminal: bool,
    pub hostname: String,
    pub mounts: Vec<MountPlan>,
    /// Capabilities after `--cap-add`/`--cap-drop`/`--privileged` (names like "CAP_CHOWN").
    pub capabilities: Vec<String>,
    pub privileged: bool,
    pub no_new_privileges: bool,
    pub seccomp: SeccompMode,
    /// (type like "RLIMIT_NOFILE", soft, hard)
    pub rlimits: Vec<(String, u64, u64)>,
    pub network: NetworkMode,
    /// For a nested user namespace (`--userns=keep-id`): (uid map, gid map) from the engine namespace's
    /// ids into the container's. Empty: the container shares the engine's user namespace.
    pub uid_mappings: Vec<userns::IdMapEntry>,
    pub gid_mappings: Vec<userns::IdMapEntry>,
    /// Run a tiny init as PID 1 that forwards signals and reaps zombies.
    pub init: bool,
    /// Cgroup limits; None means do not touch cgroups at all.
    pub memory_limit: Option<i64>,
    pub cpu_quota: Option<(i64, u64)>,
    pub pids_limit: Option<i64>,
}
