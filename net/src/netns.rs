//! The container's network namespace as a file: a new namespace (with `lo` up) bind-mounted on
//! `RUNDIR/netns/ID`, so pasta/slirp4netns and the runtime can join it by path before the container's
//! process exists. Created from a short-lived thread (a namespace is per thread: the engine's own
//! network namespace does not change), in the engine's user and mount namespaces.

use std::path::Path;

use crate::{Error, Result};

/// Create a new network namespace with `lo` up and bind-mount it on `path` (created, parents too).
pub fn create(path: &Path) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::new(format!("creating {}: {e}", dir.display())))?;
    }
    std::fs::File::create(path).map_err(|e| Error::new(format!("creating {}: {e}", path.display())))?;
    let target = path.to_path_buf();
    let r = std::thread::spawn(move || -> Result<()> {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).map_err(|e| {
            Error::new(format!(
                "creating a network namespace (unshare CLONE_NEWNET): {}; without user namespaces use --network host",
                e.desc()
            ))
        })?;
        if let Err(e) = loopback_up() {
            tracing::debug!("bringing lo up in the new network namespace: {e}");
        }
        nix::mount::mount(
            Some("/proc/thread-self/ns/net"),
            &target,
            None::<&str>,
            nix::mount::MsFlags::MS_BIND,
            None::<&str>,
        )
        .map_err(|e| Error::new(format!("bind-mounting the network namespace on {}: {}", target.display(), e.desc())))
    })
    .join()
    .unwrap_or_else(|_| Err(Error::new("the network namespace thread panicked")));
    if r.is_err() {
        let _ = std::fs::remove_file(path);
    }
    r
}

/// `ip link set lo up` in the calling thread's network namespace.
fn loopback_up() -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    // Any AF_INET datagram socket will do for the interface ioctls.
    let sock = std::net::UdpSocket::bind("0.0.0.0:0")?;
    // SAFETY: ifreq is plain old data; the name is NUL-terminated within IFNAMSIZ; the ioctls read and
    // write only that struct.
    unsafe {
        let mut req: libc::ifreq = std::mem::zeroed();
        for (i, b) in b"lo\0".iter().enumerate() {
            req.ifr_name[i] = *b as libc::c_char;
        }
        if libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) < 0 {
            return Err(std::io::Error::last_os_error());
        }
        req.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
        if libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &req) < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Unmount and delete a namespace file. Idempotent: a missing file or a file that is not mounted here
/// (another mount namespace) is fine.
pub fn remove(path: &Path) -> Result<()> {
    match nix::mount::umount2(path, nix::mount::MntFlags::MNT_DETACH) {
        Ok(()) | Err(nix::errno::Errno::EINVAL) | Err(nix::errno::Errno::ENOENT) | Err(nix::errno::Errno::EPERM) => {}
        Err(e) => return Err(Error::new(format!("unmounting {}: {}", path.display(), e.desc()))),
    }
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::new(format!("removing {}: {e}", path.display()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remove_is_idempotent() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("netns/x");
        remove(&p).unwrap();
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, "").unwrap();
        remove(&p).unwrap();
        assert!(!p.exists());
        remove(&p).unwrap();
    }
}
