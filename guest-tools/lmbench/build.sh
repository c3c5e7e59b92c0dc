#!/bin/sh
# build.sh SRC OUTDIR CC
#
# Why: builds the lmbench 2alpha benchmarks the lab uses as static i386 binaries for the
# 2.0.36 guest, with the musl + compat wrapper CC (guest-tools/compat/build-compat.sh),
# from the pinned, unmodified tree SRC (its src/ directory holds the benchmarks).
# Nothing of lmbench is changed or copied: the only adaptation is this directory's
# include/ (a stub <rpc/rpc.h>, see its comment) placed on the include path.
# Flags: lmbench's own Makefile default (CFLAGS = -O), plus -static.  Each benchmark is
# linked with lib_timing.c and lib_stats.c, as the Makefile's lmbench.a provides them
# (the tcp/udp/unix libraries are not needed by these benchmarks).
# OUTDIR/BUILDINFO records the compiler, its version, the flags, the sha256 of every
# source file used and of every binary.
set -eu
if [ $# -ne 3 ]; then
    echo "usage: $0 SRC OUTDIR CC" >&2
    exit 2
fi
SRC=$(cd "$1/src" && pwd)
mkdir -p "$2"
OUT=$(cd "$2" && pwd)
CC=$3
HERE=$(cd "$(dirname "$0")" && pwd)
CFLAGS="-O -static -I$HERE/include"
# enough, timing_o, loop_o: lmbench's calibration programs; its scripts/config-run runs them
# once and exports ENOUGH, TIMING_O, LOOP_O so that each benchmark skips its own calibration.
BENCHES="bw_pipe lat_pipe lat_syscall lat_ctx bw_mem bw_file_rd bw_mmap_rd lat_pagefault enough timing_o loop_o"
LIBS="lib_timing.c lib_stats.c"
for b in $BENCHES; do
    # shellcheck disable=SC2086
    (cd "$SRC" && $CC $CFLAGS -o "$OUT/$b" "$b.c" $LIBS)
done
AUDIT=$(dirname "$CC")/audit
if [ -x "$AUDIT" ]; then
    for b in $BENCHES; do "$AUDIT" "$OUT/$b" >/dev/null; done
fi
{
    echo "lmbench: 2alpha (pinned tree, unmodified)"
    echo "cc: $CC"
    echo "cc-version: $($CC --version 2>/dev/null | head -n 1)"
    echo "cc-wrapper:"
    sed 's/^/    /' "$CC"
    echo "cflags: $CFLAGS"
    echo "compat-include:"
    (cd "$HERE" && sha256sum build.sh include/rpc/rpc.h include/rpc/types.h | sed 's/^/    /')
    echo "sources:"
    # shellcheck disable=SC2086
    (cd "$SRC" && sha256sum bench.h stats.h timing.h lib_tcp.h lib_udp.h lib_unix.h $LIBS \
        $(for b in $BENCHES; do echo "$b.c"; done) | sed 's/^/    /')
    echo "binaries:"
    # shellcheck disable=SC2086
    (cd "$OUT" && sha256sum $BENCHES | sed 's/^/    /')
} > "$OUT/BUILDINFO"
echo "built $BENCHES in $OUT"
