//! User-mode networking for Warren.
//!
//! A container that is not on the host network gets its own network namespace, created by the engine
//! before the container ([`netns::create`]: a file under the run directory that the namespace is
//! bind-mounted on). A launcher then connects that namespace to the host:
//!
//! - [`pasta`] (Debian package `passt`), the default when it is on PATH: it copies the host's addresses
//!   and routes into the namespace and forwards published ports (`-t`/`-u`). It daemonizes once the
//!   namespace is configured and quits when the namespace file is deleted.
//! - [`slirp`] (`slirp4netns`), the fallback: a tap device with 10.0.2.100/24, published ports added
//!   through its API socket. It stays a child of the monitor and exits with it (`--exit-fd`).
//! - `none`: the namespace with only `lo` (up). `host`: no namespace. `ns:PATH`: an existing namespace.
//!   `container:NAME`: another container's namespace.
//!
//! The runtime joins the namespace by path (`linux.namespaces[].path` in config.json). Teardown kills the
//! launcher and removes the namespace file ([`netns::remove`]); both are idempotent.
//!
//! Everything that decides *what* to run is pure and unit-tested ([`pasta::args`], [`slirp::args`],
//! [`ports::parse_publish`], [`etc::resolv_conf`], [`etc::hosts`]); the functions that run things
//! ([`pasta::start`], [`slirp::start`]) are exercised by the end-to-end tests.

pub mod etc;
pub mod mode;
pub mod netns;
pub mod pasta;
pub mod ports;
pub mod slirp;

pub use mode::NetworkMode;
pub use ports::PortMapping;

/// A networking failure, worded for the user: what failed, why, and what to do.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Error(pub String);

impl Error {
    pub fn new(msg: impl Into<String>) -> Error {
        Error(msg.into())
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// Close every descriptor from `first` on (in a child between fork and exec: launchers run in the
/// background and must not keep the engine's pipes open).
pub(crate) fn close_fds_from(first: i32) {
    // SAFETY: close_range(2) only closes descriptors; async-signal-safe.
    unsafe {
        libc::syscall(libc::SYS_close_range, first as libc::c_uint, libc::c_uint::MAX, 0 as libc::c_uint);
    }
}
