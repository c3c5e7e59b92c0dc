"""Stage 4, image: the guest's root file system for 2.0.36.

Three steps, each cached by a hash of its inputs:
1. Debian sources (host, the only step with network): images/guest/fetch-sources.sh runs
   ``apt-get source`` for busybox, dropbear and openssh and downloads musl-dev:i386 through
   a private apt configuration under the cache (deb-src entries derived from the host's
   apt sources at run time; /etc/apt is never changed). apt checks every file against the
   signed archive indexes; the script's MANIFEST records versions and sha256.
2. Userland (container, offline): images/guest/build-userland.sh builds static i386
   busybox, dropbear and sftp-server against musl plus our compatibility layer
   (guest-tools/compat), in a Debian base image with images/guest/build-deps.txt.
3. Root image (container, offline): images/guest/make-rootfs.sh assembles the tree, the
   user's public key as root's only credential and a fresh dropbear host key, and writes
   the ext2 revision 0 image with ``mke2fs -d`` (no root privileges needed).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from harness import atomic, baseimage, hashing, keys, proc
from harness import engine as engine_mod
from harness.engine import Bind, Engine
from harness.errors import CommandFailed, ImageBuildFailed
from harness.settings import Settings

FETCH_TIMEOUT = 1200
BUILD_TIMEOUT = 3600


@dataclass(frozen=True)
class RootImage:
    path: Path
    sha256: str
    host_key: str
    record: Path
    skipped: bool
    userland: Path  # the static busybox, dropbear and sftp-server the image holds

    @property
    def busybox(self) -> Path:
        return self.userland / "bin" / "busybox"


def _guest_dir(settings: Settings) -> Path:
    return settings.repo / "images" / "guest"


def _files_hash(*dirs: Path) -> str:
    entries = [e for d in dirs for e in hashing.scan_tree(d)]
    return hashing.tree_hash(entries)


def _complete(d: Path) -> bool:
    return (d / ".complete").exists()


def _finish(tmp: Path, final: Path, stamp: str) -> Path:
    """Mark the finished ``tmp`` complete and move it to ``final``: the stamp is the done-mark,
    written last, and the rename makes it appear together with everything it vouches for."""
    atomic.write_text(tmp / ".complete", stamp + "\n")
    with atomic.staged(final) as t:
        tmp.rename(t)
    return final


def debian_sources(settings: Settings, say=print) -> Path:  # noqa: ANN001
    """Unpacked Debian source packages and the musl sysroot (step 1)."""
    script = _guest_dir(settings) / "fetch-sources.sh"
    sources = baseimage.lab_sources(settings, deb_src=True, security_amd64_only=True)
    h = hashing.sha256_text("debsrc/2", hashing.sha256_file(script), hashing.sha256_file(sources))
    final = settings.cache / "debian-src" / h[:16]
    if _complete(final):
        return final
    tmp = final.with_name(final.name + ".part")
    shutil.rmtree(tmp, ignore_errors=True)
    log = settings.log_dir / "image-sources.log"
    say(f"image: fetching Debian source packages with a private apt configuration (log: {log})")
    try:
        proc.run(["bash", script, settings.cache / "apt-private", tmp, sources],
                 timeout=FETCH_TIMEOUT, log=log, what="fetch-sources.sh")
    except CommandFailed:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return _finish(tmp, final, h)


def build_engine(settings: Settings, eng: Engine, say=print) -> tuple[str, str]:  # noqa: ANN001
    """The container image the guest is built in: a Debian base with the build packages."""
    log = settings.log_dir / "image-base.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    return baseimage.ensure_base(settings, eng, baseimage.read_packages(_guest_dir(settings) / "build-deps.txt"),
                                 log, say)


def userland(settings: Settings, eng: Engine, src: Path, say=print) -> Path:  # noqa: ANN001
    """Static busybox, dropbear and sftp-server for 2.0.36 (step 2)."""
    tag, base = build_engine(settings, eng, say)
    h = hashing.sha256_text("userland/1", base, (src / ".complete").read_text().strip(),
                            _files_hash(_guest_dir(settings), settings.repo / "guest-tools" / "compat"))
    final = settings.cache / "guest-userland" / h[:16]
    if _complete(final):
        return final
    log = settings.log_dir / "image-userland.log"
    say(f"image: building busybox, dropbear and sftp-server for 2.0.36 in {eng.name} (log: {log})")
    # the .complete stamp is written last into the staged directory, which then becomes final
    with atomic.staged(final) as tmp:
        tmp.mkdir(parents=True)
        argv: list[str | Bind] = ["bash", Bind(settings.repo, True, "images/guest/build-userland.sh"),
                                  Bind(src, True, "src"), Bind(src, True, "sysroot"), Bind(tmp)]
        try:
            eng.run(tag, argv, log=log, timeout=BUILD_TIMEOUT, what="build-userland.sh")
        except CommandFailed as e:
            raise ImageBuildFailed(f"guest userland build failed (log: {log})", e.detail) from e
        atomic.write_text(tmp / ".complete", h + "\n")
    return final


def root_image(settings: Settings, eng: Engine, ul: Path, say=print) -> RootImage:  # noqa: ANN001
    """The ext2 root image with the user's key and a pinned host key (step 3)."""
    tag, _ = build_engine(settings, eng, say)
    client = keys.client_key(settings.state)
    pub = Path(str(client) + ".pub")
    script = _guest_dir(settings) / "make-rootfs.sh"
    h = hashing.sha256_text("rootimg/1", (ul / ".complete").read_text().strip(), hashing.sha256_file(script),
                            pub.read_text())
    final = settings.build / "image"
    rec_path = final / "image.json"
    if rec_path.exists():
        rec = json.loads(rec_path.read_text())
        img = final / "root.img"
        if rec.get("input_hash") == h and img.exists() and hashing.sha256_file(img) == rec["root_img_sha256"]:
            return RootImage(img, rec["root_img_sha256"], rec["host_key"], rec_path, True, ul)
    log = settings.log_dir / "image-rootfs.log"
    say(f"image: assembling the root file system (log: {log})")
    # image.json is the done-mark: written into the staged directory last, and the directory
    # becomes build/image only after it; a failure anywhere leaves no build/image/image.json.
    with atomic.staged(final) as tmp:
        tmp.mkdir(parents=True)
        argv: list[str | Bind] = ["bash", Bind(settings.repo, True, "images/guest/make-rootfs.sh"), Bind(ul, True),
                                  Bind(pub.parent, True, pub.name), Bind(tmp)]
        try:
            eng.run(tag, argv, log=log, timeout=600, what="make-rootfs.sh")
        except CommandFailed as e:
            raise ImageBuildFailed(f"root image build failed (log: {log})", e.detail) from e
        shutil.rmtree(tmp / "rootfs", ignore_errors=True)
        host_key = (tmp / "dropbear_ed25519_host_key.pub").read_text().strip()
        rec = {"input_hash": h, "root_img_sha256": hashing.sha256_file(tmp / "root.img"), "host_key": host_key,
               "userland": str(ul), "build_image": tag, "engine": eng.name}
        atomic.write_text(tmp / "image.json", json.dumps(rec, indent=2) + "\n")
    return RootImage(final / "root.img", rec["root_img_sha256"], host_key, final / "image.json", False, ul)


def ensure(settings: Settings, engine_name: str | None = None, say=print) -> RootImage:  # noqa: ANN001
    eng = engine_mod.select(settings, engine_name)
    src = debian_sources(settings, say)
    ul = userland(settings, eng, src, say)
    return root_image(settings, eng, ul, say)
