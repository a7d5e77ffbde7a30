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
    go(&["exec", "-u", "nobody", "web", "id", "-un"]).ok().stdout_is("nobody");
    // --env-file, and -e over it
    let envfile = w.storage_root().join("exec.env");
    w.sh(&format!("printf '# comment\nFROMFILE=yes\nY=file\n' > {}", envfile.display())).ok();
    let ef = envfile.display().to_string();
    go(&["exec", "--env-file", &ef, "-e", "Y=flag", "web", "sh", "-c", "echo $FROMFILE $Y"]).ok().stdout_is("yes flag");
    // capabilities: the container's set, or all with --privileged
    let caps = |o: &Output| o.stdout.lines().find(|l| l.starts_with("CapEff")).unwrap_or("").to_string();
    let plain = go(&["exec", "web", "grep", "CapEff", "/proc/self/status"]);
    let privileged = go(&["exec", "--privileged", "web", "grep", "CapEff", "/proc/self/status"]);
    assert_ne!(caps(&plain), caps(&privileged), "--privileged grants more capabilities");
    go(&["exec", "web", "grep", "Seccomp:", "/proc/self/status"]).ok().stdout_contains("2");
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
    w.run(&["rm", "-f", "-t", "0", "c"]).ok();
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
    w.run(&["rm", "-f", "-t", "0", "k"]).ok();
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
    w.run(&["rm", "-f", "-t", "0", "web"]).ok();
}

#[test]
fn inspect_containers_like_podman() {
    for w in [Warren::dev(), Warren::root()] {
        w.pull(&bb());
        let img = bb();
        let out = w.run(&["run", "-d", &img, "sh", "-c", "exit 7"]);
        out.ok();
        let id = out.stdout.trim().to_string();
        w.run(&["wait", &id]).ok().stdout_is("7");
        w.run(&["inspect", "-f", "{{.State.ExitCode}}", &id]).ok().stdout_is("7");
        w.run(&["container", "inspect", "-f", "{{.State.Status}} {{.State.Running}}", &id[..12]])
            .ok()
            .stdout_is("exited false");
        w.run(&[
            "run",
            "-d",
            "--name",
            "web",
            "--hostname",
            "h1",
            "-l",
            "tier=front",
            "-e",
            "A=b",
            "-v",
            "/tmp:/hosttmp:ro",
            &img,
            "sleep",
            "1000",
        ])
        .ok();
        w.run(&["inspect", "-f", "{{.State.Running}} {{.Config.Hostname}} {{.Name}}", "web"])
            .ok()
            .stdout_is("true h1 web");
        let v = w.run(&["inspect", "web", &id]).json();
        let arr = v.as_array().expect("an array");
        assert_eq!(arr.len(), 2);
        let c = &arr[0];
        assert_eq!(c["Name"], "web");
        assert_eq!(c["Path"], "sleep");
        assert_eq!(c["Args"], serde_json::json!(["1000"]));
        assert!(c["State"]["Pid"].as_i64().unwrap() > 0, "{c}");
        assert_eq!(c["Config"]["Labels"]["tier"], "front");
        assert!(c["Config"]["Env"].as_array().unwrap().iter().any(|e| e == "A=b"));
        assert_eq!(c["HostConfig"]["Memory"], 0, "no limit is enforced, none is shown");
        assert_eq!(c["HostConfig"]["RestartPolicy"]["Name"], "no");
        assert!(c["HostConfig"]["Binds"][0].as_str().unwrap().starts_with("/tmp:/hosttmp"), "{c}");
        assert_eq!(c["Mounts"][0]["Destination"], "/hosttmp");
        assert_eq!(c["Mounts"][0]["RW"], false);
        assert_eq!(c["NetworkSettings"]["Ports"], serde_json::json!({}));
        // the format json and an image still inspect
        w.run(&["inspect", "--format", "json", "web"]).ok().stdout_contains("\"Id\"");
        w.run(&["inspect", "-f", "{{.Id}}", &img]).ok();
        w.run(&["inspect", "nosuch"]).code(125);
        w.run(&["container", "inspect", &img]).failed();
        w.run(&["rm", "-f", "-t", "0", "web", &id]).ok();
    }
}

