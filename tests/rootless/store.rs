//! Storage end to end: layers extracted through the id mapping (checked from the host and with
//! `warren unshare`), malicious layers refused with nothing written outside the storage root, owners the
//! mapping cannot represent, the single-id mapping, and the local image commands.

use crate::common::*;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// Every extracted layer directory (`layers/<chain>/diff`) of a storage root.
fn layer_dirs(root: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(root.join("layers")) else { return Vec::new() };
    let mut v: Vec<PathBuf> = rd.flatten().map(|e| e.path().join("diff")).filter(|p| p.is_dir()).collect();
    v.sort();
    v
}

/// The one layer directory holding `rel` (panics when none or several do).
fn layer_with(root: &Path, rel: &str) -> PathBuf {
    let hits: Vec<PathBuf> =
        layer_dirs(root).into_iter().filter(|d| std::fs::symlink_metadata(d.join(rel)).is_ok()).collect();
    assert_eq!(hits.len(), 1, "expected exactly one layer holding {rel} under {}: {hits:?}", root.display());
    hits[0].join(rel)
}

fn lstat(p: &Path) -> std::fs::Metadata {
    std::fs::symlink_metadata(p).unwrap_or_else(|e| panic!("stat {}: {e}", p.display()))
}

fn xattr_hex(p: &Path, name: &str) -> Option<String> {
    let out = host(&["getfattr", "--absolute-names", "-h", "-e", "hex", "-n", name, &p.display().to_string()]);
    if !out.success() {
        return None;
    }
    out.stdout.lines().find_map(|l| l.strip_prefix(&format!("{name}=0x")).map(str::to_string))
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            out.push(p.clone());
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                walk(&p, out);
            }
        }
    }
}

fn evil_leftovers() -> Vec<PathBuf> {
    std::fs::read_dir("/tmp")
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("warren-evil"))
        .collect()
}

#[test]
fn layers_fixture_is_extracted_through_the_subordinate_mapping() {
    let env = require_env();
    let w = Warren::dev();
    w.pull(&image("layers"));
    let root = w.storage_root();
    assert_eq!(layer_dirs(root).len(), 4, "warren/layers has 4 layers");
    let (sub_start, uid) = (100000u32, env.dev.uid);
    // Host view: container 0 is the user, container N>0 is sub_start + N - 1.
    let host_id = |c: u32| if c == 0 { uid } else { sub_start + c - 1 };
    let user_file = lstat(&layer_with(root, "data/owned-user"));
    assert_eq!((user_file.uid(), user_file.gid()), (host_id(1000), host_id(1000)));
    let nobody = lstat(&layer_with(root, "data/owned-nobody"));
    assert_eq!(nobody.uid(), host_id(65534));
    let private = lstat(&layer_with(root, "data/private"));
    assert_eq!((private.mode() & 0o7777, private.uid()), (0o700, host_id(1000)));
    let suid = lstat(&layer_with(root, "data/busybox-suid"));
    assert_eq!(suid.mode() & 0o7777, 0o4755, "setuid survives chown");
    assert_eq!(suid.uid(), uid);
    let a = lstat(&layer_with(root, "data/hardlink-a"));
    let b = lstat(&layer_with(root, "data/hardlink-b"));
    assert_eq!(a.ino(), b.ino(), "hardlinks share an inode");
    assert!(lstat(&layer_with(root, "data/fifo")).file_type().is_fifo());
    assert_eq!(std::fs::read_link(layer_with(root, "data/link-abs")).unwrap(), Path::new("/etc/passwd"));
    assert_eq!(lstat(&layer_with(root, "data/owned-root")).mtime(), 1_704_067_200, "mtimes from the tar");
    // Whiteout as a 0/0 character device, opaque directory with the userxattr attribute.
    let whiteouts: Vec<PathBuf> = layer_dirs(root)
        .into_iter()
        .map(|d| d.join("data/doomed.txt"))
        .filter(|p| {
            std::fs::symlink_metadata(p).map(|m| m.file_type().is_char_device() && m.rdev() == 0).unwrap_or(false)
        })
        .collect();
    assert_eq!(whiteouts.len(), 1, "one whiteout device for data/doomed.txt");
    let opaque: Vec<PathBuf> = layer_dirs(root)
        .into_iter()
        .map(|d| d.join("data/opaque"))
        .filter(|p| xattr_hex(p, "user.overlay.opaque").as_deref() == Some("79"))
        .collect();
    assert_eq!(opaque.len(), 1, "one layer marks data/opaque opaque with user.overlay.opaque=y");
    assert_eq!(xattr_hex(&layer_with(root, "data/noted.txt"), "user.warren.note").as_deref(), Some("68656c6c6f"));
    // security.capability is stored as a v3 capability whose root id is the user (the namespace's root).
    let cap =
        xattr_hex(&layer_with(root, "data/busybox-cap"), "security.capability").expect("busybox-cap has a capability");
    assert!(cap.starts_with("01000003"), "v3 capability (magic 0x03000001, little endian): {cap}");
    assert!(cap.ends_with(&hex::encode(uid.to_le_bytes())), "rootid {uid} in {cap}");

    // The container view through `warren unshare`: ids as the tar says.
    let f = layer_with(root, "data/owned-user").display().to_string();
    let p = layer_with(root, "data/private/secret").display().to_string();
    w.run(&["unshare", "stat", "-c", "%u:%g %a", &f, &p]).ok().stdout_is("1000:1000 644\n1000:1000 600");
    // Nothing left in staging.
    assert_eq!(std::fs::read_dir(root.join("tmp")).unwrap().count(), 0);
}

