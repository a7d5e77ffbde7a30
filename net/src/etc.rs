//! /etc/resolv.conf and /etc/hosts for a container (pure: the caller reads the host's files and writes
//! the results).

use serde::{Deserialize, Serialize};
use std::net::IpAddr;

use crate::{Error, Result};

/// `--dns`, `--dns-search`, `--dns-option`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsOptions {
    pub servers: Vec<String>,
    pub search: Vec<String>,
    pub options: Vec<String>,
}

impl DnsOptions {
    pub fn validate(&self) -> Result<()> {
        for s in &self.servers {
            if s != "none" && s.parse::<IpAddr>().is_err() {
                return Err(Error::new(format!("invalid --dns {s:?}: not an IP address")));
            }
        }
        Ok(())
    }
}

/// The parts of a resolv.conf.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Resolv {
    pub nameservers: Vec<String>,
    pub search: Vec<String>,
    pub options: Vec<String>,
}

pub fn parse_resolv(text: &str) -> Resolv {
    let mut r = Resolv::default();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        match words.next() {
            Some("nameserver") => r.nameservers.extend(words.next().map(str::to_string)),
            Some("search") | Some("domain") => r.search = words.map(str::to_string).collect(),
            Some("options") => r.options.extend(words.map(str::to_string)),
            _ => {}
        }
    }
    r
}

fn is_loopback(ns: &str) -> bool {
    // A zone suffix (fe80::1%eth0) does not change the answer.
    ns.split('%').next().and_then(|a| a.parse::<IpAddr>().ok()).is_some_and(|a| a.is_loopback())
}

/// The container's resolv.conf, or `None` with `--dns none` (the image's own file stays).
/// `first`: the mode's own resolvers (pasta's DNS forwarder, slirp4netns's 10.0.2.3) before the host's;
/// `keep_loopback`: the container shares the host's loopback (host network).
pub fn resolv_conf(host: &str, first: &[String], keep_loopback: bool, user: &DnsOptions) -> Option<String> {
    if user.servers.iter().any(|s| s == "none") {
        return None;
    }
    let h = parse_resolv(host);
    let nameservers: Vec<String> = if !user.servers.is_empty() {
        user.servers.clone()
    } else {
        let mut v: Vec<String> = first.to_vec();
        for ns in h.nameservers {
            if (keep_loopback || !is_loopback(&ns)) && !v.contains(&ns) {
                v.push(ns);
            }
        }
        v
    };
    let search =
        if user.search.is_empty() { h.search } else { user.search.iter().filter(|s| *s != ".").cloned().collect() };
    let options = if user.options.is_empty() { h.options } else { user.options.clone() };
    let mut out = String::new();
    if !search.is_empty() {
        out.push_str(&format!("search {}\n", search.join(" ")));
    }
    for ns in nameservers {
        out.push_str(&format!("nameserver {ns}\n"));
    }
    if !options.is_empty() {
        out.push_str(&format!("options {}\n", options.join(" ")));
    }
    Some(out)
}

/// `--add-host NAME[;NAME...]:IP` → (names, ip). The IP may be `host-gateway` (the caller replaces it).
pub fn parse_add_host(s: &str) -> Result<(Vec<String>, String)> {
    let (names, ip) = s
        .split_once(':')
        .or_else(|| s.split_once('='))
        .ok_or_else(|| Error::new(format!("invalid --add-host {s:?}: expected HOST:IP")))?;
    let ip = ip.trim_start_matches('[').trim_end_matches(']');
    if ip != "host-gateway" && ip.parse::<IpAddr>().is_err() {
        return Err(Error::new(format!("invalid --add-host {s:?}: {ip:?} is not an IP address")));
    }
    let names: Vec<String> = names.split(';').filter(|n| !n.is_empty()).map(str::to_string).collect();
    if names.is_empty() || names.iter().any(|n| n.chars().any(|c| c.is_whitespace())) {
        return Err(Error::new(format!("invalid --add-host {s:?}: expected HOST:IP")));
    }
    Ok((names, ip.to_string()))
}

/// The names the host is known by inside the container.
pub const HOST_NAMES: &str = "host.containers.internal host.docker.internal";

const LOCALHOST: &str = "127.0.0.1\tlocalhost localhost.localdomain localhost4 localhost4.localdomain4\n\
                         ::1\tlocalhost localhost.localdomain localhost6 localhost6.localdomain6\n";

