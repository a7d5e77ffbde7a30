//! `warren run`: the pipeline, in one place and in order:
//! resolve the image and options → id mapping → storage (rootfs) → network → runtime spec → spawn and
//! wait → cleanup. Root mode runs the same stages with the identity mapping.

use anyhow::{bail, Context as _, Result};
use std::path::{Path, PathBuf};

use crate::cli::container::RunArgs;
use crate::container;
use crate::context::Context;
use crate::error::{ExitError, EXIT_ENGINE};
use crate::monitor;
use crate::plan::{self, ContainerPlan, Env, ImageConfig, SeccompMode};
use crate::state::{ContainerRecord, State};
use crate::storage::{rootfs, ImageRecord, Store};

fn user_error(msg: impl Into<String>) -> anyhow::Error {
    ExitError::new(EXIT_ENGINE, msg).into()
}

/// `warren run`: create the container, then start it in the foreground (this process is its monitor)
/// or under a detached monitor (`-d`).
pub fn run(ctx: &Context, args: RunArgs) -> Result<i32> {
    let store = Store::open(ctx)?;
    let state = State::open(&store.root)?;
    let (mut record, plan) = create(ctx, &store, &state, &args)?;
    if args.detach {
        start_detached(ctx, &state, &record)?;
        println!("{}", record.id);
        return Ok(0);
    }
    start_foreground(ctx, &state, &mut record, &plan, args.interactive)
}

