"""Stage 9, archive: one self-describing, self-checking file holding the whole study.

``create`` stages every part (results, the report rendered from them, our patches and
configurations, the source archives, the container images, kernels, root image and build
records) into a directory next to the archive, writes RO-Crate metadata describing each
file with its size and sha256, and packs all of it into one deterministic tar. ``verify``
(``harness.archive.verify``) reads it back offline; ``rebuild`` (``harness.archive.rebuild``)
builds both kernels again from nothing but the archive.

Modules: ``contents`` (what goes in, checked), ``images`` (podman save/load), ``pack``
(deterministic tar/gzip), ``crate`` (the metadata and its self-check), ``verify``, ``rebuild``.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import hashing
from harness.archive import contents, crate, pack
from harness.archive.contents import Item, Renderer, Staging
from harness.archive.errors import ArchiveError
from harness.settings import Settings

IMAGE_GZIP_LEVEL = 1  # ~1 GB of images: level 1 is ~3x faster than 6 for a few % more bytes
GZIP_LEVEL = 6


@dataclass(frozen=True)
class Created:
    path: Path
    size: int
    members: int
    seconds: float


def archive_dir(settings: Settings) -> Path:
    return settings.build / "archive"


def assemble(staging: Path, items: list[Item], props: dict[str, Any], out_dir: Path) -> Path:
    """Write the metadata for ``items`` (all staged under ``staging``) and pack the archive.

    The archive's name carries the first 12 hex digits of the metadata's sha256, which
    covers the hash of every member: the name says which content it is.
    """
    (staging / crate.NAME).unlink(missing_ok=True)
    names = sorted(i.name for i in items)
    on_disk = sorted(e.name for e in pack.staged_files(staging))
    if names != on_disk:
        extra = sorted(set(on_disk) - set(names)) + sorted(set(names) - set(on_disk))
        raise ArchiveError(f"archive: staged files and described files differ: {', '.join(extra[:5])}")
    files = [crate.FileInfo(i.name, i.path.stat().st_size, hashing.sha256_file(i.path), i.description, i.extra)
             for i in items]
    profile = props.get("pipemap:profile", "unknown")
    root = {k: v for k, v in props.items() if k not in ("name", "description", "datePublished")}
    meta = crate.build(
        files,
        props.get("name", f"pipemap: memory mapping of pipes under Linux 2.0.36, replicated ({profile} profile)"),
        props.get("description", "Replication of 'Memory mapping of pipes under Linux' (1999) on Linux 2.0.36 "
                                 "under QEMU: results, report, patches, configurations, sources, toolchain and "
                                 "guest-build images, kernels, root file system and build records."),
        props.get("datePublished", "1970-01-01"), root)
    (staging / crate.NAME).write_bytes(meta)
    out_dir.mkdir(parents=True, exist_ok=True)
    dest = out_dir / f"pipemap-{profile}-{hashing.sha256_bytes(meta)[:12]}.tar"
    pack.write_archive(staging, dest)
    return dest


def _renderer() -> Renderer:
    try:
        from harness.report import render
    except ImportError as e:
        raise ArchiveError(f"archive: the report stage is not available (harness.report: {e})") from None
    return render


def create(settings: Settings, say: pack.Say, renderer: Renderer | None = None,
           image_level: int = IMAGE_GZIP_LEVEL, out_dir: Path | None = None) -> Created:
    """Archive the current build into ``out_dir`` (default build/archive); nothing is left
    behind but the finished archive, also when a step fails."""
    t0 = time.monotonic()
    inp = contents.check(settings)  # everything present and consistent, before any copying
    render = renderer or _renderer()
    out_dir = out_dir or archive_dir(settings)
    out_dir.mkdir(parents=True, exist_ok=True)
    work = out_dir / f".work-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    try:
        st = Staging(work / "crate")
        st.root.mkdir(parents=True)
        contents.results(st, inp)
        say("archive: rendering the report from the archived results")
        contents.report(st, render, work / "scratch")
        contents.lab(st, settings, inp)
        contents.sources(st, settings, inp, GZIP_LEVEL, say)
        contents.kernels_rootfs_records(st, settings, inp, GZIP_LEVEL)
        contents.container_images(st, settings, inp, image_level, say)
        say(f"archive: hashing and packing {len(st.items)} members")
        dest = assemble(st.root, st.items, st.props, out_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for old in sorted(out_dir.glob(f"{dest.name.rsplit('-', 1)[0]}-*.tar")):
        if old != dest:  # an archive is ~400 MiB: keep the newest of each profile (copy away what you hand out)
            say(f"archive: removing the previous archive {old.name}")
            old.unlink()
    return Created(dest, dest.stat().st_size, len(st.items) + 1, time.monotonic() - t0)
