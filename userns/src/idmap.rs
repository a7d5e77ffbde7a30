//! Id mappings: container id ↔ host id.

use crate::subid::SubIdRange;

/// One line of /proc/PID/uid_map: `container host size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdMapEntry {
    pub container: u32,
    pub host: u32,
    pub size: u32,
}

/// The uid and gid mappings of a user namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdMap {
    pub uids: Vec<IdMapEntry>,
    pub gids: Vec<IdMapEntry>,
}

/// Entry `container..container+size` → `host..host+size` (computed in u64: no overflow at the top of
/// the id space).
fn forward(entries: &[IdMapEntry], id: u32) -> Option<u32> {
    entries.iter().find_map(|e| {
        let off = u64::from(id).checked_sub(u64::from(e.container))?;
        (off < u64::from(e.size)).then(|| (u64::from(e.host) + off) as u32)
    })
}

fn backward(entries: &[IdMapEntry], id: u32) -> Option<u32> {
    entries.iter().find_map(|e| {
        let off = u64::from(id).checked_sub(u64::from(e.host))?;
        (off < u64::from(e.size)).then(|| (u64::from(e.container) + off) as u32)
    })
}

fn max_container(entries: &[IdMapEntry]) -> Option<u32> {
    entries
        .iter()
        .filter(|e| e.size > 0)
        .map(|e| (u64::from(e.container) + u64::from(e.size) - 1).min(u64::from(u32::MAX)) as u32)
        .max()
}

/// Container 0 → `own`, then 1.. → the ranges back to back, in order.
fn subordinate_entries(own: u32, ranges: &[SubIdRange]) -> Vec<IdMapEntry> {
    let mut out = vec![IdMapEntry { container: 0, host: own, size: 1 }];
    let mut next: u64 = 1;
    for r in ranges {
        if r.count == 0 || next > u64::from(u32::MAX) {
            continue;
        }
        // Never let the container side run past u32::MAX.
        let room = u64::from(u32::MAX) - next + 1;
        let size = u64::from(r.count).min(room) as u32;
        out.push(IdMapEntry { container: next as u32, host: r.start, size });
        next += u64::from(size);
    }
    out
}

/// `container host size` lines, as /proc/PID/uid_map takes them.
fn map_text(entries: &[IdMapEntry]) -> String {
    entries.iter().map(|e| format!("{} {} {}\n", e.container, e.host, e.size)).collect()
}

/// `PID container host size ...`, as newuidmap/newgidmap take them.
fn helper_args(pid: u32, entries: &[IdMapEntry]) -> Vec<String> {
    let mut args = vec![pid.to_string()];
    for e in entries {
        args.extend([e.container.to_string(), e.host.to_string(), e.size.to_string()]);
    }
    args
}

/// Parse the text of /proc/PID/uid_map (whitespace-separated triples, one per line).
pub fn parse_map(text: &str) -> Option<Vec<IdMapEntry>> {
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let [c, h, s] = f.as_slice() else { return None };
        out.push(IdMapEntry { container: c.parse().ok()?, host: h.parse().ok()?, size: s.parse().ok()? });
    }
    Some(out)
}

impl IdMap {
    /// Container ids are host ids (root on the host, the initial user namespace).
    pub fn identity() -> IdMap {
        let all = vec![IdMapEntry { container: 0, host: 0, size: u32::MAX }];
        IdMap { uids: all.clone(), gids: all }
    }

    /// Only container root is mapped, to the user's own uid and gid.
    pub fn single(uid: u32, gid: u32) -> IdMap {
        IdMap {
            uids: vec![IdMapEntry { container: 0, host: uid, size: 1 }],
            gids: vec![IdMapEntry { container: 0, host: gid, size: 1 }],
        }
    }

    /// Container 0 → the user's own id; 1..=N → the subordinate ranges, back to back, in order.
    pub fn from_subordinate(uid: u32, gid: u32, uid_ranges: &[SubIdRange], gid_ranges: &[SubIdRange]) -> IdMap {
        IdMap { uids: subordinate_entries(uid, uid_ranges), gids: subordinate_entries(gid, gid_ranges) }
    }

    /// True for the identity mapping of the initial user namespace.
    pub fn is_identity(&self) -> bool {
        *self == IdMap::identity()
    }

    pub fn to_host_uid(&self, container: u32) -> Option<u32> {
        forward(&self.uids, container)
    }

    pub fn to_host_gid(&self, container: u32) -> Option<u32> {
        forward(&self.gids, container)
    }

    pub fn to_container_uid(&self, host: u32) -> Option<u32> {
        backward(&self.uids, host)
    }

    pub fn to_container_gid(&self, host: u32) -> Option<u32> {
        backward(&self.gids, host)
    }

    pub fn contains_uid(&self, container: u32) -> bool {
        self.to_host_uid(container).is_some()
    }

    pub fn contains_gid(&self, container: u32) -> bool {
        self.to_host_gid(container).is_some()
    }

    /// The highest container uid that is mapped (`None` for an empty map).
    pub fn max_container_uid(&self) -> Option<u32> {
        max_container(&self.uids)
    }

