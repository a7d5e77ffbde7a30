//! `warren logs` and the log drivers: --tail, -f, -t, --since, several containers, json-file, none,
//! passthrough, and max-size rotation.

use crate::common::*;
use std::time::Duration;

const FIVE: &str = "for i in 1 2 3 4 5; do echo $i; done; sleep 100";

/// Kill the containers, wait for their monitors to record the exit, remove them.
#[track_caller]
fn kill_rm(w: &Warren, names: &[&str]) {
    let mut args = vec!["kill"];
    args.extend_from_slice(names);
    w.run(&args);
    let mut args = vec!["wait"];
    args.extend_from_slice(names);
    w.run(&args).ok();
    let mut args = vec!["rm"];
    args.extend_from_slice(names);
    w.run(&args).ok();
}

/// Wait until `logs NAME` has at least `n` lines.
#[track_caller]
fn wait_lines(w: &Warren, name: &str, n: usize) {
    let ok = wait_for(Duration::from_secs(30), || w.run(&["logs", name]).lines().len() >= n);
    assert!(ok, "the log of {name} never reached {n} lines: {:?}", w.run(&["logs", name]));
}

#[test]
fn tail_timestamps_since_and_names() {
    let w = Warren::dev();
    w.run(&["run", "-d", "--name", "x", &image("busybox"), "sh", "-c", FIVE]).ok();
    wait_lines(&w, "x", 5);
    w.run(&["logs", "x"]).ok().stdout_is("1\n2\n3\n4\n5");
    w.run(&["logs", "--tail", "2", "x"]).ok().stdout_is("4\n5");
    w.run(&["logs", "--tail", "0", "x"]).ok().stdout_is("");
    let t = w.run(&["logs", "-t", "--tail", "1", "x"]);
    t.ok().check("an RFC 3339 timestamp before the line", |o| {
        let l = o.lines()[0];
        let (ts, rest) = l.split_once(' ').unwrap_or(("", ""));
        rest == "5"
            && ts.starts_with("20")
            && ts.ends_with('Z')
            && ts.split_once('.').is_some_and(|(_, f)| f.len() == 10)
    });
    w.run(&["logs", "--since", "10m", "x"]).ok().stdout_is("1\n2\n3\n4\n5");
    w.run(&["logs", "--until", "10m", "x"]).ok().stdout_is("");
    // several containers: each line says whose it is
    w.run(&["run", "-d", "--name", "y", &image("busybox"), "sh", "-c", "echo why; sleep 100"]).ok();
    wait_lines(&w, "y", 1);
    // several containers: each line says whose it is (the short ID, or the name with --names)
    let both = w.run(&["logs", "--names", "x", "y"]);
    both.ok().stdout_contains("x 5").stdout_contains("y why");
    let yid = w.run(&["ps", "-q", "--filter", "name=y"]).stdout.trim().to_string();
    w.run(&["logs", "x", "y"]).ok().stdout_contains(&format!("{yid} why"));
    w.run(&["logs", "--names", "y"]).ok().stdout_is("why");
    // -f of several follows them side by side
    let f = w.spawn(&["logs", "-f", "--names", "--tail", "1", "x", "y"]);
    let mut got = f.read_lines(2, Duration::from_secs(30));
    got.sort();
    assert_eq!(got, ["x 5", "y why"]);
    drop(f);
    kill_rm(&w, &["x", "y"]);
}

#[test]
fn follow_streams_lines_written_later() {
    let w = Warren::dev();
    w.run(&["run", "-d", "--name", "f", &image("busybox"), "sh", "-c", "echo first; sleep 2; echo second; sleep 100"])
        .ok();
    wait_lines(&w, "f", 1);
    let follow = w.spawn(&["logs", "-f", "f"]);
    assert_eq!(follow.read_lines(2, Duration::from_secs(30)), ["first", "second"]);
    drop(follow);
    // -f ends by itself when the container stops
    w.run(&["run", "-d", "--name", "g", &image("busybox"), "sh", "-c", "echo a; sleep 1; echo b"]).ok();
    w.run_with(&["logs", "-f", "g"], RunOpts { timeout: Some(Duration::from_secs(60)), ..Default::default() })
        .ok()
        .stdout_is("a\nb");
    kill_rm(&w, &["f", "g"]);
}

