#!/bin/bash
# Warren next to Podman on the same machine, same images, same registry: writes a Markdown table on top
# of docs/performance.md (earlier tables stay below it). A full run measures for about 5-7 minutes
# (plus the release build of Warren when it is not built yet).
#
#   sudo scripts/bench.sh              # full run: rootless (user dev) and root
#   BENCH_RUNS=10 sudo scripts/bench.sh
#
# Run as root on the Debian 12 test machine. It
# 1. sets up the test environment (scripts/test-env.sh: registry on localhost:5000, users, fixtures);
# 2. installs podman, hyperfine, bubblewrap and time from Debian's packages (for this script only: the
#    test suite never uses them) and /etc/containers/containers.conf from shared/lab/containers.conf.peer
#    when there is none (this host has no systemd and root lacks CAP_SYS_RESOURCE);
# 3. builds Warren in release;
# 4. for the user dev and for root, in separate storage under $BENCH_DIR (Warren --root, Podman
#    --root/--runroot, both on the overlay driver), measures with hyperfine, Warren and Podman in the
#    same invocations, several rounds interleaved so that load from elsewhere hits both alike:
#      run --rm true (--network none; default network), create + start -a + rm, cold pull of
#      lab/debian:bookworm into empty storage, ps -a with 100 exited containers, peak memory of the engine
#      (run, pull) and of the monitor of a detached container (warren __monitor / conmon), and the floor:
#      crun run of a prepared bundle and bwrap running true in the same rootfs.
#
# Knobs: BENCH_RUNS (runs per command, default 32), BENCH_ROUNDS (interleaved rounds, default 4),
# BENCH_PULL_RUNS (default 8), BENCH_USERS ("dev root"), BENCH_DIR (default /tmp/warren-bench),
# BENCH_OUT (default docs/performance.md), BENCH_NO_BUILD=1 (use target/release/warren as it is),
# BENCH_ONLY (comma list of run,default,create,ps,mem,pull; default all),
# BENCH_WARREN (another warren binary to measure).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
SELF=$REPO/scripts/bench.sh
log() { echo "bench: [${SECONDS}s] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

RUNS=${BENCH_RUNS:-32}
ROUNDS=${BENCH_ROUNDS:-4}
PULL_RUNS=${BENCH_PULL_RUNS:-8}
PS_COUNT=100

# ------------------------------------------------------------------------------------------------
# The measurements of one user (runs as that user; called by the root part below).
# Environment: W (warren binary), OUT (result dir), IMG, BIG (or empty), BD (this user's bench dir).
# Results: OUT/*.json (hyperfine) and OUT/facts (KEY=VALUE lines).
# ------------------------------------------------------------------------------------------------
measure() {
  local uid; uid=$(id -u)
  mkdir -p "$OUT" "$BD"
  local WS=$BD/warren PS=$BD/podman
  local PRUN
  if [ "$uid" = 0 ]; then PRUN=/run/warren-bench-podman; else PRUN=$XDG_RUNTIME_DIR/warren-bench-podman; fi
  local w="$W --root $WS"
  local p="podman --root $PS --runroot $PRUN --storage-driver overlay"
  fact() { echo "$1=$2" >> "$OUT/facts"; }
  maxrss() { # the engine's peak RSS in KiB (GNU time -v: the largest of it and its waited-for children)
    /usr/bin/time -v "$@" 2>&1 > /dev/null | sed -n 's/.*Maximum resident set size (kbytes): //p'
  }
  want() { case ",${ONLY:-run,default,create,ps,mem,pull}," in *",$1,"*) return 0 ;; esac; return 1; }
  : > "$OUT/facts"

  # Interleaved hyperfine: ROUNDS invocations of RUNS/ROUNDS runs each, every command in each.
  # hf NAME [hyperfine options] -- (-n LABEL CMD)...
  hf() {
    local name=$1; shift
    local opts=() r per=$(( (RUNS + ROUNDS - 1) / ROUNDS ))
    while [ "$1" != -- ]; do opts+=("$1"); shift; done; shift
    case " ${opts[*]} " in *" -S "*) ;; *) opts+=(-N) ;; esac  # no shell unless one is asked for
    for r in $(seq 1 "$ROUNDS"); do
      hyperfine --style none --warmup "${WARMUP:-2}" --runs "$per" "${opts[@]}" --export-json "$OUT/$name.$r.json" "$@" \
        > /dev/null 2>> "$OUT/hyperfine.log" || { log "hyperfine $name failed; see $OUT/hyperfine.log"; return 1; }
    done
  }

  log "[$(id -un)] preparing $IMG in both storages"
  $w pull -q "$IMG" > /dev/null
  $p pull -q --tls-verify=false "$IMG" > /dev/null
  fact warren_driver "$($w info --format '{{.Store.GraphDriverName}}' 2>/dev/null || echo '?')"
  fact podman_driver "$($p info --format '{{.Store.GraphDriverName}}' 2>/dev/null || echo '?')"
  fact podman_network "$($p info --format '{{.Host.NetworkBackend}}' 2>/dev/null || echo '?')"

  # The floor: the image's rootfs as a plain directory, a crun bundle around it, bwrap in it.
  local B=$BD/bundle
  rm -rf "$B"; mkdir -p "$B/rootfs"
  local cid; cid=$($p create --network none "$IMG" true)
  $p export "$cid" | tar -x -C "$B/rootfs" 2> /dev/null || true
  $p rm -f "$cid" > /dev/null
  (cd "$B" && if [ "$uid" = 0 ]; then crun spec; else crun spec --rootless; fi)
  python3 - "$B/config.json" <<'EOF'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["process"]["args"] = ["true"]
