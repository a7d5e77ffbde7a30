//! Resource limits (`linux.resources`: memory, cpu quota, pids) through cgroupfs, only when the spec
//! asks for some: a run without limits never touches cgroups.
//!
//! The container's cgroup is `linux.cgroupsPath` (absolute, relative to each hierarchy's root) or
//! `/warren/ID`. cgroup v2 (a `cgroup.controllers` at /sys/fs/cgroup): one directory, the controllers
//! enabled on the way down. cgroup v1 (including hybrid hosts): one directory per controller used. The
//! parent runtime creates it, writes the limits and moves the container's process in before it runs;
//! the directories are removed after the container exited.

use oci_spec::runtime::{LinuxResources, Spec};
use std::path::{Path, PathBuf};

const ROOT: &str = "/sys/fs/cgroup";

/// The cgroup directories made for one container, removed on [`Cgroup::remove`].
pub struct Cgroup {
    dirs: Vec<PathBuf>,
}

fn write(path: &Path, value: &str) -> Result<(), String> {
    std::fs::write(path, value).map_err(|e| format!("write {value:?} to {}: {e}", path.display()))
}

fn mkdir(path: &Path) -> Result<(), String> {
    std::fs::create_dir_all(path).map_err(|e| {
        let hint = match e.raw_os_error() {
            Some(libc::EACCES) | Some(libc::EPERM) | Some(libc::EROFS) => {
                " (without root, limits need cgroup v2 with a cgroup delegated to you; see docs/rootless.md, \"Resource limits\")"
            }
            _ => "",
        };
        format!("create cgroup {}: {e}{hint}", path.display())
    })
}

/// What a resources section asks of each v1 controller: (controller, file, value).
fn v1_settings(r: &LinuxResources) -> Vec<(&'static str, &'static str, String)> {
    let mut v = Vec::new();
    if let Some(limit) = r.memory().as_ref().and_then(|m| m.limit()) {
        v.push(("memory", "memory.limit_in_bytes", limit.to_string()));
    }
    if let Some(cpu) = r.cpu() {
        if let Some(period) = cpu.period() {
            v.push(("cpu", "cpu.cfs_period_us", period.to_string()));
        }
        if let Some(quota) = cpu.quota() {
            v.push(("cpu", "cpu.cfs_quota_us", quota.to_string()));
        }
    }
    if let Some(p) = r.pids() {
        let limit = if p.limit() <= 0 { "max".to_string() } else { p.limit().to_string() };
        v.push(("pids", "pids.max", limit));
    }
    v
}

/// The same for the unified hierarchy: (controller, file, value).
fn v2_settings(r: &LinuxResources) -> Vec<(&'static str, &'static str, String)> {
    let mut v = Vec::new();
    if let Some(limit) = r.memory().as_ref().and_then(|m| m.limit()) {
        v.push(("memory", "memory.max", if limit < 0 { "max".into() } else { limit.to_string() }));
    }
    if let Some(cpu) = r.cpu() {
        if cpu.quota().is_some() || cpu.period().is_some() {
            let quota = cpu.quota().filter(|q| *q > 0).map(|q| q.to_string()).unwrap_or_else(|| "max".into());
            v.push(("cpu", "cpu.max", format!("{quota} {}", cpu.period().unwrap_or(100_000))));
        }
    }
    if let Some(p) = r.pids() {
        v.push(("pids", "pids.max", if p.limit() <= 0 { "max".into() } else { p.limit().to_string() }));
    }
    v
}

/// Put `pid` in a new cgroup with the spec's limits; None when the spec asks for none.
pub fn apply(spec: &Spec, id: &str, pid: i32) -> Result<Option<Cgroup>, String> {
    let Some(r) = spec.linux().as_ref().and_then(|l| l.resources().as_ref()) else { return Ok(None) };
    let rel = spec
        .linux()
        .as_ref()
        .and_then(|l| l.cgroups_path().clone())
        .map(|p| p.display().to_string())
        .filter(|p| !p.is_empty() && !p.contains(':'))
        .unwrap_or_else(|| format!("/warren/{id}"));
    let rel = rel.trim_start_matches('/').to_string();
    let root = Path::new(ROOT);
    let mut cg = Cgroup { dirs: Vec::new() };
    let result = if root.join("cgroup.controllers").exists() {
        apply_v2(&mut cg, root, &rel, r, pid)
    } else {
        apply_v1(&mut cg, root, &rel, r, pid)
    };
    match result {
        Ok(()) => Ok(Some(cg)),
        Err(e) => {
            cg.remove();
            Err(e)
        }
    }
}

