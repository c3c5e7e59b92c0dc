"""The archive of the real build: made, verified, damaged, and its kernels rebuilt from it.

Makes its own small replication first (both kernels, four cells under icount), then the
archive (podman save of ~400 MiB of images), verifies it, damages it, and rebuilds both
kernels from it. About three minutes here.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from harness import archive as archive_mod
from harness import engine
from harness.archive import crate
from harness.archive.errors import VerifyFailed
from harness.archive.rebuild import rebuild
from harness.archive.verify import verify
from harness.errors import CommandFailed
from harness.settings import REPO, Settings

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def built(real: Settings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real archive of a small real replication made for this test in its own build dir.

    Both kernels are built and four E2 cells measured on the xmmap kernel under icount, by
    the lab itself (./inv), so the test depends on nothing a developer happens to have in build/.
    """
    build = tmp_path_factory.mktemp("build")
    env = {**os.environ, "PIPEMAP_BUILD": str(build)}
    for argv in (["build", "--variant", "vanilla"],
                 ["bench", "--profile", "quick", "--experiment", "E2", "--kernel", "xmmap", "--clock", "icount"]):
        r = subprocess.run([str(REPO / "inv"), *argv, "--allow-unverified", "gcc"], env=env, cwd=REPO,
                           capture_output=True, text=True, timeout=1800)
        assert r.returncode == 0, f"./inv {' '.join(argv)} failed:\n{r.stdout[-1500:]}\n{r.stderr[-1500:]}"
    real = dataclasses.replace(real, build=build)
    if not shutil.which("podman"):
        pytest.skip("podman is not installed: the archive saves the toolchain and guest-build images with it")
    try:
        import harness.report  # noqa: F401
    except ImportError as e:
        pytest.skip(f"the report stage is not in this checkout (harness.report: {e})")
    out = tmp_path_factory.mktemp("archive")
    lines: list[str] = []
    a = archive_mod.create(real, lines.append, out_dir=out)
    print(f"archive: {a.path.name} {a.size >> 20} MiB, {a.members} members in {a.seconds:.0f} s")
    assert [p.name for p in out.iterdir()] == [a.path.name], "only the finished archive is left behind"
    return a.path


def test_archive_verifies(built: Path) -> None:
    v = verify(built)
    assert v.report == "identical"
    names = set(crate.files(v.meta))
    for must in ("results/raw.sqlite", "report/report.html", "kernels/xmmap/bzImage", "kernels/vanilla/bzImage",
                 "sources/linux-2.0.36.tar.gz", "rootfs/root.img.gz", "records/sources.json",
                 "lab/patches/xmmap/0003-pipe-extended-mmap.patch", "lab/kernel-2.0.36/config"):
        assert must in names
    assert any(n.startswith("images/pipemap-toolchain-") for n in names)


def test_one_changed_byte_in_a_kernel_is_named(built: Path, tmp_path: Path) -> None:
    member = "kernels/xmmap/bzImage"
    with tarfile.open(built) as t:
        m = t.getmember(member)
    damaged = tmp_path / built.name
    shutil.copyfile(built, damaged)
    with open(damaged, "r+b") as f:
        f.seek(m.offset_data + 1000)
        b = f.read(1)
        f.seek(m.offset_data + 1000)
        f.write(bytes([b[0] ^ 0x01]))
    with pytest.raises(VerifyFailed, match=f"^verify: {member}: sha256 mismatch"):
        verify(damaged)


def test_rebuild_gives_the_archived_kernels(built: Path, real: Settings) -> None:
    lines: list[str] = []
    try:
        _, results = rebuild(real, built, lines.append)
    except CommandFailed as e:
        tag = next(e2["pipemap:imageTag"] for e2 in crate.files(verify(built).meta).values()
                   if e2.get("pipemap:imageRole") == "toolchain")
        if "podman load" in str(e) and not engine.select(real, "podman").image_exists(tag):
            pytest.skip(f"toolchain image {tag} is not in the lab's storage and cannot be loaded: {e}")
        raise
    print("\n".join(lines))
    assert [r.variant for r in results] == ["vanilla", "xmmap"]
    assert all(r.same for r in results), results
