//! Pods end to end, as `dev` (and root, hpc): an infra container (Warren's pause) holds the pod's
//! network, IPC and UTS namespaces; members reach each other on localhost (pasta and slirp4netns);
//! ports are published on the pod, not on members (Podman's errors); `pod rm -f` leaves no process,
//! mount, namespace file or launcher; `pod ps/inspect/top/exists/start/stop/restart/kill/prune` output.

use crate::common::*;
use crate::network::{free_port, get_until_up, procs, wait_gone, wait_port_free, HTTPD};

/// The client side of the localhost check: retry until the server listens.
const CLIENT: &str =
    "for i in $(seq 100); do nc 127.0.0.1 9000 </dev/null 2>/dev/null && exit 0; sleep 0.1; done; exit 1";

fn infra_of(w: &Warren, pod: &str) -> String {
    let id = w.run(&["pod", "inspect", "--format", "{{.InfraContainerID}}", pod]).ok().stdout.trim().to_string();
    assert_eq!(id.len(), 64, "infra id {id:?}");
    id
}

/// The run directory of `w`'s user (netns files live under it).
fn run_dir(w: &Warren) -> std::path::PathBuf {
    if w.user.is_root() {
        std::path::PathBuf::from("/run/warren")
    } else {
        std::path::PathBuf::from(format!("/run/user/{}/warren", w.user.uid))
    }
}

/// After `pod rm -f`: no container, no pod, no launcher, no process or mount in the storage root, no
/// namespace file.
fn assert_nothing_left(w: &Warren, infra: &str, launcher: Option<&str>) {
    w.run(&["ps", "-a", "-q"]).ok().stdout_is("");
    w.run(&["pod", "ps", "-q"]).ok().stdout_is("");
    if let Some(l) = launcher {
        wait_gone(l, infra);
    }
    assert!(
        wait_for(std::time::Duration::from_secs(10), || find_leaks(w.storage_root()).is_empty()),
        "left behind: {:?}",
        find_leaks(w.storage_root())
    );
    let monitors = procs("warren-monitor", infra);
    assert!(monitors.is_empty(), "the infra's monitor still runs: {monitors:?}");
    let ns = run_dir(w).join("netns").join(infra);
    assert!(!ns.exists(), "{} is left", ns.display());
}

/// Two containers of one pod: one listens on localhost:9000 (busybox nc), the other connects; both see
/// the same network, IPC and UTS namespaces and the pod's hostname. Then `pod rm -f` leaves nothing.
fn two_containers_share_localhost(w: &Warren, network: Option<&str>, launcher: Option<&str>) {
    let mut args = vec!["pod", "create", "--name", "duo"];
    if let Some(n) = network {
        args.extend(["--network", n]);
    }
    let pod_id = w.run(&args).ok().stdout.trim().to_string();
    assert_eq!(pod_id.len(), 64, "{pod_id}");
    let infra = infra_of(w, "duo");
    let bb = image("busybox");
    w.run(&["run", "-d", "--pod", "duo", "--name", "server", &bb, "sh", "-c", "echo from-server | nc -l -p 9000"]).ok();
    if let Some(l) = launcher {
        assert_eq!(procs(l, &infra).len(), 1, "one {l} for the pod's infra container");
    }
    w.run(&["run", "--rm", "--pod", "duo", &bb, "sh", "-c", CLIENT]).ok().stdout_is("from-server\n");
    let ns = "for n in ipc uts net; do readlink /proc/self/ns/$n; done; hostname";
    let a = w.run(&["run", "--rm", "--pod", "duo", &bb, "sh", "-c", ns]).ok().stdout.clone();
    let b = w.run(&["run", "--rm", "--pod", "duo", &bb, "sh", "-c", ns]).ok().stdout.clone();
    assert_eq!(a, b, "two members see different namespaces");
    assert!(a.ends_with("\nduo\n"), "the pod's hostname is its name: {a}");
    let alone = w.run(&["run", "--rm", &bb, "sh", "-c", ns]).ok().stdout.clone();
    assert_ne!(alone.lines().next(), a.lines().next(), "a container outside the pod shares its IPC namespace");
    w.run(&["pod", "rm", "-f", "-t", "0", "duo"]).ok().stdout_is(&format!("{pod_id}\n"));
    assert_nothing_left(w, &infra, launcher);
}

