//! Pods: containers that share the network, IPC and UTS namespaces of one infra container.
//!
//! A pod is a row of the `pods` table; its members are the containers whose `pod_id` is the pod's id
//! (the infra container included). The infra container is an ordinary container record, run through the
//! same pipeline as any other (monitor, network setup, config.json, runtime), whose process is Warren's
//! static init in pause mode (`/pause -P`, bind-mounted read-only into an otherwise empty root
//! filesystem, as Podman runs catatonit -P). The pod's network (mode, published ports, /etc files options) is the infra container's.
//!
//! A member joins the infra's namespaces by path: its network through the `container:INFRA` network mode
//! (the infra's namespace file), IPC and UTS through `/proc/INFRA_PID/ns/{ipc,uts}` set at each start
//! ([`join`], called by the run pipeline); starting a member starts the infra first.

use anyhow::{bail, Context as _, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cli::container::RunArgs;
use crate::container;
use crate::context::Context;
use crate::error::{ExitError, EXIT_ENGINE};
use crate::network::NetworkPlan;
use crate::plan::{self, ContainerPlan, MountPlan, NetworkMode};
use crate::state::{ContainerRecord, PodRecord, State};

fn user_error(msg: impl Into<String>) -> anyhow::Error {
    ExitError::new(EXIT_ENGINE, msg).into()
}

/// Podman's default `--share` (Kubernetes'): ipc, net, uts.
pub const DEFAULT_SHARE: &[&str] = &["ipc", "net", "uts"];

/// Podman's error for network options on a container that shares its pod's network.
const NET_SHARED: &str = "network cannot be configured when it is shared with a pod";

/// What `pod create` (or `run --pod new:NAME`) asks for.
#[derive(Debug, Clone, Default)]
pub struct PodOptions {
    pub name: Option<String>,
    pub infra: bool,
    pub infra_name: Option<String>,
    pub share: Option<String>,
    pub hostname: Option<String>,
    pub network: Option<String>,
    pub publish: Vec<String>,
    pub dns: Vec<String>,
    pub dns_search: Vec<String>,
    pub dns_option: Vec<String>,
    pub add_host: Vec<String>,
    pub no_hosts: bool,
    pub labels: Vec<String>,
}

/// The pod's stored options (`PodRecord.config`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PodConfig {
    /// The namespaces members share (ipc, net, uts, cgroup).
    pub share: Vec<String>,
    pub hostname: String,
    pub labels: Vec<String>,
    pub create_command: Vec<String>,
}

impl PodConfig {
    pub fn of(pod: &PodRecord) -> PodConfig {
        serde_json::from_value(pod.config.clone()).unwrap_or_default()
    }

    pub fn shares(&self, ns: &str) -> bool {
        self.share.iter().any(|s| s == ns)
    }
}

/// `--share`: a comma-separated list replaces the default; `+ns` adds to it; `none` (or empty) shares nothing.
pub fn parse_share(s: Option<&str>) -> Result<Vec<String>> {
    let Some(s) = s.map(str::trim) else {
        return Ok(DEFAULT_SHARE.iter().map(|s| s.to_string()).collect());
    };
    let mut out: Vec<String> = vec![];
    for item in s.split(',').map(str::trim).filter(|x| !x.is_empty()) {
        let (add, ns) = match item.strip_prefix('+') {
            Some(n) => (true, n),
            None => (false, item),
        };
        if add && out.is_empty() {
            out = DEFAULT_SHARE.iter().map(|s| s.to_string()).collect();
        }
        match ns {
            "none" => {}
            "ipc" | "net" | "uts" | "cgroup" => {
                if !out.iter().any(|o| o == ns) {
                    out.push(ns.to_string());
                }
            }
            "pid" => bail!(user_error(
                "--share pid: sharing the PID namespace in a pod is not supported by Warren yet; leave pid out of --share"
            )),
            _ => bail!(user_error(format!(
                "invalid kernel namespace to share: {ns}: options are cgroup, ipc, net, pid, uts or none"
            ))),
        }
    }
    out.sort();
    Ok(out)
}

