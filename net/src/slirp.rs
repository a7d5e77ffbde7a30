//! slirp4netns(1): the fallback when pasta is missing. A tap device in the namespace with
//! 10.0.2.100/24 (gateway 10.0.2.2 = the host, DNS 10.0.2.3), started as
//! `slirp4netns --configure --mtu=65520 --disable-host-loopback --enable-sandbox --enable-seccomp
//! --netns-type=path --api-socket SOCK -r 3 -e 4 PATH tap0`. It writes "1" on the ready fd once the
//! namespace is configured and exits when the exit fd (whose other end the monitor holds) closes, so it
//! never outlives its container's monitor. Published ports are added through the API socket
//! (`add_hostfwd`).

use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::ports::PortMapping;
use crate::{Error, Result};

/// Podman's slirp4netns options (`--network slirp4netns:KEY=VALUE,...`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Options {
    pub allow_host_loopback: bool,
    pub cidr: Option<String>,
    pub enable_ipv6: bool,
    pub mtu: u32,
    pub outbound_addr: Option<String>,
    pub outbound_addr6: Option<String>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            allow_host_loopback: false,
            cidr: None,
            enable_ipv6: false,
            mtu: 65520,
            outbound_addr: None,
            outbound_addr6: None,
        }
    }
}

impl Options {
    pub fn parse(opts: &[String]) -> Result<Options> {
        let mut o = Options::default();
        for kv in opts {
            let (k, v) = kv.split_once('=').unwrap_or((kv.as_str(), ""));
            let boolean = |v: &str| match v {
                "true" | "" => Ok(true),
                "false" => Ok(false),
                _ => Err(Error::new(format!("invalid slirp4netns option {kv:?}: expected true or false"))),
            };
            match k {
                "allow_host_loopback" => o.allow_host_loopback = boolean(v)?,
                "enable_ipv6" => o.enable_ipv6 = boolean(v)?,
                "mtu" => {
                    o.mtu = v
                        .parse()
                        .ok()
                        .filter(|m| (68..=65521).contains(m))
                        .ok_or_else(|| Error::new(format!("invalid slirp4netns option {kv:?}: mtu 68..65521")))?
                }
                "cidr" => {
                    network_of(v).ok_or_else(|| {
                        Error::new(format!("invalid slirp4netns option {kv:?}: expected an IPv4 CIDR like 10.0.2.0/24"))
                    })?;
                    o.cidr = Some(v.to_string());
                }
                "outbound_addr" => o.outbound_addr = Some(v.to_string()),
                "outbound_addr6" => o.outbound_addr6 = Some(v.to_string()),
                "port_handler" if v == "slirp4netns" => {}
                "port_handler" => {
                    return Err(Error::new(format!(
                        "slirp4netns option {kv:?} is not supported: Warren forwards ports through slirp4netns itself"
                    )))
                }
                _ => {
                    return Err(Error::new(format!(
                        "unknown slirp4netns option {kv:?}: expected allow_host_loopback, cidr, enable_ipv6, mtu, \
                         outbound_addr, outbound_addr6, port_handler"
                    )))
                }
            }
        }
        Ok(o)
    }

    fn network(&self) -> Ipv4Addr {
        self.cidr.as_deref().and_then(network_of).map(|(n, _)| n).unwrap_or(Ipv4Addr::new(10, 0, 2, 0))
    }

    fn nth(&self, n: u32) -> String {
        Ipv4Addr::from(u32::from(self.network()) + n).to_string()
    }

    /// The container's address (network + 100).
    pub fn guest_ip(&self) -> String {
        self.nth(100)
    }

    /// The host as seen from the container (network + 2); reaches the host's loopback only with
    /// allow_host_loopback=true.
    pub fn host_ip(&self) -> String {
        self.nth(2)
    }

    /// slirp4netns's DNS forwarder (network + 3).
    pub fn dns_ip(&self) -> String {
        self.nth(3)
    }
}

fn network_of(cidr: &str) -> Option<(Ipv4Addr, u8)> {
    let (a, b) = cidr.split_once('/')?;
    let ip: Ipv4Addr = a.parse().ok()?;
    let bits: u8 = b.parse().ok().filter(|b| (1..=25).contains(b))?;
    let mask = u32::MAX << (32 - bits);
    Some((Ipv4Addr::from(u32::from(ip) & mask), bits))
}

/// The fd numbers slirp4netns gets for readiness and exit.
pub const READY_FD: RawFd = 3;
pub const EXIT_FD: RawFd = 4;

