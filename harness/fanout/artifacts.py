"""The files a bench worker needs, moved by content: named, hashed, checked on arrival.

A worker measures only with exactly the client's kernels, root image, data disk, guest
tools and SSH key. The client describes each file by name and sha256 and scatters its
bytes into the cluster once; a worker keeps what it received in a content-addressed
directory (``<cache>/cas/<sha256>``) and fetches only what it lacks. Every file is hashed
again before each batch: a copy whose hash differs from the client's (a corrupted cache, a
stale shared directory) makes the worker refuse the batch, naming the file, rather than
measure with anything else.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness import atomic, hashing
from harness.errors import HarnessError


class WorkerRefused(HarnessError):
    """A worker cannot run a batch as the client asked (its files, its code, its host)."""


@dataclass(frozen=True)
class Artifact:
    """One file of a batch: what it is (for messages), its sha256 and size, and its mode."""

    name: str
    sha256: str
    size: int
    mode: int = 0o644


def describe(name: str, path: Path, mode: int = 0o644) -> Artifact:
    return Artifact(name, hashing.sha256_file(path), path.stat().st_size, mode)


def cas_path(cas: Path, art: Artifact) -> Path:
    return cas / art.sha256


def materialize(art: Artifact, cas: Path, fetch: Callable[[], bytes], worker: str) -> Path:
    """The worker's verified copy of ``art``: from its store if present, else fetched once.

    Raises WorkerRefused when the stored copy or the arriving bytes differ from the client's hash.
    """
    f = cas_path(cas, art)
    if f.exists():
        got = hashing.sha256_file(f)
        if got != art.sha256:
            raise WorkerRefused(f"worker {worker}: its copy of the {art.name} ({f}) has sha256 {got[:16]}, "
                                f"the client's has {art.sha256[:16]}; refusing the batch")
        return f
    data = fetch()
    got = hashing.sha256_bytes(data)
    if got != art.sha256:
        raise WorkerRefused(f"worker {worker}: the {art.name} arrived with sha256 {got[:16]}, "
                            f"the client's has {art.sha256[:16]}; refusing the batch")
    cas.mkdir(parents=True, exist_ok=True)
    with atomic.staged(f) as tmp:
        tmp.write_bytes(data)
        os.chmod(tmp, art.mode)
    return f
