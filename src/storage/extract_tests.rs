//! Extraction tests with crafted tars in temp dirs (tmpfs when available, for user.* xattrs).

use super::*;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};

fn tmp() -> tempfile::TempDir {
    if Path::new("/dev/shm").is_dir() {
        if let Ok(t) = tempfile::tempdir_in("/dev/shm") {
            return t;
        }
    }
    tempfile::tempdir().unwrap()
}

/// A policy for the running test process (root on the host when run as root, or an unprivileged user).
fn host_policy(ignore: bool) -> ExtractOptions {
    ExtractOptions { ids: IdPolicy::current(ignore).unwrap() }
}

fn label() -> LayerLabel {
    LayerLabel { digest: "sha256:abcd".into(), image: "lab/test".into() }
}

/// A header with raw bytes as the name (bypassing the tar crate's own path checks, to craft evil tars).
fn raw(b: &mut tar::Builder<Vec<u8>>, name: &[u8], kind: tar::EntryType, link: Option<&[u8]>, data: &[u8], mode: u32) {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_size(data.len() as u64);
    h.set_mode(mode);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(1_700_000_000);
    {
        let g = h.as_gnu_mut().unwrap();
        g.name[..name.len()].copy_from_slice(name);
        if let Some(l) = link {
            g.linkname[..l.len()].copy_from_slice(l);
        }
    }
    h.set_cksum();
    b.append(&h, data).unwrap();
}

fn header(kind: tar::EntryType, size: u64, mode: u32, uid: u64, gid: u64, mtime: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(mode);
    h.set_uid(uid);
    h.set_gid(gid);
    h.set_mtime(mtime);
    h
}

fn file(b: &mut tar::Builder<Vec<u8>>, path: &str, data: &[u8], mode: u32, uid: u64) {
    let mut h = header(tar::EntryType::Regular, data.len() as u64, mode, uid, uid, 1_600_000_000);
    b.append_data(&mut h, path, data).unwrap();
}

fn dir(b: &mut tar::Builder<Vec<u8>>, path: &str, mode: u32) {
    let mut h = header(tar::EntryType::Directory, 0, mode, 0, 0, 1_500_000_000);
    b.append_data(&mut h, path, &[][..]).unwrap();
}

fn link(b: &mut tar::Builder<Vec<u8>>, kind: tar::EntryType, path: &str, target: &str) {
    let mut h = header(kind, 0, 0o777, 0, 0, 1_400_000_000);
    b.append_link(&mut h, path, target).unwrap();
}

fn run(tar: Vec<u8>, dest: &Path, opts: &ExtractOptions) -> Result<ExtractStats, ExtractError> {
    extract_tar(&mut &tar[..], dest, opts, &label())
}

/// A temp dir with `root/` (the layer root) and a sentinel outside it; returns (tempdir, root).
fn sandbox() -> (tempfile::TempDir, PathBuf) {
    let t = tmp();
    let root = t.path().join("root");
    std::fs::create_dir(&root).unwrap();
    (t, root)
}

fn outside_is_untouched(t: &tempfile::TempDir) {
    let names: Vec<_> = std::fs::read_dir(t.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, vec![OsString::from("root")], "something was written outside the layer root");
}

fn refused(r: Result<ExtractStats, ExtractError>, entry: &str) -> String {
    match r {
        Err(e @ ExtractError::Refused { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("layer sha256:abcd of lab/test"), "{msg}");
            assert!(msg.contains(entry), "{msg} should name {entry}");
            msg
        }
        other => panic!("expected a refusal for {entry}, got {other:?}"),
    }
}