/// Each evil fixture: refused with an error naming the layer and the entry, no image recorded, nothing
/// written outside the storage root, no link to /etc/shadow anywhere in storage.
fn evil_fixtures_refused(w: &Warren) {
    let shadow = std::fs::metadata("/etc/shadow").unwrap();
    for (name, entry, reason) in [
        ("evil-dotdot", "../../../", "path escapes the layer root"),
        ("evil-abs", "/tmp/warren-evil-abs", "absolute path"),
        ("evil-symlink", "escape/tmp/warren-evil-symlink", "symlink"),
        ("evil-hardlink", "shadow", "hardlink target"),
    ] {
        let out = w.run(&["pull", &image(name)]);
        out.code(125).stderr_contains("layer sha256:").stderr_contains(entry).stderr_contains(reason);
        assert!(evil_leftovers().is_empty(), "{name}: wrote {:?}", evil_leftovers());
        w.run(&["image", "exists", &image(name)]).code(1);
        let mut files = Vec::new();
        walk(w.storage_root(), &mut files);
        for f in &files {
            let m = lstat(f);
            assert!(!(m.dev() == shadow.dev() && m.ino() == shadow.ino()), "{name}: {} is /etc/shadow", f.display());
        }
        assert_eq!(std::fs::read_dir(w.storage_root().join("tmp")).unwrap().count(), 0, "{name}: staging left");
    }
    // At most the busybox layer they share made it into storage (a failed pull cancels the others).
    let dirs = layer_dirs(w.storage_root());
    assert!(dirs.len() <= 1, "{dirs:?}");
    for d in dirs {
        assert!(d.join("bin/busybox").is_file(), "{} is not the busybox layer", d.display());
    }
}

#[test]
fn evil_layers_are_refused_rootless() {
    evil_fixtures_refused(&Warren::dev());
}

#[test]
fn evil_layers_are_refused_as_root() {
    evil_fixtures_refused(&Warren::root());
}

#[test]
fn evil_layers_are_refused_on_the_single_id_mapping() {
    evil_fixtures_refused(&Warren::hpc());
}

#[test]
fn high_uid_fails_by_default_and_passes_with_ignore_chown_errors() {
    let env = require_env();
    let w = Warren::dev();
    w.run(&["pull", &image("highuid")])
        .code(125)
        .stderr_contains("highuid.txt")
        .stderr_contains("uid 70000")
        .stderr_contains("--storage-opt ignore_chown_errors=true")
        .stderr_contains("/etc/subuid");
    w.run(&["image", "exists", &image("highuid")]).code(1);
    assert!(layer_dirs(w.storage_root()).iter().all(|d| !d.join("highuid.txt").exists()));

    w.run(&["--storage-opt", "ignore_chown_errors=true", "pull", &image("highuid")]).ok();
    let f = lstat(&layer_with(w.storage_root(), "highuid.txt"));
    assert_eq!((f.uid(), f.gid()), (env.dev.uid, env.dev.gid), "squashed to the container's root");
    w.run(&["image", "exists", &image("highuid")]).ok();
}

