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
const SCHEMA_VERSION: i64 = 1;

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
        let version = self.schema_version()?;
        if version >= SCHEMA_VERSION {
            return Ok(());
        }
        // Two commands may open a new database at once (`run` and a `ps` next to it): take the write
        // lock first, then look at the version again, so only one of them migrates.
        let tx = rusqlite::Transaction::new_unchecked(&self.conn, rusqlite::TransactionBehavior::Immediate)?;
        let version = self.schema_version()?;
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            tx.execute_batch(sql)?;
            tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The schema version of the database; an error when a newer Warren wrote it.
    fn schema_version(&self) -> Result<i64> {
        let version: i64 = self.conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            bail!(
                "the state database was written by a newer Warren (schema {version}, this one knows {SCHEMA_VERSION}): upgrade Warren"
            );
        }
        Ok(version)
    }

    /// Add a container; its name must be free.
    pub fn insert(&self, c: &ContainerRecord) -> Result<()> {
        let r = self.conn.execute(
            "INSERT INTO containers (id, name, image_id, image_name, config, state, pid, pid_start, monitor_pid,
                exit_code, created, started, finished, restart_count)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
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
                c.restart_count
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
        let mut st = self.conn.prepare(&format!("SELECT {COLUMNS} FROM containers ORDER BY created, id"))?;
        let rows = st.query_map([], row_to_record)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().context("reading containers")
    }

    fn find_exact(&self, name_or_id: &str) -> Result<Option<ContainerRecord>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM containers WHERE name=?1 OR id=?1"),
                params![name_or_id],
                row_to_record,
            )
            .optional()?)
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
        if let Some(c) = self.find_exact(name_or_id)? {
            return Ok(Some(c));
        }
        if name_or_id.is_empty() || !name_or_id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let mut st = self.conn.prepare(&format!("SELECT {COLUMNS} FROM containers WHERE id LIKE ?1 || '%'"))?;
        let found: Vec<ContainerRecord> =
            st.query_map(params![name_or_id.to_lowercase()], row_to_record)?.collect::<rusqlite::Result<_>>()?;
        match found.len() {
            0 => Ok(None),
            1 => Ok(found.into_iter().next()),
            n => bail!(user_error(format!(
                "more than one result for container ID {name_or_id:?} ({n} containers): give more of the ID"
            ))),
        }
    }

    /// Like [`lookup`](Self::lookup), with Podman's error when nothing matches.
    pub fn get(&self, name_or_id: &str) -> Result<ContainerRecord> {
        self.lookup(name_or_id)?
            .ok_or_else(|| user_error(format!("no container with name or ID {name_or_id:?} found: no such container")))
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

/// Held while acting on one container.
pub struct ContainerLock {
    _lock: nix::fcntl::Flock<std::fs::File>,
}

const COLUMNS: &str = "id, name, image_id, image_name, config, state, pid, pid_start, monitor_pid, exit_code, \
                       created, started, finished, restart_count";

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
    })
}

/// The start time of a process (clock ticks since boot), or None when it does not exist.
pub fn process_start_time(pid: i64) -> Option<i64> {
    if pid <= 0 {
        return None;
    }
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces and parentheses: fields start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split(' ').nth(19)?.parse().ok()
}

/// Whether the process recorded as (pid, start time) is still the one running.
pub fn process_alive(pid: i64, start: i64) -> bool {
    process_start_time(pid).is_some_and(|s| start == 0 || s == start)
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
        s.remove("abc123").unwrap();
        assert!(s.lookup("web").unwrap().is_none());
    }

    #[test]
    fn own_process_is_alive() {
        let me = std::process::id() as i64;
        let st = process_start_time(me).unwrap();
        assert!(process_alive(me, st));
        assert!(!process_alive(me, st + 1));
        assert!(!process_alive(0, 0));
    }
}
