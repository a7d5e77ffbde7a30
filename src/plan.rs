//! The container plan: CLI options + image config → what the container is, with no side effects.
//! The runtime spec ([`crate::runtime::spec`]) is generated from it.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// A mount the user asked for (`-v`, `--mount`, `--tmpfs`) or the engine adds (/etc/hosts ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

/// How the container is connected (none, host, pasta, slirp4netns, ns:PATH, container:NAME).
pub use net::NetworkMode;

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum SeccompMode {
    /// Podman's default profile, where the kernel allows it.
    #[default]
    Default,
    Unconfined,
    /// A Podman/Docker JSON profile.
    Profile(PathBuf),
}

/// Everything the runtime spec needs, decided before anything touches the system.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
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
    /// Published ports (`-p`, `-P`), host ports assigned at create.
    #[serde(default)]
    pub ports: Vec<net::PortMapping>,
    /// `--dns`, `--dns-search`, `--dns-option`.
    #[serde(default)]
    pub dns: net::etc::DnsOptions,
    /// `--add-host NAME:IP` as given.
    #[serde(default)]
    pub add_hosts: Vec<String>,
    /// `--no-hosts`: leave the image's /etc/hosts alone.
    #[serde(default)]
    pub no_hosts: bool,
    /// The network namespace file the container joins; set for each start, never stored.
    #[serde(skip)]
    pub netns_path: Option<PathBuf>,
    /// The IPC and UTS namespaces the container joins (its pod's); set for each start, never stored.
    /// With a joined UTS namespace the hostname is the pod's and is not set again.
    #[serde(skip)]
    pub ipc_ns_path: Option<PathBuf>,
    #[serde(skip)]
    pub uts_ns_path: Option<PathBuf>,
    /// For a nested user namespace (`--userns=keep-id`): (uid map, gid map) from the engine namespace's
    /// ids into the container's. Empty: the container shares the engine's user namespace.
    #[serde(with = "idmap_serde")]
    pub uid_mappings: Vec<userns::IdMapEntry>,
    #[serde(with = "idmap_serde")]
    pub gid_mappings: Vec<userns::IdMapEntry>,
    /// Run a tiny init as PID 1 that forwards signals and reaps zombies.
    pub init: bool,
    /// Cgroup limits; None means do not touch cgroups at all.
    pub memory_limit: Option<i64>,
    pub cpu_quota: Option<(i64, u64)>,
    pub pids_limit: Option<i64>,
}

/// Id mappings as `[[container, host, size], ...]` in the stored plan.
mod idmap_serde {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &[userns::IdMapEntry], s: S) -> Result<S::Ok, S::Error> {
        v.iter().map(|e| [e.container, e.host, e.size]).collect::<Vec<_>>().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<userns::IdMapEntry>, D::Error> {
        let v = Vec::<[u32; 3]>::deserialize(d)?;
        Ok(v.into_iter().map(|[container, host, size]| userns::IdMapEntry { container, host, size }).collect())
    }
}

use anyhow::{bail, Context as _, Result};
use std::collections::BTreeMap;
use std::path::Path;

use crate::error::ExitError;

/// The fields of an image config (OCI or Docker) that decide how a container runs.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ImageConfig {
    #[serde(default)]
    pub config: Option<ImageRunConfig>,
    #[serde(default)]
    pub architecture: Option<String>,
    #[serde(default)]
    pub os: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageRunConfig {
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub env: Option<Vec<String>>,
    #[serde(default)]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default)]
    pub cmd: Option<Vec<String>>,
    #[serde(default)]
    pub working_dir: Option<String>,
    #[serde(default)]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub stop_signal: Option<String>,
    /// VOLUME paths (keys of an object).
    #[serde(default)]
    pub volumes: Option<BTreeMap<String, serde_json::Value>>,
    pub exposed_ports: Option<BTreeMap<String, serde_json::Value>>,
}

impl ImageConfig {
    pub fn parse(bytes: &[u8]) -> Result<ImageConfig> {
        serde_json::from_slice(bytes).context("parsing the image config")
    }
}

