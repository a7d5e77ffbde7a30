//! Create or join the engine's user namespace.
//!
//! Podman's model: a pause process keeps one user namespace and one mount namespace alive; every
//! command joins them (user first, then mount), so storage ownership and mounts are the same for all.
//!
//! Creating: the engine forks a child (the process is single-threaded, so the child may run Rust); the
//! child unshares the user namespace and waits; the engine, still outside, maps it (newuidmap/newgidmap
//! for subordinate ranges, or writes a single-id map itself); the child becomes root in it, unshares
//! the mount namespace, makes `/` private and reports ready; the engine opens the two namespaces
//! (holding them alive) and lets the child exec `warren __pause`. The engine then joins exactly as it
//! would join an existing pause process, so there is one join path. The two sides talk through a
//! socketpair with one small message enum; a child's failure travels back as text.
//!
//! A lock (flock on `RUN_DIR/pause.lock`) makes create-or-join atomic between concurrent commands.

use crate::{sys, Error, Mapping, MappingKind, Result, DOCS};
use nix::sched::{setns, unshare, CloneFlags};
use nix::unistd::{ForkResult, Gid, Pid, Uid};
use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::Command;

/// Set (to the `user:[INODE]` link of the namespace) once this process has entered the engine namespace;
/// inherited by children, which then know they are inside (if their namespace is that one).
pub const ENV_USERNS: &str = "_WARREN_USERNS";
/// `PID STARTTIME` of the pause process, in the runtime directory.
pub const PID_FILE: &str = "pause.pid";
const LOCK_FILE: &str = "pause.lock";

/// True when this process already runs inside Warren's engine namespace.
pub fn in_engine_namespace() -> bool {
    match std::env::var_os(ENV_USERNS) {
        Some(v) if !v.is_empty() => sys::self_userns_link().is_some_and(|l| l == v),
        _ => false,
    }
}

/// The namespaces of a pause process, opened (so they stay alive while we hold them).
struct Namespaces {
    pid: i32,
    user: File,
    mnt: File,
}

/// Join the namespace the pause process keeps alive, or create it (and the pause process).
/// Must be called while the process is single-threaded. Afterwards the process is uid 0 / gid 0 in the
/// namespace and its working directory is unchanged.
pub fn enter_engine_namespace(mapping: &Mapping, run_dir: &Path) -> Result<()> {
    if in_engine_namespace() || mapping.kind == MappingKind::Identity {
        return Ok(());
    }
    if let Some(n) = sys::thread_count().filter(|n| *n > 1) {
        return Err(Error::Other(format!(
            "cannot enter the user namespace: the process already runs {n} threads (it must enter before \
             starting any)"
        )));
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(run_dir)
        .map_err(|e| Error::io(format!("creating the runtime directory {}", run_dir.display()), e))?;
    let lock = lock(run_dir)?;
    let cwd = std::env::current_dir().ok();
    let ns = match find_pause(run_dir).map(open_namespaces) {
        Some(Ok(ns)) => {
            tracing::debug!("joining the engine namespace of pause process {}", ns.pid);
            check_same_mapping(ns.pid, mapping, run_dir);
            ns
        }
        Some(Err(e)) => {
            tracing::debug!("pause process gone while joining it ({e}): creating a new engine namespace");
            create(mapping, run_dir)?
        }
        None => create(mapping, run_dir)?,
    };
    join(&ns)?;
    drop(ns);
    drop(lock);
    if let Some(cwd) = cwd {
        // Joining a mount namespace moves the working directory to its root; come back.
        if let Err(e) = std::env::set_current_dir(&cwd) {
            tracing::debug!("cannot return to {} inside the engine namespace: {e}", cwd.display());
        }
    }
    if let Some(link) = sys::self_userns_link() {
        // Single-threaded (checked above): nothing reads the environment concurrently.
        std::env::set_var(ENV_USERNS, link);
    }
    Ok(())
}

/// Exclusive flock on `RUN_DIR/pause.lock`, released when dropped.
fn lock(run_dir: &Path) -> Result<nix::fcntl::Flock<File>> {
    let p = run_dir.join(LOCK_FILE);
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .mode(0o600)
        .open(&p)
        .map_err(|e| Error::io(format!("opening {}", p.display()), e))?;
    nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, e)| Error::io(format!("locking {}", p.display()), e.into()))
}

