"""What goes into the archive, and where it comes from: each part staged as plain files.

Every part is checked before it is taken, so that the archive never pairs results with
kernels, sources or configurations they were not made from; a missing or stale part fails
with one line naming the stage that makes it (``run `./inv bench```).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import engine as engine_mod
from harness import hashing, proc
from harness.archive import images, pack
from harness.archive.errors import ArchiveError, MissingStage
from harness.settings import Settings
from harness.toolchain import record_path

VARIANTS = ("vanilla", "xmmap")
RESULT_FILES = ("raw.sqlite", "provenance.json", "summary.json", "cells.csv", "ratios.csv")
# Our patches and configurations, and the lab's own code: verify re-renders the report with the
# archived harness (not with whatever the checkout holds years later), under the archived lock.
LAB_PATHS = ("patches", "kernel-2.0.36", "images", "sources", "guest-tools", "harness", "tasks.py", "inv",
             "requirements.in", "requirements.lock", "debian-packages.txt", "pyproject.toml")

Renderer = Callable[..., Any]  # harness.report.render(results_dir, out_dir, reference=None)


@dataclass(frozen=True)
class Item:
    """A staged file and what the metadata says about it."""

    name: str
    path: Path
    description: str
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Staging:
    """The directory the archive's members are assembled in, and what is known about them."""

    root: Path
    items: list[Item] = field(default_factory=list)
    props: dict[str, Any] = field(default_factory=dict)  # extra properties of the crate's root

    def path(self, name: str) -> Path:
        p = self.root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def add(self, name: str, description: str, extra: dict[str, Any] | None = None) -> Item:
        """Record a member already written at ``self.path(name)``."""
        item = Item(name, self.root / name, description, extra or {})
        self.items.append(item)
        return item

    def copy(self, name: str, src: Path, description: str, extra: dict[str, Any] | None = None) -> Item:
        shutil.copyfile(src, self.path(name))
        return self.add(name, description, extra)

    def write_json(self, name: str, data: object, description: str) -> Item:
        self.path(name).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        return self.add(name, description)


def _need(path: Path, stage: str, what: str) -> Path:
    if not path.exists():
        raise MissingStage(f"archive: {what} missing ({path}): run `./inv {stage}`")
    return path


def _json(path: Path, stage: str, what: str) -> dict[str, Any]:
    try:
        data = json.loads(_need(path, stage, what).read_text())
    except json.JSONDecodeError as e:
        raise MissingStage(f"archive: {what} unreadable ({path}: {e}): run `./inv {stage}`") from None
    if not isinstance(data, dict):
        raise MissingStage(f"archive: {what} is not a JSON object ({path}): run `./inv {stage}`")
    return data


@dataclass(frozen=True)
class Inputs:
    """The build outputs on disk, checked to belong together, before any copying starts."""

    bench: Path
    bench_provenance: dict[str, Any]
    builds: dict[str, dict[str, Any]]
    image_record: dict[str, Any]
    sources: dict[str, Any]
    toolchain_record: Path


def check(settings: Settings) -> Inputs:
    """Every input of the archive present, and the bench measured on exactly these outputs."""
    b = settings.build
    bench = b / "bench"
    for name in RESULT_FILES:
        _need(bench / name, "bench", f"bench output {name}")
    wal = bench / "raw.sqlite-wal"
    if wal.exists() and wal.stat().st_size:
        raise ArchiveError(f"archive: {wal} is not empty: is a benchmark still running? finish it first")
    prov = _json(bench / "provenance.json", "bench", "bench provenance")
    builds: dict[str, dict[str, Any]] = {}
    for v in VARIANTS:
        for f in ("bzImage", "System.map"):
            _need(b / "kernel" / v / f, f"build --variant {v}", f"{v} kernel {f}")
        rec = _json(b / "kernel" / v / "build.json", f"build --variant {v}", f"{v} kernel record")
        if hashing.sha256_file(b / "kernel" / v / "bzImage") != rec.get("bzImage_sha256"):
            raise MissingStage(f"archive: build/kernel/{v}/bzImage differs from its build.json: "
                               f"run `./inv build --variant {v}`")
        builds[v] = rec
    _need(b / "image" / "root.img", "image", "root image")
    img = _json(b / "image" / "image.json", "image", "root image record")
    if hashing.sha256_file(b / "image" / "root.img") != img.get("root_img_sha256"):
        raise MissingStage("archive: build/image/root.img differs from its image.json: run `./inv image`")
    measured = prov.get("kernels") or {}
    stale = [v for v in VARIANTS if v in measured and measured[v] != builds[v]["bzImage_sha256"]]
    if not measured:
        stale = list(VARIANTS)
    if stale or prov.get("root_image_sha256") != img["root_img_sha256"]:
        what = f"kernel(s) {', '.join(stale)}" if stale else "root image"
        raise MissingStage(f"archive: the bench results were measured on another {what} than build/ holds now: "
                           "run `./inv bench`")
    tcs = {rec["toolchain"]["input_hash"] for rec in builds.values()}
    if len(tcs) != 1:
        raise MissingStage("archive: the two kernels were built with different toolchains: "
                           "run `./inv build --variant vanilla` and `./inv build --variant xmmap`")
    tc_rec = _need(record_path(settings, tcs.pop()), "toolchain", "toolchain record")
    sources = _json(b / "provenance" / "sources.json", "fetch", "source provenance")
    for name in ("linux", "gcc"):
        if name not in sources:
            raise MissingStage(f"archive: build/provenance/sources.json does not name {name}: run `./inv fetch`")
    return Inputs(bench, prov, builds, img, sources, tc_rec)


