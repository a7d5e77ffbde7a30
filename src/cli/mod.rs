//! The command line: clap structs with Podman's command and flag names, and the dispatch.
//! This layer only parses and prints; the work is done by the engine modules.

pub mod container;
pub mod events;
pub mod image;
pub mod pod;
pub mod port;
pub mod registry;
pub mod system;
pub mod volume;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

use crate::context::Context;
use crate::error::exit_code_of;

#[derive(Parser, Debug)]
#[command(name = "warren", about = "Manage pods, containers and images, rootless first")]
#[command(version = concat!("version ", env!("CARGO_PKG_VERSION")), disable_version_flag = true)]
#[command(disable_help_subcommand = true)]
pub struct Cli {
    /// Version for warren
    #[arg(short = 'v', long, action = clap::ArgAction::Version)]
    pub version: Option<bool>,
    #[command(flatten)]
    pub global: GlobalOpts,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Options every command accepts (Podman's global flags).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct GlobalOpts {
    /// Path to the graph root directory where images and containers are stored
    #[arg(long, global = true, value_name = "PATH")]
    pub root: Option<PathBuf>,
    /// Path to the 'run directory' where all state information is stored
    #[arg(long, global = true, value_name = "PATH")]
    pub runroot: Option<PathBuf>,
    /// Select which storage driver is used to manage storage of images and containers
    /// (overlay, fuse-overlayfs, vfs)
    #[arg(long, global = true, value_name = "DRIVER")]
    pub storage_driver: Option<String>,
    /// Storage driver option (e.g. ignore_chown_errors=true)
    #[arg(long = "storage-opt", global = true, value_name = "OPT")]
    pub storage_opts: Vec<String>,
    /// Log messages at and above specified level: trace, debug, info, warn, error, fatal, panic
    #[arg(long, global = true, default_value = "warn", value_name = "LEVEL",
          value_parser = clap::builder::PossibleValuesParser::new(crate::context::LOG_LEVELS), hide_possible_values = true)]
    pub log_level: String,
    /// Path to the OCI-compatible binary used to run containers (default: Warren's embedded runtime)
    #[arg(long, global = true, value_name = "PATH")]
    pub runtime: Option<String>,
}

#[derive(Subcommand, Debug)]
#[allow(clippy::large_enum_variant)] // parsed once per process; boxing the args buys nothing
pub enum Command {
    // --- registry (find and pull) ---
    /// Pull an image from a registry
    Pull(registry::PullArgs),
    /// Search a registry for an image
    Search(registry::SearchArgs),
    /// Log in to a container registry
    Login(registry::LoginArgs),
    /// Log out of a container registry
    Logout(registry::LogoutArgs),

    // --- images ---
    /// List images in local storage
    Images(image::ImagesArgs),
    /// Remove one or more images from local storage
    Rmi(image::RmiArgs),
    /// Add an additional name to a local image
    Tag(image::TagArgs),
    /// Remove a name from a local image
    Untag(image::UntagArgs),
    /// Show the history of an image
    History(image::HistoryArgs),
    /// Manage images
    #[command(subcommand)]
    Image(image::ImageCommand),

    // --- containers ---
    /// Run a command in a new container
    Run(container::RunArgs),
    /// Create but do not start a container
    Create(container::RunArgs),
    /// Start one or more containers
    Start(container::StartArgs),
    /// Restart one or more containers
    Restart(container::RestartArgs),
    /// List containers
    Ps(container::PsArgs),
    /// Stop one or more containers
    Stop(container::StopArgs),
    /// Kill one or more running containers with a specific signal
    Kill(container::KillArgs),
    /// Remove one or more containers
    Rm(container::RmArgs),
    /// Block on one or more containers
    Wait(container::WaitArgs),
    /// Fetch the logs of one or more containers
    Logs(container::LogsArgs),
    /// Run a process in a running container
    Exec(container::ExecArgs),
    /// Attach to a running container's output
    Attach(container::AttachArgs),
    /// Display the running processes of a container
    Top(container::TopArgs),
    /// Rename an existing container
    Rename(container::RenameArgs),
    /// Copy files/folders between a container and the local filesystem
    Cp(container::CpArgs),
    /// Inspect changes to the container's file systems
    Diff(container::DiffArgs),
    /// Export a container's filesystem contents as a tar archive
    Export(container::ExportArgs),
    /// Mount a working container's root filesystem
    Mount(container::MountArgs),
    /// Unmount working container's root filesystem
    #[command(alias = "umount")]
    Unmount(container::UnmountArgs),
    /// Pause all the processes in one or more containers
    Pause(container::PauseArgs),
    /// Unpause the processes in one or more containers
    Unpause(container::PauseArgs),
    /// Display a live stream of container resource usage statistics
    Stats(container::StatsArgs),
    /// Manage containers
    #[command(subcommand)]
    Container(container::ContainerCommand),
    /// List port mappings or a specific mapping for the container
    Port(port::PortArgs),
    /// Display the configuration of an object (image or container)
    Inspect(image::InspectArgs),

