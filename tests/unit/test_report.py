"""The report: verdict rules on hand-made figures, and render() on synthetic raw stores."""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness import experiments as ex
from harness import stats
from harness.rawstore import RawStore
from harness.report import ReportError, render
from harness.report import claims as cl
from harness.report import compare as cmp
from harness.report.data import load
from tests.reportdata import PROFILE, make_results, some_cells

R, N, INC = cl.REPRODUCED, cl.NOT_REPRODUCED, cl.INCONCLUSIVE


def fig(value: float | None, lo: float | None, hi: float | None) -> cl.Figure:
    return cl.Figure(value, lo, hi, 3)


@pytest.mark.parametrize(("f", "threshold", "when", "want"), [
    (fig(0.8, 0.7, 0.9), 1.0, "below", R),
    (fig(1.2, 1.1, 1.3), 1.0, "below", N),
    (fig(0.95, 0.9, 1.05), 1.0, "below", INC),
    (fig(0.9, 0.8, 1.0), 1.0, "below", INC),  # boundary: hi == threshold is not wholly below
    (fig(1.1, 1.0, 1.2), 1.0, "below", INC),  # boundary: lo == threshold is not wholly above
    (fig(0.99, 0.99, 0.99), 1.0, "below", R),  # degenerate interval (icount) below
    (fig(1.0, 1.0, 1.0), 1.0, "below", INC),  # degenerate interval on the threshold
    (fig(1.2, 1.1, 1.3), 1.0, "above", R),
    (fig(0.8, 0.7, 0.9), 1.0, "above", N),
    (fig(1.0000001, 1.0, 1.1), 1.0, "above", INC),
    (fig(0.6, 0.51, 0.7), 0.5, "above", R),
    (fig(0.45, 0.4, 0.49), 0.5, "above", N),
    (fig(0.5, 0.5, 0.5), 0.5, "above", INC),
    (fig(0.3, 0.31, 0.4), 0.5, "below", R),  # point outside its own (odd) interval: still below
    (fig(0.55, 0.3, 0.45), 0.5, "below", INC),  # interval below, point above: not on one side
    (fig(None, None, None), 1.0, "below", INC),
    (fig(0.4, None, None), 0.5, "below", INC),  # no interval: never a verdict
    (fig(float("nan"), 0.1, 0.2), 0.5, "below", INC),
])
def test_interval_rule(f: cl.Figure, threshold: float, when: str, want: str) -> None:
    assert cl.interval_verdict(f, threshold, when)[0] == want


@pytest.mark.parametrize(("per_clock", "want"), [
    ([("tcg", R), ("icount", R)], R),
    ([("tcg", N), ("icount", N)], N),
    ([("tcg", R), ("icount", N)], INC),
    ([("tcg", R), ("icount", INC)], INC),
    ([("tcg", INC), ("icount", INC)], INC),
    ([("tcg", R)], INC),  # icount not measured
    ([], INC),
])
def test_overall_needs_both_clock_modes_to_agree(per_clock: list[tuple[str, str]], want: str) -> None:
    verdict, reason = cl.overall_verdict(per_clock)
    assert verdict == want
    if want == INC and len(per_clock) < 2:
        assert "not measured under" in reason
    if {v for _, v in per_clock} == {R, N}:
        assert "disagree" in reason


def test_claims_quote_the_thesis_verbatim() -> None:
    page = " ".join(Path("/work/shared/seed/thesis-page.txt").read_text().split()) \
        if Path("/work/shared/seed/thesis-page.txt").exists() else None
    if page is None:
        pytest.skip("thesis page not present on this machine")
    for c in cl.CLAIMS:
        for part in c.quote.split("..."):
            assert part.strip() in page, c.id


def runs_frame(rows: list[tuple[str, str, str, float, float]]) -> pd.DataFrame:
    """Timed E1 runs on the xmmap kernel: (clock, tool, method, user_us, sys_us)."""
    return pd.DataFrame([{"warmup": 0, "ok": 1, "experiment": "E1", "kernel": "xmmap", "clock": c, "tool": t,
                          "size": 1, "method": m, "user_us": u, "sys_us": s} for c, t, m, u, s in rows])


