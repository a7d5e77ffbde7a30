//! The per-user runtime directory: pause pid, locks, container bundles.
//!
//! Root: `/run/warren`. A user: `$XDG_RUNTIME_DIR/warren` when `$XDG_RUNTIME_DIR` is a directory owned by
//! the user with mode 0700 (a tmpfs on normal hosts); otherwise `/tmp/warren-run-UID`, which must be the
//! user's own 0700 directory. Another user's directory is never used: after `su -` or `sudo -u` the
//! inherited `XDG_RUNTIME_DIR` names the first user's directory.

use crate::{Error, Result};
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

/// What `stat` says about a directory candidate (so the choice is testable without syscalls).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirFacts {
    pub is_dir: bool,
    pub is_symlink: bool,
    pub uid: u32,
    /// Permission bits (`mode & 0o7777`).
    pub mode: u32,
}

impl DirFacts {
    fn of(m: &std::fs::Metadata) -> DirFacts {
        DirFacts { is_dir: m.is_dir(), is_symlink: m.file_type().is_symlink(), uid: m.uid(), mode: m.mode() & 0o7777 }
    }
}

/// The runtime directory to use and, when it is the fallback, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    /// Root's `/run/warren`.
    Root(PathBuf),
    /// `$XDG_RUNTIME_DIR/warren`.
    Xdg(PathBuf),
    /// `/tmp/warren-run-UID`, with the reason XDG_RUNTIME_DIR was not used.
    Fallback { path: PathBuf, note: String },
}

impl Choice {
    pub fn path(&self) -> &Path {
        match self {
            Choice::Root(p) | Choice::Xdg(p) | Choice::Fallback { path: p, .. } => p,
        }
    }
}

/// Why `facts` is not a private directory of `uid` (None when it is one).
pub fn not_private(facts: &DirFacts, uid: u32) -> Option<String> {
    if facts.is_symlink {
        Some("is a symbolic link".into())
    } else if !facts.is_dir {
        Some("is not a directory".into())
    } else if facts.uid != uid {
        Some(format!("is owned by uid {}, not by you (uid {uid})", facts.uid))
    } else if facts.mode & 0o777 != 0o700 {
        Some(format!("has mode {:04o}, not 0700", facts.mode))
    } else {
        None
    }
}

/// Choose the directory (pure). `uid` is the user's uid as this process sees it (0 inside the engine
/// namespace), `host_uid` the user's uid on the host (names the fallback), `xdg` the value of
/// `$XDG_RUNTIME_DIR` with what `stat` said about it (`None` facts: it does not exist).
pub fn choose(is_root: bool, uid: u32, host_uid: u32, tmp: &Path, xdg: Option<(&Path, Option<DirFacts>)>) -> Choice {
    if is_root {
        return Choice::Root(PathBuf::from("/run/warren"));
    }
    let why = match xdg {
        None => "XDG_RUNTIME_DIR is not set".to_string(),
        Some((p, _)) if !p.is_absolute() => {
            format!("XDG_RUNTIME_DIR={} is not an absolute path", p.display())
        }
        Some((p, None)) => format!("XDG_RUNTIME_DIR={} does not exist", p.display()),
        Some((p, Some(f))) => match not_private(&f, uid) {
            None => return Choice::Xdg(p.join("warren")),
            Some(why) => format!("XDG_RUNTIME_DIR={} {why}", p.display()),
        },
    };
    let path = tmp.join(format!("warren-run-{host_uid}"));
    let note = format!("{why}: using {} as the runtime directory", path.display());
    Choice::Fallback { path, note }
}

/// Create `path` with mode 0700 unless it exists; then it must be `uid`'s own 0700 directory.
pub fn ensure_private_dir(path: &Path, uid: u32) -> Result<()> {
    match std::fs::DirBuilder::new().mode(0o700).create(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(Error::io(format!("creating the runtime directory {}", path.display()), e)),
    }
    let m = std::fs::symlink_metadata(path)
        .map_err(|e| Error::io(format!("checking the runtime directory {}", path.display()), e))?;
    if let Some(why) = not_private(&DirFacts::of(&m), uid) {
        return Err(Error::Other(format!(
            "runtime directory {} {why}: it must be your own directory with mode 0700; remove or fix it, \
             or pass --runroot PATH (see {})",
            path.display(),
            crate::DOCS
        )));
    }
    Ok(())
}

