//! `warren run`: the main job end to end (issue 3), as the unprivileged users and as root, on every
//! storage driver and with the external runtime crun.

use crate::common::*;

fn bb() -> String {
    image("busybox")
}

/// Run `args` in busybox with `--rm` and return the output.
fn run(w: &Warren, extra: &[&str], cmd: &[&str]) -> Output {
    let img = bb();
    let mut argv = vec!["run", "--rm"];
    argv.extend_from_slice(extra);
    argv.push(&img);
    argv.extend_from_slice(cmd);
    w.run(&argv)
}

/// The core checks, with global options (`--storage-driver X`, `--runtime crun`) in front.
fn core_suite(w: &Warren, global: &[&str]) {
    let with = |args: &[&str]| -> Vec<String> { global.iter().chain(args).map(|s| s.to_string()).collect() };
    let go = |args: &[&str]| {
        let v = with(args);
        let r: Vec<&str> = v.iter().map(|s| s.as_str()).collect();
        w.run(&r)
    };
    let img = bb();
    go(&["run", "--rm", &img, "echo", "hello"]).ok().stdout_is("hello");
    go(&["run", "--rm", &img, "sh", "-c", "exit 3"]).code(3);
    go(&["run", "--rm", &img, "/nonexistent"]).code(127).stderr_contains("/nonexistent");
    go(&["run", "--rm", &img, "/noexec.sh"]).code(126);
    go(&["run", "--rm", &img, "id", "-u"]).ok().stdout_is("0");
    go(&["run", "--rm", "-u", "1000:1000", &img, "id"]).ok().stdout_contains("uid=1000").stdout_contains("gid=1000");
    go(&["run", "--rm", &img, "sh", "-c", "echo x > /dev/null && echo ok"]).ok().stdout_is("ok");
    go(&["run", "--rm", "--hostname", "box1", &img, "hostname"]).ok().stdout_is("box1");
    // the writable layer works and is thrown away with --rm
    go(&["run", "--rm", &img, "sh", "-c", "echo data > /tmp/f && cat /tmp/f"]).ok().stdout_is("data");
}

#[test]
fn core_as_dev_on_every_storage_driver() {
    let w = Warren::dev();
    w.pull(&bb());
    for d in ["overlay", "fuse-overlayfs", "vfs"] {
        core_suite(&w, &["--storage-driver", d]);
    }
}

#[test]
fn core_as_root_on_every_storage_driver() {
    let w = Warren::root();
    w.pull(&bb());
    for d in ["overlay", "fuse-overlayfs", "vfs"] {
        core_suite(&w, &["--storage-driver", d]);
    }
}

#[test]
fn core_with_crun_as_dev_and_root() {
    for w in [Warren::dev(), Warren::root()] {
        w.pull(&bb());
        core_suite(&w, &["--runtime", "crun"]);
    }
}

#[test]
fn implicit_pull_before_run() {
    let w = Warren::dev();
    run(&w, &[], &["echo", "pulled"]).ok().stdout_is("pulled");
    w.run(&["images", "-q"]).ok().check("one image", |o| o.lines().len() == 1);
    // --pull never with a missing image is an engine error
    let w2 = Warren::dev();
    w2.run(&["run", "--rm", "--pull", "never", &bb(), "true"]).code(125);
}

#[test]
fn signals_and_exit_codes() {
    let w = Warren::dev();
    w.pull(&bb());
    // with --init, the shell is not PID 1 and SIGKILL to itself kills it
    run(&w, &["--init"], &["sh", "-c", "kill -9 $$"]).code(137);
    // without --init the shell is PID 1: the kernel ignores its SIGKILL to itself, as under Podman
    run(&w, &[], &["sh", "-c", "kill -9 $$; echo survived"]).ok().stdout_is("survived");
}

