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

from harness import hashing, proc
from harness.engine import Engine
from harness.errors import CommandFailed, ImageBuildFailed, MissingTool
from harness.settings import Settings

SUITE = "bookworm"
SOURCE_DATE_EPOCH = "946684800"  # 2000-01-01: fixed, so equal inputs give an equal rootfs


def read_packages(path: Path) -> list[str]:
    """A package list file: one name per line, '#' comments."""
    lines = path.read_text().splitlines()
    return [x.strip() for x in lines if x.strip() and not x.lstrip().startswith("#")]


def host_apt_sources() -> list[Path]:
    """The host's apt source files: mmdebstrap builds from exactly these mirrors."""
    found = [p for p in [Path("/etc/apt/sources.list")] if p.exists() and _has_entries(p)]
    d = Path("/etc/apt/sources.list.d")
    if d.is_dir():
        found += sorted(p for p in d.iterdir() if p.suffix in (".list", ".sources") and _has_entries(p))
    if not found:
        raise MissingTool("no apt sources found under /etc/apt: cannot make a Debian base image")
    return found


def _has_entries(p: Path) -> bool:
    return any(line.strip() and not line.lstrip().startswith("#") for line in p.read_text().splitlines())


def base_hash(packages: list[str]) -> str:
    srcs = [hashing.sha256_file(p) for p in host_apt_sources()]
    return hashing.sha256_text("base/1", SUITE, *packages, *srcs, SOURCE_DATE_EPOCH)


def ensure_base(settings: Settings, engine: Engine, packages: list[str], log: Path, say=print) -> tuple[str, str]:  # noqa: ANN001
    """The tag and input hash of the base image with ``packages``; made if missing."""
    h = base_hash(packages)
    tag = f"localhost/pipemap-base:{h[:16]}"
    if not engine.image_exists(tag):
        say(f"base image: making a Debian {SUITE} root file system with mmdebstrap ({len(packages)} packages)")
        _make_base(settings, engine, packages, tag, h, log)
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


def _make_base(settings: Settings, engine: Engine, packages: list[str], tag: str, h: str, log: Path) -> None:
    if not shutil.which("mmdebstrap"):
        raise MissingTool("mmdebstrap is not installed (apt-get install mmdebstrap)")
    out = settings.cache / "rootfs" / f"base-{h[:16]}.tar"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    argv: list[str | os.PathLike[str]] = [
        "mmdebstrap", "--variant=apt", "--mode=root", "--format=tar",
        f"--include={','.join(packages)}",
        # the host's mirror names must not travel inside the image or its archives
        '--customize-hook=rm -f "$1"/etc/apt/sources.list "$1"/etc/apt/sources.list.d/*',
        SUITE, tmp, *host_apt_sources(),
    ]
    try:
        proc.run(argv, timeout=settings.timeout(1800), log=log, env={"SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH},
                 what="mmdebstrap")
        tmp.replace(out)
    except CommandFailed as e:
        raise ImageBuildFailed(f"base image: mmdebstrap failed (log: {log})", e.detail) from e
    finally:
        tmp.unlink(missing_ok=True)
    engine.import_tar(out, tag, log)


def dpkg_installed(pkg: str) -> bool:
    r = proc.run(["dpkg-query", "-W", "-f=${Status}", pkg], timeout=30, capture=True, check=False)
    return r.stdout.strip() == "install ok installed"


def dpkg_version(pkg: str) -> str:
    return proc.output(["dpkg-query", "-W", "-f=${Package}=${Version}", pkg])
