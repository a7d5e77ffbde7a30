//! The end-to-end test harness: the real `warren` binary, run as the unprivileged test users (or root),
//! each test with its own storage root, against the real registry that `scripts/test-env.sh` sets up.
//!
//! ```ignore
//! let w = Warren::dev();                       // or Warren::hpc(), Warren::root()
//! w.run(&["pull", &image("busybox")]).ok();     // localhost:5000/warren/busybox
//! w.run(&["run", "--rm", &image("busybox"), "echo", "hi"]).ok().stdout_is("hi");
//! ```
//!
//! - The tests run as root (they switch to `dev`/`hpc` with `runuser`). The environment comes from the
//!   process environment (`eval "$(scripts/test-env.sh)"`) or, when that is not set, from the env file
//!   test-env.sh saves (`/tmp/warren-test/env`). A missing environment is a test failure with a clear
//!   message ([`require_env`]), never a silent pass.
//! - The binary is `$WARREN_BIN` (scripts/test.sh sets /usr/local/bin/warren), else the one cargo just
//!   built for this test run.
//! - Each [`Warren`] has a fresh `--root` under `/tmp/warren-tests/<user>/<test>-<pid>-<n>`, owned by
//!   the user. On drop the harness checks that no process or mount was left inside it, then removes it
//!   (as the user with `warren unshare rm -rf`, falling back to root). `WARREN_TEST_KEEP=1` keeps it.
//! - Skips are allowed only with a reason: [`skip`] prints it and records it in
//!   `$WARREN_TEST_STATE/skipped.txt`, which scripts/test.sh prints at the end.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, OnceLock};
use std::time::{Duration, Instant};

/// Where per-test storage roots live (test-env.sh creates it 0755; one 0700 dir per user below).
pub const TESTS_DIR: &str = "/tmp/warren-tests";
const PATH_ENV: &str = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";

// ------------------------------------------------------------------------------------------------
// The environment

/// What scripts/test-env.sh set up.
#[derive(Debug, Clone)]
pub struct TestEnv {
    /// `localhost:5000`
    pub registry: String,
    /// `http://127.0.0.1:5000`
    pub registry_url: String,
    /// The registry's filesystem storage root.
    pub registry_dir: PathBuf,
    /// test-env.sh's state dir (`/tmp/warren-test`): fixtures.json, the OCI layout, skipped.txt.
    pub state: PathBuf,
    /// scripts/fixtures (layers.expected, README.md).
    pub fixtures_dir: PathBuf,
    /// The shared lab archives, when this machine has them (lab/* images are then in the registry).
    pub shared_images: Option<PathBuf>,
    /// The warren binary under test.
    pub bin: PathBuf,
    pub dev: User,
    pub hpc: User,
}

/// A host user the tests run as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: PathBuf,
}

impl User {
    pub fn lookup(name: &str) -> Option<User> {
        let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
        passwd.lines().find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() >= 7 && f[0] == name).then(|| User {
                name: name.to_string(),
                uid: f[2].parse().unwrap_or(u32::MAX),
                gid: f[3].parse().unwrap_or(u32::MAX),
                home: PathBuf::from(f[5]),
            })
        })
    }

    pub fn root() -> User {
        User { name: "root".into(), uid: 0, gid: 0, home: PathBuf::from("/root") }
    }

    pub fn is_root(&self) -> bool {
        self.uid == 0
    }
}

static ENV: OnceLock<Result<TestEnv, String>> = OnceLock::new();

/// The test environment; panics with what is missing and how to set it up.
pub fn require_env() -> &'static TestEnv {
    match ENV.get_or_init(load_env) {
        Ok(e) => e,
        Err(why) => panic!(
            "\n\nthe rootless test environment is missing: {why}\n\
             Run the whole suite with `sudo scripts/test.sh`, or set up once with\n\
             `eval \"$(sudo scripts/test-env.sh)\"` and run `cargo test --test rootless` as root.\n"
        ),
    }
}

/// Shorthand for [`require_env`].
pub fn env() -> &'static TestEnv {
    require_env()
}

