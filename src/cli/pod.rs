//! `warren pod ...`: Podman's pod commands (parsing and printing; the work is in crate::pod).

use anyhow::{bail, Result};
use clap::Args;
use serde_json::Value;
use std::path::PathBuf;

use crate::container;
use crate::context::Context;
use crate::error::{ExitError, EXIT_ENGINE};
use crate::pod::{self, PodConfig};
use crate::state::{ContainerRecord, PodRecord, State};

#[derive(clap::Subcommand, Debug)]
#[allow(clippy::large_enum_variant)] // parsed once per process; boxing the args buys nothing
pub enum PodCommand {
    /// Create a new empty pod
    Create(PodCreateArgs),
    /// Check if a pod exists in local storage
    Exists(PodExistsArgs),
    /// Display a pod configuration
    Inspect(PodInspectArgs),
    /// Send the specified signal or SIGKILL to containers in pod
    Kill(PodKillArgs),
    /// Remove all stopped pods and their containers
    Prune(PodPruneArgs),
    /// List pods
    #[command(alias = "ls", alias = "list")]
    Ps(PodPsArgs),
    /// Restart one or more pods
    Restart(PodStartArgs),
    /// Remove one or more pods
    #[command(alias = "remove")]
    Rm(PodRmArgs),
    /// Start one or more pods
    Start(PodStartArgs),
    /// Stop one or more pods
    Stop(PodStopArgs),
    /// Display the running processes of containers in a pod
    Top(PodTopArgs),
}

impl PodCommand {
    /// Whether the command must run inside the engine's user namespace (see `Command::needs_userns`).
    pub fn needs_userns(&self) -> bool {
        !matches!(self, PodCommand::Ps(_) | PodCommand::Inspect(_) | PodCommand::Exists(_))
    }
}

#[derive(Args, Debug, Clone, Default)]
pub struct PodCreateArgs {
    /// Assign a name to the pod
    #[arg(short, long)]
    pub name: Option<String>,
    /// Publish a container's port, or a range of ports, to the host ([ip:][hostPort:]containerPort[/tcp|udp])
    #[arg(short = 'p', long)]
    pub publish: Vec<String>,
    /// A comma-separated list of kernel namespaces the pod will share (cgroup, ipc, net, uts; none)
    #[arg(long)]
    pub share: Option<String>,
    /// Create an infra container associated with the pod to share namespaces with
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub infra: bool,
    /// The name used as infra container name
    #[arg(long)]
    pub infra_name: Option<String>,
    /// Set the pod's hostname (default: the pod's name)
    #[arg(long)]
    pub hostname: Option<String>,
    /// Connect the pod to a network: pasta[:OPTS], slirp4netns[:OPTS], none, host, ns:PATH
    #[arg(long, alias = "net")]
    pub network: Option<String>,
    /// Add a custom host-to-IP mapping (host:ip)
    #[arg(long)]
    pub add_host: Vec<String>,
    /// Set custom DNS servers
    #[arg(long)]
    pub dns: Vec<String>,
    /// Set custom DNS search domains
    #[arg(long)]
    pub dns_search: Vec<String>,
    /// Set custom DNS options
    #[arg(long, alias = "dns-opt")]
    pub dns_option: Vec<String>,
    /// Do not create /etc/hosts for the pod
    #[arg(long)]
    pub no_hosts: bool,
    /// Set metadata on a pod (KEY=VALUE)
    #[arg(short, long)]
    pub label: Vec<String>,
    /// Write the pod ID to the file
    #[arg(long)]
    pub pod_id_file: Option<PathBuf>,
    /// The pod's name (same as --name)
    pub pod_name: Option<String>,
}

#[derive(Args, Debug, Clone, Default)]
pub struct PodExistsArgs {
    pub pod: String,
}

#[derive(Args, Debug, Clone, Default)]
pub struct PodInspectArgs {
    pub pods: Vec<String>,
    /// Format the output using the given Go template, or json
    #[arg(short, long)]
    pub format: Option<String>,
    /// Act on the latest pod
    #[arg(short, long)]
    pub latest: bool,
}

#[derive(Args, Debug, Clone, Default)]
pub struct PodKillArgs {
    pub pods: Vec<String>,
    /// Kill all pods
    #[arg(short, long)]
    pub all: bool,
    /// Signal to send to the containers in the pod
    #[arg(short, long, default_value = "KILL")]
    pub signal: String,
    /// Act on the latest pod
    #[arg(short, long)]
    pub latest: bool,
}

