#!/bin/bash
# check-syscalls.sh [-q] PROGRAM [ARGS...]
#
# Why: the guest kernel (Linux 2.0.36) implements i386 system calls 1..166 only, with a
# few holes.  Static 32-bit programs run on the modern host kernel too, so we run the
# program under strace (following forks) and fail if any traced call, in any process,
# is one 2.0.36 would not serve: a number above 166, an empty slot (164, 165), or one of
# 2.0's ENOSYS stubs (17 break, 31 stty, 32 gtty, 35 ftime, 44 prof, 52 phys,
# 53 lock, 56 mpx, 58 ulimit, 137 afs_syscall) or 0 setup / 112 idle.  The numbers come
# from 2.0.36's include/asm-i386/unistd.h and arch/i386/kernel/entry.S.
# The program's own exit status must be 0 as well.  Exit 0 = pass, 1 = fail.
# -q: print only the verdict.  STRACE_LOG=FILE keeps the trace.
set -eu
quiet=0
if [ "${1:-}" = -q ]; then quiet=1; shift; fi
[ $# -ge 1 ] || { echo "usage: $0 [-q] PROGRAM [ARGS...]" >&2; exit 2; }
command -v strace >/dev/null || { echo "strace missing" >&2; exit 2; }

log=${STRACE_LOG:-$(mktemp)}
[ -n "${STRACE_LOG:-}" ] || trap 'rm -f "$log"' EXIT

set +e
strace -f -n --quiet=attach,exit -o "$log" -- "$@"
status=$?
set -e

# Lines look like "1234  [ 106] stat(...)" or "1234  [ 114] <... wait4 resumed>...".
# The first execve is strace's own launch in the 64-bit personality: skip it.
bad=$(awk '
    BEGIN {
        split("0 17 31 32 35 44 52 53 56 58 112 137 164 165", s, " ")
        for (i in s) stub[s[i]] = 1
    }
    {
        if (!match($0, /\[ *[0-9]+\] /)) next
        nr = substr($0, RSTART + 1, RLENGTH - 3) + 0
        rest = substr($0, RSTART + RLENGTH)
        if (rest ~ /^<\.\.\. /) next
        name = rest; sub(/\(.*/, "", name)
        if (!seen_first++) next
        if (nr > 166 || (nr in stub)) printf "%d %s\n", nr, name
    }' "$log" | sort | uniq -c)

# A 64-bit program (e.g. a host tool found through PATH) is not a guest program.
if grep -q 'runs in 64 bit mode' "$log"; then
    echo "FAIL $*: a 64-bit (host) program was executed; its calls do not count:"
    grep -B1 'runs in 64 bit mode' "$log" | grep -o 'execve("[^"]*"' | sort -u
    exit 1
fi
if [ -n "$bad" ]; then
    echo "FAIL $*: calls Linux 2.0.36 lacks:"
    echo "$bad"
    exit 1
fi
if [ $status -ne 0 ]; then
    echo "FAIL $*: exit status $status"
    exit 1
fi
if [ $quiet = 0 ]; then
    n=$(awk '/\[ *[0-9]+\] [a-z_0-9]+\(/ {c++} END {print c+0}' "$log")
    echo "ok $* ($n calls, all within 2.0.36)"
fi
exit 0