#[test]
fn high_uid_option_from_storage_conf() {
    let w = Warren::dev();
    let conf = w.storage_root().join("storage.conf");
    std::fs::write(&conf, "[storage.options]\nignore_chown_errors = \"true\"\n").unwrap();
    let w = w.with_env("CONTAINERS_STORAGE_CONF", &conf.display().to_string());
    w.pull(&image("highuid"));
}

#[test]
fn single_id_mapping_pulls_everything_with_one_warning() {
    let env = require_env();
    let w = Warren::hpc();
    for name in ["layers", "highuid", "busybox"] {
        let out = w.pull(&image(name));
        let warnings = out.stderr.matches("single-id").count();
        assert_eq!(warnings, 1, "one warning per command for {name}:\n{}", out.stderr);
    }
    // Every file belongs to the user on the host.
    let mut files = Vec::new();
    for d in layer_dirs(w.storage_root()) {
        walk(&d, &mut files);
    }
    assert!(files.len() > 300);
    for f in &files {
        let m = lstat(f);
        assert_eq!((m.uid(), m.gid()), (env.hpc.uid, env.hpc.gid), "{}", f.display());
    }
    let out = w.run(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    out.ok();
    let mut names = out.lines();
    names.sort();
    assert_eq!(
        names,
        [image("busybox:latest"), image("highuid:latest"), image("layers:latest")]
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
    );
}

#[test]
fn compression_variants_share_one_layer() {
    let w = Warren::dev();
    for tag in ["latest", "zstd", "uncompressed", "v2s2"] {
        w.pull(&image(&format!("busybox:{tag}")));
    }
    assert_eq!(layer_dirs(w.storage_root()).len(), 1, "same diff ID, one extracted layer");
    let out = w.run(&["images", "--format", "{{.Tag}}"]);
    assert_eq!(out.ok().lines().len(), 4);
}

#[test]
fn concurrent_pulls_extract_each_layer_once() {
    let w = Warren::dev();
    let img = image("layers");
    std::thread::scope(|s| {
        let a = s.spawn(|| w.run(&["pull", "-q", &img]));
        let b = s.spawn(|| w.run(&["pull", "-q", &img]));
        a.join().unwrap().ok();
        b.join().unwrap().ok();
    });
    assert_eq!(layer_dirs(w.storage_root()).len(), 4);
    assert_eq!(std::fs::read_dir(w.storage_root().join("tmp")).unwrap().count(), 0);
    w.run(&["images", "-q"]).ok().check("one image", |o| o.lines().len() == 1);
}

#[test]
fn images_inspect_history_like_podman() {
    let w = Warren::dev();
    w.pull(&image("layers"));
    let out = w.run(&["images"]);
    out.ok();
    let lines = out.lines();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    );
    assert!(lines[1].starts_with(&format!("{}  ", image("layers"))), "{lines:?}");
    assert!(lines[1].contains("years ago") && lines[1].ends_with(" MB"), "{lines:?}");

    let id = w.run(&["inspect", "--format", "{{.Id}}", &image("layers")]).ok().stdout.trim().to_string();
    assert_eq!(id.len(), 64);
    let v = w.run(&["image", "inspect", &image("layers")]).ok().json();
    assert_eq!(v[0]["Id"], id.as_str());
    assert_eq!(v[0]["RootFS"]["Layers"].as_array().unwrap().len(), 4);
    assert_eq!(v[0]["Config"]["Cmd"], serde_json::json!(["sh"]));
    assert_eq!(v[0]["Os"], "linux");
    assert_eq!(v[0]["RepoTags"][0], format!("{}:latest", image("layers")));
    w.run(&["inspect", "--format", "{{.Config.Cmd}}", "layers"]).ok().stdout_is("[sh]");
    let j = w.run(&["images", "--format", "json"]).ok().json();
    assert_eq!(j[0]["Id"], id.as_str());
    assert_eq!(j[0]["Created"], 1_704_067_200);
    w.run(&["images", "-q"]).ok().stdout_is(&id[..12]);
    w.run(&["images", "--no-trunc", "-q"]).ok().stdout_is(&format!("sha256:{id}"));
    w.run(&["images", "--filter", "reference=nothing*", "-q"]).ok().stdout_is("");
    w.run(&["images", "--filter", "reference=layers", "-q"]).ok().stdout_is(&id[..12]);
    let h = w.run(&["history", &image("layers")]);
    h.ok();
    assert_eq!(h.lines().len(), 5, "header and 4 layers");
    assert!(h.lines()[1].starts_with(&id[..12]));
    assert!(h.lines()[2].starts_with("<missing>"));
    w.run(&["inspect", "no-such-image"]).code(125).stderr_contains("no-such-image");
    let hj = w.run(&["history", "--format", "json", &image("layers")]).ok().json();
    assert_eq!(hj[0]["id"], id.as_str());
    assert_eq!(hj[1]["id"], "<missing>");
    assert!(hj[0]["size"].is_u64());
}

