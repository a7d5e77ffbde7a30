//! Content digests (`sha256:<64 hex>`).

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Digest(String);

impl Digest {
    /// Parse `sha256:<64 lowercase hex>` (the only algorithm registries use in practice).
    pub fn parse(s: &str) -> anyhow::Result<Digest> {
        let Some(hex) = s.strip_prefix("sha256:") else {
            anyhow::bail!("invalid digest {s:?}: only sha256 digests are supported");
        };
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            anyhow::bail!("invalid digest {s:?}: expected sha256: followed by 64 lowercase hex digits");
        }
        Ok(Digest(s.to_string()))
    }

    /// The digest of some bytes.
    pub fn sha256_of(bytes: &[u8]) -> Digest {
        use sha2::Digest as _;
        Digest::from_sha256_hex(&hex::encode(sha2::Sha256::digest(bytes)))
    }

    /// Wrap a hex sha256 (as produced by a hasher).
    pub fn from_sha256_hex(hex: &str) -> Digest {
        Digest(format!("sha256:{hex}"))
    }

    /// The hex part, e.g. for directory names.
    pub fn hex(&self) -> &str {
        &self.0["sha256:".len()..]
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The chain ID of a layer given its parent's chain ID and its own diff ID (OCI image spec).
    pub fn chain(parent: Option<&Digest>, diff_id: &Digest) -> Digest {
        match parent {
            None => diff_id.clone(),
            Some(p) => Digest::sha256_of(format!("{} {}", p.as_str(), diff_id.as_str()).as_bytes()),
        }
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Digest {
    type Error = anyhow::Error;
    fn try_from(s: String) -> anyhow::Result<Digest> {
        Digest::parse(&s)
    }
}

impl From<Digest> for String {
    fn from(d: Digest) -> String {
        d.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_id_of_first_layer_is_its_diff_id() {
        let d = Digest::sha256_of(b"x");
        assert_eq!(Digest::chain(None, &d), d);
        assert_ne!(Digest::chain(Some(&d), &d), d);
    }

    #[test]
    fn rejects_malformed() {
        assert!(Digest::parse("sha256:abc").is_err());
        assert!(Digest::parse("md5:00").is_err());
        assert!(Digest::parse(&format!("sha256:{}", "A".repeat(64))).is_err());
    }
}
