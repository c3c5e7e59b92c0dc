"""The mapped path's cost page by page: instructions per 4 KiB page under icount, and where they go.

Under -icount shift=0 a run of t microseconds executed t x 1000 instructions, so E2's median real
time divided by the pages moved is the cost of a page. The xmmap kernel's counters (and pipemap's
own syscall counts, /proc/stat's context switches; harness/counters.py) say how many of each event
a page took; lmbench under icount on the same kernel says what one event costs (a null system
call, a context switch, a 4 KiB copy, a 4 KiB zero fill, a page fault). Their product is the
share of each event; what the events do not explain stays as "other" (bookkeeping, the
benchmark's own loop, and any error of the unit costs: it may be negative).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from harness import counters
from harness.errors import HarnessError
from harness.report.lmbench import EventCosts

# event of the counts per page -> unit cost name (harness.report.lmbench.unit_costs)
EVENTS = {"copies": "copy_4k", "pages_zeroed": "zero_4k", "faults": "pagefault", "syscalls": "syscall",
          "ctxt": "ctxsw"}
EVENT_WORDS = {"copies": "4 KiB copies (user <-> pipe)", "pages_zeroed": "4 KiB zero fills",
               "faults": "page faults (both ends)", "syscalls": "system calls (read, write, ioctl)",
               "ctxt": "context switches", "other": "other (bookkeeping, loops, unit-cost error)"}


@dataclass(frozen=True)
class CostRow:
    kernel: str
    variant: str  # writer=..,reader=..
    work: str
    chunk: int
    layout: str
    instructions: float  # per 4 KiB page
    counts: dict[str, float]  # events per page
    parts: dict[str, float]  # instructions per page per event, and "other"
    raw: dict[str, float]  # events per page of every event, costed or not (a cost below resolution)

    def share(self, event: str) -> float:
        return self.parts.get(event, 0.0) / self.instructions if self.instructions else 0.0


def unit_costs(events: list[EventCosts]) -> dict[str, dict[str, float]]:
    """Per kernel, the unit costs (instructions) lmbench measured under icount; a missing figure is left out."""
    out: dict[str, dict[str, float]] = {}
    for e in events:
        got = {"copy_4k": e.copy_4k, "zero_4k": e.zero_4k, "pagefault": e.page_fault, "syscall": e.null_syscall,
               "ctxsw": e.context_switch}
        out[e.kernel] = {k: float(v) for k, v in got.items() if v is not None}
    return out


def rows(db: Path, cells: pd.DataFrame, costs_by_kernel: dict[str, dict[str, float]]) -> list[CostRow]:
    """One row per complete E2 icount cell that has a counter run; unit costs per kernel, in instructions."""
    if not len(cells) or not db.is_file():
        return []
    e2 = cells[(cells["experiment"] == "E2") & (cells["clock"] == "icount")]
    out = []
    for r in e2.sort_values(["kernel", "work", "chunk", "writer", "method", "layout"]).to_dict(orient="records"):
        units = costs_by_kernel.get(str(r["kernel"]), {})
        cost = {ev: units[name] for ev, name in EVENTS.items() if name in units}
        try:
            fig = counters.cell_figures(db, str(r["cell"]))
        except HarnessError:
            continue  # no counter run of this cell (an older store, or the run failed): no row
        if "instructions" not in fig:
            continue
        for ev in ("pages_zeroed", "faults"):
            fig.setdefault(ev, 0.0)  # the vanilla kernel counts no mapped-path events: none happened
        parts = counters.breakdown({k: fig[k] for k in cost}, cost, fig["instructions"])
        out.append(CostRow(str(r["kernel"]), f"writer={r['writer']},reader={r['method']}", str(r.get("work", "")),
                           int(r["chunk"]), str(r.get("layout", "")), fig["instructions"],
                           {k: fig[k] for k in cost}, parts, {k: fig[k] for k in EVENTS if k in fig}))
    return out
