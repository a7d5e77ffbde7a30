//! The network stage of the pipeline. At create: the mode (`--network`, or the default: pasta, then
//! slirp4netns), the published ports (free host ports assigned, every host port checked by binding it
//! briefly, so a taken port fails before anything starts) and the name-resolution options. At start
//! ([`setup`], in the monitor): the container's network namespace file and its launcher; what was set up
//! is kept in the record (`config.NetworkState`) so that [`teardown`], run by `container::cleanup` in any
//! process, can undo it. Then /etc/hosts, /etc/resolv.conf and /etc/hostname ([`etc_files`]).

use anyhow::{bail, Context as _, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

use crate::context::Context;
use crate::error::{ExitError, EXIT_ENGINE};
use crate::plan::{ContainerPlan, ImageRunConfig, MountPlan, NetworkMode};
use crate::state::{ContainerRecord, State};
use net::PortMapping;

fn user_error(msg: impl std::fmt::Display) -> anyhow::Error {
    ExitError::new(EXIT_ENGINE, msg.to_string()).into()
}

/// The network options of `run`/`create`.
#[derive(Debug, Clone, Default)]
pub struct NetworkArgs<'a> {
    pub network: Option<&'a str>,
    pub publish: &'a [String],
    pub publish_all: bool,
    pub expose: &'a [String],
    pub dns: &'a [String],
    pub dns_search: &'a [String],
    pub dns_option: &'a [String],
    pub add_host: &'a [String],
    pub no_hosts: bool,
}

/// What `create` decides about the network (stored in the plan).
#[derive(Debug, Clone, Default)]
pub struct NetworkPlan {
    pub mode: NetworkMode,
    pub ports: Vec<PortMapping>,
    pub dns: net::etc::DnsOptions,
    pub add_hosts: Vec<String>,
    pub no_hosts: bool,
}

/// Decide the network of a new container.
pub fn plan(ctx: &Context, state: &State, a: &NetworkArgs, image: &ImageRunConfig) -> Result<NetworkPlan> {
    let mode = match net::mode::parse(a.network).map_err(user_error)? {
        Some(m) => {
            tracing::debug!("network mode {} (--network)", m.name());
            m
        }
        None => {
            let (m, why) = net::mode::choose_default(net::mode::find_in_path).map_err(user_error)?;
            tracing::debug!("network mode {}: {why}", m.name());
            m
        }
    };
    if let NetworkMode::Container(c) = &mode {
        // Fail early when the other container does not exist.
        state.get(c).map_err(|e| user_error(format!("--network container:{c}: {e:#}")))?;
    }
    let mut ports = vec![];
    for p in a.publish {
        ports.extend(net::ports::parse_publish(p).map_err(user_error)?);
    }
    if a.publish_all {
        let mut exposed: Vec<String> = image.exposed_ports.clone().unwrap_or_default().into_keys().collect();
        exposed.extend(a.expose.iter().cloned());
        for e in exposed {
            for m in net::ports::parse_exposed(&e).map_err(user_error)? {
                let already = ports.iter().any(|p: &PortMapping| {
                    p.protocol == m.protocol
                        && (p.container_port..p.container_port + p.range).contains(&m.container_port)
                });
                if !already {
                    ports.push(m);
                }
            }
        }
    }
    if !ports.is_empty() && !mode.supports_ports() {
        tracing::warn!(
            "port mappings have been discarded: the {} network mode does not publish ports (use pasta or slirp4netns)",
            mode.name()
        );
        ports.clear();
    }
    check_host_ports_once(&ports)?;
    net::ports::assign_host_ports(&mut ports).map_err(user_error)?;
    let unpriv = ctx
        .rootless
        .then(|| std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start").ok())
        .flatten()
        .and_then(|s| s.trim().parse().ok());
    net::ports::check_available(&ports, unpriv).map_err(user_error)?;
    let dns =
        net::etc::DnsOptions { servers: a.dns.to_vec(), search: a.dns_search.to_vec(), options: a.dns_option.to_vec() };
    dns.validate().map_err(user_error)?;
    for h in a.add_host {
        net::etc::parse_add_host(h).map_err(user_error)?;
    }
    if a.no_hosts && !a.add_host.is_empty() {
        bail!(user_error("--no-hosts and --add-host cannot be set together"));
    }
    Ok(NetworkPlan { mode, ports, dns, add_hosts: a.add_host.to_vec(), no_hosts: a.no_hosts })
}

/// A host port (and protocol, on overlapping addresses) can be published once: refused here, before
/// anything is created, rather than by the network program at start (which left an Exited(125) container).
fn check_host_ports_once(ports: &[PortMapping]) -> Result<()> {
    let mut seen: Vec<(&str, u16, &str, u16)> = vec![];
    for m in ports.iter().filter(|m| m.host_port != 0) {
        for i in 0..m.range.max(1) {
            let (hp, cp) = (m.host_port + i, m.container_port + i);
            let overlap = |ip: &str| ip.is_empty() || m.host_ip.is_empty() || ip == m.host_ip;
            if let Some((_, _, _, other)) =
                seen.iter().find(|(ip, p, proto, _)| *p == hp && *proto == m.protocol && overlap(ip))
            {
                bail!(user_error(format!(
                    "host port {hp}/{} is published twice (for container ports {other} and {cp}): each host port \
                     can be published once",
                    m.protocol
                )));
            }
            seen.push((&m.host_ip, hp, &m.protocol, cp));
        }
    }
    Ok(())
}

/// What [`setup`] did, kept in the record for [`teardown`] and for the /etc files.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NetworkState {
    /// The namespace file the container joins (None: the host's network).
    pub netns: Option<PathBuf>,
    /// Warren created the namespace file and removes it.
    pub owned: bool,
    /// "pasta" or "slirp4netns", with its pid and start time.
    pub launcher: Option<String>,
    pub launcher_pid: i64,
    pub launcher_start: i64,
    /// The container's address for /etc/hosts.
    pub ip: Option<String>,
    /// The host's address as seen from the container, when it can be reached.
    pub host_ip: Option<String>,
    /// Resolvers of the mode, before the host's (pasta's forwarder, slirp4netns's).
    pub nameservers: Vec<String>,
}

