"""The compatibility layer (guest-tools/compat): each translated call, on the host under
the 2.0.36 call set (strace-checked) and in a real 2.0.36 guest."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import image, pipeline, session
from harness.guest import Channel
from harness.pipeline import Options
from harness.settings import REPO, Settings

TESTS = REPO / "guest-tools" / "compat" / "tests"
PROGRAMS = sorted(p.stem for p in TESTS.glob("t_*.c"))


@pytest.fixture(scope="module")
def built(real: Settings, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """Build and run every test program on the host; returns their directory and the output."""
    sysroot = image.debian_sources(real, print) / "sysroot"
    work = tmp_path_factory.mktemp("compat")
    r = subprocess.run(["bash", TESTS / "run-tests.sh", sysroot, work], capture_output=True, text=True, timeout=900)
    return work, r.stdout + r.stderr


def test_every_area_passes_on_the_host_with_only_2_0_36_calls(built: tuple[Path, str]) -> None:
    out = built[1]
    assert f"{len(PROGRAMS)} passed, 0 failed" in out, out[-3000:]


@pytest.fixture(scope="module")
def guest(real: Settings, opts: Options) -> Iterator[Channel]:
    img = pipeline.guest_image(real, "vanilla", opts, print)
    with session.machine(real, img, name="compat") as (_, ch):
        yield ch


@pytest.mark.parametrize("name", PROGRAMS)
def test_area_passes_in_the_guest(built: tuple[Path, str], guest: Channel, name: str) -> None:
    guest.check("mkdir -p /tmp/compat")
    guest.put(built[0] / name, f"/tmp/compat/{name}")
    r = guest.run(f"cd /tmp/compat && chmod 755 {name} && ./{name}", timeout=120)
    assert r.status == 0, (r.stdout + r.stderr).decode(errors="replace")[-2000:]
    assert b"not ok" not in r.stdout and b"ok" in r.stdout
