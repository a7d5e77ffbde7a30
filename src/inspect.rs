//! `inspect` of containers: Podman's JSON shape, built from the state record and the stored plan.
//! Only what Warren really does is shown: a resource limit that is not enforced is 0.

use serde_json::{json, Map, Value};

use crate::container;
use crate::context::Context;
use crate::plan::{ContainerPlan, NetworkMode};
use crate::state::ContainerRecord;

/// Podman's zero time.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

fn strings(v: &Value) -> Vec<String> {
    v.as_array().map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect()).unwrap_or_default()
}

/// The status word Podman uses in `.State.Status`.
pub fn status_word(rec: &ContainerRecord) -> &str {
    match rec.state.as_str() {
        "stopped" => "exited",
        s => s,
    }
}

/// The `inspect` JSON of one container (already refreshed).
pub fn container_json(ctx: &Context, rec: &ContainerRecord, size: bool) -> Value {
    let plan: ContainerPlan = crate::run::stored_plan(rec).unwrap_or_default();
    let c = &rec.config;
    let running = container::is_running(rec);
    let storage = container::storage_dir(ctx, &rec.id);
    let bundle = container::bundle_dir(ctx, &rec.id);
    let args = if plan.args.is_empty() { strings(&c["Cmd"]) } else { plan.args.clone() };
    let labels: Map<String, Value> = strings(&c["Labels"])
        .into_iter()
        .map(|l| match l.split_once('=') {
            Some((k, v)) => (k.to_string(), Value::from(v)),
            None => (l, Value::from("")),
        })
        .collect();
    let defaults: Vec<String> = crate::runtime::spec::DEFAULT_CAPABILITIES.iter().map(|s| s.to_string()).collect();
    let cap_add: Vec<&String> = plan.capabilities.iter().filter(|c| !defaults.contains(c)).collect();
    let cap_drop: Vec<&String> = defaults.iter().filter(|c| !plan.capabilities.contains(c)).collect();
    // Named and anonymous volumes are bind mounts of their _data directory in the plan; inspect shows
    // them as Podman does: Type volume, the volume's name, the local driver.
    let volumes: Vec<crate::volume::VolumeUse> = serde_json::from_value(c["Volumes"].clone()).unwrap_or_default();
    let volume_of = |m: &crate::plan::MountPlan| {
        volumes.iter().find(|v| v.destination == m.destination && m.kind == "bind").map(|v| v.name.clone())
    };
    let mounts: Vec<Value> = plan
        .mounts
        .iter()
        .map(|m| {
            let ro = m.options.iter().any(|o| o == "ro");
            let propagation = m
                .options
                .iter()
                .find(|o| o.contains("private") || o.contains("shared") || o.contains("slave"))
                .cloned();
            let options: Vec<&String> = m.options.iter().filter(|o| !matches!(o.as_str(), "ro" | "rw")).collect();
            match volume_of(m) {
                Some(name) => json!({
                    "Type": "volume",
                    "Name": name,
                    "Source": m.source,
                    "Destination": m.destination,
                    "Driver": "local",
                    "Mode": "",
                    "Options": options,
                    "RW": !ro,
                    "Propagation": propagation.unwrap_or_else(|| "rprivate".into()),
                }),
                None => json!({
                    "Type": m.kind,
                    "Source": m.source,
                    "Destination": m.destination,
                    "Driver": "",
                    "Mode": "",
                    "Options": options,
                    "RW": !ro,
                    "Propagation": propagation.unwrap_or_default(),
                }),
            }
        })
        .collect();
    let binds: Vec<String> = plan
        .mounts
        .iter()
        .filter(|m| m.kind == "bind")
        .map(|m| {
            let opts: Vec<&str> =
                m.options.iter().map(String::as_str).filter(|o| *o != "bind" && *o != "rbind").collect();
            let source = volume_of(m).unwrap_or_else(|| m.source.clone());
            if opts.is_empty() {
                format!("{source}:{}", m.destination)
            } else {
                format!("{source}:{}:{}", m.destination, opts.join(","))
            }
        })
        .collect();
    let tmpfs: Map<String, Value> = plan
        .mounts
        .iter()
        .filter(|m| m.kind == "tmpfs")
        .map(|m| (m.destination.clone(), Value::from(m.options.join(","))))
        .collect();
    let network_mode = plan.network.name();
    let (cpu_quota, cpu_period) = plan.cpu_quota.unwrap_or((0, 0));
    let runtime = ctx.global.runtime.clone().unwrap_or_else(|| "warren".into());
    // Config.Cmd is the command without the entrypoint (the image's CMD when none was given).
    let entrypoint = strings(&c["Entrypoint"]);
    let cmd_part: Vec<String> = if !entrypoint.is_empty() && args.starts_with(&entrypoint) {
        args[entrypoint.len()..].to_vec()
    } else {
        args.clone()
    };
    let image_digest = crate::storage::Store::open(ctx)
        .ok()
        .and_then(|s| s.find_image(&rec.image_id).ok().flatten())
        .map(|i| i.digest.to_string())
        .unwrap_or_default();
    let stop_signal = c["StopSignal"].as_str().unwrap_or("SIGTERM").to_string();
    let stop_signal = if stop_signal.starts_with("SIG") || stop_signal.parse::<i32>().is_ok() {
        stop_signal
    } else {
        format!("SIG{}", stop_signal.to_uppercase())
    };
    let state = json!({
        "OciVersion": "1.0.0",
        "Status": status_word(rec),
        "Running": running,
        "Paused": rec.state == "paused",
        "Restarting": false,
        "OOMKilled": false,
        "Dead": false,
        "Pid": if running { rec.pid } else { 0 },
        "ConmonPid": if running { rec.monitor_pid } else { 0 },
        "ExitCode": rec.exit_code.unwrap_or(0),
        "Error": "",
        "StartedAt": rec.started.clone().unwrap_or_else(|| ZERO_TIME.into()),
        "FinishedAt": rec.finished.clone().unwrap_or_else(|| ZERO_TIME.into()),
    });
    let networksettings = json!({
        "EndpointID": "",
        "Gateway": "",
        "IPAddress": "",
        "IPPrefixLen": 0,
        "IPv6Gateway": "",
        "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        "MacAddress": "",
        "Bridge": "",
        "SandboxID": "",
        "HairpinMode": false,
        "LinkLocalIPv6Address": "",
        "LinkLocalIPv6PrefixLen": 0,
        "Ports": {},
        "SandboxKey": if running && plan.network == NetworkMode::None { format!("/proc/{}/ns/net", rec.pid) } else { String::new() },
    });
    let config = json!({
        "Hostname": plan.hostname,
        "Domainname": "",
        "User": c["User"].as_str().unwrap_or(""),
        "AttachStdin": false,
        "AttachStdout": false,
        "AttachStderr": false,
        "Tty": plan.terminal,
        "OpenStdin": c["OpenStdin"].as_bool().unwrap_or(false),
        "StdinOnce": false,
        "Env": plan.env,
        "Cmd": cmd_part,
        "Image": rec.image_name,
        "Volumes": null,
        "WorkingDir": plan.cwd,
        "Entrypoint": c["Entrypoint"].clone(),
        "OnBuild": null,
        "Labels": labels,
        "Annotations": {},
        "StopSignal": stop_signal,
        "StopTimeout": c["StopTimeout"].as_u64().unwrap_or(10),
        "Umask": "0022",
        "Timezone": "",
    });
    let hostconfig = json!({
        "Binds": binds,
        "CgroupManager": "",
        "CgroupMode": "",
        "ContainerIDFile": "",
        "LogConfig": {
            "Type": c["LogDriver"].as_str().unwrap_or("k8s-file"),
            "Config": null,
            "Path": container::log_path(ctx, &rec.id),
            "Tag": "",
            "Size": "0B",
        },
        "NetworkMode": network_mode,
        "PortBindings": {},
        "RestartPolicy": {
            "Name": c["RestartPolicy"]["Name"].as_str().unwrap_or("no"),
            "MaximumRetryCount": c["RestartPolicy"]["MaximumRetryCount"].as_i64().unwrap_or(0),
        },
        "AutoRemove": container::auto_remove(rec),
        "VolumeDriver": "",
        "VolumesFrom": null,
        "CapAdd": cap_add,
        "CapDrop": cap_drop,
        "Dns": [],
        "DnsOptions": [],
        "DnsSearch": [],
        "ExtraHosts": [],
        "GroupAdd": plan.additional_gids.iter().map(|g| g.to_string()).collect::<Vec<_>>(),
        "IpcMode": "private",
        "Cgroup": "",
        "Cgroups": "default",
        "Links": null,
        "OomScoreAdj": 0,
        "PidMode": "private",
        "Privileged": plan.privileged,
        "PublishAllPorts": false,
        "ReadonlyRootfs": plan.readonly_rootfs,
        "SecurityOpt": [],
        "Tmpfs": tmpfs,
        "UTSMode": "private",
        "UsernsMode": if plan.uid_mappings.is_empty() { "" } else { "private" },
        "ShmSize": 65536000,
        "Runtime": "oci",
        "ConsoleSize": [0, 0],
        "Isolation": "",
        "CpuShares": 0,
        "Memory": plan.memory_limit.unwrap_or(0),
        "NanoCpus": 0,
        "CgroupParent": "",
        "BlkioWeight": 0,
        "CpuPeriod": cpu_period,
        "CpuQuota": cpu_quota,
        "CpuRealtimePeriod": 0,
        "CpuRealtimeRuntime": 0,
        "CpusetCpus": "",
        "CpusetMems": "",
        "Devices": [],
        "MemoryReservation": 0,
        "MemorySwap": 0,
        "MemorySwappiness": 0,
        "OomKillDisable": false,
        "PidsLimit": plan.pids_limit.unwrap_or(0),
        "Ulimits": plan.rlimits.iter().map(|(n, s, h)| json!({"Name": n, "Soft": s, "Hard": h})).collect::<Vec<_>>(),
        "CookieSecret": null,
        "Init": plan.init,
    });
    // The network's own fields (published ports, a pod member's are its pod's; DNS; the sandbox).
    let (mut networksettings, mut hostconfig) = (networksettings, hostconfig);
    let (net_settings, net_host) = crate::network::inspect_fields(rec, &plan);
    for (into, from) in [(&mut networksettings, net_settings), (&mut hostconfig, net_host)] {
        for (k, v) in from.as_object().cloned().unwrap_or_default() {
            if v.as_str() != Some("") {
                into[k.as_str()] = v;
            }
        }
    }
    let mut out = json!({
        "Id": rec.id,
        "Created": rec.created,
        "Path": args.first().cloned().unwrap_or_default(),
        "Args": args.iter().skip(1).collect::<Vec<_>>(),
        "State": state,
        "Image": rec.image_id.trim_start_matches("sha256:"),
        "ImageDigest": image_digest,
        "ImageName": rec.image_name,
        "Rootfs": "",
        "Pod": rec.pod_id,
        "ResolvConfPath": bundle.join("resolv.conf"),
        "HostnamePath": bundle.join("hostname"),
        "HostsPath": bundle.join("hosts"),
        "StaticDir": storage.join("userdata"),
        "OCIRuntime": runtime,
        "Name": rec.name,
        "RestartCount": rec.restart_count,
        "Driver": c["Driver"].as_str().unwrap_or(""),
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "",
        "EffectiveCaps": plan.capabilities,
        "BoundingCaps": plan.capabilities,
        "ExecIDs": [],
        "GraphDriver": {
            "Name": c["Driver"].as_str().unwrap_or(""),
            "Data": {
                "MergedDir": storage.join("merged"),
                "UpperDir": storage.join("upper"),
                "WorkDir": storage.join("work"),
            },
        },
        "Mounts": mounts,
        "Dependencies": [],
        "NetworkSettings": networksettings,
        "Namespace": "",
        "IsInfra": crate::pod::is_infra(rec),
        "IsService": false,
        "Config": config,
        "HostConfig": hostconfig,
    });
    if size {
        let (rw, rootfs) = crate::containerfs::sizes(ctx, rec);
        out["SizeRw"] = json!(rw);
        out["SizeRootFs"] = json!(rootfs);
    }
    out
}

/// Whether the container has label `want` (`KEY` or `KEY=VALUE`).
pub fn has_label(rec: &ContainerRecord, want: &str) -> bool {
    strings(&rec.config["Labels"]).iter().any(|l| l == want || l.split('=').next() == Some(want))
}
