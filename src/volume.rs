//! Named and anonymous volumes: records in the state store (`volumes` table), data under
//! `STORAGE_ROOT/volumes/NAME/_data`, created inside the engine's user namespace so container root owns
//! them through the id mapping.
//!
//! A container names its volumes in its plan as mounts of kind `volume` (`-v NAME:/path`, `-v /path`,
//! `--mount type=volume`, the image's VOLUMEs); [`resolve_mounts`] turns them into bind mounts of the
//! volumes' data directories at create time, creating missing volumes, copying the image's content into
//! a new empty volume (unless `nocopy`) and chowning it (`U`). The container's record lists its volumes
//! in `config["Volumes"]`, which is what "in use" means.

use anyhow::{bail, Context as _, Result};
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::context::Context;
use crate::error::{ExitError, EXIT_ENGINE};
use crate::plan::MountPlan;
use crate::state::{ContainerRecord, State};

fn user_error(msg: impl Into<String>) -> anyhow::Error {
    ExitError::new(EXIT_ENGINE, msg).into()
}

/// A volume as the state store knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeRecord {
    pub name: String,
    pub driver: String,
    /// RFC 3339 with nanoseconds.
    pub created: String,
    pub labels: BTreeMap<String, String>,
    pub options: BTreeMap<String, String>,
    /// Made for one container (`-v /path`, image VOLUMEs): removed with it by `rm -v` and `--rm`.
    pub anonymous: bool,
    /// The image's content at the mount point is copied in at the first use (unless `nocopy`).
    pub needs_copy_up: bool,
    /// The first use gives the volume the owner of the mount point (or of the container's user).
    pub needs_chown: bool,
}

/// A volume a container uses, as kept in its record (`config["Volumes"]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VolumeUse {
    pub name: String,
    pub destination: String,
    pub anonymous: bool,
}

/// `STORAGE_ROOT/volumes`
pub fn volumes_dir(storage_root: &Path) -> PathBuf {
    storage_root.join("volumes")
}

/// `STORAGE_ROOT/volumes/NAME/_data`, the volume's mount point.
pub fn data_dir(storage_root: &Path, name: &str) -> PathBuf {
    volumes_dir(storage_root).join(name).join("_data")
}

/// Podman's rule for volume names: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
pub fn valid_name(n: &str) -> bool {
    n.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && n.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

fn check_name(n: &str) -> Result<()> {
    if !valid_name(n) {
        bail!(user_error(format!(
            "invalid volume name {n:?}: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*: invalid argument"
        )));
    }
    Ok(())
}

const COLUMNS: &str = "name, driver, created, labels, options, anonymous, needs_copy_up, needs_chown";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<VolumeRecord> {
    let labels: String = r.get(3)?;
    let options: String = r.get(4)?;
    Ok(VolumeRecord {
        name: r.get(0)?,
        driver: r.get(1)?,
        created: r.get(2)?,
        labels: serde_json::from_str(&labels).unwrap_or_default(),
        options: serde_json::from_str(&options).unwrap_or_default(),
        anonymous: r.get::<_, i64>(5)? != 0,
        needs_copy_up: r.get::<_, i64>(6)? != 0,
        needs_chown: r.get::<_, i64>(7)? != 0,
    })
}

pub fn lookup(state: &State, name: &str) -> Result<Option<VolumeRecord>> {
    Ok(state
        .conn()
        .query_row(&format!("SELECT {COLUMNS} FROM volumes WHERE name=?1"), params![name], row)
        .optional()?)
}

/// The volume, or Podman's "no such volume" error.
pub fn get(state: &State, name: &str) -> Result<VolumeRecord> {
    lookup(state, name)?.ok_or_else(|| user_error(format!("no volume with name {name:?} found: no such volume")))
}

/// Every volume, oldest first.
pub fn list(state: &State) -> Result<Vec<VolumeRecord>> {
    let mut st = state.conn().prepare(&format!("SELECT {COLUMNS} FROM volumes ORDER BY created, name"))?;
    let rows = st.query_map([], row)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().context("reading volumes")
}

fn set_flags(state: &State, name: &str, needs_copy_up: bool, needs_chown: bool) -> Result<()> {
    state.conn().execute(
        "UPDATE volumes SET needs_copy_up=?2, needs_chown=?3 WHERE name=?1",
        params![name, needs_copy_up as i64, needs_chown as i64],
    )?;
    Ok(())
}

/// What `volume create` and a first use ask for.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    pub driver: Option<String>,
    /// `--opt KEY=VALUE`
    pub options: Vec<String>,
    /// `--label KEY[=VALUE]`
    pub labels: Vec<String>,
    pub anonymous: bool,
    /// `volume create --ignore`: an existing volume is not an error.
    pub ignore_existing: bool,
}

