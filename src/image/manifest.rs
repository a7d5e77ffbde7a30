//! Manifests and indexes (OCI and Docker schema 2), and choosing a platform from an index.

use serde::Deserialize;
use std::fmt;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";

pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
pub const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";

/// What a manifest endpoint may answer with, in order of preference.
pub const ACCEPT: &[&str] = &[OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST];

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("parsing the manifest of {0}: {1}")]
    Parse(String, String),
    #[error("{0} is a Docker schema 1 manifest, which is deprecated and not supported; push the image again with a current tool")]
    Schema1(String),
    #[error("{0}: unsupported manifest media type {1:?}")]
    Unsupported(String, String),
    #[error("{what}: no image for platform {wanted} in the manifest list (available: {available})")]
    NoPlatform { what: String, wanted: String, available: String },
    #[error("{what}: layer {digest} has unsupported media type {media_type:?}")]
    LayerType { what: String, digest: String, media_type: String },
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq, Default)]
pub struct Platform {
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(default)]
    pub variant: Option<String>,
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = self.variant.as_deref().filter(|v| !v.is_empty()) {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

impl Platform {
    /// The host's platform (linux/amd64, linux/arm64/v8, ...).
    pub fn host() -> Platform {
        let architecture = super::host_arch().to_string();
        let variant = match architecture.as_str() {
            "arm64" => Some("v8".to_string()),
            _ => None,
        };
        Platform { architecture, os: "linux".into(), variant }
    }

    /// `--platform os/arch[/variant]` (`arch` alone means linux/arch), overridden by `--os`, `--arch`,
    /// `--variant`; anything not given comes from the host.
    pub fn choose(
        platform: Option<&str>,
        os: Option<&str>,
        arch: Option<&str>,
        variant: Option<&str>,
    ) -> Result<Platform, String> {
        let mut p = Platform::host();
        if let Some(s) = platform.filter(|s| !s.is_empty()) {
            let parts: Vec<&str> = s.split('/').collect();
            match parts.as_slice() {
                [a] if !a.is_empty() => {
                    p.architecture = a.to_string();
                    p.variant = None;
                }
                [o, a] if !o.is_empty() && !a.is_empty() => {
                    p.os = o.to_string();
                    p.architecture = a.to_string();
                    p.variant = None;
                }
                [o, a, v] if !o.is_empty() && !a.is_empty() && !v.is_empty() => {
                    p.os = o.to_string();
                    p.architecture = a.to_string();
                    p.variant = Some(v.to_string());
                }
                _ => return Err(format!("invalid --platform {s:?}: expected OS/ARCH[/VARIANT], e.g. linux/amd64")),
            }
        }
        if let Some(o) = os.filter(|s| !s.is_empty()) {
            p.os = o.to_string();
        }
        if let Some(a) = arch.filter(|s| !s.is_empty()) {
            if a != p.architecture {
                p.variant = None;
            }
            p.architecture = a.to_string();
        }
        if let Some(v) = variant.filter(|s| !s.is_empty()) {
            p.variant = Some(v.to_string());
        }
        p.architecture = normalise_arch(&p.architecture);
        if p.architecture == "arm64" && p.variant.is_none() && arch.is_none() && platform.is_none() {
            p.variant = Some("v8".into());
        }
        Ok(p)
    }

    /// Whether an index entry for `other` is usable for this (wanted) platform. A missing variant on
    /// either side matches (arm64 without a variant is v8).
    pub fn matches(&self, other: &Platform) -> bool {
        if self.os != other.os || self.architecture != normalise_arch(&other.architecture) {
            return false;
        }
        let norm = |v: &Option<String>| -> Option<String> {
            match v.as_deref() {
                None | Some("") => None,
                Some(v) => Some(v.to_string()),
            }
        };
        match (norm(&self.variant), norm(&other.variant)) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        }
    }
}

fn normalise_arch(a: &str) -> String {
    match a {
        "x86_64" | "x86-64" => "amd64".into(),
        "aarch64" => "arm64".into(),
        "armhf" => "arm".into(),
        other => other.into(),
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    #[serde(default)]
    pub media_type: String,
    pub digest: String,
    #[serde(default)]
    pub size: u64,
    #[serde(default)]
    pub platform: Option<Platform>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawManifest {
    #[serde(default)]
    schema_version: Option<u32>,
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Option<Vec<Descriptor>>,
    #[serde(default)]
    manifests: Option<Vec<Descriptor>>,
}

/// An image manifest (config + layers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageManifest {
    pub media_type: String,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
}

/// A parsed manifest endpoint answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Manifest {
    Image(ImageManifest),
    Index { media_type: String, manifests: Vec<Descriptor> },
}

