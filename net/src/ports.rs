//! Published ports: `-p [ip:][hostPort:]containerPort[/tcp|udp]`, ranges, random host ports, and how
//! they are shown (`ps`, `port`, `inspect`).

use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, UdpSocket};

use crate::{Error, Result};

/// One published port or range (Podman's types.PortMapping): host `host_port..host_port+range` on
/// `host_ip` (empty: all addresses) → container `container_port..container_port+range`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortMapping {
    pub host_ip: String,
    pub container_port: u16,
    /// 0 until a free port is assigned at create time.
    pub host_port: u16,
    pub range: u16,
    /// "tcp" or "udp".
    pub protocol: String,
}

fn bad(s: &str, why: &str) -> Error {
    Error::new(format!("invalid port specification {s:?}: {why} (expected [ip:][hostPort:]containerPort[/tcp|udp])"))
}

fn parse_range(s: &str, part: &str) -> Result<(u16, u16)> {
    let num = |x: &str| -> Result<u16> {
        match x.parse::<u16>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(bad(s, &format!("{x:?} is not a port number between 1 and 65535"))),
        }
    };
    match part.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (num(a)?, num(b)?);
            if b < a {
                return Err(bad(s, &format!("the range {part:?} ends before it starts")));
            }
            Ok((a, b - a + 1))
        }
        None => Ok((num(part)?, 1)),
    }
}

/// Parse one `-p` value. Ports without a host port get `host_port` 0 (assigned later), one mapping each.
pub fn parse_publish(s: &str) -> Result<Vec<PortMapping>> {
    let (spec, proto) = match s.rsplit_once('/') {
        Some((a, p)) => (a, p),
        None => (s, "tcp"),
    };
    let protocols: Vec<&str> = proto.split(',').collect();
    for p in &protocols {
        match *p {
            "tcp" | "udp" => {}
            "sctp" => return Err(bad(s, "sctp cannot be forwarded by user-mode networking")),
            _ => return Err(bad(s, &format!("unknown protocol {p:?}"))),
        }
    }
    // An IPv6 host address is written in brackets: [::1]:8080:80.
    let (ip, rest) = if let Some(r) = spec.strip_prefix('[') {
        let (ip, rest) = r.split_once(']').ok_or_else(|| bad(s, "missing ]"))?;
        (Some(ip.to_string()), rest.strip_prefix(':').ok_or_else(|| bad(s, "missing : after the address"))?)
    } else {
        let parts: Vec<&str> = spec.split(':').collect();
        match parts.len() {
            1 | 2 => (None, spec),
            3 => (Some(parts[0].to_string()), &spec[parts[0].len() + 1..]),
            _ => return Err(bad(s, "too many colons")),
        }
    };
    if let Some(ip) = &ip {
        if !ip.is_empty() && ip.parse::<IpAddr>().is_err() {
            return Err(bad(s, &format!("{ip:?} is not an IP address")));
        }
    }
    let (host, ctr) = match rest.split_once(':') {
        Some((h, c)) => (Some(h).filter(|h| !h.is_empty()), c),
        None => (None, rest),
    };
    let (cport, crange) = parse_range(s, ctr)?;
    let host_ip = ip.unwrap_or_default();
    let mut out = vec![];
    for p in protocols {
        match host {
            Some(h) => {
                let (hport, hrange) = parse_range(s, h)?;
                if hrange != crange {
                    return Err(bad(s, "the host and container port ranges differ in length"));
                }
                if hport as u32 + hrange as u32 > 65536 {
                    return Err(bad(s, "the range goes past 65535"));
                }
                out.push(PortMapping {
                    host_ip: host_ip.clone(),
                    container_port: cport,
                    host_port: hport,
                    range: crange,
                    protocol: p.into(),
                });
            }
            None => {
                for i in 0..crange {
                    out.push(PortMapping {
                        host_ip: host_ip.clone(),
                        container_port: cport + i,
                        host_port: 0,
                        range: 1,
                        protocol: p.into(),
                    });
                }
            }
        }
    }
    Ok(out)
}

/// An image's `ExposedPorts` key (`80/tcp`, `53/udp`, `8080`) as a mapping with a host port to assign.
pub fn parse_exposed(s: &str) -> Result<Vec<PortMapping>> {
    let (port, proto) = s.split_once('/').unwrap_or((s, "tcp"));
    if port.contains(':') {
        return Err(bad(s, "an exposed port has no host part"));
    }
    parse_publish(&format!("{port}/{proto}"))
}

fn bind_addr(m: &PortMapping, port: u16) -> SocketAddr {
    let ip = m.host_ip.parse::<IpAddr>().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    SocketAddr::new(ip, port)
}