/// The local driver's options Warren implements: `uid=`, `gid=` (owner of the new volume), `nocopy`,
/// also inside `o=` (`o=uid=1000,gid=1000`).
/// (options as given, uid, gid, nocopy)
type ParsedOptions = (BTreeMap<String, String>, Option<u32>, Option<u32>, bool);

fn parse_options(opts: &[String]) -> Result<ParsedOptions> {
    let mut map = BTreeMap::new();
    let (mut uid, mut gid, mut nocopy) = (None, None, false);
    let mut handle = |k: &str, v: &str, whole: &str| -> Result<()> {
        let num = |v: &str| -> Result<u32> {
            v.parse().map_err(|_| user_error(format!("invalid volume option {whole:?}: {v:?} is not a number")))
        };
        match k {
            "uid" => uid = Some(num(v)?),
            "gid" => gid = Some(num(v)?),
            "nocopy" => nocopy = true,
            "copy" => nocopy = false,
            "type" | "device" | "size" | "inodes" => bail!(user_error(format!(
                "volume option {whole:?} is not supported yet: Warren's local volumes are plain directories \
                 (supported: uid=, gid=, o=uid=..,gid=.., nocopy)"
            ))),
            _ => bail!(user_error(format!(
                "invalid volume option {whole:?}: unknown option {k:?} (supported: uid=, gid=, o=, nocopy)"
            ))),
        }
        Ok(())
    };
    for o in opts {
        let (k, v) = o.split_once('=').unwrap_or((o.as_str(), ""));
        if k == "o" {
            for sub in v.split(',').filter(|s| !s.is_empty()) {
                let (sk, sv) = sub.split_once('=').unwrap_or((sub, ""));
                handle(sk, sv, o)?;
            }
        } else {
            handle(k, v, o)?;
        }
        map.insert(k.to_string(), v.to_string());
    }
    Ok((map, uid, gid, nocopy))
}

fn parse_labels(labels: &[String]) -> BTreeMap<String, String> {
    labels
        .iter()
        .map(|l| match l.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (l.to_string(), String::new()),
        })
        .collect()
}

