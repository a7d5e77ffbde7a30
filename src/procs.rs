//! The processes of a running container, read from /proc (no cgroup needed): `top`, `stats`, and
//! `pause`/`unpause` (the cgroup v1 freezer, as root only).
//!
//! A container's processes are those in its PID namespace (the namespace of its PID 1). `stats`
//! sums their CPU time, resident memory and block I/O, so it works rootless on cgroup v1 too; a
//! memory limit is shown only when one is enforced (else the host's memory).

use anyhow::{bail, Context as _, Result};
use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::cli::container::StatsArgs;
use crate::container;
use crate::context::Context;
use crate::error::{ExitError, EXIT_ENGINE};
use crate::state::{ContainerRecord, State};

fn user_error(msg: impl Into<String>) -> anyhow::Error {
    ExitError::new(EXIT_ENGINE, msg).into()
}

/// One process of a container.
#[derive(Debug, Clone)]
pub struct Proc {
    pub host_pid: i64,
    /// The pid inside the container's PID namespace.
    pub pid: i64,
    pub ppid: i64,
    pub uid: u32,
    pub gid: u32,
    pub tty_nr: u64,
    /// utime + stime, clock ticks.
    pub cpu_ticks: u64,
    /// Start time, clock ticks after boot.
    pub start_ticks: u64,
    pub rss_bytes: u64,
    pub comm: String,
    pub args: String,
}

fn clk_tck() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 {
        p as u64
    } else {
        4096
    }
}

fn uptime() -> f64 {
    std::fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|x| x.parse().ok()))
        .unwrap_or(0.0)
}

fn read_proc(dir: &Path, host_pid: i64) -> Option<Proc> {
    let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat[open + 1..close].to_string();
    let f: Vec<&str> = stat[close + 2..].split(' ').collect();
    // fields after the comm: 0 state, 1 ppid, ..., 4 tty_nr, 11 utime, 12 stime, 19 starttime, 21 rss
    let num = |i: usize| f.get(i).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0);
    let status = std::fs::read_to_string(dir.join("status")).unwrap_or_default();
    let field = |name: &str| status.lines().find_map(|l| l.strip_prefix(name)).map(str::trim).unwrap_or("");
    let nspid = field("NSpid:").split_whitespace().last().and_then(|x| x.parse().ok()).unwrap_or(host_pid);
    let uid = field("Uid:").split_whitespace().next().and_then(|x| x.parse().ok()).unwrap_or(0);
    let gid = field("Gid:").split_whitespace().next().and_then(|x| x.parse().ok()).unwrap_or(0);
    let cmdline = std::fs::read(dir.join("cmdline")).unwrap_or_default();
    let args = cmdline
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    Some(Proc {
        host_pid,
        pid: nspid,
        ppid: num(1) as i64, // the host ppid; mapped to the namespace's below
        uid,
        gid,
        tty_nr: num(4),
        cpu_ticks: num(11) + num(12),
        start_ticks: num(19),
        rss_bytes: num(21) * page_size(),
        comm,
        args: if args.is_empty() { format!("[{}]", &stat[open + 1..close]) } else { args },
    })
}

/// The processes in the PID namespace of the container's PID 1, sorted by their pid in it.
pub fn container_procs(rec: &ContainerRecord) -> Result<Vec<Proc>> {
    if !container::is_running(rec) {
        bail!(user_error(format!(
            "container {} is not running (state {}): top and stats need a running container: container state improper",
            rec.name, rec.state
        )));
    }
    let target = std::fs::metadata(format!("/proc/{}/ns/pid", rec.pid))
        .with_context(|| format!("reading the PID namespace of container {} (pid {})", rec.name, rec.pid))?;
    let mut procs = vec![];
    for ent in std::fs::read_dir("/proc").context("reading /proc")?.flatten() {
        let Ok(pid) = ent.file_name().to_string_lossy().parse::<i64>() else { continue };
        let Ok(ns) = std::fs::metadata(ent.path().join("ns/pid")) else { continue };
        if ns.ino() != target.ino() || ns.dev() != target.dev() {
            continue;
        }
        if let Some(p) = read_proc(&ent.path(), pid) {
            procs.push(p);
        }
    }
    let ns_of: HashMap<i64, i64> = procs.iter().map(|p| (p.host_pid, p.pid)).collect();
    for p in &mut procs {
        p.ppid = ns_of.get(&p.ppid).copied().unwrap_or(0);
    }
    procs.sort_by_key(|p| p.pid);
    Ok(procs)
}

