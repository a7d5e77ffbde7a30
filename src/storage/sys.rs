//! The few raw syscalls storage needs that nix 0.29 does not wrap (extended attributes, syncfs).
//! Every `unsafe` block of the storage module lives here.

use std::ffi::{CStr, CString, OsStr};
use std::io;
use std::os::fd::RawFd;
use std::os::unix::ffi::OsStrExt;

fn cstring(s: &OsStr) -> io::Result<CString> {
    CString::new(s.as_bytes()).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "name contains a NUL byte"))
}

fn check(ret: libc::c_int) -> io::Result<()> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// `fsetxattr(fd, name, value, 0)`.
pub fn fsetxattr(fd: RawFd, name: &OsStr, value: &[u8]) -> io::Result<()> {
    let name = cstring(name)?;
    // SAFETY: `name` is a NUL-terminated string and `value` a live slice whose length we pass; the
    // kernel only reads them.
    check(unsafe { libc::fsetxattr(fd, name.as_ptr(), value.as_ptr().cast(), value.len(), 0) })
}

/// The value of one attribute of an open file, `None` when it is not set.
pub fn fgetxattr(fd: RawFd, name: &OsStr) -> io::Result<Option<Vec<u8>>> {
    let name = cstring(name)?;
    let mut buf = vec![0u8; 256];
    loop {
        // SAFETY: the buffer pointer and length describe a live, writable Vec.
        let n = unsafe { libc::fgetxattr(fd, name.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
        if n >= 0 {
            buf.truncate(n as usize);
            return Ok(Some(buf));
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::ENODATA) | Some(libc::ENOTSUP) => return Ok(None),
            Some(libc::ERANGE) if buf.len() < (1 << 20) => buf.resize(buf.len() * 4, 0),
            _ => return Err(e),
        }
    }
}

/// The names of the attributes of an open file.
pub fn flistxattr(fd: RawFd) -> io::Result<Vec<Vec<u8>>> {
    let mut buf = vec![0u8; 1024];
    let n = loop {
        // SAFETY: the buffer pointer and length describe a live, writable Vec.
        let n = unsafe { libc::flistxattr(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n >= 0 {
            break n as usize;
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::ENOTSUP) => return Ok(Vec::new()),
            Some(libc::ERANGE) if buf.len() < (1 << 20) => buf.resize(buf.len() * 4, 0),
            _ => return Err(e),
        }
    };
    buf.truncate(n);
    Ok(buf.split(|b| *b == 0).filter(|s| !s.is_empty()).map(<[u8]>::to_vec).collect())
}

/// Flush the whole filesystem holding `fd` (one call instead of an fsync per extracted file).
pub fn syncfs(fd: RawFd) -> io::Result<()> {
    // SAFETY: syncfs only takes a descriptor.
    check(unsafe { libc::syncfs(fd) })
}

/// A C string from a directory entry name, as an `OsStr`.
pub fn cstr_os(c: &CStr) -> &OsStr {
    OsStr::from_bytes(c.to_bytes())
}

/// `openat(dirfd, name, flags | O_CLOEXEC, mode)` as an owned descriptor.
pub fn openat(dirfd: RawFd, name: &OsStr, flags: libc::c_int, mode: libc::mode_t) -> io::Result<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    let name = cstring(name)?;
    // SAFETY: `name` is NUL-terminated; the kernel returns a new descriptor or -1.
    let fd = unsafe { libc::openat(dirfd, name.as_ptr(), flags | libc::O_CLOEXEC, mode as libc::c_uint) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a fresh descriptor nobody else owns.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) })
}
