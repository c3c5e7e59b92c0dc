"""Deterministic tar and gzip writing: the same inputs give the same bytes.

An archive meant to be checked by hash years later must not depend on when or by whom it
was made, so every member is written with mtime 0, uid/gid 0, no user or group names and
fixed modes (644, or 755 for executables and directories), in sorted order; gzip streams
carry mtime 0 and no file name. The outer archive is an uncompressed POSIX (pax) tar so it
can be read in one streaming pass and every member hashed as stored.
"""

from __future__ import annotations

import gzip
import os
import stat
import tarfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from harness import atomic

CHUNK = 1 << 20
PROGRESS_EVERY = 15.0  # seconds between progress lines of a long step

Say = Callable[[str], None]


@dataclass(frozen=True)
class Entry:
    """One tar member: a regular file (from ``path``), a directory or a symlink."""

    name: str
    kind: str  # "file" | "dir" | "symlink"
    path: Path | None = None
    link: str = ""
    executable: bool = False


def _info(e: Entry) -> tarfile.TarInfo:
    ti = tarfile.TarInfo(e.name)
    ti.mtime = 0
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = ""
    if e.kind == "dir":
        ti.type, ti.mode = tarfile.DIRTYPE, 0o755
    elif e.kind == "symlink":
        ti.type, ti.mode, ti.linkname = tarfile.SYMTYPE, 0o777, e.link
    else:
        assert e.path is not None
        ti.type, ti.mode, ti.size = tarfile.REGTYPE, 0o755 if e.executable else 0o644, e.path.stat().st_size
    return ti


def write_tar(out: BinaryIO, entries: Iterable[Entry]) -> None:
    """Write ``entries`` as a tar stream into ``out``, sorted by name, with fixed metadata."""
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        for e in sorted(entries, key=lambda x: x.name):
            ti = _info(e)
            if e.kind == "file":
                assert e.path is not None
                with open(e.path, "rb") as f:
                    tar.addfile(ti, f)
            else:
                tar.addfile(ti)


def tree_entries(root: Path, prefix: str) -> list[Entry]:
    """Every directory, regular file and symlink under ``root``, named ``prefix/<relative path>``
    (with an empty ``prefix``: named by relative path, without an entry for ``root`` itself)."""
    out = [Entry(prefix, "dir")] if prefix else []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        base = Path(dirpath)
        for name in sorted(filenames + dirnames):
            full = base / name
            rel = full.relative_to(root).as_posix()
            rel = f"{prefix}/{rel}" if prefix else rel
            st = full.lstat()
            if stat.S_ISLNK(st.st_mode):
                out.append(Entry(rel, "symlink", link=os.readlink(full)))
            elif stat.S_ISDIR(st.st_mode):
                out.append(Entry(rel, "dir"))
            elif stat.S_ISREG(st.st_mode):
                out.append(Entry(rel, "file", full, executable=bool(st.st_mode & 0o111)))
    return out


def _gzip_writer(raw: BinaryIO, level: int) -> gzip.GzipFile:
    # filename="" and mtime=0: no name and no time in the header, so equal input, equal bytes
    return gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=level, mtime=0)


def pack_tree_gz(root: Path, prefix: str, dest: Path, level: int = 6) -> None:
    """A deterministic .tar.gz of the tree under ``root`` (members under ``prefix/``, or at the top)."""
    with open(dest, "wb") as raw, _gzip_writer(raw, level) as gz:
        write_tar(gz, tree_entries(root, prefix))  # type: ignore[arg-type]


def gzip_file(src: Path, dest: Path, level: int = 6, say: Say | None = None, label: str = "") -> None:
    """Compress ``src`` into ``dest`` (deterministic gzip), saying how far it got on long files."""
    total = src.stat().st_size
    done, last, t0 = 0, time.monotonic(), time.monotonic()
    with open(src, "rb") as fin, open(dest, "wb") as raw, _gzip_writer(raw, level) as gz:
        while block := fin.read(CHUNK):
            gz.write(block)
            done += len(block)
            if say and time.monotonic() - last > PROGRESS_EVERY:
                last = time.monotonic()
                say(f"archive: gzip {label or src.name}: {done >> 20}/{total >> 20} MiB "
                    f"({time.monotonic() - t0:.0f} s)")


def gunzip_file(src: Path, dest: Path) -> None:
    with gzip.open(src, "rb") as fin, open(dest, "wb") as fout:
        while block := fin.read(CHUNK):
            fout.write(block)


def staged_files(staging: Path) -> list[Entry]:
    """The regular files under ``staging`` as archive members (names relative to it)."""
    return [e for e in tree_entries(staging, "") if e.kind == "file"]


def write_archive(staging: Path, dest: Path) -> None:
    """Tar every file under ``staging`` into ``dest``, atomically: a temp file in the same
    directory is renamed at the end, so a failure never leaves a half-written archive."""
    entries = staged_files(staging)
    with atomic.staged(dest) as tmp, open(tmp, "wb") as f:
        write_tar(f, entries)
        f.flush()
        os.fsync(f.fileno())
