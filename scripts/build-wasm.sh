#!/usr/bin/env bash
# Trunk's post-build hook (Trunk.toml): compiles the browser app and splits
# it so that each group of pages loads its code the first time one of its
# pages is shown.
#
# Trunk's own Rust pipeline runs wasm-bindgen straight after cargo, but the
# split must come between the two: wasm-split-cli reads the linker's
# relocations (`--emit-relocs`, .cargo/config.toml) to cut the module at the
# `wasm_split` functions (frontend/src/app.rs), and wasm-bindgen then
# processes the main part only. So this script does cargo → wasm-split-cli →
# wasm-bindgen → wasm-opt, and puts the result in one directory named after
# its content (`app-HASH/`: the chunks have fixed names, the directory keeps
# a browser from mixing two builds), which index.html's loader names.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
: "${TRUNK_STAGING_DIR:?run by trunk as a post_build hook}"
# The tools scripts/provision.sh installs (wasm-opt from npm: Debian's 108
# produces wasm that fails at load time).
export PATH="$HOME/.cargo/bin:$REPO/.cache/npm/node_modules/.bin:$PATH"
NAME=patchbay-frontend
TARGET_DIR=${CARGO_TARGET_DIR:-$REPO/target}
if [ "${TRUNK_PROFILE:-debug}" = release ]; then
    PROFILE=wasm-release
    PROFILE_DIR=wasm-release
else
    PROFILE=dev
    PROFILE_DIR=debug
fi

cargo build --manifest-path "$REPO/frontend/Cargo.toml" --bin "$NAME" \
    --target wasm32-unknown-unknown --profile "$PROFILE"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
wasm-split-cli "$TARGET_DIR/wasm32-unknown-unknown/$PROFILE_DIR/$NAME.wasm" "$work/split" \
    --target web --out-name "$NAME"
mkdir -p "$work/app"
# --keep-lld-exports: the chunks import the main module's function table.
wasm-bindgen "$work/split/$NAME.wasm" --keep-lld-exports --target web --out-dir "$work/app" --out-name "$NAME" --no-typescript
rm "$work/split/$NAME.wasm"
cp "$work/split/"* "$work/app/"
if [ "$PROFILE" = wasm-release ]; then
    for module in "$work/app/"*.wasm; do
        wasm-opt -Oz "$module" -o "$module"
    done
fi

hash=$(cat "$work/app/"* | sha256sum | cut -c1-16)
dir="app-$hash"
# A gzip copy of each file, sent by the server to browsers that accept it
# (no compression work per request). -n: no time stamp, the same bytes each build.
gzip -9 -n -k "$work/app/"*
rm -rf "${TRUNK_STAGING_DIR:?}/$dir"
cp -R "$work/app" "$TRUNK_STAGING_DIR/$dir"
sed -i "s|__PATCHBAY_APP__|/$dir|g" "$TRUNK_STAGING_DIR/index.html"