fn netns_path(ctx: &Context, id: &str) -> PathBuf {
    ctx.run_dir.join("netns").join(id)
}

/// The host's IPv4 address on the interface of the default route, and the gateway.
fn host_default_ipv4() -> Option<(String, String)> {
    let routes = std::fs::read_to_string("/proc/net/route").ok()?;
    let (iface, gw) = routes.lines().skip(1).find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        (f.len() > 2 && f[1] == "00000000").then(|| (f[0].to_string(), f[2].to_string()))
    })?;
    let gw = u32::from_str_radix(&gw, 16).ok().map(|g| std::net::Ipv4Addr::from(u32::from_be(g)).to_string())?;
    let addrs = nix::ifaddrs::getifaddrs().ok()?;
    let ip = addrs
        .filter(|a| a.interface_name == iface)
        .find_map(|a| a.address.and_then(|s| s.as_sockaddr_in().map(|sin| sin.ip().to_string())))?;
    Some((ip, gw))
}

/// Set up the container's network for a start; on failure nothing is left behind.
pub fn setup(ctx: &Context, state: &State, rec: &ContainerRecord, plan: &ContainerPlan) -> Result<NetworkState> {
    let bundle = crate::container::bundle_dir(ctx, &rec.id);
    let mut st = NetworkState::default();
    match &plan.network {
        NetworkMode::Host => {}
        NetworkMode::Path(p) => {
            if !Path::new(p).exists() {
                bail!(user_error(format!("--network ns:{p}: no such network namespace file")));
            }
            st.netns = Some(PathBuf::from(p));
        }
        NetworkMode::Container(c) => {
            let other = state.get(c).map_err(|e| user_error(format!("--network container:{c}: {e:#}")))?;
            if !crate::container::is_running(&other) {
                bail!(user_error(format!(
                    "--network container:{c}: container {} is not running: start it first",
                    other.name
                )));
            }
            let ost: NetworkState = serde_json::from_value(other.config["NetworkState"].clone()).unwrap_or_default();
            st.netns = Some(ost.netns.clone().unwrap_or_else(|| PathBuf::from(format!("/proc/{}/ns/net", other.pid))));
            st.ip = ost.ip;
            st.host_ip = ost.host_ip;
            st.nameservers = ost.nameservers;
        }
        NetworkMode::None | NetworkMode::Pasta(_) | NetworkMode::Slirp4netns(_) => {
            // Find the launcher before creating anything.
            let bin = match &plan.network {
                NetworkMode::Pasta(_) => Some(net::pasta::locate().map_err(user_error)?),
                NetworkMode::Slirp4netns(_) => Some(net::slirp::locate().map_err(user_error)?),
                _ => None,
            };
            let path = netns_path(ctx, &rec.id);
            net::netns::remove(&path).map_err(user_error)?;
            net::netns::create(&path).map_err(user_error)?;
            st.netns = Some(path.clone());
            st.owned = true;
            if let Err(e) = start_launcher(ctx, rec, plan, bin.as_deref(), &path, &bundle, &mut st) {
                let _ = net::netns::remove(&path);
                return Err(e);
            }
        }
    }
    tracing::debug!("container {}: network {} ready: {st:?}", rec.name, plan.network.name());
    Ok(st)
}

