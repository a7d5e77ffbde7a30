//! The state store: containers (and later pods and volumes) and their names, in SQLite (bundled: nothing
//! for a user to install) under the storage root. WAL mode and a busy timeout let many `warren`
//! commands share it; a schema version with migrations lets it grow; per-container lock files
//! serialise two commands acting on one container.

use anyhow::{bail, Context as _, Result};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

use crate::error::{ExitError, EXIT_ENGINE};

/// The newest schema this build knows.
const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

const MIGRATIONS: &[&str] = &[
    // 1: containers
    "CREATE TABLE containers (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        image_id TEXT NOT NULL,
        image_name TEXT NOT NULL,
        config TEXT NOT NULL,
        state TEXT NOT NULL,
        pid INTEGER NOT NULL DEFAULT 0,
        pid_start INTEGER NOT NULL DEFAULT 0,
        monitor_pid INTEGER NOT NULL DEFAULT 0,
        exit_code INTEGER,
        created TEXT NOT NULL,
        started TEXT,
        finished TEXT,
        restart_count INTEGER NOT NULL DEFAULT 0
    );",
    // 2: named and anonymous volumes (src/volume.rs)
    "CREATE TABLE volumes (
        name TEXT PRIMARY KEY,
        driver TEXT NOT NULL,
        created TEXT NOT NULL,
        labels TEXT NOT NULL,
        options TEXT NOT NULL,
        anonymous INTEGER NOT NULL DEFAULT 0,
        needs_copy_up INTEGER NOT NULL DEFAULT 1,
        needs_chown INTEGER NOT NULL DEFAULT 1
    );",
    // 3: pods (src/pod.rs) and the pod a container belongs to ('' for none)
    "CREATE TABLE pods (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        created TEXT NOT NULL,
        infra_id TEXT NOT NULL DEFAULT '',
        config TEXT NOT NULL
    );
    ALTER TABLE containers ADD COLUMN pod_id TEXT NOT NULL DEFAULT '';",
];

/// A container as the state store knows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ContainerRecord {
    pub id: String,
    pub name: String,
    pub image_id: String,
    /// The image as the user named it.
    pub image_name: String,
    /// The container's configuration (JSON), enough to start it again and to inspect it.
    pub config: serde_json::Value,
    /// created, running, paused, stopped, exited
    pub state: String,
    pub pid: i64,
    /// Start time of `pid` (field 22 of /proc/PID/stat), to tell a live container from a reused pid.
    pub pid_start: i64,
    pub monitor_pid: i64,
    pub exit_code: Option<i64>,
    pub created: String,
    pub started: Option<String>,
    pub finished: Option<String>,
    pub restart_count: i64,
    /// The pod the container belongs to ('' for none).
    #[serde(default)]
    pub pod_id: String,
}

/// A pod as the state store knows it: its members are the containers whose `pod_id` is its id.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PodRecord {
    pub id: String,
    pub name: String,
    pub created: String,
    /// The infra container ('' with `--infra=false`).
    pub infra_id: String,
    /// The pod's options (JSON; see src/pod.rs).
    pub config: serde_json::Value,
}

pub struct State {
    conn: Connection,
    root: PathBuf,
}

fn user_error(msg: impl Into<String>) -> anyhow::Error {
    ExitError::new(EXIT_ENGINE, msg).into()
}

