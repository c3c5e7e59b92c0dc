"""Stage 2, toolchain: a container image with the period compiler, gcc 2.7.2.3.

Two layers, each tagged by a hash of its inputs so that an unchanged toolchain is never
rebuilt:
- the base: a Debian bookworm root file system made by mmdebstrap from the host's own apt
  sources (no registry is reachable here), with the packages in images/toolchain/packages.txt;
- the toolchain: gcc built from the verified source tree (with patches/gcc applied) by
  images/toolchain/build-gcc.sh, as an i486-linux C compiler.

With ``--engine none`` the same script builds gcc into a prefix under the cache instead,
from the host's own Debian packages.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from harness import atomic, baseimage, hashing, patches, proc
from harness.engine import Engine, HostEngine
from harness.errors import CommandFailed, ImageBuildFailed, MissingTool
from harness.settings import Settings
from harness.sources.resolve import ResolvedSource

PREFIX = "/opt/gcc-2.7.2.3"
GCC = "i486-linux-gcc"


@dataclass(frozen=True)
class Toolchain:
    engine: Engine
    image: str  # image tag, or the host prefix directory for --engine none
    input_hash: str
    prefix: str  # where gcc lives, as the build scripts see it

    @property
    def gcc(self) -> str:
        return f"{self.prefix}/bin/{GCC}"

    def record(self) -> dict[str, object]:
        return {"engine": self.engine.name, "image": self.image, "input_hash": self.input_hash, "gcc": self.gcc}


def record_path(settings: Settings, input_hash: str) -> Path:
    """The one place the toolchain record lives: the stage's done-mark, written last."""
    return settings.cache / "toolchain" / f"{input_hash[:16]}.json"


def _dir() -> Path:
    return Path(__file__).resolve().parent.parent / "images" / "toolchain"


def package_list() -> list[str]:
    return baseimage.read_packages(_dir() / "packages.txt")


def toolchain_hash(base: str, gcc: ResolvedSource, gcc_patches: list[patches.Patch]) -> str:
    return hashing.sha256_text(
        "toolchain/1",
        base,
        gcc.tree_sha256,
        *(p.sha256 for p in gcc_patches),
        hashing.sha256_file(_dir() / "build-gcc.sh"),
        hashing.sha256_file(_dir() / "Containerfile.in"),
        PREFIX,
    )


def _gcc_patches(settings: Settings) -> list[patches.Patch]:
    d = settings.repo / "patches"
    return patches.series(d, "gcc") if (d / "gcc").is_dir() else []


def ensure(settings: Settings, engine: Engine, gcc: ResolvedSource, say=print) -> Toolchain:  # noqa: ANN001
    """The toolchain for ``gcc``, built only if no image with the same inputs exists."""
    gp = _gcc_patches(settings)
    if isinstance(engine, HostEngine):
        return _ensure_host(settings, engine, gcc, gp, say)
    log = settings.log_dir / "toolchain.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    base_tag, base = baseimage.ensure_base(settings, engine, package_list(), log, say)
    th = toolchain_hash(base, gcc, gp)
    tag = f"localhost/pipemap-toolchain:{th[:16]}"
    tc = Toolchain(engine, tag, th, PREFIX)
    # Done means the record exists, and it is written last: an image without its record (a
    # run that failed while querying the image) is completed by writing the record now.
    if record_path(settings, th).is_file() and engine.image_exists(tag):
        return tc
    if engine.image_exists(tag):
        say(f"toolchain: image {tag} has no record yet; writing it")
        _record(settings, tc, gcc, gp, base_tag)
        return tc
    say(f"toolchain: building gcc {gcc.version} in {engine.name} (a few minutes; log: {log})")
    with tempfile.TemporaryDirectory(dir=_scratch(settings), prefix="ctx-") as ctx_dir:
        ctx = Path(ctx_dir)
        _stage_gcc(gcc, gp, ctx / "gcc-src", log)
        shutil.copy2(_dir() / "build-gcc.sh", ctx / "build-gcc.sh")
        text = (_dir() / "Containerfile.in").read_text()
        for k, v in {"@BASE@": base_tag, "@PREFIX@": PREFIX, "@GCC_VERSION@": gcc.version}.items():
            text = text.replace(k, v)
        (ctx / "Containerfile").write_text(text)
        baseimage.build_image(engine, ctx, tag, log, 1800, "toolchain")
    _record(settings, tc, gcc, gp, base_tag)
    return tc


def _scratch(settings: Settings) -> Path:
    d = settings.cache / "scratch"
    d.mkdir(parents=True, exist_ok=True)
    return d


def _stage_gcc(gcc: ResolvedSource, gp: list[patches.Patch], dest: Path, log: Path) -> None:
    shutil.copytree(gcc.tree, dest, symlinks=True)
    patches.apply_all(dest, gp, log)


def _record(settings: Settings, tc: Toolchain, gcc: ResolvedSource, gp: list[patches.Patch], base_tag: str) -> None:
    log = settings.log_dir / "toolchain.log"
    version = proc.output(tc.engine.command(tc.image, [tc.gcc, "--version"]), env=tc.engine.env, log=log)
    pkgs = proc.output(tc.engine.command(tc.image, ["dpkg-query", "-W"]), env=tc.engine.env, log=log)
    rec = {
        **tc.record(),
        "base_image": base_tag,
        "engine_version": tc.engine.version(),
        "gcc_version": version,
        "gcc_source": gcc.record(),
        "gcc_patches": [p.record() for p in gp],
        "debian_packages": pkgs.splitlines(),
    }
    atomic.write_text(record_path(settings, tc.input_hash), json.dumps(rec, indent=2) + "\n")


def _ensure_host(settings: Settings, engine: HostEngine, gcc: ResolvedSource, gp: list[patches.Patch],
                 say=print) -> Toolchain:  # noqa: ANN001
    missing = [p for p in package_list() if not baseimage.dpkg_installed(p)]
    if missing:
        raise MissingTool(f"--engine none needs these host packages: apt-get install {' '.join(missing)}")
    base = hashing.sha256_text("host", *(baseimage.dpkg_version(p) for p in package_list()))
    th = toolchain_hash(base, gcc, gp)
    prefix = settings.cache / "host-toolchain" / th[:16]
    tc = Toolchain(engine, str(prefix), th, str(prefix))
    done = prefix / ".complete"
    if done.exists():
        return tc
    log = settings.log_dir / "toolchain.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    say(f"toolchain: building gcc {gcc.version} on the host (log: {log})")
    # gcc 2.7 compiles its prefix into the driver, so it is built in place; the stamp
    # written last marks it complete, and a failed build leaves no prefix behind.
    shutil.rmtree(prefix, ignore_errors=True)
    with tempfile.TemporaryDirectory(dir=_scratch(settings), prefix="gcc-") as work:
        src = Path(work) / "gcc-src"
        _stage_gcc(gcc, gp, src, log)
        try:
            proc.run(["sh", _dir() / "build-gcc.sh", src, prefix], timeout=1800, log=log,
                     what="build-gcc.sh")
        except (CommandFailed, KeyboardInterrupt) as e:
            shutil.rmtree(prefix, ignore_errors=True)
            if isinstance(e, KeyboardInterrupt):
                raise
            raise ImageBuildFailed(f"host toolchain build failed (log: {log})", e.detail) from e
    atomic.write_text(done, th + "\n")
    return tc
