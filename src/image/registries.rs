//! registries.conf, read from where Podman reads it (containers-registries.conf(5),
//! containers-registries.conf.d(5)):
//!
//! 1. the main file: `$CONTAINERS_REGISTRIES_CONF` if set, else `$HOME/.config/containers/registries.conf`
//!    if it exists, else `/etc/containers/registries.conf`;
//! 2. drop-ins (`*.conf`, alpha-numerical order): `/etc/containers/registries.conf.d/` — skipped when the
//!    per-user main file is in use — then `$HOME/.config/containers/registries.conf.d/`.
//!
//! A later file replaces `unqualified-search-registries` when it sets it; `[[registry]]` tables replace
//! an earlier one with the same prefix and are added otherwise; `[aliases]` are merged by key.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::reference::{Reference, ReferenceError};

pub const SYSTEM_CONF: &str = "/etc/containers/registries.conf";
pub const SYSTEM_CONF_DIR: &str = "/etc/containers/registries.conf.d";
const USER_CONF: &str = ".config/containers/registries.conf";
const USER_CONF_DIR: &str = ".config/containers/registries.conf.d";

#[derive(Debug, thiserror::Error)]
pub enum RegistriesError {
    #[error("reading {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("parsing {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("registry {location:?} in {path}: {message}")]
    Invalid { path: PathBuf, location: String, message: String },
    #[error("pulling {reference}: the registry is blocked by the [[registry]] entry with prefix {prefix:?} in {path}")]
    Blocked { reference: String, prefix: String, path: PathBuf },
    #[error(
        "short-name {name:?} did not resolve to an alias and no unqualified-search registries are defined in {files}; \
         use a fully qualified name (e.g. localhost:5000/{name}) or set unqualified-search-registries"
    )]
    NoSearchRegistries { name: String, files: String },
    #[error(transparent)]
    Reference(#[from] ReferenceError),
}

type Result<T> = std::result::Result<T, RegistriesError>;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct RawFile {
    unqualified_search_registries: Option<Vec<String>>,
    registry: Option<Vec<RawRegistry>>,
    aliases: Option<BTreeMap<String, String>>,
    /// Version 1 format: `[registries.search] registries = [...]` etc.
    registries: Option<RawV1>,
}

#[derive(Debug, Default, Deserialize)]
struct RawV1 {
    search: Option<RawV1List>,
    insecure: Option<RawV1List>,
    block: Option<RawV1List>,
}

#[derive(Debug, Default, Deserialize)]
struct RawV1List {
    #[serde(default)]
    registries: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct RawRegistry {
    location: Option<String>,
    prefix: Option<String>,
    insecure: Option<bool>,
    blocked: Option<bool>,
    mirror_by_digest_only: Option<bool>,
    mirror: Option<Vec<RawMirror>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct RawMirror {
    location: String,
    insecure: Option<bool>,
}

/// A `[[registry.mirror]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mirror {
    pub location: String,
    pub insecure: bool,
}

/// A `[[registry]]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryRule {
    /// What it applies to: `host[:port][/path]` or `*.domain`; defaults to `location`.
    pub prefix: String,
    /// Where to pull from instead (the prefix is rewritten to it); empty for wildcard prefixes.
    pub location: String,
    pub insecure: bool,
    pub blocked: bool,
    pub mirror_by_digest_only: bool,
    pub mirrors: Vec<Mirror>,
    /// The file that defined it.
    pub source: PathBuf,
}

/// One place to try for a pull: the reference rewritten for that endpoint, and whether plain HTTP and
/// unverified TLS are allowed there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullSource {
    pub reference: Reference,
    pub insecure: bool,
    pub mirror: bool,
}

/// The merged configuration.
#[derive(Debug, Clone, Default)]
pub struct RegistriesConf {
    pub search: Vec<String>,
    pub rules: Vec<RegistryRule>,
    pub aliases: BTreeMap<String, String>,
    /// The file that defined each alias.
    pub alias_sources: BTreeMap<String, PathBuf>,
    /// Files read, in order.
    pub files: Vec<PathBuf>,
}

