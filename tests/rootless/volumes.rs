//! Named and anonymous volumes, rootless as `dev`: the volume commands, data that outlives containers,
//! copy-up of the image's content, refusal to remove a volume in use, and ownership through the mapping.

use crate::common::*;
use std::os::unix::fs::MetadataExt;

#[test]
fn create_ls_inspect_exists_rm_prune() {
    let w = Warren::dev();
    w.run(&["volume", "create", "--label", "team=a", "v1"]).ok().stdout_is("v1");
    w.run(&["volume", "create", "v2"]).ok();
    w.run(&["volume", "create", "v1"]).code(125).stderr_contains("already exists");
    w.run(&["volume", "create", "--ignore", "v1"]).ok().stdout_is("v1");
    w.run(&["volume", "create", "bad/name"]).code(125);
    w.run(&["volume", "create", "--driver", "nfs", "v3"]).code(125);

    let ls = w.run(&["volume", "ls"]);
    ls.ok();
    assert_eq!(ls.lines(), ["DRIVER      VOLUME NAME", "local       v1", "local       v2"], "{ls:?}");
    w.run(&["volume", "ls", "-q"]).ok().stdout_is("v1\nv2");
    w.run(&["volume", "ls", "-q", "--filter", "label=team=a"]).ok().stdout_is("v1");
    w.run(&["volume", "ls", "--format", "{{.Name}}:{{.Driver}}"]).ok().stdout_is("v1:local\nv2:local");
    w.run(&["volume", "ls", "--noheading"]).ok().stdout_lacks("DRIVER");

    let out = w.run(&["volume", "inspect", "v1"]);
    let v = &out.ok().json()[0];
    assert_eq!(v["Name"], "v1");
    assert_eq!(v["Driver"], "local");
    assert_eq!(v["Scope"], "local");
    assert_eq!(v["Labels"]["team"], "a");
    assert_eq!(v["MountCount"], 0);
    let mp = format!("{}/volumes/v1/_data", w.storage_root().display());
    assert_eq!(v["Mountpoint"], mp.as_str());
    assert!(v["CreatedAt"].as_str().is_some_and(|t| t.starts_with("20")), "{out:?}");
    assert!(std::path::Path::new(&mp).is_dir(), "{mp} was not created");
    w.run(&["volume", "inspect", "--format", "{{.Name}} {{.Mountpoint}}", "v2"])
        .ok()
        .stdout_is(&format!("v2 {}/volumes/v2/_data", w.storage_root().display()));
    w.run(&["volume", "inspect", "nope"]).failed().stderr_contains("no such volume");

    w.run(&["volume", "exists", "v1"]).code(0);
    w.run(&["volume", "exists", "nope"]).code(1);

    w.run(&["volume", "rm", "v1"]).ok().stdout_is("v1");
    w.run(&["volume", "exists", "v1"]).code(1);
    assert!(!std::path::Path::new(&mp).exists(), "rm left {mp}");
    w.run(&["volume", "rm", "v1"]).code(1).stderr_contains("no such volume");

    // prune removes what no container uses
    w.run(&["create", "--name", "user", &image("busybox"), "true"]).ok();
    w.run(&["volume", "create", "unused"]).ok();
    w.run(&["rm", "user"]).ok();
    w.run(&["create", "--name", "user2", "-v", "kept:/kept", &image("busybox"), "true"]).ok();
    let pruned = w.run(&["volume", "prune", "-f"]);
    pruned.ok().stdout_contains("unused").stdout_contains("v2").stdout_lacks("kept");
    w.run(&["volume", "ls", "-q"]).ok().stdout_is("kept");
    w.run(&["rm", "user2"]).ok();
    w.run(&["volume", "rm", "--all"]).ok();
    w.run(&["volume", "ls", "-q"]).ok().stdout_is("");
}

#[test]
fn named_volume_keeps_data_across_runs() {
    let w = Warren::dev();
    let img = image("busybox");
    w.run(&["run", "--rm", "-v", "data:/data", &img, "sh", "-c", "echo persisted > /data/f"]).ok();
    w.run(&["volume", "ls", "-q"]).ok().stdout_is("data");
    w.run(&["run", "--rm", "-v", "data:/data:ro", &img, "cat", "/data/f"]).ok().stdout_is("persisted");
    // read-only really is
    w.run(&["run", "--rm", "-v", "data:/data:ro", &img, "touch", "/data/g"]).failed();
    // --mount type=volume names the same volume
    w.run(&["run", "--rm", "--mount", "type=volume,source=data,target=/d", &img, "cat", "/d/f"])
        .ok()
        .stdout_is("persisted");
}

