"""A guest to talk to: the machine ``./inv boot`` keeps up, or a transient one.

``./inv boot`` runs a machine in the foreground and records it in
``build/vm/running.json`` (QEMU pid, port, pinned known_hosts). ``run``, ``push`` and
``pull`` use that machine when it is up, and otherwise boot one for the duration of the
command, so that a single ``./inv run -- uname -r`` just works.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from harness import keys, vm
from harness.guest import Channel, write_known_hosts
from harness.settings import Settings

Say = Callable[[str], None]
READY_TIMEOUT = 90  # TCG boot to SSH is about 4 s here; generous for loaded machines


@dataclass(frozen=True)
class GuestImage:
    """A bootable guest: kernel, root file system and the root image's pinned host key."""

    kernel: Path
    rootfs: Path
    host_key: str  # "ssh-ed25519 AAAA..." as generated at image build


def state_file(settings: Settings) -> Path:
    return settings.build / "vm" / "running.json"


def _running(settings: Settings) -> dict[str, str | int] | None:
    f = state_file(settings)
    if not f.exists():
        return None
    st = json.loads(f.read_text())
    try:
        os.kill(int(st["pid"]), 0)
    except (ProcessLookupError, ValueError):
        f.unlink(missing_ok=True)
        return None
    return st if vm.ssh_banner(int(st["port"])) else None


@contextlib.contextmanager
def machine(settings: Settings, image: GuestImage, clock: str = "tcg", port: int | None = None,
            name: str = "transient", snapshot: bool = True,
            data_disk: Path | None = None) -> Iterator[tuple[vm.Machine, Channel]]:
    """Boot a machine, wait for SSH, yield it with a connected channel; stop it afterwards."""
    spec = vm.MachineSpec(image.kernel, image.rootfs, clock=clock, port=port, snapshot=snapshot,
                          data_disk=data_disk)
    workdir = settings.build / "vm" / f"{name}-{os.getpid()}"
    with vm.Machine(spec, workdir) as m:
        m.wait_ready(READY_TIMEOUT)
        known = workdir / "known_hosts"
        write_known_hosts(known, m.port, image.host_key)
        with Channel(m.port, keys.client_key(settings.state), known) as ch:
            yield m, ch
    # kept only when something went wrong (the console is evidence); gone after a clean run
    shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def channel(settings: Settings, image: GuestImage, clock: str = "tcg") -> Iterator[Channel]:
    """A channel to the running machine if there is one, else to a transient machine."""
    st = _running(settings)
    if st is not None:
        with Channel(int(st["port"]), keys.client_key(settings.state), Path(str(st["known_hosts"]))) as ch:
            yield ch
        return
    with machine(settings, image, clock) as (_, ch):
        yield ch


def boot_foreground(settings: Settings, image: GuestImage, clock: str, port: int | None, say: Say,
                    follow: Callable[[], bool] = lambda: True) -> None:
    """Boot, announce the port, then copy the console to the terminal until interrupted."""
    with machine(settings, image, clock, port, name="boot") as (m, ch):
        f = state_file(settings)
        f.write_text(json.dumps({"pid": m.process.pid if m.process else 0, "port": m.port,
                                 "known_hosts": str(m.workdir / "known_hosts"), "console": str(m.console),
                                 "clock": clock}) + "\n")
        ch.close()
        say(f"guest up: ssh -p {m.port} -i {keys.client_key(settings.state)} root@127.0.0.1 "
            f"(console: {m.console}); Ctrl-C stops it")
        try:
            offset = 0
            while follow() and m.alive():
                text = m.console_text()
                if len(text) > offset:
                    say(text[offset:].rstrip("\n"))
                    offset = len(text)
                time.sleep(0.5)
        finally:
            f.unlink(missing_ok=True)


def console_path(settings: Settings) -> Path | None:
    st = _running(settings)
    return Path(str(st["console"])) if st else None