#[test]
fn top_rename_exists_prune() {
    let w = Warren::dev();
    w.pull(&bb());
    detached(&w, "web", LOOP);
    let top = w.run(&["top", "web"]);
    top.ok().stdout_contains("USER").stdout_contains("PID").stdout_contains("COMMAND");
    let first = top.lines()[1].split_whitespace().collect::<Vec<_>>();
    assert_eq!(first[0], "root", "{top:?}");
    assert_eq!(first[1], "1", "PID 1 as the container sees it: {top:?}");
    assert!(top.stdout.contains("while"), "{top:?}");
    w.run(&["top", "web", "pid,comm"]).ok().stdout_contains("PID").stdout_contains("sh");
    // ps(1) options run ps in the container, as in Podman
    w.run(&["top", "web", "-o", "pid,comm"]).ok().stdout_contains("sh");
    w.run(&["container", "exists", "web"]).code(0);
    w.run(&["container", "exists", "nope"]).code(1);
    w.run(&["rename", "web", "web2"]).ok();
    w.run(&["container", "exists", "web"]).code(1);
    w.run(&["container", "exists", "web2"]).code(0);
    // a rename made while it runs survives its exit
    w.run(&["stop", "-t", "0", "web2"]).ok();
    w.run(&["container", "exists", "web2"]).code(0);
    w.run(&["top", "web2"]).code(125);
    // prune removes the stopped ones only
    let run = w.run(&["run", "-d", "--name", "keep", &bb(), "sleep", "1000"]);
    run.ok();
    let out = w.run(&["create", "--name", "made", &bb(), "true"]);
    out.ok();
    let pruned = w.run(&["container", "prune", "-f"]);
    pruned.ok();
    assert_eq!(pruned.lines().len(), 2, "{pruned:?}");
    w.run(&["container", "ls", "-a", "--format", "{{.Names}}"]).ok().stdout_is("keep");
    w.run(&["container", "rm", "-f", "-t", "0", "keep"]).ok();
    w.run(&["container", "list", "-aq"]).ok().stdout_is("");
}