/// Give every mapping without a host port a free one (the kernel's choice for port 0).
pub fn assign_host_ports(ports: &mut [PortMapping]) -> Result<()> {
    for m in ports.iter_mut().filter(|m| m.host_port == 0) {
        let addr = bind_addr(m, 0);
        let port = match m.protocol.as_str() {
            "udp" => UdpSocket::bind(addr).and_then(|s| s.local_addr()),
            _ => TcpListener::bind(addr).and_then(|s| s.local_addr()),
        }
        .map_err(|e| Error::new(format!("finding a free host port for {}/{}: {e}", m.container_port, m.protocol)))?
        .port();
        m.host_port = port;
    }
    Ok(())
}

/// Check that every host port can be bound now (bind it briefly), so a taken port fails before the
/// container starts. `unprivileged_start` is net.ipv4.ip_unprivileged_port_start when rootless.
pub fn check_available(ports: &[PortMapping], unprivileged_start: Option<u16>) -> Result<()> {
    for m in ports {
        for port in m.host_port..m.host_port.saturating_add(m.range) {
            let addr = bind_addr(m, port);
            let r = match m.protocol.as_str() {
                "udp" => UdpSocket::bind(addr).map(drop),
                _ => TcpListener::bind(addr).map(drop),
            };
            let shown = if m.host_ip.is_empty() { "0.0.0.0".to_string() } else { m.host_ip.clone() };
            match r {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                    return Err(Error::new(format!(
                    "cannot publish port {port}/{}: {shown}:{port} is already in use by another process on the host; \
                         choose another host port (-p {}:{}) or stop what holds it (ss -ltnp | grep :{port})",
                    m.protocol,
                    port.wrapping_add(1),
                    m.container_port
                )))
                }
                Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                    let limit = unprivileged_start
                        .map(|n| format!(" (here the first unprivileged port is {n})"))
                        .unwrap_or_default();
                    return Err(Error::new(format!(
                        "cannot publish port {port}/{} on {shown}: permission denied{limit}; rootless, ports below \
                         net.ipv4.ip_unprivileged_port_start need the host admin to lower it \
                         (sysctl net.ipv4.ip_unprivileged_port_start={port}), or use a higher host port",
                        m.protocol
                    )));
                }
                Err(e) => return Err(Error::new(format!("cannot publish port {port}/{} on {shown}: {e}", m.protocol))),
            }
        }
    }
    Ok(())
}

fn host_ip_shown(m: &PortMapping) -> String {
    match m.host_ip.as_str() {
        "" => "0.0.0.0".into(),
        ip if ip.contains(':') => format!("[{ip}]"),
        ip => ip.into(),
    }
}

fn range_text(start: u16, range: u16) -> String {
    if range <= 1 {
        start.to_string()
    } else {
        format!("{start}-{}", start as u32 + range as u32 - 1)
    }
}

