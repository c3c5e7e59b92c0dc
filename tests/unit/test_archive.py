"""The archive's pack, metadata and verify code on a small synthetic archive (no podman, no QEMU)."""

from __future__ import annotations

import json
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness import hashing
from harness.archive import assemble, contents, crate, pack
from harness.archive.contents import Staging
from harness.archive.errors import MissingStage, VerifyFailed
from harness.archive.verify import verify
from tests.conftest import make_settings

MEMBERS = {
    "results/raw.sqlite": b"SQLite format 3\x00" + bytes(range(256)),
    "results/summary.json": b'{"experiments": {}}\n',
    "results/cells.csv": b"cell,median\nE1,1.0\n",
    "lab/patches/xmmap/0001-x.patch": b"--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n",
    "lab/kernel-2.0.36/config": b"CONFIG_M486=y\n",
    "sources/linux-2.0.36.tar.gz": os.urandom(3000),
    "images/pipemap-toolchain-0123.oci.tar.gz": os.urandom(5000),
    "kernels/xmmap/bzImage": os.urandom(4000),
    "kernels/vanilla/bzImage": os.urandom(4000),
    "rootfs/root.img.gz": os.urandom(1000),
    "records/sources.json": b'{"linux": {}}\n',
}
REPORT = ("report/report.html", "report/cells.csv", "report/summary.json")


@dataclass(frozen=True)
class Rendered:
    html: Path
    csv: Path
    summary: Path


def fake_render(results: Path, out: Path, reference: object = None) -> Rendered:
    """A deterministic stand-in for harness.report.render: output is a function of results/ only."""
    cells = (results / "cells.csv").read_bytes()
    (out / "report.html").write_bytes(b"<html><pre>" + cells + b"</pre></html>\n")
    (out / "cells.csv").write_bytes(cells)
    (out / "summary.json").write_bytes((results / "summary.json").read_bytes())
    return Rendered(out / "report.html", out / "cells.csv", out / "summary.json")


def stage(root: Path) -> Staging:
    st = Staging(root)
    root.mkdir(parents=True)
    for name, data in MEMBERS.items():
        st.path(name).write_bytes(data)
        st.add(name, f"test member {name}", {"pipemap:variant": "xmmap"} if name.endswith("bzImage") else {})
    (root.parent / "scratch").mkdir()
    contents.report(st, fake_render, root.parent / "scratch")
    st.props.update({"datePublished": "2026-11-25T21:12:36+00:00", "pipemap:profile": "quick"})
    return st


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("archive")
    st = stage(d / "stage" / "crate")
    return assemble(st.root, st.items, st.props, d / "out")


def all_members() -> list[str]:
    return sorted([*MEMBERS, *REPORT, crate.NAME])


def rewrite(src: Path, dest: Path, drop: str | None = None, add: tuple[str, bytes] | None = None) -> Path:
    """A copy of an archive without one member and/or with one more."""
    x = dest.parent / (dest.name + ".x")
    with tarfile.open(src) as t:
        hashing.extract_tar(t, x)
    if drop:
        (x / drop).unlink()
    if add:
        (x / add[0]).parent.mkdir(parents=True, exist_ok=True)
        (x / add[0]).write_bytes(add[1])
    with open(dest, "wb") as f:
        pack.write_tar(f, pack.staged_files(x))
    return dest


def test_round_trip_verifies(archive: Path) -> None:
    v = verify(archive, fake_render)
    assert v.members == len(all_members())
    assert v.report == "identical"
    assert archive.name.startswith("pipemap-quick-") and archive.suffix == ".tar"


def test_archive_is_a_plain_deterministic_tar(archive: Path) -> None:
    with tarfile.open(archive) as t:
        members = t.getmembers()
    assert [m.name for m in members] == all_members()
    assert all(m.isreg() and m.mtime == 0 and m.uid == m.gid == 0 and m.uname == m.gname == "" for m in members)


