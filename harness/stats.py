"""Statistics over the raw store: medians, bootstrap intervals, mmap/read ratios.

Every figure comes with a 95% percentile-bootstrap interval (resampling the runs of each
cell, a fixed seed so the summary is reproducible from the raw data). A ratio compares a
cell's mmap variant (or the stock busybox baseline) with the read() variant of the same
parameters on the same kernel in the same clock mode: the ratio of medians, resampled jointly. An experiment's overall
ratio is the geometric mean of its cells' ratios, bootstrapped the same way.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd

B = 2000
SEED = 19990
METRICS = ("real_us", "user_us", "sys_us", "cpu_us")
PARAMS = ["experiment", "kernel", "clock", "tool", "method", "writer", "size", "chunk"]
NEW_PARAMS = ["work", "sink", "layout"]  # issue 10's cell fields; absent from a previous design's store


def load(db: Path) -> pd.DataFrame:
    with sqlite3.connect(db) as con:
        df = pd.read_sql_query("SELECT * FROM runs", con)
    df["cpu_us"] = df["user_us"] + df["sys_us"]
    return df


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
    # a store of this design pairs only cells of one work level, sink and layout (a previous design's
    # store has none of these columns: verify, hash, O2 throughout); the pair's row carries them, the
    # variant's name does not (so the experiment's geometric mean in ``ratios`` pools them: the
    # report splits them by these columns)
    extra = [c for c in NEW_PARAMS if c in ok.columns]
    base_cols = ["experiment", "kernel", "clock", "tool", "size", "chunk", *extra]
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


def ratios(df: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, dict[str, dict[str, object]]]]:
    """Per pair of cells the mmap/read ratio of medians; per experiment and clock the geometric mean."""
    rng = np.random.default_rng(SEED + 1)
    timed = df[df["warmup"] == 0]
    rows: list[dict[str, object]] = []
    boots: dict[tuple[object, ...], np.ndarray] = {}
    for params, mm, rd in _pairs(timed):
        row = dict(params)
        for m in METRICS:
            a, b = mm[m].to_numpy(float), rd[m].to_numpy(float)
            if np.median(b) <= 0 or np.median(a) <= 0:
                row.update({f"{m}_ratio": None, f"{m}_lo": None, f"{m}_hi": None})
                continue
            ba, bb = boot_medians(a, rng), boot_medians(b, rng)
            with np.errstate(divide="ignore", invalid="ignore"):
                br = ba / bb
            br = br[np.isfinite(br) & (br > 0)]
            row.update({f"{m}_ratio": float(np.median(a) / np.median(b)), f"{m}_lo": float(np.percentile(br, 2.5)),
                        f"{m}_hi": float(np.percentile(br, 97.5))})
            boots[(params["experiment"], params["kernel"], params["clock"], params["variant"], m, len(rows))] = br
        rows.append(row)
    table = pd.DataFrame(rows)
    overall: dict[str, dict[str, dict[str, object]]] = {}
    if len(table):
        for (exp, kernel, clock, variant), g in table.groupby(["experiment", "kernel", "clock", "variant"]):
            entry = {}
            for m in METRICS:
                vals = g[f"{m}_ratio"].dropna().to_numpy(float)
                reps = [boots[k] for k in boots if k[:5] == (exp, kernel, clock, variant, m)]
                if not len(vals) or not reps:
                    continue
                n = min(len(r) for r in reps)
                gm_boot = np.exp(np.mean([np.log(r[:n]) for r in reps], axis=0))
                entry[m] = {"ratio": float(np.exp(np.mean(np.log(vals)))), "lo": float(np.percentile(gm_boot, 2.5)),
                            "hi": float(np.percentile(gm_boot, 97.5)), "cells": int(len(vals))}
            overall.setdefault(str(exp), {}).setdefault(f"{kernel}/{clock}", {})[str(variant)] = entry
    return table, overall


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
