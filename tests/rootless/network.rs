//! User-mode networking end to end, as `dev` (and root): pasta (the default), slirp4netns (forced, and
//! as the fallback when pasta is not in PATH), none, host, container:NAME; published ports served to a
//! host client, `port`/`ps` output, a taken port refused before anything starts, /etc/hosts and
//! /etc/resolv.conf, and the host's loopback reachable only when asked for.

use crate::common::*;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub(crate) const HTTPD: &str = "mkdir -p /www && echo hi > /www/index.html && exec httpd -f -p 80 -h /www";

/// A port that is free now (tests run in parallel: never a fixed number).
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("0.0.0.0:0").unwrap().local_addr().unwrap().port()
}

/// GET / on 127.0.0.1:PORT until it answers (the server starts just after `run -d` returns).
pub(crate) fn get_until_up(port: u16) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match http_get(&format!("127.0.0.1:{port}"), "/") {
            Ok((200, body)) => return String::from_utf8_lossy(&body).into_owned(),
            r => {
                if Instant::now() > deadline {
                    panic!("127.0.0.1:{port} did not serve / within 20 s: {r:?}");
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

/// Processes named `comm` whose command line mentions `needle` (a container ID). pasta is passt under
/// another name, and re-execs its AVX2 build: its comm is `passt.avx2`.
pub(crate) fn procs(comm: &str, needle: &str) -> Vec<i32> {
    let mut v = vec![];
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else { continue };
        let c = std::fs::read_to_string(e.path().join("comm")).unwrap_or_default();
        let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        let base = c.trim().split('.').next().unwrap_or("");
        let same = base == comm || (comm == "pasta" && base == "passt");
        if same && String::from_utf8_lossy(&cmd).contains(needle) {
            v.push(pid);
        }
    }
    v
}

pub(crate) fn wait_gone(comm: &str, id: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !procs(comm, id).is_empty() {
        assert!(Instant::now() < deadline, "{comm} for container {id} still runs: {:?}", procs(comm, id));
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub(crate) fn wait_port_free(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpListener::bind(("0.0.0.0", port)).is_err() {
        assert!(Instant::now() < deadline, "port {port} is still held after stop");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `run -d -p PORT:80` an httpd, fetch from the host, check `port` and `ps`, stop, check cleanup.
fn publish_and_stop(w: &Warren, network: Option<&str>, launcher: &str) {
    let port = free_port();
    let publish = format!("{port}:80");
    let mut args = vec!["run", "-d", "-p", &publish];
    if let Some(n) = network {
        args.extend(["--network", n]);
    }
    let img = image("busybox");
    args.extend([img.as_str(), "sh", "-c", HTTPD]);
    let out = w.run(&args);
    out.ok();
    let id = out.stdout.trim().to_string();
    assert_eq!(procs(launcher, &id).len(), 1, "one {launcher} for the container");
    assert_eq!(get_until_up(port), "hi\n");
    // What the issue names: curl on the host fetches the file.
    host(&["curl", "-sSf", &format!("http://127.0.0.1:{port}/index.html")]).ok().stdout_is("hi\n");
    w.run(&["port", &id]).ok().stdout_is(&format!("80/tcp -> 0.0.0.0:{port}\n"));
    w.run(&["port", &id, "80/tcp"]).ok().stdout_is(&format!("0.0.0.0:{port}\n"));
    w.run(&["port", &id, "81"]).code(125).stderr_contains("failed to find published port");
    w.run(&["ps"]).ok().stdout_contains(&format!("0.0.0.0:{port}->80/tcp"));
    let json = w.run(&["ps", "--format", "json"]).ok().json();
    assert_eq!(json[0]["Ports"][0]["host_port"], port, "{json}");
    w.run(&["stop", "-t", "0", &id]).ok();
    wait_gone(launcher, &id);
    wait_port_free(port);
    w.run(&["rm", &id]).ok();
}

#[test]
fn network_pasta_publishes_a_port_and_stop_frees_it() {
    publish_and_stop(&Warren::dev(), None, "pasta");
}

#[test]
fn network_slirp4netns_publishes_a_port_and_stop_frees_it() {
    publish_and_stop(&Warren::dev(), Some("slirp4netns"), "slirp4netns");
}

#[test]
fn network_root_publishes_a_port_with_pasta() {
    publish_and_stop(&Warren::root(), None, "pasta");
}

#[test]
fn network_random_host_port_and_publish_all() {
    let w = Warren::dev();
    let out = w.run(&["run", "-d", "-p", "80", &image("busybox"), "sh", "-c", HTTPD]);
    out.ok();
    let id = out.stdout.trim().to_string();
    let line = w.run(&["port", &id, "80"]).ok().stdout.trim().to_string();
    let port: u16 = line.strip_prefix("0.0.0.0:").and_then(|p| p.parse().ok()).unwrap_or_else(|| panic!("{line}"));
    assert_eq!(get_until_up(port), "hi\n");
    w.run(&["rm", "-f", "-t", "0", &id]).ok();

    let out = w.run(&["run", "-d", "-P", "--expose", "80", &image("busybox"), "sh", "-c", HTTPD]);
    out.ok();
    let id = out.stdout.trim().to_string();
    let line = w.run(&["port", &id]).ok().stdout.trim().to_string();
    let port: u16 =
        line.strip_prefix("80/tcp -> 0.0.0.0:").and_then(|p| p.parse().ok()).unwrap_or_else(|| panic!("{line}"));
    assert_eq!(get_until_up(port), "hi\n");
    w.run(&["rm", "-f", "-t", "0", &id]).ok();
}

fn port_in_use_fails_before_the_container_starts(network: Option<&str>) {
    let w = Warren::dev();
    let held = TcpListener::bind("0.0.0.0:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let publish = format!("{port}:80");
    let mut args = vec!["run", "-d", "--name", "busy", "-p", &publish];
    if let Some(n) = network {
        args.extend(["--network", n]);
    }
    let img = image("busybox");
    args.extend([img.as_str(), "sleep", "60"]);
    w.run(&args).code(125).stderr_contains(&format!("0.0.0.0:{port} is already in use"));
    w.run(&["ps", "-a", "-q"]).ok().stdout_is("");
    // The name was not taken either.
    w.run(&["run", "--rm", "--name", "busy", &image("busybox"), "true"]).ok();
    // The same for a pod: its ports are checked when it is created.
    w.run(&["pod", "create", "--name", "busypod", "-p", &publish])
        .code(125)
        .stderr_contains(&format!("0.0.0.0:{port} is already in use"));
    w.run(&["pod", "ps", "-q"]).ok().stdout_is("");
    drop(held);
}

#[test]
fn network_port_in_use_fails_before_the_container_starts() {
    port_in_use_fails_before_the_container_starts(None);
}

#[test]
fn network_port_in_use_fails_before_the_container_starts_slirp4netns() {
    port_in_use_fails_before_the_container_starts(Some("slirp4netns"));
}

/// A directory of symlinks to everything in /usr/bin except the names in `without`, for a PATH that
/// lacks them (Debian's /bin is /usr/bin, so the PATH must not contain either).
fn path_without(without: &[&str]) -> (tempfile::TempDir, String) {
    let d = tempfile::Builder::new().prefix("warren-path-").tempdir_in("/tmp").unwrap();
    std::fs::set_permissions(d.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    for e in std::fs::read_dir("/usr/bin").unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !without.contains(&name.as_str()) {
            std::os::unix::fs::symlink(e.path(), d.path().join(&name)).unwrap();
        }
    }
    let path = format!("/usr/local/bin:{}", d.path().display());
    (d, path)
}

#[test]
fn network_falls_back_to_slirp4netns_without_pasta() {
    let (_d, path) = path_without(&["pasta", "passt", "pasta.avx2", "passt.avx2"]);
    let w = Warren::dev().with_env("PATH", &path);
    let out = w.run(&["--log-level", "debug", "run", "--rm", &image("busybox"), "cat", "/etc/resolv.conf"]);
    out.ok().stderr_contains("pasta not found in PATH; using slirp4netns");
    assert!(out.stdout.starts_with("nameserver 10.0.2.3\n"), "{}", out.stdout);

    let (_d2, path) = path_without(&["pasta", "passt", "pasta.avx2", "passt.avx2", "slirp4netns"]);
    let w2 = Warren::dev().with_env("PATH", &path);
    w2.run(&["run", "--rm", &image("busybox"), "true"])
        .code(125)
        .stderr_contains("neither pasta nor slirp4netns")
        .stderr_contains("--network none");
    w2.run(&["run", "--rm", "--network", "none", &image("busybox"), "true"]).ok();
    w2.run(&["ps", "-a", "-q"]).ok().stdout_is("");
}

fn interfaces(proc_net_dev: &str) -> Vec<String> {
    let mut v: Vec<String> =
        proc_net_dev.lines().skip(2).filter_map(|l| l.split(':').next()).map(|s| s.trim().to_string()).collect();
    v.sort();
    v
}

#[test]
fn network_none_has_only_lo_and_host_has_the_hosts_interfaces() {
    let w = Warren::dev();
    let out = w.run(&["run", "--rm", "--network", "none", &image("busybox"), "cat", "/proc/net/dev"]);
    assert_eq!(interfaces(&out.ok().stdout), vec!["lo"]);
    // lo is up: a server on 127.0.0.1 inside answers.
    w.run(&[
        "run",
        "--rm",
        "--network",
        "none",
        &image("busybox"),
        "sh",
        "-c",
        "mkdir /www && echo up > /www/i && (httpd -p 127.0.0.1:80 -h /www &) && sleep 0.5 && wget -qO- http://127.0.0.1/i",
    ])
    .ok()
    .stdout_is("up\n");
    let out = w.run(&["run", "--rm", "--network", "host", &image("busybox"), "cat", "/proc/net/dev"]);
    let host = interfaces(&std::fs::read_to_string("/proc/net/dev").unwrap());
    assert_eq!(interfaces(&out.ok().stdout), host);
}

#[test]
fn network_etc_files_follow_the_options() {
    let w = Warren::dev();
    for network in ["pasta", "slirp4netns"] {
        etc_files_follow_the_options(&w, network);
    }
    etc_files_defaults(&w);
}

/// `--add-host`, `--dns`, `--dns-search`, `--dns-option`, `--hostname` give the same files with either
/// launcher.
fn etc_files_follow_the_options(w: &Warren, network: &str) {
    let out = w.run(&[
        "run",
        "--rm",
        "--network",
        network,
        "--name",
        "etcfiles",
        "--hostname",
        "myhost",
        "--add-host",
        "db.example:10.1.2.3",
        "--dns",
        "9.9.9.9",
        "--dns-search",
        "corp.example",
        "--dns-option",
        "ndots:3",
        &image("busybox"),
        "sh",
        "-c",
        "cat /etc/hosts; echo ---; cat /etc/resolv.conf; echo ---; cat /etc/hostname; hostname",
    ]);
    let parts: Vec<&str> = out.ok().stdout.split("---\n").collect();
    assert_eq!(parts.len(), 3, "{}", out.stdout);
    let hosts = parts[0];
    assert!(hosts.starts_with("10.1.2.3\tdb.example\n"), "{hosts}");
    assert!(hosts.contains("127.0.0.1\tlocalhost"), "{hosts}");
    assert!(hosts.lines().any(|l| l.ends_with("\tmyhost etcfiles")), "{hosts}");
    assert!(!hosts.contains("host.containers.internal"), "the host is not reachable by default: {hosts}");
    assert_eq!(parts[1], "search corp.example\nnameserver 9.9.9.9\noptions ndots:3\n");
    assert_eq!(parts[2], "myhost\nmyhost\n");
}

fn etc_files_defaults(w: &Warren) {
    // pasta: its DNS forwarder first; slirp4netns: 10.0.2.3 first and the container's address.
    let out = w.run(&["run", "--rm", &image("busybox"), "head", "-n1", "/etc/resolv.conf"]);
    out.ok().stdout_is("nameserver 169.254.0.1\n");
    let out = w.run(&[
        "run",
        "--rm",
        "--network",
        "slirp4netns",
        "--hostname",
        "s4",
        &image("busybox"),
        "sh",
        "-c",
        "head -n1 /etc/resolv.conf; grep s4 /etc/hosts",
    ]);
    out.ok().stdout_contains("nameserver 10.0.2.3\n10.0.2.100\ts4 ");
    // --no-hosts leaves the image's /etc/hosts alone.
    w.run(&[
        "run",
        "--rm",
        "--no-hosts",
        "--hostname",
        "nh",
        &image("busybox"),
        "sh",
        "-c",
        "cat /etc/hosts 2>&1; true",
    ])
    .ok()
    .stdout_lacks("nh");
}

/// A TCP server on the host's 127.0.0.1 that greets every client, until dropped.
struct HostServer {
    port: u16,
    stop: Arc<AtomicBool>,
}

impl HostServer {
    fn start() -> HostServer {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.set_nonblocking(true).unwrap();
        let port = l.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(300);
            while !s.load(Ordering::SeqCst) && Instant::now() < deadline {
                match l.accept() {
                    Ok((mut c, _)) => {
                        let _ = c.write_all(b"hello from host\n");
                        let _ = c.shutdown(std::net::Shutdown::Both);
                        let mut sink = [0u8; 16];
                        let _ = c.read(&mut sink);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        HostServer { port, stop }
    }
}

impl Drop for HostServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn connect_script(host: &str, port: u16) -> String {
    format!("grep host.containers.internal /etc/hosts; timeout 3 nc {host} {port} </dev/null; true")
}

#[test]
fn network_host_loopback_only_when_asked_slirp4netns() {
    let w = Warren::dev();
    let srv = HostServer::start();
    let img = image("busybox");
    let out = w.run(&[
        "run",
        "--rm",
        "--network",
        "slirp4netns:allow_host_loopback=true",
        &img,
        "sh",
        "-c",
        &connect_script("host.containers.internal", srv.port),
    ]);
    out.ok().stdout_contains("10.0.2.2\thost.containers.internal").stdout_contains("hello from host");
    let out =
        w.run(&["run", "--rm", "--network", "slirp4netns", &img, "sh", "-c", &connect_script("10.0.2.2", srv.port)]);
    out.ok().stdout_lacks("host.containers.internal").stdout_lacks("hello from host");
}

#[test]
fn network_host_loopback_only_when_asked_pasta() {
    let w = Warren::dev();
    let srv = HostServer::start();
    let img = image("busybox");
    let out = w.run(&[
        "run",
        "--rm",
        "--network",
        "pasta:--map-gw",
        &img,
        "sh",
        "-c",
        &connect_script("host.containers.internal", srv.port),
    ]);
    out.ok().stdout_contains("\thost.containers.internal").stdout_contains("hello from host");
    // By default the container's 127.0.0.1 is its own and the host has no name inside.
    let out = w.run(&["run", "--rm", &img, "sh", "-c", &connect_script("127.0.0.1", srv.port)]);
    out.ok().stdout_lacks("host.containers.internal").stdout_lacks("hello from host");
}

#[test]
fn network_keep_id_and_container_network() {
    let w = Warren::dev();
    let img = image("busybox");
    // A nested user namespace joins the engine-made network namespace.
    w.run(&["run", "--rm", "--userns", "keep-id", &img, "sh", "-c", "id -u; cat /proc/net/dev"])
        .ok()
        .stdout_contains("lo:");
    let out = w.run(&["run", "-d", "--name", "netowner", &img, "sh", "-c", HTTPD]);
    out.ok();
    let out = w.run(&[
        "run",
        "--rm",
        "--network",
        "container:netowner",
        &img,
        "sh",
        "-c",
        "for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- http://127.0.0.1/ && exit 0; sleep 0.5; done; exit 1",
    ]);
    out.ok().stdout_is("hi\n");
    w.run(&["rm", "-f", "-t", "0", "netowner"]).ok();
}
