"""Run one freestanding guest program as /sbin/init and collect what it prints.

The conformance suite, the stress test and the demo need no userland: each is a static
i386 program with its own tiny system-call layer (guest-tools/conformance/sys.c). It is
booted as the only process on a small ext2 root (made with ``mke2fs -d``; device nodes
added with ``debugfs``, so no root privileges are needed), reads its parameters from the
environment (2.0.36 hands ``key=value`` words of the kernel command line to init as
environment variables), writes to the serial console and powers the machine off. The
console is watched for kernel trouble (Oops, panic, GPF, invalid TSS) all along.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from harness import console, proc, vm
from harness.errors import ConfigError
from harness.qemu_argv import Drive, check_clock, require_kernel
from harness.qemu_argv import argv as qemu_argv

DEVICES = (("console", "c", 5, 1, "0600"), ("tty", "c", 5, 0, "0666"), ("ttyS0", "c", 4, 64, "0660"),
           ("null", "c", 1, 3, "0666"))
IMAGE_KIB = 8192


@dataclass(frozen=True)
class InitRun:
    console: str
    seconds: float
    argv: list[str]
    log: Path


def build_tools(repo: Path, out: Path, log: Path) -> Path:
    """Build the freestanding guest programs (runner, stress, demo) with the host's gcc -m32."""
    proc.run(["sh", repo / "guest-tools" / "conformance" / "build.sh", out], timeout=300, log=log,
             what="guest-tools build")
    return out


def make_root(program: Path, image: Path, work: Path) -> None:
    """An ext2 revision 0 root holding ``program`` as /sbin/init and the console devices."""
    root = work / "root"
    shutil.rmtree(root, ignore_errors=True)
    for d in ("sbin", "dev", "proc", "tmp"):
        (root / d).mkdir(parents=True)
    shutil.copy2(program, root / "sbin" / "init")
    (root / "sbin" / "init").chmod(0o755)
    log = work / "mkimage.log"
    proc.run(["mke2fs", "-q", "-t", "ext2", "-r", "0", "-b", "1024", "-I", "128", "-O", "none", "-d", root,
              "-F", image, str(IMAGE_KIB)], timeout=60, log=log, what="mke2fs")
    cmds = ["cd /dev"]
    for name, kind, major, minor, mode in DEVICES:
        cmds += [f"mknod {name} {kind} {major} {minor}", f"sif /dev/{name} mode 02{mode}"]
    script = work / "debugfs.cmds"
    script.write_text("\n".join(cmds) + "\n")
    proc.run(["debugfs", "-w", "-f", script, image], timeout=60, log=log, what="debugfs")


def run(kernel: Path, program: Path, env: dict[str, str], work: Path, timeout: float,
        clock: str = "tcg") -> InitRun:
    """Boot ``kernel`` with ``program`` as init; return the console once the guest powers off.

    ``timeout`` is the development machine's figure, scaled once in ``vm.wait_for_exit``.
    """
    require_kernel(kernel)
    check_clock(clock)
    for k, v in env.items():
        if not k.isidentifier() or any(c.isspace() for c in v):
            raise ConfigError(f"bad guest parameter {k}={v!r}")
    work.mkdir(parents=True, exist_ok=True)
    image = work / "root.img"
    make_root(program, image, work)
    console_log = work / "console.log"
    append = " ".join(["root=/dev/hda", "rw", *(f"{k}={v}" for k, v in env.items())])
    argv = qemu_argv(kernel, append, console_log, drives=[Drive(image)], clock=clock)
    t0 = time.monotonic()
    with vm.Run(argv, console_log, work / "qemu.log", die_with_parent=True) as r:
        vm.wait_for_exit(r, timeout)
    text = console.read(console_log).replace("\r", "")
    return InitRun(text, time.monotonic() - t0, argv, console_log)


def scratch(build: Path, name: str) -> Path:
    d = build / "runs"
    d.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{name}-", dir=d))