/// The PATH a container gets when its image sets none (Podman's default).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Fail with the "engine" exit code and a message for the user.
fn user_error(msg: impl Into<String>) -> anyhow::Error {
    ExitError::new(crate::error::EXIT_ENGINE, msg).into()
}

/// `--entrypoint`: a JSON array (`'["sh","-c"]'`) or a single string taken as one word; `''` clears it.
pub fn parse_entrypoint(s: &str) -> Result<Vec<String>> {
    let t = s.trim();
    if t.is_empty() {
        return Ok(vec![]);
    }
    if t.starts_with('[') {
        if let Ok(v) = serde_json::from_str::<Vec<String>>(t) {
            return Ok(v);
        }
    }
    Ok(vec![s.to_string()])
}

/// Docker/Podman semantics of Entrypoint and Cmd:
/// - the user's command replaces the image's Cmd;
/// - `--entrypoint` replaces the image's Entrypoint and resets the image's Cmd.
pub fn command_line(image: &ImageRunConfig, entrypoint: Option<&str>, command: &[String]) -> Result<Vec<String>> {
    let (ep, default_cmd) = match entrypoint {
        Some(e) => (parse_entrypoint(e)?, vec![]),
        None => (image.entrypoint.clone().unwrap_or_default(), image.cmd.clone().unwrap_or_default()),
    };
    let cmd = if command.is_empty() { default_cmd } else { command.to_vec() };
    let args: Vec<String> = ep.into_iter().chain(cmd).collect();
    if args.is_empty() {
        bail!(user_error("no command or entrypoint provided, and no CMD or ENTRYPOINT from image"));
    }
    Ok(args)
}

/// An ordered environment: later settings replace earlier ones, first position kept.
#[derive(Debug, Default, Clone)]
pub struct Env {
    vars: Vec<(String, String)>,
}

impl Env {
    pub fn set(&mut self, k: &str, v: &str) {
        match self.vars.iter_mut().find(|(key, _)| key == k) {
            Some(slot) => slot.1 = v.to_string(),
            None => self.vars.push((k.to_string(), v.to_string())),
        }
    }
    pub fn get(&self, k: &str) -> Option<&str> {
        self.vars.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str())
    }
    /// `KEY=VALUE` sets; a bare `KEY` takes the host's value (skipped when the host has none).
    pub fn apply_setting(&mut self, s: &str) {
        match s.split_once('=') {
            Some((k, v)) => self.set(k, v),
            None => {
                if let Ok(v) = std::env::var(s) {
                    self.set(s, &v)
                }
            }
        }
    }
    pub fn to_list(&self) -> Vec<String> {
        self.vars.iter().map(|(k, v)| format!("{k}={v}")).collect()
    }
}

/// A user as resolved in the container's /etc/passwd and /etc/group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedUser {
    pub uid: u32,
    pub gid: u32,
    pub home: String,
    pub additional_gids: Vec<u32>,
}

fn read_db(rootfs: &Path, file: &str) -> Vec<Vec<String>> {
    // The rootfs is the container's: never follow an absolute symlink out of it.
    let p = rootfs.join(file);
    let Ok(meta) = std::fs::symlink_metadata(&p) else { return vec![] };
    if !meta.is_file() {
        return vec![];
    }
    std::fs::read_to_string(&p)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.split(':').map(str::to_string).collect())
        .collect()
}

