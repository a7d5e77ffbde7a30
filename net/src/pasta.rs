//! pasta(1): the container's namespace gets a copy of the host's addresses and routes; published ports
//! are forwarded by pasta's own sockets, so the container sees the real client address.
//!
//! The options follow Podman's integration: `--config-net`; the user's options; one `-t`/`-u` per
//! published port; `--dns-forward 169.254.0.1` (queries to that address go to the host's resolver,
//! which may be a loopback one like 127.0.0.53); `-t none -u none -T none -U none` for what is not
//! forwarded (no automatic forwarding); `--no-map-gw` unless the user gave `--map-gw` (a Podman option,
//! not pasta's: it lets the container reach the host's loopback at the gateway address); `--quiet`;
//! `--netns PATH`. pasta forks to the background once the namespace is configured (so the caller waits
//! for it to exit), writes its pid (`--pid FILE`), and quits when the namespace file is deleted.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::ports::PortMapping;
use crate::{Error, Result};

/// The address in the namespace that pasta forwards DNS queries from (Podman's choice).
pub const DNS_FORWARD: &str = "169.254.0.1";

/// What pasta will be run with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub args: Vec<String>,
    /// The addresses DNS queries are forwarded from (the container's nameservers).
    pub dns_forward: Vec<String>,
    /// `--map-gw` was given: the gateway address reaches the host.
    pub map_gw: bool,
}

/// The pasta command line for `netns`, with the user's options and the published ports.
pub fn args(user: &[String], ports: &[PortMapping], netns: &Path, pid_file: &Path) -> Result<Invocation> {
    let mut args = vec!["--config-net".to_string()];
    let (mut tcp, mut udp, mut tcp_ns, mut udp_ns, mut map_gw) = (false, false, false, false, false);
    let mut dns_forward = vec![];
    let mut it = user.iter().peekable();
    while let Some(o) = it.next() {
        match o.as_str() {
            "--map-gw" => {
                map_gw = true;
                continue;
            }
            "-t" | "--tcp-ports" => tcp = true,
            "-u" | "--udp-ports" => udp = true,
            "-T" | "--tcp-ns" => tcp_ns = true,
            "-U" | "--udp-ns" => udp_ns = true,
            "--dns-forward" => {
                if let Some(a) = it.peek() {
                    dns_forward.push(a.to_string());
                }
            }
            "--netns" | "--userns" | "-P" | "--pid" | "-f" | "--foreground" => {
                return Err(Error::new(format!(
                    "pasta option {o:?} is set by Warren and cannot be given in --network pasta:..."
                )))
            }
            _ => {}
        }
        args.push(o.clone());
    }
    for m in ports {
        let flag = match m.protocol.as_str() {
            "tcp" => {
                tcp = true;
                "-t"
            }
            "udp" => {
                udp = true;
                "-u"
            }
            p => return Err(Error::new(format!("pasta cannot forward protocol {p}"))),
        };
        let addr = if m.host_ip.is_empty() { String::new() } else { format!("{}/", m.host_ip) };
        let last = |p: u16| p as u32 + m.range.max(1) as u32 - 1;
        args.push(flag.into());
        args.push(format!(
            "{addr}{}-{}:{}-{}",
            m.host_port,
            last(m.host_port),
            m.container_port,
            last(m.container_port)
        ));
    }
    if dns_forward.is_empty() {
        args.extend(["--dns-forward".to_string(), DNS_FORWARD.to_string()]);
        dns_forward.push(DNS_FORWARD.to_string());
    }
    for (given, flag) in [(tcp, "-t"), (udp, "-u"), (tcp_ns, "-T"), (udp_ns, "-U")] {
        if !given {
            args.extend([flag.to_string(), "none".to_string()]);
        }
    }
    if !map_gw {
        args.push("--no-map-gw".into());
    }
    args.push("--quiet".into());
    args.extend(["--netns".to_string(), netns.display().to_string()]);
    args.extend(["--pid".to_string(), pid_file.display().to_string()]);
    Ok(Invocation { args, dns_forward, map_gw })
}