#[test]
fn regular_tree_with_metadata() {
    let (_t, root) = sandbox();
    let mut b = tar::Builder::new(Vec::new());
    dir(&mut b, "etc/", 0o755);
    file(&mut b, "etc/passwd", b"root:x:0:0\n", 0o644, 0);
    dir(&mut b, "ro/", 0o555);
    file(&mut b, "ro/inside", b"x", 0o644, 0);
    file(&mut b, "bin/busybox", b"ELF", 0o4755, 0);
    link(&mut b, tar::EntryType::Symlink, "bin/sh", "/bin/busybox");
    link(&mut b, tar::EntryType::Symlink, "bin/dangling", "/nonexistent/target");
    link(&mut b, tar::EntryType::Link, "bin/hard", "bin/busybox");
    let long = format!("deep/{}/{}", "d".repeat(120), "f".repeat(150));
    file(&mut b, &long, b"long", 0o600, 0);
    let mut h = header(tar::EntryType::Fifo, 0, 0o640, 0, 0, 1_300_000_000);
    b.append_data(&mut h, "run/fifo", &[][..]).unwrap();
    dir(&mut b, "tmp/", 0o1777);
    dir(&mut b, "sgid/", 0o2775);
    let stats = run(b.into_inner().unwrap(), &root, &host_policy(false)).unwrap();
    assert_eq!(stats.entries, 12);

    assert_eq!(std::fs::read(root.join("etc/passwd")).unwrap(), b"root:x:0:0\n");
    let bb = std::fs::metadata(root.join("bin/busybox")).unwrap();
    assert_eq!(bb.mode() & 0o7777, 0o4755, "setuid kept");
    assert_eq!(bb.mtime(), 1_600_000_000);
    let hard = std::fs::metadata(root.join("bin/hard")).unwrap();
    assert_eq!(hard.ino(), bb.ino(), "hardlinks share an inode");
    assert_eq!(bb.nlink(), 2);
    assert_eq!(std::fs::read_link(root.join("bin/sh")).unwrap(), Path::new("/bin/busybox"));
    assert_eq!(std::fs::symlink_metadata(root.join("bin/sh")).unwrap().mtime(), 1_400_000_000);
    assert_eq!(std::fs::read_link(root.join("bin/dangling")).unwrap(), Path::new("/nonexistent/target"));
    assert_eq!(std::fs::read(root.join(&long)).unwrap(), b"long");
    let fifo = std::fs::symlink_metadata(root.join("run/fifo")).unwrap();
    assert!(fifo.file_type().is_fifo());
    assert_eq!(fifo.mode() & 0o7777, 0o640);
    // Directory modes and mtimes are set after their content.
    let ro = std::fs::metadata(root.join("ro")).unwrap();
    assert_eq!(ro.mode() & 0o7777, 0o555);
    assert_eq!(ro.mtime(), 1_500_000_000);
    assert_eq!(std::fs::metadata(root.join("etc")).unwrap().mtime(), 1_500_000_000);
    assert_eq!(std::fs::metadata(root.join("tmp")).unwrap().mode() & 0o7777, 0o1777);
    assert_eq!(std::fs::metadata(root.join("sgid")).unwrap().mode() & 0o7777, 0o2775);
    // Implicit parents exist.
    assert!(root.join("deep").is_dir());
}

#[test]
fn pax_xattrs_are_set_and_empty_ones_dropped() {
    let (_t, root) = sandbox();
    let mut b = tar::Builder::new(Vec::new());
    b.append_pax_extensions([
        ("SCHILY.xattr.user.lab.note", &b"hello layers"[..]),
        ("SCHILY.xattr.user.lab.empty", &b""[..]),
    ])
    .unwrap();
    file(&mut b, "xattr.txt", b"x", 0o644, 0);
    run(b.into_inner().unwrap(), &root, &host_policy(false)).unwrap();
    let f = File::open(root.join("xattr.txt")).unwrap();
    assert_eq!(
        sys::fgetxattr(f.as_raw_fd(), OsStr::new("user.lab.note")).unwrap().as_deref(),
        Some(&b"hello layers"[..])
    );
    assert_eq!(sys::fgetxattr(f.as_raw_fd(), OsStr::new("user.lab.empty")).unwrap(), None);
}

#[test]
fn whiteouts_become_devices_and_opaque_dirs_get_the_xattr() {
    let (_t, root) = sandbox();
    let mut b = tar::Builder::new(Vec::new());
    dir(&mut b, "lab/", 0o755);
    file(&mut b, "lab/.wh.doomed.txt", b"", 0o644, 0);
    dir(&mut b, "lab/opaque/", 0o755);
    file(&mut b, "lab/opaque/.wh..wh..opq", b"", 0o644, 0);
    file(&mut b, "lab/opaque/new1", b"new1", 0o644, 0);
    let opts = host_policy(false);
    let stats = run(b.into_inner().unwrap(), &root, &opts).unwrap();
    if stats.aufs_whiteouts {
        // The kernel refused the 0/0 device: the AUFS form is kept.
        assert!(root.join("lab/.wh.doomed.txt").is_file());
    } else {
        let wh = std::fs::symlink_metadata(root.join("lab/doomed.txt")).unwrap();
        assert!(wh.file_type().is_char_device());
        assert_eq!(wh.rdev(), 0);
        let d = File::open(root.join("lab/opaque")).unwrap();
        assert_eq!(
            sys::fgetxattr(d.as_raw_fd(), OsStr::new(opts.ids.opaque_xattr())).unwrap().as_deref(),
            Some(&b"y"[..])
        );
    }
    assert!(!root.join("lab/opaque/.wh..wh..opq").exists() || stats.aufs_whiteouts);
    assert_eq!(std::fs::read(root.join("lab/opaque/new1")).unwrap(), b"new1");
}