    // --- pods ---
    /// Manage pods
    #[command(subcommand)]
    Pod(pod::PodCommand),

    // --- volumes and events ---
    /// Manage volumes
    #[command(subcommand)]
    Volume(volume::VolumeCommand),
    /// Show Warren events
    Events(events::EventsArgs),

    // --- system ---
    /// Display Warren related system information
    Info(system::InfoArgs),
    /// Display the Warren version information
    Version(system::VersionArgs),
    /// Run a command in a modified user namespace
    Unshare(system::UnshareArgs),
    /// Help about any command
    Help {
        /// The command (and subcommand) to describe
        command: Vec<String>,
    },

    // --- internal (hidden) ---
    /// The embedded OCI runtime, run as a fresh single-threaded process
    #[command(name = "__runtime", hide = true)]
    InternalRuntime(crate::runtime::embedded::RuntimeArgs),
    /// The monitor of a detached container
    #[command(name = "__monitor", hide = true)]
    InternalMonitor { id: String },
    /// Report the storage driver that works here (run by `info` inside the engine namespace)
    #[command(name = "__probe-driver", hide = true)]
    InternalProbeDriver,
    /// The pause process that keeps the engine's user namespace alive
    #[command(name = "__pause", hide = true)]
    InternalPause,
}

impl Command {
    /// Whether the command must run inside the engine's user namespace (rootless). Commands that only read
    /// metadata or talk to a registry never fail for the lack of one.
    pub fn needs_userns(&self) -> bool {
        match self {
            Command::Pull(_)
            | Command::Run(_)
            | Command::Unshare(_)
            | Command::Rmi(_)
            | Command::Stop(_)
            | Command::Kill(_)
            | Command::Rm(_)
            | Command::Create(_)
            | Command::Start(_)
            | Command::Restart(_)
            | Command::Exec(_)
            | Command::Top(_)
            | Command::Rename(_)
            | Command::Cp(_)
            | Command::Diff(_)
            | Command::Export(_)
            | Command::Pause(_)
            | Command::Unpause(_)
            | Command::Stats(_)
            | Command::InternalMonitor { .. }
            | Command::InternalProbeDriver => true,
            // sizes count files in the writable layer, owned by the mapping's ids
            Command::Ps(a) => a.size,
            Command::Inspect(a) => a.size,
            Command::Image(c) => c.needs_userns(),
            Command::Container(c) => c.needs_userns(),
            Command::Volume(c) => c.needs_userns(),
            Command::Pod(c) => c.needs_userns(),
            _ => false,
        }
    }
}