def test_sys_excess_point_value_and_interval() -> None:
    rows = []
    for u, s in ((40.0, 50.0), (41.0, 51.0), (39.0, 49.0)):
        rows += [("tcg", "cat", "read", u, s), ("tcg", "cat", "mmap", u - 2, s - 35)]
        rows += [("tcg", "wc", "read", u, s), ("tcg", "wc", "mmap", u - 8, s - 2)]
    f = cl.sys_excess(runs_frame(rows), "tcg")
    assert f.cells == 2
    assert f.value == pytest.approx((37 - 10) / 180)
    assert f.lo is not None and f.hi is not None and f.lo <= f.value <= f.hi
    assert cl.interval_verdict(f, 0.0, "above")[0] == R
    assert cl.sys_excess(runs_frame(rows), "icount").value is None  # no icount runs


def test_sys_excess_saving_mostly_user_time_is_not_reproduced() -> None:
    rows = [("tcg", "cat", m, u, s) for u, s in ((40.0, 50.0), (40.5, 50.5)) for m, u, s in
            (("read", u, s), ("mmap", u - 30, s - 1))]
    f = cl.sys_excess(runs_frame(rows), "tcg")
    assert f.value == pytest.approx((1 - 30) / 90.5)
    assert cl.interval_verdict(f, 0.0, "above")[0] == N


def test_sys_excess_when_mmap_costs_system_time_is_not_reproduced() -> None:
    """mmap saves user time but spends more system time: the difference is not in system time."""
    rows = [("tcg", "cat", m, u, s) for u, s in ((10.0, 10.0), (10.2, 10.1)) for m, u, s in
            (("read", u, s), ("mmap", u - 6, s + 3))]
    f = cl.sys_excess(runs_frame(rows), "tcg")
    assert f.value is not None and f.value < 0
    assert cl.interval_verdict(f, 0.0, "above")[0] == N


def test_sys_excess_when_mmap_saves_system_time_but_spends_user_time_is_reproduced() -> None:
    rows = [("tcg", "cat", m, u, s) for u, s in ((10.0, 30.0), (10.2, 30.1)) for m, u, s in
            (("read", u, s), ("mmap", u + 2, s - 20))]
    f = cl.sys_excess(runs_frame(rows), "tcg")
    assert cl.interval_verdict(f, 0.0, "above")[0] == R


def test_all_claims_reproduced_on_data_that_says_so(tmp_path: Path) -> None:
    out = render(make_results(tmp_path / "res"), tmp_path / "out")
    assert [(v.claim, v.verdict) for v in out.verdicts] == [("C1", R), ("C2", R), ("C3", R), ("C4", R)]
    summary = json.loads(out.summary.read_text())
    c4 = summary["claims"][3]["clocks"]["tcg"]
    assert c4["value"] == pytest.approx(1.1) and c4["mark_inside"] is True


def test_claims_not_reproduced_on_data_that_contradicts_them(tmp_path: Path) -> None:
    out = render(make_results(tmp_path / "res", mmap_factor=2.0, pipe_factor=0.8), tmp_path / "out")
    got = dict((v.claim, v.verdict) for v in out.verdicts)
    assert got["C1"] == N  # real: mmap 2 * 80 ms against read 100 ms
    # user: 76 against 40 ms, sys: 30 against 50 ms: what mmap changes for the better is system time
    assert got["C2"] == R
    assert got["C3"] == N  # sys ratio 30 / 50 = 0.6
    assert got["C4"] == N  # mmap/mmap 0.8 of read/read


