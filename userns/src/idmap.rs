//! Id mappings: container id ↔ host id.

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
