#!/usr/bin/env python3
"""Turn the results of scripts/bench.sh into a Markdown section and put it on top of docs/performance.md.

Times: each command's runs from all the interleaved hyperfine rounds are pooled; the table shows the
median and, in brackets, the interquartile range (p25–p75). Memory: the median of the samples.
"""
import argparse
import glob
import json
import os
import re
import statistics
import subprocess

HEADER = """# Performance

Warren next to Podman on the same machine, produced by `scripts/bench.sh` (newest first; earlier
tables stay below). How to read: times are medians over all runs, with the interquartile range in
brackets; Warren and Podman ran in the same hyperfine invocations, in interleaved rounds, so that load
from elsewhere on the machine hits both alike. Ratio = Warren / Podman (lower is better for Warren).
"""

MARK = "<!-- bench.sh tables below; newest first -->"


def pooled(results, user, name):
    """{command label: [seconds...]} over the rounds of one hyperfine benchmark."""
    out = {}
    for f in sorted(glob.glob(os.path.join(results, user, f"{name}.*.json"))):
        for r in json.load(open(f))["results"]:
            out.setdefault(r["command"], []).extend(r["times"])
    return out


def quartiles(xs):
    xs = sorted(xs)
    if len(xs) < 4:
        return xs[0], statistics.median(xs), xs[-1]
    q = statistics.quantiles(xs, n=4)
    return q[0], q[1], q[2]


def fmt_time(xs):
    if not xs:
        return "—"
    lo, med, hi = quartiles(xs)
    if med >= 1:
        return f"{med:.2f} s ({lo:.2f}–{hi:.2f})"
    return f"{med * 1000:.1f} ms ({lo * 1000:.1f}–{hi * 1000:.1f})"


def ratio(a, b):
    if not a or not b:
        return "—"
    return f"{statistics.median(a) / statistics.median(b):.2f}"


def facts(results, user):
    d = {}
    try:
        for line in open(os.path.join(results, user, "facts")):
            k, _, v = line.rstrip("\n").partition("=")
            d.setdefault(k, []).append(v)
    except FileNotFoundError:
        pass
    return d


def mem_median(vals, col=0):
    nums = []
    for v in vals or []:
        parts = v.split()
        if len(parts) > col and parts[col].isdigit():
            nums.append(int(parts[col]))
    return statistics.median(nums) / 1024 if nums else None


def fmt_mib(x):
    return "—" if x is None else f"{x:.1f} MiB"


def mem_ratio(a, b):
    return "—" if a is None or b is None else f"{a / b:.2f}"


def machine():
    cores = os.cpu_count()
    kernel = os.uname().release
    model = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1048576:.0f} GiB"
    except OSError:
        pass
    fs = subprocess.run(["findmnt", "-no", "FSTYPE", "--target", "/tmp"], capture_output=True, text=True).stdout.strip()
    return f"{cores} cores ({model}), {mem} RAM, kernel {kernel}, /tmp on {fs}"


def targets(a, users):
    """The issue's targets (ratios in one run), each checked against this run's medians."""
    rows = []
    for u in users:
        mode = "rootless" if u != "root" else "root"
        r = pooled(a.results, u, "run-none")
        w, p, c = r.get("warren", []), r.get("podman", []), r.get("crun", [])
        f = facts(a.results, u)
        pull = pooled(a.results, u, "pull")
        checks = [
            (f"`run --rm true` ≤ 0.2 × Podman ({mode})", w, p, 0.2),
            (f"`run --rm true` ≤ 2 × `crun run` ({mode})", w, c, 2.0),
            (f"cold pull ≤ 0.5 × Podman ({mode})", pull.get("warren", []), pull.get("podman", []), 0.5),
        ]
        for label, x, y, limit in checks:
            if x and y:
                q = statistics.median(x) / statistics.median(y)
                rows.append((label, q, limit))
        for key, what in [("run_rss", "`run --rm`"), ("pull_rss", "cold pull")]:
            wv, pv = mem_median(f.get("warren_" + key)), mem_median(f.get("podman_" + key))
            if wv is not None and pv:
                rows.append((f"peak memory of {what} ≤ 0.3 × Podman ({mode})", wv / pv, 0.3))
    if not rows:
        return []
    out = ["", "Targets (issue 6), from the medians above:", "",
           "| target | measured ratio | met |", "| --- | --- | --- |"]
    for label, q, limit in rows:
        out.append(f"| {label} | {q:.2f} | {'yes' if q <= limit else '**no**'} |")
    return out


