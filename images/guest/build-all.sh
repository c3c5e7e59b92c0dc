#!/bin/bash
# build-all.sh FETCHED_DIR AUTHORIZED_KEY_PUB OUT_DIR [SIZE_KIB]
#
# Why: the one offline entry point for the guest root file system: userland, then image.
#   FETCHED_DIR         fetch-sources.sh's OUT_DIR (src/ and sysroot/)
#   AUTHORIZED_KEY_PUB  the lab's SSH public key (ed25519), becomes root's authorized_keys
#   OUT_DIR             userland/ (build-userland.sh) and image/ (make-rootfs.sh):
#                       image/root.img, image/dropbear_ed25519_host_key.pub, MANIFESTs
# Runs without network and without root (see make-rootfs.sh for how device nodes are made).
set -eu
if [ $# -lt 3 ] || [ $# -gt 4 ]; then
    echo "usage: $0 FETCHED_DIR AUTHORIZED_KEY_PUB OUT_DIR [SIZE_KIB]" >&2
    exit 2
fi
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$3"
"$HERE/build-userland.sh" "$1/src" "$1/sysroot" "$3/userland"
"$HERE/make-rootfs.sh" "$3/userland" "$2" "$3/image" ${4:+"$4"}
