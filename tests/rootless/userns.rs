//! End-to-end: the engine's user namespace, as `dev` (subordinate ids), `hpc` (none) and root.
//!
//! Self-contained (std only) so it does not depend on the registry: run as root, it switches to the test
//! users with `runuser`. Every test gets its own runtime directory (a private XDG_RUNTIME_DIR), so each has
//! its own pause process and tests can run in parallel and kill theirs; the guard kills it at the end.
//! Hook: `mod userns;` in tests/rootless/main.rs.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const PATH_ENV: &str = "/usr/local/bin:/usr/bin:/bin";
const BASE: &str = "/tmp/warren-userns-tests";

fn bin() -> PathBuf {
    std::env::var_os("WARREN_BIN").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_warren")))
}

struct User {
    name: String,
    uid: u32,
    gid: u32,
    home: String,
}

fn user(name: &str) -> User {
    assert!(nix_is_root(), "the userns end-to-end tests must run as root (they switch to dev/hpc with runuser)");
    let passwd = std::fs::read_to_string("/etc/passwd").expect("reading /etc/passwd");
    passwd
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() >= 7 && f[0] == name).then(|| User {
                name: name.into(),
                uid: f[2].parse().unwrap(),
                gid: f[3].parse().unwrap(),
                home: f[5].into(),
            })
        })
        .unwrap_or_else(|| {
            panic!("user {name} does not exist: set up the test users (scripts/test-env.sh or shared/lab/setup.sh)")
        })
}

fn nix_is_root() -> bool {
    std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false)
}

/// The user's first range in /etc/subuid (by name or uid).
fn subuid_of(u: &User) -> (u32, u32) {
    let text = std::fs::read_to_string("/etc/subuid").unwrap_or_default();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() == 3 && (f[0] == u.name || f[0] == u.uid.to_string()))
                .then(|| (f[1].parse().unwrap(), f[2].parse().unwrap()))
        })
        .unwrap_or_else(|| panic!("{} has no /etc/subuid line: the test environment is incomplete", u.name))
}

/// A private runtime directory for one test; on drop, kills the pause process recorded there.
struct RunDir {
    xdg: PathBuf,
}

