use super::*;

fn gz_layer(files: &[(&str, &[u8])]) -> (Vec<u8>, Digest, Digest) {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(1_700_000_000);
        b.append_data(&mut h, name, *data).unwrap();
    }
    let tar = b.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).unwrap();
    let blob = gz.finish().unwrap();
    let d = Digest::sha256_of(&blob);
    (blob, d, Digest::sha256_of(&tar))
}

const GZ: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

fn import(store: &Store, parent: Option<&Digest>, files: &[(&str, &[u8])]) -> LayerRecord {
    let (blob, d, diff) = gz_layer(files);
    let chain = Digest::chain(parent, &diff);
    store.import_layer(&chain, parent, &d, &diff, GZ, &mut &blob[..], &|_| {}).unwrap()
}

fn record(id_seed: &str, names: &[&str], layers: Vec<Digest>, pulled: &str) -> ImageRecord {
    let id = Digest::sha256_of(id_seed.as_bytes());
    ImageRecord {
        id: id.clone(),
        names: names.iter().map(|s| s.to_string()).collect(),
        digest: Digest::sha256_of(format!("manifest {id_seed}").as_bytes()),
        repo_digests: Vec::new(),
        manifest_media_type: "application/vnd.oci.image.manifest.v1+json".into(),
        layers,
        size: 10,
        created: Some("2024-01-01T00:00:00Z".into()),
        pulled: pulled.into(),
    }
}

#[test]
fn storage_options_from_flags_and_conf() {
    let mut o = StoreOptions::default();
    o.apply_conf("[storage]\ndriver = \"overlay\"\n[storage.options]\nignore_chown_errors = \"true\"\n").unwrap();
    assert!(o.ignore_chown_errors);
    let mut o = StoreOptions::default();
    o.apply_conf("[storage.options.overlay]\nignore_chown_errors = true\n").unwrap();
    assert!(o.ignore_chown_errors);
    let o = StoreOptions::from_config(&["ignore_chown_errors=true".into()], false).unwrap();
    assert!(o.ignore_chown_errors);
    let o = StoreOptions::from_config(
        &["overlay.ignore_chown_errors=false".into(), "overlay.mount_program=/x".into()],
        false,
    )
    .unwrap();
    assert!(!o.ignore_chown_errors);
    assert!(StoreOptions::from_config(&["ignore_chown_errors=maybe".into()], false).is_err());
}

#[test]
fn import_commit_and_images_round_trip() {
    let t = tempfile::tempdir().unwrap();
    let store = Store::open_at(t.path(), StoreOptions::default()).unwrap();
    let l1 = import(&store, None, &[("bin/sh", b"sh")]);
    let l2 = import(&store, Some(&l1.chain_id), &[("etc/motd", b"hi")]);
    assert_eq!(l2.parent.as_ref(), Some(&l1.chain_id));
    assert!(store.layer_diff_dir(&l2.chain_id).join("etc/motd").is_file());
    assert_eq!(store.layer(&l1.chain_id).unwrap().unwrap(), l1);
    // Importing again only drains.
    let again = import(&store, None, &[("bin/sh", b"sh")]);
    assert_eq!(again, l1);
    // Nothing left in staging.
    assert_eq!(std::fs::read_dir(t.path().join("tmp")).unwrap().count(), 0);

    let rec = record(
        "a",
        &["localhost:5000/lab/busybox:latest"],
        vec![l1.chain_id.clone(), l2.chain_id.clone()],
        "2026-01-01T00:00:00Z",
    );
    store.put_image(&rec, b"{\"manifest\":1}", b"{\"config\":1}").unwrap();
    assert_eq!(store.images().unwrap(), vec![rec.clone()]);
    assert_eq!(store.image_config(&rec.id).unwrap(), b"{\"config\":1}");
    assert_eq!(store.image_manifest(&rec.id).unwrap(), b"{\"manifest\":1}");

    // A second image taking the name leaves the first dangling.
    let rec2 = record("b", &["localhost:5000/lab/busybox:latest"], vec![l1.chain_id.clone()], "2026-01-02T00:00:00Z");
    store.put_image(&rec2, b"{}", b"{}").unwrap();
    let imgs = store.images().unwrap();
    assert!(imgs.iter().find(|i| i.id == rec.id).unwrap().names.is_empty());

    // Removing the first image removes only the layer nobody else uses.
    let removed = store.remove_image(&rec.id).unwrap();
    assert_eq!(removed, vec![l2.chain_id.clone()]);
    assert!(store.layer(&l2.chain_id).unwrap().is_none());
    assert!(store.layer(&l1.chain_id).unwrap().is_some());
    assert!(!t.path().join("images").join(rec.id.hex()).exists());
}

#[test]
fn put_image_refuses_missing_layers() {
    let t = tempfile::tempdir().unwrap();
    let store = Store::open_at(t.path(), StoreOptions::default()).unwrap();
    let rec = record("a", &["x:latest"], vec![Digest::sha256_of(b"missing")], "now");
    let err = store.put_image(&rec, b"{}", b"{}").unwrap_err().to_string();
    assert!(err.contains("not in storage"), "{err}");
    assert!(store.images().unwrap().is_empty());
}

