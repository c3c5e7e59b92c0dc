"""The report's tables as rows of formatted figures, each carrying its comparison mark.

Kept apart from the template so that cells.csv and the HTML cell table are built from the
same rows, and so that the formatting (milliseconds, intervals) is tested in one place.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from harness import stats
from harness.report import compare as cmp
from harness.report.data import Results
from harness.report.plots import human_bytes
from harness.report.summary import Stats

METHOD_ORDER = {"read": 0, "mmap": 1, "busybox": 2}
CSV_COLUMNS = [*stats.PARAMS, "cell", "status", "stored_runs", "expected_runs", "n", "failed", "runs_inside",
               *(f"{m}_{s}" for m in stats.METRICS for s in ("median", "lo", "hi"))]


@dataclass(frozen=True)
class Value:
    """One figure in a table cell: its text, and how it compares with the reference (None: no reference)."""

    text: str
    mark: str | None = None
    ref: str = ""  # the reference's figure, shown as a tooltip and in the comparison section

    @property
    def css(self) -> str:
        return {cmp.DIFFERS: "differs", cmp.NEW: "new"}.get(self.mark or "", "")


def _num(x: object) -> float | None:
    if x is None:
        return None
    try:
        f = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def ms(us: object) -> str:
    """Microseconds as milliseconds with three significant figures (user/sys ticks are 10 ms coarse)."""
    v = _num(us)
    if v is None:
        return "–"
    v /= 1000.0
    return f"{v:.0f}" if abs(v) >= 100 else f"{v:.1f}" if abs(v) >= 10 else f"{v:.2f}"


def ratio(x: object) -> str:
    v = _num(x)
    return "–" if v is None else f"{v:.3f}"


def triple_text(t: cmp.Triple, unit_ms: bool) -> str:
    f = ms if unit_ms else ratio
    if t[0] is None:
        return "–"
    return f"{f(t[0])} [{f(t[1])}, {f(t[2])}]" if t[1] is not None else f(t[0])


class Marker:
    """Looks a figure up in the comparison (if any) and builds its Value."""

    def __init__(self, comparison: cmp.Comparison | None) -> None:
        self.c = comparison

    def value(self, text: str, key: cmp.Key, unit_ms: bool) -> Value:
        if self.c is None or key not in self.c.status:
            return Value(text)
        ref = self.c.reference.get(key)
        return Value(text, self.c.status[key], triple_text(ref, unit_ms) if ref else "")


def _interval(row: dict[str, Any], metric: str, kind: str) -> str:
    if kind == "ratio":
        v, lo, hi = row.get(f"{metric}_ratio"), row.get(f"{metric}_lo"), row.get(f"{metric}_hi")
        return "–" if _num(v) is None else f"{ratio(v)} [{ratio(lo)}, {ratio(hi)}]"
    v, lo, hi = row.get(f"{metric}_median"), row.get(f"{metric}_lo"), row.get(f"{metric}_hi")
    return "–" if _num(v) is None else f"{ms(v)} [{ms(lo)}, {ms(hi)}]"


def _reading(r: dict[str, Any]) -> tuple[str, str, str]:
    return (str(r.get("work") or ""), str(r.get("sink") or ""), str(r.get("layout") or ""))


def _records(df: pd.DataFrame) -> dict[str, dict[str, Any]]:
    return {str(r["cell"]): r for r in df.to_dict(orient="records")} if len(df) else {}


def cell_rows(results: Results, st: Stats, marker: Marker) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The full table of every planned or stored cell: (csv rows, html rows), in the same order."""
    by_key = _records(st.cells)
    shared = beside_cells(results.runs)
    csv_rows, html_rows = [], []
    for p in results.plan:
        c = p.cell
        r = by_key.get(p.key, {})
        base: dict[str, Any] = {**c.record(), "cell": p.key, "status": p.label, "stored_runs": p.stored,
                                "expected_runs": p.expected}
        csv = {col: base.get(col, r.get(col)) for col in CSV_COLUMNS}
        csv_rows.append(csv)
        html: dict[str, Any] = {**base, "size_h": human_bytes(c.size), "chunk_h": human_bytes(c.chunk) if c.chunk
                                else "", "n": r.get("n", ""), "failed": r.get("failed", ""),
                                "runs_inside": r.get("runs_inside", ""), "complete": p.status == "complete",
                                "beside": shared.get(p.key, 0) if c.clock == "tcg" else 0}
        for m in stats.METRICS:
            html[m] = marker.value(_interval(r, m, "cell"), cmp.cell_key(p.key, m), True) if r else Value("–")
        html_rows.append(html)
    return csv_rows, html_rows


def beside_cells(runs: Any) -> dict[str, int]:
    """Cell key -> how many of its timed runs had other machines on their host (column ``beside``;
    a store written before the distributed bench has no such column: no run is marked)."""
    if "beside" not in runs:
        return {}
    timed = runs[(runs["warmup"] == 0) & (runs["beside"].fillna("") != "")]
    return {str(k): int(v) for k, v in timed.groupby("cell").size().items()}


