//! The event log: what happened to containers, images and volumes, as JSON lines appended to
//! `STORAGE_ROOT/events/events.log` (Podman's `file` events logger). Every writer opens the file with
//! O_APPEND and writes one line with one write(2), so lines from many processes never interleave.
//! When the log passes [`MAX_SIZE`] it is renamed to `events.log.1` (one previous file is kept).
//!
//! [`emit`] never fails the command that emits: a problem is logged at debug level.

use anyhow::{Context as _, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{BufRead, Read, Seek, Write};
use std::path::{Path, PathBuf};

/// Rotate the log when it grows past this size.
pub const MAX_SIZE: u64 = 1024 * 1024;

/// One event, in the shape `podman events --format json` prints.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    #[serde(rename = "ContainerExitCode", default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i64>,
    #[serde(rename = "ID", default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    #[serde(rename = "Image", default, skip_serializing_if = "String::is_empty")]
    pub image: String,
    #[serde(rename = "Name", default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(rename = "Status")]
    pub status: String,
    /// Unix seconds.
    #[serde(rename = "time", default)]
    pub time: i64,
    /// Unix nanoseconds.
    #[serde(rename = "timeNano", default)]
    pub time_nano: i64,
    /// container, image, volume, ...
    #[serde(rename = "Type")]
    pub typ: String,
    #[serde(rename = "Attributes", default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
}

fn now_nanos() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as i64).unwrap_or(0)
}

impl Event {
    fn new(typ: &str, status: &str) -> Event {
        let n = now_nanos();
        Event {
            typ: typ.into(),
            status: status.into(),
            time: n.div_euclid(1_000_000_000),
            time_nano: n,
            ..Default::default()
        }
    }

    /// A container event: ID, image, name, and the container's labels as attributes.
    pub fn container(status: &str, rec: &crate::state::ContainerRecord) -> Event {
        let mut e = Event::new("container", status);
        e.id = rec.id.clone();
        e.image = rec.image_name.clone();
        e.name = rec.name.clone();
        if let Some(ls) = rec.config["Labels"].as_array() {
            for l in ls.iter().filter_map(|l| l.as_str()) {
                let (k, v) = l.split_once('=').unwrap_or((l, ""));
                e.attributes.insert(k.to_string(), v.to_string());
            }
        }
        e
    }

    /// A pod event: the pod's ID and name (Podman's `pod create`, `start`, `stop`, `kill`, `remove`).
    pub fn pod(status: &str, pod: &crate::state::PodRecord) -> Event {
        let mut e = Event::new("pod", status);
        e.id = pod.id.clone();
        e.name = pod.name.clone();
        e
    }

    pub fn image(status: &str, id: &str, name: &str) -> Event {
        let mut e = Event::new("image", status);
        e.id = id.trim_start_matches("sha256:").to_string();
        e.name = name.to_string();
        e
    }

    pub fn volume(status: &str, name: &str) -> Event {
        let mut e = Event::new("volume", status);
        e.name = name.to_string();
        e
    }

    pub fn with_exit_code(mut self, code: i64) -> Event {
        self.exit_code = Some(code);
        self
    }

    pub fn with_attribute(mut self, k: &str, v: &str) -> Event {
        self.attributes.insert(k.into(), v.into());
        self
    }

    /// Go's `time.Time.String()` of the event time, in UTC: `2026-12-03 15:47:56.123456789 +0000 UTC`
    /// (trailing zeros of the fraction dropped, as Go does).
    pub fn time_string(&self) -> String {
        let secs = self.time_nano.div_euclid(1_000_000_000);
        let nanos = self.time_nano.rem_euclid(1_000_000_000);
        let base = crate::format::format_rfc3339(secs);
        let mut frac = format!("{nanos:09}");
        while frac.ends_with('0') {
            frac.pop();
        }
        let frac = if frac.is_empty() { String::new() } else { format!(".{frac}") };
        format!("{} {}{frac} +0000 UTC", &base[..10], &base[11..19])
    }

    /// Podman's default text line.
    pub fn human(&self) -> String {
        let t = self.time_string();
        match self.typ.as_str() {
            "container" | "pod" => {
                let mut s =
                    format!("{t} {} {} {} (image={}, name={}", self.typ, self.status, self.id, self.image, self.name);
                for (k, v) in &self.attributes {
                    s.push_str(&format!(", {k}={v}"));
                }
                s.push(')');
                s
            }
            "image" => format!("{t} {} {} {} {}", self.typ, self.status, self.id, self.name),
            _ => format!("{t} {} {} {}", self.typ, self.status, self.name),
        }
    }

    /// The value Go templates see (Podman renders its libpod event: `Time` is a Go time).
    pub fn template_value(&self) -> serde_json::Value {
        serde_json::json!({
            "ID": self.id,
            "Image": self.image,
            "Name": self.name,
            "Status": self.status,
            "Type": self.typ,
            "Time": self.time_string(),
            "TimeNano": self.time_nano,
            "Attributes": self.attributes,
            "ContainerExitCode": self.exit_code.unwrap_or(0),
        })
    }
}

