//! Network modes (`--network`) and how the default is chosen.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// How a container is connected. Stored in the container's plan.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum NetworkMode {
    /// A new network namespace with only `lo`.
    #[default]
    None,
    /// The host's network namespace.
    Host,
    /// A new namespace connected by pasta; the pasta(1) options given with `--network pasta:OPT,...`.
    Pasta(Vec<String>),
    /// A new namespace connected by slirp4netns; Podman's `slirp4netns:KEY=VALUE,...` options.
    Slirp4netns(Vec<String>),
    /// An existing network namespace (`ns:PATH`).
    Path(String),
    /// The network namespace of another container (`container:NAME|ID`).
    Container(String),
}

impl NetworkMode {
    /// Whether the container gets a namespace of its own that Warren creates (and removes).
    pub fn owns_netns(&self) -> bool {
        matches!(self, NetworkMode::None | NetworkMode::Pasta(_) | NetworkMode::Slirp4netns(_))
    }

    /// The name Podman shows (`inspect` .HostConfig.NetworkMode).
    pub fn name(&self) -> String {
        match self {
            NetworkMode::None => "none".into(),
            NetworkMode::Host => "host".into(),
            NetworkMode::Pasta(_) => "pasta".into(),
            NetworkMode::Slirp4netns(_) => "slirp4netns".into(),
            NetworkMode::Path(p) => format!("ns:{p}"),
            NetworkMode::Container(c) => format!("container:{c}"),
        }
    }

    /// Whether published ports can work in this mode.
    pub fn supports_ports(&self) -> bool {
        matches!(self, NetworkMode::Pasta(_) | NetworkMode::Slirp4netns(_))
    }
}

/// Parse `--network`. `Ok(None)` means "the default" (no option, `private`, `default`, `bridge`): the
/// caller chooses with [`choose_default`].
pub fn parse(s: Option<&str>) -> Result<Option<NetworkMode>> {
    let s = match s {
        None => return Ok(None),
        Some(s) => s.trim(),
    };
    let (name, opts) = match s.split_once(':') {
        Some((n, o)) => (n, Some(o)),
        None => (s, None),
    };
    let list = |o: Option<&str>| -> Vec<String> {
        o.map(|o| o.split(',').filter(|x| !x.is_empty()).map(str::to_string).collect()).unwrap_or_default()
    };
    let mode = match name {
        "" | "private" | "default" | "bridge" | "podman" if opts.is_none() => return Ok(None),
        "none" if opts.is_none() => NetworkMode::None,
        "host" if opts.is_none() => NetworkMode::Host,
        "pasta" => NetworkMode::Pasta(list(opts)),
        "slirp4netns" => {
            let o = list(opts);
            crate::slirp::Options::parse(&o)?;
            NetworkMode::Slirp4netns(o)
        }
        "ns" => match opts {
            Some(p) if p.starts_with('/') => NetworkMode::Path(p.to_string()),
            _ => {
                return Err(Error::new(format!(
                    "invalid --network {s:?}: ns: needs an absolute path (ns:/run/netns/NAME)"
                )))
            }
        },
        "container" => match opts {
            Some(c) if !c.is_empty() => NetworkMode::Container(c.to_string()),
            _ => return Err(Error::new(format!("invalid --network {s:?}: container: needs a container name or ID"))),
        },
        _ => {
            return Err(Error::new(format!(
                "network {s:?} is not supported: use pasta[:OPTIONS], slirp4netns[:OPTIONS], none, host, \
                 ns:PATH or container:NAME (Warren has no named networks)"
            )))
        }
    };
    Ok(Some(mode))
}

/// Look a program up in `$PATH` (what the user's shell would run).
pub fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    find_in(name, &path.to_string_lossy())
}

fn find_in(name: &str, path: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    path.split(':')
        .filter(|d| !d.is_empty())
        .map(|d| Path::new(d).join(name))
        .find(|p| std::fs::metadata(p).map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false))
}

/// The default mode: pasta when it is on PATH, else slirp4netns, else an error that says how to go on.
/// Returns the mode and why it was chosen (for the debug log).
pub fn choose_default(find: impl Fn(&str) -> Option<PathBuf>) -> Result<(NetworkMode, String)> {
    if let Some(p) = find("pasta") {
        return Ok((NetworkMode::Pasta(vec![]), format!("pasta found at {}", p.display())));
    }
    if let Some(p) = find("slirp4netns") {
        return Ok((
            NetworkMode::Slirp4netns(vec![]),
            format!("pasta not found in PATH; using slirp4netns ({})", p.display()),
        ));
    }
    Err(Error::new(
        "no user-mode networking tool found: neither pasta nor slirp4netns is in PATH. Install one \
         (Debian/Ubuntu: apt-get install passt, or apt-get install slirp4netns), or run with \
         --network none (no network) or --network host (the host's network); see docs/rootless.md, \"Networking\"",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_modes() {
        assert_eq!(parse(None).unwrap(), None);
        assert_eq!(parse(Some("private")).unwrap(), None);
        assert_eq!(parse(Some("none")).unwrap(), Some(NetworkMode::None));
        assert_eq!(parse(Some("host")).unwrap(), Some(NetworkMode::Host));
        assert_eq!(parse(Some("pasta")).unwrap(), Some(NetworkMode::Pasta(vec![])));
        assert_eq!(
            parse(Some("pasta:--map-gw,-4")).unwrap(),
            Some(NetworkMode::Pasta(vec!["--map-gw".into(), "-4".into()]))
        );
        assert_eq!(
            parse(Some("slirp4netns:allow_host_loopback=true")).unwrap(),
            Some(NetworkMode::Slirp4netns(vec!["allow_host_loopback=true".into()]))
        );
        assert_eq!(parse(Some("ns:/run/netns/x")).unwrap(), Some(NetworkMode::Path("/run/netns/x".into())));
        assert_eq!(parse(Some("container:web")).unwrap(), Some(NetworkMode::Container("web".into())));
        assert!(parse(Some("ns:relative")).is_err());
        assert!(parse(Some("container:")).is_err());
        assert!(parse(Some("mynet")).unwrap_err().to_string().contains("not supported"));
        assert!(parse(Some("slirp4netns:bogus=1")).is_err());
        assert!(parse(Some("none:x")).is_err());
    }

    #[test]
    fn default_order() {
        let (m, why) = choose_default(|n| Some(PathBuf::from(format!("/usr/bin/{n}")))).unwrap();
        assert_eq!(m, NetworkMode::Pasta(vec![]));
        assert!(why.contains("/usr/bin/pasta"));
        let (m, why) = choose_default(|n| (n == "slirp4netns").then(|| PathBuf::from("/usr/bin/slirp4netns"))).unwrap();
        assert_eq!(m, NetworkMode::Slirp4netns(vec![]));
        assert!(why.starts_with("pasta not found in PATH; using slirp4netns"));
        let e = choose_default(|_| None).unwrap_err().to_string();
        assert!(e.contains("--network none") && e.contains("apt-get install passt"), "{e}");
    }

    #[test]
    fn path_lookup() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("pasta");
        std::fs::write(&p, "#!/bin/sh\n").unwrap();
        assert_eq!(find_in("pasta", &d.path().display().to_string()), None, "not executable");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(find_in("pasta", &format!("/nonexistent:{}", d.path().display())), Some(p));
    }

    #[test]
    fn serde_keeps_unit_variants_as_strings() {
        assert_eq!(serde_json::to_string(&NetworkMode::None).unwrap(), "\"None\"");
        assert_eq!(serde_json::from_str::<NetworkMode>("\"Host\"").unwrap(), NetworkMode::Host);
    }
}