/// Resolve `-u user[:group]` (names or numbers) in the container's /etc/passwd and /etc/group.
pub fn resolve_user(rootfs: &Path, spec: &str, group_add: &[String]) -> Result<ResolvedUser> {
    let passwd = read_db(rootfs, "etc/passwd");
    let groups = read_db(rootfs, "etc/group");
    let (u, g) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let u = if u.is_empty() { "0" } else { u };
    let entry = passwd.iter().find(|f| f.len() >= 4 && (f[0] == u || f[2] == u));
    let (uid, mut gid, home, name) = match (u.parse::<u32>(), entry) {
        (_, Some(f)) => (
            f[2].parse::<u32>().with_context(|| format!("bad uid in the container's /etc/passwd for {u:?}"))?,
            f[3].parse::<u32>().unwrap_or(0),
            f.get(5).cloned().filter(|h| !h.is_empty()).unwrap_or_else(|| "/".into()),
            Some(f[0].clone()),
        ),
        (Ok(n), None) => (n, 0, "/".to_string(), None),
        (Err(_), None) => {
            bail!(user_error(format!("unable to find user {u}: no matching entries in passwd file")))
        }
    };
    if let Some(g) = g.filter(|g| !g.is_empty()) {
        gid = resolve_group(&groups, g)?;
    }
    let mut additional_gids = vec![];
    if g.is_none() {
        if let Some(name) = &name {
            for f in &groups {
                if f.len() >= 4 && f[3].split(',').any(|m| m == name) {
                    if let Ok(n) = f[2].parse::<u32>() {
                        if n != gid && !additional_gids.contains(&n) {
                            additional_gids.push(n);
                        }
                    }
                }
            }
        }
    }
    for g in group_add {
        if g == "keep-groups" {
            continue;
        }
        let n = resolve_group(&groups, g)?;
        if !additional_gids.contains(&n) {
            additional_gids.push(n);
        }
    }
    // (uid_t)-1 means "leave unchanged" to setresuid/setresgid: the process would keep running as root.
    let check = |what: &str, id: u32| -> Result<()> {
        if id == u32::MAX {
            bail!(user_error(format!(
                "invalid {what} {id} in user {spec:?}: ids must be less than {} (2^32-1 is not a valid id)",
                u32::MAX
            )));
        }
        Ok(())
    };
    check("uid", uid)?;
    check("gid", gid)?;
    for g in &additional_gids {
        check("group", *g)?;
    }
    Ok(ResolvedUser { uid, gid, home, additional_gids })
}

fn resolve_group(groups: &[Vec<String>], g: &str) -> Result<u32> {
    if let Ok(n) = g.parse::<u32>() {
        return Ok(n);
    }
    groups
        .iter()
        .find(|f| f.len() >= 3 && f[0] == g)
        .and_then(|f| f[2].parse().ok())
        .ok_or_else(|| user_error(format!("unable to find group {g}: no matching entries in group file")))
}

/// Parse `--ulimit name=soft[:hard]` into (RLIMIT_NAME, soft, hard); -1 means unlimited.
pub fn parse_ulimit(s: &str) -> Result<(String, u64, u64)> {
    let (name, vals) =
        s.split_once('=').ok_or_else(|| user_error(format!("invalid ulimit {s:?}: expected NAME=SOFT[:HARD]")))?;
    let known = [
        "core",
        "cpu",
        "data",
        "fsize",
        "locks",
        "memlock",
        "msgqueue",
        "nice",
        "nofile",
        "nproc",
        "rss",
        "rtprio",
        "rttime",
        "sigpending",
        "stack",
        "as",
    ];
    if !known.contains(&name) {
        bail!(user_error(format!("invalid ulimit {s:?}: unknown resource {name:?}")));
    }
    let num = |v: &str| -> Result<u64> {
        if v == "-1" || v == "unlimited" {
            return Ok(u64::MAX);
        }
        v.parse::<u64>().map_err(|_| user_error(format!("invalid ulimit {s:?}: {v:?} is not a number")))
    };
    let (soft, hard) = match vals.split_once(':') {
        Some((a, b)) => (num(a)?, num(b)?),
        None => (num(vals)?, num(vals)?),
    };
    if soft > hard {
        bail!(user_error(format!("invalid ulimit {s:?}: soft limit is above the hard limit")));
    }
    Ok((format!("RLIMIT_{}", name.to_uppercase()), soft, hard))
}