/// Podman's (pflag's) boolean flags: `--rm`, `--rm=true`, `--rm=false`, `-d=false`; never `--rm false`
/// (the next word stays an argument) and short clusters (`-it`, `-dit`) still work. Applied to every
/// plain switch of the whole command tree, so a new `bool` field gets it without an attribute.
fn pflag_bools(cmd: clap::Command) -> clap::Command {
    use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
    use clap::ArgAction;
    // strconv.ParseBool's spellings.
    const TRUE: [&str; 6] = ["true", "1", "t", "T", "TRUE", "True"];
    const FALSE: [&str; 6] = ["false", "0", "f", "F", "FALSE", "False"];
    // pflag lets a flag repeat, the last one winning (`-d=false ... -dit`).
    let cmd = cmd.args_override_self(true).mut_args(|a| {
        let switch = matches!(a.get_action(), ArgAction::SetTrue);
        let optional_bool = matches!(a.get_action(), ArgAction::Set)
            && a.get_num_args().is_some_and(|n| n.min_values() == 0 && n.max_values() == 1)
            && a.get_value_parser().type_id() == clap::builder::ValueParser::bool().type_id();
        if !switch && !optional_bool {
            return a;
        }
        let a = a
            .action(ArgAction::Set)
            .num_args(0..=1)
            .require_equals(true)
            .default_missing_value("true")
            .value_name("BOOL")
            .hide_possible_values(true)
            .value_parser(
                PossibleValuesParser::new(
                    TRUE.into_iter().chain(FALSE).map(|v| PossibleValue::new(v).hide(v != "true" && v != "false")),
                )
                .map(|s| TRUE.contains(&s.as_str())),
            );
        if switch {
            a.default_value("false").hide_default_value(true)
        } else {
            a
        }
    });
    let subs: Vec<String> = cmd.get_subcommands().map(|s| s.get_name().to_string()).collect();
    subs.into_iter().fold(cmd, |cmd, name| cmd.mut_subcommand(name, pflag_bools))
}

/// Parse the command line, run the command, and return the process exit code.
pub fn main() -> i32 {
    use clap::{CommandFactory, FromArgMatches};
    let parsed = pflag_bools(Cli::command()).try_get_matches().and_then(|mut m| Cli::from_arg_matches_mut(&mut m));
    let mut cli = match parsed {
        Ok(cli) => cli,
        Err(e) => {
            let code = match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => 0,
                _ => crate::error::EXIT_ENGINE,
            };
            let _ = e.print();
            return code;
        }
    };
    // Like Podman: the help, then an error (clap's own message would list the hidden helpers).
    let Some(command) = cli.command.take() else {
        let _ = pflag_bools(Cli::command()).write_help(&mut std::io::stderr());
        eprintln!("\nError: missing command 'warren COMMAND'");
        return crate::error::EXIT_ENGINE;
    };
    crate::context::init_logging(&cli.global.log_level);
    // Hidden helpers run before any namespace decision: they are already where they must be.
    let command = match command {
        Command::InternalRuntime(args) => return finish(crate::runtime::embedded::main(args)),
        Command::InternalPause => return finish(userns::pause::run().map_err(Into::into).map(|_| 0)),
        Command::Help { command } => return finish(help(&command)),
        c => c,
    };
    let needs_userns = command.needs_userns();
    let ctx = match Context::new(&cli.global, needs_userns) {
        Ok(ctx) => ctx,
        Err(e) => return finish(Err(e)),
    };
    let result = match command {
        Command::Pull(a) => registry::pull(&ctx, a),
        Command::Search(a) => registry::search(&ctx, a),
        Command::Login(a) => registry::login(&ctx, a),
        Command::Logout(a) => registry::logout(&ctx, a),
        Command::Images(a) => image::images(&ctx, a),
        Command::Rmi(a) => image::rmi(&ctx, a),
        Command::Tag(a) => image::tag(&ctx, a),
        Command::Untag(a) => image::untag(&ctx, a),
        Command::History(a) => image::history(&ctx, a),
        Command::Image(c) => image::image(&ctx, c),
        Command::Run(a) => container::run(&ctx, a),
        Command::Ps(a) => container::ps(&ctx, a),
        Command::Create(a) => container::create(&ctx, a),
        Command::Start(a) => container::start(&ctx, a),
        Command::Restart(a) => container::restart(&ctx, a),
        Command::Stop(a) => container::stop(&ctx, a),
        Command::Kill(a) => container::kill(&ctx, a),
        Command::Rm(a) => container::rm(&ctx, a),
        Command::Wait(a) => container::wait(&ctx, a),
        Command::Logs(a) => container::logs(&ctx, a),
        Command::Exec(a) => container::exec(&ctx, a),
        Command::Attach(a) => container::attach(&ctx, a),
        Command::Top(a) => container::top(&ctx, a),
        Command::Rename(a) => container::rename(&ctx, a),
        Command::Cp(a) => container::cp(&ctx, a),
        Command::Diff(a) => container::diff(&ctx, a),
        Command::Export(a) => container::export(&ctx, a),
        Command::Mount(a) => container::mount(&ctx, a),
        Command::Unmount(a) => container::unmount(&ctx, a),
        Command::Pause(a) => container::pause(&ctx, a, true),
        Command::Unpause(a) => container::pause(&ctx, a, false),
        Command::Stats(a) => container::stats(&ctx, a),
        Command::Container(c) => container::container(&ctx, c),
        Command::Port(a) => port::port(&ctx, a),
        Command::InternalMonitor { id } => crate::run::monitor_main(&ctx, &id),
        Command::InternalProbeDriver => system::probe_driver(&ctx),
        Command::Inspect(a) => image::inspect(&ctx, a),
        Command::Volume(c) => volume::volume(&ctx, c),
        Command::Pod(c) => pod::pod(&ctx, c),
        Command::Events(a) => events::events(&ctx, a),
        Command::Info(a) => system::info(&ctx, a),
        Command::Version(a) => system::version(&ctx, a),
        Command::Unshare(a) => system::unshare(&ctx, a),
        Command::InternalRuntime(_) | Command::InternalPause | Command::Help { .. } => unreachable!("handled above"),
    };
    finish(result)
}