impl State {
    /// Open (creating and migrating as needed) the state database under `storage_root`.
    pub fn open(storage_root: &Path) -> Result<State> {
        crate::storage::store::private_dir(storage_root);
        std::fs::create_dir_all(storage_root)
            .with_context(|| format!("creating the storage directory {}", storage_root.display()))?;
        let path = storage_root.join("state.db");
        let conn = Connection::open(&path).with_context(|| format!("opening the state database {}", path.display()))?;
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        // WAL lets readers proceed while one writer commits.
        let _: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        conn.execute_batch("PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;")?;
        // Every command opens and closes the database. By default the last connection to close
        // checkpoints the WAL into the database and deletes the WAL and shm files, so the next command
        // creates them again: two fsyncs at close, two at the first write (new WAL header and its
        // directory) and four file creations/deletions per command, which under I/O load from others
        // cost more than the rest of `run`. Leave the WAL in place; SQLite's auto-checkpoint still folds
        // it back now and then. Same durability: synchronous=NORMAL in WAL mode never fsyncs a commit.
        conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)?;
        // The first connection of each command rebuilds the WAL index by reading every frame of the WAL
        // (one pread and a checksum per page): checkpoint at 128 pages rather than SQLite's 1000, so
        // that costs at most 0.5 MB of reading per command, and the checkpoint's fsyncs come once
        // every dozen `run`s.
        conn.pragma_update(None, "wal_autocheckpoint", 128)?;
        let state = State { conn, root: storage_root.to_path_buf() };
        state.migrate().with_context(|| format!("migrating the state database {}", path.display()))?;
        Ok(state)
    }

    fn migrate(&self) -> Result<()> {
        let read = || -> Result<i64> { Ok(self.conn.query_row("PRAGMA user_version", [], |r| r.get(0))?) };
        let too_new = |version: i64| {
            anyhow::anyhow!(
                "the state database was written by a newer Warren (schema {version}, this one knows {SCHEMA_VERSION}): upgrade Warren"
            )
        };
        let version = read()?;
        if version > SCHEMA_VERSION {
            return Err(too_new(version));
        }
        if version == SCHEMA_VERSION {
            return Ok(());
        }
        // Several commands may open a new database at once: one migrates (the write lock is taken
        // first, and the version read again under it), the others wait and find it done.
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        let r = (|| -> Result<()> {
            let version = read()?;
            if version > SCHEMA_VERSION {
                return Err(too_new(version));
            }
            for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
                self.conn.execute_batch(sql)?;
                self.conn.execute_batch(&format!("PRAGMA user_version = {}", i + 1))?;
            }
            Ok(())
        })();
        match r {
            Ok(()) => Ok(self.conn.execute_batch("COMMIT")?),
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }

    /// The database connection, for modules that keep their own tables (volumes).
    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Add a container; its name must be free.
    pub fn insert(&self, c: &ContainerRecord) -> Result<()> {
        let r = self.conn.execute(
            "INSERT INTO containers (id, name, image_id, image_name, config, state, pid, pid_start, monitor_pid,
                exit_code, created, started, finished, restart_count, pod_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
            params![
                c.id,
                c.name,
                c.image_id,
                c.image_name,
                c.config.to_string(),
                c.state,
                c.pid,
                c.pid_start,
                c.monitor_pid,
                c.exit_code,
                c.created,
                c.started,
                c.finished,
                c.restart_count,
                c.pod_id
            ],
        );
        match r {
            Ok(_) => Ok(()),
            Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == rusqlite::ErrorCode::ConstraintViolation => {
                let other = self.find_exact(&c.name)?.map(|o| o.id).unwrap_or_default();
                bail!(user_error(format!(
                    "the container name {:?} is already in use by {other}. You have to remove that container to be able to reuse that name: that name is already in use",
                    c.name
                )))
            }
            Err(e) => Err(e).context("recording the container"),
        }
    }

    /// Replace a container's record.
    pub fn update(&self, c: &ContainerRecord) -> Result<()> {
        self.conn.execute(
            "UPDATE containers SET name=?2, config=?3, state=?4, pid=?5, pid_start=?6, monitor_pid=?7, exit_code=?8,
                started=?9, finished=?10, restart_count=?11 WHERE id=?1",
            params![
                c.id,
                c.name,
                c.config.to_string(),
                c.state,
                c.pid,
                c.pid_start,
                c.monitor_pid,
                c.exit_code,
                c.started,
                c.finished,
                c.restart_count
            ],
        )?;
        Ok(())
    }

    pub fn remove(&self, id: &str) -> Result<()> {
        self.conn.execute("DELETE FROM containers WHERE id=?1", params![id])?;
        Ok(())
    }

    /// Every container, oldest first.
    pub fn list(&self) -> Result<Vec<ContainerRecord>> {
        self.all_of(&CONTAINERS)
    }

    fn find_exact(&self, name_or_id: &str) -> Result<Option<ContainerRecord>> {
        self.exact_in(&CONTAINERS, name_or_id)
    }

    /// Whether a container has this name.
    pub fn name_in_use(&self, name: &str) -> Result<bool> {
        Ok(self
            .conn
            .query_row("SELECT 1 FROM containers WHERE name=?1", params![name], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// Look a container up by name, full ID or unique ID prefix (Podman's rules).
    pub fn lookup(&self, name_or_id: &str) -> Result<Option<ContainerRecord>> {
        self.lookup_in(&CONTAINERS, name_or_id)
    }

    /// Every row of a table, oldest first.
    fn all_of<T>(&self, t: &Table<T>) -> Result<Vec<T>> {
        let mut st = self.conn.prepare(&format!("SELECT {} FROM {} ORDER BY created, id", t.columns, t.name))?;
        let rows = st.query_map([], t.row)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().with_context(|| format!("reading {}", t.name))
    }

    /// The row with this exact name or ID.
    fn exact_in<T>(&self, t: &Table<T>, name_or_id: &str) -> Result<Option<T>> {
        let sql = format!("SELECT {} FROM {} WHERE name=?1 OR id=?1", t.columns, t.name);
        Ok(self.conn.query_row(&sql, params![name_or_id], t.row).optional()?)
    }

    /// Podman's lookup: an exact name or ID, else the one row whose ID starts with `name_or_id` (hex
    /// digits only); an error when several do.
    fn lookup_in<T>(&self, t: &Table<T>, name_or_id: &str) -> Result<Option<T>> {
        if let Some(found) = self.exact_in(t, name_or_id)? {
            return Ok(Some(found));
        }
        if name_or_id.is_empty() || !name_or_id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let sql = format!("SELECT {} FROM {} WHERE id LIKE ?1 || '%'", t.columns, t.name);
        let mut st = self.conn.prepare(&sql)?;
        let found: Vec<T> =
            st.query_map(params![name_or_id.to_lowercase()], t.row)?.collect::<rusqlite::Result<_>>()?;
        match found.len() {
            0 => Ok(None),
            1 => Ok(found.into_iter().next()),
            n => bail!(user_error(format!(
                "more than one result for {} ID {name_or_id:?} ({n} {}): give more of the ID",
                t.kind, t.name
            ))),
        }
    }

    /// Like [`lookup`](Self::lookup), with Podman's error when nothing matches.
    pub fn get(&self, name_or_id: &str) -> Result<ContainerRecord> {
        self.lookup(name_or_id)?
            .ok_or_else(|| user_error(format!("no container with name or ID {name_or_id:?} found: no such container")))
    }

    /// Add a pod; its name must be free (among pods).
    pub fn insert_pod(&self, p: &PodRecord) -> Result<()> {
        let r = self.conn.execute(
            "INSERT INTO pods (id, name, created, infra_id, config) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![p.id, p.name, p.created, p.infra_id, p.config.to_string()],
        );
        match r {
            Ok(_) => Ok(()),
            Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == rusqlite::ErrorCode::ConstraintViolation => {
                let other = self.find_pod_exact(&p.name)?.map(|o| o.id).unwrap_or_default();
                bail!(user_error(format!(
                    "adding pod to state: name {:?} is in use by pod {other}: pod already exists",
                    p.name
                )))
            }
            Err(e) => Err(e).context("recording the pod"),
        }
    }

    pub fn update_pod(&self, p: &PodRecord) -> Result<()> {
        self.conn.execute(
            "UPDATE pods SET name=?2, infra_id=?3, config=?4 WHERE id=?1",
            params![p.id, p.name, p.infra_id, p.config.to_string()],
        )?;
        Ok(())
    }

    pub fn remove_pod(&self, id: &str) -> Result<()> {
        self.conn.execute("DELETE FROM pods WHERE id=?1", params![id])?;
        Ok(())
    }

    /// Every pod, oldest first.
    pub fn list_pods(&self) -> Result<Vec<PodRecord>> {
        self.all_of(&PODS)
    }

    fn find_pod_exact(&self, name_or_id: &str) -> Result<Option<PodRecord>> {
        self.exact_in(&PODS, name_or_id)
    }

    /// Look a pod up by name, full ID or unique ID prefix.
    pub fn lookup_pod(&self, name_or_id: &str) -> Result<Option<PodRecord>> {
        self.lookup_in(&PODS, name_or_id)
    }

    /// Like [`lookup_pod`](Self::lookup_pod), with Podman's error when nothing matches.
    pub fn get_pod(&self, name_or_id: &str) -> Result<PodRecord> {
        self.lookup_pod(name_or_id)?
            .ok_or_else(|| user_error(format!("no pod with name or ID {name_or_id} found: no such pod")))
    }

    /// The containers of a pod (its infra container included), oldest first.
    pub fn pod_members(&self, pod_id: &str) -> Result<Vec<ContainerRecord>> {
        let mut st =
            self.conn.prepare(&format!("SELECT {COLUMNS} FROM containers WHERE pod_id=?1 ORDER BY created, id"))?;
        let rows = st.query_map(params![pod_id], row_to_record)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().context("reading the pod's containers")
    }

    /// Remember the exit code of a container removed as it exited (`--rm`) for a while, so `wait`
    /// still gets it (Podman keeps exit codes of removed containers
    /// for 5 minutes). One small file per container under `exits/`; old ones are pruned here.
    pub fn record_exit(&self, rec: &ContainerRecord) {
        let Some(code) = rec.exit_code else { return };
        let dir = self.root.join("exits");
        if std::fs::create_dir_all(&dir).is_err() {
            return;
        }
        let now = unix_now();
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let old = std::fs::read_to_string(e.path())
                .ok()
                .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                .and_then(|v| v["Time"].as_u64())
                .is_none_or(|t| now.saturating_sub(t) > EXIT_RECORD_SECS);
            if old {
                let _ = std::fs::remove_file(e.path());
            }
        }
        let v = serde_json::json!({"Name": rec.name, "ExitCode": code, "Time": now});
        let tmp = dir.join(format!(".{}.tmp", rec.id));
        if std::fs::write(&tmp, v.to_string()).is_ok() {
            let _ = std::fs::rename(&tmp, dir.join(&rec.id));
        }
    }

    /// The exit code of a container removed in the last minutes, by full ID, name or ID prefix.
    pub fn removed_exit(&self, name_or_id: &str) -> Option<i64> {
        let now = unix_now();
        let hex = !name_or_id.is_empty() && name_or_id.bytes().all(|b| b.is_ascii_hexdigit());
        let mut found: Vec<(u64, i64)> = vec![];
        for e in std::fs::read_dir(self.root.join("exits")).ok()?.flatten() {
            let id = e.file_name().to_string_lossy().into_owned();
            if id.starts_with('.') {
                continue;
            }
            let Some(v) =
                std::fs::read_to_string(e.path()).ok().and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            else {
                continue;
            };
            let time = v["Time"].as_u64().unwrap_or(0);
            let matches = id == name_or_id || v["Name"] == name_or_id || (hex && id.starts_with(name_or_id));
            if matches && now.saturating_sub(time) <= EXIT_RECORD_SECS {
                found.push((time, v["ExitCode"].as_i64()?));
            }
        }
        found.into_iter().max_by_key(|(t, _)| *t).map(|(_, c)| c)
    }

    /// An exclusive lock on one container, held until dropped (serialises start/stop/rm/...).
    pub fn lock_container(&self, id: &str) -> Result<ContainerLock> {
        let dir = self.root.join("locks");
        std::fs::create_dir_all(&dir)?;
        let p = dir.join(id);
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&p)
            .with_context(|| format!("opening the lock {}", p.display()))?;
        let lock = nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockExclusive)
            .map_err(|(_, e)| e)
            .with_context(|| format!("locking {}", p.display()))?;
        Ok(ContainerLock { _lock: lock })
    }
}

