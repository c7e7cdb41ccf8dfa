#!/usr/bin/env bash
# Builds and runs Patchbay: the browser app and the API on http://127.0.0.1:8080,
# data in ./patchbay.db. Extra arguments go to `patchbay serve`
# (e.g. --ami ami://USER:SECRET@127.0.0.1:5038).
set -euo pipefail
source "$(dirname "$0")/provision.sh"
provision_build
build_frontend
step "cargo build --release (the server)"
cd "$REPO"
cargo build --release -p patchbay-backend --bin patchbay
step "starting Patchbay (http://127.0.0.1:8080 unless --listen says otherwise; Ctrl-C stops it)"
exec "$REPO/target/release/patchbay" serve --dist "$REPO/dist" "$@"
