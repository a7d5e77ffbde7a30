//! Container logs in Podman's k8s-file format: `TIME STREAM F|P CONTENT` per line.

use anyhow::{Context as _, Result};
use std::io::{BufRead, Write};

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

/// One parsed log line.
struct Line<'a> {
    time: &'a str,
    full: bool,
    content: &'a str,
}

fn parse_line(l: &str) -> Option<Line<'_>> {
    let mut it = l.splitn(4, ' ');
    let time = it.next()?;
    let _stream = it.next()?;
    let tag = it.next()?;
    let content = it.next().unwrap_or("");
    Some(Line { time, full: tag != "P", content })
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
    let path = crate::container::log_path(ctx, &rec.id);
    let file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if opts.follow {
                std::fs::File::open("/dev/null")?
            } else {
                return Ok(());
            }
        }
        Err(e) => return Err(e).with_context(|| format!("reading the log of {}", rec.name)),
    };
    let mut reader = std::io::BufReader::new(file);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut lines: Vec<String> = vec![];
    let mut buf = String::new();
    while reader.read_line(&mut buf)? > 0 {
        lines.push(std::mem::take(&mut buf));
    }
    let keep = |l: &Line| {
        let t = crate::format::parse_rfc3339(l.time).unwrap_or(0);
        opts.since.is_none_or(|s| t >= s) && opts.until.is_none_or(|u| t <= u)
    };
    let parsed: Vec<Line> = lines.iter().filter_map(|l| parse_line(l.trim_end_matches('\n'))).filter(keep).collect();
    // --tail counts full lines.
    let start = match opts.tail {
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
            if n == 0 {
                parsed.len()
            } else {
                idx
            }
        }
        None => 0,
    };
    for l in &parsed[start..] {
        emit(&mut out, l, prefix, opts)?;
    }
    out.flush()?;
    if !opts.follow {
        return Ok(());
    }
    drop(out);
    loop {
        let mut got = false;
        while reader.read_line(&mut buf)? > 0 {
            if !buf.ends_with('\n') {
                break; // the writer is mid-line; read the rest next time
            }
            if let Some(l) = parse_line(buf.trim_end_matches('\n')) {
                if keep(&l) {
                    let mut o = std::io::stdout().lock();
                    emit(&mut o, &l, prefix, opts)?;
                    o.flush()?;
                }
            }
            buf.clear();
            got = true;
        }
        if !got {
            let r = crate::container::refresh(ctx, state, state.get(&rec.id)?)?;
            if r.state != "running" && r.state != "paused" {
                // drain what the monitor wrote last
                while reader.read_line(&mut buf)? > 0 {
                    if let Some(l) = parse_line(buf.trim_end_matches('\n')) {
                        emit(&mut std::io::stdout().lock(), &l, prefix, opts)?;
                    }
                    buf.clear();
                }
                return Ok(());
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}

fn emit(out: &mut impl Write, l: &Line, prefix: Option<&str>, opts: &LogOptions) -> Result<()> {
    if let Some(p) = prefix {
        write!(out, "{p} ")?;
    }
    if opts.timestamps {
        write!(out, "{} ", l.time)?;
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
    fn durations_and_lines() {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
        assert!((parse_time("10m").unwrap() - (now - 600)).abs() <= 1);
        assert!((parse_time("1h30m").unwrap() - (now - 5400)).abs() <= 1);
        assert!(parse_time("soon").is_err());
        let l = parse_line("2026-12-03T15:47:56.1+00:00 stdout F hello world").unwrap();
        assert_eq!((l.content, l.full), ("hello world", true));
        let l = parse_line("2026-12-03T15:47:56.1+00:00 stderr P part").unwrap();
        assert!(!l.full);
    }
}
