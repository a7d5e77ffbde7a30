//! Signature policy (containers-policy.json(5)), as far as Warren can honour it: `insecureAcceptAnything`
//! accepts, `reject` refuses, and a requirement for signatures (`signedBy`, `sigstoreSigned`) refuses
//! too, because Warren cannot verify signatures yet — an administrator who asked for signed images must
//! not get unsigned ones silently.
//!
//! File: `$HOME/.config/containers/policy.json` if it exists, else `/etc/containers/policy.json`. With
//! neither, everything is accepted (Podman would refuse to pull; Warren says so at debug level).

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::reference::Reference;

pub const SYSTEM_POLICY: &str = "/etc/containers/policy.json";

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("reading {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("parsing {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("pulling {reference} is rejected by the signature policy in {path} (scope {scope:?})")]
    Rejected { reference: String, path: PathBuf, scope: String },
    #[error(
        "pulling {reference}: the signature policy in {path} (scope {scope:?}) requires {kind} signatures, which \
         Warren cannot verify yet; pull it with a tool that verifies signatures, or change the policy"
    )]
    Unverifiable { reference: String, path: PathBuf, scope: String, kind: String },
}

#[derive(Debug, Clone, Deserialize)]
struct Requirement {
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct RawPolicy {
    #[serde(default)]
    default: Vec<Requirement>,
    #[serde(default)]
    transports: BTreeMap<String, BTreeMap<String, Vec<Requirement>>>,
}

/// A loaded policy.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    raw: RawPolicy,
    /// None: no policy file; everything is accepted.
    pub path: Option<PathBuf>,
}

impl Policy {
    /// Podman's lookup (per-user file first).
    pub fn load() -> Result<Policy, PolicyError> {
        let user = std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(|h| PathBuf::from(h).join(".config/containers/policy.json"));
        match user.filter(|p| p.exists()) {
            Some(p) => Policy::load_from(&p),
            None => Policy::load_from(Path::new(SYSTEM_POLICY)),
        }
    }

    /// Load one file; a missing file accepts everything.
    pub fn load_from(path: &Path) -> Result<Policy, PolicyError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                tracing::debug!("no signature policy at {}: accepting every image", path.display());
                return Ok(Policy::default());
            }
            Err(source) => return Err(PolicyError::Read { path: path.into(), source }),
        };
        Policy::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Policy, PolicyError> {
        let raw: RawPolicy =
            serde_json::from_str(text).map_err(|e| PolicyError::Parse { path: path.into(), message: e.to_string() })?;
        if raw.default.is_empty() {
            return Err(PolicyError::Parse { path: path.into(), message: "\"default\" must list requirements".into() });
        }
        Ok(Policy { raw, path: Some(path.into()) })
    }

    /// Whether `r` (fully qualified) may be pulled from a registry.
    pub fn check(&self, r: &Reference) -> Result<(), PolicyError> {
        let Some(path) = &self.path else { return Ok(()) };
        let (scope, reqs) = self.requirements(r);
        for req in reqs {
            match req.kind.as_str() {
                "insecureAcceptAnything" => {}
                "reject" => {
                    return Err(PolicyError::Rejected { reference: r.to_string(), path: path.clone(), scope });
                }
                other => {
                    return Err(PolicyError::Unverifiable {
                        reference: r.to_string(),
                        path: path.clone(),
                        scope,
                        kind: other.to_string(),
                    });
                }
            }
        }
        Ok(())
    }

    /// The most specific scope of the `docker` transport that matches, else the transport's default
    /// (`""`), else the global default.
    fn requirements(&self, r: &Reference) -> (String, &[Requirement]) {
        if let Some(scopes) = self.raw.transports.get("docker") {
            for ns in namespaces(r) {
                if let Some(reqs) = scopes.get(&ns) {
                    return (ns, reqs);
                }
            }
            if let Some(reqs) = scopes.get("") {
                return (String::new(), reqs);
            }
        }
        ("default".into(), &self.raw.default)
    }
}

/// containers/image's docker scopes for a reference, most specific first: the reference itself, the
/// repository, each parent namespace, the host, then `*.domain` wildcards of the host.
fn namespaces(r: &Reference) -> Vec<String> {
    let mut out = Vec::new();
    let name = r.name();
    if let Some(d) = &r.digest {
        out.push(format!("{name}@{d}"));
    }
    if let Some(t) = &r.tag {
        out.push(format!("{name}:{t}"));
    }
    let mut n = name.as_str();
    out.push(n.to_string());
    while let Some((parent, _)) = n.rsplit_once('/') {
        out.push(parent.to_string());
        n = parent;
    }
    let host = r.registry.split(':').next().unwrap_or(&r.registry);
    let mut h = host;
    while let Some((_, rest)) = h.split_once('.') {
        out.push(format!("*.{rest}"));
        h = rest;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Policy {
        Policy::parse(text, Path::new("/etc/containers/policy.json")).unwrap()
    }

    #[test]
    fn accept_anything_and_missing_file() {
        let r = Reference::parse("localhost:5000/warren/busybox").unwrap();
        assert!(p(r#"{"default":[{"type":"insecureAcceptAnything"}]}"#).check(&r).is_ok());
        let none = Policy::load_from(Path::new("/nonexistent/policy.json")).unwrap();
        assert!(none.check(&r).is_ok());
    }

    #[test]
    fn scopes_most_specific_first() {
        let pol = p(r#"{
            "default": [{"type": "reject"}],
            "transports": {"docker": {
                "localhost:5000": [{"type": "insecureAcceptAnything"}],
                "localhost:5000/secret": [{"type": "reject"}],
                "quay.io/signed": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "/k"}],
                "*.example.com": [{"type": "insecureAcceptAnything"}]
            }}
        }"#);
        let ok = |s: &str| pol.check(&Reference::parse(s).unwrap());
        assert!(ok("localhost:5000/warren/busybox").is_ok());
        let e = ok("localhost:5000/secret/x").unwrap_err().to_string();
        assert!(e.contains("rejected") && e.contains("localhost:5000/secret") && e.contains("policy.json"), "{e}");
        let e = ok("quay.io/signed/img:1").unwrap_err().to_string();
        assert!(e.contains("signedBy") && e.contains("cannot verify"), "{e}");
        assert!(ok("reg.example.com/a").is_ok());
        assert!(ok("a.b.example.com:5000/a").is_ok());
        let e = ok("docker.io/library/busybox").unwrap_err().to_string();
        assert!(e.contains("\"default\""), "{e}");
    }

    #[test]
    fn transport_default_scope() {
        let pol =
            p(r#"{"default":[{"type":"insecureAcceptAnything"}],"transports":{"docker":{"":[{"type":"reject"}]}}}"#);
        assert!(pol.check(&Reference::parse("quay.io/a/b").unwrap()).is_err());
    }

    #[test]
    fn bad_files() {
        assert!(Policy::parse("{", Path::new("/x")).is_err());
        assert!(Policy::parse(r#"{"default":[]}"#, Path::new("/x")).unwrap_err().to_string().contains("default"));
    }

    #[test]
    fn namespace_order() {
        let r = Reference::parse("reg.example.com:5000/a/b/c:1").unwrap();
        assert_eq!(
            namespaces(&r),
            [
                "reg.example.com:5000/a/b/c:1",
                "reg.example.com:5000/a/b/c",
                "reg.example.com:5000/a/b",
                "reg.example.com:5000/a",
                "reg.example.com:5000",
                "*.example.com",
                "*.com"
            ]
        );
    }
}