/// `warren help [COMMAND...]`: the help of that command (Podman's `help`).
fn help(path: &[String]) -> anyhow::Result<i32> {
    use clap::CommandFactory;
    let mut cmd = pflag_bools(Cli::command());
    cmd.build();
    let mut cur = &mut cmd;
    for name in path {
        cur = match cur.find_subcommand_mut(name) {
            Some(c) if !c.is_hide_set() => c,
            _ => anyhow::bail!(crate::error::ExitError::new(
                crate::error::EXIT_ENGINE,
                format!("unrecognized command `warren {}`", path.join(" "))
            )),
        };
    }
    cur.print_help()?;
    Ok(0)
}

/// Print an error the way Podman does (`Error: ...`) and turn the result into an exit code.
fn finish(result: anyhow::Result<i32>) -> i32 {
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("Error: {}", error_text(&e));
            exit_code_of(&e)
        }
    }
}

/// The error chain joined with ": " as `{e:#}` does, without Rust's " (os error N)" suffixes and without a
/// cause repeating the message before it (`Permission denied: Permission denied`).
fn error_text(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = vec![];
    for cause in e.chain() {
        let text = crate::error::strip_os_error(&cause.to_string());
        if parts.last().is_some_and(|p| p == &text || p.ends_with(&format!(": {text}"))) {
            continue;
        }
        parts.push(text);
    }
    parts.join(": ")
}

/// Act on each of several objects, as Podman's multi-object commands do: print the line `act` returns
/// for each one that worked, report each failure as `Error: ...` and go on; the exit status is that of
/// the last failure (0 when none failed).
pub fn for_each<T>(
    items: impl IntoIterator<Item = T>,
    mut act: impl FnMut(T) -> anyhow::Result<Option<String>>,
) -> i32 {
    let mut failed = 0;
    for item in items {
        match act(item) {
            Ok(Some(line)) => println!("{line}"),
            Ok(None) => {}
            Err(e) => {
                eprintln!("Error: {e:#}");
                failed = crate::error::exit_code_of(&e);
            }
        }
    }
    failed
}

#[cfg(test)]
mod tests {
    #[test]
    fn error_text_drops_os_error_and_repeats() {
        let io = std::io::Error::from_raw_os_error(13);
        let e = anyhow::Error::new(io).context("Permission denied (os error 13)").context("creating /x/run");
        assert_eq!(super::error_text(&e), "creating /x/run: Permission denied");
        let e = anyhow::anyhow!("plain").context("outer");
        assert_eq!(super::error_text(&e), "outer: plain");
    }
}