#[test]
fn new_volume_is_filled_from_the_image() {
    let w = Warren::dev();
    let img = image("busybox");
    w.run(&["run", "--rm", "-v", "etc:/etc", &img, "cat", "/etc/passwd"]).ok().stdout_contains("root:x:0:0");
    // the copy is in the volume on the host, and stays after the container
    let passwd = w.storage_root().join("volumes/etc/_data/passwd");
    assert!(passwd.is_file(), "{} missing after copy-up", passwd.display());
    // nocopy: a new volume stays empty
    w.run(&["run", "--rm", "-v", "empty:/etc:nocopy", &img, "ls", "/etc"]).ok().stdout_lacks("passwd");
    // a volume that already has content is not filled again
    w.run(&["run", "--rm", "-v", "etc:/etc", &img, "sh", "-c", "rm /etc/group"]).ok();
    w.run(&["run", "--rm", "-v", "etc:/etc", &img, "ls", "/etc"]).ok().stdout_lacks("group").stdout_contains("passwd");
}

#[test]
fn a_volume_in_use_is_not_removed_without_force() {
    let w = Warren::dev();
    w.run(&["create", "--name", "holder", "-v", "used:/data", &image("busybox"), "true"]).ok();
    w.run(&["volume", "rm", "used"]).code(2).stderr_contains("volume is being used");
    w.run(&["volume", "exists", "used"]).code(0);
    // -f removes the container first
    w.run(&["volume", "rm", "-f", "used"]).ok().stdout_is("used");
    w.run(&["volume", "exists", "used"]).code(1);
    w.run(&["ps", "-a", "-q"]).ok().stdout_is("");
}

#[test]
fn volume_files_are_owned_through_the_mapping() {
    let env = require_env();
    let w = Warren::dev();
    // container uid 1000 is host uid 100000 + 1000 - 1 with dev:100000:65536 (container 0 is dev)
    w.run(&[
        "run",
        "--rm",
        "-u",
        "1000:1000",
        "-v",
        "own:/data",
        &image("busybox"),
        "sh",
        "-c",
        "touch /data/f && id -u",
    ])
    .ok()
    .stdout_is("1000");
    let data = w.storage_root().join("volumes/own/_data");
    let f = std::fs::metadata(data.join("f")).expect("the file the container wrote");
    assert_eq!((f.uid(), f.gid()), (100999, 100999));
    // the new volume was given to the container's user on first use
    let d = std::fs::metadata(&data).unwrap();
    assert_eq!(d.uid(), 100999);
    // a volume made by `volume create` belongs to container root: dev itself on the host
    w.run(&["volume", "create", "mine"]).ok();
    let m = std::fs::metadata(w.storage_root().join("volumes/mine/_data")).unwrap();
    assert_eq!(m.uid(), env.dev.uid);
    // U gives an existing volume to the container's user
    w.run(&["run", "--rm", "-u", "1000", "-v", "mine:/m:U", &image("busybox"), "stat", "-c", "%u", "/m"])
        .ok()
        .stdout_is("1000");
    // and on a bind mount it chowns the host directory, through the mapping
    let dir = w.storage_root().join("bind");
    w.cmd(&["mkdir", &dir.display().to_string()]).ok();
    let spec = format!("{}:/b:U", dir.display());
    w.run(&["run", "--rm", "-u", "1000", "-v", &spec, &image("busybox"), "touch", "/b/x"]).ok();
    assert_eq!(std::fs::metadata(&dir).unwrap().uid(), 100999);
}

#[test]
fn anonymous_volumes_go_with_rm_v_and_with_rm() {
    let w = Warren::dev();
    let img = image("busybox");
    w.run(&["create", "--name", "a", "-v", "/scratch", &img, "true"]).ok();
    let anon = w.run(&["volume", "ls", "-q"]);
    anon.ok().check("one anonymous volume with a 64-hex name", |o| o.lines().len() == 1 && o.lines()[0].len() == 64);
    let name = anon.lines()[0].to_string();
    w.run(&["volume", "inspect", "--format", "{{.Anonymous}}", &name]).ok().stdout_is("true");
    w.run(&["rm", "-v", "a"]).ok();
    w.run(&["volume", "ls", "-q"]).ok().stdout_is("");

    // plain rm keeps it
    w.run(&["create", "--name", "b", "-v", "/scratch", &img, "true"]).ok();
    w.run(&["rm", "b"]).ok();
    w.run(&["volume", "ls", "-q"]).ok().check("the anonymous volume kept", |o| o.lines().len() == 1);
    w.run(&["volume", "prune", "-f"]).ok();

    // run --rm removes its anonymous volumes, named ones stay
    w.run(&["run", "--rm", "-v", "/scratch", "-v", "named:/n", &img, "true"]).ok();
    w.run(&["volume", "ls", "-q"]).ok().stdout_is("named");
}

