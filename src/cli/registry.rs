//! `pull`, `search`, `login`, `logout`: finding and fetching images.

use anyhow::{anyhow, bail, Context as _, Result};
use clap::Args;
use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::PathBuf;

use crate::context::Context;
use crate::image::auth::{self, AuthFile, Credentials};
use crate::image::client::{Client, ClientOptions};
use crate::image::manifest::Platform;
use crate::image::pull::{self, PullOptions, PullPolicy};
use crate::image::registries::RegistriesConf;
use crate::image::search::{self, SearchOptions};
use crate::storage::Store;

#[derive(Args, Debug, Clone, Default)]
pub struct PullArgs {
    /// Image reference, e.g. docker.io/library/busybox:latest or localhost:5000/lab/busybox
    pub image: String,
    /// More images to pull, one after the other
    #[arg(value_name = "IMAGE")]
    pub more: Vec<String>,
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
    /// Pull all tagged images in the repository
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

impl PullArgs {
    /// The registry and platform options of a pull (shared with `run --pull`).
    pub fn pull_options(&self) -> Result<PullOptions> {
        let platform = Platform::choose(
            self.platform.as_deref(),
            self.os.as_deref(),
            self.arch.as_deref(),
            self.variant.as_deref(),
        )
        .map_err(|e| anyhow!(e))?;
        Ok(PullOptions {
            client: ClientOptions {
                creds: self.creds.clone(),
                authfile: self.authfile.clone(),
                tls_verify: self.tls_verify,
                cert_dir: self.cert_dir.clone(),
            },
            platform,
            explicit_platform: self.platform.is_some()
                || self.os.is_some()
                || self.arch.is_some()
                || self.variant.is_some(),
        })
    }
}

pub fn pull(ctx: &Context, args: PullArgs) -> Result<i32> {
    let policy: PullPolicy = args.policy.parse()?;
    let opts = args.pull_options()?;
    let store = Store::open(ctx)?;
    if args.all_tags && !args.more.is_empty() {
        bail!("--all-tags takes one repository name");
    }
    if args.all_tags {
        let puller = pull::Puller::new(opts.clone())?;
        let (repo, tags) = puller.tags(args.image.strip_prefix("docker://").unwrap_or(&args.image))?;
        if tags.is_empty() {
            bail!("{}: the repository has no tags", repo.name());
        }
        for t in tags {
            let name = format!("{}:{t}", repo.name());
            let img = pull::ensure_image(ctx, &store, &name, policy, &opts, args.quiet)?;
            println!("{}", img.id.hex());
        }
        return Ok(0);
    }
    for name in std::iter::once(&args.image).chain(&args.more) {
        let img = pull::ensure_image(ctx, &store, name, policy, &opts, args.quiet)?;
        println!("{}", img.id.hex());
    }
    Ok(0)
}

pub fn search(_ctx: &Context, args: SearchArgs) -> Result<i32> {
    let opts = SearchOptions {
        client: ClientOptions {
            creds: args.creds.clone(),
            authfile: args.authfile.clone(),
            tls_verify: args.tls_verify,
            cert_dir: args.cert_dir.clone(),
        },
        limit: args.limit,
        list_tags: args.list_tags,
        filters: args.filter.clone(),
    };
    let results = search::search(&args.term, &opts)?;
    let out = search::render(&results, args.format.as_deref(), args.list_tags, args.no_trunc)?;
    print!("{out}");
    Ok(0)
}

/// The registry a login/logout is for: the argument (a host, optionally with a repository path; a
/// scheme and trailing slash are accepted), else the first unqualified-search registry, as Podman does.
fn login_target(arg: Option<&str>) -> Result<String> {
    match arg {
        Some(a) if !a.trim().is_empty() => Ok(auth::normalise_key(a.trim())),
        _ => {
            let conf = RegistriesConf::load()?;
            conf.search.first().cloned().ok_or_else(|| {
                anyhow!("no registry given and no unqualified-search registries are defined in registries.conf: name the registry, e.g. `warren login localhost:5000`")
            })
        }
    }
}

fn auth_write_path(authfile: Option<&std::path::Path>) -> Result<std::path::PathBuf> {
    auth::write_path(authfile).ok_or_else(|| {
        anyhow!("cannot choose an auth file: none of --authfile, REGISTRY_AUTH_FILE, XDG_RUNTIME_DIR or HOME is set")
    })
}

fn read_line_from_stdin() -> Result<String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("reading stdin")?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

/// Read a password from the terminal without echo.
fn prompt_password(prompt: &str) -> Result<String> {
    use nix::sys::termios::{tcgetattr, tcsetattr, LocalFlags, SetArg};
    eprint!("{prompt}");
    let _ = std::io::stderr().flush();
    let stdin = std::io::stdin();
    let saved = tcgetattr(&stdin).context("reading the terminal settings")?;
    let mut noecho = saved.clone();
    noecho.local_flags.remove(LocalFlags::ECHO);
    tcsetattr(&stdin, SetArg::TCSANOW, &noecho).context("turning off echo")?;
    let res = read_line_from_stdin();
    let _ = tcsetattr(&stdin, SetArg::TCSANOW, &saved);
    eprintln!();
    res
}

pub fn login(_ctx: &Context, args: LoginArgs) -> Result<i32> {
    let key = login_target(args.registry.as_deref())?;
    let host = key.split('/').next().unwrap_or(&key).to_string();
    let repo = key.split_once('/').map(|(_, r)| r.to_string());
    if args.get_login {
        let c = auth::lookup(None, args.authfile.as_deref(), &host, repo.as_deref())?
            .ok_or_else(|| anyhow!("not logged into {key}"))?;
        println!("{}", c.username);
        return Ok(0);
    }
    if args.password.is_some() && args.password_stdin {
        bail!("--password and --password-stdin are mutually exclusive");
    }
    let conf = RegistriesConf::load()?;
    let insecure = match args.tls_verify {
        Some(v) => !v,
        None => conf.is_insecure(&host),
    };
    // Like Podman: with no new credentials given, check the stored ones first.
    if args.username.is_none() && args.password.is_none() && !args.password_stdin {
        if let Some(existing) = auth::lookup(None, args.authfile.as_deref(), &host, repo.as_deref())? {
            eprintln!("Authenticating with existing credentials for {key}");
            let valid = Client::connect(&host, insecure, Some(existing), args.cert_dir.as_deref())
                .and_then(|c| c.check_login())
                .is_ok();
            if valid {
                println!("Existing credentials are valid. Already logged in to {key}");
                return Ok(0);
            }
            eprintln!("Existing credentials are invalid, please enter valid username and password");
        }
    }
    let tty = std::io::stdin().is_terminal();
    let username = match &args.username {
        Some(u) => u.clone(),
        None if args.password_stdin => bail!("--password-stdin needs --username (-u)"),
        None if tty => {
            eprint!("Username: ");
            let _ = std::io::stderr().flush();
            read_line_from_stdin()?
        }
        None => bail!("cannot prompt for a user name: stdin is not a terminal; use --username (-u)"),
    };
    if username.is_empty() {
        bail!("the user name must not be empty");
    }
    let password = match &args.password {
        Some(p) => p.clone(),
        None if args.password_stdin => read_line_from_stdin()?,
        None if tty => prompt_password("Password: ")?,
        None => bail!("cannot prompt for a password: stdin is not a terminal; use --password-stdin or --password (-p)"),
    };
    if password.is_empty() {
        bail!("the password must not be empty");
    }
    let creds = Credentials { username, password };
    let client = Client::connect(&host, insecure, Some(creds.clone()), args.cert_dir.as_deref())
        .with_context(|| format!("logging in to {host}"))?;
    if let Err(e) = client.check_login() {
        if e.status() == Some(401) {
            bail!("logging in to {host}: invalid username/password");
        }
        return Err(anyhow::Error::new(e).context(format!("logging in to {host}")));
    }
    let path = auth_write_path(args.authfile.as_deref())?;
    let mut file = AuthFile::load(&path, false)?;
    file.set(&key, &creds);
    file.save()?;
    tracing::debug!("stored credentials for {key} in {}", path.display());
    println!("Login Succeeded!");
    Ok(0)
}

pub fn logout(_ctx: &Context, args: LogoutArgs) -> Result<i32> {
    let path = auth_write_path(args.authfile.as_deref())?;
    let mut file = AuthFile::load(&path, false)?;
    if args.all {
        file.clear();
        if path.exists() {
            file.save()?;
        }
        println!("Removed login credentials for all registries");
        return Ok(0);
    }
    let key = login_target(args.registry.as_deref())?;
    if file.remove(&key) {
        file.save()?;
        println!("Removed login credentials for {key}");
        return Ok(0);
    }
    // Podman says where the credentials are when they come from a file it does not edit.
    let host = key.split('/').next().unwrap_or(&key);
    for (other, legacy) in auth::read_paths(args.authfile.as_deref()) {
        if other == path {
            continue;
        }
        if let Ok(f) = AuthFile::load(&other, legacy) {
            if f.get(host, None).is_some() {
                bail!("not logged into {key} in {}; credentials for it are in {}, which logout does not edit (use --authfile {})", path.display(), other.display(), other.display());
            }
        }
    }
    bail!("not logged into {key}")
}
