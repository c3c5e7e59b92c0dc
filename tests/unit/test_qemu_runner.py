"""The one QEMU runner without QEMU: argv building, the console watcher and the waiting
logic over the ``vm.Instance`` protocol, driven by a fake instance."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness import console, qemu_argv, vm
from harness.errors import BootError, ConfigError, InfraError, MissingTool


class FakeInstance:
    """An Instance whose console grows by one chunk per poll; it may exit after the chunks."""

    def __init__(self, chunks: list[str], exits: int | None = None, host_log: str = "") -> None:
        self.chunks = chunks
        self.polls = 0
        self.exits = exits
        self._host = host_log
        self.stopped = False

    def console_text(self) -> str:
        self.polls += 1
        return "".join(self.chunks[: self.polls])

    def alive(self) -> bool:
        return self.exits is None or self.polls < len(self.chunks)

    def exit_status(self) -> int | None:
        return None if self.alive() else self.exits

    def console_tail(self, lines: int = 20) -> str:
        return "".join(self.chunks[: self.polls])[-200:] or "<empty console>"

    def host_log(self) -> str:
        return self._host

    def stop(self) -> None:
        self.stopped = True


def _is(inst: vm.Instance) -> vm.Instance:
    return inst  # mypy checks that the fake satisfies the protocol


def test_ready_after_some_polls() -> None:
    inst = _is(FakeInstance(["Linux version 2.0.36\n", "x\n", "READY\n"]))
    vm.wait_for(inst, lambda t: "READY" in t, 5, "ready", poll=0)
    assert inst.polls == 3


def test_panic_is_a_boot_error_with_the_console_text() -> None:
    inst = FakeInstance(["Linux version 2.0.36\n", "Kernel panic: VFS: Unable to mount root fs on 03:01\n"])
    with pytest.raises(BootError, match="kernel panic at boot: Kernel panic: VFS") as e:
        vm.wait_for(inst, lambda t: False, 5, "ready", poll=0)
    assert "Unable to mount root fs" in e.value.detail


@pytest.mark.parametrize("line", ["Oops: 0002", "Unable to handle kernel paging request", "invalid TSS",
                                  "general protection: 0000"])
def test_every_trouble_pattern_fails_the_wait(line: str) -> None:
    with pytest.raises(BootError, match="kernel trouble at boot"):
        vm.wait_for(FakeInstance(["boot\n", line + "\n"]), lambda t: False, 5, "ready", poll=0)


def test_trouble_before_the_mark_is_ignored() -> None:
    inst = FakeInstance(["Oops: old\n", "more\n", "READY\n"])
    vm.wait_for(inst, lambda t: "READY" in t, 5, "ready", trouble_from=len("Oops: old\n"), poll=0)


def test_ready_wins_over_the_panic_that_is_the_pass() -> None:
    inst = FakeInstance(["Linux version 2.0.36\nKernel panic: VFS: Unable to mount root fs\n"])
    vm.wait_for(inst, lambda t: bool(console.ROOT_MOUNT.search(t)), 5, "root", poll=0)


def test_timeout_is_a_boot_error_and_scaled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIPEMAP_TIMEOUT_MULTIPLIER", "2")
    with pytest.raises(BootError, match="no SSH banner within 0 s"):
        vm.wait_for(FakeInstance(["quiet\n"] * 10), lambda t: False, 0.0001, "SSH banner", poll=0)


def test_qemu_exit_without_complaint_is_a_boot_error() -> None:
    with pytest.raises(BootError, match="QEMU exited with status 0 before ready"):
        vm.wait_for(FakeInstance(["Linux version 2.0.36\n"], exits=0), lambda t: False, 5, "ready", poll=0)


def test_stolen_hostfwd_port_is_an_infra_error() -> None:
    log = "$ qemu-system-i386 ...\nqemu-system-i386: Could not set up host forwarding rule 'tcp:127.0.0.1:4022-:22'\n"
    with pytest.raises(InfraError, match="host forwarding rule"):
        vm.wait_for(FakeInstance([""], exits=1, host_log=log), lambda t: False, 5, "ready", poll=0)


def test_wait_for_exit() -> None:
    inst = FakeInstance(["hello\n", "power off\n"], exits=0)
    vm.wait_for_exit(inst, 5, poll=0)
    with pytest.raises(BootError, match="kernel panic on the console"):
        vm.wait_for_exit(FakeInstance(["Kernel panic: Attempted to kill init!\n", ""], exits=0), 5, poll=0)
    with pytest.raises(BootError, match="did not finish within"):
        vm.wait_for_exit(FakeInstance(["x"] * 10), 0.0001, poll=0)


needs_qemu = pytest.mark.skipif(shutil.which(qemu_argv.QEMU) is None, reason="qemu-system-i386 not installed")


@needs_qemu
def test_argv_modes() -> None:
    k, c = Path("/k"), Path("/c.log")
    plain = qemu_argv.argv(k, "root=/dev/hda", c)
    assert plain[-2:] == ["-net", "none"] and "-icount" not in plain
    init = qemu_argv.argv(k, "root=/dev/hda rw", c, drives=[qemu_argv.Drive(Path("/r.img"))], clock="icount")
    assert init[-6:] == ["-net", "none", "-drive", "file=/r.img,format=raw,if=ide,index=0,media=disk,snapshot=on",
                         "-icount", "shift=0,sleep=off"]
    spec = vm.MachineSpec(k, Path("/root.img"), data_disk=Path("/d.img"), snapshot=False)
    m = vm.machine_argv(spec, c, Path("/q.sock"), 4022)
    assert "file=/root.img,format=raw,if=ide,index=0,media=disk" in m
    assert "file=/d.img,format=raw,if=ide,index=1,media=disk,snapshot=on" in m
    assert "user,id=n0,hostfwd=tcp:127.0.0.1:4022-:22" in m and "unix:/q.sock,server=on,wait=off" in m
    assert "-net" not in m


@needs_qemu
def test_unknown_clock_and_missing_kernel() -> None:
    with pytest.raises(ConfigError, match="unknown clock mode 'x'"):
        qemu_argv.argv(Path("/k"), "", Path("/c"), clock="x")
    with pytest.raises(MissingTool, match="kernel image missing"):
        vm.boot_smoke(Path("/nonexistent/bzImage"), Path("/tmp"))


def test_corrupt_root_image_is_configuration(tmp_path: Path) -> None:
    bad = tmp_path / "root.img"
    bad.write_bytes(b"\0" * 4096)
    with pytest.raises(ConfigError, match="not an ext2 file system"):
        vm.check_rootfs(bad)