c["process"]["terminal"] = False
json.dump(c, open(p, "w"), indent=1)
EOF
  local CRUNROOT=$BD/crun-state
  mkdir -p "$CRUNROOT"
  local crun_cmd="crun --root $CRUNROOT run -b $B bench-floor"
  local bwrap_cmd="bwrap --unshare-all --bind $B/rootfs / --proc /proc --dev /dev /bin/true"
  $crun_cmd || die "the floor: $crun_cmd fails"
  $bwrap_cmd || die "the floor: $bwrap_cmd fails"

  want run && log "[$(id -un)] run --rm --network none true (+ crun, bwrap)" &&
  hf run-none -- \
    -n warren "$w run --rm --network none $IMG true" \
    -n podman "$p run --rm --network none $IMG true" \
    -n crun "$crun_cmd" \
    -n bwrap "$bwrap_cmd"

  # The default network: what each engine gives a container when --network is not given.
  local wnet pnet
  # /proc/net/dev lists the interfaces of the process's own network namespace (a /sys bind-mounted from
  # the host would not)
  local ifaces="sed -n '3,\$p' /proc/net/dev | cut -d: -f1 | tr -d ' ' | grep -vx lo | head -n1"
  wnet=$($w run --rm "$IMG" sh -c "$ifaces" 2>/dev/null) || wnet=FAIL
  pnet=$($p run --rm "$IMG" sh -c "$ifaces" 2>/dev/null) || pnet=FAIL
  fact warren_default_net "${wnet:-none}"
  fact podman_default_net "${pnet:-none}"
  if want default && [ "$wnet" != FAIL ] && [ "$pnet" != FAIL ]; then
    log "[$(id -un)] run --rm true (default network: warren ${wnet:-none}, podman ${pnet:-none})"
    hf run-default -- \
      -n warren "$w run --rm $IMG true" \
      -n podman "$p run --rm $IMG true"
  fi

  want create && log "[$(id -un)] create + start -a + rm" &&
  hf create-start-rm -S sh -- \
    -n warren "id=\$($w create --network none $IMG true) && $w start -a \$id && $w rm \$id >/dev/null" \
    -n podman "id=\$($p create --network none $IMG true) && $p start -a \$id && $p rm \$id >/dev/null"

  local i
  want ps && {
  log "[$(id -un)] ps -a with $PS_COUNT exited containers"
  for i in $(seq 1 $PS_COUNT); do
    $w run --name "bench-ps-$i" --network none "$IMG" true > /dev/null 2>&1 || true
    $p run --name "bench-ps-$i" --network none "$IMG" true > /dev/null 2>&1 || true
  done
  fact warren_ps_count "$($w ps -a -q | wc -l)"
  fact podman_ps_count "$($p ps -a -q | wc -l)"
  hf ps -- -n warren "$w ps -a" -n podman "$p ps -a"
  $w rm -f $($w ps -a -q) > /dev/null 2>&1 || true
  $p rm -f $($p ps -a -q) > /dev/null 2>&1 || true
  }

  want mem && {
  log "[$(id -un)] peak memory"
  for i in 1 2 3 4 5; do
    fact warren_run_rss "$(maxrss $w run --rm --network none "$IMG" true)"
    fact podman_run_rss "$(maxrss $p run --rm --network none "$IMG" true)"
  done
  # The monitor of a detached container: warren __monitor ID / conmon.
  monitor_status() { # PATTERN (in the cmdline): VmHWM VmRSS of the first process matching
    local pid
    for pid in $(pgrep -f -- "$1"); do
      awk '/^VmHWM|^VmRSS/ {printf "%s ", $2} END {print ""}' "/proc/$pid/status"
      return 0
    done
    echo "? ?"
  }
  for i in 1 2 3; do
    cid=$($w run -d --network none "$IMG" sleep 2)
    sleep 0.5
    fact warren_monitor_rss "$(monitor_status "__monitor $cid")"
    $w wait "$cid" > /dev/null; $w rm "$cid" > /dev/null
    cid=$($p run -d --network none "$IMG" sleep 2)
    sleep 0.5
    fact podman_monitor_rss "$(monitor_status "conmon .*$cid")"
    $p wait "$cid" > /dev/null; $p rm "$cid" > /dev/null
  done
  }

  if want pull && [ -n "$BIG" ]; then
    log "[$(id -un)] cold pull of $BIG into empty storage"
    # Every run pulls into a new, empty storage directory (mktemp); all of them are deleted
    # only at the end. Deleting the previous run's tree just before the next run would measure the
    # file system instead: ext4 without a journal (this machine) skips inodes freed in the last seconds
    # when it allocates new ones, one by one, and a pull creates thousands of files.
    # Podman refuses a runroot longer than 50 characters.
    local pw=$BD/pull-warren pp=$BD/pull-podman pr=${PRUN%/*}/wbp
    # Podman keeps each graph root's overlay directory mounted (in its own namespace when rootless);
    # rootless, the files belong to subordinate ids: remove them from inside each engine's namespace.
    local wun="" pun=""
    [ "$uid" = 0 ] || { wun="$W --root $pw unshare"; pun="podman --root $pp/rss --runroot $pr/rss --storage-driver overlay unshare"; }
    pull_clean() {
      [ ! -e "$pp" ] || $pun sh -c "for m in $pp/*/overlay; do umount \$m 2>/dev/null; done; rm -rf $pp" ||
        log "cannot remove $pp"
      [ ! -e "$pw" ] || $wun rm -rf "$pw" || log "cannot remove $pw"
      rm -rf "$pr"
    }
    pull_clean
    mkdir -p "$pw" "$pp" "$pr"
    # Let what was just deleted (here and by the sections before) age out of that window: it is 5 s
    # once the inode tables are written back, minutes while they are dirty.
    sync; sleep 6
    RUNS=$PULL_RUNS ROUNDS=$(( PULL_RUNS < 2 ? 1 : 2 )) WARMUP=1 hf pull -S sh -- \
      -n warren "d=\$(mktemp -d -p $pw) && $W --root \$d pull -q $BIG" \
      -n podman "d=\$(mktemp -d -p $pp) && podman --root \$d --runroot $pr/\${d##*/} --storage-driver overlay pull -q --tls-verify=false $BIG"
    fact warren_pull_rss "$(maxrss "$W" --root "$pw/rss" pull -q "$BIG")"
    fact podman_pull_rss "$(maxrss podman --root "$pp/rss" --runroot "$pr/rss" --storage-driver overlay pull -q --tls-verify=false "$BIG")"
    pull_clean
  fi
  log "[$(id -un)] done"
}