/// Create a volume (a random 64-hex name when `name` is None): the record first, then its directory.
/// Must run in the engine's user namespace so container root owns the directory.
pub fn create(ctx: &Context, state: &State, name: Option<&str>, opts: &CreateOptions) -> Result<VolumeRecord> {
    let name = match name {
        Some(n) => {
            check_name(n)?;
            n.to_string()
        }
        None => crate::plan::new_id(),
    };
    let driver = opts.driver.clone().filter(|d| !d.is_empty()).unwrap_or_else(|| "local".into());
    if driver != "local" {
        bail!(user_error(format!(
            "volume driver {driver:?} is not supported: Warren has only the \"local\" driver: volume plugin not found"
        )));
    }
    let (options, uid, gid, nocopy) = parse_options(&opts.options)?;
    if let Some(v) = lookup(state, &name)? {
        if opts.ignore_existing {
            return Ok(v);
        }
        bail!(user_error(format!("volume with name {name} already exists: volume already exists")));
    }
    let rec = VolumeRecord {
        name: name.clone(),
        driver,
        created: crate::format::now_rfc3339_nanos(),
        labels: parse_labels(&opts.labels),
        options,
        anonymous: opts.anonymous,
        needs_copy_up: !nocopy,
        // An explicit owner replaces the first use's chown.
        needs_chown: uid.is_none() && gid.is_none(),
    };
    let r = state.conn().execute(
        &format!("INSERT INTO volumes ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
        params![
            rec.name,
            rec.driver,
            rec.created,
            serde_json::to_string(&rec.labels)?,
            serde_json::to_string(&rec.options)?,
            rec.anonymous as i64,
            rec.needs_copy_up as i64,
            rec.needs_chown as i64
        ],
    );
    match r {
        Ok(_) => {}
        // Another command created it between the lookup and the insert.
        Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == rusqlite::ErrorCode::ConstraintViolation => {
            if opts.ignore_existing {
                return get(state, &name);
            }
            bail!(user_error(format!("volume with name {name} already exists: volume already exists")));
        }
        Err(e) => return Err(e).context("recording the volume"),
    }
    let made = (|| -> Result<()> {
        let dir = volumes_dir(&ctx.storage_root).join(&name);
        std::fs::create_dir_all(volumes_dir(&ctx.storage_root))
            .with_context(|| format!("creating {}", volumes_dir(&ctx.storage_root).display()))?;
        mkdir_mode(&dir, 0o700)?;
        let data = dir.join("_data");
        mkdir_mode(&data, 0o755)?;
        if uid.is_some() || gid.is_some() {
            std::os::unix::fs::lchown(&data, uid, gid)
                .with_context(|| format!("giving volume {name} to uid {uid:?} gid {gid:?}"))?;
        }
        Ok(())
    })();
    if let Err(e) = made {
        let _ = state.conn().execute("DELETE FROM volumes WHERE name=?1", params![name]);
        return Err(e.context(format!("creating volume {name}")));
    }
    crate::events::emit(&ctx.storage_root, crate::events::Event::volume("create", &name));
    Ok(rec)
}

fn mkdir_mode(p: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    match std::fs::DirBuilder::new().mode(mode).create(p) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e).with_context(|| format!("creating {}", p.display())),
    }
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).with_context(|| format!("chmod {}", p.display()))
}

/// The volumes a container uses (from its record).
pub fn uses_of(rec: &ContainerRecord) -> Vec<VolumeUse> {
    serde_json::from_value(rec.config["Volumes"].clone()).unwrap_or_default()
}

/// The containers that use volume `name`.
pub fn users(state: &State, name: &str) -> Result<Vec<ContainerRecord>> {
    Ok(state.list()?.into_iter().filter(|c| uses_of(c).iter().any(|u| u.name == name)).collect())
}

/// Remove a volume. In use by a container: refused, or with `force` the containers are removed first
/// (Podman's `volume rm -f`).
pub fn remove(ctx: &Context, state: &State, name: &str, force: bool) -> Result<()> {
    let vol = get(state, name)?;
    let users = users(state, &vol.name)?;
    if !users.is_empty() {
        if !force {
            let ids: Vec<&str> = users.iter().map(|c| c.id.as_str()).collect();
            bail!(user_error(format!(
                "volume {} is being used by the following container(s): {}: volume is being used \
                 (remove the containers first, or use --force)",
                vol.name,
                ids.join(", ")
            )));
        }
        for c in &users {
            crate::container::remove(ctx, state, c, true, None)
                .with_context(|| format!("removing container {} that uses volume {}", c.name, vol.name))?;
        }
    }
    remove_unchecked(ctx, state, &vol.name)
}

fn remove_unchecked(ctx: &Context, state: &State, name: &str) -> Result<()> {
    let _lock = state.lock_container(&lock_name(name))?;
    let dir = volumes_dir(&ctx.storage_root).join(name);
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(e).with_context(|| {
                format!("removing the data of volume {name} ({}): see docs/rootless.md, \"Volumes\"", dir.display())
            })
        }
    }
    state.conn().execute("DELETE FROM volumes WHERE name=?1", params![name])?;
    let _ = std::fs::remove_file(state_lock_path(ctx, name));
    crate::events::emit(&ctx.storage_root, crate::events::Event::volume("remove", name));
    Ok(())
}

fn lock_name(name: &str) -> String {
    format!("volume-{name}")
}

fn state_lock_path(ctx: &Context, name: &str) -> PathBuf {
    ctx.storage_root.join("locks").join(lock_name(name))
}

