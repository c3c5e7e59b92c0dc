"""Which host a run was measured on, and which other machines ran on it at the time.

A TCG guest's clock measures the host: a run timed while other emulators compete for the
same cores is slower for reasons that have nothing to do with the guest. Every run
therefore records the host's name and the other QEMU processes seen on it when the run
started and when it ended (any QEMU, the lab's own or not: a CI run in another checkout
counts too), and the report marks TCG figures measured beside other machines.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

PROC = Path("/proc")


def host_name() -> str:
    return socket.gethostname()


def other_machines(own_pid: int | None, proc: Path = PROC) -> set[str]:
    """The QEMU system emulators running on this host other than ``own_pid``, as ``clock:pid``.

    ``clock`` is ``icount`` when the emulator runs with -icount, else ``tcg``; a process
    that ends while /proc is read is skipped.
    """
    found: set[str] = set()
    for d in proc.iterdir():
        if not d.name.isdigit() or int(d.name) == own_pid:
            continue
        try:
            argv = (d / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if not argv or not os.path.basename(argv[0]).startswith(b"qemu-system"):
            continue
        found.add(f"{'icount' if b'-icount' in argv else 'tcg'}:{d.name}")
    return found


def beside_text(machines: set[str]) -> str:
    """The ``beside`` column: the other machines, sorted, comma-separated ("" when alone)."""
    return ",".join(sorted(machines, key=lambda m: (m.split(":")[0], int(m.split(":")[1]))))