#[test]
fn tag_untag_rmi_and_prune() {
    let w = Warren::dev();
    w.pull(&image("layers"));
    w.pull(&image("busybox"));
    w.run(&["tag", "layers", "mine:v1"]).ok();
    w.run(&["image", "exists", "localhost/mine:v1"]).ok();
    w.run(&["image", "exists", "mine:v1"]).ok();
    // By name, an image with several names only loses that name.
    w.run(&["rmi", "mine:v1"]).ok().stdout_is("Untagged: localhost/mine:v1");
    w.run(&["image", "exists", "mine:v1"]).code(1);
    w.run(&["tag", "layers", "mine:v2"]).ok();
    w.run(&["untag", "layers", "localhost/mine:v2"]).ok();
    w.run(&["image", "exists", "mine:v2"]).code(1);
    // By ID with several names: refused without -f.
    w.run(&["tag", "layers", "mine:v3"]).ok();
    let id = w.run(&["inspect", "--format", "{{.Id}}", "layers"]).ok().stdout.trim().to_string();
    w.run(&["rmi", &id[..12]]).code(125).stderr_contains("more than one tag");
    w.run(&["rmi", "-f", &id[..12]]).ok().stdout_contains(&format!("Deleted: {id}"));
    // Only the busybox layer (shared with warren/layers' first layer) is left.
    assert_eq!(layer_dirs(w.storage_root()).len(), 1);
    w.run(&["rmi", "no-such-image"]).code(1).stderr_contains("no-such-image: image not known");
    w.run(&["rmi", "-i", "no-such-image"]).ok();
    w.run(&["tag", "no-such-image", "x"]).code(125).stderr_contains("no-such-image: image not known");
    // A dangling image is pruned.
    w.run(&["untag", "busybox"]).ok();
    w.run(&["images", "--filter", "dangling=true", "-q"]).ok().check("one dangling image", |o| o.lines().len() == 1);
    w.run(&["image", "prune", "-f"]).ok();
    w.run(&["images", "-q"]).ok().stdout_is("");
    assert!(layer_dirs(w.storage_root()).is_empty());
}

#[test]
fn layers_fixture_in_a_container_matches_the_expected_view_with_every_driver() {
    let w = Warren::dev();
    w.pull(&image("layers"));
    let script = "find /data | sort | xargs stat -c '%A %u %g %n'; stat -c %i /data/hardlink-a /data/hardlink-b";
    for driver in ["overlay", "fuse-overlayfs", "vfs"] {
        let out = w.run(&["--storage-driver", driver, "run", "--rm", &image("layers"), "sh", "-c", script]);
        out.ok();
        let lines = out.lines();
        let (view, inodes) = lines.split_at(lines.len() - 2);
        assert_eq!(view, layers_expected().iter().map(String::as_str).collect::<Vec<_>>(), "driver {driver}");
        assert_eq!(inodes[0], inodes[1], "driver {driver}: hardlinks share an inode");
    }
}

/// The pid of the `warren ... pull` process (not runuser/env) whose command line names `root`.
fn warren_pull_pid(root: &Path) -> Option<i32> {
    let root = root.display().to_string();
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: i32 = e.file_name().to_string_lossy().parse().ok()?;
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let args: Vec<String> = cmdline.split(|b| *b == 0).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
        let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok()?;
        (exe == require_env().bin && args.contains(&root) && args.iter().any(|a| a == "pull")).then_some(pid)
    })
}