/// Push a copy of the busybox fixture whose config declares `VOLUME /cache /etc`, and return its name.
fn image_with_volumes() -> String {
    use sha2::Digest as _;
    let dir = std::path::PathBuf::from(format!("{TESTS_DIR}/imgvol-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let layout = format!("oci:{}:x", dir.display());
    host(&["skopeo", "copy", "-q", "--src-tls-verify=false", &format!("docker://{}", image("busybox")), &layout]).ok();
    let blob = |d: &str| dir.join("blobs/sha256").join(d.trim_start_matches("sha256:"));
    let put = |bytes: &[u8]| -> (String, usize) {
        let d = format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)));
        std::fs::write(blob(&d), bytes).unwrap();
        (d, bytes.len())
    };
    let index_path = dir.join("index.json");
    let mut index: serde_json::Value = serde_json::from_slice(&std::fs::read(&index_path).unwrap()).unwrap();
    let mdigest = index["manifests"][0]["digest"].as_str().unwrap().to_string();
    let mut manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(blob(&mdigest)).unwrap()).unwrap();
    let cdigest = manifest["config"]["digest"].as_str().unwrap().to_string();
    let mut config: serde_json::Value = serde_json::from_slice(&std::fs::read(blob(&cdigest)).unwrap()).unwrap();
    config["config"]["Volumes"] = serde_json::json!({"/cache": {}, "/etc": {}});
    let (cd, cs) = put(&serde_json::to_vec(&config).unwrap());
    manifest["config"]["digest"] = cd.into();
    manifest["config"]["size"] = cs.into();
    let (md, ms) = put(&serde_json::to_vec(&manifest).unwrap());
    index["manifests"][0]["digest"] = md.into();
    index["manifests"][0]["size"] = ms.into();
    std::fs::write(&index_path, serde_json::to_vec(&index).unwrap()).unwrap();
    let name = format!("{}/warren-tests/imgvol:latest", registry());
    host(&["skopeo", "copy", "-q", "--dest-tls-verify=false", &layout, &format!("docker://{name}")]).ok();
    let _ = std::fs::remove_dir_all(&dir);
    name
}

#[test]
fn image_volumes_become_anonymous_volumes() {
    let w = Warren::dev();
    let img = image_with_volumes();
    // each VOLUME is an anonymous volume, filled from the image; --rm removes them
    w.run(&[
        "run",
        "--rm",
        &img,
        "sh",
        "-c",
        "touch /cache/x && grep -c root: /etc/passwd && grep ' /cache ' /proc/mounts | wc -l",
    ])
    .ok()
    .stdout_is("1\n1");
    w.run(&["volume", "ls", "-q"]).ok().stdout_is("");
    // a user mount on a VOLUME path replaces that anonymous volume
    w.run(&["create", "--name", "c", "-v", "named:/cache", &img, "true"]).ok();
    let vols = w.run(&["volume", "ls", "-q"]);
    vols.ok().check("named plus one anonymous volume (/etc)", |o| {
        o.lines().len() == 2 && o.lines().contains(&"named") && o.lines().iter().any(|l| l.len() == 64)
    });
    w.run(&["rm", "-v", "c"]).ok();
    w.run(&["volume", "ls", "-q"]).ok().stdout_is("named");
}

#[test]
fn root_and_single_id_users_have_volumes_too() {
    // root: the identity mapping, so container uid 1000 is host uid 1000
    let r = Warren::root();
    r.run(&["run", "--rm", "-u", "1000", "-v", "data:/data", &image("busybox"), "touch", "/data/f"]).ok();
    let f = std::fs::metadata(r.storage_root().join("volumes/data/_data/f")).unwrap();
    assert_eq!(f.uid(), 1000);
    r.run(&["volume", "rm", "data"]).ok();
    // hpc (no subordinate ids): everything in the volume is the user's own
    let env = require_env();
    let h = Warren::hpc();
    h.run(&["run", "--rm", "-v", "etc:/etc", &image("busybox"), "sh", "-c", "echo hi > /etc/new"]).ok();
    for n in ["new", "passwd"] {
        let m = std::fs::metadata(h.storage_root().join("volumes/etc/_data").join(n)).unwrap();
        assert_eq!(m.uid(), env.hpc.uid, "{n}");
    }
    h.run(&["volume", "rm", "etc"]).ok();
}
