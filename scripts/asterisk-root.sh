#!/bin/sh
# Provisions the Debian sid root holding Asterisk 22 that the end-to-end tests
# run in (.cache/sid-root of the repository). Idempotent: does nothing when the
# root is already there. Needs root and network access to the Debian mirror;
# takes about a minute and 500 MB.
set -eu

repo=$(cd "$(dirname "$0")/.." && pwd)
root="$repo/.cache/sid-root"
staging="$root.tmp"

if [ -x "$root/usr/sbin/asterisk" ]; then
    exit 0
fi
if [ -e "$root" ]; then
    echo "$root exists but has no usr/sbin/asterisk; remove it and rerun" >&2
    exit 1
fi

# A failed debootstrap can leave proc or sys mounted inside the staging root;
# deleting through a mount would reach the host's files.
for mount_point in $(awk -v prefix="$staging/" 'index($2, prefix) == 1 { print $2 }' /proc/mounts | sort -r); do
    umount "$mount_point"
done
rm -rf "$staging"
mkdir -p "$repo/.cache"
debootstrap --variant=minbase --include=asterisk,asterisk-modules sid "$staging"
mv "$staging" "$root"
