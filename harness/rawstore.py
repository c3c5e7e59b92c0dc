"""The durable raw store of every timed run: one SQLite row per run, on disk before the next.

SQLite with ``synchronous=FULL`` and a commit per row: a ``kill -9`` at any moment loses
at most the run in flight. A cell counts as done once all its runs are stored; ``--resume``
skips done cells and drops the rows of a cell that was cut short, so it is measured again
from its first warm-up (at most that one cell is lost).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, fields
from pathlib import Path

from harness.experiments import Cell

COLUMNS = """
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    cell TEXT NOT NULL, experiment TEXT, kernel TEXT, clock TEXT, tool TEXT, method TEXT, writer TEXT,
    size INTEGER, chunk INTEGER, work TEXT, sink TEXT, layout TEXT,
    rep INTEGER, warmup INTEGER, runs_inside INTEGER,
    real_us REAL, user_us REAL, sys_us REAL,
    status INTEGER, ok INTEGER, error TEXT,
    out_bytes INTEGER, out_fnv TEXT, expected_fnv TEXT,
    tool_sha256 TEXT, input_sha256 TEXT, kernel_sha256 TEXT,
    profile TEXT, session TEXT, started_at TEXT, finished_at TEXT,
    host TEXT, beside TEXT
"""


@dataclass(frozen=True)
class Run:
    cell: Cell
    rep: int
    warmup: bool
    runs_inside: int
    real_us: float | None
    user_us: float | None
    sys_us: float | None
    status: int | None
    ok: bool
    error: str
    out_bytes: int | None
    out_fnv: str
    expected_fnv: str
    tool_sha256: str
    input_sha256: str
    kernel_sha256: str
    profile: str
    session: str
    started_at: str
    finished_at: str
    host: str = ""  # the host the run was measured on (hostinfo.host_name)
    beside: str = ""  # other machines on that host during the run (hostinfo.beside_text)


class RawStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = writable(path, f"CREATE TABLE IF NOT EXISTS runs ({COLUMNS})")
        have = {r[1] for r in self.db.execute("PRAGMA table_info(runs)")}
        self.legacy = "layout" not in have  # the previous design's store: no work, sink, layout
        if not self.legacy:
            for col in ("host", "beside"):  # added with the distributed bench: older stores gain them empty
                if col not in have:
                    self.db.execute(f"ALTER TABLE runs ADD COLUMN {col} TEXT")

    def record_layouts(self, buildinfo: dict[str, str]) -> None:
        """The guest tools' layouts of this store (table ``layouts``: layout, cflags, buildinfo), so
        that a row's ``layout`` names its flags in the store itself; a rebuilt layout replaces its row."""
        self.db.execute("CREATE TABLE IF NOT EXISTS layouts (layout TEXT PRIMARY KEY, cflags TEXT, buildinfo TEXT)")
        for layout, info in buildinfo.items():
            cflags = next((ln.split(":", 1)[1].strip() for ln in info.splitlines() if ln.startswith("cflags:")), "")
            self.db.execute("INSERT OR REPLACE INTO layouts VALUES (?, ?, ?)", (layout, cflags, info))

    def close(self) -> None:
        self.db.close()

    def append(self, run: Run) -> None:
        row = {f.name: getattr(run, f.name) for f in fields(run) if f.name != "cell"}
        row.update(run.cell.record())
        row["cell"] = run.cell.key
        row["warmup"] = int(run.warmup)
        row["ok"] = int(run.ok)
        cols = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        self.db.execute("BEGIN IMMEDIATE")
        self.db.execute(f"INSERT INTO runs ({cols}) VALUES ({marks})", tuple(row.values()))
        self.db.execute("COMMIT")

    def counts(self) -> dict[str, int]:
        return dict(self.db.execute("SELECT cell, COUNT(*) FROM runs GROUP BY cell").fetchall())

    def values(self, column: str) -> set[object]:
        """The distinct non-empty values of one column (which profiles, which kernels a store holds)."""
        if column not in {f.name for f in fields(Run)} | {"cell"}:
            raise ValueError(f"no column {column!r} in the raw store")
        return {r[0] for r in self.db.execute(f"SELECT DISTINCT {column} FROM runs") if r[0] not in (None, "")}

    def done_cells(self, expected_runs: int) -> set[str]:
        return {c for c, n in self.counts().items() if n >= expected_runs}

    def drop_partial(self, expected_runs: int, keys: Iterable[str]) -> int:
        """Delete the rows of cells that were cut short; returns how many cells."""
        counts = self.counts()
        partial = [k for k in keys if 0 < counts.get(k, 0) < expected_runs]
        for k in partial:
            self.db.execute("DELETE FROM runs WHERE cell = ?", (k,))
        return len(partial)

    def clear(self) -> None:
        self.db.execute("DELETE FROM runs")


def writable(path: Path, schema: str, threads: bool = False) -> sqlite3.Connection:
    """The raw store file opened for appending rows of one table (``schema`` creates it if absent).

    Every kind of row (runs, counters, lmbench) lives in this one file; each commit is on disk
    before the next run (WAL, ``synchronous=FULL``), so a kill -9 loses at most the row in flight.
    ``threads``: the connection may be used from several threads; the caller serialises its use.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=not threads)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute(schema)
    return db


def read_only(path: Path) -> sqlite3.Connection:
    """A connection that cannot change the file: the report reads published stores (a normal
    connection's ``journal_mode=WAL`` or ``CREATE TABLE`` would rewrite a committed reference)."""
    # Without a -wal file beside it the whole store is in the main file: open it immutable, so
    # that SQLite creates no -wal/-shm files either (a read-only WAL reader cannot remove them
    # again, and an archive or a git tree would then hold them).
    wal = Path(f"{path}-wal")
    return sqlite3.connect(f"file:{path}?mode=ro{'' if wal.exists() else '&immutable=1'}", uri=True)


def has_table(con: sqlite3.Connection, name: str) -> bool:
    return con.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,)).fetchone() is not None