#[test]
fn opaque_xattr_name_follows_the_namespace() {
    let rootless = IdPolicy::from_maps("0 1002 1\n1 100000 65536\n", "0 1002 1\n1 100000 65536\n", true, false);
    assert!(rootless.in_userns && !rootless.single_id);
    assert_eq!(rootless.opaque_xattr(), "user.overlay.opaque");
    let root = IdPolicy::from_maps("         0          0 4294967295\n", "0 0 4294967295\n", true, false);
    assert!(!root.in_userns);
    assert_eq!(root.opaque_xattr(), "trusted.overlay.opaque");
    let single = IdPolicy::from_maps("0 1001 1\n", "0 1001 1\n", true, false);
    assert!(single.single_id && single.in_userns);
}

#[test]
fn evil_names_are_refused_and_nothing_is_written_outside() {
    type Case = (&'static [u8], tar::EntryType, Option<&'static [u8]>);
    let cases: Vec<Case> = vec![
        (b"../x", tar::EntryType::Regular, None),
        (b"/etc/x", tar::EntryType::Regular, None),
        (b"a/../../x", tar::EntryType::Regular, None),
        (b"./../x", tar::EntryType::Directory, None),
        (b"../.wh.x", tar::EntryType::Regular, None),
        (b"hl", tar::EntryType::Link, Some(b"/etc/passwd")),
        (b"hl", tar::EntryType::Link, Some(b"../sentinel")),
        (b"hl", tar::EntryType::Link, Some(b"a/../../sentinel")),
    ];
    for (name, kind, target) in cases {
        let (t, root) = sandbox();
        let mut b = tar::Builder::new(Vec::new());
        raw(&mut b, name, kind, target, b"pwned", 0o644);
        let r = run(b.into_inner().unwrap(), &root, &host_policy(false));
        let msg = refused(r, &String::from_utf8_lossy(name));
        assert!(msg.contains("escapes") || msg.contains("absolute"), "{msg}");
        outside_is_untouched(&t);
    }
}

#[test]
fn writing_through_a_symlink_is_refused() {
    let (t, root) = sandbox();
    let outside = t.path().to_str().unwrap().to_string();
    // escape -> the directory above the root (absolute), then escape/pwned.
    let mut b = tar::Builder::new(Vec::new());
    raw(&mut b, b"escape", tar::EntryType::Symlink, Some(outside.as_bytes()), b"", 0o777);
    raw(&mut b, b"escape/pwned", tar::EntryType::Regular, None, b"pwned", 0o644);
    let msg = refused(run(b.into_inner().unwrap(), &root, &host_policy(false)), "escape/pwned");
    assert!(msg.contains("symlink"), "{msg}");
    assert!(!t.path().join("pwned").exists());

    // Relative symlink up and out, a directory entry through it, a whiteout through it.
    for (second, kind) in [(&b"up/dir/"[..], tar::EntryType::Directory), (&b"up/.wh.root"[..], tar::EntryType::Regular)]
    {
        let (t, root) = sandbox();
        let mut b = tar::Builder::new(Vec::new());
        raw(&mut b, b"up", tar::EntryType::Symlink, Some(b".."), b"", 0o777);
        raw(&mut b, second, kind, None, b"", 0o755);
        refused(run(b.into_inner().unwrap(), &root, &host_policy(false)), &String::from_utf8_lossy(second));
        assert!(t.path().join("root").is_dir());
        assert!(!t.path().join("dir").exists());
        let names: Vec<_> = std::fs::read_dir(t.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![OsString::from("root")]);
    }

    // A hardlink whose target goes through a symlink (escape -> /, escape/etc/passwd).
    let (t, root) = sandbox();
    let mut b = tar::Builder::new(Vec::new());
    raw(&mut b, b"escape", tar::EntryType::Symlink, Some(b"/"), b"", 0o777);
    raw(&mut b, b"passwd", tar::EntryType::Link, Some(b"escape/etc/passwd"), b"", 0o644);
    let msg = refused(run(b.into_inner().unwrap(), &root, &host_policy(false)), "passwd");
    assert!(msg.contains("symlink"), "{msg}");
    assert!(!root.join("passwd").exists());
    outside_is_untouched(&t);
}

