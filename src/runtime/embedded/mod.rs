//! Warren's embedded OCI runtime. It runs as a fresh, single-threaded process (`warren __runtime`),
//! never as a fork of a threaded engine.

mod syscalls;

use anyhow::{bail, Result};
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct RuntimeArgs {
    #[command(subcommand)]
    pub command: RuntimeCommand,
}

#[derive(Subcommand, Debug)]
pub enum RuntimeCommand {
    /// Create and start a container from a bundle and wait for it (like `crun run`); exits with the
    /// container's status (128+N for a signal, 126/127 when the command cannot be run).
    Run {
        #[arg(long, short)]
        bundle: PathBuf,
        #[arg(long)]
        pid_file: Option<PathBuf>,
        id: String,
    },
}

/// Entry point of `warren __runtime`.
pub fn main(_args: RuntimeArgs) -> Result<i32> {
    bail!("the embedded runtime is not built yet")
}