/// `warren create`: stages 1–5 of the pipeline; the container is recorded as "created" with its rootfs
/// ready. Nothing is left behind if any stage fails.
pub fn create(ctx: &Context, store: &Store, state: &State, args: &RunArgs) -> Result<(ContainerRecord, ContainerPlan)> {
    if args.rm && args.restart.as_deref().is_some_and(|r| r != "no") {
        bail!(user_error("the --rm option conflicts with --restart"));
    }
    let restart = RestartPolicy::parse(args.restart.as_deref().unwrap_or("no"))?;
    // 1. Resolve the image (implicit pull) and the options that need no filesystem.
    let image = resolve_image(ctx, store, args)?;
    let config = ImageConfig::parse(&store.image_config(&image.id)?)?;
    let run_cfg = config.config.clone().unwrap_or_default();
    let args_line = plan::command_line(&run_cfg, args.entrypoint.as_deref(), &args.command)?;
    // 4. Network: the mode and published ports are decided (and host ports checked) before anything
    // is recorded; the namespace and its launcher are set up at each start (see crate::network).
    // A pod member (`--pod`) shares its pod's network: the pod has it, or `new:NAME` creates the pod
    // with the container's network options. A new pod is removed again if the container is not created.
    let membership = crate::pod::resolve_member(ctx, state, args)?;
    let mut pod_guard = NewPodGuard { ctx, state, pod: membership.as_ref().filter(|m| m.new).map(|m| m.pod.clone()) };
    let pod_network = match &membership {
        Some(m) => crate::pod::member_network(&m.pod, state)?,
        None => None,
    };
    let network = match pod_network {
        Some(n) => n,
        None => crate::network::plan(ctx, state, &crate::network::args_of(args), &run_cfg)?,
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
    plan::check_mount_destinations(&mounts)?;
    plan::check_env_args(&args.env)?;
    // --read-only keeps scratch space (Podman's --read-only-tmpfs, on by default): tmpfs on /run, /tmp and
    // /var/tmp unless the user mounts something there.
    if args.read_only && args.read_only_tmpfs {
        for dir in ["/run", "/tmp", "/var/tmp"] {
            if !mounts.iter().any(|m: &plan::MountPlan| m.destination.trim_end_matches('/') == dir) {
                mounts.push(plan::MountPlan {
                    destination: dir.into(),
                    kind: "tmpfs".into(),
                    source: "tmpfs".into(),
                    options: ["rw", "rprivate", "nosuid", "nodev", "tmpcopyup"].map(String::from).to_vec(),
                });
            }
        }
    }
    let image_volumes: Vec<String> = run_cfg.volumes.clone().unwrap_or_default().into_keys().collect();
    mounts.extend(crate::volume::image_volume_mounts(&image_volumes, &mounts));
    crate::logs::check_log_options(args)?;
    let mut rlimits = vec![];
    for u in &args.ulimit {
        rlimits.push(plan::parse_ulimit(u)?);
    }
    let seccomp = security_opts(&args.security_opt)?;
    let capabilities = crate::runtime::spec::capabilities(&args.cap_add, &args.cap_drop, args.privileged)?;
    let limits = resource_limits(ctx, args)?;

    let id = plan::new_id();
    let name = match &args.name {
        Some(n) => validate_name(n)?,
        None => free_random_name(state, &id)?,
    };
    // 2. Id mapping (the engine namespace was entered by Context::new; nested mappings per --userns).
    let userns = UsernsMode::parse(args.userns.as_deref(), ctx)?;

    // The record reserves the name (unique in the state store) before anything touches the system.
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
        created: crate::format::now_rfc3339_nano(),
        started: None,
        finished: None,
        restart_count: 0,
        pod_id: membership.as_ref().map(|m| m.pod.id.clone()).unwrap_or_default(),
    };
    state.insert(&record)?;
    let _lock = state.lock_container(&id)?;

    // 3. Storage: the container's rootfs. Until the end of create, a failure undoes everything.
    let mut guard = CreateGuard { ctx, state, record: Some(record.clone()) };
    let container_dir = container::storage_dir(ctx, &id);
    let forced = match ctx.global.storage_driver.as_deref() {
        Some(d) => Some(rootfs::Driver::parse(d)?),
        None => None,
    };
    let rootfs = rootfs::create(store, &image.layers, &container_dir, forced, ctx.rootless, args.rm)?;
    tracing::debug!("container {name}: storage driver {} ({})", rootfs.driver.name(), rootfs.reason);

    // The user and home come from the container's own /etc/passwd.
    let user_spec = args.user.clone().or(run_cfg.user.clone().filter(|u| !u.is_empty()));
    let mut user = plan::resolve_user(&rootfs.merged, user_spec.as_deref().unwrap_or("0"), &args.group_add)?;
    let (uid_mappings, gid_mappings) = userns.mappings(ctx, &mut user, user_spec.is_some())?;
    check_user_mapped(ctx, &user, uid_mappings.is_empty())?;
    // Volumes: created on first use, filled from the image, recorded so a failure removes new anonymous ones.
    let (vuid, vgid) = crate::volume::engine_ids(&uid_mappings, &gid_mappings, user.uid, user.gid);
    let volumes = crate::volume::resolve_mounts(ctx, state, &mut mounts, &rootfs.merged, vuid, vgid)?;
    if let Some(r) = guard.record.as_mut() {
        r.config = serde_json::json!({ "Volumes": volumes });
    }

    let hostname = args
        .hostname
        .clone()
        .or_else(|| membership.as_ref().and_then(|m| crate::pod::member_hostname(&m.pod)))
        .unwrap_or_else(|| id[..12].to_string());
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

    let cwd =
        args.workdir.clone().or(run_cfg.working_dir.clone().filter(|w| !w.is_empty())).unwrap_or_else(|| "/".into());
    if !cwd.starts_with('/') {
        bail!(user_error(format!("invalid working directory {cwd:?}: it must be absolute")));
    }
    ensure_dir_in_rootfs(&rootfs.merged, &cwd)?;

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
        network: network.mode,
        ports: network.ports,
        dns: network.dns,
        add_hosts: network.add_hosts,
        no_hosts: network.no_hosts,
        netns_path: None,
        ipc_ns_path: None,
        uts_ns_path: None,
        uid_mappings,
        gid_mappings,
        init: args.init,
        memory_limit: limits.0,
        cpu_quota: limits.1,
        pids_limit: limits.2,
    };
    // 5. The runtime spec is generated from the plan each time the container starts; check it now.
    crate::runtime::spec::build(&plan)?;
    record.config = container_config(&plan, args, &image, rootfs.driver, &restart, &run_cfg);
    record.config["Volumes"] = serde_json::to_value(&volumes)?;
    record.config["LogConfig"] = crate::logs::log_config(args, &container::log_path(ctx, &id))?;
    state.update(&record)?;
    guard.record = None;
    pod_guard.pod = None;
    crate::events::emit(&ctx.storage_root, crate::events::Event::container("create", &record));
    Ok((record, plan))
}

/// The stored plan of a container.
pub fn stored_plan(rec: &ContainerRecord) -> Result<ContainerPlan> {
    serde_json::from_value(rec.config["Plan"].clone())
        .with_context(|| format!("container {} has no usable stored configuration", rec.name))
}

