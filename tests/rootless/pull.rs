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
    w.run(&["logout", "--authfile", &af, "--all"]).ok();
}
