"""Wait for a subprocess's effects while watching the subprocess itself (issue 9, item 5).

A test that starts a program and polls for what it should produce must fail at once when
the program exits early, with the program's output tail, not wait out its whole timeout.
Start the program with its output in a file (``spawn``), then ``wait_for`` an effect.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

TAIL = 4000


def spawn(argv: Sequence[str | os.PathLike[str]], log: Path, **kw: Any) -> subprocess.Popen[bytes]:
    """Start ``argv`` with stdout and stderr in ``log`` (a file: no pipe to fill up)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, **kw)
    p.log = log  # type: ignore[attr-defined]
    return p


def tail(proc: subprocess.Popen[Any], n: int = TAIL) -> str:
    log = getattr(proc, "log", None)
    if log is None or not Path(log).exists():
        return "(no output recorded)"
    return Path(log).read_bytes()[-n:].decode(errors="replace")


def wait_for(predicate: Callable[[], bool], proc: subprocess.Popen[Any], timeout: float, what: str = "the effect",
             interval: float = 0.5) -> None:
    """Poll ``predicate`` until it holds; fail at once if ``proc`` exits first, or at ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return
        rc = proc.poll()
        if rc is not None:
            if predicate():  # the effect and the exit may come together
                return
            raise AssertionError(f"{what}: the process exited with {rc} before it happened; output tail:\n"
                                 f"{tail(proc)}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not seen within {timeout:.0f} s (process still running); output tail:\n"
                                 f"{tail(proc)}")
        time.sleep(interval)
