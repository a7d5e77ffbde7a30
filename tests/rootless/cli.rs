//! What a newcomer meets on the command line: `--format` Go templates, `--log-level`, help texts,
//! message style, `start` of a container that cannot start, creation order, `-u` outside the mapping,
//! the platform warning and `--init`'s PID 1.

use crate::common::*;

fn bb() -> String {
    image("busybox")
}

#[test]
fn format_templates_like_go_and_podman() {
    let w = Warren::dev();
    let img = bb();
    w.pull(&img);
    // With no container at all, an unknown function is still an error (Go checks them when parsing).
    w.run(&["ps", "-a", "--format", "{{bogus .Names}}"]).code(125).stderr_contains(r#"function "bogus" not defined"#);
    for n in ["web", "db"] {
        w.run(&["create", "--name", n, "--label", &format!("role={n}"), &img, "true"]).ok();
    }
    let ps = |f: &str| w.run(&["ps", "-a", "--format", f]);
    ps(r#"{{if eq .Names "web"}}{{upper .Names}}{{else}}{{lower .State}}{{end}}"#).ok().stdout_is("created\nWEB");
    ps(r#"{{printf "%-4s|" .Names}}{{index .Labels "role"}}"#).ok().stdout_is("db  |db\nweb |web");
    ps(r#"{{range $k, $v := .Labels}}{{$k}}={{$v}}{{end}}"#).ok().stdout_is("role=db\nrole=web");
    ps("{{json .Names}} {{len .ID}}").ok().stdout_is("\"db\" 12\n\"web\" 12");
    let j = ps("{{json .}}");
    j.ok();
    for l in j.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}"));
        assert_eq!(v["State"], "created", "{l}");
    }
    // images: Names is a list, as in Podman.
    w.run(&["images", "--format", r#"{{range .Names}}<{{.}}>{{end}} {{join .Names ","}} {{index .Names 0}}"#])
        .ok()
        .stdout_is(&format!("<{img}:latest> {img}:latest {img}:latest"));
    // inspect: parentheses and field chains.
    w.run(&["inspect", "web", "--format", "{{(index .Config.Cmd 0)}} {{with .State}}{{.Status}}{{end}}"])
        .ok()
        .stdout_is("true created");
    // volume ls goes through the same engine.
    w.run(&["volume", "create", "v1"]).ok();
    w.run(&["volume", "ls", "--format", r#"{{if eq .Driver "local"}}{{.Name}}{{end}}"#]).ok().stdout_is("v1");
    // Errors: exit 125 and a message that names the problem.
    ps("{{.Bogus}}").code(125).stderr_contains("can't evaluate field Bogus");
    ps("{{.Names | nosuchfunc}}").code(125).stderr_contains(r#"function "nosuchfunc" not defined"#);
    ps("{{if .Names}}x").code(125).stderr_contains("missing {{end}}");
    // Podman's ps has Names as a string: range over it fails the same way.
    ps("{{range .Names}}{{.}}{{end}}").code(125).stderr_contains("range can't iterate over");
    w.run(&["rm", "-a", "-f", "-t", "0"]).ok();
}

#[test]
fn log_level_is_checked_and_messages_have_no_padding() {
    let w = Warren::dev();
    let out = w.run(&["--log-level", "bogus", "ps"]);
    out.code(125).stderr_contains("'bogus'").stderr_contains("trace, debug, info, warn");
    for l in ["trace", "debug", "info", "warn", "warning", "error", "fatal", "panic"] {
        w.run(&["--log-level", l, "ps", "-q"]).ok();
    }
    let img = bb();
    w.pull(&img);
    let out = w.run(&["--log-level", "debug", "run", "--rm", &img, "true"]);
    out.ok();
    // `LEVEL message`, no padding before the level (Podman's logrus style has none either).
    assert!(out.stderr.starts_with("DEBUG "), "{out:?}");
    for line in out.stderr.lines() {
        assert!(!line.starts_with(' '), "leading space: {line:?}");
    }
}

#[test]
fn help_tells_the_truth() {
    let w = Warren::dev();
    for cmd in [&["run", "--help"][..], &["pull", "--help"], &["create", "--help"], &["--help"]] {
        let out = w.run(cmd);
        out.ok().stdout_lacks("not supported yet").stdout_lacks("not yet");
    }
    w.run(&["run", "--help"]).ok().stdout_contains("Run the container in the background and print the container ID");
    // Every command the top-level help lists exists.
    let top = w.run(&["--help"]);
    top.ok();
    let cmds: Vec<String> = top
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect();
    assert!(cmds.len() > 20, "{cmds:?}");
    for c in &cmds {
        w.run(&[c.as_str(), "--help"]).ok();
    }
}

#[test]
fn start_of_a_container_that_cannot_start_fails() {
    let w = Warren::dev();
    let img = bb();
    w.pull(&img);
    w.run(&["create", "--name", "bad", &img, "no-such-command"]).ok();
    w.run(&["create", "--name", "good", &img, "true"]).ok();
    // Podman: 125, "unable to start container", the runtime's reason; the other containers still start.
    let out = w.run(&["start", "bad", "good"]);
    out.code(125)
        .stderr_contains(r#"unable to start container "bad""#)
        .stderr_contains("executable file `no-such-command` not found in $PATH")
        .stdout_contains("good")
        .stdout_lacks("bad");
    let st = w.run(&["ps", "-a", "--filter", "name=bad", "--format", "{{.Status}}"]);
    st.ok();
    assert!(st.stdout.starts_with("Exited (127)"), "{st:?}");
    // Again, and with run -d: the command's own code, like Podman's run.
    w.run(&["start", "bad"]).code(125).stderr_contains("unable to start container");
    w.run(&["run", "-d", &img, "no-such-command"]).code(127).stderr_contains("not found in $PATH");
    w.run(&["run", "-d", &img, "/etc/passwd"]).code(126);
    w.run(&["rm", "-a", "-f", "-t", "0"]).ok();
}

#[test]
fn created_has_nanoseconds_and_ps_keeps_creation_order() {
    let w = Warren::dev();
    let img = bb();
    w.pull(&img);
    let names: Vec<String> = (0..5).map(|i| format!("c{i}")).collect();
    for n in &names {
        w.run(&["create", "--name", n, &img, "true"]).ok();
    }
    let created = w.run(&["inspect", "c0", "--format", "{{.Created}}"]);
    created.ok();
    let t = created.stdout.trim();
    assert!(t.len() == "2026-01-01T00:00:00.123456789Z".len() && t.ends_with('Z') && t.contains('.'), "{t}");
    // Newest first, as Podman, even within one second (several times: the order must be stable).
    let want: Vec<String> = names.iter().rev().cloned().collect();
    for _ in 0..3 {
        let out = w.run(&["ps", "-a", "--format", "{{.Names}}"]);
        out.ok();
        assert_eq!(out.lines(), want, "{out:?}");
    }
    w.run(&["rm", "-a", "-f", "-t", "0"]).ok();
}

#[test]
fn run_as_a_uid_outside_the_mapping_says_so() {
    let dev = Warren::dev();
    let img = bb();
    dev.pull(&img);
    // A numeric uid that /etc/passwd lacks is fine (Podman).
    dev.run(&["run", "--rm", "-u", "12345", &img, "id", "-u"]).ok().stdout_is("12345");
    // One outside the subordinate range: a clear error before anything runs.
    dev.run(&["run", "--rm", "-u", "99999", &img, "id"])
        .code(125)
        .stderr_contains("cannot run as uid 99999: it is outside your user namespace, which maps uids 0-65536")
        .stderr_contains("/etc/subuid");
    dev.run(&["run", "--rm", "-u", "0:99999", &img, "id"]).code(125).stderr_contains("cannot run as gid 99999");
    // The single-id mapping: only root, and the fix.
    let hpc = Warren::hpc();
    hpc.pull(&img);
    hpc.run(&["run", "--rm", "-u", "99999", &img, "id"])
        .code(125)
        .stderr_contains("cannot run as uid 99999 gid 0: your user namespace maps a single id")
        .stderr_contains("usermod --add-subuids");
}

#[test]
fn an_image_for_another_platform_warns_once() {
    let w = Warren::dev();
    let img = image("multiarch");
    // Asked for: no warning.
    let out = w.run(&["pull", "--arch", "arm64", &img]);
    out.ok().stderr_lacks("does not match");
    // Run without asking: Podman's one-line warning.
    let host = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    if host == "arm64" {
        skip("the host is arm64: the arm64 image matches it");
        return;
    }
    let out = w.run(&["run", "--rm", &img, "cat", "/arch.txt"]);
    out.ok().stdout_is("arm64");
    let want = format!("image platform (linux/arm64/v8) does not match the expected platform (linux/{host})");
    assert_eq!(out.stderr.matches(&want).count(), 1, "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "one line: {out:?}");
    // The host's own image: none.
    w.pull(&bb());
    w.run(&["run", "--rm", &bb(), "true"]).ok().stderr_lacks("does not match");
}

#[test]
fn init_is_pid_1_under_run_warren_init() {
    let script = "tr '\\0' ' ' < /proc/1/cmdline; echo; readlink /proc/1/exe; cat /proc/1/comm; echo $$";
    for (w, global) in [(Warren::dev(), vec![]), (Warren::hpc(), vec![]), (Warren::dev(), vec!["--runtime", "crun"])] {
        let img = bb();
        w.pull(&img);
        let mut argv: Vec<&str> = global.clone();
        argv.extend(["run", "--rm", "--init", &img, "sh", "-c", script]);
        let out = w.run(&argv);
        out.ok();
        let lines = out.lines();
        assert_eq!(lines[0].trim_end(), format!("/run/warren-init -- sh -c {script}"), "{out:?}");
        assert_eq!(lines[1..], ["/run/warren-init", "warren-init", "2"], "{out:?}");
        // Nothing of the engine: no runtime command line, no host binary.
        out.stdout_lacks("__runtime").stdout_lacks("/usr/local/bin");
        // The command's status, and a missing command's 127.
        let mut argv: Vec<&str> = global.clone();
        argv.extend(["run", "--rm", "--init", &img, "sh", "-c", "exit 7"]);
        w.run(&argv).code(7);
        let mut argv: Vec<&str> = global.clone();
        argv.extend(["run", "--rm", "--init", &img, "no-such-command"]);
        w.run(&argv).code(127).stderr_contains("no-such-command");
    }
}

#[test]
fn ps_filters_are_checked_before_anything_is_listed() {
    let w = Warren::dev();
    let img = bb();
    w.pull(&img);
    w.run(&["create", "--name", "keepme", "--label", "a=b", &img, "true"]).ok();
    // A typo in the key, a filter without '=' and a bad status: exit 125, nothing on stdout (so
    // `ps -aq --filter ... | xargs rm -f` removes nothing).
    let typo = w.run(&["ps", "-aq", "--filter", "lable=a=b"]);
    typo.code(125).stderr_contains("\"lable\" is an invalid filter").stderr_contains("label");
    assert_eq!(typo.stdout.trim(), "", "nothing listed");
    w.run(&["ps", "-aq", "--filter", "noequals"]).code(125).stderr_contains("invalid filter \"noequals\"");
    w.run(&["ps", "-a", "--filter", "status=bogus"])
        .code(125)
        .stderr_contains("\"bogus\" is not a valid status")
        .stderr_contains("created, running, paused, stopped, exited");
    w.run(&["ps", "-a", "--filter", "exited=x"]).code(125).stderr_contains("exited");
    // Valid ones still work.
    w.run(&["ps", "-a", "--format", "{{.Names}}", "--filter", "label=a=b"]).ok().stdout_is("keepme");
    w.run(&["ps", "-a", "--format", "{{.Names}}", "--filter", "status=created"]).ok().stdout_is("keepme");
    // pod ps and events check theirs the same way, even with no pod at all.
    w.run(&["pod", "ps", "--filter", "stauts=running"]).code(125).stderr_contains("\"stauts\" is an invalid filter");
    w.run(&["pod", "ps", "--filter", "noequals"]).code(125).stderr_contains("invalid filter \"noequals\"");
    w.run(&["pod", "ps", "--filter", "status=bogus"]).code(125).stderr_contains("not a valid pod status");
    w.run(&["events", "--stream=false", "--filter", "bogus=1"]).code(125).stderr_contains("bogus is an invalid filter");
    w.run(&["rm", "-a", "-f"]).ok();
}

#[test]
fn uid_minus_one_is_refused_for_run_and_exec() {
    // (uid_t)-1 means "unchanged" to setresuid: the process would run as root.
    for w in [Warren::dev(), Warren::root()] {
        let img = bb();
        w.pull(&img);
        for u in ["4294967295", "0:4294967295", "4294967295:0"] {
            w.run(&["run", "--rm", "--name", "uidmax", "-u", u, &img, "id"])
                .code(125)
                .stderr_contains("4294967295")
                .stderr_contains("ids must be less than 4294967295")
                .stdout_lacks("uid=");
        }
        w.run(&["ps", "-aq"]).ok().stdout_is("");
        w.run(&["run", "-d", "--name", "uidexec", &img, "sleep", "60"]).ok();
        w.run(&["exec", "-u", "4294967295", "uidexec", "id"])
            .code(125)
            .stderr_contains("ids must be less than 4294967295")
            .stdout_lacks("uid=");
        w.run(&["rm", "-f", "-t", "0", "uidexec"]).ok();
    }
}

#[test]
fn read_only_keeps_scratch_space_unless_read_only_tmpfs_is_false() {
    let w = Warren::dev();
    let img = bb();
    w.pull(&img);
    w.run(&["run", "--rm", "--read-only", &img, "sh", "-c", "touch /tmp/a /var/tmp/b /run/c && echo scratch"])
        .ok()
        .stdout_is("scratch");
    w.run(&["run", "--rm", "--read-only", &img, "touch", "/etc/x"]).code(1).stderr_contains("Read-only file system");
    {
        let flag = "--read-only-tmpfs=false";
        w.run(&["run", "--rm", "--read-only", flag, &img, "touch", "/tmp/a"])
            .code(1)
            .stderr_contains("Read-only file system");
    }
    w.run(&["run", "--rm", "--read-only", "--read-only-tmpfs=true", &img, "touch", "/tmp/a"]).ok();
    // Without --read-only nothing is added: /tmp is the image's.
    w.run(&["run", "--rm", &img, "sh", "-c", "grep -c ' /tmp ' /proc/mounts || true"]).ok().stdout_is("0");
}

#[test]
fn boolean_flags_take_an_optional_equals_value_like_pflag() {
    let w = Warren::dev();
    let img = bb();
    w.pull(&img);
    // --flag=true|false on run's switches; short ones with -d=false; clusters still work.
    w.run(&[
        "run",
        "--rm=true",
        "--tty=false",
        "--init=true",
        "--privileged=false",
        "-d=false",
        "-i=false",
        "--read-only=false",
        &img,
        "echo",
        "hi",
    ])
    .ok()
    .stdout_is("hi");
    w.run(&["ps", "-aq"]).ok().stdout_is("");
    w.run(&["run", "--rm=false", "--name", "kept", &img, "true"]).ok();
    w.run(&["ps", "-a=true", "--format", "{{.Names}}"]).ok().stdout_is("kept");
    w.run(&["ps", "--all=false", "-q"]).ok().stdout_is("");
    w.run(&["rm", "-f=true", "kept"]).ok();
    w.run(&["run", "-dit", "--name", "cluster", &img, "sh"]).ok();
    w.run(&["exec", "-i=false", "--tty=false", "cluster", "echo", "x"]).ok().stdout_is("x");
    w.run(&["stop", "-i=true", "-t", "0", "nosuch", "cluster"]).ok();
    w.run(&["logs", "-f=false", "--timestamps=false", "cluster"]).ok();
    w.run(&["rm", "--force=true", "cluster"]).ok();
    w.run(&["images", "-q=true", "--no-trunc=false"]).ok().check("one image id", |o| o.lines().len() == 1);
    w.run(&["pull", "-q=true", &img]).ok();
    w.run(&["pod", "ps", "--no-trunc=true", "-q=true"]).ok();
    // `--rm false`: "false" is not the flag's value (pflag), it is the image.
    w.run(&["run", "--rm", "false", "true"]).code(125).stderr_contains("false");
    // A bad value: exit 125, a short message.
    let bad = w.run(&["run", "--rm=maybe", &img]);
    bad.code(125).stderr_contains("invalid value 'maybe'").stderr_contains("[possible values: true, false]");
    assert!(bad.stderr.lines().count() <= 6, "short usage: {}", bad.stderr);
}

#[test]
fn bad_run_input_is_refused_before_anything_is_created() {
    let w = Warren::dev();
    let img = bb();
    w.pull(&img);
    let refused = |args: &[&str], msg: &str| {
        let mut argv = vec!["run", "--name", "bad"];
        argv.extend_from_slice(args);
        argv.extend_from_slice(&[&img, "true"]);
        w.run(&argv).code(125).stderr_contains(msg);
        w.run(&["ps", "-aq"]).ok().stdout_is("");
        w.run(&["volume", "ls", "-q"]).ok().stdout_is("");
    };
    refused(&["-v", ":/x"], "host directory cannot be empty");
    refused(&["-v", "/tmp:/x", "-v", "/etc:/x/"], "/x/: duplicate mount destination");
    refused(&["-v", "vol1:/x", "--tmpfs", "/x"], "duplicate mount destination");
    refused(&["-e", "=x"], r#"invalid environment variable: "=x""#);
    refused(&["-p", "19082:8080", "-p", "19082:8081"], "host port 19082/tcp is published twice");
    // Different protocols or addresses may share a port number.
    w.run(&["create", "--name", "ok", "-p", "19083:53/tcp", "-p", "19083:53/udp", &img, "true"]).ok();
    w.run(&["rm", "ok"]).ok();
    w.run(&["create", "--name", "w", &img, "true"]).ok();
    w.run(&["wait", "--condition", "bogus", "w"])
        .code(125)
        .stderr_contains(r#"invalid condition "bogus""#)
        .stderr_contains("configured, created, exited, paused, running, stopped");
    w.run(&["exec", "-e", "=x", "w", "true"]).code(125);
    w.run(&["rm", "w"]).ok();
}

#[test]
fn volume_errors_give_the_right_advice() {
    let w = Warren::dev();
    let img = bb();
    w.pull(&img);
    // A path the user cannot reach: no "create it first", no "(os error 13)".
    w.run(&["run", "--rm", "-v", "/root/.bashrc:/s", &img, "true"])
        .code(125)
        .stderr_contains("Permission denied")
        .stderr_lacks("create it first")
        .stderr_lacks("os error");
    w.run(&["run", "--rm", "-v", "/nonexistent-warren:/s", &img, "true"])
        .code(125)
        .stderr_contains("No such file or directory (create it first)")
        .stderr_lacks("os error");
}

#[test]
fn error_messages_name_the_problem_once() {
    let w = Warren::dev();
    w.run(&["inspect", ""]).code(125).stderr_contains(r#"no such object: """#).stderr_lacks("empty image name");
    // An unwritable --runroot: the cause once, without "(os error 13)".
    let ro = w.storage_root().join("ro-runroot");
    let sub = ro.join("sub");
    w.sh(&format!("mkdir -p {0} && chmod 0555 {0}", ro.display())).ok();
    let out = w.run(&["--runroot", sub.to_str().unwrap(), "run", "--rm", &bb(), "true"]);
    out.code(125).stderr_contains("Permission denied").stderr_lacks("os error");
    assert_eq!(out.stderr.matches("Permission denied").count(), 1, "{}", out.stderr);
    w.sh(&format!("chmod 0755 {}", ro.display())).ok();
}

#[test]
fn images_lists_dangling_images_without_all() {
    let w = Warren::dev();
    let (a, b) = (bb(), image("layers"));
    w.pull(&a);
    w.pull(&b);
    // localhost/moving:1 moves from busybox to layers: busybox is left untagged (dangling).
    w.run(&["tag", &a, "localhost/moving:1"]).ok();
    w.run(&["untag", &a, &format!("{a}:latest")]).ok();
    w.run(&["tag", &b, "localhost/moving:1"]).ok();
    let id = w.run(&["images", "-q", "--filter", "dangling=true"]).ok().stdout.trim().to_string();
    assert_eq!(id.len(), 12, "one dangling image");
    for args in [&["images"][..], &["images", "-a"][..]] {
        let out = w.run(args);
        out.ok().check("the dangling image is listed", |o| {
            o.lines().iter().any(|l| l.starts_with("<none>") && l.contains("<none>") && l.contains(&id))
        });
    }
    w.run(&["images", "--format", "{{.ID}}", "--filter", "dangling=false"]).ok().stdout_lacks(&id);
}

#[test]
fn cli_surface_is_podmans() {
    let w = Warren::dev();
    let img = bb();
    w.pull(&img);
    // Internal helpers are hidden; `help CMD` works; -v prints the version like Podman.
    w.run(&[]).code(125).stderr_contains("missing command");
    for out in [w.run(&[]), w.run(&["--help"])] {
        assert!(!out.stdout.contains("__") && !out.stderr.contains("__"), "{}{}", out.stdout, out.stderr);
    }
    w.run(&["--help"]).ok().stdout_contains("pull").stdout_contains("run");
    w.run(&["help", "run"]).ok().stdout_contains(" run [OPTIONS] <IMAGE>");
    w.run(&["help", "pod", "create"]).ok().stdout_contains(" pod create [OPTIONS]");
    w.run(&["help", "__runtime"]).code(125).stderr_contains("unrecognized command");
    let v = w.run(&["-v"]);
    v.ok()
        .check("warren version X", |o| o.stdout.trim().starts_with("warren version ") && o.stdout.lines().count() == 1);
    w.run(&["--version"]).ok().stdout_is(v.stdout.trim());
    // info lists the network modes there are.
    let info = w.run(&["info", "--format", "json"]);
    let modes = info.ok().json()["host"]["networkModes"].clone();
    for m in ["pasta", "slirp4netns", "none", "host", "container", "ns", "private"] {
        assert!(modes.as_array().unwrap().iter().any(|x| x == m), "{m} in {modes}");
    }
    // A closed pipe ends quietly, even when the caller ignores SIGPIPE.
    w.run(&["create", "--name", "piped", &img, "true"]).ok();
    let bin = require_env().bin.display().to_string();
    let warren = format!("{bin} --root {}", w.storage_root().display());
    let script = format!(
        "trap '' PIPE; {warren} --help | head -1; {warren} help run | head -1; {warren} run --help | head -1; \
         {warren} inspect piped | head -1; {warren} images | head -0; {warren} info | head -1"
    );
    w.sh(&script).ok().stderr_lacks("Broken pipe").stderr_lacks("os error 32").stderr_lacks("panicked");
    w.run(&["rm", "piped"]).ok();
}
