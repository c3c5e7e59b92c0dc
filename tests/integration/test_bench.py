"""The bench stage against a real guest: failed runs, hangs, and kill -9 then --resume."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import uuid
from pathlib import Path

import pytest

from harness import bench, image, pipeline
from harness import experiments as ex
from harness.pipeline import Options
from harness.rawstore import RawStore
from harness.settings import REPO, Settings
from tests import watch


@pytest.fixture(scope="module")
def prepared(real: Settings, opts: Options) -> tuple[Settings, bench.Tools, Path, dict[int, str], object]:
    kb = pipeline.build_kernel(real, "xmmap", opts, print)
    img = image.ensure(real, None, print)
    tools = bench.build_tools(real, print, img.busybox)
    data, hashes = bench.make_inputs(real, tools, [1 << 20])
    return real, tools, data, hashes, pipeline.session_image(kb.bzimage, img)


def runner_for(real: Settings, tmp: Path, prepared: tuple, profile: ex.Profile) -> tuple[bench.Runner, RawStore]:
    _, tools, data, hashes, _ = prepared
    store = RawStore(tmp / "raw.sqlite")
    return bench.Runner(real, profile, store, tools, data, hashes, print, uuid.uuid4().hex[:8]), store


TINY = ex.Profile("tiny", (1 << 20,), (1 << 20,), (4096,), (1 << 20,), reps=2, warmup=1, min_run_s=0.05)


def test_wrong_output_is_stored_as_failed_never_as_a_timing(real: Settings, prepared: tuple, tmp_path: Path) -> None:
    runner, store = runner_for(real, tmp_path, prepared, TINY)
    cell = ex.Cell("E1", "xmmap", "tcg", "wc", "mmap", "", 1 << 20, 0, "", "null", "O2")
    runner.expected[cell.key] = bench.Expected("0" * 16, 0)  # as if the tool had printed something else
    runner.run_group("xmmap", "tcg", prepared[4], [cell])
    rows = store.db.execute("SELECT ok, real_us, error FROM runs").fetchall()
    assert len(rows) == TINY.runs_per_cell
    assert all(ok == 0 and real is None and "output hash" in err for ok, real, err in rows)


def test_hanging_cell_is_retried_once_then_failed_and_the_rest_goes_on(real: Settings, prepared: tuple,
                                                                        tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench, "RUN_TIMEOUT", 3)
    runner, store = runner_for(real, tmp_path, prepared, TINY)
    slow = ex.Cell("E2", "xmmap", "tcg", "pipemap", "read", "read", 1 << 30, 512, "none", "", "O2")  # minutes: "hangs"
    quick = ex.Cell("E1", "xmmap", "tcg", "cat", "read", "", 1 << 20, 0, "", "null", "O2")
    runner.run_group("xmmap", "tcg", prepared[4], [slow, quick])
    by_cell = dict(store.db.execute("SELECT cell, SUM(ok) FROM runs GROUP BY cell").fetchall())
    assert by_cell[slow.key] == 0 and by_cell[quick.key] == TINY.runs_per_cell
    errors = store.db.execute("SELECT DISTINCT error FROM runs WHERE cell = ?", (slow.key,)).fetchall()
    assert any("timed out" in e for (e,) in errors)


def test_kill_9_then_resume_loses_at_most_the_running_cell(real: Settings, tmp_path: Path) -> None:
    build = tmp_path / "build"
    env = {**os.environ, "PIPEMAP_BUILD": str(build)}
    argv = [str(REPO / "inv"), "bench", "--profile", "quick", "--kernel", "xmmap", "--clock", "tcg",
            "--experiment", "E2", "--allow-unverified", "gcc"]
    db = build / "bench" / "raw.sqlite"
    per_cell = ex.PROFILES["quick"].runs_per_cell
    p = watch.spawn(argv, tmp_path / "bench-killed.log", env=env, cwd=REPO, start_new_session=True)

    def one_cell_done_and_next_under_way() -> bool:
        if not db.exists():
            return False
        with sqlite3.connect(db) as con:
            n = con.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
        return bool(n >= per_cell + 2)

    try:
        watch.wait_for(one_cell_done_and_next_under_way, p, 900, "one E2 cell stored and the next under way")
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
        p.wait()
    with sqlite3.connect(db) as con:
        before = con.execute("SELECT id, cell FROM runs ORDER BY id").fetchall()
    counts: dict[str, int] = {}
    for _, c in before:
        counts[c] = counts.get(c, 0) + 1
    complete = {c for c, n in counts.items() if n == per_cell}
    assert complete and len([c for c, n in counts.items() if n < per_cell]) <= 1
    # the half-written store of the killed run renders: its complete cells, the rest marked missing
    from harness.report import render

    half = render(build / "bench", tmp_path / "report-half")
    planned = len(ex.cells("quick", ["E2"], None, ["xmmap"], ["tcg"]))
    assert half.missing_cells == planned - len(complete) > 0
    assert f"{half.missing_cells} of {planned} planned cells are missing" in half.html.read_text()
    r = subprocess.run([*argv, "--resume"], env=env, cwd=REPO, capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stderr[-2000:]
    with sqlite3.connect(db) as con:
        after = con.execute("SELECT id, cell FROM runs ORDER BY id").fetchall()
    kept = [row for row in before if row[1] in complete]
    assert set(kept) <= set(after)  # finished cells survive the kill untouched
    final: dict[str, int] = {}
    for _, c in after:
        final[c] = final.get(c, 0) + 1
    expected_cells = {c.key for c in ex.cells("quick", ["E2"], None, ["xmmap"], ["tcg"])}
    assert set(final) == expected_cells and set(final.values()) == {per_cell}
    assert "already done" in r.stdout
