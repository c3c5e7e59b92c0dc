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
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from harness import proc
from harness.errors import BootError, ConfigError, HarnessError, MissingTool

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
        # -nodefaults drops the CD-ROM and floppy 2.0 would spend seconds probing; the VGA
        # is added back because 2.0.36 starts its serial echo of printk only when it finds one
        "-nodefaults", "-vga", "std", "-display", "none", "-monitor", "none", "-no-reboot",
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


# --- machines with a root disk and an SSH port -------------------------------------------

TROUBLE = re.compile(r"Oops|Kernel panic|Ignoring GPF attempt|invalid TSS|general protection|Unable to handle kernel")
CLOCKS = ("tcg", "icount")
ICOUNT_SHIFT = 0  # 1 ns of guest time per instruction: a 1 GHz guest, deterministic
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
    data_disk: Path | None = None  # raw image attached read-only as /dev/hdb: bulk data in


def check_rootfs(path: Path) -> None:
    """A cheap sanity check before boot: the file is an ext2 file system."""
    if not path.exists():
        raise MissingTool(f"root image missing: {path} (run ./inv image)")
    with open(path, "rb") as f:
        f.seek(EXT2_MAGIC_OFFSET)
        if f.read(2) != b"\x53\xef":
            raise BootError(f"root image {path} is not an ext2 file system (corrupt? rebuild with ./inv image)")


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
    if spec.clock not in CLOCKS:
        raise ConfigError(f"unknown clock mode {spec.clock!r}; choose one of: {', '.join(CLOCKS)}")
    argv = base_argv(spec.kernel, spec.append, console_log)
    argv[argv.index("-m") + 1] = str(spec.memory_mb)
    drive = f"file={spec.rootfs},format=raw,if=ide,index=0,media=disk"
    if spec.snapshot:
        drive += ",snapshot=on"
    argv += ["-drive", drive]
    if spec.data_disk is not None:
        argv += ["-drive", f"file={spec.data_disk},format=raw,if=ide,index=1,media=disk,snapshot=on"]
    argv += [
        "-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:{port}-:22",
        # 2.0 knows no e1000 (QEMU's default): name the NIC, at the ISA address 2.0 probes
        "-device", "ne2k_isa,netdev=n0,iobase=0x300,irq=9",
        "-qmp", f"unix:{qmp_socket},server=on,wait=off",
    ]
    if spec.clock == "icount":
        argv += ["-icount", f"shift={ICOUNT_SHIFT},sleep=off"]
    return argv


class Machine:
    """One QEMU process running one guest; a context manager.

    The process lives in its own process group and dies with the lab (PDEATHSIG), so no
    QEMU outlives a task, whether it ends normally, by an exception, Ctrl-C or SIGKILL.
    The serial console goes to ``console.log`` in the machine's work directory, which is
    also where the provenance record ``machine.json`` (QEMU version, full argv) is written.
    """

    def __init__(self, spec: MachineSpec, workdir: Path, timeout_multiplier: float = 1.0) -> None:
        self.spec = spec
        self.workdir = workdir
        self.mult = timeout_multiplier
        self.console = workdir / "console.log"
        self.qmp_socket = workdir / "qmp.sock"
        self.port = 0
        self.argv: list[str] = []
        self._spawn: contextlib.AbstractContextManager[subprocess.Popen[bytes]] | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self._console_mark = 0
        self.ready_seconds = 0.0

    # lifecycle -------------------------------------------------------------------------
    def start(self) -> Machine:
        if not self.spec.kernel.exists():
            raise MissingTool(f"kernel image missing: {self.spec.kernel} (run ./inv build)")
        qemu_binary()
        check_rootfs(self.spec.rootfs)
        if self.spec.port is not None and not port_is_free(self.spec.port):
            raise ConfigError(f"port {self.spec.port} on 127.0.0.1 is in use; pick another or omit --port")
        self.workdir.mkdir(parents=True, exist_ok=True)
        for f in (self.console, self.qmp_socket):
            f.unlink(missing_ok=True)
        self.port = self.spec.port or free_port()
        self.argv = machine_argv(self.spec, self.console, self.qmp_socket, self.port)
        record = {"qemu_version": qemu_version(), "argv": self.argv, "port": self.port, "clock": self.spec.clock,
                  "host_cpus": os.cpu_count(), "loadavg": os.getloadavg()}
        (self.workdir / "machine.json").write_text(json.dumps(record, indent=2) + "\n")
        self.started = time.monotonic()
        self._spawn = proc.spawned(self.argv, log=self.workdir / "qemu.log", die_with_parent=True)
        self.process = self._spawn.__enter__()
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        """Quit QEMU through QMP (snapshot mode: nothing to save), else kill its group."""
        if self.process is None:
            return
        if self.alive():
            try:
                qmp_quit(self.qmp_socket, timeout=5)
                self.process.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired, HarnessError):
                pass
        assert self._spawn is not None
        self._spawn.__exit__(None, None, None)
        self.process = None
        self.qmp_socket.unlink(missing_ok=True)

    def __enter__(self) -> Machine:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # console ---------------------------------------------------------------------------
    def console_text(self) -> str:
        return self.console.read_text("utf-8", "replace") if self.console.exists() else ""

    def console_tail(self, lines: int = 20) -> str:
        return console_tail(self.console, lines)

    def mark_console(self) -> None:
        """Remember where the console is now: trouble is looked for after this point."""
        self._console_mark = len(self.console_text())

    def trouble(self) -> str | None:
        """Console text of an Oops, panic, GPF or invalid TSS since the last mark."""
        text = self.console_text()[self._console_mark :]
        m = TROUBLE.search(text)
        if not m:
            return None
        start = text.rfind("\n", 0, m.start()) + 1
        return proc.tail(text[start:], 15)

    # readiness -------------------------------------------------------------------------
    def wait_ready(self, timeout: float = 60) -> float:
        """Poll for the SSH banner; returns seconds since start. BootError on failure."""
        t0 = time.monotonic()
        deadline = t0 + timeout * self.mult
        while time.monotonic() < deadline:
            if not self.alive():
                rc = self.process.returncode if self.process else None
                raise BootError(f"QEMU exited (status {rc}) before the guest was ready",
                                self.console_tail() + "\n" + proc.file_tail(self.workdir / "qemu.log", 5))
            panic = re.search(r"Kernel panic.*", self.console_text())
            if panic:
                raise BootError(f"kernel panic at boot: {panic.group(0).strip()}", self.console_tail())
            if ssh_banner(self.port):
                self.ready_seconds = time.monotonic() - self.started
                return time.monotonic() - t0
            time.sleep(0.05)
        raise BootError(f"guest not ready (no SSH banner) within {timeout * self.mult:.0f} s", self.console_tail())


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
