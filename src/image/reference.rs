//! Image references, parsed and normalised like Docker and Podman.
//!
//! Grammar (distribution/reference): `[domain[:port]/]path-component(/path-component)*[:tag][@digest]`
//! where the first component is a domain only if it contains `.` or `:`, is `localhost`, or has an
//! uppercase letter. A reference without a domain is a *short name*: Podman resolves it through
//! registries.conf ([`crate::image::registries`]); [`Reference::parse`] applies Docker's default
//! (`docker.io`, `library/` for one-component names).

use anyhow::Result;
use std::fmt;

use crate::storage::Digest;

/// Docker Hub's canonical name.
pub const DOCKER_HUB: &str = "docker.io";
const NAME_TOTAL_MAX: usize = 255;
const TAG_MAX: usize = 128;

/// What is wrong with a reference.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReferenceError {
    #[error("invalid reference format: empty image name")]
    Empty,
    #[error("invalid reference format {0:?}: repository name must be lowercase")]
    Uppercase(String),
    #[error("invalid reference format {0:?}: {1}")]
    Malformed(String, String),
    #[error("invalid reference format {0:?}: repository name must not be longer than 255 characters")]
    TooLong(String),
    #[error("invalid reference format {0:?}: tag {1:?} is invalid (up to 128 of [A-Za-z0-9_.-], not starting with '.' or '-')")]
    BadTag(String, String),
    #[error("invalid reference format {0:?}: invalid digest {1:?} (expected sha256: and 64 lowercase hex digits)")]
    BadDigest(String, String),
}

/// A parsed image reference. `registry` is always set after normalisation (`docker.io` for Docker Hub
/// short names is decided by [`Reference::parse`] only when the name has no registry and the caller asked
/// for Docker's normalisation; short-name resolution through registries.conf happens elsewhere).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    /// e.g. `docker.io`, `localhost:5000`; empty for a short name that still needs resolution.
    pub registry: String,
    /// e.g. `library/busybox`, `lab/busybox`.
    pub repository: String,
    pub tag: Option<String>,
    /// `sha256:...`
    pub digest: Option<String>,
}

impl Reference {
    /// Parse and normalise like Docker/Podman: `busybox` → `docker.io/library/busybox:latest`,
    /// `host:port/a/b:tag`, `name@sha256:...`. Malformed references are errors naming what is wrong.
    pub fn parse(s: &str) -> Result<Reference> {
        let r = Reference::parse_unresolved(s)?;
        if r.is_short() {
            Ok(r.qualify(DOCKER_HUB))
        } else {
            Ok(r)
        }
    }

