"""The one QEMU argv builder for every boot mode of the lab.

Init-program runs, the smoke boot and SSH machines used to assemble their own drive,
icount and clock flags; now each describes what it wants (kernel, append line, drives,
clock mode, console log, optional QMP socket and SSH port forward) and this module turns
it into argv, so a flag 2.0.36 depends on exists in one place.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.errors import ConfigError, MissingTool

QEMU = "qemu-system-i386"
MACHINE = "pc-i440fx-7.2"
CPU = "pentium"
MEMORY_MB = 32
CLOCKS = ("tcg", "icount")
ICOUNT_SHIFT = 0  # 1 ns of guest time per instruction: a 1 GHz guest, deterministic


def qemu_binary() -> str:
    path = shutil.which(QEMU)
    if not path:
        raise MissingTool(f"{QEMU} is not installed (apt-get install qemu-system-x86)")
    return path


def require_kernel(kernel: Path) -> None:
    """The one check (and error class) for a missing kernel, in every boot mode."""
    if not kernel.exists():
        raise MissingTool(f"kernel image missing: {kernel} (run ./inv build)")


@dataclass(frozen=True)
class Drive:
    """A raw IDE disk: index 0 is /dev/hda, 1 is /dev/hdb; snapshot leaves the file untouched."""

    path: Path
    index: int = 0
    snapshot: bool = True


def check_clock(clock: str) -> None:
    if clock not in CLOCKS:
        raise ConfigError(f"unknown clock mode {clock!r}; choose one of: {', '.join(CLOCKS)}")


def argv(kernel: Path, append: str, console_log: Path, *, drives: Sequence[Drive] = (), clock: str = "tcg",
         memory_mb: int = MEMORY_MB, qmp_socket: Path | None = None, ssh_port: int | None = None) -> list[str]:
    """The full QEMU command line; ``ssh_port`` adds the NE2000 NIC forwarding host port -> guest 22."""
    check_clock(clock)
    out = [
        qemu_binary(), "-M", MACHINE, "-cpu", CPU, "-m", str(memory_mb), "-accel", "tcg",
        "-kernel", str(kernel), "-append", append,
        # -nodefaults drops the CD-ROM and floppy 2.0 would spend seconds probing; the VGA
        # is added back because 2.0.36 starts its serial echo of printk only when it finds one
        "-nodefaults", "-vga", "std", "-display", "none", "-monitor", "none", "-no-reboot",
        "-serial", f"file:{console_log}",
    ]
    if ssh_port is None:
        out += ["-net", "none"]
    for d in drives:
        out += ["-drive", f"file={d.path},format=raw,if=ide,index={d.index},media=disk"
                + (",snapshot=on" if d.snapshot else "")]
    if ssh_port is not None:
        out += [
            "-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:{ssh_port}-:22",
            # 2.0 knows no e1000 (QEMU's default): name the NIC, at the ISA address 2.0 probes
            "-device", "ne2k_isa,netdev=n0,iobase=0x300,irq=9",
        ]
    if qmp_socket is not None:
        out += ["-qmp", f"unix:{qmp_socket},server=on,wait=off"]
    if clock == "icount":
        out += ["-icount", f"shift={ICOUNT_SHIFT},sleep=off"]
    return out