/// Make the container's rootfs and bundle ready: remount the rootfs when it is not mounted (after a
/// reboot or when the engine namespace was recreated), generate /etc files and config.json.
fn prepare(
    ctx: &Context,
    state: &State,
    rec: &mut ContainerRecord,
    plan: &ContainerPlan,
) -> Result<std::path::PathBuf> {
    let dir = container::storage_dir(ctx, &rec.id);
    let driver = rec.config["Driver"].as_str().map(rootfs::Driver::parse).transpose()?;
    if driver != Some(rootfs::Driver::Vfs) && !is_mountpoint(&dir.join("merged")) {
        let store = Store::open(ctx)?;
        let layers: Vec<crate::storage::Digest> =
            serde_json::from_value(rec.config["Layers"].clone()).unwrap_or_default();
        rootfs::create(&store, &layers, &dir, driver, ctx.rootless, container::auto_remove(rec))?;
    }
    let bundle = container::bundle_dir(ctx, &rec.id);
    std::fs::create_dir_all(&bundle).with_context(|| format!("creating {}", bundle.display()))?;
    let mut plan = plan.clone();
    // A pod member: the pod's infra container runs, its IPC and UTS namespaces are joined.
    crate::pod::join(ctx, state, rec, &mut plan)?;
    // The network namespace and its launcher; recorded at once so that cleanup can always undo them.
    let net = crate::network::setup(ctx, state, rec, &plan)?;
    rec.config["NetworkState"] = serde_json::to_value(&net)?;
    state.update(rec)?;
    plan.netns_path = net.netns.clone();
    plan.mounts.extend(crate::network::etc_files(&bundle, &plan, &net)?);
    if plan.init {
        plan.mounts.push(init_mount(&bundle)?);
    }
    let spec = crate::runtime::spec::build(&plan)?;
    crate::runtime::spec::write(&bundle, &spec)?;
    Ok(bundle)
}

/// `--init`: Warren's static init written into the bundle, bind-mounted read-only at /run/warren-init.
pub fn init_mount(bundle: &Path) -> Result<plan::MountPlan> {
    use std::os::unix::fs::PermissionsExt;
    let path = bundle.join("warren-init");
    let tmp = bundle.join(".warren-init.tmp");
    std::fs::write(&tmp, crate::runtime::spec::INIT_BINARY).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o555))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
    Ok(plan::MountPlan {
        destination: crate::runtime::spec::INIT_PATH.into(),
        kind: "bind".into(),
        source: path.to_string_lossy().into_owned(),
        options: vec!["bind".into(), "ro".into(), "nosuid".into(), "nodev".into()],
    })
}

fn is_mountpoint(p: &std::path::Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(p), p.parent().map(std::fs::metadata)) {
        (Ok(a), Some(Ok(b))) => a.dev() != b.dev(),
        _ => false,
    }
}

/// Start a created (or exited) container with this process as its monitor, wait, clean up.
pub fn start_foreground(
    ctx: &Context,
    state: &State,
    rec: &mut ContainerRecord,
    plan: &ContainerPlan,
    interactive: bool,
) -> Result<i32> {
    // The lock serialises starting; it is released once the container runs, so `stop`, `kill` and
    // `exec` from other commands are not blocked for the container's lifetime.
    let mut lock = Some(state.lock_container(&rec.id)?);
    let result = prepare(ctx, state, rec, plan).and_then(|bundle| {
        rec.monitor_pid = std::process::id() as i64;
        let io = monitor::Stdio3::Inherit { interactive };
        monitor::supervise_notify(ctx, state, rec, &bundle, io, &mut |_| drop(lock.take()))
    });
    if result.is_err() && rec.state != "exited" {
        rec.state = "exited".into();
        rec.exit_code = Some(EXIT_ENGINE as i64);
        let _ = state.update(rec);
    }
    container::cleanup(ctx, state, rec, container::auto_remove(rec))?;
    result
}

