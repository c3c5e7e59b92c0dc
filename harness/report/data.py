"""Loading a results directory: the raw store, the provenance record and the plan of cells.

The report must render from an interrupted run too, so completeness is decided here, per
cell of the plan: a cell counts (and enters any figure) only when the store holds all its
runs; the others are listed as missing or partial, never silently averaged in.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from harness import experiments as ex
from harness import stats
from harness.errors import ConfigError
from harness.report.errors import ReportError

COMPLETE, PARTIAL, MISSING = "complete", "partial", "missing"


@dataclass(frozen=True)
class PlanCell:
    """One cell of the plan and how much of it the store holds."""

    cell: ex.Cell
    stored: int  # rows in the store (calibration, warm-ups and repetitions)
    expected: int
    stored_key: str = ""  # the key as the store writes it (a previous design's has 8 fields); "" = cell.key

    @property
    def key(self) -> str:
        return self.stored_key or self.cell.key

    @property
    def status(self) -> str:
        if self.stored >= self.expected:
            return COMPLETE
        return PARTIAL if self.stored else MISSING

    @property
    def label(self) -> str:
        """What the cell table says in its status column."""
        if self.status == PARTIAL:
            return f"partial {self.stored}/{self.expected}"
        return self.status


@dataclass(frozen=True)
class Results:
    runs: pd.DataFrame  # every stored row of the complete cells (stats.load's frame)
    provenance: dict[str, Any]
    profile: str | None
    expected_runs: int
    expected_source: str  # where expected_runs came from, said in the methods section
    plan: tuple[PlanCell, ...]  # sorted by cell parameters
    total_runs: int  # rows in the store, complete cells or not

    @property
    def missing_cells(self) -> int:
        return sum(1 for p in self.plan if p.status != COMPLETE)


def parse_key(key: str) -> ex.Cell:
    """A cell key of the store or the plan back into its cell; a malformed one is a report error."""
    try:
        return ex.Cell.from_key(key)
    except ConfigError as e:
        raise ReportError(str(e)) from e


def read_provenance(results: Path) -> dict[str, Any]:
    """provenance.json, or {} when an older run did not write it (the report says "not recorded")."""
    path = results / "provenance.json"
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise ReportError(f"cannot read {path.name} in {results}: {e}") from e
    return data if isinstance(data, dict) else {}


def _no_data(results: Path) -> ReportError:
    return ReportError(f"no measurements in {results}: run `./inv bench` (or `./inv replicate`) first")


def _expected(profile: str | None, plan: dict[str, Any]) -> tuple[int | None, str]:
    if isinstance(plan.get("expected_runs_per_cell"), int):
        return int(plan["expected_runs_per_cell"]), "provenance plan"
    if profile in ex.PROFILES:
        return ex.PROFILES[profile].runs_per_cell, f"profile {profile!r} (harness.experiments)"
    return None, "largest number of rows any cell has (profile unknown)"


def load(results: Path) -> Results:
    """Everything the report is computed from; fails with one line when there is nothing to report."""
    db = results / "raw.sqlite"
    if not db.is_file():
        raise _no_data(results)
    try:
        df = stats.load(db)
    except (sqlite3.Error, pd.errors.DatabaseError) as e:
        raise ReportError(f"cannot read the raw store {db.name} in {results}: {e}") from e
    if not len(df) or not (df["warmup"] == 0).any():
        raise _no_data(results)
    prov = read_provenance(results)
    plan_rec = prov.get("plan") if isinstance(prov.get("plan"), dict) else {}
    assert isinstance(plan_rec, dict)
    profiles = sorted(str(p) for p in df["profile"].dropna().unique())
    profile = plan_rec.get("profile") or prov.get("profile") or (profiles[0] if profiles else None)
    counts = df.groupby("cell").size().to_dict()
    expected, source = _expected(profile, plan_rec)
    if expected is None:
        expected = int(max(counts.values()))
    keys: set[str] = set(counts)
    if isinstance(plan_rec.get("cells"), list):
        keys |= {str(k) for k in plan_rec["cells"]}
    elif profile in ex.PROFILES:
        keys |= {c.key for c in ex.cells(str(profile))}
    plan = tuple(sorted((PlanCell(parse_key(k), int(counts.get(k, 0)), expected, k) for k in keys),
                        key=lambda p: p.cell))
    complete = {p.key for p in plan if p.status == COMPLETE}
    runs = df[df["cell"].isin(complete)].reset_index(drop=True)
    return Results(runs, prov, str(profile) if profile else None, expected, source, plan, int(len(df)))