/// Create a pod (and its infra container, not started). Nothing is left behind on failure.
pub fn create(ctx: &Context, state: &State, opts: &PodOptions) -> Result<PodRecord> {
    let share = if opts.infra { parse_share(opts.share.as_deref())? } else { vec![] };
    let net_opts = opts.network.is_some()
        || !opts.publish.is_empty()
        || !opts.dns.is_empty()
        || !opts.dns_search.is_empty()
        || !opts.dns_option.is_empty()
        || !opts.add_host.is_empty()
        || opts.no_hosts;
    if !opts.infra {
        if !opts.publish.is_empty() {
            bail!(user_error("you must have an infra container to publish port bindings to the host"));
        }
        if net_opts {
            bail!(user_error(
                "cannot set network options (--network, --dns, --add-host) on a pod without an infra container"
            ));
        }
        if opts.share.as_deref().is_some_and(|s| !s.is_empty() && s != "none") {
            bail!(user_error("cannot set --share without an infra container: nothing would hold the namespaces"));
        }
    } else if net_opts && !share.iter().any(|s| s == "net") {
        bail!(user_error(
            "cannot set network options (-p, --network, --dns, --add-host) when the pod does not share its network namespace: add net to --share"
        ));
    }
    let id = plan::new_id();
    let name = match &opts.name {
        Some(n) => validate_pod_name(n)?,
        None => plan::random_name(&id),
    };
    let hostname = opts.hostname.clone().unwrap_or_else(|| name.clone());
    let cfg = PodConfig { share, hostname, labels: opts.labels.clone(), create_command: std::env::args().collect() };
    let mut pod = PodRecord {
        id: id.clone(),
        name,
        created: crate::format::now_rfc3339_nano(),
        infra_id: String::new(),
        config: serde_json::to_value(&cfg)?,
    };
    state.insert_pod(&pod)?;
    if opts.infra {
        match create_infra(ctx, state, &pod, &cfg, opts) {
            Ok(infra) => {
                pod.infra_id = infra.id;
                state.update_pod(&pod)?;
            }
            Err(e) => {
                let _ = state.remove_pod(&pod.id);
                return Err(e);
            }
        }
    }
    crate::events::emit(&ctx.storage_root, crate::events::Event::pod("create", &pod));
    Ok(pod)
}

/// Podman's rule for pod names (the same as for containers).
fn validate_pod_name(n: &str) -> Result<String> {
    crate::run::validate_name(n)
        .map_err(|_| user_error(format!("invalid pod name {n:?}: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*")))
}

