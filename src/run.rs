//! `warren run`: the pipeline, in one place and in order:
//! resolve the image and options → id mapping → storage (rootfs) → network → runtime spec → spawn and
//! wait → cleanup. Root mode runs the same stages with the identity mapping.

use anyhow::{bail, Context as _, Result};
use std::path::{Path, PathBuf};

use crate::cli::container::RunArgs;
use crate::context::Context;
use crate::error::{ExitError, EXIT_ENGINE};
use crate::monitor;
use crate::plan::{self, ContainerPlan, Env, ImageConfig, NetworkMode, SeccompMode};
use crate::state::{ContainerRecord, State};
use crate::storage::{rootfs, ImageRecord, Store};

fn user_error(msg: impl Into<String>) -> anyhow::Error {
    ExitError::new(EXIT_ENGINE, msg).into()
}

pub fn run(ctx: &Context, args: RunArgs) -> Result<i32> {
    if args.detach {
        bail!(user_error("run --detach is not supported yet: run in the foreground (containers that outlive the command are being built)"));
    }
    // 1. Resolve the image (implicit pull) and the options that need no filesystem.
    let store = Store::open(ctx)?;
    let image = resolve_image(ctx, &store, &args)?;
    let config = ImageConfig::parse(&store.image_config(&image.id)?)?;
    let run_cfg = config.config.clone().unwrap_or_default();
    let args_line = plan::command_line(&run_cfg, args.entrypoint.as_deref(), &args.command)?;
    let network = match args.network.as_deref() {
        None | Some("none") | Some("") | Some("private") => NetworkMode::None,
        Some("host") => NetworkMode::Host,
        Some(other) => bail!(user_error(format!(
            "network mode {other:?} is not supported yet: use --network none or --network host"
        ))),
    };
    let mut mounts = vec![];
    for v in &args.volume {
        mounts.push(plan::parse_volume(v)?);
    }
    for m in &args.mount {
        mounts.push(plan::parse_mount(m)?);
    }
    for t in &args.tmpfs {
        mounts.push(plan::parse_tmpfs(t)?);
    }
    let mut rlimits = vec![];
    for u in &args.ulimit {
        rlimits.push(plan::parse_ulimit(u)?);
    }
    let seccomp = security_opts(&args.security_opt)?;
    let capabilities = crate::runtime::spec::capabilities(&args.cap_add, &args.cap_drop, args.privileged)?;
    let limits = resource_limits(ctx, &args)?;

    let id = plan::new_id();
    let name = match &args.name {
        Some(n) => validate_name(n)?,
        None => plan::random_name(&id),
    };
    // 2. Id mapping (the engine namespace was entered by Context::new; nested mappings per --userns).
    let userns = UsernsMode::parse(args.userns.as_deref(), ctx)?;

    // The record reserves the name (unique in the state store) before anything touches the system.
    let state = State::open(&store.root)?;
    let mut record = ContainerRecord {
        id: id.clone(),
        name: name.clone(),
        image_id: image.id.to_string(),
        image_name: args.image.clone(),
        config: serde_json::Value::Null,
        state: "created".into(),
        pid: 0,
        pid_start: 0,
        monitor_pid: std::process::id() as i64,
        exit_code: None,
        created: crate::format::now_rfc3339(),
        started: None,
        finished: None,
        restart_count: 0,
    };
    state.insert(&record)?;
    let _lock = state.lock_container(&id)?;
    let containers = store.root.join("containers");

    // 3. Storage: the container's rootfs. From here on, everything is undone by the guard.
    let mut guard = Cleanup {
        container_dir: containers.join(&id),
        bundle: ctx.run_dir.join("containers").join(&id),
        remove: args.rm,
        active: true,
        state: &state,
        id: id.clone(),
    };
    let forced = match ctx.global.storage_driver.as_deref() {
        Some(d) => Some(rootfs::Driver::parse(d)?),
        None => None,
    };
    let rootfs = rootfs::create(&store, &image.layers, &guard.container_dir, forced, ctx.rootless)?;
    tracing::debug!("container {name}: storage driver {} ({})", rootfs.driver.name(), rootfs.reason);

    // The user and home come from the container's own /etc/passwd.
    let user_spec = args.user.clone().or(run_cfg.user.clone().filter(|u| !u.is_empty()));
    let mut user = plan::resolve_user(&rootfs.merged, user_spec.as_deref().unwrap_or("0"), &args.group_add)?;
    let (uid_mappings, gid_mappings) = userns.mappings(ctx, &mut user, user_spec.is_some())?;
    check_single_id(ctx, &user, uid_mappings.is_empty())?;

    let hostname = args.hostname.clone().unwrap_or_else(|| id[..12].to_string());
    let mut env = Env::default();
    if args.env_host {
        for (k, v) in std::env::vars() {
            env.set(&k, &v);
        }
    }
    env.set("PATH", plan::DEFAULT_PATH);
    for e in run_cfg.env.clone().unwrap_or_default() {
        env.apply_setting(&e);
    }
    for f in &args.env_file {
        for line in std::fs::read_to_string(f)
            .map_err(|e| user_error(format!("reading env file {}: {e}", f.display())))?
            .lines()
        {
            let line = line.trim();
            if !line.is_empty() && !line.starts_with('#') {
                env.apply_setting(line);
            }
        }
    }
    for e in &args.env {
        env.apply_setting(e);
    }
    if args.tty && env.get("TERM").is_none() {
        env.set("TERM", "xterm");
    }
    env.set("container", "warren");
    if env.get("HOME").is_none() {
        env.set("HOME", &user.home);
    }
    env.set("HOSTNAME", &hostname);

    let cwd = args
        .workdir
        .clone()
        .or(run_cfg.working_dir.clone().filter(|w| !w.is_empty()))
        .unwrap_or_else(|| "/".into());
    if !cwd.starts_with('/') {
        bail!(user_error(format!("invalid working directory {cwd:?}: it must be absolute")));
    }
    ensure_dir_in_rootfs(&rootfs.merged, &cwd)?;

    // 4. Network: none or host; the resolution files are generated per container.
    std::fs::create_dir_all(&guard.bundle).with_context(|| format!("creating {}", guard.bundle.display()))?;
    mounts.extend(etc_files(&guard.bundle, &hostname, &name, &network)?);

    // 5. Runtime spec.
    let plan = ContainerPlan {
        id: id.clone(),
        name: name.clone(),
        rootfs: rootfs.merged.clone(),
        readonly_rootfs: args.read_only,
        args: args_line,
        env: env.to_list(),
        cwd,
        uid: user.uid,
        gid: user.gid,
        additional_gids: user.additional_gids.clone(),
        terminal: args.tty,
        hostname,
        mounts,
        capabilities,
        privileged: args.privileged,
        no_new_privileges: true,
        seccomp,
        rlimits,
        network,
        uid_mappings,
        gid_mappings,
        init: args.init,
        memory_limit: limits.0,
        cpu_quota: limits.1,
        pids_limit: limits.2,
    };
    let spec = crate::runtime::spec::build(&plan)?;
    crate::runtime::spec::write(&guard.bundle, &spec)?;
    record.config = container_config(&plan, &args);
    state.update(&record)?;

    // 6. Spawn under this process (the foreground monitor) and wait.
    let io = monitor::Stdio3::Inherit { interactive: args.interactive };
    let code = monitor::supervise(ctx, &state, &mut record, &guard.bundle, io)?;
    guard.finish();
    Ok(code)
}