    /// The highest container gid that is mapped (`None` for an empty map).
    pub fn max_container_gid(&self) -> Option<u32> {
        max_container(&self.gids)
    }

    /// The uid mapping as written to /proc/PID/uid_map.
    pub fn uid_map_text(&self) -> String {
        map_text(&self.uids)
    }

    /// The gid mapping as written to /proc/PID/gid_map.
    pub fn gid_map_text(&self) -> String {
        map_text(&self.gids)
    }

    /// Arguments of `newuidmap` for process `pid`.
    pub fn newuidmap_args(&self, pid: u32) -> Vec<String> {
        helper_args(pid, &self.uids)
    }

    /// Arguments of `newgidmap` for process `pid`.
    pub fn newgidmap_args(&self, pid: u32) -> Vec<String> {
        helper_args(pid, &self.gids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(start: u32, count: u32) -> SubIdRange {
        SubIdRange { start, count }
    }

    #[test]
    fn subordinate_layout() {
        let m = IdMap::from_subordinate(1002, 1003, &[r(100000, 65536)], &[r(200000, 10), r(300000, 5)]);
        assert_eq!(m.uid_map_text(), "0 1002 1\n1 100000 65536\n");
        assert_eq!(m.gid_map_text(), "0 1003 1\n1 200000 10\n11 300000 5\n");
        assert_eq!(m.newuidmap_args(42), ["42", "0", "1002", "1", "1", "100000", "65536"]);
        assert_eq!(m.newgidmap_args(7), ["7", "0", "1003", "1", "1", "200000", "10", "11", "300000", "5"]);
    }

    #[test]
    fn subordinate_arithmetic() {
        let m = IdMap::from_subordinate(1002, 1002, &[r(100000, 65536)], &[r(200000, 10), r(300000, 5)]);
        assert_eq!(m.to_host_uid(0), Some(1002));
        assert_eq!(m.to_host_uid(1), Some(100000));
        assert_eq!(m.to_host_uid(65536), Some(165535));
        assert_eq!(m.to_host_uid(65537), None);
        assert_eq!(m.to_container_uid(1002), Some(0));
        assert_eq!(m.to_container_uid(100000), Some(1));
        assert_eq!(m.to_container_uid(165535), Some(65536));
        assert_eq!(m.to_container_uid(165536), None);
        assert_eq!(m.to_container_uid(99999), None);
        assert_eq!(m.max_container_uid(), Some(65536));
        assert!(m.contains_uid(65536) && !m.contains_uid(65537));
        // second gid range starts right after the first
        assert_eq!(m.to_host_gid(10), Some(200009));
        assert_eq!(m.to_host_gid(11), Some(300000));
        assert_eq!(m.to_host_gid(15), Some(300004));
        assert_eq!(m.to_host_gid(16), None);
        assert_eq!(m.to_container_gid(300004), Some(15));
        assert_eq!(m.max_container_gid(), Some(15));
        assert!(m.contains_gid(0) && !m.contains_gid(16));
    }

    #[test]
    fn single_and_identity() {
        let s = IdMap::single(1001, 1001);
        assert_eq!(s.uid_map_text(), "0 1001 1\n");
        assert_eq!(s.to_host_uid(0), Some(1001));
        assert_eq!(s.to_host_uid(1), None);
        assert_eq!(s.to_container_gid(1001), Some(0));
        assert_eq!(s.to_container_gid(0), None);
        assert_eq!(s.max_container_uid(), Some(0));

        let i = IdMap::identity();
        assert!(i.is_identity() && !s.is_identity());
        assert_eq!(i.uid_map_text(), "0 0 4294967295\n");
        assert_eq!(i.to_host_uid(12345), Some(12345));
        assert_eq!(i.to_container_gid(u32::MAX - 1), Some(u32::MAX - 1));
        // 4294967295 itself is never a valid id (it is -1)
        assert_eq!(i.to_host_uid(u32::MAX), None);
        assert_eq!(i.max_container_uid(), Some(u32::MAX - 1));
    }

    #[test]
    fn empty_ranges_and_clamping() {
        let m = IdMap::from_subordinate(5, 5, &[], &[r(10, 0)]);
        assert_eq!(m, IdMap::single(5, 5));
        assert_eq!(IdMap::default().max_container_uid(), None);
        let big = IdMap::from_subordinate(5, 5, &[r(0, u32::MAX), r(10, 10)], &[]);
        assert_eq!(big.uids.len(), 2);
        assert_eq!(big.uids[1].size, u32::MAX);
        assert_eq!(big.max_container_uid(), Some(u32::MAX));
    }

    #[test]
    fn parse_proc_map() {
        let text = "         0       1002          1\n         1     100000      65536\n";
        let e = parse_map(text).unwrap();
        assert_eq!(e, IdMap::from_subordinate(1002, 1002, &[r(100000, 65536)], &[]).uids);
        assert_eq!(parse_map("0 0 4294967295\n").unwrap(), IdMap::identity().uids);
        assert!(parse_map("0 0\n").is_none());
        assert!(parse_map("a b c\n").is_none());
        assert_eq!(parse_map("").unwrap(), vec![]);
    }
}
