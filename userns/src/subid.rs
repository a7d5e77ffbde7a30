//! /etc/subuid and /etc/subgid: the subordinate id ranges a user may map into a user namespace.
//!
//! Each line is `NAME_OR_UID:START:COUNT`. A user owns every line that names them, by login name or by
//! numeric uid (as shadow's newuidmap accepts both), in file order. Comments (`#`), blank lines and
//! malformed lines are skipped; malformed ones are logged at debug level with their line number.

use std::path::{Path, PathBuf};

/// The system file for subordinate uids.
pub const SUBUID_PATH: &str = "/etc/subuid";
/// The system file for subordinate gids.
pub const SUBGID_PATH: &str = "/etc/subgid";

/// One subordinate range: host ids `start..start+count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubIdRange {
    pub start: u32,
    pub count: u32,
}

/// The two files to read; tests point them at temporary files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubIdFiles {
    pub subuid: PathBuf,
    pub subgid: PathBuf,
}

impl Default for SubIdFiles {
    fn default() -> Self {
        SubIdFiles { subuid: PathBuf::from(SUBUID_PATH), subgid: PathBuf::from(SUBGID_PATH) }
    }
}

/// The ranges `user` (login name) or `uid` owns in the text of a subuid/subgid file, in file order.
/// `origin` names the file in debug messages about malformed lines.
pub fn parse_ranges(text: &str, user: Option<&str>, uid: u32, origin: &str) -> Vec<SubIdRange> {
    let uid_s = uid.to_string();
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split(':').map(str::trim).collect();
        let parsed = match fields.as_slice() {
            [owner, start, count] if !owner.is_empty() => match (start.parse::<u32>(), count.parse::<u32>()) {
                (Ok(s), Ok(c)) if c > 0 && s.checked_add(c - 1).is_some() => Some((*owner, s, c)),
                _ => None,
            },
            _ => None,
        };
        let Some((owner, start, count)) = parsed else {
            tracing::debug!("{origin}:{}: ignoring malformed line {raw:?} (expected NAME:START:COUNT)", i + 1);
            continue;
        };
        if Some(owner) == user || owner == uid_s {
            out.push(SubIdRange { start, count });
        }
    }
    out
}

/// Read the ranges of `user`/`uid` from `path`. A missing file means no ranges; another read error is
/// returned (the caller decides whether it is fatal).
pub fn read_ranges(path: &Path, user: Option<&str>, uid: u32) -> std::io::Result<Vec<SubIdRange>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(parse_ranges(&text, user, uid, &path.display().to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            tracing::debug!("{}: does not exist: no subordinate ids", path.display());
            Ok(Vec::new())
        }
        Err(e) => Err(e),
    }
}

/// Total number of ids in `ranges` (saturating).
pub fn total(ranges: &[SubIdRange]) -> u32 {
    ranges.iter().fold(0u32, |acc, r| acc.saturating_add(r.count))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "\
# subordinate ids
dev:100000:65536

hpc2:200000:1000
  1003:300000:10  
dev:400000:5
broken line
dev:abc:10
dev:10
dev:5:0
dev:4294967295:2
:1:2
1002:500000:7
";

    #[test]
    fn by_name_in_order_skipping_junk() {
        let r = parse_ranges(FILE, Some("dev"), 1002, "t");
        assert_eq!(
            r,
            vec![
                SubIdRange { start: 100000, count: 65536 },
                SubIdRange { start: 400000, count: 5 },
                SubIdRange { start: 500000, count: 7 },
            ]
        );
        assert_eq!(total(&r), 65548);
    }

    #[test]
    fn by_numeric_uid() {
        let r = parse_ranges(FILE, Some("nobody-here"), 1003, "t");
        assert_eq!(r, vec![SubIdRange { start: 300000, count: 10 }]);
        let r = parse_ranges(FILE, None, 1003, "t");
        assert_eq!(r.len(), 1);
    }

    #[test]
    fn user_without_lines() {
        assert!(parse_ranges(FILE, Some("hpc"), 1001, "t").is_empty());
        assert!(parse_ranges("", Some("dev"), 1002, "t").is_empty());
    }

    #[test]
    fn name_must_match_exactly() {
        assert!(parse_ranges("devel:1:2\n", Some("dev"), 1, "t").is_empty());
        assert!(parse_ranges("10020:1:2\n", None, 1002, "t").is_empty());
    }

    #[test]
    fn read_missing_file_is_empty() {
        let r = read_ranges(Path::new("/nonexistent/subuid"), Some("dev"), 1002).unwrap();
        assert!(r.is_empty());
    }

    #[test]
    fn read_from_file() {
        let dir = std::env::temp_dir().join(format!("warren-subid-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("subuid");
        std::fs::write(&p, "dev:100000:65536\n").unwrap();
        let r = read_ranges(&p, Some("dev"), 1002).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(r, vec![SubIdRange { start: 100000, count: 65536 }]);
    }
}
