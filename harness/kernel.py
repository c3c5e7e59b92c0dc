"""Stage 3, kernel: 2.0.36 built with gcc 2.7.2.3 inside the toolchain image.

A variant (kernel-2.0.36/variants.toml) names the patch series applied on top of the
verified upstream tree. The build unpacks a fresh copy of the tree into the git-ignored
build directory, applies the series, and runs kernel-2.0.36/build-kernel.sh in the
toolchain container. Outputs land in ``build/kernel/<variant>/`` (bzImage, System.map,
build.json) only when the build succeeded; a build whose input hash is unchanged is
skipped, so a no-op ``./inv build`` only hashes its inputs.
"""

from __future__ import annotations

import json
import shutil
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

from harness import atomic, hashing, patches
from harness.engine import Bind
from harness.errors import CommandFailed, ConfigError
from harness.settings import Settings
from harness.sources.resolve import ResolvedSource
from harness.toolchain import Toolchain

BUILD_TIMEOUT = 1200


@dataclass(frozen=True)
class Variant:
    name: str
    description: str
    series: tuple[str, ...]
    caught_by: tuple[str, ...] = ()  # a mutant: the conformance cases that must fail on it

    @property
    def mutant(self) -> bool:
        return bool(self.caught_by)


@dataclass(frozen=True)
class KernelBuild:
    variant: str
    bzimage: Path
    sha256: str
    record: Path
    skipped: bool


def kernel_dir(settings: Settings) -> Path:
    return settings.repo / "kernel-2.0.36"


def variants(settings: Settings) -> dict[str, Variant]:
    data = tomllib.loads((kernel_dir(settings) / "variants.toml").read_text())
    return {k: Variant(k, v.get("description", ""), tuple(v["series"]), tuple(v.get("caught_by", ())))
            for k, v in data.items()}


def variant(settings: Settings, name: str) -> Variant:
    known = variants(settings)
    if name not in known:
        plain = sorted(k for k, v in known.items() if not v.mutant)
        mutants = sorted(k for k, v in known.items() if v.mutant)
        raise ConfigError(f"unknown kernel variant {name!r}; known: {', '.join(plain)}"
                          + (f" (mutants for ./inv mutants: {', '.join(mutants)})" if mutants else ""))
    return known[name]


def out_dir(settings: Settings, name: str) -> Path:
    return settings.build / "kernel" / name


def _inputs(settings: Settings, v: Variant, linux: ResolvedSource, tc: Toolchain) -> tuple[str, dict[str, object]]:
    kdir = kernel_dir(settings)
    series = [p for s in v.series for p in patches.series(settings.repo / "patches", s)]
    own = {p.name: hashing.sha256_file(p) for p in sorted(kdir.iterdir()) if p.is_file()}
    parts: dict[str, object] = {
        "variant": v.name,
        "source": {k: linux.record()[k] for k in ("name", "version", "route", "tree_sha256", "verified")},
        "patches": [p.record() for p in series],
        "kernel_files": own,
        "toolchain": tc.record(),
    }
    h = hashing.sha256_text(
        "kernel/1", v.name, linux.tree_sha256, *(p.sha256 for p in series), *(f"{k}={d}" for k, d in own.items()),
        tc.input_hash,
    )
    return h, parts


def build(settings: Settings, name: str, linux: ResolvedSource, tc: Toolchain, force: bool = False,
          say=print) -> KernelBuild:  # noqa: ANN001
    v = variant(settings, name)
    input_hash, parts = _inputs(settings, v, linux, tc)
    final = out_dir(settings, name)
    rec_path = final / "build.json"
    if not force and rec_path.exists():
        rec = json.loads(rec_path.read_text())
        bz = final / "bzImage"
        if rec.get("input_hash") == input_hash and bz.exists() and hashing.sha256_file(bz) == rec["bzImage_sha256"]:
            return KernelBuild(name, bz, rec["bzImage_sha256"], rec_path, True)
    log = settings.log_dir / f"kernel-{name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("")
    work = settings.build / "kernel" / f".{name}.work"
    shutil.rmtree(work, ignore_errors=True)
    # build.json is the done-mark: written last into the staged output directory, which
    # becomes build/kernel/<name> only then; a failure anywhere leaves no build.json.
    try:
        with atomic.staged(final) as staged:
            series = [p for s in v.series for p in patches.series(settings.repo / "patches", s)]
            say(f"kernel: unpacking {linux.name}-{linux.version} and applying {len(series)} patch(es) for {name}")
            tree = work / "linux"
            shutil.copytree(linux.tree, tree, symlinks=True)
            patches.apply_all(tree, series, log)
            staged.mkdir(parents=True)
            script = Bind(kernel_dir(settings), True, "build-kernel.sh")
            argv: list[str | Bind] = ["bash", script, Bind(tree), tc.prefix, Bind(staged)]
            say(f"kernel: building {name} with {tc.gcc} ({tc.engine.name}; log: {log})")
            t0 = time.monotonic()
            tc.engine.run(tc.image, argv, log=log, timeout=BUILD_TIMEOUT,
                          what=f"kernel build ({name})")
            seconds = time.monotonic() - t0
            bz = staged / "bzImage"
            if not bz.exists():
                raise CommandFailed(f"kernel build ({name}) produced no bzImage (log: {log})")
            sha = hashing.sha256_file(bz)
            rec = {
                "input_hash": input_hash,
                **parts,
                # the output directory as it is named once done (the staged name carries a pid)
                "command": tc.engine.command(tc.image, [*argv[:-1], Bind(final)]),
                "bzImage_sha256": sha,
                "System.map_sha256": hashing.sha256_file(staged / "System.map"),
                "build_seconds": round(seconds, 1),
            }
            atomic.write_text(staged / "build.json", json.dumps(rec, indent=2, default=str) + "\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return KernelBuild(name, final / "bzImage", sha, final / "build.json", False)
