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
    w.run(&["rm", "-f", "-t", "0", "web"]).ok().stdout_is("web");
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
fn restart_on_failure_restarts_three_times() {
    let w = Warren::dev();
    w.pull(&bb());
    let img = bb();
    w.run(&["run", "-d", "--name", "flaky", "--restart", "on-failure:3", &img, "sh", "-c", "echo run; exit 3"]).ok();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let o = w.run(&["inspect", "-f", "{{.State.Status}} {{.RestartCount}}", "flaky"]);
        o.ok();
        let runs = w.run(&["logs", "flaky"]).lines().iter().filter(|l| **l == "run").count();
        if o.stdout.trim() == "exited 3" && runs == 4 {
            break;
        }
        assert!(runs <= 4, "more than three restarts");
        assert!(Instant::now() < deadline, "never settled at 3 restarts: {o:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    w.run(&["wait", "flaky"]).ok().stdout_is("3");
    std::thread::sleep(Duration::from_millis(500));
    w.run(&["logs", "flaky"]).ok().check("four runs", |o| o.lines().iter().filter(|l| **l == "run").count() == 4);
    // each run is visible in the event log: four starts, four deaths with the exit code
    let events = w.run(&["events", "--stream=false", "--filter", "container=flaky", "--format", "{{.Status}}"]);
    events.ok();
    let count = |s: &str| events.lines().iter().filter(|l| **l == s).count();
    assert_eq!((count("start"), count("died")), (4, 4), "{events:?}");
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
    let wr = format!("{bin} --root {root}");
    // 20 `run -d` at once; each either succeeds or says clearly why not (never a panic or a silent
    // failure), and the ones that succeeded are running.
    let runs = format!(
        "for i in $(seq 0 19); do ({wr} run -d --name c$i {img} sleep 1000 >/dev/null 2>&1 || echo FAIL $i) & done; wait"
    );
    w.sh(&runs).ok().stdout_lacks("FAIL");
    let ps = w.run(&["ps", "--format", "{{.Names}}"]);
    ps.ok();
    let mut names: Vec<&str> = ps.lines();
    names.sort();
    let mut want: Vec<String> = (0..20).map(|i| format!("c{i}")).collect();
    want.sort();
    assert_eq!(names, want, "{ps:?}");

    // `rm -f --all` twice at once, while `ps -a` runs in a loop: every command exits 0 or fails with a
    // message (and never with a panic or a database error); afterwards nothing is left.
    let race = format!(
        "for i in 1 2; do ({wr} rm -f -t 0 --all >/dev/null 2>/tmp/wc-rm-$$-$i; echo rm $i $? >> /tmp/wc-rc-$$) & done; \
         for i in 1 2 3 4 5 6; do ({wr} ps -a >/dev/null 2>/tmp/wc-ps-$$-$i; echo ps $i $? >> /tmp/wc-rc-$$) & done; \
         wait; cat /tmp/wc-rc-$$; for f in /tmp/wc-rm-$$-* /tmp/wc-ps-$$-*; do sed \"s|^|$f: |\" $f; done; \
         rm -f /tmp/wc-*-$$-* /tmp/wc-rc-$$"
    );
    let out = w.sh(&race);
    out.ok();
    for line in out.stdout.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() == 3 && (f[0] == "rm" || f[0] == "ps") {
            // ps never fails; rm may report a container the other rm removed first (exit 1, like Podman)
            let allowed: &[&str] = if f[0] == "ps" { &["0"] } else { &["0", "1"] };
            assert!(allowed.contains(&f[2]), "{line} failed:\n{}", out.stdout);
        } else {
            assert!(
                !line.contains("panicked") && !line.contains("database") && !line.contains("locked"),
                "unclear failure: {line}\n{}",
                out.stdout
            );
        }
    }
    w.run(&["ps", "-aq"]).ok().stdout_is("");
    let leaks = find_leaks(&w.storage_root().join("containers"));
    assert!(leaks.is_empty(), "left behind: {leaks:?}");

    // The state store is intact.
    let db = rusqlite::Connection::open(w.storage_root().join("state.db")).expect("opening state.db");
    let check: String = db.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
}

/// How long a command took, asserting it succeeded.
fn timed(w: &Warren, args: &[&str]) -> Duration {
    let t = Instant::now();
    w.run(args).ok();
    t.elapsed()
}

