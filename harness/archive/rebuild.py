"""``verify --rebuild``: build both kernels again from nothing but the archive, offline.

The archived toolchain image is loaded into the lab's podman storage, the archived linux
source is unpacked and checked against its tree hash, and ``harness.kernel.build`` runs
with settings whose ``repo`` is the archived ``lab/`` tree (so the archived patches,
config and build script are used, not the checkout's) and whose build directory is
temporary. The container runs with ``--network none`` as every lab build does. Each
rebuilt bzImage must have the archived sha256.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import engine as engine_mod
from harness import hashing, kernel
from harness.archive import crate, images, pack
from harness.archive.contents import VARIANTS, Renderer
from harness.archive.errors import ArchiveError, VerifyFailed
from harness.archive.verify import Verified, verify
from harness.settings import Settings
from harness.sources.resolve import ResolvedSource
from harness.toolchain import GCC, Toolchain


@dataclass(frozen=True)
class Rebuilt:
    variant: str
    archived: str
    rebuilt: str
    seconds: float

    @property
    def same(self) -> bool:
        return self.archived == self.rebuilt


def _one(files: dict[str, dict[str, Any]], key: str, value: str, what: str) -> tuple[str, dict[str, Any]]:
    found = [(n, e) for n, e in files.items() if e.get(key) == value]
    if len(found) != 1:
        raise ArchiveError(f"rebuild: the archive holds {len(found)} {what} (expected one)")
    return found[0]


def rebuild(settings: Settings, archive: Path, say: pack.Say,
            renderer: Renderer | None = None) -> tuple[Verified, list[Rebuilt]]:
    """Verify ``archive``, then rebuild both kernels from it; fails if a bzImage differs."""
    scratch = settings.cache / "scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=scratch, prefix="rebuild-") as tmp:
        x = Path(tmp) / "x"

        def want(n: str) -> bool:
            return n.startswith(("lab/", "kernels/", "images/pipemap-toolchain-", "sources/linux-"))

        say(f"rebuild: verifying {archive.name} and extracting what the kernel build needs")
        v = verify(archive, renderer, x, want)
        files = crate.files(v.meta)
        img_name, img = _one(files, "pipemap:imageRole", "toolchain", "toolchain images")
        src_name, src = _one(files, "pipemap:source", "linux", "linux sources")
        eng = engine_mod.select(settings, "podman")
        log = Path(tmp) / "build" / "logs" / "rebuild.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        images.load(eng, x / img_name, img["pipemap:imageTag"], img["pipemap:imageId"], log, say)

        say(f"rebuild: unpacking {src_name} and checking its tree hash")
        tree = hashing.unpack(x / src_name, Path(tmp) / "src")
        th = hashing.tree_hash(hashing.scan_tree(tree))
        if th != src["pipemap:treeSha256"]:
            raise VerifyFailed(f"verify: {src_name}: tree hash {th[:16]} differs from the recorded "
                               f"{src['pipemap:treeSha256'][:16]} (archive damaged)")
        linux = ResolvedSource("linux", src["pipemap:version"], "archive", f"{archive}:{src_name}", tree, th, None,
                               True, "unpacked from the archive")
        rsettings = Settings(x / "lab", settings.cache, settings.state, Path(tmp) / "build", settings.user)
        out: list[Rebuilt] = []
        try:
            for variant in VARIANTS:
                out.append(_build(rsettings, x, variant, linux, img, files, say))
        except BaseException:
            _keep_logs(rsettings, settings)
            raise
    bad = [r.variant for r in out if not r.same]
    if bad:
        raise ArchiveError(f"verify --rebuild: the rebuilt bzImage of {', '.join(bad)} differs from the archived one",
                           "\n".join(f"{r.variant}: archived {r.archived} rebuilt {r.rebuilt}" for r in out))
    return v, out


def _build(rsettings: Settings, x: Path, variant: str, linux: ResolvedSource, img: dict[str, Any],
           files: dict[str, dict[str, Any]], say: pack.Say) -> Rebuilt:
    """Rebuild one variant with the archived toolchain record, and compare with the archived bzImage."""
    rec = json.loads((x / "kernels" / variant / "build.json").read_text())["toolchain"]
    if rec["image"] != img["pipemap:imageTag"]:
        raise ArchiveError(f"rebuild: the {variant} kernel was built with {rec['image']}, "
                           f"the archive holds {img['pipemap:imageTag']}")
    tc = Toolchain(engine_mod.select(rsettings, "podman"), rec["image"], rec["input_hash"],
                   rec["gcc"].removesuffix(f"/bin/{GCC}"))
    t0 = time.monotonic()
    kb = kernel.build(rsettings, variant, linux, tc, True, say)
    r = Rebuilt(variant, files[f"kernels/{variant}/bzImage"]["sha256"], kb.sha256, time.monotonic() - t0)
    say(f"rebuild: {variant}: archived {r.archived}  rebuilt {r.rebuilt}  "
        f"{'same' if r.same else 'DIFFERENT'} ({r.seconds:.0f} s)")
    return r


def _keep_logs(rsettings: Settings, settings: Settings) -> None:
    """The temp build dir goes away; its logs are what explains a failed rebuild."""
    dest = settings.log_dir / "rebuild"
    shutil.rmtree(dest, ignore_errors=True)
    if rsettings.log_dir.is_dir():
        shutil.copytree(rsettings.log_dir, dest)
