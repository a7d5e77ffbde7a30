//! `pull`, `search`, `login`/`logout` against the real registry, as dev, hpc and root.

use crate::common::*;

fn is_image_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `pull` prints exactly the full image ID on stdout (stderr is not a terminal here: nothing else).
#[track_caller]
fn pulled_id(out: &Output) -> String {
    out.ok();
    let id = out.stdout.trim().to_string();
    out.check("stdout is one 64-hex image ID", |o| o.stdout.lines().count() == 1 && is_image_id(&id));
    id
}

/// The image ID is the digest of the config: ask the registry (through skopeo) for it.
fn config_digest(reference: &str) -> String {
    let out = host(&["skopeo", "inspect", "--config", "--raw", "--tls-verify=false", &format!("docker://{reference}")]);
    out.ok();
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(out.stdout.as_bytes()))
}

fn blob_fetches(out: &Output) -> usize {
    out.stderr.lines().filter(|l| l.contains("fetching blob")).count()
}

#[test]
fn pull_busybox_as_dev_hpc_and_root_prints_the_image_id() {
    let want = config_digest(&image("busybox"));
    for w in [Warren::dev(), Warren::hpc(), Warren::root()] {
        let out = w.run(&["pull", &image("busybox")]);
        assert_eq!(pulled_id(&out), want, "{out:?}");
        // No progress when stderr is not a terminal (hpc's single-id warning may be there).
        out.stderr_lacks("Trying to pull").stderr_lacks("Copying blob").stderr_lacks("Writing manifest");
    }
}

#[test]
fn short_name_resolves_through_the_unqualified_search_registries() {
    let w = Warren::dev();
    let out = w.run(&["pull", "warren/busybox"]);
    assert_eq!(pulled_id(&out), config_digest(&image("busybox")));
}

#[test]
fn second_pull_fetches_the_manifest_but_no_blob() {
    let w = Warren::dev();
    let first = w.run(&["--log-level=debug", "pull", &image("busybox")]);
    let id = pulled_id(&first);
    assert!(blob_fetches(&first) >= 2, "the first pull must fetch the config and the layer: {first:?}");
    let second = w.run(&["--log-level=debug", "pull", &image("busybox")]);
    assert_eq!(pulled_id(&second), id);
    second.stderr_contains("/v2/warren/busybox/manifests/latest");
    assert_eq!(blob_fetches(&second), 0, "policy always with the same manifest must fetch no blob: {second:?}");
    second.stderr_lacks("/blobs/");
}

#[test]
fn policy_missing_never_touches_the_network_when_present_and_never_fails_when_absent() {
    let w = Warren::hpc();
    w.run(&["pull", "--policy=never", &image("busybox")]).code(125).stderr_contains("image not known");
    let id = pulled_id(&w.run(&["pull", "--policy=missing", &image("busybox")]));
    let again = w.run(&["--log-level=debug", "pull", "--policy=missing", &image("busybox")]);
    assert_eq!(pulled_id(&again), id);
    again.stderr_lacks("GET ");
    assert_eq!(pulled_id(&w.run(&["pull", "--policy=never", &image("busybox")])), id);
    w.run(&["pull", "--policy=sometimes", &image("busybox")])
        .code(125)
        .stderr_contains("always, missing, never or newer");
}

#[test]
fn every_layer_format_pulls_to_the_same_image() {
    // The same layer gzip, zstd, uncompressed, and as a Docker v2s2 manifest: the store checks every
    // decompressed stream against the config's diff ID, so each fresh pull gives the same image.
    let want = config_digest(&image("busybox"));
    for tag in ["latest", "zstd", "uncompressed", "v2s2"] {
        let w = Warren::dev();
        let out = w.run(&["pull", &image(&format!("busybox:{tag}"))]);
        assert_eq!(pulled_id(&out), want, "busybox:{tag}");
    }
}

#[test]
fn pull_by_digest_verifies_and_gives_the_same_image() {
    let digest = fixture_digest("warren/busybox:latest").expect("warren/busybox:latest in fixtures.json");
    let w = Warren::root();
    let out = w.run(&["pull", &format!("{}@{digest}", image("busybox"))]);
    assert_eq!(pulled_id(&out), config_digest(&image("busybox")));
}