/// The infra container: recorded and its root filesystem made; started with the pod.
fn create_infra(
    ctx: &Context,
    state: &State,
    pod: &PodRecord,
    cfg: &PodConfig,
    opts: &PodOptions,
) -> Result<ContainerRecord> {
    let shares_net = cfg.shares("net");
    let none = "none".to_string();
    let netargs = crate::network::NetworkArgs {
        network: if shares_net { opts.network.as_deref() } else { Some(none.as_str()) },
        publish: &opts.publish,
        dns: &opts.dns,
        dns_search: &opts.dns_search,
        dns_option: &opts.dns_option,
        add_host: &opts.add_host,
        no_hosts: opts.no_hosts,
        ..Default::default()
    };
    let network = crate::network::plan(ctx, state, &netargs, &plan::ImageRunConfig::default())?;
    let id = plan::new_id();
    let name = match &opts.infra_name {
        Some(n) => crate::run::validate_name(n)?,
        None => format!("{}-infra", &pod.id[..12]),
    };
    let mut rec = ContainerRecord {
        id: id.clone(),
        name,
        image_id: String::new(),
        image_name: String::new(),
        config: serde_json::Value::Null,
        state: "created".into(),
        pid: 0,
        pid_start: 0,
        monitor_pid: 0,
        exit_code: None,
        created: crate::format::now_rfc3339_nano(),
        started: None,
        finished: None,
        restart_count: 0,
        pod_id: pod.id.clone(),
    };
    state.insert(&rec)?;
    let r = (|| -> Result<()> {
        let dir = container::storage_dir(ctx, &id);
        let merged = dir.join("merged");
        let mounts = infra_rootfs(&dir, &merged)?;
        let hostname = if cfg.shares("uts") { cfg.hostname.clone() } else { id[..12].to_string() };
        let plan = ContainerPlan {
            id: id.clone(),
            name: rec.name.clone(),
            rootfs: merged,
            args: vec![INFRA_BINARY.to_string(), "-P".into()],
            env: vec![
                format!("PATH={}", plan::DEFAULT_PATH),
                "container=warren".into(),
                format!("HOSTNAME={hostname}"),
            ],
            cwd: "/".into(),
            hostname,
            mounts,
            capabilities: crate::runtime::spec::capabilities(&[], &[], false)?,
            no_new_privileges: true,
            network: network.mode,
            ports: network.ports,
            dns: network.dns,
            add_hosts: network.add_hosts,
            no_hosts: network.no_hosts,
            ..Default::default()
        };
        crate::runtime::spec::build(&plan)?;
        let log = crate::logs::log_config(&RunArgs::default(), &container::log_path(ctx, &id))?;
        rec.config = serde_json::json!({
            "Plan": plan,
            "Cmd": plan.args,
            "Command": [],
            "Entrypoint": [],
            "Env": plan.env,
            "WorkingDir": "/",
            "User": "",
            "Hostname": plan.hostname,
            "Tty": false,
            "OpenStdin": false,
            "AutoRemove": false,
            "Labels": [],
            // Nothing in the pause needs a graceful stop.
            "StopSignal": "KILL",
            "StopTimeout": 0,
            "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0},
            "Layers": [],
            "Driver": "vfs",
            "LogDriver": "k8s-file",
            "LogConfig": log,
            "Volumes": [],
            "IsInfra": true,
        });
        state.update(&rec)?;
        Ok(())
    })();
    if let Err(e) = r {
        let _ = container::cleanup(ctx, state, &rec, true);
        return Err(e);
    }
    crate::events::emit(&ctx.storage_root, crate::events::Event::container("create", &rec));
    Ok(rec)
}

/// Where the pause binary is inside the infra container.
const INFRA_BINARY: &str = "/pause";

/// The infra container's root filesystem: an empty directory with Warren's static init at /pause
/// (run as `/pause -P`, like Podman's catatonit), written into the container's storage directory.
fn infra_rootfs(dir: &Path, merged: &Path) -> Result<Vec<MountPlan>> {
    std::fs::create_dir_all(merged).with_context(|| format!("creating {}", merged.display()))?;
    for d in ["proc", "sys", "dev", "etc", "tmp"] {
        std::fs::create_dir_all(merged.join(d))?;
    }
    std::fs::File::create(merged.join(INFRA_BINARY.trim_start_matches('/')))?;
    let mut pause = crate::run::init_mount(dir)?;
    pause.destination = INFRA_BINARY.into();
    Ok(vec![pause])
}

/// Whether a container is a pod's infra container.
pub fn is_infra(rec: &ContainerRecord) -> bool {
    rec.config["IsInfra"].as_bool().unwrap_or(false)
}

/// A container's pod for `run`/`create --pod`, and whether this command created it (`new:NAME`).
pub struct Membership {
    pub pod: PodRecord,
    pub new: bool,
}

