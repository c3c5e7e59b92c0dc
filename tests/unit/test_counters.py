"""harness/counters.py: the COUNTERS line (strict), the counters table, per-page arithmetic.

Also that the three copies of the counter list agree: the kernel patch's struct, the user
header's struct and name list, and the parser's XMMAP_KEYS (in order: the line is printed
from the struct by position), and that the user header's ioctl number is _IOR of that size.
"""

from __future__ import annotations

import re
import subprocess
import uuid
from pathlib import Path

import pytest

from harness import bench, counters
from harness import experiments as ex
from harness.errors import GuestError, HarnessError
from harness.rawstore import RawStore, Run
from harness.settings import REPO

SIDES = "w_read=0 w_write=256 w_ioctl=0 r_read=257 r_write=0 r_ioctl=0"
XLINE = "COUNTERS xstats=1 proc=1 ctxt=600 w_read=0 w_write=0 w_ioctl=513 r_read=0 r_write=0 r_ioctl=514 " + " ".join(
    f"{k}={i}" for i, k in enumerate(counters.XMMAP_KEYS))
VLINE = f"COUNTERS xstats=0 proc=1 ctxt=512 {SIDES}"
CELL = ex.Cell("E2", "xmmap", "icount", "pipemap", "mmap", "mmap", 1 << 22, 65536, "none", "", "O2")


def test_parse_an_xmmap_line_among_other_stderr() -> None:
    c = counters.parse(f"pipemap: something\n{XLINE}\n")
    assert c["xstats"] == 1 and c["ctxt"] == 600 and c["r_ioctl"] == 514
    assert [c[k] for k in counters.XMMAP_KEYS] == list(range(len(counters.XMMAP_KEYS)))


def test_parse_vanilla_and_no_proc() -> None:
    assert counters.parse(VLINE)["r_read"] == 257
    c = counters.parse(f"COUNTERS xstats=0 proc=0 {SIDES}")
    assert "ctxt" not in c and c["proc"] == 0


def test_unknown_well_formed_keys_are_kept() -> None:
    assert counters.parse(VLINE + " pages_future=3")["pages_future"] == 3


def test_a_kernel_of_patch_0004_prints_24_counters() -> None:
    old = XLINE.split(" ioc_consumewait=")[0]
    c = counters.parse(old)
    assert all(k in c for k in counters.XMMAP_KEYS_0004) and not any(k in c for k in counters.XMMAP_KEYS_0005)
    with pytest.raises(GuestError, match="lacks ioc_consumewait, ioc_commitwait, pages_scrubbed"):
        counters.parse(old + " pages_reused=1")


@pytest.mark.parametrize("text, why", [
    ("no line here", "0 COUNTERS lines"),
    (f"{VLINE}\n{VLINE}", "2 COUNTERS lines"),
    (VLINE + " ctxt", "token 'ctxt'"),
    (VLINE + " x=-1", "token 'x=-1'"),
    (VLINE + " x=1.5", "token 'x=1.5'"),
    (VLINE + " x=07", "token 'x=07'"),
    (VLINE + " Bad=1", "token 'Bad=1'"),
    (VLINE + " w_read=1", "w_read twice"),
    (VLINE.replace(" r_ioctl=0", ""), "lacks r_ioctl"),
    (VLINE.replace("xstats=0 ", ""), "lacks xstats"),
    (VLINE.replace("xstats=0", "xstats=2"), "xstats must be 0 or 1"),
    (VLINE.replace("xstats=0", "xstats=1"), "xstats=1 but lacks mmaps"),
    (VLINE + " faults_read=3", "xstats=0 but has faults_read"),
    (VLINE.replace(" ctxt=512", ""), "ctxt must be there iff proc=1"),
    (VLINE.replace("proc=1", "proc=0"), "ctxt must be there iff proc=1"),
])
def test_malformed_lines_fail_naming_the_line(text: str, why: str) -> None:
    with pytest.raises(GuestError, match=re.escape(why)) as e:
        counters.parse(text)
    if "COUNTERS lines" not in why:
        assert "COUNTERS xstats" in str(e.value) or "COUNTERS proc" in str(e.value)


def test_per_page_divides_by_4k_pages_and_adds_the_sums() -> None:
    c = counters.parse(XLINE)
    pp = counters.per_page(c, 1 << 22, real_us=2_048_000.0)  # 1024 pages
    assert pp["faults_read"] == c["faults_read"] / 1024
    assert pp["syscalls"] == (513 + 514) / 1024
    assert pp["faults"] == (c["faults_read"] + c["faults_write"]) / 1024
    assert pp["instructions"] == 2_000_000.0  # 2.048 s = 2.048e9 instructions / 1024 pages
    assert "xstats" not in pp and "proc" not in pp
    assert "instructions" not in counters.per_page(c, 1 << 22)


def test_instructions_per_page_partial_page_and_no_bytes() -> None:
    assert counters.instructions_per_page(1.0, 2048) == 2000.0
    with pytest.raises(HarnessError, match="0 bytes"):
        counters.per_page({}, 0)


