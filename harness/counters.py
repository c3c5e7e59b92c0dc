"""The mapped path's cost, page by page: pipemap's COUNTERS line, its table, per-page figures.

Timings say how long a transfer took; they cannot say where the time went. The xmmap
kernel counts what its mapped path does (pages allocated and zero-filled, faults at each
end, pages withdrawn, TLB flushes, ioctls: docs/model.md R-STATS-*), and
``pipemap --counters`` prints one run's deltas, with each side's system calls and the
context switches, as one stderr line::

    COUNTERS xstats=1 proc=1 ctxt=D w_read=N w_write=N w_ioctl=N r_read=N r_write=N r_ioctl=N mmaps=D ...

The bench runs that once per E2 cell, untimed, after the timed runs (``after_cell``), and
stores the counts in the table ``counters`` of the raw store's SQLite file (this module owns
the table; RawStore's ``runs`` stays as it is). Counts are deterministic where times are not,
so they may be read from a loaded machine. ``per_page`` divides them by the 4 KiB pages moved;
with the cell's real time under icount (1 instruction per ns) that gives instructions per
page, and ``breakdown`` splits those into events at given unit costs (from lmbench) with an
explicit remainder ``other``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from harness import experiments as ex
from harness import rawstore
from harness.errors import GuestError, HarnessError

if TYPE_CHECKING:  # bench imports this module; the hook passes its Runner in
    from harness import vm
    from harness.bench import Runner
    from harness.guest import Channel

PAGE = 4096
FLAG_KEYS = ("xstats", "proc")  # 1/0: the kernel counters, /proc/stat's ctxt were available
SIDE_KEYS = ("w_read", "w_write", "w_ioctl", "r_read", "r_write", "r_ioctl")  # counted in pipemap
# struct xmmap_stats, in order (patches/xmmap/0004 and 0005, guest-tools/include/xmmap.h)
XMMAP_KEYS_0004 = (
    "mmaps", "converts", "convert_copied", "pages_alloc", "pages_zeroed", "pages_spare", "pages_freed",
    "pages_released", "zaps", "pages_withdrawn", "tlb_flushes", "faults_read", "faults_write", "fault_sleeps",
    "fault_fails", "xreads", "xwrites", "xrw_sleeps", "ioc_getpos", "ioc_waitdata", "ioc_waitspace",
    "ioc_consume", "ioc_commit", "ioc_sleeps",
)
# since patches/xmmap/0005 (zero copy at the limit); a kernel of 0004 alone prints none of them
XMMAP_KEYS_0005 = (
    "ioc_consumewait", "ioc_commitwait", "pages_reused", "pages_scrubbed", "prefaulted", "reuse_cleared",
)
XMMAP_KEYS = XMMAP_KEYS_0004 + XMMAP_KEYS_0005
# sums the per-page view adds (each a plain sum of counters present in the line)
DERIVED = {
    "syscalls": ("w_read", "w_write", "w_ioctl", "r_read", "r_write", "r_ioctl"),
    "faults": ("faults_read", "faults_write"),
}
LINE = re.compile(r"^COUNTERS(?: .*)?$", re.M)
PAIR = re.compile(r"^([a-z][a-z0-9_]*)=(0|[1-9][0-9]*)$")
RUN_TIMEOUT = 300

SCHEMA = """
CREATE TABLE IF NOT EXISTS counters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    cell TEXT NOT NULL, kernel TEXT, clock TEXT, writer TEXT, reader TEXT, size INTEGER, chunk INTEGER,
    ok INTEGER NOT NULL, error TEXT, counts TEXT, line TEXT,
    tool_sha256 TEXT, kernel_sha256 TEXT, session TEXT, recorded_at TEXT
)
"""


def parse(text: str) -> dict[str, int]:
    """The one COUNTERS line of ``text`` (pipemap's stderr) as {key: count}; strict.

    Malformed means: no line or several, a token without ``key=decimal``, a key twice, a
    missing flag or side count, kernel counts present or absent against ``xstats``, ctxt
    against ``proc``. Each raises GuestError naming the line, because a half-read line would
    put wrong numbers in the report. Keys beyond the known ones are kept (a kernel may count
    more), as long as they are well formed.
    """
    lines = LINE.findall(text)
    if len(lines) != 1:
        raise GuestError(f"pipemap printed {len(lines)} COUNTERS lines, not 1: {text[-300:]!r}")
    line = lines[0]
    counts: dict[str, int] = {}
    for tok in line.split()[1:]:
        m = PAIR.match(tok)
        if not m:
            raise GuestError(f"malformed COUNTERS line (token {tok[:40]!r}): {line[:300]!r}")
        if m.group(1) in counts:
            raise GuestError(f"malformed COUNTERS line ({m.group(1)} twice): {line[:300]!r}")
        counts[m.group(1)] = int(m.group(2))
    missing = [k for k in (*FLAG_KEYS, *SIDE_KEYS) if k not in counts]
    if missing:
        raise GuestError(f"COUNTERS line lacks {', '.join(missing)}: {line[:300]!r}")
    bad_flags = [k for k in FLAG_KEYS if counts[k] not in (0, 1)]
    if bad_flags:
        raise GuestError(f"COUNTERS line: {bad_flags[0]} must be 0 or 1: {line[:300]!r}")
    present = [k for k in XMMAP_KEYS if k in counts]
    # a kernel prints the whole struct of its patch level: 0004's 24 counters, or 0005's 30
    want = XMMAP_KEYS if any(k in counts for k in XMMAP_KEYS_0005) else XMMAP_KEYS_0004
    if counts["xstats"] and len(present) != len(want):
        lack = [k for k in want if k not in counts]
        raise GuestError(f"COUNTERS line says xstats=1 but lacks {', '.join(lack)}: {line[:300]!r}")
    if not counts["xstats"] and present:
        raise GuestError(f"COUNTERS line says xstats=0 but has {present[0]}: {line[:300]!r}")
    if bool(counts["proc"]) != ("ctxt" in counts):
        raise GuestError(f"COUNTERS line: ctxt must be there iff proc=1: {line[:300]!r}")
    return counts


def pages(nbytes: int) -> float:
    """How many 4 KiB pages ``nbytes`` of stream are (fractional for a partial page)."""
    if nbytes <= 0:
        raise HarnessError(f"a transfer of {nbytes} bytes has no pages")
    return nbytes / PAGE


def instructions_per_page(real_us: float, nbytes: int) -> float:
    """Instructions per 4 KiB page from the real time under icount.

    ICOUNT_SHIFT = 0: the guest runs one instruction per virtual nanosecond, so a run of
    ``real_us`` microseconds executed real_us x 1000 instructions (halted time included,
    which an idle pipe end spends waiting: it counts as the transfer's cost).
    """
    return real_us * 1000.0 / pages(nbytes)


def per_page(counts: Mapping[str, int], nbytes: int, real_us: float | None = None) -> dict[str, float]:
    """Each count per 4 KiB page moved, the DERIVED sums too, and ``instructions`` if ``real_us``.

    ``real_us`` must come from the icount clock (see ``instructions_per_page``); the flags
    are not counts and are left out.
    """
    n = pages(nbytes)
    out = {k: v / n for k, v in counts.items() if k not in FLAG_KEYS}
    for name, parts in DERIVED.items():
        have = [counts[p] for p in parts if p in counts]
        if have:
            out[name] = sum(have) / n
    if real_us is not None:
        out["instructions"] = instructions_per_page(real_us, nbytes)
    return out


def copies_per_page(writer: str, reader: str) -> float:
    """Whole-page copies between user and pipe memory per page moved (R-COPY-2).

    write() copies each byte once into the pipe, read() once out of it; a mapped end copies
    nothing. The kernel does not count these (the classic path must stay untouched), so they
    follow from the methods: read/read 2, one mapped end 1, mmap/mmap 0.
    """
    valid = ("read", "mmap")
    for side, m in (("writer", writer), ("reader", reader)):
        if m not in valid:
            raise HarnessError(f"unknown {side} method {m!r}; valid: {', '.join(valid)}")
    return float((writer == "read") + (reader == "read"))


def breakdown(counts_per_page: Mapping[str, float], unit_cost: Mapping[str, float],
              instructions: float) -> dict[str, float]:
    """Where a page's ``instructions`` go: events x unit cost, and the rest as ``other``.

    ``unit_cost`` maps an event of ``counts_per_page`` (e.g. "faults_read", "pages_zeroed",
    "syscalls", "ctxt") to its cost in instructions per event, measured elsewhere (lmbench,
    under icount). An event without a count is an error (a cost would silently vanish);
    counts without a cost stay in ``other``. ``other`` may come out negative: then the unit
    costs overstate this path's events, which the reader must see rather than a clamp hide.
    """
    missing = [k for k in unit_cost if k not in counts_per_page]
    if missing:
        raise HarnessError(f"no count for the costed event(s) {', '.join(missing)}; "
                           f"counted: {', '.join(sorted(counts_per_page))}")
    if "other" in unit_cost:
        raise HarnessError("'other' is the remainder, not an event")
    out = {k: counts_per_page[k] * c for k, c in unit_cost.items()}
    out["other"] = instructions - sum(out.values())
    return out


@dataclass(frozen=True)
class CounterRun:
    cell: ex.Cell
    ok: bool
    error: str
    counts: dict[str, int]
    line: str
    tool_sha256: str
    kernel_sha256: str
    session: str
    recorded_at: str


class CounterStore:
    """The ``counters`` table in the raw store's SQLite file, one row per counter run."""

    def __init__(self, path: Path) -> None:
        self.db = rawstore.writable(path, SCHEMA)

    def close(self) -> None:
        self.db.close()

    def append(self, r: CounterRun) -> None:
        c = r.cell
        self.db.execute("BEGIN IMMEDIATE")
        self.db.execute(
            "INSERT INTO counters (cell, kernel, clock, writer, reader, size, chunk, ok, error, counts, line, "
            "tool_sha256, kernel_sha256, session, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (c.key, c.kernel, c.clock, c.writer, c.method, c.size, c.chunk, int(r.ok), r.error,
             json.dumps(r.counts, sort_keys=True), r.line, r.tool_sha256, r.kernel_sha256, r.session,
             r.recorded_at))
        self.db.execute("COMMIT")

    def latest(self) -> dict[str, dict[str, int]]:
        """{cell key: counts} of each cell's last good counter run."""
        rows = self.db.execute("SELECT cell, counts FROM counters WHERE ok = 1 ORDER BY id").fetchall()
        return {cell: json.loads(counts) for cell, counts in rows}


def command(cell: ex.Cell, timed_command: str) -> str:
    """The counter run's guest command: the cell's own pipemap command line, plus --counters.

    Taken from the bench's timed command (``timeit ... -- PROG ARGS``) so that every
    option the cell gives pipemap (methods, work level, ...) is the same in both runs.
    """
    _, sep, prog = timed_command.partition(" -- ")
    first, _, rest = prog.partition(" ")
    if not sep or not first.endswith("/pipemap") or cell.experiment != "E2":
        raise HarnessError(f"no pipemap command in {timed_command!r} (cell {cell.key})")
    return f"{first} --counters {rest}"


def run(ch: Channel, cell: ex.Cell, timed_command: str) -> tuple[dict[str, int], str]:
    """Run the cell's pipemap once with --counters; its counts and the raw line.

    pipemap must also have moved the data correctly (its stdout says ``ok``): counts of a
    broken transfer describe nothing.
    """
    cmd = command(cell, timed_command)
    r = ch.run(cmd, timeout=RUN_TIMEOUT)  # scaled by the channel
    err = r.stderr.decode("utf-8", "replace")
    if r.status != 0 or not r.text.rstrip().endswith(" ok"):
        raise GuestError(f"counter run of {cell.key} failed (exit {r.status}): {(r.text + err)[-300:]!r}")
    counts = parse(err)
    line = LINE.findall(err)[0]
    return counts, line


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def after_cell(runner: Runner, m: vm.Machine, ch: Channel, cell: ex.Cell, kernel_sha: str) -> None:
    """The bench's hook: once per E2 cell, after its timed runs, one untimed counter run, stored.

    A failed counter run is stored as such (ok 0, with its error) and the bench goes on: the
    cell's timings are already stored and valid, and raising here would make the bench retry
    a cell that is complete.
    """
    from harness import bench  # bench imports this module

    if cell.experiment != "E2":
        return
    counts: dict[str, int] = {}
    line, error = "", ""
    m.mark_console()
    try:
        counts, line = run(ch, cell, bench.command(cell, 1))
        trouble = m.trouble()
        if trouble:
            error, counts = f"kernel trouble on the console during the counter run: {trouble[:200]}", {}
    except GuestError as e:
        error = str(e)
        runner.say(f"bench: {cell.key}: counter run failed ({e}); stored as failed")
    runner.store.append_counter(CounterRun(cell, not error, error, counts, line,
                                           runner.tools.sha256(cell.layout, "pipemap"), kernel_sha,
                                           runner.session_id, _now()))


def cell_figures(db: Path, cell_key: str) -> dict[str, float]:
    """One E2 cell's per-page figures from the raw store: counts, and instructions under icount.

    The real time is the median of the cell's timed good runs (per run: timeit averages
    inside a timing); instructions are given only for an icount cell. ``copies`` is the
    whole-page copies per page that the methods imply (``copies_per_page``).
    """
    cell = ex.Cell.from_key(cell_key)
    if not db.is_file():
        raise HarnessError(f"no raw store {db}")
    con = rawstore.read_only(db)  # the report reads published stores: never change them
    try:
        if not rawstore.has_table(con, "counters"):
            raise HarnessError(f"raw store {db} has no counter runs")
        got = con.execute("SELECT counts FROM counters WHERE cell = ? AND ok = 1 ORDER BY id DESC LIMIT 1",
                          (cell_key,)).fetchone()
        counts = json.loads(got[0]) if got else None
        reals = [r for (r,) in con.execute(
            "SELECT real_us FROM runs WHERE cell = ? AND warmup = 0 AND ok = 1 ORDER BY real_us", (cell_key,))]
    except sqlite3.OperationalError as e:  # no runs table: a store without timings
        raise HarnessError(f"raw store {db} has no timings: {e}") from e
    finally:
        con.close()
    if counts is None:
        raise HarnessError(f"no good counter run of {cell_key} in {db}")
    real = None
    if cell.clock == "icount" and reals:
        mid = len(reals) // 2
        real = reals[mid] if len(reals) % 2 else (reals[mid - 1] + reals[mid]) / 2
    out = per_page(counts, cell.size, real)
    out["copies"] = copies_per_page(cell.writer, cell.method)
    return out
