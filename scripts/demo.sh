#!/bin/bash
# Warren's main job, end to end, on a fresh Debian 12 machine:
#
#   sudo scripts/demo.sh
#
# As root it sets up the test environment (scripts/test-env.sh: packages, the unprivileged user
# `dev`, a local registry on localhost:5000 with the warren/* images), builds Warren and installs it
# as /usr/local/bin/warren. Then, as the unprivileged user `dev` (no sudo, no setuid helper other
# than newuidmap/newgidmap), it pulls an image from that registry and runs containers from it.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
say() { printf '\n\033[1m%s\033[0m\n' "$*" >&2; }
[ "$(id -u)" = 0 ] || { echo "demo.sh: run as root: sudo $0" >&2; exit 1; }

say "== setting up: packages, users, local registry with fixtures (scripts/test-env.sh)"
envout=$(scripts/test-env.sh) || { echo "$(basename "$0"): scripts/test-env.sh failed (see above)" >&2; exit 1; }
eval "$envout"

say "== building Warren"
if ! command -v cargo >/dev/null; then
  for d in "${CARGO_HOME:-$HOME/.cargo}/bin" /root/.cargo/bin; do
    [ -x "$d/cargo" ] && { PATH=$d:$PATH; break; }
  done
fi
command -v cargo >/dev/null || { echo "demo.sh: cargo not found: install the Rust toolchain (https://rustup.rs)" >&2; exit 1; }
cargo build --bin warren
install -m 0755 "${CARGO_TARGET_DIR:-$REPO/target}/debug/warren" /usr/local/bin/warren

# A real distribution image (Debian bookworm, from the shared lab archives) when this machine has it,
# else the busybox image the fixture generator builds from Debian's busybox-static.
IMAGE=$WARREN_TEST_REGISTRY/warren/busybox
if curl -fsS -o /dev/null "http://127.0.0.1:5000/v2/lab/debian/manifests/bookworm" \
    -H 'Accept: application/vnd.oci.image.manifest.v1+json' 2>/dev/null; then
  IMAGE=$WARREN_TEST_REGISTRY/lab/debian:bookworm
fi
as_dev() {
  printf '\033[1mdev$ %s\033[0m\n' "$*" >&2
  runuser -u dev -- env -i HOME="$(getent passwd dev | cut -d: -f6)" USER=dev LOGNAME=dev \
    PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 XDG_RUNTIME_DIR="/run/user/$(id -u dev)" "$@"
}

say "== as the unprivileged user dev (uid $(id -u dev)): pull and run"
as_dev id
as_dev warren pull "$IMAGE"
as_dev warren run --rm "$IMAGE" echo "hello from a rootless container"
as_dev warren run --rm "$IMAGE" id
as_dev warren run --rm "$IMAGE" cat /proc/self/uid_map
say "== done: dev pulled $IMAGE from the local registry and ran it rootless"
