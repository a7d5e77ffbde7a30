//! The binary starts, as every kind of user.

use crate::common::*;

#[test]
fn help_exits_0_for_dev_hpc_and_root() {
    for w in [Warren::dev(), Warren::hpc(), Warren::root()] {
        w.run(&["--help"]).ok().stdout_contains("Usage:").stdout_contains("pull");
    }
}

#[test]
fn unknown_command_is_an_engine_error() {
    Warren::dev().run(&["no-such-command"]).code(125);
}

#[test]
fn version_for_dev_hpc_and_root() {
    for w in [Warren::dev(), Warren::hpc(), Warren::root()] {
        w.run(&["version"]).ok().stdout_contains("Version");
    }
}

#[test]
fn harness_runs_as_the_user_with_a_clean_environment() {
    let env = require_env();
    let w = Warren::dev();
    let out = w.sh("id -u; echo $HOME; echo $XDG_RUNTIME_DIR; env | wc -l");
    out.ok();
    let lines = out.lines();
    assert_eq!(lines[0], env.dev.uid.to_string(), "{out:?}");
    assert_eq!(lines[1], env.dev.home.display().to_string());
    assert_eq!(lines[2], format!("/run/user/{}", env.dev.uid));
    // the storage root belongs to the user and is private
    let st = w.cmd(&["stat", "-c", "%u %a", &w.storage_root().display().to_string()]);
    st.ok().stdout_is(&format!("{} 700", env.dev.uid));
    let hpc = Warren::hpc().without_xdg_runtime_dir();
    hpc.sh("echo \"[$XDG_RUNTIME_DIR]\"; id -un").ok().stdout_is("[]\nhpc");
}

#[test]
fn harness_reports_exit_codes_and_stdin() {
    let w = Warren::hpc();
    w.sh("exit 3").code(3);
    w.sh("kill -9 $$").code(128 + 9);
    let out = w.exec(&["cat"], RunOpts { stdin: Some(b"from stdin".to_vec()), ..Default::default() });
    out.ok().stdout_is("from stdin");
}

#[test]
fn harness_finds_a_process_left_in_the_storage_root() {
    let w = Warren::dev();
    let root = w.storage_root().display().to_string();
    let mut c = w.command_for(&["sh", "-c", &format!("cd '{root}' && exec sleep 60")], &[]);
    let mut child = c.spawn().expect("starting sleep as dev");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut leaks = Vec::new();
    while leaks.is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
        leaks = find_leaks(w.storage_root());
    }
    // SAFETY: kill(2) on the process group we just started.
    unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
    let _ = child.wait();
    assert!(
        leaks.iter().any(|l| matches!(l, Leak::Process { comm, .. } if comm == "sleep")),
        "the leak check missed a process with its cwd in {root}: {leaks:?}"
    );
    // gone once killed
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !find_leaks(w.storage_root()).is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(find_leaks(w.storage_root()), Vec::new());
}
