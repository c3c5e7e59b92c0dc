"""Write-to-temp-then-rename: the one way a stage writes an output.

A reader (a later stage, a resumed run) sees either the old file or the complete new one,
never a half-written file, and a failure at any point leaves no partial output behind. The
temporary name sits in the destination's directory (same file system, so the rename is
atomic) and carries the process id, so two writers never share a temporary file.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path


def temp_name(dest: Path) -> Path:
    """The temporary sibling of ``dest`` that this process writes before renaming."""
    return dest.with_name(f".{dest.name}.tmp-{os.getpid()}")


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


@contextlib.contextmanager
def staged(dest: Path) -> Iterator[Path]:
    """Yield a temporary path (file or directory) that becomes ``dest`` on success.

    On an exception the temporary is removed and ``dest`` is untouched. An existing
    directory at ``dest`` is replaced (removed first: a directory cannot be renamed over).
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_name(dest)
    _remove(tmp)
    try:
        yield tmp
        if tmp.is_dir() and dest.is_dir():
            shutil.rmtree(dest)
        os.replace(tmp, dest)
    except BaseException:
        _remove(tmp)
        raise


def write_bytes(dest: Path, data: bytes) -> Path:
    """Write ``data`` to ``dest`` atomically (flushed to disk before the rename)."""
    with staged(dest) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    return dest


def write_text(dest: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``dest`` atomically."""
    return write_bytes(dest, text.encode())
