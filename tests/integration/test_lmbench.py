"""lmbench against the real stand-in tree and a real guest: the pin refuses a changed tree; build, run, rows.

Run with PIPEMAP_TIMEOUT_MULTIPLIER=3 on a loaded machine.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest

from harness import image, pipeline, sources
from harness import lmbench as lm
from harness.errors import OverrideMismatch
from harness.pipeline import Options
from harness.settings import Settings, UserConfig
from tests.integration.conftest import with_build


@pytest.fixture(scope="module")
def standin(real: Settings) -> Path:
    tree = real.user.overrides.get("lmbench")
    if tree is None or not tree.is_dir():
        pytest.skip(f"lmbench stand-in absent: no override tree for lmbench in {real.user.path} "
                    "(BitMover's servers are gone; see sources/sources.toml [lmbench])")
    return tree


def _with_override(s: Settings, tree: Path) -> Settings:
    user = UserConfig(s.user.mirror, {**s.user.overrides, "lmbench": tree}, s.user.allow_unverified, s.user.engine,
                      s.user.path)
    return Settings(s.repo, s.cache, s.state, s.build, user)


def test_the_standin_verifies_against_the_pin(real: Settings, standin: Path, tmp_path: Path) -> None:
    r = sources.fetch_one(with_build(real, tmp_path), "lmbench")
    assert (r.route, r.verified, r.tree) == ("override", True, standin)


def test_a_tree_with_one_byte_changed_is_refused_in_one_line(real: Settings, standin: Path, tmp_path: Path) -> None:
    copy = tmp_path / "lmbench"
    shutil.copytree(standin, copy)
    f = copy / "src" / "bw_pipe.c"
    data = bytearray(f.read_bytes())
    data[100] ^= 0x01
    f.write_bytes(bytes(data))
    with pytest.raises(OverrideMismatch) as e:
        sources.fetch_one(with_build(_with_override(real, copy), tmp_path / "build"), "lmbench")
    msg = str(e.value)
    assert "\n" not in msg
    assert msg == (f"lmbench: override tree {copy} differs from the pinned manifest in 1 file(s); "
                   "pass --allow-unverified lmbench to use it anyway")
    assert "src/bw_pipe.c" in e.value.detail


def test_build_then_run_on_one_kernel_and_clock(real: Settings, opts: Options, standin: Path, qemu: str,
                                                tmp_path: Path) -> None:
    src = sources.fetch_one(real, "lmbench", opts.allow_unverified)
    sysroot = image.debian_sources(real, print) / "sysroot"
    s = with_build(real, tmp_path / "build")
    lb = lm.build(s, src.tree, src.tree_sha256, sysroot, print)
    assert not lb.skipped and set(lb.hashes) == set(lm.BENCHMARKS + lm.CALIBRATION)
    assert src.tree_sha256 in lb.buildinfo and all(h in lb.buildinfo for h in lb.hashes.values())
    again = lm.build(s, src.tree, src.tree_sha256, sysroot, print)
    assert again.skipped and again.hashes == lb.hashes  # inputs unchanged: the build skips itself

    kb = pipeline.build_kernel(real, "xmmap", opts, print)
    guest = pipeline.session_image(kb.bzimage, image.ensure(real, None, print))
    with lm.Store(tmp_path / "raw.sqlite") as store:
        rows = lm.run_machine(s, lb, "xmmap", "icount", guest, store, uuid.uuid4().hex[:8], "quick", print,
                              lm.data_disk(s))
    stored = lm.read_rows(tmp_path / "raw.sqlite")
    assert stored == rows
    # under icount the quick profile runs lmbench's own `enough` like the full one (only TCG fixes it)
    want = [("enough", ""), ("timing_o", ""), ("loop_o", "")] + [(v.benchmark, v.arguments)
                                                                 for v in lm.variants("quick")]
    assert [(r.benchmark, r.arguments) for r in rows] == want
    bad = [(r.benchmark, r.arguments, r.status, r.output[-200:]) for r in rows if not r.ok]
    assert not bad
    assert all(r.kernel_sha256 == kb.sha256 and r.binary_sha256 == lb.hashes[r.benchmark] for r in rows)
    # lat_pagefault prints whole microseconds: under icount a fault is below 1 us and it prints 0
    assert all(r.figure is not None and (r.figure > 0 or r.benchmark == "lat_pagefault")
               for r in rows if r.benchmark in lm.BENCHMARKS)
    enough = rows[0].output.strip()
    assert rows[0].figure is not None and 5000 <= rows[0].figure <= 1000000
    assert all(f"[lmbench env: ENOUGH={enough} TIMING_O=" in r.output for r in rows if r.benchmark in lm.BENCHMARKS)
