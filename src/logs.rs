//! Container logs: the log drivers (`--log-driver k8s-file|json-file|none|passthrough`, `--log-opt
//! max-size=,path=,tag=`), the writer the monitor uses, and the reader behind `warren logs`.
//!
//! - k8s-file (the default, Podman's): `TIME STREAM F|P CONTENT` per line (F: a full line, P: part of one).
//! - json-file: Docker's JSON lines, `{"log":"hi\n","stream":"stdout","time":"..."}` (Podman treats
//!   json-file as an alias of k8s-file; Warren writes Docker's format, and `logs` reads both).
//! - none: nothing is kept; passthrough: the container's stdio is the caller's (foreground runs only).
//! - max-size: when a write would pass it, the log is renamed to `PATH.1` (one previous file kept) and
//!   a new one started; `logs` reads `PATH.1` then `PATH`.

use anyhow::{bail, Context as _, Result};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use crate::cli::container::RunArgs;
use crate::context::Context;
use crate::error::{ExitError, EXIT_ENGINE};
use crate::state::{ContainerRecord, State};

#[derive(Debug, Default, Clone)]
pub struct LogOptions {
    pub follow: bool,
    pub tail: Option<usize>,
    /// Unix seconds.
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub timestamps: bool,
}

/// `--since`/`--until`: an RFC 3339 time, Unix seconds, or a duration before now (`10m`, `1h30m`, `45s`).
pub fn parse_time(s: &str) -> Result<i64> {
    if let Some(t) = crate::format::parse_rfc3339(s) {
        return Ok(t);
    }
    if let Ok(n) = s.parse::<i64>() {
        return Ok(n);
    }
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs() as i64;
    let mut total = 0i64;
    let mut num = String::new();
    for ch in s.chars() {
        if ch.is_ascii_digit() {
            num.push(ch);
            continue;
        }
        let n: i64 = num.parse().map_err(|_| bad_time(s))?;
        num.clear();
        total += n * match ch {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            _ => return Err(bad_time(s)),
        };
    }
    if !num.is_empty() {
        return Err(bad_time(s));
    }
    Ok(now - total)
}

fn bad_time(s: &str) -> anyhow::Error {
    ExitError::new(
        EXIT_ENGINE,
        format!("invalid time {s:?}: give an RFC 3339 time, Unix seconds or a duration like 10m"),
    )
    .into()
}

fn user_error(msg: impl Into<String>) -> anyhow::Error {
    ExitError::new(EXIT_ENGINE, msg).into()
}

/// The log drivers Warren has.
pub const DRIVERS: &[&str] = &["k8s-file", "json-file", "none", "passthrough"];

/// A container's logging, from its record (`config["LogConfig"]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    pub driver: String,
    pub path: PathBuf,
    /// Rotate past this many bytes.
    pub max_size: Option<u64>,
}

impl LogConfig {
    /// The record's configuration; `default_path` for records that predate `LogConfig`.
    pub fn of(rec: &ContainerRecord, default_path: &Path) -> LogConfig {
        let c = &rec.config["LogConfig"];
        let driver = c["Type"]
            .as_str()
            .or(rec.config["LogDriver"].as_str())
            .filter(|d| !d.is_empty())
            .unwrap_or("k8s-file")
            .to_string();
        let path =
            c["Path"].as_str().filter(|p| !p.is_empty()).map(PathBuf::from).unwrap_or(default_path.to_path_buf());
        let max_size = c["Size"].as_str().and_then(|s| parse_size(s).ok()).filter(|n| *n > 0);
        LogConfig { driver, path, max_size }
    }
}

/// `max-size`: bytes with an optional unit (`10k`, `1MB`, `2MiB`, `512`); k/m/g are decimal like
/// Podman's (go-units FromHumanSize), `Ki`/`Mi`/`Gi` binary.
pub fn parse_size(s: &str) -> Result<u64> {
    let t = s.trim().to_lowercase();
    let digits: String = t.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
    let unit = t[digits.len()..].trim();
    let n: f64 = digits
        .parse()
        .map_err(|_| user_error(format!("invalid size {s:?}: expected a number and a unit like 10k, 1m")))?;
    let mult: f64 = match unit {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "ki" | "kib" => 1024.0,
        "mi" | "mib" => 1024.0 * 1024.0,
        "gi" | "gib" => 1024.0 * 1024.0 * 1024.0,
        _ => bail!(user_error(format!("invalid size {s:?}: unknown unit {unit:?} (b, k, m, g, Ki, Mi, Gi)"))),
    };
    Ok((n * mult) as u64)
}

