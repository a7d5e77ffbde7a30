//! `warren run`: the pipeline, in one place and in order:
//! plan → id mapping → storage (rootfs) → network → runtime spec → spawn and wait → cleanup.

use anyhow::{bail, Result};

use crate::cli::container::RunArgs;
use crate::context::Context;

pub fn run(_ctx: &Context, _args: RunArgs) -> Result<i32> {
    bail!("run is not built yet")
}