#[test]
fn multiarch_picks_the_host_platform_or_the_one_asked_for() {
    let w = Warren::dev();
    let amd64 = pulled_id(&w.run(&["pull", &image("multiarch")]));
    let arm64 = pulled_id(&w.run(&["pull", "--platform", "linux/arm64", &image("multiarch")]));
    assert_ne!(amd64, arm64);
    assert_eq!(pulled_id(&w.run(&["pull", "--arch", "arm64", &image("multiarch")])), arm64);
    let out = w.run(&["pull", "--platform", "linux/s390x", &image("multiarch")]);
    out.code(125).stderr_contains("linux/s390x").stderr_contains("linux/amd64").stderr_contains("linux/arm64");
}

#[test]
fn multi_layer_image_pulls() {
    let w = Warren::hpc();
    pulled_id(&w.run(&["pull", &image("layers")]));
}

#[test]
fn several_images_in_one_pull_print_one_id_each() {
    let w = Warren::dev();
    let out = w.run(&["pull", &image("busybox"), &image("layers")]);
    out.ok();
    let lines = out.lines();
    assert_eq!(lines.len(), 2, "{out:?}");
    assert_eq!(lines[0], config_digest(&image("busybox")));
    assert_eq!(lines[1], config_digest(&image("layers")));
}

#[test]
fn lab_images_pull() {
    let Some(bb) = lab_image("busybox:latest") else { return };
    let w = Warren::dev();
    let id = pulled_id(&w.run(&["pull", &bb]));
    // lab/multiarch's amd64 entry is exactly lab/busybox.
    assert_eq!(pulled_id(&w.run(&["pull", &format!("{}/lab/multiarch", registry())])), id);
    for name in ["zstd", "docker-v2s2", "layers"] {
        let w = Warren::dev();
        pulled_id(&w.run(&["pull", &format!("{}/lab/{name}", registry())]));
    }
}

#[test]
fn corrupt_blob_fails_with_125_naming_the_digest_and_stores_no_image() {
    let w = Warren::dev();
    let out = host(&["skopeo", "inspect", "--raw", "--tls-verify=false", &format!("docker://{}", image("corrupt"))]);
    let manifest = out.ok().json();
    let bad = manifest["layers"].as_array().unwrap().last().unwrap()["digest"].as_str().unwrap().to_string();
    let out = w.run(&["pull", &image("corrupt")]);
    out.code(125)
        .stderr_contains(&format!("blob {bad} of {}:latest does not match its digest", image("corrupt")))
        .stderr_contains("the registry served corrupt data");
    w.run(&["images"]).ok().stdout_lacks("corrupt");
}

#[test]
fn bad_references_are_engine_errors() {
    let w = Warren::hpc();
    for (bad, why) in [
        ("Warren/BusyBox", "lowercase"),
        ("busybox:", "tag"),
        ("busybox@sha256:123", "digest"),
        ("", "empty"),
        (&format!("busybox:{}", "t".repeat(129)), "tag"),
    ] {
        w.run(&["pull", bad]).code(125).stderr_contains("invalid reference format").stderr_contains(why);
    }
}

#[test]
fn unknown_image_and_unreachable_registry_are_clear_errors() {
    let w = Warren::dev();
    w.run(&["pull", &image("no-such-image")]).code(125).stderr_contains("manifest unknown");
    w.run(&["pull", "localhost:5999/x/y"])
        .code(125)
        .stderr_contains("pinging container registry localhost:5999")
        .stderr_contains("refused");
}

#[test]
fn search_lists_the_fixtures() {
    let w = Warren::dev();
    let out = w.run(&["search", "warren"]);
    out.ok().stdout_contains("NAME").stdout_contains(&image("busybox")).stdout_contains(&image("layers"));
    let out = w.run(&["search", "--format", "{{.Name}}", &format!("{}/warren/multi", registry())]);
    out.ok().stdout_is(&image("multiarch"));
    let out = w.run(&["search", "--list-tags", &image("busybox")]);
    out.ok().stdout_contains("TAG").stdout_contains("zstd").stdout_contains("uncompressed");
    let v = w.run(&["search", "--format", "json", "--limit", "2", "warren"]).ok().json();
    assert_eq!(v.as_array().map(|a| a.len()), Some(2), "{v}");
    if lab_image("busybox").is_some() {
        w.run(&["search", "lab"]).ok().stdout_contains(&format!("{}/lab/busybox", registry()));
    }
}

