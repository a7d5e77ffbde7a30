//! Container commands beyond run (issue 4): exec, inspect, top, rename, exists, prune, cp, diff,
//! export, mount, pause, stats, attach, the `container` command group; as `dev` and, where it
//! matters, as root.

use crate::common::*;

fn bb() -> String {
    image("busybox")
}

/// `run -d --name NAME busybox CMD...`, asserting success; returns the full ID.
fn detached(w: &Warren, name: &str, cmd: &[&str]) -> String {
    let img = bb();
    let mut argv = vec!["run", "-d", "--name", name];
    argv.push(&img);
    argv.extend_from_slice(cmd);
    let out = w.run(&argv);
    out.ok();
    let id = out.stdout.trim().to_string();
    assert_eq!(id.len(), 64, "run -d prints the full ID: {out:?}");
    id
}

const LOOP: &[&str] = &["sh", "-c", "while :; do date; sleep 1; done"];

fn exec_suite(w: &Warren, global: &[&str]) {
    let go = |args: &[&str]| {
        let mut v: Vec<&str> = global.to_vec();
        v.extend_from_slice(args);
        w.run(&v)
    };
    let img = bb();
    go(&["run", "-d", "--name", "web", "--hostname", "webhost", &img, LOOP[0], LOOP[1], LOOP[2]]).ok();
    go(&["exec", "web", "cat", "/etc/hostname"]).ok().stdout_is("webhost");
    go(&["exec", "web", "hostname"]).ok().stdout_is("webhost");
    go(&["exec", "web", "sh", "-c", "exit 5"]).code(5);
    go(&["exec", "-u", "1000", "web", "id", "-u"]).ok().stdout_is("1000");
    go(&["exec", "-e", "X=1", "web", "sh", "-c", "echo $X"]).ok().stdout_is("1");
    go(&["exec", "-w", "/tmp", "web", "pwd"]).ok().stdout_is("/tmp");
    // the container's environment, pid namespace (the loop is PID 1) and security settings
    go(&["exec", "web", "sh", "-c", "echo $HOSTNAME $container"]).ok().stdout_is("webhost warren");
    go(&["exec", "web", "cat", "/proc/1/cmdline"]).ok().stdout_contains("while");
    go(&["exec", "web", "grep", "NoNewPrivs", "/proc/self/status"]).ok().stdout_contains("1");
    go(&["exec", "web", "/nonexistent"]).code(127);
    // stdin with -i
    let mut v: Vec<&str> = global.to_vec();
    v.extend_from_slice(&["exec", "-i", "web", "cat"]);
    w.run_with(&v, RunOpts { stdin: Some(b"piped".to_vec()), ..Default::default() }).ok().stdout_is("piped");
    // a pty, like run -t
    let bin = env().bin.display().to_string();
    let root = w.storage_root().display().to_string();
    let line = format!("{bin} --root {root} {} exec -it web tty", global.join(" "));
    w.cmd(&["script", "-qec", &line, "/dev/null"]).ok().stdout_contains("/dev/pts/");
    // stopped: 125
    go(&["stop", "-t", "0", "web"]).ok();
    go(&["exec", "web", "true"]).code(125).stderr_contains("running");
    go(&["rm", "web"]).ok();
}

#[test]
fn exec_as_dev() {
    let w = Warren::dev();
    w.pull(&bb());
    exec_suite(&w, &[]);
}

#[test]
fn exec_as_root() {
    let w = Warren::root();
    w.pull(&bb());
    exec_suite(&w, &[]);
}

#[test]
fn exec_with_crun() {
    let w = Warren::dev();
    w.pull(&bb());
    let img = bb();
    w.run(&["--runtime", "crun", "run", "-d", "--name", "c", &img, "sleep", "1000"]).ok();
    w.run(&["--runtime", "crun", "exec", "c", "sh", "-c", "id -u; exit 4"]).code(4).stdout_is("0");
    w.run(&["--runtime", "crun", "exec", "-u", "1000", "-w", "/tmp", "c", "sh", "-c", "id -u; pwd"])
        .ok()
        .stdout_is("1000\n/tmp");
    w.run(&["rm", "-f", "c"]).ok();
}

#[test]
fn exec_in_a_nested_user_namespace() {
    let w = Warren::dev();
    w.pull(&bb());
    let img = bb();
    w.run(&["run", "-d", "--userns", "keep-id", "--name", "k", &img, "sleep", "1000"]).ok();
    let uid = env().dev.uid.to_string();
    w.run(&["exec", "k", "id", "-u"]).ok().stdout_is(&uid);
    w.run(&["exec", "-u", "0", "k", "id", "-u"]).ok().stdout_is("0");
    w.run(&["rm", "-f", "k"]).ok();
}

#[test]
fn exec_detached() {
    let w = Warren::dev();
    w.pull(&bb());
    detached(&w, "web", &["sleep", "1000"]);
    w.run(&["exec", "-d", "web", "sh", "-c", "echo done > /tmp/marker"]).ok();
    let mut found = false;
    for _ in 0..50 {
        if w.run(&["exec", "web", "cat", "/tmp/marker"]).success() {
            found = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(found, "exec -d did not run its command");
    w.run(&["rm", "-f", "web"]).ok();
}