/// `STORAGE_ROOT/events/events.log`
pub fn log_path(storage_root: &Path) -> PathBuf {
    storage_root.join("events").join("events.log")
}

fn rotated(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(".1");
    PathBuf::from(s)
}

/// Append an event to the log. Never fails: errors are logged at debug level.
pub fn emit(storage_root: &Path, e: Event) {
    if let Err(err) = write(storage_root, &e) {
        tracing::debug!("recording the event {} {} {}: {err:#}", e.typ, e.status, e.name);
    }
}

fn write(storage_root: &Path, e: &Event) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = log_path(storage_root);
    let dir = path.parent().expect("events dir");
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut line = serde_json::to_vec(e)?;
    line.push(b'\n');
    let open = || std::fs::OpenOptions::new().create(true).append(true).mode(0o600).open(&path);
    let mut f = open().with_context(|| format!("opening {}", path.display()))?;
    if f.metadata().map(|m| m.len()).unwrap_or(0) + line.len() as u64 > MAX_SIZE {
        // One rotator at a time; the others append to whichever file is current.
        let lock_path = dir.join("events.lock");
        let lock = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&lock_path)?;
        let _lock = nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusive).map_err(|(_, e)| e)?;
        if std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0) + line.len() as u64 > MAX_SIZE {
            std::fs::rename(&path, rotated(&path)).with_context(|| format!("rotating {}", path.display()))?;
        }
        f = open().with_context(|| format!("opening {}", path.display()))?;
    }
    // One write of one line: O_APPEND makes it atomic with respect to other writers.
    f.write_all(&line).with_context(|| format!("writing {}", path.display()))
}

/// Which events to show.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    /// key → accepted values (values of one key are ORed, keys are ANDed).
    pub by: BTreeMap<String, Vec<String>>,
    /// Unix nanoseconds.
    pub since: Option<i64>,
    pub until: Option<i64>,
}

impl Filter {
    /// Parse `--filter KEY=VALUE` options (Podman's keys: container, event (status), image, label, type,
    /// volume).
    pub fn parse(filters: &[String]) -> Result<Filter> {
        let mut f = Filter::default();
        for s in filters {
            let (k, v) = s.split_once('=').ok_or_else(|| {
                crate::error::ExitError::new(
                    crate::error::EXIT_ENGINE,
                    format!("invalid filter {s:?}: expected KEY=VALUE (container, event, image, label, type, volume)"),
                )
            })?;
            let k = match k {
                "status" => "event",
                "label" | "container" | "event" | "image" | "type" | "volume" | "pod" => k,
                _ => {
                    return Err(crate::error::ExitError::new(
                        crate::error::EXIT_ENGINE,
                        format!("{k} is an invalid filter: expected container, event, image, label, type, volume"),
                    )
                    .into())
                }
            };
            f.by.entry(k.to_string()).or_default().push(v.to_string());
        }
        Ok(f)
    }

    pub fn matches(&self, e: &Event) -> bool {
        if self.since.is_some_and(|s| e.time_nano < s) || self.until.is_some_and(|u| e.time_nano > u) {
            return false;
        }
        self.by.iter().all(|(k, vals)| {
            vals.iter().any(|v| match k.as_str() {
                "type" => e.typ == *v,
                "event" => e.status == *v,
                "container" => {
                    e.typ == "container" && (e.name == *v || (!v.is_empty() && e.id.starts_with(v.as_str())))
                }
                "image" => {
                    (e.typ == "container" && (e.image == *v || e.image.starts_with(&format!("{v}:"))))
                        || (e.typ == "image" && (e.name == *v || (!v.is_empty() && e.id.starts_with(v.as_str()))))
                }
                "volume" => e.typ == "volume" && e.name == *v,
                "label" => {
                    let (lk, lv) = v.split_once('=').unwrap_or((v.as_str(), ""));
                    e.attributes.get(lk).is_some_and(|x| lv.is_empty() || x == lv)
                }
                _ => false,
            })
        })
    }
}

fn parse_line(l: &str) -> Option<Event> {
    let l = l.trim();
    if l.is_empty() {
        return None;
    }
    match serde_json::from_str(l) {
        Ok(e) => Some(e),
        Err(err) => {
            tracing::debug!("skipping a malformed event line: {err}");
            None
        }
    }
}

