//! The OCI runtime spec (`config.json`) for a container plan: Podman's defaults for capabilities, masked
//! and read-only paths, mounts and namespaces.
//!
//! The spec is complete on its own: Warren's embedded runtime and crun read the same file. Decisions
//! that depend on capabilities (the seccomp rules a capability lifts) are made here, the way Podman
//! evaluates its profile's `includes.caps` when it writes the spec.

use crate::plan::{ContainerPlan, MountPlan, NetworkMode, SeccompMode};
use oci_spec::runtime::{
    Arch, Capabilities, Capability, LinuxBuilder, LinuxCapabilitiesBuilder, LinuxCpuBuilder, LinuxDevice,
    LinuxDeviceBuilder, LinuxDeviceType, LinuxIdMapping, LinuxIdMappingBuilder, LinuxMemoryBuilder, LinuxNamespace,
    LinuxNamespaceBuilder, LinuxNamespaceType, LinuxPidsBuilder, LinuxResources, LinuxResourcesBuilder, LinuxSeccomp,
    LinuxSeccompAction, LinuxSeccompArgBuilder, LinuxSeccompBuilder, LinuxSeccompOperator, LinuxSyscall,
    LinuxSyscallBuilder, Mount, MountBuilder, PosixRlimit, PosixRlimitBuilder, PosixRlimitType, ProcessBuilder,
    RootBuilder, Spec, SpecBuilder, UserBuilder,
};
use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Where `--init` puts the init in the container (Podman: /run/podman-init); see [`INIT_BINARY`].
pub const INIT_PATH: &str = "/run/warren-init";

/// The init for `--init`: `init/warren-init.rs`, built statically by build.rs. The engine writes it
/// into the container's bundle and bind-mounts it read-only at [`INIT_PATH`]; the process becomes
/// `/run/warren-init -- CMD...`, so PID 1 shows that name and nothing of the host.
pub const INIT_BINARY: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/warren-init"));

/// Annotation carrying the container's name.
pub const ANNOTATION_NAME: &str = "io.warren.container.name";

/// Podman's `default_capabilities` (containers.conf, containers-common ≥ 0.57).
pub const DEFAULT_CAPABILITIES: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_NET_BIND_SERVICE",
    "CAP_SETFCAP",
    "CAP_SETGID",
    "CAP_SETPCAP",
    "CAP_SETUID",
    "CAP_SYS_CHROOT",
];

/// containers/common `DefaultMaskedPaths` (plus, at build time, the host's
/// `/sys/devices/system/cpu/cpu*/thermal_throttle` directories, as Podman globs them).
pub const MASKED_PATHS: &[&str] = &[
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/sys/devices/virtual/powercap",
    "/sys/firmware",
    "/sys/fs/selinux",
    "/proc/interrupts",
];

/// containers/common `DefaultReadOnlyPaths`.
pub const READONLY_PATHS: &[&str] =
    &["/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

/// Podman's default RLIMIT_NOFILE and RLIMIT_NPROC (both capped at the current hard limit, which an
/// engine without CAP_SYS_RESOURCE cannot raise).
const DEFAULT_NOFILE: u64 = 1_048_576;
const DEFAULT_NPROC: u64 = 4_194_304;

/// The device nodes every container gets: (path, major, minor).
pub const DEFAULT_DEVICES: &[(&str, i64, i64)] = &[
    ("/dev/null", 1, 3),
    ("/dev/zero", 1, 5),
    ("/dev/full", 1, 7),
    ("/dev/random", 1, 8),
    ("/dev/urandom", 1, 9),
    ("/dev/tty", 5, 0),
];

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("unknown capability {name:?}: use a name like CAP_NET_ADMIN or NET_ADMIN, or ALL (see capabilities(7))")]
    UnknownCapability { name: String },
    #[error("capability {name} is both added and dropped: remove it from --cap-add or --cap-drop")]
    AddedAndDropped { name: String },
    #[error("building the runtime spec: {0}")]
    Build(#[from] oci_spec::OciSpecError),
    #[error("reading seccomp profile {path}: {source}")]
    ReadProfile { path: PathBuf, source: std::io::Error },
    #[error("parsing seccomp profile {path}: {reason}")]
    ParseProfile { path: PathBuf, reason: String },
    #[error("writing {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}

pub type Result<T> = std::result::Result<T, SpecError>;

/// `CAP_X` for `x`, `X`, `cap_x`, `CAP_X`.
fn normalize_cap(name: &str) -> String {
    let upper = name.trim().to_ascii_uppercase();
    if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    }
}

fn validate_cap(name: &str) -> Result<String> {
    let norm = normalize_cap(name);
    caps::Capability::from_str(&norm).map_err(|_| SpecError::UnknownCapability { name: name.to_string() })?;
    Ok(norm)
}

/// Every capability the running kernel knows (`/proc/sys/kernel/cap_last_cap`), as Podman's `ALL`.
fn all_capabilities() -> BTreeSet<String> {
    caps::runtime::thread_all_supported().iter().map(|c| c.to_string()).collect()
}

