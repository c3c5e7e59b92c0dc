"""Patch series, the process runner and engine selection, with the real programs."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from harness import engine, hashing, patches, proc
from harness.errors import CommandFailed, ConfigError, MissingTool, PatchFailed
from harness.settings import Settings

PATCH = """\
Header paragraph: why this change exists.

--- a/include/string.h
+++ b/include/string.h
@@ -1,3 +1,3 @@
 line one
-orb $1,%eax
+orl $1,%eax
 line three
"""


def series_dir(tmp: Path, text: str) -> Path:
    d = tmp / "patches" / "host-compat"
    d.mkdir(parents=True)
    (d / "0001-fix-string.patch").write_text(text)
    return tmp / "patches"


def tree_with(tmp: Path, content: str) -> Path:
    t = tmp / "tree"
    (t / "include").mkdir(parents=True)
    (t / "include/string.h").write_text(content)
    return t


def test_series_applies_in_order(tmp_path: Path) -> None:
    tree = tree_with(tmp_path, "line one\norb $1,%eax\nline three\n")
    s = patches.series(series_dir(tmp_path, PATCH), "host-compat")
    assert [p.name for p in s] == ["0001-fix-string.patch"]
    assert s[0].sha256 == hashing.sha256_file(s[0].path)
    patches.apply_all(tree, s, tmp_path / "log")
    assert "orl $1,%eax" in (tree / "include/string.h").read_text()


def test_rejected_hunk_is_named_and_tree_left_untouched(tmp_path: Path) -> None:
    original = "line one\nsomething else\nline three\n"
    tree = tree_with(tmp_path, original)
    s = patches.series(series_dir(tmp_path, PATCH), "host-compat")
    with pytest.raises(PatchFailed) as e:
        patches.apply_all(tree, s, tmp_path / "log")
    assert str(e.value) == ("patch host-compat/0001-fix-string.patch does not apply: "
                            "hunk #1 (at line 1) of include/string.h rejected")
    assert (tree / "include/string.h").read_text() == original
    assert not list(tree.rglob("*.rej")) and not list(tree.rglob("*.orig"))


def test_unknown_series_lists_known(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown patch series 'xmmap'; known: host-compat"):
        patches.series(series_dir(tmp_path, PATCH), "xmmap")


def test_run_failure_carries_output_tail(tmp_path: Path) -> None:
    with pytest.raises(CommandFailed) as e:
        proc.run(["sh", "-c", "for i in $(seq 1 40); do echo line$i; done; exit 3"], timeout=10,
                 log=tmp_path / "x.log", what="counting")
    assert str(e.value).startswith("counting failed with exit status 3")
    assert e.value.returncode == 3
    assert "line40" in e.value.detail and "line1\n" not in e.value.detail


def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    with pytest.raises(CommandFailed, match="timed out after 1 s"):
        proc.run(["sh", "-c", f"sleep 300 & echo $! > {pidfile}; wait"], timeout=1)
    grandchild = int(pidfile.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(grandchild, 0)
        except ProcessLookupError:
            break
        with open(f"/proc/{grandchild}/stat") as f:
            if f.read().split()[2] == "Z":
                break
        time.sleep(0.05)
    else:
        pytest.fail("the grandchild survived the timeout")


def test_missing_program_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(CommandFailed, match="program not found: /no/such/prog"):
        proc.run(["/no/such/prog"], timeout=5)


def test_unknown_engine_is_refused(lab: Settings) -> None:
    with pytest.raises(ConfigError, match="unknown container engine 'lxc'"):
        engine.select(lab, "lxc")


def test_no_engine_on_path_says_what_to_do(lab: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(MissingTool, match="no container engine: install podman .* or pass --engine none"):
        engine.select(lab)
    with pytest.raises(MissingTool, match="podman is not installed"):
        engine.select(lab, "podman")


def test_binds_become_mounts_or_host_paths(lab: Settings, tmp_path: Path) -> None:
    src, out = tmp_path / "src", tmp_path / "out"
    argv = ["bash", engine.Bind(src, True), engine.Bind(out), "x"]
    host = engine.HostEngine("none", lab).command("ignored", argv)
    assert host == ["bash", str(src), str(out), "x"]
    pod = engine.Engine("podman", lab).command("img", argv)
    assert pod[-4:] == ["bash", "/mnt/b0", "/mnt/b1", "x"]
    assert f"{src.resolve()}:/mnt/b0:ro" in pod and f"{out.resolve()}:/mnt/b1:rw" in pod
    assert pod[pod.index("--network") + 1] == "none"