#[derive(Args, Debug, Clone, Default)]
pub struct PodPruneArgs {
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
}

#[derive(Args, Debug, Clone, Default)]
pub struct PodPsArgs {
    /// Print the numeric IDs of the pods only
    #[arg(short, long)]
    pub quiet: bool,
    /// Do not truncate pod and container IDs
    #[arg(long)]
    pub no_trunc: bool,
    /// Pretty-print pods to JSON or using a Go template
    #[arg(long)]
    pub format: Option<String>,
    /// Filter output based on conditions given (id=, name=, status=, label=, ctr-names=, ctr-ids=,
    /// ctr-status=, ctr-number=)
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// Do not print headers
    #[arg(long)]
    pub noheading: bool,
    /// Display the container names
    #[arg(long)]
    pub ctr_names: bool,
    /// Display the container UUIDs
    #[arg(long)]
    pub ctr_ids: bool,
    /// Display the container status
    #[arg(long)]
    pub ctr_status: bool,
    /// Sort output by created, id, name, number or status
    #[arg(long, default_value = "created")]
    pub sort: String,
    /// Act on the latest pod
    #[arg(short, long)]
    pub latest: bool,
}

#[derive(Args, Debug, Clone, Default)]
pub struct PodStartArgs {
    pub pods: Vec<String>,
    /// Act on all pods
    #[arg(short, long)]
    pub all: bool,
    /// Act on the latest pod
    #[arg(short, long)]
    pub latest: bool,
}

#[derive(Args, Debug, Clone, Default)]
pub struct PodStopArgs {
    pub pods: Vec<String>,
    /// Stop all pods
    #[arg(short, long)]
    pub all: bool,
    /// Ignore errors when a specified pod is missing
    #[arg(short, long)]
    pub ignore: bool,
    /// Seconds to wait for the pod's containers to stop before killing them
    #[arg(short = 't', long = "time")]
    pub time: Option<u64>,
    /// Act on the latest pod
    #[arg(short, long)]
    pub latest: bool,
}

#[derive(Args, Debug, Clone, Default)]
pub struct PodRmArgs {
    pub pods: Vec<String>,
    /// Remove all pods
    #[arg(short, long)]
    pub all: bool,
    /// Stop running containers and delete all stopped containers before removal of the pod
    #[arg(short, long)]
    pub force: bool,
    /// Ignore errors when a specified pod is missing
    #[arg(short, long)]
    pub ignore: bool,
    /// Seconds to wait for the pod's containers to stop before killing them
    #[arg(short = 't', long = "time")]
    pub time: Option<u64>,
    /// Act on the latest pod
    #[arg(short, long)]
    pub latest: bool,
}

#[derive(Args, Debug, Clone, Default)]
pub struct PodTopArgs {
    /// Act on the latest pod
    #[arg(short, long)]
    pub latest: bool,
    pub pod: Option<String>,
    /// ps(1) descriptors (user, pid, ppid, pcpu, etime, tty, time, args, comm, ...)
    #[arg(allow_hyphen_values = true, trailing_var_arg = true)]
    pub descriptors: Vec<String>,
}

pub fn pod(ctx: &Context, cmd: PodCommand) -> Result<i32> {
    match cmd {
        PodCommand::Create(a) => create(ctx, a),
        PodCommand::Exists(a) => exists(ctx, a),
        PodCommand::Inspect(a) => inspect(ctx, a),
        PodCommand::Kill(a) => kill(ctx, a),
        PodCommand::Prune(a) => prune(ctx, a),
        PodCommand::Ps(a) => ps(ctx, a),
        PodCommand::Restart(a) => start(ctx, a, true),
        PodCommand::Rm(a) => rm(ctx, a),
        PodCommand::Start(a) => start(ctx, a, false),
        PodCommand::Stop(a) => stop(ctx, a),
        PodCommand::Top(a) => top(ctx, a),
    }
}

fn create(ctx: &Context, a: PodCreateArgs) -> Result<i32> {
    if a.name.is_some() && a.pod_name.is_some() {
        bail!(ExitError::new(EXIT_ENGINE, "cannot specify --name and give a pod name as an argument"));
    }
    let state = State::open(&ctx.storage_root)?;
    let opts = pod::PodOptions {
        name: a.name.or(a.pod_name),
        infra: a.infra,
        infra_name: a.infra_name,
        share: a.share,
        hostname: a.hostname,
        network: a.network,
        publish: a.publish,
        dns: a.dns,
        dns_search: a.dns_search,
        dns_option: a.dns_option,
        add_host: a.add_host,
        no_hosts: a.no_hosts,
        labels: a.label,
    };
    let p = pod::create(ctx, &state, &opts)?;
    if let Some(f) = &a.pod_id_file {
        std::fs::write(f, &p.id).map_err(|e| anyhow::anyhow!("writing the pod ID to {}: {e}", f.display()))?;
    }
    println!("{}", p.id);
    Ok(0)
}

