#!/bin/sh
# build.sh host OUTDIR         the tools with the host's cc (for the tests against GNU)
# build.sh guest OUTDIR CC     static i386 binaries for the 2.0.36 guest; CC is the
#                              musl + compat wrapper (guest-tools/compat/build-compat.sh)
# Both methods of a tool are one binary (--method= chooses at run time): one compiler,
# one set of flags.  OUTDIR/BUILDINFO records the compiler, its version, the flags and
# the sha256 of every source and binary.
set -eu
if [ $# -lt 2 ]; then
    echo "usage: $0 host OUTDIR | $0 guest OUTDIR CC" >&2
    exit 2
fi
MODE=$1
mkdir -p "$2"
OUT=$(cd "$2" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
case $MODE in
host)
    CC=${CC:-cc}
    CFLAGS="-std=c99 -O2 -Wall -Wextra -Wno-unused-parameter"
    LDFLAGS=""
    ;;
guest)
    if [ $# -ne 3 ]; then
        echo "usage: $0 guest OUTDIR CC" >&2
        exit 2
    fi
    CC=$3
    CFLAGS="-std=c99 -O2 -static -Wall -Wextra -Wno-unused-parameter"
    LDFLAGS="-static"
    ;;
*)
    echo "$0: unknown target '$MODE' (host or guest)" >&2
    exit 2
    ;;
esac
TOOLS="cat wc grep pipemap timeit gendata"
for t in $TOOLS; do
    case $t in
    cat|wc|grep) srcs="$HERE/$t.c $HERE/input.c" ;;
    *) srcs="$HERE/$t.c" ;;
    esac
    # shellcheck disable=SC2086
    $CC $CFLAGS -o "$OUT/$t" $srcs $LDFLAGS
done
if [ "$MODE" = guest ]; then
    AUDIT=$(dirname "$CC")/audit
    if [ -x "$AUDIT" ]; then
        for t in $TOOLS; do "$AUDIT" "$OUT/$t" >/dev/null; done
    fi
fi
{
    echo "target: $MODE"
    echo "cc: $CC"
    echo "cc-version: $($CC --version 2>/dev/null | head -n 1)"
    if [ "$MODE" = guest ]; then
        echo "cc-wrapper:"
        sed 's/^/    /' "$CC"
    fi
    echo "cflags: $CFLAGS"
    echo "ldflags: $LDFLAGS"
    echo "methods: one binary per tool, --method=read|mmap chosen at run time"
    echo "sources:"
    (cd "$HERE" && sha256sum build.sh input.h input.c ../include/xmmap.h cat.c wc.c grep.c pipemap.c timeit.c gendata.c | sed 's/^/    /')
    echo "binaries:"
    (cd "$OUT" && sha256sum $TOOLS | sed 's/^/    /')
} > "$OUT/BUILDINFO"
echo "built $TOOLS in $OUT"
