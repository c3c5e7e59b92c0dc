"""Parsing the conformance runner's console output."""

from __future__ import annotations

import pytest

from harness.conformance import ConformanceFailed, parse

CONSOLE = """VFS: Mounted root (ext2 filesystem).
conformance: kernel has xmmap, 2 cases
PASS c-eof C-EOF-1 read returns the 10 bytes, then 0 once the writer is gone
FAIL m-wait R-WAIT-1 reader did not wake
SUMMARY kernel=xmmap pass=1 fail=1 refused=0 total=2 verdict=BAD memfree_before=1 memfree_after=1
PASS c-eof C-EOF-1 second round
PASS m-wait R-WAIT-1 second round
SUMMARY kernel=xmmap pass=2 fail=0 refused=0 total=2 verdict=OK memfree_before=1 memfree_after=1
"""


def test_first_round_is_the_result() -> None:
    cases, summary = parse(CONSOLE)
    assert [(c.status, c.case, c.rule) for c in cases] == [("PASS", "c-eof", "C-EOF-1"), ("FAIL", "m-wait", "R-WAIT-1")]
    assert summary["verdict"] == "BAD" and summary["kernel"] == "xmmap"


def test_missing_summary_is_an_error() -> None:
    with pytest.raises(ConformanceFailed, match="no SUMMARY"):
        parse("PASS c-eof C-EOF-1 x\n")