/// Resolve `--pod NAME|ID|new:NAME`; with `new:` the pod is created with the container's network
/// options (Podman moves them to the pod). An existing pod that shares its network refuses network
/// options on the container (Podman's errors).
pub fn resolve_member(ctx: &Context, state: &State, args: &RunArgs) -> Result<Option<Membership>> {
    let Some(p) = args.pod.as_deref().filter(|p| !p.is_empty()) else { return Ok(None) };
    if let Some(name) = p.strip_prefix("new:") {
        let opts = PodOptions {
            name: Some(name.to_string()),
            infra: true,
            network: args.network.clone(),
            publish: args.publish.clone(),
            dns: args.dns.clone(),
            dns_search: args.dns_search.clone(),
            dns_option: args.dns_option.clone(),
            add_host: args.add_host.clone(),
            no_hosts: args.no_hosts,
            ..Default::default()
        };
        if args.publish_all {
            bail!(user_error(format!(
                "invalid config provided: --publish-all with --pod new:{name}: publish the ports on the pod with -p"
            )));
        }
        let pod = create(ctx, state, &opts)?;
        return Ok(Some(Membership { pod, new: true }));
    }
    let pod = state.get_pod(p)?;
    let cfg = PodConfig::of(&pod);
    if !pod.infra_id.is_empty() && cfg.shares("net") {
        let bad = |what: &str| {
            user_error(format!("invalid config provided: {what} must be defined when the pod is created: {NET_SHARED}"))
        };
        if !args.publish.is_empty() || args.publish_all || !args.expose.is_empty() {
            return Err(bad("published or exposed ports"));
        }
        if args.network.is_some() {
            return Err(bad("networks"));
        }
        if !args.dns.is_empty() || !args.dns_search.is_empty() || !args.dns_option.is_empty() {
            return Err(bad("DNS options"));
        }
        if !args.add_host.is_empty() {
            return Err(bad("extra host entries"));
        }
        if args.no_hosts {
            return Err(bad("--no-hosts"));
        }
    }
    if !pod.infra_id.is_empty() && cfg.shares("uts") && args.hostname.is_some() {
        bail!(user_error(
            "invalid config provided: cannot set hostname when joining the pod UTS namespace: invalid configuration"
        ));
    }
    Ok(Some(Membership { pod, new: false }))
}

/// The network of a member of a pod that shares its network: the infra container's namespace, the
/// pod's name-resolution options. None when the pod does not share it.
pub fn member_network(pod: &PodRecord, state: &State) -> Result<Option<NetworkPlan>> {
    let cfg = PodConfig::of(pod);
    if pod.infra_id.is_empty() || !cfg.shares("net") {
        return Ok(None);
    }
    let infra = state.get(&pod.infra_id)?;
    let p = crate::run::stored_plan(&infra)?;
    Ok(Some(NetworkPlan {
        mode: NetworkMode::Container(infra.id.clone()),
        // The pod's ports, for `ps`, `port` and `inspect` (as Podman shows them on every member); the
        // infra container's launcher forwards them.
        ports: p.ports,
        dns: p.dns,
        add_hosts: p.add_hosts,
        no_hosts: p.no_hosts,
    }))
}

/// The hostname of a member that shares the pod's UTS namespace.
pub fn member_hostname(pod: &PodRecord) -> Option<String> {
    let cfg = PodConfig::of(pod);
    (!pod.infra_id.is_empty() && cfg.shares("uts")).then_some(cfg.hostname)
}

/// Before a member starts: its pod's infra container runs (started now if needed), and the member's
/// plan joins the infra's IPC and UTS namespaces (the network goes through `container:INFRA`).
pub fn join(ctx: &Context, state: &State, rec: &ContainerRecord, plan: &mut ContainerPlan) -> Result<()> {
    if rec.pod_id.is_empty() {
        return Ok(());
    }
    let pod = state
        .lookup_pod(&rec.pod_id)?
        .ok_or_else(|| user_error(format!("the pod {} of container {} no longer exists", rec.pod_id, rec.name)))?;
    if pod.infra_id.is_empty() || pod.infra_id == rec.id {
        return Ok(());
    }
    let infra = ensure_infra_running(ctx, state, &pod)?;
    let cfg = PodConfig::of(&pod);
    let ns = |n: &str| Some(PathBuf::from(format!("/proc/{}/ns/{n}", infra.pid)));
    if cfg.shares("ipc") {
        plan.ipc_ns_path = ns("ipc");
    }
    if cfg.shares("uts") {
        plan.uts_ns_path = ns("uts");
    }
    Ok(())
}