#[test]
fn pods_members_reach_each_other_on_localhost_pasta() {
    two_containers_share_localhost(&Warren::dev(), None, Some("pasta"));
}

#[test]
fn pods_members_reach_each_other_on_localhost_slirp4netns() {
    two_containers_share_localhost(&Warren::dev(), Some("slirp4netns"), Some("slirp4netns"));
}

#[test]
fn pods_members_reach_each_other_on_localhost_root() {
    two_containers_share_localhost(&Warren::root(), None, Some("pasta"));
}

#[test]
fn pods_members_reach_each_other_on_localhost_single_id_mapping() {
    two_containers_share_localhost(&Warren::hpc(), None, Some("pasta"));
}

#[test]
fn pods_members_reach_each_other_with_crun() {
    if find_in_path("crun").is_none() {
        return skip("crun is not installed");
    }
    let w = Warren::dev();
    let bb = image("busybox");
    w.run(&["--runtime", "crun", "pod", "create", "--name", "c"]).ok();
    w.run(&["--runtime", "crun", "run", "-d", "--pod", "c", &bb, "sh", "-c", "echo via-crun | nc -l -p 9000"]).ok();
    w.run(&["--runtime", "crun", "run", "--rm", "--pod", "c", &bb, "sh", "-c", CLIENT]).ok().stdout_is("via-crun\n");
    w.run(&["pod", "rm", "-f", "-t", "0", "c"]).ok();
    w.run(&["ps", "-a", "-q"]).ok().stdout_is("");
}

fn find_in_path(name: &str) -> Option<std::path::PathBuf> {
    ["/usr/local/bin", "/usr/bin", "/bin"].iter().map(|d| std::path::Path::new(d).join(name)).find(|p| p.exists())
}

/// Ports are published on the pod: a host client reaches a member's server; a member may not publish
/// or choose a network (Podman's errors); the infra container cannot be removed alone; `pod rm` without
/// -f refuses a running pod; `pod rm -f` frees the port and leaves no launcher.
fn publish_on_the_pod(w: &Warren, network: Option<&str>, launcher: &str) {
    let port = free_port();
    let publish = format!("{port}:80");
    let mut args = vec!["pod", "create", "--name", "web", "-p", &publish];
    if let Some(n) = network {
        args.extend(["--network", n]);
    }
    w.run(&args).ok();
    let infra = infra_of(w, "web");
    let bb = image("busybox");
    w.run(&["run", "-d", "--pod", "web", "--name", "httpd", &bb, "sh", "-c", HTTPD]).ok();
    assert_eq!(get_until_up(port), "hi\n");
    w.run(&["port", &infra]).ok().stdout_is(&format!("80/tcp -> 0.0.0.0:{port}\n"));
    // Members show the pod's ports, as in Podman.
    w.run(&["port", "httpd"]).ok().stdout_is(&format!("80/tcp -> 0.0.0.0:{port}\n"));
    w.run(&["ps", "--filter", "name=httpd", "--format", "{{.Ports}}"])
        .ok()
        .stdout_is(&format!("0.0.0.0:{port}->80/tcp\n"));
    let json = w.run(&["pod", "inspect", "web"]).ok().json();
    assert_eq!(json[0]["InfraConfig"]["PortBindings"]["80/tcp"][0]["HostPort"], port.to_string(), "{json}");

    w.run(&["run", "--rm", "--pod", "web", "-p", "8080:80", &bb, "true"])
        .code(125)
        .stderr_contains("published or exposed ports must be defined when the pod is created: network cannot be configured when it is shared with a pod");
    w.run(&["run", "--rm", "--pod", "web", "--network", "host", &bb, "true"])
        .code(125)
        .stderr_contains("networks must be defined when the pod is created");
    w.run(&["run", "--rm", "--pod", "web", "--hostname", "x", &bb, "true"])
        .code(125)
        .stderr_contains("cannot set hostname when joining the pod UTS namespace");
    w.run(&["rm", "-f", "-t", "0", &infra]).code(125).stderr_contains("is the infra container of pod");
    w.run(&["pod", "rm", "web"]).code(125).stderr_contains("cannot be removed without force");
    assert_eq!(get_until_up(port), "hi\n", "a refused pod rm changed nothing");

    // Stopping the pod frees the port and stops the launcher; starting it again serves again.
    w.run(&["pod", "stop", "web"]).ok();
    wait_gone(launcher, &infra);
    wait_port_free(port);
    w.run(&["pod", "start", "web"]).ok();
    assert_eq!(procs(launcher, &infra).len(), 1, "one {launcher} for the pod's infra container");
    assert_eq!(get_until_up(port), "hi\n");

    w.run(&["pod", "rm", "-f", "-t", "0", "web"]).ok();
    wait_port_free(port);
    assert_nothing_left(w, &infra, Some(launcher));
}