#[test]
fn a_killed_pull_leaves_only_garbage_in_tmp() {
    let Some(debian) = lab_image("debian:bookworm") else { return };
    let w = Warren::dev();
    let root = w.storage_root().to_path_buf();
    let mut cmd = w.command_for(
        &[&require_env().bin.display().to_string(), "--root", &root.display().to_string(), "pull", "-q", &debian],
        &[],
    );
    cmd.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().unwrap();
    // Wait until extraction has started (a staging directory with content), then SIGKILL the pull.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let staging_has_files = || {
        std::fs::read_dir(root.join("tmp"))
            .map(|rd| {
                rd.flatten().any(|e| std::fs::read_dir(e.path().join("diff")).map(|d| d.count() > 3).unwrap_or(false))
            })
            .unwrap_or(false)
    };
    while !staging_has_files() {
        assert!(std::time::Instant::now() < deadline, "the pull never started extracting");
        assert!(child.try_wait().unwrap().is_none(), "the pull ended before it could be killed");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let pid = warren_pull_pid(&root).expect("the warren pull process");
    // SAFETY: kill(2) of the pull process this test started.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    let _ = child.wait();
    // Nothing half-extracted is visible: no layer, no image.
    assert!(layer_dirs(&root).is_empty(), "{:?}", layer_dirs(&root));
    w.run(&["image", "exists", &debian]).code(1);
    w.run(&["images", "-q"]).ok().stdout_is("");
    assert!(std::fs::read_dir(root.join("tmp")).unwrap().count() > 0, "the killed pull left its staging");
    // The next writer cleans the garbage and the pull completes.
    w.run(&["pull", "-q", &debian]).ok();
    assert_eq!(std::fs::read_dir(root.join("tmp")).unwrap().count(), 0);
    assert_eq!(layer_dirs(&root).len(), 1);
    let out =
        w.run(&["unshare", "stat", "-c", "%u %g", &layer_dirs(&root)[0].join("etc/gshadow").display().to_string()]);
    out.ok().stdout_is("0 42");
}

