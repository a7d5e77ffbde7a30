//! The container process: PID 1 of the new PID namespace. It sets up the filesystem, the console, the
//! credentials and the security settings, then execs the command (or, with `--init`, forks it as PID 2
//! and stays as a minimal init). Any failure is sent to the parent over the channel before exiting with
//! the matching code.

use super::channel::{self, Msg};
use super::rootfs;
use super::seccomp;
use super::sys::{self, on, Fail, Result};
use crate::error::{EXIT_CANNOT_INVOKE, EXIT_NOT_FOUND};
use nix::errno::Errno;
use nix::sys::resource::{getrlimit, setrlimit, Resource};
use nix::sys::signal::{sigprocmask, SigSet, SigmaskHow};
use nix::unistd::{Gid, Uid};
use oci_spec::runtime::{LinuxCapabilities, PosixRlimitType, Spec};
use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// What the container process needs, prepared by the parent before clone.
pub struct Ctx {
    pub spec: Spec,
    pub rootfs: PathBuf,
    pub sock: RawFd,
    pub userns: bool,
    /// The signal mask the runtime had before it blocked the signals it forwards.
    pub saved_mask: SigSet,
}

/// Entry point after clone: never returns.
pub fn main(ctx: &Ctx) -> isize {
    let code = match setup_and_exec(ctx) {
        Ok(never) => match never {},
        Err(f) => {
            let _ = channel::send(ctx.sock, &Msg::Error { code: f.code, msg: f.msg.clone() });
            f.code
        }
    };
    sys::exit_now(code)
}

fn setup_and_exec(ctx: &Ctx) -> Result<std::convert::Infallible> {
    let spec = &ctx.spec;
    let process = spec.process().as_ref().ok_or_else(|| Fail::runtime("config.json has no process"))?;
    let linux = spec.linux().clone().unwrap_or_default();
    // Die with the runtime: a killed `warren __runtime` must not leave the container behind.
    let _ = sys::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);

    // The parent writes the id maps (nested user namespace) and the pid file, then says go.
    match channel::recv(ctx.sock).map_err(on("wait for the runtime"))? {
        Some(Msg::Go) => {}
        _ => return Err(Fail::runtime("the runtime did not start the container (id maps or pid file failed)")),
    }
    if ctx.userns {
        // Become root of the new namespace when root is mapped (keep-id maps the user elsewhere).
        let _ = nix::unistd::setresgid(Gid::from_raw(0), Gid::from_raw(0), Gid::from_raw(0));
        let _ = nix::unistd::setresuid(Uid::from_raw(0), Uid::from_raw(0), Uid::from_raw(0));
    }

    let cwd = process.cwd().clone();
    let mounts = spec.mounts().clone().unwrap_or_default();
    let devices = linux.devices().clone().unwrap_or_default();
    rootfs::prepare(&ctx.rootfs, &mounts, &devices, &cwd)?;

    let terminal = process.terminal().unwrap_or(false);
    let console = if terminal { Some(open_console(ctx.sock, true)?) } else { None };

    rootfs::mask(linux.masked_paths().as_deref().unwrap_or(&[]))?;
    rootfs::readonly(linux.readonly_paths().as_deref().unwrap_or(&[]))?;
    if spec.root().as_ref().and_then(|r| r.readonly()).unwrap_or(false) {
        rootfs::readonly_root()?;
    }
    if let Some(h) = spec.hostname() {
        nix::unistd::sethostname(h).map_err(on(format!("sethostname {h}")))?;
    }
    if let Some(d) = spec.domainname() {
        if !d.is_empty() {
            // SAFETY: a valid pointer/length pair for the duration of the call.
            let r = unsafe { libc::setdomainname(d.as_ptr() as *const libc::c_char, d.len()) };
            Errno::result(r).map_err(on(format!("setdomainname {d}")))?;
        }
    }
    start_process(process, &linux, console, &ctx.saved_mask)
}

/// What `warren __runtime exec` needs in the process it forks into the container's namespaces.
pub struct ExecCtx {
    pub spec: Spec,
    /// `/proc/PID/root` of the container's PID 1, opened before joining its mount namespace.
    pub root: OwnedFd,
    pub sock: RawFd,
    pub saved_mask: SigSet,
}

