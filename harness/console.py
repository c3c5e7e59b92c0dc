"""The one console watcher: what kernel trouble looks like on the 2.0.36 serial console.

Every QEMU run of the lab (init-program runs, the smoke boot, SSH machines) writes its
serial console to a file and watches that file. The patterns that mean "the kernel did
not come up" (panic, Oops, GPF, invalid TSS, root-mount failure) are defined here once,
so the three boot modes cannot drift apart in what they call a failure.
"""

from __future__ import annotations

import re
from pathlib import Path

from harness import proc
from harness.errors import BootError

BANNER = re.compile(r"Linux version 2\.0\.36")
# a root-mount *attempt* (success or failure): what the disk-less smoke boot waits for
ROOT_MOUNT = re.compile(r"VFS: Cannot open root device|Kernel panic: VFS: Unable to mount root fs|VFS: Mounted root")
ROOT_MOUNT_FAILED = re.compile(r"VFS: Cannot open root device|Kernel panic: VFS: Unable to mount root fs")
PANIC = re.compile(r"Kernel panic.*")
TROUBLE = re.compile(r"Oops|Kernel panic|Ignoring GPF attempt|invalid TSS|general protection|Unable to handle kernel")


def read(path: Path) -> str:
    """The console so far ("" before QEMU created it)."""
    return path.read_text("utf-8", "replace") if path.exists() else ""


def tail(path: Path, lines: int = 20) -> str:
    """The last ``lines`` of the console, for an error's detail."""
    text = read(path)
    return proc.tail(text, lines) if text.strip() else "<empty console>"


def line_of(text: str, m: re.Match[str]) -> str:
    """The whole console line a match lies on."""
    end = text.find("\n", m.end())
    return text[text.rfind("\n", 0, m.start()) + 1 : end if end >= 0 else len(text)].strip()


def trouble(text: str, lines: int = 15) -> str | None:
    """Console text from the line of the first Oops/panic/GPF/invalid TSS on, or None."""
    m = TROUBLE.search(text)
    if not m:
        return None
    return proc.tail(text[text.rfind("\n", 0, m.start()) + 1 :], lines)


def check(text: str, where: str = " on the console") -> None:
    """Raise BootError if ``text`` shows kernel trouble: "kernel panic<where>: ..." or "kernel trouble<where>: ..."."""
    m = TROUBLE.search(text)
    if m:
        panic = PANIC.search(text)
        head = f"kernel panic{where}: {panic.group(0).strip()}" if panic else f"kernel trouble{where}: {m.group(0)}"
        raise BootError(head, proc.tail(text[text.rfind("\n", 0, m.start()) + 1 :], 20))