#[test]
fn a_later_entry_replaces_an_earlier_one() {
    let (_t, root) = sandbox();
    let mut b = tar::Builder::new(Vec::new());
    dir(&mut b, "x/", 0o755);
    file(&mut b, "x/inner", b"1", 0o644, 0);
    file(&mut b, "x", b"now a file", 0o644, 0);
    file(&mut b, "y", b"old", 0o644, 0);
    file(&mut b, "y", b"new", 0o644, 0);
    run(b.into_inner().unwrap(), &root, &host_policy(false)).unwrap();
    assert_eq!(std::fs::read(root.join("x")).unwrap(), b"now a file");
    assert_eq!(std::fs::read(root.join("y")).unwrap(), b"new");
}

#[test]
fn owners_through_the_mapping() {
    if !nix::unistd::geteuid().is_root() {
        return; // chown needs root; the rootless end-to-end tests cover the user namespace
    }
    let tar = || {
        let mut b = tar::Builder::new(Vec::new());
        file(&mut b, "lab/owners/dev.txt", b"dev", 0o644, 1000);
        file(&mut b, "lab/owners/high.txt", b"high", 0o644, 70000);
        b.into_inner().unwrap()
    };
    // A subordinate range too small for uid 70000: fail, naming the entry, the id and the fix.
    let small = ExtractOptions { ids: IdPolicy::from_maps("0 0 65536\n", "0 0 65536\n", true, false) };
    let (_t, root) = sandbox();
    let err = run(tar(), &root, &small).unwrap_err().to_string();
    assert!(
        err.contains("lab/owners/high.txt") && err.contains("uid 70000") && err.contains("ignore_chown_errors=true"),
        "{err}"
    );
    assert!(err.contains("0-65535"), "{err}");
    // ignore_chown_errors: squash to 0.
    let ignore = ExtractOptions { ids: IdPolicy::from_maps("0 0 65536\n", "0 0 65536\n", true, true) };
    let (_t, root) = sandbox();
    let stats = run(tar(), &root, &ignore).unwrap();
    assert_eq!(stats.squashed_owners, 1);
    assert_eq!(std::fs::metadata(root.join("lab/owners/high.txt")).unwrap().uid(), 0);
    assert_eq!(std::fs::metadata(root.join("lab/owners/dev.txt")).unwrap().uid(), 1000);
    // Single id: everything not mapped squashed silently.
    let single = ExtractOptions { ids: IdPolicy::from_maps("0 0 1\n", "0 0 1\n", true, false) };
    let (_t, root) = sandbox();
    let stats = run(tar(), &root, &single).unwrap();
    assert_eq!(stats.squashed_owners, 2);
    assert_eq!(std::fs::metadata(root.join("lab/owners/dev.txt")).unwrap().uid(), 0);
}

#[test]
fn devices_are_skipped_in_a_user_namespace_with_one_count() {
    let (_t, root) = sandbox();
    let mut b = tar::Builder::new(Vec::new());
    for n in ["dev/null", "dev/zero"] {
        let mut h = header(tar::EntryType::Char, 0, 0o666, 0, 0, 0);
        h.set_device_major(1).unwrap();
        h.set_device_minor(3).unwrap();
        b.append_data(&mut h, n, &[][..]).unwrap();
    }
    let ids = IdPolicy::from_maps(
        "0 1002 1\n1 100000 65536\n",
        "0 1002 1\n1 100000 65536\n",
        nix::unistd::geteuid().is_root(),
        false,
    );
    let stats = run(b.into_inner().unwrap(), &root, &ExtractOptions { ids }).unwrap();
    assert_eq!(stats.skipped_devices, 2);
    assert!(!root.join("dev/null").exists());
}

fn layer_tar() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    file(&mut b, "hello", b"world", 0o644, 0);
    b.into_inner().unwrap()
}