/// The pid of a live pause process of ours recorded in `RUN_DIR/pause.pid`.
fn find_pause(run_dir: &Path) -> Option<i32> {
    let text = std::fs::read_to_string(run_dir.join(PID_FILE)).ok()?;
    let (pid, start) = parse_pid_file(&text)?;
    let alive = is_our_pause(pid, start);
    if !alive {
        tracing::debug!("pause process {pid} from {} is gone", run_dir.join(PID_FILE).display());
    }
    alive.then_some(pid)
}

/// `PID STARTTIME` → (pid, start time).
fn parse_pid_file(text: &str) -> Option<(i32, u64)> {
    let mut it = text.split_whitespace();
    let pid: i32 = it.next()?.parse().ok().filter(|p| *p > 0)?;
    let start: u64 = it.next()?.parse().ok()?;
    Some((pid, start))
}

/// Same start time (not a recycled pid), not a zombie, runs `__pause`, and belongs to us.
fn is_our_pause(pid: i32, start: u64) -> bool {
    match sys::proc_start_time(pid) {
        Some((s, false)) if s == start => {}
        _ => return false,
    }
    let owner_ok =
        std::fs::metadata(format!("/proc/{pid}")).map(|m| m.uid() == nix::unistd::getuid().as_raw()).unwrap_or(false);
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    owner_ok && cmdline.split(|b| *b == 0).any(|a| a == crate::pause::SUBCOMMAND.as_bytes())
}

fn open_namespaces(pid: i32) -> Result<Namespaces> {
    let open = |what: &str| {
        let p = format!("/proc/{pid}/ns/{what}");
        File::open(&p).map_err(|e| Error::io(format!("opening {p}"), e))
    };
    let ns = Namespaces { pid, user: open("user")?, mnt: open("mnt")? };
    Ok(ns)
}

/// Warn (once) when the namespace being joined maps ids differently from what the host now allows,
/// e.g. subordinate ids were added after the pause process started.
fn check_same_mapping(pid: i32, mapping: &Mapping, run_dir: &Path) {
    let Ok(actual) = sys::read_map_of(&pid.to_string()) else {
        return;
    };
    if actual != mapping.map {
        let show = |t: String| t.trim_end().replace('\n', ", ");
        tracing::warn!(
            "the engine namespace (pause process {pid}) maps uids as \"{}\", not as now configured (\"{}\"); \
             to apply the new mapping, stop it with `kill {pid}` when no container runs (pid in {}, see {DOCS})",
            show(actual.uid_map_text()),
            show(mapping.map.uid_map_text()),
            run_dir.join(PID_FILE).display(),
        );
    }
}

/// setns into the user namespace, then the mount namespace; become root there.
fn join(ns: &Namespaces) -> Result<()> {
    let pid = ns.pid;
    setns(&ns.user, CloneFlags::CLONE_NEWUSER)
        .map_err(|e| Error::io(format!("joining the user namespace of pause process {pid} (setns)"), e.into()))?;
    setns(&ns.mnt, CloneFlags::CLONE_NEWNS)
        .map_err(|e| Error::io(format!("joining the mount namespace of pause process {pid} (setns)"), e.into()))?;
    become_root().map_err(|e| Error::io("setting uid/gid 0 inside the user namespace (setresuid)", e.into()))
}

fn become_root() -> nix::Result<()> {
    let (g, u) = (Gid::from_raw(0), Uid::from_raw(0));
    nix::unistd::setresgid(g, g, g)?;
    nix::unistd::setresuid(u, u, u)
}

/// What the two sides of the creation say to each other.
#[derive(Debug, PartialEq, Eq)]
enum Msg {
    /// child → engine: the user namespace exists, map it.
    Unshared,
    /// engine → child: uid_map and gid_map are written.
    Mapped,
    /// child → engine: root in the namespace, mount namespace made and private; open them now.
    Ready,
    /// engine → child: exec the pause process.
    Go,
    /// child → engine: what failed.
    Failed(String),
}

