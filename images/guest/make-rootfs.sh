#!/bin/bash
# make-rootfs.sh USERLAND_DIR AUTHORIZED_KEY_PUB OUT_DIR [SIZE_KIB]
#
# Why: assembles the guest's root file system from the binaries of build-userland.sh and
# writes it as the ext2 revision 0 image a Linux 2.0.36 kernel mounts as /dev/hda.
#   USERLAND_DIR        build-userland.sh's OUT_DIR (bin/busybox, bin/dropbearmulti,
#                       bin/sftp-server)
#   AUTHORIZED_KEY_PUB  an OpenSSH public key file (the lab's ed25519 key) that becomes
#                       /root/.ssh/authorized_keys
#   OUT_DIR             receives rootfs/ (the tree, without device nodes), root.img,
#                       dropbear_ed25519_host_key.pub (OpenSSH format: pin it on the host)
#                       and MANIFEST (every path, mode, owner, size, sha256 of the image)
#   SIZE_KIB            image size in 1 KiB blocks (default 4096)
# The dropbear host key is generated here, at build time, with the freshly built
# dropbearkey (a static i386 binary; runs on an x86_64 host kernel).
#
# Root privileges are NOT needed, and nothing depends on whether the caller is root:
# the tree holds no device nodes; `mke2fs -d` copies it, then one debugfs script makes
# the device nodes (mknod + mode) inside the image and sets owner 0:0 on every inode.
# (mke2fs -d would copy device nodes from the tree, but making them needs CAP_MKNOD,
# which a rootless container lacks.)
set -eu

if [ $# -lt 3 ] || [ $# -gt 4 ]; then
    echo "usage: $0 USERLAND_DIR AUTHORIZED_KEY_PUB OUT_DIR [SIZE_KIB]" >&2
    exit 2
fi
UL=$(cd "$1" && pwd)
PUBKEY=$2
mkdir -p "$3"
OUT=$(cd "$3" && pwd)
SIZE=${4:-4096}
HERE=$(cd "$(dirname "$0")" && pwd)
export LC_ALL=C
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-946684800}
export E2FSPROGS_FAKE_TIME=$SOURCE_DATE_EPOCH
PATH=$PATH:/sbin:/usr/sbin

for b in busybox dropbearmulti sftp-server; do
    [ -x "$UL/bin/$b" ] || { echo "missing $UL/bin/$b" >&2; exit 1; }
done
grep -qE '^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp256) ' "$PUBKEY" ||
    { echo "$PUBKEY: not an OpenSSH public key" >&2; exit 1; }

R=$OUT/rootfs
rm -rf "$R" "$OUT/root.img"
mkdir -p "$R"
umask 022

# ---- directories and programs
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,usr/libexec,etc/dropbear,proc,dev,tmp,root/.ssh,var/run,var/log,home}
chmod 1777 "$R/tmp"
chmod 700 "$R/root" "$R/root/.ssh"
install -m 755 "$UL/bin/busybox" "$R/bin/busybox"
install -m 755 "$UL/bin/dropbearmulti" "$R/usr/sbin/dropbearmulti"
install -m 755 "$UL/bin/sftp-server" "$R/usr/libexec/sftp-server"
ln -s dropbearmulti "$R/usr/sbin/dropbear"
ln -s ../sbin/dropbearmulti "$R/usr/bin/dropbearkey"

# busybox applet links, relative symlinks.  The names come from the binary itself
# (--list); system applets go to /sbin (the kernel runs /sbin/init), the rest to /bin.
"$UL/bin/busybox" --list | while read -r name; do
    case $name in
        busybox) continue ;;
        init|halt|poweroff|reboot|ifconfig|route|mknod) ln -s ../bin/busybox "$R/sbin/$name" ;;
        *) ln -s busybox "$R/bin/$name" ;;
    esac
done
[ -L "$R/sbin/init" ] && [ -L "$R/bin/sh" ] || { echo "busybox lacks init or sh" >&2; exit 1; }

# ---- /etc
cat > "$R/etc/inittab" <<'TAB'
# busybox init: /etc/rc brings the system up; no login on the (invisible) VGA console.
::sysinit:/etc/rc
::ctrlaltdel:/sbin/reboot
::shutdown:/bin/umount -a -r
TAB
cat > "$R/etc/rc" <<'RC'
#!/bin/sh
# /etc/rc - system start on Linux 2.0.36 (run once by init).
PATH=/bin:/sbin:/usr/bin:/usr/sbin
export PATH
say() { echo "rc: $*" > /dev/ttyS0; }   # the serial port is the host's console.log
# The kernel mounts / read-only; 2.0 honours remount only with MS_MGC_VAL in the flags,
# which the compat layer adds to every mount(2).
# (Source and target both given: busybox would otherwise merge the "ro" it reads
# from /proc/mounts after our "rw".)
mount -o remount,rw /dev/hda /
mount -t proc proc /proc
hostname guest
# 2.0's ifconfig adds no interface route: every route is explicit, and the default
# route can only be added once 10.0.2.0/24 is reachable through eth0.
ifconfig lo 127.0.0.1 netmask 255.0.0.0 up
route add -net 127.0.0.0 netmask 255.0.0.0 lo
ifconfig eth0 10.0.2.15 netmask 255.255.255.0 broadcast 10.0.2.255 up
route add -net 10.0.2.0 netmask 255.255.255.0 eth0
route add default gw 10.0.2.2
say "network up"
# Key-only: password authentication is compiled out (so dropbear has no -s/-g flags).
# ed25519 host key made at image build time.  dropbear forks into the background.
if /usr/sbin/dropbear -r /etc/dropbear/dropbear_ed25519_host_key -p 22; then
    say "dropbear started"
