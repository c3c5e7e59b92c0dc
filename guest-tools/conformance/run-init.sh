#!/bin/sh
# run-init.sh PROGRAM VARIANT [KEY=VALUE...] -- boot build/kernel/VARIANT/bzImage
# with PROGRAM as /sbin/init on a tiny ext2 root and print the serial console.
# PROGRAM is runner, stress or demo (built with ./build.sh) or a path to a
# static i386 binary.  KEY=VALUE words go on the kernel command line; 2.0.36
# hands them to init as environment variables (at most 7 of them; keys must
# not start with a boot option's name such as "hd", "ide", "st=", "root=").
# Environment: TIMEOUT (seconds, default 1800), WORK (scratch directory),
# QEMU_EXTRA (extra qemu arguments, e.g. "-icount shift=0,sleep=off").
# Needs: mke2fs (e2fsprogs), qemu-system-i386, root (for mknod).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
PROGRAM=${1:?usage: run-init.sh PROGRAM VARIANT [KEY=VALUE...]}
VARIANT=${2:?usage: run-init.sh PROGRAM VARIANT [KEY=VALUE...]}
shift 2
TIMEOUT=${TIMEOUT:-1800}
KERNEL=$REPO/build/kernel/$VARIANT/bzImage
WORK=${WORK:-$(mktemp -d /tmp/xmmap-init.XXXXXX)}
[ -f "$KERNEL" ] || { echo "no $KERNEL (./inv build --variant $VARIANT)" >&2; exit 1; }
case $PROGRAM in
runner|stress|demo)
	"$HERE/build.sh" "$WORK/bin" "$PROGRAM" >/dev/null
	BIN=$WORK/bin/$PROGRAM ;;
*)	BIN=$PROGRAM ;;
esac
APPEND="root=/dev/hda rw"
for kv in "$@"; do
	case $kv in
	*=*) APPEND="$APPEND $kv" ;;
	*) echo "run-init.sh: not KEY=VALUE: $kv" >&2; exit 2 ;;
	esac
done
ROOT=$WORK/root
rm -rf "$ROOT"; mkdir -p "$ROOT/sbin" "$ROOT/dev" "$ROOT/proc" "$ROOT/tmp"
cp "$BIN" "$ROOT/sbin/init"
chmod 755 "$ROOT/sbin/init"
mknod "$ROOT/dev/console" c 5 1
mknod "$ROOT/dev/ttyS0" c 4 64
mknod "$ROOT/dev/tty" c 5 0
mknod "$ROOT/dev/null" c 1 3
rm -f "$WORK/root.img"
mke2fs -q -t ext2 -r 0 -b 1024 -I 128 -O none -d "$ROOT" -F "$WORK/root.img" 8192
rm -f "$WORK/console.log"
# shellcheck disable=SC2086
timeout "$TIMEOUT" qemu-system-i386 -M pc-i440fx-7.2 -cpu pentium -m 32 -accel tcg \
	-kernel "$KERNEL" -append "$APPEND" -net none \
	-drive file="$WORK/root.img",format=raw,if=ide,index=0,snapshot=on \
	-display none -monitor none -serial file:"$WORK/console.log" -no-reboot ${QEMU_EXTRA:-} || true
tr -d '\r' < "$WORK/console.log"
