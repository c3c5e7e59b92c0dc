"""Stage 5, vm: QEMU machines for the 2.0.36 guest.

Everything 2.0.36 needs from the emulated PC is data here, not scattered flags: a pinned,
versioned machine type and CPU model, a memory size 2.0 can size by itself (it asks the
BIOS with int 15h/88h, 64 MB at most), and the serial console in a log file. Acceleration
is TCG: KVM is detected properly (device present, openable, CPU has VMX/SVM) and
reported, but the study runs under TCG on purpose, since 2.0.36 does not boot under the
software KVM of these machines and TCG is what the clock modes are defined for.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from harness import console, proc, timeouts
from harness.errors import BootError, ConfigError, HarnessError, InfraError
from harness.qemu_argv import CLOCKS, CPU, ICOUNT_SHIFT, MACHINE, MEMORY_MB, QEMU, Drive, qemu_binary, require_kernel
from harness.qemu_argv import argv as qemu_argv

__all__ = ["CLOCKS", "CPU", "ICOUNT_SHIFT", "MACHINE", "MEMORY_MB", "QEMU", "Instance", "Machine", "MachineSpec",
           "SmokeResult", "boot_smoke", "qemu_binary", "wait_for", "wait_for_exit"]

BANNER = console.BANNER
ROOT_MOUNT = console.ROOT_MOUNT
TROUBLE = console.TROUBLE
# QEMU's own complaints (a stolen hostfwd port, an unreadable drive) start with its name
QEMU_ERROR = re.compile(r"^qemu-system-i386: (?!warning:).*$", re.M)


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


console_tail = console.tail


# --- the one interface every boot mode runs through ----------------------------------------

class Instance(Protocol):
    """One running emulator as the waiting and retry logic sees it.

    Small on purpose: ``Machine`` and ``Run`` implement it over QEMU, and the unit tests
    implement it with a fake, so what counts as a boot failure, a host failure or a
    timeout is tested without an emulator.
    """

    def alive(self) -> bool: ...
    def exit_status(self) -> int | None: ...
    def console_text(self) -> str: ...
    def console_tail(self, lines: int = 20) -> str: ...
    def host_log(self) -> str: ...
    def stop(self) -> None: ...


def _exited(inst: Instance, before: str) -> HarnessError:
    """The error for an emulator that exited early: InfraError if QEMU itself complained."""
    host = inst.host_log()
    complaint = QEMU_ERROR.search(host)
    # QEMU refusing the kernel image is the kernel's fault; any other complaint is the host's
    if complaint and "kernel" not in complaint.group(0).lower():
        return InfraError(f"QEMU could not run: {complaint.group(0).strip()}", proc.tail(host, 5))
    return BootError(f"QEMU exited with status {inst.exit_status()} before {before}",
                     inst.console_tail() + "\n" + proc.tail(host, 5))


def wait_for(inst: Instance, ready: Callable[[str], bool], timeout: float, what: str,
             trouble_from: int = 0, where: str = " at boot", poll: float = 0.05) -> float:
    """Wait until ``ready(console)``; BootError on kernel trouble or timeout, InfraError on host failure.

    ``timeout`` is the development machine's figure; it is scaled here (timeouts.scaled).
    Returns the seconds waited.
    """
    limit = timeouts.scaled(timeout)
    t0 = time.monotonic()
    while True:
        text = inst.console_text()
        if ready(text):
            return time.monotonic() - t0
        console.check(text[trouble_from:], where)
        if not inst.alive():
            raise _exited(inst, what)
        if time.monotonic() - t0 > limit:
            raise BootError(f"no {what} within {limit:.0f} s", inst.console_tail())
        time.sleep(poll)


def wait_for_exit(inst: Instance, timeout: float, where: str = " on the console", poll: float = 0.5) -> float:
    """Wait until the emulator exits by itself (a guest powering off); kernel trouble ends it early."""
    limit = timeouts.scaled(timeout)
    t0 = time.monotonic()
    while True:
        console.check(inst.console_text(), where)
        if not inst.alive():
            complaint = QEMU_ERROR.search(inst.host_log())
            if complaint and inst.exit_status() and "kernel" not in complaint.group(0).lower():
                raise InfraError(f"QEMU could not run: {complaint.group(0).strip()}", proc.tail(inst.host_log(), 5))
            return time.monotonic() - t0
        if time.monotonic() - t0 > limit:
            raise BootError(f"guest program did not finish within {limit:.0f} s", inst.console_tail())
        time.sleep(poll)


class Run:
    """A QEMU process from an argv, console in a file: the Instance of the disk-less and init runs."""

    def __init__(self, argv: list[str], console_log: Path, host_log: Path, die_with_parent: bool = True) -> None:
        self.argv = argv
        self.console = console_log
        self.log = host_log
        self._die = die_with_parent
        self._stack = contextlib.ExitStack()
        self.process: proc.Child[bytes] | None = None

    def start(self) -> Run:
        self.console.unlink(missing_ok=True)
        self.process = self._stack.enter_context(proc.spawned(self.argv, log=self.log, die_with_parent=self._die))
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def exit_status(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def console_text(self) -> str:
        return console.read(self.console)

    def console_tail(self, lines: int = 20) -> str:
        return console.tail(self.console, lines)

    def host_log(self) -> str:
        return self.log.read_text("utf-8", "replace") if self.log.exists() else ""

    def stop(self) -> None:
        self._stack.close()
        self.process = None

    def __enter__(self) -> Run:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass(frozen=True)
class SmokeResult:
    banner: str
    root_line: str
    seconds: float
    console: Path
    argv: list[str]


def boot_smoke(kernel: Path, work: Path, timeout: float = 60) -> SmokeResult:
    """Boot ``kernel`` with no disk: pass when the banner and the root-mount attempt appear."""
    require_kernel(kernel)
    work.mkdir(parents=True, exist_ok=True)
    log = work / "console.log"
    argv = qemu_argv(kernel, "root=/dev/hda", log)
    t0 = time.monotonic()

    def ready(text: str) -> bool:
        return bool(BANNER.search(text) and ROOT_MOUNT.search(text))

    with Run(argv, log, work / "qemu.log", die_with_parent=True) as r:
        # the disk-less boot ends in the root-mount panic by design: that panic is the pass
        try:
            wait_for(r, ready, timeout, "root-mount attempt", where=" before the root mount", poll=0.2)
        except BootError as e:
            if "within" in str(e) and not BANNER.search(r.console_text()):
                raise BootError(str(e).replace("root-mount attempt", "2.0.36 banner"), e.detail) from None
            raise
        text = r.console_text()
        banner, root = BANNER.search(text), ROOT_MOUNT.search(text)
        assert banner and root
        return SmokeResult(console.line_of(text, banner), console.line_of(text, root), time.monotonic() - t0,
                           log, argv)


# --- machines with a root disk and an SSH port -------------------------------------------

EXT2_MAGIC_OFFSET = 1024 + 56


@dataclass(frozen=True)
class MachineSpec:
    kernel: Path
    rootfs: Path
    clock: str = "tcg"
    snapshot: bool = True
    memory_mb: int = MEMORY_MB
    append: str = "root=/dev/hda"
    port: int | None = None  # host port forwarded to guest port 22; None: a free one
    data_disk: Path | None = None  # raw image attached as /dev/hdb with snapshot=on (host file untouched): bulk data in


def check_rootfs(path: Path) -> None:
    """A cheap sanity check before boot: the file is an ext2 file system (a bad image is configuration)."""
    if not path.exists():
        raise ConfigError(f"root image missing: {path} (run ./inv image)")
    with open(path, "rb") as f:
        f.seek(EXT2_MAGIC_OFFSET)
        if f.read(2) != b"\x53\xef":
            raise ConfigError(f"root image {path} is not an ext2 file system (corrupt? rebuild with ./inv image)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def machine_argv(spec: MachineSpec, console_log: Path, qmp_socket: Path, port: int) -> list[str]:
    drives = [Drive(spec.rootfs, 0, spec.snapshot)]
    if spec.data_disk is not None:
        drives.append(Drive(spec.data_disk, 1, True))
    return qemu_argv(spec.kernel, spec.append, console_log, drives=drives, clock=spec.clock,
                     memory_mb=spec.memory_mb, qmp_socket=qmp_socket, ssh_port=port)


class Machine(Run):
    """One QEMU process running one guest with an SSH port; a ``Run`` with a root image, QMP and SSH.

    The process lives in its own process group and dies with the lab (PDEATHSIG), so no
    QEMU outlives a task, whether it ends normally, by an exception, Ctrl-C or SIGKILL.
    The serial console goes to ``console.log`` in the machine's work directory, which is
    also where the provenance record ``machine.json`` (QEMU version, full argv) is written.
    Timeouts are scaled by ``timeouts.scaled``; there is no per-machine multiplier.
    """

    def __init__(self, spec: MachineSpec, workdir: Path) -> None:
        super().__init__([], workdir / "console.log", workdir / "qemu.log", die_with_parent=True)
        self.spec = spec
        self.workdir = workdir
        self.qmp_socket = workdir / "qmp.sock"
        self.port = 0
        self._console_mark = 0
        self.ready_seconds = 0.0
        self.started = 0.0

    # lifecycle -------------------------------------------------------------------------
    def start(self) -> Machine:
        require_kernel(self.spec.kernel)
        qemu_binary()
        check_rootfs(self.spec.rootfs)
        if self.spec.port is not None and not port_is_free(self.spec.port):
            raise InfraError(f"port {self.spec.port} on 127.0.0.1 is in use; pick another or omit --port")
        self.workdir.mkdir(parents=True, exist_ok=True)
        for f in (self.console, self.qmp_socket):
            f.unlink(missing_ok=True)
        self.port = self.spec.port or free_port()
        self.argv = machine_argv(self.spec, self.console, self.qmp_socket, self.port)
        record = {"qemu_version": qemu_version(), "argv": self.argv, "port": self.port, "clock": self.spec.clock,
                  "host_cpus": os.cpu_count(), "loadavg": os.getloadavg()}
        (self.workdir / "machine.json").write_text(json.dumps(record, indent=2) + "\n")
        self.started = time.monotonic()
        super().start()
        return self

    def stop(self) -> None:
        """Quit QEMU through QMP (snapshot mode: nothing to save), else kill its group."""
        if self.process is None:
            return
        if self.alive():
            try:
                qmp_quit(self.qmp_socket, timeout=5)
                self.process.wait(timeout=10)
            except (OSError, proc.WaitTimeout, HarnessError):
                pass
        super().stop()
        self.qmp_socket.unlink(missing_ok=True)

    def __enter__(self) -> Machine:
        return self.start()

    # console ---------------------------------------------------------------------------
    def mark_console(self) -> None:
        """Remember where the console is now: trouble is looked for after this point."""
        self._console_mark = len(self.console_text())

    def trouble(self) -> str | None:
        """Console text of an Oops, panic, GPF or invalid TSS since the last mark."""
        return console.trouble(self.console_text()[self._console_mark :])

    # readiness -------------------------------------------------------------------------
    def wait_ready(self, timeout: float = 60) -> float:
        """Poll for the SSH banner; returns seconds since start.

        BootError when the kernel does not come up; InfraError when QEMU itself failed
        (for example another process took the forwarded port before QEMU bound it).
        """
        waited = wait_for(self, lambda _text: ssh_banner(self.port), timeout, "SSH banner (guest not ready)")
        self.ready_seconds = time.monotonic() - self.started
        return waited



def ssh_banner(port: int, timeout: float = 0.25) -> bool:
    """Whether the guest's SSH server greets on the forwarded port.

    A short timeout matters: before the guest's network is up, QEMU's user-mode network
    accepts the host-side connection and then waits for the guest, so a long recv timeout
    would add up to that timeout to every measured boot.
    """
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.settimeout(timeout)
            return s.recv(64).startswith(b"SSH-2.0")
    except OSError:
        return False


def qmp_quit(sock: Path, timeout: float) -> None:
    """Send QMP ``quit`` with QEMU's own client library."""
    import asyncio

    from qemu.qmp import QMPClient

    async def go() -> None:
        client = QMPClient("pipemap")
        await asyncio.wait_for(client.connect(str(sock)), timeout)
        try:
            await asyncio.wait_for(client.execute("quit"), timeout)
        except Exception:  # noqa: BLE001 - QEMU may close the socket before it answers
            pass
        finally:
            await client.disconnect()

    try:
        asyncio.run(go())
    except Exception as e:  # noqa: BLE001
        raise HarnessError(f"QMP quit failed: {e}") from e
