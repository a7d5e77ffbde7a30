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
    /// Run the container in the background and print the container ID (not supported yet)
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
    /// Filter output based on conditions given (status=, name=, id=, label=, ancestor=, exited=)
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
}

#[derive(Args, Debug, Clone, Default)]
pub struct StopArgs {
    pub containers: Vec<String>,
    /// Stop all running containers
    #[arg(short, long)]
    pub all: bool,
    /// Seconds to wait for stop before killing the container
    #[arg(short = 't', long = "time", alias = "timeout", default_value_t = 10)]
    pub time: u64,
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
}

#[derive(Args, Debug, Clone, Default)]
pub struct WaitArgs {
    #[arg(required = true)]
    pub containers: Vec<String>,
    /// Condition to wait on: stopped, exited, running
    #[arg(long, default_value = "stopped")]
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

pub fn ps(ctx: &Context, args: PsArgs) -> Result<i32> {
    let state = State::open(&ctx.storage_root)?;
    let mut list = vec![];
    for c in state.list()? {
        list.push(container::refresh(ctx, &state, c)?);
    }
    if !args.all && !args.latest && args.last.is_none() {
        list.retain(|c| c.state == "running" || c.state == "paused");
    }
    for f in &args.filter {
        let (k, v) = f.split_once('=').unwrap_or((f.as_str(), ""));
        list.retain(|c| match k {
            "status" => c.state == v || (v == "exited" && c.state == "stopped"),
            "name" => c.name.contains(v),
            "id" => c.id.starts_with(v),
            "ancestor" => c.image_name.contains(v) || c.image_id.contains(v),
            "exited" => c.exit_code.map(|x| x.to_string()) == Some(v.to_string()),
            "label" => c.config["Labels"].as_array().is_some_and(|ls| {
                ls.iter().filter_map(|l| l.as_str()).any(|l| l == v || l.split('=').next() == Some(v))
            }),
            _ => true,
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
    let rows: Vec<serde_json::Value> = list.iter().map(|c| ps_json(c, args.no_trunc)).collect();
    match args.format.as_deref() {
        Some("json") => {
            // JSON has the ports as objects, like Podman; templates and the table show the text.
            let mut rows = rows.clone();
            for (r, c) in rows.iter_mut().zip(&list) {
                r["Ports"] = serde_json::to_value(crate::network::ports_of(c))?;
            }
            println!("{}", serde_json::to_string_pretty(&rows)?)
        }
        Some(t) => {
            for r in &rows {
                println!("{}", crate::format::render_simple(t, r));
            }
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
            }
            for (c, r) in list.iter().zip(&rows) {
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
            }
            print!("{}", crate::format::table(&out));
        }
    }
    Ok(0)
}

fn ps_json(c: &crate::state::ContainerRecord, no_trunc: bool) -> serde_json::Value {
    let cmd: Vec<String> = c.config["Cmd"]
        .as_array()
        .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    serde_json::json!({
        "ID": if no_trunc { c.id.clone() } else { c.id[..12].to_string() },
        "Id": c.id,
        "Image": c.image_name,
        "ImageID": c.image_id,
        "Command": cmd.join(" "),
        "Names": c.name,
        "Created": c.created,
        "CreatedAt": c.created,
        "State": c.state,
        "Status": container::status_line(c),
        "ExitCode": c.exit_code.unwrap_or(0),
        "Exited": c.state == "exited",
        "Pid": c.pid,
        "Ports": crate::network::ps_ports(c),
        "Labels": c.config["Labels"],
    })
}

pub fn stop(ctx: &Context, args: StopArgs) -> Result<i32> {
    let state = State::open(&ctx.storage_root)?;
    let all = args.all;
    let names = targets(&state, &args.containers, all)?;
    let mut failed = None;
    for n in names {
        let r = state.get(&n).and_then(|rec| container::stop(ctx, &state, &rec, args.time).map(|_| ()));
        match r.or_else(|e| no_such(e, args.ignore)) {
            Ok(()) => {
                if !all {
                    println!("{n}");
                }
            }
            Err(e) => {
                eprintln!("Error: {e:#}");
                failed = Some(crate::error::exit_code_of(&e));
            }
        }
    }
    Ok(failed.unwrap_or(0))
}

pub fn kill(ctx: &Context, args: KillArgs) -> Result<i32> {
    let state = State::open(&ctx.storage_root)?;
    let sig = container::parse_signal(&args.signal)?;
    let mut failed = None;
    for n in targets(&state, &args.containers, args.all)? {
        let r = state
            .get(&n)
            .and_then(|rec| container::refresh(ctx, &state, rec))
            .and_then(|rec| container::kill(&rec, sig));
        match r {
            Ok(()) => println!("{n}"),
            Err(e) => {
                eprintln!("Error: {e:#}");
                failed = Some(crate::error::exit_code_of(&e));
            }
        }
    }
    Ok(failed.unwrap_or(0))
}

pub fn rm(ctx: &Context, args: RmArgs) -> Result<i32> {
    let state = State::open(&ctx.storage_root)?;
    let mut failed = None;
    for n in targets(&state, &args.containers, args.all)? {
        let r = state.get(&n).and_then(|rec| {
            if let (Some(t), true) = (args.time, container::is_running(&rec)) {
                container::stop(ctx, &state, &rec, t)?;
            }
            container::remove(ctx, &state, &rec, args.force)
        });
        match r.or_else(|e| no_such(e, args.ignore)) {
            Ok(()) => println!("{n}"),
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

pub fn wait(ctx: &Context, args: WaitArgs) -> Result<i32> {
    let state = State::open(&ctx.storage_root)?;
    for n in &args.containers {
        let rec = state.get(n)?;
        let rec = if args.condition.iter().any(|c| c == "running") {
            loop {
                let r = container::refresh(ctx, &state, state.get(&rec.id)?)?;
                if r.state == "running" || r.state == "exited" {
                    break r;
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        } else {
            container::wait_exited(ctx, &state, &rec.id, None)?
        };
        println!("{}", rec.exit_code.unwrap_or(0));
    }
    Ok(0)
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
    let show_names = args.names || recs.len() > 1;
    let opts = crate::logs::LogOptions {
        follow: args.follow,
        tail: args.tail.filter(|t| *t >= 0).map(|t| t as usize),
        since: args.since.as_deref().map(crate::logs::parse_time).transpose()?,
        until: args.until.as_deref().map(crate::logs::parse_time).transpose()?,
        timestamps: args.timestamps,
    };
    for rec in &recs {
        let prefix = if show_names { Some(rec.name.as_str()) } else { None };
        crate::logs::print(ctx, &state, rec, prefix, &opts)?;
    }
    Ok(0)
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
    /// Seconds to wait for stop before killing the container
    #[arg(short = 't', long = "time", default_value_t = 10)]
    pub time: u64,
}

pub fn create(ctx: &Context, args: RunArgs) -> Result<i32> {
    let store = crate::storage::Store::open(ctx)?;
    let state = State::open(&store.root)?;
    let (rec, _) = crate::run::create(ctx, &store, &state, &args)?;
    println!("{}", rec.id);
    Ok(0)
}

/// Clear the "stopped by the user" mark before a (re)start.
fn mark_started(state: &State, id: &str) -> Result<crate::state::ContainerRecord> {
    let mut rec = state.get(id)?;
    rec.config["StoppedByUser"] = false.into();
    state.update(&rec)?;
    Ok(rec)
}

pub fn start(ctx: &Context, args: StartArgs) -> Result<i32> {
    let state = State::open(&ctx.storage_root)?;
    let names = targets(&state, &args.containers, args.all)?;
    if args.attach && names.len() > 1 {
        bail!(ExitError::new(EXIT_ENGINE, "you cannot start and attach multiple containers at once"));
    }
    for n in names {
        let rec = container::refresh(ctx, &state, state.get(&n)?)?;
        if container::is_running(&rec) {
            println!("{n}");
            continue;
        }
        let mut rec = mark_started(&state, &rec.id)?;
        if args.attach {
            let plan = crate::run::stored_plan(&rec)?;
            return crate::run::start_foreground(ctx, &state, &mut rec, &plan, args.interactive);
        }
        crate::run::start_detached(ctx, &state, &rec)?;
        println!("{n}");
    }
    Ok(0)
}

pub fn restart(ctx: &Context, args: RestartArgs) -> Result<i32> {
    let state = State::open(&ctx.storage_root)?;
    for n in targets(&state, &args.containers, args.all)? {
        let rec = state.get(&n)?;
        container::stop(ctx, &state, &rec, args.time)?;
        let rec = mark_started(&state, &rec.id)?;
        crate::run::start_detached(ctx, &state, &rec)?;
        println!("{}", rec.id);
    }
    Ok(0)
}