def results(st: Staging, inp: Inputs) -> None:
    desc = {
        "raw.sqlite": "Raw store: every benchmark run (SQLite, one row per run)",
        "provenance.json": "Bench provenance: QEMU version, tool builds, input and kernel hashes",
        "summary.json": "Statistics of every experiment: ratios with bootstrap intervals",
        "cells.csv": "Per-cell medians of the benchmark",
        "ratios.csv": "mmap/read ratios per cell",
    }
    for name in RESULT_FILES:
        st.copy(f"results/{name}", inp.bench / name, desc[name])
    db = sqlite3.connect(f"file:{st.root / 'results' / 'raw.sqlite'}?immutable=1", uri=True)
    try:
        last = db.execute("SELECT max(finished_at) FROM runs").fetchone()[0]
    except sqlite3.Error as e:
        raise MissingStage(f"archive: build/bench/raw.sqlite unreadable ({e}): run `./inv bench`") from None
    finally:
        db.close()
    if not last:
        raise MissingStage("archive: build/bench/raw.sqlite holds no runs: run `./inv bench`")
    st.props["datePublished"] = last
    st.props["pipemap:profile"] = inp.bench_provenance.get("profile", "unknown")


def report(st: Staging, renderer: Renderer, scratch: Path) -> None:
    """Render the report from the staged results (not from build/): what verify re-renders too."""
    out = scratch / "report"
    out.mkdir(parents=True)
    r = renderer(st.root / "results", out, reference=None)
    st.copy("report/report.html", Path(r.html), "The report, rendered from results/ while archiving")
    st.copy("report/cells.csv", Path(r.csv), "The report's table of cells")
    st.copy("report/summary.json", Path(r.summary), "The report's summary")


def _git(settings: Settings, *args: str) -> str:
    return proc.output(["git", "-C", settings.repo, *args], timeout=60, what="git")


def lab(st: Staging, settings: Settings, inp: Inputs) -> None:
    """Our own files, as tracked by git, copied from the work tree the kernels were built from."""
    tracked = [p for p in _git(settings, "ls-files", "-z", "--", *LAB_PATHS).split("\0") if p]
    if not tracked:
        raise ArchiveError(f"archive: git lists no files under {', '.join(LAB_PATHS)} in {settings.repo}")
    for rel in tracked:
        src = settings.repo / rel
        if src.is_symlink() or not src.is_file():
            continue  # deleted in the work tree (then recorded as dirty) or not a regular file
        st.copy(f"lab/{rel}", src, _lab_description(rel))
    commit = _git(settings, "rev-parse", "HEAD")
    dirty = [line[3:] for line in _git(settings, "status", "--porcelain", "--", *LAB_PATHS).splitlines()]
    st.props["pipemap:labCommit"] = commit
    st.props["pipemap:labDirty"] = bool(dirty)
    st.write_json("records/lab.json", {"commit": commit, "dirty": bool(dirty), "dirty_paths": dirty,
                                       "paths": list(LAB_PATHS)},
                  "The lab commit lab/ was taken at, and whether its work tree differed from it")
    _check_lab_matches_kernels(st, inp)


def _lab_description(rel: str) -> str:
    top = rel.split("/", 1)[0]
    return {"patches": "Patch", "kernel-2.0.36": "Kernel build file", "images": "Image recipe file",
            "sources": "Source pin", "guest-tools": "Guest program source",
            "harness": "Lab code"}.get(top, "Lab file") + f": {rel}"


def _check_lab_matches_kernels(st: Staging, inp: Inputs) -> None:
    """The archived patches and kernel files must be those the kernels were built from."""
    kfiles = {p.name: hashing.sha256_file(p) for p in sorted((st.root / "lab" / "kernel-2.0.36").iterdir())}
    for v, rec in inp.builds.items():
        if kfiles != rec.get("kernel_files"):
            raise MissingStage(f"archive: kernel-2.0.36/ differs from what the {v} kernel was built with "
                               f"(or holds untracked files): commit or remove them, then `./inv build --variant {v}`")
        for p in rec.get("patches", []):
            f = st.root / "lab" / "patches" / p["series"] / p["name"]
            if not f.exists() or hashing.sha256_file(f) != p["sha256"]:
                raise MissingStage(f"archive: patch {p['series']}/{p['name']} is not the one the {v} kernel was "
                                   f"built with (changed or untracked): run `./inv build --variant {v}`")