/// `localhost:5000`
pub fn registry() -> &'static str {
    &require_env().registry
}

/// `localhost:5000/warren/NAME` (NAME may carry a tag: `busybox:zstd`).
pub fn image(name: &str) -> String {
    format!("{}/warren/{name}", registry())
}

/// `localhost:5000/lab/NAME`, or a skip (with the reason printed) when the shared images are missing.
pub fn lab_image(name: &str) -> Option<String> {
    if require_env().shared_images.is_none() {
        skip(&format!("needs lab/{name} from the shared images directory, which this machine lacks"));
        return None;
    }
    Some(format!("{}/lab/{name}", registry()))
}

/// The digest test-env.sh pushed for a fixture (`warren/busybox:latest`); None for warren/busybox:v2s2,
/// which skopeo converts on push (ask the registry).
pub fn fixture_digest(name: &str) -> Option<String> {
    let p = require_env().state.join("fixtures.json");
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    v.as_array()?.iter().find(|f| f["name"] == name).and_then(|f| f["digest"].as_str().map(String::from))
}

/// The expected in-container view of /data in warren/layers (`mode uid gid path` lines, no comments).
pub fn layers_expected() -> Vec<String> {
    let p = require_env().fixtures_dir.join("layers.expected");
    std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("reading {}: {e}", p.display()))
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(String::from)
        .collect()
}

/// Skip the rest of a test, saying why. Use only for a missing optional part of the environment.
/// `if something_missing { return skip("why"); }`
pub fn skip(reason: &str) {
    let test = test_name();
    eprintln!("SKIP {test}: {reason}");
    if let Some(Ok(e)) = ENV.get() {
        if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(e.state.join("skipped.txt")) {
            let _ = writeln!(f, "{test}: {reason}");
        }
    }
}

fn parse_env_file(path: &Path) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let Ok(text) = std::fs::read_to_string(path) else { return out };
    for line in text.lines() {
        let Some(rest) = line.trim().strip_prefix("export ") else { continue };
        // `K=V K2=V2` or `K='value with spaces'`
        let mut s = rest;
        while let Some(eq) = s.find('=') {
            let key = s[..eq].trim().to_string();
            let after = &s[eq + 1..];
            let (val, next) = if let Some(q) = after.strip_prefix('\'') {
                let end = q.find('\'').unwrap_or(q.len());
                (q[..end].to_string(), q.get(end + 1..).unwrap_or(""))
            } else {
                let end = after.find(' ').unwrap_or(after.len());
                (after[..end].to_string(), &after[end..])
            };
            out.insert(key, val);
            s = next.trim_start();
        }
    }
    out
}

fn load_env() -> Result<TestEnv, String> {
    if !nix_is_root() {
        return Err("the end-to-end tests must run as root (they switch to the test users with runuser)".into());
    }
    let state_dir = std::env::var("WARREN_TEST_STATE").unwrap_or_else(|_| "/tmp/warren-test".into());
    let file = parse_env_file(&Path::new(&state_dir).join("env"));
    let get = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty()).or_else(|| file.get(k).cloned());
    let registry = get("WARREN_TEST_REGISTRY")
        .ok_or_else(|| format!("WARREN_TEST_REGISTRY is not set and {state_dir}/env does not exist"))?;
    let registry_url = get("WARREN_TEST_REGISTRY_URL").unwrap_or_else(|| "http://127.0.0.1:5000".into());
    check_registry(&registry_url)?;
    let dev = User::lookup(&get("WARREN_TEST_DEV_USER").unwrap_or_else(|| "dev".into()))
        .ok_or("the test user `dev` does not exist")?;
    let hpc = User::lookup(&get("WARREN_TEST_HPC_USER").unwrap_or_else(|| "hpc".into()))
        .ok_or("the test user `hpc` does not exist")?;
    let shared_images = get("WARREN_SHARED_IMAGES").map(PathBuf::from).filter(|p| p.is_dir());
    let fixtures_dir = get("WARREN_TEST_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/fixtures"));
    let bin = match std::env::var_os("WARREN_BIN").filter(|v| !v.is_empty()) {
        Some(b) => PathBuf::from(b),
        None => PathBuf::from(env!("CARGO_BIN_EXE_warren")),
    };
    if !bin.is_file() {
        return Err(format!("the warren binary {} does not exist (WARREN_BIN)", bin.display()));
    }
    let ok = Command::new("runuser")
        .args(["-u", &dev.name, "--", "test", "-x"])
        .arg(&bin)
        .status()
        .map_err(|e| format!("running runuser: {e}"))?;
    if !ok.success() {
        return Err(format!(
            "user {} cannot execute {} (a directory on the way is not world-readable?); \
             install it (scripts/test.sh installs /usr/local/bin/warren) and set WARREN_BIN",
            dev.name,
            bin.display()
        ));
    }
    let env = TestEnv {
        registry,
        registry_url,
        registry_dir: PathBuf::from(get("WARREN_TEST_REGISTRY_DIR").unwrap_or_default()),
        state: PathBuf::from(get("WARREN_TEST_STATE").unwrap_or(state_dir)),
        fixtures_dir,
        shared_images,
        bin,
        dev,
        hpc,
    };
    eprintln!("warren tests: binary {}, registry {}", env.bin.display(), env.registry);
    Ok(env)
}

