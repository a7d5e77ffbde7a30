//! `images`, `rmi`, `tag`, `untag`, `history`, `inspect`, `image ...`: the local image store.

use anyhow::{bail, Result};
use clap::{Args, Subcommand};
use serde_json::Value;
use std::io::{BufRead, IsTerminal, Write};

use crate::context::Context;
use crate::error::ExitError;
use crate::format;
use crate::storage::report::{self, Filter};
use crate::storage::{ImageRecord, Store};

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
    /// Sort by created, id, repository, size or tag
    #[arg(long, default_value = "created")]
    pub sort: String,
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
    #[command(alias = "ls")]
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

/// The containers (any state) created from an image.
pub fn containers_using(ctx: &Context, image: &ImageRecord) -> Result<Vec<crate::state::ContainerRecord>> {
    if !ctx.storage_root.join("state.db").exists() {
        return Ok(Vec::new());
    }
    let state = crate::state::State::open(&ctx.storage_root)?;
    Ok(state.list()?.into_iter().filter(|c| c.image_id == image.id.as_str()).collect())
}

/// `rmi -f`: remove the containers of an image first (killing running ones), like Podman.
fn remove_containers(ctx: &Context, users: &[crate::state::ContainerRecord]) -> Result<()> {
    if users.is_empty() {
        return Ok(());
    }
    let state = crate::state::State::open(&ctx.storage_root)?;
    for c in users {
        crate::container::remove(ctx, &state, c, true, None)
            .map_err(|e| e.context(format!("removing container {}", c.name)))?;
    }
    Ok(())
}

/// `NAME: image not known`: exit 125, except for `rmi` (1, see [`rmi_not_known`]).
fn image_not_known(name: &str) -> anyhow::Error {
    anyhow::anyhow!("{name}: image not known")
}

/// Podman's `rmi` exits 1 when an image does not exist (and nothing else failed).
fn rmi_not_known(name: &str) -> anyhow::Error {
    ExitError::new(1, format!("{name}: image not known")).into()
}

/// Print a list of errors the way Podman does for multi-image commands: every one but the last on
/// stderr, the last returned (it decides the exit code).
fn finish_errors(mut errors: Vec<anyhow::Error>) -> Result<i32> {
    let Some(last) = errors.pop() else {
        return Ok(0);
    };
    for e in errors {
        eprintln!("Error: {e:#}");
    }
    Err(last)
}

fn images_header(field: &str) -> Option<String> {
    Some(
        match field {
            "ID" | "Id" => "IMAGE ID",
            "CreatedSince" | "Created" => "CREATED",
            "CreatedAt" => "CREATED AT",
            "ReadOnly" | "IsReadOnly" => "R/O",
            "VirtualSize" => "SIZE",
            _ => return None,
        }
        .to_string(),
    )
}

