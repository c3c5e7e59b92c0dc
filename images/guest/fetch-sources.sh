#!/bin/bash
# fetch-sources.sh STATE_DIR OUT_DIR SOURCES
#
# Why: the guest userland is built from Debian's own source packages (busybox, dropbear,
# openssh) and Debian's musl for i386, so that every byte of it is traceable to a Debian
# archive. This is the only step that needs the network; the build itself
# (build-rootfs.sh) then runs offline, e.g. in a bookworm container.
#
# How: a private apt configuration under STATE_DIR (the host's /etc/apt and its dpkg
# architecture list stay untouched):
#   - SOURCES is a deb822 file the lab DERIVES AT RUN TIME from the host's apt sources in
#     whatever form the host keeps them (harness/aptsources.py: one-line sources.list,
#     deb822 files of any name, several files): Debian bookworm entries only, "Types: deb
#     deb-src", the security suite limited to "Architectures: amd64" (its i386 index has
#     failed to download with size mismatches, and apt then drops the whole suite). No
#     mirror name is ever written into the repo.
#   - apt-get source busybox dropbear openssh   -> OUT_DIR/src/<pkg>-<version>/ (unpacked,
#     Debian patches applied by dpkg-source)
#   - apt-get download musl-dev:i386 linux-libc-dev:i386 (with APT::Architectures::=i386),
#     then dpkg-deb -x both into OUT_DIR/sysroot (musl has no <linux/*.h>; busybox needs
#     them; the i386 package carries the 32-bit <asm/*.h>)
#   - OUT_DIR/MANIFEST: package versions and sha256 of every downloaded file.
# Needs: apt, dpkg-dev (dpkg-source). Run as root or as a user that may write STATE_DIR.
set -eu

if [ $# -ne 3 ]; then
    echo "usage: $0 STATE_DIR OUT_DIR SOURCES" >&2
    exit 2
fi
STATE=$(mkdir -p "$1" && cd "$1" && pwd)
OUT=$(mkdir -p "$2" && cd "$2" && pwd)
SOURCES=$3
SRC_PKGS=${SRC_PKGS:-"busybox dropbear openssh"}

[ -r "$SOURCES" ] || { echo "no apt sources file $SOURCES" >&2; exit 1; }
command -v dpkg-source >/dev/null || { echo "dpkg-source missing (apt-get install dpkg-dev)" >&2; exit 1; }

mkdir -p "$STATE/etc" "$STATE/lists/partial" "$STATE/cache/archives/partial" "$STATE/dl"

cat > "$STATE/etc/apt.conf" <<CONF
Dir::Etc::SourceList "/dev/null";
Dir::Etc::SourceParts "$STATE/etc/parts";
Dir::State::Lists "$STATE/lists";
Dir::Cache "$STATE/cache";
APT::Architectures:: "i386";
APT::Get::Download-Only "false";
CONF
rm -rf "$STATE/etc/parts" && mkdir -p "$STATE/etc/parts"
cp "$SOURCES" "$STATE/etc/parts/lab.sources"
export APT_CONFIG="$STATE/etc/apt.conf"

# apt drops privileges to _apt for downloads when it can; give it a directory it owns.
if [ "$(id -u)" = 0 ] && id _apt >/dev/null 2>&1; then
    chown -R _apt "$STATE/dl" "$STATE/lists" "$STATE/cache" 2>/dev/null || true
fi

apt-get -q update

mkdir -p "$OUT/src" "$OUT/debs"
(
    cd "$STATE/dl"
    # shellcheck disable=SC2086
    apt-get -q -y --only-source source $SRC_PKGS
    apt-get -q -y download musl-dev:i386 linux-libc-dev:i386
)

# Move the results into OUT_DIR (unpacked trees under src/, raw files kept for provenance).
rm -rf "$OUT/src" && mkdir -p "$OUT/src"
for d in "$STATE/dl"/*/; do
    mv "$d" "$OUT/src/"
done
mv "$STATE/dl"/*.dsc "$STATE/dl"/*.tar.* "$OUT/debs/" 2>/dev/null || true
mv "$STATE/dl"/*.deb "$OUT/debs/"

rm -rf "$OUT/sysroot" && mkdir -p "$OUT/sysroot"
for deb in "$OUT"/debs/musl-dev_*_i386.deb "$OUT"/debs/linux-libc-dev_*_i386.deb; do
    dpkg-deb -x "$deb" "$OUT/sysroot"
done

{
    echo "# fetched $(date -u +%Y-%m-%dT%H:%M:%SZ) by fetch-sources.sh"
    for dsc in "$OUT"/debs/*.dsc; do
        echo "source $(sed -n 's/^Source: //p' "$dsc") $(sed -n 's/^Version: //p' "$dsc")"
    done
    for deb in "$OUT"/debs/*.deb; do
        echo "binary $(dpkg-deb -f "$deb" Package):$(dpkg-deb -f "$deb" Architecture) $(dpkg-deb -f "$deb" Version)"
    done
    (cd "$OUT/debs" && sha256sum -- *)
} > "$OUT/MANIFEST"
cat "$OUT/MANIFEST"
echo "unpacked sources: $(ls "$OUT/src" | tr '\n' ' ')"
echo "musl sysroot: $OUT/sysroot"