/// Go's time.Duration String() for a number of seconds, rounded like Podman's top (`0s`, `1.5s`,
/// `2m3.25s`, `1h0m0s`).
pub fn go_duration(secs: f64) -> String {
    if secs <= 0.0 {
        return "0s".into();
    }
    let total_ms = (secs * 1000.0).round() as u64;
    let (h, rem) = (total_ms / 3_600_000, total_ms % 3_600_000);
    let (m, ms) = (rem / 60_000, rem % 60_000);
    let s = format!("{}.{:03}", ms / 1000, ms % 1000);
    let s = s.trim_end_matches('0').trim_end_matches('.').to_string();
    if h > 0 {
        format!("{h}h{m}m{s}s")
    } else if m > 0 {
        format!("{m}m{s}s")
    } else {
        format!("{s}s")
    }
}

fn tty_name(tty_nr: u64) -> String {
    if tty_nr == 0 {
        return "?".into();
    }
    let major = (tty_nr >> 8) & 0xfff;
    let minor = (tty_nr & 0xff) | ((tty_nr >> 12) & 0xfff00);
    match major {
        136..=143 => format!("pts/{}", minor + (major - 136) * 256),
        4 if minor < 64 => format!("tty{minor}"),
        _ => "?".into(),
    }
}

/// Names of uids (or gids) from the container's /etc/passwd (or /etc/group).
fn names_from(root: &Path, file: &str) -> HashMap<u32, String> {
    let p = root.join(file);
    // Never follow a symlink out of the container: only a regular file is read.
    if !std::fs::symlink_metadata(&p).is_ok_and(|m| m.is_file()) {
        return HashMap::new();
    }
    std::fs::read_to_string(&p)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            Some((f.get(2)?.parse().ok()?, f[0].to_string()))
        })
        .collect()
}

/// Podman's `top` descriptors that Warren knows: (descriptor, header).
pub const DESCRIPTORS: &[(&str, &str)] = &[
    ("user", "USER"),
    ("pid", "PID"),
    ("ppid", "PPID"),
    ("pcpu", "%CPU"),
    ("etime", "ELAPSED"),
    ("tty", "TTY"),
    ("time", "TIME"),
    ("args", "COMMAND"),
    ("comm", "COMMAND"),
    ("uid", "UID"),
    ("gid", "GID"),
    ("group", "GROUP"),
    ("huser", "HUSER"),
    ("hpid", "HPID"),
    ("rss", "RSS"),
];

/// `top`: a table of the container's processes.
pub fn top(rec: &ContainerRecord, descriptors: &[String]) -> Result<String> {
    Ok(crate::format::table(&top_rows(rec, descriptors)?))
}