impl RunDir {
    fn new(u: &User, test: &str) -> RunDir {
        std::fs::create_dir_all(BASE).unwrap();
        std::fs::set_permissions(BASE, std::fs::Permissions::from_mode(0o755)).unwrap();
        let xdg = Path::new(BASE).join(format!("{test}-{}-{}", u.name, std::process::id()));
        let _ = std::fs::remove_dir_all(&xdg);
        std::fs::create_dir(&xdg).unwrap();
        std::fs::set_permissions(&xdg, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::os::unix::fs::chown(&xdg, Some(u.uid), Some(u.gid)).unwrap();
        RunDir { xdg }
    }

    fn pause_pid(&self) -> Option<i32> {
        let text = std::fs::read_to_string(self.xdg.join("warren/pause.pid")).ok()?;
        text.split_whitespace().next()?.parse().ok()
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        if let Some(pid) = self.pause_pid() {
            let _ = Command::new("kill").arg(pid.to_string()).status();
        }
        let _ = std::fs::remove_dir_all(&self.xdg);
    }
}

/// `warren ARGS` as `u` with a clean environment; `xdg` None leaves XDG_RUNTIME_DIR unset.
fn warren_as(u: &User, xdg: Option<&Path>, args: &[&str]) -> Output {
    let mut c = Command::new("runuser");
    c.args(["-u", &u.name, "--", "env", "-i"])
        .arg(format!("HOME={}", u.home))
        .arg(format!("USER={}", u.name))
        .arg(format!("PATH={PATH_ENV}"));
    if let Some(x) = xdg {
        c.arg(format!("XDG_RUNTIME_DIR={}", x.display()));
    }
    c.current_dir("/tmp").arg(bin()).args(args);
    c.output().expect("running runuser")
}

fn ok(o: &Output, what: &str) -> String {
    assert!(
        o.status.success(),
        "{what}: exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Whitespace-normalised lines of a uid_map.
fn map_lines(text: &str) -> Vec<String> {
    text.lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).filter(|l| !l.is_empty()).collect()
}

fn comm(pid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default().trim().to_string()
}

#[test]
fn dev_gets_its_subordinate_range() {
    let dev = user("dev");
    let (start, count) = subuid_of(&dev);
    let rd = RunDir::new(&dev, "subordinate");
    let o = warren_as(&dev, Some(&rd.xdg), &["unshare", "cat", "/proc/self/uid_map", "/proc/self/gid_map"]);
    let out = ok(&o, "warren unshare cat uid_map");
    let want_uid = [format!("0 {} 1", dev.uid), format!("1 {start} {count}")];
    let lines = map_lines(&out);
    assert_eq!(lines[..2], want_uid, "uid_map:\n{out}");
    assert_eq!(lines[2], format!("0 {} 1", dev.gid), "gid_map:\n{out}");
    assert_eq!(lines.len(), 4, "{out}");
    assert!(o.stderr.is_empty(), "no warning expected: {}", String::from_utf8_lossy(&o.stderr));

    let ids = ok(&warren_as(&dev, Some(&rd.xdg), &["unshare", "sh", "-c", "id -u; id -g"]), "id");
    assert_eq!(ids, "0\n0\n");
}

#[test]
fn dev_commands_share_one_namespace_kept_by_the_pause_process() {
    let dev = user("dev");
    let rd = RunDir::new(&dev, "pause");
    let ns = |what| ok(&warren_as(&dev, Some(&rd.xdg), &["unshare", "readlink", "/proc/self/ns/user"]), what);
    let first = ns("first unshare");
    let second = ns("second unshare");
    assert!(first.starts_with("user:["), "{first}");
    assert_eq!(first, second, "the second command did not join the first one's namespace");
    let pid = rd.pause_pid().expect("no pause.pid in the runtime directory");
    assert_eq!(comm(pid), "warren-pause");
    let link = std::fs::read_link(format!("/proc/{pid}/ns/user")).unwrap();
    assert_eq!(link.to_string_lossy(), first.trim(), "the pause process is not in the namespace");
    // The pause process keeps nothing of the user's open and sits in /.
    assert_eq!(std::fs::read_link(format!("/proc/{pid}/cwd")).unwrap(), Path::new("/"));
    let fds: Vec<_> = std::fs::read_dir(format!("/proc/{pid}/fd")).unwrap().collect();
    assert_eq!(fds.len(), 3, "pause process holds more than stdio");

    // Killing it makes the next command create a new one, which later commands join.
    assert!(Command::new("kill").arg(pid.to_string()).status().unwrap().success());
    for _ in 0..50 {
        if comm(pid) != "warren-pause"
            || std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default().contains(") Z")
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let third = ns("unshare after killing the pause process");
    let new_pid = rd.pause_pid().unwrap();
    assert_ne!(new_pid, pid, "pause.pid still names the killed process");
    // The new pause process names itself as its first act; give a loaded machine a moment.
    for _ in 0..100 {
        if comm(new_pid) == "warren-pause" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(comm(new_pid), "warren-pause");
    assert_eq!(ns("unshare after the new pause process"), third);
}

#[test]
fn concurrent_first_commands_create_one_namespace() {
    let dev = user("dev");
    let rd = RunDir::new(&dev, "concurrent");
    let outs: Vec<String> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    ok(&warren_as(&dev, Some(&rd.xdg), &["unshare", "readlink", "/proc/self/ns/user"]), "unshare")
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(outs.iter().all(|o| *o == outs[0]), "different namespaces: {outs:?}");
}

#[test]
fn hpc_gets_a_single_id_and_one_warning() {
    let hpc = user("hpc");
    let rd = RunDir::new(&hpc, "single");
    let o = warren_as(&hpc, Some(&rd.xdg), &["unshare", "cat", "/proc/self/uid_map"]);
    let out = ok(&o, "warren unshare as hpc");
    assert_eq!(map_lines(&out), [format!("0 {} 1", hpc.uid)]);
    let err = String::from_utf8_lossy(&o.stderr);
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "want exactly one warning line, got:\n{err}");
    assert!(lines[0].contains("WARN") && lines[0].contains("/etc/subuid"), "{err}");
    assert!(lines[0].contains("usermod --add-subuids") && lines[0].contains("docs/rootless.md"), "{err}");
    // What Warren does (owners squashed to root), in the style of every message: `WARN text`.
    let want = format!("WARN using a single-id user namespace: no line for user hpc (uid {}) in /etc/subuid", hpc.uid);
    assert!(lines[0].starts_with(&want), "{err}");
    assert!(lines[0].contains("stored as owned by the container's root"), "{err}");
    // docs/rootless.md quotes the warning as it is (for the uid the test environment gives hpc, 1001).
    let docs = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/rootless.md")).unwrap();
    let quoted = docs.lines().find(|l| l.starts_with("WARN using a single-id")).expect("the quote in docs/rootless.md");
    assert_eq!(quoted.replace("(uid 1001)", &format!("(uid {})", hpc.uid)), lines[0], "docs/rootless.md is stale");
    // Joining the existing namespace warns the same single time.
    let o = warren_as(&hpc, Some(&rd.xdg), &["unshare", "id", "-u"]);
    assert_eq!(ok(&o, "second unshare as hpc"), "0\n");
    assert_eq!(String::from_utf8_lossy(&o.stderr).matches("WARN").count(), 1);
}

#[test]
fn another_users_runtime_dir_is_never_used() {
    let dev = user("dev");
    let hpc = user("hpc");
    // hpc's private directory, as a stale XDG_RUNTIME_DIR after `su` would name it.
    let foreign = RunDir::new(&hpc, "foreign");
    let o = warren_as(&dev, Some(&foreign.xdg), &["unshare", "sh", "-c", "echo $CONTAINERS_RUNROOT"]);
    let out = ok(&o, "unshare with another user's XDG_RUNTIME_DIR");
    let fallback = format!("/tmp/warren-run-{}", dev.uid);
    assert_eq!(out.trim(), fallback);
    let m = std::fs::symlink_metadata(&fallback).unwrap();
    assert_eq!((m.uid(), m.mode() & 0o777), (dev.uid, 0o700));
    assert!(!foreign.xdg.join("warren").exists(), "wrote into another user's runtime directory");
    // /run/user/0 (root's, or missing) is no better.
    let o = warren_as(&dev, Some(Path::new("/run/user/0")), &["unshare", "sh", "-c", "echo $CONTAINERS_RUNROOT"]);
    assert_eq!(ok(&o, "unshare with XDG_RUNTIME_DIR=/run/user/0").trim(), fallback);
}

#[test]
fn unshare_exit_status_and_working_directory() {
    let dev = user("dev");
    let rd = RunDir::new(&dev, "status");
    let o = warren_as(&dev, Some(&rd.xdg), &["unshare", "sh", "-c", "exit 7"]);
    assert_eq!(o.status.code(), Some(7));
    let o = warren_as(&dev, Some(&rd.xdg), &["unshare", "no-such-command-xyz"]);
    assert_eq!(o.status.code(), Some(127), "{}", String::from_utf8_lossy(&o.stderr));
    let o = warren_as(&dev, Some(&rd.xdg), &["unshare", "/etc/passwd"]);
    assert_eq!(o.status.code(), Some(126), "{}", String::from_utf8_lossy(&o.stderr));
    // Joining the mount namespace must not lose the working directory (warren_as runs in /tmp).
    assert_eq!(ok(&warren_as(&dev, Some(&rd.xdg), &["unshare", "pwd"]), "pwd"), "/tmp\n");
    // A warren started inside is already there: same namespace, same mapping.
    let nested = ok(
        &warren_as(&dev, Some(&rd.xdg), &["unshare", bin().to_str().unwrap(), "unshare", "cat", "/proc/self/uid_map"]),
        "nested unshare",
    );
    assert_eq!(map_lines(&nested)[0], format!("0 {} 1", dev.uid));
}

#[test]
fn version_never_needs_the_namespace() {
    let hpc = user("hpc");
    let o = warren_as(&hpc, None, &["version"]);
    let out = ok(&o, "warren version as hpc without XDG_RUNTIME_DIR");
    assert!(out.contains("Version:"), "{out}");
    assert!(o.stderr.is_empty(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn root_runs_with_the_identity_mapping() {
    let out = Command::new(bin()).args(["unshare", "cat", "/proc/self/uid_map"]).output().unwrap();
    assert_eq!(map_lines(&ok(&out, "warren unshare as root")), ["0 0 4294967295"]);
}