@pytest.mark.parametrize("member", all_members())
def test_one_changed_byte_in_any_member_is_named(archive: Path, tmp_path: Path, member: str) -> None:
    with tarfile.open(archive) as t:
        m = t.getmember(member)
    data = bytearray(archive.read_bytes())
    data[m.offset_data + m.size // 2] ^= 0x01
    damaged = tmp_path / archive.name
    damaged.write_bytes(bytes(data))
    with pytest.raises(VerifyFailed, match=f"^verify: {member}: "):
        verify(damaged, fake_render)


def test_missing_member_is_named(archive: Path, tmp_path: Path) -> None:
    damaged = rewrite(archive, tmp_path / "a.tar", drop="kernels/xmmap/bzImage")
    with pytest.raises(VerifyFailed, match="^verify: kernels/xmmap/bzImage: missing"):
        verify(damaged, fake_render)


def test_missing_metadata_is_named(archive: Path, tmp_path: Path) -> None:
    damaged = rewrite(archive, tmp_path / "a.tar", drop=crate.NAME)
    with pytest.raises(VerifyFailed, match=f"^verify: {crate.NAME}: missing"):
        verify(damaged, fake_render)


def test_extra_member_is_named(archive: Path, tmp_path: Path) -> None:
    damaged = rewrite(archive, tmp_path / "a.tar", add=("kernels/xmmap/evil", b"x"))
    with pytest.raises(VerifyFailed, match="^verify: kernels/xmmap/evil: not listed in the metadata"):
        verify(damaged, fake_render)


def test_report_that_does_not_re_render_the_same_fails(archive: Path) -> None:
    def other(results: Path, out: Path, reference: object = None) -> Rendered:
        r = fake_render(results, out)
        r.html.write_bytes(r.html.read_bytes() + b"<!-- another day -->")
        return r

    with pytest.raises(VerifyFailed, match="^verify: report/report.html: differs"):
        verify(archive, other)


def test_packing_twice_gives_the_same_bytes(archive: Path, tmp_path: Path) -> None:
    st = stage(tmp_path / "again" / "crate")
    for p in st.root.rglob("*"):
        os.utime(p, (1234567890, 1234567890))  # other mtimes on disk must not matter
    again = assemble(st.root, st.items, st.props, tmp_path / "out")
    assert again.name == archive.name
    assert again.read_bytes() == archive.read_bytes()


def test_metadata_is_an_ro_crate_with_a_self_check(archive: Path, tmp_path: Path) -> None:
    from rocrate.rocrate import ROCrate

    with tarfile.open(archive) as t:
        hashing.extract_tar(t, tmp_path / "x")
    raw = (tmp_path / "x" / crate.NAME).read_bytes()
    meta = crate.check(raw)
    root = crate.root(meta)
    assert root["author"] == {"@id": "#pipemap-lab"} and root["datePublished"].startswith("2026-11-25")
    entity = crate.files(meta)["kernels/xmmap/bzImage"]
    assert entity["contentSize"] == str(len(MEMBERS["kernels/xmmap/bzImage"]))
    assert entity["pipemap:role"] == "kernels" and entity["encodingFormat"] == "application/octet-stream"
    rc = ROCrate(tmp_path / "x")
    assert rc.root_dataset["name"].startswith("pipemap")
    assert {e.id for e in rc.data_entities} >= set(MEMBERS)
    # a semantically equal but re-formatted metadata file is caught too
    with pytest.raises(VerifyFailed, match=f"^verify: {crate.NAME}: not in the lab's canonical form"):
        crate.check(json.dumps(json.loads(raw), indent=1).encode())


def test_tree_tar_gz_is_deterministic(tmp_path: Path) -> None:
    tree = tmp_path / "t"
    (tree / "d" / "empty").mkdir(parents=True)
    (tree / "d" / "f").write_text("x")
    (tree / "run.sh").write_text("#!/bin/sh\n")
    (tree / "run.sh").chmod(0o755)
    (tree / "link").symlink_to("d/f")
    pack.pack_tree_gz(tree, "t-1", tmp_path / "a.tar.gz")
    os.utime(tree / "d" / "f", (1, 1))
    pack.pack_tree_gz(tree, "t-1", tmp_path / "b.tar.gz")
    assert (tmp_path / "a.tar.gz").read_bytes() == (tmp_path / "b.tar.gz").read_bytes()
    with tarfile.open(tmp_path / "a.tar.gz") as t:
        m = {x.name: x for x in t.getmembers()}
    assert m["t-1/run.sh"].mode == 0o755 and m["t-1/link"].issym() and m["t-1/d/empty"].isdir()


def test_missing_outputs_name_the_stage_to_run(tmp_path: Path) -> None:
    s = make_settings(tmp_path)
    with pytest.raises(MissingStage, match=r"raw\.sqlite.*run `./inv bench`"):
        contents.check(s)
    bench = s.build / "bench"
    bench.mkdir(parents=True)
    for name in contents.RESULT_FILES:
        (bench / name).write_text("{}")
    with pytest.raises(MissingStage, match=r"vanilla kernel bzImage.*run `./inv build --variant vanilla`"):
        contents.check(s)