/// Start a container under a detached monitor process (`warren __monitor ID`) and return once the
/// container's process runs (or failed to start).
pub fn start_detached(ctx: &Context, state: &State, rec: &ContainerRecord) -> Result<()> {
    use std::io::Read;
    use std::os::fd::{AsRawFd, OwnedFd};
    use std::os::unix::process::CommandExt;
    let (r, w): (OwnedFd, OwnedFd) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).context("creating a pipe")?;
    let mut cmd = std::process::Command::new("/proc/self/exe");
    cmd.arg("--root").arg(&ctx.storage_root).arg("--runroot").arg(&ctx.run_dir);
    cmd.arg("--log-level").arg(&ctx.global.log_level);
    if let Some(rt) = &ctx.global.runtime {
        cmd.arg("--runtime").arg(rt);
    }
    if let Some(d) = &ctx.global.storage_driver {
        cmd.arg("--storage-driver").arg(d);
    }
    cmd.arg("__monitor").arg(&rec.id);
    cmd.stdin(std::process::Stdio::null()).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
    let wfd = w.as_raw_fd();
    // SAFETY: only async-signal-safe calls (setsid, dup2) between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            libc::setsid();
            if libc::dup2(wfd, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    tracing::debug!("starting the monitor: {cmd:?}");
    let mut child = cmd.spawn().context("starting the container monitor")?;
    drop(w);
    let mut msg = String::new();
    std::fs::File::from(r).read_to_string(&mut msg).context("waiting for the container monitor")?;
    // The monitor stays. A long-lived caller (the monitor of a pod member that started its pod's
    // infra container) must reap it when it exits: a thread waits for it; a short-lived command just
    // exits and leaves it to init.
    if let Ok(None) = child.try_wait() {
        std::thread::spawn(move || {
            let _ = child.wait();
        });
    }
    let msg = msg.trim();
    if msg == "ok" {
        return Ok(());
    }
    let rec = state.get(&rec.id).unwrap_or_else(|_| rec.clone());
    if msg.is_empty() {
        bail!("the monitor of container {} exited before the container started: see --log-level=debug", rec.name);
    }
    let code = msg.strip_prefix("exit ").and_then(|c| c.split_once(' ')).and_then(|(c, _)| c.parse::<i32>().ok());
    let text = msg.strip_prefix("exit ").and_then(|c| c.split_once(' ')).map(|(_, m)| m).unwrap_or(msg);
    Err(ExitError::new(code.unwrap_or(EXIT_ENGINE), text.to_string()).into())
}

/// Body of `warren __monitor ID`: supervise a detached container until it exits for good (restart
/// policy), writing its log, then clean up.
pub fn monitor_main(ctx: &Context, id: &str) -> Result<i32> {
    use std::io::Write;
    use std::os::fd::FromRawFd;
    let _ = nix::sys::prctl::set_name(c"warren-monitor");
    // SAFETY: fd 3 was set up by start_detached as the write end of the readiness pipe.
    let mut ready = Some(unsafe { std::fs::File::from_raw_fd(3) });
    // The runtime and the container must not inherit it: `run -d` waits for its EOF.
    let _ = nix::fcntl::fcntl(3, nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC));
    let state = State::open(&ctx.storage_root)?;
    let mut rec = state.get(id)?;
    let plan = stored_plan(&rec)?;
    let restart = RestartPolicy::from_config(&rec.config);
    loop {
        let mut lock = Some(state.lock_container(&rec.id)?);
        let log = container::log_path(ctx, &rec.id);
        if let Some(p) = log.parent() {
            std::fs::create_dir_all(p)?;
        }
        let result = prepare(ctx, &state, &mut rec, &plan).and_then(|bundle| {
            rec.monitor_pid = std::process::id() as i64;
            let r =
                monitor::supervise_notify(ctx, &state, &mut rec, &bundle, monitor::Stdio3::Log(log), &mut |started| {
                    drop(lock.take());
                    if let Some(mut f) = ready.take() {
                        let _ = match started {
                            Ok(()) => writeln!(f, "ok"),
                            Err((code, m)) => writeln!(f, "exit {code} {m}"),
                        };
                    }
                });
            r
        });
        drop(lock.take());
        let code = match result {
            Ok(c) => c,
            Err(e) => {
                if let Some(mut f) = ready.take() {
                    let _ = writeln!(f, "exit {} {e:#}", crate::error::exit_code_of(&e));
                }
                rec.state = "exited".into();
                rec.exit_code = Some(EXIT_ENGINE as i64);
                let _ = state.update(&rec);
                EXIT_ENGINE
            }
        };
        let fresh = state.lookup(&rec.id)?;
        let Some(fresh) = fresh else { return Ok(code) };
        rec = fresh;
        let stopped_by_user = rec.config["StoppedByUser"].as_bool().unwrap_or(false);
        if !stopped_by_user && restart.should_restart(code, rec.restart_count) {
            container::cleanup(ctx, &state, &rec, false)?;
            rec.restart_count += 1;
            state.update(&rec)?;
            std::thread::sleep(std::time::Duration::from_millis(100));
            continue;
        }
        container::cleanup(ctx, &state, &rec, container::auto_remove(&rec))?;
        return Ok(code);
    }
}

