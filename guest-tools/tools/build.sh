#!/bin/sh
# build.sh host OUTDIR [LAYOUT]        the tools with the host's cc (for the tests against GNU)
# build.sh guest OUTDIR CC [LAYOUT]    static i386 binaries for the 2.0.36 guest; CC is the
#                                      musl + compat wrapper (guest-tools/compat/build-compat.sh)
# Both methods of a tool are one binary (--method= chooses at run time): one compiler,
# one set of flags.  OUTDIR/BUILDINFO records the compiler, its version, the layout, the
# flags and the sha256 of every source and binary.
#
# LAYOUT (the layout check after Mytkowicz et al., ASPLOS 2009: a difference that moves
# when only the code's addresses move is the layout's, not the method's):
#   O2        (default) the flags of the previous design.
#   O2-align  the same -O2 code generation plus -falign-functions=64 -falign-loops=64
#             -falign-jumps=64, and the object files of a multi-source tool (cat, wc,
#             grep: the tool, then input.c) linked in the reverse order.  Only where the
#             code sits (cache-line starts of functions and loops, the order of the
#             functions) changes, not the program: the optimisation level, and so the
#             instructions of every loop and the register allocation, stay O2's (an -O1
#             build would change the instructions too, mixing layout with code quality).
LAYOUTS="O2 O2-align"
set -eu
if [ $# -lt 2 ]; then
    echo "usage: $0 host OUTDIR [LAYOUT] | $0 guest OUTDIR CC [LAYOUT]  (LAYOUT: $LAYOUTS)" >&2
    exit 2
fi
MODE=$1
mkdir -p "$2"
OUT=$(cd "$2" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
case $MODE in
host)
    CC=${CC:-cc}
    LAYOUT=${3:-O2}
    CFLAGS="-std=c99 -O2 -Wall -Wextra -Wno-unused-parameter"
    LDFLAGS=""
    ;;
guest)
    if [ $# -lt 3 ] || [ $# -gt 4 ]; then
        echo "usage: $0 guest OUTDIR CC [LAYOUT]" >&2
        exit 2
    fi
    CC=$3
    LAYOUT=${4:-O2}
    CFLAGS="-std=c99 -O2 -static -Wall -Wextra -Wno-unused-parameter"
    LDFLAGS="-static"
    ;;
*)
    echo "$0: unknown target '$MODE' (host or guest)" >&2
    exit 2
    ;;
esac
case $LAYOUT in
O2) ;;
O2-align) CFLAGS="$CFLAGS -falign-functions=64 -falign-loops=64 -falign-jumps=64" ;;
*)
    echo "$0: unknown layout '$LAYOUT' (valid: $LAYOUTS)" >&2
    exit 2
    ;;
esac
TOOLS="cat wc grep pipemap timeit gendata"
for t in $TOOLS; do
    case $t in
    cat|wc|grep)
        if [ "$LAYOUT" = O2-align ]; then srcs="$HERE/input.c $HERE/$t.c"; else srcs="$HERE/$t.c $HERE/input.c"; fi
        ;;
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
    echo "layout: $LAYOUT"
    echo "cflags: $CFLAGS"
    echo "ldflags: $LDFLAGS"
    if [ "$LAYOUT" = O2-align ]; then echo "link-order: input.c before the tool (reversed)"; fi
    echo "methods: one binary per tool, --method=read|mmap chosen at run time"
    echo "sources:"
    (cd "$HERE" && sha256sum build.sh input.h input.c ../include/xmmap.h cat.c wc.c grep.c pipemap.c timeit.c gendata.c | sed 's/^/    /')
    echo "binaries:"
    (cd "$OUT" && sha256sum $TOOLS | sed 's/^/    /')
} > "$OUT/BUILDINFO"
echo "built $TOOLS ($LAYOUT) in $OUT"