fn exists(ctx: &Context, a: PodExistsArgs) -> Result<i32> {
    let state = State::open(&ctx.storage_root)?;
    Ok(if state.lookup_pod(&a.pod)?.is_some() { 0 } else { 1 })
}

/// The pods named, every pod (`--all`) or the newest (`--latest`).
fn targets(state: &State, names: &[String], all: bool, latest: bool) -> Result<Vec<String>> {
    if all {
        return Ok(state.list_pods()?.into_iter().map(|p| p.id).collect());
    }
    if latest {
        return Ok(state.list_pods()?.into_iter().last().map(|p| vec![p.id]).unwrap_or_default());
    }
    if names.is_empty() {
        bail!(ExitError::new(EXIT_ENGINE, "you must provide at least one pod name or ID"));
    }
    Ok(names.to_vec())
}

/// Run `f` on each pod, printing its full ID on success and Podman's `Error: ...` lines otherwise.
fn each(ctx: &Context, names: Vec<String>, ignore: bool, f: &dyn Fn(&State, &PodRecord) -> Result<()>) -> Result<i32> {
    let state = State::open(&ctx.storage_root)?;
    let mut failed = None;
    for n in names {
        let r = state.get_pod(&n).and_then(|p| f(&state, &p).map(|_| p.id));
        match r {
            Ok(id) => println!("{id}"),
            Err(e) if ignore && format!("{e:#}").contains("no such pod") => {}
            Err(e) => {
                eprintln!("Error: {e:#}");
                failed =
                    Some(if format!("{e:#}").contains("no such pod") { 1 } else { crate::error::exit_code_of(&e) });
            }
        }
    }
    Ok(failed.unwrap_or(0))
}

fn start(ctx: &Context, a: PodStartArgs, restart: bool) -> Result<i32> {
    let state = State::open(&ctx.storage_root)?;
    let names = targets(&state, &a.pods, a.all, a.latest)?;
    each(ctx, names, false, &|state, p| {
        if restart {
            pod::stop(ctx, state, p, None)?;
        }
        pod::start(ctx, state, p)
    })
}

fn stop(ctx: &Context, a: PodStopArgs) -> Result<i32> {
    let state = State::open(&ctx.storage_root)?;
    let names = targets(&state, &a.pods, a.all, a.latest)?;
    each(ctx, names, a.ignore, &|state, p| pod::stop(ctx, state, p, a.time))
}

fn kill(ctx: &Context, a: PodKillArgs) -> Result<i32> {
    let state = State::open(&ctx.storage_root)?;
    let sig = container::parse_signal(&a.signal)?;
    let names = targets(&state, &a.pods, a.all, a.latest)?;
    each(ctx, names, false, &|state, p| pod::kill(ctx, state, p, sig))
}

fn rm(ctx: &Context, a: PodRmArgs) -> Result<i32> {
    let state = State::open(&ctx.storage_root)?;
    let names = targets(&state, &a.pods, a.all, a.latest)?;
    each(ctx, names, a.ignore, &|state, p| pod::remove(ctx, state, p, a.force, a.time))
}

fn prune(ctx: &Context, _a: PodPruneArgs) -> Result<i32> {
    let state = State::open(&ctx.storage_root)?;
    Ok(super::for_each(state.list_pods()?, |p| {
        if pod::members(ctx, &state, &p)?.iter().any(container::is_running) {
            return Ok(None);
        }
        pod::remove(ctx, &state, &p, false, None)?;
        Ok(Some(p.id))
    }))
}

fn short(id: &str, no_trunc: bool) -> String {
    if no_trunc {
        id.to_string()
    } else {
        id.chars().take(12).collect()
    }
}

fn labels(cfg: &PodConfig) -> Value {
    let mut m = serde_json::Map::new();
    for l in &cfg.labels {
        let (k, v) = l.split_once('=').unwrap_or((l, ""));
        m.insert(k.to_string(), v.into());
    }
    Value::Object(m)
}

