#!/bin/bash
# Warren's test environment: run as root on Debian 12. Idempotent; a second run takes a few seconds.
#
#   eval "$(sudo scripts/test-env.sh)"     # logs go to stderr, the environment to stdout
#
# 1. apt-get installs what the tests need (apt-get update only when the install fails); stops a
#    packaged docker-registry service that systemd may run on :5000.
# 2. Host fixes for machines without udev / with hybrid cgroups (WARREN_TEST_FIX_HOST=0 skips them):
#    /dev/fuse and /dev/net/tun 0666; each controller left on the cgroup2 hierarchy of a hybrid
#    host is mounted as its own v1 hierarchy (crun refuses hybrid mode otherwise).
# 3. Users: dev (uid 1000, or 1002 when 1000 is taken) with dev:100000:65536 in /etc/subuid and
#    /etc/subgid; hpc (uid 1001) with no subordinate ids; /run/user/UID (0700) for both. The same
#    users, made the same way, as shared/lab/setup.sh: either script may run first.
# 4. /etc/containers/registries.conf.d/50-warren-test.conf: localhost:5000 is plain HTTP and the
#    short-name search registry.
# 5. A Distribution registry on 127.0.0.1:5000 (scripts/registry.yml, storage
#    $WARREN_TEST_STATE/registry), unless one already answers there: then that one is used (and its
#    storage directory found from its process, for the warren/corrupt fixture).
# 6. Fixtures: scripts/fixtures/make-fixtures.py builds localhost:5000/warren/* and pushes them with
#    skopeo, plus every archive of the shared images directory when there is one
#    ($WARREN_SHARED_IMAGES, else <repo>/../shared/images, else <main checkout>/../shared/images).
# 7. Prints the environment (export lines), also saved in $WARREN_TEST_STATE/env.
#
# Knobs: WARREN_TEST_STATE (default /tmp/warren-test), WARREN_SHARED_IMAGES, WARREN_TEST_FIX_HOST=0,
# WARREN_TEST_PORT (default 5000; the tests expect 5000, another port only tests this script).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
STATE=${WARREN_TEST_STATE:-/tmp/warren-test}
PORT=${WARREN_TEST_PORT:-5000}  # tests name localhost:5000; another port is for testing this script
REG=localhost:$PORT
URL=http://127.0.0.1:$PORT
log() { echo "test-env: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root (sudo $0)"
t0=$(date +%s)
PY=/usr/bin/python3

# ---- 1. packages -------------------------------------------------------------------------------
REQUIRED="docker-registry skopeo uidmap fuse-overlayfs passt slirp4netns busybox-static crun curl
python3 zstd util-linux procps libcap2-bin bsdutils iproute2 ca-certificates libc6-dev"
OPTIONAL="attr"
missing_of() {
  local p out=""
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || out="$out $p"
  done
  echo "$out"
}
apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  # shellcheck disable=SC2068
  apt-get install -y -q --no-install-recommends $@ >&2 && return 0
  log "apt-get install failed; apt-get update and retry"
  apt-get update -q >&2 || true
  # shellcheck disable=SC2068
  apt-get install -y -q --no-install-recommends $@ >&2
}
# shellcheck disable=SC2086
missing=$(missing_of $REQUIRED)
if [ -n "$missing" ]; then
  log "apt-get install$missing"
  # shellcheck disable=SC2086
  apt_install $missing || die "could not install:$missing"
fi
# shellcheck disable=SC2086
missing=$(missing_of $OPTIONAL)
if [ -n "$missing" ]; then
  # shellcheck disable=SC2086
  apt_install $missing || log "WARNING: could not install$missing (optional)"
fi
if [ -d /run/systemd/system ] && systemctl is-active -q docker-registry 2>/dev/null; then
  log "stopping and disabling the packaged docker-registry service (it binds :5000)"
  systemctl disable --now docker-registry >&2 || true
fi

