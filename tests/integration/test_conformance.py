"""The extended-mmap conformance suite in a real 2.0.36 guest, on both kernels."""

from __future__ import annotations

import pytest

from harness import pipeline
from harness.pipeline import Options
from harness.settings import Settings


@pytest.mark.parametrize("variant", ["xmmap", "vanilla"])
def test_conformance(real: Settings, opts: Options, qemu: str, variant: str) -> None:
    r = pipeline.conformance(real, variant, "tcg", opts, print)
    n = r.counts()
    assert len(r.cases) >= 40
    assert all(c.rule.startswith(("R-", "C-")) for c in r.cases)
    assert r.summary["kernel"] == variant and r.ok
    assert n["FAIL"] == 0
    if variant == "xmmap":
        assert n["PASS"] == len(r.cases)
    else:
        classic = [c for c in r.cases if c.case.startswith("c-")]
        assert classic and all(c.status == "PASS" for c in classic)
        assert n["REFUSED"] >= 40
