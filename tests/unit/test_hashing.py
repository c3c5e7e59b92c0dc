"""Tree hashes: independent of file order and archive format; manifests round-trip."""

from __future__ import annotations

import io
import os
import shutil
import tarfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness import hashing
from harness.errors import SourceError

FILES = {"Makefile": b"VERSION = 2\n", "fs/pipe.c": b"/* pipes */\n", "include/linux/mm.h": b"#define X\n",
         "scripts/Configure": b"#!/bin/sh\n"}


def make_tree(root: Path, files: dict[str, bytes], order: list[str] | None = None) -> Path:
    for name in order or list(files):
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(files[name])
    return root


def test_tree_hash_same_for_directory_targz_tarxz_and_zip(tmp_path: Path) -> None:
    src = make_tree(tmp_path / "linux", FILES)
    os.chmod(src / "scripts/Configure", 0o755)
    expected = hashing.tree_hash(hashing.scan_tree(src))
    for fmt in ("gztar", "xztar", "zip"):
        archive = shutil.make_archive(str(tmp_path / f"a-{fmt}"), fmt, tmp_path, "linux")
        root = hashing.unpack(Path(archive), tmp_path / f"out-{fmt}")
        assert root.name == "linux"
        assert hashing.tree_hash(hashing.scan_tree(root)) == expected, fmt


def test_tree_hash_independent_of_archive_member_order(tmp_path: Path) -> None:
    src = make_tree(tmp_path / "t", FILES)
    hashes = set()
    for i, names in enumerate([sorted(FILES), sorted(FILES, reverse=True)]):
        arc = tmp_path / f"o{i}.tar"
        with tarfile.open(arc, "w") as t:
            for n in names:
                t.add(src / n, arcname=f"t/{n}")
        hashes.add(hashing.tree_hash(hashing.scan_tree(hashing.unpack(arc, tmp_path / f"u{i}"))))
    assert len(hashes) == 1


names = st.lists(st.from_regex(r"[a-z]{1,6}(/[a-z]{1,6}){0,2}\.c", fullmatch=True), min_size=1, max_size=8, unique=True)


@settings(max_examples=30, deadline=None)
@given(names=names, data=st.data())
def test_tree_hash_ignores_creation_order(tmp_path_factory: pytest.TempPathFactory, names: list[str],
                                          data: st.DataObject) -> None:
    # a name may not be both a file and a directory
    names = [n for n in names if not any(o.startswith(n + "/") or n.startswith(o + "/") for o in names if o != n)]
    files = {n: n.encode() * 3 for n in names}
    order = data.draw(st.permutations(names))
    a = make_tree(tmp_path_factory.mktemp("a"), files)
    b = make_tree(tmp_path_factory.mktemp("b"), files, list(order))
    assert hashing.tree_hash(hashing.scan_tree(a)) == hashing.tree_hash(hashing.scan_tree(b))


def test_tree_hash_changes_with_content_and_name(tmp_path: Path) -> None:
    base = hashing.tree_hash(hashing.scan_tree(make_tree(tmp_path / "a", FILES)))
    changed = dict(FILES, **{"fs/pipe.c": b"/* pipes! */\n"})
    renamed = {("fs/pipe2.c" if k == "fs/pipe.c" else k): v for k, v in FILES.items()}
    assert hashing.tree_hash(hashing.scan_tree(make_tree(tmp_path / "b", changed))) != base
    assert hashing.tree_hash(hashing.scan_tree(make_tree(tmp_path / "c", renamed))) != base


def test_manifest_round_trip_and_header(tmp_path: Path) -> None:
    entries = hashing.scan_tree(make_tree(tmp_path / "t", FILES))
    th = hashing.write_manifest(entries, tmp_path / "m.files", "t-1")
    assert hashing.read_manifest(tmp_path / "m.files") == entries
    assert f"# tree-sha256 {th}" in (tmp_path / "m.files").read_text()


def test_compare_lists_every_kind_of_difference(tmp_path: Path) -> None:
    a = hashing.scan_tree(make_tree(tmp_path / "a", FILES))
    other = {k: v for k, v in FILES.items() if k != "Makefile"}
    other["fs/pipe.c"] = b"changed\n"
    other["extra.c"] = b"new\n"
    b_root = make_tree(tmp_path / "b", other)
    os.chmod(b_root / "include/linux/mm.h", 0o755)
    d = hashing.compare(a, hashing.scan_tree(b_root))
    assert (d.missing, d.extra, d.changed, d.mode_changed) == (
        ["Makefile"], ["extra.c"], ["fs/pipe.c"], ["include/linux/mm.h"])
    assert not d.identical
    assert "missing  Makefile" in d.lines()


def test_mode_difference_alone_keeps_trees_identical(tmp_path: Path) -> None:
    a = make_tree(tmp_path / "a", FILES)
    b = make_tree(tmp_path / "b", FILES)
    os.chmod(b / "Makefile", 0o755)
    d = hashing.compare(hashing.scan_tree(a), hashing.scan_tree(b))
    assert d.identical and d.mode_changed == ["Makefile"]


def test_unpack_refuses_members_outside_the_tree(tmp_path: Path) -> None:
    arc = tmp_path / "evil.zip"
    with zipfile.ZipFile(arc, "w") as z:
        z.writestr("../escape.txt", "x")
    with pytest.raises(hashing.SourceError, match="escapes"):
        hashing.unpack(arc, tmp_path / "out")


@pytest.mark.parametrize("name,kind,link", [("../evil", tarfile.REGTYPE, ""),
                                            ("t/ln", tarfile.SYMTYPE, "../../etc/passwd"),
                                            ("t/dev", tarfile.CHRTYPE, "")])
def test_extract_tar_refuses_members_outside_the_tree(tmp_path: Path, name: str, kind: bytes, link: str) -> None:
    arc = tmp_path / "bad.tar"
    with tarfile.open(arc, "w") as t:
        info = tarfile.TarInfo(name)
        info.type, info.linkname = kind, link
        t.addfile(info, io.BytesIO(b"") if kind == tarfile.REGTYPE else None)
    with tarfile.open(arc) as t, pytest.raises((SourceError, tarfile.TarError)):
        hashing.extract_tar(t, tmp_path / "x")
    assert not (tmp_path / "evil").exists()


def test_extract_tar_keeps_an_absolute_member_inside_the_tree(tmp_path: Path) -> None:
    arc = tmp_path / "abs.tar"
    name = f"/tmp/pipemap-abs-{os.getpid()}"
    with tarfile.open(arc, "w") as t:
        t.addfile(tarfile.TarInfo(name), io.BytesIO(b""))
    with tarfile.open(arc) as t:
        try:
            hashing.extract_tar(t, tmp_path / "x")  # 3.11.4+: the data filter strips the slash
        except SourceError:
            pass  # 3.11.2 (Debian 12): refused
    assert not Path(name).exists()
