//! `volume create|ls|inspect|rm|prune|exists`.

use anyhow::{bail, Result};
use clap::{Args, Subcommand};

use crate::context::Context;
use crate::error::{ExitError, EXIT_ENGINE};
use crate::state::State;
use crate::volume::{self, VolumeRecord};

#[derive(Subcommand, Debug)]
pub enum VolumeCommand {
    /// Create a new volume
    Create(CreateArgs),
    /// List volumes
    #[command(alias = "list")]
    Ls(LsArgs),
    /// Display detailed information on one or more volumes
    Inspect(InspectArgs),
    /// Remove one or more volumes
    #[command(alias = "remove")]
    Rm(RmArgs),
    /// Remove all unused volumes
    Prune(PruneArgs),
    /// Check if the given volume exists
    Exists(ExistsArgs),
}

impl VolumeCommand {
    /// Creating and removing volume data happens in the engine namespace (container root owns it).
    pub fn needs_userns(&self) -> bool {
        matches!(self, VolumeCommand::Create(_) | VolumeCommand::Rm(_) | VolumeCommand::Prune(_))
    }
}

#[derive(Args, Debug, Clone, Default)]
pub struct CreateArgs {
    /// Volume name (default: a random ID)
    pub name: Option<String>,
    /// Volume driver name
    #[arg(short, long)]
    pub driver: Option<String>,
    /// Set driver specific options (uid=, gid=, o=uid=..,gid=.., nocopy)
    #[arg(short, long = "opt")]
    pub opt: Vec<String>,
    /// Set metadata for a volume (e.g., --label mykey=value)
    #[arg(short, long)]
    pub label: Vec<String>,
    /// Don't fail if volume already exists
    #[arg(long)]
    pub ignore: bool,
}

#[derive(Args, Debug, Clone, Default)]
pub struct LsArgs {
    /// Filter volume output (name=, driver=, label=, dangling=, anonymous=)
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// Format volume output using JSON or a Go template
    #[arg(long)]
    pub format: Option<String>,
    /// Do not print headers
    #[arg(long)]
    pub noheading: bool,
    /// Print volume output in quiet mode
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Args, Debug, Clone, Default)]
pub struct InspectArgs {
    pub names: Vec<String>,
    /// Inspect all volumes
    #[arg(short, long)]
    pub all: bool,
    /// Format volume output using JSON or a Go template
    #[arg(short, long)]
    pub format: Option<String>,
}

#[derive(Args, Debug, Clone, Default)]
pub struct RmArgs {
    pub names: Vec<String>,
    /// Remove all volumes
    #[arg(short, long)]
    pub all: bool,
    /// Remove a volume by force, removing the containers that use it first
    #[arg(short, long)]
    pub force: bool,
    /// Seconds to wait for a container to stop before killing it (accepted for compatibility)
    #[arg(short = 't', long = "time")]
    pub time: Option<u64>,
}

#[derive(Args, Debug, Clone, Default)]
pub struct PruneArgs {
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
    /// Provide filter values (label=, label!=, name=, driver=)
    #[arg(long)]
    pub filter: Vec<String>,
}

#[derive(Args, Debug, Clone, Default)]
pub struct ExistsArgs {
    pub name: String,
}

pub fn volume(ctx: &Context, cmd: VolumeCommand) -> Result<i32> {
    let state = State::open(&ctx.storage_root)?;
    match cmd {
        VolumeCommand::Create(a) => create(ctx, &state, a),
        VolumeCommand::Ls(a) => ls(ctx, &state, a),
        VolumeCommand::Inspect(a) => inspect(ctx, &state, a),
        VolumeCommand::Rm(a) => rm(ctx, &state, a),
        VolumeCommand::Prune(a) => prune(ctx, &state, a),
        VolumeCommand::Exists(a) => Ok(if volume::lookup(&state, &a.name)?.is_some() { 0 } else { 1 }),
    }
}

fn create(ctx: &Context, state: &State, a: CreateArgs) -> Result<i32> {
    let opts = volume::CreateOptions {
        driver: a.driver,
        options: a.opt,
        labels: a.label,
        anonymous: false,
        ignore_existing: a.ignore,
    };
    let v = volume::create(ctx, state, a.name.as_deref(), &opts)?;
    println!("{}", v.name);
    Ok(0)
}

