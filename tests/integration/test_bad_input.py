"""Bad input against the real stages: one clear error, nothing half-written left behind."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness import engine, kernel, sources
from harness import settings as settings_mod
from harness.baseimage import build_image
from harness.errors import ImageBuildFailed, PatchFailed
from harness.pipeline import Options
from harness.settings import REPO, Settings
from harness.toolchain import Toolchain
from tests.conftest import make_settings


def test_failing_image_build_names_the_step(tmp_path: Path) -> None:
    if not shutil.which("podman"):
        pytest.skip("podman is not installed (./inv installs it)")
    # the lab's own podman storage: a throwaway one would leave overlay mounts behind
    eng = engine.select(settings_mod.load(), "podman")
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Containerfile").write_text("FROM scratch\nRUN echo never-runs\n")
    tag = "localhost/pipemap-test-broken:1"
    with pytest.raises(ImageBuildFailed, match=r"test image build failed at STEP 2/2: RUN echo never-runs") as e:
        build_image(eng, ctx, tag, tmp_path / "build.log", 120, "test")
    assert e.value.detail
    assert not eng.image_exists(tag)


def test_patch_that_does_not_apply_stops_the_kernel_build(real: Settings, opts: Options, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(REPO / "kernel-2.0.36", repo / "kernel-2.0.36")
    shutil.copytree(REPO / "patches", repo / "patches")
    shutil.copytree(REPO / "sources", repo / "sources")
    bad = repo / "patches" / "host-compat" / "0006-broken.patch"
    bad.write_text("Why: a deliberately stale patch.\n\n--- a/Makefile\n+++ b/Makefile\n@@ -1,3 +1,3 @@\n"
                   " VERSION = 2\n-PATCHLEVEL = 9\n+PATCHLEVEL = 8\n SUBLEVEL = 36\n")
    lab = make_settings(tmp_path, real.user, repo=repo)
    linux = sources.fetch_one(lab, "linux")
    tc = Toolchain(engine.HostEngine("none", lab), "unused", "0" * 64, "/unused")
    with pytest.raises(PatchFailed, match=r"patch host-compat/0006-broken.patch does not apply: "
                                          r"hunk #1 \(at line 1\) of Makefile rejected"):
        kernel.build(lab, "vanilla", linux, tc, say=lambda m: None)
    assert list((lab.build / "kernel").iterdir()) == []


@pytest.mark.parametrize("argv, message", [
    (["--work", "fast"], "error: unknown work level 'fast'; valid: none, touch"),
    (["--sink", "hash"], "error: unknown sink 'hash'; valid: null, file, pipe"),
    (["--layout", "O3"], "error: unknown layout 'O3'; valid: O2, O2-align"),
])
def test_bench_refuses_unknown_work_sink_layout_before_any_work(tmp_path: Path, argv: list[str],
                                                                message: str) -> None:
    import os
    import subprocess

    build = tmp_path / "build"
    r = subprocess.run([str(REPO / "inv"), "bench", *argv], env={**os.environ, "PIPEMAP_BUILD": str(build)},
                       cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and r.stderr.strip().splitlines() == [message]
    assert not (build / "bench").exists()  # nothing built, nothing half-written
