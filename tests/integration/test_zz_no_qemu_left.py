"""Runs last among the integration tests: no QEMU started by the suite may remain."""

from __future__ import annotations

import subprocess


def test_no_qemu_of_the_suite_remains() -> None:
    out = subprocess.run(["pgrep", "-a", "qemu-system-i386"], capture_output=True, text=True).stdout
    mine = [line for line in out.splitlines() if "pytest-of-" in line or "/build/vm/" in line or "/build/runs/" in line]
    assert mine == []
