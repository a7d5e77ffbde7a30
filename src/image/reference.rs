//! Image references, parsed and normalised like Docker and Podman.

use anyhow::{bail, Result};
use std::fmt;

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
    pub fn parse(_s: &str) -> Result<Reference> {
        bail!("reference parsing is not built yet")
    }
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