fn start_launcher(
    ctx: &Context,
    rec: &ContainerRecord,
    plan: &ContainerPlan,
    bin: Option<&Path>,
    netns: &Path,
    bundle: &Path,
    st: &mut NetworkState,
) -> Result<()> {
    match (&plan.network, bin) {
        (NetworkMode::Pasta(opts), Some(bin)) => {
            let pid_file = bundle.join("pasta.pid");
            let _ = std::fs::remove_file(&pid_file);
            let mut opts = opts.clone();
            if !ctx.rootless {
                // As real root pasta would switch to nobody, who cannot reach the namespace file under
                // the root-only run directory.
                opts.splice(0..0, ["--runas".to_string(), "0".to_string()]);
            }
            let inv = net::pasta::args(&opts, &plan.ports, netns, &pid_file).map_err(user_error)?;
            let pid = net::pasta::start(bin, &inv, &pid_file).map_err(user_error)?;
            st.launcher = Some("pasta".into());
            st.launcher_pid = pid as i64;
            st.launcher_start = crate::state::process_start_time(pid as i64).unwrap_or(0);
            let host = host_default_ipv4();
            st.ip = host.as_ref().map(|(ip, _)| ip.clone());
            // With --map-gw the gateway address reaches the host (its loopback included).
            st.host_ip = if inv.map_gw { host.map(|(_, gw)| gw) } else { None };
            st.nameservers = inv.dns_forward;
        }
        (NetworkMode::Slirp4netns(opts), Some(bin)) => {
            let o = net::slirp::Options::parse(opts).map_err(user_error)?;
            // A socket path must fit in 108 bytes: keep it short.
            let sock = ctx.run_dir.join("netns").join(format!("{}.sock", &rec.id[..12]));
            let log = bundle.join("slirp4netns.log");
            let running = net::slirp::start(bin, &o, netns, &sock, &log, &plan.ports).map_err(user_error)?;
            st.launcher = Some("slirp4netns".into());
            st.launcher_pid = running.pid as i64;
            st.launcher_start = crate::state::process_start_time(running.pid as i64).unwrap_or(0);
            // The exit pipe stays open as long as this monitor lives: slirp4netns exits with it.
            std::mem::forget(running.exit);
            st.ip = Some(o.guest_ip());
            st.host_ip = o.allow_host_loopback.then(|| o.host_ip());
            st.nameservers = vec![o.dns_ip()];
        }
        _ => {}
    }
    Ok(())
}

