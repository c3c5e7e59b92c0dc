"""Obtain one verified source tree: from an override directory, the cache, a mirror
directory or the upstream URLs, in that order, and say which route it took.

Routes and what "verified" means on each:
- override: a local unpacked tree (like Buildroot's OVERRIDE_SRCDIR). Verified when its
  tree hash equals the pinned one; a differing tree, or one of a source without a pinned
  tree hash, is used only when the user allows it explicitly, and is recorded as unverified.
- mirror / download: the archive is checked against the pinned archive sha256, or, where
  none is published, unpacked and checked against the pinned tree hash. Nothing is kept
  unless it verified. A hash learnt by a verified transfer is recorded in the cache
  (``learnt-pins.toml``) and reported; the tracked manifest is written only by the
  maintainers' ``pin-source`` task.
"""

from __future__ import annotations

import json
import tempfile
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path

from harness import atomic, hashing
from harness.errors import (
    ConfigError,
    HashMismatch,
    OverrideMismatch,
    SourceError,
    UnverifiedSource,
)
from harness.settings import Settings
from harness.sources import download
from harness.sources.manifest import Manifest, Source


@dataclass(frozen=True)
class ResolvedSource:
    name: str
    version: str
    route: str  # override | mirror | download (a cached archive keeps its first route)
    origin: str  # URL, mirror file or override directory
    tree: Path
    tree_sha256: str
    archive_sha256: str | None
    verified: bool
    note: str = ""

    def record(self) -> dict[str, object]:
        d = asdict(self)
        d["tree"] = str(self.tree)
        return d


def obtain(src: Source, manifest: Manifest, settings: Settings, allow_unverified: frozenset[str]) -> ResolvedSource:
    allowed = src.name in allow_unverified or src.name in settings.user.allow_unverified
    override = settings.user.overrides.get(src.name)
    if override is not None:
        return _from_override(src, override, allowed)
    cached = _from_cache(src, settings)
    if cached is not None:
        return cached
    return _transfer(src, manifest, settings)


def _from_override(src: Source, tree: Path, allowed: bool) -> ResolvedSource:
    if not tree.is_dir():
        raise ConfigError(f"override for {src.name} is not a directory: {tree}")
    entries = hashing.scan_tree(tree)
    th = hashing.tree_hash(entries)

    def resolved(verified: bool, note: str) -> ResolvedSource:
        return ResolvedSource(src.name, src.version, "override", str(tree), tree, th, None, verified, note)

    if not src.tree_sha256:
        if not allowed:
            raise UnverifiedSource(
                f"{src.name}: no pinned tree hash to check override {tree} against; "
                f"pass --allow-unverified {src.name} to use it unverified"
            )
        return resolved(False, "no pinned tree hash: used unverified by explicit permission")
    if th == src.tree_sha256:
        return resolved(True, "")
    diff = hashing.compare(hashing.read_manifest(src.manifest), entries) if src.manifest.exists() else None
    detail = "\n".join(diff.lines()) if diff else "(no per-file manifest to compare with)"
    count = len(diff.missing) + len(diff.extra) + len(diff.changed) if diff else 0
    if not allowed:
        raise OverrideMismatch(
            f"{src.name}: override tree {tree} differs from the pinned manifest in {count} file(s); "
            f"pass --allow-unverified {src.name} to use it anyway",
            detail,
        )
    return resolved(False, f"differs from the pinned tree in {count} file(s): used by explicit permission")


def _archive_path(src: Source, settings: Settings) -> Path:
    return settings.cache / "downloads" / src.filename


def _marker(path: Path) -> Path:
    return path.with_name(path.name + ".verified.json")


def _from_cache(src: Source, settings: Settings) -> ResolvedSource | None:
    """A previously verified archive and its unpacked tree, if both are still intact."""
    archive = _archive_path(src, settings)
    marker = _marker(archive)
    if not (archive.exists() and marker.exists()):
        return None
    rec = json.loads(marker.read_text())
    if src.archive_sha256 and rec.get("archive_sha256") != src.archive_sha256:
        return None
    if src.tree_sha256 and rec.get("tree_sha256") != src.tree_sha256:
        return None
    tree = Path(rec["tree"])
    if not tree.is_dir() or hashing.sha256_file(archive) != rec["archive_sha256"]:
        return None
    return ResolvedSource(**{**rec, "tree": tree})


