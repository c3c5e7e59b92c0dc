#!/bin/sh
# run-qemu.sh VARIANT [TIMEOUT]  -- boot build/kernel/VARIANT/bzImage with the
# conformance runner as /sbin/init on a tiny ext2 root, print the console.
# Needs: mke2fs (e2fsprogs), qemu-system-i386, root (for mknod).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
VARIANT=${1:?usage: run-qemu.sh VARIANT [TIMEOUT]}
TIMEOUT=${2:-600}
KERNEL=$REPO/build/kernel/$VARIANT/bzImage
WORK=${WORK:-$(mktemp -d /tmp/xmmap-conf.XXXXXX)}
[ -f "$KERNEL" ] || { echo "no $KERNEL (./inv build --variant $VARIANT)" >&2; exit 1; }
"$HERE/build.sh" "$WORK/bin" >/dev/null
ROOT=$WORK/root
rm -rf "$ROOT"; mkdir -p "$ROOT/sbin" "$ROOT/dev" "$ROOT/proc" "$ROOT/tmp"
cp "$WORK/bin/runner" "$ROOT/sbin/init"
mknod "$ROOT/dev/console" c 5 1
mknod "$ROOT/dev/ttyS0" c 4 64
mknod "$ROOT/dev/tty" c 5 0
rm -f "$WORK/root.img"
mke2fs -q -t ext2 -r 0 -b 1024 -I 128 -O none -d "$ROOT" -F "$WORK/root.img" 8192
rm -f "$WORK/console.log"
timeout "$TIMEOUT" qemu-system-i386 -M pc-i440fx-7.2 -cpu pentium -m 32 -accel tcg \
	-kernel "$KERNEL" -append "root=/dev/hda rw" \
	-drive file="$WORK/root.img",format=raw,if=ide,index=0,snapshot=on \
	-display none -monitor none -serial file:"$WORK/console.log" -no-reboot || true
tr -d '\r' < "$WORK/console.log"
