"""Synthetic results directories for the report's tests: deterministic runs written through RawStore.

The numbers are chosen so that every claim of the thesis is reproduced (mmap faster on
files, the saving mostly system time, read() needing over twice mmap's system time, mmap
10% slower on a pipe); ``mmap_factor`` and ``pipe_factor`` turn that around.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from harness import experiments as ex
from harness.rawstore import RawStore, Run

PROFILE = "quick"
# per-run times (real, user, sys) in microseconds
READ = (100_000.0, 40_000.0, 50_000.0)
MMAP = (80_000.0, 38_000.0, 15_000.0)
BUSYBOX = (200_000.0, 120_000.0, 60_000.0)


def times(cell: ex.Cell, rep: int, mmap_factor: float, pipe_factor: float, scale: float) -> tuple[float, ...]:
    """Deterministic times of one run: a base per variant, a small spread over the repetitions."""
    jitter = 1.0 + 0.01 * (rep - 2)
    if cell.experiment == "E2":
        base = READ
        if (cell.writer, cell.method) == ("mmap", "mmap"):
            base = tuple(v * pipe_factor for v in READ)
        elif "mmap" in (cell.writer, cell.method):
            base = tuple(v * 1.05 for v in READ)
        base = tuple(v * cell.chunk.bit_length() / 13 for v in base)
    elif cell.method == "mmap":
        base = tuple(v * mmap_factor for v in MMAP)
    elif cell.method == "busybox":
        base = BUSYBOX
    else:
        base = READ
    tool = {"cat": 1.0, "wc": 1.3, "grep": 1.7, "pipemap": 1.0}[cell.tool]
    return tuple(v * tool * scale * jitter for v in base)


def run(cell: ex.Cell, rep: int, warmup: bool, t: tuple[float, ...], beside: str = "") -> Run:
    return Run(cell, rep, warmup, 10, t[0], t[1], t[2], 0, True, "", 100, "f", "f", "tool", "in", "kern", PROFILE,
               "session", "2026-01-01T00:00:00", "2026-01-01T00:00:01", "testhost", beside)


def provenance(cells: list[ex.Cell]) -> dict[str, object]:
    p = ex.PROFILES[PROFILE]
    return {
        "profile": PROFILE,
        "plan": {"profile": PROFILE, "cells": [c.key for c in cells], "expected_runs_per_cell": p.runs_per_cell,
                 "reps": p.reps, "warmup": p.warmup, "min_run_s": p.min_run_s},
        "lab": {"commit": "0123456789abcdef", "dirty": False},
        "host": {"hostname": "testhost", "os": "Debian GNU/Linux 12", "kernel": "Linux 6.1 x86_64",
                 "cpu": "Test CPU", "cores": 2, "memory_bytes": 4 << 30, "python": "3.11"},
        "qemu": "QEMU emulator version 7.2.0",
        "kvm": "not used (TCG)",
        "qemu_argv": {"xmmap/tcg": ["qemu-system-i386", "-m", "32", "-kernel", "bzImage"]},
        "tools_buildinfo": "target: guest\ncc: gcc\n",
        "kernels": {"vanilla": "aa" * 32, "xmmap": "bb" * 32},
    }


def make_results(out: Path, *, partial: Iterable[str] = (), missing: Iterable[str] = (), mmap_factor: float = 1.0,
                 pipe_factor: float = 1.1, scale: float = 1.0, with_provenance: bool = True,
                 only: Iterable[str] | None = None, beside: Iterable[str] = ()) -> Path:
    """A results directory (raw.sqlite, provenance.json) of the quick profile's plan.

    ``partial`` cells keep two of their runs (a run cut short), ``missing`` ones none; ``only``
    limits the stored cells to the given experiments (the plan stays whole); the timed runs
    of ``beside`` cells record another machine on their host.
    """
    out.mkdir(parents=True, exist_ok=True)
    cells = ex.cells(PROFILE)
    partial, missing, shared = set(partial), set(missing), set(beside)
    exps = set(only) if only is not None else None
    store = RawStore(out / "raw.sqlite")
    p = ex.PROFILES[PROFILE]
    unknown = sorted((partial | missing) - {c.key for c in cells})
    if unknown:  # a stale key would silently test nothing
        raise ValueError(f"not cells of the {PROFILE} plan: {', '.join(unknown)}")
    for cell in cells:
        if cell.key in missing or (exps is not None and cell.experiment not in exps):
            continue
        rows = [run(cell, -1, True, times(cell, 2, mmap_factor, pipe_factor, scale)),  # the check run
                run(cell, 0, True, times(cell, 2, mmap_factor, pipe_factor, scale))]
        rows += [run(cell, i + 1, True, times(cell, 2, mmap_factor, pipe_factor, scale)) for i in range(p.warmup)]
        rows += [run(cell, i + 1, False, times(cell, i + 1, mmap_factor, pipe_factor, scale),
                     "icount:4242" if cell.key in shared else "") for i in range(p.reps)]
        for r in rows[:2] if cell.key in partial else rows:
            store.append(r)
    store.close()
    if with_provenance:
        (out / "provenance.json").write_text(json.dumps(provenance(cells), indent=2) + "\n")
    return out


def some_cells(n: int, experiment: str = "E1") -> list[str]:
    """The keys of the first ``n`` planned cells of an experiment (sorted, so always the same ones)."""
    return sorted(c.key for c in ex.cells(PROFILE) if c.experiment == experiment)[:n]