pub fn images(ctx: &Context, args: ImagesArgs) -> Result<i32> {
    let store = Store::open(ctx)?;
    let mut filters: Vec<Filter> = args.filter.iter().map(|f| Filter::parse(f)).collect::<Result<_>>()?;
    if let Some(r) = &args.repository {
        filters.push(Filter::Reference(r.clone()));
    }
    let all = store.images()?;
    let configs: Vec<Value> = all.iter().map(|r| report::config_json(&store, r)).collect();
    let find = |name: &str| -> Option<(ImageRecord, i64)> {
        let rec = crate::storage::store::find_in(&all, name).ok().flatten()?;
        let i = all.iter().position(|r| r.id == rec.id)?;
        Some((rec, report::created_of(&all[i], &configs[i])))
    };
    let mut selected: Vec<(usize, i64)> = Vec::new();
    for (i, rec) in all.iter().enumerate() {
        if report::matches(rec, &configs[i], &filters, &find)? {
            selected.push((i, report::created_of(rec, &configs[i])));
        }
    }
    // Newest first, like Podman's default --sort created.
    selected.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| all[a.0].pulled.cmp(&all[b.0].pulled).reverse()));
    let key_name = |i: usize| all[i].names.first().map(|n| report::split_name(n)).unwrap_or_default();
    match args.sort.as_str() {
        "created" => {}
        "id" => selected.sort_by(|a, b| all[a.0].id.cmp(&all[b.0].id)),
        "repository" => selected.sort_by(|a, b| key_name(a.0).0.cmp(&key_name(b.0).0)),
        "tag" => selected.sort_by(|a, b| key_name(a.0).1.cmp(&key_name(b.0).1)),
        "size" => selected.sort_by(|a, b| all[a.0].size.cmp(&all[b.0].size)),
        other => bail!("invalid option for --sort {other:?}: options are created, id, repository, size, tag"),
    }
    if args.quiet {
        for (i, _) in &selected {
            let r = &all[*i];
            println!("{}", if args.no_trunc { r.id.to_string() } else { report::short_id(r) });
        }
        return Ok(0);
    }
    if args.format.as_deref().map(str::trim) == Some("json") {
        let v: Vec<Value> = selected.iter().map(|(i, _)| report::summary_json(&all[*i], &configs[*i])).collect();
        println!("{}", pretty(&Value::Array(v), 4)?);
        return Ok(0);
    }
    let rows: Vec<Value> =
        selected.iter().flat_map(|(i, _)| report::image_rows(&all[*i], &configs[*i], args.no_trunc)).collect();
    let fmt = match &args.format {
        Some(f) => f.clone(),
        None if args.digests => {
            "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}".into()
        }
        None => "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}".into(),
    };
    print!("{}", format::render_rows(&fmt, &rows, args.noheading, &images_header)?);
    Ok(0)
}

/// JSON with Go's `MarshalIndent` indentation of `n` spaces (Podman: 4 for lists, 5 for inspect).
pub(crate) fn pretty(v: &Value, n: usize) -> Result<String> {
    let indent = " ".repeat(n);
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(indent.as_bytes());
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    serde::Serialize::serialize(v, &mut ser)?;
    Ok(String::from_utf8(buf)?)
}

pub fn rmi(ctx: &Context, args: RmiArgs) -> Result<i32> {
    if args.all && !args.images.is_empty() {
        bail!("when using the --all switch, you may not pass any images names or IDs");
    }
    if !args.all && args.images.is_empty() {
        bail!("image name or ID must be specified");
    }
    let store = Store::open(ctx)?;
    let _lock = store.lock()?;
    let mut errors: Vec<anyhow::Error> = Vec::new();
    let targets: Vec<String> =
        if args.all { store.images()?.iter().map(|r| r.id.hex().to_string()).collect() } else { args.images.clone() };
    for name in &targets {
        match rmi_one(ctx, &store, name, &args) {
            Ok(()) => {}
            Err(e) => errors.push(e),
        }
    }
    finish_errors(errors)
}

fn rmi_one(ctx: &Context, store: &Store, name: &str, args: &RmiArgs) -> Result<()> {
    let Some(rec) = store.find_image(name)? else {
        if args.ignore {
            return Ok(());
        }
        return Err(rmi_not_known(name));
    };
    let by_id = rec.id.as_str() == name || rec.id.hex().starts_with(name.strip_prefix("sha256:").unwrap_or(name));
    // A name given for an image with several names only removes that name (like Podman).
    if !by_id && rec.names.len() > 1 && !args.all {
        let full = rec
            .names
            .iter()
            .find(|n| {
                crate::storage::store::find_in(std::slice::from_ref(&only_name(&rec, n)), name).ok().flatten().is_some()
            })
            .cloned();
        if let Some(n) = full {
            store.untag_image(&rec.id, std::slice::from_ref(&n))?;
            crate::events::emit(&store.root, crate::events::Event::image("untag", rec.id.hex(), &n));
            println!("Untagged: {n}");
            return Ok(());
        }
    }
    if by_id && rec.names.len() > 1 && !args.force && !args.all {
        bail!(
            "unable to delete image {:?} by ID with more than one tag ({:?}): please force removal",
            rec.id.hex(),
            rec.names
        );
    }
    let users = containers_using(ctx, &rec)?;
    if !users.is_empty() && !args.force {
        let ids: Vec<&str> = users.iter().map(|c| c.id.as_str()).collect();
        return Err(ExitError::new(
            2,
            format!(
                "image used by {}: image is in use by a container: consider listing external containers and force-removing image",
                ids.join(", ")
            ),
        )
        .into());
    }
    remove_containers(ctx, &users)?;
    for n in &rec.names {
        println!("Untagged: {n}");
    }
    store.remove_image(&rec.id)?;
    let name = rec.names.first().cloned().unwrap_or_else(|| rec.id.hex().to_string());
    crate::events::emit(&store.root, crate::events::Event::image("remove", rec.id.hex(), &name));
    println!("Deleted: {}", rec.id.hex());
    Ok(())
}