/// Where the configuration comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfPaths {
    pub main: PathBuf,
    pub dirs: Vec<PathBuf>,
}

impl ConfPaths {
    /// Podman's rules, from the environment (`CONTAINERS_REGISTRIES_CONF`, `HOME`).
    pub fn from_env() -> ConfPaths {
        let env_conf = std::env::var_os("CONTAINERS_REGISTRIES_CONF").filter(|v| !v.is_empty()).map(PathBuf::from);
        let home = std::env::var_os("HOME").filter(|v| !v.is_empty()).map(PathBuf::from);
        ConfPaths::decide(env_conf, home.as_deref(), Path::new(SYSTEM_CONF), Path::new(SYSTEM_CONF_DIR))
    }

    fn decide(env_conf: Option<PathBuf>, home: Option<&Path>, system: &Path, system_dir: &Path) -> ConfPaths {
        let user_file = home.map(|h| h.join(USER_CONF));
        let user_dir = home.map(|h| h.join(USER_CONF_DIR));
        if let Some(main) = env_conf {
            let dirs = std::iter::once(system_dir.to_path_buf()).chain(user_dir).collect();
            return ConfPaths { main, dirs };
        }
        if let Some(uf) = user_file.filter(|f| f.exists()) {
            // The per-user file replaces the system file and the system drop-ins.
            return ConfPaths { main: uf, dirs: user_dir.into_iter().collect() };
        }
        let dirs = std::iter::once(system_dir.to_path_buf()).chain(user_dir).collect();
        ConfPaths { main: system.to_path_buf(), dirs }
    }
}

impl RegistriesConf {
    /// Load from Podman's locations.
    pub fn load() -> Result<RegistriesConf> {
        RegistriesConf::load_from(&ConfPaths::from_env())
    }