#[test]
fn pods_publish_ports_on_the_pod_pasta() {
    publish_on_the_pod(&Warren::dev(), None, "pasta");
}

#[test]
fn pods_publish_ports_on_the_pod_root() {
    publish_on_the_pod(&Warren::root(), None, "pasta");
}

#[test]
fn pods_publish_ports_on_the_pod_slirp4netns() {
    publish_on_the_pod(&Warren::dev(), Some("slirp4netns"), "slirp4netns");
}

/// `pod create/exists/ps/inspect/start/top/stop/restart/kill/rm` and their output shapes.
#[test]
fn pods_lifecycle_and_output() {
    let w = Warren::dev();
    let bb = image("busybox");
    let id =
        w.run(&["pod", "create", "--label", "tier=db", "--hostname", "dbhost", "lc"]).ok().stdout.trim().to_string();
    w.run(&["pod", "exists", "lc"]).ok();
    w.run(&["pod", "exists", "nope"]).code(1);
    w.run(&["pod", "create", "--name", "lc"]).code(125).stderr_contains("pod already exists");

    let out = w.run(&["pod", "ps"]);
    let lines = out.ok().lines();
    let cols: Vec<&str> = lines[0].split("  ").map(str::trim).filter(|s| !s.is_empty()).collect();
    assert_eq!(cols, ["POD ID", "NAME", "STATUS", "CREATED", "INFRA ID", "# OF CONTAINERS"], "{}", out.stdout);
    let row: Vec<&str> = lines[1].split("  ").map(str::trim).filter(|s| !s.is_empty()).collect();
    assert_eq!(row[0], &id[..12]);
    assert_eq!(&row[1..3], ["lc", "Created"]);
    assert!(row[3].ends_with("ago"), "{row:?}");
    assert_eq!(row[5], "1");
    w.run(&["pod", "ps", "-q"]).ok().stdout_is(&format!("{}\n", &id[..12]));
    w.run(&["pod", "ps", "-q", "--no-trunc"]).ok().stdout_is(&format!("{id}\n"));
    w.run(&["pod", "ps", "--format", "{{.Name}} {{.Status}} {{.NumberOfContainers}}"]).ok().stdout_is("lc Created 1\n");
    w.run(&["pod", "ps", "-q", "--filter", "label=tier=db"]).ok().stdout_is(&format!("{}\n", &id[..12]));
    w.run(&["pod", "ps", "-q", "--filter", "name=zzz"]).ok().stdout_is("");
    let infra = infra_of(&w, "lc");
    let json = w.run(&["pod", "ps", "--format", "json"]).ok().json();
    assert_eq!(json[0]["Name"], "lc", "{json}");
    assert_eq!(json[0]["Labels"]["tier"], "db", "{json}");
    assert_eq!(json[0]["InfraId"], infra.as_str(), "{json}");
    let json = w.run(&["pod", "inspect", "lc"]).ok().json();
    assert_eq!(json[0]["Hostname"], "dbhost", "{json}");
    assert_eq!(json[0]["SharedNamespaces"], serde_json::json!(["ipc", "net", "uts"]), "{json}");
    assert_eq!(json[0]["NumContainers"], 1, "{json}");
    w.run(&["pod", "inspect", "nope"]).code(125).stderr_contains("no such pod");

    w.run(&["create", "--pod", "lc", "--name", "sleeper", &bb, "sleep", "600"]).ok();
    w.run(&["pod", "start", "lc"]).ok().stdout_is(&format!("{id}\n"));
    w.run(&["pod", "ps", "--format", "{{.Status}} {{.NumberOfContainers}}"]).ok().stdout_is("Running 2\n");
    w.run(&["ps", "--filter", "pod=lc", "--format", "{{.Names}}"])
        .ok()
        .stdout_is(&format!("sleeper\n{}-infra\n", &id[..12]));
    let json = w.run(&["ps", "--format", "json", "--filter", "name=sleeper"]).ok().json();
    assert_eq!(json[0]["Pod"], id.as_str(), "{json}");
    assert_eq!(json[0]["PodName"], "lc", "{json}");
    let out = w.run(&["ps", "--pod", "--filter", "name=sleeper"]);
    let lines = out.ok().lines();
    assert!(lines[0].ends_with("NAMES       POD ID        PODNAME"), "{}", out.stdout);
    assert!(lines[1].ends_with(&format!("sleeper     {}  lc", &id[..12])), "{}", out.stdout);
    w.run(&["exec", "sleeper", "hostname"]).ok().stdout_is("dbhost\n");
    // A member in a nested user namespace (keep-id) joins the pod's namespaces too.
    let uid = w.user.uid.to_string();
    w.run(&["run", "--rm", "--pod", "lc", "--userns", "keep-id", &bb, "sh", "-c", "id -u; hostname"])
        .ok()
        .stdout_is(&format!("{uid}\ndbhost\n"));
    w.run(&["pod", "top", "lc"]).ok().stdout_contains("/pause -P").stdout_contains("sleep 600");

    w.run(&["pod", "stop", "-t", "0", "lc"]).ok().stdout_is(&format!("{id}\n"));
    w.run(&["pod", "ps", "--format", "{{.Status}}"]).ok().stdout_is("Exited\n");
    w.run(&["pod", "restart", "lc"]).ok().stdout_is(&format!("{id}\n"));
    w.run(&["pod", "ps", "--format", "{{.Status}}"]).ok().stdout_is("Running\n");
    w.run(&["exec", "sleeper", "hostname"]).ok().stdout_is("dbhost\n");
    w.run(&["pod", "kill", "lc"]).ok().stdout_is(&format!("{id}\n"));
    assert!(
        wait_for(std::time::Duration::from_secs(10), || {
            w.run(&["pod", "ps", "--format", "{{.Status}}"]).stdout == "Exited\n"
        }),
        "the pod is not exited after pod kill"
    );
    w.run(&["pod", "kill", "lc"]).code(125).stderr_contains("pod state improper");
    // A pod with nothing running is removed without -f, its containers too.
    w.run(&["pod", "rm", "lc"]).ok().stdout_is(&format!("{id}\n"));
    w.run(&["ps", "-a", "-q"]).ok().stdout_is("");
    w.run(&["pod", "rm", "lc"]).code(1).stderr_contains("no such pod");
    w.run(&["pod", "rm", "--ignore", "lc"]).ok();

    let out = w.run(&["events", "--stream=false", "--filter", "type=pod", "--format", "{{.Status}} {{.Name}}"]);
    let got = out.ok().stdout.clone();
    for want in ["create lc", "start lc", "stop lc", "kill lc", "remove lc"] {
        assert!(got.lines().any(|l| l == want), "no pod event {want:?} in:\n{got}");
    }
}