/// Every recorded event (the previous file first), then, with `stream`, each new one as it is written,
/// until `until` passes or `sink` returns false.
pub fn read(
    storage_root: &Path,
    from_start: bool,
    stream: bool,
    until: Option<i64>,
    sink: &mut dyn FnMut(&Event) -> Result<bool>,
) -> Result<()> {
    let path = log_path(storage_root);
    if from_start {
        for p in [rotated(&path), path.clone()] {
            match std::fs::File::open(&p) {
                Ok(f) => {
                    if !stream || p != path {
                        for l in std::io::BufReader::new(f).lines() {
                            if let Some(e) = parse_line(&l?) {
                                if !sink(&e)? {
                                    return Ok(());
                                }
                            }
                        }
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e).with_context(|| format!("reading {}", p.display())),
            }
        }
        if !stream {
            return Ok(());
        }
    }
    follow(&path, from_start, until, sink)
}

/// `tail -f` on the event log that survives rotation: read complete lines as they appear; when the file
/// is replaced, finish the old one and continue with the new one from its start.
fn follow(
    path: &Path,
    from_start: bool,
    until: Option<i64>,
    sink: &mut dyn FnMut(&Event) -> Result<bool>,
) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let mut file: Option<(std::fs::File, u64)> = None;
    let mut pending = String::new();
    let mut first = true;
    loop {
        if file.is_none() {
            if let Ok(mut f) = std::fs::File::open(path) {
                let ino = f.metadata()?.ino();
                if first && !from_start {
                    f.seek(std::io::SeekFrom::End(0))?;
                }
                file = Some((f, ino));
                pending.clear();
            }
            first = false;
        }
        let mut got = false;
        if let Some((f, ino)) = &mut file {
            let mut buf = String::new();
            f.read_to_string(&mut buf)?;
            if !buf.is_empty() {
                got = true;
                pending.push_str(&buf);
                while let Some(pos) = pending.find('\n') {
                    let line: String = pending.drain(..=pos).collect();
                    if let Some(e) = parse_line(&line) {
                        if !sink(&e)? {
                            return Ok(());
                        }
                    }
                }
            }
            let replaced = std::fs::metadata(path).map(|m| m.ino() != *ino).unwrap_or(false);
            if !got && replaced {
                file = None;
                continue;
            }
        }
        if until.is_some_and(|u| now_nanos() > u) {
            return Ok(());
        }
        if !got {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_and_text_like_podman() {
        let mut e = Event::volume("create", "data");
        e.time_nano = 1_796_312_876_123_456_000;
        assert_eq!(e.time_string(), "2026-12-03 15:47:56.123456 +0000 UTC");
        assert_eq!(e.human(), "2026-12-03 15:47:56.123456 +0000 UTC volume create data");
        e.time_nano = 1_796_312_876_000_000_000;
        assert_eq!(e.time_string(), "2026-12-03 15:47:56 +0000 UTC");
        let mut c = Event::new("container", "start");
        c.time_nano = 1_796_312_876_000_000_001;
        c.id = "abc".into();
        c.image = "busybox".into();
        c.name = "x".into();
        c.attributes.insert("k".into(), "v".into());
        assert_eq!(
            c.human(),
            "2026-12-03 15:47:56.000000001 +0000 UTC container start abc (image=busybox, name=x, k=v)"
        );
    }

    #[test]
    fn filters() {
        let mut c = Event::new("container", "start");
        c.id = "abcdef".into();
        c.name = "web".into();
        c.image = "localhost:5000/warren/busybox:latest".into();
        let f = |v: &[&str]| Filter::parse(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
        assert!(f(&["container=web"]).matches(&c));
        assert!(f(&["container=abc", "event=start"]).matches(&c));
        assert!(f(&["event=stop", "event=start"]).matches(&c));
        assert!(!f(&["event=stop"]).matches(&c));
        assert!(!f(&["type=image"]).matches(&c));
        assert!(f(&["image=localhost:5000/warren/busybox"]).matches(&c));
        assert!(Filter::parse(&["bogus=1".into()]).is_err());
        let s = Filter { since: Some(c.time_nano + 1), ..Default::default() };
        assert!(!s.matches(&c));
    }

    #[test]
    fn append_rotate_and_read_back() {
        let d = tempfile::tempdir().unwrap();
        for i in 0..3 {
            emit(d.path(), Event::volume("create", &format!("v{i}")));
        }
        let mut names = vec![];
        read(d.path(), true, false, None, &mut |e| {
            names.push(e.name.clone());
            Ok(true)
        })
        .unwrap();
        assert_eq!(names, ["v0", "v1", "v2"]);
        // Past the size limit the log is rotated once and both files are read, oldest first.
        let big = "x".repeat(600 * 1024);
        emit(d.path(), Event::volume("create", &big));
        emit(d.path(), Event::volume("create", &big));
        emit(d.path(), Event::volume("create", "last"));
        assert!(rotated(&log_path(d.path())).exists());
        let mut n = 0;
        let mut last = String::new();
        read(d.path(), true, false, None, &mut |e| {
            n += 1;
            last = e.name.clone();
            Ok(true)
        })
        .unwrap();
        assert!(n >= 2 && last == "last", "{n} {last}");
    }
}
