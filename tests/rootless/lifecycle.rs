//! The container lifecycle (issue 4): detached runs, ps, logs, stop, rm, wait, start/restart,
//! restart policies, a killed monitor, and concurrent runs; as `dev` and as root.

use crate::common::*;
use std::time::{Duration, Instant};

fn bb() -> String {
    image("busybox")
}

const LOOP: &str = "while :; do date; sleep 1; done";

/// `ps -a` line of one container: its STATUS column via a template.
fn status(w: &Warren, name: &str) -> String {
    let out = w.run(&["ps", "-a", "--filter", &format!("name={name}"), "--format", "{{.Status}}"]);
    out.ok();
    out.stdout.trim().to_string()
}

/// Nothing of the container is left: no record, no storage directory, no process.
fn assert_gone(w: &Warren, id: &str) {
    w.run(&["ps", "-a", "-q", "--no-trunc"]).ok().stdout_lacks(id);
    let dir = w.storage_root().join("containers").join(id);
    assert!(!dir.exists(), "{} is left behind", dir.display());
    let leaks = find_leaks(&w.storage_root().join("containers"));
    assert!(leaks.is_empty(), "left behind: {leaks:?}");
}

fn lifecycle(w: &Warren) {
    let img = bb();
    // run -d returns the ID at once
    let t = Instant::now();
    let out = w.run(&["run", "-d", "--name", "web", &img, "sh", "-c", LOOP]);
    out.ok();
    let id = out.stdout.trim().to_string();
    assert_eq!(id.len(), 64, "{out:?}");
    assert!(t.elapsed() < Duration::from_secs(15), "run -d took {:?}", t.elapsed());
    // ps shows it Up
    w.run(&["ps"]).ok().stdout_contains(&id[..12]).stdout_contains("Up ").stdout_contains("web");
    // logs --tail 2: two lines once there are more
    std::thread::sleep(Duration::from_millis(3500));
    let logs = w.run(&["logs", "--tail", "2", "web"]);
    logs.ok().check("two lines", |o| o.lines().len() == 2);
    // logs -f streams until the container stops
    let bin = env().bin.display().to_string();
    let root = w.storage_root().display().to_string();
    let script = format!(
        "{bin} --root {root} logs -f web > /tmp/warren-logs-f-$$ & sleep 2.5; \
         {bin} --root {root} stop -t 0 web >/dev/null; wait $!; echo rc=$?; wc -l < /tmp/warren-logs-f-$$; rm -f /tmp/warren-logs-f-$$"
    );
    let o = w.sh(&script);
    o.ok().stdout_contains("rc=0");
    let n: usize = o.lines().last().copied().unwrap_or("0").trim().parse().unwrap_or(0);
    assert!(n >= 5, "logs -f printed {n} lines: {o:?}");
    // start again; stop -t 2 of a PID 1 that ignores SIGTERM takes ~2 s and ends in 137
    w.run(&["start", "web"]).ok().stdout_is("web");
    w.run(&["ps"]).ok().stdout_contains("web");
    let t = Instant::now();
    w.run(&["stop", "-t", "2", "web"]).ok().stdout_is("web");
    let took = t.elapsed();
    assert!(took >= Duration::from_millis(1900) && took < Duration::from_secs(8), "stop -t 2 took {took:?}");
    assert!(status(w, "web").starts_with("Exited (137)"), "{}", status(w, "web"));
    // restart runs it again
    w.run(&["restart", "-t", "0", "web"]).ok();
    assert!(status(w, "web").starts_with("Up"), "{}", status(w, "web"));
    w.run(&["rm", "web"]).code(125).stderr_contains("running");
    w.run(&["rm", "-f", "web"]).ok().stdout_is("web");
    assert_gone(w, &id);
    // exit status through wait
    let out = w.run(&["run", "-d", &img, "sh", "-c", "exit 7"]);
    out.ok();
    let id7 = out.stdout.trim().to_string();
    w.run(&["wait", &id7]).ok().stdout_is("7");
    w.run(&["inspect", "-f", "{{.State.ExitCode}}", &id7]).ok().stdout_is("7");
    w.run(&["rm", &id7]).ok();
    assert_gone(w, &id7);
}

#[test]
fn lifecycle_as_dev() {
    let w = Warren::dev();
    w.pull(&bb());
    lifecycle(&w);
}