/// Entry point of the process `exec` forks after joining the container's namespaces: never returns.
pub fn exec_main(ctx: &ExecCtx) -> isize {
    let code = match exec_setup(ctx) {
        Ok(never) => match never {},
        Err(f) => {
            let _ = channel::send(ctx.sock, &Msg::Error { code: f.code, msg: f.msg.clone() });
            f.code
        }
    };
    sys::exit_now(code)
}

fn exec_setup(ctx: &ExecCtx) -> Result<std::convert::Infallible> {
    let _ = sys::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
    // As in `run`: go on once the runtime says so (it writes the pid file first).
    match channel::recv(ctx.sock).map_err(on("wait for the runtime"))? {
        Some(Msg::Go) => {}
        _ => return Err(Fail::runtime("the runtime did not start the exec process")),
    }
    let process = ctx.spec.process().as_ref().ok_or_else(|| Fail::runtime("the exec process is missing"))?;
    let linux = ctx.spec.linux().clone().unwrap_or_default();
    // The container's root, as its PID 1 sees it (after its pivot_root).
    nix::unistd::fchdir(ctx.root.as_raw_fd()).map_err(on("fchdir to the container's root"))?;
    nix::unistd::chroot(".").map_err(on("chroot to the container's root"))?;
    let console = if process.terminal().unwrap_or(false) { Some(open_console(ctx.sock, false)?) } else { None };
    start_process(process, &linux, console, &ctx.saved_mask)
}

/// The part `run` and `exec` share, once the process is in the container's filesystem: rlimits, the
/// console as stdio, seccomp, credentials and capabilities, no_new_privs, the environment, the working
/// directory, then exec.
fn start_process(
    process: &oci_spec::runtime::Process,
    linux: &oci_spec::runtime::Linux,
    console: Option<OwnedFd>,
    saved_mask: &SigSet,
) -> Result<std::convert::Infallible> {
    for rl in process.rlimits().iter().flatten() {
        set_rlimit(rl.typ(), rl.soft(), rl.hard())?;
    }
    if let Some(slave) = &console {
        nix::unistd::setsid().map_err(on("setsid"))?;
        sys::set_controlling_tty(slave.as_raw_fd()).map_err(on("make the console the controlling terminal"))?;
        for fd in 0..3 {
            nix::unistd::dup2(slave.as_raw_fd(), fd).map_err(on("dup the console onto stdio"))?;
        }
    }
    drop(console);

    // Seccomp: without no_new_privs the filter can only be loaded while we still hold CAP_SYS_ADMIN,
    // so before the credentials change (the profile must then allow setuid/capset/execve, as every
    // sensible profile does); with no_new_privs, as late as possible.
    let nnp = process.no_new_privileges().unwrap_or(false);
    let filter = match linux.seccomp() {
        Some(sc) => Some(seccomp::compile(sc).map_err(|e| Fail::runtime(format!("seccomp: {e}")))?),
        None => None,
    };
    if !nnp {
        if let Some(f) = &filter {
            sys::seccomp_load(f).map_err(on("load the seccomp filter"))?;
        }
    }
    let user = process.user();
    set_credentials(
        user.uid(),
        user.gid(),
        user.additional_gids().as_deref().unwrap_or(&[]),
        process.capabilities().as_ref(),
    )?;
    if nnp {
        sys::prctl(libc::PR_SET_NO_NEW_PRIVS, 1).map_err(on("prctl PR_SET_NO_NEW_PRIVS"))?;
        if let Some(f) = &filter {
            sys::seccomp_load(f).map_err(on("load the seccomp filter"))?;
        }
    }

    let cwd = process.cwd().clone();
    if let Some(mask) = user.umask() {
        nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(mask));
    }
    let env = environment(process.env().as_deref().unwrap_or(&[]), user.uid());
    nix::unistd::chdir(&cwd).map_err(on(format!("chdir {}", cwd.display())))?;
    let args = process.args().clone().unwrap_or_default();
    if args.is_empty() {
        return Err(Fail::runtime("config.json has no process.args"));
    }
    let path = find_executable(&args[0], &env)?;

    exec(&path, &args, &env, saved_mask)
}

