//! `pull`, `search`, `login`, `logout`: finding and fetching images.

use anyhow::{bail, Result};
use clap::Args;
use std::path::PathBuf;

use crate::context::Context;

#[derive(Args, Debug, Clone, Default)]
pub struct PullArgs {
    /// Image reference, e.g. docker.io/library/busybox:latest or localhost:5000/lab/busybox
    pub image: String,
    /// Pull image policy: always, missing, never, newer
    #[arg(long, default_value = "always")]
    pub policy: String,
    /// Use ARCH instead of the architecture of the machine for choosing images
    #[arg(long)]
    pub arch: Option<String>,
    /// Use OS instead of the running OS for choosing images
    #[arg(long)]
    pub os: Option<String>,
    /// Use VARIANT instead of the running architecture variant for choosing images
    #[arg(long)]
    pub variant: Option<String>,
    /// Specify the platform for selecting the image (OS/ARCH[/VARIANT])
    #[arg(long)]
    pub platform: Option<String>,
    /// Credentials (USERNAME:PASSWORD) to use for authenticating to a registry
    #[arg(long)]
    pub creds: Option<String>,
    /// Path of the authentication file
    #[arg(long)]
    pub authfile: Option<PathBuf>,
    /// Require HTTPS and verify certificates when contacting registries
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub tls_verify: Option<bool>,
    /// Path to a directory of certificates (*.crt, *.cert, *.key) for the registry
    #[arg(long)]
    pub cert_dir: Option<PathBuf>,
    /// Suppress output information when pulling images
    #[arg(short, long)]
    pub quiet: bool,
    /// Pull all tagged images in the repository (not supported yet)
    #[arg(short = 'a', long)]
    pub all_tags: bool,
}

#[derive(Args, Debug, Clone)]
pub struct SearchArgs {
    /// Search term, optionally prefixed with a registry (localhost:5000/lab)
    pub term: String,
    /// Limit the number of results
    #[arg(long)]
    pub limit: Option<usize>,
    /// List the tags of the image
    #[arg(long)]
    pub list_tags: bool,
    /// Change the output format to JSON or a Go template
    #[arg(long)]
    pub format: Option<String>,
    /// Do not truncate the output
    #[arg(long)]
    pub no_trunc: bool,
    /// Filter output based on conditions provided
    #[arg(short, long)]
    pub filter: Vec<String>,
    #[arg(long)]
    pub authfile: Option<PathBuf>,
    #[arg(long)]
    pub creds: Option<String>,
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub tls_verify: Option<bool>,
    #[arg(long)]
    pub cert_dir: Option<PathBuf>,
}

#[derive(Args, Debug, Clone)]
pub struct LoginArgs {
    /// Registry to log in to
    pub registry: Option<String>,
    #[arg(short, long)]
    pub username: Option<String>,
    #[arg(short, long)]
    pub password: Option<String>,
    /// Take the password from stdin
    #[arg(long)]
    pub password_stdin: bool,
    #[arg(long)]
    pub authfile: Option<PathBuf>,
    #[arg(long)]
    pub get_login: bool,
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub tls_verify: Option<bool>,
    #[arg(long)]
    pub cert_dir: Option<PathBuf>,
}

#[derive(Args, Debug, Clone)]
pub struct LogoutArgs {
    /// Registry to log out of
    pub registry: Option<String>,
    /// Remove the cached credentials for all registries in the auth file
    #[arg(short, long)]
    pub all: bool,
    #[arg(long)]
    pub authfile: Option<PathBuf>,
}

pub fn pull(_ctx: &Context, _args: PullArgs) -> Result<i32> {
    bail!("pull is not built yet")
}

pub fn search(_ctx: &Context, _args: SearchArgs) -> Result<i32> {
    bail!("search is not built yet")
}

pub fn login(_ctx: &Context, _args: LoginArgs) -> Result<i32> {
    bail!("login is not built yet")
}

pub fn logout(_ctx: &Context, _args: LogoutArgs) -> Result<i32> {
    bail!("logout is not built yet")
}