#[test]
fn cp_both_directions_never_leaves_the_rootfs() {
    for w in [Warren::dev(), Warren::root()] {
        w.pull(&bb());
        detached(&w, "web", &["sleep", "1000"]);
        let host = w.storage_root().join("cp-host");
        let hs = host.display().to_string();
        w.cmd(&["mkdir", "-p", &format!("{hs}/dir/sub")]).ok();
        w.sh(&format!("echo content > {hs}/dir/sub/file && echo single > {hs}/one")).ok();
        // host → container: a file, a renamed file, a directory
        w.run(&["cp", &format!("{hs}/one"), "web:/tmp/"]).ok();
        w.run(&["cp", &format!("{hs}/one"), "web:/tmp/renamed"]).ok();
        w.run(&["cp", &format!("{hs}/dir"), "web:/tmp"]).ok(); // into an existing directory
        w.run(&["cp", &format!("{hs}/dir"), "web:/opt"]).ok(); // a new name
        w.run(&["exec", "web", "cat", "/tmp/one", "/tmp/renamed", "/tmp/dir/sub/file", "/opt/sub/file"])
            .ok()
            .stdout_is("single\nsingle\ncontent\ncontent");
        // owned by the container's user (root)
        w.run(&["exec", "web", "stat", "-c", "%u", "/opt/sub/file"]).ok().stdout_is("0");
        // container → host
        w.run(&["exec", "web", "sh", "-c", "mkdir -p /data/x && echo inside > /data/x/f && ln -s /etc /data/escape"])
            .ok();
        w.run(&["cp", "web:/data", &format!("{hs}/out")]).ok();
        w.cmd(&["cat", &format!("{hs}/out/x/f")]).ok().stdout_is("inside");
        w.cmd(&["readlink", &format!("{hs}/out/escape")]).ok().stdout_is("/etc");
        let uid = w.user.uid.to_string();
        w.cmd(&["stat", "-c", "%u", &format!("{hs}/out/x/f")]).ok().stdout_is(&uid);
        // a symlink in the container resolves inside it: /data/escape/hostname is the container's
        // /etc/hostname, never the host's
        w.run(&["exec", "web", "sh", "-c", "echo CONTAINER-PASSWD > /etc/passwd"]).ok();
        w.run(&["cp", "web:/data/escape/passwd", &format!("{hs}/pw")]).ok();
        w.cmd(&["cat", &format!("{hs}/pw")]).ok().stdout_is("CONTAINER-PASSWD");
        w.run(&["exec", "web", "ln", "-s", "../../../../../../../../etc/shadow", "/data/up"]).ok();
        w.run(&["cp", "web:/data/up", &format!("{hs}/shadow")]).ok();
        w.cmd(&["readlink", &format!("{hs}/shadow")]).ok().stdout_contains("etc/shadow");
        // copying into a path through a container symlink stays in the container
        w.run(&["cp", &format!("{hs}/one"), "web:/data/escape/"]).ok();
        w.run(&["exec", "web", "cat", "/etc/one"]).ok().stdout_is("single");
        assert!(!std::path::Path::new("/etc/one").exists(), "cp wrote to the host's /etc");
        // tar streams
        let tar =
            w.sh(&format!("{} --root {} cp web:/data/x - | tar -t", env().bin.display(), w.storage_root().display()));
        tar.ok().stdout_contains("x/f");
        w.run(&["exec", "web", "mkdir", "/srv"]).ok();
        w.sh(&format!(
            "tar -C {hs} -c one | {} --root {} cp - web:/srv",
            env().bin.display(),
            w.storage_root().display()
        ))
        .ok();
        w.run(&["exec", "web", "cat", "/srv/one"]).ok().stdout_is("single");
        // a stopped container too
        w.run(&["stop", "-t", "0", "web"]).ok();
        w.run(&["cp", "web:/tmp/one", &format!("{hs}/again")]).ok();
        w.cmd(&["cat", &format!("{hs}/again")]).ok().stdout_is("single");
        w.run(&["cp", "web:/nonexistent", &hs]).code(125);
        w.run(&["rm", "web"]).ok();
    }
}

#[test]
fn diff_export_mount() {
    let w = Warren::dev();
    w.pull(&bb());
    detached(&w, "web", &["sleep", "1000"]);
    w.run(&["exec", "web", "sh", "-c", "echo x > /added; rm /bin/vi; mkdir /newdir"]).ok();
    let d = w.run(&["diff", "web"]);
    d.ok()
        .stdout_contains("A /added")
        .stdout_contains("D /bin/vi")
        .stdout_contains("C /bin")
        .stdout_contains("A /newdir");
    d.stdout_lacks("/etc/hosts");
    w.run(&["diff", "--format", "json", "web"]).ok().stdout_contains("\"added\"");
    // export to a file and to stdout
    let tarfile = w.storage_root().join("export.tar").display().to_string();
    w.run(&["export", "-o", &tarfile, "web"]).ok();
    w.cmd(&["tar", "-tf", &tarfile]).ok().stdout_contains("added").stdout_contains("bin/sh").stdout_lacks("bin/vi\n");
    w.sh(&format!("{} --root {} export web | tar -t | grep -c .", env().bin.display(), w.storage_root().display()))
        .ok();
    // mount: rootless needs unshare, like Podman
    w.run(&["mount", "web"]).code(125).stderr_contains("unshare");
    let bin = env().bin.display().to_string();
    let root = w.storage_root().display().to_string();
    w.run(&["stop", "-t", "0", "web"]).ok();
    let o = w.run(&[
        "unshare",
        "sh",
        "-c",
        &format!("p=$({bin} --root {root} mount web) && cat $p/added && {bin} --root {root} unmount web"),
    ]);
    o.ok().stdout_contains("x");
    w.run(&["rm", "web"]).ok();
}

