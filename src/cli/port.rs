//! `warren port`: the published ports of running containers, like `podman port`.

use anyhow::{bail, Result};
use clap::Args;

use crate::container;
use crate::context::Context;
use crate::error::{ExitError, EXIT_ENGINE};
use crate::state::State;

#[derive(Args, Debug, Clone, Default)]
pub struct PortArgs {
    /// Display port information for all containers
    #[arg(short, long)]
    pub all: bool,
    /// Act on the latest container created
    #[arg(short, long)]
    pub latest: bool,
    /// CONTAINER [PRIVATE_PORT[/PROTO]]
    pub args: Vec<String>,
}

pub fn port(ctx: &Context, args: PortArgs) -> Result<i32> {
    let state = State::open(&ctx.storage_root)?;
    let (targets, want) = if args.all || args.latest {
        let mut list = container::refresh_all(ctx, &state, state.list()?)?;
        if args.latest {
            list = list.into_iter().last().into_iter().collect();
        }
        (list, args.args.first().cloned())
    } else {
        let Some(name) = args.args.first() else {
            bail!(ExitError::new(EXIT_ENGINE, "you must supply a running container name or ID"));
        };
        let rec = container::refresh(ctx, &state, state.get(name)?)?;
        (vec![rec], args.args.get(1).cloned())
    };
    if args.all && want.is_some() {
        bail!(ExitError::new(EXIT_ENGINE, "the PORT argument cannot be used with --all"));
    }
    for rec in &targets {
        if !container::is_running(rec) {
            continue;
        }
        let ports = crate::network::ports_of(rec);
        let lines =
            net::ports::port_lines(&ports, want.as_deref()).map_err(|e| ExitError::new(EXIT_ENGINE, e.to_string()))?;
        let Some(lines) = lines else {
            let w = want.clone().unwrap_or_default();
            let w = if w.contains('/') { w } else { format!("{w}/tcp") };
            bail!(ExitError::new(EXIT_ENGINE, format!("failed to find published port {w:?}")));
        };
        for l in lines {
            if args.all {
                println!("{}\t{l}", &rec.id[..12]);
            } else {
                println!("{l}");
            }
        }
    }
    Ok(0)
}