/// pasta's output without the syslog noise of old versions ("Failed to send N bytes to syslog").
fn clean_output(out: &[u8]) -> String {
    String::from_utf8_lossy(out)
        .lines()
        .filter(|l| !l.starts_with("Failed to send") && !l.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Run pasta and return the pid of its background process once the namespace is configured.
pub fn start(bin: &Path, inv: &Invocation, pid_file: &Path) -> Result<u32> {
    let mut cmd = Command::new(bin);
    cmd.args(&inv.args).stdin(Stdio::null());
    // pasta stays in the background: it must not hold the caller's other descriptors (a readiness
    // pipe would never see EOF).
    // SAFETY: close_range is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            crate::close_fds_from(3);
            Ok(())
        });
    }
    tracing::debug!("running {cmd:?}");
    let out = cmd.output().map_err(|e| Error::new(format!("running {}: {e}", bin.display())))?;
    let text = clean_output(&[out.stdout.as_slice(), out.stderr.as_slice()].concat());
    if !out.status.success() {
        let hint = if text.contains("/dev/net/tun") {
            "; /dev/net/tun must be readable and writable by you (hosts without udev: chmod 0666 /dev/net/tun)"
        } else {
            ""
        };
        return Err(Error::new(format!(
            "pasta failed ({}): {}{hint}",
            out.status,
            if text.is_empty() { "no output".to_string() } else { text }
        )));
    }
    if !text.is_empty() {
        tracing::debug!("pasta said: {text}");
    }
    let pid = std::fs::read_to_string(pid_file)
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
        .ok_or_else(|| Error::new(format!("pasta started but wrote no pid to {}", pid_file.display())))?;
    Ok(pid)
}

/// Where pasta is, or why it cannot be used.
pub fn locate() -> Result<PathBuf> {
    crate::mode::find_in_path("pasta").ok_or_else(|| {
        Error::new(
            "pasta not found in PATH: install it (Debian/Ubuntu: apt-get install passt) or choose another \
             network: --network slirp4netns, none or host",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pm(ip: &str, c: u16, h: u16, r: u16, p: &str) -> PortMapping {
        PortMapping { host_ip: ip.into(), container_port: c, host_port: h, range: r, protocol: p.into() }
    }

    #[test]
    fn default_invocation() {
        let inv = args(&[], &[], Path::new("/run/ns/x"), Path::new("/run/p")).unwrap();
        assert_eq!(
            inv.args.join(" "),
            "--config-net --dns-forward 169.254.0.1 -t none -u none -T none -U none --no-map-gw --quiet \
             --netns /run/ns/x --pid /run/p"
        );
        assert_eq!(inv.dns_forward, vec![DNS_FORWARD]);
        assert!(!inv.map_gw);
    }

    #[test]
    fn ports_and_user_options() {
        let ports = vec![pm("", 80, 8080, 1, "tcp"), pm("127.0.0.1", 90, 9000, 2, "udp")];
        let user = vec!["--map-gw".to_string(), "-T".into(), "5000".into()];
        let inv = args(&user, &ports, Path::new("/n"), Path::new("/p")).unwrap();
        assert_eq!(
            inv.args.join(" "),
            "--config-net -T 5000 -t 8080-8080:80-80 -u 127.0.0.1/9000-9001:90-91 --dns-forward 169.254.0.1 \
             -U none --quiet --netns /n --pid /p"
        );
        assert!(inv.map_gw);
    }

    #[test]
    fn user_dns_forward_replaces_ours() {
        let user = vec!["--dns-forward".to_string(), "10.0.0.1".into()];
        let inv = args(&user, &[], Path::new("/n"), Path::new("/p")).unwrap();
        assert_eq!(inv.dns_forward, vec!["10.0.0.1"]);
        assert!(!inv.args.contains(&DNS_FORWARD.to_string()));
    }

    #[test]
    fn rejects_options_warren_owns() {
        assert!(args(&["--netns".into(), "/x".into()], &[], Path::new("/n"), Path::new("/p")).is_err());
        assert!(args(&["-f".into()], &[], Path::new("/n"), Path::new("/p")).is_err());
    }

    #[test]
    fn strips_syslog_noise() {
        assert_eq!(clean_output(b"Failed to send 51 bytes to syslog\nreal error\n"), "real error");
    }
}
