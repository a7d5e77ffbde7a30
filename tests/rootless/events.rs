//! The event log: `warren events` shows what run, rm, volume and pull did, with filters, formats and
//! time windows, and follows new events.

use crate::common::*;
use std::time::Duration;

/// The statuses of one container's events, oldest first.
fn statuses(w: &Warren, name: &str) -> Vec<String> {
    let out = w.run(&["events", "--stream=false", "--filter", &format!("container={name}"), "--format", "{{.Status}}"]);
    out.ok();
    out.lines().iter().map(|s| s.to_string()).collect()
}

/// Whether `want` appears in `got` in this order (other events may come between).
fn in_order(got: &[String], want: &[&str]) -> bool {
    let mut it = got.iter();
    want.iter().all(|w| it.any(|g| g == w))
}

#[test]
fn run_rm_records_create_start_died_remove_in_order() {
    let w = Warren::dev();
    w.run(&["run", "--rm", "--name", "evt", &image("busybox"), "true"]).ok();
    let got = statuses(&w, "evt");
    assert!(in_order(&got, &["create", "start", "died", "remove"]), "events of evt: {got:?}");
    // the default text format is Podman's
    let out = w.run(&["events", "--stream=false", "--filter", "container=evt", "--filter", "event=start"]);
    out.ok();
    assert_eq!(out.lines().len(), 1, "{out:?}");
    let l = out.lines()[0];
    assert!(l.contains(" +0000 UTC container start "), "{l}");
    assert!(l.contains(&format!("(image={}, name=evt)", image("busybox"))), "{l}");
    // other containers are filtered out; the pull of the image is an image event
    w.run(&["run", "--rm", "--name", "other", &image("busybox"), "true"]).ok();
    assert!(!statuses(&w, "evt").iter().any(|s| s == "pull"));
    w.run(&["events", "--stream=false", "--filter", "type=image", "--format", "{{.Status}} {{.Name}}"])
        .ok()
        .stdout_contains(&format!("pull {}", image("busybox")));
}

#[test]
fn json_format_and_exit_code() {
    let w = Warren::dev();
    w.run(&["run", "--rm", "--name", "j", &image("busybox"), "sh", "-c", "exit 3"]).code(3);
    let out = w.run(&["events", "--stream=false", "--filter", "container=j", "--format", "json"]);
    out.ok();
    let evs: Vec<serde_json::Value> =
        out.lines().iter().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}"))).collect();
    assert!(evs.len() >= 4, "{out:?}");
    for e in &evs {
        assert_eq!(e["Type"], "container");
        assert_eq!(e["Name"], "j");
        assert_eq!(e["ID"].as_str().map(str::len), Some(64));
        assert!(e["timeNano"].as_i64().is_some_and(|t| t > 0) && e["time"].as_i64().is_some(), "{e}");
    }
    let died = evs.iter().find(|e| e["Status"] == "died").expect("a died event");
    assert_eq!(died["ContainerExitCode"], 3);
}

#[test]
fn since_and_until_select_a_window() {
    let w = Warren::dev();
    w.run(&["volume", "create", "before"]).ok();
    std::thread::sleep(Duration::from_millis(1100));
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    w.run(&["volume", "create", "after"]).ok();
    let since = now.to_string();
    let out = w.run(&["events", "--stream=false", "--since", &since, "--format", "{{.Name}}"]);
    out.ok().stdout_contains("after").stdout_lacks("before");
    let out = w.run(&["events", "--stream=false", "--until", &now.to_string(), "--format", "{{.Name}}"]);
    out.ok().stdout_contains("before").stdout_lacks("after");
    // a duration works too; --since without --stream=false prints the window and keeps following
    w.run(&[
        "events",
        "--stream=false",
        "--since",
        "5m",
        "--filter",
        "type=volume",
        "--format",
        "{{.Status}} {{.Name}}",
    ])
    .ok()
    .stdout_is("create before\ncreate after");
    w.run(&["events", "--stream=false", "--filter", "bogus=1"]).code(125);
}

#[test]
fn events_follows_new_events() {
    let w = Warren::dev();
    w.run(&["volume", "create", "old"]).ok();
    let ev = w.spawn(&["events", "--filter", "type=volume", "--format", "{{.Status}} {{.Name}}"]);
    // give it time to open the log; old events are not replayed without --since
    std::thread::sleep(Duration::from_millis(700));
    w.run(&["volume", "create", "new1"]).ok();
    w.run(&["volume", "rm", "new1"]).ok();
    assert_eq!(ev.read_lines(2, Duration::from_secs(20)), ["create new1", "remove new1"]);
}

#[test]
fn image_pull_tag_untag_are_events() {
    let w = Warren::dev();
    w.pull(&image("busybox"));
    w.run(&["tag", &image("busybox"), "mine:1"]).ok();
    w.run(&["rmi", "mine:1"]).ok();
    w.run(&["events", "--stream=false", "--filter", "type=image", "--format", "{{.Status}} {{.Name}}"])
        .ok()
        .stdout_is(&format!("pull {}:latest\ntag localhost/mine:1\nuntag localhost/mine:1", image("busybox")));
}