/// The PORTS column of `ps`: `0.0.0.0:8080->80/tcp, 0.0.0.0:9000-9001->90-91/udp`.
pub fn ps_string(ports: &[PortMapping]) -> String {
    ports
        .iter()
        .map(|m| {
            format!(
                "{}:{}->{}/{}",
                host_ip_shown(m),
                range_text(m.host_port, m.range),
                range_text(m.container_port, m.range),
                m.protocol
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `warren port CTR [PORT[/PROTO]]`: one line per port, `80/tcp -> 0.0.0.0:8080` (or only
/// `0.0.0.0:8080` when a port is asked for). `None` when the asked port is not published.
pub fn port_lines(ports: &[PortMapping], want: Option<&str>) -> Result<Option<Vec<String>>> {
    let want = match want {
        None => None,
        Some(w) => {
            let (p, proto) = w.split_once('/').unwrap_or((w, "tcp"));
            let n: u16 = p.parse().map_err(|_| Error::new(format!("invalid port {w:?}: expected PORT[/PROTO]")))?;
            Some((n, proto.to_string()))
        }
    };
    let mut lines = vec![];
    for m in ports {
        for i in 0..m.range.max(1) {
            let (c, h) = (m.container_port + i, m.host_port + i);
            match &want {
                None => lines.push(format!("{c}/{} -> {}:{h}", m.protocol, host_ip_shown(m))),
                Some((n, proto)) if *n == c && *proto == m.protocol => lines.push(format!("{}:{h}", host_ip_shown(m))),
                Some(_) => {}
            }
        }
    }
    if want.is_some() && lines.is_empty() {
        return Ok(None);
    }
    Ok(Some(lines))
}

/// `inspect` .NetworkSettings.Ports and .HostConfig.PortBindings, as Podman shows them:
/// `{"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}` (HostIp is empty unless one was given).
pub fn inspect_json(ports: &[PortMapping]) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    for m in ports {
        for i in 0..m.range.max(1) {
            let key = format!("{}/{}", m.container_port + i, m.protocol);
            let entry = serde_json::json!({
                "HostIp": m.host_ip,
                "HostPort": (m.host_port + i).to_string(),
            });
            match map.get_mut(&key).and_then(|v| v.as_array_mut()) {
                Some(a) => a.push(entry),
                None => {
                    map.insert(key, serde_json::Value::Array(vec![entry]));
                }
            }
        }
    }
    serde_json::Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pm(ip: &str, c: u16, h: u16, r: u16, p: &str) -> PortMapping {
        PortMapping { host_ip: ip.into(), container_port: c, host_port: h, range: r, protocol: p.into() }
    }

    #[test]
    fn parses_publish_forms() {
        assert_eq!(parse_publish("80").unwrap(), vec![pm("", 80, 0, 1, "tcp")]);
        assert_eq!(parse_publish("8080:80").unwrap(), vec![pm("", 80, 8080, 1, "tcp")]);
        assert_eq!(parse_publish("8080:80/udp").unwrap(), vec![pm("", 80, 8080, 1, "udp")]);
        assert_eq!(parse_publish("127.0.0.1:8080:80").unwrap(), vec![pm("127.0.0.1", 80, 8080, 1, "tcp")]);
        assert_eq!(parse_publish("127.0.0.1::80").unwrap(), vec![pm("127.0.0.1", 80, 0, 1, "tcp")]);
        assert_eq!(parse_publish("[::1]:8080:80").unwrap(), vec![pm("::1", 80, 8080, 1, "tcp")]);
        assert_eq!(parse_publish("8080-8081:80-81").unwrap(), vec![pm("", 80, 8080, 2, "tcp")]);
        assert_eq!(parse_publish("80-81").unwrap(), vec![pm("", 80, 0, 1, "tcp"), pm("", 81, 0, 1, "tcp")]);
        assert_eq!(parse_publish("53:53/tcp,udp").unwrap(), vec![pm("", 53, 53, 1, "tcp"), pm("", 53, 53, 1, "udp")]);
    }

    #[test]
    fn rejects_bad_publish() {
        for s in ["", "0", "70000", "a:80", "1.2.3:8080:80", "8080-8082:80-81", "81-80", "80/sctp", "80/xyz", "1:2:3:4"]
        {
            assert!(parse_publish(s).is_err(), "{s}");
        }
        assert!(parse_publish("8080-8081:80-81").is_ok());
    }

    #[test]
    fn exposed() {
        assert_eq!(parse_exposed("80/tcp").unwrap(), vec![pm("", 80, 0, 1, "tcp")]);
        assert_eq!(parse_exposed("53/udp").unwrap(), vec![pm("", 53, 0, 1, "udp")]);
        assert_eq!(parse_exposed("8080").unwrap(), vec![pm("", 8080, 0, 1, "tcp")]);
        assert!(parse_exposed("1:2").is_err());
    }

    #[test]
    fn shows_ports_like_podman() {
        let ports = vec![pm("", 80, 8080, 1, "tcp"), pm("127.0.0.1", 90, 9000, 2, "udp")];
        assert_eq!(ps_string(&ports), "0.0.0.0:8080->80/tcp, 127.0.0.1:9000-9001->90-91/udp");
        assert_eq!(
            port_lines(&ports, None).unwrap().unwrap(),
            vec!["80/tcp -> 0.0.0.0:8080", "90/udp -> 127.0.0.1:9000", "91/udp -> 127.0.0.1:9001"]
        );
        assert_eq!(port_lines(&ports, Some("80")).unwrap().unwrap(), vec!["0.0.0.0:8080"]);
        assert_eq!(port_lines(&ports, Some("91/udp")).unwrap().unwrap(), vec!["127.0.0.1:9001"]);
        assert_eq!(port_lines(&ports, Some("81")).unwrap(), None);
        assert!(port_lines(&ports, Some("x")).is_err());
        let j = inspect_json(&ports);
        assert_eq!(j["80/tcp"][0]["HostPort"], "8080");
        assert_eq!(j["80/tcp"][0]["HostIp"], "", "Podman leaves HostIp empty when none was given");
        assert_eq!(j["91/udp"][0]["HostIp"], "127.0.0.1");
        assert_eq!(ps_string(&[pm("::1", 80, 8080, 1, "tcp")]), "[::1]:8080->80/tcp");
    }

    #[test]
    fn assigns_and_checks_ports() {
        let mut ports = vec![pm("127.0.0.1", 80, 0, 1, "tcp"), pm("127.0.0.1", 53, 0, 1, "udp")];
        assign_host_ports(&mut ports).unwrap();
        assert!(ports.iter().all(|p| p.host_port > 0));
        check_available(&ports, None).unwrap();
        let held = TcpListener::bind("127.0.0.1:0").unwrap();
        let taken = vec![pm("127.0.0.1", 80, held.local_addr().unwrap().port(), 1, "tcp")];
        let e = check_available(&taken, None).unwrap_err().to_string();
        assert!(e.contains("already in use"), "{e}");
    }
}