# ---- 2. host fixes -----------------------------------------------------------------------------
if [ "${WARREN_TEST_FIX_HOST:-1}" = 1 ]; then
  for d in /dev/fuse /dev/net/tun; do
    if [ -c "$d" ] && [ "$(stat -c %a "$d")" = 600 ]; then
      chmod 0666 "$d"; log "chmod 0666 $d (what udev does; rootless fuse-overlayfs/networking need it)"
    fi
  done
  if [ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" = tmpfs ] && [ -r /sys/fs/cgroup/unified/cgroup.controllers ]; then
    for c in $(cat /sys/fs/cgroup/unified/cgroup.controllers); do
      mountpoint -q "/sys/fs/cgroup/$c" && continue
      mkdir -p "/sys/fs/cgroup/$c"
      if mount -t cgroup -o "$c" cgroup "/sys/fs/cgroup/$c"; then
        log "mounted cgroup v1 hierarchy $c (crun refuses hybrid mode with controllers on cgroup2)"
      else
        log "WARNING: could not mount cgroup v1 $c; crun will refuse to run"
      fi
    done
  fi
  f=/proc/sys/kernel/unprivileged_userns_clone
  if [ -w "$f" ] && [ "$(cat "$f")" = 0 ]; then
    echo 1 > "$f"; log "enabled kernel.unprivileged_userns_clone (rootless needs user namespaces)"
  fi
fi

# ---- 3. users ----------------------------------------------------------------------------------
ensure_user() { # NAME UID-CANDIDATES...
  local name=$1 u; shift
  if getent passwd "$name" >/dev/null; then
    local home; home=$(getent passwd "$name" | cut -d: -f6)
    [ -d "$home" ] || { install -d -m 0755 -o "$name" -g "$(id -g "$name")" "$home"; log "created $home"; }
    return 0
  fi
  for u in "$@"; do
    if ! getent passwd "$u" >/dev/null && ! getent group "$u" >/dev/null; then
      useradd -m -s /bin/bash -u "$u" -K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0 "$name"
      log "created user $name (uid $u)"; return 0
    fi
  done
  useradd -m -s /bin/bash -K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0 "$name"
  log "created user $name (uid $(id -u "$name"))"
}
ensure_user hpc 1001
ensure_user dev 1000 1002
DEV_UID=$(id -u dev); HPC_UID=$(id -u hpc)
for f in /etc/subuid /etc/subgid; do
  touch "$f"
  want="dev:100000:65536"
  cur=$(grep -E "^(dev|$DEV_UID|hpc|$HPC_UID):" "$f" || true)
  if [ "$cur" != "$want" ]; then
    sed -i -E "/^(dev|$DEV_UID|hpc|$HPC_UID):/d" "$f"
    echo "$want" >> "$f"
    log "$f: $want (hpc has none)"
  fi
  awk -F: -v f="$f" '$1 != "dev" && $2+0 < 165536 && $2+$3 > 100000 { print "test-env: WARNING " f ": " $0 " overlaps dev:100000:65536" > "/dev/stderr" }' "$f"
done
for u in dev hpc; do
  uid=$(id -u "$u")
  install -d -m 0700 -o "$u" -g "$(id -g "$u")" "/run/user/$uid"
done
# Per-test storage roots live under here (tests/rootless/common): one 0700 dir per user.
install -d -m 0755 /tmp/warren-tests

# ---- 4. registries.conf drop-in ----------------------------------------------------------------
mkdir -p /etc/containers/registries.conf.d
conf=/etc/containers/registries.conf.d/50-warren-test.conf
want='# Warren tests (scripts/test-env.sh): the local Distribution registry on loopback speaks plain HTTP.
unqualified-search-registries = ["localhost:5000"]

[[registry]]
location = "localhost:5000"
insecure = true

[[registry]]
location = "127.0.0.1:5000"
insecure = true'
if [ "$(cat "$conf" 2>/dev/null)" != "$want" ]; then
  printf '%s\n' "$want" > "$conf"; log "wrote $conf"
fi

# ---- 5. registry -------------------------------------------------------------------------------
mkdir -p "$STATE"
PIDF=$STATE/registry.pid
answers() { curl -fsS -m 2 -o /dev/null "$URL/v2/" 2>/dev/null; }
listener_pid() { ss -ltnpH "sport = :$PORT" 2>/dev/null | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -n1; }
REGDIR="" REGLOG="" REGPID=""
if answers; then
  REGPID=$(listener_pid)
  [ -n "$REGPID" ] || die "a registry answers on $URL but no process listening on :$PORT is visible"
  if [ -f "$PIDF" ] && [ "$(cat "$PIDF")" = "$REGPID" ]; then
    log "registry already running (ours, pid $REGPID)"
  else
    log "a registry not started by this script answers on $URL (pid $REGPID); using it"
  fi
  # Its storage directory: the environment it was started with, else its config file.
  REGDIR=$(tr '\0' '\n' < "/proc/$REGPID/environ" 2>/dev/null | sed -n 's/^REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=//p' | head -n1)
  if [ -z "$REGDIR" ]; then
    cfg=$(tr '\0' '\n' < "/proc/$REGPID/cmdline" | grep -E '\.ya?ml$' | tail -n1 || true)
    case $cfg in /*) ;; ?*) cfg=$(readlink -f "/proc/$REGPID/cwd")/$cfg ;; esac
    [ -n "$cfg" ] && [ -r "$cfg" ] && REGDIR=$(awk '/^[^ #]/{top=$1} top=="storage:" && /^ +filesystem:/{fs=1; next} fs && /^ +rootdirectory:/{print $2; exit} /^  [a-z]/ && !/^ +filesystem:/{fs=0}' "$cfg")
  fi
  REGLOG=$(readlink "/proc/$REGPID/fd/2" 2>/dev/null || true)
else
  [ -n "$(listener_pid)" ] && die "something listens on :$PORT but does not answer $URL/v2/ (pid $(listener_pid))"
  REGDIR=$STATE/registry
  REGLOG=$STATE/registry.log
  mkdir -p "$REGDIR"
  rm -f "$PIDF"
  (
    cd "$STATE"
    REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=$REGDIR REGISTRY_HTTP_ADDR=127.0.0.1:$PORT \
      setsid /usr/bin/docker-registry serve "$REPO/scripts/registry.yml" >> "$REGLOG" 2>&1 < /dev/null &
    echo $! > "$PIDF"
  )
  for _ in $(seq 1 50); do answers && break; sleep 0.2; done
  answers || { log "registry did not come up; last log lines:"; tail -5 "$REGLOG" >&2; exit 1; }
  REGPID=$(cat "$PIDF")
  log "registry started (pid $REGPID) on 127.0.0.1:$PORT, storage $REGDIR, log $REGLOG"
fi
if [ -z "$REGDIR" ] || [ ! -d "$REGDIR" ]; then
  die "cannot find the storage directory of the registry on :$PORT (pid $REGPID; looked at its environment and its config); the warren/corrupt fixture needs it. Stop that registry or start it with REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY set."
fi

# ---- 6. fixtures -------------------------------------------------------------------------------
SHARED=""
if [ -n "${WARREN_SHARED_IMAGES:-}" ]; then
  [ -d "$WARREN_SHARED_IMAGES" ] && SHARED=$(cd "$WARREN_SHARED_IMAGES" && pwd) ||
    log "WARNING: WARREN_SHARED_IMAGES=$WARREN_SHARED_IMAGES is not a directory; shared images skipped"
else
  common=$(git -C "$REPO" rev-parse --path-format=absolute --git-common-dir 2>/dev/null || true)
  for d in "$REPO/../shared/images" ${common:+"$common/../../shared/images"}; do
    if [ -d "$d" ]; then SHARED=$(cd "$d" && pwd); break; fi
  done
fi
[ -n "$SHARED" ] || log "no shared images directory: lab/* images not loaded (tests that need them skip, saying so)"
$PY "$REPO/scripts/fixtures/make-fixtures.py" --state "$STATE" --registry "$REG" --registry-dir "$REGDIR" \
  --expected-out "$REPO/scripts/fixtures/layers.expected" ${SHARED:+--shared-images "$SHARED"} > /dev/null

# ---- 7. environment ----------------------------------------------------------------------------
as_user() { echo "runuser -u $1 -- env -i HOME=$(getent passwd "$1" | cut -d: -f6) USER=$1 LOGNAME=$1 PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin LANG=C.UTF-8 XDG_RUNTIME_DIR=/run/user/$(id -u "$1")"; }
{
  echo "export WARREN_TEST_ENV=$STATE/env"
  echo "export WARREN_TEST_STATE=$STATE"
  echo "export WARREN_TEST_REGISTRY=$REG"
  echo "export WARREN_TEST_REGISTRY_URL=$URL"
  echo "export WARREN_TEST_REGISTRY_DIR=$REGDIR"
  echo "export WARREN_TEST_REGISTRY_LOG=$REGLOG"
  echo "export WARREN_TEST_REGISTRY_PID=$REGPID"
  echo "export WARREN_TEST_FIXTURES=$REPO/scripts/fixtures"
  echo "export WARREN_TEST_DEV_USER=dev WARREN_TEST_DEV_UID=$DEV_UID WARREN_TEST_DEV_SUBID=100000:65536"
  echo "export WARREN_TEST_HPC_USER=hpc WARREN_TEST_HPC_UID=$HPC_UID"
  echo "export WARREN_SHARED_IMAGES=$SHARED"
  echo "export WARREN_TEST_SHARED_IMAGES=$([ -n "$SHARED" ] && echo 1 || echo 0)"
  echo "export WARREN_TEST_AS_DEV='$(as_user dev)'"
  echo "export WARREN_TEST_AS_HPC='$(as_user hpc)'"
} > "$STATE/env.tmp"
mv "$STATE/env.tmp" "$STATE/env"
cat "$STATE/env"
log "ready ($(( $(date +%s) - t0 ))s): registry $REG, fixtures $REG/warren/*${SHARED:+ and $REG/lab/*}, env in $STATE/env"
