"""Content hashes of files and trees, independent of how a tree was packed.

A *tree hash* names an unpacked source tree by its file names and contents only: the
same tree gives the same hash whether it came from a .tar.gz, a .tar.xz, a zip, a git
export or a directory, and whatever order the archive stored it in. It is the sha256 of
the sorted lines ``<sha256>  <path>`` (symlinks hash their target text). Modes are kept
in the per-file manifest and reported when they differ, but are not part of the hash:
git exports drop exec bits that tarballs keep, and the kernel build never relies on them
(its Makefiles call scripts through ``$(CONFIG_SHELL)``).
"""

from __future__ import annotations

import hashlib
import os
import stat
import tarfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from harness import atomic
from harness.errors import SourceError

CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            h.update(block)
    return h.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_text(*parts: str) -> str:
    """Hash of several strings, unambiguously joined: used for stage input hashes."""
    h = hashlib.sha256()
    for p in parts:
        b = p.encode()
        h.update(len(b).to_bytes(8, "big") + b)
    return h.hexdigest()


@dataclass(frozen=True, order=True)
class FileEntry:
    path: str
    sha256: str
    mode: str  # "644", "755" (only the exec bit is kept: umask-independent) or "l" (symlink)

    def line(self) -> str:
        return f"{self.sha256}  {self.mode:>3}  {self.path}"


def scan_tree(root: Path) -> list[FileEntry]:
    """Per-file manifest of the tree under ``root``, sorted by path."""
    entries: list[FileEntry] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in filenames + [d for d in dirnames if (Path(dirpath) / d).is_symlink()]:
            full = Path(dirpath) / name
            rel = full.relative_to(root).as_posix()
            st = full.lstat()
            if stat.S_ISLNK(st.st_mode):
                entries.append(FileEntry(rel, sha256_bytes(os.readlink(full).encode()), "l"))
            elif stat.S_ISREG(st.st_mode):
                entries.append(FileEntry(rel, sha256_file(full), "755" if st.st_mode & 0o111 else "644"))
    entries.sort()
    return entries


def tree_hash(entries: Iterable[FileEntry]) -> str:
    h = hashlib.sha256()
    for e in sorted(entries):
        h.update(f"{e.sha256}  {e.path}\n".encode())
    return h.hexdigest()


def write_manifest(entries: Iterable[FileEntry], path: Path, title: str) -> str:
    """Write a per-file manifest; returns its tree hash (also recorded in the header)."""
    ordered = sorted(entries)
    th = tree_hash(ordered)
    with atomic.staged(path) as tmp, open(tmp, "w") as f:
        f.write(f"# per-file manifest of {title}: sha256, mode, path\n# tree-sha256 {th}\n")
        for e in ordered:
            f.write(e.line() + "\n")
    return th


def read_manifest(path: Path) -> list[FileEntry]:
    entries = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 2)
        if len(parts) != 3 or len(parts[0]) != 64:
            raise SourceError(f"{path}:{n}: malformed manifest line")
        entries.append(FileEntry(parts[2], parts[0], parts[1]))
    return sorted(entries)


@dataclass(frozen=True)
class TreeDiff:
    missing: list[str]
    extra: list[str]
    changed: list[str]
    mode_changed: list[str]

    @property
    def identical(self) -> bool:
        """Same names and contents (mode differences alone do not count, see module doc)."""
        return not (self.missing or self.extra or self.changed)

    def lines(self, limit: int = 50) -> list[str]:
        out = [f"missing  {p}" for p in self.missing]
        out += [f"extra    {p}" for p in self.extra]
        out += [f"changed  {p}" for p in self.changed]
        out += [f"mode     {p}" for p in self.mode_changed]
        if len(out) > limit:
            out = out[:limit] + [f"... and {len(out) - limit} more"]
        return out


def compare(expected: Iterable[FileEntry], actual: Iterable[FileEntry]) -> TreeDiff:
    exp = {e.path: e for e in expected}
    act = {e.path: e for e in actual}
    common = exp.keys() & act.keys()
    return TreeDiff(
        missing=sorted(exp.keys() - act.keys()),
        extra=sorted(act.keys() - exp.keys()),
        changed=sorted(p for p in common if exp[p].sha256 != act[p].sha256),
        mode_changed=sorted(
            p for p in common if exp[p].sha256 == act[p].sha256 and exp[p].mode != act[p].mode
        ),
    )


def unpack(archive: Path, dest: Path) -> Path:
    """Unpack a tar (any compression) or zip archive safely into ``dest``.

    Returns the tree's root: the single top-level directory if the archive has one
    (``linux/``, ``gcc-2.7.2.3/``), else ``dest`` itself.
    """
    dest.mkdir(parents=True, exist_ok=True)
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as z:
                for info in z.infolist():
                    target = (dest / info.filename).resolve()
                    if not target.is_relative_to(dest.resolve()):
                        raise SourceError(f"{archive.name}: member escapes the tree: {info.filename}")
                z.extractall(dest)
                for info in z.infolist():
                    mode = (info.external_attr >> 16) & 0o777
                    if mode and not info.is_dir():
                        os.chmod(dest / info.filename, mode)
        else:
            with tarfile.open(archive) as t:
                extract_tar(t, dest, archive.name)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as e:
        raise SourceError(f"cannot unpack {archive.name}: {e}") from e
    top = list(dest.iterdir())
    return top[0] if len(top) == 1 and top[0].is_dir() and not top[0].is_symlink() else dest


def extract_tar(t: tarfile.TarFile, dest: Path, label: str = "archive") -> None:
    """Extract ``t`` into ``dest``, refusing members that would land outside it.

    Why not just ``filter="data"``: Debian 12's Python is 3.11.2, and extraction filters
    came with 3.11.4. Where the filter exists it is used; elsewhere the same rules that
    matter here are checked by hand: no absolute or ``..`` names, no links that point
    out of the tree, no device or FIFO members.
    """
    if hasattr(tarfile, "data_filter"):
        t.extractall(dest, filter="data")
        return
    root = dest.resolve()
    members = t.getmembers()
    for m in members:
        target = (root / m.name).resolve()
        if m.name.startswith("/") or not target.is_relative_to(root):
            raise SourceError(f"{label}: member escapes the tree: {m.name}")
        if m.isdev() or m.isfifo():
            raise SourceError(f"{label}: device or FIFO member refused: {m.name}")
        if m.issym() or m.islnk():
            base = root if m.islnk() else target.parent
            link = (base / m.linkname).resolve()
            if m.linkname.startswith("/") or not link.is_relative_to(root):
                raise SourceError(f"{label}: link points out of the tree: {m.name} -> {m.linkname}")
    t.extractall(dest, members=members)  # members checked above