#[test]
fn pause_and_stats() {
    // rootless: stats from /proc, pause a clear error
    let w = Warren::dev();
    w.pull(&bb());
    detached(&w, "web", &["sleep", "1000"]);
    let s = w.run(&["stats", "--no-stream"]);
    s.ok().stdout_contains("MEM USAGE / LIMIT").stdout_contains("web");
    let j = w.run(&["stats", "--no-stream", "--format", "json", "web"]).json();
    assert_eq!(j[0]["PIDs"], 1, "{j}");
    w.run(&["pause", "web"]).code(125).stderr_contains("cgroup");
    w.run(&["rm", "-f", "-t", "0", "web"]).ok();
    // root: the cgroup v1 freezer
    let r = Warren::root();
    r.pull(&bb());
    detached(&r, "web", &["sh", "-c", "while :; do echo tick; sleep 0.2; done"]);
    if !std::path::Path::new("/sys/fs/cgroup/freezer/cgroup.procs").exists() {
        r.run(&["pause", "web"]).code(125);
        r.run(&["rm", "-f", "-t", "0", "web"]).ok();
        return skip("no cgroup v1 freezer on this host");
    }
    r.run(&["pause", "web"]).ok();
    r.run(&["ps", "--format", "{{.Status}}"]).ok().stdout_is("Paused");
    r.run(&["inspect", "-f", "{{.State.Status}} {{.State.Paused}}", "web"]).ok().stdout_is("paused true");
    let before = r.run(&["logs", "web"]).lines().len();
    std::thread::sleep(std::time::Duration::from_millis(800));
    let after = r.run(&["logs", "web"]).lines().len();
    assert_eq!(before, after, "a paused container kept writing");
    r.run(&["exec", "web", "true"]).code(125).stderr_contains("paused");
    r.run(&["unpause", "web"]).ok();
    std::thread::sleep(std::time::Duration::from_millis(800));
    assert!(r.run(&["logs", "web"]).lines().len() > after, "unpaused container does not run");
    // stop works on a paused container
    r.run(&["pause", "web"]).ok();
    r.run(&["stop", "-t", "1", "web"]).ok();
    r.run(&["rm", "web"]).ok();
}

#[test]
fn attach_follows_output_until_exit() {
    let w = Warren::dev();
    w.pull(&bb());
    detached(&w, "talker", &["sh", "-c", "sleep 1; echo one; echo two; sleep 1; exit 3"]);
    let out = w.run(&["attach", "talker"]);
    out.code(3).stdout_is("one\ntwo");
    w.run(&["attach", "talker"]).code(125);
    w.run(&["rm", "talker"]).ok();
    // ctrl-p ctrl-q on a terminal detaches; the container keeps running
    detached(&w, "ticker", &["sh", "-c", "while :; do echo tick; sleep 0.3; done"]);
    let line = format!("{} --root {} attach ticker", env().bin.display(), w.storage_root().display());
    let o = w.sh(&format!("(sleep 1.5; printf '\\020\\021'; sleep 4) | script -qec '{line}' /dev/null; echo rc=$?"));
    o.ok().stdout_contains("tick").stdout_contains("rc=0");
    w.run(&["ps", "--format", "{{.Names}}"]).ok().stdout_is("ticker");
    w.run(&["container", "attach", "--detach-keys", "bad-key", "ticker"]).code(125);
    w.run(&["rm", "-f", "-t", "0", "ticker"]).ok();
}

#[test]
fn container_group_dispatches_like_the_top_level_commands() {
    let w = Warren::dev();
    w.pull(&bb());
    let img = bb();
    w.run(&["container", "create", "--name", "g", &img, "sh", "-c", "echo from-group; exit 4"]).ok();
    w.run(&["container", "start", "g"]).ok();
    w.run(&["container", "wait", "g"]).ok().stdout_is("4");
    w.run(&["container", "logs", "g"]).ok().stdout_is("from-group");
    w.run(&["container", "list", "-a", "--format", "{{.Names}}"]).ok().stdout_is("g");
    w.run(&["container", "run", "--rm", &img, "echo", "ran"]).ok().stdout_is("ran");
    w.run(&["container", "remove", "g"]).ok();
    w.run(&["container", "ls", "-aq"]).ok().stdout_is("");
}