#[test]
fn compressed_layers_are_verified() {
    let tar = layer_tar();
    let diff_id = Digest::sha256_of(&tar);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar).unwrap();
    let gz = gz.finish().unwrap();
    let zst = zstd::encode_all(&tar[..], 3).unwrap();
    for (mt, blob) in [
        ("application/vnd.oci.image.layer.v1.tar+gzip", gz.clone()),
        ("application/vnd.docker.image.rootfs.diff.tar.gzip", gz.clone()),
        ("application/vnd.oci.image.layer.v1.tar+zstd", zst.clone()),
        ("application/vnd.oci.image.layer.v1.tar", tar.clone()),
    ] {
        let (_t, root) = sandbox();
        let blob_digest = Digest::sha256_of(&blob);
        let seen = std::cell::Cell::new(0);
        let stats = extract_layer(
            &mut &blob[..],
            mt,
            Some(&blob_digest),
            Some(&diff_id),
            &root,
            &host_policy(false),
            &label(),
            &|n| seen.set(n),
        )
        .unwrap();
        assert_eq!(seen.get(), blob.len() as u64, "{mt}: progress reports every compressed byte");
        assert_eq!(stats.tar_size, tar.len() as u64);
        assert_eq!(std::fs::read(root.join("hello")).unwrap(), b"world");
    }
    // A wrong diff ID or blob digest fails, naming the layer.
    let (_t, root) = sandbox();
    let wrong = Digest::sha256_of(b"other");
    let err = extract_layer(
        &mut &gz[..],
        "application/vnd.oci.image.layer.v1.tar+gzip",
        None,
        Some(&wrong),
        &root,
        &host_policy(false),
        &label(),
        &|_| {},
    )
    .unwrap_err();
    assert!(matches!(err, ExtractError::DigestMismatch { .. }) && err.to_string().contains("diff ID"), "{err}");
    let (_t, root) = sandbox();
    let err = extract_layer(
        &mut &gz[..],
        "application/vnd.oci.image.layer.v1.tar+gzip",
        Some(&wrong),
        None,
        &root,
        &host_policy(false),
        &label(),
        &|_| {},
    )
    .unwrap_err();
    assert!(err.to_string().contains("blob"), "{err}");
    let (_t, root) = sandbox();
    let err =
        extract_layer(&mut &gz[..], "application/x-foo", None, None, &root, &host_policy(false), &label(), &|_| {})
            .unwrap_err();
    assert!(matches!(err, ExtractError::MediaType { .. }));
}

#[test]
fn apply_layer_dir_interprets_whiteouts_and_opaque_dirs() {
    let t = tmp();
    let lower = t.path().join("lower");
    let upper = t.path().join("upper");
    let merged = t.path().join("merged");
    for d in [&lower, &upper, &merged] {
        std::fs::create_dir(d).unwrap();
    }
    let mut b = tar::Builder::new(Vec::new());
    file(&mut b, "lab/doomed.txt", b"d", 0o644, 0);
    file(&mut b, "lab/doomed-dir/x", b"x", 0o644, 0);
    file(&mut b, "lab/opaque/old", b"old", 0o644, 0);
    file(&mut b, "lab/keep", b"keep", 0o644, 0);
    link(&mut b, tar::EntryType::Symlink, "lib", "usr/lib");
    file(&mut b, "usr/lib/a", b"a", 0o644, 0);
    run(b.into_inner().unwrap(), &lower, &host_policy(false)).unwrap();
    let mut b = tar::Builder::new(Vec::new());
    file(&mut b, "lab/.wh.doomed.txt", b"", 0o644, 0);
    file(&mut b, "lab/.wh.doomed-dir", b"", 0o644, 0);
    file(&mut b, "lab/opaque/.wh..wh..opq", b"", 0o644, 0);
    file(&mut b, "lab/opaque/new1", b"new1", 0o644, 0);
    file(&mut b, "lab/suid", b"s", 0o4755, 0);
    file(&mut b, "lab/h1", b"same", 0o644, 0);
    link(&mut b, tar::EntryType::Link, "lab/h2", "lab/h1");
    // A directory over a lower symlink replaces it (overlay semantics), never writes through it.
    file(&mut b, "lib/b", b"b", 0o644, 0);
    run(b.into_inner().unwrap(), &upper, &host_policy(false)).unwrap();

    apply_layer_dir(&merged, &lower).unwrap();
    apply_layer_dir(&merged, &upper).unwrap();
    let m = |p: &str| merged.join(p);
    assert!(!m("lab/doomed.txt").exists());
    assert!(!m("lab/doomed-dir").exists());
    assert!(!m("lab/opaque/old").exists());
    assert_eq!(std::fs::read(m("lab/opaque/new1")).unwrap(), b"new1");
    assert_eq!(std::fs::read(m("lab/keep")).unwrap(), b"keep");
    assert_eq!(std::fs::metadata(m("lab/suid")).unwrap().permissions().mode() & 0o7777, 0o4755);
    assert_eq!(std::fs::metadata(m("lab/h1")).unwrap().ino(), std::fs::metadata(m("lab/h2")).unwrap().ino());
    assert!(std::fs::symlink_metadata(m("lib")).unwrap().is_dir());
    assert!(!m("usr/lib/b").exists());
    assert_eq!(std::fs::read(m("usr/lib/a")).unwrap(), b"a");
    // No whiteout markers leak into the merged tree.
    assert!(!m("lab/.wh.doomed.txt").exists());
    assert!(!m("lab/opaque/.wh..wh..opq").exists());
}