def sources(st: Staging, settings: Settings, inp: Inputs, level: int, say: pack.Say) -> None:
    """The source archives: the release file for a download/mirror route, a tar.gz of an override tree."""
    from harness.sources import manifest as manifest_mod
    from harness.sources import manifest_path

    man = manifest_mod.load(manifest_path(settings))
    for name, rec in sorted(inp.sources.items()):
        src = man.get(name)
        extra = {"pipemap:source": name, "pipemap:version": rec["version"], "pipemap:route": rec["route"],
                 "pipemap:origin": rec["origin"], "pipemap:verified": rec["verified"],
                 "pipemap:treeSha256": rec["tree_sha256"], "pipemap:note": rec.get("note", "")}
        if rec["route"] == "override":
            tree = Path(rec["tree"])
            if not tree.is_dir():
                raise MissingStage(f"archive: override tree of {name} is gone ({tree}): run `./inv fetch`")
            say(f"archive: packing the {name} override tree {tree}")
            th = hashing.tree_hash(hashing.scan_tree(tree))
            if th != rec["tree_sha256"]:
                raise MissingStage(f"archive: override tree of {name} changed since it was fetched "
                                   f"(tree hash {th[:16]}, recorded {rec['tree_sha256'][:16]}): run `./inv fetch`")
            member = f"sources/{src.label}.tar.gz"
            pack.pack_tree_gz(tree, src.label, st.path(member), level)
            st.add(member, f"{src.label}: deterministic tar.gz of the override tree (tree hash "
                           f"{th[:16]}...); {rec.get('note') or 'verified against the pinned tree hash'}", extra)
        else:
            archive = settings.cache / "downloads" / src.filename
            if not archive.exists() or hashing.sha256_file(archive) != rec["archive_sha256"]:
                raise MissingStage(f"archive: {archive} missing or not the verified release file: run `./inv fetch`")
            st.copy(f"sources/{src.filename}", archive,
                    f"{src.label}: the original release file, via {rec['route']} ({rec['origin']})",
                    {**extra, "pipemap:archiveSha256": rec["archive_sha256"]})


def container_images(st: Staging, settings: Settings, inp: Inputs, level: int, say: pack.Say) -> None:
    eng = engine_mod.select(settings, "podman")
    log = settings.log_dir / "archive.log"
    tc_tag = next(iter(inp.builds.values()))["toolchain"]["image"]
    wanted = [(tc_tag, "toolchain", "Toolchain image: gcc 2.7.2.3 (i486-linux) on Debian bookworm; builds the kernels"),
              (inp.image_record["build_image"], "image", "Guest-build image: Debian bookworm with the packages "
                                                         "that build busybox, dropbear and sftp-server")]
    saved = {}
    dest = st.root / "images"
    dest.mkdir(parents=True, exist_ok=True)
    for tag, stage, desc in wanted:
        s = images.save(eng, tag, dest, log, stage, level, say)
        st.add(f"images/{s.file.name}", desc, {"pipemap:imageTag": tag, "pipemap:imageId": s.image_id,
                                               "pipemap:imageRole": stage})
        saved[tag] = s.image_id
    st.props["pipemap:toolchainImage"] = tc_tag
    st.write_json("records/images.json", {"images": saved, "rootfs_tarballs": _rootfs_tarballs(settings, saved)},
                  "Container image IDs, and the Debian root file system tarballs they were imported from")


def _rootfs_tarballs(settings: Settings, saved: dict[str, str]) -> list[dict[str, Any]]:
    """Recorded, not archived: each is the bottom layer of a base image the archived images hold,
    and together they would add about 1 GB."""
    d = settings.cache / "rootfs"
    out = []
    for p in sorted(d.glob("base-*.tar")) if d.is_dir() else []:
        out.append({"file": p.name, "size": p.stat().st_size, "sha256": hashing.sha256_file(p),
                    "base_image": f"localhost/pipemap-base:{p.stem.removeprefix('base-')}"})
    return out


def kernels_rootfs_records(st: Staging, settings: Settings, inp: Inputs, level: int) -> None:
    """Kernels and root image with their build records (kept once: the bench provenance is in results/)."""
    b = settings.build
    for v in inp.builds:
        st.copy(f"kernels/{v}/bzImage", b / "kernel" / v / "bzImage", f"Linux 2.0.36 {v} kernel image",
                {"pipemap:variant": v})
        st.copy(f"kernels/{v}/System.map", b / "kernel" / v / "System.map", f"Symbol map of the {v} kernel")
        st.copy(f"kernels/{v}/build.json", b / "kernel" / v / "build.json",
                f"Build record of the {v} kernel: inputs, toolchain, command, hashes")
    pack.gzip_file(b / "image" / "root.img", st.path("rootfs/root.img.gz"), level)
    st.add("rootfs/root.img.gz", "The guest's ext2 root image (gzip)",
           {"pipemap:uncompressedSha256": inp.image_record["root_img_sha256"]})
    st.copy("rootfs/image.json", b / "image" / "image.json", "Build record of the root image")
    st.copy("records/sources.json", b / "provenance" / "sources.json", "Route and hashes of every source")
    st.copy(f"records/toolchain-{inp.toolchain_record.name}", inp.toolchain_record,
            "Toolchain record: gcc version, gcc source and patches, Debian package versions")