/// The final capability list for `--cap-add`/`--cap-drop`/`--privileged`, like Podman's
/// `MergeCapabilities` over the default set: names are case-insensitive with or without `CAP_`, `ALL`
/// means every capability the kernel knows; `--cap-drop=all` starts from nothing; `--privileged`
/// starts from all. A name both added and dropped is an error, as in Podman.
pub fn capabilities(cap_add: &[String], cap_drop: &[String], privileged: bool) -> Result<Vec<String>> {
    let is_all = |s: &String| s.trim().eq_ignore_ascii_case("all") || s.trim().eq_ignore_ascii_case("cap_all");
    let add_all = cap_add.iter().any(is_all);
    let drop_all = cap_drop.iter().any(is_all);
    let add: BTreeSet<String> =
        cap_add.iter().filter(|s| !is_all(s)).map(|s| validate_cap(s)).collect::<Result<_>>()?;
    let drop: BTreeSet<String> =
        cap_drop.iter().filter(|s| !is_all(s)).map(|s| validate_cap(s)).collect::<Result<_>>()?;
    if let Some(both) = add.intersection(&drop).next() {
        return Err(SpecError::AddedAndDropped { name: both.clone() });
    }
    let mut set: BTreeSet<String> = if privileged || add_all {
        all_capabilities()
    } else if drop_all {
        BTreeSet::new()
    } else {
        DEFAULT_CAPABILITIES.iter().map(|s| s.to_string()).collect()
    };
    if drop_all && (privileged || add_all) {
        // `--cap-drop=all --cap-add=all`: Podman keeps all (add wins); nothing to do.
    }
    set.extend(add);
    for d in &drop {
        set.remove(d);
    }
    Ok(set.into_iter().collect())
}

fn oci_caps(names: &[String]) -> Capabilities {
    names
        .iter()
        .filter_map(|n| {
            // oci-spec's Capability parses the name without the CAP_ prefix.
            let bare = n.strip_prefix("CAP_").unwrap_or(n);
            match Capability::from_str(bare) {
                Ok(c) => Some(c),
                Err(_) => {
                    tracing::debug!("capability {n} is unknown to oci-spec; left out of the spec");
                    None
                }
            }
        })
        .collect()
}

fn mount(dest: &str, typ: &str, source: &str, options: &[&str]) -> Result<Mount> {
    Ok(MountBuilder::default()
        .destination(dest)
        .typ(typ)
        .source(source)
        .options(options.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .build()?)
}

/// Whether `id` is mapped in the gid map `map` (lines `inside outside count`).
fn id_in_map(map: &str, id: u32) -> bool {
    map.lines().any(|l| {
        let f: Vec<u64> = l.split_whitespace().filter_map(|x| x.parse().ok()).collect();
        f.len() == 3 && (id as u64) >= f[0] && (id as u64) < f[0] + f[2]
    })
}

/// Whether gid 5 (tty) exists in the container's user namespace, so devpts can use `gid=5`.
fn tty_gid_mapped(plan: &ContainerPlan) -> bool {
    if !plan.gid_mappings.is_empty() {
        return plan.gid_mappings.iter().any(|m| 5 >= m.container && (5u64) < m.container as u64 + m.size as u64);
    }
    match std::fs::read_to_string("/proc/self/gid_map") {
        Ok(map) => id_in_map(&map, 5),
        Err(_) => true,
    }
}

fn default_mounts(plan: &ContainerPlan) -> Result<Vec<Mount>> {
    let mut pts = vec!["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"];
    if tty_gid_mapped(plan) {
        pts.push("gid=5");
    }
    Ok(vec![
        mount("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"])?,
        mount("/dev", "tmpfs", "tmpfs", &["nosuid", "strictatime", "mode=755", "size=65536k"])?,
        mount("/dev/pts", "devpts", "devpts", &pts)?,
        mount("/dev/mqueue", "mqueue", "mqueue", &["nosuid", "noexec", "nodev"])?,
        mount("/sys", "sysfs", "sysfs", &["nosuid", "noexec", "nodev", "ro"])?,
        mount("/sys/fs/cgroup", "cgroup", "cgroup", &["rprivate", "nosuid", "noexec", "nodev", "relatime", "ro"])?,
        mount("/dev/shm", "tmpfs", "shm", &["nosuid", "noexec", "nodev", "mode=1777", "size=65536000"])?,
    ])
}

/// The process: the command, or with `--init` the init running it (its mount is added with the
/// bundle, where the binary is written: `run::prepare`).
fn process_args(plan: &ContainerPlan) -> Vec<String> {
    if !plan.init {
        return plan.args.clone();
    }
    let mut args = vec![INIT_PATH.to_string(), "--".to_string()];
    args.extend(plan.args.iter().cloned());
    args
}

fn plan_mount(m: &MountPlan) -> Result<Mount> {
    let mut options = m.options.clone();
    if m.kind == "bind" && !options.iter().any(|o| o == "bind" || o == "rbind") {
        options.push("rbind".into());
    }
    Ok(MountBuilder::default()
        .destination(&m.destination)
        .typ(m.kind.as_str())
        .source(&m.source)
        .options(options)
        .build()?)
}

fn rlimit_type(name: &str) -> Option<PosixRlimitType> {
    let up = name.to_ascii_uppercase();
    let up = if up.starts_with("RLIMIT_") { up } else { format!("RLIMIT_{up}") };
    serde_json::from_value(serde_json::Value::String(up)).ok()
}

fn current_hard_limit(resource: nix::sys::resource::Resource) -> u64 {
    nix::sys::resource::getrlimit(resource).map(|(_, h)| h).unwrap_or(u64::MAX)
}