/// Check `--log-driver`/`--log-opt` before anything is created.
pub fn check_log_options(args: &RunArgs) -> Result<()> {
    let driver = args.log_driver.as_deref().unwrap_or("k8s-file");
    if !DRIVERS.contains(&driver) {
        bail!(user_error(format!(
            "invalid log driver {driver:?}: Warren supports {}{}",
            DRIVERS.join(", "),
            if driver == "journald" { " (journald needs systemd's journal, which Warren does not use)" } else { "" }
        )));
    }
    if driver == "passthrough" && args.detach {
        bail!(user_error(
            "the passthrough log driver passes the container's stdio straight to the caller, so it cannot be used \
             with --detach: use --log-driver k8s-file (the default) for detached containers"
        ));
    }
    for o in &args.log_opt {
        let (k, v) =
            o.split_once('=').ok_or_else(|| user_error(format!("invalid log option {o:?}: expected KEY=VALUE")))?;
        match k {
            "max-size" => {
                parse_size(v)?;
            }
            "path" if !v.starts_with('/') => {
                bail!(user_error(format!("invalid log option {o:?}: the path must be absolute")))
            }
            "path" | "tag" => {}
            _ => bail!(user_error(format!("invalid log option {o:?}: unknown option {k:?} (max-size, path, tag)"))),
        }
    }
    Ok(())
}

/// The `LogConfig` kept in the record (Podman's `HostConfig.LogConfig` shape).
pub fn log_config(args: &RunArgs, default_path: &Path) -> Result<serde_json::Value> {
    let driver = args.log_driver.clone().unwrap_or_else(|| "k8s-file".into());
    let mut path = default_path.display().to_string();
    let (mut size, mut tag) = ("0B".to_string(), String::new());
    for o in &args.log_opt {
        match o.split_once('=') {
            Some(("path", v)) => path = v.to_string(),
            Some(("max-size", v)) => size = v.to_string(),
            Some(("tag", v)) => tag = v.to_string(),
            _ => {}
        }
    }
    if driver == "none" || driver == "passthrough" {
        path.clear();
    }
    Ok(serde_json::json!({ "Type": driver, "Config": null, "Path": path, "Tag": tag, "Size": size }))
}

fn rotated(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(".1");
    PathBuf::from(s)
}

/// The monitor's log writer: one line per write, in the container's driver format, rotated at max-size.
pub struct LogWriter {
    cfg: LogConfig,
    file: std::fs::File,
    size: u64,
}

impl LogWriter {
    pub fn open(cfg: &LogConfig) -> Result<LogWriter> {
        if let Some(p) = cfg.path.parent() {
            std::fs::create_dir_all(p).with_context(|| format!("creating {}", p.display()))?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&cfg.path)
            .with_context(|| format!("opening the container log {}", cfg.path.display()))?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        Ok(LogWriter { cfg: cfg.clone(), file, size })
    }

    /// One line of output (`full`: it ended with a newline, which `content` does not include).
    pub fn write_line(&mut self, stream: &str, content: &[u8], full: bool) -> Result<()> {
        let line = format_line(&self.cfg.driver, stream, content, full);
        if let Some(max) = self.cfg.max_size {
            if self.size > 0 && self.size + line.len() as u64 > max {
                std::fs::rename(&self.cfg.path, rotated(&self.cfg.path))
                    .with_context(|| format!("rotating the container log {}", self.cfg.path.display()))?;
                *self = LogWriter::open(&self.cfg)?;
            }
        }
        self.file.write_all(&line).context("writing the container log")?;
        self.size += line.len() as u64;
        Ok(())
    }
}

fn format_line(driver: &str, stream: &str, content: &[u8], full: bool) -> Vec<u8> {
    let now = crate::format::now_rfc3339_nanos();
    if driver == "json-file" {
        let mut log = String::from_utf8_lossy(content).into_owned();
        if full {
            log.push('\n');
        }
        // Docker writes UTC times as ...Z.
        let time = now.trim_end_matches("+00:00").to_string() + "Z";
        let mut v =
            serde_json::to_vec(&serde_json::json!({"log": log, "stream": stream, "time": time})).unwrap_or_default();
        v.push(b'\n');
        return v;
    }
    let mut line = format!("{now} {stream} {} ", if full { 'F' } else { 'P' }).into_bytes();
    line.extend_from_slice(content);
    line.push(b'\n');
    line
}

/// One parsed log line.
struct Line {
    time: String,
    full: bool,
    content: String,
}

/// A k8s-file line or a json-file line.
fn parse_line(l: &str) -> Option<Line> {
    if l.starts_with('{') {
        let v: serde_json::Value = serde_json::from_str(l).ok()?;
        let log = v["log"].as_str()?;
        let (content, full) = match log.strip_suffix('\n') {
            Some(c) => (c.to_string(), true),
            None => (log.to_string(), false),
        };
        return Some(Line { time: v["time"].as_str().unwrap_or("").to_string(), full, content });
    }
    let mut it = l.splitn(4, ' ');
    let time = it.next()?;
    let _stream = it.next()?;
    let tag = it.next()?;
    let content = it.next().unwrap_or("");
    Some(Line { time: time.to_string(), full: tag != "P", content: content.to_string() })
}