fn apply_v1(cg: &mut Cgroup, root: &Path, rel: &str, r: &LinuxResources, pid: i32) -> Result<(), String> {
    let settings = v1_settings(r);
    let mut controllers: Vec<&str> = settings.iter().map(|(c, _, _)| *c).collect();
    controllers.dedup();
    for c in controllers {
        let hier = root.join(c);
        if !hier.join("cgroup.procs").exists() {
            return Err(format!("the cgroup v1 {c} controller is not mounted at {}", hier.display()));
        }
        let dir = hier.join(rel);
        mkdir(&dir)?;
        cg.dirs.push(dir.clone());
        for (_, file, value) in settings.iter().filter(|(cc, _, _)| *cc == c) {
            write(&dir.join(file), value)?;
        }
        write(&dir.join("cgroup.procs"), &pid.to_string())?;
    }
    Ok(())
}

fn apply_v2(cg: &mut Cgroup, root: &Path, rel: &str, r: &LinuxResources, pid: i32) -> Result<(), String> {
    let settings = v2_settings(r);
    let mut wanted: Vec<&str> = settings.iter().map(|(c, _, _)| *c).collect();
    wanted.dedup();
    // Enable the controllers in every ancestor's subtree_control, creating the directories.
    let mut dir = root.to_path_buf();
    let parts: Vec<&str> = rel.split('/').filter(|p| !p.is_empty()).collect();
    for part in &parts {
        let enable: String = wanted.iter().map(|c| format!("+{c} ")).collect();
        write(&dir.join("cgroup.subtree_control"), enable.trim())?;
        dir = dir.join(part);
        if !dir.exists() {
            mkdir(&dir)?;
            // Remove what we created, deepest first.
            cg.dirs.insert(0, dir.clone());
        }
    }
    for (_, file, value) in &settings {
        write(&dir.join(file), value)?;
    }
    write(&dir.join("cgroup.procs"), &pid.to_string())
}

impl Cgroup {
    /// Remove the container's cgroup directories (best effort: the kernel refuses while a process of
    /// the container is still exiting, so retry briefly). Shared parents (`/warren`) are kept.
    pub fn remove(&self) {
        for dir in &self.dirs {
            if dir.file_name().is_some_and(|n| n == "warren") {
                continue;
            }
            for _ in 0..50 {
                match std::fs::remove_dir(dir) {
                    Ok(()) => break,
                    Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                        std::thread::sleep(std::time::Duration::from_millis(10))
                    }
                    Err(e) => {
                        tracing::debug!("remove cgroup {}: {e}", dir.display());
                        break;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::{LinuxCpuBuilder, LinuxMemoryBuilder, LinuxPidsBuilder, LinuxResourcesBuilder};

    #[test]
    fn settings_for_both_hierarchies() {
        let r = LinuxResourcesBuilder::default()
            .memory(LinuxMemoryBuilder::default().limit(1024i64).build().unwrap())
            .cpu(LinuxCpuBuilder::default().quota(50_000i64).period(100_000u64).build().unwrap())
            .pids(LinuxPidsBuilder::default().limit(10i64).build().unwrap())
            .build()
            .unwrap();
        let v1: Vec<_> = v1_settings(&r).into_iter().map(|(c, f, v)| format!("{c}/{f}={v}")).collect();
        assert_eq!(
            v1,
            [
                "memory/memory.limit_in_bytes=1024",
                "cpu/cpu.cfs_period_us=100000",
                "cpu/cpu.cfs_quota_us=50000",
                "pids/pids.max=10"
            ]
        );
        let v2: Vec<_> = v2_settings(&r).into_iter().map(|(c, f, v)| format!("{c}/{f}={v}")).collect();
        assert_eq!(v2, ["memory/memory.max=1024", "cpu/cpu.max=50000 100000", "pids/pids.max=10"]);
    }
}