/// `rm` of a container whose network namespace another container joined: refused naming the dependent,
/// unless `--depend` removes both (the dependent first).
#[test]
fn rm_depend_removes_dependents_first() {
    let w = Warren::dev();
    w.pull(&bb());
    let img = bb();
    detached(&w, "base", &["sleep", "1000"]);
    w.run(&["run", "-d", "--name", "joined", "--network", "container:base", &img, "sleep", "1000"]).ok();
    w.run(&["rm", "-f", "-t", "0", "base"]).code(125).stderr_contains("joined").stderr_contains("--depend");
    w.run(&["ps", "--format", "{{.Names}}"]).ok().stdout_contains("base");
    let out = w.run(&["rm", "-f", "-t", "0", "--depend", "base"]);
    out.ok();
    let ids = out.lines();
    assert_eq!(ids.len(), 2, "{out:?}");
    w.run(&["ps", "-aq"]).ok().stdout_is("");
}

/// `ps --size` and `inspect --size`: the writable layer's bytes and, "virtual", those plus the image's.
#[test]
fn ps_and_inspect_report_sizes() {
    for w in [Warren::dev(), Warren::root()] {
        w.pull(&bb());
        let img = bb();
        w.run(&["run", "--name", "s", &img, "sh", "-c", "head -c 300000 /dev/zero > /big"]).ok();
        let rw: u64 = w.run(&["inspect", "--size", "-f", "{{.SizeRw}}", "s"]).ok().stdout.trim().parse().unwrap();
        let rootfs: u64 = w
            .run(&["container", "inspect", "--size", "-f", "{{.SizeRootFs}}", "s"])
            .ok()
            .stdout
            .trim()
            .parse()
            .unwrap();
        assert!((300_000..400_000).contains(&rw), "SizeRw {rw}");
        assert!(rootfs > rw + 500_000, "SizeRootFs {rootfs} includes busybox");
        w.run(&["ps", "-a", "--size", "--format", "{{.Names}} {{.Size}}"]).ok().stdout_contains("s 300 kB (virtual ");
        w.run(&["ps", "-a", "--size"]).ok().stdout_contains("SIZE").stdout_contains("300 kB (virtual ");
        w.run(&["rm", "s"]).ok();
    }
}

/// `run --platform` pulls the platform asked for when the local image is another one (Podman);
/// `pull --platform` of a single-platform image of another platform warns like Podman.
#[test]
fn run_platform_pulls_when_the_local_image_is_another_platform() {
    if std::env::consts::ARCH != "x86_64" {
        skip("the fixtures' single-arch images are linux/amd64");
        return;
    }
    let w = Warren::dev();
    let img = image("multiarch");
    w.run(&["pull", "-q", "--arch", "arm64", &img]).ok();
    let out = w.run(&["run", "--rm", "--platform", "linux/amd64", &img, "cat", "/arch.txt"]);
    out.ok().stdout_is("amd64").stderr_lacks("does not match");
    // the name now points at the amd64 image; asking for it again pulls nothing
    w.run(&["image", "inspect", "-f", "{{.Architecture}}", &img]).ok().stdout_is("amd64");
    w.run(&["run", "--rm", "--platform", "linux/amd64", &img, "cat", "/arch.txt"]).ok().stdout_is("amd64");
    let pulls = w.run(&["events", "--stream=false", "--filter", "event=pull", "--format", "{{.Name}}"]);
    assert_eq!(pulls.lines().len(), 2, "{pulls:?}");
    // and back
    w.run(&["run", "--rm", "--arch", "arm64", &img, "cat", "/arch.txt"]).ok().stdout_is("arm64");

    let out = w.run(&["pull", "-q", "--platform", "linux/s390x", &bb()]);
    out.ok().stderr_contains("image platform (linux/amd64) does not match the expected platform (linux/s390x)");
}