/// Parse `-v HOST:CTR[:OPTS]`, `-v NAME:CTR[:OPTS]` (a named volume: the source does not start with
/// `/` or `.`) and `-v CTR` (an anonymous volume). Volumes are mounts of kind `volume` whose source is
/// the volume name (empty for an anonymous one); `run` turns them into binds of the volume's data.
pub fn parse_volume(s: &str) -> Result<MountPlan> {
    let parts: Vec<&str> = s.split(':').collect();
    let (src, dst, opts) = match parts.as_slice() {
        [dst] => ("", *dst, ""),
        [src, dst] => (*src, *dst, ""),
        [src, dst, opts] => (*src, *dst, *opts),
        _ => bail!(user_error(format!("invalid volume {s:?}: expected HOST-DIR:CONTAINER-DIR[:OPTIONS]"))),
    };
    if parts.len() > 1 && src.is_empty() {
        bail!(user_error(format!("invalid volume {s:?}: host directory cannot be empty")));
    }
    let volume = !src.starts_with('/') && !src.starts_with('.');
    if volume && !src.is_empty() && !crate::volume::valid_name(src) {
        bail!(user_error(format!(
            "invalid volume {s:?}: {src:?} is neither an absolute host path nor a volume name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)"
        )));
    }
    if !dst.starts_with('/') {
        bail!(user_error(format!("invalid volume {s:?}: the container path {dst:?} must be absolute")));
    }
    let source = if volume {
        src.to_string()
    } else {
        std::fs::canonicalize(src)
            .map_err(|e| {
                let hint = if e.kind() == std::io::ErrorKind::NotFound { " (create it first)" } else { "" };
                user_error(format!("invalid volume {s:?}: host path {src:?}: {}{hint}", crate::error::io_text(&e)))
            })?
            .display()
            .to_string()
    };
    let mut options = if volume { vec![] } else { vec!["rbind".to_string()] };
    for o in opts.split(',').filter(|o| !o.is_empty()) {
        match o {
            "ro" | "rw" => options.push(o.to_string()),
            "z" | "Z" => {} // SELinux relabel: no SELinux here, accepted like Podman on non-SELinux hosts.
            "U" => options.push("U".into()),
            "nocopy" | "copy" if volume => options.push(o.to_string()),
            "rbind" | "bind" | "nosuid" | "nodev" | "noexec" | "suid" | "dev" | "exec" => options.push(o.to_string()),
            "private" | "rprivate" | "shared" | "rshared" | "slave" | "rslave" => options.push(o.to_string()),
            _ => bail!(user_error(format!("invalid volume {s:?}: unknown option {o:?}"))),
        }
    }
    let kind = if volume { "volume" } else { "bind" };
    Ok(MountPlan { destination: dst.to_string(), kind: kind.into(), source, options })
}

/// Parse `--mount type=bind|tmpfs,src=..,dst=..,ro`.
pub fn parse_mount(s: &str) -> Result<MountPlan> {
    let mut kind = None;
    let mut src = None;
    let mut dst = None;
    let mut options = vec![];
    for kv in s.split(',') {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        match k {
            "type" => kind = Some(v.to_string()),
            "src" | "source" => src = Some(v.to_string()),
            "dst" | "destination" | "target" => dst = Some(v.to_string()),
            "ro" | "readonly" => {
                if v.is_empty() || v == "true" {
                    options.push("ro".to_string())
                }
            }
            "rw" => options.push("rw".into()),
            "volume-nocopy" => {
                if v.is_empty() || v == "true" {
                    options.push("nocopy".to_string())
                }
            }
            "U" | "chown" => {
                if v.is_empty() || v == "true" {
                    options.push("U".to_string())
                }
            }
            "volume-opt" | "volume-label" | "volume-driver" => {}
            "tmpfs-size" => options.push(format!("size={v}")),
            "tmpfs-mode" => options.push(format!("mode={v}")),
            "bind-propagation" | "relabel" | "bind-nonrecursive" | "consistency" => {}
            _ => bail!(user_error(format!("invalid mount {s:?}: unknown option {k:?}"))),
        }
    }
    let dst = dst.ok_or_else(|| user_error(format!("invalid mount {s:?}: a destination (dst=) is required")))?;
    if !dst.starts_with('/') {
        bail!(user_error(format!("invalid mount {s:?}: the destination {dst:?} must be absolute")));
    }
    match kind.as_deref() {
        Some("bind") => {
            let src = src.ok_or_else(|| user_error(format!("invalid mount {s:?}: a source (src=) is required")))?;
            let mut spec = format!("{src}:{dst}");
            if !options.is_empty() {
                spec.push(':');
                spec.push_str(&options.join(","));
            }
            parse_volume(&spec)
        }
        Some("volume") => {
            let src = src.unwrap_or_default();
            let spec = format!("{src}:{dst}:{}", options.join(","));
            if src.starts_with('/') || src.starts_with('.') {
                bail!(user_error(format!("invalid mount {s:?}: a volume source must be a volume name, not a path")));
            }
            let mut m = parse_volume(&spec)?;
            if src.is_empty() {
                m.source.clear();
            }
            Ok(m)
        }
        Some("tmpfs") => {
            let mut opts = vec!["rw".into(), "nosuid".into(), "nodev".into()];
            opts.extend(options);
            Ok(MountPlan { destination: dst, kind: "tmpfs".into(), source: "tmpfs".into(), options: opts })
        }
        Some(other) => {
            bail!(user_error(format!("invalid mount {s:?}: type {other:?} is not supported (bind, volume, tmpfs)")))
        }
        None => bail!(user_error(format!("invalid mount {s:?}: type= is required"))),
    }
}

