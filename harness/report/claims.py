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
from harness.report.summary import Stats

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
    # The readings the claim is evaluated on, the primary one first: E1's sinks (where the tool's
    # output goes during the timing) or E2's work levels. A previous-design store has only "hash"
    # (E1: output hashed inside the timing) or "verify" (E2: the per-byte pattern), listed last.
    readings: tuple[str, ...] = ()

    @property
    def dimension(self) -> str:
        """The reading's column in the raw store: E2 varies the work level, E1 and E3 the sink."""
        return "work" if self.experiment == "E2" else "sink"


CLAIMS: list[Claim] = [
    Claim("C1", "As expected, the versions using mmap() of ordinary files performed better.", "E1", "ratio", "mmap",
          "real_us", 1.0, "below",
          "E1 (cat, wc, grep on ordinary files): geometric mean over the cells of median real time mmap / read.",
          "reproduced if the ratio and its whole 95% interval lie below 1; not reproduced if wholly above 1; "
          "otherwise inconclusive.", readings=("null", "file", "pipe", "hash")),
    Claim("C2", "The difference being mostly in system time used.", "E1", "sys_excess", "mmap", "cpu_us", 0.0,
          "above",
          "E1: the system time mmap saves against read minus the user time it saves (median read minus median mmap "
          "per cell, summed over the cells), as a fraction of read's CPU time. Above 0: more of the difference is "
          "system time than user time (also when mmap spends more user time and saves system time).",
          "reproduced if the figure and its whole 95% bootstrap interval (runs resampled within each cell, fixed "
          "seed) lie above 0; not reproduced if wholly below 0 (the difference is mostly user time, or mmap costs "
          "system time); otherwise inconclusive.", readings=("null", "file", "pipe", "hash")),
    Claim("C3", "For the standard IO implementations the measurements required more than twice as much time for "
          "mmap().", "E1", "ratio", "mmap", "sys_us", 0.5, "below",
          "read as: the read() versions needed more than twice the system time of the mmap() versions, i.e. the E1 "
          "geometric-mean ratio of median system time mmap / read is below 0.5 (the real-time ratio is shown beside).",
          "reproduced if the system-time ratio and its whole 95% interval lie below 0.5; not reproduced if wholly "
          "above 0.5; otherwise inconclusive.", beside_metric="real_us", readings=("null", "file", "pipe", "hash")),
    Claim("C4", "A second experiment measured the run-times of programs communicating via a pipe... The slight "
          "increase of by factor of 1.1 for mmap()", "E2", "ratio", "writer=mmap,reader=mmap", "real_us", 1.0,
          "above",
          "E2 (pipemap): writer and reader both on mmap against both on read()/write(); geometric mean over the "
          "cells (stream and chunk sizes) of median real time mmap / read.",
          "reproduced if the ratio and its whole 95% interval lie above 1 (mmap slower); not reproduced if wholly "
          "below 1; otherwise inconclusive. Whether the thesis's factor 1.1 lies inside the interval is said apart.",
          mark=1.1, readings=("none", "touch", "verify")),
]

READING_MEANING = {
    "null": "sink null: the tool's output goes to /dev/null. A write() to /dev/null returns without reading its "
            "buffer, so cat --method=mmap never touches the file's pages: its timing holds the mapping and the "
            "system calls but no fault and no copy of the data. For C1 and C3 this favours cat's mmap variant "
            "beyond what any consumer of the output would see; wc and grep read every byte either way.",
    "file": "sink file: the output is written to a file on the data disk's ext2 (truncated per run): the copy into "
            "the buffer cache is inside the timing, as for a program whose output is kept.",
    "pipe": "sink pipe: the output goes through a pipe that the timer drains with read() of 64 KiB and counts "
            "without looking at the bytes: a consumer that costs a copy and nothing per byte.",
    "hash": "previous design: the output went through a pipe that the timer drained and hashed byte by byte "
            "inside the timed interval (FNV-1a, about 5 instructions per byte), so real time included the hash.",
    "none": "work none (lmbench bw_pipe's contract): the write() writer sends one prepared buffer and the read() "
            "reader does not touch what it reads; a mapped end stores or loads one byte per page. The figure is "
            "the transport alone.",
    "touch": "work touch: the writer fills each chunk with word stores, the reader sums every 32-bit word; the "
             "same two functions for both methods, so the difference is the transport plus how each method's "
             "pages meet the cache.",
    "verify": "work verify (the previous design): a per-byte pattern computed and checked on both sides, about "
              "50 instructions per byte against about 0.5 for the two copies the mapped pipe saves.",
}
PRIMARY_LAYOUT = "O2"



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
    layouts: tuple[LayoutResult, ...] = ()  # the figure on the cells every layout measured, per layout

    @property
    def layout_spread(self) -> float | None:
        """How far the layouts move the figure: max/min - 1 of the per-layout figures (None: one layout)."""
        vals = [lr.figure.value for lr in self.layouts if lr.figure.value]
        if len(vals) < 2 or min(vals) <= 0:
            return None
        return max(vals) / min(vals) - 1