/// How long the exit code of a removed container is kept (Podman: 5 minutes).
const EXIT_RECORD_SECS: u64 = 300;

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Held while acting on one container.
pub struct ContainerLock {
    _lock: nix::fcntl::Flock<std::fs::File>,
}

const COLUMNS: &str = "id, name, image_id, image_name, config, state, pid, pid_start, monitor_pid, exit_code, \
                       created, started, finished, restart_count, pod_id";

/// A table of named records with 64-hex-digit IDs: how to select and read its rows.
struct Table<T> {
    /// What a row is, for messages ("container").
    kind: &'static str,
    name: &'static str,
    columns: &'static str,
    row: fn(&rusqlite::Row) -> rusqlite::Result<T>,
}

const CONTAINERS: Table<ContainerRecord> =
    Table { kind: "container", name: "containers", columns: COLUMNS, row: row_to_record };
const PODS: Table<PodRecord> = Table { kind: "pod", name: "pods", columns: POD_COLUMNS, row: row_to_pod };

fn row_to_record(r: &rusqlite::Row<'_>) -> rusqlite::Result<ContainerRecord> {
    let config: String = r.get(4)?;
    Ok(ContainerRecord {
        id: r.get(0)?,
        name: r.get(1)?,
        image_id: r.get(2)?,
        image_name: r.get(3)?,
        config: serde_json::from_str(&config).unwrap_or(serde_json::Value::Null),
        state: r.get(5)?,
        pid: r.get(6)?,
        pid_start: r.get(7)?,
        monitor_pid: r.get(8)?,
        exit_code: r.get(9)?,
        created: r.get(10)?,
        started: r.get(11)?,
        finished: r.get(12)?,
        restart_count: r.get(13)?,
        pod_id: r.get(14)?,
    })
}