/// A copy of a record holding only one of its names (to ask which name an input matched).
fn only_name(rec: &ImageRecord, name: &str) -> ImageRecord {
    let mut r = rec.clone();
    r.names = vec![name.to_string()];
    r
}

pub fn tag(ctx: &Context, args: TagArgs) -> Result<i32> {
    let store = Store::open(ctx)?;
    let Some(rec) = store.find_image(&args.image)? else {
        return Err(image_not_known(&args.image));
    };
    for n in &args.names {
        let full = report::normalize_new_name(n)?;
        store.tag_image(&rec.id, &full)?;
        crate::events::emit(&store.root, crate::events::Event::image("tag", rec.id.hex(), &full));
    }
    Ok(0)
}

pub fn untag(ctx: &Context, args: UntagArgs) -> Result<i32> {
    let store = Store::open(ctx)?;
    let Some(rec) = store.find_image(&args.image)? else {
        return Err(image_not_known(&args.image));
    };
    let mut names = Vec::new();
    for n in &args.names {
        let hit = rec
            .names
            .iter()
            .find(|have| *have == n || report::normalize_new_name(n).ok().as_ref() == Some(*have))
            .or_else(|| {
                rec.names.iter().find(|have| {
                    crate::storage::store::find_in(std::slice::from_ref(&only_name(&rec, have)), n)
                        .ok()
                        .flatten()
                        .is_some()
                })
            });
        match hit {
            Some(h) => names.push(h.clone()),
            None => bail!("{n}: tag not known"),
        }
    }
    if args.names.is_empty() {
        names = rec.names.clone();
    }
    if !names.is_empty() {
        store.untag_image(&rec.id, &names)?;
    }
    Ok(0)
}

pub fn history(ctx: &Context, args: HistoryArgs) -> Result<i32> {
    let store = Store::open(ctx)?;
    let Some(rec) = store.find_image(&args.image)? else {
        return Err(image_not_known(&args.image));
    };
    let config = report::config_json(&store, &rec);
    let rows = report::history_rows(&store, &rec, &config, args.no_trunc, args.human);
    if args.quiet {
        for r in &rows {
            println!("{}", r["ID"].as_str().unwrap_or(""));
        }
        return Ok(0);
    }
    if args.format.as_deref().map(str::trim) == Some("json") {
        // Podman's ImageHistory objects.
        let v: Vec<Value> = rows
            .iter()
            .map(|r| {
                let id = if r["ID"] == "<missing>" { "<missing>" } else { rec.id.hex() };
                serde_json::json!({
                    "id": id,
                    "created": r["CreatedAt"],
                    "CreatedBy": r["CreatedByFull"],
                    "size": r["SizeBytes"],
                    "comment": r["Comment"],
                    "tags": r["Tags"],
                })
            })
            .collect();
        println!("{}", pretty(&Value::Array(v), 4)?);
        return Ok(0);
    }
    let fmt = args
        .format
        .clone()
        .unwrap_or_else(|| "table {{.ID}}\t{{.Created}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}".into());
    let header = |f: &str| match f {
        "CreatedSince" => Some("CREATED".to_string()),
        "CreatedBy" => Some("CREATED BY".to_string()),
        _ => None,
    };
    print!("{}", format::render_rows(&fmt, &rows, false, &header)?);
    Ok(0)
}