/// The rows of `top` (the header first), for `pod top` to merge several containers.
pub fn top_rows(rec: &ContainerRecord, descriptors: &[String]) -> Result<Vec<Vec<String>>> {
    let mut cols: Vec<String> = descriptors
        .iter()
        .flat_map(|d| d.split(',').map(|s| s.trim().to_lowercase()).collect::<Vec<_>>())
        .filter(|s| !s.is_empty())
        .collect();
    if cols.is_empty() {
        cols = ["user", "pid", "ppid", "pcpu", "etime", "tty", "time", "args"].iter().map(|s| s.to_string()).collect();
    }
    for c in &cols {
        if !DESCRIPTORS.iter().any(|(d, _)| d == c) {
            bail!(user_error(format!(
                "unknown top descriptor {c:?}: Warren supports {}",
                DESCRIPTORS.iter().map(|(d, _)| *d).collect::<Vec<_>>().join(", ")
            )));
        }
    }
    let procs = container_procs(rec)?;
    let root = PathBuf::from(format!("/proc/{}/root", rec.pid));
    let users = names_from(&root, "etc/passwd");
    let groups = names_from(&root, "etc/group");
    let (hz, up) = (clk_tck(), uptime());
    let mut rows = vec![cols.iter().map(|c| DESCRIPTORS.iter().find(|(d, _)| d == c).unwrap().1.to_string()).collect()];
    for p in &procs {
        let elapsed = (up - p.start_ticks as f64 / hz).max(0.0);
        let cpu = p.cpu_ticks as f64 / hz;
        rows.push(
            cols.iter()
                .map(|c| match c.as_str() {
                    "user" => users.get(&p.uid).cloned().unwrap_or_else(|| p.uid.to_string()),
                    "pid" => p.pid.to_string(),
                    "ppid" => p.ppid.to_string(),
                    "pcpu" => format!("{:.3}", if elapsed > 0.0 { cpu / elapsed * 100.0 } else { 0.0 }),
                    "etime" => go_duration(elapsed),
                    "tty" => tty_name(p.tty_nr),
                    "time" => go_duration(cpu),
                    "args" => p.args.clone(),
                    "comm" => p.comm.clone(),
                    "uid" => p.uid.to_string(),
                    "gid" => p.gid.to_string(),
                    "group" => groups.get(&p.gid).cloned().unwrap_or_else(|| p.gid.to_string()),
                    "huser" => host_id(p.host_pid, "uid_map", p.uid).to_string(),
                    "hpid" => p.host_pid.to_string(),
                    "rss" => (p.rss_bytes / 1024).to_string(),
                    _ => String::new(),
                })
                .collect(),
        );
    }
    Ok(rows)
}

/// The host id of `id` as seen by process `pid` (through its user namespace's map).
fn host_id(pid: i64, map: &str, id: u32) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/{map}")).unwrap_or_default();
    for l in text.lines() {
        let f: Vec<u64> = l.split_whitespace().filter_map(|x| x.parse().ok()).collect();
        if f.len() == 3 && (id as u64) >= f[0] && (id as u64) < f[0] + f[2] {
            return f[1] + (id as u64 - f[0]);
        }
    }
    id as u64
}

/// One `stats` sample.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    pub cpu_secs: f64,
    pub elapsed: f64,
    pub mem: u64,
    pub limit: u64,
    pub net_in: u64,
    pub net_out: u64,
    pub block_in: u64,
    pub block_out: u64,
    pub pids: u64,
}

fn mem_total() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines().find_map(|l| {
                l.strip_prefix("MemTotal:").and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            })
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

pub fn sample(rec: &ContainerRecord) -> Result<Sample> {
    let procs = container_procs(rec)?;
    let hz = clk_tck();
    let plan = crate::run::stored_plan(rec).unwrap_or_default();
    let mut s = Sample {
        cpu_secs: procs.iter().map(|p| p.cpu_ticks).sum::<u64>() as f64 / hz,
        mem: procs.iter().map(|p| p.rss_bytes).sum(),
        limit: plan.memory_limit.filter(|m| *m > 0).map(|m| m as u64).unwrap_or_else(mem_total),
        pids: procs.len() as u64,
        ..Default::default()
    };
    s.elapsed = procs
        .iter()
        .find(|p| p.host_pid == rec.pid)
        .map(|p| (uptime() - p.start_ticks as f64 / hz).max(0.0))
        .unwrap_or(0.0);
    for p in &procs {
        let io = std::fs::read_to_string(format!("/proc/{}/io", p.host_pid)).unwrap_or_default();
        for l in io.lines() {
            if let Some(v) = l.strip_prefix("read_bytes:") {
                s.block_in += v.trim().parse::<u64>().unwrap_or(0);
            } else if let Some(v) = l.strip_prefix("write_bytes:") {
                s.block_out += v.trim().parse::<u64>().unwrap_or(0);
            }
        }
    }
    let dev = std::fs::read_to_string(format!("/proc/{}/net/dev", rec.pid)).unwrap_or_default();
    for l in dev.lines().skip(2) {
        let Some((iface, rest)) = l.split_once(':') else { continue };
        if iface.trim() == "lo" {
            continue;
        }
        let f: Vec<u64> = rest.split_whitespace().filter_map(|x| x.parse().ok()).collect();
        if f.len() >= 9 {
            s.net_in += f[0];
            s.net_out += f[8];
        }
    }
    Ok(s)
}

