"""The per-page cost table: counters x lmbench unit costs, and the remainder, on a store written here."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import counters, stats
from harness import experiments as ex
from harness.rawstore import RawStore, Run
from harness.report import costs
from harness.report.lmbench import EventCosts

MiB = 1 << 20
MMAP = ex.Cell("E2", "xmmap", "icount", "pipemap", "mmap", "mmap", 4 * MiB, 65536, "none", "", "O2")
READ = ex.Cell("E2", "xmmap", "icount", "pipemap", "read", "read", 4 * MiB, 65536, "none", "", "O2")
TCG = ex.Cell("E2", "xmmap", "tcg", "pipemap", "mmap", "mmap", 4 * MiB, 65536, "none", "", "O2")
UNITS = [EventCosts("xmmap", null_syscall=350.0, context_switch=210.0, copy_4k=1024.0, zero_4k=1024.0,
                    page_fault=None, page_fault_below=1000.0)]


def _run(cell: ex.Cell, rep: int, real: float) -> Run:
    return Run(cell, rep, False, 1, real, 0.0, real, 0, True, "", 50, "f", "f", "t", "", "k", "quick", "s", "a", "b")


def _store(tmp_path: Path) -> Path:
    db = tmp_path / "raw.sqlite"
    s = RawStore(db)
    for rep in (1, 2, 3):
        s.append(_run(MMAP, rep, 2048.0))  # 2,048 us for 1,024 pages: 2,000 instructions per page
        s.append(_run(READ, rep, 3072.0))
        s.append(_run(TCG, rep, 9999.0))
    s.close()
    c = counters.CounterStore(db)
    # mmap/mmap: one zero fill and two faults per page, 0.25 syscalls, 0.125 switches
    c.append(counters.CounterRun(MMAP, True, "", {"xstats": 1, "proc": 1, "ctxt": 128, "w_read": 0, "w_write": 0,
                                                  "w_ioctl": 128, "r_read": 0, "r_write": 0, "r_ioctl": 128,
                                                  "pages_zeroed": 1024, "faults_read": 1024, "faults_write": 1024},
                                 "COUNTERS ...", "t", "k", "s", "now"))
    c.append(counters.CounterRun(READ, True, "", {"xstats": 1, "proc": 1, "ctxt": 2048, "w_read": 0, "w_write": 64,
                                                  "w_ioctl": 0, "r_read": 1024, "r_write": 0, "r_ioctl": 0},
                                 "COUNTERS ...", "t", "k", "s", "now"))
    c.close()
    return db


def test_breakdown_per_page(tmp_path: Path) -> None:
    db = _store(tmp_path)
    cells = stats.cell_table(stats.load(db))
    rows = {r.variant: r for r in costs.rows(db, cells, costs.unit_costs(UNITS))}
    assert set(rows) == {"writer=mmap,reader=mmap", "writer=read,reader=read"}  # the tcg cell has no instructions
    mm, rd = rows["writer=mmap,reader=mmap"], rows["writer=read,reader=read"]
    assert mm.instructions == pytest.approx(2000.0)
    assert mm.parts["pages_zeroed"] == pytest.approx(1024.0)
    assert mm.parts["copies"] == 0.0
    assert mm.parts["syscalls"] == pytest.approx(0.25 * 350)
    assert "faults" not in mm.parts  # a fault's cost is below lmbench's resolution: left in "other"
    assert mm.parts["other"] == pytest.approx(2000.0 - 1024.0 - 0.25 * 350 - 0.125 * 210)
    assert rd.parts["copies"] == pytest.approx(2 * 1024.0)
    assert rd.instructions == pytest.approx(3000.0)
    assert rd.parts["other"] == pytest.approx(3000.0 - 2048.0 - (1088 / 1024) * 350 - 2 * 210)
    assert sum(mm.parts.values()) == pytest.approx(mm.instructions)


def test_no_counter_table_gives_no_rows_and_leaves_the_store_alone(tmp_path: Path) -> None:
    db = tmp_path / "raw.sqlite"
    s = RawStore(db)
    s.append(_run(MMAP, 1, 2048.0))
    s.close()
    before = db.read_bytes()
    assert costs.rows(db, stats.cell_table(stats.load(db)), costs.unit_costs(UNITS)) == []
    assert db.read_bytes() == before
