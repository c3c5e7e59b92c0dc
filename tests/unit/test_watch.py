"""tests/watch.py: waiting for a subprocess's effect fails at once when it exits early."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from tests import watch


def test_early_exit_fails_at_once_with_the_output_tail(tmp_path: Path) -> None:
    p = watch.spawn([sys.executable, "-c", "print('dying now'); raise SystemExit(3)"], tmp_path / "log")
    t = time.monotonic()
    with pytest.raises(AssertionError, match="(?s)exited with 3.*dying now"):
        watch.wait_for(lambda: False, p, 900)
    assert time.monotonic() - t < 30


def test_effect_seen_while_running(tmp_path: Path) -> None:
    f = tmp_path / "f"
    p = watch.spawn([sys.executable, "-c", f"import time; open({str(f)!r}, 'w'); time.sleep(30)"], tmp_path / "log")
    try:
        watch.wait_for(f.exists, p, 30)
    finally:
        p.kill()
        p.wait()
