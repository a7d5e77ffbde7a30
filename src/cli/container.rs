//! `run` and (later) the other container commands.

use anyhow::Result;
use clap::Args;
use std::path::PathBuf;

use crate::context::Context;

#[derive(Args, Debug, Clone, Default)]
#[command(trailing_var_arg = true, disable_help_flag = true)]
pub struct RunArgs {
    /// Print help (`-h` is --hostname, as in Podman)
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
    /// Remove the container when it exits
    #[arg(long)]
    pub rm: bool,
    /// Keep STDIN open even if not attached
    #[arg(short, long)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY for the container
    #[arg(short, long)]
    pub tty: bool,
    /// Run the container in the background and print the container ID
    #[arg(short, long)]
    pub detach: bool,
    /// Assign a name to the container
    #[arg(long)]
    pub name: Option<String>,
    /// Set the container host name
    #[arg(long, short = 'h')]
    pub hostname: Option<String>,
    /// Set environment variables in the container
    #[arg(short, long = "env", value_name = "KEY[=VALUE]")]
    pub env: Vec<String>,
    /// Read in a file of environment variables
    #[arg(long)]
    pub env_file: Vec<PathBuf>,
    /// Use all current host environment variables in the container
    #[arg(long)]
    pub env_host: bool,
    /// Working directory inside the container
    #[arg(short, long)]
    pub workdir: Option<String>,
    /// Username or UID (format: <name|uid>[:<group|gid>])
    #[arg(short, long)]
    pub user: Option<String>,
    /// Add additional groups to join
    #[arg(long)]
    pub group_add: Vec<String>,
    /// Overwrite the default ENTRYPOINT of the image
    #[arg(long, allow_hyphen_values = true)]
    pub entrypoint: Option<String>,
    /// Make the container's root filesystem read-only
    #[arg(long)]
    pub read_only: bool,
    /// When running --read-only containers, mount read-write tmpfs on /dev, /dev/shm, /run, /tmp and /var/tmp
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub read_only_tmpfs: bool,
    /// Mount a temporary filesystem (tmpfs) into a container
    #[arg(long)]
    pub tmpfs: Vec<String>,
    /// Bind mount a volume into the container (HOST:CONTAINER[:OPTIONS])
    #[arg(short, long)]
    pub volume: Vec<String>,
    /// Attach a filesystem mount to the container (type=bind|tmpfs,...)
    #[arg(long)]
    pub mount: Vec<String>,
    /// Add capabilities to the container
    #[arg(long)]
    pub cap_add: Vec<String>,
    /// Drop capabilities from the container
    #[arg(long)]
    pub cap_drop: Vec<String>,
    /// Security options (no-new-privileges, seccomp=unconfined|PATH, ...)
    #[arg(long)]
    pub security_opt: Vec<String>,
    /// Give extended privileges to the container
    #[arg(long)]
    pub privileged: bool,
    /// Ulimit options (NAME=SOFT[:HARD])
    #[arg(long)]
    pub ulimit: Vec<String>,
    /// Run an init inside the container that forwards signals and reaps processes
    #[arg(long)]
    pub init: bool,
    /// Connect a container to a network: pasta[:OPTS], slirp4netns[:OPTS], none, host, ns:PATH, container:NAME
    #[arg(long, alias = "net")]
    pub network: Option<String>,
    /// Publish a container's port, or range of ports, to the host ([ip:][hostPort:]containerPort[/tcp|udp])
    #[arg(short = 'p', long)]
    pub publish: Vec<String>,
    /// Publish all exposed ports to random ports on the host
    #[arg(short = 'P', long)]
    pub publish_all: bool,
    /// Expose a port or a range of ports (published with -P)
    #[arg(long)]
    pub expose: Vec<String>,
    /// Set custom DNS servers ("none": keep the image's /etc/resolv.conf)
    #[arg(long)]
    pub dns: Vec<String>,
    /// Set custom DNS search domains
    #[arg(long)]
    pub dns_search: Vec<String>,
    /// Set custom DNS options
    #[arg(long, alias = "dns-opt")]
    pub dns_option: Vec<String>,
    /// Add a custom host-to-IP mapping (host:ip)
    #[arg(long)]
    pub add_host: Vec<String>,
    /// Do not create /etc/hosts for the container
    #[arg(long)]
    pub no_hosts: bool,
    /// Pull image policy: always, missing, never, newer
    #[arg(long, default_value = "missing")]
    pub pull: String,
    /// Suppress output information when pulling images
    #[arg(short, long)]
    pub quiet: bool,
    /// User namespace to use: "" (default), keep-id[:uid=,gid=], nomap, host, auto
    #[arg(long)]
    pub userns: Option<String>,
    /// Memory limit (format: <number>[<unit>], where unit = b, k, m or g)
    #[arg(short, long)]
    pub memory: Option<String>,
    /// Number of CPUs
    #[arg(long)]
    pub cpus: Option<f64>,
    /// Tune container pids limit (set -1 for unlimited)
    #[arg(long)]
    pub pids_limit: Option<i64>,
    /// Set the platform/architecture/OS for the image to pull
    #[arg(long)]
    pub platform: Option<String>,
    #[arg(long)]
    pub arch: Option<String>,
    #[arg(long)]
    pub os: Option<String>,
    #[arg(long)]
    pub variant: Option<String>,
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub tls_verify: Option<bool>,
    #[arg(long)]
    pub authfile: Option<PathBuf>,
    #[arg(long)]
    pub creds: Option<String>,
    /// Restart policy to follow when containers exit: no, on-failure[:max-retries], always, unless-stopped
    #[arg(long)]
    pub restart: Option<String>,
    /// Signal to stop a container (default: the image's StopSignal, else SIGTERM)
    #[arg(long)]
    pub stop_signal: Option<String>,
    /// Timeout (in seconds) to stop a container
    #[arg(long)]
    pub stop_timeout: Option<u64>,
    /// Logging driver for the container: k8s-file, json-file, none, passthrough
    #[arg(long)]
    pub log_driver: Option<String>,
    /// Logging driver options (max-size=...)
    #[arg(long)]
    pub log_opt: Vec<String>,
    /// Add a label to the container (KEY=VALUE)
    #[arg(short, long)]
    pub label: Vec<String>,
    /// Run the container in an existing pod (NAME or ID), or in a new one (new:NAME)
    #[arg(long)]
    pub pod: Option<String>,
    /// Image to run
    pub image: String,
    /// Command and arguments
    #[arg(allow_hyphen_values = true)]
    pub command: Vec<String>,
}

