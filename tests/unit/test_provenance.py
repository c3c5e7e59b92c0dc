"""The bench's provenance record: stable command lines and an honest lab commit."""

from __future__ import annotations

import subprocess
from pathlib import Path

from harness import provenance


def test_qemu_argv_has_placeholders_not_this_boots_port(tmp_path: Path) -> None:
    argv = provenance.qemu_argv(tmp_path / "bzImage", tmp_path / "root.img", tmp_path / "data.img", "icount")
    joined = " ".join(argv)
    assert "hostfwd=tcp:127.0.0.1:<port>-:22" in joined
    assert "<workdir>/console.log" in joined
    assert argv[-2:] == ["-icount", "shift=0,sleep=off"]
    assert provenance.qemu_argv(tmp_path / "k", tmp_path / "r", tmp_path / "d", "icount") == provenance.qemu_argv(
        tmp_path / "k", tmp_path / "r", tmp_path / "d", "icount")


def test_lab_commit_reports_a_dirty_tree(tmp_path: Path) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "f").write_text("a\n")
    git("add", "f")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x")
    clean = provenance.lab_commit(tmp_path)
    assert clean["dirty"] is False and len(str(clean["commit"])) == 40
    (tmp_path / "f").write_text("b\n")
    assert provenance.lab_commit(tmp_path)["dirty"] is True


def test_lab_commit_outside_git(tmp_path: Path) -> None:
    assert provenance.lab_commit(tmp_path)["dirty"] is None


def test_host_names_the_cpu_and_memory() -> None:
    h = provenance.host()
    assert h["cores"] and h["cores"] >= 1
    assert isinstance(h["memory_bytes"], int) and h["memory_bytes"] > 0
