#!/usr/bin/env bash
# Runs every test: unit tests, the wasm32 build of the domain crate, the
# dialplan corpus, then end-to-end tests against a real Asterisk 22 (Debian
# sid chroot on loopback) and real headless Chromium. Installs what it needs.
set -euo pipefail
source "$(dirname "$0")/provision.sh"
cd "$REPO"
provision_test

step "unit tests (shared, backend)"
cargo test -p patchbay-shared -p patchbay-backend

step "shared builds for wasm32-unknown-unknown"
cargo build -p patchbay-shared --target wasm32-unknown-unknown

step "dialplan corpus recorded from a real Asterisk 22"
cargo run -q -p patchbay-backend --bin patchbay -- dialplan-check "$REPO/../shared/corpus/patterns-public.jsonl"

build_frontend

step "end-to-end tests (real backend, real Asterisk, real Chromium)"
cargo build -p patchbay-backend --bin patchbay
cargo test -p patchbay-e2e -- --test-threads=2