pub fn run(ctx: &Context, args: RunArgs) -> Result<i32> {
    crate::run::run(ctx, args)
}

use anyhow::bail;

use crate::container;
use crate::error::{ExitError, EXIT_ENGINE};
use crate::state::State;

#[derive(Args, Debug, Clone, Default)]
pub struct PsArgs {
    /// Show all the containers, default is only running containers
    #[arg(short, long)]
    pub all: bool,
    /// Print the numeric IDs of the containers only
    #[arg(short, long)]
    pub quiet: bool,
    /// Show the latest container created (all states)
    #[arg(short, long)]
    pub latest: bool,
    /// Print the n last created containers (all states)
    #[arg(short = 'n', long)]
    pub last: Option<usize>,
    /// Display the extended information
    #[arg(long)]
    pub no_trunc: bool,
    /// Filter output based on conditions given (status=, name=, id=, label=, ancestor=, exited=, pod=)
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// Pretty-print containers to JSON or using a Go template
    #[arg(long)]
    pub format: Option<String>,
    /// Do not print headers
    #[arg(long)]
    pub noheading: bool,
    /// Display the total file sizes
    #[arg(short, long)]
    pub size: bool,
    /// Print the ID and name of the pod the containers are associated with
    #[arg(short = 'p', long)]
    pub pod: bool,
}

#[derive(Args, Debug, Clone, Default)]
pub struct StopArgs {
    pub containers: Vec<String>,
    /// Stop all running containers
    #[arg(short, long)]
    pub all: bool,
    /// Seconds to wait for stop before killing the container (default: the container's stop timeout)
    #[arg(short = 't', long = "time", alias = "timeout")]
    pub time: Option<u64>,
    /// Ignore errors when a specified container is missing
    #[arg(short, long)]
    pub ignore: bool,
}

#[derive(Args, Debug, Clone, Default)]
pub struct KillArgs {
    pub containers: Vec<String>,
    #[arg(short, long)]
    pub all: bool,
    /// Signal to send to the container
    #[arg(short, long, default_value = "KILL")]
    pub signal: String,
}

#[derive(Args, Debug, Clone, Default)]
pub struct RmArgs {
    pub containers: Vec<String>,
    /// Remove all containers
    #[arg(short, long)]
    pub all: bool,
    /// Force removal of a running or unusable container
    #[arg(short, long)]
    pub force: bool,
    /// Ignore errors when a specified container is missing
    #[arg(short, long)]
    pub ignore: bool,
    /// Remove anonymous volumes associated with the container
    #[arg(short, long)]
    pub volumes: bool,
    /// Seconds to wait for stop before killing the container
    #[arg(short = 't', long = "time")]
    pub time: Option<u64>,
    /// Remove the container and every container that depends on it
    #[arg(long)]
    pub depend: bool,
}

#[derive(Args, Debug, Clone, Default)]
pub struct WaitArgs {
    #[arg(required = true)]
    pub containers: Vec<String>,
    /// Condition to wait on: configured, created, exited, paused, running, stopped
    #[arg(long, default_value = "stopped", value_parser = wait_condition)]
    pub condition: Vec<String>,
}

#[derive(Args, Debug, Clone, Default)]
pub struct LogsArgs {
    pub containers: Vec<String>,
    /// Follow log output
    #[arg(short, long)]
    pub follow: bool,
    /// Output the specified number of LINES at the end of the logs
    #[arg(long, allow_hyphen_values = true)]
    pub tail: Option<i64>,
    /// Show logs since TIMESTAMP (RFC 3339) or a duration like 10m
    #[arg(long)]
    pub since: Option<String>,
    /// Show logs until TIMESTAMP
    #[arg(long)]
    pub until: Option<String>,
    /// Output the timestamps in the log
    #[arg(short, long)]
    pub timestamps: bool,
    /// Output the container name in the log
    #[arg(short, long)]
    pub names: bool,
    /// Act on the latest container
    #[arg(short, long)]
    pub latest: bool,
}

/// `wait --condition`: Podman's container states (checked while parsing, before waiting on anything).
fn wait_condition(s: &str) -> std::result::Result<String, String> {
    const VALID: [&str; 6] = ["configured", "created", "exited", "paused", "running", "stopped"];
    if VALID.contains(&s) {
        Ok(s.to_string())
    } else {
        Err(format!("invalid condition {s:?}: valid conditions are {}", VALID.join(", ")))
    }
}

fn no_such(e: anyhow::Error, ignore: bool) -> Result<()> {
    if ignore && format!("{e:#}").contains("no such container") {
        Ok(())
    } else {
        Err(e)
    }
}

/// Resolve the containers named on the command line, or every container with `--all`.
fn targets(state: &State, names: &[String], all: bool) -> Result<Vec<String>> {
    if all {
        return Ok(state.list()?.into_iter().map(|c| c.id).collect());
    }
    if names.is_empty() {
        bail!(ExitError::new(EXIT_ENGINE, "you must provide at least one container name or ID"));
    }
    Ok(names.to_vec())
}

/// The `ps --filter` keys Warren implements, checked before anything is listed: an unknown key or a bad
/// value must fail (exit 125), never silently match everything (`ps -aq --filter lable=x | xargs rm`).
const PS_FILTERS: &[&str] = &["ancestor", "exited", "id", "label", "name", "pod", "status"];
/// The container states `--filter status=` accepts (Podman's list).
pub const PS_STATUSES: &[&str] = &["created", "running", "paused", "stopped", "exited", "unknown"];

fn parse_ps_filters(filters: &[String]) -> Result<Vec<(String, String)>> {
    let mut out = vec![];
    for f in filters {
        let Some((k, v)) = f.split_once('=') else {
            bail!(ExitError::new(
                EXIT_ENGINE,
                format!("invalid filter {f:?}: expected KEY=VALUE ({})", PS_FILTERS.join(", "))
            ));
        };
        if !PS_FILTERS.contains(&k) {
            bail!(ExitError::new(
                EXIT_ENGINE,
                format!("{k:?} is an invalid filter: valid filters are {}", PS_FILTERS.join(", "))
            ));
        }
        match k {
            "status" if !PS_STATUSES.contains(&v) => bail!(ExitError::new(
                EXIT_ENGINE,
                format!("invalid filter {f:?}: {v:?} is not a valid status ({})", PS_STATUSES.join(", "))
            )),
            "exited" if v.parse::<i32>().is_err() => bail!(ExitError::new(
                EXIT_ENGINE,
                format!("invalid filter {f:?}: exited takes an exit code (a number)")
            )),
            _ => {}
        }
        out.push((k.to_string(), v.to_string()));
    }
    Ok(out)
}