impl Manifest {
    /// Parse `bytes`, using the Content-Type the registry sent when the document does not say.
    pub fn parse(what: &str, bytes: &[u8], content_type: Option<&str>) -> Result<Manifest, ManifestError> {
        let raw: RawManifest =
            serde_json::from_slice(bytes).map_err(|e| ManifestError::Parse(what.into(), e.to_string()))?;
        let ct = content_type.map(|c| c.split(';').next().unwrap_or(c).trim().to_string());
        let media_type =
            raw.media_type.clone().filter(|m| !m.is_empty()).or(ct.filter(|c| c.starts_with("application/vnd.")));
        if raw.schema_version == Some(1) || media_type.as_deref() == Some(DOCKER_SCHEMA1) {
            return Err(ManifestError::Schema1(what.into()));
        }
        if let Some(m) = raw.manifests {
            let mt = media_type.unwrap_or_else(|| OCI_INDEX.into());
            if mt != OCI_INDEX && mt != DOCKER_LIST {
                return Err(ManifestError::Unsupported(what.into(), mt));
            }
            return Ok(Manifest::Index { media_type: mt, manifests: m });
        }
        match (raw.config, raw.layers) {
            (Some(config), layers) => {
                let mt = media_type.unwrap_or_else(|| OCI_MANIFEST.into());
                if mt != OCI_MANIFEST && mt != DOCKER_MANIFEST {
                    return Err(ManifestError::Unsupported(what.into(), mt));
                }
                Ok(Manifest::Image(ImageManifest { media_type: mt, config, layers: layers.unwrap_or_default() }))
            }
            _ => Err(ManifestError::Parse(what.into(), "neither an image manifest nor an index".into())),
        }
    }
}

/// The index entry for `wanted`, or an error listing what the index has.
pub fn select_platform<'a>(
    what: &str,
    manifests: &'a [Descriptor],
    wanted: &Platform,
) -> Result<&'a Descriptor, ManifestError> {
    let usable = |d: &&Descriptor| {
        d.platform.as_ref().is_some_and(|p| wanted.matches(p))
            && !matches!(d.media_type.as_str(), OCI_INDEX | DOCKER_LIST)
    };
    // Prefer an exact variant match, then any match.
    let exact = manifests.iter().filter(usable).find(|d| {
        d.platform.as_ref().map(|p| p.variant.as_deref().unwrap_or("")) == Some(wanted.variant.as_deref().unwrap_or(""))
    });
    if let Some(d) = exact.or_else(|| manifests.iter().find(usable)) {
        return Ok(d);
    }
    let mut available: Vec<String> = manifests
        .iter()
        .filter_map(|d| d.platform.as_ref())
        .filter(|p| p.architecture != "unknown")
        .map(|p| p.to_string())
        .collect();
    available.dedup();
    Err(ManifestError::NoPlatform {
        what: what.into(),
        wanted: wanted.to_string(),
        available: if available.is_empty() { "none".into() } else { available.join(", ") },
    })
}

