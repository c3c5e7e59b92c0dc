"""The raw store's durability rules and the statistics, on synthetic runs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from harness import experiments as ex
from harness import stats
from harness.errors import ConfigError
from harness.rawstore import RawStore, Run


def run_of(cell: ex.Cell, rep: int, real: float, warmup: bool = False, ok: bool = True) -> Run:
    return Run(cell, rep, warmup, 1, real if ok else None, real / 2 if ok else None, real / 4 if ok else None,
               0 if ok else 1, ok, "" if ok else "boom", 10, "f", "f", "t", "i", "k", "quick", "s", "a", "b")


READ = ex.Cell("E1", "xmmap", "tcg", "cat", "read", "", 1 << 20, 0, "", "null", "O2")
MMAP = ex.Cell("E1", "xmmap", "tcg", "cat", "mmap", "", 1 << 20, 0, "", "null", "O2")


def test_unknown_names_list_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match="unknown profile 'fast'; valid: quick, full"):
        ex.cells("fast")
    with pytest.raises(ConfigError, match="unknown tool 'sed'; valid: cat, wc, grep"):
        ex.cells("quick", tools=["sed"])
    with pytest.raises(ConfigError, match="unknown experiment 'E4'; valid: E1, E2, E3"):
        ex.cells("quick", experiments=["E4"])


@pytest.mark.parametrize("profile", ["full"])  # quick has no busybox cells
def test_vanilla_runs_only_read_variants(profile: str) -> None:
    cells = ex.cells(profile)
    assert {c.method for c in cells if c.kernel == "vanilla"} == {"read", "busybox"}
    assert {c.writer for c in cells if c.kernel == "vanilla" and c.experiment == "E2"} == {"read"}
    assert {c.method for c in cells if c.kernel == "xmmap"} == {"read", "mmap", "busybox"}
    assert {c.method for c in cells if c.experiment == "E2"} == {"read", "mmap"}
    assert len({c.key for c in cells}) == len(cells)


def test_rows_survive_reopening_and_partial_cells_are_dropped(tmp_path: Path) -> None:
    db = tmp_path / "raw.sqlite"
    s = RawStore(db)
    for i in range(3):
        s.append(run_of(READ, i, 1.0))
    s.append(run_of(MMAP, 0, 1.0))  # cut short after one run
    s.close()  # as after kill -9: every appended row was committed
    s = RawStore(db)
    assert s.counts() == {READ.key: 3, MMAP.key: 1}
    assert s.done_cells(3) == {READ.key}
    assert s.drop_partial(3, [READ.key, MMAP.key]) == 1
    assert s.counts() == {READ.key: 3}


def test_ratio_and_interval_on_known_data(tmp_path: Path) -> None:
    db = tmp_path / "raw.sqlite"
    s = RawStore(db)
    rng = np.random.default_rng(1)
    for i, (a, b) in enumerate(zip(rng.normal(100, 2, 15), rng.normal(50, 1, 15), strict=True)):
        s.append(run_of(READ, i, float(a)))
        s.append(run_of(MMAP, i, float(b)))
    s.append(run_of(READ, 99, 1e9, warmup=True))  # warm-ups never count
    s.append(run_of(MMAP, 98, 0, ok=False))  # failed runs never count as timings
    s.close()
    summary = stats.summarize(db, tmp_path)
    variants = summary["experiments"]["E1"]["xmmap/tcg"]
    (key,) = [k for k in variants if k.split("|")[0] == "mmap"]  # the variant, then its reading
    e1 = variants[key]["real_us"]
    assert 0.45 < e1["lo"] <= e1["ratio"] <= e1["hi"] < 0.55
    cells = {c["cell"]: c for c in summary["cell_table"]}
    assert cells[READ.key]["n"] == 15 and cells[MMAP.key]["failed"] == 1
    assert json.loads((tmp_path / "summary.json").read_text())["runs"] == 32
    assert (tmp_path / "cells.csv").exists() and (tmp_path / "ratios.csv").exists()


def test_summary_is_reproducible(tmp_path: Path) -> None:
    db = tmp_path / "raw.sqlite"
    s = RawStore(db)
    for i in range(5):
        s.append(run_of(READ, i, 10.0 + i))
        s.append(run_of(MMAP, i, 9.0 + i))
    s.close()
    a = stats.summarize(db, tmp_path / "a")
    b = stats.summarize(db, tmp_path / "b")
    assert a == b


def _settings(tmp_path: Path):  # noqa: ANN202
    from harness import settings as settings_mod

    return settings_mod.Settings(repo=tmp_path, cache=tmp_path / "c", state=tmp_path / "s", build=tmp_path / "b",
                                 user=settings_mod.UserConfig())


@pytest.mark.parametrize("profile, kernels, continued", [
    ("quick", {"k"}, True),  # same profile, same kernel: replicate continues the store
    ("full", {"k"}, False),  # another profile: a new store, the old one kept
    ("quick", {"other"}, False),  # rebuilt kernels: a new store
])
def test_automatic_resume_continues_only_a_matching_store(tmp_path: Path, profile: str, kernels: set[str],
                                                          continued: bool) -> None:
    from harness import bench

    st = _settings(tmp_path)
    store = RawStore(bench.store_path(st))
    store.append(run_of(READ, 1, 100.0))
    store.close()
    said: list[str] = []
    again = bench.open_store(st, None, said.append, profile, kernels)
    assert (len(again.counts()) == 1) is continued
    again.close()
    kept = list((st.build / "bench").glob("raw-*.sqlite"))
    assert bool(kept) is not continued
    if not continued:
        assert "starting a new raw store" in said[0]


def test_explicit_resume_of_a_mismatching_store_fails(tmp_path: Path) -> None:
    from harness import bench

    st = _settings(tmp_path)
    store = RawStore(bench.store_path(st))
    store.append(run_of(READ, 1, 100.0))
    store.close()
    with pytest.raises(bench.BenchError, match="cannot resume .* it holds profile quick, not full"):
        bench.open_store(st, True, print, "full", {"k"})


def test_cell_key_round_trips() -> None:
    for c in ex.cells("quick"):
        assert ex.Cell.from_key(c.key) == c
    with pytest.raises(ConfigError, match="malformed cell key"):
        ex.Cell.from_key("E1/xmmap/tcg/cat")