    /// Load the main file (if it exists) and the `*.conf` drop-ins of each directory (if it exists).
    pub fn load_from(paths: &ConfPaths) -> Result<RegistriesConf> {
        let mut conf = RegistriesConf::default();
        let mut files = Vec::new();
        if paths.main.exists() {
            files.push(paths.main.clone());
        }
        for dir in &paths.dirs {
            let entries = match std::fs::read_dir(dir) {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => return Err(RegistriesError::Read { path: dir.clone(), source }),
            };
            let mut dropins: Vec<PathBuf> = entries
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "conf") && p.is_file())
                .collect();
            dropins.sort();
            files.extend(dropins);
        }
        for f in files {
            let text =
                std::fs::read_to_string(&f).map_err(|source| RegistriesError::Read { path: f.clone(), source })?;
            conf.merge_str(&text, &f)?;
        }
        Ok(conf)
    }

    /// Merge one file's content (exposed for tests).
    pub fn merge_str(&mut self, text: &str, path: &Path) -> Result<()> {
        let raw: RawFile = toml::from_str(text)
            .map_err(|e| RegistriesError::Parse { path: path.to_path_buf(), message: e.to_string() })?;
        self.files.push(path.to_path_buf());
        let mut new_rules = Vec::new();
        if let Some(v1) = raw.registries {
            if let Some(s) = v1.search {
                self.search = s.registries;
            }
            for loc in v1.insecure.map(|l| l.registries).unwrap_or_default() {
                new_rules.push(RegistryRule { insecure: true, ..rule_for(&loc, path) });
            }
            for loc in v1.block.map(|l| l.registries).unwrap_or_default() {
                new_rules.push(RegistryRule { blocked: true, ..rule_for(&loc, path) });
            }
        }
        if let Some(s) = raw.unqualified_search_registries {
            self.search = s;
        }
        for r in raw.registry.unwrap_or_default() {
            let location = r.location.unwrap_or_default().trim_end_matches('/').to_string();
            let prefix = r.prefix.map(|p| p.trim_end_matches('/').to_string()).unwrap_or_else(|| location.clone());
            let invalid = |message: &str| RegistriesError::Invalid {
                path: path.to_path_buf(),
                location: if location.is_empty() { prefix.clone() } else { location.clone() },
                message: message.to_string(),
            };
            if prefix.is_empty() {
                return Err(invalid("a [[registry]] needs a location or a prefix"));
            }
            if prefix.starts_with("*.") {
                if !location.is_empty() && location != prefix {
                    return Err(invalid("a wildcarded prefix cannot have a location"));
                }
            } else if prefix.contains('*') {
                return Err(invalid("'*' is only allowed as the first label of a prefix (*.example.com)"));
            }
            let mirrors = r
                .mirror
                .unwrap_or_default()
                .into_iter()
                .map(|m| Mirror {
                    location: m.location.trim_end_matches('/').to_string(),
                    insecure: m.insecure.unwrap_or(false),
                })
                .collect();
            new_rules.push(RegistryRule {
                // No location: the prefix itself (no rewrite), as containers/image does.
                location: if prefix.starts_with("*.") {
                    String::new()
                } else if location.is_empty() {
                    prefix.clone()
                } else {
                    location.clone()
                },
                prefix,
                insecure: r.insecure.unwrap_or(false),
                blocked: r.blocked.unwrap_or(false),
                mirror_by_digest_only: r.mirror_by_digest_only.unwrap_or(false),
                mirrors,
                source: path.to_path_buf(),
            });
        }
        for rule in new_rules {
            match self.rules.iter_mut().find(|r| r.prefix == rule.prefix) {
                Some(existing) => *existing = rule,
                None => self.rules.push(rule),
            }
        }
        for (k, v) in raw.aliases.unwrap_or_default() {
            if v.is_empty() {
                self.aliases.remove(&k);
                self.alias_sources.remove(&k);
            } else {
                self.alias_sources.insert(k.clone(), path.to_path_buf());
                self.aliases.insert(k, v);
            }
        }
        Ok(())
    }

    /// The rule with the longest prefix matching `name` (`host[:port]/repository...`), if any.
    pub fn rule_for(&self, name: &str) -> Option<&RegistryRule> {
        let host = name.split('/').next().unwrap_or(name);
        self.rules.iter().filter(|r| prefix_matches(&r.prefix, name, host)).max_by_key(|r| {
            if r.prefix.starts_with("*.") {
                0
            } else {
                r.prefix.len() + 1
            }
        })
    }

    /// Whether plain HTTP / unverified TLS is allowed for this registry host.
    pub fn is_insecure(&self, host: &str) -> bool {
        self.rule_for(host).is_some_and(|r| r.insecure)
    }

    /// The candidates for a user-supplied name, in order: the name itself when it is fully qualified,
    /// else its alias, else the name on each unqualified-search registry.
    pub fn candidates(&self, input: &str) -> Result<Vec<Reference>> {
        let r = Reference::parse_unresolved(input)?;
        if !r.is_short() {
            return Ok(vec![r]);
        }
        if let Some(target) = self.aliases.get(&r.repository) {
            let mut a = Reference::parse_unresolved(target)?;
            if a.is_short() {
                a = a.qualify(super::reference::DOCKER_HUB);
            }
            // The alias names the repository; the user's tag/digest applies.
            a.tag = r.tag.clone();
            a.digest = r.digest.clone();
            return Ok(vec![a]);
        }
        if self.search.is_empty() {
            return Err(RegistriesError::NoSearchRegistries { name: r.repository.clone(), files: self.files_list() });
        }
        Ok(self.search.iter().map(|reg| r.qualify(reg)).collect())
    }

    /// Where to pull a fully qualified reference from: mirrors first, then the (possibly rewritten)
    /// location. A blocked registry is an error naming the rule.
    pub fn pull_sources(&self, r: &Reference) -> Result<Vec<PullSource>> {
        let name = r.name();
        let Some(rule) = self.rule_for(&name) else {
            return Ok(vec![PullSource { reference: r.clone(), insecure: false, mirror: false }]);
        };
        if rule.blocked {
            return Err(RegistriesError::Blocked {
                reference: r.to_string(),
                prefix: rule.prefix.clone(),
                path: rule.source.clone(),
            });
        }
        let rewrite = |location: &str| -> Result<Reference> {
            if rule.prefix.starts_with("*.") || location.is_empty() {
                return Ok(r.clone());
            }
            let rest = &name[rule.prefix.len()..];
            let mut n = Reference::parse_unresolved(&format!("{location}{rest}"))?;
            if n.is_short() {
                n = n.qualify(super::reference::DOCKER_HUB);
            }
            n.tag = r.tag.clone();
            n.digest = r.digest.clone();
            Ok(n)
        };
        let mut out = Vec::new();
        if !rule.mirror_by_digest_only || r.digest.is_some() {
            for m in &rule.mirrors {
                out.push(PullSource { reference: rewrite(&m.location)?, insecure: m.insecure, mirror: true });
            }
        }
        out.push(PullSource { reference: rewrite(&rule.location)?, insecure: rule.insecure, mirror: false });
        Ok(out)
    }

    fn files_list(&self) -> String {
        if self.files.is_empty() {
            "(no registries.conf file found)".to_string()
        } else {
            self.files.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
        }
    }
}

