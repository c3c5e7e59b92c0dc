"""The statistics of the complete cells, in the shape ``harness.stats.summarize`` writes.

``stats.summarize`` reads the whole store and writes beside it; the report needs the same
summary over the complete cells only, written into the report directory. So the figures
come from ``stats.cell_table`` and ``stats.ratios`` unchanged and only the record is
assembled here (with the same keys, plus the claims and the completeness of the plan).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from harness import stats
from harness.report.data import Results

CELL_COLUMNS = [*stats.PARAMS, "cell", "n", "failed", "runs_inside",
                *(f"{m}_{s}" for m in stats.METRICS for s in ("median", "lo", "hi"))]
RATIO_COLUMNS = [*stats.PAIR_COLS, "variant",
                 *(f"{m}_{s}" for m in stats.METRICS for s in ("ratio", "lo", "hi"))]


@dataclass(frozen=True)
class Stats:
    cells: pd.DataFrame  # stats.cell_table of the complete cells
    ratios: pd.DataFrame  # stats.ratios' per-pair table
    experiments: dict[str, dict[str, dict[str, Any]]]  # stats.ratios' geometric means
    boots: list[stats.Boots]  # the bootstrap replicates of each row of ``ratios`` (claims' subsets)


def compute(results: Results) -> Stats:
    """Cell table and ratios over the complete cells (empty frames with the columns when there are none)."""
    df = results.runs
    cells = stats.cell_table(df) if len(df) else pd.DataFrame(columns=CELL_COLUMNS)
    table, boots = stats.pair_table(df) if len(df) else (pd.DataFrame(columns=RATIO_COLUMNS), [])
    overall = stats.experiment_means(table, boots)
    if not len(cells):
        cells = pd.DataFrame(columns=CELL_COLUMNS)
    if not len(table):
        table = pd.DataFrame(columns=RATIO_COLUMNS)
    return Stats(cells, table, overall, boots)


def record(results: Results, st: Stats, claims: list[dict[str, Any]]) -> dict[str, Any]:
    """summary.json: stats' summary of the complete cells, the claims' figures and what is missing."""
    return {
        **stats.summary(results.runs, st.cells, st.ratios, st.experiments),
        "claims": claims,
        "plan": {"profile": results.profile, "cells": len(results.plan),
                 "expected_runs_per_cell": results.expected_runs, "missing_cells": results.missing_cells,
                 "runs_in_store": results.total_runs},
    }
