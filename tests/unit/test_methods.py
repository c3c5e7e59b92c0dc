"""Issue 10's cell dimensions as logic: keys old and new, bad names, the profiles' sizes, the
guest command lines and the expectations the bench checks against."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from harness import bench
from harness import experiments as ex
from harness.errors import ConfigError
from harness.rawstore import RawStore

MiB = 1 << 20


def test_new_keys_have_eleven_fields_and_round_trip() -> None:
    e2 = ex.Cell("E2", "xmmap", "icount", "pipemap", "mmap", "read", 16 * MiB, 4096, "none", "", "O2-align")
    e1 = ex.Cell("E1", "vanilla", "tcg", "wc", "read", "", MiB, 0, "", "file", "O2")
    assert e2.key == "E2/xmmap/icount/pipemap/mmap/read/16777216/4096/none/-/O2-align"
    assert e1.key == "E1/vanilla/tcg/wc/read/-/1048576/0/-/file/O2"
    for c in (e1, e2, *ex.cells("quick"), *ex.cells("full")):
        assert ex.Cell.from_key(c.key) == c


def test_old_keys_read_as_the_previous_design() -> None:
    """reports/reference holds 8-field keys: verify in E2, the hashed pipe in E1/E3, the one O2 build."""
    e2 = ex.Cell.from_key("E2/xmmap/icount/pipemap/read/mmap/4194304/512")
    assert (e2.work, e2.sink, e2.layout, e2.writer, e2.chunk) == ("verify", "", "O2", "mmap", 512)
    e3 = ex.Cell.from_key("E3/vanilla/tcg/grep/busybox/-/1048576/0")
    assert (e3.work, e3.sink, e3.layout, e3.writer) == ("", "hash", "O2", "")
    with pytest.raises(ConfigError, match="malformed cell key .*expected 11 fields .* previous design's 8"):
        ex.Cell.from_key("E1/xmmap/tcg/cat/read/-/1/0/-/null")
    with pytest.raises(ConfigError, match="malformed cell key"):
        ex.Cell.from_key("E1/xmmap/tcg/cat/read/-/big/0/-/null/O2")


@pytest.mark.parametrize("kw, message", [
    ({"works": ["verify"]}, "unknown work level 'verify'; valid: none, touch"),
    ({"works": ["fast"]}, "unknown work level 'fast'; valid: none, touch"),
    ({"sinks": ["hash"]}, "unknown sink 'hash'; valid: null, file, pipe"),
    ({"sinks": ["disk"]}, "unknown sink 'disk'; valid: null, file, pipe"),
    ({"layouts": ["O3"]}, "unknown layout 'O3'; valid: O2, O2-align"),
])
def test_unknown_work_sink_layout_fail_listing_the_valid_ones(kw: dict[str, list[str]], message: str) -> None:
    """verify and hash are the untimed checks of every cell, not timed dimensions one can ask for."""
    with pytest.raises(ConfigError, match=message):
        ex.cells("quick", **kw)
    with pytest.raises(ConfigError, match=message):
        ex.check_names("full", None, None, None, None, kw.get("works"), kw.get("sinks"), kw.get("layouts"))


def test_filters_narrow_to_their_experiments() -> None:
    assert {c.experiment for c in ex.cells("full", works=["touch"])} == {"E2"}
    assert {c.work for c in ex.cells("full", works=["touch"])} == {"touch"}
    assert {c.experiment for c in ex.cells("full", sinks=["pipe"])} == {"E1", "E3"}
    assert {c.layout for c in ex.cells("full", layouts=["O2-align"])} == {"O2-align"}


def test_profile_sizes_and_what_each_holds() -> None:
    quick, full = ex.cells("quick"), ex.cells("full")
    assert len(quick) == 72 and len(full) == 408
    assert ex.PROFILES["quick"].runs_per_cell == 6 and ex.PROFILES["full"].runs_per_cell == 8
    assert Counter(c.experiment for c in quick) == {"E2": 40, "E1": 26, "E3": 6}
    assert Counter(c.experiment for c in full) == {"E2": 120, "E1": 174, "E3": 114}
    for cs in (quick, full):
        assert len({c.key for c in cs}) == len(cs)
        assert {c.kernel for c in cs} == set(ex.KERNELS) and {c.clock for c in cs} == set(ex.CLOCKS)
        assert {c.work for c in cs if c.experiment == "E2"} == set(ex.WORKS)
        assert {c.sink for c in cs if c.experiment != "E2"} == set(ex.SINKS)
        assert {c.layout for c in cs} == set(ex.LAYOUTS)
        assert all(c.sink == "" for c in cs if c.experiment == "E2")
        assert all(c.work == "" for c in cs if c.experiment != "E2")
        assert all(c.layout == "O2" for c in cs if c.method == "busybox")
        assert all(c.method == "read" and c.writer in ("read", "") for c in cs
                   if c.kernel == "vanilla" and c.method != "busybox")
    # full: every E2 cell in both layouts, the second layout elsewhere only at 16 MiB, sink null, read/mmap
    assert {c.layout for c in full if c.experiment == "E2"} == set(ex.LAYOUTS)
    second = [c for c in full if c.layout != "O2" and c.experiment != "E2"]
    assert {(c.size, c.sink) for c in second} == {(16 * MiB, "null")}
    assert {c.method for c in second} == {"read", "mmap"}
    assert {c.size for c in full if c.sink in ("file", "pipe")} == {16 * MiB}
    assert {c.method for c in full if c.sink in ("file", "pipe")} == {"read", "mmap"}
    assert {(c.writer, c.method) for c in full if c.experiment == "E2"} == {
        ("read", "read"), ("read", "mmap"), ("mmap", "read"), ("mmap", "mmap")}
    # quick: file and pipe sinks for cat only; E3 cat only
    assert {c.tool for c in quick if c.sink in ("file", "pipe")} == {"cat"}
    assert {c.tool for c in quick if c.experiment == "E3"} == {"cat"}


def test_estimated_bench_minutes_fit_the_budgets() -> None:
    """A run: about 0.25 s of SSH round trip plus its timing; an untimed run about 0.5 s. Measured
    under load: a timed icount run lasts about 5 times its guest time on the wall clock."""
    for name, most in (("quick", 4.5), ("full", 60)):  # full: 75 minutes less the other stages
        p = ex.PROFILES[name]
        minutes = sum(2 * 0.5 + (p.warmup + p.reps) * (0.25 + p.min_run_for(c.clock) * (5 if c.clock == "icount"
                                                                                         else 1))
                      for c in ex.cells(name)) / 60
        assert minutes < most, (name, minutes)


def test_icount_cells_use_the_shorter_timing() -> None:
    r, _ = _runner(ex.PROFILES["quick"])
    t = {"real_us": "1000"}
    icount = ex.Cell("E1", "xmmap", "icount", "cat", "read", "", MiB, 0, "", "null", "O2")
    assert r._inside(t, icount) == 100 and r._inside(t, CELL) == 300


E2 = ex.Cell("E2", "xmmap", "icount", "pipemap", "mmap", "read", 16 * MiB, 4096, "touch", "", "O2-align")


def test_e2_commands() -> None:
    assert bench.command(E2, 7) == ("/opt/pipemap/O2-align/timeit -n 7 -s hash -- /opt/pipemap/O2-align/pipemap "
                                    "--writer=read --reader=mmap --work=touch 16777216 4096")
    assert bench.command(E2, 1, check=True) == (
        "/opt/pipemap/O2-align/timeit -n 1 -s hash -- /opt/pipemap/O2-align/pipemap --writer=read --reader=mmap "
        "--work=verify 16777216 4096")


@pytest.mark.parametrize("sink", ex.SINKS)
@pytest.mark.parametrize("layout", ex.LAYOUTS)
def test_e1_e3_commands(sink: str, layout: str) -> None:
    d = f"/opt/pipemap/{layout}"
    f = " -f /data/pipemap-sink" if sink == "file" else ""
    e1 = ex.Cell("E1", "xmmap", "tcg", "grep", "mmap", "", MiB, 0, "", sink, layout)
    assert bench.command(e1, 3) == f"{d}/timeit -n 3 -s {sink}{f} -- {d}/grep --method=mmap -F pipe /data/in-1048576"
    assert bench.command(e1, 1, check=True) == (
        f"{d}/timeit -n 1 -s hash -- {d}/grep --method=mmap -F pipe /data/in-1048576")
    e3 = ex.Cell("E3", "xmmap", "tcg", "cat", "read", "", MiB, 0, "", sink, layout)
    assert bench.command(e3, 2) == (f"{d}/timeit -n 2 -s {sink}{f} -P {d}/cat --method=read /data/in-1048576 -- "
                                    f"-- {d}/cat --method=read")
    bb = ex.Cell("E1", "vanilla", "tcg", "wc", "busybox", "", MiB, 0, "", sink, "O2")
    assert bench.command(bb, 2).endswith("-- /bin/busybox wc /data/in-1048576")


def test_e2_expectations_name_the_work_level() -> None:
    tools = bench.Tools(Path("/nonexistent"), {}, {}, "", {}, Path("/nonexistent"))
    for work in ex.ALL_WORKS:
        line = f"pipemap bytes=16777216 chunk=4096 writer=read reader=mmap work={work} ok\n".encode()
        assert bench.expected_output(tools, E2, Path("/nonexistent"), work) == bench.Expected(bench.fnv1a64(line),
                                                                                              len(line))
    assert bench.expected_output(tools, E2, Path("/nonexistent")).fnv == bench.fnv1a64(
        bench.pipemap_line(E2, "verify").encode())  # the check run's expectation by default


class FakeStore:
    def __init__(self) -> None:
        self.rows: list[bench.Run] = []

    def append(self, run: bench.Run) -> None:
        self.rows.append(run)


def _runner(profile: ex.Profile) -> tuple[bench.Runner, FakeStore]:
    tools = bench.Tools(Path("/h"), {"O2": Path("/g")}, {"O2/cat": "c" * 64}, "", {}, Path("/b"))
    r = bench.Runner.__new__(bench.Runner)
    fake = FakeStore()
    r.profile, r.store, r.tools, r.input_hashes, r.session_id = profile, fake, tools, {}, "s"  # type: ignore[assignment]
    r.host = "testhost"
    r.last = bench.RunMeta("", "", "")
    return r, fake


CELL = ex.Cell("E1", "xmmap", "tcg", "cat", "read", "", MiB, 0, "", "pipe", "O2")


def test_failed_cell_rows_mirror_a_measured_cell() -> None:
    p = ex.PROFILES["full"]
    r, fake = _runner(p)
    r.record_failed(CELL, "boom", "k")
    assert [(x.rep, x.warmup) for x in fake.rows] == [(-1, True), (0, True), (1, True), (1, False), (2, False),
                                                      (3, False), (4, False), (5, False)]
    assert len(fake.rows) == p.runs_per_cell and not any(x.ok or x.real_us for x in fake.rows)
    r2, fake2 = _runner(p)
    r2.record_failed(CELL, "check run failed", "k", first=0)  # the check row is stored already
    assert [x.rep for x in fake2.rows][0] == 0 and len(fake2.rows) == p.runs_per_cell - 1


@pytest.mark.parametrize("t, ok, why", [
    ({"status": "0", "sink": "pipe", "out_bytes": "10", "real_us": "5", "user_us": "1", "sys_us": "1"}, True, ""),
    ({"status": "0", "sink": "pipe", "out_bytes": "9", "real_us": "5", "user_us": "1", "sys_us": "1"}, False,
     "output bytes 9 != expected 10"),
    ({"status": "0", "sink": "null", "real_us": "5", "user_us": "1", "sys_us": "1"}, False,
     "timeit used sink null, not pipe"),
    ({"status": "1", "sink": "pipe", "out_bytes": "10", "real_us": "5", "user_us": "1", "sys_us": "1"}, False,
     "status 1"),
])
def test_timed_runs_are_checked_by_their_sink(t: dict[str, str], ok: bool, why: str) -> None:
    r, fake = _runner(ex.PROFILES["quick"])
    assert r._store(CELL, 1, False, 3, t, "", bench.Expected("ab" * 8, 10), "k") is ok
    assert fake.rows[0].error == why and (fake.rows[0].real_us is None) is not ok


def test_a_previous_design_store_is_never_continued(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "raw.sqlite"
    with sqlite3.connect(db) as con:  # the previous design's table: no work, sink, layout
        con.execute("CREATE TABLE runs (id INTEGER PRIMARY KEY, cell TEXT, profile TEXT, kernel_sha256 TEXT)")
    assert RawStore(db).legacy
    assert "previous design" in (bench.store_mismatch(db, "quick", {"k"}) or "")
    assert not RawStore(tmp_path / "new.sqlite").legacy


def test_layouts_table_records_the_flags(tmp_path: Path) -> None:
    s = RawStore(tmp_path / "raw.sqlite")
    s.record_layouts({"O2": "layout: O2\ncflags: -O2\n", "O2-align": "cflags: -O2 -falign-functions=64\n"})
    got = dict(s.db.execute("SELECT layout, cflags FROM layouts").fetchall())
    assert got == {"O2": "-O2", "O2-align": "-O2 -falign-functions=64"}