#[test]
fn login_and_logout_write_the_auth_file_atomically_0600() {
    // Default file without XDG_RUNTIME_DIR: ~/.config/containers/auth.json (HPC login nodes).
    let w = Warren::hpc().without_xdg_runtime_dir();
    let file = format!("{}/.config/containers/auth.json", require_env().hpc.home.display());
    w.run(&["login", "-u", "someone", "-p", "secret", registry()]).ok().stdout_contains("Login Succeeded!");
    let st = w.cmd(&["stat", "-c", "%a", &file]);
    st.ok().stdout_is("600");
    let auth = w.cmd(&["cat", &file]).ok().json();
    assert_eq!(auth["auths"][registry()]["auth"], "c29tZW9uZTpzZWNyZXQ=");
    w.run(&["login", "--get-login", registry()]).ok().stdout_is("someone");
    w.run(&["logout", registry()]).ok().stdout_contains(&format!("Removed login credentials for {}", registry()));
    w.run(&["logout", registry()]).code(125).stderr_contains("not logged into");
    let auth = w.cmd(&["cat", &file]).ok().json();
    assert!(auth["auths"].as_object().is_some_and(|a| a.is_empty()), "{auth}");

    // --authfile and --password-stdin; no prompt without a terminal.
    let w = Warren::dev();
    let af = w.storage_root().join("auth.json").display().to_string();
    let out = w.run_with(
        &["login", "--authfile", &af, "-u", "u1", "--password-stdin", registry()],
        RunOpts { stdin: Some(b"pw1\n".to_vec()), ..Default::default() },
    );
    out.ok();
    assert_eq!(w.cmd(&["cat", &af]).ok().json()["auths"][registry()]["auth"], "dTE6cHcx");
    w.run(&["login", "--authfile", &af, "-u", "u1", registry()]).code(125).stderr_contains("not a terminal");
    // Nothing new given: the stored credentials are checked (Podman's message).
    w.run(&["login", "--authfile", &af, registry()]).ok().stdout_contains("Already logged in to");
    w.run(&["logout", "--authfile", &af, "--all"]).ok();
}

#[test]
fn all_tags_pulls_every_tag_of_the_repository() {
    let w = Warren::dev();
    let want = config_digest(&image("busybox"));
    let out = w.run(&["pull", "--all-tags", &format!("{}/warren/busybox", registry())]);
    out.ok();
    // latest, zstd, uncompressed and v2s2 are the same image.
    assert!(out.lines().len() >= 4, "{out:?}");
    assert!(out.lines().iter().all(|l| *l == want), "{out:?}");
    w.run(&["pull", "--all-tags", &image("busybox:latest")]).code(125).stderr_contains("without a tag");
}

#[test]
fn policy_newer_keeps_the_local_image_when_the_registry_is_unreachable() {
    let w = Warren::dev();
    let id = pulled_id(&w.run(&["pull", &image("busybox")]));
    w.run(&["tag", &image("busybox"), "localhost:5999/gone/busybox:1"]).ok();
    let out = w.run(&["pull", "--policy=newer", "localhost:5999/gone/busybox:1"]);
    assert_eq!(pulled_id(&out), id);
    out.stderr_contains("using the local image");
    w.run(&["pull", "--policy=always", "localhost:5999/gone/busybox:1"]).code(125).stderr_contains("localhost:5999");
}

#[test]
fn registries_conf_mirrors_and_blocked_prefixes_apply() {
    let base = Warren::dev();
    let conf = base.storage_root().join("registries.conf").display().to_string();
    let reg = registry();
    base.sh(&format!(
        "cat > '{conf}' <<'EOF'\n\
         [[registry]]\n\
         prefix = \"{reg}/warren/layers\"\n\
         location = \"{reg}/warren/layers\"\n\
         blocked = true\n\
         [[registry]]\n\
         prefix = \"mirror.invalid/fixtures\"\n\
         location = \"mirror.invalid/fixtures\"\n\
         [[registry.mirror]]\n\
         location = \"{reg}/warren\"\n\
         insecure = true\n\
         EOF"
    ))
    .ok();
    let w = base.with_env("CONTAINERS_REGISTRIES_CONF", &conf);
    w.run(&["pull", &image("layers")]).code(125).stderr_contains("blocked").stderr_contains(&conf);
    // The name is kept; the bytes come from the mirror.
    let out = w.run(&["pull", "mirror.invalid/fixtures/busybox"]);
    assert_eq!(pulled_id(&out), config_digest(&image("busybox")));
    w.run(&["images"]).ok().stdout_contains("mirror.invalid/fixtures/busybox");
}

