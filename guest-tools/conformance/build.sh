#!/bin/sh
# build.sh [OUTDIR [PROGRAM...]] -- build the freestanding static i386 guest
# programs with today's gcc; no libc.  PROGRAM is runner (the conformance
# suite, ./runner.c), stress (../stress/stress.c) or demo (../demo/demo.c);
# default: all three.  Output: OUTDIR/PROGRAM (default OUTDIR: ./out).
# All share start.S and sys.c (the int $0x80 layer) of this directory.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$HERE/out}
[ $# -gt 0 ] && shift
PROGRAMS=${*:-runner stress demo}
mkdir -p "$OUT"
CC=${CC:-gcc}
CFLAGS="-m32 -static -nostdlib -ffreestanding -fno-pic -fno-pie -no-pie -fno-stack-protector -fno-builtin -O2 -Wall -march=i386 -mtune=i386 -fno-asynchronous-unwind-tables"
for p in $PROGRAMS; do
	case $p in
	runner) SRC=$HERE/runner.c ;;
	stress) SRC=$HERE/../stress/stress.c ;;
	demo) SRC=$HERE/../demo/demo.c ;;
	*) echo "build.sh: unknown program $p" >&2; exit 2 ;;
	esac
	$CC $CFLAGS -o "$OUT/$p" "$HERE/start.S" "$HERE/sys.c" "$SRC" -Wl,--build-id=none -Wl,-z,norelro -Wl,-z,noexecstack
	echo "$OUT/$p"
done