/// `--pull` policy and the implicit pull.
fn resolve_image(ctx: &Context, store: &Store, args: &RunArgs) -> Result<ImageRecord> {
    let opts = crate::cli::registry::PullArgs {
        image: args.image.clone(),
        policy: args.pull.clone(),
        arch: args.arch.clone(),
        os: args.os.clone(),
        variant: args.variant.clone(),
        platform: args.platform.clone(),
        creds: args.creds.clone(),
        authfile: args.authfile.clone(),
        tls_verify: args.tls_verify,
        quiet: args.quiet,
        ..Default::default()
    };
    crate::image::pull::ensure_image(ctx, store, &opts)
}

fn security_opts(opts: &[String]) -> Result<SeccompMode> {
    let mut seccomp = SeccompMode::Default;
    for o in opts {
        let (k, v) = o.split_once('=').or_else(|| o.split_once(':')).unwrap_or((o.as_str(), ""));
        match k {
            "no-new-privileges" if v.is_empty() || v == "true" => {}
            "no-new-privileges" => bail!(user_error(
                "--security-opt no-new-privileges=false is not supported: Warren always sets no_new_privs"
            )),
            "seccomp" if v == "unconfined" => seccomp = SeccompMode::Unconfined,
            "seccomp" if !v.is_empty() => {
                let p = PathBuf::from(v);
                if !p.is_file() {
                    bail!(user_error(format!("--security-opt seccomp={v}: no such profile file")));
                }
                seccomp = SeccompMode::Profile(p);
            }
            "label" | "apparmor" | "mask" | "unmask" | "proc-opts" => {
                tracing::debug!("--security-opt {o}: accepted and ignored (not applicable here)")
            }
            _ => bail!(user_error(format!(
                "invalid --security-opt {o:?}: expected no-new-privileges, seccomp=unconfined|PATH, label=..."
            ))),
        }
    }
    Ok(seccomp)
}