/// `--restart`: no, on-failure[:N], always, unless-stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestartPolicy {
    pub name: String,
    pub max_retries: Option<i64>,
}

impl RestartPolicy {
    pub fn parse(s: &str) -> Result<RestartPolicy> {
        let (name, n) = s.split_once(':').unwrap_or((s, ""));
        match name {
            "no" | "always" | "unless-stopped" | "on-failure" => {}
            _ => bail!(user_error(format!(
                "invalid restart policy {s:?}: expected no, on-failure[:max-retries], always, unless-stopped"
            ))),
        }
        let max_retries = if n.is_empty() {
            None
        } else if name == "on-failure" {
            Some(n.parse().map_err(|_| user_error(format!("invalid restart policy {s:?}: {n:?} is not a number")))?)
        } else {
            bail!(user_error(format!("invalid restart policy {s:?}: only on-failure takes a retry count")));
        };
        Ok(RestartPolicy { name: name.to_string(), max_retries })
    }

    fn from_config(c: &serde_json::Value) -> RestartPolicy {
        RestartPolicy {
            name: c["RestartPolicy"]["Name"].as_str().unwrap_or("no").to_string(),
            max_retries: c["RestartPolicy"]["MaximumRetryCount"].as_i64().filter(|n| *n > 0),
        }
    }

    fn should_restart(&self, code: i32, restarts: i64) -> bool {
        match self.name.as_str() {
            "always" | "unless-stopped" => true,
            "on-failure" => code != 0 && self.max_retries.is_none_or(|m| restarts < m),
            _ => false,
        }
    }
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
    let policy: crate::image::pull::PullPolicy = args.pull.parse()?;
    let pull_opts = opts.pull_options()?;
    // Run prints pull progress on stderr only when it is a terminal, like Podman.
    crate::image::pull::ensure_image(ctx, store, &args.image, policy, &pull_opts, args.quiet)
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
    Ok((memory, cpus, pids))
}

/// A generated name no container has yet. There are only 400 adjective_noun pairs, so from a few
/// dozen containers on a new one often draws a taken pair: then a number is added (Podman adds one too
/// when it draws again).
fn free_random_name(state: &State, id: &str) -> Result<String> {
    let base = plan::random_name(id);
    let mut name = base.clone();
    let mut n = 0;
    while state.name_in_use(&name)? {
        n += 1;
        name = format!("{base}{n}");
    }
    Ok(name)
}