/// Start the pod's infra container unless it runs (one starter at a time: the pod's lock).
fn ensure_infra_running(ctx: &Context, state: &State, pod: &PodRecord) -> Result<ContainerRecord> {
    let _lock = state.lock_container(&pod.id)?;
    let infra = container::refresh(ctx, state, state.get(&pod.infra_id)?)?;
    if container::is_running(&infra) {
        return Ok(infra);
    }
    tracing::debug!("pod {}: starting its infra container {}", pod.name, infra.name);
    start_container(ctx, state, &infra)?;
    let infra = state.get(&pod.infra_id)?;
    if !container::is_running(&infra) {
        bail!(user_error(format!("the infra container {} of pod {} did not stay up", infra.name, pod.name)));
    }
    Ok(infra)
}

/// Start one container detached (what `start` does), unless it runs.
fn start_container(ctx: &Context, state: &State, rec: &ContainerRecord) -> Result<()> {
    let rec = container::refresh(ctx, state, state.get(&rec.id)?)?;
    if container::is_running(&rec) {
        return Ok(());
    }
    container::wait_monitor_gone(&rec, Duration::from_secs(10));
    let rec = container::mark_started(state, &rec.id)?;
    crate::run::start_detached(ctx, state, &rec)
}

/// The pod's containers, brought up to date, the infra container first.
pub fn members(ctx: &Context, state: &State, pod: &PodRecord) -> Result<Vec<ContainerRecord>> {
    let mut v = container::refresh_all(ctx, state, state.pod_members(&pod.id)?)?;
    v.sort_by_key(|c| !is_infra(c));
    Ok(v)
}

/// Podman's pod status from its containers' states: Created, Running, Degraded, Paused, Exited,
/// Stopped, Error.
pub fn status(members: &[ContainerRecord]) -> String {
    let n = members.len();
    if n == 0 {
        return "Created".into();
    }
    let count = |f: &dyn Fn(&ContainerRecord) -> bool| members.iter().filter(|c| f(c)).count();
    let running = count(&|c| c.state == "running");
    let paused = count(&|c| c.state == "paused");
    let stopped = count(&|c| c.state == "stopped");
    let exited = count(&|c| c.state == "exited");
    let error = count(&|c| !matches!(c.state.as_str(), "running" | "paused" | "stopped" | "exited" | "created"));
    if running > 0 && running < n {
        "Degraded"
    } else if running == n {
        "Running"
    } else if paused == n {
        "Paused"
    } else if stopped == n {
        "Exited"
    } else if stopped > 0 {
        "Stopped"
    } else if exited > 0 {
        "Exited"
    } else if error > 0 {
        "Error"
    } else {
        "Created"
    }
    .into()
}

/// `pod start`: the infra container, then every member.
pub fn start(ctx: &Context, state: &State, pod: &PodRecord) -> Result<()> {
    if !pod.infra_id.is_empty() {
        ensure_infra_running(ctx, state, pod)?;
    }
    let mut errors = vec![];
    for c in members(ctx, state, pod)?.iter().filter(|c| !is_infra(c)) {
        if let Err(e) = start_container(ctx, state, c) {
            errors.push(format!("{}: {e:#}", c.name));
        }
    }
    crate::events::emit(&ctx.storage_root, crate::events::Event::pod("start", pod));
    if !errors.is_empty() {
        bail!(user_error(format!("starting containers of pod {}: {}", pod.name, errors.join("; "))));
    }
    Ok(())
}

/// `pod stop`: the members (stop signal, then SIGKILL after `timeout`), then the infra container.
pub fn stop(ctx: &Context, state: &State, pod: &PodRecord, timeout: Option<u64>) -> Result<()> {
    let mut errors = vec![];
    let list = members(ctx, state, pod)?;
    for c in list.iter().filter(|c| !is_infra(c)).chain(list.iter().filter(|c| is_infra(c))) {
        if container::is_running(c) {
            let t = timeout.unwrap_or_else(|| container::stop_timeout(c));
            if let Err(e) = container::stop(ctx, state, c, t) {
                errors.push(format!("{}: {e:#}", c.name));
            }
        }
    }
    crate::events::emit(&ctx.storage_root, crate::events::Event::pod("stop", pod));
    if !errors.is_empty() {
        bail!(user_error(format!("stopping containers of pod {}: {}", pod.name, errors.join("; "))));
    }
    Ok(())
}