type Limits = (Option<i64>, Option<(i64, u64)>, Option<i64>);

/// `--memory`, `--cpus`, `--pids-limit`. A run that asks for no limit never touches cgroups.
fn resource_limits(ctx: &Context, args: &RunArgs) -> Result<Limits> {
    if args.memory.is_none() && args.cpus.is_none() && args.pids_limit.is_none() {
        return Ok((None, None, None));
    }
    let memory = args.memory.as_deref().map(plan::parse_memory).transpose()?;
    let cpus = args.cpus.map(|c| ((c * 100_000.0) as i64, 100_000u64));
    let pids = args.pids_limit.filter(|p| *p > 0);
    let v2_delegated = std::fs::read_to_string("/sys/fs/cgroup/cgroup.controllers").is_ok();
    if ctx.rootless && !v2_delegated {
        bail!(user_error(
            "resource limits (--memory, --cpus, --pids-limit) need cgroup v2 with a delegated cgroup when rootless, \
             and this host uses cgroup v1: run without the limit, or as root (see docs/rootless.md, \"Resource limits\")"
        ));
    }
    if ctx.global.runtime.is_none() {
        bail!(user_error(
            "resource limits are not enforced by the embedded runtime yet: add --runtime crun (see docs/rootless.md)"
        ));
    }
    Ok((memory, cpus, pids))
}

/// Podman's rule for names: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
fn validate_name(n: &str) -> Result<String> {
    let ok = n.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && n.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if !ok {
        bail!(user_error(format!("invalid container name {n:?}: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*")));
    }
    Ok(n.to_string())
}

/// `--userns`: how container ids relate to the engine namespace's.
enum UsernsMode {
    /// The engine namespace itself (rootless default; root: the host).
    Default,
    KeepId { uid: Option<u32>, gid: Option<u32> },
    NoMap,
}