/// Undo [`setup`]: stop the launcher, remove the namespace file. Idempotent; returns the errors.
pub fn teardown(ctx: &Context, rec: &ContainerRecord) -> Vec<String> {
    let mut errors = vec![];
    let st: NetworkState = match serde_json::from_value(rec.config["NetworkState"].clone()) {
        Ok(s) => s,
        Err(_) => return errors,
    };
    if st.launcher_pid > 0 && crate::state::process_alive(st.launcher_pid, st.launcher_start) {
        let pid = nix::unistd::Pid::from_raw(st.launcher_pid as i32);
        let name = st.launcher.as_deref().unwrap_or("launcher");
        tracing::debug!("container {}: stopping {name} (pid {pid})", rec.name);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        loop {
            // Reap it when it is our child (slirp4netns started by this monitor).
            let _ = nix::sys::wait::waitpid(pid, Some(nix::sys::wait::WaitPidFlag::WNOHANG));
            if !crate::state::process_alive(st.launcher_pid, st.launcher_start) {
                // Exited: when it is our child and became a zombie after the WNOHANG above, reap it
                // now so this process leaves none behind.
                let _ = nix::sys::wait::waitpid(pid, Some(nix::sys::wait::WaitPidFlag::WNOHANG));
                break;
            }
            if std::time::Instant::now() > deadline {
                let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
                let _ = nix::sys::wait::waitpid(pid, None);
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
    if st.owned {
        if let Some(p) = &st.netns {
            if let Err(e) = net::netns::remove(p) {
                errors.push(e.to_string());
            }
        }
        let sock = ctx.run_dir.join("netns").join(format!("{}.sock", &rec.id[..12.min(rec.id.len())]));
        let _ = std::fs::remove_file(sock);
    }
    errors
}

/// Read a file of the container's rootfs without following a symlink out of it.
fn read_in_rootfs(rootfs: &Path, rel: &str) -> String {
    let p = rootfs.join(rel);
    match std::fs::symlink_metadata(&p) {
        Ok(m) if m.is_file() => std::fs::read_to_string(&p).unwrap_or_default(),
        _ => String::new(),
    }
}

/// /etc/hosts, /etc/resolv.conf and /etc/hostname for the container, written in its bundle directory.
pub fn etc_files(bundle: &Path, plan: &ContainerPlan, st: &NetworkState) -> Result<Vec<MountPlan>> {
    let host_network = plan.network == NetworkMode::Host;
    let mut files = vec![];
    if !plan.no_hosts {
        let base = if host_network {
            std::fs::read_to_string("/etc/hosts").unwrap_or_default()
        } else {
            read_in_rootfs(&plan.rootfs, "etc/hosts")
        };
        let mut add = vec![];
        for h in &plan.add_hosts {
            let (names, ip) = net::etc::parse_add_host(h).map_err(user_error)?;
            let ip = if ip == "host-gateway" {
                st.host_ip.clone().ok_or_else(|| {
                    user_error(format!(
                        "--add-host {h}: host-gateway is not reachable with the {} network (use \
                         --network pasta:--map-gw or slirp4netns:allow_host_loopback=true)",
                        plan.network.name()
                    ))
                })?
            } else {
                ip
            };
            add.push((names, ip));
        }
        let own_ip = st.ip.clone().unwrap_or_else(|| "127.0.1.1".into());
        let names = [plan.hostname.as_str(), plan.name.as_str()];
        let hosts = net::etc::hosts(&base, &add, Some((&own_ip, &names)), st.host_ip.as_deref());
        files.push(("hosts", hosts));
    }
    let host_resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    if let Some(r) = net::etc::resolv_conf(&host_resolv, &st.nameservers, host_network, &plan.dns) {
        files.push(("resolv.conf", r));
    }
    files.push(("hostname", format!("{}\n", plan.hostname)));
    let mut mounts = vec![];
    for (f, content) in files {
        let p = bundle.join(f);
        std::fs::write(&p, content).with_context(|| format!("writing {}", p.display()))?;
        mounts.push(MountPlan {
            destination: format!("/etc/{f}"),
            kind: "bind".into(),
            source: p.display().to_string(),
            options: vec!["bind".into(), "rprivate".into()],
        });
    }
    Ok(mounts)
}

/// The stored plan's ports of a container.
pub fn ports_of(rec: &ContainerRecord) -> Vec<PortMapping> {
    serde_json::from_value(rec.config["Plan"]["ports"].clone()).unwrap_or_default()
}

/// `ps`'s PORTS column.
pub fn ps_ports(rec: &ContainerRecord) -> String {
    net::ports::ps_string(&ports_of(rec))
}

/// `inspect`'s network fields for a container: (NetworkSettings, HostConfig) entries to merge into the
/// objects `inspect` builds.
pub fn inspect_fields(rec: &ContainerRecord, plan: &ContainerPlan) -> (serde_json::Value, serde_json::Value) {
    let st: NetworkState = serde_json::from_value(rec.config["NetworkState"].clone()).unwrap_or_default();
    let running = crate::container::is_running(rec);
    let ports = net::ports::inspect_json(&plan.ports);
    let settings = serde_json::json!({
        "Ports": ports,
        "SandboxKey": if running { st.netns.map(|p| p.display().to_string()).unwrap_or_default() } else { String::new() },
        "IPAddress": if running { st.ip.unwrap_or_default() } else { String::new() },
    });
    let host_config = serde_json::json!({
        "NetworkMode": plan.network.name(),
        "PortBindings": ports,
        "Dns": plan.dns.servers,
        "DnsSearch": plan.dns.search,
        "DnsOptions": plan.dns.options,
        "ExtraHosts": plan.add_hosts,
    });
    (settings, host_config)
}

/// The network options of `run`/`create`.
pub fn args_of(a: &crate::cli::container::RunArgs) -> NetworkArgs<'_> {
    NetworkArgs {
        network: a.network.as_deref(),
        publish: &a.publish,
        publish_all: a.publish_all,
        expose: &a.expose,
        dns: &a.dns,
        dns_search: &a.dns_search,
        dns_option: &a.dns_option,
        add_host: &a.add_host,
        no_hosts: a.no_hosts,
    }
}