#[test]
fn json_file_driver_writes_docker_json_lines() {
    let w = Warren::dev();
    let out = w.run(&["run", "-d", "--name", "j", "--log-driver", "json-file", &image("busybox"), "sh", "-c", FIVE]);
    out.ok();
    let id = out.stdout.trim().to_string();
    wait_lines(&w, "j", 5);
    w.run(&["logs", "--tail", "2", "j"]).ok().stdout_is("4\n5");
    let path = w.storage_root().join(format!("containers/{id}/userdata/ctr.log"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).expect("a JSON line");
    assert_eq!(first["log"], "1\n");
    assert_eq!(first["stream"], "stdout");
    assert!(first["time"].as_str().is_some_and(|t| t.ends_with('Z')), "{first}");
    kill_rm(&w, &["j"]);
}

#[test]
fn none_and_passthrough_drivers() {
    let w = Warren::dev();
    let img = image("busybox");
    w.run(&["run", "-d", "--name", "n", "--log-driver", "none", &img, "sh", "-c", "echo hidden"]).ok();
    w.run(&["wait", "n"]).ok();
    w.run(&["logs", "n"]).code(125).stderr_contains("this container is using the 'none' log driver, cannot read logs");
    // passthrough: the output goes straight to the caller; detached it is refused
    w.run(&["run", "--rm", "--log-driver", "passthrough", &img, "echo", "through"]).ok().stdout_is("through");
    w.run(&["run", "-d", "--log-driver", "passthrough", &img, "true"]).code(125).stderr_contains("passthrough");
    w.run(&["run", "--rm", "--log-driver", "journald", &img, "true"]).code(125);
    w.run(&["run", "--rm", "--log-opt", "bogus=1", &img, "true"]).code(125);
    w.run(&["rm", "n"]).ok();
}

#[test]
fn max_size_rotates_and_path_moves_the_log() {
    let w = Warren::dev();
    let img = image("busybox");
    let script = "i=0; while [ $i -lt 100 ]; do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; i=$((i+1)); done";
    let out = w.run(&["run", "-d", "--name", "r", "--log-opt", "max-size=2k", &img, "sh", "-c", script]);
    out.ok();
    let id = out.stdout.trim().to_string();
    w.run(&["wait", "r"]).ok();
    let log = w.storage_root().join(format!("containers/{id}/userdata/ctr.log"));
    let size = std::fs::metadata(&log).map(|m| m.len()).unwrap_or(u64::MAX);
    assert!(size <= 2000, "{} is {size} bytes, over max-size 2k", log.display());
    let old = log.with_file_name("ctr.log.1");
    assert!(old.is_file() && old.metadata().unwrap().len() <= 2000, "no rotated {}", old.display());
    w.run(&["logs", "--tail", "1", "r"]).ok().stdout_is("line-99-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    w.run(&["rm", "r"]).ok();

    let custom = w.storage_root().join("mylogs/c.log");
    let opt = format!("path={}", custom.display());
    w.run(&["run", "-d", "--name", "p", "--log-opt", &opt, &img, "echo", "elsewhere"]).ok();
    w.run(&["wait", "p"]).ok();
    w.run(&["logs", "p"]).ok().stdout_is("elsewhere");
    let text = std::fs::read_to_string(&custom).unwrap_or_else(|e| panic!("{}: {e}", custom.display()));
    assert!(text.contains("stdout F elsewhere"), "{text}");
    w.run(&["rm", "p"]).ok();
}

#[test]
fn foreground_runs_are_logged_too() {
    let w = Warren::dev();
    let out = w.run(&["run", "--name", "fg", &image("busybox"), "sh", "-c", "echo out; echo err >&2; exit 4"]);
    out.code(4).stdout_is("out").stderr_contains("err");
    w.run(&["logs", "fg"]).ok().stdout_contains("out").stdout_contains("err");
    // stdin still reaches the container
    let cat = w.run_with(
        &["run", "--rm", "-i", &image("busybox"), "cat"],
        RunOpts { stdin: Some(b"piped in\n".to_vec()), ..Default::default() },
    );
    cat.ok().stdout_is("piped in");
    w.run(&["rm", "fg"]).ok();
}