/// Remove the anonymous volumes of a container that no other container uses (`rm -v`, `--rm`). Errors
/// are logged, never fatal: the container is gone already.
pub fn remove_anonymous(ctx: &Context, state: &State, rec: &ContainerRecord) {
    for u in uses_of(rec).into_iter().filter(|u| u.anonymous) {
        let others = users(state, &u.name).map(|v| v.into_iter().filter(|c| c.id != rec.id).count()).unwrap_or(0);
        if others > 0 {
            continue;
        }
        match lookup(state, &u.name) {
            Ok(Some(_)) => {
                if let Err(e) = remove_unchecked(ctx, state, &u.name) {
                    tracing::warn!("removing anonymous volume {} of container {}: {e:#}", u.name, rec.name);
                }
            }
            Ok(None) => {}
            Err(e) => tracing::warn!("{e:#}"),
        }
    }
}

/// Podman's `volume inspect` JSON for one volume.
pub fn inspect_json(ctx: &Context, state: &State, v: &VolumeRecord) -> serde_json::Value {
    let mount_count =
        users(state, &v.name).map(|u| u.iter().filter(|c| crate::container::is_running(c)).count()).unwrap_or(0);
    let mut j = serde_json::json!({
        "Name": v.name,
        "Driver": v.driver,
        "Mountpoint": data_dir(&ctx.storage_root, &v.name).display().to_string(),
        "CreatedAt": v.created,
        "Labels": v.labels,
        "Scope": "local",
        "Options": v.options,
        "MountCount": mount_count,
        "NeedsCopyUp": v.needs_copy_up,
        "NeedsChown": v.needs_chown,
    });
    if v.anonymous {
        j["Anonymous"] = true.into();
    }
    for k in ["uid", "gid"] {
        if let Some(n) = v.options.get(k).and_then(|x| x.parse::<u32>().ok()) {
            j[k.to_uppercase()] = n.into();
        }
    }
    j
}

/// Turn the container's volume mounts (kind `volume`: `source` is the name, empty for an anonymous one)
/// into bind mounts of the volumes' data, and add anonymous volumes for the image's VOLUMEs that nothing
/// else is mounted on. Creates missing volumes; a new volume gets the image's content at its mount point
/// (unless `nocopy`) and that directory's owner and mode, or the container user's when the image has
/// nothing there; `U` chowns the volume to the container's user. `uid`/`gid` are the container user's
/// ids in the engine namespace.
pub fn resolve_mounts(
    ctx: &Context,
    state: &State,
    mounts: &mut [MountPlan],
    rootfs: &Path,
    uid: u32,
    gid: u32,
) -> Result<Vec<VolumeUse>> {
    let mut uses = vec![];
    // `U` on a bind mount chowns the host directory too (like Podman): through the mapping rootless.
    for m in mounts.iter_mut().filter(|m| m.kind == "bind" && m.options.iter().any(|o| o == "U")) {
        m.options.retain(|o| o != "U");
        chown_tree(Path::new(&m.source), uid, gid).with_context(|| format!("chowning {} (U)", m.source))?;
    }
    for m in mounts.iter_mut().filter(|m| m.kind == "volume") {
        let anonymous = m.source.is_empty();
        let vol = if anonymous {
            create(ctx, state, None, &CreateOptions { anonymous: true, ..Default::default() })?
        } else {
            create(ctx, state, Some(&m.source), &CreateOptions { ignore_existing: true, ..Default::default() })?
        };
        let nocopy = m.options.iter().any(|o| o == "nocopy");
        let chown = m.options.iter().any(|o| o == "U");
        m.options.retain(|o| !matches!(o.as_str(), "nocopy" | "copy" | "U"));
        if !m.options.iter().any(|o| o == "rbind" || o == "bind") {
            m.options.insert(0, "rbind".into());
        }
        let data = data_dir(&ctx.storage_root, &vol.name);
        first_use(state, &vol, &data, rootfs, &m.destination, nocopy, (uid, gid))
            .with_context(|| format!("preparing volume {} for {}", vol.name, m.destination))?;
        if chown {
            chown_tree(&data, uid, gid).with_context(|| format!("chowning volume {} (U)", vol.name))?;
        }
        m.kind = "bind".into();
        m.source = data.display().to_string();
        uses.push(VolumeUse { name: vol.name.clone(), destination: m.destination.clone(), anonymous });
    }
    Ok(uses)
}