/// The slirp4netns command line (without the program name).
pub fn args(o: &Options, netns: &Path, api_socket: &Path) -> Vec<String> {
    let mut a = vec!["--configure".to_string(), format!("--mtu={}", o.mtu)];
    if !o.allow_host_loopback {
        a.push("--disable-host-loopback".into());
    }
    if let Some(c) = &o.cidr {
        a.push(format!("--cidr={c}"));
    }
    if o.enable_ipv6 {
        a.push("--enable-ipv6".into());
    }
    if let Some(x) = &o.outbound_addr {
        a.push(format!("--outbound-addr={x}"));
    }
    if let Some(x) = &o.outbound_addr6 {
        a.push(format!("--outbound-addr6={x}"));
    }
    a.extend([
        "--enable-sandbox".to_string(),
        "--enable-seccomp".to_string(),
        "--netns-type=path".to_string(),
        format!("--api-socket={}", api_socket.display()),
        format!("--ready-fd={READY_FD}"),
        format!("--exit-fd={EXIT_FD}"),
        netns.display().to_string(),
        "tap0".to_string(),
    ]);
    a
}

/// The API requests that publish `ports` (one per port: slirp4netns has no ranges).
pub fn hostfwd_requests(ports: &[PortMapping]) -> Vec<String> {
    let mut v = vec![];
    for m in ports {
        for i in 0..m.range.max(1) {
            let req = serde_json::json!({
                "execute": "add_hostfwd",
                "arguments": {
                    "proto": m.protocol,
                    "host_addr": if m.host_ip.is_empty() { "0.0.0.0" } else { m.host_ip.as_str() },
                    "host_port": m.host_port + i,
                    "guest_port": m.container_port + i,
                }
            });
            v.push(req.to_string());
        }
    }
    v
}

/// A running slirp4netns: its pid, and the write end of its exit pipe (closing it stops slirp4netns).
pub struct Running {
    pub pid: u32,
    pub exit: OwnedFd,
}

fn dup_high(fd: RawFd) -> Result<OwnedFd> {
    // SAFETY: F_DUPFD_CLOEXEC returns a new descriptor that we own.
    let n = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 10) };
    if n < 0 {
        return Err(Error::new(format!("dup: {}", std::io::Error::last_os_error())));
    }
    // SAFETY: n is a fresh descriptor owned by nobody else.
    Ok(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(n) })
}

/// Start slirp4netns for `netns`, wait until it is ready, publish `ports`. Its output goes to `log`.
pub fn start(
    bin: &Path,
    o: &Options,
    netns: &Path,
    api_socket: &Path,
    log: &Path,
    ports: &[PortMapping],
) -> Result<Running> {
    let pipe = || nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| Error::new(format!("pipe: {e}")));
    let (ready_r, ready_w) = pipe()?;
    let (exit_r, exit_w) = pipe()?;
    let (ready_w, exit_r) = (dup_high(ready_w.as_raw_fd())?, dup_high(exit_r.as_raw_fd())?);
    let _ = std::fs::remove_file(api_socket);
    let logf = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| Error::new(format!("opening {}: {e}", log.display())))?;
    let mut cmd = Command::new(bin);
    cmd.args(args(o, netns, api_socket)).stdin(Stdio::null());
    cmd.stdout(logf.try_clone().map_err(|e| Error::new(e.to_string()))?).stderr(logf);
    let (rw, er) = (ready_w.as_raw_fd(), exit_r.as_raw_fd());
    // SAFETY: only async-signal-safe calls (setsid, dup2) between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            // Its own session: a terminal's ^C for the container must not reach slirp4netns.
            libc::setsid();
            if libc::dup2(rw, READY_FD) < 0 || libc::dup2(er, EXIT_FD) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            crate::close_fds_from(EXIT_FD + 1);
            Ok(())
        });
    }
    tracing::debug!("running {cmd:?}");
    let mut child = cmd.spawn().map_err(|e| Error::new(format!("running {}: {e}", bin.display())))?;
    drop(ready_w);
    drop(exit_r);
    let failed = |child: &mut std::process::Child, why: String| -> Error {
        let _ = child.kill();
        let _ = child.wait();
        let out = std::fs::read_to_string(log).unwrap_or_default();
        let hint = if out.contains("/dev/net/tun") {
            "; /dev/net/tun must be readable and writable by you (hosts without udev: chmod 0666 /dev/net/tun)"
        } else {
            ""
        };
        Error::new(format!("slirp4netns failed: {why}: {}{hint}", out.trim()))
    };
    // Wait for "1" on the ready fd (EOF means it died).
    let mut fds = [nix::poll::PollFd::new(std::os::fd::AsFd::as_fd(&ready_r), nix::poll::PollFlags::POLLIN)];
    match nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(10_000u16)) {
        Ok(0) => return Err(failed(&mut child, "not ready after 10 seconds".into())),
        Ok(_) => {}
        Err(e) => return Err(failed(&mut child, format!("waiting for it: {e}"))),
    }
    let mut buf = [0u8; 8];
    let n = std::fs::File::from(ready_r).read(&mut buf).unwrap_or(0);
    if n == 0 || buf[0] != b'1' {
        return Err(failed(&mut child, "it exited before the network was configured".into()));
    }
    let pid = child.id();
    // The Child handle is dropped without waiting: the monitor reaps it (or init does).
    drop(child);
    let running = Running { pid, exit: exit_w };
    for req in hostfwd_requests(ports) {
        if let Err(e) = api_request(api_socket, &req) {
            stop(&running);
            return Err(e);
        }
    }
    Ok(running)
}