#[test]
fn pid1_killed_from_the_host() {
    let w = Warren::dev();
    w.pull(&bb());
    let name = "victim";
    let img = bb();
    // SIGKILL from outside the container's pid namespace always works: 137
    let script = format!(
        "{bin} --root {root} run --rm --name {name} {img} sleep 100 & \
         for i in $(seq 1 600); do p=$({bin} --root {root} ps --filter name={name} --format '{{{{.Pid}}}}' 2>/dev/null); \
         [ -n \"$p\" ] && [ \"$p\" != 0 ] && [ \"$(cat /proc/$p/comm 2>/dev/null)\" = sleep ] && break; sleep 0.1; done; kill -KILL $p; wait $!; echo rc=$?",
        bin = env().bin.display(),
        root = w.storage_root().display()
    );
    w.sh(&script).ok().stdout_contains("rc=137");
}

#[test]
fn inside_view_matches_podman() {
    let w = Warren::dev();
    w.pull(&bb());
    let env = env();
    run(&w, &[], &["sh", "-c", "cat /proc/self/uid_map | tr -s ' '"])
        .ok()
        .stdout_contains(&format!(" 0 {} 1", env.dev.uid))
        .stdout_contains(" 1 100000 65536");
    let devs = run(&w, &[], &["ls", "/dev"]);
    devs.ok();
    for n in ["null", "zero", "full", "random", "urandom", "tty", "pts", "shm", "ptmx", "mqueue"] {
        devs.check(&format!("/dev/{n}"), |o| o.lines().contains(&n));
    }
    // Podman's default capability set: CHOWN DAC_OVERRIDE FOWNER FSETID KILL NET_BIND_SERVICE SETFCAP
    // SETGID SETPCAP SETUID SYS_CHROOT
    run(&w, &[], &["grep", "CapBnd", "/proc/self/status"]).ok().stdout_contains("00000000800405fb");
    run(&w, &[], &["grep", "NoNewPrivs", "/proc/self/status"]).ok().stdout_contains("1");
    // masked paths: /proc/kcore (where the kernel has it) and /proc/keys read empty or are absent
    run(&w, &[], &["sh", "-c", "wc -c < /proc/keys 2>/dev/null || echo 0"]).ok().stdout_is("0");
    // read-only paths
    run(&w, &[], &["sh", "-c", "echo 1 > /proc/sys/kernel/domainname && echo writable || echo ro"])
        .stdout_contains("ro");
    // container variable, HOME, PATH
    run(&w, &[], &["sh", "-c", "echo $container $HOME $PATH"])
        .ok()
        .stdout_is("warren /root /usr/sbin:/usr/bin:/sbin:/bin");
}

/// `run -it` under a pseudo-terminal (`script`): the container's tty is /dev/pts/0 with the outer window
/// size, and Ctrl-C typed on the outer terminal interrupts the foreground `sleep`; then the terminal is
/// left as it was (echo on).
#[test]
fn run_it_under_a_pseudo_terminal() {
    for w in [Warren::dev(), Warren::root()] {
        w.pull(&bb());
        let bin = env().bin.display().to_string();
        let root = w.storage_root().display().to_string();
        let run = format!("{bin} --root {root} run --rm -it {}", bb());
        let o = w.sh(&format!(
            "sleep 8 | script -qec 'stty rows 33 cols 101; {run} sh -c \"tty; stty size\"; stty -a' /dev/null"
        ));
        o.ok();
        let out = o.stdout.replace('\r', "");
        assert!(out.lines().any(|l| l == "/dev/pts/0"), "{o:?}");
        assert!(out.lines().any(|l| l == "33 101"), "window size not copied: {o:?}");
        assert!(out.split([' ', ';', '\n']).any(|f| f == "echo"), "echo not restored: {o:?}");

        let t0 = std::time::Instant::now();
        let o = w.sh(&format!(
            "(sleep 3; printf '\\003'; sleep 8) | script -qec '{run} sh -c \"echo ready; sleep 30; echo rc=\\$?\"' /dev/null"
        ));
        let out = o.stdout.replace('\r', "");
        // busybox sh passes the interrupt on (it exits 130 itself, as under Podman); a shell that does not
        // prints the sleep's status
        assert!(o.status == 130 || out.contains("rc=130"), "Ctrl-C did not interrupt the sleep: {o:?}");
        assert!(t0.elapsed() < std::time::Duration::from_secs(25), "{o:?}");
    }
}

