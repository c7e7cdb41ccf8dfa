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

step "PostgreSQL (Debian's postgresql package) for the shared-store run"
provision_postgres

step "backend tests again, their stores on PostgreSQL"
PATCHBAY_TEST_DB=postgres cargo test -p patchbay-backend

step "shared builds for wasm32-unknown-unknown"
cargo build -p patchbay-shared --target wasm32-unknown-unknown

step "dialplan corpus recorded from a real Asterisk 22"
cargo run -q -p patchbay-backend --bin patchbay -- dialplan-check "$REPO/../shared/corpus/patterns-public.jsonl"
cargo run -q -p patchbay-backend --bin patchbay -- dialplan-check "$REPO/tests/corpus/matcher-edges.jsonl"

step "matcher fuzz: the index against the linear scan, new cases each day (at most 40 s)"
PATCHBAY_FUZZ_SECONDS=40 PATCHBAY_FUZZ_ITERATIONS=1000000 PATCHBAY_FUZZ_SEED=$(date +%Y%m%d) \
  cargo test -q -p patchbay-shared --test index_vs_scan -- --nocapture

build_frontend
check_prebuilt_frontend

cargo build -p patchbay-backend --bin patchbay
status=0
# The whole suite on each store: SQLite (the default), then PostgreSQL
# (each test server on a fresh database of the local cluster).
for db in sqlite postgres; do
    step "end-to-end tests on $db (real backend, real Asterisk, real Chromium)"
    log=$(mktemp)
    set +e
    PATCHBAY_TEST_DB=$db cargo test -p patchbay-e2e --no-fail-fast -- --test-threads=2 2>&1 | tee "$log"
    [ "${PIPESTATUS[0]}" = 0 ] || status=1
    set -e
    # One closing line per store (cargo prints one per test binary).
    awk -v db="$db" '/^test result:/ { passed += $4; failed += $6 } END { printf "end-to-end on %s: %d passed, %d failed\n", db, passed, failed }' "$log"
    rm -f "$log"
done
exit "$status"
