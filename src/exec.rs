//! `warren exec`: run a process in a running container, with the container's environment, user,
//! working directory, capabilities, no_new_privs and seccomp (from its stored plan), changed by the
//! command line. The process spec is written to the bundle and handed to the runtime: the embedded
//! one (`warren __runtime exec`, which joins every namespace of the container) or `crun exec`.

use anyhow::{bail, Context as _, Result};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;

use crate::cli::container::ExecArgs;
use crate::container;
use crate::context::Context;
use crate::error::{ExitError, EXIT_ENGINE};
use crate::plan::{self, Env};
use crate::state::State;

fn user_error(msg: impl Into<String>) -> anyhow::Error {
    ExitError::new(EXIT_ENGINE, msg).into()
}

/// `warren exec [OPTIONS] CONTAINER COMMAND [ARG...]`. Without `-d` this process becomes the runtime
/// (exec), so the exit status, signals and the terminal are the runtime's, exactly as in `run`.
pub fn exec(ctx: &Context, args: ExecArgs) -> Result<i32> {
    let state = State::open(&ctx.storage_root)?;
    let name = if args.latest {
        state.list()?.into_iter().last().map(|c| c.id).ok_or_else(|| user_error("no containers to exec in"))?
    } else {
        args.container.clone().ok_or_else(|| user_error("exec requires the name or ID of a container"))?
    };
    let mut command = args.command.clone();
    if args.latest {
        if let Some(c) = args.container.clone() {
            command.insert(0, c);
        }
    }
    if command.is_empty() {
        bail!(user_error("exec requires at least one argument: the command to run in the container"));
    }
    let rec = container::refresh(ctx, &state, state.get(&name)?)?;
    if !container::is_running(&rec) {
        bail!(user_error(format!(
            "can only create exec sessions on running containers: container {} is {}: container state improper",
            rec.name, rec.state
        )));
    }
    if rec.state == "paused" {
        bail!(user_error(format!(
            "cannot exec into container {}: it is paused (unpause it first): container state improper",
            rec.name
        )));
    }
    let mut plan = crate::run::stored_plan(&rec)?;
    // The container's own files, as its PID 1 sees them.
    let proc_root = PathBuf::from(format!("/proc/{}/root", rec.pid));

    let mut env = Env::default();
    for e in &plan.env {
        env.apply_setting(e);
    }
    for f in &args.env_file {
        let text =
            std::fs::read_to_string(f).map_err(|e| user_error(format!("reading env file {}: {e}", f.display())))?;
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
            env.apply_setting(line);
        }
    }
    plan::check_env_args(&args.env)?;
    for e in &args.env {
        env.apply_setting(e);
    }
    if args.tty && env.get("TERM").is_none() {
        env.set("TERM", "xterm");
    }
    if let Some(u) = &args.user {
        let user = plan::resolve_user(&proc_root, u, &[])?;
        plan.uid = user.uid;
        plan.gid = user.gid;
        plan.additional_gids = user.additional_gids;
    }
    if let Some(w) = &args.workdir {
        if !w.starts_with('/') {
            bail!(user_error(format!("invalid working directory {w:?}: it must be absolute")));
        }
        plan.cwd = w.clone();
    }
    if args.privileged {
        plan.capabilities = crate::runtime::spec::capabilities(&[], &[], true)?;
    }
    plan.env = env.to_list();
    plan.args = command;
    plan.terminal = args.tty;
    plan.init = false;
    let spec = crate::runtime::spec::build(&plan)?;

    let bundle = container::bundle_dir(ctx, &rec.id);
    let session = plan::new_id();
    let file = bundle.join(format!("exec-{}.json", &session[..12]));
    std::fs::write(&file, serde_json::to_vec(&spec)?).with_context(|| format!("writing {}", file.display()))?;
    let mut cmd = crate::runtime::exec_command(ctx, &rec.id, rec.pid, &file)?;
    tracing::debug!("exec in container {}: {cmd:?}", rec.name);
    if args.detach {
        cmd.stdin(std::process::Stdio::null()).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
        // SAFETY: setsid is async-signal-safe.
        unsafe {
            cmd.pre_exec(|| {
                libc::setsid();
                Ok(())
            });
        }
        cmd.spawn().with_context(|| format!("starting {:?}", cmd.get_program()))?;
        println!("{session}");
        return Ok(0);
    }
    // crun relays a terminal from its own stdin (it has no console socket here).
    let external = ctx.global.runtime.as_deref().is_some_and(|r| r != "warren" && !r.is_empty());
    let keep_stdin = args.interactive || (args.tty && external);
    if !keep_stdin {
        cmd.stdin(std::process::Stdio::null());
    }
    let e = cmd.exec();
    let _ = std::fs::remove_file(&file);
    Err(e).with_context(|| format!("running the runtime {:?}", cmd.get_program()))
}
