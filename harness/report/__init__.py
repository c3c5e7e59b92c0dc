"""Stage 8, report: one self-contained HTML page of the replication, rendered from a results directory.

``render(results, out_dir, reference=None)`` reads ``raw.sqlite`` and ``provenance.json``
and writes ``report.html`` (inline CSS and SVG, no scripts), ``cells.csv`` (the full table of
cells) and ``summary.json`` (harness.stats' summary of the complete cells, plus the claims).
"""

from __future__ import annotations

from harness.report.claims import Verdict
from harness.report.errors import ReportError
from harness.report.render import ReportOutput, render

__all__ = ["ReportError", "ReportOutput", "Verdict", "render"]