/// The exit code of a container's `died` event.
fn died_code(w: &Warren, name: &str) -> Option<i64> {
    let out = w.run(&["events", "--stream=false", "--filter", &format!("container={name}"), "--format", "json"]);
    out.ok();
    out.lines()
        .iter()
        .rev()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|e| e["Status"] == "died")
        .and_then(|e| e["ContainerExitCode"].as_i64())
}

/// `rm -f` of a running container stops it like Podman: the stop signal first (a container that
/// handles it exits cleanly), SIGKILL only after the container's stop timeout, or `rm -t N`.
/// `stop` and `restart` without `-t` use the container's `--stop-timeout` too.
#[test]
fn rm_force_and_stop_use_the_stop_signal_and_the_stop_timeout() {
    let w = Warren::dev();
    w.pull(&bb());
    let img = bb();
    // A PID 1 that handles SIGTERM: rm -f lets it exit 0 (before: SIGKILL, 137).
    let script = "trap 'echo got TERM; exit 0' TERM; echo ready; while :; do sleep 0.1; done";
    w.run(&["run", "-d", "--name", "graceful", &img, "sh", "-c", script]).ok();
    assert!(wait_for(Duration::from_secs(10), || w.run(&["logs", "graceful"]).stdout.contains("ready")));
    let took = timed(&w, &["rm", "-f", "graceful"]);
    assert!(took < Duration::from_secs(5), "rm -f of a container that handles SIGTERM took {took:?}");
    assert_eq!(died_code(&w, "graceful"), Some(0), "rm -f did not send the stop signal first");
    w.run(&["ps", "-a", "--format", "{{.Names}}"]).ok().stdout_lacks("graceful");

    // busybox sleep as PID 1 ignores SIGTERM: rm -f waits the container's stop timeout (1 s here,
    // not 10), then kills.
    w.run(&["run", "-d", "--name", "slow", "--stop-timeout", "1", &img, "sleep", "100"]).ok();
    let took = timed(&w, &["rm", "-f", "slow"]);
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(6), "rm -f took {took:?}");
    assert_eq!(died_code(&w, "slow"), Some(137));
    // -t overrides it both ways
    w.run(&["run", "-d", "--name", "long", "--stop-timeout", "30", &img, "sleep", "100"]).ok();
    let took = timed(&w, &["rm", "-f", "-t", "2", "long"]);
    assert!(took >= Duration::from_millis(1900) && took < Duration::from_secs(8), "rm -f -t 2 took {took:?}");
    w.run(&["run", "-d", "--name", "quick", &img, "sleep", "100"]).ok();
    let took = timed(&w, &["rm", "-f", "-t", "0", "quick"]);
    assert!(took < Duration::from_secs(3), "rm -f -t 0 took {took:?}");

    // stop and restart without -t: the container's stop timeout
    w.run(&["run", "-d", "--name", "st", "--stop-timeout", "1", &img, "sleep", "100"]).ok();
    let took = timed(&w, &["stop", "st"]);
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(6), "stop took {took:?}");
    assert!(status(&w, "st").starts_with("Exited (137)"), "{}", status(&w, "st"));
    w.run(&["start", "st"]).ok();
    let took = timed(&w, &["restart", "st"]);
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(6), "restart took {took:?}");
    assert!(status(&w, "st").starts_with("Up"), "{}", status(&w, "st"));
    w.run(&["inspect", "-f", "{{.Config.StopTimeout}}", "st"]).ok().stdout_is("1");
    w.run(&["rm", "-f", "-t", "0", "st"]).ok().stdout_is("st");

    // pod rm -f stops each member with its own stop timeout too
    w.run(&["pod", "create", "--name", "pt"]).ok();
    w.run(&["run", "-d", "--pod", "pt", "--name", "member", "--stop-timeout", "1", &img, "sleep", "100"]).ok();
    let took = timed(&w, &["pod", "rm", "-f", "pt"]);
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(8), "pod rm -f took {took:?}");
    assert_eq!(died_code(&w, "member"), Some(137));
}

