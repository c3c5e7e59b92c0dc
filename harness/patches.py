"""Patch series: ordered directories of ``NNNN-name.patch`` files, applied with patch(1).

A failure names the patch and the rejected hunk, and carries the reject text, so the
user sees at once which of our changes no longer fits which upstream file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from harness import hashing, proc
from harness.errors import ConfigError, PatchFailed


@dataclass(frozen=True)
class Patch:
    series: str
    path: Path
    sha256: str

    @property
    def name(self) -> str:
        return self.path.name

    def record(self) -> dict[str, str]:
        return {"series": self.series, "name": self.name, "sha256": self.sha256}


def series(patches_dir: Path, name: str) -> list[Patch]:
    d = patches_dir / name
    if not d.is_dir():
        known = sorted(p.name for p in patches_dir.iterdir() if p.is_dir()) if patches_dir.is_dir() else []
        raise ConfigError(f"unknown patch series {name!r}; known: {', '.join(known) or 'none'}")
    return [Patch(name, p, hashing.sha256_file(p)) for p in sorted(d.glob("*.patch"))]


FAILED_HUNK = re.compile(r"Hunk #(\d+) FAILED at (\d+)")
REJECTS = re.compile(r"saving rejects to file (\S+)")
CHECKING = re.compile(r"^(?:checking|patching) file (\S+)", re.M)


def apply(tree: Path, patch: Patch, log: Path) -> None:
    """Apply one patch to ``tree`` (a dry run first, so a failing patch changes nothing)."""
    base = ["patch", "-p1", "--forward", "--batch", "--no-backup-if-mismatch", "-d", str(tree), "-i", str(patch.path)]
    dry = proc.run([*base, "--dry-run"], timeout=60, capture=True, check=False, log=log, what="patch")
    if dry.returncode != 0:
        raise PatchFailed(f"patch {patch.series}/{patch.name} does not apply: {_rejected(dry.stdout)}", dry.stdout)
    proc.run(base, timeout=60, log=log, what=f"patch {patch.name}")


def _rejected(output: str) -> str:
    """'hunk #2 (at line 110) of include/asm-i386/string.h', from patch's own report."""
    current = None
    for line in output.splitlines():
        m = CHECKING.match(line)
        if m:
            current = m.group(1)
        h = FAILED_HUNK.search(line)
        if h:
            return f"hunk #{h.group(1)} (at line {h.group(2)}) of {current or '?'} rejected"
        if "can't find file to patch" in line or "No file to patch" in line:
            return "a file it patches is missing"
        if "Reversed (or previously applied) patch detected" in line:
            return f"already applied to {current or '?'}"
    return "patch(1) refused it"


def apply_all(tree: Path, patches: list[Patch], log: Path) -> None:
    for p in patches:
        apply(tree, p, log)
