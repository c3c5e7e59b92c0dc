#!/bin/sh
# build-kernel.sh TREE CC_PREFIX OUTDIR
#
# Build Linux 2.0.36 (bzImage) with gcc 2.7.2, reproducibly.
#   TREE       an unpacked 2.0.36 tree with patches/host-compat/*.patch already
#              applied (patch -p1); it is configured and built in place.
#   CC_PREFIX  either the install PREFIX of images/toolchain/build-gcc.sh
#              (containing bin/i486-linux-gcc) or a tool prefix such that
#              ${CC_PREFIX}gcc is the compiler (e.g. /opt/gcc/bin/i486-linux-).
#   OUTDIR     receives bzImage, System.map, config and compile.h.
# Environment (optional): KERNEL_CONFIG (default: config beside this script),
#   SOURCE_DATE_EPOCH (default 911131200 = Sun Nov 15 12:00:00 UTC 1998, the
#   2.0.36 release day), KBUILD_BUILD_USER (root), KBUILD_BUILD_HOST
#   (localhost), JOBS (2).
# Needs (Debian bookworm): make, gcc + gcc-multilib (host tools; build.c is
# built -m32), binutils (ld -m elf_i386, nm, objcopy), bin86 (as86/ld86 for
# the real-mode boot code), gzip, bash (the 2.0 Configure script), util-linux
# (setsid), coreutils.
set -eu

usage() { echo "usage: $0 TREE CC_PREFIX OUTDIR" >&2; exit 2; }
[ $# -eq 3 ] || usage
TREE=$(cd "$1" && pwd)
CC_PREFIX=$2
mkdir -p "$3"
OUTDIR=$(cd "$3" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
CONFIG=${KERNEL_CONFIG:-$HERE/config}
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-911131200}
BUILD_USER=${KBUILD_BUILD_USER:-root}
BUILD_HOST=${KBUILD_BUILD_HOST:-localhost}
JOBS=${JOBS:-2}

[ -f "$TREE/Makefile" ] && grep -q '^SUBLEVEL = 36$' "$TREE/Makefile" ||
	{ echo "$TREE is not a 2.0.36 tree" >&2; exit 1; }
[ -f "$CONFIG" ] || { echo "no config at $CONFIG" >&2; exit 1; }

# The compiler: accept a PREFIX directory or a CROSS_COMPILE-style prefix.
if [ -x "$CC_PREFIX/bin/i486-linux-gcc" ]; then
	GCC=$(cd "$CC_PREFIX/bin" && pwd)/i486-linux-gcc
elif [ -x "${CC_PREFIX}gcc" ]; then
	GCC=${CC_PREFIX}gcc
else
	echo "no gcc found for CC_PREFIX=$CC_PREFIX" >&2; exit 1
fi
case $("$GCC" --version) in 2.7.2*) ;; *) echo "$GCC is not gcc 2.7.2.x" >&2; exit 1 ;; esac

# Fixed locale and time zone: System.map is made with `sort`, and the
# version string with `date`.
LC_ALL=C; TZ=UTC; export LC_ALL TZ
unset MAKEFLAGS MFLAGS CFLAGS LDFLAGS GCC_EXEC_PREFIX 2>/dev/null || true

START=$(date +%s)

# Pinned build identity.  The top Makefile writes include/linux/compile.h
# with the output of `date`, `date +%T`, `whoami`, `hostname` and
# `dnsdomainname`/`domainname` (the domain is not used by any 2.0.36 source),
# and the counter in .version.  They end up in the "Linux version" banner
# (init/version.c) and in the setup header's kernel_version string
# (arch/i386/boot/setup.S).  Rather than patch the Makefile, put small
# stand-ins for these commands first in PATH.  The same directory holds a
# `gzip` that adds -n: arch/i386/boot/compressed/Makefile compresses with
# `gzip -9 < file`, and gzip then stores the temporary file's mtime in the
# header of the compressed kernel.
STUBS=$(mktemp -d "${TMPDIR:-/tmp}/build-kernel-stubs.XXXXXX")
trap 'rm -rf "$STUBS"' EXIT
REAL_DATE=$(command -v date)
REAL_GZIP=$(command -v gzip)
cat > "$STUBS/date" <<EOF
#!/bin/sh
exec $REAL_DATE -u -d @$SOURCE_DATE_EPOCH "\$@"
EOF
cat > "$STUBS/gzip" <<EOF
#!/bin/sh
exec $REAL_GZIP -n "\$@"
EOF
printf '#!/bin/sh\necho %s\n' "$BUILD_USER" > "$STUBS/whoami"
printf '#!/bin/sh\necho %s\n' "$BUILD_HOST" > "$STUBS/hostname"
printf '#!/bin/sh\necho\n' > "$STUBS/dnsdomainname"
printf '#!/bin/sh\necho\n' > "$STUBS/domainname"
chmod 755 "$STUBS"/*
PATH=$STUBS:$PATH; export PATH

# Make variables for every step:
#  CC       gcc 2.7.2 instead of the host gcc (the Makefile's own definition
#           plus the compiler path; $(HPATH) is expanded by make).
#  ROOT_DEV build.c's default CURRENT would stamp the build machine's root
#           device into the image (offset 508); FLOPPY stores 0 (no default
#           root device: pass root= on the command line, or use rdev).
set -- "CC=$GCC -D__KERNEL__ -I\$(HPATH)" ROOT_DEV=FLOPPY

cd "$TREE"

# Step 1: configuration.  oldconfig reads answers for NEW symbols from
# /dev/tty; setsid takes away the controlling terminal so an incomplete
# config fails instead of prompting (or hanging).  Then insist that oldconfig
# kept the config unchanged, i.e. that it is complete for this tree.
cp "$CONFIG" .config
setsid make "$@" oldconfig < /dev/null > "$OUTDIR/oldconfig.log" 2>&1 ||
	{ tail -5 "$OUTDIR/oldconfig.log" >&2; echo "make oldconfig failed (config incomplete?)" >&2; exit 1; }
if ! cmp -s .config "$CONFIG"; then
	diff "$CONFIG" .config >&2 || true
	echo "make oldconfig changed the config: update $CONFIG" >&2; exit 1
fi

# Step 2: dependencies (needs the patched scripts/mkdep).  Serial: it is quick.
make "$@" dep > "$OUTDIR/dep.log" 2>&1 || { tail -20 "$OUTDIR/dep.log" >&2; exit 1; }

# Step 3: the image.  .version is the build counter in the banner ("#1"):
# start from scratch so rebuilding a tree gives the same string.
rm -f .version include/linux/compile.h
make -j"$JOBS" "$@" bzImage > "$OUTDIR/build.log" 2>&1 || { tail -30 "$OUTDIR/build.log" >&2; exit 1; }

cp arch/i386/boot/bzImage System.map "$OUTDIR/"
cp .config "$OUTDIR/config"
cp include/linux/compile.h "$OUTDIR/compile.h"
END=$($REAL_DATE +%s)	# plain `date` is the pinned stub by now
echo "build-kernel.sh: bzImage sha256 $(sha256sum "$OUTDIR/bzImage" | cut -d' ' -f1), $((END - START)) s"