impl UsernsMode {
    fn parse(s: Option<&str>, ctx: &Context) -> Result<UsernsMode> {
        let s = s.unwrap_or("");
        match s {
            "" | "host" => Ok(UsernsMode::Default),
            "nomap" if ctx.rootless => Ok(UsernsMode::NoMap),
            "nomap" => bail!(user_error("--userns=nomap is only supported rootless")),
            _ if s == "keep-id" || s.starts_with("keep-id:") => {
                if !ctx.rootless {
                    bail!(user_error("--userns=keep-id is only supported rootless"));
                }
                let (mut uid, mut gid) = (None, None);
                for kv in s.trim_start_matches("keep-id").trim_start_matches(':').split(',').filter(|x| !x.is_empty()) {
                    let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                    let n: u32 = v
                        .parse()
                        .map_err(|_| user_error(format!("invalid --userns {s:?}: {kv:?} needs a number")))?;
                    match k {
                        "uid" => uid = Some(n),
                        "gid" => gid = Some(n),
                        _ => bail!(user_error(format!("invalid --userns {s:?}: unknown option {k:?} (uid=, gid=)"))),
                    }
                }
                Ok(UsernsMode::KeepId { uid, gid })
            }
            "auto" | "private" => bail!(user_error(format!("--userns={s} is not supported yet"))),
            _ => bail!(user_error(format!(
                "invalid --userns {s:?}: expected keep-id[:uid=N,gid=N], nomap, host"
            ))),
        }
    }

    /// The nested mappings (engine namespace ids → container ids), adjusting the user for keep-id.
    fn mappings(
        &self,
        ctx: &Context,
        user: &mut plan::ResolvedUser,
        user_given: bool,
    ) -> Result<(Vec<userns::IdMapEntry>, Vec<userns::IdMapEntry>)> {
        // The size of the engine namespace (ids 0..size are usable inside it).
        let size = |m: &[userns::IdMapEntry]| m.iter().map(|e| e.container as u64 + e.size as u64).max().unwrap_or(1) as u32;
        let (usize_, gsize) = (size(&ctx.mapping.map.uids), size(&ctx.mapping.map.gids));
        match self {
            UsernsMode::Default => Ok((vec![], vec![])),
            UsernsMode::KeepId { uid, gid } => {
                let host_uid = nix::unistd::getuid().as_raw();
                let host_gid = nix::unistd::getgid().as_raw();
                // Outside the engine namespace we would read our own ids; inside it we are 0: use the
                // engine mapping's host id of container root.
                let own_uid = ctx.mapping.map.uids.iter().find(|e| e.container == 0).map(|e| e.host).unwrap_or(host_uid);
                let own_gid = ctx.mapping.map.gids.iter().find(|e| e.container == 0).map(|e| e.host).unwrap_or(host_gid);
                let cuid = uid.unwrap_or(own_uid);
                let cgid = gid.unwrap_or(own_gid);
                if !user_given {
                    user.uid = cuid;
                    user.gid = cgid;
                    user.additional_gids.clear();
                }
                Ok((keep_id_map(cuid, usize_), keep_id_map(cgid, gsize)))
            }
            UsernsMode::NoMap => {
                if usize_ < 2 {
                    bail!(user_error(
                        "--userns=nomap needs a subordinate id range: see docs/rootless.md, \"No subordinate ids\""
                    ));
                }
                let m = |n: u32| vec![userns::IdMapEntry { container: 0, host: 1, size: n - 1 }];
                Ok((m(usize_), m(gsize)))
            }
        }
    }
}

/// keep-id: container `id` → engine 0 (the user), container 0..id → engine 1..=id, the rest after it.
fn keep_id_map(id: u32, size: u32) -> Vec<userns::IdMapEntry> {
    let mut v = vec![];
    let below = id.min(size.saturating_sub(1));
    if below > 0 {
        v.push(userns::IdMapEntry { container: 0, host: 1, size: below });
    }
    v.push(userns::IdMapEntry { container: id, host: 0, size: 1 });
    if size > id + 1 {
        v.push(userns::IdMapEntry { container: id + 1, host: id + 1, size: size - id - 1 });
    }
    v
}

/// On the single-id mapping only container root exists.
fn check_single_id(ctx: &Context, user: &plan::ResolvedUser, shared_ns: bool) -> Result<()> {
    if !shared_ns {
        return Ok(());
    }
    if let userns::MappingKind::SingleId { reason } = &ctx.mapping.kind {
        if user.uid != 0 || user.gid != 0 {
            bail!(user_error(format!(
                "cannot run as uid {} gid {}: only one id is mapped into your user namespace, so the container can run only as root. {reason}",
                user.uid, user.gid
            )));
        }
    }
    Ok(())
}