/// A pod with its containers and status, as `pod ps` and `pod inspect` see it.
struct PodView {
    pod: PodRecord,
    cfg: PodConfig,
    members: Vec<ContainerRecord>,
    status: String,
}

fn view(ctx: &Context, state: &State, p: PodRecord) -> Result<PodView> {
    let members = pod::members(ctx, state, &p)?;
    let status = pod::status(&members);
    Ok(PodView { cfg: PodConfig::of(&p), pod: p, members, status })
}

fn networks(v: &PodView) -> Vec<String> {
    let infra = v.members.iter().find(|c| pod::is_infra(c));
    infra.and_then(|c| crate::run::stored_plan(c).ok()).map(|p| vec![p.network.name()]).unwrap_or_default()
}

/// What `pod ps --format TEMPLATE` sees (Podman's ListPodReporter fields).
fn ps_row(v: &PodView, no_trunc: bool) -> Value {
    let created = crate::format::human_duration(crate::format::seconds_since(&v.pod.created)) + " ago";
    serde_json::json!({
        "ID": short(&v.pod.id, no_trunc),
        "Id": short(&v.pod.id, no_trunc),
        "Name": v.pod.name,
        "Status": v.status,
        "Created": created,
        "InfraID": short(&v.pod.infra_id, no_trunc),
        "InfraId": short(&v.pod.infra_id, no_trunc),
        "NumberOfContainers": v.members.len().to_string(),
        "Labels": labels(&v.cfg),
        "Networks": networks(v).join(","),
        "Cgroup": "",
        "Namespace": "",
        "ContainerNames": v.members.iter().map(|c| c.name.clone()).collect::<Vec<_>>().join(","),
        "ContainerIds": v.members.iter().map(|c| short(&c.id, no_trunc)).collect::<Vec<_>>().join(","),
        "ContainerStatuses": v.members.iter().map(|c| c.state.clone()).collect::<Vec<_>>().join(","),
    })
}

/// `pod ps --format json`: Podman's ListPodsReport.
fn ps_json(v: &PodView) -> Value {
    serde_json::json!({
        "Cgroup": "",
        "Containers": v.members.iter().map(|c| serde_json::json!({
            "Id": c.id,
            "Names": c.name,
            "Status": c.state,
            "RestartCount": c.restart_count,
        })).collect::<Vec<_>>(),
        "Created": v.pod.created,
        "Id": v.pod.id,
        "InfraId": v.pod.infra_id,
        "Name": v.pod.name,
        "Namespace": "",
        "Networks": networks(v),
        "Status": v.status,
        "Labels": labels(&v.cfg),
    })
}

fn ps_header(f: &str) -> Option<String> {
    Some(
        match f {
            "ID" | "Id" => "POD ID",
            "InfraID" | "InfraId" => "INFRA ID",
            "NumberOfContainers" => "# OF CONTAINERS",
            "ContainerNames" => "NAMES",
            "ContainerIds" => "IDS",
            "ContainerStatuses" => "STATUS",
            _ => return None,
        }
        .to_string(),
    )
}