@dataclass(frozen=True)
class LayoutResult:
    layout: str
    figure: Figure
    verdict: str


@dataclass(frozen=True)
class ReadingResult:
    reading: str
    clocks: tuple[ClockResult, ...]
    verdict: str
    reason: str


@dataclass(frozen=True)
class ClaimResult:
    claim: Claim
    clocks: tuple[ClockResult, ...]  # the primary reading's
    verdict: str  # the primary reading's overall verdict
    reason: str
    readings: tuple[ReadingResult, ...] = ()

    @property
    def reading(self) -> str:
        """The primary reading (the first of the claim's readings the store holds)."""
        return self.readings[0].reading if self.readings else ""


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


def _combo(row: Any) -> tuple[str, int, int]:
    return (str(row["tool"]), int(row["size"]), int(row["chunk"]))


def _pair_rows(st: Stats, claim: Claim, clock: str, reading: str, layout: str | None = None) -> pd.DataFrame:
    """The claim's pairs of cells (mmap variant against read) under one clock, reading and layout."""
    t = st.ratios
    if not len(t) or claim.dimension not in t:
        return t.iloc[0:0]
    m = ((t["experiment"] == claim.experiment) & (t["kernel"] == KERNEL) & (t["clock"] == clock)
         & (t["variant"] == claim.variant) & (t[claim.dimension] == reading))
    if layout is not None:
        m &= t["layout"] == layout
    return t[m]


def _layouts(st: Stats, claim: Claim, clock: str, reading: str) -> list[str]:
    """The layouts measured for this reading, the primary one first."""
    got = sorted({str(x) for x in _pair_rows(st, claim, clock, reading)["layout"]})
    return sorted(got, key=lambda lay: (lay != PRIMARY_LAYOUT, lay))


def _common(st: Stats, claim: Claim, clock: str, reading: str, layouts: list[str]) -> set[tuple[str, int, int]]:
    """The (tool, size, chunk) every layout measured: the cells a layout check can compare."""
    sets = [{_combo(r) for _, r in _pair_rows(st, claim, clock, reading, lay).iterrows()} for lay in layouts]
    return set.intersection(*sets) if sets else set()


def ratio_figure(st: Stats, claim: Claim, clock: str, metric: str, reading: str, layout: str,
                 combos: set[tuple[str, int, int]] | None = None) -> Figure:
    """The geometric-mean ratio over the claim's cells of one reading and layout (optionally only ``combos``)."""
    rows = _pair_rows(st, claim, clock, reading, layout)
    idx = [int(i) for i, r in rows.iterrows() if combos is None or _combo(r) in combos]
    entry = stats.geomean(st.ratios, st.boots, idx, metric) if idx else None
    if not entry:
        return Figure(None, None, None, 0, "no data")
    return Figure(float(entry["ratio"]), float(entry["lo"]), float(entry["hi"]), int(entry["cells"]))


def sys_excess(runs: pd.DataFrame, clock: str, experiment: str = "E1", reading: str = "", layout: str = "",
               combos: set[tuple[str, int, int]] | None = None) -> Figure:
    """(system time saved - user time saved) / read's CPU time, bootstrapped within cells.

    Defined whatever the signs: a share of the saved CPU time would be undefined whenever
    mmap saves no CPU time, which under TCG's tick-sampled user/system split happens.
    """
    ok = runs[(runs["warmup"] == 0) & (runs["ok"] == 1) & (runs["experiment"] == experiment)
              & (runs["kernel"] == KERNEL) & (runs["clock"] == clock)]
    if reading:
        ok = ok[ok["work" if experiment == "E2" else "sink"] == reading]
    if layout:
        ok = ok[ok["layout"] == layout]
    rng = np.random.default_rng(SHARE_SEED)
    point = {"user_us": 0.0, "sys_us": 0.0, "cpu": 0.0}
    boot = {"user_us": np.zeros(stats.B), "sys_us": np.zeros(stats.B), "cpu": np.zeros(stats.B)}
    cells = 0
    for (tool, size), g in ok.groupby(["tool", "size"], sort=True):
        if combos is not None and (str(tool), int(size), 0) not in combos:
            continue
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