fn rlimits(plan: &ContainerPlan) -> Result<Vec<PosixRlimit>> {
    use nix::sys::resource::Resource;
    let mut out = Vec::new();
    let mut seen = Vec::new();
    for (name, soft, hard) in &plan.rlimits {
        match rlimit_type(name) {
            Some(t) => {
                seen.push(t);
                out.push(PosixRlimitBuilder::default().typ(t).soft(*soft).hard(*hard).build()?);
            }
            None => tracing::warn!("ulimit {name} is not a resource Linux knows; ignored"),
        }
    }
    for (t, res, default) in [
        (PosixRlimitType::RlimitNofile, Resource::RLIMIT_NOFILE, DEFAULT_NOFILE),
        (PosixRlimitType::RlimitNproc, Resource::RLIMIT_NPROC, DEFAULT_NPROC),
    ] {
        if !seen.contains(&t) {
            let v = default.min(current_hard_limit(res));
            out.push(PosixRlimitBuilder::default().typ(t).soft(v).hard(v).build()?);
        }
    }
    Ok(out)
}

fn id_mappings(m: &[userns::IdMapEntry]) -> Result<Vec<LinuxIdMapping>> {
    m.iter()
        .map(|e| Ok(LinuxIdMappingBuilder::default().container_id(e.container).host_id(e.host).size(e.size).build()?))
        .collect()
}

fn devices() -> Result<Vec<LinuxDevice>> {
    DEFAULT_DEVICES
        .iter()
        .map(|(p, maj, min)| {
            Ok(LinuxDeviceBuilder::default()
                .path(*p)
                .typ(LinuxDeviceType::C)
                .major(*maj)
                .minor(*min)
                .file_mode(0o666u32)
                .uid(0u32)
                .gid(0u32)
                .build()?)
        })
        .collect()
}

fn masked_paths() -> Vec<String> {
    let mut v: Vec<String> = MASKED_PATHS.iter().map(|s| s.to_string()).collect();
    if let Ok(rd) = std::fs::read_dir("/sys/devices/system/cpu") {
        let mut extra: Vec<String> = rd
            .flatten()
            .filter(|e| {
                let n = e.file_name();
                let n = n.to_string_lossy();
                n.starts_with("cpu") && n[3..].chars().all(|c| c.is_ascii_digit()) && n.len() > 3
            })
            .map(|e| e.path().join("thermal_throttle"))
            .filter(|p| p.exists())
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        extra.sort();
        v.extend(extra);
    }
    v
}

// ---------------------------------------------------------------------------------------------------
// Seccomp

/// A rule of Warren's default profile: syscalls denied with `errno` unless one of `unless_caps` is in
/// the container's capability set.
struct DenyRule {
    names: &'static [&'static str],
    unless_caps: &'static [&'static str],
    errno: i32,
}

/// Warren's default seccomp profile: the denials of Podman's default profile
/// (containers-common `seccomp.json`), written as a deny-list over a default of allow.
///
/// Podman's profile is an allow-list that returns ENOSYS for anything it does not name; what it
/// withholds from a container with the default capabilities is: obsolete or host-wide syscalls
/// (EPERM), syscalls no container gets (ENOSYS: add_key, request_key, ...), and groups lifted by a
/// capability (`includes.caps`), evaluated here against the container's set. Like Podman, `mount`,
/// `unshare`, `clone`, `keyctl`, `ptrace` stay allowed: capabilities gate them. Differences: syscalls
/// newer than this list are allowed rather than ENOSYS, and `personality` is not restricted by
/// argument. 32-bit and x32 syscalls are refused (ENOSYS) by the embedded runtime's filter.
const DEFAULT_DENY: &[DenyRule] = &[
    DenyRule {
        names: &[
            "bdflush",
            "io_pgetevents",
            "kexec_file_load",
            "kexec_load",
            "migrate_pages",
            "move_pages",
            "nfsservctl",
            "nice",
            "oldfstat",
            "oldlstat",
            "oldolduname",
            "oldstat",
            "olduname",
            "pciconfig_iobase",
            "pciconfig_read",
            "pciconfig_write",
            "sgetmask",
            "ssetmask",
            "swapcontext",
            "swapoff",
            "swapon",
            "sysfs",
            "uselib",
            "userfaultfd",
            "ustat",
            "vm86",
            "vm86old",
            "vmsplice",
        ],
        unless_caps: &[],
        errno: libc::EPERM,
    },
    // Not in Podman's profile at all: its default action, ENOSYS.
    DenyRule {
        names: &[
            "_sysctl",
            "add_key",
            "request_key",
            "afs_syscall",
            "getpmsg",
            "putpmsg",
            "security",
            "tuxcall",
            "vserver",
            "create_module",
            "get_kernel_syms",
        ],
        unless_caps: &[],
        errno: libc::ENOSYS,
    },
    DenyRule { names: &["open_by_handle_at"], unless_caps: &["CAP_DAC_READ_SEARCH"], errno: libc::EPERM },
    DenyRule {
        names: &[
            "bpf",
            "fanotify_init",
            "lookup_dcookie",
            "perf_event_open",
            "quotactl",
            "quotactl_fd",
            "setdomainname",
            "sethostname",
            "setns",
        ],
        unless_caps: &["CAP_SYS_ADMIN"],
        errno: libc::EPERM,
    },
    DenyRule { names: &["chroot"], unless_caps: &["CAP_SYS_CHROOT"], errno: libc::EPERM },
    DenyRule {
        names: &["delete_module", "finit_module", "init_module", "query_module"],
        unless_caps: &["CAP_SYS_MODULE"],
        errno: libc::EPERM,
    },
    DenyRule { names: &["acct"], unless_caps: &["CAP_SYS_PACCT"], errno: libc::EPERM },
    DenyRule { names: &["kcmp", "process_madvise"], unless_caps: &["CAP_SYS_PTRACE"], errno: libc::EPERM },
    DenyRule { names: &["ioperm", "iopl"], unless_caps: &["CAP_SYS_RAWIO"], errno: libc::EPERM },
    DenyRule {
        names: &["clock_settime", "clock_settime64", "settimeofday", "stime"],
        unless_caps: &["CAP_SYS_TIME"],
        errno: libc::EPERM,
    },
    DenyRule { names: &["vhangup"], unless_caps: &["CAP_SYS_TTY_CONFIG"], errno: libc::EPERM },
];