impl Msg {
    fn send(&self, s: &mut UnixStream) -> std::io::Result<()> {
        let mut buf = Vec::new();
        match self {
            Msg::Unshared => buf.push(b'U'),
            Msg::Mapped => buf.push(b'M'),
            Msg::Ready => buf.push(b'R'),
            Msg::Go => buf.push(b'G'),
            Msg::Failed(t) => {
                buf.push(b'F');
                buf.extend_from_slice(&(t.len() as u32).to_le_bytes());
                buf.extend_from_slice(t.as_bytes());
            }
        }
        s.write_all(&buf)
    }

    /// The next message; `None` at end of stream (the peer exited or exec'd).
    fn recv(s: &mut UnixStream) -> std::io::Result<Option<Msg>> {
        let mut tag = [0u8; 1];
        if s.read(&mut tag)? == 0 {
            return Ok(None);
        }
        Ok(Some(match tag[0] {
            b'U' => Msg::Unshared,
            b'M' => Msg::Mapped,
            b'R' => Msg::Ready,
            b'G' => Msg::Go,
            b'F' => {
                let mut len = [0u8; 4];
                s.read_exact(&mut len)?;
                let mut text = vec![0u8; u32::from_le_bytes(len).min(64 * 1024) as usize];
                s.read_exact(&mut text)?;
                Msg::Failed(String::from_utf8_lossy(&text).into_owned())
            }
            t => return Err(std::io::Error::other(format!("unexpected message byte {t}"))),
        }))
    }
}

/// Create the namespaces and the pause process in them; return them opened.
fn create(mapping: &Mapping, run_dir: &Path) -> Result<Namespaces> {
    let (mut sock, child_sock) = UnixStream::pair().map_err(|e| Error::io("socketpair", e))?;
    let devnull =
        OpenOptions::new().read(true).write(true).open("/dev/null").map_err(|e| Error::io("opening /dev/null", e))?;
    // Everything the child needs is prepared before the fork.
    let exe = CString::new("/proc/self/exe").expect("no NUL");
    let argv = [CString::new("warren").expect("no NUL"), CString::new(crate::pause::SUBCOMMAND).expect("no NUL")];
    match sys::fork()? {
        ForkResult::Child => {
            drop(sock);
            child(child_sock, &devnull, &exe, &argv)
        }
        ForkResult::Parent { child } => {
            drop(child_sock);
            drop(devnull);
            let r = parent(&mut sock, child.as_raw(), mapping, run_dir);
            if r.is_err() {
                let _ = nix::sys::signal::kill(child, nix::sys::signal::Signal::SIGKILL);
                let _ = nix::sys::wait::waitpid(child, None);
            }
            r
        }
    }
}

/// The forked child: becomes the pause process (or exits, reporting why).
fn child(mut sock: UnixStream, devnull: &File, exe: &CString, argv: &[CString]) -> ! {
    fn fail(sock: &mut UnixStream, what: String) -> ! {
        let _ = Msg::Failed(what).send(sock);
        sys::exit_child(1)
    }
    if let Err(e) = unshare(CloneFlags::CLONE_NEWUSER) {
        fail(&mut sock, format!("unshare(CLONE_NEWUSER): {}", e.desc()));
    }
    if Msg::Unshared.send(&mut sock).is_err() {
        sys::exit_child(1);
    }
    match Msg::recv(&mut sock) {
        Ok(Some(Msg::Mapped)) => {}
        _ => sys::exit_child(1),
    }
    if let Err(e) = become_root() {
        fail(&mut sock, format!("setresuid/setresgid(0) in the new user namespace: {}", e.desc()));
    }
    if let Err(e) = unshare(CloneFlags::CLONE_NEWNS) {
        fail(&mut sock, format!("unshare(CLONE_NEWNS): {}", e.desc()));
    }
    let flags = nix::mount::MsFlags::MS_REC | nix::mount::MsFlags::MS_PRIVATE;
    if let Err(e) = nix::mount::mount(None::<&str>, "/", None::<&str>, flags, None::<&str>) {
        fail(&mut sock, format!("making / private in the new mount namespace (mount --make-rprivate /): {}", e.desc()));
    }
    let _ = nix::unistd::setsid();
    let _ = nix::unistd::chdir("/");
    if Msg::Ready.send(&mut sock).is_err() {
        sys::exit_child(1);
    }
    match Msg::recv(&mut sock) {
        Ok(Some(Msg::Go)) => {}
        _ => sys::exit_child(1),
    }
    for fd in 0..3 {
        let _ = nix::unistd::dup2(devnull.as_raw_fd(), fd);
    }
    // On success the socket (close-on-exec) closes: the engine reads end-of-stream.
    // An empty environment: the pause process needs none, and keeps no copy of the user's.
    let e = nix::unistd::execve::<_, &std::ffi::CStr>(exe, argv, &[]).unwrap_err();
    fail(&mut sock, format!("exec /proc/self/exe {}: {}", crate::pause::SUBCOMMAND, e.desc()))
}

