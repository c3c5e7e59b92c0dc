"""The composition's own conditions: what makes a stage pass is decided in harness, once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness import pipeline, replicate
from harness.conformance import Case, ConformanceFailed, PipeRate, Result
from harness.errors import HarnessError


def _result(kernel: str, verdict: str = "OK", status: str = "PASS") -> Result:
    case = Case(status, "pipe-mmap", "R1", "ok")
    return Result(kernel, [case], {"kernel": kernel, "verdict": verdict}, 1.0, Path("/tmp/console.log"))


def test_conformance_must_run_on_the_kernel_asked_for() -> None:
    pipeline.require_conformance(_result("xmmap"), "xmmap")
    with pytest.raises(ConformanceFailed, match="kernel 'vanilla', not 'xmmap'"):
        pipeline.require_conformance(_result("vanilla"), "xmmap")
    assert issubclass(ConformanceFailed, HarnessError)


def test_conformance_must_pass() -> None:
    with pytest.raises(ConformanceFailed, match="did not pass"):
        pipeline.require_conformance(_result("xmmap", verdict="FAIL"), "xmmap")
    with pytest.raises(ConformanceFailed, match="did not pass"):
        pipeline.require_conformance(_result("xmmap", status="FAIL"), "xmmap")


def test_replicate_uses_the_same_conformance_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "conformance", lambda s, variant, clock, opts, say: _result("vanilla"))
    said: list[str] = []
    r = replicate._Run(None, pipeline.Options(), said.append, "quick", None, {})
    with pytest.raises(ConformanceFailed, match="not 'vanilla'|not 'xmmap'"):
        replicate.STAGE_FUNCS["conformance"](r)


def test_stage_table_is_the_stage_order() -> None:
    assert tuple(replicate.STAGE_FUNCS) == replicate.STAGES


def test_bench_options_are_one_frozen_object() -> None:
    bo = pipeline.BenchOptions("full")
    assert (bo.experiments, bo.kernels, bo.resume) == (None, None, None)
    with pytest.raises(AttributeError):
        bo.profile = "quick"


def test_pipe_medians() -> None:
    rates = [PipeRate("mmap", 4096, x) for x in (3.0, 1.0, 2.0)] + [PipeRate("read", 4096, 5.0)]
    assert pipeline.pipe_medians(rates) == [("mmap", 4096, 2.0, [3.0, 1.0, 2.0]), ("read", 4096, 5.0, [5.0])]


def test_bench_lines(tmp_path: Path) -> None:
    metric = {"ratio": 0.5, "lo": 0.4, "hi": 0.6, "cells": 3}
    (tmp_path / "summary.json").write_text(json.dumps(
        {"experiments": {"E1": {"tcg": {"xmmap": {"real_us": metric}}}}, "failed_runs": 0}))
    lines = pipeline.bench_lines(tmp_path)
    assert lines[0] == f"E1 {'tcg':14} {'xmmap/read':26} real 0.500 [0.400, 0.600]  (3 cells)"
    assert lines[-1].endswith("0 failed runs")
    (tmp_path / "summary.json").write_text("{}")
    with pytest.raises(HarnessError, match="unreadable"):
        pipeline.bench_lines(tmp_path)