#[test]
fn lifecycle_as_root() {
    let w = Warren::root();
    w.pull(&bb());
    lifecycle(&w);
}

#[test]
fn restart_on_failure_restarts_twice() {
    let w = Warren::dev();
    w.pull(&bb());
    let img = bb();
    w.run(&["run", "-d", "--name", "flaky", "--restart", "on-failure:2", &img, "sh", "-c", "echo run; exit 3"]).ok();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let o = w.run(&["inspect", "-f", "{{.State.Status}} {{.RestartCount}}", "flaky"]);
        o.ok();
        let runs = w.run(&["logs", "flaky"]).lines().iter().filter(|l| **l == "run").count();
        if o.stdout.trim() == "exited 2" && runs == 3 {
            break;
        }
        assert!(runs <= 3, "more than two restarts");
        assert!(Instant::now() < deadline, "never settled at 2 restarts: {o:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    w.run(&["wait", "flaky"]).ok().stdout_is("3");
    std::thread::sleep(Duration::from_millis(500));
    w.run(&["logs", "flaky"]).ok().check("three runs", |o| o.lines().iter().filter(|l| **l == "run").count() == 3);
    w.run(&["rm", "flaky"]).ok();
}

#[test]
fn stop_is_not_undone_by_a_restart_policy() {
    let w = Warren::dev();
    w.pull(&bb());
    let img = bb();
    w.run(&["run", "-d", "--name", "always", "--restart", "always", &img, "sleep", "1000"]).ok();
    w.run(&["stop", "-t", "0", "always"]).ok();
    std::thread::sleep(Duration::from_millis(500));
    assert!(status(&w, "always").starts_with("Exited"), "{}", status(&w, "always"));
    w.run(&["rm", "always"]).ok();
}

#[test]
fn killed_monitor_leaves_a_manageable_container() {
    for w in [Warren::dev(), Warren::root()] {
        w.pull(&bb());
        let img = bb();
        let out = w.run(&["run", "-d", "--name", "orphan", &img, "sleep", "1000"]);
        out.ok();
        let id = out.stdout.trim().to_string();
        // the monitor: named warren-monitor, `__monitor ID` on its command line
        let monitor = std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
            .find(|pid| {
                let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
                let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
                comm.trim() == "warren-monitor" && cmd.contains("__monitor") && cmd.contains(&id)
            })
            .expect("the container's monitor process");
        // SAFETY: kill(2) of the monitor we just found.
        unsafe { libc::kill(monitor, libc::SIGKILL) };
        std::thread::sleep(Duration::from_millis(300));
        assert!(status(&w, "orphan").starts_with("Up"), "{}", status(&w, "orphan"));
        w.run(&["stop", "-t", "1", "orphan"]).ok();
        assert!(status(&w, "orphan").starts_with("Exited"), "{}", status(&w, "orphan"));
        w.run(&["rm", "orphan"]).ok();
        assert_gone(&w, &id);
    }
}

#[test]
fn concurrent_detached_runs_keep_the_state_consistent() {
    let w = Warren::dev();
    w.pull(&bb());
    let bin = env().bin.display().to_string();
    let root = w.storage_root().display().to_string();
    let img = bb();
    let script = format!(
        "for i in 0 1 2 3 4 5 6 7 8 9; do {bin} --root {root} run -d --name c$i {img} sleep 1000 > /dev/null 2>/tmp/warren-conc-$$-$i || echo FAIL $i; done & \
         wait; for i in 0 1 2 3 4 5 6 7 8 9; do cat /tmp/warren-conc-$$-$i; rm -f /tmp/warren-conc-$$-$i; done"
    );
    // started all at once (each in the background)
    let script = script.replacen("; done &", " & done;", 1);
    w.sh(&script).ok().stdout_lacks("FAIL");
    let ps = w.run(&["ps", "--format", "{{.Names}}"]);
    ps.ok();
    let mut names: Vec<&str> = ps.lines();
    names.sort();
    assert_eq!(names, (0..10).map(|i| format!("c{i}")).collect::<Vec<_>>(), "{ps:?}");
    w.run(&["rm", "-af"]).ok();
    w.run(&["ps", "-aq"]).ok().stdout_is("");
}
