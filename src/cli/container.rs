//! `run` and (later) the other container commands.

use anyhow::Result;
use clap::Args;
use std::path::PathBuf;

use crate::context::Context;

#[derive(Args, Debug, Clone, Default)]
#[command(trailing_var_arg = true)]
pub struct RunArgs {
    /// Remove the container when it exits
    #[arg(long)]
    pub rm: bool,
    /// Keep STDIN open even if not attached
    #[arg(short, long)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY for the container
    #[arg(short, long)]
    pub tty: bool,
    /// Run the container in the background and print the container ID (not supported yet)
    #[arg(short, long)]
    pub detach: bool,
    /// Assign a name to the container
    #[arg(long)]
    pub name: Option<String>,
    /// Set the container host name
    #[arg(long, short = 'h')]
    pub hostname: Option<String>,
    /// Set environment variables in the container
    #[arg(short, long = "env", value_name = "KEY[=VALUE]")]
    pub env: Vec<String>,
    /// Read in a file of environment variables
    #[arg(long)]
    pub env_file: Vec<PathBuf>,
    /// Use all current host environment variables in the container
    #[arg(long)]
    pub env_host: bool,
    /// Working directory inside the container
    #[arg(short, long)]
    pub workdir: Option<String>,
    /// Username or UID (format: <name|uid>[:<group|gid>])
    #[arg(short, long)]
    pub user: Option<String>,
    /// Add additional groups to join
    #[arg(long)]
    pub group_add: Vec<String>,
    /// Overwrite the default ENTRYPOINT of the image
    #[arg(long, allow_hyphen_values = true)]
    pub entrypoint: Option<String>,
    /// Make the container's root filesystem read-only
    #[arg(long)]
    pub read_only: bool,
    /// Mount a temporary filesystem (tmpfs) into a container
    #[arg(long)]
    pub tmpfs: Vec<String>,
    /// Bind mount a volume into the container (HOST:CONTAINER[:OPTIONS])
    #[arg(short, long)]
    pub volume: Vec<String>,
    /// Attach a filesystem mount to the container (type=bind|tmpfs,...)
    #[arg(long)]
    pub mount: Vec<String>,
    /// Add capabilities to the container
    #[arg(long)]
    pub cap_add: Vec<String>,
    /// Drop capabilities from the container
    #[arg(long)]
    pub cap_drop: Vec<String>,
    /// Security options (no-new-privileges, seccomp=unconfined|PATH, ...)
    #[arg(long)]
    pub security_opt: Vec<String>,
    /// Give extended privileges to the container
    #[arg(long)]
    pub privileged: bool,
    /// Ulimit options (NAME=SOFT[:HARD])
    #[arg(long)]
    pub ulimit: Vec<String>,
    /// Run an init inside the container that forwards signals and reaps processes
    #[arg(long)]
    pub init: bool,
    /// Connect a container to a network: none, host
    #[arg(long, alias = "net")]
    pub network: Option<String>,
    /// Pull image policy: always, missing, never, newer
    #[arg(long, default_value = "missing")]
    pub pull: String,
    /// Suppress output information when pulling images
    #[arg(short, long)]
    pub quiet: bool,
    /// User namespace to use: "" (default), keep-id[:uid=,gid=], nomap, host, auto
    #[arg(long)]
    pub userns: Option<String>,
    /// Memory limit (format: <number>[<unit>], where unit = b, k, m or g)
    #[arg(short, long)]
    pub memory: Option<String>,
    /// Number of CPUs
    #[arg(long)]
    pub cpus: Option<f64>,
    /// Tune container pids limit (set -1 for unlimited)
    #[arg(long)]
    pub pids_limit: Option<i64>,
    /// Set the platform/architecture/OS for the image to pull
    #[arg(long)]
    pub platform: Option<String>,
    #[arg(long)]
    pub arch: Option<String>,
    #[arg(long)]
    pub os: Option<String>,
    #[arg(long)]
    pub variant: Option<String>,
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub tls_verify: Option<bool>,
    #[arg(long)]
    pub authfile: Option<PathBuf>,
    #[arg(long)]
    pub creds: Option<String>,
    /// Add a label to the container (KEY=VALUE)
    #[arg(short, long)]
    pub label: Vec<String>,
    /// Image to run
    pub image: String,
    /// Command and arguments
    #[arg(allow_hyphen_values = true)]
    pub command: Vec<String>,
}

pub fn run(ctx: &Context, args: RunArgs) -> Result<i32> {
    crate::run::run(ctx, args)
}