/// Open a pty in the container's own devpts (so `tty` prints /dev/pts/0), bind its slave on
/// /dev/console, hand the master to the parent and wait until it has set the window size.
fn open_console(sock: RawFd, bind_console: bool) -> Result<OwnedFd> {
    use nix::fcntl::OFlag;
    let master =
        nix::pty::posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC).map_err(on("open /dev/ptmx"))?;
    nix::pty::grantpt(&master).map_err(on("grantpt"))?;
    nix::pty::unlockpt(&master).map_err(on("unlockpt"))?;
    let name = nix::pty::ptsname_r(&master).map_err(on("ptsname"))?;
    let slave: OwnedFd = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY | libc::O_CLOEXEC)
        .open(&name)
        .map_err(sys::io_on(format!("open {name}")))?
        .into();
    // `run` binds the slave on /dev/console; an `exec` session leaves the container's console alone.
    if bind_console {
        let console = Path::new("/dev/console");
        if std::fs::symlink_metadata(console).is_err() {
            let _ = std::fs::File::create(console);
        }
        if let Err(e) =
            nix::mount::mount(Some(name.as_str()), console, None::<&str>, nix::mount::MsFlags::MS_BIND, None::<&str>)
        {
            tracing::debug!("bind {name} on /dev/console: {}", e.desc());
        }
    }
    // SAFETY: `master` owns its descriptor; into_raw_fd hands ownership to the OwnedFd.
    let master: OwnedFd =
        unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(std::os::fd::IntoRawFd::into_raw_fd(master)) };
    channel::send(sock, &Msg::Tty(master)).map_err(on("send the console to the runtime"))?;
    match channel::recv(sock).map_err(on("wait for the runtime"))? {
        Some(Msg::Ack) => Ok(slave),
        _ => Err(Fail::runtime("the runtime did not acknowledge the console")),
    }
}

fn set_rlimit(typ: PosixRlimitType, soft: u64, hard: u64) -> Result<()> {
    let name = serde_json::to_value(typ).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default();
    let res = match typ {
        PosixRlimitType::RlimitCpu => Resource::RLIMIT_CPU,
        PosixRlimitType::RlimitFsize => Resource::RLIMIT_FSIZE,
        PosixRlimitType::RlimitData => Resource::RLIMIT_DATA,
        PosixRlimitType::RlimitStack => Resource::RLIMIT_STACK,
        PosixRlimitType::RlimitCore => Resource::RLIMIT_CORE,
        PosixRlimitType::RlimitRss => Resource::RLIMIT_RSS,
        PosixRlimitType::RlimitNproc => Resource::RLIMIT_NPROC,
        PosixRlimitType::RlimitNofile => Resource::RLIMIT_NOFILE,
        PosixRlimitType::RlimitMemlock => Resource::RLIMIT_MEMLOCK,
        PosixRlimitType::RlimitAs => Resource::RLIMIT_AS,
        PosixRlimitType::RlimitLocks => Resource::RLIMIT_LOCKS,
        PosixRlimitType::RlimitSigpending => Resource::RLIMIT_SIGPENDING,
        PosixRlimitType::RlimitMsgqueue => Resource::RLIMIT_MSGQUEUE,
        PosixRlimitType::RlimitNice => Resource::RLIMIT_NICE,
        PosixRlimitType::RlimitRtprio => Resource::RLIMIT_RTPRIO,
        PosixRlimitType::RlimitRttime => Resource::RLIMIT_RTTIME,
    };
    let (_, cur_hard) = getrlimit(res).map_err(on(format!("getrlimit {name}")))?;
    let (mut s, mut h) = (soft, hard);
    match setrlimit(res, s, h) {
        Ok(()) => Ok(()),
        Err(Errno::EPERM) if h > cur_hard => {
            // Raising a hard limit needs CAP_SYS_RESOURCE in the initial namespace.
            h = cur_hard;
            s = s.min(h);
            tracing::debug!("{name} {soft}:{hard} exceeds the hard limit {cur_hard}; using {s}:{h}");
            setrlimit(res, s, h).map_err(on(format!("setrlimit {name} {s}:{h}")))
        }
        Err(e) => Err(sys::errno_fail(format!("setrlimit {name} {s}:{h}"), e)),
    }
}