    /// Parse without choosing a registry for a short name: `registry` stays empty when the input names
    /// none (see [`Reference::is_short`]). A missing tag (and digest) becomes `latest`.
    pub fn parse_unresolved(s: &str) -> std::result::Result<Reference, ReferenceError> {
        if s.is_empty() {
            return Err(ReferenceError::Empty);
        }
        let bad = |why: &str| ReferenceError::Malformed(s.to_string(), why.to_string());
        let (rest, digest) = match s.split_once('@') {
            Some((rest, d)) => {
                if d.is_empty() {
                    return Err(bad("'@' must be followed by a digest"));
                }
                if Digest::parse(d).is_err() {
                    return Err(ReferenceError::BadDigest(s.to_string(), d.to_string()));
                }
                (rest, Some(d.to_string()))
            }
            None => (s, None),
        };
        // The tag is after the last ':' that follows the last '/'.
        let last_slash = rest.rfind('/').map(|i| i + 1).unwrap_or(0);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => {
                let i = last_slash + i;
                let tag = &rest[i + 1..];
                if tag.is_empty() {
                    return Err(bad("':' must be followed by a tag"));
                }
                if !valid_tag(tag) {
                    return Err(ReferenceError::BadTag(s.to_string(), tag.to_string()));
                }
                (&rest[..i], Some(tag.to_string()))
            }
            None => (rest, None),
        };
        if name.is_empty() {
            return Err(bad("missing repository name"));
        }
        if name.len() > NAME_TOTAL_MAX {
            return Err(ReferenceError::TooLong(s.to_string()));
        }
        let (registry, path) = match name.split_once('/') {
            Some((first, path)) if is_domain_like(first) => {
                if !valid_domain(first) {
                    return Err(bad(&format!("invalid registry host {first:?}")));
                }
                (normalise_domain(first), path)
            }
            _ => (String::new(), name),
        };
        if path.is_empty() {
            return Err(bad("missing repository name"));
        }
        if path.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(ReferenceError::Uppercase(s.to_string()));
        }
        for comp in path.split('/') {
            if !valid_component(comp) {
                return Err(if comp.is_empty() {
                    bad("empty path component")
                } else {
                    bad(&format!(
                        "invalid repository component {comp:?} (lowercase letters, digits and separators '.', '_', '__', '-' between them)"
                    ))
                });
            }
        }
        let mut repository = path.to_string();
        if registry == DOCKER_HUB && !repository.contains('/') {
            repository = format!("library/{repository}");
        }
        let tag = if tag.is_none() && digest.is_none() { Some("latest".to_string()) } else { tag };
        Ok(Reference { registry, repository, tag, digest })
    }

    /// True when the input named no registry (`busybox`, `lab/busybox`): Podman resolves such names
    /// through `unqualified-search-registries`.
    pub fn is_short(&self) -> bool {
        self.registry.is_empty()
    }

    /// This (short) reference on a registry: `docker.io` gets `library/` for one-component names.
    pub fn qualify(&self, registry: &str) -> Reference {
        let registry = normalise_domain(registry);
        let mut repository = self.repository.clone();
        if registry == DOCKER_HUB && !repository.contains('/') {
            repository = format!("library/{repository}");
        }
        Reference { registry, repository, tag: self.tag.clone(), digest: self.digest.clone() }
    }

    /// `registry/repository`, without tag or digest.
    pub fn name(&self) -> String {
        if self.registry.is_empty() {
            self.repository.clone()
        } else {
            format!("{}/{}", self.registry, self.repository)
        }
    }

    /// What to ask the registry's manifest endpoint for: the digest when there is one, else the tag.
    pub fn manifest_ref(&self) -> &str {
        self.digest.as_deref().or(self.tag.as_deref()).unwrap_or("latest")
    }

    /// `registry/repository:tag` when there is a tag, `registry/repository@digest` otherwise.
    pub fn familiar_name(&self) -> String {
        match (&self.tag, &self.digest) {
            (Some(t), _) => format!("{}:{t}", self.name()),
            (None, Some(d)) => format!("{}@{d}", self.name()),
            (None, None) => format!("{}:latest", self.name()),
        }
    }
}

impl std::str::FromStr for Reference {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Reference> {
        Reference::parse(s)
    }
}

/// Docker's rule: the first component is a registry if it has a `.` or `:`, is `localhost`, or is not
/// all lowercase.
fn is_domain_like(first: &str) -> bool {
    first.contains('.') || first.contains(':') || first == "localhost" || first.bytes().any(|b| b.is_ascii_uppercase())
}

/// `host[:port]`, host = dot-separated labels of alphanumerics and inner hyphens, or `[ipv6]`.
fn valid_domain(d: &str) -> bool {
    let (host, port) = if let Some(rest) = d.strip_prefix('[') {
        let Some((ip6, after)) = rest.split_once(']') else { return false };
        if ip6.is_empty() || !ip6.bytes().all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.') {
            return false;
        }
        match after {
            "" => return true,
            p => match p.strip_prefix(':') {
                Some(port) => ("x", Some(port)),
                None => return false,
            },
        }
    } else {
        match d.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (d, None),
        }
    };
    if let Some(p) = port {
        if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
    }
    !host.is_empty()
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