#[test]
fn inspect_shows_published_ports_like_podman() {
    let w = Warren::dev();
    let img = bb();
    w.pull(&img);
    w.run(&["run", "-d", "--name", "pub", "-p", "19086:80", "-p", "127.0.0.1:19087:81/udp", &img, "sleep", "60"]).ok();
    w.run(&["port", "pub"]).ok().stdout_contains("80/tcp -> 0.0.0.0:19086");
    let c = &w.run(&["inspect", "pub"]).ok().json()[0];
    let want = serde_json::json!({
        "80/tcp": [{"HostIp": "", "HostPort": "19086"}],
        "81/udp": [{"HostIp": "127.0.0.1", "HostPort": "19087"}],
    });
    assert_eq!(c["NetworkSettings"]["Ports"], want, "{c}");
    assert_eq!(c["HostConfig"]["PortBindings"], want, "{c}");
    w.run(&["inspect", "--format", "{{.HostConfig.PortBindings}}", "pub"])
        .ok()
        .stdout_contains("80/tcp")
        .stdout_contains("19086");
    w.run(&["rm", "-f", "-t", "0", "pub"]).ok();
    // A pod member shows its pod's ports.
    w.run(&["pod", "create", "--name", "pp", "-p", "19088:80"]).ok();
    w.run(&["run", "-d", "--pod", "pp", "--name", "member", &img, "sleep", "60"]).ok();
    let m = &w.run(&["inspect", "member"]).ok().json()[0];
    let want = serde_json::json!({"80/tcp": [{"HostIp": "", "HostPort": "19088"}]});
    assert_eq!(m["NetworkSettings"]["Ports"], want, "{m}");
    assert_eq!(m["HostConfig"]["PortBindings"], want, "{m}");
    w.run(&["pod", "rm", "-f", "-t", "0", "pp"]).ok();
}

#[test]
fn inspect_shows_volumes_as_volumes() {
    let w = Warren::dev();
    let img = bb();
    w.pull(&img);
    w.run(&[
        "create",
        "--name",
        "withvols",
        "-v",
        "myvol:/data",
        "-v",
        "/anon",
        "-v",
        "/tmp:/hosttmp:ro",
        &img,
        "true",
    ])
    .ok();
    let c = &w.run(&["inspect", "withvols"]).ok().json()[0];
    let mounts = c["Mounts"].as_array().unwrap();
    let by_dest = |d: &str| mounts.iter().find(|m| m["Destination"] == d).unwrap_or_else(|| panic!("{d}: {c}"));
    let named = by_dest("/data");
    assert_eq!(named["Type"], "volume", "{named}");
    assert_eq!(named["Name"], "myvol", "{named}");
    assert_eq!(named["Driver"], "local", "{named}");
    assert_eq!(named["RW"], true, "{named}");
    assert_eq!(named["Mode"], "", "{named}");
    assert_eq!(named["Propagation"], "rprivate", "{named}");
    assert!(named["Source"].as_str().unwrap().ends_with("/volumes/myvol/_data"), "{named}");
    let anon = by_dest("/anon");
    assert_eq!(anon["Type"], "volume", "{anon}");
    let anon_name = anon["Name"].as_str().unwrap().to_string();
    assert_eq!(anon_name.len(), 64, "the generated name: {anon}");
    w.run(&["volume", "ls", "-q"]).ok().stdout_contains(&anon_name);
    let bind = by_dest("/hosttmp");
    assert_eq!(bind["Type"], "bind", "{bind}");
    assert_eq!(bind["RW"], false, "{bind}");
    assert!(bind.get("Name").is_none(), "{bind}");
    w.run(&["inspect", "--format", r#"{{range .Mounts}}{{if eq .Type "volume"}}{{.Name}} {{end}}{{end}}"#, "withvols"])
        .ok()
        .stdout_contains("myvol ");
    w.run(&["rm", "-v", "withvols"]).ok();
    w.run(&["volume", "rm", "myvol"]).ok();
}
