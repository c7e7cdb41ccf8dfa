# Installs what building and testing Patchbay need, idempotently: each step
# checks first and is skipped when its tool is already there at the right
# version. Sourced by scripts/run.sh and scripts/test.sh.
#   provision_build  rust wasm target, trunk, wasm-bindgen-cli, wasm-split-cli,
#                    wasm-opt 132
#   build_frontend   the browser app into dist/, only when its sources changed
#   use_prebuilt_frontend  dist/ from frontend/prebuilt/ when that copy was
#                    built from exactly these sources (no tools needed)
#   provision_test   + Debian packages (chromium, chromium-driver, sip-tester,
#                    debootstrap) and the sid root holding Asterisk 22

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE="$REPO/.cache"
TRUNK_VERSION=0.21.14
WASM_SPLIT_VERSION=0.2.4
BINARYEN_VERSION=132.0.0
export PATH="$HOME/.cargo/bin:$CACHE/npm/node_modules/.bin:$PATH"

step() { printf '\n== %s\n' "$*"; }

# The wasm-bindgen-cli version must equal the wasm-bindgen crate in Cargo.lock.
wasm_bindgen_version() {
    awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$REPO/Cargo.lock"
}

# `cargo install` for build tools: they run for seconds per build, so their
# own release profile (trunk: fat LTO, one codegen unit) costs minutes of
# compiling for nothing. Cargo's environment overrides a package's profile.
lean_install() {
    CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_OPT_LEVEL=1 \
        CARGO_PROFILE_RELEASE_DEBUG=false cargo install "$@"
}

provision_build() {
    if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
        step "rustup target add wasm32-unknown-unknown"
        rustup target add wasm32-unknown-unknown
    fi
    if [ "$(trunk --version 2>/dev/null)" != "trunk $TRUNK_VERSION" ]; then
        # Newer trunk releases need a newer rustc than this toolchain (1.95).
        # Without its default features trunk skips the update check and the
        # crates.io client (Trunk.toml sets offline = true anyway).
        step "cargo install trunk $TRUNK_VERSION (a few minutes, once)"
        lean_install --locked trunk --version "$TRUNK_VERSION" --no-default-features --features rustls
    fi
    local bindgen
    bindgen=$(wasm_bindgen_version)
    if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $bindgen" ]; then
        # Not --locked: one of its locked dependencies is missing from the registry mirror.
        # Its default feature is TLS for downloads Patchbay never makes.
        step "cargo install wasm-bindgen-cli $bindgen"
        lean_install --force wasm-bindgen-cli --version "$bindgen" --no-default-features
    fi
    # (wasm-split-cli has no --version: cargo's list of installed packages tells.)
    if ! cargo install --list | grep -qx "wasm_split_cli_support v$WASM_SPLIT_VERSION:"; then
        # Cuts the app into a module per group of pages (scripts/build-wasm.sh).
        step "cargo install wasm_split_cli_support $WASM_SPLIT_VERSION"
        lean_install --locked --force wasm_split_cli_support --version "$WASM_SPLIT_VERSION" --features build-binary
    fi
    if [ ! -x "$CACHE/npm/node_modules/.bin/wasm-opt" ]; then
        # Debian's wasm-opt 108 produces wasm that fails at load time; npm's binaryen works.
        step "npm install binaryen@$BINARYEN_VERSION"
        mkdir -p "$CACHE/npm"
        npm install --prefix "$CACHE/npm" --no-audit --no-fund "binaryen@$BINARYEN_VERSION"
    fi
}

provision_test() {
    provision_build
    local missing=""
    for package in chromium chromium-driver sip-tester debootstrap; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing="$missing $package"
    done
    if [ -n "$missing" ]; then
        step "apt-get install$missing"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing
    fi
    if [ ! -x "$CACHE/sid-root/usr/sbin/asterisk" ]; then
        step "debootstrap a Debian sid root with Asterisk 22 into .cache/sid-root (about a minute, once)"
    fi
    sh "$REPO/scripts/asterisk-root.sh"
}

