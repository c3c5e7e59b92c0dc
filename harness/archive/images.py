"""Container images in and out of the archive: ``podman save``/``podman load`` via the lab's engine.

The images are what ``verify --rebuild`` needs: the toolchain image holds gcc 2.7.2.3 and
the Debian packages it was built with, which could not be made again from today's mirrors.
They are saved as OCI archives (the image ID, the sha256 of the image config, survives a
save and a load) and gzip'ed deterministically.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from harness import proc
from harness.archive import pack
from harness.archive.errors import ArchiveError, MissingStage
from harness.engine import Engine

SAVE_TIMEOUT = 1800


@dataclass(frozen=True)
class SavedImage:
    tag: str
    image_id: str
    file: Path  # the gzip'ed OCI archive


def member_name(tag: str) -> str:
    """``localhost/pipemap-toolchain:182e...`` -> ``pipemap-toolchain-182e....oci.tar.gz``."""
    return tag.rsplit("/", 1)[-1].replace(":", "-") + ".oci.tar.gz"


def save(engine: Engine, tag: str, dest_dir: Path, log: Path, stage: str, level: int, say: pack.Say) -> SavedImage:
    """Save ``tag`` from the lab's storage as a gzip'ed OCI archive in ``dest_dir``.

    ``podman save --format oci-archive`` stamps the time into its tar, so the same image
    gave different bytes on every save; an ``oci-dir`` save is byte-stable, and packing it
    with the lab's deterministic tar gives an OCI archive (the layout at the tar's top)
    that ``podman load`` reads like its own.
    """
    if engine.name != "podman":
        raise ArchiveError(f"archive: container images are saved with podman, not {engine.name}")
    if not engine.image_exists(tag):
        raise MissingStage(f"archive: image {tag} is not in the lab's podman storage: run `./inv {stage}`")
    image_id = engine.image_id(tag)
    layout = dest_dir / (member_name(tag) + ".dir")
    out = dest_dir / member_name(tag)
    t0 = time.monotonic()
    say(f"archive: podman save {tag} (OCI layout)")
    try:
        proc.run([engine.program, "save", "--format", "oci-dir", "-o", layout, tag], timeout=SAVE_TIMEOUT,
                 log=log, env=engine.env, what="podman save")
        size = sum(e.path.stat().st_size for e in pack.staged_files(layout) if e.path)
        say(f"archive: saved {tag}: {size >> 20} MiB in {time.monotonic() - t0:.0f} s; tar and gzip level {level}")
        t1 = time.monotonic()
        pack.pack_tree_gz(layout, "", out, level)
        say(f"archive: {out.name}: {out.stat().st_size >> 20} MiB in {time.monotonic() - t1:.0f} s")
    finally:
        shutil.rmtree(layout, ignore_errors=True)
    return SavedImage(tag, image_id, out)


def load(engine: Engine, archive_gz: Path, tag: str, image_id: str, log: Path, say: pack.Say) -> None:
    """Load an archived image into the lab's storage; an image with the same ID there is fine.

    The loaded image must have the recorded ID (else the archive's image is not the one the
    kernels were built with); it is tagged with the recorded tag if the load did not name it.
    """
    raw = archive_gz.with_name(archive_gz.name.removesuffix(".gz"))
    say(f"rebuild: podman load {archive_gz.name}")
    pack.gunzip_file(archive_gz, raw)
    try:
        proc.run([engine.program, "load", "-i", raw], timeout=SAVE_TIMEOUT, log=log, env=engine.env,
                 what="podman load")
    finally:
        raw.unlink(missing_ok=True)
    if not engine.image_exists(tag):
        proc.run([engine.program, "tag", image_id, tag], timeout=60, log=log, env=engine.env, what="podman tag")
    got = engine.image_id(tag)
    if got != image_id:
        raise ArchiveError(f"rebuild: image {tag} has ID {got[:16]} after loading, the archive records "
                           f"{image_id[:16]}")