/// The engine's side of the creation.
fn parent(sock: &mut UnixStream, pid: i32, mapping: &Mapping, run_dir: &Path) -> Result<Namespaces> {
    let expect = |sock: &mut UnixStream, want: Msg, stage: &str| -> Result<()> {
        match Msg::recv(sock) {
            Ok(Some(m)) if m == want => Ok(()),
            Ok(Some(Msg::Failed(why))) => {
                Err(Error::Other(format!("creating the user namespace: {why}{}", hint(&why))))
            }
            Ok(other) => {
                Err(Error::Other(format!("creating the user namespace: child process {pid} {stage}: got {other:?}")))
            }
            Err(e) => Err(Error::io(format!("creating the user namespace: talking to child process {pid}"), e)),
        }
    };
    let talk = |r: std::io::Result<()>| r.map_err(|e| Error::io(format!("talking to child process {pid}"), e));
    expect(sock, Msg::Unshared, "did not create the namespace")?;
    write_mapping(pid, mapping)?;
    talk(Msg::Mapped.send(sock))?;
    expect(sock, Msg::Ready, "did not set up the mount namespace")?;
    let ns = open_namespaces(pid)?;
    talk(Msg::Go.send(sock))?;
    match Msg::recv(sock) {
        Ok(None) => match sys::proc_start_time(pid) {
            Some((start, _)) => {
                if let Err(e) = write_pid_file(run_dir, pid, start) {
                    tracing::debug!("recording the pause process: {e}");
                }
                tracing::debug!("created the engine namespace, kept by pause process {pid}");
            }
            None => tracing::debug!("pause process {pid} exited at once: continuing in the fresh namespace"),
        },
        other => {
            tracing::debug!("the pause process could not start ({other:?}): continuing in the fresh namespace");
            let _ = nix::sys::wait::waitpid(Pid::from_raw(pid), None);
        }
    }
    Ok(ns)
}

/// Likely causes of a failure to create a user namespace.
fn hint(why: &str) -> String {
    if why.starts_with("unshare(CLONE_NEWUSER)") {
        format!(
            " (unprivileged user namespaces may be disabled: check `sysctl user.max_user_namespaces` and, \
             where they exist, kernel.unprivileged_userns_clone and kernel.apparmor_restrict_unprivileged_userns; \
             see {DOCS})"
        )
    } else {
        String::new()
    }
}

/// Write the child's uid_map and gid_map: newuidmap/newgidmap for subordinate ranges, else a single id.
fn write_mapping(pid: i32, mapping: &Mapping) -> Result<()> {
    match mapping.kind {
        MappingKind::Subordinate => {
            run_helper("newuidmap", mapping.map.newuidmap_args(pid as u32), "/etc/subuid")?;
            run_helper("newgidmap", mapping.map.newgidmap_args(pid as u32), "/etc/subgid")
        }
        _ => {
            let write = |what: &str, text: String| {
                let p = format!("/proc/{pid}/{what}");
                std::fs::write(&p, &text)
                    .map_err(|e| Error::io(format!("writing {p} ({})", text.trim_end().replace('\n', ", ")), e))
            };
            // Without CAP_SETGID in the parent namespace the kernel only accepts a gid_map once
            // setgroups is denied.
            write("setgroups", "deny".into())?;
            write("uid_map", mapping.map.uid_map_text())?;
            write("gid_map", mapping.map.gid_map_text())
        }
    }
}