fn size(b: u64) -> String {
    crate::format::human_size(b)
}

/// `stats`: CPU, memory, I/O and pids of running containers, from /proc.
pub fn stats(ctx: &Context, args: &StatsArgs) -> Result<i32> {
    let state = State::open(&ctx.storage_root)?;
    loop {
        let mut recs = vec![];
        if args.latest {
            recs.extend(state.list()?.into_iter().last());
        } else if args.containers.is_empty() {
            recs = state.list()?;
        } else {
            for n in &args.containers {
                recs.push(state.get(n)?);
            }
        }
        let mut rows = vec![];
        for rec in recs {
            let rec = container::refresh(ctx, &state, rec)?;
            let running = container::is_running(&rec);
            if !running && !args.all && args.containers.is_empty() {
                continue;
            }
            if !running && !args.containers.is_empty() && !args.all {
                bail!(user_error(format!(
                    "container {} is not running: stats needs a running container (or --all): container state improper",
                    rec.name
                )));
            }
            let s = if running { sample(&rec)? } else { Sample::default() };
            let cpu_pct = if s.elapsed > 0.0 { s.cpu_secs / s.elapsed * 100.0 } else { 0.0 };
            let mem_pct = if s.limit > 0 { s.mem as f64 / s.limit as f64 * 100.0 } else { 0.0 };
            rows.push(serde_json::json!({
                "ID": if args.no_trunc { rec.id.clone() } else { rec.id[..12].to_string() },
                "ContainerID": rec.id,
                "Name": rec.name,
                "CPUPerc": format!("{cpu_pct:.2}%"),
                "CPU": cpu_pct,
                "AVGCPU": format!("{cpu_pct:.2}%"),
                "MemUsage": format!("{} / {}", size(s.mem), size(s.limit)),
                "MemUsageBytes": format!("{} / {}", s.mem, s.limit),
                "MemPerc": format!("{mem_pct:.2}%"),
                "MemLimit": s.limit,
                "NetIO": format!("{} / {}", size(s.net_in), size(s.net_out)),
                "BlockIO": format!("{} / {}", size(s.block_in), size(s.block_out)),
                "PIDs": s.pids,
                "PIDS": s.pids.to_string(),
                "CPUTime": go_duration(s.cpu_secs),
                "CPUNano": (s.cpu_secs * 1e9) as u64,
                "UpTime": go_duration(s.elapsed),
            }));
        }
        match args.format.as_deref() {
            Some("json") => println!("{}", serde_json::to_string_pretty(&rows)?),
            Some(t) if !t.is_empty() => {
                for r in &rows {
                    println!("{}", crate::format::render_simple(t, r)?);
                }
            }
            _ => {
                let mut out = vec![[
                    "ID",
                    "NAME",
                    "CPU %",
                    "MEM USAGE / LIMIT",
                    "MEM %",
                    "NET IO",
                    "BLOCK IO",
                    "PIDS",
                    "CPU TIME",
                    "AVG CPU %",
                ]
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()];
                for r in &rows {
                    out.push(
                        [
                            "ID", "Name", "CPUPerc", "MemUsage", "MemPerc", "NetIO", "BlockIO", "PIDS", "CPUTime",
                            "AVGCPU",
                        ]
                        .iter()
                        .map(|k| r[*k].as_str().map(str::to_string).unwrap_or_else(|| r[*k].to_string()))
                        .collect(),
                    );
                }
                print!("{}", crate::format::table(&out));
            }
        }
        if args.no_stream {
            return Ok(0);
        }
        std::thread::sleep(std::time::Duration::from_secs(args.interval.max(1)));
    }
}