/// The engine-namespace ids of the container user: the same ids, unless the container has a nested
/// user namespace (`--userns=keep-id`, `nomap`), whose maps go from engine ids to container ids.
pub fn engine_ids(uid_maps: &[userns::IdMapEntry], gid_maps: &[userns::IdMapEntry], uid: u32, gid: u32) -> (u32, u32) {
    let through = |maps: &[userns::IdMapEntry], id: u32| {
        if maps.is_empty() {
            return id;
        }
        maps.iter()
            .find(|e| id >= e.container && (id as u64) < e.container as u64 + e.size as u64)
            .map(|e| e.host + (id - e.container))
            .unwrap_or(id)
    };
    (through(uid_maps, uid), through(gid_maps, gid))
}

/// Anonymous volume mounts for the image's VOLUMEs that no user mount covers.
pub fn image_volume_mounts(image_volumes: &[String], mounts: &[MountPlan]) -> Vec<MountPlan> {
    let norm = |p: &str| {
        let t = p.trim_end_matches('/');
        if t.is_empty() {
            "/".to_string()
        } else {
            t.to_string()
        }
    };
    let mut out: Vec<MountPlan> = vec![];
    for v in image_volumes {
        let d = norm(v);
        if !d.starts_with('/') || mounts.iter().chain(out.iter()).any(|m| norm(&m.destination) == d) {
            continue;
        }
        out.push(MountPlan { destination: d, kind: "volume".into(), source: String::new(), options: vec![] });
    }
    out
}

fn first_use(
    state: &State,
    vol: &VolumeRecord,
    data: &Path,
    rootfs: &Path,
    dest: &str,
    nocopy: bool,
    (uid, gid): (u32, u32),
) -> Result<()> {
    if !vol.needs_copy_up && !vol.needs_chown {
        return Ok(());
    }
    let _lock = state.lock_container(&lock_name(&vol.name))?;
    // Another container may have used it meanwhile.
    let vol = get(state, &vol.name)?;
    if !vol.needs_copy_up && !vol.needs_chown {
        return Ok(());
    }
    let src = resolve_in_root(rootfs, dest);
    let src_dir = src.as_ref().filter(|p| std::fs::metadata(p).is_ok_and(|m| m.is_dir()));
    let empty = std::fs::read_dir(data).map(|mut d| d.next().is_none()).unwrap_or(false);
    if vol.needs_copy_up && !nocopy && empty {
        if let Some(s) = src_dir {
            tracing::debug!("volume {}: copying the image's {dest} into it", vol.name);
            crate::storage::extract::apply_layer_dir(data, s)
                .with_context(|| format!("copying the image's {dest} into volume {}", vol.name))?;
        }
    }
    if vol.needs_chown {
        match src_dir {
            Some(s) => {
                use std::os::unix::fs::{MetadataExt, PermissionsExt};
                let m = std::fs::metadata(s)?;
                std::os::unix::fs::lchown(data, Some(m.uid()), Some(m.gid()))
                    .with_context(|| format!("chown {}", data.display()))?;
                std::fs::set_permissions(data, std::fs::Permissions::from_mode(m.mode() & 0o7777))?;
            }
            None => std::os::unix::fs::lchown(data, Some(uid), Some(gid))
                .with_context(|| format!("chown {} to {uid}:{gid}", data.display()))?,
        }
    }
    // nocopy leaves the volume ready for a later copy (Podman keeps NeedsCopyUp then).
    set_flags(state, &vol.name, vol.needs_copy_up && nocopy, false)
}

