#!/bin/bash
# run-tests.sh SYSROOT [WORKDIR]
#
# Why: unit tests of the compat layer that need no 2.0.36 kernel.  Static i386 binaries
# run on the x86_64 host, so each test program (one per translated call area) is built
# with the layer's toolchain and run under check-syscalls.sh: it must pass its own checks
# AND issue only system calls Linux 2.0.36 implements.  SYSROOT: musl-dev:i386 +
# linux-libc-dev:i386 (images/guest/fetch-sources.sh OUT/sysroot).  Needs gcc-multilib,
# binutils, strace.  Prints "N passed, N failed" and exits non-zero on any failure.
set -eu
[ $# -ge 1 ] || { echo "usage: $0 SYSROOT [WORKDIR]" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=${2:-$(mktemp -d)}
mkdir -p "$WORK"
"$HERE/../build-compat.sh" "$1" "$WORK/tc" >/dev/null
pass=0
fail=0
for src in "$HERE"/t_*.c; do
    name=$(basename "$src" .c)
    if ! "$WORK/tc/cc" -O2 -Wall -o "$WORK/$name" "$src" 2>"$WORK/$name.cc.log" ||
       ! "$WORK/tc/audit" "$WORK/$name" >/dev/null; then
        echo "FAIL $name: build or audit (see $WORK/$name.cc.log)"
        fail=$((fail + 1))
        continue
    fi
    if (cd "$WORK" && STRACE_LOG="$WORK/$name.strace" "$HERE/check-syscalls.sh" -q "./$name") \
            >"$WORK/$name.out" 2>&1; then
        echo "ok $name ($(grep -c '^ok' "$WORK/$name.out") checks)"
        pass=$((pass + 1))
    else
        echo "FAIL $name:"
        grep -E '^not ok|^FAIL|^ +[0-9]+ [0-9]+ ' "$WORK/$name.out" | sed 's/^/    /'
        fail=$((fail + 1))
    fi
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