const POD_COLUMNS: &str = "id, name, created, infra_id, config";

fn row_to_pod(r: &rusqlite::Row<'_>) -> rusqlite::Result<PodRecord> {
    let config: String = r.get(4)?;
    Ok(PodRecord {
        id: r.get(0)?,
        name: r.get(1)?,
        created: r.get(2)?,
        infra_id: r.get(3)?,
        config: serde_json::from_str(&config).unwrap_or(serde_json::Value::Null),
    })
}

/// A process's state letter (`R`, `S`, `Z`, ...) and start time (clock ticks since boot), from
/// /proc/PID/stat; None when there is no such process.
fn process_stat(pid: i64) -> Option<(char, i64)> {
    if pid <= 0 {
        return None;
    }
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&stat)
}

fn parse_stat(stat: &str) -> Option<(char, i64)> {
    // The command name may contain spaces and parentheses: fields start after the last ')'.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let mut fields = rest.split(' ');
    let st = fields.next()?.chars().next()?;
    Some((st, fields.nth(18)?.parse().ok()?))
}

/// The start time of a process (clock ticks since boot), or None when it does not exist.
pub fn process_start_time(pid: i64) -> Option<i64> {
    process_stat(pid).map(|(_, start)| start)
}

/// Whether the process recorded as (pid, start time) is still the one running. A process that has
/// exited but is not reaped yet (a zombie: its parent, often a slow init, has not waited for it) is
/// not alive, nor is another process that got the same pid (its start time differs).
pub fn process_alive(pid: i64, start: i64) -> bool {
    process_stat(pid).is_some_and(|(st, s)| !matches!(st, 'Z' | 'X' | 'x') && (start == 0 || s == start))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(id: &str, name: &str) -> ContainerRecord {
        ContainerRecord {
            id: id.into(),
            name: name.into(),
            image_id: "sha256:x".into(),
            image_name: "busybox".into(),
            config: serde_json::json!({"a": 1}),
            state: "created".into(),
            pid: 0,
            pid_start: 0,
            monitor_pid: 0,
            exit_code: None,
            created: "2026-01-01T00:00:00Z".into(),
            started: None,
            finished: None,
            restart_count: 0,
            pod_id: String::new(),
        }
    }

    #[test]
    fn names_are_unique_and_prefixes_resolve() {
        let d = tempfile::tempdir().unwrap();
        let s = State::open(d.path()).unwrap();
        s.insert(&rec("abc123", "web")).unwrap();
        s.insert(&rec("abd456", "db")).unwrap();
        let e = s.insert(&rec("fff", "web")).unwrap_err();
        assert!(format!("{e:#}").contains("already in use"), "{e:#}");
        assert_eq!(s.get("web").unwrap().id, "abc123");
        assert_eq!(s.get("abd").unwrap().name, "db");
        assert!(s.lookup("ab").is_err(), "ambiguous prefix");
        assert!(s.get("nope").is_err());
        // reopening migrates nothing and keeps data
        drop(s);
        let s = State::open(d.path()).unwrap();
        assert_eq!(s.list().unwrap().len(), 2);
        let mut c = s.get("web").unwrap();
        c.state = "exited".into();
        c.exit_code = Some(7);
        s.update(&c).unwrap();
        assert_eq!(s.get("web").unwrap().exit_code, Some(7));
        assert_eq!(s.removed_exit("web"), None);
        s.record_exit(&c);
        s.remove("abc123").unwrap();
        assert!(s.lookup("web").unwrap().is_none());
        assert_eq!(s.removed_exit("web"), Some(7));
        assert_eq!(s.removed_exit("abc123"), Some(7));
        assert_eq!(s.removed_exit("abc"), Some(7));
        assert_eq!(s.removed_exit("db"), None);
    }

    #[test]
    fn pods_and_membership() {
        let d = tempfile::tempdir().unwrap();
        let s = State::open(d.path()).unwrap();
        let pod = PodRecord {
            id: "aa11".into(),
            name: "web".into(),
            created: "2026-01-01T00:00:00Z".into(),
            infra_id: String::new(),
            config: serde_json::json!({"share": ["net"]}),
        };
        s.insert_pod(&pod).unwrap();
        let e = s.insert_pod(&PodRecord { id: "bb22".into(), ..pod.clone() }).unwrap_err();
        assert!(format!("{e:#}").contains("pod already exists"), "{e:#}");
        // Pod and container names are separate namespaces.
        let mut c = rec("c1", "web");
        c.pod_id = "aa11".into();
        s.insert(&c).unwrap();
        s.insert(&rec("c2", "other")).unwrap();
        assert_eq!(s.get_pod("web").unwrap().id, "aa11");
        assert_eq!(s.get_pod("aa").unwrap().name, "web");
        assert!(format!("{:#}", s.get_pod("nope").unwrap_err()).contains("no such pod"));
        let mut p = s.get_pod("web").unwrap();
        p.infra_id = "c1".into();
        s.update_pod(&p).unwrap();
        assert_eq!(s.get_pod("web").unwrap().infra_id, "c1");
        let members: Vec<String> = s.pod_members("aa11").unwrap().into_iter().map(|c| c.name).collect();
        assert_eq!(members, ["web"]);
        assert_eq!(s.get("c1").unwrap().pod_id, "aa11");
        assert_eq!(s.get("other").unwrap().pod_id, "");
        s.remove_pod("aa11").unwrap();
        assert!(s.list_pods().unwrap().is_empty());
    }

    #[test]
    fn a_version_2_database_gains_pods() {
        let d = tempfile::tempdir().unwrap();
        {
            let conn = Connection::open(d.path().join("state.db")).unwrap();
            for sql in &MIGRATIONS[..2] {
                conn.execute_batch(sql).unwrap();
            }
            conn.execute_batch("PRAGMA user_version = 2").unwrap();
            conn.execute(
                "INSERT INTO containers (id, name, image_id, image_name, config, state, created) \
                 VALUES ('c1', 'old', 'sha256:x', 'busybox', '{}', 'exited', '2026-01-01T00:00:00Z')",
                [],
            )
            .unwrap();
        }
        let s = State::open(d.path()).unwrap();
        assert_eq!(s.get("old").unwrap().pod_id, "");
        assert!(s.list_pods().unwrap().is_empty());
    }

    #[test]
    fn concurrent_opens_of_a_new_database_migrate_once() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().to_path_buf();
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let p = p.clone();
                std::thread::spawn(move || State::open(&p).map(|_| ()).map_err(|e| format!("{e:#}")))
            })
            .collect();
        for t in threads {
            t.join().unwrap().unwrap();
        }
        let s = State::open(&p).unwrap();
        let v: i64 = s.conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(v, SCHEMA_VERSION);
    }

    #[test]
    fn own_process_is_alive() {
        let me = std::process::id() as i64;
        let st = process_start_time(me).unwrap();
        assert!(process_alive(me, st));
        assert!(!process_alive(me, st + 1));
        assert!(!process_alive(0, 0));
    }

    #[test]
    fn a_zombie_is_not_alive() {
        let stat = "42 (a) b) S 1 42 42 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 12345 0 0";
        assert_eq!(parse_stat(stat), Some(('S', 12345)));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id() as i64;
        let start = process_start_time(pid);
        // Not reaped yet: a zombie once it has exited.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while process_stat(pid).is_some_and(|(st, _)| st != 'Z') && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(process_stat(pid).map(|(st, _)| st), Some('Z'));
        assert!(!process_alive(pid, start.unwrap_or(0)));
        assert!(!process_alive(pid, 0));
        child.wait().unwrap();
        assert!(!process_alive(pid, 0));
    }
}