#[test]
fn image_config_semantics() {
    let w = Warren::dev();
    w.pull(&bb());
    // --entrypoint replaces the image's and resets its Cmd
    run(&w, &["--entrypoint", "echo"], &["a", "b"]).ok().stdout_is("a b");
    run(&w, &["--entrypoint", r#"["sh","-c"]"#], &["echo $0-x"]).ok().stdout_contains("-x");
    // env: -e, KEY from the host, --env-file; later wins
    let envfile = w.storage_root().join("envfile");
    w.sh(&format!("printf 'A=from-file\\nB=2\\n# comment\\n' > {}", envfile.display())).ok();
    run(&w, &["--env-file", &envfile.display().to_string(), "-e", "A=from-flag"], &["sh", "-c", "echo $A $B"])
        .ok()
        .stdout_is("from-flag 2");
    // -w creates the directory
    run(&w, &["-w", "/new/dir"], &["pwd"]).ok().stdout_is("/new/dir");
    // -u by name, HOME from passwd, supplementary groups from /etc/group
    run(&w, &["-u", "user"], &["sh", "-c", "id; echo $HOME"])
        .ok()
        .stdout_contains("uid=1000(user) gid=1000(user)")
        .stdout_contains("2000(extra)")
        .stdout_contains("/home/user");
    run(&w, &["-u", "nosuchuser"], &["true"]).code(125).stderr_contains("nosuchuser");
    run(&w, &["--group-add", "2000", "-u", "1000"], &["id", "-G"]).ok().stdout_contains("2000");
    // -t sets TERM
    run(&w, &["-t"], &["sh", "-c", "echo $TERM"]).ok().stdout_contains("xterm");
}

#[test]
fn mounts_and_security_options() {
    let w = Warren::dev();
    w.pull(&bb());
    let dir = w.storage_root().join("shared");
    w.cmd(&["mkdir", "-p", &dir.display().to_string()]).ok();
    w.sh(&format!("echo host-data > {}/in.txt", dir.display())).ok();
    let vol = format!("{}:/mnt", dir.display());
    run(&w, &["-v", &vol], &["cat", "/mnt/in.txt"]).ok().stdout_is("host-data");
    run(&w, &["-v", &format!("{vol}:ro")], &["sh", "-c", "echo x > /mnt/new || echo refused"])
        .stdout_contains("refused");
    run(&w, &["--mount", &format!("type=bind,src={},dst=/m2,ro", dir.display())], &["cat", "/m2/in.txt"])
        .ok()
        .stdout_is("host-data");
    run(&w, &["--tmpfs", "/scratch"], &["sh", "-c", "grep ' /scratch ' /proc/mounts"]).ok().stdout_contains("tmpfs");
    run(&w, &["--read-only"], &["sh", "-c", "touch /x 2>/dev/null && echo writable || echo ro"]).ok().stdout_is("ro");
    run(&w, &["--cap-drop", "all"], &["grep", "CapBnd", "/proc/self/status"]).ok().stdout_contains("0000000000000000");
    run(&w, &["--cap-add", "NET_RAW"], &["grep", "CapBnd", "/proc/self/status"])
        .ok()
        .stdout_contains("00000000800425fb");
    run(&w, &["--cap-add", "NOT_A_CAP"], &["true"]).code(125);
    run(&w, &["--ulimit", "nofile=512:1024"], &["sh", "-c", "ulimit -n"]).ok().stdout_is("512");
    run(&w, &["--security-opt", "seccomp=unconfined"], &["echo", "ok"]).ok().stdout_is("ok");
    run(&w, &["--security-opt", "bogus"], &["true"]).code(125);
    run(&w, &["-v", "relative:/x:zz"], &["true"]).code(125);
}

#[test]
fn keep_id_and_bind_mount_ownership() {
    let w = Warren::dev();
    w.pull(&bb());
    let env = env();
    run(&w, &["--userns=keep-id"], &["id", "-u"]).ok().stdout_is(&env.dev.uid.to_string());
    let dir = w.storage_root().join("keep");
    w.cmd(&["mkdir", "-p", &dir.display().to_string()]).ok();
    run(&w, &["--userns=keep-id", "-v", &format!("{}:/out", dir.display())], &["touch", "/out/made-inside"]).ok();
    w.cmd(&["stat", "-c", "%u", &dir.join("made-inside").display().to_string()])
        .ok()
        .stdout_is(&env.dev.uid.to_string());
    run(&w, &["--userns=keep-id:uid=200,gid=300"], &["id"]).ok().stdout_contains("uid=200").stdout_contains("gid=300");
}

#[test]
fn resource_limits_on_cgroup_v1_rootless_are_a_clear_error() {
    let w = Warren::dev();
    w.pull(&bb());
    let v2 = std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    if v2 {
        skip("this host has cgroup v2; the cgroup v1 error path cannot be exercised");
        return;
    }
    run(&w, &["--memory", "64m"], &["true"]).code(125).stderr_contains("cgroup");
    // no limit asked: no cgroup is touched, the run works
    run(&w, &[], &["true"]).ok();
}

#[test]
fn single_id_user_runs_with_one_warning() {
    let w = Warren::hpc();
    let out = run(&w, &[], &["echo", "hi"]);
    out.ok().stdout_is("hi");
    let warnings = out.stderr.matches("single-id").count();
    assert_eq!(warnings, 1, "exactly one warning expected: {out:?}");
    run(&w, &[], &["sh", "-c", "cat /proc/self/uid_map | tr -s ' '"])
        .ok()
        .stdout_is(&format!(" 0 {} 1", env().hpc.uid));
    run(&w, &["-u", "1000"], &["id"]).code(125).stderr_contains("/etc/subuid");
    w.run(&["run", "--rm", &image("layers"), "echo", "layers-ok"]).ok().stdout_contains("layers-ok");
    if let Some(deb) = lab_image("debian:bookworm") {
        w.run(&["run", "--rm", &deb, "echo", "debian-ok"]).ok().stdout_contains("debian-ok");
    }
}

#[test]
fn bad_input_is_exit_125_with_a_message() {
    let w = Warren::dev();
    w.run(&["run", "--rm", "UPPER/case:bad"]).code(125).stderr_contains("Error:");
    w.run(&["run", "--rm", "--no-such-flag", &bb()]).code(125);
    w.run(&["run", "--rm", "--userns=weird", &bb(), "true"]).code(125).stderr_contains("userns");
    w.run(&["run", "--rm", "--ulimit", "nofile=x", &bb(), "true"]).code(125);
    w.run(&["run", "--rm", "--network", "bogus", &bb(), "true"]).code(125);
}

#[test]
fn fifty_runs_leave_nothing_behind() {
    let w = Warren::dev();
    w.pull(&bb());
    for i in 0..50 {
        run(&w, &[], &["true"]).ok();
        if i == 0 {
            continue;
        }
    }
    w.run(&["ps", "-aq"]).ok().stdout_is("");
    let containers = w.storage_root().join("containers");
    let left: Vec<_> =
        std::fs::read_dir(&containers).map(|d| d.flatten().map(|e| e.file_name()).collect()).unwrap_or_default();
    assert!(left.is_empty(), "container directories left behind: {left:?}");
    assert!(find_leaks(w.storage_root()).is_empty(), "mounts or processes left: {:?}", find_leaks(w.storage_root()));
}

#[test]
fn multi_layer_fixture_from_inside() {
    let w = Warren::dev();
    w.pull(&image("layers"));
    let out = w.run(&[
        "run",
        "--rm",
        &image("layers"),
        "sh",
        "-c",
        "cd / && find /data | sort | xargs stat -c '%A %u %g %n'",
    ]);
    out.ok();
    for want in layers_expected() {
        out.check(&format!("line {want:?}"), |o| o.lines().iter().any(|l| *l == want));
    }
}