fn rule_for(location: &str, path: &Path) -> RegistryRule {
    RegistryRule {
        prefix: location.to_string(),
        location: location.to_string(),
        insecure: false,
        blocked: false,
        mirror_by_digest_only: false,
        mirrors: Vec::new(),
        source: path.to_path_buf(),
    }
}

/// containers/image's rule: the prefix matches the whole name or a leading part of it that ends at
/// `/`, `:` or `@`; `*.example.com` matches any host below example.com.
fn prefix_matches(prefix: &str, name: &str, host: &str) -> bool {
    if let Some(domain) = prefix.strip_prefix('*') {
        let host_only = host.split(':').next().unwrap_or(host);
        return host_only.ends_with(domain) && host_only.len() > domain.len();
    }
    match name.strip_prefix(prefix) {
        Some("") => true,
        Some(rest) => rest.starts_with('/') || rest.starts_with(':') || rest.starts_with('@'),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(text: &str) -> RegistriesConf {
        let mut c = RegistriesConf::default();
        c.merge_str(text, Path::new("/test/registries.conf")).unwrap();
        c
    }

    #[test]
    fn search_registries_in_order() {
        let c = conf(r#"unqualified-search-registries = ["localhost:5000", "docker.io"]"#);
        let cands: Vec<String> = c.candidates("busybox").unwrap().iter().map(|r| r.to_string()).collect();
        assert_eq!(cands, ["localhost:5000/busybox:latest", "docker.io/library/busybox:latest"]);
        let cands: Vec<String> = c.candidates("warren/busybox:1").unwrap().iter().map(|r| r.to_string()).collect();
        assert_eq!(cands, ["localhost:5000/warren/busybox:1", "docker.io/warren/busybox:1"]);
        // Qualified names are not searched.
        let cands = c.candidates("quay.io/a/b").unwrap();
        assert_eq!(cands.len(), 1);
        assert_eq!(cands[0].to_string(), "quay.io/a/b:latest");
    }

    #[test]
    fn no_search_registries_is_a_clear_error() {
        let c = conf("");
        let e = c.candidates("busybox").unwrap_err().to_string();
        assert!(e.contains("short-name \"busybox\""), "{e}");
        assert!(e.contains("unqualified-search"), "{e}");
        assert!(e.contains("/test/registries.conf"), "{e}");
        assert!(c.candidates("localhost:5000/x").is_ok());
    }

    #[test]
    fn aliases_win_over_search() {
        let c = conf(
            r#"
unqualified-search-registries = ["localhost:5000"]
[aliases]
"busybox" = "docker.io/library/busybox"
"#,
        );
        let cands = c.candidates("busybox:1.36").unwrap();
        assert_eq!(cands.len(), 1);
        assert_eq!(cands[0].to_string(), "docker.io/library/busybox:1.36");
        assert_eq!(c.candidates("lab/busybox").unwrap()[0].to_string(), "localhost:5000/lab/busybox:latest");
    }

    #[test]
    fn dropins_override_and_merge() {
        let mut c = conf(
            r#"
unqualified-search-registries = ["docker.io"]
[[registry]]
location = "localhost:5000"
insecure = true
[[registry]]
location = "quay.io"
"#,
        );
        c.merge_str(
            r#"
unqualified-search-registries = ["localhost:5000"]
[[registry]]
location = "localhost:5000"
insecure = false
blocked = true
"#,
            Path::new("/test/d/50.conf"),
        )
        .unwrap();
        assert_eq!(c.search, ["localhost:5000"]);
        assert_eq!(c.rules.len(), 2);
        let r = c.rule_for("localhost:5000/a").unwrap();
        assert!(r.blocked && !r.insecure);
        assert_eq!(r.source, Path::new("/test/d/50.conf"));
        // A file that does not set the search list keeps the earlier one.
        c.merge_str("[[registry]]\nlocation = \"x.io\"\n", Path::new("/test/d/60.conf")).unwrap();
        assert_eq!(c.search, ["localhost:5000"]);
    }

    #[test]
    fn blocked_names_the_rule() {
        let c = conf("[[registry]]\nprefix = \"example.com/bad\"\nlocation = \"example.com/bad\"\nblocked = true\n");
        let r = Reference::parse("example.com/bad/x").unwrap();
        let e = c.pull_sources(&r).unwrap_err().to_string();
        assert!(e.contains("blocked") && e.contains("example.com/bad") && e.contains("/test/registries.conf"), "{e}");
        // Prefix boundaries: example.com/badger is not example.com/bad.
        let ok = Reference::parse("example.com/badger").unwrap();
        assert_eq!(c.pull_sources(&ok).unwrap().len(), 1);
    }

    #[test]
    fn mirrors_and_rewrites() {
        let c = conf(
            r#"
[[registry]]
prefix = "example.com/foo"
location = "internal.example.com/bar"
insecure = true
[[registry.mirror]]
location = "mirror.local:5000/m"
insecure = true
[[registry.mirror]]
location = "mirror2.local"
"#,
        );
        let r = Reference::parse("example.com/foo/img:1").unwrap();
        let s = c.pull_sources(&r).unwrap();
        let got: Vec<(String, bool, bool)> =
            s.iter().map(|p| (p.reference.to_string(), p.insecure, p.mirror)).collect();
        assert_eq!(
            got,
            [
                ("mirror.local:5000/m/img:1".to_string(), true, true),
                ("mirror2.local/img:1".to_string(), false, true),
                ("internal.example.com/bar/img:1".to_string(), true, false),
            ]
        );
    }

    #[test]
    fn mirror_by_digest_only() {
        let c = conf(
            r#"
[[registry]]
location = "example.com"
mirror-by-digest-only = true
[[registry.mirror]]
location = "m.local"
"#,
        );
        assert_eq!(c.pull_sources(&Reference::parse("example.com/a").unwrap()).unwrap().len(), 1);
        let d = format!("example.com/a@sha256:{}", "0".repeat(64));
        assert_eq!(c.pull_sources(&Reference::parse(&d).unwrap()).unwrap().len(), 2);
    }

    #[test]
    fn wildcard_and_longest_prefix() {
        let c = conf(
            r#"
[[registry]]
prefix = "*.example.com"
insecure = true
[[registry]]
location = "a.example.com/special"
blocked = true
"#,
        );
        assert!(c.is_insecure("a.example.com"));
        assert!(c.is_insecure("b.example.com:5000"));
        assert!(!c.is_insecure("example.com"));
        assert!(c.rule_for("a.example.com/special/x").unwrap().blocked);
        assert!(!c.rule_for("a.example.com/other").unwrap().blocked);
    }

    #[test]
    fn invalid_files_are_errors_naming_the_file() {
        let mut c = RegistriesConf::default();
        let e = c.merge_str("unqualified-search-registries = [", Path::new("/x/bad.conf")).unwrap_err().to_string();
        assert!(e.contains("/x/bad.conf"), "{e}");
        let e = c.merge_str("[[registry]]\ninsecure = true\n", Path::new("/x/b.conf")).unwrap_err().to_string();
        assert!(e.contains("location or a prefix"), "{e}");
        // A prefix alone is fine (a blocked registry needs no location).
        c.merge_str("[[registry]]\nprefix = \"bad.io\"\nblocked = true\n", Path::new("/x/ok.conf")).unwrap();
        assert!(c.pull_sources(&Reference::parse("bad.io/x").unwrap()).unwrap_err().to_string().contains("blocked"));
        c.merge_str("[[registry]]\nprefix = \"plain.io/ns\"\ninsecure = true\n", Path::new("/x/ok.conf")).unwrap();
        let s = c.pull_sources(&Reference::parse("plain.io/ns/x:1").unwrap()).unwrap();
        assert_eq!(s[0].reference.to_string(), "plain.io/ns/x:1");
        assert!(s[0].insecure);
        let e = c
            .merge_str("[[registry]]\nprefix = \"*.a.com\"\nlocation = \"b.com\"\n", Path::new("/x/c.conf"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("wildcard"), "{e}");
    }

    #[test]
    fn v1_format() {
        let c = conf(
            r#"
[registries.search]
registries = ["localhost:5000"]
[registries.insecure]
registries = ["localhost:5000"]
[registries.block]
registries = ["evil.io"]
"#,
        );
        assert_eq!(c.search, ["localhost:5000"]);
        assert!(c.is_insecure("localhost:5000"));
        assert!(c.rule_for("evil.io/x").unwrap().blocked);
    }

    #[test]
    fn file_locations_follow_podman() {
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path().join("home");
        let sys = tmp.path().join("etc/registries.conf");
        let sys_d = tmp.path().join("etc/registries.conf.d");
        std::fs::create_dir_all(&sys_d).unwrap();
        std::fs::create_dir_all(home.join(USER_CONF_DIR)).unwrap();
        std::fs::write(&sys, "unqualified-search-registries = [\"sys.io\"]\n").unwrap();
        std::fs::write(sys_d.join("20-b.conf"), "unqualified-search-registries = [\"b.io\"]\n").unwrap();
        std::fs::write(sys_d.join("10-a.conf"), "unqualified-search-registries = [\"a.io\"]\n").unwrap();
        std::fs::write(sys_d.join("30-ignored.txt"), "unqualified-search-registries = [\"no.io\"]\n").unwrap();

        // No user file: system file, then system drop-ins (sorted), then user drop-ins.
        let p = ConfPaths::decide(None, Some(&home), &sys, &sys_d);
        assert_eq!(p.main, sys);
        let c = RegistriesConf::load_from(&p).unwrap();
        assert_eq!(c.search, ["b.io"]);
        assert_eq!(c.files.len(), 3);
        std::fs::write(home.join(USER_CONF_DIR).join("1.conf"), "unqualified-search-registries = [\"u.io\"]\n")
            .unwrap();
        assert_eq!(RegistriesConf::load_from(&p).unwrap().search, ["u.io"]);

        // A user file replaces the system file and the system drop-ins.
        std::fs::write(home.join(USER_CONF), "[[registry]]\nlocation = \"localhost:5000\"\ninsecure = true\n").unwrap();
        let p = ConfPaths::decide(None, Some(&home), &sys, &sys_d);
        assert_eq!(p.main, home.join(USER_CONF));
        assert_eq!(p.dirs, [home.join(USER_CONF_DIR)]);
        let c = RegistriesConf::load_from(&p).unwrap();
        assert_eq!(c.search, ["u.io"]);
        assert!(c.is_insecure("localhost:5000"));

        // CONTAINERS_REGISTRIES_CONF replaces the main file only.
        let envf = tmp.path().join("env.conf");
        std::fs::write(&envf, "unqualified-search-registries = [\"env.io\"]\n").unwrap();
        let p = ConfPaths::decide(Some(envf.clone()), Some(&home), &sys, &sys_d);
        assert_eq!(p.main, envf);
        assert_eq!(p.dirs, [sys_d.clone(), home.join(USER_CONF_DIR)]);

        // Missing files are fine.
        let p = ConfPaths { main: tmp.path().join("none"), dirs: vec![tmp.path().join("nodir")] };
        assert!(RegistriesConf::load_from(&p).unwrap().files.is_empty());
    }
}