else
    say "dropbear FAILED"
fi
RC
chmod 755 "$R/etc/rc"
cat > "$R/etc/passwd" <<'PW'
root:x:0:0:root:/root:/bin/sh
PW
cat > "$R/etc/group" <<'GR'
root:x:0:
GR
echo /bin/sh > "$R/etc/shells"
echo guest > "$R/etc/hostname"
cat > "$R/etc/fstab" <<'FS'
/dev/hda / ext2 defaults 0 1
proc /proc proc defaults 0 0
FS
printf '127.0.0.1\tlocalhost\n10.0.2.15\tguest\n' > "$R/etc/hosts"
ln -s ../proc/mounts "$R/etc/mtab"
cat > "$R/etc/profile" <<'PR'
PATH=/bin:/sbin:/usr/bin:/usr/sbin
export PATH
PR

install -m 600 "$PUBKEY" "$R/root/.ssh/authorized_keys"

# ---- host key, made now so the host can pin it
"$UL/bin/dropbearmulti" dropbearkey -t ed25519 -f "$R/etc/dropbear/dropbear_ed25519_host_key" >/dev/null 2>&1
chmod 600 "$R/etc/dropbear/dropbear_ed25519_host_key"
"$UL/bin/dropbearmulti" dropbearkey -y -f "$R/etc/dropbear/dropbear_ed25519_host_key" |
    awk '$1 == "ssh-ed25519" { print $1, $2 }' > "$OUT/dropbear_ed25519_host_key.pub"

# ---- image: ext2 revision 0, 1 KiB blocks, 128-byte inodes, no features
find "$R" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
mke2fs -q -t ext2 -r 0 -b 1024 -I 128 -O none -d "$R" -F "$OUT/root.img" "$SIZE" 2>&1 |
    { grep -v 'dates beyond 2038' >&2 || true; }

# device nodes (the list 2.0 needs) and ownership, made inside the image
{
    echo "cd /dev"   # debugfs mknod links its NAME argument into the current directory
    while read -r name type major minor mode; do
        echo "mknod $name $type $major $minor"
        echo "sif /dev/$name mode 0$( [ "$type" = c ] && echo 02 || echo 06 )$mode"
    done <<'DEV'
null c 1 3 0666
zero c 1 5 0666
random c 1 8 0644
urandom c 1 9 0644
ram0 b 1 0 0660
tty c 5 0 0666
console c 5 1 0600
tty1 c 4 1 0620
ttyS0 c 4 64 0660
hda b 3 0 0660
hdb b 3 64 0660
ptyp0 c 2 0 0666
ptyp1 c 2 1 0666
ptyp2 c 2 2 0666
ptyp3 c 2 3 0666
ptyp4 c 2 4 0666
ptyp5 c 2 5 0666
ptyp6 c 2 6 0666
ptyp7 c 2 7 0666
ttyp0 c 3 0 0666
ttyp1 c 3 1 0666
ttyp2 c 3 2 0666
ttyp3 c 3 3 0666
ttyp4 c 3 4 0666
ttyp5 c 3 5 0666
ttyp6 c 3 6 0666
ttyp7 c 3 7 0666
DEV
    (cd "$R" && find . -mindepth 1) | sed 's#^\.##' | while read -r p; do
        echo "sif $p uid 0"
        echo "sif $p gid 0"
    done
    echo "sif / uid 0"
    echo "sif / gid 0"
} > "$OUT/debugfs.cmds"
debugfs -w -f "$OUT/debugfs.cmds" "$OUT/root.img" >"$OUT/debugfs.log" 2>&1
if grep -vE '^debugfs [0-9.]+ \(|^debugfs: |^Allocated inode: ' "$OUT/debugfs.log" | grep -q .; then
    echo "debugfs reported problems:" >&2
    grep -vE '^debugfs [0-9.]+ \(|^debugfs: |^Allocated inode: ' "$OUT/debugfs.log" >&2
    exit 1
fi
e2fsck -fn "$OUT/root.img" >"$OUT/e2fsck.log" 2>&1 || { cat "$OUT/e2fsck.log" >&2; exit 1; }

# ---- manifest of what is in the image
{
    echo "# root.img $(sha256sum < "$OUT/root.img" | cut -d' ' -f1) size ${SIZE}KiB"
    echo "# host key: $(cat "$OUT/dropbear_ed25519_host_key.pub")"
    debugfs -R "ls -l /dev" "$OUT/root.img" 2>/dev/null | awk 'NF { print "dev", $0 }'
    (cd "$R" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
} > "$OUT/MANIFEST"
echo "image: $OUT/root.img ($(du -k "$OUT/root.img" | cut -f1) KiB on disk)"
echo "host key (pin this): $(cat "$OUT/dropbear_ed25519_host_key.pub")"
