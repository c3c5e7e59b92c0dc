"""Statistics over the raw store: medians, bootstrap intervals, mmap/read ratios.

Every figure comes with a 95% percentile-bootstrap interval (resampling the runs of each
cell, a fixed seed so the summary is reproducible from the raw data). A ratio compares a
cell's mmap variant (or the stock busybox baseline) with the read() variant of the same
parameters on the same kernel in the same clock mode: the ratio of medians, resampled jointly. An experiment's overall
ratio is the geometric mean of its cells' ratios, bootstrapped the same way.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

B = 2000
SEED = 19990
METRICS = ("real_us", "user_us", "sys_us", "cpu_us")
PARAMS = ["experiment", "kernel", "clock", "tool", "method", "writer", "size", "chunk", "work", "sink", "layout"]
READING = ("work", "sink", "layout")  # what a cell's figure is a reading of, besides its parameters
# A store written before work levels, sinks and layouts existed measured E2 at today's work level
# "verify", E1/E3 with the output hashed inside the timing ("hash"), one layout ("O2").
PREVIOUS_DESIGN = {"work": "verify", "sink": "hash", "layout": "O2"}
PAIR_COLS = ["experiment", "kernel", "clock", "tool", "size", "chunk", "work", "sink", "layout"]


def load(db: Path) -> pd.DataFrame:
    from harness.rawstore import read_only

    con = read_only(db)
    try:
        df = pd.read_sql_query("SELECT * FROM runs", con)
    finally:
        con.close()
    fill_reading(df)
    df["cpu_us"] = df["user_us"] + df["sys_us"]
    return df


def fill_reading(df: pd.DataFrame) -> None:
    """Give the rows of a previous-design store their reading (work level, sink, layout), in place."""
    e2 = df["experiment"] == "E2" if "experiment" in df else pd.Series(dtype=bool)
    for col, value in PREVIOUS_DESIGN.items():
        if col not in df:
            df[col] = value if col == "layout" else ""
            if col == "work":
                df.loc[e2, col] = value
            elif col == "sink":
                df.loc[~e2, col] = value
        df[col] = df[col].fillna("").astype(str)


def reading_text(work: object, sink: object, layout: object) -> str:
    """A reading in words, as the summary's keys and the report's tables name it."""
    parts = [f"work={work}" if work else "", f"sink={sink}" if sink else "", f"layout={layout}" if layout else ""]
    return "|".join(p for p in parts if p)


def boot_medians(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    idx = rng.integers(0, len(values), size=(B, len(values)))
    return np.median(values[idx], axis=1)


def cell_table(df: pd.DataFrame) -> pd.DataFrame:
    """One row per cell: n, failures, median and 95% interval of each metric."""
    rng = np.random.default_rng(SEED)
    rows = []
    timed = df[df["warmup"] == 0]
    for key, g in timed.groupby("cell", sort=True):
        good = g[g["ok"] == 1]
        row: dict[str, object] = {p: g[p].iloc[0] for p in PARAMS}
        row.update(cell=key, n=len(good), failed=int((g["ok"] == 0).sum()),
                   runs_inside=int(good["runs_inside"].median()) if len(good) else 0)
        for m in METRICS:
            v = good[m].to_numpy(dtype=float)
            if len(v):
                bm = boot_medians(v, rng)
                row.update({f"{m}_median": float(np.median(v)), f"{m}_lo": float(np.percentile(bm, 2.5)),
                            f"{m}_hi": float(np.percentile(bm, 97.5))})
            else:
                row.update({f"{m}_median": None, f"{m}_lo": None, f"{m}_hi": None})
        rows.append(row)
    return pd.DataFrame(rows)


def _pairs(timed: pd.DataFrame) -> list[tuple[dict[str, object], pd.DataFrame, pd.DataFrame]]:
    """(parameters, mmap runs, read runs) for every comparable pair of cells."""
    out: list[tuple[dict[str, object], pd.DataFrame, pd.DataFrame]] = []
    ok = timed[timed["ok"] == 1]
    base_cols = PAIR_COLS
    for key, g in ok.groupby(base_cols, sort=True):
        params = dict(zip(base_cols, key, strict=True))
        if params["experiment"] == "E2":
            read = g[(g["method"] == "read") & (g["writer"] == "read")]
            variants = [(w, r) for w, r in {(w, r) for w, r in zip(g["writer"], g["method"], strict=True)}
                        if (w, r) != ("read", "read")]
            for w, r in sorted(variants):
                mm = g[(g["method"] == r) & (g["writer"] == w)]
                out.append(({**params, "variant": f"writer={w},reader={r}"}, mm, read))
        else:
            read = g[g["method"] == "read"]
            out.append(({**params, "variant": "mmap"}, g[g["method"] == "mmap"], read))
            out.append(({**params, "variant": "busybox"}, g[g["method"] == "busybox"], read))
    return [(p, mm, rd) for p, mm, rd in out if len(mm) and len(rd)]


Boots = dict[str, np.ndarray]  # metric -> bootstrap ratios of one pair of cells


def pair_table(df: pd.DataFrame) -> tuple[pd.DataFrame, list[Boots]]:
    """Per pair of cells the mmap/read ratio of medians with its interval; and the bootstrap replicates."""
    rng = np.random.default_rng(SEED + 1)
    timed = df[df["warmup"] == 0]
    rows: list[dict[str, object]] = []
    boots: list[Boots] = []
    for params, mm, rd in _pairs(timed):
        row = dict(params)
        b: Boots = {}
        for m in METRICS:
            a, c = mm[m].to_numpy(float), rd[m].to_numpy(float)
            if np.median(c) <= 0 or np.median(a) <= 0:
                row.update({f"{m}_ratio": None, f"{m}_lo": None, f"{m}_hi": None})
                continue
            ba, bc = boot_medians(a, rng), boot_medians(c, rng)
            with np.errstate(divide="ignore", invalid="ignore"):
                br = ba / bc
            br = br[np.isfinite(br) & (br > 0)]
            row.update({f"{m}_ratio": float(np.median(a) / np.median(c)), f"{m}_lo": float(np.percentile(br, 2.5)),
                        f"{m}_hi": float(np.percentile(br, 97.5))})
            b[m] = br
        rows.append(row)
        boots.append(b)
    return pd.DataFrame(rows), boots


def geomean(table: pd.DataFrame, boots: list[Boots], rows: list[int], metric: str) -> dict[str, Any] | None:
    """Geometric mean of the ratios of the given pair rows, bootstrapped jointly (None: no figure)."""
    vals = [float(table.at[i, f"{metric}_ratio"]) for i in rows if _finite(table.at[i, f"{metric}_ratio"])]
    reps = [boots[i][metric] for i in rows if metric in boots[i]]
    if not vals or not reps:
        return None
    n = min(len(r) for r in reps)
    gm_boot = np.exp(np.mean([np.log(r[:n]) for r in reps], axis=0))
    return {"ratio": float(np.exp(np.mean(np.log(vals)))), "lo": float(np.percentile(gm_boot, 2.5)),
            "hi": float(np.percentile(gm_boot, 97.5)), "cells": int(len(vals))}


def _finite(x: object) -> bool:
    try:
        return x is not None and bool(np.isfinite(float(x)))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def experiment_means(table: pd.DataFrame, boots: list[Boots]) -> dict[str, dict[str, dict[str, object]]]:
    """Per experiment, kernel/clock and variant-with-reading: the geometric mean of each metric."""
    overall: dict[str, dict[str, dict[str, object]]] = {}
    if not len(table):
        return overall
    for (exp, kernel, clock, variant, work, sink, layout), g in table.groupby(
            ["experiment", "kernel", "clock", "variant", *READING], sort=True):
        entry = {m: e for m in METRICS if (e := geomean(table, boots, list(g.index), m))}
        key = "|".join(x for x in (str(variant), reading_text(work, sink, layout)) if x)
        overall.setdefault(str(exp), {}).setdefault(f"{kernel}/{clock}", {})[key] = entry
    return overall


def ratios(df: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, dict[str, dict[str, object]]]]:
    """Per pair of cells the mmap/read ratio of medians; per experiment, clock and reading the geometric mean."""
    table, boots = pair_table(df)
    return table, experiment_means(table, boots)


def summary(df: pd.DataFrame, cells: pd.DataFrame, table: pd.DataFrame,
            overall: dict[str, dict[str, dict[str, object]]]) -> dict[str, object]:
    """The summary record (summary.json): counts, the statistics used, ratios and both tables."""
    return {
        "runs": int(len(df)), "failed_runs": int((df["ok"] == 0).sum()) if len(df) else 0, "cells": int(len(cells)),
        "statistics": {"bootstrap_resamples": B, "seed": SEED, "interval": "95% percentile bootstrap",
                       "ratio": "median(mmap) / median(read); experiment: geometric mean over cells"},
        "experiments": overall,
        "cell_table": json.loads(cells.to_json(orient="records")),
        "ratio_table": json.loads(table.to_json(orient="records")),
    }


def summarize(db: Path, out_dir: Path) -> dict[str, object]:
    """Write summary.json and cells.csv / ratios.csv beside the raw store; returns the summary."""
    df = load(db)
    cells = cell_table(df)
    table, overall = ratios(df)
    out_dir.mkdir(parents=True, exist_ok=True)
    cells.to_csv(out_dir / "cells.csv", index=False)
    table.to_csv(out_dir / "ratios.csv", index=False)
    record = summary(df, cells, table, overall)
    (out_dir / "summary.json").write_text(json.dumps(record, indent=2) + "\n")
    return record
