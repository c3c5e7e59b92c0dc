"""The thesis's claims as data, and the rules that turn the measurements into verdicts.

Every claim is quoted verbatim from the thesis page and read as a statement about one
figure (a ratio or a share) with a 95% interval. A verdict is "reproduced" only when the
point figure and its whole interval lie on the claimed side of the threshold, "not
reproduced" when they lie wholly on the other side, and "inconclusive" otherwise. Per
claim there is a verdict per clock mode; the overall verdict needs both modes to agree,
because TCG and icount measure different things (wall time of an emulator against
executed instructions) and a claim that holds in only one of them is not established.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd

from harness import experiments as ex
from harness import stats

REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE = "reproduced", "not reproduced", "inconclusive"
KERNEL = "xmmap"  # the only kernel with both methods
SHARE_SEED = stats.SEED + 2  # stats uses SEED (cells) and SEED + 1 (ratios)


@dataclass(frozen=True)
class Claim:
    id: str
    quote: str  # verbatim from the thesis page
    experiment: str
    figure: Literal["ratio", "sys_excess"]
    variant: str  # stats' variant name of the compared pair
    metric: str  # stats metric of the figure (ratio figures)
    threshold: float
    reproduced_when: Literal["below", "above"]
    reading: str  # how the sentence is read as a figure
    rule: str  # the verdict rule in words
    beside_metric: str | None = None  # a second ratio shown next to the figure
    mark: float | None = None  # a number the thesis gives: is it inside the interval?


CLAIMS: list[Claim] = [
    Claim("C1", "As expected, the versions using mmap() of ordinary files performed better.", "E1", "ratio", "mmap",
          "real_us", 1.0, "below",
          "E1 (cat, wc, grep on ordinary files): geometric mean over the cells of median real time mmap / read.",
          "reproduced if the ratio and its whole 95% interval lie below 1; not reproduced if wholly above 1; "
          "otherwise inconclusive."),
    Claim("C2", "The difference being mostly in system time used.", "E1", "sys_excess", "mmap", "cpu_us", 0.0,
          "above",
          "E1: the system time mmap saves against read minus the user time it saves (median read minus median mmap "
          "per cell, summed over the cells), as a fraction of read's CPU time. Above 0: more of the difference is "
          "system time than user time (also when mmap spends more user time and saves system time).",
          "reproduced if the figure and its whole 95% bootstrap interval (runs resampled within each cell, fixed "
          "seed) lie above 0; not reproduced if wholly below 0 (the difference is mostly user time, or mmap costs "
          "system time); otherwise inconclusive."),
    Claim("C3", "For the standard IO implementations the measurements required more than twice as much time for "
          "mmap().", "E1", "ratio", "mmap", "sys_us", 0.5, "below",
          "read as: the read() versions needed more than twice the system time of the mmap() versions, i.e. the E1 "
          "geometric-mean ratio of median system time mmap / read is below 0.5 (the real-time ratio is shown beside).",
          "reproduced if the system-time ratio and its whole 95% interval lie below 0.5; not reproduced if wholly "
          "above 0.5; otherwise inconclusive.", beside_metric="real_us"),
    Claim("C4", "A second experiment measured the run-times of programs communicating via a pipe... The slight "
          "increase of by factor of 1.1 for mmap()", "E2", "ratio", "writer=mmap,reader=mmap", "real_us", 1.0,
          "above",
          "E2 (pipemap): writer and reader both on mmap against both on read()/write(); geometric mean over the "
          "cells (stream and chunk sizes) of median real time mmap / read.",
          "reproduced if the ratio and its whole 95% interval lie above 1 (mmap slower); not reproduced if wholly "
          "below 1; otherwise inconclusive. Whether the thesis's factor 1.1 lies inside the interval is said apart.",
          mark=1.1),
]


@dataclass(frozen=True)
class Figure:
    value: float | None
    lo: float | None
    hi: float | None
    cells: int
    note: str = ""

    def text(self, digits: int = 3) -> str:
        if self.value is None:
            return self.note or "no data"
        if self.lo is None or self.hi is None:
            return f"{self.value:.{digits}f}, no interval: {self.note} ({self.cells} cells)"
        return f"{self.value:.{digits}f} [{self.lo:.{digits}f}, {self.hi:.{digits}f}] ({self.cells} cells)"

    def record(self) -> dict[str, Any]:
        return {"value": self.value, "lo": self.lo, "hi": self.hi, "cells": self.cells, "note": self.note}


@dataclass(frozen=True)
class ClockResult:
    clock: str
    figure: Figure
    verdict: str
    reason: str
    beside: Figure | None
    mark_inside: bool | None


@dataclass(frozen=True)
class ClaimResult:
    claim: Claim
    clocks: tuple[ClockResult, ...]
    verdict: str
    reason: str


class Verdict(NamedTuple):
    """One line of the verdict table: what the task prints."""

    claim: str
    verdict: str
    figure: str


def _finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


def interval_verdict(fig: Figure, threshold: float, reproduced_when: str) -> tuple[str, str]:
    """The rule of every claim: point and whole interval strictly on one side of the threshold."""
    if not (_finite(fig.value) and _finite(fig.lo) and _finite(fig.hi)):
        return INCONCLUSIVE, fig.note or "no figure: the cells it needs were not measured"
    assert fig.value is not None and fig.lo is not None and fig.hi is not None
    below = fig.value < threshold and fig.hi < threshold
    above = fig.value > threshold and fig.lo > threshold
    side = f"interval [{fig.lo:.3g}, {fig.hi:.3g}]"
    if below or above:
        where = "below" if below else "above"
        verdict = REPRODUCED if where == reproduced_when else NOT_REPRODUCED
        return verdict, f"{side} wholly {where} {threshold:g}"
    return INCONCLUSIVE, f"{side} contains {threshold:g}" if fig.lo <= threshold <= fig.hi else \
        f"the figure {fig.value:.3g} and its {side} lie on different sides of {threshold:g}"


def overall_verdict(results: list[tuple[str, str]]) -> tuple[str, str]:
    """Reproduced or not reproduced only when both clock modes give that verdict."""
    got = dict(results)
    missing = [c for c in ex.CLOCKS if c not in got]
    if missing:
        return INCONCLUSIVE, f"not measured under {', '.join(missing)}"
    verdicts = {got[c] for c in ex.CLOCKS}
    if len(verdicts) == 1 and INCONCLUSIVE not in verdicts:
        return verdicts.pop(), "both clock modes agree"
    if verdicts == {INCONCLUSIVE}:
        return INCONCLUSIVE, "inconclusive under both clock modes"
    return INCONCLUSIVE, "the clock modes disagree: " + ", ".join(f"{c} {got[c]}" for c in ex.CLOCKS)


def ratio_figure(experiments: dict[str, Any], claim: Claim, clock: str, metric: str) -> Figure:
    """The geometric-mean ratio stats computed for this experiment, kernel, clock and variant."""
    entry = experiments.get(claim.experiment, {}).get(f"{KERNEL}/{clock}", {}).get(claim.variant, {}).get(metric)
    if not entry:
        return Figure(None, None, None, 0, "no data")
    return Figure(float(entry["ratio"]), float(entry["lo"]), float(entry["hi"]), int(entry["cells"]))


def sys_excess(runs: pd.DataFrame, clock: str, experiment: str = "E1") -> Figure:
    """(system time saved - user time saved) / read's CPU time, bootstrapped within cells.

    Defined whatever the signs: a share of the saved CPU time would be undefined whenever
    mmap saves no CPU time, which under TCG's tick-sampled user/system split happens.
    """
    ok = runs[(runs["warmup"] == 0) & (runs["ok"] == 1) & (runs["experiment"] == experiment)
              & (runs["kernel"] == KERNEL) & (runs["clock"] == clock)]
    rng = np.random.default_rng(SHARE_SEED)
    point = {"user_us": 0.0, "sys_us": 0.0, "cpu": 0.0}
    boot = {"user_us": np.zeros(stats.B), "sys_us": np.zeros(stats.B), "cpu": np.zeros(stats.B)}
    cells = 0
    for _, g in ok.groupby(["tool", "size"], sort=True):
        rd, mm = g[g["method"] == "read"], g[g["method"] == "mmap"]
        if not len(rd) or not len(mm):
            continue
        cells += 1
        for m in ("user_us", "sys_us"):
            a, b = rd[m].to_numpy(float), mm[m].to_numpy(float)
            ba = stats.boot_medians(a, rng)
            point[m] += float(np.median(a) - np.median(b))
            boot[m] += ba - stats.boot_medians(b, rng)
            point["cpu"] += float(np.median(a))
            boot["cpu"] += ba
    if not cells:
        return Figure(None, None, None, 0, "no data")
    if point["cpu"] <= 0:
        return Figure(None, None, None, cells, "read used no measurable CPU time")
    value = (point["sys_us"] - point["user_us"]) / point["cpu"]
    good = boot["cpu"] > 0
    excess = (boot["sys_us"][good] - boot["user_us"][good]) / boot["cpu"][good]
    return Figure(value, float(np.percentile(excess, 2.5)), float(np.percentile(excess, 97.5)), cells)


def evaluate(claim: Claim, experiments: dict[str, Any], runs: pd.DataFrame) -> ClaimResult:
    """Figures and verdicts of one claim per clock mode, and the overall verdict."""
    per: list[ClockResult] = []
    for clock in ex.CLOCKS:
        if claim.figure == "sys_excess":
            fig = sys_excess(runs, clock, claim.experiment)
        else:
            fig = ratio_figure(experiments, claim, clock, claim.metric)
        verdict, reason = interval_verdict(fig, claim.threshold, claim.reproduced_when)
        beside = ratio_figure(experiments, claim, clock, claim.beside_metric) if claim.beside_metric else None
        inside = None
        if claim.mark is not None and fig.lo is not None and fig.hi is not None:
            inside = fig.lo <= claim.mark <= fig.hi
        per.append(ClockResult(clock, fig, verdict, reason, beside, inside))
    measured = [(r.clock, r.verdict) for r in per if r.figure.value is not None or r.figure.cells]
    verdict, reason = overall_verdict(measured)
    return ClaimResult(claim, tuple(per), verdict, reason)


def evaluate_all(experiments: dict[str, Any], runs: pd.DataFrame) -> list[ClaimResult]:
    return [evaluate(c, experiments, runs) for c in CLAIMS]


def verdict_line(r: ClaimResult) -> Verdict:
    figs = "; ".join(f"{c.clock} {c.figure.text()} {c.verdict}" for c in r.clocks)
    return Verdict(r.claim.id, r.verdict, figs)


def records(results: list[ClaimResult]) -> list[dict[str, Any]]:
    """The claims' figures for summary.json (compared against a reference by the compare section)."""
    return [{"id": r.claim.id, "quote": r.claim.quote, "verdict": r.verdict, "reason": r.reason,
             "clocks": {c.clock: {"verdict": c.verdict, "reason": c.reason, **c.figure.record(),
                                  "beside": c.beside.record() if c.beside else None,
                                  "mark_inside": c.mark_inside} for c in r.clocks}}
            for r in results]