pub fn ps(ctx: &Context, args: PsArgs) -> Result<i32> {
    let filters = parse_ps_filters(&args.filter)?;
    let state = State::open(&ctx.storage_root)?;
    let mut list = container::refresh_all(ctx, &state, state.list()?)?;
    if !args.all && !args.latest && args.last.is_none() {
        list.retain(|c| c.state == "running" || c.state == "paused");
    }
    for (k, v) in &filters {
        let (k, v) = (k.as_str(), v.as_str());
        list.retain(|c| match k {
            "status" => c.state == v || (v == "exited" && c.state == "stopped"),
            "name" => c.name.contains(v),
            "id" => c.id.starts_with(v),
            "ancestor" => c.image_name.contains(v) || c.image_id.contains(v),
            "exited" => c.exit_code.map(|x| x.to_string()) == Some(v.to_string()),
            "pod" => {
                !c.pod_id.is_empty()
                    && (c.pod_id.starts_with(v)
                        || state.lookup_pod(&c.pod_id).ok().flatten().is_some_and(|p| p.name == v))
            }
            "label" => c.config["Labels"].as_array().is_some_and(|ls| {
                ls.iter().filter_map(|l| l.as_str()).any(|l| l == v || l.split('=').next() == Some(v))
            }),
            _ => unreachable!("checked by parse_ps_filters"),
        });
    }
    if args.latest {
        list = list.into_iter().last().into_iter().collect();
    }
    if let Some(n) = args.last {
        let skip = list.len().saturating_sub(n);
        list = list.into_iter().skip(skip).collect();
    }
    list.reverse(); // newest first, like Podman
    if args.quiet {
        for c in &list {
            println!("{}", if args.no_trunc { &c.id[..] } else { &c.id[..12] });
        }
        return Ok(0);
    }
    let pod_names: std::collections::HashMap<String, String> =
        state.list_pods()?.into_iter().map(|p| (p.id, p.name)).collect();
    let pod_name = |c: &crate::state::ContainerRecord| pod_names.get(&c.pod_id).cloned().unwrap_or_default();
    let sizes: Vec<Option<(u64, u64)>> =
        list.iter().map(|c| args.size.then(|| crate::containerfs::sizes(ctx, c))).collect();
    let size_text =
        |s: (u64, u64)| format!("{} (virtual {})", crate::format::human_size(s.0), crate::format::human_size(s.1));
    let rows: Vec<serde_json::Value> = list
        .iter()
        .zip(&sizes)
        .map(|(c, size)| {
            let mut r = ps_row(c, args.no_trunc);
            r["Pod"] = (if args.no_trunc { c.pod_id.clone() } else { c.pod_id.chars().take(12).collect() }).into();
            r["PodName"] = pod_name(c).into();
            if let Some(s) = size {
                r["Size"] = size_text(*s).into();
            }
            r
        })
        .collect();
    match args.format.as_deref() {
        Some("json") => {
            let mut json: Vec<serde_json::Value> = list.iter().map(|c| ps_json(c, &state)).collect::<Result<_>>()?;
            for (j, s) in json.iter_mut().zip(&sizes) {
                if let Some((rw, rootfs)) = s {
                    j["Size"] = serde_json::json!({"rootFsSize": rootfs, "rwSize": rw});
                }
            }
            println!("{}", serde_json::to_string_pretty(&json)?)
        }
        Some(t) => {
            let header = |f: &str| {
                Some(
                    match f {
                        "ID" => "CONTAINER ID",
                        "RunningFor" | "CreatedHuman" => "CREATED",
                        "Pod" => "POD ID",
                        "PodName" => "PODNAME",
                        _ => return None,
                    }
                    .to_string(),
                )
            };
            print!("{}", crate::format::render_rows(t, &rows, args.noheading, &header)?);
        }
        None => {
            let mut out = vec![];
            if !args.noheading {
                out.push(vec![
                    "CONTAINER ID".to_string(),
                    "IMAGE".into(),
                    "COMMAND".into(),
                    "CREATED".into(),
                    "STATUS".into(),
                    "PORTS".into(),
                    "NAMES".into(),
                ]);
                if args.size {
                    out[0].push("SIZE".into());
                }
                if args.pod {
                    out[0].extend(["POD ID".to_string(), "PODNAME".into()]);
                }
            }
            for ((c, r), size) in list.iter().zip(&rows).zip(&sizes) {
                let mut cmd = r["Command"].as_str().unwrap_or("").to_string();
                if !args.no_trunc && cmd.chars().count() > 20 {
                    cmd = cmd.chars().take(17).collect::<String>() + "...";
                }
                out.push(vec![
                    if args.no_trunc { c.id.clone() } else { c.id[..12].to_string() },
                    c.image_name.clone(),
                    cmd,
                    format!("{} ago", crate::format::human_duration(crate::format::seconds_since(&c.created))),
                    container::status_line(c),
                    crate::network::ps_ports(c),
                    c.name.clone(),
                ]);
                let last = out.len() - 1;
                if let Some(s) = size {
                    out[last].push(size_text(*s));
                }
                if args.pod {
                    out[last].extend([r["Pod"].as_str().unwrap_or("").to_string(), pod_name(c)]);
                }
            }
            print!("{}", crate::format::table(&out));
        }
    }
    Ok(0)
}