fn caps_of(set: &Option<oci_spec::runtime::Capabilities>) -> caps::CapsHashSet {
    set.iter()
        .flatten()
        .filter_map(|c| {
            let name = serde_json::to_value(c).ok()?.as_str()?.to_string();
            name.parse::<caps::Capability>().ok()
        })
        .collect()
}

/// Groups, gid, uid, then the capability sets of the spec (bounding first, while we still hold
/// CAP_SETPCAP; KEEPCAPS keeps the permitted set across setuid).
fn set_credentials(uid: u32, gid: u32, groups: &[u32], cs: Option<&LinuxCapabilities>) -> Result<()> {
    use caps::CapSet;
    let have = caps::read(None, CapSet::Permitted).unwrap_or_default();
    let (bounding, mut effective, mut permitted, mut inheritable, ambient) = match cs {
        Some(c) => (
            caps_of(c.bounding()),
            caps_of(c.effective()),
            caps_of(c.permitted()),
            caps_of(c.inheritable()),
            caps_of(c.ambient()),
        ),
        None => Default::default(),
    };
    for c in caps::all() {
        if !bounding.contains(&c) {
            match caps::drop(None, CapSet::Bounding, c) {
                Ok(()) => {}
                Err(e) => tracing::debug!("drop {c} from the bounding set: {e}"),
            }
        }
    }
    // Capabilities the runtime itself does not have cannot be granted (e.g. CAP_SYS_RESOURCE on a
    // host that withheld it): leave them out rather than fail.
    for set in [&mut effective, &mut permitted, &mut inheritable] {
        let missing: Vec<_> = set.difference(&have).cloned().collect();
        for c in missing {
            tracing::debug!("{c} is not available to the runtime; not granted");
            set.remove(&c);
        }
    }
    // Ambient capabilities must be permitted and inheritable.
    for c in &ambient {
        if have.contains(c) {
            permitted.insert(*c);
            inheritable.insert(*c);
        }
    }

    sys::prctl(libc::PR_SET_KEEPCAPS, 1).map_err(on("prctl PR_SET_KEEPCAPS"))?;
    let gids: Vec<Gid> = groups.iter().map(|g| Gid::from_raw(*g)).collect();
    if let Err(e) = nix::unistd::setgroups(&gids) {
        // With a single-id mapping setgroups is denied; that only matters if extra groups were asked.
        if groups.iter().any(|g| *g != gid) {
            return Err(sys::errno_fail(format!("setgroups {groups:?}"), e));
        }
        tracing::debug!("setgroups: {} (no additional groups requested)", e.desc());
    }
    let unmapped = |what: &'static str, id: u32| {
        move |e: Errno| {
            let hint = if e == Errno::EINVAL {
                format!(" ({what} {id} is not mapped in the container's user namespace: add a subordinate id range for the user, see docs/rootless.md)")
            } else {
                String::new()
            };
            Fail::runtime(format!("set{what} {id}: {}{hint}", e.desc()))
        }
    };
    let g = Gid::from_raw(gid);
    nix::unistd::setresgid(g, g, g).map_err(unmapped("gid", gid))?;
    let u = Uid::from_raw(uid);
    nix::unistd::setresuid(u, u, u).map_err(unmapped("uid", uid))?;

    let err = |what: &'static str| {
        move |e: caps::errors::CapsError| Fail::runtime(format!("set the {what} capabilities: {e}"))
    };
    // Order matters: effective must stay within permitted at every step, and inheritable may only be
    // raised from the permitted set we still hold.
    effective.retain(|c| permitted.contains(c));
    caps::set(None, CapSet::Inheritable, &inheritable).map_err(err("inheritable"))?;
    caps::set(None, CapSet::Effective, &effective).map_err(err("effective"))?;
    caps::set(None, CapSet::Permitted, &permitted).map_err(err("permitted"))?;
    if !ambient.is_empty() {
        for c in ambient.iter().filter(|c| permitted.contains(c)) {
            caps::raise(None, CapSet::Ambient, *c).map_err(err("ambient"))?;
        }
    }
    let _ = sys::prctl(libc::PR_SET_KEEPCAPS, 0);
    Ok(())
}

