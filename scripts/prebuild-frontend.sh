#!/usr/bin/env bash
# Builds the browser app from the current sources and stores it in
# frontend/prebuilt/ with the hash of those sources, for the run and package
# commands to use without compiling trunk and wasm-bindgen-cli. Commit the
# result after any change to frontend/, shared/, style/ or the Cargo files.
set -euo pipefail
source "$(dirname "$0")/provision.sh"
cd "$REPO"
provision_build
build_frontend
rm -rf "$PREBUILT"
mkdir -p "$PREBUILT"
cp -R dist/. "$PREBUILT/"
frontend_source_hash >"$PREBUILT/SOURCE.sha256"
step "frontend/prebuilt/ refreshed ($(du -sh "$PREBUILT" | cut -f1))"