fn ps(ctx: &Context, a: PodPsArgs) -> Result<i32> {
    let state = State::open(&ctx.storage_root)?;
    let mut list = vec![];
    for p in state.list_pods()? {
        list.push(view(ctx, &state, p)?);
    }
    const KEYS: &[&str] =
        &["id", "name", "status", "label", "ctr-names", "ctr-ids", "ctr-status", "ctr-number", "network"];
    const POD_STATUSES: &[&str] = &["stopped", "running", "paused", "exited", "dead", "created", "degraded"];
    // Checked before anything is listed: a typo must fail even when there is no pod to match.
    for f in &a.filter {
        let invalid = |m: String| -> Result<i32> { Err(ExitError::new(EXIT_ENGINE, m).into()) };
        let Some((k, v)) = f.split_once('=') else {
            return invalid(format!("invalid filter {f:?}: expected KEY=VALUE ({})", KEYS.join(", ")));
        };
        if !KEYS.contains(&k) {
            return invalid(format!("{k:?} is an invalid filter: valid filters are {}", KEYS.join(", ")));
        }
        if k == "status" && !POD_STATUSES.iter().any(|s| s.eq_ignore_ascii_case(v)) {
            return invalid(format!(
                "invalid filter {f:?}: {v:?} is not a valid pod status ({})",
                POD_STATUSES.join(", ")
            ));
        }
        if k == "ctr-status" && !crate::cli::container::PS_STATUSES.contains(&v) {
            return invalid(format!(
                "invalid filter {f:?}: {v:?} is not a valid container status ({})",
                crate::cli::container::PS_STATUSES.join(", ")
            ));
        }
        if k == "ctr-number" && v.parse::<usize>().is_err() {
            return invalid(format!("invalid filter {f:?}: ctr-number takes a number"));
        }
    }
    for f in &a.filter {
        let (k, v) = f.split_once('=').unwrap_or((f.as_str(), ""));
        let matches = |p: &PodView| -> Result<bool> {
            Ok(match k {
                "id" => p.pod.id.starts_with(v),
                "name" => p.pod.name.contains(v),
                "status" => p.status.eq_ignore_ascii_case(v),
                "label" => p.cfg.labels.iter().any(|l| l == v || l.split('=').next() == Some(v)),
                "ctr-names" => p.members.iter().any(|c| c.name.contains(v)),
                "ctr-ids" => p.members.iter().any(|c| c.id.starts_with(v)),
                "ctr-status" => p.members.iter().any(|c| c.state == v),
                "ctr-number" => v.parse::<usize>().is_ok_and(|n| p.members.len() == n),
                "network" => networks(p).iter().any(|n| n == v),
                _ => bail!(ExitError::new(EXIT_ENGINE, format!("{k} is an invalid filter"))),
            })
        };
        let mut kept = vec![];
        for p in list {
            if matches(&p)? {
                kept.push(p);
            }
        }
        list = kept;
    }
    match a.sort.as_str() {
        "created" => list.sort_by(|x, y| y.pod.created.cmp(&x.pod.created).then(y.pod.id.cmp(&x.pod.id))),
        "id" => list.sort_by(|x, y| x.pod.id.cmp(&y.pod.id)),
        "name" => list.sort_by(|x, y| x.pod.name.cmp(&y.pod.name)),
        "number" => list.sort_by_key(|p| p.members.len()),
        "status" => list.sort_by(|x, y| x.status.cmp(&y.status)),
        s => bail!(ExitError::new(
            EXIT_ENGINE,
            format!("invalid option for --sort {s:?}, options are: created, id, name, number, or status")
        )),
    }
    if a.latest {
        list.sort_by(|x, y| y.pod.created.cmp(&x.pod.created));
        list.truncate(1);
    }
    if a.quiet {
        for p in &list {
            println!("{}", short(&p.pod.id, a.no_trunc));
        }
        return Ok(0);
    }
    match a.format.as_deref() {
        Some("json") => {
            let json: Vec<Value> = list.iter().map(ps_json).collect();
            println!("{}", super::image::pretty(&Value::Array(json), 4)?);
        }
        Some(t) => {
            let rows: Vec<Value> = list.iter().map(|p| ps_row(p, a.no_trunc)).collect();
            print!("{}", crate::format::render_rows(t, &rows, a.noheading, &ps_header)?);
        }
        None => {
            let mut out = vec![];
            if !a.noheading {
                let mut h = vec!["POD ID", "NAME", "STATUS", "CREATED", "INFRA ID"];
                if a.ctr_ids {
                    h.push("IDS");
                }
                if a.ctr_names {
                    h.push("NAMES");
                }
                if a.ctr_status {
                    h.push("STATUS");
                }
                if !(a.ctr_ids || a.ctr_names || a.ctr_status) {
                    h.push("# OF CONTAINERS");
                }
                out.push(h.into_iter().map(String::from).collect());
            }
            for p in &list {
                let r = ps_row(p, a.no_trunc);
                let s = |k: &str| r[k].as_str().unwrap_or("").to_string();
                let mut row = vec![s("ID"), s("Name"), s("Status"), s("Created"), s("InfraID")];
                if a.ctr_ids {
                    row.push(s("ContainerIds"));
                }
                if a.ctr_names {
                    row.push(s("ContainerNames"));
                }
                if a.ctr_status {
                    row.push(s("ContainerStatuses"));
                }
                if !(a.ctr_ids || a.ctr_names || a.ctr_status) {
                    row.push(s("NumberOfContainers"));
                }
                out.push(row);
            }
            print!("{}", crate::format::table(&out));
        }
    }
    Ok(0)
}

