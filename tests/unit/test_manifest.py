"""The source manifest: the real one loads, bad ones are refused, pins fill in once."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import ConfigError, UnknownSource
from harness.settings import REPO
from harness.sources import manifest


def test_repo_manifest_pins_kernel_tree_and_gcc_archive() -> None:
    man = manifest.load(REPO / "sources" / "sources.toml")
    linux, gcc = man.get("linux"), man.get("gcc")
    assert linux.version == "2.0.36" and "/v2.0/" in linux.urls[0]
    assert linux.tree_sha256 and linux.manifest.exists()
    assert gcc.archive_sha256 == "16166e0f0f2064bb3114716650569065ef3855ae2331d7a29b85d4b9aa73773c"
    assert gcc.filename == "gcc-2.7.2.3.tar.gz"


def test_kernel_manifest_file_matches_pinned_tree_hash() -> None:
    from harness import hashing

    linux = manifest.load(REPO / "sources" / "sources.toml").get("linux")
    entries = hashing.read_manifest(linux.manifest)
    assert len(entries) == 2297
    assert hashing.tree_hash(entries) == linux.tree_sha256


def test_unknown_source_names_the_known_ones() -> None:
    man = manifest.load(REPO / "sources" / "sources.toml")
    with pytest.raises(UnknownSource, match="unknown source 'nope'; known: gcc, linux"):
        man.select(["linux", "nope"])


def write(tmp: Path, body: str) -> Path:
    p = tmp / "sources.toml"
    p.write_text(body)
    return p


def test_malformed_hash_is_refused(tmp_path: Path) -> None:
    p = write(tmp_path, '[x]\nversion = "1"\nurls = ["http://h/x.tgz"]\narchive_sha256 = "abc"\nmanifest = "m"\n')
    with pytest.raises(ConfigError, match="not a sha256"):
        manifest.load(p)


def test_fill_in_writes_only_an_empty_pin(tmp_path: Path) -> None:
    body = ('# comment kept\n[a]\nversion = "1"\nurls = ["u"]\ntree_sha256 = ""\nmanifest = "m"\n\n'
            '[b]\nversion = "2"\nurls = ["v"]\ntree_sha256 = ""\nmanifest = "n"\n')
    p = write(tmp_path, body)
    manifest.fill_in(p, "b", "tree_sha256", "f" * 64)
    man = manifest.load(p)
    assert man.get("b").tree_sha256 == "f" * 64 and man.get("a").tree_sha256 == ""
    assert p.read_text().startswith("# comment kept")
    with pytest.raises(ConfigError, match="not an empty pin"):
        manifest.fill_in(p, "b", "tree_sha256", "e" * 64)