if [ "${1:-}" = --measure ]; then
  measure
  exit 0
fi

# ------------------------------------------------------------------------------------------------
# Root part: environment, packages, build, both users, the table.
# ------------------------------------------------------------------------------------------------
[ "$(id -u)" = 0 ] || die "must run as root (sudo $0)"
eval "$("$REPO/scripts/test-env.sh")"

need=""
for pkg in podman hyperfine bubblewrap time; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need="$need $pkg"
done
if [ -n "$need" ]; then
  log "apt-get install$need (for the benchmark only)"
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $need >&2 ||
    { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $need >&2; }
fi
if [ ! -e /etc/containers/containers.conf ]; then
  peer=$REPO/../shared/lab/containers.conf.peer
  [ -r "$peer" ] || peer=/work/shared/lab/containers.conf.peer
  if [ -r "$peer" ]; then
    cp "$peer" /etc/containers/containers.conf
  else
    printf '%s\n' '[containers]' 'default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]' '' \
      '[engine]' 'cgroup_manager = "cgroupfs"' 'events_logger = "file"' > /etc/containers/containers.conf
  fi
  log "installed /etc/containers/containers.conf (no systemd here; root lacks CAP_SYS_RESOURCE)"
fi

if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
  log "cargo build --release"
  (cd "$REPO" && cargo build --release -q) >&2
