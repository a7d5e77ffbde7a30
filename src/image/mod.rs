//! Images on registries: references, registries.conf, credentials, the distribution client, pull, search.

pub mod auth;
pub mod client;
pub mod manifest;
pub mod policy;
pub mod pull;
pub mod reference;
pub mod registries;
pub mod search;

/// The host's architecture in OCI terms (amd64, arm64, ...).
pub fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}