fn nix_is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// GET URL/v2/ with a plain TCP connection (the registry is loopback HTTP).
fn check_registry(url: &str) -> Result<(), String> {
    let hostport = url.trim_start_matches("http://").trim_end_matches('/');
    let (status, _) = http_get(hostport, "/v2/").map_err(|e| format!("the registry {url} does not answer: {e}"))?;
    if status != 200 {
        return Err(format!("the registry {url} answers /v2/ with HTTP {status}"));
    }
    Ok(())
}

/// A minimal HTTP/1.0 GET against the loopback registry: (status, body).
pub fn http_get(hostport: &str, path: &str) -> std::io::Result<(u16, Vec<u8>)> {
    let mut s = std::net::TcpStream::connect(hostport)?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {hostport}\r\nAccept: */*\r\n\r\n")?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    let split = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(buf.len());
    let head = String::from_utf8_lossy(&buf[..split]).to_string();
    let status = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = buf.get(split + 4..).unwrap_or_default().to_vec();
    Ok((status, body))
}

/// The name of the running test (the harness names each test's thread after it).
pub fn test_name() -> String {
    std::thread::current().name().unwrap_or("unknown").to_string()
}

// ------------------------------------------------------------------------------------------------
// Running warren

/// What a command did. Assertion methods panic with the command line, status, stdout and stderr.
#[derive(Debug, Clone)]
pub struct Output {
    pub cmdline: String,
    /// The exit code; 128+N when killed by signal N.
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    fn dump(&self) -> String {
        format!(
            "\n--- command: {}\n--- exit status: {}\n--- stdout:\n{}\n--- stderr:\n{}\n---",
            self.cmdline, self.status, self.stdout, self.stderr
        )
    }

    #[track_caller]
    fn fail(&self, what: &str) -> ! {
        panic!("{what}{}", self.dump())
    }

    pub fn success(&self) -> bool {
        self.status == 0
    }

    /// Assert exit status 0.
    #[track_caller]
    pub fn ok(&self) -> &Self {
        if self.status != 0 {
            self.fail("expected exit status 0");
        }
        self
    }

    /// Assert this exit status.
    #[track_caller]
    pub fn code(&self, want: i32) -> &Self {
        if self.status != want {
            self.fail(&format!("expected exit status {want}"));
        }
        self
    }

    /// Assert a non-zero exit status.
    #[track_caller]
    pub fn failed(&self) -> &Self {
        if self.status == 0 {
            self.fail("expected a non-zero exit status");
        }
        self
    }

    #[track_caller]
    pub fn stdout_contains(&self, needle: &str) -> &Self {
        if !self.stdout.contains(needle) {
            self.fail(&format!("expected stdout to contain {needle:?}"));
        }
        self
    }

    #[track_caller]
    pub fn stdout_lacks(&self, needle: &str) -> &Self {
        if self.stdout.contains(needle) {
            self.fail(&format!("expected stdout not to contain {needle:?}"));
        }
        self
    }

    #[track_caller]
    pub fn stderr_contains(&self, needle: &str) -> &Self {
        if !self.stderr.contains(needle) {
            self.fail(&format!("expected stderr to contain {needle:?}"));
        }
        self
    }

    #[track_caller]
    pub fn stderr_lacks(&self, needle: &str) -> &Self {
        if self.stderr.contains(needle) {
            self.fail(&format!("expected stderr not to contain {needle:?}"));
        }
        self
    }

    /// Assert stdout equals `want` after trimming trailing whitespace/newlines on both.
    #[track_caller]
    pub fn stdout_is(&self, want: &str) -> &Self {
        if self.stdout.trim_end() != want.trim_end() {
            self.fail(&format!("expected stdout to be {want:?}"));
        }
        self
    }

    /// Assert with any predicate on the output: `out.check("two lines", |o| o.lines().len() == 2)`.
    #[track_caller]
    pub fn check(&self, what: &str, pred: impl FnOnce(&Output) -> bool) -> &Self {
        if !pred(self) {
            self.fail(&format!("expected {what}"));
        }
        self
    }

    pub fn lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }

    /// stdout parsed as JSON (panics with the dump when it is not).
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        match serde_json::from_str(&self.stdout) {
            Ok(v) => v,
            Err(e) => self.fail(&format!("expected JSON on stdout ({e})")),
        }
    }
}

/// Options for one command ([`Warren::run_with`]).
#[derive(Debug, Clone, Default)]
pub struct RunOpts {
    /// Bytes fed to stdin (default: /dev/null).
    pub stdin: Option<Vec<u8>>,
    /// Extra environment (after the clean base environment).
    pub env: Vec<(String, String)>,
    /// Default `$WARREN_TEST_TIMEOUT` seconds, else 300. A timeout fails the test.
    pub timeout: Option<Duration>,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// One user's warren with a private storage root, removed on drop.
pub struct Warren {
    pub user: User,
    root: PathBuf,
    xdg_runtime_dir: bool,
    extra_env: Vec<(String, String)>,
}

impl Warren {
    /// The unprivileged user with a subordinate id range (dev:100000:65536).
    pub fn dev() -> Warren {
        Warren::new(require_env().dev.clone())
    }

    /// The unprivileged user without /etc/subuid entries (the HPC login node case).
    pub fn hpc() -> Warren {
        Warren::new(require_env().hpc.clone())
    }

    /// Root.
    pub fn root() -> Warren {
        Warren::new(User::root())
    }

    /// Any user, e.g. `Warren::as_user(env().dev.clone())`.
    pub fn new(user: User) -> Warren {
        require_env();
        let base = Path::new(TESTS_DIR);
        mkdir_owned(base, 0o755, &User::root());
        let user_dir = base.join(&user.name);
        mkdir_owned(&user_dir, 0o700, &user);
        let name: String = test_name()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' })
            .collect();
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let root = user_dir.join(format!("{name}-{}-{n}", std::process::id()));
        if root.exists() {
            let _ = std::fs::remove_dir_all(&root);
        }
        mkdir_owned(&root, 0o700, &user);
        Warren { user, root, xdg_runtime_dir: true, extra_env: Vec::new() }
    }

    /// Run without XDG_RUNTIME_DIR in the environment (HPC login nodes, cron, plain `su`).
    pub fn without_xdg_runtime_dir(mut self) -> Warren {
        self.xdg_runtime_dir = false;
        self
    }

    /// Add an environment variable to every command of this Warren.
    pub fn with_env(mut self, key: &str, value: &str) -> Warren {
        self.extra_env.push((key.into(), value.into()));
        self
    }

    /// The storage root passed as `--root`.
    pub fn storage_root(&self) -> &Path {
        &self.root
    }

    /// The clean environment commands run with.
    pub fn base_env(&self) -> Vec<(String, String)> {
        let u = &self.user;
        let mut v = vec![
            ("HOME".to_string(), u.home.display().to_string()),
            ("USER".to_string(), u.name.clone()),
            ("LOGNAME".to_string(), u.name.clone()),
            ("PATH".to_string(), PATH_ENV.to_string()),
            ("LANG".to_string(), "C.UTF-8".to_string()),
        ];
        if self.xdg_runtime_dir && !u.is_root() {
            v.push(("XDG_RUNTIME_DIR".into(), format!("/run/user/{}", u.uid)));
        }
        v.extend(self.extra_env.iter().cloned());
        v
    }

    /// A Command that runs `argv` as this user with the clean environment (not started; process
    /// group of its own so a timeout can kill the whole tree).
    pub fn command_for(&self, argv: &[&str], extra_env: &[(String, String)]) -> Command {
        let mut c = if self.user.is_root() {
            Command::new("env")
        } else {
            let mut c = Command::new("runuser");
            c.args(["-u", &self.user.name, "--", "env"]);
            c
        };
        c.arg("-i");
        for (k, v) in self.base_env().iter().chain(extra_env) {
            c.arg(format!("{k}={v}"));
        }
        c.args(argv);
        c.current_dir("/");
        c.process_group(0);
        c
    }

    /// `warren --root R ARGS...` as this user.
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_with(args, RunOpts::default())
    }

    /// `warren --root R ARGS...` with stdin, extra env or another timeout.
    pub fn run_with(&self, args: &[&str], opts: RunOpts) -> Output {
        let bin = require_env().bin.display().to_string();
        let root = self.root.display().to_string();
        let mut argv = vec![bin.as_str(), "--root", root.as_str()];
        argv.extend_from_slice(args);
        self.exec(&argv, opts)
    }

    /// Any command as this user, e.g. `w.cmd(&["ls", "-ln", path])`.
    pub fn cmd(&self, argv: &[&str]) -> Output {
        self.exec(argv, RunOpts::default())
    }

    /// A shell script as this user (`sh -c SCRIPT`).
    pub fn sh(&self, script: &str) -> Output {
        self.exec(&["sh", "-c", script], RunOpts::default())
    }

    /// `pull IMAGE`, asserting success.
    #[track_caller]
    pub fn pull(&self, image: &str) -> Output {
        let out = self.run(&["pull", image]);
        out.ok();
        out
    }

    /// Any command as this user, with stdin/env/timeout options.
    pub fn exec(&self, argv: &[&str], opts: RunOpts) -> Output {
        let cmd = self.command_for(argv, &opts.env);
        let cmdline = format!("[{}] {}", self.user.name, argv.join(" "));
        let timeout = opts.timeout.unwrap_or_else(default_timeout);
        run_command(cmd, cmdline, opts.stdin, timeout)
    }
}

impl Drop for Warren {
    fn drop(&mut self) {
        if std::env::var("WARREN_TEST_KEEP").is_ok_and(|v| v == "1") {
            eprintln!("WARREN_TEST_KEEP=1: keeping {}", self.root.display());
            return;
        }
        let leaks = find_leaks(&self.root);
        if !leaks.is_empty() {
            clean_leaks(&leaks);
        }
        if self.root.exists() && !self.user.is_root() {
            let root = self.root.display().to_string();
            let _ = self.exec(
                &[&require_env().bin.display().to_string(), "--root", &root, "unshare", "rm", "-rf", &root],
                RunOpts { timeout: Some(Duration::from_secs(120)), ..Default::default() },
            );
        }
        if self.root.exists() {
            if let Err(e) = std::fs::remove_dir_all(&self.root) {
                eprintln!("warning: removing {}: {e}", self.root.display());
            }
        }
        if !leaks.is_empty() && !std::thread::panicking() {
            panic!(
                "the test left processes or mounts behind in {}:\n{}",
                self.root.display(),
                leaks.iter().map(|l| format!("  {l}")).collect::<Vec<_>>().join("\n")
            );
        }
    }
}

fn default_timeout() -> Duration {
    let secs = std::env::var("WARREN_TEST_TIMEOUT").ok().and_then(|v| v.parse().ok()).unwrap_or(300);
    Duration::from_secs(secs)
}

/// Create DIR (if missing) owned by USER with MODE.
fn mkdir_owned(dir: &Path, mode: u32, user: &User) {
    if !dir.is_dir() {
        std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    }
    std::os::unix::fs::chown(dir, Some(user.uid), Some(user.gid))
        .unwrap_or_else(|e| panic!("chown {} to {}: {e}", dir.display(), user.name));
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", dir.display()));
}

/// Run a command as root (no user switch), e.g. `host(&["skopeo", "inspect", ...])`.
pub fn host(argv: &[&str]) -> Output {
    let mut c = Command::new(argv[0]);
    c.args(&argv[1..]).process_group(0);
    run_command(c, format!("[host] {}", argv.join(" ")), None, default_timeout())
}

/// Spawn, feed stdin, collect stdout/stderr, enforce the timeout (killing the process group).
fn run_command(mut cmd: Command, cmdline: String, stdin: Option<Vec<u8>>, timeout: Duration) -> Output {
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("starting {cmdline}: {e}"));
    if let Some(data) = stdin {
        let mut pipe = child.stdin.take().expect("stdin pipe");
        std::thread::spawn(move || {
            let _ = pipe.write_all(&data);
        });
    }
    let (tx, rx) = mpsc::channel::<(u8, Vec<u8>)>();
    for (tag, mut pipe) in [
        (1u8, Box::new(child.stdout.take().expect("stdout pipe")) as Box<dyn Read + Send>),
        (2u8, Box::new(child.stderr.take().expect("stderr pipe")) as Box<dyn Read + Send>),
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = pipe.read_to_end(&mut buf);
            let _ = tx.send((tag, buf));
        });
    }
    drop(tx);
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if start.elapsed() > timeout => {
                // SAFETY: kill(2) on the child's own process group; no memory is involved.
                unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
                let _ = child.wait();
                let (out, err) = collect(&rx, Duration::from_secs(2));
                panic!(
                    "timed out after {}s (process group killed){}",
                    timeout.as_secs(),
                    Output { cmdline, status: -1, stdout: out, stderr: err }.dump()
                );
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => panic!("waiting for {cmdline}: {e}"),
        }
    };
    // A process left behind (e.g. a daemon that kept our pipes) must not hang the test.
    let (stdout, mut stderr) = collect(&rx, Duration::from_secs(5));
    let code = status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
    if status.code().is_none() {
        stderr.push_str(&format!("\n[harness: killed by signal {}]", status.signal().unwrap_or(0)));
    }
    Output { cmdline, status: code, stdout, stderr }
}

fn collect(rx: &mpsc::Receiver<(u8, Vec<u8>)>, wait: Duration) -> (String, String) {
    let (mut out, mut err) = (None, None);
    let deadline = Instant::now() + wait;
    while out.is_none() || err.is_none() {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((1, b)) => out = Some(b),
            Ok((_, b)) => err = Some(b),
            Err(_) => break,
        }
    }
    let note = "[harness: output still held open by a process left behind]";
    let s = |b: Option<Vec<u8>>| b.map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_else(|| note.into());
    (s(out), s(err))
}

// ------------------------------------------------------------------------------------------------
// Leak checks: processes whose root or cwd is inside a storage root, mounts below it in any mount
// namespace.

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Leak {
    Process { pid: i32, comm: String, path: String },
    Mount { pid: i32, mountpoint: String },
}

impl std::fmt::Display for Leak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Leak::Process { pid, comm, path } => write!(f, "process {pid} ({comm}) with root/cwd {path}"),
            Leak::Mount { pid, mountpoint } => write!(f, "mount {mountpoint} (mount namespace of pid {pid})"),
        }
    }
}

fn under(path: &str, root: &str) -> bool {
    path == root || path.starts_with(&format!("{root}/"))
}

/// Processes and mounts inside ROOT.
pub fn find_leaks(root: &Path) -> Vec<Leak> {
    let root = root.display().to_string();
    let mut leaks = Vec::new();
    let mut seen_ns = HashSet::new();
    let Ok(dir) = std::fs::read_dir("/proc") else { return leaks };
    for ent in dir.flatten() {
        let Ok(pid) = ent.file_name().to_string_lossy().parse::<i32>() else { continue };
        if pid == std::process::id() as i32 {
            continue;
        }
        let p = ent.path();
        let comm = std::fs::read_to_string(p.join("comm")).unwrap_or_default().trim().to_string();
        for link in ["root", "cwd"] {
            if let Ok(target) = std::fs::read_link(p.join(link)) {
                let t = target.display().to_string();
                if under(&t, &root) {
                    leaks.push(Leak::Process { pid, comm: comm.clone(), path: t });
                    break;
                }
            }
        }
        let Ok(ns) = std::fs::read_link(p.join("ns/mnt")) else { continue };
        if !seen_ns.insert(ns) {
            continue;
        }
        let Ok(mi) = std::fs::read_to_string(p.join("mountinfo")) else { continue };
        for line in mi.lines() {
            if let Some(mp) = line.split(' ').nth(4) {
                let mp = mp.replace("\\040", " ");
                if under(&mp, &root) {
                    leaks.push(Leak::Mount { pid, mountpoint: mp });
                }
            }
        }
    }
    leaks
}

/// Kill leaked processes and lazily unmount leaked mounts, so the storage root can be removed.
fn clean_leaks(leaks: &[Leak]) {
    for l in leaks {
        if let Leak::Process { pid, .. } = l {
            // SAFETY: kill(2) with a pid we just read; a race only means the signal misses.
            unsafe { libc::kill(*pid, libc::SIGKILL) };
        }
    }
    let mut mounts: Vec<(i32, String)> = leaks
        .iter()
        .filter_map(|l| match l {
            Leak::Mount { pid, mountpoint } => Some((*pid, mountpoint.clone())),
            _ => None,
        })
        .collect();
    // deepest first
    mounts.sort_by_key(|(_, m)| std::cmp::Reverse(m.len()));
    for (pid, mp) in mounts {
        let _ = Command::new("nsenter")
            .args(["-t", &pid.to_string(), "-m", "--", "umount", "-l", &mp])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

// ------------------------------------------------------------------------------------------------
// Long-running commands (`logs -f`, `events`): spawn, read lines with a deadline, kill.

/// A warren command left running, with its stdout read line by line; killed (whole process group) on
/// drop.
pub struct Spawned {
    pub cmdline: String,
    child: std::process::Child,
    lines: mpsc::Receiver<String>,
}

impl Warren {
    /// Start `warren --root R ARGS...` as this user without waiting for it.
    pub fn spawn(&self, args: &[&str]) -> Spawned {
        let bin = require_env().bin.display().to_string();
        let root = self.root.display().to_string();
        let mut argv = vec![bin.as_str(), "--root", root.as_str()];
        argv.extend_from_slice(args);
        let mut c = self.command_for(&argv, &[]);
        c.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::null());
        let cmdline = format!("[{}] {}", self.user.name, argv.join(" "));
        let mut child = c.spawn().unwrap_or_else(|e| panic!("starting {cmdline}: {e}"));
        let out = child.stdout.take().expect("stdout pipe");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for l in std::io::BufReader::new(out).lines() {
                let Ok(l) = l else { break };
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        Spawned { cmdline, child, lines: rx }
    }
}

impl Spawned {
    /// The next `n` lines of stdout; panics (with what was read) if they do not come within `timeout`.
    #[track_caller]
    pub fn read_lines(&self, n: usize, timeout: Duration) -> Vec<String> {
        let deadline = Instant::now() + timeout;
        let mut got = vec![];
        while got.len() < n {
            match self.lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(l) => got.push(l),
                Err(_) => panic!("{}: expected {n} lines within {}s, got {got:?}", self.cmdline, timeout.as_secs()),
            }
        }
        got
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        // SAFETY: kill(2) on the spawned command's own process group.
        unsafe { libc::kill(-(self.child.id() as i32), libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

/// Poll `f` until it returns true or `timeout` passes; returns its last answer.
pub fn wait_for(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if f() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