pub fn inspect(ctx: &Context, args: InspectArgs) -> Result<i32> {
    if args.names.is_empty() {
        bail!("inspect requires at least one image name or ID");
    }
    if !matches!(args.r#type.as_str(), "all" | "image" | "container") {
        bail!("invalid type {:?}: must be container, image or all", args.r#type);
    }
    let store = Store::open(ctx)?;
    let driver = ctx.global.storage_driver.clone().unwrap_or_else(|| "overlay".into());
    let mut found = Vec::new();
    let mut errors: Vec<anyhow::Error> = Vec::new();
    // Like Podman, `inspect` looks for a container first, then an image.
    let state = match args.r#type.as_str() {
        "container" | "all" if ctx.storage_root.join("state.db").exists() => {
            Some(crate::state::State::open(&ctx.storage_root)?)
        }
        _ => None,
    };
    for n in &args.names {
        if n.is_empty() {
            // Not a prefix of every ID, not a malformed image name: nothing is called "".
            errors.push(match args.r#type.as_str() {
                "container" => anyhow::anyhow!("no such container {n:?}"),
                "image" => anyhow::anyhow!("{n:?}: image not known"),
                _ => anyhow::anyhow!("no such object: {n:?}"),
            });
            continue;
        }
        if let Some(st) = &state {
            if let Some(c) = st.lookup(n)? {
                let c = crate::container::refresh(ctx, st, c)?;
                found.push(crate::inspect::container_json(ctx, &c, args.size));
                continue;
            }
        }
        if args.r#type == "container" {
            errors.push(anyhow::anyhow!("no such container {n:?}"));
            continue;
        }
        match store.find_image(n)? {
            Some(rec) => found.push(report::inspect_json(&store, &rec, &driver)),
            None if args.r#type == "image" => errors.push(anyhow::anyhow!("{n}: image not known")),
            None => errors.push(anyhow::anyhow!("no such object: {n:?}")),
        }
    }
    match args.format.as_deref() {
        None | Some("json") => println!("{}", pretty(&Value::Array(found), 5)?),
        Some(f) => {
            let t = format::Template::parse(f)?;
            let mut out = String::new();
            for v in &found {
                let mut line = t.render(v)?;
                if !line.ends_with('\n') {
                    line.push('\n');
                }
                out.push_str(&line);
            }
            print!("{out}");
        }
    }
    finish_errors(errors)
}

/// The `podman container inspect` object of a container, from its state record (read only: the
/// `Running` flag checks the process, nothing is cleaned up here).
fn confirm(question: &str) -> Result<bool> {
    print!("{question} [y/N] ");
    std::io::stdout().flush()?;
    let mut line = String::new();
    let n = std::io::stdin().lock().read_line(&mut line)?;
    if n == 0 && !std::io::stdin().is_terminal() {
        return Ok(false);
    }
    Ok(matches!(line.trim(), "y" | "Y" | "yes" | "Yes"))
}

pub fn prune(ctx: &Context, args: PruneArgs) -> Result<i32> {
    let mut filters: Vec<Filter> = Vec::new();
    for f in &args.filter {
        match Filter::parse(f)? {
            Filter::Reference(_) | Filter::Before(_) | Filter::Since(_) => {
                bail!("invalid filter {f:?} for image prune: use label or dangling")
            }
            other => filters.push(other),
        }
    }
    if !args.force {
        let what = if args.all {
            "WARNING! This command removes all images without at least one container associated with them."
        } else {
            "WARNING! This command removes all dangling images."
        };
        println!("{what}");
        if !confirm("Are you sure you want to continue?")? {
            return Ok(0);
        }
    }
    let store = Store::open(ctx)?;
    let _lock = store.lock()?;
    let none = |_: &str| None;
    // Removing an image can leave others dangling only by name, never by layer: one pass is enough.
    for rec in store.images()? {
        if !args.all && !rec.names.is_empty() {
            continue;
        }
        let config = report::config_json(&store, &rec);
        if !report::matches(&rec, &config, &filters, &none)? || !containers_using(ctx, &rec)?.is_empty() {
            continue;
        }
        store.remove_image(&rec.id)?;
        println!("{}", rec.id.hex());
    }
    // Layers left by pulls that failed part-way belong to no image.
    let layers = store.prune_layers()?;
    if !layers.is_empty() {
        tracing::info!("removed {} layers no image uses", layers.len());
    }
    Ok(0)
}

pub fn exists(ctx: &Context, args: ExistsArgs) -> Result<i32> {
    let store = Store::open(ctx)?;
    Ok(if store.find_image(&args.image)?.is_some() { 0 } else { 1 })
}