/// Podman's volume filters: name, driver, label (KEY or KEY=VALUE), label!, dangling, anonymous, opt.
fn filter_matches(state: &State, v: &VolumeRecord, filters: &[String]) -> Result<bool> {
    for f in filters {
        let (k, val) = f.split_once('=').unwrap_or((f.as_str(), ""));
        let label_has = |val: &str| {
            let (lk, lv) = val.split_once('=').unwrap_or((val, ""));
            v.labels.get(lk).is_some_and(|x| lv.is_empty() || x == lv)
        };
        let ok = match k {
            "name" => v.name == val || v.name.contains(val),
            "driver" => v.driver == val,
            "label" => label_has(val),
            "label!" => !label_has(val),
            "opt" => {
                let (ok_, ov) = val.split_once('=').unwrap_or((val, ""));
                v.options.get(ok_).is_some_and(|x| ov.is_empty() || x == ov)
            }
            "scope" => val == "local",
            "anonymous" => v.anonymous == (val == "true" || val == "1"),
            "dangling" => {
                let unused = volume::users(state, &v.name)?.is_empty();
                match val {
                    "true" | "1" => unused,
                    "false" | "0" => !unused,
                    _ => bail!(ExitError::new(
                        EXIT_ENGINE,
                        format!("invalid filter {f:?}: dangling takes true or false")
                    )),
                }
            }
            _ => bail!(ExitError::new(
                EXIT_ENGINE,
                format!("invalid filter {f:?}: expected name, driver, label, label!, opt, scope, anonymous, dangling")
            )),
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

fn ls(ctx: &Context, state: &State, a: LsArgs) -> Result<i32> {
    let mut vols = vec![];
    for v in volume::list(state)? {
        if filter_matches(state, &v, &a.filter)? {
            vols.push(v);
        }
    }
    if a.quiet {
        for v in &vols {
            println!("{}", v.name);
        }
        return Ok(0);
    }
    let rows: Vec<serde_json::Value> = vols.iter().map(|v| volume::inspect_json(ctx, state, v)).collect();
    let format = a.format.clone().unwrap_or_else(|| "table {{.Driver}}\t{{.Name}}".into());
    let header = |f: &str| (f == "Name").then(|| "VOLUME NAME".to_string());
    print!("{}", crate::format::render_rows(&format, &rows, a.noheading, &header)?);
    Ok(0)
}

fn inspect(ctx: &Context, state: &State, a: InspectArgs) -> Result<i32> {
    let names: Vec<String> = if a.all {
        volume::list(state)?.into_iter().map(|v| v.name).collect()
    } else {
        if a.names.is_empty() {
            bail!(ExitError::new(EXIT_ENGINE, "provide one or more volume names or use --all"));
        }
        a.names.clone()
    };
    let mut out = vec![];
    let mut failed = None;
    for n in &names {
        match volume::get(state, n) {
            Ok(v) => out.push(volume::inspect_json(ctx, state, &v)),
            Err(e) => {
                eprintln!("Error: {e:#}");
                failed = Some(crate::error::exit_code_of(&e));
            }
        }
    }
    match a.format.as_deref() {
        None | Some("json") => println!("{}", serde_json::to_string_pretty(&out)?),
        Some(t) => {
            let tpl = crate::format::Template::parse(t)?;
            for v in &out {
                let s = tpl.render(v)?;
                println!("{}", s.trim_end_matches('\n'));
            }
        }
    }
    Ok(failed.unwrap_or(0))
}

fn rm(ctx: &Context, state: &State, a: RmArgs) -> Result<i32> {
    let names: Vec<String> = if a.all {
        volume::list(state)?.into_iter().map(|v| v.name).collect()
    } else {
        if a.names.is_empty() {
            bail!(ExitError::new(EXIT_ENGINE, "choose either one or more volumes or all"));
        }
        a.names.clone()
    };
    let mut failed = None;
    for n in names {
        match volume::remove(ctx, state, &n, a.force) {
            Ok(()) => println!("{n}"),
            Err(e) => {
                eprintln!("Error: {e:#}");
                // Podman: 1 for a missing volume, 2 for one in use, 125 otherwise.
                let msg = format!("{e:#}");
                failed = Some(if msg.contains("no such volume") {
                    1
                } else if msg.contains("volume is being used") {
                    2
                } else {
                    crate::error::exit_code_of(&e)
                });
            }
        }
    }
    Ok(failed.unwrap_or(0))
}

fn prune(ctx: &Context, state: &State, a: PruneArgs) -> Result<i32> {
    // Validate the filters before asking anything.
    for v in volume::list(state)?.iter().take(1) {
        filter_matches(state, v, &a.filter)?;
    }
    if !a.force {
        use std::io::{BufRead, Write};
        println!(
            "WARNING! This will remove all volumes not used by at least one container. The following volumes will be removed:"
        );
        for v in volume::list(state)? {
            if volume::users(state, &v.name)?.is_empty() && filter_matches(state, &v, &a.filter)? {
                println!("{}", v.name);
            }
        }
        print!("Are you sure you want to continue? [y/N] ");
        std::io::stdout().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim().to_lowercase().as_str(), "y" | "yes") {
            return Ok(0);
        }
    }
    let keep = |v: &VolumeRecord| !filter_matches(state, v, &a.filter).unwrap_or(false);
    for n in volume::prune(ctx, state, &keep)? {
        println!("{n}");
    }
    Ok(0)
}