def section(a):
    users = a.users.split()
    lines = [f"## {a.date}", ""]
    lines.append(f"- Machine: {machine()}; load average before → after: {a.load}.")
    lines.append(f"- Warren: {a.warren_version}, release build; Podman: {a.podman_version.replace('podman version ', '')} "
                 "(crun, conmon, /etc/containers/containers.conf as in shared/lab/containers.conf.peer).")
    lines.append(f"- Image: `{a.image}`" + (f"; cold pull: `{a.big}`." if a.big else
                 "; no cold pull: the shared images (lab/debian) are not on this machine."))
    lines.append(f"- Reproduce: `{a.command}` (as root; rootless runs as user `dev`).")
    for u in users:
        f = facts(a.results, u)
        mode = "rootless (dev)" if u != "root" else "root"
        lines.append(f"- {mode}: storage driver Warren {f.get('warren_driver', ['?'])[0]}, Podman "
                     f"{f.get('podman_driver', ['?'])[0]}; default network: Warren "
                     f"{f.get('warren_default_net', ['?'])[0]}, Podman {f.get('podman_default_net', ['?'])[0]}"
                     " (interface in the container besides lo; `none` = loopback only).")
    lines.append("")
    lines.append("| benchmark | mode | Warren | Podman | Warren / Podman |")
    lines.append("| --- | --- | --- | --- | --- |")
    rows = [
        ("run-none", "`run --rm --network none IMG true`"),
        ("run-default", "`run --rm IMG true` (default network)"),
        ("create-start-rm", "`create` + `start -a` + `rm`"),
        ("ps", "`ps -a`, 100 exited containers"),
        ("pull", "cold pull of lab/debian:bookworm"),
    ]
    floors = []
    for name, label in rows:
        for u in users:
            r = pooled(a.results, u, name)
            if not r:
                continue
            mode = "rootless" if u != "root" else "root"
            w, p = r.get("warren", []), r.get("podman", [])
            shown = label
            if name == "ps":
                f = facts(a.results, u)
                shown = (f"{label} (listed: Warren {f.get('warren_ps_count', ['?'])[0]}, "
                         f"Podman {f.get('podman_ps_count', ['?'])[0]})")
            if name == "run-default":
                f = facts(a.results, u)
                shown = (f"{label}: Warren {f.get('warren_default_net', ['?'])[0]}, "
                         f"Podman {f.get('podman_default_net', ['?'])[0]}")
            lines.append(f"| {shown} | {mode} | {fmt_time(w)} | {fmt_time(p)} | {ratio(w, p)} |")
            if "crun" in r:
                floors.append((mode, w, r["crun"], r.get("bwrap", [])))
    for u in users:
        f = facts(a.results, u)
        mode = "rootless" if u != "root" else "root"
        for key, label in [("run_rss", "peak RSS of `run --rm` (engine, `time -v`)"),
                           ("pull_rss", "peak RSS of the cold pull (`time -v`)"),
                           ("monitor_rss", "monitor of `run -d` (VmHWM; Warren `__monitor`, Podman conmon)")]:
            wv, pv = mem_median(f.get("warren_" + key)), mem_median(f.get("podman_" + key))
            if wv is None and pv is None:
                continue
            lines.append(f"| {label} | {mode} | {fmt_mib(wv)} | {fmt_mib(pv)} | {mem_ratio(wv, pv)} |")
    lines += targets(a, users)
    if floors:
        lines.append("")
        lines.append("The floor (same rootfs, `true`, `--network none` equivalents):")
        lines.append("")
        lines.append("| mode | `crun run` of a prepared bundle | `bwrap --unshare-all` | Warren `run --rm` / crun |")
        lines.append("| --- | --- | --- | --- |")
        for mode, w, c, b in floors:
            lines.append(f"| {mode} | {fmt_time(c)} | {fmt_time(b)} | {ratio(w, c)} |")
    lines.append("")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    for o in ["results", "out", "users", "date", "load", "command", "warren-version", "podman-version", "image", "big"]:
        ap.add_argument("--" + o, default="")
    a = ap.parse_args()
    new = section(a)
    old = open(a.out).read() if os.path.exists(a.out) else ""
    if MARK in old:
        head, _, rest = old.partition(MARK)
        text = head.rstrip("\n") + "\n\n" + MARK + "\n\n" + new + "\n" + rest.lstrip("\n")
    else:
        text = HEADER + "\n" + MARK + "\n\n" + new
    text = re.sub(r"\n{3,}", "\n\n", text)
    open(a.out, "w").write(text.rstrip("\n") + "\n")
    print(new)


if __name__ == "__main__":
    main()