fn native_arches() -> Vec<Arch> {
    if cfg!(target_arch = "x86_64") {
        vec![Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32]
    } else if cfg!(target_arch = "aarch64") {
        vec![Arch::ScmpArchAarch64, Arch::ScmpArchArm]
    } else {
        vec![Arch::ScmpArchNative]
    }
}

/// Warren's default profile for a container with capabilities `caps`.
pub fn default_seccomp(caps: &[String]) -> Result<LinuxSeccomp> {
    let has = |c: &str| caps.iter().any(|x| x == c);
    let mut syscalls: Vec<LinuxSyscall> = Vec::new();
    for rule in DEFAULT_DENY {
        if rule.unless_caps.iter().any(|c| has(c)) {
            continue;
        }
        syscalls.push(
            LinuxSyscallBuilder::default()
                .names(rule.names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .action(LinuxSeccompAction::ScmpActErrno)
                .errno_ret(rule.errno as u32)
                .build()?,
        );
    }
    if !has("CAP_AUDIT_WRITE") {
        // socket(AF_NETLINK, *, NETLINK_AUDIT): EINVAL, as Podman.
        let eq = |index: usize, value: u64| {
            LinuxSeccompArgBuilder::default().index(index).value(value).op(LinuxSeccompOperator::ScmpCmpEq).build()
        };
        syscalls.push(
            LinuxSyscallBuilder::default()
                .names(vec!["socket".to_string()])
                .action(LinuxSeccompAction::ScmpActErrno)
                .errno_ret(libc::EINVAL as u32)
                .args(vec![eq(0, libc::AF_NETLINK as u64)?, eq(2, libc::NETLINK_AUDIT as u64)?])
                .build()?,
        );
    }
    Ok(LinuxSeccompBuilder::default()
        .default_action(LinuxSeccompAction::ScmpActAllow)
        .architectures(native_arches())
        .syscalls(syscalls)
        .build()?)
}

/// A Podman/Docker JSON profile (`--security-opt seccomp=FILE`) in the OCI form: `includes`/`excludes`
/// are evaluated here against the container's capabilities and this machine's architecture.
pub fn profile_seccomp(path: &Path, caps: &[String]) -> Result<LinuxSeccomp> {
    let text = std::fs::read_to_string(path).map_err(|source| SpecError::ReadProfile { path: path.into(), source })?;
    let bad = |reason: String| SpecError::ParseProfile { path: path.into(), reason };
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    let action = |s: &serde_json::Value| -> Result<LinuxSeccompAction> {
        serde_json::from_value(s.clone()).map_err(|e| bad(format!("action {s}: {e}")))
    };
    let default_action = action(v.get("defaultAction").ok_or_else(|| bad("no defaultAction".into()))?)?;
    let arch_name = if cfg!(target_arch = "x86_64") { "SCMP_ARCH_X86_64" } else { "SCMP_ARCH_AARCH64" };
    let cap_ok = |list: Option<&serde_json::Value>, want_any: bool| -> bool {
        let Some(arr) = list.and_then(|l| l.as_array()) else { return want_any };
        arr.iter().filter_map(|c| c.as_str()).any(|c| caps.iter().any(|x| x == c))
    };
    let arch_ok = |list: Option<&serde_json::Value>| -> Option<bool> {
        list.and_then(|l| l.as_array())
            .map(|arr| arr.iter().filter_map(|a| a.as_str()).any(|a| a == arch_name || a == "amd64" || a == "arm64"))
    };
    let mut syscalls = Vec::new();
    for s in v.get("syscalls").and_then(|s| s.as_array()).cloned().unwrap_or_default() {
        let inc = s.get("includes");
        let exc = s.get("excludes");
        if let Some(inc) = inc {
            if inc.get("caps").is_some() && !cap_ok(inc.get("caps"), true) {
                continue;
            }
            if arch_ok(inc.get("arches")) == Some(false) {
                continue;
            }
        }
        if let Some(exc) = exc {
            if exc.get("caps").is_some() && cap_ok(exc.get("caps"), false) {
                continue;
            }
            if arch_ok(exc.get("arches")) == Some(true) {
                continue;
            }
        }
        let mut names: Vec<String> = s
            .get("names")
            .and_then(|n| n.as_array())
            .map(|a| a.iter().filter_map(|x| x.as_str().map(String::from)).collect())
            .unwrap_or_default();
        if let Some(n) = s.get("name").and_then(|n| n.as_str()) {
            names.push(n.to_string());
        }
        let mut clean = serde_json::Map::new();
        clean.insert("names".into(), names.into());
        for k in ["action", "errnoRet", "args"] {
            if let Some(x) = s.get(k) {
                if !x.is_null() {
                    clean.insert(k.into(), x.clone());
                }
            }
        }
        let sc: LinuxSyscall =
            serde_json::from_value(serde_json::Value::Object(clean)).map_err(|e| bad(format!("syscall rule: {e}")))?;
        syscalls.push(sc);
    }
    let mut b =
        LinuxSeccompBuilder::default().default_action(default_action).architectures(native_arches()).syscalls(syscalls);
    if let Some(e) = v.get("defaultErrnoRet").and_then(|e| e.as_u64()) {
        b = b.default_errno_ret(e as u32);
    }
    Ok(b.build()?)
}

// ---------------------------------------------------------------------------------------------------

/// `--memory`, `--cpus`, `--pids-limit`; None when no limit was asked (cgroups are then never touched).
fn resources(plan: &ContainerPlan) -> Result<Option<LinuxResources>> {
    if plan.memory_limit.is_none() && plan.cpu_quota.is_none() && plan.pids_limit.is_none() {
        return Ok(None);
    }
    let mut r = LinuxResourcesBuilder::default();
    if let Some(m) = plan.memory_limit {
        r = r.memory(LinuxMemoryBuilder::default().limit(m).build()?);
    }
    if let Some((quota, period)) = plan.cpu_quota {
        r = r.cpu(LinuxCpuBuilder::default().quota(quota).period(period).build()?);
    }
    if let Some(p) = plan.pids_limit {
        r = r.pids(LinuxPidsBuilder::default().limit(p).build()?);
    }
    Ok(Some(r.build()?))
}

/// The runtime spec for `plan`, with Podman's defaults.
pub fn build(plan: &ContainerPlan) -> Result<Spec> {
    let is_root = plan.uid == 0;
    let caps = &plan.capabilities;
    let all = oci_caps(caps);
    // Podman: the root user gets the set in bounding, effective and permitted; any other user only in
    // bounding, plus what --cap-add asked for in effective, permitted and ambient. The plan carries
    // only the final list, so "asked for" is taken as the capabilities beyond Podman's default set.
    // Inheritable stays empty otherwise (CVE-2022-27649).
    let (user_caps, ambient) = if is_root {
        (all.clone(), Capabilities::new())
    } else {
        let added: Vec<String> = caps.iter().filter(|c| !DEFAULT_CAPABILITIES.contains(&c.as_str())).cloned().collect();
        let added = oci_caps(&added);
        (added.clone(), added)
    };
    let capabilities = LinuxCapabilitiesBuilder::default()
        .bounding(all.clone())
        .effective(user_caps.clone())
        .permitted(user_caps)
        .inheritable(ambient.clone())
        .ambient(ambient)
        .build()?;

    // containers.conf `umask = "0022"`.
    let mut user = UserBuilder::default().uid(plan.uid).gid(plan.gid).umask(0o022u32);
    if !plan.additional_gids.is_empty() {
        user = user.additional_gids(plan.additional_gids.clone());
    }
    let cwd = if plan.cwd.is_empty() { "/".to_string() } else { plan.cwd.clone() };
    let process = ProcessBuilder::default()
        .terminal(plan.terminal)
        .user(user.build()?)
        .args(process_args(plan))
        .env(plan.env.clone())
        .cwd(cwd)
        .capabilities(capabilities)
        .rlimits(rlimits(plan)?)
        .no_new_privileges(plan.no_new_privileges)
        .build()?;

    let mut mounts = default_mounts(plan)?;
    for m in &plan.mounts {
        // A user mount on a default destination replaces the default (as Podman does for /dev/shm).
        mounts.retain(|d| d.destination() != Path::new(&m.destination));
        mounts.push(plan_mount(m)?);
    }

    let mut namespaces: Vec<LinuxNamespace> = Vec::new();
    let ns = |t| LinuxNamespaceBuilder::default().typ(t).build();
    namespaces.push(ns(LinuxNamespaceType::Pid)?);
    if plan.network != NetworkMode::Host {
        // Joined by path when the engine created it (pasta, slirp4netns, none) or it exists already.
        let mut n = ns(LinuxNamespaceType::Network)?;
        if let Some(p) = &plan.netns_path {
            n.set_path(Some(p.clone()));
        }
        namespaces.push(n);
    }
    // A pod member joins its pod's IPC and UTS namespaces by path.
    for (t, path) in [(LinuxNamespaceType::Ipc, &plan.ipc_ns_path), (LinuxNamespaceType::Uts, &plan.uts_ns_path)] {
        let mut n = ns(t)?;
        if let Some(p) = path {
            n.set_path(Some(p.clone()));
        }
        namespaces.push(n);
    }
    namespaces.push(ns(LinuxNamespaceType::Mount)?);
    let nested_userns = !plan.uid_mappings.is_empty();
    if nested_userns {
        namespaces.push(ns(LinuxNamespaceType::User)?);
    }

    let mut linux = LinuxBuilder::default()
        .namespaces(namespaces)
        .devices(devices()?)
        .masked_paths(if plan.privileged { vec![] } else { masked_paths() })
        .readonly_paths(if plan.privileged { vec![] } else { READONLY_PATHS.iter().map(|s| s.to_string()).collect() });
    if nested_userns {
        linux = linux.uid_mappings(id_mappings(&plan.uid_mappings)?).gid_mappings(id_mappings(&plan.gid_mappings)?);
    }
    if !plan.privileged {
        match &plan.seccomp {
            SeccompMode::Default => linux = linux.seccomp(default_seccomp(caps)?),
            SeccompMode::Unconfined => {}
            SeccompMode::Profile(p) => linux = linux.seccomp(profile_seccomp(p, caps)?),
        }
    }
    let mut linux = linux.build()?;
    // LinuxBuilder defaults `resources` to an empty device list: only limits the user asked for.
    linux.set_resources(resources(plan)?);

    let mut annotations = HashMap::new();
    annotations.insert(ANNOTATION_NAME.to_string(), plan.name.clone());
    annotations.insert("io.container.manager".to_string(), "warren".to_string());

    let mut spec = SpecBuilder::default()
        .version("1.0.0")
        .root(RootBuilder::default().path(&plan.rootfs).readonly(plan.readonly_rootfs).build()?)
        .process(process)
        .mounts(mounts)
        .linux(linux)
        .annotations(annotations)
        .build()?;
    if plan.uts_ns_path.is_some() {
        // A joined UTS namespace keeps its hostname (the pod's); oci-spec's builder defaults one.
        spec.set_hostname(None);
    } else if !plan.hostname.is_empty() {
        spec.set_hostname(Some(plan.hostname.clone()));
    }
    Ok(spec)
}

/// Write `spec` as `BUNDLE/config.json`, atomically (temp file + rename).
pub fn write(bundle: &Path, spec: &Spec) -> Result<()> {
    let path = bundle.join("config.json");
    let tmp = bundle.join(".config.json.tmp");
    let err = |source| SpecError::Write { path: path.clone(), source };
    let data = serde_json::to_vec_pretty(spec).map_err(|e| err(std::io::Error::other(e)))?;
    let mut f = std::fs::File::create(&tmp).map_err(err)?;
    f.write_all(&data).map_err(err)?;
    // No fsync: the bundle is scratch in the runtime directory, written again at every start.
    drop(f);
    std::fs::rename(&tmp, &path).map_err(err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> ContainerPlan {
        ContainerPlan {
            id: "a".repeat(64),
            name: "test".into(),
            rootfs: "/tmp/rootfs".into(),
            args: vec!["sh".into()],
            env: vec!["PATH=/bin".into()],
            cwd: "/".into(),
            hostname: "abc".into(),
            capabilities: capabilities(&[], &[], false).unwrap(),
            ..Default::default()
        }
    }

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn default_capabilities_are_podmans() {
        let caps = capabilities(&[], &[], false).unwrap();
        let mut want = s(DEFAULT_CAPABILITIES);
        want.sort();
        assert_eq!(caps, want);
        let spec = build(&plan()).unwrap();
        let pc = spec.process().as_ref().unwrap().capabilities().as_ref().unwrap();
        let bounding = pc.bounding().as_ref().unwrap();
        assert_eq!(bounding.len(), 11);
        assert!(bounding.contains(&Capability::Chown) && bounding.contains(&Capability::SysChroot));
        assert!(!bounding.contains(&Capability::NetRaw) && !bounding.contains(&Capability::SysAdmin));
        assert_eq!(pc.effective().as_ref().unwrap(), bounding);
        assert!(pc.inheritable().as_ref().unwrap().is_empty());
    }

    #[test]
    fn non_root_user_has_no_effective_caps() {
        let mut p = plan();
        p.uid = 1000;
        let spec = build(&p).unwrap();
        let pc = spec.process().as_ref().unwrap().capabilities().as_ref().unwrap();
        assert_eq!(pc.bounding().as_ref().unwrap().len(), 11);
        assert!(pc.effective().as_ref().unwrap().is_empty());
        assert!(pc.permitted().as_ref().unwrap().is_empty());
        // --cap-add for a non-root user lands in effective, permitted and ambient, as in Podman.
        p.capabilities = capabilities(&s(&["NET_ADMIN"]), &[], false).unwrap();
        let spec = build(&p).unwrap();
        let pc = spec.process().as_ref().unwrap().capabilities().as_ref().unwrap();
        let want: Capabilities = [Capability::NetAdmin].into_iter().collect();
        assert_eq!(pc.effective().as_ref().unwrap(), &want);
        assert_eq!(pc.ambient().as_ref().unwrap(), &want);
        assert_eq!(pc.bounding().as_ref().unwrap().len(), 12);
    }

    #[test]
    fn cap_add_all_and_drop() {
        let caps = capabilities(&s(&["ALL"]), &[], false).unwrap();
        assert!(caps.contains(&"CAP_SYS_ADMIN".to_string()));
        assert!(caps.len() > 30);
        let caps = capabilities(&s(&["all"]), &s(&["sys_admin"]), false).unwrap();
        assert!(!caps.contains(&"CAP_SYS_ADMIN".to_string()));
        let caps = capabilities(&s(&["net_admin"]), &s(&["CAP_CHOWN", "kill"]), false).unwrap();
        assert!(caps.contains(&"CAP_NET_ADMIN".to_string()));
        assert!(!caps.contains(&"CAP_CHOWN".to_string()) && !caps.contains(&"CAP_KILL".to_string()));
        assert_eq!(caps.len(), 10);
        let caps = capabilities(&s(&["CAP_KILL"]), &s(&["all"]), false).unwrap();
        assert_eq!(caps, s(&["CAP_KILL"]));
        let caps = capabilities(&[], &[], true).unwrap();
        assert!(caps.contains(&"CAP_SYS_ADMIN".to_string()));
    }

    #[test]
    fn invalid_capability_is_an_error() {
        let e = capabilities(&s(&["CAP_FLY"]), &[], false).unwrap_err();
        assert!(e.to_string().contains("CAP_FLY"), "{e}");
        assert!(capabilities(&[], &s(&["bogus"]), false).is_err());
        assert!(matches!(
            capabilities(&s(&["chown"]), &s(&["CAP_CHOWN"]), false),
            Err(SpecError::AddedAndDropped { .. })
        ));
    }

    #[test]
    fn masked_and_readonly_paths() {
        let spec = build(&plan()).unwrap();
        let linux = spec.linux().as_ref().unwrap();
        let masked = linux.masked_paths().as_ref().unwrap();
        for p in ["/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware", "/proc/scsi"] {
            assert!(masked.contains(&p.to_string()), "{p} not masked");
        }
        let ro = linux.readonly_paths().as_ref().unwrap();
        assert_eq!(ro, &s(READONLY_PATHS));
        let mut p = plan();
        p.privileged = true;
        let spec = build(&p).unwrap();
        assert!(spec.linux().as_ref().unwrap().masked_paths().as_ref().unwrap().is_empty());
    }

    #[test]
    fn mounts_namespaces_and_plan_mounts() {
        let mut p = plan();
        p.mounts.push(MountPlan {
            destination: "/data".into(),
            kind: "bind".into(),
            source: "/srv/data".into(),
            options: s(&["ro"]),
        });
        p.mounts.push(MountPlan {
            destination: "/dev/shm".into(),
            kind: "tmpfs".into(),
            source: "tmpfs".into(),
            options: s(&["size=1m"]),
        });
        let spec = build(&p).unwrap();
        let mounts = spec.mounts().as_ref().unwrap();
        let dests: Vec<_> = mounts.iter().map(|m| m.destination().to_string_lossy().into_owned()).collect();
        for d in ["/proc", "/dev", "/dev/pts", "/dev/mqueue", "/sys", "/dev/shm", "/data"] {
            assert!(dests.contains(&d.to_string()), "{d} missing from {dests:?}");
        }
        assert_eq!(dests.iter().filter(|d| *d == "/dev/shm").count(), 1);
        let data = mounts.iter().find(|m| m.destination() == Path::new("/data")).unwrap();
        assert_eq!(data.options().as_ref().unwrap(), &s(&["ro", "rbind"]));
        let proc_ = mounts.iter().find(|m| m.destination() == Path::new("/proc")).unwrap();
        assert_eq!(proc_.typ().as_deref(), Some("proc"));
        let ns: Vec<_> =
            spec.linux().as_ref().unwrap().namespaces().as_ref().unwrap().iter().map(|n| n.typ()).collect();
        assert!(ns.contains(&LinuxNamespaceType::Pid) && ns.contains(&LinuxNamespaceType::Network));
        assert!(!ns.contains(&LinuxNamespaceType::User));
        assert_eq!(spec.hostname().as_deref(), Some("abc"));
        assert_eq!(spec.annotations().as_ref().unwrap()[ANNOTATION_NAME], "test");
    }

    #[test]
    fn host_network_and_nested_userns() {
        let mut p = plan();
        p.network = NetworkMode::Host;
        p.uid_mappings = vec![userns::IdMapEntry { container: 0, host: 1, size: 1000 }];
        p.gid_mappings = vec![userns::IdMapEntry { container: 0, host: 1, size: 1000 }];
        p.init = true;
        let spec = build(&p).unwrap();
        let linux = spec.linux().as_ref().unwrap();
        let ns: Vec<_> = linux.namespaces().as_ref().unwrap().iter().map(|n| n.typ()).collect();
        assert!(!ns.contains(&LinuxNamespaceType::Network));
        assert!(ns.contains(&LinuxNamespaceType::User));
        assert_eq!(linux.uid_mappings().as_ref().unwrap()[0].size(), 1000);
        let args = spec.process().as_ref().unwrap().args().clone().unwrap();
        assert_eq!(args[..2], [INIT_PATH.to_string(), "--".to_string()]);
        // The embedded init is a static executable.
        assert_eq!(&INIT_BINARY[..4], b"\x7fELF");
    }

    #[test]
    fn resources_only_when_asked() {
        assert!(build(&plan()).unwrap().linux().as_ref().unwrap().resources().is_none());
        let mut p = plan();
        p.memory_limit = Some(64 << 20);
        p.cpu_quota = Some((50_000, 100_000));
        p.pids_limit = Some(100);
        let spec = build(&p).unwrap();
        let r = spec.linux().as_ref().unwrap().resources().clone().unwrap();
        assert_eq!(r.memory().as_ref().unwrap().limit(), Some(64 << 20));
        assert_eq!(r.cpu().as_ref().unwrap().quota(), Some(50_000));
        assert_eq!(r.cpu().as_ref().unwrap().period(), Some(100_000));
        assert_eq!(r.pids().as_ref().unwrap().limit(), 100);
    }

    #[test]
    fn pod_namespaces_joined_by_path_keep_their_hostname() {
        let mut p = plan();
        p.ipc_ns_path = Some("/proc/7/ns/ipc".into());
        p.uts_ns_path = Some("/proc/7/ns/uts".into());
        let spec = build(&p).unwrap();
        let nss = spec.linux().as_ref().unwrap().namespaces().clone().unwrap();
        for (t, want) in [(LinuxNamespaceType::Ipc, "/proc/7/ns/ipc"), (LinuxNamespaceType::Uts, "/proc/7/ns/uts")] {
            let n = nss.iter().find(|n| n.typ() == t).unwrap();
            assert_eq!(n.path().as_deref(), Some(std::path::Path::new(want)));
        }
        assert_eq!(spec.hostname(), &None);
    }

    #[test]
    fn network_namespace_joined_by_path() {
        let mut p = plan();
        p.network = NetworkMode::Pasta(vec![]);
        p.netns_path = Some("/run/user/1/warren/netns/abc".into());
        let spec = build(&p).unwrap();
        let nss = spec.linux().as_ref().unwrap().namespaces().clone().unwrap();
        let net = nss.iter().find(|n| n.typ() == LinuxNamespaceType::Network).unwrap();
        assert_eq!(net.path().as_deref(), Some(std::path::Path::new("/run/user/1/warren/netns/abc")));
        // Checked at create time, before any namespace exists: a new one.
        p.netns_path = None;
        let spec = build(&p).unwrap();
        let nss = spec.linux().as_ref().unwrap().namespaces().clone().unwrap();
        assert!(nss.iter().any(|n| n.typ() == LinuxNamespaceType::Network && n.path().is_none()));
    }

    #[test]
    fn rlimits_never_exceed_the_hard_limit() {
        let spec = build(&plan()).unwrap();
        let rl = spec.process().as_ref().unwrap().rlimits().as_ref().unwrap();
        let nofile = rl.iter().find(|r| r.typ() == PosixRlimitType::RlimitNofile).unwrap();
        let hard = current_hard_limit(nix::sys::resource::Resource::RLIMIT_NOFILE);
        assert!(nofile.hard() <= hard && nofile.hard() <= DEFAULT_NOFILE);
        assert!(rl.iter().any(|r| r.typ() == PosixRlimitType::RlimitNproc));
        let mut p = plan();
        p.rlimits.push(("nofile".into(), 10, 20));
        let spec = build(&p).unwrap();
        let rl = spec.process().as_ref().unwrap().rlimits().as_ref().unwrap();
        let nofile: Vec<_> = rl.iter().filter(|r| r.typ() == PosixRlimitType::RlimitNofile).collect();
        assert_eq!(nofile.len(), 1);
        assert_eq!((nofile[0].soft(), nofile[0].hard()), (10, 20));
    }

    #[test]
    fn seccomp_default_denies_and_caps_lift() {
        let spec = build(&plan()).unwrap();
        let sc = spec.linux().as_ref().unwrap().seccomp().as_ref().unwrap();
        assert_eq!(sc.default_action(), LinuxSeccompAction::ScmpActAllow);
        let denied: Vec<String> = sc.syscalls().as_ref().unwrap().iter().flat_map(|s| s.names().clone()).collect();
        for n in ["kexec_load", "add_key", "init_module", "bpf", "setns", "userfaultfd", "socket"] {
            assert!(denied.contains(&n.to_string()), "{n} not denied");
        }
        // Allowed by Podman's profile too (capabilities gate them); chroot is lifted by SYS_CHROOT.
        for n in ["ptrace", "mount", "unshare", "clone", "keyctl", "chroot"] {
            assert!(!denied.contains(&n.to_string()), "{n} denied");
        }
        let caps = capabilities(&s(&["SYS_ADMIN"]), &[], false).unwrap();
        let sc = default_seccomp(&caps).unwrap();
        let denied: Vec<String> = sc.syscalls().as_ref().unwrap().iter().flat_map(|s| s.names().clone()).collect();
        assert!(!denied.contains(&"setns".to_string()) && denied.contains(&"add_key".to_string()));
        let mut p = plan();
        p.seccomp = SeccompMode::Unconfined;
        assert!(build(&p).unwrap().linux().as_ref().unwrap().seccomp().is_none());
    }

    #[test]
    fn profile_includes_and_excludes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.json");
        std::fs::write(
            &path,
            r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":1,"syscalls":[
                {"names":["read","write"],"action":"SCMP_ACT_ALLOW"},
                {"names":["mount"],"action":"SCMP_ACT_ALLOW","includes":{"caps":["CAP_SYS_ADMIN"]}},
                {"names":["ptrace"],"action":"SCMP_ACT_ALLOW","excludes":{"caps":["CAP_CHOWN"]}}]}"#,
        )
        .unwrap();
        let sc = profile_seccomp(&path, &s(DEFAULT_CAPABILITIES)).unwrap();
        let names: Vec<String> = sc.syscalls().as_ref().unwrap().iter().flat_map(|s| s.names().clone()).collect();
        assert_eq!(names, s(&["read", "write"]));
        assert_eq!(sc.default_errno_ret(), Some(1));
    }

    #[test]
    fn write_is_atomic_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let spec = build(&plan()).unwrap();
        write(dir.path(), &spec).unwrap();
        let back = Spec::load(dir.path().join("config.json")).unwrap();
        assert_eq!(back.process().as_ref().unwrap().args().as_ref().unwrap(), &s(&["sh"]));
        assert!(!dir.path().join(".config.json.tmp").exists());
    }
}
