"""Fail-closed transfer of one archive into the cache.

Bytes are written to a temporary name in the destination directory and hashed while they
stream (the caller stages them with harness.atomic.staged); the file gets its final name
only when the caller's block ends without an exception, i.e. after its check accepted it. A wrong
hash, a truncated transfer or an interruption leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
from pathlib import Path

from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from harness.errors import SourceError

CHUNK = 1 << 16
USER_AGENT = "pipemap-lab/1 (+reproducible research; python-urllib)"


class TransferError(SourceError):
    """One URL could not deliver the file (network, HTTP status, truncation)."""


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        transient=True,
    )


def fetch_url(url: str, tmp: Path, label: str, timeout: float = 60) -> str:
    """Download ``url`` to ``tmp`` with a progress bar; returns the sha256 of the bytes."""
    h = hashlib.sha256()
    req = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp, open(tmp, "wb") as out, _progress() as bar:
            length = resp.headers.get("Content-Length")
            expected = int(length) if length and length.isdigit() else None
            task = bar.add_task(f"fetch {label}", total=expected)
            got = 0
            while block := resp.read(CHUNK):
                out.write(block)
                h.update(block)
                got += len(block)
                bar.update(task, advance=len(block))
            if expected is not None and got != expected:
                raise TransferError(f"{label}: truncated download from {url}: {got} of {expected} bytes")
    except urllib.error.HTTPError as e:
        raise TransferError(f"{label}: cannot download {url}: HTTP {e.code} {e.reason}") from e
    except (urllib.error.URLError, OSError, ValueError) as e:
        raise TransferError(f"{label}: cannot download {url}: {getattr(e, 'reason', e)}") from e
    except Exception as e:  # http.client.IncompleteRead and friends
        if isinstance(e, SourceError):
            raise
        raise TransferError(f"{label}: download from {url} broke off: {e}") from e
    return h.hexdigest()


def copy_file(src: Path, tmp: Path) -> str:
    """Copy a mirror file to ``tmp``; returns the sha256 of the copy."""
    h = hashlib.sha256()
    with open(src, "rb") as fin, open(tmp, "wb") as out:
        while block := fin.read(CHUNK):
            out.write(block)
            h.update(block)
    return h.hexdigest()

