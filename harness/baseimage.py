"""Debian base images for the lab's containers, made from Debian packages only.

No registry is reachable from these machines, so every container image starts from a
bookworm root file system that mmdebstrap makes from the host's own apt sources, with a
given package list, and that podman (or docker) imports. The image is tagged by a hash of
its inputs (suite, packages, the host's apt source files, the fixed SOURCE_DATE_EPOCH),
so it is made once and reused by every later build with the same inputs.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from harness import aptsources, atomic, hashing, proc
from harness.engine import Engine
from harness.errors import CommandFailed, ImageBuildFailed, MissingTool
from harness.settings import Settings

SUITE = aptsources.SUITE
SOURCE_DATE_EPOCH = "946684800"  # 2000-01-01: fixed, so equal inputs give an equal rootfs


def read_packages(path: Path) -> list[str]:
    """A package list file: one name per line, '#' comments."""
    lines = path.read_text().splitlines()
    return [x.strip() for x in lines if x.strip() and not x.lstrip().startswith("#")]


def lab_sources(settings: Settings, *, deb_src: bool = False, security_amd64_only: bool = False) -> Path:
    """The host's Debian apt sources in one normal form (deb822), written to the cache.

    Whatever form the host keeps them in (one-line sources.list, deb822 files of any name,
    several files), mmdebstrap and the guest's private apt configuration read this one
    file; its name is a hash of its text, so equal sources give an equal file and tag.
    """
    text = aptsources.render(aptsources.lab_entries(), deb_src=deb_src, security_amd64_only=security_amd64_only)
    path = settings.cache / "apt-sources" / f"lab-{hashing.sha256_text(text)[:16]}.sources"
    if not path.exists() or path.read_text() != text:
        atomic.write_text(path, text)
    return path


def base_hash(sources: Path, packages: list[str]) -> str:
    return hashing.sha256_text("base/2", SUITE, *packages, hashing.sha256_file(sources), SOURCE_DATE_EPOCH)


def ensure_base(settings: Settings, engine: Engine, packages: list[str], log: Path, say=print) -> tuple[str, str]:  # noqa: ANN001
    """The tag and input hash of the base image with ``packages``; made if missing."""
    sources = lab_sources(settings)
    h = base_hash(sources, packages)
    tag = f"localhost/pipemap-base:{h[:16]}"
    if not engine.image_exists(tag):
        say(f"base image: making a Debian {SUITE} root file system with mmdebstrap ({len(packages)} packages)")
        _make_base(settings, engine, packages, sources, tag, h, log)
    return tag, h


def build_image(engine: Engine, ctx: Path, tag: str, log: Path, timeout: float, what: str) -> None:
    """Build ``ctx/Containerfile`` as ``tag``; a failure names the failing step and its log tail."""
    try:
        engine.build(ctx, tag, log, timeout=timeout)
    except CommandFailed as e:
        engine.remove_image(tag)
        steps = [line for line in e.detail.splitlines() if line.startswith("STEP ")]
        step = f" at {steps[-1].rstrip(':')}" if steps else ""
        raise ImageBuildFailed(f"{what} image build failed{step} (log: {log})", e.detail) from e


def _make_base(settings: Settings, engine: Engine, packages: list[str], sources: Path, tag: str, h: str,
               log: Path) -> None:
    if not shutil.which("mmdebstrap"):
        raise MissingTool("mmdebstrap is not installed (apt-get install mmdebstrap)")
    out = settings.cache / "rootfs" / f"base-{h[:16]}.tar"
    argv: list[str | os.PathLike[str]] = [
        "mmdebstrap", "--variant=apt", "--mode=root", "--format=tar",
        f"--include={','.join(packages)}",
        # the host's mirror names must not travel inside the image or its archives
        '--customize-hook=rm -f "$1"/etc/apt/sources.list "$1"/etc/apt/sources.list.d/*',
        SUITE, atomic.temp_name(out), sources,
    ]
    try:
        with atomic.staged(out):  # argv names atomic.temp_name(out)
            proc.run(argv, timeout=1800, log=log, env={"SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH},
                     what="mmdebstrap")
    except CommandFailed as e:
        raise ImageBuildFailed(f"base image: mmdebstrap failed (log: {log})", e.detail) from e
    # the tag is the done-mark: podman tags an import only once it is complete
    engine.import_tar(out, tag, log)


def dpkg_installed(pkg: str) -> bool:
    r = proc.run(["dpkg-query", "-W", "-f=${Status}", pkg], timeout=30, capture=True, check=False)
    return r.stdout.strip() == "install ok installed"


def dpkg_version(pkg: str) -> str:
    return proc.output(["dpkg-query", "-W", "-f=${Package}=${Version}", pkg])