/// `pod prune` removes the pods with nothing running; `--pod new:NAME` creates the pod with the
/// container's ports; `--infra=false` makes a pod without shared namespaces.
#[test]
fn pods_prune_new_and_without_infra() {
    let w = Warren::dev();
    let bb = image("busybox");
    let idle = w.run(&["pod", "create", "idle"]).ok().stdout.trim().to_string();
    let port = free_port();
    let publish = format!("{port}:80");
    w.run(&["run", "-d", "--pod", "new:fresh", "-p", &publish, "--name", "httpd", &bb, "sh", "-c", HTTPD]).ok();
    w.run(&["pod", "exists", "fresh"]).ok();
    assert_eq!(get_until_up(port), "hi\n");
    w.run(&["pod", "prune", "-f"]).ok().stdout_is(&format!("{idle}\n"));
    w.run(&["pod", "ps", "--format", "{{.Name}}"]).ok().stdout_is("fresh\n");
    // A container that fails to be created removes the pod new: made for it.
    w.run(&["run", "--pod", "new:broken", "--name", "httpd", &bb, "true"]).code(125).stderr_contains("already in use");
    w.run(&["pod", "exists", "broken"]).code(1);

    w.run(&["pod", "create", "--infra=false", "-p", "80", "bare"])
        .code(125)
        .stderr_contains("you must have an infra container to publish port bindings to the host");
    w.run(&["pod", "create", "--infra=false", "bare"]).ok();
    w.run(&["pod", "ps", "--filter", "name=bare", "--format", "{{.InfraID}}|{{.NumberOfContainers}}"])
        .ok()
        .stdout_is("|0\n");
    // Without infra a member has its own network, so it may publish.
    w.run(&["run", "--rm", "--pod", "bare", "-p", "80", &bb, "true"]).ok();
    w.run(&["pod", "create", "--share", "pid", "p"]).code(125).stderr_contains("PID namespace");
    w.run(&["pod", "rm", "-f", "-t", "0", "-a"]).ok();
    w.run(&["ps", "-a", "-q"]).ok().stdout_is("");
    wait_port_free(port);
}