fn cmd_of(c: &crate::state::ContainerRecord) -> Vec<String> {
    c.config["Cmd"]
        .as_array()
        .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

fn unix_of(t: Option<&str>) -> i64 {
    t.and_then(crate::format::parse_rfc3339).unwrap_or(0)
}

/// What `ps --format TEMPLATE` sees: Podman's ps reporter fields (strings as the table shows them).
fn ps_row(c: &crate::state::ContainerRecord, no_trunc: bool) -> serde_json::Value {
    let created = crate::format::human_duration(crate::format::seconds_since(&c.created)) + " ago";
    serde_json::json!({
        "ID": if no_trunc { c.id.clone() } else { c.id[..12].to_string() },
        "Image": c.image_name,
        "ImageID": c.image_id,
        "Command": cmd_of(c).join(" "),
        "Names": c.name,
        // Podman's ps reporter: Created is the time.Time, CreatedAt whole seconds.
        "Created": crate::format::go_time_string_of(&c.created).unwrap_or_else(|| c.created.clone()),
        "CreatedAt": crate::format::go_time_string(unix_of(Some(&c.created))),
        "CreatedHuman": created,
        "RunningFor": created,
        "State": c.state,
        "Status": container::status_line(c),
        "ExitCode": c.exit_code.unwrap_or(0),
        "Exited": c.state == "exited",
        "Pid": c.pid,
        "Ports": crate::network::ps_ports(c),
        "Labels": labels_of(c),
        "AutoRemove": container::auto_remove(c),
    })
}

/// `ps --format json`: Podman's ListContainer shape (arrays for Names and Command, Unix times).
fn ps_json(c: &crate::state::ContainerRecord, state: &State) -> Result<serde_json::Value> {
    let pod_name = state.lookup_pod(&c.pod_id)?.map(|p| p.name).unwrap_or_default();
    Ok(serde_json::json!({
        "AutoRemove": container::auto_remove(c),
        "Command": cmd_of(c),
        "Created": unix_of(Some(&c.created)),
        "CreatedAt": crate::format::human_duration(crate::format::seconds_since(&c.created)) + " ago",
        "Exited": c.state == "exited",
        "ExitedAt": unix_of(c.finished.as_deref()),
        "ExitCode": c.exit_code.unwrap_or(0),
        "Id": c.id,
        "Image": c.image_name,
        "ImageID": c.image_id.trim_start_matches("sha256:"),
        "IsInfra": crate::pod::is_infra(c),
        "Labels": labels_of(c),
        "Mounts": [],
        "Names": [c.name],
        "Pid": c.pid,
        "Pod": c.pod_id,
        "PodName": pod_name,
        "Ports": serde_json::to_value(crate::network::ports_of(c))?,
        "Restarts": c.restart_count,
        "StartedAt": unix_of(c.started.as_deref()),
        "State": c.state,
        "Status": container::status_line(c),
    }))
}

/// Labels as Podman's map (`--label K=V` is stored as given).
fn labels_of(c: &crate::state::ContainerRecord) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    for l in c.config["Labels"].as_array().into_iter().flatten().filter_map(|l| l.as_str()) {
        let (k, v) = l.split_once('=').unwrap_or((l, ""));
        m.insert(k.to_string(), v.into());
    }
    serde_json::Value::Object(m)
}

pub fn stop(ctx: &Context, args: StopArgs) -> Result<i32> {
    let state = State::open(&ctx.storage_root)?;
    let all = args.all;
    let names = targets(&state, &args.containers, all)?;
    Ok(super::for_each(names, |n| {
        let r = state.get(&n).and_then(|rec| {
            let t = args.time.unwrap_or_else(|| container::stop_timeout(&rec));
            container::stop(ctx, &state, &rec, t).map(|_| ())
        });
        r.or_else(|e| no_such(e, args.ignore))?;
        Ok((!all).then_some(n))
    }))
}

pub fn kill(ctx: &Context, args: KillArgs) -> Result<i32> {
    let state = State::open(&ctx.storage_root)?;
    let sig = container::parse_signal(&args.signal)?;
    Ok(super::for_each(targets(&state, &args.containers, args.all)?, |n| {
        let rec = container::refresh(ctx, &state, state.get(&n)?)?;
        container::kill(&rec, sig)?;
        let e = crate::events::Event::container("kill", &rec).with_attribute("signal", &(sig as i32).to_string());
        crate::events::emit(&ctx.storage_root, e);
        Ok(Some(n))
    }))
}

pub fn rm(ctx: &Context, args: RmArgs) -> Result<i32> {
    let state = State::open(&ctx.storage_root)?;
    let mut failed = None;
    for n in removal_order(&state, targets(&state, &args.containers, args.all)?, args.depend)? {
        let r = state.get(&n).and_then(|rec| {
            if crate::pod::is_infra(&rec) {
                if args.all {
                    return Ok(false); // removed with its pod
                }
                bail!(ExitError::new(
                    EXIT_ENGINE,
                    format!(
                        "container {} is the infra container of pod {} and cannot be removed without removing the pod",
                        rec.id, rec.pod_id
                    )
                ));
            }
            container::remove(ctx, &state, &rec, args.force, args.time)?;
            if args.volumes {
                crate::volume::remove_anonymous(ctx, &state, &rec);
            }
            Ok(true)
        });
        // An ignored missing container is not printed (Podman prints nothing for it).
        match r.or_else(|e| no_such(e, args.ignore).map(|()| false)) {
            Ok(removed) => {
                if removed {
                    println!("{n}")
                }
            }
            Err(e) => {
                eprintln!("Error: {e:#}");
                failed = Some(if format!("{e:#}").contains("no such container") {
                    1
                } else {
                    crate::error::exit_code_of(&e)
                });
            }
        }
    }
    Ok(failed.unwrap_or(0))
}

/// The containers to remove, each after every container that depends on it (one that joined its
/// network namespace with `--network container:NAME`). With `depend`, those dependents are added (like
/// `podman rm --depend`); without it, a container whose dependents stay is an error naming them.
fn removal_order(state: &State, names: Vec<String>, depend: bool) -> Result<Vec<String>> {
    let all = state.list()?;
    let id_of = |n: &str| all.iter().find(|c| c.id == n || c.name == n).map(|c| c.id.clone());
    let resolve = |n: &str| -> Option<String> { id_of(n).or_else(|| state.lookup(n).ok().flatten().map(|c| c.id)) };
    let dependents = |id: &str| -> Vec<String> {
        if all.iter().any(|c| c.id == id && crate::pod::is_infra(c)) {
            return vec![]; // a pod's members go with the pod (`pod rm`), which rm says below
        }
        all.iter()
            .filter(|c| {
                crate::run::stored_plan(c).is_ok_and(|p| match &p.network {
                    net::NetworkMode::Container(other) => resolve(other).as_deref() == Some(id),
                    _ => false,
                })
            })
            .map(|c| c.id.clone())
            .collect()
    };
    // names that match nothing stay as given, for the "no such container" report
    let chosen: Vec<String> = names.iter().map(|n| resolve(n).unwrap_or_else(|| n.clone())).collect();
    let mut order: Vec<String> = vec![];
    let mut visit: Vec<(String, bool)> = chosen.iter().rev().map(|id| (id.clone(), false)).collect();
    while let Some((id, expanded)) = visit.pop() {
        if order.contains(&id) {
            continue;
        }
        let deps = dependents(&id);
        if expanded || deps.iter().all(|d| order.contains(d)) {
            order.push(id);
            continue;
        }
        let missing: Vec<&String> = deps.iter().filter(|d| !depend && !chosen.contains(d)).collect();
        if !missing.is_empty() {
            let name = |i: &str| all.iter().find(|c| c.id == i).map_or(i.to_string(), |c| c.name.clone());
            bail!(ExitError::new(
                EXIT_ENGINE,
                format!(
                    "container {} has dependent containers which must be removed before it: {} (use --depend to remove them too)",
                    name(&id),
                    missing.iter().map(|d| name(d)).collect::<Vec<_>>().join(", ")
                )
            ));
        }
        visit.push((id, true));
        visit.extend(deps.into_iter().filter(|d| !order.contains(d)).map(|d| (d, false)));
    }
    Ok(order
        .into_iter()
        // what the user typed is what rm prints back (Podman's RawInput); added dependents print as IDs
        .map(|id| chosen.iter().position(|c| *c == id).map_or(id, |i| names[i].clone()))
        .collect())
}