/// Parse `--tmpfs /path[:opts]`.
pub fn parse_tmpfs(s: &str) -> Result<MountPlan> {
    let (dst, opts) = s.split_once(':').unwrap_or((s, ""));
    if !dst.starts_with('/') {
        bail!(user_error(format!("invalid tmpfs {s:?}: the path must be absolute")));
    }
    let mut options: Vec<String> = vec!["rw".into(), "noexec".into(), "nosuid".into(), "nodev".into()];
    options.extend(opts.split(',').filter(|o| !o.is_empty()).map(str::to_string));
    Ok(MountPlan { destination: dst.to_string(), kind: "tmpfs".into(), source: "tmpfs".into(), options })
}

/// Refuse what Podman refuses in `-e` (`=x`: no name) before anything is created.
pub fn check_env_args(env: &[String]) -> Result<()> {
    for e in env {
        if e.is_empty() || e.starts_with('=') {
            bail!(user_error(format!("invalid environment variable: {e:?}")));
        }
    }
    Ok(())
}

/// Two mounts on one container path (`-v A:/x -v B:/x`, or with --mount/--tmpfs) are refused, like Podman.
pub fn check_mount_destinations(mounts: &[MountPlan]) -> Result<()> {
    let norm = |p: &str| match p.trim_end_matches('/') {
        "" => "/".to_string(),
        t => t.to_string(),
    };
    for (i, m) in mounts.iter().enumerate() {
        if mounts[..i].iter().any(|o| norm(&o.destination) == norm(&m.destination)) {
            bail!(user_error(format!("{}: duplicate mount destination", m.destination)));
        }
    }
    Ok(())
}

/// Parse `--memory 512m` into bytes.
pub fn parse_memory(s: &str) -> Result<i64> {
    let t = s.trim().to_lowercase();
    let (num, mult) = match t.chars().last() {
        Some('b') => (&t[..t.len() - 1], 1),
        Some('k') => (&t[..t.len() - 1], 1 << 10),
        Some('m') => (&t[..t.len() - 1], 1 << 20),
        Some('g') => (&t[..t.len() - 1], 1 << 30),
        _ => (t.as_str(), 1),
    };
    let n: f64 = num.parse().map_err(|_| user_error(format!("invalid memory {s:?}: expected <number>[b|k|m|g]")))?;
    Ok((n * mult as f64) as i64)
}

/// A new container ID: 64 hex digits.
pub fn new_id() -> String {
    let mut buf = [0u8; 32];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        use std::io::Read;
        let _ = f.read_exact(&mut buf);
    }
    hex::encode(buf)
}