def test_render_is_byte_identical_and_path_free(tmp_path: Path) -> None:
    res = make_results(tmp_path / "res", partial=some_cells(2))
    a = render(res, tmp_path / "a")
    moved = tmp_path / "elsewhere" / "results-copy"
    shutil.copytree(res, moved)
    b = render(moved, tmp_path / "b")
    for x, y in ((a.html, b.html), (a.csv, b.csv), (a.summary, b.summary)):
        assert x.read_bytes() == y.read_bytes(), x.name
    html = a.html.read_text()
    assert str(tmp_path) not in html
    assert "<script" not in html
    assert re.findall(r"https?://[^\"' ]*", html) == [] or {u for u in re.findall(r"https?://[^\"' ]*", html)} <= {
        "http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}  # namespaces, not resources
    assert html.count("<svg") == 6  # E1, E3 per clock, E2 per clock


def test_no_store_names_the_bench_task(tmp_path: Path) -> None:
    want = r"^no measurements in .*: run `\./inv bench` \(or `\./inv replicate`\) first$"
    with pytest.raises(ReportError, match=want):
        render(tmp_path, tmp_path / "out")


def test_store_without_timed_runs_names_the_bench_task(tmp_path: Path) -> None:
    res = make_results(tmp_path / "res", partial=[c for c in some_cells(200, "E1")], only=["E1"])
    # every stored cell has only its calibration and warm-up rows
    with pytest.raises(ReportError, match=r"no measurements in .*\./inv bench"):
        render(res, tmp_path / "out")
    RawStore(tmp_path / "empty" / "raw.sqlite").close()
    with pytest.raises(ReportError, match="no measurements in"):
        render(tmp_path / "empty", tmp_path / "out2")


def test_half_written_store_marks_missing_cells_and_shows_the_banner(tmp_path: Path) -> None:
    partial, missing = some_cells(2), some_cells(5)[2:]
    res = make_results(tmp_path / "res", partial=partial, missing=missing)
    out = render(res, tmp_path / "out")
    assert out.missing_cells == 5
    html = out.html.read_text()
    assert 'id="missing-banner"' in html and f"5 of {len(ex.cells(PROFILE))} planned cells are missing" in html
    assert html.count("partial 2/6") == 2
    rows = list(csv.DictReader(out.csv.open()))
    status = {r["cell"]: r["status"] for r in rows}
    assert all(status[k] == "partial 2/6" for k in partial)
    assert all(status[k] == "missing" for k in missing)
    assert sum(1 for s in status.values() if s == "complete") == len(ex.cells(PROFILE)) - 5
    summary = json.loads(out.summary.read_text())
    assert summary["plan"]["missing_cells"] == 5
    assert {r["cell"] for r in summary["cell_table"]}.isdisjoint(partial + missing)  # figures: complete cells only


def test_complete_store_has_no_banner(tmp_path: Path) -> None:
    out = render(make_results(tmp_path / "res"), tmp_path / "out")
    assert out.missing_cells == 0 and "missing-banner" not in out.html.read_text()


def test_cells_csv_rows_are_the_cell_table_rows(tmp_path: Path) -> None:
    res = make_results(tmp_path / "res", missing=some_cells(1))
    out = render(res, tmp_path / "out")
    rows = list(csv.DictReader(out.csv.open()))
    html = out.html.read_text()
    table = html[html.index('id="cell-table"'):]
    assert table.count("<tr") - 1 == len(rows) == len(ex.cells(PROFILE))  # minus the header row
    cells = stats.cell_table(load(res).runs).set_index("cell")
    for r in rows:
        if r["status"] != "complete":
            assert r["real_us_median"] == ""
            continue
        for col in ("real_us_median", "real_us_lo", "sys_us_hi", "n"):
            assert float(r[col]) == pytest.approx(float(cells.loc[r["cell"], col]))
    order = [(r["experiment"], r["kernel"], r["clock"], r["tool"], r["method"], r["writer"], int(r["size"]),
              int(r["chunk"])) for r in rows]
    assert order == sorted(order)


def test_summary_is_stats_summary_of_the_store(tmp_path: Path) -> None:
    res = make_results(tmp_path / "res")
    out = render(res, tmp_path / "out")
    mine = json.loads(out.summary.read_text())
    theirs = stats.summarize(res / "raw.sqlite", tmp_path / "stats")
    for key in ("runs", "failed_runs", "cells", "statistics", "experiments", "cell_table", "ratio_table"):
        assert mine[key] == json.loads(json.dumps(theirs[key])), key


def test_missing_provenance_says_not_recorded(tmp_path: Path) -> None:
    out = render(make_results(tmp_path / "res", with_provenance=False), tmp_path / "out")
    html = out.html.read_text()
    assert html.count("not recorded") >= 10
    assert "3 (profile quick, harness.experiments)" in html  # reps from the store's profile


def test_compare_marks_differing_figures(tmp_path: Path) -> None:
    ref = render(make_results(tmp_path / "ref"), tmp_path / "reference")
    same = render(make_results(tmp_path / "same"), tmp_path / "out-same", tmp_path / "reference")
    assert same.compare_differs == 0
    assert 'class="differs"' not in same.html.read_text()
    slower = render(make_results(tmp_path / "slow", scale=1.5), tmp_path / "out-slow", tmp_path / "reference")
    assert slower.compare_differs is not None and slower.compare_differs > 0
    html = slower.html.read_text()
    assert 'class="differs"' in html and "&#8800;&nbsp;ref" in html
    # ratios are scale-free: only the cell medians moved, not the claims
    summary = json.loads(slower.summary.read_text())
    cur = cmp.figures(summary)
    result = cmp.compare(cur, json.loads(ref.summary.read_text()), "reference")
    differing = {k[0] for k, s in result.status.items() if s == cmp.DIFFERS}
    assert differing == {"cell"}
    assert ref.compare_differs is None


def test_compare_marks_figures_not_in_the_reference(tmp_path: Path) -> None:
    render(make_results(tmp_path / "ref", only=["E1"]), tmp_path / "reference")
    out = render(make_results(tmp_path / "res"), tmp_path / "out", tmp_path / "reference")
    html = out.html.read_text()
    assert "not in reference" in html and 'class="new"' in html
    assert out.compare_differs == 0


def test_compare_needs_a_summary(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="no summary.json in"):
        render(make_results(tmp_path / "res"), tmp_path / "out", tmp_path / "nowhere")


@pytest.mark.parametrize(("a", "b", "want"), [
    ((1.0, 0.9, 1.1), (1.05, 1.0, 1.2), cmp.AGREES),
    ((1.0, 0.9, 1.1), (1.2, 1.1, 1.3), cmp.AGREES),  # touching intervals overlap
    ((1.0, 0.9, 1.1), (1.2, 1.11, 1.3), cmp.DIFFERS),
    ((1.0, 1.0, 1.0), (1.0001, 1.0001, 1.0001), cmp.DIFFERS),  # degenerate icount intervals
    ((1.0, None, None), (1.0, 0.9, 1.1), cmp.NOT_COMPARABLE),
    ((None, None, None), (None, None, None), cmp.AGREES),
])
def test_interval_overlap(a: cmp.Triple, b: cmp.Triple, want: str) -> None:
    assert cmp.differs(a, b) == want


def test_bootstrap_excess_is_seeded() -> None:
    rows = [("tcg", "cat", m, u + d, s + d) for d in np.linspace(0, 3, 5) for m, u, s in
            (("read", 40.0, 50.0), ("mmap", 30.0, 20.0))]
    assert cl.sys_excess(runs_frame(rows), "tcg") == cl.sys_excess(runs_frame(rows), "tcg")


def test_aggregates_of_different_cell_sets_are_not_compared() -> None:
    """A quick run's geometric means are over other cells than a full reference's: not comparable."""
    ref = {"cell_table": [{"cell": "a", "real_us_median": 1.0, "real_us_lo": 0.9, "real_us_hi": 1.1},
                          {"cell": "b", "real_us_median": 1.0, "real_us_lo": 0.9, "real_us_hi": 1.1}],
           "claims": [{"id": "C1", "clocks": {"tcg": {"value": 0.5, "lo": 0.4, "hi": 0.6}}}]}
    current = {cmp.cell_key("a", "real_us"): (2.0, 1.9, 2.1), cmp.claim_key("C1", "tcg"): (0.9, 0.85, 0.95)}
    fewer = cmp.compare(current, ref, "ref", ["a"])
    assert fewer.status[cmp.cell_key("a", "real_us")] == cmp.DIFFERS
    assert fewer.status[cmp.claim_key("C1", "tcg")] == cmp.NOT_COMPARABLE
    same = cmp.compare(current, ref, "ref", ["a", "b"])
    assert same.status[cmp.claim_key("C1", "tcg")] == cmp.DIFFERS


def test_tcg_figures_measured_beside_other_machines_are_marked(tmp_path: Path) -> None:
    tcg = sorted(c.key for c in ex.cells(PROFILE) if c.clock == "tcg")[:3]
    icount = sorted(c.key for c in ex.cells(PROFILE) if c.clock == "icount")[:2]
    res = make_results(tmp_path / "res", beside=tcg + icount)
    html = render(res, tmp_path / "out").html.read_text()
    reps = ex.PROFILES[PROFILE].reps
    tcg_runs = reps * sum(c.clock == "tcg" for c in ex.cells(PROFILE))
    assert (f"TCG figures measured beside other machines: {3 * reps} of {tcg_runs} timed TCG runs (3 cells)"
            in html)
    assert html.count(f"(beside {reps})") == 3  # the icount cells are not marked: their clock counts instructions
    alone = render(make_results(tmp_path / "alone"), tmp_path / "out2").html.read_text()
    assert "beside-banner" not in alone and "(beside" not in alone