/// Podman's rule for names: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
pub fn validate_name(n: &str) -> Result<String> {
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
    KeepId {
        uid: Option<u32>,
        gid: Option<u32>,
    },
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
                    let n: u32 =
                        v.parse().map_err(|_| user_error(format!("invalid --userns {s:?}: {kv:?} needs a number")))?;
                    match k {
                        "uid" => uid = Some(n),
                        "gid" => gid = Some(n),
                        _ => bail!(user_error(format!("invalid --userns {s:?}: unknown option {k:?} (uid=, gid=)"))),
                    }
                }
                Ok(UsernsMode::KeepId { uid, gid })
            }
            "auto" | "private" => bail!(user_error(format!("--userns={s} is not supported yet"))),
            _ => bail!(user_error(format!("invalid --userns {s:?}: expected keep-id[:uid=N,gid=N], nomap, host"))),
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
        let size =
            |m: &[userns::IdMapEntry]| m.iter().map(|e| e.container as u64 + e.size as u64).max().unwrap_or(1) as u32;
        let (usize_, gsize) = (size(&ctx.mapping.map.uids), size(&ctx.mapping.map.gids));
        match self {
            UsernsMode::Default => Ok((vec![], vec![])),
            UsernsMode::KeepId { uid, gid } => {
                let host_uid = nix::unistd::getuid().as_raw();
                let host_gid = nix::unistd::getgid().as_raw();
                // Outside the engine namespace we would read our own ids; inside it we are 0: use the
                // engine mapping's host id of container root.
                let own_uid =
                    ctx.mapping.map.uids.iter().find(|e| e.container == 0).map(|e| e.host).unwrap_or(host_uid);
                let own_gid =
                    ctx.mapping.map.gids.iter().find(|e| e.container == 0).map(|e| e.host).unwrap_or(host_gid);
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

/// The container's user must exist in the user namespace it runs in (checked here, before anything is
/// started, when that is the engine's namespace; with keep-id/nomap the runtime reports it). Numeric ids
/// that `/etc/passwd` lacks are fine, as in Podman; ids outside the mapping are not.
fn check_user_mapped(ctx: &Context, user: &plan::ResolvedUser, shared_ns: bool) -> Result<()> {
    if !shared_ns {
        return Ok(());
    }
    let map = &ctx.mapping.map;
    match &ctx.mapping.kind {
        userns::MappingKind::Identity => Ok(()),
        userns::MappingKind::SingleId { reason } => {
            if user.uid == 0 && user.gid == 0 {
                return Ok(());
            }
            let fix = reason.find("to fix, ").map(|i| &reason[i..]).unwrap_or("see docs/rootless.md");
            bail!(user_error(format!(
                "cannot run as uid {} gid {}: your user namespace maps a single id (you have no subordinate ids), \
                 so containers can run only as root; {fix}",
                user.uid, user.gid
            )))
        }
        userns::MappingKind::Subordinate => {
            let range = |max: Option<u32>| max.map(|m| format!("0-{m}")).unwrap_or_else(|| "none".into());
            let hint = "use an id in that range, or ask for a bigger subordinate range in /etc/subuid and \
                        /etc/subgid (see docs/rootless.md)";
            if !map.contains_uid(user.uid) {
                bail!(user_error(format!(
                    "cannot run as uid {}: it is outside your user namespace, which maps uids {}; {hint}",
                    user.uid,
                    range(map.max_container_uid())
                )));
            }
            if !map.contains_gid(user.gid) {
                bail!(user_error(format!(
                    "cannot run as gid {}: it is outside your user namespace, which maps gids {}; {hint}",
                    user.gid,
                    range(map.max_container_gid())
                )));
            }
            Ok(())
        }
    }
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

/// The configuration kept in the state store (what `inspect` shows and `start` needs).
fn container_config(
    plan: &ContainerPlan,
    args: &RunArgs,
    image: &ImageRecord,
    driver: rootfs::Driver,
    restart: &RestartPolicy,
    image_cfg: &plan::ImageRunConfig,
) -> serde_json::Value {
    serde_json::json!({
        "Plan": plan,
        "Cmd": plan.args,
        "Command": args.command,
        "Entrypoint": match &args.entrypoint {
            Some(e) => plan::parse_entrypoint(e).unwrap_or_default(),
            None => image_cfg.entrypoint.clone().unwrap_or_default(),
        },
        "Env": plan.env,
        "WorkingDir": plan.cwd,
        "User": args.user.clone().unwrap_or_default(),
        "Hostname": plan.hostname,
        "Tty": plan.terminal,
        "OpenStdin": args.interactive,
        "AutoRemove": args.rm,
        "Labels": args.label,
        "StopSignal": args.stop_signal.clone().or(image_cfg.stop_signal.clone()),
        "StopTimeout": args.stop_timeout,
        "RestartPolicy": {"Name": restart.name, "MaximumRetryCount": restart.max_retries.unwrap_or(0)},
        "Layers": image.layers,
        "Driver": driver.name(),
        "LogDriver": args.log_driver.clone().unwrap_or_else(|| "k8s-file".into()),
    })
}

/// Undo a half-done `create`: nothing of a container that failed to be created stays behind.
struct CreateGuard<'a> {
    ctx: &'a Context,
    state: &'a State,
    record: Option<ContainerRecord>,
}

impl Drop for CreateGuard<'_> {
    fn drop(&mut self) {
        if let Some(rec) = self.record.take() {
            crate::volume::remove_anonymous(self.ctx, self.state, &rec);
            if let Err(e) = container::cleanup(self.ctx, self.state, &rec, true) {
                tracing::warn!("{e:#}");
            }
        }
    }
}

/// Remove a pod that `--pod new:NAME` created when the container could not be created.
struct NewPodGuard<'a> {
    ctx: &'a Context,
    state: &'a State,
    pod: Option<crate::state::PodRecord>,
}

impl Drop for NewPodGuard<'_> {
    fn drop(&mut self) {
        if let Some(pod) = self.pod.take() {
            if let Err(e) = crate::pod::remove(self.ctx, self.state, &pod, true, None) {
                tracing::warn!("{e:#}");
            }
        }
    }
}
