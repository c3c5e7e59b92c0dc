"""The previous design's verdicts, kept beside this run's as a labelled secondary table.

The previous design timed the harness more than the mechanism (E1/E3 hashed the output inside
the timing, E2 checked a per-byte pattern). Its reference run stays in
``reports/previous-design/``; the figures the report shows come from ``previous_design.json``
here, part of the lab's code (an archive that re-renders a report has it), and a test keeps
that file equal to what ``extract`` gives from the published summary.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RECORD = Path(__file__).resolve().parent / "previous_design.json"
TITLE = ("The reference run of the previous design: full profile, 240 cells, 2880 runs, 2026-11-25, "
         "on the development VM (reports/previous-design/README.md states its conditions)")
SOURCE = "reports/previous-design/summary.json"


@dataclass(frozen=True)
class PreviousClaim:
    id: str
    reading: str
    clocks: dict[str, str]  # clock -> "figure [interval] (cells) verdict"
    verdict: str
    now: str  # this run's verdict of the same claim (its primary reading)


@dataclass(frozen=True)
class Previous:
    title: str
    source: str
    claims: list[PreviousClaim]


def _text(c: dict[str, Any]) -> str:
    if c.get("value") is None:
        return f"no data {c.get('verdict', '')}".strip()
    if c.get("lo") is None:
        return f"{c['value']:.3f} {c['verdict']}"
    return f"{c['value']:.3f} [{c['lo']:.3f}, {c['hi']:.3f}] ({c['cells']} cells) {c['verdict']}"


def extract(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The claims of a summary.json, reduced to what the secondary table shows."""
    out = []
    for claim in summary.get("claims", []):
        reading = claim.get("reading") or {}
        out.append({"id": claim["id"], "reading": f"{reading.get('dimension', '')} {reading.get('value', '')}".strip(),
                    "verdict": claim["verdict"],
                    "clocks": {clock: _text(c) for clock, c in sorted(claim.get("clocks", {}).items())}})
    return out


def load(now: dict[str, str]) -> Previous | None:
    """The secondary table, with this run's verdicts (claim id -> verdict) beside; None without the record."""
    if not RECORD.is_file():
        return None
    rows = json.loads(RECORD.read_text())
    return Previous(TITLE, SOURCE, [PreviousClaim(r["id"], r["reading"], r["clocks"], r["verdict"],
                                                  now.get(r["id"], "not measured")) for r in rows])
