"""Comparing this run's figures with a reference run's summary.json.

Two figures differ when their 95% intervals do not overlap: within the intervals a
difference is what repetition alone could give. Figures are matched by what they measure
(cell key and metric, ratio parameters and metric, claim and clock), never by position.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import stats
from harness.report.errors import ReportError

DIFFERS, AGREES, NEW, NOT_COMPARABLE = "differs", "agrees", "not in reference", "not comparable"
Key = tuple[str, ...]
Triple = tuple[float | None, float | None, float | None]
RATIO_KEYS = ("experiment", "kernel", "clock", "tool", "size", "chunk", "variant")


def _num(x: object) -> float | None:
    if isinstance(x, (int, float)) and math.isfinite(float(x)):
        return float(x)
    return None


def cell_key(cell: str, metric: str) -> Key:
    return ("cell", cell, metric)


def ratio_key(row: dict[str, Any], metric: str) -> Key:
    return ("ratio", *(str(row.get(k, "")) for k in RATIO_KEYS), metric)


def experiment_key(exp: str, kernel_clock: str, variant: str, metric: str) -> Key:
    return ("experiment", exp, kernel_clock, variant, metric)


def claim_key(claim: str, clock: str) -> Key:
    return ("claim", claim, clock)


def figures(summary: dict[str, Any]) -> dict[Key, Triple]:
    """Every figure of a summary with its interval, by what it measures."""
    out: dict[Key, Triple] = {}
    for row in summary.get("cell_table", []):
        for m in stats.METRICS:
            out[cell_key(str(row.get("cell")), m)] = (_num(row.get(f"{m}_median")), _num(row.get(f"{m}_lo")),
                                                      _num(row.get(f"{m}_hi")))
    for row in summary.get("ratio_table", []):
        for m in stats.METRICS:
            out[ratio_key(row, m)] = (_num(row.get(f"{m}_ratio")), _num(row.get(f"{m}_lo")), _num(row.get(f"{m}_hi")))
    for exp, per in summary.get("experiments", {}).items():
        for kc, variants in per.items():
            for variant, metrics in variants.items():
                for m, e in metrics.items():
                    out[experiment_key(exp, kc, variant, m)] = (_num(e.get("ratio")), _num(e.get("lo")),
                                                                _num(e.get("hi")))
    for claim in summary.get("claims", []):
        for clock, c in claim.get("clocks", {}).items():
            out[claim_key(str(claim.get("id")), clock)] = (_num(c.get("value")), _num(c.get("lo")), _num(c.get("hi")))
    return out


def differs(a: Triple, b: Triple) -> str:
    """DIFFERS when both intervals exist and do not overlap."""
    if None in (a[1], a[2], b[1], b[2]):
        return AGREES if a[0] is None and b[0] is None else NOT_COMPARABLE
    assert a[1] is not None and a[2] is not None and b[1] is not None and b[2] is not None
    return DIFFERS if a[2] < b[1] or b[2] < a[1] else AGREES


@dataclass(frozen=True)
class Comparison:
    name: str  # how the reference is named in the report (its directory name, not its path)
    reference: dict[Key, Triple]
    status: dict[Key, str] = field(default_factory=dict)

    @property
    def differs(self) -> int:
        return sum(1 for s in self.status.values() if s == DIFFERS)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for s in sorted(self.status.values()):
            out[s] = out.get(s, 0) + 1
        return out

    def rows(self, current: dict[Key, Triple]) -> list[tuple[Key, Triple, Triple | None, str]]:
        """The figures that differ or are new, sorted: the comparison section's table."""
        return [(k, current[k], self.reference.get(k), s) for k, s in sorted(self.status.items())
                if s in (DIFFERS, NEW)]


def change_text(cur: Triple, ref: Triple | None) -> str:
    """This run's figure relative to the reference's, in percent (how large a difference is)."""
    if ref is None or cur[0] is None or ref[0] is None or ref[0] == 0:
        return "–"
    return f"{100 * (cur[0] / ref[0] - 1):+.2f}%"


def load_reference(reference: Path) -> dict[str, Any]:
    path = reference / "summary.json"
    if not path.is_file():
        raise ReportError(f"no summary.json in {reference}: a reference is a directory written by ./inv report")
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise ReportError(f"cannot read {path}: {e}") from e
    if not isinstance(data, dict):
        raise ReportError(f"{path} is not a summary (expected a JSON object)")
    return data


def _cells(summary: dict[str, Any]) -> list[str]:
    return sorted(str(row.get("cell")) for row in summary.get("cell_table", []))


def compare(current: dict[Key, Triple], reference: dict[str, Any], name: str,
            current_cells: list[str] | None = None) -> Comparison:
    """Status of every current figure against the reference.

    Cell and per-pair ratio figures are matched one to one. An experiment's or a claim's
    figure is a geometric mean over cells, so it is compared only when both runs measured
    the same set of cells (e.g. a quick run against a full reference: "not comparable").
    """
    ref = figures(reference)
    same_cells = current_cells is None or sorted(current_cells) == _cells(reference)
    status: dict[Key, str] = {}
    for k, v in sorted(current.items()):
        if k not in ref:
            status[k] = NEW
        elif k[0] in ("experiment", "claim") and not same_cells:
            status[k] = NOT_COMPARABLE
        else:
            status[k] = differs(v, ref[k])
    return Comparison(name, ref, status)