/// Podman-style random names (`adjective_noun`).
pub fn random_name(id: &str) -> String {
    const ADJ: &[&str] = &[
        "admiring",
        "brave",
        "clever",
        "dreamy",
        "eager",
        "focused",
        "gallant",
        "happy",
        "jolly",
        "keen",
        "lucid",
        "modest",
        "nifty",
        "optimistic",
        "quirky",
        "relaxed",
        "serene",
        "tender",
        "vibrant",
        "zealous",
    ];
    const NOUN: &[&str] = &[
        "archimedes",
        "babbage",
        "curie",
        "darwin",
        "euler",
        "fermat",
        "galileo",
        "hopper",
        "jennings",
        "kepler",
        "lovelace",
        "meitner",
        "noether",
        "pascal",
        "ritchie",
        "shannon",
        "thompson",
        "turing",
        "wozniak",
        "yonath",
    ];
    let b = hex::decode(&id[..8]).unwrap_or_else(|_| vec![0; 4]);
    format!("{}_{}", ADJ[b[0] as usize % ADJ.len()], NOUN[b[1] as usize % NOUN.len()])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn img(ep: Option<&[&str]>, cmd: Option<&[&str]>) -> ImageRunConfig {
        ImageRunConfig {
            entrypoint: ep.map(|v| v.iter().map(|s| s.to_string()).collect()),
            cmd: cmd.map(|v| v.iter().map(|s| s.to_string()).collect()),
            ..Default::default()
        }
    }
    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn entrypoint_and_cmd_combine_like_docker() {
        let i = img(Some(&["/ep"]), Some(&["a", "b"]));
        assert_eq!(command_line(&i, None, &[]).unwrap(), s(&["/ep", "a", "b"]));
        assert_eq!(command_line(&i, None, &s(&["x"])).unwrap(), s(&["/ep", "x"]));
        // --entrypoint resets Cmd
        assert_eq!(command_line(&i, Some("/other"), &[]).unwrap(), s(&["/other"]));
        assert_eq!(command_line(&i, Some(""), &s(&["echo", "hi"])).unwrap(), s(&["echo", "hi"]));
        assert_eq!(command_line(&i, Some(r#"["sh","-c"]"#), &s(&["id"])).unwrap(), s(&["sh", "-c", "id"]));
        assert!(command_line(&img(None, None), None, &[]).is_err());
        assert!(command_line(&i, Some(""), &[]).is_err());
    }

    #[test]
    fn users_resolve_by_name_and_number() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("etc")).unwrap();
        std::fs::write(
            d.path().join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n",
        )
        .unwrap();
        std::fs::write(d.path().join("etc/group"), "root:x:0:\nuser:x:1000:\nextra:x:2000:user\n").unwrap();
        let u = resolve_user(d.path(), "user", &[]).unwrap();
        assert_eq!((u.uid, u.gid, u.home.as_str(), u.additional_gids.clone()), (1000, 1000, "/home/user", vec![2000]));
        let u = resolve_user(d.path(), "1000:1000", &[]).unwrap();
        assert_eq!((u.uid, u.gid), (1000, 1000));
        let u = resolve_user(d.path(), "4242", &s(&["extra"])).unwrap();
        assert_eq!((u.uid, u.gid, u.home.as_str(), u.additional_gids), (4242, 0, "/", vec![2000]));
        assert!(resolve_user(d.path(), "nobody-here", &[]).is_err());
        assert!(resolve_user(d.path(), "0:nogroup", &[]).is_err());
        assert!(resolve_user(d.path(), "4294967295", &[]).is_err());
        assert!(resolve_user(d.path(), "0:4294967295", &[]).is_err());
        assert!(resolve_user(d.path(), "4294967294:4294967294", &[]).is_ok());
    }

    #[test]
    fn ulimits_and_memory() {
        assert_eq!(parse_ulimit("nofile=1024:2048").unwrap(), ("RLIMIT_NOFILE".into(), 1024, 2048));
        assert_eq!(parse_ulimit("nproc=-1").unwrap().1, u64::MAX);
        assert!(parse_ulimit("bogus=1").is_err());
        assert!(parse_ulimit("nofile=2:1").is_err());
        assert_eq!(parse_memory("512m").unwrap(), 512 << 20);
        assert!(parse_memory("lots").is_err());
    }

    #[test]
    fn env_later_wins() {
        let mut e = Env::default();
        e.apply_setting("A=1");
        e.apply_setting("B=2");
        e.apply_setting("A=3");
        assert_eq!(e.to_list(), s(&["A=3", "B=2"]));
    }
}