/// Print a container's log, honouring the options; with `follow`, keep printing until the container
/// stops running.
pub fn print(
    ctx: &Context,
    state: &State,
    rec: &ContainerRecord,
    prefix: Option<&str>,
    opts: &LogOptions,
) -> Result<()> {
    let cfg = LogConfig::of(rec, &crate::container::log_path(ctx, &rec.id));
    if cfg.driver == "none" || cfg.driver == "passthrough" {
        bail!(user_error(format!(
            "this container is using the '{}' log driver, cannot read logs: this container is not logging output",
            cfg.driver
        )));
    }
    let path = cfg.path.clone();
    let mut lines: Vec<String> = vec![];
    let mut buf = String::new();
    // The previous file first (max-size rotation), then the current one.
    if let Ok(f) = std::fs::File::open(rotated(&path)) {
        let mut r = std::io::BufReader::new(f);
        while r.read_line(&mut buf)? > 0 {
            lines.push(std::mem::take(&mut buf));
        }
    }
    let open = |p: &Path| -> Result<Option<std::fs::File>> {
        match std::fs::File::open(p) {
            Ok(f) => Ok(Some(f)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("reading the log of {}", rec.name)),
        }
    };
    let file = match open(&path)? {
        Some(f) => f,
        None if opts.follow => std::fs::File::open("/dev/null")?,
        None if lines.is_empty() => return Ok(()),
        None => std::fs::File::open("/dev/null")?,
    };
    let mut ino = inode(&file);
    let mut reader = std::io::BufReader::new(file);
    while reader.read_line(&mut buf)? > 0 {
        if !buf.ends_with('\n') {
            break; // the writer is mid-line; read the rest when following
        }
        lines.push(std::mem::take(&mut buf));
    }
    let keep = |l: &Line| {
        let t = crate::format::parse_rfc3339(&l.time).unwrap_or(0);
        opts.since.is_none_or(|s| t >= s) && opts.until.is_none_or(|u| t <= u)
    };
    let parsed: Vec<Line> = lines.iter().filter_map(|l| parse_line(l.trim_end_matches('\n'))).filter(keep).collect();
    // --tail counts full lines.
    let start = match opts.tail {
        Some(0) => parsed.len(),
        Some(n) => {
            let mut count = 0;
            let mut idx = parsed.len();
            for (i, l) in parsed.iter().enumerate().rev() {
                if l.full {
                    if count == n {
                        break;
                    }
                    count += 1;
                }
                idx = i;
            }
            idx
        }
        None => 0,
    };
    {
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        for l in &parsed[start..] {
            emit(&mut out, l, prefix, opts)?;
        }
        out.flush()?;
    }
    if !opts.follow {
        return Ok(());
    }
    let show = |buf: &str| -> Result<()> {
        if let Some(l) = parse_line(buf.trim_end_matches('\n')) {
            if keep(&l) {
                let mut o = std::io::stdout().lock();
                emit(&mut o, &l, prefix, opts)?;
                o.flush()?;
            }
        }
        Ok(())
    };
    loop {
        let mut got = false;
        while reader.read_line(&mut buf)? > 0 {
            if !buf.ends_with('\n') {
                break; // the writer is mid-line; read the rest next time
            }
            show(&buf)?;
            buf.clear();
            got = true;
        }
        if got {
            continue;
        }
        // Rotated (max-size) or created since: continue with the new file from its start.
        if let Ok(m) = std::fs::metadata(&path) {
            use std::os::unix::fs::MetadataExt;
            if Some(m.ino()) != ino {
                if let Some(f) = open(&path)? {
                    ino = inode(&f);
                    reader = std::io::BufReader::new(f);
                    buf.clear();
                    continue;
                }
            }
        }
        let r = crate::container::refresh(ctx, state, state.get(&rec.id)?)?;
        if r.state != "running" && r.state != "paused" {
            // drain what the monitor wrote last
            while reader.read_line(&mut buf)? > 0 {
                show(&buf)?;
                buf.clear();
            }
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Podman prints log times as `2006-01-02T15:04:05.000000000Z07:00`: nine fraction digits, `Z` for UTC.
fn display_time(t: &str) -> String {
    let (main, zone) = match t.strip_suffix('Z').or_else(|| t.strip_suffix("+00:00")) {
        Some(m) => (m, "Z".to_string()),
        None => match t.rfind(['+', '-']).filter(|i| *i > 10) {
            Some(i) => (&t[..i], t[i..].to_string()),
            None => (t, String::new()),
        },
    };
    let (secs, frac) = main.split_once('.').unwrap_or((main, ""));
    format!("{secs}.{:0<9}{zone}", &frac[..frac.len().min(9)])
}

/// `logs` of several containers: one after the other, or, when following, side by side (each line
/// whole). Podman's prefix when there are several: the name with `--names`, else the short ID.
pub fn print_all(ctx: &Context, state: &State, recs: &[ContainerRecord], names: bool, opts: &LogOptions) -> Result<()> {
    let prefix = |r: &ContainerRecord| -> Option<String> {
        (recs.len() > 1).then(|| if names { r.name.clone() } else { r.id[..12.min(r.id.len())].to_string() })
    };
    if !opts.follow || recs.len() < 2 {
        for r in recs {
            print(ctx, state, r, prefix(r).as_deref(), opts)?;
        }
        return Ok(());
    }
    std::thread::scope(|s| {
        let handles: Vec<_> = recs
            .iter()
            .map(|r| {
                let p = prefix(r);
                s.spawn(move || -> Result<()> {
                    let state = State::open(&ctx.storage_root)?;
                    print(ctx, &state, r, p.as_deref(), opts)
                })
            })
            .collect();
        let mut first_err = None;
        for h in handles {
            if let Err(e) = h.join().unwrap_or_else(|_| Err(anyhow::anyhow!("a log reader panicked"))) {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    })
}

fn inode(f: &std::fs::File) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    f.metadata().ok().filter(|m| m.is_file()).map(|m| m.ino())
}

fn emit(out: &mut impl Write, l: &Line, prefix: Option<&str>, opts: &LogOptions) -> Result<()> {
    if let Some(p) = prefix {
        write!(out, "{p} ")?;
    }
    if opts.timestamps {
        write!(out, "{} ", display_time(&l.time))?;
    }
    out.write_all(l.content.as_bytes())?;
    if l.full {
        out.write_all(b"\n")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_print_like_podman() {
        assert_eq!(display_time("2026-12-03T15:47:56.123+00:00"), "2026-12-03T15:47:56.123000000Z");
        assert_eq!(display_time("2026-12-03T15:47:56.123456789Z"), "2026-12-03T15:47:56.123456789Z");
        assert_eq!(display_time("2026-12-03T15:47:56+01:00"), "2026-12-03T15:47:56.000000000+01:00");
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("10k").unwrap(), 10_000);
        assert_eq!(parse_size("1MB").unwrap(), 1_000_000);
        assert_eq!(parse_size("2KiB").unwrap(), 2048);
        assert_eq!(parse_size("512").unwrap(), 512);
        assert!(parse_size("lots").is_err());
        assert!(parse_size("1x").is_err());
    }

    #[test]
    fn writer_formats_and_rotates() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("sub/ctr.log");
        let cfg = LogConfig { driver: "json-file".into(), path: path.clone(), max_size: Some(200) };
        let mut w = LogWriter::open(&cfg).unwrap();
        for i in 0..5 {
            w.write_line("stdout", format!("line {i}").as_bytes(), true).unwrap();
        }
        let cur = std::fs::read_to_string(&path).unwrap();
        let old = std::fs::read_to_string(rotated(&path)).unwrap();
        assert!(cur.len() <= 200 && old.len() <= 200, "{cur} / {old}");
        assert!(cur.contains(r#""log":"line 4\n""#), "{cur}");
        let last = parse_line(cur.lines().last().unwrap()).unwrap();
        assert_eq!((last.content.as_str(), last.full), ("line 4", true));
        assert!(last.time.ends_with('Z'));
        let k = format_line("k8s-file", "stderr", b"x y", false);
        let k = String::from_utf8(k).unwrap();
        assert!(
            k.ends_with(
                " stderr P x y
"
            ),
            "{k}"
        );
    }

    #[test]
    fn durations_and_lines() {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
        assert!((parse_time("10m").unwrap() - (now - 600)).abs() <= 1);
        assert!((parse_time("1h30m").unwrap() - (now - 5400)).abs() <= 1);
        assert!(parse_time("soon").is_err());
        let l = parse_line("2026-12-03T15:47:56.1+00:00 stdout F hello world").unwrap();
        assert_eq!((l.content.as_str(), l.full), ("hello world", true));
        let l = parse_line("2026-12-03T15:47:56.1+00:00 stderr P part").unwrap();
        assert!(!l.full);
        let l = parse_line(r#"{"log":"hi there\n","stream":"stdout","time":"2026-12-03T15:47:56.1Z"}"#).unwrap();
        assert_eq!((l.content.as_str(), l.full, l.time.as_str()), ("hi there", true, "2026-12-03T15:47:56.1Z"));
        let l = parse_line(r#"{"log":"part","stream":"stderr","time":"2026-12-03T15:47:56.1Z"}"#).unwrap();
        assert!(!l.full);
    }
}
