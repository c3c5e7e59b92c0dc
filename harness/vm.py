"""Stage 5, vm: QEMU machines for the 2.0.36 guest.

Everything 2.0.36 needs from the emulated PC is data here, not scattered flags: a pinned,
versioned machine type and CPU model, a memory size 2.0 can size by itself (it asks the
BIOS with int 15h/88h, 64 MB at most), and the serial console in a log file. Acceleration
is TCG: KVM is detected properly (device present, openable, CPU has VMX/SVM) and
reported, but the study runs under TCG on purpose, since 2.0.36 does not boot under the
software KVM of these machines and TCG is what the clock modes are defined for.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from harness import proc
from harness.errors import BootError, MissingTool

QEMU = "qemu-system-i386"
MACHINE = "pc-i440fx-7.2"
CPU = "pentium"
MEMORY_MB = 32
BANNER = re.compile(r"Linux version 2\.0\.36")
ROOT_MOUNT = re.compile(r"VFS: Cannot open root device|Kernel panic: VFS: Unable to mount root fs|VFS: Mounted root")


def qemu_binary() -> str:
    path = shutil.which(QEMU)
    if not path:
        raise MissingTool(f"{QEMU} is not installed (apt-get install qemu-system-x86)")
    return path


def qemu_version() -> str:
    return proc.output([qemu_binary(), "--version"]).splitlines()[0]


@dataclass(frozen=True)
class KvmStatus:
    usable: bool
    reason: str


def kvm_status() -> KvmStatus:
    """Whether hardware KVM could be used: the device alone proves nothing here."""
    dev = Path("/dev/kvm")
    if not dev.exists():
        return KvmStatus(False, "no /dev/kvm")
    try:
        os.close(os.open(dev, os.O_RDWR))
    except OSError as e:
        return KvmStatus(False, f"/dev/kvm not openable: {e.strerror}")
    flags = Path("/proc/cpuinfo").read_text()
    if not re.search(r"^flags\s*:.*\b(vmx|svm)\b", flags, re.M):
        return KvmStatus(False, "/dev/kvm exists but the CPU has no VMX/SVM (software KVM)")
    return KvmStatus(True, "hardware virtualisation present (unused: the study runs under TCG)")


def base_argv(kernel: Path, append: str, console_log: Path) -> list[str]:
    return [
        qemu_binary(), "-M", MACHINE, "-cpu", CPU, "-m", str(MEMORY_MB), "-accel", "tcg",
        "-kernel", str(kernel), "-append", append,
        "-display", "none", "-vga", "none", "-monitor", "none", "-no-reboot",
        "-serial", f"file:{console_log}",
    ]


def console_tail(path: Path, lines: int = 20) -> str:
    text = path.read_text("utf-8", "replace") if path.exists() else ""
    return proc.tail(text, lines) if text.strip() else "<empty console>"


def _line_of(text: str, m: re.Match[str]) -> str:
    """The whole console line a match lies on."""
    end = text.find("\n", m.end())
    return text[text.rfind("\n", 0, m.start()) + 1 : end if end >= 0 else len(text)].strip()


@dataclass(frozen=True)
class SmokeResult:
    banner: str
    root_line: str
    seconds: float
    console: Path
    argv: list[str]


def boot_smoke(kernel: Path, work: Path, timeout: float = 60) -> SmokeResult:
    """Boot ``kernel`` with no disk: pass when the banner and the root-mount attempt appear."""
    if not kernel.exists():
        raise MissingTool(f"kernel image missing: {kernel} (run ./inv build)")
    work.mkdir(parents=True, exist_ok=True)
    console = work / "console.log"
    console.unlink(missing_ok=True)
    argv = [*base_argv(kernel, "root=/dev/hda", console), "-net", "none"]
    t0 = time.monotonic()
    text = ""
    with proc.spawned(argv, log=work / "qemu.log") as child:
        while time.monotonic() - t0 < timeout:
            text = console.read_text("utf-8", "replace") if console.exists() else ""
            banner, root = BANNER.search(text), ROOT_MOUNT.search(text)
            if banner and root:
                return SmokeResult(_line_of(text, banner), _line_of(text, root), time.monotonic() - t0, console, argv)
            if child.poll() is not None:
                raise BootError(f"QEMU exited with status {child.returncode} before the root mount",
                                console_tail(console) + "\n" + proc.file_tail(work / "qemu.log", 5))
            time.sleep(0.2)
    raise BootError(f"no {'root-mount attempt' if BANNER.search(text) else '2.0.36 banner'} on the console "
                    f"within {timeout:.0f} s", console_tail(console))
