//! The fixtures the other tests rely on are in the registry, as test-env.sh promises
//! (checked with skopeo and plain HTTP, not with warren).

use crate::common::*;
use sha2::{Digest, Sha256};

fn sha256(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

/// The raw manifest (or index) the registry serves for localhost:5000/NAME.
fn raw_manifest(name: &str) -> (String, serde_json::Value) {
    let out = host(&["skopeo", "inspect", "--raw", "--tls-verify=false", &format!("docker://{}/{name}", registry())]);
    out.ok();
    (sha256(out.stdout.as_bytes()), out.json())
}

#[test]
fn warren_fixtures_are_in_the_registry_with_their_digests() {
    for name in [
        "warren/busybox:latest",
        "warren/busybox:zstd",
        "warren/busybox:uncompressed",
        "warren/multiarch:latest",
        "warren/layers:latest",
        "warren/highuid:latest",
        "warren/evil-dotdot:latest",
        "warren/evil-abs:latest",
        "warren/evil-symlink:latest",
        "warren/evil-hardlink:latest",
        "warren/corrupt:latest",
    ] {
        let want = fixture_digest(name).unwrap_or_else(|| panic!("{name} is not in fixtures.json"));
        let (got, _) = raw_manifest(name);
        assert_eq!(got, want, "{name}: the registry serves another manifest than test-env.sh built");
    }
}

#[test]
fn busybox_variants_have_the_promised_formats() {
    let layer_type = |name: &str| {
        let (_, m) = raw_manifest(name);
        m["layers"][0]["mediaType"].as_str().unwrap_or_default().to_string()
    };
    assert_eq!(layer_type("warren/busybox:latest"), "application/vnd.oci.image.layer.v1.tar+gzip");
    assert_eq!(layer_type("warren/busybox:zstd"), "application/vnd.oci.image.layer.v1.tar+zstd");
    assert_eq!(layer_type("warren/busybox:uncompressed"), "application/vnd.oci.image.layer.v1.tar");
    let (_, v2s2) = raw_manifest("warren/busybox:v2s2");
    assert_eq!(v2s2["mediaType"], "application/vnd.docker.distribution.manifest.v2+json");
    assert_eq!(v2s2["layers"][0]["mediaType"], "application/vnd.docker.image.rootfs.diff.tar.gzip");

    let (_, idx) = raw_manifest("warren/multiarch:latest");
    assert_eq!(idx["mediaType"], "application/vnd.oci.image.index.v1+json");
    let arches: Vec<&str> =
        idx["manifests"].as_array().unwrap().iter().map(|m| m["platform"]["architecture"].as_str().unwrap()).collect();
    assert_eq!(arches, ["amd64", "arm64"]);

    let out = host(&["skopeo", "inspect", "--tls-verify=false", &format!("docker://{}", image("busybox"))]);
    let cfg = out.ok().json();
    assert_eq!(cfg["Architecture"], "amd64");
    assert_eq!(cfg["Os"], "linux");
    assert_eq!(cfg["Env"][0], "PATH=/usr/sbin:/usr/bin:/sbin:/bin");
}

#[test]
fn corrupt_fixture_serves_a_layer_that_does_not_match_its_digest() {
    let (_, m) = raw_manifest("warren/corrupt:latest");
    let layer = m["layers"].as_array().unwrap().last().unwrap().clone();
    let digest = layer["digest"].as_str().unwrap();
    let hostport = require_env().registry_url.trim_start_matches("http://").to_string();
    let (status, body) = http_get(&hostport, &format!("/v2/warren/corrupt/blobs/{digest}")).unwrap();
    assert_eq!(status, 200, "GET blob {digest}");
    assert_eq!(body.len() as u64, layer["size"].as_u64().unwrap(), "the corrupted blob keeps its length");
    assert_ne!(sha256(&body), digest, "the registry must serve bytes that do not match the digest");
    // ...while the busybox layer it shares is intact
    let bb = m["layers"][0]["digest"].as_str().unwrap();
    let (status, body) = http_get(&hostport, &format!("/v2/warren/corrupt/blobs/{bb}")).unwrap();
    assert_eq!(status, 200);
    assert_eq!(sha256(&body), bb);
}

#[test]
fn layers_expected_lists_the_layers_fixture() {
    let lines = layers_expected();
    for want in [
        "-rwsr-xr-x 0 0 /data/busybox-suid",
        "-rw-r--r-- 1000 1000 /data/owned-user",
        "drwx------ 1000 1000 /data/private",
        "prw-r--r-- 0 0 /data/fifo",
        "-rw-r--r-- 0 0 /data/opaque/upper.txt",
    ] {
        assert!(lines.iter().any(|l| l == want), "layers.expected lacks {want:?}: {lines:#?}");
    }
    assert!(!lines.iter().any(|l| l.contains("doomed") || l.contains("lower-")), "whiteouts not applied: {lines:#?}");
    let (_, m) = raw_manifest("warren/layers:latest");
    assert_eq!(m["layers"].as_array().unwrap().len(), 4);
}

#[test]
fn lab_images_are_in_the_registry_when_the_shared_images_exist() {
    let Some(bb) = lab_image("busybox:latest") else { return };
    for name in [bb, format!("{}/lab/debian:bookworm", registry()), format!("{}/lab/multiarch:latest", registry())] {
        host(&["skopeo", "inspect", "--raw", "--tls-verify=false", &format!("docker://{name}")]).ok();
    }
}