#[test]
fn a_bad_layer_leaves_nothing_behind() {
    let t = tempfile::tempdir().unwrap();
    let store = Store::open_at(t.path(), StoreOptions::default()).unwrap();
    let (blob, d, _diff) = gz_layer(&[("a", b"a")]);
    let wrong = Digest::sha256_of(b"wrong");
    let chain = Digest::chain(None, &wrong);
    let err = store.import_layer(&chain, None, &d, &wrong, GZ, &mut &blob[..], &|_| {}).unwrap_err();
    assert!(format!("{err:#}").contains("diff ID"), "{err:#}");
    assert!(store.layer(&chain).unwrap().is_none());
    assert!(!store.layer_diff_dir(&chain).exists());
    assert_eq!(std::fs::read_dir(t.path().join("tmp")).unwrap().count(), 0);
}

#[test]
fn crash_garbage_in_tmp_is_cleaned_on_open() {
    let t = tempfile::tempdir().unwrap();
    drop(Store::open_at(t.path(), StoreOptions::default()).unwrap());
    std::fs::create_dir_all(t.path().join("tmp/layer-abc-1-2/diff/usr")).unwrap();
    std::fs::write(t.path().join("tmp/layer-abc-1-2/diff/usr/x"), b"half").unwrap();
    let _store = Store::open_at(t.path(), StoreOptions::default()).unwrap();
    if nix::unistd::geteuid().is_root() {
        assert_eq!(std::fs::read_dir(t.path().join("tmp")).unwrap().count(), 0);
    }
}

#[test]
fn concurrent_imports_of_one_layer_extract_once() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().to_path_buf();
    let (blob, d, diff) = gz_layer(&[("big", &vec![7u8; 1 << 20][..])]);
    let chain = Digest::chain(None, &diff);
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (root, blob, d, diff, chain) = (root.clone(), blob.clone(), d.clone(), diff.clone(), chain.clone());
            std::thread::spawn(move || {
                let store = Store::open_at(&root, StoreOptions::default()).unwrap();
                store.import_layer_of("img", &chain, None, &d, &diff, GZ, &mut &blob[..], &|_| {}).unwrap().1
            })
        })
        .collect();
    let stats: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(stats.iter().filter(|s| s.entries > 0).count(), 1, "exactly one import extracted: {stats:?}");
    assert_eq!(std::fs::read(root.join("layers").join(chain.hex()).join("diff/big")).unwrap().len(), 1 << 20);
}

#[test]
fn store_lock_is_reentrant_in_one_thread() {
    let t = tempfile::tempdir().unwrap();
    let store = Store::open_at(t.path(), StoreOptions::default()).unwrap();
    let _outer = store.lock().unwrap();
    let rec = record("a", &["x:latest"], vec![], "now");
    store.put_image(&rec, b"{}", b"{}").unwrap();
    assert_eq!(store.images().unwrap().len(), 1);
}

#[test]
fn find_images_like_podman() {
    let a = record(
        "a",
        &["localhost:5000/lab/busybox:latest", "docker.io/library/alpine:3.19"],
        vec![],
        "2026-01-01T00:00:00Z",
    );
    let mut b = record("b", &["docker.io/library/busybox:1.36"], vec![], "2026-01-02T00:00:00Z");
    b.repo_digests = vec![format!("docker.io/library/busybox@{}", b.digest)];
    let c = record("c", &["localhost/mine:v1"], vec![], "2026-01-03T00:00:00Z");
    let all = vec![a.clone(), b.clone(), c.clone()];
    let find = |s: &str| find_in(&all, s).unwrap().map(|i| i.id);
    assert_eq!(find("localhost:5000/lab/busybox:latest"), Some(a.id.clone()));
    assert_eq!(find("localhost:5000/lab/busybox"), Some(a.id.clone()));
    assert_eq!(find("lab/busybox"), Some(a.id.clone()));
    assert_eq!(find("busybox"), Some(a.id.clone()));
    assert_eq!(find("busybox:latest"), Some(a.id.clone()));
    assert_eq!(find("busybox:1.36"), Some(b.id.clone()));
    assert_eq!(find("alpine:3.19"), Some(a.id.clone()));
    assert_eq!(find("alpine"), None, "tag latest is implied");
    assert_eq!(find("mine:v1"), Some(c.id.clone()));
    assert_eq!(find("box"), None, "suffix matches only at a / boundary");
    assert_eq!(find("example.com/lab/busybox"), None);
    assert_eq!(find(&format!("busybox@{}", b.digest)), Some(b.id.clone()));
    assert_eq!(find(a.id.as_str()), Some(a.id.clone()));
    assert_eq!(find(a.id.hex()), Some(a.id.clone()));
    assert_eq!(find(&a.id.hex()[..12]), Some(a.id.clone()));
    assert_eq!(find("nothing"), None);
}