/// The pod's `--add-host`, `--dns`, `--dns-search` and `--hostname` are its members' /etc files.
#[test]
fn pods_etc_files_come_from_the_pod() {
    let w = Warren::dev();
    w.run(&[
        "pod",
        "create",
        "--name",
        "etc",
        "--hostname",
        "podhost",
        "--add-host",
        "db.example:10.1.2.3",
        "--dns",
        "9.9.9.9",
        "--dns-search",
        "corp.example",
    ])
    .ok();
    let out = w.run(&[
        "run",
        "--rm",
        "--pod",
        "etc",
        "--name",
        "member",
        &image("busybox"),
        "sh",
        "-c",
        "cat /etc/hosts; echo ---; cat /etc/resolv.conf; echo ---; cat /etc/hostname; hostname",
    ]);
    let parts: Vec<&str> = out.ok().stdout.split("---\n").collect();
    assert_eq!(parts.len(), 3, "{}", out.stdout);
    assert!(parts[0].starts_with("10.1.2.3\tdb.example\n"), "{}", parts[0]);
    assert!(parts[0].lines().any(|l| l.ends_with("\tpodhost member")), "{}", parts[0]);
    assert_eq!(parts[1], "search corp.example\nnameserver 9.9.9.9\n");
    assert_eq!(parts[2], "podhost\npodhost\n");
    w.run(&["run", "--rm", "--pod", "etc", "--dns", "1.1.1.1", &image("busybox"), "true"])
        .code(125)
        .stderr_contains("must be defined when the pod is created");
    w.run(&["pod", "rm", "-f", "-t", "0", "etc"]).ok();
}

/// Members started at the same time start their pod's infra container once: one pause, one pasta.
#[test]
fn pods_concurrent_members_start_one_infra() {
    let w = Warren::dev();
    let bb = image("busybox");
    w.pull(&bb);
    w.run(&["pod", "create", "--name", "race"]).ok();
    let infra = infra_of(&w, "race");
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..3)
            .map(|i| {
                let (w, bb) = (&w, &bb);
                s.spawn(move || {
                    let name = format!("m{i}");
                    w.run(&["run", "-d", "--pod", "race", "--name", &name, bb, "sleep", "600"]).ok();
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    });
    assert_eq!(procs("pasta", &infra).len(), 1, "one pasta for the pod");
    w.run(&["pod", "ps", "--format", "{{.Status}} {{.NumberOfContainers}}"]).ok().stdout_is("Running 4\n");
    let ns = |c: &str| w.run(&["exec", c, "readlink", "/proc/self/ns/net"]).ok().stdout.clone();
    assert_eq!(ns("m0"), ns("m1"));
    assert_eq!(ns("m1"), ns("m2"));
    w.run(&["pod", "rm", "-f", "-t", "0", "race"]).ok();
    assert_nothing_left(&w, &infra, Some("pasta"));
}
