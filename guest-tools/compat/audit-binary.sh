#!/bin/bash
# audit-binary.sh BINARY   (installed as OUTDIR/audit by build-compat.sh)
#
# Why: the compat layer only sees calls musl routes through %gs:16.  This post-link check
# (run on the UNSTRIPPED binary) makes sure nothing slipped past it and that the code
# runs on the guest's Pentium:
#   - the layer is linked (compat_dispatch present, musl's vfork/__set_thread_area not);
#   - "int $0x80" appears only in functions known to be harmless on 2.0.36:
#       compat_raw (the layer's gate), __init_tp/__init_tls (patched to getpid),
#       __clone (clone 120 + exit 1), __restore/__restore_rt (sigreturn stubs, never used:
#       the layer passes no SA_RESTORER), __unmapself (detached-thread exit; threads are
#       impossible on 2.0).  __syscall_cp_asm (pthread_cancel) fails the audit;
#   - no PT_TLS segment (TLS uses a segment limited below TASK_SIZE: negative %gs offsets
#     would fault);
#   - no P6/SSE instructions (cmov, fcmov, fcomi, fucomi, xmm registers, sysenter).
set -eu
[ $# -eq 1 ] || { echo "usage: $0 BINARY" >&2; exit 2; }
bin=$1
fail=0
err() { echo "audit: $bin: $*" >&2; fail=1; }

file_syms=$(nm "$bin" 2>/dev/null || true)
[ -n "$file_syms" ] || { err "no symbols (audit before stripping)"; exit 1; }
grep -q ' compat_dispatch$' <<<"$file_syms" || err "compat layer not linked"
grep -q ' __syscall_cp_asm$' <<<"$file_syms" && err "pthread_cancel machinery linked (direct int \$0x80)"

if readelf -lW "$bin" | awk '$1 == "TLS" && $6 !~ /^0x0+$/ { found = 1 } END { exit !found }'; then
    err "has a PT_TLS segment (static __thread variables are not supported)"
fi

dis=$(objdump -d --no-show-raw-insn "$bin")
bad_int80=$(awk '
    /^[0-9a-f]+ <.*>:$/ { fn = $2; gsub(/[<>:]/, "", fn); next }
    /\tint +\$0x80/ {
        if (fn !~ /^(compat_raw|__init_tp|__init_tls|static_init_tls|__clone|__restore|__restore_rt|__unmapself)$/)
            print fn
    }' <<<"$dis" | sort -u)
[ -z "$bad_int80" ] || err "direct int \$0x80 outside the layer in: $(echo $bad_int80)"

p6=$(grep -E '\s(cmov[a-z]*|fcmov[a-z]*|fu?comip?|sysenter)\s|%xmm' <<<"$dis" | head -5 || true)
[ -z "$p6" ] || err "instructions a Pentium lacks:
$p6"

[ $fail = 0 ] && echo "audit: $bin: ok"
exit $fail