pub fn wait(ctx: &Context, args: WaitArgs) -> Result<i32> {
    let state = State::open(&ctx.storage_root)?;
    let running = args.condition.iter().any(|c| c == "running");
    let mut errors = vec![];
    for n in &args.containers {
        match wait_one(ctx, &state, n, running) {
            Ok(code) => println!("{code}"),
            Err(e) => errors.push(e),
        }
    }
    // Like Podman: the codes of the others are printed, then every error; exit 125.
    let failed = errors.last().map(crate::error::exit_code_of);
    for e in errors {
        eprintln!("Error: {e:#}");
    }
    Ok(failed.unwrap_or(0))
}

/// Wait for one container; its exit code. A container removed meanwhile (`--rm`) gives the exit code
/// recorded at its removal; errors name the container as the user typed it.
fn wait_one(ctx: &Context, state: &State, name: &str, running: bool) -> Result<i64> {
    let no_such = || -> anyhow::Error {
        ExitError::new(EXIT_ENGINE, format!("no container with name or ID {name:?} found: no such container")).into()
    };
    let Some(rec) = state.lookup(name)? else {
        return state.removed_exit(name).ok_or_else(no_such);
    };
    let r = if running {
        loop {
            let Some(r) = state.lookup(&rec.id)? else { break None };
            let r = container::refresh(ctx, state, r)?;
            if r.state == "running" || r.state == "exited" {
                break Some(r);
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    } else {
        match container::wait_exited(ctx, state, &rec.id, None) {
            Ok(r) => Some(r),
            Err(_) if state.lookup(&rec.id)?.is_none() => None,
            Err(e) => return Err(e),
        }
    };
    match r {
        Some(r) => Ok(r.exit_code.unwrap_or(0)),
        None => state.removed_exit(&rec.id).ok_or_else(no_such),
    }
}

pub fn logs(ctx: &Context, args: LogsArgs) -> Result<i32> {
    let state = State::open(&ctx.storage_root)?;
    let names = if args.latest {
        state.list()?.into_iter().last().map(|c| vec![c.id]).unwrap_or_default()
    } else {
        args.containers.clone()
    };
    if names.is_empty() {
        bail!(ExitError::new(EXIT_ENGINE, "you must provide at least one container name or ID"));
    }
    let recs: Vec<_> = names.iter().map(|n| state.get(n)).collect::<Result<_>>()?;
    let opts = crate::logs::LogOptions {
        follow: args.follow,
        tail: args.tail.filter(|t| *t >= 0).map(|t| t as usize),
        since: args.since.as_deref().map(crate::logs::parse_time).transpose()?,
        until: args.until.as_deref().map(crate::logs::parse_time).transpose()?,
        timestamps: args.timestamps,
    };
    crate::logs::print_all(ctx, &state, &recs, args.names, &opts)?;
    Ok(0)
}

#[derive(Args, Debug, Clone, Default)]
#[command(trailing_var_arg = true)]
pub struct ExecArgs {
    /// Run the exec session in detached mode (backgrounded)
    #[arg(short, long)]
    pub detach: bool,
    /// Override the key sequence for detaching (accepted, not used)
    #[arg(long)]
    pub detach_keys: Option<String>,
    /// Set environment variables
    #[arg(short, long = "env", value_name = "KEY[=VALUE]")]
    pub env: Vec<String>,
    /// Read in a file of environment variables
    #[arg(long)]
    pub env_file: Vec<PathBuf>,
    /// Keep STDIN open even if not attached
    #[arg(short, long)]
    pub interactive: bool,
    /// Act on the latest container
    #[arg(short, long)]
    pub latest: bool,
    /// Give the process extended capabilities
    #[arg(long)]
    pub privileged: bool,
    /// Allocate a pseudo-TTY
    #[arg(short, long)]
    pub tty: bool,
    /// Username or UID (format: <name|uid>[:<group|gid>])
    #[arg(short, long)]
    pub user: Option<String>,
    /// Working directory inside the container
    #[arg(short, long)]
    pub workdir: Option<String>,
    /// The container
    pub container: Option<String>,
    /// Command and arguments
    #[arg(allow_hyphen_values = true)]
    pub command: Vec<String>,
}

pub fn exec(ctx: &Context, args: ExecArgs) -> Result<i32> {
    crate::exec::exec(ctx, args)
}

#[derive(Args, Debug, Clone, Default)]
pub struct StartArgs {
    pub containers: Vec<String>,
    /// Attach container's STDOUT and STDERR
    #[arg(short, long)]
    pub attach: bool,
    /// Keep STDIN open even if not attached
    #[arg(short, long)]
    pub interactive: bool,
    /// Start all containers regardless of their state or configuration
    #[arg(long)]
    pub all: bool,
}

#[derive(Args, Debug, Clone, Default)]
pub struct RestartArgs {
    pub containers: Vec<String>,
    #[arg(short, long)]
    pub all: bool,
    /// Seconds to wait for stop before killing the container (default: the container's stop timeout)
    #[arg(short = 't', long = "time")]
    pub time: Option<u64>,
}

pub fn create(ctx: &Context, args: RunArgs) -> Result<i32> {
    let store = crate::storage::Store::open(ctx)?;
    let state = State::open(&store.root)?;
    let (rec, _) = crate::run::create(ctx, &store, &state, &args)?;
    println!("{}", rec.id);
    Ok(0)
}

pub fn start(ctx: &Context, args: StartArgs) -> Result<i32> {
    let state = State::open(&ctx.storage_root)?;
    let names = targets(&state, &args.containers, args.all)?;
    if args.attach && names.len() > 1 {
        bail!(ExitError::new(EXIT_ENGINE, "you cannot start and attach multiple containers at once"));
    }
    // Like Podman: a container that cannot be started is reported ("unable to start container") and the
    // others are still started; the command then exits 125.
    let mut failed: Option<anyhow::Error> = None;
    for n in names {
        let rec = match state.get(&n).and_then(|r| container::refresh(ctx, &state, r)) {
            Ok(r) => r,
            Err(e) => {
                if let Some(prev) = failed.replace(e) {
                    eprintln!("Error: {prev:#}");
                }
                continue;
            }
        };
        if container::is_running(&rec) {
            println!("{n}");
            continue;
        }
        container::wait_monitor_gone(&rec, std::time::Duration::from_secs(10));
        let mut rec = container::mark_started(&state, &rec.id)?;
        if args.attach {
            let plan = crate::run::stored_plan(&rec)?;
            return crate::run::start_foreground(ctx, &state, &mut rec, &plan, args.interactive);
        }
        match crate::run::start_detached(ctx, &state, &rec) {
            Ok(()) => println!("{n}"),
            Err(e) => {
                if let Some(prev) = failed.take() {
                    eprintln!("Error: {prev:#}");
                }
                failed = Some(anyhow::Error::from(ExitError::new(
                    EXIT_ENGINE,
                    format!("unable to start container {:?}: {e:#}", rec.name),
                )));
            }
        }
    }
    match failed {
        Some(e) => Err(e),
        None => Ok(0),
    }
}

pub fn restart(ctx: &Context, args: RestartArgs) -> Result<i32> {
    let state = State::open(&ctx.storage_root)?;
    for n in targets(&state, &args.containers, args.all)? {
        let rec = state.get(&n)?;
        let t = args.time.unwrap_or_else(|| container::stop_timeout(&rec));
        let rec = container::stop(ctx, &state, &rec, t)?;
        container::wait_monitor_gone(&rec, std::time::Duration::from_secs(10));
        let rec = container::mark_started(&state, &rec.id)?;
        crate::run::start_detached(ctx, &state, &rec)
            .map_err(|e| ExitError::new(EXIT_ENGINE, format!("unable to start container {:?}: {e:#}", rec.name)))?;
        println!("{}", rec.id);
    }
    Ok(0)
}

// --- the `container` command group and the commands beyond run ----------------------------------

/// `warren container ...`: the container commands under one noun (Podman's aliases included).
#[derive(clap::Subcommand, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum ContainerCommand {
    /// Attach to a running container's output
    Attach(AttachArgs),
    /// Copy files/folders between a container and the local filesystem
    Cp(CpArgs),
    /// Create but do not start a container
    Create(RunArgs),
    /// Inspect changes to the container's file systems
    Diff(DiffArgs),
    /// Run a process in a running container
    Exec(ExecArgs),
    /// Check if a container exists in local storage
    Exists(ExistsArgs),
    /// Export a container's filesystem contents as a tar archive
    Export(ExportArgs),
    /// Display the configuration of a container
    Inspect(ContainerInspectArgs),
    /// Kill one or more running containers with a specific signal
    Kill(KillArgs),
    /// Fetch the logs of one or more containers
    Logs(LogsArgs),
    /// Mount a working container's root filesystem
    Mount(MountArgs),
    /// Pause all the processes in one or more containers
    Pause(PauseArgs),
    /// List containers
    #[command(alias = "ls", alias = "list")]
    Ps(PsArgs),
    /// Remove all non running containers
    Prune(ContainerPruneArgs),
    /// Rename an existing container
    Rename(RenameArgs),
    /// Restart one or more containers
    Restart(RestartArgs),
    /// Remove one or more containers
    #[command(alias = "remove")]
    Rm(RmArgs),
    /// Run a command in a new container
    Run(RunArgs),
    /// Start one or more containers
    Start(StartArgs),
    /// Display a live stream of container resource usage statistics
    Stats(StatsArgs),
    /// Stop one or more containers
    Stop(StopArgs),
    /// Display the running processes of a container
    Top(TopArgs),
    /// Unmount working container's root filesystem
    #[command(alias = "umount")]
    Unmount(UnmountArgs),
    /// Unpause the processes in one or more containers
    Unpause(PauseArgs),
    /// Block on one or more containers
    Wait(WaitArgs),
}

impl ContainerCommand {
    /// Whether the command must run inside the engine's user namespace (see `Command::needs_userns`).
    pub fn needs_userns(&self) -> bool {
        match self {
            ContainerCommand::Ps(a) => return a.size,
            ContainerCommand::Inspect(a) => return a.size,
            _ => {}
        }
        !matches!(
            self,
            ContainerCommand::Exists(_)
                | ContainerCommand::Logs(_)
                | ContainerCommand::Wait(_)
                | ContainerCommand::Attach(_)
                | ContainerCommand::Mount(_)
                | ContainerCommand::Unmount(_)
        )
    }
}

pub fn container(ctx: &Context, cmd: ContainerCommand) -> Result<i32> {
    match cmd {
        ContainerCommand::Attach(a) => attach(ctx, a),
        ContainerCommand::Cp(a) => cp(ctx, a),
        ContainerCommand::Create(a) => create(ctx, a),
        ContainerCommand::Diff(a) => diff(ctx, a),
        ContainerCommand::Exec(a) => exec(ctx, a),
        ContainerCommand::Exists(a) => exists(ctx, a),
        ContainerCommand::Export(a) => export(ctx, a),
        ContainerCommand::Inspect(a) => container_inspect(ctx, a),
        ContainerCommand::Kill(a) => kill(ctx, a),
        ContainerCommand::Logs(a) => logs(ctx, a),
        ContainerCommand::Mount(a) => mount(ctx, a),
        ContainerCommand::Pause(a) => pause(ctx, a, true),
        ContainerCommand::Ps(a) => ps(ctx, a),
        ContainerCommand::Prune(a) => prune(ctx, a),
        ContainerCommand::Rename(a) => rename(ctx, a),
        ContainerCommand::Restart(a) => restart(ctx, a),
        ContainerCommand::Rm(a) => rm(ctx, a),
        ContainerCommand::Run(a) => run(ctx, a),
        ContainerCommand::Start(a) => start(ctx, a),
        ContainerCommand::Stats(a) => stats(ctx, a),
        ContainerCommand::Stop(a) => stop(ctx, a),
        ContainerCommand::Top(a) => top(ctx, a),
        ContainerCommand::Unmount(a) => unmount(ctx, a),
        ContainerCommand::Unpause(a) => pause(ctx, a, false),
        ContainerCommand::Wait(a) => wait(ctx, a),
    }
}

#[derive(Args, Debug, Clone, Default)]
pub struct ContainerInspectArgs {
    pub names: Vec<String>,
    /// Format the output using the given Go template, or json
    #[arg(short, long)]
    pub format: Option<String>,
    /// Act on the latest container
    #[arg(short, long)]
    pub latest: bool,
    /// Display total file size
    #[arg(short, long)]
    pub size: bool,
}

pub fn container_inspect(ctx: &Context, args: ContainerInspectArgs) -> Result<i32> {
    let mut names = args.names;
    if args.latest {
        let state = State::open(&ctx.storage_root)?;
        names.extend(state.list()?.into_iter().last().map(|c| c.id));
    }
    if names.is_empty() {
        bail!(ExitError::new(EXIT_ENGINE, "you must provide at least one container name or ID"));
    }
    let a = super::image::InspectArgs { names, format: args.format, r#type: "container".into(), size: args.size };
    super::image::inspect(ctx, a)
}

#[derive(Args, Debug, Clone, Default)]
pub struct ExistsArgs {
    pub container: String,
    /// Consider external containers (accepted; Warren has none)
    #[arg(long)]
    pub external: bool,
}

/// `container exists`: exit 0 when the container exists, 1 when not.
pub fn exists(ctx: &Context, args: ExistsArgs) -> Result<i32> {
    let state = State::open(&ctx.storage_root)?;
    Ok(if state.lookup(&args.container)?.is_some() { 0 } else { 1 })
}

#[derive(Args, Debug, Clone, Default)]
pub struct RenameArgs {
    pub container: String,
    pub new_name: String,
}

pub fn rename(ctx: &Context, args: RenameArgs) -> Result<i32> {
    let state = State::open(&ctx.storage_root)?;
    let rec = state.get(&args.container)?;
    let new = crate::run::validate_name(&args.new_name)?;
    let _lock = state.lock_container(&rec.id)?;
    if let Some(other) = state.lookup(&new)?.filter(|o| o.name == new) {
        bail!(ExitError::new(
            EXIT_ENGINE,
            format!(
                "error renaming container {}: the container name {new:?} is already in use by {}. You have to remove that container to be able to reuse that name: that name is already in use",
                rec.id, other.id
            )
        ));
    }
    let mut rec = state.get(&rec.id)?;
    rec.name = new;
    state.update(&rec)?;
    Ok(0)
}

#[derive(Args, Debug, Clone, Default)]
pub struct ContainerPruneArgs {
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
    /// Provide filter values (label=, until=)
    #[arg(long)]
    pub filter: Vec<String>,
}

/// `container prune`: remove every container that is not running; print their IDs.
pub fn prune(ctx: &Context, args: ContainerPruneArgs) -> Result<i32> {
    let state = State::open(&ctx.storage_root)?;
    let kept = |c: &crate::state::ContainerRecord| {
        container::is_running(c)
            || crate::pod::is_infra(c)
            || args.filter.iter().any(|f| {
                let (k, v) = f.split_once('=').unwrap_or((f.as_str(), ""));
                match k {
                    "label" => !crate::inspect::has_label(c, v),
                    "label!" => crate::inspect::has_label(c, v),
                    "until" => crate::logs::parse_time(v)
                        .map(|t| crate::format::parse_rfc3339(&c.created).unwrap_or(0) >= t)
                        .unwrap_or(true),
                    _ => true,
                }
            })
    };
    let doomed = container::refresh_all(ctx, &state, state.list()?)?.into_iter().filter(|c| !kept(c));
    Ok(super::for_each(doomed, |c| {
        container::remove(ctx, &state, &c, false, None)?;
        Ok(Some(c.id))
    }))
}

#[derive(Args, Debug, Clone, Default)]
pub struct TopArgs {
    /// Act on the latest container
    #[arg(short, long)]
    pub latest: bool,
    pub container: Option<String>,
    /// ps(1) descriptors (user, pid, ppid, pcpu, etime, tty, time, args, comm, ...); anything else is
    /// passed to ps(1) run in the container
    #[arg(allow_hyphen_values = true, trailing_var_arg = true)]
    pub descriptors: Vec<String>,
}

pub fn top(ctx: &Context, args: TopArgs) -> Result<i32> {
    let state = State::open(&ctx.storage_root)?;
    let name = latest_or(&state, args.latest, args.container.as_deref())?;
    let rec = container::refresh(ctx, &state, state.get(&name)?)?;
    // Descriptors Warren does not know are ps(1) options: run ps in the container, as Podman does.
    let known = |d: &str| d.split(',').all(|x| crate::procs::DESCRIPTORS.iter().any(|(k, _)| *k == x.trim()));
    if !args.descriptors.is_empty() && !args.descriptors.iter().all(|d| known(d)) {
        let mut command = vec!["ps".to_string()];
        command.extend(args.descriptors.iter().cloned());
        let e = ExecArgs { container: Some(rec.id.clone()), command, ..Default::default() };
        return crate::exec::exec(ctx, e);
    }
    print!("{}", crate::procs::top(&rec, &args.descriptors)?);
    Ok(0)
}

/// The container named, or the latest one with `--latest`.
fn latest_or(state: &State, latest: bool, name: Option<&str>) -> Result<String> {
    if latest {
        return state
            .list()?
            .into_iter()
            .last()
            .map(|c| c.id)
            .ok_or_else(|| ExitError::new(EXIT_ENGINE, "no containers to act on").into());
    }
    name.map(str::to_string)
        .ok_or_else(|| ExitError::new(EXIT_ENGINE, "you must provide a container name or ID").into())
}

#[derive(Args, Debug, Clone, Default)]
pub struct StatsArgs {
    pub containers: Vec<String>,
    /// Show all containers (default: only running ones)
    #[arg(short, long)]
    pub all: bool,
    /// Disable streaming stats and only pull the first result
    #[arg(long)]
    pub no_stream: bool,
    /// Do not truncate output
    #[arg(long)]
    pub no_trunc: bool,
    /// Pretty-print container statistics to JSON or using a Go template
    #[arg(long)]
    pub format: Option<String>,
    /// Time in seconds between stats reports
    #[arg(short, long, default_value_t = 5)]
    pub interval: u64,
    /// Act on the latest container
    #[arg(short, long)]
    pub latest: bool,
}

pub fn stats(ctx: &Context, args: StatsArgs) -> Result<i32> {
    crate::procs::stats(ctx, &args)
}

#[derive(Args, Debug, Clone, Default)]
pub struct PauseArgs {
    pub containers: Vec<String>,
    #[arg(short, long)]
    pub all: bool,
    #[arg(short, long)]
    pub latest: bool,
}

pub fn pause(ctx: &Context, args: PauseArgs, freeze: bool) -> Result<i32> {
    let state = State::open(&ctx.storage_root)?;
    let mut names = targets_running(ctx, &state, &args.containers, args.all)?;
    if args.latest {
        names = vec![latest_or(&state, true, None)?];
    }
    Ok(super::for_each(names, |n| {
        crate::procs::pause(ctx, &state, &state.get(&n)?, freeze)?;
        Ok(Some(n))
    }))
}

/// Like [`targets`], but `--all` means the running (or paused) containers only.
fn targets_running(ctx: &Context, state: &State, names: &[String], all: bool) -> Result<Vec<String>> {
    if all {
        let mut v = vec![];
        for c in container::refresh_all(ctx, state, state.list()?)? {
            if container::is_running(&c) {
                v.push(c.id);
            }
        }
        return Ok(v);
    }
    targets(state, names, false)
}

#[derive(Args, Debug, Clone, Default)]
pub struct CpArgs {
    /// Archive mode (accepted: ownership is kept by default)
    #[arg(short, long, default_value_t = true)]
    pub archive: bool,
    /// Allow directories to be overwritten with non-directories and vice versa (accepted)
    #[arg(long)]
    pub overwrite: bool,
    /// SRC: CONTAINER:PATH, a host path, or - (a tar stream on stdin)
    pub src: String,
    /// DEST: CONTAINER:PATH, a host path, or - (a tar stream on stdout)
    pub dest: String,
}

pub fn cp(ctx: &Context, args: CpArgs) -> Result<i32> {
    crate::containerfs::cp(ctx, &args.src, &args.dest)?;
    Ok(0)
}

#[derive(Args, Debug, Clone, Default)]
pub struct DiffArgs {
    pub container: Option<String>,
    /// Change the output format (json)
    #[arg(long)]
    pub format: Option<String>,
    /// Act on the latest container
    #[arg(short, long)]
    pub latest: bool,
}

pub fn diff(ctx: &Context, args: DiffArgs) -> Result<i32> {
    let state = State::open(&ctx.storage_root)?;
    let name = latest_or(&state, args.latest, args.container.as_deref())?;
    let rec = state.get(&name)?;
    let changes = crate::containerfs::diff(ctx, &rec)?;
    match args.format.as_deref() {
        Some("json") => {
            let mut m = serde_json::Map::new();
            for (k, key) in [('A', "added"), ('C', "changed"), ('D', "deleted")] {
                let v: Vec<&String> = changes.iter().filter(|(c, _)| *c == k).map(|(_, p)| p).collect();
                if !v.is_empty() {
                    m.insert(key.into(), serde_json::json!(v));
                }
            }
            println!("{}", serde_json::to_string_pretty(&m)?);
        }
        Some(f) if !f.is_empty() => bail!(ExitError::new(EXIT_ENGINE, format!("unsupported --format {f:?}: use json"))),
        _ => {
            for (k, p) in changes {
                println!("{k} {p}");
            }
        }
    }
    Ok(0)
}

#[derive(Args, Debug, Clone, Default)]
pub struct ExportArgs {
    pub container: String,
    /// Write to a specified file (default: stdout, which must be redirected)
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

pub fn export(ctx: &Context, args: ExportArgs) -> Result<i32> {
    use std::io::IsTerminal;
    if args.output.is_none() && std::io::stdout().is_terminal() {
        bail!(ExitError::new(EXIT_ENGINE, "refusing to export to terminal. Use -o flag or redirect"));
    }
    let state = State::open(&ctx.storage_root)?;
    let rec = state.get(&args.container)?;
    crate::containerfs::export(ctx, &rec, args.output.as_deref())?;
    Ok(0)
}

#[derive(Args, Debug, Clone, Default)]
pub struct MountArgs {
    pub containers: Vec<String>,
    /// Mount all containers
    #[arg(short, long)]
    pub all: bool,
    /// Print the mounted containers' IDs only (with no arguments) / no truncation
    #[arg(long)]
    pub no_trunc: bool,
    #[arg(long)]
    pub format: Option<String>,
    #[arg(short, long)]
    pub latest: bool,
}

#[derive(Args, Debug, Clone, Default)]
pub struct UnmountArgs {
    pub containers: Vec<String>,
    #[arg(short, long)]
    pub all: bool,
    /// Force the unmount even while the container runs (refused: Warren never unmounts a running rootfs)
    #[arg(short, long)]
    pub force: bool,
    #[arg(short, long)]
    pub latest: bool,
}

pub fn mount(ctx: &Context, args: MountArgs) -> Result<i32> {
    crate::containerfs::require_unshare("mount")?;
    let state = State::open(&ctx.storage_root)?;
    if args.containers.is_empty() && !args.all && !args.latest {
        for c in state.list()? {
            let merged = container::storage_dir(ctx, &c.id).join("merged");
            if crate::containerfs::is_mounted(&merged) {
                println!("{}  {}", if args.no_trunc { &c.id[..] } else { &c.id[..12] }, merged.display());
            }
        }
        return Ok(0);
    }
    let names =
        if args.latest { vec![latest_or(&state, true, None)?] } else { targets(&state, &args.containers, args.all)? };
    for n in names {
        let rec = state.get(&n)?;
        let merged = crate::containerfs::mount(ctx, &rec)?;
        if args.all {
            println!("{} {}", rec.id, merged.display());
        } else {
            println!("{}", merged.display());
        }
    }
    Ok(0)
}

pub fn unmount(ctx: &Context, args: UnmountArgs) -> Result<i32> {
    crate::containerfs::require_unshare("unmount")?;
    let state = State::open(&ctx.storage_root)?;
    let names =
        if args.latest { vec![latest_or(&state, true, None)?] } else { targets(&state, &args.containers, args.all)? };
    Ok(super::for_each(names, |n| {
        let rec = state.get(&n)?;
        crate::containerfs::unmount(ctx, &state, &rec)?;
        Ok(Some(rec.id))
    }))
}

#[derive(Args, Debug, Clone, Default)]
pub struct AttachArgs {
    pub container: Option<String>,
    /// Key sequence for detaching (default ctrl-p,ctrl-q)
    #[arg(long, default_value = "ctrl-p,ctrl-q")]
    pub detach_keys: String,
    /// Do not attach STDIN (Warren never attaches it: see docs)
    #[arg(long)]
    pub no_stdin: bool,
    /// Proxy received signals to the container (accepted)
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub sig_proxy: Option<bool>,
    #[arg(short, long)]
    pub latest: bool,
}

pub fn attach(ctx: &Context, args: AttachArgs) -> Result<i32> {
    let state = State::open(&ctx.storage_root)?;
    let name = latest_or(&state, args.latest, args.container.as_deref())?;
    let rec = container::refresh(ctx, &state, state.get(&name)?)?;
    crate::attach::attach(ctx, &state, &rec, &args.detach_keys)
}