const FREEZER: &str = "/sys/fs/cgroup/freezer";

fn freezer_dir(id: &str) -> PathBuf {
    Path::new(FREEZER).join("warren").join(id)
}

/// `pause` (freeze) or `unpause` (thaw) a running container with the cgroup v1 freezer. Rootless,
/// Warren has no cgroup it may write to on cgroup v1 (and creates none on v2 yet): a clear error.
pub fn pause(ctx: &Context, state: &State, rec: &ContainerRecord, freeze: bool) -> Result<()> {
    let verb = if freeze { "pause" } else { "unpause" };
    let rec = container::refresh(ctx, state, rec.clone())?;
    if !container::is_running(&rec) {
        bail!(user_error(format!("\"{}\" is not running, can't {verb}: container state improper", rec.name)));
    }
    if freeze && rec.state == "paused" {
        bail!(user_error(format!("\"{}\" is already paused: container state improper", rec.name)));
    }
    if !freeze && rec.state != "paused" {
        bail!(user_error(format!("\"{}\" is not paused, can't unpause: container state improper", rec.name)));
    }
    if ctx.rootless {
        bail!(user_error(format!(
            "cannot {verb} container {}: pausing needs the cgroup freezer, and rootless containers have no cgroup \
             Warren can write to on this host ({}). See docs/rootless.md, \"Containers: pause and stats\"",
            rec.name,
            if std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
                "cgroup v2 delegation is not used by Warren yet"
            } else {
                "cgroup v1 has no delegation to unprivileged users"
            }
        )));
    }
    if !Path::new(FREEZER).join("freezer.state").exists() && !Path::new(FREEZER).join("cgroup.procs").exists() {
        bail!(user_error(format!(
            "cannot {verb} container {}: this host has no cgroup v1 freezer at {FREEZER}",
            rec.name
        )));
    }
    let dir = freezer_dir(&rec.id);
    if freeze {
        std::fs::create_dir_all(&dir).with_context(|| format!("creating the freezer cgroup {}", dir.display()))?;
        for p in container_procs(&rec)? {
            let _ = std::fs::write(dir.join("cgroup.procs"), p.host_pid.to_string());
        }
    }
    let want = if freeze { "FROZEN" } else { "THAWED" };
    std::fs::write(dir.join("freezer.state"), want)
        .with_context(|| format!("writing {want} to {}", dir.join("freezer.state").display()))?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::fs::read_to_string(dir.join("freezer.state")).unwrap_or_default().trim() != want {
        if std::time::Instant::now() > deadline {
            bail!("container {}: the freezer did not reach {want} within 10s", rec.name);
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let _lock = state.lock_container(&rec.id)?;
    let mut fresh = state.get(&rec.id)?;
    fresh.state = if freeze { "paused".into() } else { "running".into() };
    state.update(&fresh)?;
    Ok(())
}

/// Thaw a paused container (before a signal must reach it) and drop its freezer cgroup once empty.
pub fn thaw(rec: &ContainerRecord) {
    let dir = freezer_dir(&rec.id);
    if dir.exists() {
        let _ = std::fs::write(dir.join("freezer.state"), "THAWED");
    }
}

/// Remove the container's freezer cgroup (it must be empty: after the container exited).
pub fn remove_freezer(id: &str) {
    let _ = std::fs::remove_dir(freezer_dir(id));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(go_duration(0.0), "0s");
        assert_eq!(go_duration(1.5), "1.5s");
        assert_eq!(go_duration(10.436), "10.436s");
        assert_eq!(go_duration(123.25), "2m3.25s");
        assert_eq!(go_duration(3600.0), "1h0m0s");
    }

    #[test]
    fn tty_names() {
        assert_eq!(tty_name(0), "?");
        assert_eq!(tty_name(136 << 8), "pts/0");
        assert_eq!(tty_name((136 << 8) | 5), "pts/5");
    }
}