def test_breakdown_costs_events_and_keeps_the_remainder() -> None:
    b = counters.breakdown({"faults": 2.0, "syscalls": 0.5, "ctxt": 0.1}, {"faults": 400.0, "syscalls": 200.0},
                           2000.0)
    assert b == {"faults": 800.0, "syscalls": 100.0, "other": 1100.0}
    assert counters.breakdown({"faults": 2.0}, {"faults": 1500.0}, 2000.0)["other"] == -1000.0  # shown, not hidden
    with pytest.raises(HarnessError, match="no count for the costed event.*tlb_flushes"):
        counters.breakdown({"faults": 1.0}, {"tlb_flushes": 100.0}, 1.0)
    with pytest.raises(HarnessError, match="remainder"):
        counters.breakdown({"other": 1.0}, {"other": 1.0}, 1.0)


def test_command_is_the_timed_pipemap_line_plus_counters() -> None:
    cmd = counters.command(CELL, bench.command(CELL, 7))
    assert cmd == f"{bench.GUEST_DIR}/O2/pipemap --counters --writer=mmap --reader=mmap --work=none {1 << 22} 65536"
    e1 = ex.Cell("E1", "xmmap", "icount", "cat", "read", "", 1 << 20, 0, "", "null", "O2")
    with pytest.raises(HarnessError, match="no pipemap command"):
        counters.command(e1, bench.command(e1, 1))


def _run(cell: ex.Cell, real: float | None, warmup: bool = False, ok: bool = True) -> Run:
    return Run(cell, 1, warmup, 1, real, 1.0, 1.0, 0, ok, "", 0, "", "", "", "", "", "quick", "s", "t", "t")


def test_store_shares_the_raw_file_and_cell_figures_use_the_median(tmp_path: Path) -> None:
    db = tmp_path / "raw.sqlite"
    raw = RawStore(db)
    for real, warm in ((9e9, True), (3000.0, False), (1000.0, False), (2000.0, False)):
        raw.append(_run(CELL, real, warm))
    raw.append(_run(CELL, None, ok=False))
    raw.close()
    st = counters.CounterStore(db)
    c = counters.parse(XLINE)
    st.append(counters.CounterRun(CELL, False, "boom", {}, "", "t", "k", "s", "now"))
    st.append(counters.CounterRun(CELL, True, "", c, XLINE, "t", "k", uuid.uuid4().hex, "now"))
    assert st.latest() == {CELL.key: c}
    cols = [r[1] for r in st.db.execute("PRAGMA table_info(counters)")]
    assert {"cell", "kernel", "clock", "writer", "reader", "size", "chunk", "counts", "session",
            "recorded_at"} <= set(cols)
    assert st.db.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 5  # RawStore's table untouched
    st.close()
    fig = counters.cell_figures(db, CELL.key)
    assert fig["instructions"] == 2000.0 * 1000 / 1024  # median of the timed good runs
    assert fig["faults_write"] == c["faults_write"] / 1024
    assert fig["copies"] == 0.0
    tcg = ex.Cell("E2", "xmmap", "tcg", "pipemap", "mmap", "mmap", 1 << 22, 65536, "none", "", "O2")
    with pytest.raises(HarnessError, match="no good counter run"):
        counters.cell_figures(db, tcg.key)


def _struct_fields(text: str) -> list[str]:
    body = re.search(r"struct xmmap_stats \{(.*?)\};", text, re.S)
    assert body, "struct xmmap_stats not found"
    return re.findall(r"unsigned long (\w+);", body.group(1))


def _patched_header(tmp: Path) -> str:
    """include/linux/xmmap.h as the xmmap series leaves it: its hunks of every patch, applied in order."""
    for p in sorted((REPO / "patches" / "xmmap").glob("*.patch")):
        text = p.read_text()
        parts = re.split(r"(?m)^(?=diff --git |--- (?:a/|/dev/null))", text)
        mine = "".join(x for x in parts if re.match(r"--- \S+\n\+\+\+ b/include/linux/xmmap\.h\n", x))
        if mine:
            subprocess.run(["patch", "-p1", "-s", "-d", str(tmp)], input=mine, text=True, check=True)
    return (tmp / "include" / "linux" / "xmmap.h").read_text()


def test_kernel_struct_user_struct_names_and_parser_agree(tmp_path: Path) -> None:
    kernel_header = _patched_header(tmp_path)
    user = (REPO / "guest-tools" / "include" / "xmmap.h").read_text()
    names = re.search(r"#define XMMAP_STATS_NAMES(.*?)\n\n", user, re.S)
    assert names
    assert (_struct_fields(kernel_header) == _struct_fields(user) == re.findall(r'"(\w+)"', names.group(1))
            == list(counters.XMMAP_KEYS))
    size = 4 * len(counters.XMMAP_KEYS)  # i386: unsigned long is 4 bytes
    ior = (2 << 30) | (size << 16) | (0xE1 << 8) | 6
    assert re.search(r"#define XMMAP_GETSTATS\s+0x([0-9A-F]+)UL", user).group(1) == f"{ior:08X}"  # type: ignore[union-attr]


def test_copies_follow_the_methods() -> None:
    assert [counters.copies_per_page(w, r) for w, r in (("read", "read"), ("read", "mmap"), ("mmap", "read"),
                                                          ("mmap", "mmap"))] == [2.0, 1.0, 1.0, 0.0]
    with pytest.raises(HarnessError, match="unknown reader method 'busybox'; valid: read, mmap"):
        counters.copies_per_page("read", "busybox")