/// A private TLS registry (docker-registry with a certificate from a throwaway CA) on a free loopback
/// port, stopped and removed on drop.
struct TlsRegistry {
    dir: std::path::PathBuf,
    child: std::process::Child,
    hostport: String,
}

impl TlsRegistry {
    fn start() -> TlsRegistry {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = std::path::PathBuf::from(format!("/tmp/warren-tls-registry-{}-{port}", std::process::id()));
        std::fs::create_dir_all(dir.join("certs")).unwrap();
        let d = dir.display().to_string();
        host(&["sh", "-c", &format!(
            "set -e; cd '{d}'; \
             openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out certs/ca.crt -days 2 -subj '/CN=warren test CA' 2>/dev/null; \
             openssl req -newkey rsa:2048 -nodes -keyout leaf.key -out leaf.csr -subj '/CN=localhost' 2>/dev/null; \
             printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\nbasicConstraints=CA:FALSE\\n' > ext; \
             openssl x509 -req -in leaf.csr -CA certs/ca.crt -CAkey ca.key -CAcreateserial -out leaf.crt -days 2 -extfile ext 2>/dev/null; \
             chmod -R a+rX '{d}'"
        )])
        .ok();
        let hostport = format!("localhost:{port}");
        let child = std::process::Command::new("/usr/bin/docker-registry")
            .args(["serve", concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/registry.yml")])
            .env("REGISTRY_HTTP_ADDR", format!("127.0.0.1:{port}"))
            .env("REGISTRY_HTTP_TLS_CERTIFICATE", dir.join("leaf.crt"))
            .env("REGISTRY_HTTP_TLS_KEY", dir.join("leaf.key"))
            .env("REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY", dir.join("data"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("starting /usr/bin/docker-registry");
        let reg = TlsRegistry { dir, child, hostport };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(std::time::Instant::now() < deadline, "the TLS registry did not start on port {port}");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        reg
    }

    fn cert_dir(&self) -> String {
        self.dir.join("certs").display().to_string()
    }
}

impl Drop for TlsRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn tls_registry_needs_its_ca_from_cert_dir_or_tls_verify_false() {
    let reg = TlsRegistry::start();
    let target = format!("{}/t/busybox:latest", reg.hostport);
    host(&[
        "skopeo",
        "copy",
        "-q",
        "--src-tls-verify=false",
        &format!("--dest-cert-dir={}", reg.cert_dir()),
        &format!("docker://{}", image("busybox")),
        &format!("docker://{target}"),
    ])
    .ok();
    let want = config_digest(&image("busybox"));
    let w = Warren::dev();
    w.run(&["pull", &target])
        .code(125)
        .stderr_contains(&format!("pinging container registry {}", reg.hostport))
        .stderr_contains("certificate is not trusted");
    assert_eq!(pulled_id(&w.run(&["pull", "--cert-dir", &reg.cert_dir(), &target])), want);
    let w = Warren::hpc();
    assert_eq!(pulled_id(&w.run(&["pull", "--tls-verify=false", &target])), want);
    // search (catalog) over TLS with the CA.
    let out = w.run(&["search", "--cert-dir", &reg.cert_dir(), &format!("{}/t", reg.hostport)]);
    out.ok().stdout_contains(&format!("{}/t/busybox", reg.hostport));
}

#[test]
fn signature_policy_reject_and_unverifiable_requirements_refuse_the_pull() {
    // A private HOME so the per-user policy.json affects this test only.
    let base = Warren::root();
    let home = base.storage_root().join("home");
    let dir = home.join(".config/containers");
    std::fs::create_dir_all(&dir).unwrap();
    let reg = registry();
    std::fs::write(
        dir.join("policy.json"),
        format!(
            r#"{{"default":[{{"type":"insecureAcceptAnything"}}],"transports":{{"docker":{{
                "{reg}/warren/layers":[{{"type":"reject"}}],
                "{reg}/warren/highuid":[{{"type":"signedBy","keyType":"GPGKeys","keyPath":"/nonexistent"}}]}}}}}}"#
        ),
    )
    .unwrap();
    let w = base.with_env("HOME", &home.display().to_string());
    w.run(&["pull", &image("layers")]).code(125).stderr_contains("rejected by the signature policy");
    w.run(&["pull", &image("highuid")]).code(125).stderr_contains("requires signedBy signatures");
    pulled_id(&w.run(&["pull", &image("busybox")]));
}