fi
W=${BENCH_WARREN:-$REPO/target/release/warren}
[ -x "$W" ] || die "no $W (cargo build --release)"

if [ "${WARREN_TEST_SHARED_IMAGES:-0}" = 1 ]; then
  IMG=localhost:5000/lab/busybox:latest BIG=localhost:5000/lab/debian:bookworm
else
  IMG=localhost:5000/warren/busybox:latest BIG=""
  log "no shared images directory: no lab/debian fixture, so no cold pull benchmark"
fi

BENCH_DIR=${BENCH_DIR:-/tmp/warren-bench}
RES=$BENCH_DIR/results
rm -rf "$RES"; mkdir -p "$RES"
chmod 0755 "$BENCH_DIR"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
t_measure=$SECONDS
started=$(date -u '+%Y-%m-%d %H:%M UTC')
for u in ${BENCH_USERS:-dev root}; do
  out=$RES/$u
  if [ "$u" = root ]; then
    env OUT="$out" W="$W" IMG="$IMG" BIG="$BIG" BD="$BENCH_DIR/root" RUNS="$RUNS" ROUNDS="$ROUNDS" \
      PULL_RUNS="$PULL_RUNS" ONLY="${BENCH_ONLY:-}" "$SELF" --measure
  else
    uid=$(id -u "$u")
    install -d -o "$u" -g "$(id -g "$u")" "$out" "$BENCH_DIR/$u"
    runuser -u "$u" -- env -i HOME="$(getent passwd "$u" | cut -d: -f6)" USER="$u" LOGNAME="$u" \
      PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin LANG=C.UTF-8 XDG_RUNTIME_DIR="/run/user/$uid" \
      OUT="$out" W="$W" IMG="$IMG" BIG="$BIG" BD="$BENCH_DIR/$u" RUNS="$RUNS" ROUNDS="$ROUNDS" \
      PULL_RUNS="$PULL_RUNS" ONLY="${BENCH_ONLY:-}" "$SELF" --measure
  fi
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
log "measured in $(( SECONDS - t_measure ))s"

OUTFILE=${BENCH_OUT:-$REPO/docs/performance.md}
# The exact command, with every knob that differs from its default.
cmdline="sudo scripts/bench.sh"
[ "$RUNS" = 32 ] || cmdline="BENCH_RUNS=$RUNS $cmdline"
[ "$ROUNDS" = 4 ] || cmdline="BENCH_ROUNDS=$ROUNDS $cmdline"
[ "$PULL_RUNS" = 8 ] || cmdline="BENCH_PULL_RUNS=$PULL_RUNS $cmdline"
[ -z "${BENCH_ONLY:-}" ] || cmdline="BENCH_ONLY=$BENCH_ONLY $cmdline"
[ "${BENCH_USERS:-dev root}" = "dev root" ] || cmdline="BENCH_USERS='$BENCH_USERS' $cmdline"
[ -z "${BENCH_WARREN:-}" ] || cmdline="BENCH_WARREN=$BENCH_WARREN $cmdline"
if [ -n "${BENCH_WARREN:-}" ]; then
  wversion="$("$W" --version), the binary $BENCH_WARREN"
else
  wversion="$("$W" --version) ($(git -C "$REPO" describe --always --dirty 2>/dev/null || echo "?"))"
fi
python3 "$REPO/scripts/bench-table.py" --results "$RES" --out "$OUTFILE" --users "${BENCH_USERS:-dev root}" \
  --date "$started" --load "$load_before → $load_after" --command "$cmdline" \
  --warren-version "$wversion" \
  --podman-version "$(podman --version)" --image "$IMG" --big "$BIG"
log "wrote $OUTFILE"