def _transfer(src: Source, manifest: Manifest, settings: Settings) -> ResolvedSource:
    archive = _archive_path(src, settings)
    failures: list[str] = []
    candidates: list[tuple[str, str]] = []
    if settings.user.mirror is not None and (settings.user.mirror / src.filename).exists():
        candidates.append(("mirror", str(settings.user.mirror / src.filename)))
    candidates += [("download", url) for url in src.urls]
    for route, origin in candidates:
        try:
            # fail closed: the download is renamed to ``archive`` only if the block below
            # ends normally, i.e. after its hash verified; any exception removes it
            with atomic.staged(archive) as tmp:
                if route == "mirror":
                    sha = download.copy_file(Path(origin), tmp)
                else:
                    sha = download.fetch_url(origin, tmp, src.label)
                final_tree, th, entries = _verify(src, settings, origin, tmp, sha)
        except download.TransferError as e:
            failures.append(str(e))
            continue
        return _keep(src, settings, route, origin, archive, final_tree, th, sha, entries)
    raise SourceError(f"{src.name}: no route delivered {src.filename}", "\n".join(failures))


def _verify(
    src: Source, settings: Settings, origin: str, tmp: Path, sha: str
) -> tuple[Path, str, list[hashing.FileEntry]]:
    """Check the staged archive ``tmp`` against the pins; unpack it into the tree cache."""
    if src.archive_sha256 and sha != src.archive_sha256:
        raise HashMismatch(
            f"{src.name}: archive hash mismatch for {origin}: expected sha256 {src.archive_sha256}, got {sha}"
        )
    if not src.archive_sha256 and not src.tree_sha256:
        raise UnverifiedSource(f"{src.name}: nothing pinned to verify {origin} against")
    trees = settings.cache / "trees"
    trees.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=trees, prefix=f".{src.label}-") as work:
        root = hashing.unpack(tmp, Path(work) / "x")
        entries = hashing.scan_tree(root)
        th = hashing.tree_hash(entries)
        if src.tree_sha256 and th != src.tree_sha256:
            diff = hashing.compare(hashing.read_manifest(src.manifest), entries) if src.manifest.exists() else None
            raise HashMismatch(
                f"{src.name}: tree hash mismatch for {origin}: expected {src.tree_sha256}, got {th}",
                "\n".join(diff.lines()) if diff else "",
            )
        final_tree = trees / f"{src.label}-{th[:16]}"
        with atomic.staged(final_tree) as t:  # replaces an existing tree of that name
            root.rename(t)
    return final_tree, th, entries


def _keep(
    src: Source, settings: Settings, route: str, origin: str, archive: Path,
    final_tree: Path, th: str, sha: str, entries: list[hashing.FileEntry],
) -> ResolvedSource:
    """Record a verified transfer: learnt pins (in the cache, never in the tracked
    manifest), then the cache marker."""
    learnt = {}
    if not src.archive_sha256:
        learnt["archive_sha256"] = sha
    if not src.tree_sha256:
        learnt["tree_sha256"] = th
        hashing.write_manifest(entries, learnt_manifest(settings, src), src.label)
    if learnt:
        record_learnt(settings, src.name, learnt)
        print(_learnt_line(settings, src.name, learnt, final_tree))
    res = ResolvedSource(src.name, src.version, route, origin, final_tree, th, sha, True)
    atomic.write_text(_marker(archive), json.dumps(res.record(), indent=2) + "\n")
    return res


def learnt_pins_path(settings: Settings) -> Path:
    """Where pins learnt by verified transfers are recorded (the cache, not the tracked manifest)."""
    return settings.cache / "sources" / "learnt-pins.toml"


def learnt_manifest(settings: Settings, src: Source) -> Path:
    """The per-file manifest of a learnt tree (beside the learnt pins)."""
    return settings.cache / "sources" / src.manifest.name


def read_learnt(settings: Settings) -> dict[str, dict[str, str]]:
    path = learnt_pins_path(settings)
    return tomllib.loads(path.read_text()) if path.exists() else {}


def record_learnt(settings: Settings, name: str, pins: dict[str, str]) -> Path:
    """Merge ``pins`` for source ``name`` into the learnt-pins file (written atomically)."""
    table = read_learnt(settings)
    table.setdefault(name, {}).update(pins)
    lines = ["# pins learnt by verified transfers; pin for everyone with ./inv pin-source\n"]
    for sec, kv in sorted(table.items()):
        lines.append(f"\n[{json.dumps(sec)}]\n")
        lines += [f"{k} = {json.dumps(v)}\n" for k, v in sorted(kv.items())]
    return atomic.write_text(learnt_pins_path(settings), "".join(lines))


def _learnt_line(settings: Settings, name: str, pins: dict[str, str], tree: Path) -> str:
    what = "; ".join(f"{k.removesuffix('_sha256')} sha256 {v}" for k, v in sorted(pins.items()))
    return (
        f"pin learnt for {name}: {what} (recorded in {learnt_pins_path(settings)}); "
        f"to pin it for everyone: ./inv pin-source --name {name} --tree {tree}"
    )
