"""lmbench stage logic: output parsing (real guest outputs), failed rows, bad names, the store, the report data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness import lmbench as lm
from harness.errors import ConfigError
from harness.report import lmbench as rep

DATA = Path(__file__).parent / "data" / "lmbench-vanilla-tcg.json"
RUNS = json.loads(DATA.read_text())["runs"]
EXPECTED = {  # what the guest printed in that capture (tests/unit/data), as figures
    ("enough", ""): 1000000.0, ("timing_o", ""): 0.0, ("loop_o", ""): 0.0,
    ("bw_pipe", ""): 147.78, ("lat_pipe", ""): 25.1036, ("lat_syscall", "null"): 1.5818,
    ("lat_ctx", "-s 0 2"): 7.7, ("lat_ctx", "-s 0 8"): 16.13,
    ("bw_mem", "4m bcopy"): 1109.5, ("bw_mem", "4m bzero"): 1518.99, ("bw_mem", "4m rd"): 7957.94,
    ("bw_file_rd", "4m io_only /lmdata/lmbench.dat"): 969.5,
    ("bw_file_rd", "4m open2close /lmdata/lmbench.dat"): 658.09,
    ("bw_mmap_rd", "4m mmap_only /lmdata/lmbench.dat"): 3147.53,
    ("bw_mmap_rd", "4m open2close /lmdata/lmbench.dat"): 1241.5,
    ("lat_pagefault", "/lmdata/lmbench.dat"): 9.0,
}


def _variant(benchmark: str, arguments: str) -> lm.Variant:
    for v in lm.VARIANTS:
        if (v.benchmark, v.arguments) == (benchmark, arguments):
            return v
    return lm.Variant(benchmark, tuple(arguments.split()), "us")


@pytest.mark.parametrize("run", RUNS, ids=lambda r: f"{r['benchmark']} {r['arguments']}".strip())
def test_real_outputs_parse(run: dict[str, object]) -> None:
    args = tuple(str(run["arguments"]).split())
    assert lm.parse(str(run["benchmark"]), args, str(run["output"])) == EXPECTED[(run["benchmark"], run["arguments"])]


def test_every_variant_has_a_captured_output() -> None:
    captured = {(r["benchmark"], r["arguments"]) for r in RUNS}
    assert {(v.benchmark, v.arguments) for v in lm.VARIANTS} <= captured


def test_lat_ctx_takes_the_line_of_the_process_count_asked_for() -> None:
    text = '\n"size=0k ovr=4.06\n2 7.70\n8 16.13\n'
    assert lm.parse("lat_ctx", ("-s", "0", "2", "8"), text) == 16.13
    assert lm.parse("lat_ctx", ("-s", "0", "4"), text) is None


@pytest.mark.parametrize("benchmark,text", [
    ("bw_pipe", ""), ("bw_pipe", "Pipe bandwidth: "), ("lat_syscall", "Simple syscall: nan microseconds\n"),
    ("bw_mem", "Usage: bw_mem size what [conflict]\nwhat: rd wr rdwr cp fwr frd fcp bzero bcopy\n"),
    ("lat_ctx", "2 7.70\n"), ("lat_pagefault", "msync: Invalid argument\n"), ("enough", "1000000\n2\n"),
])
def test_nothing_parseable_is_no_figure(benchmark: str, text: str) -> None:
    assert lm.parse(benchmark, ("-s", "0", "2") if benchmark == "lat_ctx" else (), text) is None


def test_unknown_benchmark_lists_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown lmbench benchmark 'bw_tcp'; valid: bw_pipe, lat_pipe"):
        lm.parse("bw_tcp", (), "")
    with pytest.raises(ConfigError, match=r"unknown lmbench benchmark 'lat_rpc'; valid: "):
        lm.check_names(None, None, ["lat_rpc"])


def test_unknown_kernel_clock_profile_list_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown kernel 'linux'; valid: vanilla, xmmap"):
        lm.check_names(["linux"], None)
    with pytest.raises(ConfigError, match=r"unknown clock 'kvm'; valid: tcg, icount"):
        lm.check_names(None, ["kvm"])
    with pytest.raises(ConfigError, match=r"unknown lmbench profile 'slow'; valid: quick, full"):
        lm.variants("slow")
    assert len(lm.variants("quick")) == len(lm.variants("full")) - 1


def _row(v: lm.Variant, status: int | None, output: str, kernel: str = "vanilla", clock: str = "tcg") -> lm.Row:
    return lm.make_row(v, kernel, clock, status, output, "b" * 64, "k" * 64, "t" * 64, "s1")


def test_non_zero_exit_is_a_failed_row_with_its_output() -> None:
    v = _variant("bw_pipe", "")
    r = _row(v, 1, "Pipe bandwidth: 147.78 MB/sec\n")  # a figure printed, but the exit says it failed
    assert (r.ok, r.figure, r.status, r.output) == (False, None, 1, "Pipe bandwidth: 147.78 MB/sec\n")


def test_signal_and_lost_channel_are_failed_rows() -> None:
    v = _variant("lat_pagefault", "/lmdata/lmbench.dat")
    assert not _row(v, 139, "").ok  # killed by SIGSEGV (status 128 + 11 from the guest shell)
    lost = _row(v, None, "guest command timed out")
    assert (lost.ok, lost.figure, lost.output) == (False, None, "guest command timed out")


def test_no_output_is_a_failed_row() -> None:
    r = _row(_variant("lat_syscall", "null"), 0, "")
    assert (r.ok, r.figure, r.output) == (False, None, "")


def test_store_round_trip_in_the_raw_store_file(tmp_path: Path) -> None:
    path = tmp_path / "raw.sqlite"
    assert lm.read_rows(path) == []
    rows = [_row(_variant(r["benchmark"], r["arguments"]), int(r["status"]), r["output"]) for r in RUNS]
    rows.append(_row(_variant("bw_pipe", ""), 1, "broken pipe\n"))
    with lm.Store(path) as s:
        for r in rows:
            s.append(r)
    back = lm.read_rows(path)
    assert back == rows
    assert [r for r in back if not r.ok] == [rows[-1]]


def _rows(kernel: str, clock: str, figs: dict[tuple[str, str], float]) -> list[lm.Row]:
    out = []
    for (b, a), f in figs.items():
        v = _variant(b, a)
        out.append(lm.Row(kernel, clock, b, a, f, v.unit, True, 0, "", "", "", "", "", ""))
    return out


FIGS = {("bw_mem", "4m bcopy"): 1000.0, ("bw_mem", "4m bzero"): 2000.0, ("bw_pipe", ""): 250.0,
        ("lat_pipe", ""): 20.0, ("lat_syscall", "null"): 0.35, ("lat_ctx", "-s 0 2"): 2.5,
        ("bw_file_rd", "4m io_only /lmdata/lmbench.dat"): 500.0,
        ("bw_mmap_rd", "4m open2close /lmdata/lmbench.dat"): 400.0, ("lat_pagefault", "/lmdata/lmbench.dat"): 3.0}


def test_comparison_ratios_to_bcopy() -> None:
    lines = {c.metric: c for c in rep.comparison(_rows("xmmap", "icount", FIGS))}
    assert lines["pipe_bw"].ours_ratio["xmmap/icount"] == pytest.approx(0.25)
    assert lines["reread_read"].ours_ratio["xmmap/icount"] == pytest.approx(0.5)
    assert lines["reread_mmap"].ours_ratio["xmmap/icount"] == pytest.approx(0.4)
    assert lines["pipe_bw"].paper_ratio_i686 == pytest.approx(73 / 57)
    assert (lines["pipe_bw"].table, lines["reread_mmap"].table, lines["pipe_lat"].table) == (3, 5, 11)
    assert lines["null_syscall"].ours_ratio["xmmap/icount"] is None  # a latency is not a bandwidth
    assert lines["pipe_lat"].paper_i586 == "33-140 us"


def test_failed_rows_never_count_as_figures() -> None:
    rows = _rows("vanilla", "tcg", {("bw_pipe", ""): 100.0})
    rows.append(lm.Row("vanilla", "tcg", "bw_pipe", "", None, "MB/s", False, 1, "x", "", "", "", "", ""))
    assert rep.figures(rows) == {("vanilla", "tcg"): {"pipe_bw": 100.0}}


def test_event_costs_in_instructions_under_icount_only() -> None:
    rows = _rows("xmmap", "icount", FIGS) + _rows("xmmap", "tcg", FIGS)
    (c,) = rep.event_costs(rows)
    # lat_pagefault's 3 us (whole microseconds) is too coarse to be a unit cost: kept as a bound
    assert (c.kernel, c.null_syscall, c.context_switch, c.page_fault) == ("xmmap", 350.0, 2500.0, None)
    assert c.page_fault_below == 4000.0
    assert c.copy_4k == pytest.approx(4096 / 1000e6 * 1e9)  # lmbench's MB is 10^6 bytes
    assert c.zero_4k == pytest.approx(4096 / 2000e6 * 1e9)


def test_a_resolved_page_fault_is_a_unit_cost() -> None:
    figs = {**{k: v for k, v in FIGS.items() if k[0] != "lat_pagefault"}, ("lat_pagefault", "/f"): 12.0}
    (c,) = rep.event_costs(_rows("xmmap", "icount", figs))
    assert (c.page_fault, c.page_fault_below) == (12000.0, None)


def test_consistency_within_ten_percent() -> None:
    rows = _rows("xmmap", "icount", {("bw_pipe", ""): 100.0}) + _rows("vanilla", "icount", {("bw_pipe", ""): 100.0})
    pm = {("xmmap", "icount"): (16 << 20, (16 << 20) / 105.0), ("vanilla", "icount"): (16 << 20, (16 << 20) / 80.0)}
    got = {(c.kernel, c.clock): c for c in rep.consistency(rows, pm)}
    assert got[("xmmap", "icount")].agree and got[("xmmap", "icount")].ratio == pytest.approx(1.05)
    assert not got[("vanilla", "icount")].agree and got[("vanilla", "icount")].ratio == pytest.approx(0.8)
    (missing,) = rep.consistency(rows[:1], {})
    assert not missing.agree and missing.note == "no pipemap read/read none 64 KiB cell"


def test_done_rows_finds_a_complete_earlier_machine_with_the_same_binaries() -> None:
    hashes = {b: "b" * 64 for b in lm.BENCHMARKS + lm.CALIBRATION}
    lb = lm.LmbenchBuild(Path("/x"), hashes, "", "t" * 64, "i" * 64, True)
    rows = [_row(v, 0, "") for v in lm.variants("quick")]
    assert lm.done_rows(rows, lb, "vanilla", "tcg", "k" * 64, "quick") == rows
    assert lm.done_rows(rows, lb, "vanilla", "tcg", "k" * 64, "full") is None  # lat_ctx 8 missing
    assert lm.done_rows(rows, lb, "vanilla", "icount", "k" * 64, "quick") is None
    assert lm.done_rows(rows, lb, "vanilla", "tcg", "other", "quick") is None
    rebuilt = lm.LmbenchBuild(Path("/x"), {b: "c" * 64 for b in hashes}, "", "t" * 64, "i" * 64, False)
    assert lm.done_rows(rows, rebuilt, "vanilla", "tcg", "k" * 64, "quick") is None


def test_a_page_fault_below_lmbench_resolution_is_not_zero_instructions() -> None:
    rows = _rows("vanilla", "icount", {("lat_pagefault", "/lmdata/lmbench.dat"): 0.0})
    (c,) = rep.event_costs(rows)
    assert (c.page_fault, c.page_fault_below) == (None, 1000.0)
    assert "below 1000 instructions" in c.notes[-1]