/// `wait` on a `--rm` container gets its exit code though the container is removed as it exits (Podman
/// keeps exit codes of removed containers); errors name the container as typed.
#[test]
fn wait_gets_the_exit_code_of_a_container_removed_by_rm() {
    let w = Warren::dev();
    w.pull(&bb());
    let img = bb();
    let out = w.run(&["run", "--rm", "-d", "--name", "rmd", &img, "sh", "-c", "sleep 1; exit 3"]);
    out.ok();
    let id = out.stdout.trim().to_string();
    w.run(&["wait", "rmd"]).ok().stdout_is("3");
    let gone = |n: &str| !w.run(&["ps", "-a", "--format", "{{.Names}}"]).stdout.lines().any(|l| l == n);
    assert!(wait_for(Duration::from_secs(10), || gone("rmd")));
    // already gone when wait starts (removed by --rm): by name, ID or ID prefix
    let out = w.run(&["run", "--rm", "-d", "--name", "quick", &img, "sh", "-c", "exit 4"]);
    out.ok();
    let qid = out.stdout.trim().to_string();
    assert!(wait_for(Duration::from_secs(10), || gone("quick")));
    w.run(&["wait", "quick"]).ok().stdout_is("4");
    w.run(&["wait", &qid[..12]]).ok().stdout_is("4");
    w.run(&["wait", &id]).ok().stdout_is("3");
    // an unknown name: the error names what was typed; the others are still waited for
    w.run(&["run", "-d", "--name", "five", &img, "sh", "-c", "exit 5"]).ok();
    w.run(&["wait", "five", "nosuch"])
        .code(125)
        .stdout_is("5")
        .stderr_contains("no container with name or ID \"nosuch\" found: no such container");
    // a container removed with rm (not --rm) is gone for wait, as in Podman
    w.run(&["rm", "five"]).ok();
    w.run(&["wait", "five"]).code(125).stderr_contains("no container with name or ID \"five\" found");
}

/// `rm -i` of a missing container prints nothing; `start` starts every container it can and reports
/// the missing one (exit 125); `rm` after the monitor's cleanup emits no second `cleanup` event.
#[test]
fn missing_containers_in_rm_and_start_and_one_cleanup_event() {
    let w = Warren::dev();
    w.pull(&bb());
    let img = bb();
    w.run(&["rm", "-i", "nosuch"]).ok().stdout_is("");
    w.run(&["create", "--name", "m1", &img, "sleep", "100"]).ok();
    w.run(&["create", "--name", "m2", &img, "sleep", "100"]).ok();
    w.run(&["start", "m1", "nosuch", "m2"])
        .code(125)
        .stdout_is("m1\nm2")
        .stderr_contains("no container with name or ID \"nosuch\" found");
    assert!(status(&w, "m1").starts_with("Up") && status(&w, "m2").starts_with("Up"));
    w.run(&["rm", "-f", "-t", "0", "-i", "m1", "nosuch"]).ok().stdout_is("m1");
    w.run(&["rm", "-f", "-t", "0", "m2"]).ok();

    w.run(&["run", "-d", "--name", "once", &img, "true"]).ok();
    w.run(&["wait", "once"]).ok().stdout_is("0");
    assert!(wait_for(Duration::from_secs(10), || {
        let e = w.run(&["events", "--stream=false", "--filter", "container=once", "--format", "{{.Status}}"]);
        e.lines().contains(&"cleanup")
    }));
    w.run(&["rm", "once"]).ok();
    let e = w.run(&["events", "--stream=false", "--filter", "container=once", "--format", "{{.Status}}"]);
    e.ok();
    assert_eq!(e.lines().iter().filter(|l| **l == "cleanup").count(), 1, "{e:?}");
    assert_eq!(e.lines().last().copied(), Some("remove"), "{e:?}");
}

/// Exited processes that the slow init of this kind of host has not reaped yet (zombies: the monitor,
/// pasta) count as gone: `run --rm` with pasta, `start` of a stopped container and `restart` do not
/// wait for deadlines (before: ~2 s, ~3.7 s and ~5 s).
#[test]
fn unreaped_processes_do_not_slow_start_and_stop() {
    let w = Warren::dev();
    w.pull(&bb());
    let img = bb();
    let fastest = |args: &[&str]| (0..3).map(|_| timed(&w, args)).min().unwrap();
    let took = fastest(&["run", "--rm", "--network", "pasta", &img, "true"]);
    assert!(took < Duration::from_millis(1500), "run --rm with pasta took {took:?}");
    w.run(&["run", "-d", "--name", "again", &img, "sleep", "100"]).ok();
    let mut starts = vec![];
    for _ in 0..2 {
        w.run(&["stop", "-t", "0", "again"]).ok();
        starts.push(timed(&w, &["start", "again"]));
    }
    let took = starts.into_iter().min().unwrap();
    assert!(took < Duration::from_millis(1500), "start of a stopped container took {took:?}");
    let took = timed(&w, &["restart", "-t", "0", "again"]);
    assert!(took < Duration::from_millis(2500), "restart -t 0 took {took:?}");
    w.run(&["rm", "-f", "-t", "0", "again"]).ok();
}
