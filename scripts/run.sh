#!/usr/bin/env bash
# Builds and runs Patchbay: the browser app and the API on http://127.0.0.1:8080,
# data in ./patchbay.db. Extra arguments go to `patchbay serve`
# (e.g. --ami ami://USER:SECRET@127.0.0.1:5038).
set -euo pipefail
source "$(dirname "$0")/provision.sh"
cd "$REPO"
# The server needs none of the browser app's tools: it compiles while they
# install and while the app builds (separate target directories, so neither
# cargo waits for the other's lock; on two cores this fills the long
# single-threaded link steps).
server_log=$(mktemp)
step "cargo build --release (the server, in the background)"
cargo build --release -p patchbay-backend --bin patchbay >"$server_log" 2>&1 &
server_build=$!
# A failed tool install or app build stops the server build too.
trap 'kill "$server_build" 2>/dev/null || true' EXIT
if ! use_prebuilt_frontend; then
    provision_build
    build_frontend
fi
if ! wait "$server_build"; then
    cat "$server_log" >&2
    exit 1
fi
rm -f "$server_log"
trap - EXIT
step "starting Patchbay (http://127.0.0.1:8080 unless --listen says otherwise; Ctrl-C stops it)"
exec "${CARGO_TARGET_DIR:-$REPO/target}/release/patchbay" serve --dist "$REPO/dist" "$@"
