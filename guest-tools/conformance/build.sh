#!/bin/sh
# build.sh [OUTDIR] -- build the freestanding static i386 conformance runner
# with today's gcc; no libc.  Output: OUTDIR/runner (default: ./out).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$HERE/out}
mkdir -p "$OUT"
CC=${CC:-gcc}
CFLAGS="-m32 -static -nostdlib -ffreestanding -fno-pic -fno-pie -no-pie -fno-stack-protector -fno-builtin -O2 -Wall -march=i386 -mtune=i386 -fno-asynchronous-unwind-tables"
$CC $CFLAGS -o "$OUT/runner" "$HERE/start.S" "$HERE/sys.c" "$HERE/runner.c" -Wl,--build-id=none -Wl,-z,norelro -Wl,-z,noexecstack
echo "$OUT/runner"