def beside_summary(runs: Any) -> dict[str, int]:
    """TCG timed runs in all, and how many of them were measured beside other machines."""
    tcg = runs[(runs["warmup"] == 0) & (runs["clock"] == "tcg")]
    shared = sum(beside_cells(tcg).values()) if len(tcg) else 0
    return {"tcg_runs": int(len(tcg)), "tcg_beside": shared,
            "tcg_cells_beside": len(beside_cells(tcg)) if len(tcg) else 0}


def experiment_rows(st: Stats, experiment: str, marker: Marker) -> list[dict[str, Any]]:
    """Per kernel, clock and parameters: each variant's medians and its ratio to read() with interval."""
    if not len(st.cells):
        return []
    cells = st.cells[st.cells["experiment"] == experiment]
    ratios = {}
    for r in st.ratios.to_dict(orient="records") if len(st.ratios) else []:
        if r["experiment"] == experiment:
            ratios[(r["kernel"], r["clock"], r["tool"], int(r["size"]), int(r["chunk"]), *_reading(r),
                    r["variant"])] = r
    rows = []
    for r in cells.to_dict(orient="records"):
        variant = (f"writer={r['writer']},reader={r['method']}" if experiment == "E2" else str(r["method"]))
        is_base = variant in ("read", "writer=read,reader=read")
        rr = ratios.get((r["kernel"], r["clock"], r["tool"], int(r["size"]), int(r["chunk"]), *_reading(r), variant))
        row: dict[str, Any] = {
            "sort": (r["kernel"], r["clock"], r["tool"], *_reading(r), int(r["size"]), int(r["chunk"]),
                     METHOD_ORDER.get(str(r["writer"]), 0), METHOD_ORDER.get(str(r["method"]), 9)),
            "work": r.get("work", ""), "sink": r.get("sink", ""), "layout": r.get("layout", ""),
            "kernel": r["kernel"], "clock": r["clock"], "tool": r["tool"], "size_h": human_bytes(int(r["size"])),
            "chunk_h": human_bytes(int(r["chunk"])) if int(r["chunk"]) else "", "method": r["method"],
            "writer": r["writer"], "variant": variant, "base": is_base, "n": r["n"],
        }
        for m in ("real_us", "user_us", "sys_us"):
            row[m] = marker.value(ms(r.get(f"{m}_median")), cmp.cell_key(str(r["cell"]), m), True)
        for m in ("real_us", "sys_us", "cpu_us"):
            key = cmp.ratio_key(rr, m) if rr else None
            text = "baseline" if is_base else _interval(rr, m, "ratio") if rr else "–"
            row[f"ratio_{m}"] = marker.value(text, key, False) if key else Value(text)
        rows.append(row)
    return sorted(rows, key=lambda x: x["sort"])


def overall_rows(st: Stats, marker: Marker) -> list[dict[str, Any]]:
    """Geometric means per experiment, kernel/clock and variant (stats' experiment-level figures)."""
    rows = []
    for exp in sorted(st.experiments):
        for kc in sorted(st.experiments[exp]):
            for variant in sorted(st.experiments[exp][kc]):
                e = st.experiments[exp][kc][variant]
                row: dict[str, Any] = {"experiment": exp, "kernel_clock": kc, "variant": variant,
                                       "cells": max((int(v.get("cells", 0)) for v in e.values()), default=0)}
                for m in stats.METRICS:
                    v = e.get(m)
                    text = f"{ratio(v['ratio'])} [{ratio(v['lo'])}, {ratio(v['hi'])}]" if v else "–"
                    row[m] = marker.value(text, cmp.experiment_key(exp, kc, variant, m), False) if v else Value(text)
                rows.append(row)
    return rows


def layout_rows(st: Stats) -> list[dict[str, Any]]:
    """Per pair of cells measured in more than one build layout: each layout's real-time ratio and the spread.

    The layout check of the claims needs the same cells in every layout; this table shows, cell by
    cell, how far code layout alone moves a ratio (Mytkowicz et al., ASPLOS 2009).
    """
    if not len(st.ratios) or "layout" not in st.ratios:
        return []
    cols = [c for c in stats.PAIR_COLS if c != "layout"] + ["variant"]
    rows = []
    for key, g in st.ratios.groupby(cols, sort=True):
        if g["layout"].nunique() < 2:
            continue
        params = dict(zip(cols, key, strict=True))
        per = {str(r["layout"]): _num(r["real_us_ratio"]) for r in g.to_dict(orient="records")}
        vals = [v for v in per.values() if v]
        spread = max(vals) / min(vals) - 1 if len(vals) > 1 else None
        sides = {v < 1 for v in vals}
        rows.append({**params, "size_h": human_bytes(int(params["size"])),
                     "chunk_h": human_bytes(int(params["chunk"])) if int(params["chunk"]) else "",
                     "layouts": {k: ratio(v) for k, v in sorted(per.items())},
                     "spread": "–" if spread is None else f"{100 * spread:.2f}%",
                     "same_side": len(sides) == 1})
    return rows