/// The container's /etc/hosts, in Podman's order: the `--add-host` entries, the base file (the image's
/// /etc/hosts, or the host's for the host network; localhost entries when it has none), the container's
/// own address with its hostname and name, and the host's address as host.containers.internal (omitted
/// when the host is not reachable).
pub fn hosts(base: &str, add: &[(Vec<String>, String)], own: Option<(&str, &[&str])>, host_ip: Option<&str>) -> String {
    let mut out = String::new();
    for (names, ip) in add {
        out.push_str(&format!("{ip}\t{}\n", names.join(" ")));
    }
    let has_localhost = base.lines().any(|l| {
        let mut w = l.split_whitespace();
        !l.trim_start().starts_with('#') && w.next().is_some() && w.any(|n| n == "localhost")
    });
    if !has_localhost {
        out.push_str(LOCALHOST);
    }
    out.push_str(base);
    if !base.is_empty() && !base.ends_with('\n') {
        out.push('\n');
    }
    if let Some((ip, names)) = own {
        let names: Vec<&str> = names.iter().copied().filter(|n| !n.is_empty()).collect();
        let mut uniq: Vec<&str> = vec![];
        for n in names {
            if !uniq.contains(&n) {
                uniq.push(n);
            }
        }
        out.push_str(&format!("{ip}\t{}\n", uniq.join(" ")));
    }
    if let Some(h) = host_ip {
        out.push_str(&format!("{h}\t{HOST_NAMES}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str =
        "# generated\nsearch example.com lab\nnameserver 127.0.0.53\nnameserver 10.1.1.1\noptions edns0\n";

    #[test]
    fn resolv_for_pasta_skips_loopback_resolvers() {
        let r = resolv_conf(HOST, &["169.254.0.1".into()], false, &DnsOptions::default()).unwrap();
        assert_eq!(r, "search example.com lab\nnameserver 169.254.0.1\nnameserver 10.1.1.1\noptions edns0\n");
    }

    #[test]
    fn resolv_for_host_keeps_everything() {
        let r = resolv_conf(HOST, &[], true, &DnsOptions::default()).unwrap();
        assert!(r.contains("nameserver 127.0.0.53\nnameserver 10.1.1.1\n"), "{r}");
    }

    #[test]
    fn user_dns_replaces() {
        let user = DnsOptions {
            servers: vec!["9.9.9.9".into()],
            search: vec!["corp.example".into()],
            options: vec!["ndots:3".into()],
        };
        let r = resolv_conf(HOST, &["10.0.2.3".into()], false, &user).unwrap();
        assert_eq!(r, "search corp.example\nnameserver 9.9.9.9\noptions ndots:3\n");
        let none = DnsOptions { servers: vec!["none".into()], ..Default::default() };
        assert_eq!(resolv_conf(HOST, &[], false, &none), None);
        let dot = DnsOptions { search: vec![".".into()], ..Default::default() };
        assert!(!resolv_conf(HOST, &[], false, &dot).unwrap().contains("search"));
        assert!(DnsOptions { servers: vec!["x".into()], ..Default::default() }.validate().is_err());
    }

    #[test]
    fn add_host() {
        assert_eq!(parse_add_host("db:10.0.0.5").unwrap(), (vec!["db".to_string()], "10.0.0.5".to_string()));
        assert_eq!(parse_add_host("a;b:::1").unwrap(), (vec!["a".into(), "b".into()], "::1".into()));
        assert_eq!(parse_add_host("gw:host-gateway").unwrap().1, "host-gateway");
        assert!(parse_add_host("db").is_err());
        assert!(parse_add_host("db:notanip").is_err());
        assert!(parse_add_host(":1.2.3.4").is_err());
    }

    #[test]
    fn hosts_file_order() {
        let add = vec![(vec!["db".to_string()], "10.0.0.5".to_string())];
        let h = hosts("", &add, Some(("192.0.2.2", &["web", "web1"])), Some("192.0.2.1"));
        assert_eq!(
            h,
            "10.0.0.5\tdb\n\
             127.0.0.1\tlocalhost localhost.localdomain localhost4 localhost4.localdomain4\n\
             ::1\tlocalhost localhost.localdomain localhost6 localhost6.localdomain6\n\
             192.0.2.2\tweb web1\n\
             192.0.2.1\thost.containers.internal host.docker.internal\n"
        );
        // A base file with localhost is used as is; duplicate names collapse.
        let h = hosts("127.0.0.1 localhost\n::1 localhost", &[], Some(("127.0.1.1", &["x", "x"])), None);
        assert_eq!(h, "127.0.0.1 localhost\n::1 localhost\n127.0.1.1\tx\n");
    }
}