# PostgreSQL for the test run on the shared store (PATCHBAY_TEST_DB=postgres):
# Debian's `postgresql` package, its cluster started, and a role for the
# current user that may create databases (each test server gets its own,
# over the Unix socket /var/run/postgresql). Idempotent.
provision_postgres() {
    if ! dpkg-query -W -f='${Status}' postgresql 2>/dev/null | grep -q "install ok installed"; then
        step "apt-get install postgresql"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql
    fi
    local cluster
    cluster=$(pg_lsclusters --no-header | awk 'NR == 1 { print $1 " " $2 }')
    if [ -z "$cluster" ]; then
        step "create a PostgreSQL cluster"
        pg_createcluster "$(ls /usr/lib/postgresql | sort -n | tail -1)" main
        cluster=$(pg_lsclusters --no-header | awk 'NR == 1 { print $1 " " $2 }')
    fi
    # shellcheck disable=SC2086 # "VERSION NAME"
    pg_lsclusters --no-header | awk 'NR == 1 { print $4 }' | grep -q online || pg_ctlcluster $cluster start
    local user
    user=$(id -un)
    if [ "$user" != postgres ]; then
        printf 'DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = %s) THEN CREATE ROLE "%s" LOGIN CREATEDB; END IF; END $$;\n' "'$user'" "$user" |
            (cd /tmp && su postgres -c "psql -q -v ON_ERROR_STOP=1")
    fi
    # Test databases (pb_e2e_PID_…, pb_unit_PID_…) left by a test process
    # that was killed before it could drop them.
    local db pid
    for db in $(cd /tmp && su postgres -c "psql -tAc \"SELECT datname FROM pg_database WHERE datname ~ '^pb_(e2e|unit)_[0-9]+_'\""); do
        pid=$(echo "$db" | cut -d_ -f3)
        [ -d "/proc/$pid" ] || (cd /tmp && su postgres -c "dropdb --force $db")
    done
}

# Everything the browser app is built from: dist/ is rebuilt only when this
# changes (a no-op Trunk run still costs a cargo check and wasm-bindgen).
frontend_source_hash() {
    (cd "$REPO" && find frontend shared style Cargo.lock Cargo.toml Trunk.toml .cargo scripts/build-wasm.sh \( -name target -o -path frontend/prebuilt \) -prune -o -type f -print0 |
        LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
}

build_frontend() {
    local stamp="$REPO/target/frontend-source.sha256" hash
    hash=$(frontend_source_hash) || return
    if [ -f "$REPO/dist/index.html" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$hash" ]; then
        step "browser app up to date (dist/ matches frontend/, shared/, style/)"
        return
    fi
    step "trunk build --release (the browser app, into dist/)"
    # Its own target directory: cargo locks one per build, and the server's
    # release build may be running beside this one (scripts/run.sh).
    (cd "$REPO" && CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}/frontend" trunk build --release) || return
    mkdir -p "$REPO/target"
    echo "$hash" >"$stamp"
}

# The browser app as built by `scripts/prebuild-frontend.sh`, committed with the
# hash of the sources it was built from. Compiling trunk and wasm-bindgen-cli
# alone takes most of ten minutes on a fresh two-core machine, so the run and
# package commands use this copy whenever it matches the sources, and build
# the app only when it does not (the test command always builds it).
PREBUILT="$REPO/frontend/prebuilt"

use_prebuilt_frontend() {
    local hash
    [ -f "$PREBUILT/SOURCE.sha256" ] || return 1
    hash=$(frontend_source_hash) || return 1
    [ "$(cat "$PREBUILT/SOURCE.sha256")" = "$hash" ] || return 1
    if [ -f "$REPO/dist/index.html" ] && [ "$(cat "$REPO/target/frontend-source.sha256" 2>/dev/null)" = "$hash" ]; then
        # Already built from these sources (and maybe being served: leave it).
        step "browser app up to date (dist/ matches frontend/, shared/, style/)"
        return 0
    fi
    rm -rf "$REPO/dist"
    mkdir -p "$REPO/dist" "$REPO/target"
    cp -R "$PREBUILT"/. "$REPO/dist/"
    rm "$REPO/dist/SOURCE.sha256"
    echo "$hash" >"$REPO/target/frontend-source.sha256"
    step "browser app: frontend/prebuilt/ was built from these sources, copied to dist/"
}

# Says whether frontend/prebuilt/ still matches the sources (the test command
# prints it; a stale copy only costs the next fresh start its build tools).
check_prebuilt_frontend() {
    if [ "$(cat "$PREBUILT/SOURCE.sha256" 2>/dev/null)" = "$(frontend_source_hash)" ]; then
        step "frontend/prebuilt/ matches the sources"
    else
        step "WARNING: frontend/prebuilt/ is stale: run scripts/prebuild-frontend.sh and commit it (fresh starts will build the app)"
    fi
}