fn normalise_domain(d: &str) -> String {
    match d {
        "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB.to_string(),
        other => other.to_string(),
    }
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn valid_component(c: &str) -> bool {
    let b = c.as_bytes();
    if b.is_empty() || !is_alnum(b[0]) || !is_alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if is_alnum(b[i]) {
            i += 1;
            continue;
        }
        // A separator run: '.', '_', '__', or one or more '-'.
        let start = i;
        while i < b.len() && !is_alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-');
        if !ok {
            return false;
        }
    }
    true
}

fn is_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// `[\w][\w.-]{0,127}`
fn valid_tag(t: &str) -> bool {
    let b = t.as_bytes();
    !b.is_empty()
        && b.len() <= TAG_MAX
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || c == b'-')
}

impl fmt::Display for Reference {
    /// `registry/repository[:tag][@digest]`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.registry.is_empty() {
            write!(f, "{}/", self.registry)?;
        }
        f.write_str(&self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:e1ad6751e6b7cb99a45ad3d3a3ed0ca8b414d4087b40ff2fee53997def6df2fe";

    fn p(s: &str) -> String {
        Reference::parse(s).unwrap().to_string()
    }

    fn err(s: &str) -> String {
        Reference::parse(s).unwrap_err().to_string()
    }

    #[test]
    fn docker_hub_normalisation() {
        assert_eq!(p("busybox"), "docker.io/library/busybox:latest");
        assert_eq!(p("busybox:1.36"), "docker.io/library/busybox:1.36");
        assert_eq!(p("user/x"), "docker.io/user/x:latest");
        assert_eq!(p("docker.io/busybox"), "docker.io/library/busybox:latest");
        assert_eq!(p("index.docker.io/library/busybox"), "docker.io/library/busybox:latest");
        assert_eq!(p("docker.io/library/busybox:latest"), "docker.io/library/busybox:latest");
        assert_eq!(p("a/b/c/d"), "docker.io/a/b/c/d:latest");
    }

    #[test]
    fn registries_with_ports_and_localhost() {
        assert_eq!(p("localhost:5000/lab/busybox"), "localhost:5000/lab/busybox:latest");
        assert_eq!(p("localhost:5000/a/b:tag"), "localhost:5000/a/b:tag");
        assert_eq!(p("localhost/x"), "localhost/x:latest");
        assert_eq!(p("quay.io/podman/stable:v4"), "quay.io/podman/stable:v4");
        assert_eq!(p("127.0.0.1:5000/x"), "127.0.0.1:5000/x:latest");
        assert_eq!(p("[::1]:5000/x"), "[::1]:5000/x:latest");
        assert_eq!(p("my-host.example.com/a"), "my-host.example.com/a:latest");
        let r = Reference::parse("localhost:5000/a/b:tag").unwrap();
        assert_eq!(r.registry, "localhost:5000");
        assert_eq!(r.repository, "a/b");
        assert_eq!(r.tag.as_deref(), Some("tag"));
        assert!(r.digest.is_none());
    }

    #[test]
    fn digests() {
        let r = Reference::parse(&format!("busybox@{D}")).unwrap();
        assert_eq!(r.tag, None);
        assert_eq!(r.digest.as_deref(), Some(D));
        assert_eq!(r.to_string(), format!("docker.io/library/busybox@{D}"));
        assert_eq!(r.manifest_ref(), D);
        let r = Reference::parse(&format!("localhost:5000/lab/busybox:latest@{D}")).unwrap();
        assert_eq!(r.tag.as_deref(), Some("latest"));
        assert_eq!(r.digest.as_deref(), Some(D));
        assert_eq!(r.manifest_ref(), D);
        assert_eq!(r.to_string(), format!("localhost:5000/lab/busybox:latest@{D}"));
        // A port is not a tag.
        let r = Reference::parse(&format!("localhost:5000/x@{D}")).unwrap();
        assert_eq!(r.registry, "localhost:5000");
        assert_eq!(r.tag, None);
    }

    #[test]
    fn short_names() {
        for s in ["busybox", "lab/busybox", "warren/busybox:latest", "a/b/c"] {
            assert!(Reference::parse_unresolved(s).unwrap().is_short(), "{s}");
        }
        for s in ["localhost/x", "localhost:5000/x", "docker.io/busybox", "quay.io/a/b", "Foo/bar"] {
            assert!(!Reference::parse_unresolved(s).unwrap().is_short(), "{s}");
        }
        let r = Reference::parse_unresolved("lab/busybox").unwrap();
        assert_eq!(r.to_string(), "lab/busybox:latest");
        assert_eq!(r.qualify("localhost:5000").to_string(), "localhost:5000/lab/busybox:latest");
        let r = Reference::parse_unresolved("busybox").unwrap();
        assert_eq!(r.qualify("docker.io").to_string(), "docker.io/library/busybox:latest");
        assert_eq!(r.qualify("localhost:5000").to_string(), "localhost:5000/busybox:latest");
        assert_eq!(r.qualify("index.docker.io").registry, "docker.io");
    }

    #[test]
    fn separators_in_components() {
        assert_eq!(p("a.b/c_d/e__f/g-h/i---j"), "a.b/c_d/e__f/g-h/i---j:latest");
        assert!(Reference::parse("a/b___c").is_err());
        assert!(Reference::parse("a/b..c").is_err());
        assert!(Reference::parse("a/-b").is_err());
        assert!(Reference::parse("a/b-").is_err());
        assert!(Reference::parse("a/.b").is_err());
        assert!(Reference::parse("a//b").is_err());
        assert!(Reference::parse("a/b/").is_err());
    }

    #[test]
    fn malformed() {
        assert!(err("").contains("empty"));
        assert!(err("Busybox").contains("lowercase") || err("Busybox").contains("invalid"));
        assert!(err("localhost:5000/Lab/busybox").contains("lowercase"));
        assert!(err("docker.io/UPPER").contains("lowercase"));
        assert!(err("busybox:").contains("tag"));
        assert!(err("busybox:-x").contains("tag"));
        assert!(err("busybox:.x").contains("tag"));
        assert!(err("busybox:a/b").contains("invalid"));
        assert!(err("busybox:a+b").contains("tag"));
        assert!(err(&format!("busybox:{}", "a".repeat(129))).contains("tag"));
        assert_eq!(
            p(&format!("busybox:{}", "a".repeat(128))),
            format!("docker.io/library/busybox:{}", "a".repeat(128))
        );
        assert!(err("busybox@").contains("digest"));
        assert!(err("busybox@sha256:abc").contains("digest"));
        assert!(err("busybox@md5:0123").contains("digest"));
        assert!(err(&format!("busybox@sha256:{}", "A".repeat(64))).contains("digest"));
        assert!(err(&format!("busybox@{D}@{D}")).contains("digest"));
        assert!(Reference::parse(":tag").is_err());
        assert!(Reference::parse("/busybox").is_err());
        assert!(Reference::parse("localhost:5000/").is_err());
        assert!(Reference::parse("bad host!/x").is_err());
        assert!(Reference::parse("host:port/x").is_err());
        assert!(Reference::parse("-host.com/x").is_err());
        assert!(Reference::parse("with space").is_err());
        assert!(Reference::parse(&format!("a/{}", "b".repeat(255))).is_err());
        // Errors say which input was wrong.
        assert!(err("Busybox").contains("\"Busybox\""));
    }

    #[test]
    fn uppercase_first_component_is_a_registry() {
        // Docker treats a non-lowercase first component as a host name.
        let r = Reference::parse("Foo/bar").unwrap();
        assert_eq!(r.registry, "Foo");
        assert_eq!(r.repository, "bar");
    }

    #[test]
    fn names() {
        let r = Reference::parse(&format!("localhost:5000/lab/busybox@{D}")).unwrap();
        assert_eq!(r.name(), "localhost:5000/lab/busybox");
        assert_eq!(r.familiar_name(), format!("localhost:5000/lab/busybox@{D}"));
        let r: Reference = "lab/busybox:1".parse().unwrap();
        assert_eq!(r.familiar_name(), "docker.io/lab/busybox:1");
    }
}
