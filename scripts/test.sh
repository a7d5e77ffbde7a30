#!/bin/bash
# The whole test suite, as CI runs it (.ci/run): as root on Debian 12, from any directory.
#
#   sudo scripts/test.sh
#
# 1. scripts/test-env.sh: packages (including what the build needs), users dev/hpc, the registry on
#    localhost:5000 and its fixtures
# 2. cargo fmt --check and cargo clippy -D warnings (WARREN_TEST_LINT=0 skips them locally)
# 3. cargo build --workspace --all-targets; install the binary as /usr/local/bin/warren (WARREN_BIN),
#    where the unprivileged test users can run it
# 4. cargo test --workspace: unit tests and tests/rootless (the end-to-end tests switch to dev/hpc)
# Exits non-zero on any failure. Extra arguments go to `cargo test` (e.g. `-- pull::`).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
log() { echo "test.sh: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root (sudo $0): the tests create users and switch to them"
t0=$(date +%s)
step() { log "== $* ($(( $(date +%s) - t0 ))s)"; }

if ! command -v cargo >/dev/null; then
  for d in "${CARGO_HOME:-$HOME/.cargo}/bin" /root/.cargo/bin; do
    [ -x "$d/cargo" ] && { PATH=$d:$PATH; break; }
  done
fi
command -v cargo >/dev/null || die "cargo not found: install the Rust toolchain (https://rustup.rs) first"


step "test environment (scripts/test-env.sh)"
envout=$(scripts/test-env.sh) || { echo "$(basename "$0"): scripts/test-env.sh failed (see above)" >&2; exit 1; }
eval "$envout"

if [ "${WARREN_TEST_LINT:-1}" = 1 ]; then
  step "cargo fmt --check"
  cargo fmt --all --check || die "cargo fmt --check failed: run cargo fmt"
  step "cargo clippy --workspace --all-targets -- -D warnings"
  cargo clippy --workspace --all-targets -q -- -D warnings || die "clippy found problems"
fi

step "cargo build --workspace --all-targets"
cargo build --workspace --all-targets
TARGET=${CARGO_TARGET_DIR:-$REPO/target}
install -m 0755 "$TARGET/debug/warren" /usr/local/bin/warren
export WARREN_BIN=/usr/local/bin/warren
log "installed $WARREN_BIN"

step "cargo test --workspace"
rm -f "$WARREN_TEST_STATE/skipped.txt"
rc=0
cargo test --workspace --no-fail-fast "$@" || rc=$?
if [ -s "$WARREN_TEST_STATE/skipped.txt" ]; then
  log "skipped (with reasons):"
  sed 's/^/  /' "$WARREN_TEST_STATE/skipped.txt" >&2
fi
if [ "$rc" = 0 ]; then
  step "all tests passed"
else
  step "FAILED (cargo test exit status $rc)"
fi
exit "$rc"