/// `pod inspect`: Podman's InspectPodData.
fn inspect_json(v: &PodView) -> Value {
    let infra = v.members.iter().find(|c| pod::is_infra(c));
    let plan = infra.and_then(|c| crate::run::stored_plan(c).ok());
    let infra_config = plan.as_ref().map(|p| {
        let mut bindings = serde_json::Map::new();
        for m in &p.ports {
            for i in 0..m.range.max(1) {
                let key = format!("{}/{}", m.container_port + i, m.protocol);
                bindings
                    .insert(key, serde_json::json!([{"HostIp": m.host_ip, "HostPort": (m.host_port + i).to_string()}]));
            }
        }
        serde_json::json!({
            "PortBindings": bindings,
            "HostNetwork": p.network == crate::plan::NetworkMode::Host,
            "StaticIP": "",
            "StaticMAC": "",
            "NoManageResolvConf": false,
            "DNSServer": p.dns.servers,
            "DNSSearch": p.dns.search,
            "DNSOption": p.dns.options,
            "NoManageHosts": p.no_hosts,
            "HostAdd": p.add_hosts,
            "Networks": [p.network.name()],
            "NetworkOptions": null,
            "pid_ns": "private",
            "userns": "host",
            "uts_ns": if v.cfg.shares("uts") { "private" } else { "host" },
        })
    });
    let infra_pid = infra.filter(|c| container::is_running(c)).map(|c| c.pid).unwrap_or(0);
    let mut out = serde_json::json!({
        "Id": v.pod.id,
        "Name": v.pod.name,
        "Created": v.pod.created,
        "CreateCommand": v.cfg.create_command,
        "ExitPolicy": "continue",
        "State": v.status,
        "Hostname": v.cfg.hostname,
        "Labels": labels(&v.cfg),
        "CreateCgroup": false,
        "CreateInfra": !v.pod.infra_id.is_empty(),
        "InfraContainerID": v.pod.infra_id,
        "SharedNamespaces": v.cfg.share,
        "NumContainers": v.members.len(),
        "Containers": v.members.iter().map(|c| serde_json::json!({
            "Id": c.id,
            "Name": c.name,
            "State": c.state,
        })).collect::<Vec<_>>(),
    });
    if let Some(ic) = infra_config {
        out["InfraConfig"] = ic;
    }
    if infra_pid > 0 {
        out["InfraPid"] = infra_pid.into();
    }
    out
}

fn inspect(ctx: &Context, a: PodInspectArgs) -> Result<i32> {
    let state = State::open(&ctx.storage_root)?;
    let names = targets(&state, &a.pods, false, a.latest)?;
    let mut found = vec![];
    let mut errors = vec![];
    for n in &names {
        match state.lookup_pod(n)? {
            Some(p) => found.push(inspect_json(&view(ctx, &state, p)?)),
            None => errors.push(format!("no such pod {n:?}")),
        }
    }
    match a.format.as_deref() {
        None | Some("json") => {
            if !found.is_empty() || errors.is_empty() {
                println!("{}", super::image::pretty(&Value::Array(found), 5)?);
            }
        }
        Some(f) => {
            for v in &found {
                let mut line = crate::format::render_simple(f, v)?;
                if !line.ends_with('\n') {
                    line.push('\n');
                }
                print!("{line}");
            }
        }
    }
    if let Some(last) = errors.pop() {
        for e in errors {
            eprintln!("Error: {e}");
        }
        bail!(ExitError::new(EXIT_ENGINE, last));
    }
    Ok(0)
}

fn top(ctx: &Context, a: PodTopArgs) -> Result<i32> {
    let state = State::open(&ctx.storage_root)?;
    let name = match (a.latest, &a.pod) {
        (true, _) => state.list_pods()?.into_iter().last().map(|p| p.id),
        (false, n) => n.clone(),
    }
    .ok_or_else(|| ExitError::new(EXIT_ENGINE, "you must provide a pod name or ID"))?;
    let p = state.get_pod(&name)?;
    let members = pod::members(ctx, &state, &p)?;
    let running: Vec<&ContainerRecord> = members.iter().filter(|c| container::is_running(c)).collect();
    if running.is_empty() {
        bail!(ExitError::new(
            EXIT_ENGINE,
            format!(
                "pod top can only be used on pods with at least one running container: pod {} is not running",
                p.id
            )
        ));
    }
    let mut rows: Vec<Vec<String>> = vec![];
    for c in running {
        let r = crate::procs::top_rows(c, &a.descriptors)?;
        let skip = if rows.is_empty() { 0 } else { 1 };
        rows.extend(r.into_iter().skip(skip));
    }
    print!("{}", crate::format::table(&rows));
    Ok(0)
}
