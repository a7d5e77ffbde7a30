//! `info`, `version`, `unshare`.

use anyhow::{bail, Result};
use clap::Args;

use crate::context::Context;

#[derive(Args, Debug, Clone)]
pub struct InfoArgs {
    /// Change the output format to JSON or a Go template
    #[arg(short, long)]
    pub format: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct VersionArgs {
    /// Change the output format to JSON or a Go template
    #[arg(short, long)]
    pub format: Option<String>,
}

#[derive(Args, Debug, Clone)]
#[command(trailing_var_arg = true)]
pub struct UnshareArgs {
    /// Command to run (default: the user's shell)
    #[arg(allow_hyphen_values = true)]
    pub command: Vec<String>,
}

pub fn info(_ctx: &Context, _args: InfoArgs) -> Result<i32> {
    bail!("info is not built yet")
}

pub fn version(_ctx: &Context, args: VersionArgs) -> Result<i32> {
    let v = env!("CARGO_PKG_VERSION");
    match args.format.as_deref() {
        Some("json") => println!(
            "{}",
            serde_json::json!({"Client": {"Version": v, "OsArch": format!("{}/{}", std::env::consts::OS, crate::image::host_arch())}})
        ),
        _ => {
            println!("Client:       Warren");
            println!("Version:      {v}");
            println!(
                "OS/Arch:      {}/{}",
                std::env::consts::OS,
                crate::image::host_arch()
            );
        }
    }
    Ok(0)
}

pub fn unshare(_ctx: &Context, _args: UnshareArgs) -> Result<i32> {
    bail!("unshare is not built yet")
}
