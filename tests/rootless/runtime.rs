//! End-to-end: the embedded OCI runtime (`warren __runtime run --bundle B ID`) on a busybox rootfs, as
//! root and as `dev` (subordinate ids) and `hpc` (single id) inside `warren unshare`; crun accepting the
//! same config.json (root).
//!
//! Self-contained (std + the warren library for the spec), so it needs neither the registry nor
//! images: the rootfs is the host's static busybox (Debian's busybox-static) with applet symlinks. Run
//! as root; it switches users with `runuser`. Each case has its own directory (bundle, rootfs, storage
//! root, private XDG_RUNTIME_DIR whose pause process is killed at the end).
//! Hook: `mod runtime;` in tests/rootless/main.rs.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use warren::plan::ContainerPlan;

const BASE: &str = "/tmp/warren-runtime-tests";
const PATH_ENV: &str = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";
const BUSYBOX: &str = "/bin/busybox";
/// Podman's default capability set as /proc/PID/status shows it.
const DEFAULT_CAPS_HEX: &str = "00000000800405fb";

fn bin() -> PathBuf {
    std::env::var_os("WARREN_BIN").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_warren")))
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Who {
    Root,
    Dev,
    Hpc,
}

struct User {
    name: String,
    uid: u32,
    gid: u32,
    home: String,
}

fn user(who: Who) -> User {
    let name = match who {
        Who::Root => "root",
        Who::Dev => "dev",
        Who::Hpc => "hpc",
    };
    assert!(
        std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false),
        "the runtime end-to-end tests must run as root (they switch to dev/hpc with runuser)"
    );
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
        .unwrap_or_else(|| panic!("user {name} does not exist: set up the test users (scripts/test-env.sh)"))
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// One container: its directory with rootfs/, bundle/, store/ and run/ (XDG_RUNTIME_DIR).
struct Case {
    who: Who,
    user: User,
    dir: PathBuf,
    plan: ContainerPlan,
}

impl Case {
    fn new(who: Who, test: &str, args: &[&str]) -> Case {
        assert!(
            Path::new(BUSYBOX).is_file(),
            "{BUSYBOX} is missing: install busybox-static (the test environment has it)"
        );
        let user = user(who);
        std::fs::create_dir_all(BASE).unwrap();
        std::fs::set_permissions(BASE, std::fs::Permissions::from_mode(0o755)).unwrap();
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir = Path::new(BASE).join(format!("{test}-{}-{}-{n}", user.name, std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let rootfs = dir.join("rootfs");
        for d in ["bin", "etc", "tmp", "data"] {
            std::fs::create_dir_all(rootfs.join(d)).unwrap();
        }
        std::fs::copy(BUSYBOX, rootfs.join("bin/busybox")).unwrap();
        let applets = Command::new(BUSYBOX).arg("--list").output().unwrap();
        for a in String::from_utf8_lossy(&applets.stdout).lines() {
            if a != "busybox" {
                let _ = std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(a));
            }
        }
        std::fs::write(rootfs.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\nu:x:1000:1000::/home/u:/bin/sh\n")
            .unwrap();
        std::fs::write(rootfs.join("etc/group"), "root:x:0:\ntty:x:5:\nu:x:1000:\n").unwrap();
        std::fs::write(rootfs.join("bin/notexec"), "echo not executable\n").unwrap();
        std::fs::set_permissions(rootfs.join("bin/notexec"), std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::set_permissions(rootfs.join("tmp"), std::fs::Permissions::from_mode(0o1777)).unwrap();
        for d in ["bundle", "store", "run"] {
            std::fs::create_dir_all(dir.join(d)).unwrap();
        }
        std::fs::set_permissions(dir.join("run"), std::fs::Permissions::from_mode(0o700)).unwrap();
        let ok = Command::new("chown").arg("-R").arg(format!("{}:{}", user.uid, user.gid)).arg(&dir).status().unwrap();
        assert!(ok.success());
        let plan = ContainerPlan {
            id: format!("{:064x}", n + 1),
            name: format!("{test}-{n}"),
            rootfs,
            args: args.iter().map(|s| s.to_string()).collect(),
            env: vec![format!("PATH={}", warren::plan::DEFAULT_PATH), "TERM=xterm".into()],
            cwd: "/".into(),
            hostname: "warrenbox".into(),
            capabilities: warren::runtime::spec::capabilities(&[], &[], false).unwrap(),
            ..Default::default()
        };
        Case { who, user, dir, plan }
    }

    fn bundle(&self) -> PathBuf {
        self.dir.join("bundle")
    }

    /// `--init`: the init in the bundle, mounted at /run/warren-init (what `run` does).
    fn with_init(&mut self) {
        self.plan.init = true;
        let m = warren::run::init_mount(&self.bundle()).expect("writing the init");
        self.plan.mounts.push(m);
    }

    fn write_spec(&self) {
        let spec = warren::runtime::spec::build(&self.plan).expect("building the spec");
        warren::runtime::spec::write(&self.bundle(), &spec).expect("writing config.json");
        let cfg = self.bundle().join("config.json");
        std::os::unix::fs::chown(&cfg, Some(self.user.uid), Some(self.user.gid)).unwrap();
    }

    /// argv that runs the embedded runtime as this case's user (inside `warren unshare` when rootless).
    fn runtime_argv(&self, extra: &[&str]) -> Vec<String> {
        let b = bin().display().to_string();
        // --foreground: the runtime stays in the terminal's foreground process group (tty tests).
        let mut v = vec!["timeout".to_string(), "--foreground".into(), "-k".into(), "5".into(), "60".into(), b.clone()];
        if self.who != Who::Root {
            v.extend(["--root".into(), self.dir.join("store").display().to_string(), "unshare".into(), b]);
        }
        v.extend(["__runtime".into(), "run".into(), "--bundle".into(), self.bundle().display().to_string()]);
        v.extend(extra.iter().map(|s| s.to_string()));
        v.push(self.plan.name.clone());
        v
    }

    /// A Command that runs `argv` as the case's user with a clean environment.
    fn command(&self, argv: &[String]) -> Command {
        let u = &self.user;
        let mut c = if self.who == Who::Root {
            Command::new("env")
        } else {
            let mut c = Command::new("runuser");
            c.args(["-u", &u.name, "--", "env"]);
            c
        };
        c.arg("-i").arg(format!("HOME={}", u.home)).arg(format!("USER={}", u.name)).arg(format!("PATH={PATH_ENV}"));
        if self.who != Who::Root {
            c.arg(format!("XDG_RUNTIME_DIR={}", self.dir.join("run").display()));
        }
        c.args(argv).current_dir("/").stdin(Stdio::null());
        c
    }

    /// Write config.json and run the container to completion.
    fn run(&self) -> Output {
        self.write_spec();
        self.command(&self.runtime_argv(&[])).output().expect("starting the runtime")
    }

    /// The same under `script` (a pty on stdin/stdout), for `terminal: true`.
    fn run_in_pty(&self) -> Output {
        self.run_in_pty_with_input(&[])
    }

    /// Under `script`, typing `input` once the output contains `after`, for each (after, input).
    fn run_in_pty_with_input(&self, script_input: &[(&[u8], &[u8])]) -> Output {
        self.write_spec();
        let line = self.runtime_argv(&[]).iter().map(|a| format!("'{a}'")).collect::<Vec<_>>().join(" ");
        let argv: Vec<String> = ["script", "-qec", &format!("stty rows 33 cols 101; {line}"), "/dev/null"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        // script's stdin must stay open: at EOF script types its stdin's VEOF into the pty (a NUL when
        // stdin is not a terminal), which the container's line discipline would echo as "^@".
        let mut c = self.command(&argv);
        c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = c.spawn().expect("starting script");
        let mut stdin = child.stdin.take();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut so = child.stdout.take().unwrap();
        let mut se = child.stderr.take().unwrap();
        let t = std::thread::spawn(move || {
            let _ = std::io::Read::read_to_end(&mut se, &mut err);
            err
        });
        let mut pending = script_input.iter();
        let mut next = pending.next();
        let mut buf = [0u8; 4096];
        loop {
            let n = std::io::Read::read(&mut so, &mut buf).unwrap_or(0);
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
            while let Some((after, input)) = next {
                if !out.windows(after.len()).any(|w| w == *after) {
                    break;
                }
                if let Some(si) = stdin.as_mut() {
                    std::thread::sleep(Duration::from_millis(200));
                    std::io::Write::write_all(si, input).unwrap();
                }
                next = pending.next();
            }
        }
        let status = child.wait().unwrap();
        drop(stdin);
        Output { status, stdout: out, stderr: t.join().unwrap() }
    }
}

impl Drop for Case {
    fn drop(&mut self) {
        if let Ok(text) = std::fs::read_to_string(self.dir.join("run/warren/pause.pid")) {
            if let Some(pid) = text.split_whitespace().next() {
                let _ = Command::new("kill").arg(pid).status();
            }
        }
        if std::env::var("WARREN_TEST_KEEP").is_ok_and(|v| v == "1") {
            return;
        }
        // Files the container created may belong to subordinate ids: remove as root.
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[track_caller]
fn expect_code(o: &Output, want: i32, what: &str) {
    let code = o.status.code().or_else(|| o.status.signal().map(|s| 128 + s));
    assert_eq!(code, Some(want), "{what}: exit status\nstdout: {}\nstderr: {}", stdout(o), stderr(o));
}

const ALL: [Who; 3] = [Who::Root, Who::Dev, Who::Hpc];

#[test]
fn runtime_exit_codes() {
    for who in ALL {
        let o = Case::new(who, "echo", &["echo", "hello"]).run();
        expect_code(&o, 0, "echo hello");
        assert_eq!(stdout(&o), "hello\n", "{who:?}");

        let o = Case::new(who, "exit3", &["sh", "-c", "exit 3"]).run();
        expect_code(&o, 3, "sh -c 'exit 3'");

        let o = Case::new(who, "notfound", &["/nonexistent"]).run();
        expect_code(&o, 127, "/nonexistent");
        assert!(stderr(&o).contains("executable file `/nonexistent` not found"), "{who:?}: {}", stderr(&o));

        let o = Case::new(who, "notinpath", &["no-such-command"]).run();
        expect_code(&o, 127, "no-such-command");
        assert!(stderr(&o).contains("not found in $PATH"), "{who:?}: {}", stderr(&o));

        let o = Case::new(who, "notexec", &["/bin/notexec"]).run();
        expect_code(&o, 126, "/bin/notexec");
        assert!(stderr(&o).contains("Permission denied"), "{who:?}: {}", stderr(&o));

        // Without an init, PID 1 cannot kill itself with SIGKILL (the kernel ignores it); with --init
        // the command is PID 2 and dies: 128+9.
        let mut c = Case::new(who, "init", &["sh", "-c", "kill -9 $$"]);
        c.with_init();
        expect_code(&c.run(), 137, "--init sh -c 'kill -9 $$'");
    }
}

#[test]
fn runtime_security_defaults() {
    for who in ALL {
        let script = "grep -E '^(CapEff|CapBnd|CapPrm|CapInh|CapAmb|Seccomp|NoNewPrivs):' /proc/self/status; \
                      echo keys=$(wc -c < /proc/keys); echo firmware=$(ls /sys/firmware | wc -l); \
                      echo timer=$(wc -c < /proc/timer_list); \
                      if [ -e /proc/kcore ]; then echo kcore=$(wc -c < /proc/kcore); fi; \
                      touch /proc/sys/kernel/hostname 2>/dev/null || echo procsys=ro; \
                      grep ' /proc/sys ' /proc/mounts | cut -d' ' -f4 | cut -d, -f1";
        let o = Case::new(who, "security", &["sh", "-c", script]).run();
        expect_code(&o, 0, "security script");
        let out = stdout(&o);
        for want in [
            format!("CapEff:\t{DEFAULT_CAPS_HEX}"),
            format!("CapBnd:\t{DEFAULT_CAPS_HEX}"),
            format!("CapPrm:\t{DEFAULT_CAPS_HEX}"),
            "CapInh:\t0000000000000000".to_string(),
            "CapAmb:\t0000000000000000".to_string(),
            "Seccomp:\t2".to_string(),
            "NoNewPrivs:\t0".to_string(),
            "keys=0".into(),
            "firmware=0".into(),
            "timer=0".into(),
            "procsys=ro".into(),
        ] {
            assert!(out.lines().any(|l| l == want), "{who:?}: missing {want:?} in\n{out}");
        }
        if let Some(k) = out.lines().find(|l| l.starts_with("kcore=")) {
            assert_eq!(k, "kcore=0", "{who:?}");
        }
        assert!(out.lines().any(|l| l == "ro"), "{who:?}: /proc/sys is not read-only:\n{out}");

        // A non-root user: bounding keeps the set, effective/permitted are empty (Podman's behaviour);
        // no_new_privileges is applied.
        let mut c = Case::new(
            who,
            "user",
            &["sh", "-c", "id -u; id -g; grep -E '^(CapEff|CapBnd|NoNewPrivs):' /proc/self/status"],
        );
        c.plan.uid = 1000;
        c.plan.gid = 1000;
        c.plan.no_new_privileges = true;
        let o = c.run();
        if who == Who::Hpc {
            // Only the user's own id is mapped: uid 1000 does not exist, which the runtime must say.
            expect_code(&o, 125, "non-root user without subordinate ids");
            assert!(stderr(&o).contains("setgid 1000: Invalid argument (gid 1000 is not mapped"), "{}", stderr(&o));
        } else {
            expect_code(&o, 0, "non-root user");
            assert_eq!(
                stdout(&o),
                format!("1000\n1000\nCapEff:\t0000000000000000\nCapBnd:\t{DEFAULT_CAPS_HEX}\nNoNewPrivs:\t1\n"),
                "{who:?}"
            );
        }

        // --cap-add for a non-root user: effective, permitted and ambient hold it (Podman).
        if who != Who::Hpc {
            let mut c =
                Case::new(who, "useradd", &["sh", "-c", "grep -E '^(CapEff|CapAmb):' /proc/self/status; umask"]);
            c.plan.uid = 1000;
            c.plan.gid = 1000;
            c.plan.capabilities = warren::runtime::spec::capabilities(&["NET_ADMIN".into()], &[], false).unwrap();
            let o = c.run();
            expect_code(&o, 0, "non-root user with --cap-add");
            assert_eq!(stdout(&o), "CapEff:\t0000000000001000\nCapAmb:\t0000000000001000\n0022\n", "{who:?}");
        }

        // --cap-drop=all: nothing anywhere; the seccomp filter is still loaded.
        let mut c = Case::new(who, "capdrop", &["sh", "-c", "grep -E '^(CapEff|CapBnd):' /proc/self/status"]);
        c.plan.capabilities = warren::runtime::spec::capabilities(&[], &["all".into()], false).unwrap();
        let o = c.run();
        expect_code(&o, 0, "cap-drop all");
        assert_eq!(stdout(&o), "CapEff:\t0000000000000000\nCapBnd:\t0000000000000000\n", "{who:?}");
    }
}

#[test]
fn runtime_filesystem() {
    for who in ALL {
        let script = "ls /dev; echo x > /dev/null && echo null-ok; echo zero=$(head -c 4 /dev/zero | wc -c); \
                      hostname; touch /dev/shm/f && echo shm-ok; readlink /dev/ptmx; \
                      echo data=$(cat /data/file); touch /data/new 2>/dev/null || echo data-ro; \
                      cd /work && pwd; ulimit -Hn";
        let mut c = Case::new(who, "fs", &["sh", "-c", script]);
        let host = c.dir.join("hostdata");
        std::fs::create_dir_all(&host).unwrap();
        std::fs::write(host.join("file"), "from-host").unwrap();
        c.plan.mounts.push(warren::plan::MountPlan {
            destination: "/data".into(),
            kind: "bind".into(),
            source: host.display().to_string(),
            options: vec!["ro".into()],
        });
        c.plan.cwd = "/work".into();
        let o = c.run();
        expect_code(&o, 0, "filesystem script");
        let out = stdout(&o);
        let lines: Vec<&str> = out.lines().collect();
        for dev in ["null", "zero", "full", "random", "urandom", "tty", "pts", "shm", "ptmx", "mqueue", "fd"] {
            assert!(lines.contains(&dev), "{who:?}: /dev/{dev} missing:\n{out}");
        }
        for want in ["null-ok", "zero=4", "warrenbox", "shm-ok", "pts/ptmx", "data=from-host", "data-ro", "/work"] {
            assert!(lines.contains(&want), "{who:?}: missing {want:?} in\n{out}");
        }
        let hard: u64 = lines.last().unwrap().parse().unwrap();
        let host_hard: u64 =
            String::from_utf8_lossy(&Command::new("sh").args(["-c", "ulimit -Hn"]).output().unwrap().stdout)
                .trim()
                .parse()
                .unwrap();
        assert_eq!(hard, host_hard.min(1_048_576), "{who:?}: RLIMIT_NOFILE");

        // A read-only rootfs: / refuses writes, /dev/shm and /tmp-less paths still work.
        let mut c = Case::new(
            who,
            "ro",
            &["sh", "-c", "touch /x 2>/dev/null || echo root-ro; touch /dev/shm/y && echo shm-ok"],
        );
        c.plan.readonly_rootfs = true;
        let o = c.run();
        expect_code(&o, 0, "read-only rootfs");
        assert_eq!(stdout(&o), "root-ro\nshm-ok\n", "{who:?}");
    }
}

#[test]
fn runtime_terminal() {
    for who in ALL {
        let mut c = Case::new(who, "tty", &["sh", "-c", "tty; stty size; exit 4"]);
        c.plan.terminal = true;
        let o = c.run_in_pty();
        expect_code(&o, 4, "tty under script");
        let out = stdout(&o).replace('\r', "");
        assert!(out.lines().any(|l| l == "/dev/pts/0"), "{who:?}: {out:?} {}", stderr(&o));
        assert!(out.lines().any(|l| l == "33 101"), "{who:?}: window size not copied: {out:?}");

        // Ctrl-C typed on the caller's terminal travels as a byte through the console; the container's
        // line discipline turns it into SIGINT for its foreground process.
        let mut c =
            Case::new(who, "ctrlc", &["sh", "-c", "trap 'echo got-int; exit 7' INT; echo ready; sleep 30 & wait"]);
        c.plan.terminal = true;
        let o = c.run_in_pty_with_input(&[(b"ready".as_slice(), b"\x03".as_slice())]);
        expect_code(&o, 7, "Ctrl-C through the console");
        assert!(stdout(&o).contains("got-int"), "{who:?}: {:?}", stdout(&o));

        // Without a terminal, stdio is the caller's (not a tty here).
        let o = Case::new(who, "notty", &["sh", "-c", "tty; true"]).run();
        assert_eq!(stdout(&o), "not a tty\n", "{who:?}");
    }
}

/// Wait until the runtime wrote its pid file; returns the container's PID 1 (host view).
fn wait_pid_file(path: &Path) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(t) = std::fs::read_to_string(path) {
            if let Ok(p) = t.trim().parse() {
                return p;
            }
        }
        assert!(Instant::now() < deadline, "no pid file {}", path.display());
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn runtime_signals() {
    for who in [Who::Root, Who::Dev] {
        // With --init, SIGTERM to the runtime reaches the command through the init: 143.
        let mut c = Case::new(who, "term", &["sleep", "100"]);
        c.with_init();
        c.write_spec();
        let pid_file = c.dir.join("run/ctr.pid");
        let mut child = c.command(&c.runtime_argv(&["--pid-file", &pid_file.display().to_string()])).spawn().unwrap();
        let pid1 = wait_pid_file(&pid_file);
        // The init is running (it names itself); the runtime is its parent.
        let runtime_pid = std::fs::read_to_string(format!("/proc/{pid1}/stat"))
            .unwrap()
            .rsplit(')')
            .next()
            .unwrap()
            .split_whitespace()
            .nth(1)
            .unwrap()
            .to_string();
        std::thread::sleep(Duration::from_millis(300));
        assert!(Command::new("kill").args(["-TERM", &runtime_pid]).status().unwrap().success());
        let st = child.wait().unwrap();
        assert_eq!(st.code(), Some(143), "{who:?}: SIGTERM through --init");

        // Any catchable signal sent to the runtime reaches a PID 1 that handles it (here SIGALRM, whose
        // default would otherwise kill the runtime itself).
        let c =
            Case::new(who, "alrm", &["sh", "-c", "trap 'echo got-alrm; exit 10' ALRM; echo ready; sleep 30 & wait"]);
        c.write_spec();
        let mut cmd = c.command(&c.runtime_argv(&[]));
        cmd.stdout(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let mut out = child.stdout.take().unwrap();
        let mut first = [0u8; 6];
        std::io::Read::read_exact(&mut out, &mut first).unwrap();
        assert_eq!(&first, b"ready\n");
        // The newest process whose command line runs this bundle is the runtime itself (timeout and,
        // rootless, `warren unshare` carry the same words and are older).
        let pattern = format!("__runtime run --bundle {} ", c.bundle().display());
        let pids = Command::new("pgrep").args(["-f", &pattern]).output().unwrap().stdout;
        let runtime = String::from_utf8(pids).unwrap().lines().last().unwrap().to_string();
        assert!(Command::new("kill").args(["-ALRM", &runtime]).status().unwrap().success());
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
        assert_eq!(child.wait().unwrap().code(), Some(10), "{who:?}: SIGALRM forwarded");
        assert_eq!(rest, "got-alrm\n");

        // Killed from the host with SIGKILL: 137.
        let c = Case::new(who, "kill", &["sleep", "100"]);
        c.write_spec();
        let pid_file = c.dir.join("run/ctr.pid");
        let mut child = c.command(&c.runtime_argv(&["--pid-file", &pid_file.display().to_string()])).spawn().unwrap();
        let pid1 = wait_pid_file(&pid_file);
        std::thread::sleep(Duration::from_millis(300));
        assert!(Command::new("kill").args(["-KILL", &pid1.to_string()]).status().unwrap().success());
        let st = child.wait().unwrap();
        assert_eq!(st.code(), Some(137), "{who:?}: SIGKILL from the host");
    }
}

#[test]
fn runtime_nested_user_namespace() {
    // keep-id style: the user's own id becomes 1000 in a nested namespace, the rest of the engine's
    // ids (1..=1000) below it.
    for who in [Who::Root, Who::Dev] {
        let mut c = Case::new(who, "keepid", &["sh", "-c", "id -u; cat /proc/self/uid_map; ls -n /bin/busybox"]);
        let map = vec![
            userns::IdMapEntry { container: 0, host: 1, size: 1000 },
            userns::IdMapEntry { container: 1000, host: 0, size: 1 },
        ];
        c.plan.uid_mappings = map.clone();
        c.plan.gid_mappings = map;
        c.plan.uid = 1000;
        c.plan.gid = 1000;
        let o = c.run();
        expect_code(&o, 0, "nested user namespace");
        let out = stdout(&o);
        let lines: Vec<String> = out.lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).collect();
        assert_eq!(lines[0], "1000", "{who:?}: {out}");
        assert_eq!(lines[1..3], ["0 1 1000".to_string(), "1000 0 1".to_string()], "{who:?}: {out}");
        // The rootfs belongs to the engine's root, which is the container's 1000.
        assert!(lines[3].contains(" 1000 1000 "), "{who:?}: {out}");
    }
}

#[test]
fn crun_accepts_the_same_config() {
    let crun = ["/usr/bin/crun", "/usr/local/bin/crun"].into_iter().find(|p| Path::new(p).is_file());
    let Some(crun) = crun else {
        panic!("crun is not installed: the test environment installs it (apt-get install crun)");
    };
    let c = Case::new(Who::Root, "crun", &["sh", "-c", "echo hello; grep CapEff /proc/self/status; hostname"]);
    c.write_spec();
    let o = Command::new("timeout")
        .args(["-k", "5", "60", crun, "run", "--bundle"])
        .arg(c.bundle())
        .arg(format!("warren-test-{}", c.plan.id.get(56..).unwrap()))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    expect_code(&o, 0, "crun run");
    assert_eq!(stdout(&o), format!("hello\nCapEff:\t{DEFAULT_CAPS_HEX}\nwarrenbox\n"));
}

#[test]
fn runtime_loads_podmans_seccomp_profile() {
    let profile = Path::new("/usr/share/containers/seccomp.json");
    if !profile.is_file() {
        eprintln!("SKIP runtime_loads_podmans_seccomp_profile: {} is missing (containers-common)", profile.display());
        return;
    }
    for who in [Who::Root, Who::Dev] {
        // Podman's allow-list profile (default ENOSYS, argument rules) compiles and a shell runs under it.
        let mut c =
            Case::new(who, "profile", &["sh", "-c", "grep '^Seccomp:' /proc/self/status; ls / >/dev/null && echo ok"]);
        c.plan.seccomp = warren::plan::SeccompMode::Profile(profile.into());
        let o = c.run();
        expect_code(&o, 0, "Podman's seccomp.json");
        assert_eq!(stdout(&o), "Seccomp:\t2\nok\n", "{who:?}");
    }
}

#[test]
fn runtime_joins_an_existing_network_namespace() {
    // A network namespace kept by a process (as pasta or slirp4netns keep theirs), joined by path.
    let mut holder = Command::new("unshare").args(["--net", "sleep", "60"]).spawn().expect("unshare --net");
    let ns = format!("/proc/{}/ns/net", holder.id());
    let deadline = Instant::now() + Duration::from_secs(10);
    let want = loop {
        let link = std::fs::read_link(&ns).unwrap().display().to_string();
        if link != std::fs::read_link("/proc/self/ns/net").unwrap().display().to_string() {
            break link;
        }
        assert!(Instant::now() < deadline, "unshare --net did not create a namespace");
        std::thread::sleep(Duration::from_millis(20));
    };
    for nested in [false, true] {
        let mut c = Case::new(Who::Root, "joinnet", &["readlink", "/proc/self/ns/net"]);
        if nested {
            // keep-id style nested user namespace: joining still works (the runtime joins before clone).
            let map = vec![
                userns::IdMapEntry { container: 0, host: 1, size: 1000 },
                userns::IdMapEntry { container: 1000, host: 0, size: 1 },
            ];
            c.plan.uid_mappings = map.clone();
            c.plan.gid_mappings = map;
        }
        let mut spec = warren::runtime::spec::build(&c.plan).unwrap();
        let mut linux = spec.linux().clone().unwrap();
        let nss: Vec<_> = linux
            .namespaces()
            .clone()
            .unwrap()
            .into_iter()
            .map(|mut n| {
                if n.typ() == oci_spec::runtime::LinuxNamespaceType::Network {
                    n.set_path(Some(PathBuf::from(&ns)));
                }
                n
            })
            .collect();
        linux.set_namespaces(Some(nss));
        spec.set_linux(Some(linux));
        warren::runtime::spec::write(&c.bundle(), &spec).unwrap();
        let o = c.command(&c.runtime_argv(&[])).output().unwrap();
        expect_code(&o, 0, "join a network namespace");
        assert_eq!(stdout(&o).trim(), want, "nested user namespace: {nested}");
    }
    let _ = holder.kill();
    let _ = holder.wait();
}

#[test]
fn runtime_resource_limits() {
    // As root: the limits are in the container's cgroup and enforced; the cgroup is gone afterwards.
    let v2 = Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    let mut c =
        Case::new(Who::Root, "limits", &["sh", "-c", "x=$(head -c 300000000 /dev/zero | tr '\\0' a); echo survived"]);
    c.plan.memory_limit = Some(64 << 20);
    c.plan.pids_limit = Some(50);
    let o = c.run();
    expect_code(&o, 137, "a 300 MB string under --memory 64m is OOM-killed");
    let cg = if v2 {
        format!("/sys/fs/cgroup/warren/{}", c.plan.name)
    } else {
        format!("/sys/fs/cgroup/memory/warren/{}", c.plan.name)
    };
    assert!(!Path::new(&cg).exists(), "{cg} was left behind");

    let mut c =
        Case::new(Who::Root, "pids", &["sh", "-c", "for i in $(seq 60); do sleep 2 & done; wait; echo finished"]);
    c.plan.pids_limit = Some(20);
    let o = c.run();
    // busybox sh gives up (exit 2) at the first fork the pids controller refuses.
    expect_code(&o, 2, "60 processes under --pids-limit 20");
    assert!(stderr(&o).contains("can't fork"), "{}", stderr(&o));
    assert_eq!(stdout(&o), "");

    // Rootless on cgroup v1 (this kind of host): a clear error, exit 125.
    if !v2 {
        let mut c = Case::new(Who::Dev, "limitsv1", &["true"]);
        c.plan.memory_limit = Some(64 << 20);
        let o = c.run();
        expect_code(&o, 125, "rootless limits on cgroup v1");
        assert!(stderr(&o).contains("limits need cgroup v2 with a cgroup delegated to you"), "{}", stderr(&o));
    }
}