/// The process environment, with HOME from the container's /etc/passwd when the spec has none (as
/// crun does).
fn environment(env: &[String], uid: u32) -> Vec<String> {
    let mut env = env.to_vec();
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        let home = std::fs::read_to_string("/etc/passwd")
            .ok()
            .and_then(|p| {
                p.lines().find_map(|l| {
                    let f: Vec<&str> = l.split(':').collect();
                    (f.len() >= 6 && f[2].parse() == Ok(uid)).then(|| f[5].to_string())
                })
            })
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "/".into());
        env.push(format!("HOME={home}"));
    }
    env
}

fn is_executable(p: &Path) -> std::result::Result<(), Errno> {
    let md = std::fs::metadata(p).map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::ENOENT)))?;
    if md.is_dir() {
        return Err(Errno::EACCES);
    }
    nix::unistd::access(p, nix::unistd::AccessFlags::X_OK)
}

/// The path to exec for `arg0`: as is when it has a slash, else the first executable match in the
/// process's PATH. Not found → 127; found but not executable → 126, with crun's wording.
fn find_executable(arg0: &str, env: &[String]) -> Result<PathBuf> {
    if arg0.contains('/') {
        return match is_executable(Path::new(arg0)) {
            Ok(()) => Ok(arg0.into()),
            Err(Errno::ENOENT) | Err(Errno::ENOTDIR) => Err(Fail::new(
                EXIT_NOT_FOUND,
                format!("warren: executable file `{arg0}` not found: No such file or directory: OCI runtime attempted to invoke a command that was not found"),
            )),
            Err(e) => Err(Fail::new(
                EXIT_CANNOT_INVOKE,
                format!("warren: open executable `{arg0}`: {}: OCI permission denied", e.desc()),
            )),
        };
    }
    let path = env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    let mut denied = None;
    for dir in path.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let cand = Path::new(dir).join(arg0);
        match is_executable(&cand) {
            Ok(()) => return Ok(cand),
            Err(Errno::ENOENT) | Err(Errno::ENOTDIR) => {}
            Err(e) => {
                denied.get_or_insert((cand, e));
            }
        }
    }
    match denied {
        Some((cand, e)) => Err(Fail::new(
            EXIT_CANNOT_INVOKE,
            format!("warren: open executable `{}`: {}: OCI permission denied", cand.display(), e.desc()),
        )),
        None => Err(Fail::new(
            EXIT_NOT_FOUND,
            format!("warren: executable file `{arg0}` not found in $PATH: No such file or directory: OCI runtime attempted to invoke a command that was not found"),
        )),
    }
}

fn cstrings<'a>(v: impl Iterator<Item = &'a [u8]>) -> Result<Vec<CString>> {
    v.map(|s| CString::new(s).map_err(|_| Fail::runtime("an argument or variable contains a NUL byte"))).collect()
}

fn exec(path: &Path, args: &[String], env: &[String], mask: &SigSet) -> Result<std::convert::Infallible> {
    let cpath = sys::cstr(path)?;
    let cargs = cstrings(args.iter().map(|s| s.as_bytes()))?;
    let cenv = cstrings(env.iter().map(|s| s.as_bytes()))?;
    sys::cloexec_from_3();
    sys::reset_signal_dispositions();
    let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(mask), None);
    let e = nix::unistd::execve(&cpath, &cargs, &cenv).unwrap_err();
    Err(match e {
        Errno::ENOENT => Fail::new(
            EXIT_NOT_FOUND,
            format!("warren: exec `{}`: No such file or directory (a missing interpreter or loader?): OCI runtime attempted to invoke a command that was not found", path.display()),
        ),
        e => Fail::new(EXIT_CANNOT_INVOKE, format!("warren: exec `{}`: {}: OCI permission denied", path.display(), e.desc())),
    })
}