/// `pod kill`: the signal to every running container of the pod (members first).
pub fn kill(ctx: &Context, state: &State, pod: &PodRecord, sig: nix::sys::signal::Signal) -> Result<()> {
    let list = members(ctx, state, pod)?;
    let running: Vec<&ContainerRecord> = list.iter().filter(|c| container::is_running(c)).collect();
    if running.is_empty() {
        bail!(user_error(format!("no containers in pod {} are running: pod state improper", pod.id)));
    }
    for c in running.iter().filter(|c| !is_infra(c)).chain(running.iter().filter(|c| is_infra(c))) {
        container::kill(c, sig)?;
    }
    let e = crate::events::Event::pod("kill", pod);
    crate::events::emit(&ctx.storage_root, e);
    Ok(())
}

/// `pod rm`: every member and the infra container, then the pod. Running containers need `force`
/// (they are stopped: SIGKILL after `timeout` seconds when given, else after each one's stop timeout).
pub fn remove(ctx: &Context, state: &State, pod: &PodRecord, force: bool, timeout: Option<u64>) -> Result<()> {
    let list = members(ctx, state, pod)?;
    if !force {
        if let Some(c) = list.iter().find(|c| container::is_running(c)) {
            bail!(user_error(format!(
                "not all containers could be removed from pod {}: cannot remove container {} as it is running - running or paused containers cannot be removed without force: container state improper",
                pod.id, c.id
            )));
        }
    }
    let mut errors = vec![];
    for c in list.iter().filter(|c| !is_infra(c)).chain(list.iter().filter(|c| is_infra(c))) {
        let r = container::remove(ctx, state, c, force, timeout);
        if let Err(e) = r {
            errors.push(format!("{}: {e:#}", c.name));
        }
    }
    if !errors.is_empty() {
        bail!(user_error(format!("removing the containers of pod {}: {}", pod.id, errors.join("; "))));
    }
    state.remove_pod(&pod.id)?;
    crate::events::emit(&ctx.storage_root, crate::events::Event::pod("remove", pod));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(state: &str) -> ContainerRecord {
        ContainerRecord {
            id: "x".into(),
            name: "x".into(),
            image_id: String::new(),
            image_name: String::new(),
            config: serde_json::Value::Null,
            state: state.into(),
            pid: 0,
            pid_start: 0,
            monitor_pid: 0,
            exit_code: None,
            created: String::new(),
            started: None,
            finished: None,
            restart_count: 0,
            pod_id: String::new(),
        }
    }

    #[test]
    fn share_lists() {
        assert_eq!(parse_share(None).unwrap(), ["ipc", "net", "uts"]);
        assert_eq!(parse_share(Some("net")).unwrap(), ["net"]);
        assert_eq!(parse_share(Some("none")).unwrap(), Vec::<String>::new());
        assert_eq!(parse_share(Some("")).unwrap(), Vec::<String>::new());
        assert_eq!(parse_share(Some("+cgroup")).unwrap(), ["cgroup", "ipc", "net", "uts"]);
        assert_eq!(parse_share(Some("uts,ipc")).unwrap(), ["ipc", "uts"]);
        assert!(format!("{:#}", parse_share(Some("pid")).unwrap_err()).contains("not supported"));
        assert!(format!("{:#}", parse_share(Some("bogus")).unwrap_err()).contains("invalid kernel namespace"));
    }

    #[test]
    fn pod_status_follows_podman() {
        assert_eq!(status(&[]), "Created");
        assert_eq!(status(&[c("created"), c("created")]), "Created");
        assert_eq!(status(&[c("running"), c("running")]), "Running");
        assert_eq!(status(&[c("running"), c("exited")]), "Degraded");
        assert_eq!(status(&[c("exited"), c("exited")]), "Exited");
        assert_eq!(status(&[c("exited"), c("created")]), "Exited");
        assert_eq!(status(&[c("paused")]), "Paused");
    }
}