fn run_helper(tool: &str, args: Vec<String>, file: &str) -> Result<()> {
    let line = format!("{tool} {}", args.join(" "));
    let program = crate::find_helper(tool).unwrap_or_else(|| tool.into());
    tracing::debug!("running {line}");
    let out = Command::new(&program).args(&args).output().map_err(|e| {
        Error::io(format!("{line}: cannot run {} (install the uidmap package; see {DOCS})", program.display()), e)
    })?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let msg = stderr.trim().trim_start_matches(&format!("{tool}:")).trim();
    let msg = if msg.is_empty() { out.status.to_string() } else { msg.replace('\n', "; ") };
    Err(Error::Other(format!(
        "{line}: {msg} — check that {file} gives your user these ranges and that {} is setuid root \
         (or has the cap_set{}id capability); see {DOCS}",
        program.display(),
        if tool == "newuidmap" { "u" } else { "g" }
    )))
}

/// Record the pause process atomically (temporary file, then rename).
fn write_pid_file(run_dir: &Path, pid: i32, start: u64) -> std::io::Result<()> {
    let tmp = run_dir.join(format!(".{PID_FILE}.{}", std::process::id()));
    std::fs::write(&tmp, format!("{pid} {start}\n"))?;
    std::fs::rename(&tmp, run_dir.join(PID_FILE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helper_failure_names_the_command_the_cause_and_the_fix() {
        // A pid that cannot exist: newuidmap refuses (or, without the uidmap package, cannot run).
        let args: Vec<String> = ["999999999", "0", "1002", "1"].iter().map(|s| s.to_string()).collect();
        let e = run_helper("newuidmap", args, "/etc/subuid").unwrap_err().to_string();
        assert!(e.starts_with("newuidmap 999999999 0 1002 1: "), "{e}");
        assert!(e.contains("docs/rootless.md"), "{e}");
        if crate::find_helper("newuidmap").is_some() {
            assert!(e.contains("Could not open proc directory") && e.contains("/etc/subuid"), "{e}");
            assert!(!e.contains("newuidmap: "), "tool prefix not stripped: {e}");
        }
    }

    #[test]
    fn pid_file_round_trip() {
        assert_eq!(parse_pid_file("123 456\n"), Some((123, 456)));
        assert_eq!(parse_pid_file("123\n"), None);
        assert_eq!(parse_pid_file("0 1\n"), None);
        assert_eq!(parse_pid_file("x 1\n"), None);
        assert_eq!(parse_pid_file(""), None);
    }

    #[test]
    fn messages_round_trip() {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        for m in [Msg::Unshared, Msg::Mapped, Msg::Ready, Msg::Go, Msg::Failed("unshare: EPERM".into())] {
            m.send(&mut a).unwrap();
            assert_eq!(Msg::recv(&mut b).unwrap(), Some(m));
        }
        drop(a);
        assert_eq!(Msg::recv(&mut b).unwrap(), None);
    }

    #[test]
    fn our_own_process_is_not_a_pause_process() {
        let me = std::process::id() as i32;
        let (start, zombie) = sys::proc_start_time(me).unwrap();
        assert!(!zombie);
        assert!(!is_our_pause(me, start));
        assert!(!is_our_pause(me, start + 1));
    }

    #[test]
    fn outside_the_namespace_we_are_not_in_it() {
        // The variable names another namespace than ours: not inside.
        assert!(sys::self_userns_link().is_some());
        std::env::set_var(ENV_USERNS, "user:[1]");
        assert!(!in_engine_namespace());
        std::env::remove_var(ENV_USERNS);
    }
}