/// `$XDG_RUNTIME_DIR/warren` when that directory exists, belongs to the user and is 0700; else a private
/// per-user directory under /tmp. Created (0700) if missing.
pub fn runtime_dir() -> Result<PathBuf> {
    let in_ns = crate::enter::in_engine_namespace();
    let is_root = nix::unistd::geteuid().is_root() && !in_ns;
    let uid = nix::unistd::getuid().as_raw();
    let host_uid =
        if in_ns { crate::sys::read_self_map().ok().and_then(|m| m.to_host_uid(uid)).unwrap_or(uid) } else { uid };
    let xdg_val = std::env::var_os("XDG_RUNTIME_DIR").filter(|v| !v.is_empty()).map(PathBuf::from);
    let xdg = xdg_val.as_deref().map(|p| (p, std::fs::symlink_metadata(p).ok().map(|m| DirFacts::of(&m))));
    let choice = choose(is_root, uid, host_uid, Path::new("/tmp"), xdg);
    match &choice {
        Choice::Root(p) => {
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent).map_err(|e| Error::io(format!("creating {}", parent.display()), e))?;
            }
            ensure_private_dir(p, uid)?;
        }
        Choice::Xdg(p) => ensure_private_dir(p, uid)?,
        Choice::Fallback { path, note } => {
            tracing::info!("{note}");
            ensure_private_dir(path, uid)?;
        }
    }
    Ok(choice.path().to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(uid: u32, mode: u32) -> Option<DirFacts> {
        Some(DirFacts { is_dir: true, is_symlink: false, uid, mode })
    }

    const TMP: &str = "/tmp";

    #[test]
    fn root_uses_run() {
        let c = choose(true, 0, 0, Path::new(TMP), Some((Path::new("/run/user/0"), dir(0, 0o700))));
        assert_eq!(c, Choice::Root("/run/warren".into()));
    }

    #[test]
    fn own_private_xdg() {
        let c = choose(false, 1002, 1002, Path::new(TMP), Some((Path::new("/run/user/1002"), dir(1002, 0o700))));
        assert_eq!(c, Choice::Xdg("/run/user/1002/warren".into()));
    }

    #[test]
    fn inside_the_namespace_the_owner_is_uid_0() {
        let c = choose(false, 0, 1002, Path::new(TMP), Some((Path::new("/run/user/1002"), dir(0, 0o700))));
        assert_eq!(c, Choice::Xdg("/run/user/1002/warren".into()));
        let c = choose(false, 0, 1002, Path::new(TMP), None);
        assert_eq!(c.path(), Path::new("/tmp/warren-run-1002"));
    }

    #[test]
    fn another_users_xdg_falls_back() {
        let c = choose(false, 1002, 1002, Path::new(TMP), Some((Path::new("/run/user/0"), dir(0, 0o700))));
        let Choice::Fallback { path, note } = c else { panic!("{c:?}") };
        assert_eq!(path, PathBuf::from("/tmp/warren-run-1002"));
        assert!(note.contains("/run/user/0 is owned by uid 0, not by you (uid 1002)"), "{note}");
    }

    #[test]
    fn unset_missing_open_or_relative_xdg_falls_back() {
        for (xdg, want) in [
            (None, "is not set"),
            (Some((Path::new("/run/user/1002"), None)), "does not exist"),
            (Some((Path::new("/run/user/1002"), dir(1002, 0o755))), "has mode 0755"),
            (Some((Path::new("run/user"), dir(1002, 0o700))), "not an absolute path"),
            (
                Some((Path::new("/x"), Some(DirFacts { is_dir: false, is_symlink: true, uid: 1002, mode: 0o777 }))),
                "symbolic link",
            ),
        ] {
            let c = choose(false, 1002, 1002, Path::new(TMP), xdg);
            let Choice::Fallback { note, .. } = &c else { panic!("{c:?}") };
            assert!(note.contains(want), "{note} lacks {want}");
        }
    }

    #[test]
    fn ensure_creates_and_checks() {
        let base = std::env::temp_dir().join(format!("warren-rundir-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(&base).unwrap();
        let uid = nix::unistd::getuid().as_raw();
        let d = base.join("run");
        ensure_private_dir(&d, uid).unwrap();
        assert_eq!(std::fs::metadata(&d).unwrap().mode() & 0o777, 0o700);
        ensure_private_dir(&d, uid).unwrap(); // exists: fine
        let e = ensure_private_dir(&d, uid + 1).unwrap_err().to_string();
        assert!(e.contains(&d.display().to_string()) && e.contains("is owned by uid"), "{e}");
        let open = base.join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let e = ensure_private_dir(&open, uid).unwrap_err().to_string();
        assert!(e.contains("has mode 0755"), "{e}");
        let link = base.join("link");
        std::os::unix::fs::symlink(&d, &link).unwrap();
        let e = ensure_private_dir(&link, uid).unwrap_err().to_string();
        assert!(e.contains("symbolic link"), "{e}");
        std::fs::remove_dir_all(&base).unwrap();
    }
}
