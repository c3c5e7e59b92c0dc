"""Issue 10's dimensions against a real guest: every work level, every sink and both layouts.

A tiny profile on the xmmap kernel under icount (the deterministic clock): one cell per E2
work level at each method pair, one E1 and one E3 cell per sink, every one in both layouts;
the rows must say what ran (the check row at rep -1, the timed rows with the cell's own
work level or sink), and a cell whose check run disagrees with the host's expectation is
stored as failed, never as figures.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from harness import bench, image, pipeline
from harness import experiments as ex
from harness.pipeline import Options
from harness.rawstore import RawStore
from harness.settings import Settings

MiB = 1 << 20
TINY = ex.Profile("tiny", (MiB,), (MiB,), (4096,), (MiB,), reps=2, warmup=1, min_run_s=0.05)
CLOCK = "icount"


@pytest.fixture(scope="module")
def prepared(real: Settings, opts: Options) -> tuple[bench.Tools, Path, dict[int, str], object]:
    kb = pipeline.build_kernel(real, "xmmap", opts, print)
    img = image.ensure(real, None, print)
    tools = bench.build_tools(real, print, img.busybox)
    data, hashes = bench.make_inputs(real, tools, [MiB])
    return tools, data, hashes, pipeline.session_image(kb.bzimage, img)


def runner(real: Settings, tmp: Path, prepared: tuple) -> tuple[bench.Runner, RawStore]:
    tools, data, hashes, _ = prepared
    store = RawStore(tmp / "raw.sqlite")
    return bench.Runner(real, TINY, store, tools, data, hashes, print, uuid.uuid4().hex[:8]), store


def rows(store: RawStore, cell: ex.Cell) -> list[tuple]:
    return store.db.execute("SELECT rep, warmup, ok, real_us, work, sink, layout, out_bytes, out_fnv, expected_fnv, "
                            "tool_sha256, error FROM runs WHERE cell = ? ORDER BY id", (cell.key,)).fetchall()


def test_every_work_level_sink_and_layout_runs_and_is_stored(real: Settings, prepared: tuple,
                                                             tmp_path: Path) -> None:
    tools = prepared[0]
    r, store = runner(real, tmp_path, prepared)
    cells = [ex.Cell("E2", "xmmap", CLOCK, "pipemap", rd, wr, MiB, 4096, work, "", lay)
             for lay in ex.LAYOUTS for work in ex.WORKS for wr, rd in (("read", "read"), ("mmap", "mmap"),
                                                                       ("read", "mmap"), ("mmap", "read"))]
    cells += [ex.Cell(exp, "xmmap", CLOCK, "cat", m, "", MiB, 0, "", sink, lay)
              for lay in ex.LAYOUTS for exp in ("E1", "E3") for sink in ex.SINKS for m in ("read", "mmap")]
    cells += [ex.Cell("E1", "xmmap", CLOCK, "wc", "busybox", "", MiB, 0, "", "null", "O2")]
    r.run_group("xmmap", CLOCK, prepared[3], cells)
    for cell in cells:
        got = rows(store, cell)
        assert len(got) == TINY.runs_per_cell, cell.key
        assert all(ok == 1 for _, _, ok, *_ in got), (cell.key, got)
        check, timed = got[0], [g for g in got if g[1] == 0]
        assert check[0] == bench.CHECK_REP and check[1] == 1  # the untimed check: rep -1, a warm-up row
        assert len(timed) == TINY.reps and all(g[3] and g[3] > 0 for g in timed)
        tool = "busybox" if cell.method == "busybox" else cell.tool
        assert {g[4:7] for g in got} == {(cell.work, cell.sink, cell.layout)}
        assert {g[10] for g in got} == {tools.sha256(cell.layout, tool)}
        if cell.experiment == "E2":  # the check verified every byte; the timed runs print their own line
            assert check[9] == bench.fnv1a64(bench.pipemap_line(cell, "verify").encode())
            assert {g[8] for g in timed} == {bench.fnv1a64(bench.pipemap_line(cell, cell.work).encode())}
        else:  # only the check hashes; null counts nothing, file and pipe count the bytes
            size = check[7]
            assert check[8] == check[9] and size == (MiB if cell.tool == "cat" else size)
            assert {g[8] for g in timed} == {""}
            assert {g[7] for g in timed} == ({None} if cell.sink == "null" else {size})
    assert tools.sha256("O2", "pipemap") != tools.sha256("O2-align", "pipemap")  # two layouts, two binaries


def test_a_failing_check_run_fails_the_cell_and_stores_no_figure(real: Settings, prepared: tuple,
                                                                 tmp_path: Path) -> None:
    r, store = runner(real, tmp_path, prepared)
    bad_e2 = ex.Cell("E2", "xmmap", CLOCK, "pipemap", "mmap", "mmap", MiB, 4096, "none", "", "O2-align")
    bad_e1 = ex.Cell("E1", "xmmap", CLOCK, "cat", "mmap", "", MiB, 0, "", "null", "O2")
    good = ex.Cell("E1", "xmmap", CLOCK, "cat", "read", "", MiB, 0, "", "null", "O2")
    for cell in (bad_e2, bad_e1):  # as if the tool had printed something else in its check run
        r.expected[cell.key] = bench.Expected("0" * 16, 0)
    r.run_group("xmmap", CLOCK, prepared[3], [bad_e2, bad_e1, good])
    for cell in (bad_e2, bad_e1):
        got = rows(store, cell)
        assert len(got) == TINY.runs_per_cell
        assert all(ok == 0 and real_us is None for _, _, ok, real_us, *_ in got)
        assert "output hash" in got[0][-1] and all("check run failed" in g[-1] for g in got[1:])
    assert sum(g[2] for g in rows(store, good)) == TINY.runs_per_cell  # the rest goes on
    assert store.done_cells(TINY.runs_per_cell) == {bad_e2.key, bad_e1.key, good.key}