/// Ten pulls killed with SIGKILL at random moments (from the manifest fetch to the commit): after each,
/// `images` reads the storage, and the next pull completes.
#[test]
fn pulls_killed_at_random_points_leave_readable_storage() {
    // the Debian archive when the shared images are here (a pull long enough to kill at many points),
    // else the generated multi-layer fixture
    let img = match require_env().shared_images {
        Some(_) => format!("{}/lab/debian:bookworm", registry()),
        None => image("layers"),
    };
    let w = Warren::dev();
    let root = w.storage_root().display().to_string();
    let bin = require_env().bin.display().to_string();
    let mut seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos() as u64;
    for round in 0..10 {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let delay = std::time::Duration::from_millis((seed >> 33) % 1500);
        let mut cmd = w.command_for(&[&bin, "--root", &root, "pull", "-q", &img], &[]);
        cmd.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
        let mut child = cmd.spawn().unwrap();
        std::thread::sleep(delay);
        // runuser is the child; the pull is its child: kill the pull itself (or nothing, if it finished).
        if let Some(pid) = warren_pull_pid(w.storage_root()) {
            // SAFETY: kill(2) of the pull process this test started.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        let _ = child.wait();
        let images = w.run(&["images", "--format", "{{.ID}}"]);
        images.ok();
        assert!(images.stdout.lines().count() <= 1, "round {round} (after {delay:?}): {images:?}");
        w.run(&["image", "rm", "-f", &img]).check("rmi after a killed pull", |o| o.status == 0 || o.status == 1);
    }
    w.run(&["pull", "-q", &img]).ok();
    w.run(&["image", "exists", &img]).ok();
    w.run(&["run", "--rm", &img, "true"]).ok();
}

#[test]
fn layers_fixture_as_root_keeps_ids_and_uses_trusted_xattrs() {
    let w = Warren::root();
    w.pull(&image("layers"));
    let root = w.storage_root();
    let f = lstat(&layer_with(root, "data/owned-user"));
    assert_eq!((f.uid(), f.gid()), (1000, 1000), "identity mapping");
    assert_eq!(lstat(&layer_with(root, "data/owned-nobody")).uid(), 65534);
    let opaque: Vec<PathBuf> = layer_dirs(root)
        .into_iter()
        .map(|d| d.join("data/opaque"))
        .filter(|p| xattr_hex(p, "trusted.overlay.opaque").as_deref() == Some("79"))
        .collect();
    assert_eq!(opaque.len(), 1, "root marks opaque directories with trusted.overlay.opaque");
    let cap = xattr_hex(&layer_with(root, "data/busybox-cap"), "security.capability").expect("a capability");
    assert!(cap.starts_with("01000002"), "v2 capability as root: {cap}");
    let whiteouts = layer_dirs(root)
        .into_iter()
        .filter(|d| {
            std::fs::symlink_metadata(d.join("data/doomed.txt"))
                .map(|m| m.file_type().is_char_device() && m.rdev() == 0)
                .unwrap_or(false)
        })
        .count();
    assert_eq!(whiteouts, 1);
}

#[test]
fn rmi_refuses_an_image_used_by_a_container_unless_forced() {
    let w = Warren::dev();
    w.pull(&image("busybox"));
    w.run(&["create", "--name", "c1", &image("busybox"), "true"]).ok();
    w.run(&["rmi", &image("busybox")]).code(2).stderr_contains("image is in use by a container");
    // prune -a keeps images that containers use.
    w.run(&["image", "prune", "-a", "-f"]).ok();
    w.run(&["image", "exists", &image("busybox")]).ok();
    w.run(&["rmi", "-f", &image("busybox")]).ok().stdout_contains("Deleted: ");
    w.run(&["ps", "-a", "--format", "{{.Names}}"]).ok().stdout_lacks("c1");
    assert!(layer_dirs(w.storage_root()).is_empty());
}

#[test]
fn inspect_finds_containers_before_images() {
    let w = Warren::dev();
    w.pull(&image("busybox"));
    w.run(&["run", "--name", "r1", &image("busybox"), "sh", "-c", "exit 3"]).code(3);
    w.run(&["inspect", "--format", "{{.Name}} {{.State.Status}} {{.State.ExitCode}} {{.Config.Cmd}}", "r1"])
        .ok()
        .stdout_is("r1 exited 3 [sh -c exit 3]");
    w.run(&["inspect", "--type", "image", "r1"]).code(125).stderr_contains("r1: image not known");
    let both = w.run(&["inspect", "r1", &image("busybox")]).ok().json();
    assert_eq!(both.as_array().unwrap().len(), 2);
    assert_eq!(both[0]["Name"], "r1");
    assert_eq!(both[1]["RepoTags"][0], format!("{}:latest", image("busybox")));
}

/// lab/layers (built with buildah on overlay as root) against Podman's view of it
/// (shared/images/lab-layers.expected.txt): modes, owners, sizes, link counts and link targets.
#[test]
fn lab_layers_match_podmans_view() {
    let Some(img) = lab_image("layers:latest") else { return };
    let Some(dir) = require_env().shared_images.clone() else { return };
    let text = std::fs::read_to_string(dir.join("lab-layers.expected.txt")).unwrap();
    let expected: Vec<&str> = text
        .lines()
        .filter(|l| {
            l.split_whitespace().next().is_some_and(|m| m.len() == 10 && !l.starts_with('#') && !l.contains('='))
        })
        .collect();
    assert!(expected.len() > 30, "parsed {} lines of lab-layers.expected.txt", expected.len());
    let w = Warren::dev();
    w.pull(&img);
    let script = r#"find /lab | sort | while read -r f; do stat -c "%A %u %g %s %h %N" "$f"; done"#;
    for driver in ["overlay", "vfs"] {
        let out = w.run(&["--storage-driver", driver, "run", "--rm", &img, "sh", "-c", script]);
        out.ok();
        // Overlay reports 1 link for a merged directory; a plain copy counts its subdirectories.
        let norm = |l: &str| -> String {
            let f: Vec<&str> = l.splitn(6, ' ').collect();
            if driver != "overlay" && f[0].starts_with('d') {
                format!("{} {} {} {} - {}", f[0], f[1], f[2], f[3], f[5])
            } else {
                l.to_string()
            }
        };
        let got: Vec<String> = out.lines().iter().map(|l| norm(l)).collect();
        let want: Vec<String> = expected.iter().map(|l| norm(l)).collect();
        assert_eq!(got, want, "driver {driver}");
    }
}
