"""The guest end to end: real root image, real QEMU, real dropbear, real paramiko."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import image, keys, pipeline, session, vm
from harness.errors import BootError, ConfigError, InfraError
from harness.guest import Channel, GuestTimeout, HostKeyMismatch, write_known_hosts
from harness.pipeline import Options
from harness.settings import REPO, Settings
from tests import watch


@pytest.fixture(scope="module")
def guest_image(real: Settings, opts: Options) -> session.GuestImage:
    kb = pipeline.build_kernel(real, "vanilla", opts, print)
    img = image.ensure(real, None, print)
    return session.GuestImage(kb.bzimage, img.path, img.host_key)


@pytest.fixture(scope="module")
def booted(real: Settings, guest_image: session.GuestImage) -> Iterator[tuple[vm.Machine, Channel]]:
    with session.machine(real, guest_image) as mc:
        yield mc


def qemu_pids_of(workdir: Path) -> list[int]:
    out = subprocess.run(["pgrep", "-f", str(workdir)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def test_uname_is_2_0_36(booted: tuple[vm.Machine, Channel]) -> None:
    r = booted[1].run("uname -r")
    assert (r.status, r.text.strip()) == (0, "2.0.36")


def test_exit_statuses(booted: tuple[vm.Machine, Channel]) -> None:
    ch = booted[1]
    assert ch.run("false").status == 1
    assert ch.run("sh -c 'exit 7'").status == 7
    assert ch.run("true").status == 0


def test_stderr_is_kept_apart(booted: tuple[vm.Machine, Channel]) -> None:
    r = booted[1].run("echo out; echo err >&2; echo out2")
    assert r.stdout == b"out\nout2\n" and r.stderr == b"err\n"


def test_one_mib_survives_put_and_get(booted: tuple[vm.Machine, Channel], tmp_path: Path) -> None:
    data = os.urandom(1 << 20)
    src, back = tmp_path / "in.bin", tmp_path / "out.bin"
    src.write_bytes(data)
    digest = booted[1].put(src, "/tmp/in.bin")
    assert booted[1].get("/tmp/in.bin", back) == digest
    assert back.read_bytes() == data


def test_hanging_command_times_out(booted: tuple[vm.Machine, Channel]) -> None:
    with pytest.raises(GuestTimeout, match="timed out after 2 s: sleep 60"):
        booted[1].run("sleep 60", timeout=2)
    assert booted[1].run("echo still-there").text == "still-there\n"


def test_wrong_host_key_is_refused(booted: tuple[vm.Machine, Channel], real: Settings, tmp_path: Path) -> None:
    m = booted[0]
    other = tmp_path / "other"
    line = keys.generate(other, "not-the-guest")
    known = tmp_path / "known_hosts"
    write_known_hosts(known, m.port, line)
    with pytest.raises(HostKeyMismatch, match="does not match the pinned key"):
        Channel(m.port, keys.client_key(real.state), known).connect()


def test_loose_key_permissions_are_refused(booted: tuple[vm.Machine, Channel], real: Settings, tmp_path: Path) -> None:
    loose = tmp_path / "id"
    shutil.copy2(keys.client_key(real.state), loose)
    loose.chmod(0o644)
    with pytest.raises(ConfigError, match="loose permissions 0644"):
        Channel(booted[0].port, loose, booted[0].workdir / "known_hosts").connect()


def test_port_in_use_is_refused(real: Settings, guest_image: session.GuestImage, tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        spec = vm.MachineSpec(guest_image.kernel, guest_image.rootfs, port=port)
        with pytest.raises(InfraError, match=f"port {port} on 127.0.0.1 is in use"):
            vm.Machine(spec, tmp_path / "m").start()


def test_corrupt_root_image_is_refused(guest_image: session.GuestImage, tmp_path: Path) -> None:
    bad = tmp_path / "root.img"
    bad.write_bytes(b"\0" * 65536)
    with pytest.raises(ConfigError, match="not an ext2 file system"):
        vm.Machine(vm.MachineSpec(guest_image.kernel, bad), tmp_path / "m").start()


def test_missing_root_device_is_a_boot_error_with_console(guest_image: session.GuestImage, tmp_path: Path) -> None:
    spec = vm.MachineSpec(guest_image.kernel, guest_image.rootfs, append="root=/dev/hdd")
    work = tmp_path / "m"
    with pytest.raises(BootError, match="kernel panic at boot") as e, vm.Machine(spec, work) as m:
        m.wait_ready(60)
    assert "Unable to mount root" in e.value.detail
    assert qemu_pids_of(work) == []


@pytest.mark.parametrize("clock", ["tcg", "icount"])
def test_both_clock_modes_boot(real: Settings, guest_image: session.GuestImage, clock: str) -> None:
    with session.machine(real, guest_image, clock=clock, name=f"clock-{clock}") as (m, ch):
        assert ch.run("uname -r").text.strip() == "2.0.36"
        assert ("-icount" in m.argv) == (clock == "icount")
        work = m.workdir
    assert qemu_pids_of(work) == []


def test_interactive_shell_gets_a_bsd_pty(booted: tuple[vm.Machine, Channel]) -> None:
    chan = booted[1].client.get_transport().open_session()  # type: ignore[union-attr]
    chan.get_pty(term="vt100", width=80, height=24)
    chan.invoke_shell()
    chan.sendall(b"tty; echo done-$((6*7)); exit\n")
    chan.settimeout(20)
    out = b""
    while b"done-42" not in out:
        chunk = chan.recv(4096)
        if not chunk:
            break
        out += chunk
    chan.close()
    assert b"/dev/ttyp" in out and b"done-42" in out


def test_no_passwords_in_the_image(booted: tuple[vm.Machine, Channel]) -> None:
    ch = booted[1]
    assert ch.run("cat /etc/passwd").text.split(":")[1] == "x"
    assert ch.run("test -e /etc/shadow").status == 1
    import paramiko

    t = paramiko.Transport(("127.0.0.1", booted[0].port))
    try:
        t.start_client(timeout=10)
        with pytest.raises(paramiko.AuthenticationException):
            t.auth_password("root", "root")
    finally:
        t.close()


def test_killed_task_leaves_no_qemu(real: Settings, guest_image: session.GuestImage) -> None:
    """kill -9 of the lab process while a guest runs: QEMU must die with it (PDEATHSIG)."""
    import sys
    import time

    kernel, rootfs, host_key = str(guest_image.kernel), str(guest_image.rootfs), guest_image.host_key
    code = (f"import sys, time; from pathlib import Path; sys.path.insert(0, {str(REPO)!r})\n"
            "from harness import settings, session\n"
            f"img = session.GuestImage(Path({kernel!r}), Path({rootfs!r}), {host_key!r})\n"
            "with session.machine(settings.load(), img, name='killed') as (m, ch):\n"
            "    print('UP', flush=True); time.sleep(600)\n")
    log = real.build / "test-artifacts" / "killed-task.log"
    p = watch.spawn([sys.executable, "-c", code], log)
    watch.wait_for(lambda: "UP" in log.read_text().split(), p, timeout=300, what="the guest up in the killed task")
    work = real.build / "vm" / f"killed-{p.pid}"
    assert qemu_pids_of(work)
    p.kill()
    p.wait()
    deadline = time.monotonic() + 10
    while qemu_pids_of(work) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert qemu_pids_of(work) == []


def test_a_stolen_forwarded_port_is_an_infra_error(guest_image: session.GuestImage, tmp_path: Path) -> None:
    """QEMU cannot bind its hostfwd port (taken after the free-port check): the host's fault, retryable."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        m = vm.Machine(vm.MachineSpec(guest_image.kernel, guest_image.rootfs), tmp_path / "m")
        m.workdir.mkdir()
        with pytest.raises(InfraError, match="host forwarding rule"), \
                vm.Run(vm.machine_argv(m.spec, m.console, m.qmp_socket, port), m.console, tmp_path / "qemu.log") as r:
            vm.wait_for(r, lambda _t: False, 30, "SSH banner")
