#!/usr/bin/env bash
# Builds the Debian package target/debian/patchbay_VERSION_ARCH.deb: the
# `patchbay` binary with the browser app built in, the systemd unit, the
# config file /etc/patchbay/patchbay.toml (a conffile) and the maintainer
# scripts from packaging/. Prints the package's path last. With --install it
# also installs it (apt), which starts the service.
# Plain dpkg-deb rather than cargo-deb: dpkg-deb is already on every Debian
# machine, cargo-deb would first have to be compiled (see README).
set -euo pipefail
install=false
[ "${1:-}" = --install ] && install=true
source "$(dirname "$0")/provision.sh"
if ! use_prebuilt_frontend; then
    provision_build
    build_frontend
fi
cd "$REPO"
step "cargo build --release --features embed-frontend (the server, with the browser app inside)"
cargo build --release -p patchbay-backend --bin patchbay --features embed-frontend

target_dir=${CARGO_TARGET_DIR:-$REPO/target}
binary="$target_dir/release/patchbay"
version=$(awk -F'"' '/^\[workspace.package\]/ { in_package = 1 } in_package && /^version = / { print $2; exit }' Cargo.toml)
arch=$(dpkg --print-architecture)
out="$REPO/target/debian"
stage="$out/patchbay_${version}_${arch}"
deb="$stage.deb"

step "dpkg-deb --build ($deb)"
rm -rf "$stage"
install -D -m 0755 "$binary" "$stage/usr/bin/patchbay"
install -D -m 0644 packaging/patchbay.service "$stage/lib/systemd/system/patchbay.service"
install -D -m 0644 packaging/patchbay.toml "$stage/etc/patchbay/patchbay.toml"
install -D -m 0644 README.md "$stage/usr/share/doc/patchbay/README.md"
install -d "$stage/DEBIAN"
install -m 0644 packaging/debian/conffiles "$stage/DEBIAN/conffiles"
install -m 0755 packaging/debian/postinst packaging/debian/prerm packaging/debian/postrm "$stage/DEBIAN/"
# The newest glibc symbol version the binary needs is the libc6 it depends on.
glibc=$(objdump -T "$binary" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -n 1)
installed_size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@INSTALLED_SIZE@/$installed_size/" \
    -e "s/@DEPENDS@/libc6 (>= $glibc), libgcc-s1/" packaging/debian/control >"$stage/DEBIAN/control"
dpkg-deb --root-owner-group --build "$stage" "$deb" >/dev/null
rm -rf "$stage"
if $install; then
    step "apt-get install $deb"
    DEBIAN_FRONTEND=noninteractive apt-get install -y "$deb"
fi
echo "$deb"