/// Create the working directory inside the rootfs when it is missing (like Podman). Never follows a
/// symlink out of the rootfs: each component must be a real directory or absent.
fn ensure_dir_in_rootfs(rootfs: &Path, dir: &str) -> Result<()> {
    let mut p = rootfs.to_path_buf();
    for comp in dir.split('/').filter(|c| !c.is_empty() && *c != ".") {
        if comp == ".." {
            bail!(user_error(format!("invalid working directory {dir:?}: it must not contain ..")));
        }
        p.push(comp);
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.is_dir() => {}
            // A symlinked directory: let the runtime resolve it inside the container.
            Ok(m) if m.file_type().is_symlink() => return Ok(()),
            Ok(_) => bail!(user_error(format!("working directory {dir:?} is not a directory in the image"))),
            Err(_) => std::fs::create_dir(&p).with_context(|| format!("creating the working directory {dir}"))?,
        }
    }
    Ok(())
}

/// /etc/hosts, /etc/resolv.conf and /etc/hostname for the container, in its bundle directory.
fn etc_files(bundle: &Path, hostname: &str, name: &str, network: &NetworkMode) -> Result<Vec<plan::MountPlan>> {
    let hosts = match network {
        NetworkMode::Host => {
            let mut h = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
            if !h.ends_with('\n') && !h.is_empty() {
                h.push('\n');
            }
            h.push_str(&format!("127.0.1.1\t{hostname} {name}\n"));
            h
        }
        NetworkMode::None => format!(
            "127.0.0.1\tlocalhost localhost.localdomain localhost4 localhost4.localdomain4\n\
             ::1\tlocalhost localhost.localdomain localhost6 localhost6.localdomain6\n\
             127.0.1.1\t{hostname} {name}\n"
        ),
    };
    let resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let files = [("hosts", hosts), ("resolv.conf", resolv), ("hostname", format!("{hostname}\n"))];
    let mut mounts = vec![];
    for (f, content) in files {
        let p = bundle.join(f);
        std::fs::write(&p, content).with_context(|| format!("writing {}", p.display()))?;
        mounts.push(plan::MountPlan {
            destination: format!("/etc/{f}"),
            kind: "bind".into(),
            source: p.display().to_string(),
            options: vec!["bind".into(), "rprivate".into()],
        });
    }
    Ok(mounts)
}

/// The configuration kept in the state store (what `inspect` shows and `start` needs).
fn container_config(plan: &ContainerPlan, args: &RunArgs) -> serde_json::Value {
    serde_json::json!({
        "Cmd": plan.args,
        "Env": plan.env,
        "WorkingDir": plan.cwd,
        "User": format!("{}:{}", plan.uid, plan.gid),
        "Hostname": plan.hostname,
        "Tty": plan.terminal,
        "OpenStdin": args.interactive,
        "AutoRemove": args.rm,
        "Rootfs": plan.rootfs,
        "Labels": args.label,
    })
}

/// Undo what the pipeline did, on every exit path (errors, signals, normal exit). Idempotent.
struct Cleanup<'a> {
    container_dir: PathBuf,
    bundle: PathBuf,
    remove: bool,
    active: bool,
    state: &'a State,
    id: String,
}

impl Cleanup<'_> {
    fn finish(&mut self) {
        if !self.active {
            return;
        }
        self.active = false;
        rootfs::unmount(&self.container_dir.join("merged"));
        let _ = std::fs::remove_dir_all(&self.bundle);
        if self.remove {
            if let Err(e) = rootfs::remove(&self.container_dir) {
                tracing::warn!("removing container storage: {e:#}");
            }
            if let Err(e) = self.state.remove(&self.id) {
                tracing::warn!("removing container {} from the state store: {e:#}", self.id);
            }
        }
    }
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        // An error before the container ran leaves nothing behind, --rm or not.
        if self.active {
            self.remove = true;
            self.finish();
        }
    }
}
