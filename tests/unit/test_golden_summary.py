"""Golden test (issue 9, item 11): today's code re-summarises the published reference raw
store into the published summary.json, byte for byte.

A change to the statistics (or to how the summary is written) that moves a published
figure fails here; regenerating reports/reference/ or reports/previous-design/ must then be a
deliberate commit.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from harness.report.render import render

REPORTS = Path(__file__).resolve().parents[2] / "reports"
REFERENCE = REPORTS / "previous-design"


@pytest.mark.parametrize("published", ["previous-design", "before-zero-copy", "reference"])
def test_published_summary_is_reproduced(tmp_path: Path, published: str) -> None:
    _reproduces(REPORTS / published, tmp_path)


def _reproduces(published: Path, tmp_path: Path) -> None:
    import hashlib

    before = hashlib.sha256((published / "raw.sqlite").read_bytes()).hexdigest()
    out = render(published, tmp_path)
    after = hashlib.sha256((published / "raw.sqlite").read_bytes()).hexdigest()
    assert before == after, "rendering changed the published raw store (the report must open it read-only)"
    got = out.summary.read_bytes()
    want = (published / "summary.json").read_bytes()
    if got != want:
        diff = "".join(list(difflib.unified_diff(want.decode().splitlines(True), got.decode().splitlines(True),
                                                 "reference/summary.json", "today"))[:80])
        raise AssertionError(f"re-summarising {published}/raw.sqlite moved the published summary:\n{diff}")


def test_previous_design_record_matches_its_summary() -> None:
    """The secondary table's figures (harness/report/previous_design.json) are the published ones."""
    import json

    from harness.report import previous

    want = previous.extract(json.loads((REFERENCE / "summary.json").read_text()))
    assert json.loads(previous.RECORD.read_text()) == want