/// Stop a slirp4netns started here (kill; the exit fd closes when `Running` is dropped).
pub fn stop(r: &Running) {
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(r.pid as i32), nix::sys::signal::Signal::SIGKILL);
    let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(r.pid as i32), None);
}

/// One request on the API socket; the reply is `{"return": {...}}` or `{"error": {"desc": "..."}}`.
pub fn api_request(socket: &Path, req: &str) -> Result<serde_json::Value> {
    let fail = |e: String| Error::new(format!("slirp4netns API {}: {req}: {e}", socket.display()));
    let mut s = std::os::unix::net::UnixStream::connect(socket).map_err(|e| fail(e.to_string()))?;
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    s.write_all(req.as_bytes()).map_err(|e| fail(e.to_string()))?;
    let _ = s.shutdown(std::net::Shutdown::Write);
    let mut out = String::new();
    s.read_to_string(&mut out).map_err(|e| fail(e.to_string()))?;
    let v: serde_json::Value = serde_json::from_str(out.trim()).map_err(|e| fail(format!("bad reply {out:?}: {e}")))?;
    if let Some(err) = v.get("error") {
        let desc = err.get("desc").and_then(|d| d.as_str()).unwrap_or("unknown error");
        return Err(fail(desc.to_string()));
    }
    Ok(v)
}

/// Where slirp4netns is, or why it cannot be used.
pub fn locate() -> Result<PathBuf> {
    crate::mode::find_in_path("slirp4netns").ok_or_else(|| {
        Error::new(
            "slirp4netns not found in PATH: install it (Debian/Ubuntu: apt-get install slirp4netns) or choose \
             another network: --network pasta, none or host",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_podman_options() {
        let o = Options::parse(&[]).unwrap();
        assert_eq!(o, Options::default());
        let o =
            Options::parse(&["allow_host_loopback=true".into(), "mtu=1500".into(), "cidr=10.5.0.0/16".into()]).unwrap();
        assert!(o.allow_host_loopback);
        assert_eq!(o.mtu, 1500);
        assert_eq!(o.guest_ip(), "10.5.0.100");
        assert_eq!(o.host_ip(), "10.5.0.2");
        assert_eq!(o.dns_ip(), "10.5.0.3");
        for bad in ["mtu=1", "allow_host_loopback=maybe", "cidr=10.0.2.0", "port_handler=rootlesskit", "x=1"] {
            assert!(Options::parse(&[bad.to_string()]).is_err(), "{bad}");
        }
        assert!(Options::parse(&["port_handler=slirp4netns".into()]).is_ok());
    }

    #[test]
    fn default_addresses() {
        let o = Options::default();
        assert_eq!(
            (o.guest_ip(), o.host_ip(), o.dns_ip()),
            ("10.0.2.100".into(), "10.0.2.2".into(), "10.0.2.3".into())
        );
    }

    #[test]
    fn command_line() {
        let a = args(&Options::default(), Path::new("/run/ns/x"), Path::new("/run/api.sock")).join(" ");
        assert_eq!(
            a,
            "--configure --mtu=65520 --disable-host-loopback --enable-sandbox --enable-seccomp --netns-type=path \
             --api-socket=/run/api.sock --ready-fd=3 --exit-fd=4 /run/ns/x tap0"
        );
        let o = Options { allow_host_loopback: true, enable_ipv6: true, ..Default::default() };
        let a = args(&o, Path::new("/n"), Path::new("/s"));
        assert!(!a.contains(&"--disable-host-loopback".to_string()));
        assert!(a.contains(&"--enable-ipv6".to_string()));
    }

    #[test]
    fn hostfwd() {
        let ports = vec![
            PortMapping { host_ip: "".into(), container_port: 80, host_port: 8080, range: 2, protocol: "tcp".into() },
            PortMapping {
                host_ip: "127.0.0.1".into(),
                container_port: 53,
                host_port: 5353,
                range: 1,
                protocol: "udp".into(),
            },
        ];
        let r = hostfwd_requests(&ports);
        assert_eq!(r.len(), 3);
        let v: serde_json::Value = serde_json::from_str(&r[1]).unwrap();
        assert_eq!(v["execute"], "add_hostfwd");
        assert_eq!(v["arguments"]["host_port"], 8081);
        assert_eq!(v["arguments"]["guest_port"], 81);
        assert_eq!(v["arguments"]["host_addr"], "0.0.0.0");
        let v: serde_json::Value = serde_json::from_str(&r[2]).unwrap();
        assert_eq!(v["arguments"]["proto"], "udp");
        assert_eq!(v["arguments"]["host_addr"], "127.0.0.1");
    }
}