def _figure(claim: Claim, st: Stats, runs: pd.DataFrame, clock: str, reading: str, layout: str,
            combos: set[tuple[str, int, int]] | None = None) -> Figure:
    if claim.figure == "sys_excess":
        return sys_excess(runs, clock, claim.experiment, reading, layout, combos)
    return ratio_figure(st, claim, clock, claim.metric, reading, layout, combos)


def _clock_result(claim: Claim, st: Stats, runs: pd.DataFrame, clock: str, reading: str) -> ClockResult:
    """One clock's figure on the primary layout, and the layout check when more layouts were measured.

    After Mytkowicz et al. (ASPLOS 2009): a verdict stands only if every build layout of the guest
    tools gives it on the cells they all measured; otherwise it is inconclusive.
    """
    layouts = _layouts(st, claim, clock, reading)
    primary = layouts[0] if layouts else PRIMARY_LAYOUT
    fig = _figure(claim, st, runs, clock, reading, primary)
    verdict, reason = interval_verdict(fig, claim.threshold, claim.reproduced_when)
    checks: tuple[LayoutResult, ...] = ()
    if len(layouts) > 1:
        common = _common(st, claim, clock, reading, layouts)
        figs = [(lay, _figure(claim, st, runs, clock, reading, lay, common)) for lay in layouts]
        checks = tuple(LayoutResult(lay, f, interval_verdict(f, claim.threshold, claim.reproduced_when)[0])
                       for lay, f in figs)
        if any(c.verdict != verdict for c in checks):
            reason = (f"the build layouts disagree on the {len(common)} cells they all measured: "
                      + ", ".join(f"{c.layout} {c.verdict}" for c in checks) + f" (all cells of {primary}: {verdict})")
            verdict = INCONCLUSIVE
        else:
            reason += f"; all {len(layouts)} build layouts agree"
    beside = (ratio_figure(st, claim, clock, claim.beside_metric, reading, primary) if claim.beside_metric
              else None)
    inside = None
    if claim.mark is not None and fig.lo is not None and fig.hi is not None:
        inside = fig.lo <= claim.mark <= fig.hi
    return ClockResult(clock, fig, verdict, reason, beside, inside, checks)


def _present(claim: Claim, runs: pd.DataFrame) -> list[str]:
    """The claim's readings the store holds, in the claim's order (the primary first)."""
    if not len(runs) or claim.dimension not in runs:
        return []
    rows = runs[(runs["experiment"] == claim.experiment) & (runs["kernel"] == KERNEL)]
    have = {str(x) for x in rows[claim.dimension]}
    return [r for r in claim.readings if r in have]


def evaluate(claim: Claim, st: Stats, runs: pd.DataFrame) -> ClaimResult:
    """Figures and verdicts of one claim per reading and clock mode; the primary reading's overall verdict."""
    readings = _present(claim, runs) or list(claim.readings[:1])
    out: list[ReadingResult] = []
    for reading in readings:
        per = [_clock_result(claim, st, runs, clock, reading) for clock in ex.CLOCKS]
        measured = [(r.clock, r.verdict) for r in per if r.figure.value is not None or r.figure.cells]
        verdict, reason = overall_verdict(measured)
        out.append(ReadingResult(reading, tuple(per), verdict, reason))
    first = out[0]
    return ClaimResult(claim, first.clocks, first.verdict, first.reason, tuple(out))


def evaluate_all(st: Stats, runs: pd.DataFrame) -> list[ClaimResult]:
    return [evaluate(c, st, runs) for c in CLAIMS]


def verdict_line(r: ClaimResult) -> Verdict:
    figs = "; ".join(f"{c.clock} {c.figure.text()} {c.verdict}" for c in r.clocks)
    return Verdict(r.claim.id, r.verdict, f"[{r.claim.dimension} {r.reading}] {figs}" if r.reading else figs)


def _clock_record(c: ClockResult) -> dict[str, Any]:
    return {"verdict": c.verdict, "reason": c.reason, **c.figure.record(),
            "beside": c.beside.record() if c.beside else None, "mark_inside": c.mark_inside,
            "layouts": {lr.layout: {"verdict": lr.verdict, **lr.figure.record()} for lr in c.layouts},
            "layout_spread": c.layout_spread}


def records(results: list[ClaimResult]) -> list[dict[str, Any]]:
    """The claims' figures for summary.json (compared against a reference by the compare section)."""
    return [{"id": r.claim.id, "quote": r.claim.quote, "verdict": r.verdict, "reason": r.reason,
             "reading": {"dimension": r.claim.dimension, "value": r.reading},
             "clocks": {c.clock: _clock_record(c) for c in r.clocks},
             "readings": {rr.reading: {"verdict": rr.verdict, "reason": rr.reason,
                                       "clocks": {c.clock: _clock_record(c) for c in rr.clocks}}
                          for rr in r.readings}}
            for r in results]