/// Resolve `path` inside `root` the way the container would see it: symlinks (absolute or relative) are
/// followed within `root`, never out of it. None when a component is missing.
pub fn resolve_in_root(root: &Path, path: &str) -> Option<PathBuf> {
    let mut parts: Vec<String> = path.split('/').filter(|c| !c.is_empty()).map(str::to_string).collect();
    parts.reverse();
    let mut cur: Vec<String> = vec![];
    let mut links = 0;
    while let Some(c) = parts.pop() {
        match c.as_str() {
            "." => continue,
            ".." => {
                cur.pop();
                continue;
            }
            _ => {}
        }
        let mut p = root.to_path_buf();
        p.extend(&cur);
        p.push(&c);
        let meta = std::fs::symlink_metadata(&p).ok()?;
        if meta.file_type().is_symlink() {
            links += 1;
            if links > 40 {
                return None;
            }
            let target = std::fs::read_link(&p).ok()?;
            let t = target.to_string_lossy().to_string();
            if t.starts_with('/') {
                cur.clear();
            }
            for tc in t.split('/').filter(|x| !x.is_empty()).rev() {
                parts.push(tc.to_string());
            }
            continue;
        }
        cur.push(c);
    }
    let mut p = root.to_path_buf();
    p.extend(&cur);
    Some(p)
}

/// `chown -R uid:gid` without following symlinks.
fn chown_tree(dir: &Path, uid: u32, gid: u32) -> Result<()> {
    std::os::unix::fs::lchown(dir, Some(uid), Some(gid)).with_context(|| format!("chown {}", dir.display()))?;
    let meta = std::fs::symlink_metadata(dir)?;
    if meta.is_dir() {
        for e in std::fs::read_dir(dir)? {
            let e = e?;
            let p = e.path();
            if e.file_type()?.is_dir() {
                chown_tree(&p, uid, gid)?;
            } else {
                std::os::unix::fs::lchown(&p, Some(uid), Some(gid))
                    .with_context(|| format!("chown {}", p.display()))?;
            }
        }
    }
    Ok(())
}

/// `volume prune`: remove every volume no container uses (and that matches the filters); returns the
/// removed names.
pub fn prune(ctx: &Context, state: &State, keep: &dyn Fn(&VolumeRecord) -> bool) -> Result<Vec<String>> {
    let mut removed = vec![];
    for v in list(state)? {
        if keep(&v) || !users(state, &v.name)?.is_empty() {
            continue;
        }
        remove_unchecked(ctx, state, &v.name)?;
        removed.push(v.name);
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_options() {
        assert!(valid_name("data"));
        assert!(valid_name("my.vol-1_x"));
        assert!(!valid_name("-x"));
        assert!(!valid_name("a/b"));
        assert!(!valid_name(""));
        let (m, uid, gid, nocopy) = parse_options(&["o=uid=1000,gid=100".into(), "nocopy".into()]).unwrap();
        assert_eq!((uid, gid, nocopy), (Some(1000), Some(100), true));
        assert_eq!(m.get("o").map(String::as_str), Some("uid=1000,gid=100"));
        assert!(parse_options(&["type=tmpfs".into()]).is_err());
        assert!(parse_options(&["bogus=1".into()]).is_err());
        assert!(parse_options(&["uid=x".into()]).is_err());
    }

    #[test]
    fn symlinks_resolve_inside_the_root() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        std::fs::create_dir_all(r.join("usr/share")).unwrap();
        std::os::unix::fs::symlink("/usr/share", r.join("share")).unwrap();
        std::os::unix::fs::symlink("../../../../etc", r.join("usr/escape")).unwrap();
        assert_eq!(resolve_in_root(r, "/share"), Some(r.join("usr/share")));
        assert_eq!(resolve_in_root(r, "/usr/./share/"), Some(r.join("usr/share")));
        // `..` and absolute links stop at the root: /usr/escape is /etc inside it (missing here).
        assert_eq!(resolve_in_root(r, "/usr/escape"), None);
        std::fs::create_dir(r.join("etc")).unwrap();
        assert_eq!(resolve_in_root(r, "/usr/escape"), Some(r.join("etc")));
        assert_eq!(resolve_in_root(r, "/missing/x"), None);
    }

    #[test]
    fn image_volumes_skip_covered_paths() {
        let user = MountPlan { destination: "/data".into(), kind: "bind".into(), source: "/x".into(), options: vec![] };
        let got = image_volume_mounts(&["/data/".into(), "/cache".into(), "/cache".into(), "rel".into()], &[user]);
        assert_eq!(got.len(), 1);
        assert_eq!(
            (got[0].destination.as_str(), got[0].kind.as_str(), got[0].source.as_str()),
            ("/cache", "volume", "")
        );
    }
}
