#!/bin/bash
# build-userland.sh SRC_DIR SYSROOT OUT_DIR
#
# Why: builds the guest's three programs as static, stripped i386 binaries that run on
# Linux 2.0.36: musl 1.2.3 (Debian's musl-dev:i386, SYSROOT) plus our compatibility layer
# (guest-tools/compat), which turns musl's modern system calls into 2.0.36 ones.
#   SRC_DIR  holds unpacked Debian source packages busybox-*/ dropbear-*/ openssh-*/
#            (fetch-sources.sh OUT/src); they are copied, never modified in place.
#   SYSROOT  extracted musl-dev:i386 (fetch-sources.sh OUT/sysroot).
#   OUT_DIR  receives toolchain/ (cc wrapper, compat objects), build/ (work trees),
#            bin/busybox bin/dropbearmulti bin/sftp-server (stripped), unstripped/,
#            busybox.config.full (the expanded configuration) and BUILDINFO.
# Offline: needs only the Debian packages listed in images/guest/build-deps.txt.
# Every binary is audited (compat/audit-binary.sh) and, when strace is present, run once
# under tests/check-syscalls.sh.
set -eu

if [ $# -ne 3 ]; then
    echo "usage: $0 SRC_DIR SYSROOT OUT_DIR" >&2
    exit 2
fi
SRC=$(cd "$1" && pwd)
SYSROOT=$(cd "$2" && pwd)
mkdir -p "$3"
OUT=$(cd "$3" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
COMPAT=$REPO/guest-tools/compat
JOBS=${JOBS:-$(nproc)}
export LC_ALL=C
# Reproducibility: fixed build dates for tools that embed them.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-946684800}
export KCONFIG_NOTIMESTAMP=1

one_dir() {
    local d
    d=$(find "$SRC" -maxdepth 1 -type d -name "$1-[0-9]*" | sort | tail -1)
    [ -n "$d" ] || { echo "no $1-* directory in $SRC" >&2; exit 1; }
    echo "$d"
}
BB_SRC=$(one_dir busybox)
DB_SRC=$(one_dir dropbear)
OS_SRC=$(one_dir openssh)

log() { echo "== $(date +%H:%M:%S) $*"; }

log "toolchain"
"$COMPAT/build-compat.sh" "$SYSROOT" "$OUT/toolchain"
CC=$OUT/toolchain/cc
AUDIT=$OUT/toolchain/audit
STRIP=${STRIP:-strip}

rm -rf "$OUT/build" "$OUT/bin" "$OUT/unstripped"
mkdir -p "$OUT/build" "$OUT/bin" "$OUT/unstripped"

# ---------------------------------------------------------------- busybox
log "busybox ($(basename "$BB_SRC"))"
cp -a "$BB_SRC" "$OUT/build/busybox"
(
    cd "$OUT/build/busybox"
    make -s distclean >/dev/null 2>&1 || true
    # Our config is a fragment over allnoconfig: everything not listed is off.
    # (This kconfig ignores KCONFIG_ALLCONFIG for allnoconfig, so: allnoconfig, set
    # our lines, let oldconfig settle dependencies, then check that all of ours held.)
    make -s allnoconfig >/dev/null 2>&1
    grep -E '^(# )?CONFIG_' "$HERE/busybox.config" |
        sed -E 's/^# (CONFIG_[A-Z0-9_]+) is not set/\1=n/' > frag.txt
    awk -F= '
        NR == FNR { v[$1] = substr($0, length($1) + 2); next }
        {
            k = $0
            if (k ~ /^# CONFIG_[A-Z0-9_]+ is not set/) { split(k, a, " "); k = a[2] }
            else { split(k, a, "="); k = a[1] }
            if (k in v) {
                if (v[k] == "n") print "# " k " is not set"; else print k "=" v[k]
                delete v[k]
            } else print
        }
        END { for (k in v) { print "unknown busybox option " k > "/dev/stderr"; bad = 1 } exit bad }
    ' frag.txt .config > .config.new
    mv .config.new .config
    make -s oldconfig </dev/null >oldconfig.log 2>&1
    while IFS= read -r line; do
        k=${line%%=*}; v=${line#*=}
        if [ "$v" = n ]; then
            grep -q "^$k=" .config && { echo "busybox: $k should be off" >&2; exit 1; }
        else
            grep -qxF "$k=$v" .config || { echo "busybox: $k=$v did not hold" >&2; exit 1; }
        fi
    done < frag.txt
    make -s CC="$CC" HOSTCC=gcc -j"$JOBS" SKIP_STRIP=y busybox_unstripped >build.log 2>&1 \
        || { tail -40 build.log >&2; exit 1; }
)
cp "$OUT/build/busybox/busybox_unstripped" "$OUT/unstripped/busybox"
cp "$OUT/build/busybox/.config" "$OUT/busybox.config.full"

# ---------------------------------------------------------------- dropbear
log "dropbear ($(basename "$DB_SRC"))"
cp -a "$DB_SRC" "$OUT/build/dropbear"
cp "$HERE/dropbear-localoptions.h" "$OUT/build/dropbear/localoptions.h"
(
    cd "$OUT/build/dropbear"
    CC="$CC" ./configure --host=i586-linux-musl --build="$(gcc -dumpmachine)" \
        --enable-static --disable-zlib --disable-pam --disable-harden \
        --disable-lastlog --disable-utmp --disable-utmpx --disable-wtmp --disable-wtmpx \
        --disable-pututline --disable-pututxline --disable-syslog \
        --enable-bundled-libtom >configure.log 2>&1 || { tail -30 configure.log >&2; exit 1; }
    make -j"$JOBS" PROGRAMS="dropbear dropbearkey" MULTI=1 STATIC=1 >build.log 2>&1 \
        || { tail -40 build.log >&2; exit 1; }
)
cp "$OUT/build/dropbear/dropbearmulti" "$OUT/unstripped/dropbearmulti"

# ---------------------------------------------------------------- openssh sftp-server
log "sftp-server ($(basename "$OS_SRC"))"
cp -a "$OS_SRC" "$OUT/build/openssh"
(
    cd "$OUT/build/openssh"
    # Debian's patches touch configure.ac: regenerate configure and config.h.in (OpenSSH
    # ships its aclocal.m4, so autoconf + autoheader suffice; no automake needed)
    { autoconf -f && autoheader -f; } >autoconf.log 2>&1 || { tail -20 autoconf.log >&2; exit 1; }
    # No prctl on 2.0: otherwise sftp-server's platform_disable_tracing() calls
    # prctl(PR_SET_DUMPABLE, 0), gets ENOSYS and exits "unable to make the process
    # undumpable" before answering SSH_FXP_INIT.
    ac_cv_header_sys_prctl_h=no ac_cv_func_prctl=no \
    CC="$CC" ./configure --host=i586-linux-musl --build="$(gcc -dumpmachine)" \
        --without-openssl --without-zlib --without-pam --without-selinux \
        --without-kerberos5 --without-libedit --without-hardening --without-pie \
        --without-security-key-builtin --disable-security-key --without-audit \
        --with-sandbox=no --disable-lastlog --disable-utmp --disable-utmpx \
        --disable-wtmp --disable-wtmpx --disable-pututline --disable-pututxline \
        --sysconfdir=/etc/ssh --libexecdir=/usr/libexec \
        >configure.log 2>&1 || { tail -30 configure.log >&2; exit 1; }
    make -j"$JOBS" sftp-server >build.log 2>&1 || { tail -40 build.log >&2; exit 1; }
)
cp "$OUT/build/openssh/sftp-server" "$OUT/unstripped/sftp-server"

# ---------------------------------------------------------------- audit, strip, check
for b in busybox dropbearmulti sftp-server; do
    "$AUDIT" "$OUT/unstripped/$b"
    "$STRIP" -o "$OUT/bin/$b" "$OUT/unstripped/$b"
done
if command -v strace >/dev/null; then
    chk=$COMPAT/tests/check-syscalls.sh
    "$chk" "$OUT/bin/busybox" sh -c "echo hi | $OUT/bin/busybox cat >/dev/null;
        $OUT/bin/busybox ls -l / >/dev/null; $OUT/bin/busybox true"
    "$chk" "$OUT/bin/dropbearmulti" dropbearkey -t ed25519 -f "$OUT/build/probe_key" >/dev/null
    rm -f "$OUT/build/probe_key"
    echo "(sftp-server is exercised by the rootfs test)"
else
    echo "strace not installed: skipped the host syscall check"
fi

{
    echo "built $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "busybox: $(basename "$BB_SRC")"
    echo "dropbear: $(basename "$DB_SRC")"
    echo "openssh: $(basename "$OS_SRC")"
    # versions of the Debian inputs, as recorded by fetch-sources.sh
    [ -f "$SYSROOT/../MANIFEST" ] && grep -E '^(source|binary) ' "$SYSROOT/../MANIFEST"
    echo "gcc: $(gcc --version | head -1)"
    echo "binutils: $(ld --version | head -1)"
    (cd "$OUT/bin" && ls -l busybox dropbearmulti sftp-server && sha256sum busybox dropbearmulti sftp-server)
} > "$OUT/BUILDINFO"
cat "$OUT/BUILDINFO"
