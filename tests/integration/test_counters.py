"""The mapped path's counters against a real guest: pipemap --counters through the bench's hook.

On the xmmap kernel under icount, 4 MiB at 64 KiB and 4 KiB chunks, mmap on both ends and
read()/write() on both ends: the bench's E2 cell (timed runs, then the untimed counter run)
stores one counters row per cell, and the counts obey what the mechanism implies (every
page allocated, faulted once at each end and freed; no xmmap event at all for
read()/write()). On vanilla --counters still works, without kernel counts. The per-page
figures are printed (pytest -s) for the record; they are counts, deterministic under load.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from harness import bench, counters, image, pipeline, session
from harness import experiments as ex
from harness.pipeline import Options
from harness.rawstore import RawStore
from harness.settings import Settings

SIZE = 4 << 20
P = SIZE // 4096
WINDOW = 16  # XMMAP_PAGES
TINY = ex.Profile("tiny", (1 << 20,), (1 << 20,), (4096,), (1 << 20,), reps=2, warmup=0, min_run_s=0.05)


Prepared = tuple[bench.Tools, Path, dict[int, str], session.GuestImage]


def _prepared(real: Settings, opts: Options, variant: str) -> Prepared:
    kb = pipeline.build_kernel(real, variant, opts, print)
    img = image.ensure(real, None, print)
    tools = bench.build_tools(real, print, img.busybox)
    data, hashes = bench.make_inputs(real, tools, [1 << 20])
    return tools, data, hashes, pipeline.session_image(kb.bzimage, img)


def _bench(real: Settings, opts: Options, tmp: Path, variant: str, cells: list[ex.Cell]) -> Path:
    tools, data, hashes, simg = _prepared(real, opts, variant)
    db = tmp / "raw.sqlite"
    store = RawStore(db)
    runner = bench.Runner(real, TINY, store, tools, data, hashes, print, uuid.uuid4().hex[:8])
    try:
        runner.run_group(variant, "icount", simg, cells)
    finally:
        store.close()
    return db


def _cell(kernel: str, method: str, chunk: int) -> ex.Cell:
    return ex.Cell("E2", kernel, "icount", "pipemap", method, method, SIZE, chunk, "none", "", "O2")


def test_counters_on_xmmap_under_icount(real: Settings, opts: Options, qemu: str, tmp_path: Path) -> None:
    cells = [_cell("xmmap", m, c) for m in ("mmap", "read") for c in (65536, 4096)]
    db = _bench(real, opts, tmp_path, "xmmap", cells)
    st = counters.CounterStore(db)
    try:
        rows = st.db.execute("SELECT cell, ok, error, counts FROM counters").fetchall()
    finally:
        st.close()
    assert sorted(r[0] for r in rows) == sorted(c.key for c in cells)
    assert all(ok == 1 for _, ok, _, _ in rows), [e for _, ok, e, _ in rows if not ok]
    by_cell = {cell: json.loads(cj) for cell, _, _, cj in rows}
    for c in cells:
        n = by_cell[c.key]
        fig = counters.cell_figures(db, c.key)
        print(f"\n{c.key}: " + " ".join(f"{k}={v:.3f}" for k, v in sorted(fig.items())))
        assert n["xstats"] == 1 and n["proc"] == 1 and n["ctxt"] > 0
        assert fig["instructions"] > 0
        steps = SIZE // c.chunk
        if c.method == "mmap":
            # patch 0005: the first lap's pages are allocated and zeroed, then reused (R-REUSE-1)
            assert WINDOW - 1 <= n["pages_alloc"] <= WINDOW + 2, n
            assert n["pages_zeroed"] == n["pages_alloc"] and n["pages_freed"] == 0, n
            assert P - WINDOW - 1 <= n["pages_reused"] <= P + 1 and n["reuse_cleared"] == 0, n
            # one fault per end and step once round the window (the rest mapped ahead)
            assert 1 <= n["faults_read"] <= steps + 1, n
            assert n["faults_write"] <= (P + 1 if c.chunk == 4096 else steps + WINDOW + 1), n
            assert n["faults_read"] + n["faults_write"] + n["prefaulted"] >= 2 * P - 2, n
            assert n["converts"] == 1 and n["mmaps"] == 2 and n["convert_copied"] == 0
            assert n["tlb_flushes"] >= steps // 2 and n["pages_withdrawn"] >= n["pages_reused"]
            # one call per step and end: COMMITWAIT per step + a last COMMIT; CONSUMEWAIT per step (+ EOF)
            assert n["ioc_commitwait"] == steps and n["ioc_commit"] == 1, n
            assert steps <= n["ioc_consumewait"] <= steps + 1, n
            assert n["ioc_waitspace"] == n["ioc_waitdata"] == n["ioc_consume"] == 0, n
            assert n["w_ioctl"] == 1 + n["ioc_commitwait"] + n["ioc_commit"]  # GETPOS, then 1 per step
            assert n["r_ioctl"] == 1 + n["ioc_consumewait"]
            assert n["w_write"] == n["r_read"] == 0 and n["xreads"] == n["xwrites"] == 0
        else:
            # the classic path: no xmmap event at all
            assert all(n[k] == 0 for k in counters.XMMAP_KEYS), {k: n[k] for k in counters.XMMAP_KEYS if n[k]}
            assert n["w_ioctl"] == n["r_ioctl"] == 0
            assert n["w_write"] >= steps and n["r_read"] >= steps + 1, n  # + the read() that sees EOF


def test_counters_on_vanilla_have_no_kernel_counts(real: Settings, opts: Options, qemu: str,
                                                    tmp_path: Path) -> None:
    cell = _cell("vanilla", "read", 65536)
    db = _bench(real, opts, tmp_path, "vanilla", [cell])
    st = counters.CounterStore(db)
    try:
        ((ok, err, cj, line),) = st.db.execute("SELECT ok, error, counts, line FROM counters").fetchall()
    finally:
        st.close()
    assert ok == 1, err
    n = json.loads(cj)
    print(f"\n{cell.key}: {line}")
    assert n["xstats"] == 0 and not any(k in n for k in counters.XMMAP_KEYS)
    assert n["w_write"] >= SIZE // cell.chunk and n["r_read"] > SIZE // cell.chunk and n["ctxt"] > 0