/// The OCI media type the store decompresses by, for a layer descriptor's media type (Docker's types
/// included).
pub fn layer_media_type(what: &str, d: &Descriptor) -> Result<&'static str, ManifestError> {
    let mt = d.media_type.as_str();
    let out = match mt {
        OCI_LAYER_GZIP
        | "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
        | "application/vnd.docker.image.rootfs.diff.tar.gzip"
        | "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip" => OCI_LAYER_GZIP,
        OCI_LAYER_ZSTD | "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd" => OCI_LAYER_ZSTD,
        OCI_LAYER_TAR
        | "application/vnd.oci.image.layer.nondistributable.v1.tar"
        | "application/vnd.docker.image.rootfs.diff.tar" => OCI_LAYER_TAR,
        // Some old tools leave the type empty; Docker's default is gzip.
        "" => OCI_LAYER_GZIP,
        _ => {
            return Err(ManifestError::LayerType { what: what.into(), digest: d.digest.clone(), media_type: mt.into() })
        }
    };
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plat(os: &str, arch: &str, variant: Option<&str>) -> Platform {
        Platform { os: os.into(), architecture: arch.into(), variant: variant.map(Into::into) }
    }

    fn desc(d: char, p: Platform) -> Descriptor {
        Descriptor {
            media_type: OCI_MANIFEST.into(),
            digest: format!("sha256:{}", d.to_string().repeat(64)),
            size: 1,
            platform: Some(p),
        }
    }

    #[test]
    fn choose_platform_from_flags() {
        let host = Platform::host();
        assert_eq!(Platform::choose(None, None, None, None).unwrap(), host);
        assert_eq!(Platform::choose(Some("linux/arm64"), None, None, None).unwrap(), plat("linux", "arm64", None));
        assert_eq!(Platform::choose(Some("linux/arm/v7"), None, None, None).unwrap(), plat("linux", "arm", Some("v7")));
        assert_eq!(Platform::choose(None, None, Some("arm64"), None).unwrap(), plat("linux", "arm64", None));
        assert_eq!(
            Platform::choose(None, Some("windows"), Some("amd64"), None).unwrap(),
            plat("windows", "amd64", None)
        );
        assert_eq!(Platform::choose(None, None, Some("arm"), Some("v6")).unwrap(), plat("linux", "arm", Some("v6")));
        assert_eq!(Platform::choose(None, None, Some("x86_64"), None).unwrap().architecture, "amd64");
        assert!(Platform::choose(Some("linux/"), None, None, None).is_err());
        assert!(Platform::choose(Some("a/b/c/d"), None, None, None).is_err());
    }

    #[test]
    fn select_from_index() {
        let m = vec![
            desc('a', plat("linux", "amd64", None)),
            desc('b', plat("linux", "arm64", Some("v8"))),
            desc('c', plat("linux", "arm", Some("v6"))),
            desc('d', plat("linux", "arm", Some("v7"))),
        ];
        let pick = |p: Platform| select_platform("x", &m, &p).map(|d| d.digest.chars().last().unwrap());
        assert_eq!(pick(plat("linux", "amd64", None)).unwrap(), 'a');
        assert_eq!(pick(plat("linux", "arm64", None)).unwrap(), 'b');
        assert_eq!(pick(plat("linux", "arm64", Some("v8"))).unwrap(), 'b');
        assert_eq!(pick(plat("linux", "arm", Some("v7"))).unwrap(), 'd');
        assert_eq!(pick(plat("linux", "arm", None)).unwrap(), 'c');
        let e = pick(plat("linux", "s390x", None)).unwrap_err().to_string();
        assert!(e.contains("linux/s390x"), "{e}");
        assert!(e.contains("linux/amd64, linux/arm64/v8, linux/arm/v6, linux/arm/v7"), "{e}");
        let e = pick(plat("windows", "amd64", None)).unwrap_err().to_string();
        assert!(e.contains("windows/amd64"), "{e}");
    }

    #[test]
    fn parse_kinds() {
        let img = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
            "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:aa","size":3},
            "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:bb","size":5}]}"#;
        match Manifest::parse("x", img, None).unwrap() {
            Manifest::Image(m) => {
                assert_eq!(m.layers.len(), 1);
                assert_eq!(m.config.size, 3);
                assert_eq!(m.media_type, OCI_MANIFEST);
            }
            other => panic!("{other:?}"),
        }
        // No mediaType field: the Content-Type decides.
        let img2 = br#"{"schemaVersion":2,"config":{"digest":"sha256:aa","size":3},"layers":[]}"#;
        match Manifest::parse("x", img2, Some("application/vnd.docker.distribution.manifest.v2+json")).unwrap() {
            Manifest::Image(m) => assert_eq!(m.media_type, DOCKER_MANIFEST),
            other => panic!("{other:?}"),
        }
        let idx = br#"{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:cc","size":1,"platform":{"architecture":"amd64","os":"linux"}}]}"#;
        assert!(matches!(Manifest::parse("x", idx, None).unwrap(), Manifest::Index { .. }));
        assert!(Manifest::parse("x", br#"{"schemaVersion":1,"fsLayers":[]}"#, None)
            .unwrap_err()
            .to_string()
            .contains("schema 1"));
        assert!(Manifest::parse("x", b"nope", None).is_err());
        assert!(Manifest::parse("x", b"{}", None).is_err());
    }

    #[test]
    fn layer_types() {
        let d = |mt: &str| Descriptor { media_type: mt.into(), digest: "sha256:x".into(), size: 0, platform: None };
        assert_eq!(
            layer_media_type("x", &d("application/vnd.docker.image.rootfs.diff.tar.gzip")).unwrap(),
            OCI_LAYER_GZIP
        );
        assert_eq!(layer_media_type("x", &d(OCI_LAYER_ZSTD)).unwrap(), OCI_LAYER_ZSTD);
        assert_eq!(layer_media_type("x", &d(OCI_LAYER_TAR)).unwrap(), OCI_LAYER_TAR);
        assert!(layer_media_type("x", &d("application/x-foo")).unwrap_err().to_string().contains("application/x-foo"));
    }
}
