"""Fetching sources: every route, and failing closed, against a real local HTTP server."""

from __future__ import annotations

import http.server
import io
import json
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import hashing
from harness.errors import HashMismatch, OverrideMismatch, SourceError, UnverifiedSource
from harness.settings import UserConfig
from harness.sources import manifest
from harness.sources.resolve import learnt_manifest, obtain, read_learnt
from tests.conftest import make_settings

TREE = {"hello/Makefile": b"all:\n\ttrue\n", "hello/src/main.c": b"int main(void){return 0;}\n"}


def targz(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


ARCHIVE = targz(TREE)


class Server:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.truncate: set[str] = set()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                data = outer.files.get(self.path)
                if data is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                extra = 1000 if self.path in outer.truncate else 0
                self.send_header("Content-Length", str(len(data) + extra))
                self.end_headers()
                self.wfile.write(data)
                self.close_connection = True

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def server() -> Iterator[Server]:
    s = Server()
    yield s
    s.httpd.shutdown()


def write_manifest(tmp: Path, urls: list[str], archive_sha: str = "", tree_sha: str = "") -> manifest.Manifest:
    p = tmp / "sources.toml"
    p.write_text(
        f'[hello]\nversion = "1.0"\nurls = {json.dumps(urls)}\n'
        f'archive_sha256 = "{archive_sha}"\ntree_sha256 = "{tree_sha}"\nmanifest = "hello-1.0.files"\n'
    )
    return manifest.load(p)


def tree_sha_of(files: dict[str, bytes], tmp: Path) -> tuple[str, list[hashing.FileEntry]]:
    root = tmp / "ref"
    for name, data in files.items():
        f = root / name.split("/", 1)[1]
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(data)
    entries = hashing.scan_tree(root)
    return hashing.tree_hash(entries), entries


def leftovers(lab_cache: Path) -> list[str]:
    d = lab_cache / "downloads"
    return sorted(p.name for p in d.iterdir()) if d.exists() else []


def test_download_verified_by_archive_hash_learns_tree_hash_in_cache(
    tmp_path: Path, server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    server.files["/hello-1.0.tar.gz"] = ARCHIVE
    man = write_manifest(tmp_path, [server.url + "/hello-1.0.tar.gz"], archive_sha=hashing.sha256_bytes(ARCHIVE))
    tracked = man.path.read_bytes()
    lab = make_settings(tmp_path)
    r = obtain(man.get("hello"), man, lab, frozenset())
    assert (r.route, r.verified, r.archive_sha256) == ("download", True, hashing.sha256_bytes(ARCHIVE))
    assert (r.tree / "src/main.c").read_bytes() == TREE["hello/src/main.c"]
    # the learnt pin is recorded in the cache and reported; the tracked manifest is untouched
    assert man.path.read_bytes() == tracked
    assert r.tree_sha256 == tree_sha_of(TREE, tmp_path)[0]
    assert read_learnt(lab) == {"hello": {"tree_sha256": r.tree_sha256}}
    learned = manifest.load(man.path).get("hello")
    assert not learned.manifest.exists()
    assert hashing.tree_hash(hashing.read_manifest(learnt_manifest(lab, learned))) == r.tree_sha256
    out = capsys.readouterr().out
    assert f"pin learnt for hello: tree sha256 {r.tree_sha256}" in out and "./inv pin-source" in out
    # second call: served from the cache without the network
    server.files.clear()
    again = obtain(learned, manifest.load(man.path), lab, frozenset())
    assert again.tree == r.tree and again.route == "download"


def test_download_verified_by_tree_hash_records_archive_hash(
    tmp_path: Path, server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    server.files["/hello-1.0.tar.gz"] = ARCHIVE
    th, entries = tree_sha_of(TREE, tmp_path)
    man = write_manifest(tmp_path, [server.url + "/hello-1.0.tar.gz"], tree_sha=th)
    hashing.write_manifest(entries, man.get("hello").manifest, "hello-1.0")
    tracked = man.path.read_bytes()
    lab = make_settings(tmp_path)
    r = obtain(man.get("hello"), man, lab, frozenset())
    assert r.verified and r.tree_sha256 == th
    assert man.path.read_bytes() == tracked
    assert manifest.load(man.path).get("hello").archive_sha256 == ""
    assert read_learnt(lab) == {"hello": {"archive_sha256": hashing.sha256_bytes(ARCHIVE)}}
    assert f"pin learnt for hello: archive sha256 {hashing.sha256_bytes(ARCHIVE)}" in capsys.readouterr().out


def test_wrong_archive_hash_fails_closed(tmp_path: Path, server: Server) -> None:
    server.files["/hello-1.0.tar.gz"] = ARCHIVE
    url = server.url + "/hello-1.0.tar.gz"
    man = write_manifest(tmp_path, [url], archive_sha="0" * 64)
    lab = make_settings(tmp_path)
    with pytest.raises(HashMismatch) as e:
        obtain(man.get("hello"), man, lab, frozenset())
    msg = str(e.value)
    assert msg.startswith("hello:") and url in msg and "0" * 64 in msg and hashing.sha256_bytes(ARCHIVE) in msg
    assert leftovers(lab.cache) == []
    assert not (lab.cache / "trees").exists() or list((lab.cache / "trees").iterdir()) == []


def test_wrong_tree_lists_differing_files(tmp_path: Path, server: Server) -> None:
    bad = dict(TREE, **{"hello/src/main.c": b"int main(void){return 1;}\n"})
    server.files["/hello-1.0.tar.gz"] = targz(bad)
    th, entries = tree_sha_of(TREE, tmp_path)
    man = write_manifest(tmp_path, [server.url + "/hello-1.0.tar.gz"], tree_sha=th)
    hashing.write_manifest(entries, man.get("hello").manifest, "hello-1.0")
    lab = make_settings(tmp_path)
    with pytest.raises(HashMismatch, match="tree hash mismatch") as e:
        obtain(man.get("hello"), man, lab, frozenset())
    assert "changed  src/main.c" in e.value.detail
    assert leftovers(lab.cache) == []
    assert manifest.load(man.path).get("hello").archive_sha256 == ""


def test_truncated_download_leaves_nothing_and_tries_next_url(tmp_path: Path, server: Server) -> None:
    server.files["/a/hello-1.0.tar.gz"] = ARCHIVE[:-100]
    server.truncate.add("/a/hello-1.0.tar.gz")
    urls = [server.url + "/a/hello-1.0.tar.gz", server.url + "/missing/hello-1.0.tar.gz"]
    man = write_manifest(tmp_path, urls, archive_sha=hashing.sha256_bytes(ARCHIVE))
    lab = make_settings(tmp_path)
    with pytest.raises(SourceError, match="no route delivered hello-1.0.tar.gz") as e:
        obtain(man.get("hello"), man, lab, frozenset())
    assert "truncated" in e.value.detail or "broke off" in e.value.detail
    assert "404" in e.value.detail
    assert leftovers(lab.cache) == []
    server.files["/missing/hello-1.0.tar.gz"] = ARCHIVE
    assert obtain(man.get("hello"), man, lab, frozenset()).origin == urls[1]


def test_mirror_directory_is_tried_first(tmp_path: Path, server: Server) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "hello-1.0.tar.gz").write_bytes(ARCHIVE)
    man = write_manifest(
        tmp_path, [server.url + "/nowhere/hello-1.0.tar.gz"], archive_sha=hashing.sha256_bytes(ARCHIVE)
    )
    r = obtain(man.get("hello"), man, make_settings(tmp_path, UserConfig(mirror=mirror)), frozenset())
    assert (r.route, r.origin, r.verified) == ("mirror", str(mirror / "hello-1.0.tar.gz"), True)


def test_corrupt_mirror_file_fails_closed(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "hello-1.0.tar.gz").write_bytes(ARCHIVE[:-1] + b"!")
    man = write_manifest(tmp_path, ["http://127.0.0.1:9/hello-1.0.tar.gz"], archive_sha=hashing.sha256_bytes(ARCHIVE))
    lab = make_settings(tmp_path, UserConfig(mirror=mirror))
    with pytest.raises(HashMismatch, match="mirror"):
        obtain(man.get("hello"), man, lab, frozenset())
    assert leftovers(lab.cache) == []


def override_tree(tmp: Path, files: dict[str, bytes]) -> Path:
    root = tmp / "override"
    for name, data in files.items():
        f = root / name.split("/", 1)[1]
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(data)
    return root


def test_identical_override_is_verified(tmp_path: Path) -> None:
    th, entries = tree_sha_of(TREE, tmp_path)
    man = write_manifest(tmp_path, ["http://127.0.0.1:9/x.tgz"], tree_sha=th)
    hashing.write_manifest(entries, man.get("hello").manifest, "hello-1.0")
    tree = override_tree(tmp_path, TREE)
    r = obtain(man.get("hello"), man, make_settings(tmp_path, UserConfig(overrides={"hello": tree})), frozenset())
    assert (r.route, r.verified, r.tree, r.origin) == ("override", True, tree, str(tree))


def test_differing_override_is_listed_and_needs_the_flag(tmp_path: Path) -> None:
    th, entries = tree_sha_of(TREE, tmp_path)
    man = write_manifest(tmp_path, ["http://127.0.0.1:9/x.tgz"], tree_sha=th)
    hashing.write_manifest(entries, man.get("hello").manifest, "hello-1.0")
    tree = override_tree(tmp_path, dict(TREE, **{"hello/extra.c": b"x"}))
    lab = make_settings(tmp_path, UserConfig(overrides={"hello": tree}))
    with pytest.raises(OverrideMismatch, match=r"differs from the pinned manifest in 1 file\(s\)") as e:
        obtain(man.get("hello"), man, lab, frozenset())
    assert "extra    extra.c" in e.value.detail and "--allow-unverified hello" in str(e.value)
    r = obtain(man.get("hello"), man, lab, frozenset({"hello"}))
    assert r.route == "override" and not r.verified and "1 file" in r.note


def test_override_without_pinned_tree_is_unverified(tmp_path: Path) -> None:
    man = write_manifest(tmp_path, ["http://127.0.0.1:9/x.tgz"], archive_sha="a" * 64)
    tree = override_tree(tmp_path, TREE)
    lab = make_settings(tmp_path, UserConfig(overrides={"hello": tree}))
    with pytest.raises(UnverifiedSource, match="no pinned tree hash"):
        obtain(man.get("hello"), man, lab, frozenset())
    allowed = make_settings(tmp_path, UserConfig(overrides={"hello": tree}, allow_unverified=frozenset({"hello"})))
    r = obtain(man.get("hello"), man, allowed, frozenset())
    assert not r.verified and r.record()["verified"] is False
