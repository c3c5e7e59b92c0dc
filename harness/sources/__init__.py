"""Stage 1, sources: every upstream input, pinned, fetched and verified.

``fetch`` resolves the named sources (all by default) and writes the provenance record
``build/provenance/sources.json`` that says which route each one took.
"""

from __future__ import annotations

import json
from pathlib import Path

from harness import atomic
from harness.settings import Settings
from harness.sources import manifest as manifest_mod
from harness.sources.resolve import ResolvedSource, obtain


def manifest_path(settings: Settings) -> Path:
    return settings.repo / "sources" / "sources.toml"


def fetch(
    settings: Settings, names: list[str] | None = None, allow_unverified: frozenset[str] = frozenset()
) -> list[ResolvedSource]:
    man = manifest_mod.load(manifest_path(settings))
    selected = man.select(names)  # unknown names fail before any transfer starts
    resolved = [obtain(src, man, settings, allow_unverified) for src in selected]
    write_provenance(settings, resolved)
    return resolved


def fetch_one(settings: Settings, name: str, allow_unverified: frozenset[str] = frozenset()) -> ResolvedSource:
    return fetch(settings, [name], allow_unverified)[0]


def write_provenance(settings: Settings, resolved: list[ResolvedSource]) -> None:
    out = settings.build / "provenance" / "sources.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    old = json.loads(out.read_text()) if out.exists() else {}
    old.update({r.name: r.record() for r in resolved})
    atomic.write_text(out, json.dumps(old, indent=2, sort_keys=True) + "\n")


def pin_tree(settings: Settings, name: str, tree: Path) -> str:
    """Maintainer step: pin ``name`` to the reference tree at ``tree`` (writes its manifest)."""
    from harness import hashing

    man = manifest_mod.load(manifest_path(settings))
    src = man.get(name)
    th = hashing.write_manifest(hashing.scan_tree(tree), src.manifest, src.label)
    manifest_mod.fill_in(man.path, name, "tree_sha256", th)
    return th
