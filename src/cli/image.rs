//! `images`, `rmi`, `tag`, `untag`, `history`, `inspect`, `image ...`: the local image store.

use anyhow::{bail, Result};
use clap::{Args, Subcommand};

use crate::context::Context;

#[derive(Args, Debug, Clone, Default)]
pub struct ImagesArgs {
    /// Show all images (default hides intermediate images)
    #[arg(short, long)]
    pub all: bool,
    /// Display only image IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// Show digests
    #[arg(long)]
    pub digests: bool,
    /// Do not truncate output
    #[arg(long)]
    pub no_trunc: bool,
    /// Filter output based on conditions provided
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// Change the output format to JSON or a Go template
    #[arg(long)]
    pub format: Option<String>,
    /// Do not print column headings
    #[arg(short, long)]
    pub noheading: bool,
    /// Optional repository to list
    pub repository: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct RmiArgs {
    pub images: Vec<String>,
    /// Remove all images
    #[arg(short, long)]
    pub all: bool,
    /// Force removal of the image and any containers using it
    #[arg(short, long)]
    pub force: bool,
    /// Ignore errors if a specified image does not exist
    #[arg(short, long)]
    pub ignore: bool,
}

#[derive(Args, Debug, Clone)]
pub struct TagArgs {
    pub image: String,
    #[arg(required = true)]
    pub names: Vec<String>,
}

#[derive(Args, Debug, Clone)]
pub struct UntagArgs {
    pub image: String,
    pub names: Vec<String>,
}

#[derive(Args, Debug, Clone)]
pub struct HistoryArgs {
    pub image: String,
    #[arg(long)]
    pub no_trunc: bool,
    #[arg(short, long)]
    pub quiet: bool,
    #[arg(long)]
    pub format: Option<String>,
    #[arg(short = 'H', long, default_value_t = true, action = clap::ArgAction::Set)]
    pub human: bool,
}

#[derive(Args, Debug, Clone)]
pub struct InspectArgs {
    pub names: Vec<String>,
    /// Format the output using the given Go template
    #[arg(short, long)]
    pub format: Option<String>,
    /// Only inspect objects of this type: image, container, all
    #[arg(short, long, default_value = "all")]
    pub r#type: String,
    #[arg(short, long)]
    pub size: bool,
}

#[derive(Args, Debug, Clone)]
pub struct PruneArgs {
    /// Remove all unused images, not just dangling ones
    #[arg(short, long)]
    pub all: bool,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
    #[arg(long)]
    pub filter: Vec<String>,
}

#[derive(Args, Debug, Clone)]
pub struct ExistsArgs {
    pub image: String,
}

#[derive(Subcommand, Debug)]
pub enum ImageCommand {
    /// List images in local storage
    #[command(alias = "ls", alias = "list")]
    List(ImagesArgs),
    /// Pull an image from a registry
    Pull(super::registry::PullArgs),
    /// Remove one or more images
    #[command(alias = "remove")]
    Rm(RmiArgs),
    /// Add an additional name to a local image
    Tag(TagArgs),
    /// Remove a name from a local image
    Untag(UntagArgs),
    /// Show the history of an image
    History(HistoryArgs),
    /// Display the configuration of an image
    Inspect(InspectArgs),
    /// Remove unused images
    Prune(PruneArgs),
    /// Check if an image exists in local storage
    Exists(ExistsArgs),
    /// Search a registry for an image
    Search(super::registry::SearchArgs),
}

impl ImageCommand {
    pub fn needs_userns(&self) -> bool {
        matches!(self, ImageCommand::Pull(_) | ImageCommand::Rm(_) | ImageCommand::Prune(_))
    }
}

pub fn image(ctx: &Context, cmd: ImageCommand) -> Result<i32> {
    match cmd {
        ImageCommand::List(a) => images(ctx, a),
        ImageCommand::Pull(a) => super::registry::pull(ctx, a),
        ImageCommand::Rm(a) => rmi(ctx, a),
        ImageCommand::Tag(a) => tag(ctx, a),
        ImageCommand::Untag(a) => untag(ctx, a),
        ImageCommand::History(a) => history(ctx, a),
        ImageCommand::Inspect(mut a) => {
            a.r#type = "image".into();
            inspect(ctx, a)
        }
        ImageCommand::Prune(a) => prune(ctx, a),
        ImageCommand::Exists(a) => exists(ctx, a),
        ImageCommand::Search(a) => super::registry::search(ctx, a),
    }
}

pub fn images(_ctx: &Context, _args: ImagesArgs) -> Result<i32> {
    bail!("images is not built yet")
}
pub fn rmi(_ctx: &Context, _args: RmiArgs) -> Result<i32> {
    bail!("rmi is not built yet")
}
pub fn tag(_ctx: &Context, _args: TagArgs) -> Result<i32> {
    bail!("tag is not built yet")
}
pub fn untag(_ctx: &Context, _args: UntagArgs) -> Result<i32> {
    bail!("untag is not built yet")
}
pub fn history(_ctx: &Context, _args: HistoryArgs) -> Result<i32> {
    bail!("history is not built yet")
}
pub fn inspect(_ctx: &Context, _args: InspectArgs) -> Result<i32> {
    bail!("inspect is not built yet")
}
pub fn prune(_ctx: &Context, _args: PruneArgs) -> Result<i32> {
    bail!("image prune is not built yet")
}
pub fn exists(_ctx: &Context, _args: ExistsArgs) -> Result<i32> {
    bail!("image exists is not built yet")
}
