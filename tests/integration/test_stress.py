"""Stress and demo of the extended mmap in a real 2.0.36 guest."""

from __future__ import annotations

from pathlib import Path

from harness import pipeline, stress
from harness.pipeline import Options
from harness.settings import Settings


def test_default_stress_run_is_clean(real: Settings, opts: Options, qemu: str) -> None:
    r = pipeline.stress(real, "xmmap", 100_000, 1, "tcg", opts, print)
    s = r.summary
    assert int(s["ops"]) >= 100_000
    assert (s["mismatches"], s["sigbus_unexpected"], r.detail["errors"], r.detail["hangs"]) == ("0", "0", "0", "0")
    assert int(s["mem_after"]) >= int(s["mem_before"])
    assert r.ok


def test_the_checker_catches_a_corrupted_byte(real: Settings, opts: Options, qemu: str, tmp_path: Path) -> None:
    kb = pipeline.build_kernel(real, "xmmap", opts, print)
    tools = pipeline.guest_tools(real)
    r = stress.run_stress(kb.bzimage, tools, 5_000, 7, tmp_path, 300, selftest=True)
    assert r.summary["mismatches"] != "0" and r.summary["verdict"] == "FAIL" and not r.ok


def test_seed_replays_bit_for_bit_under_icount(real: Settings, opts: Options, qemu: str, tmp_path: Path) -> None:
    kb = pipeline.build_kernel(real, "xmmap", opts, print)
    tools = pipeline.guest_tools(real)
    a = stress.run_stress(kb.bzimage, tools, 5_000, 5, tmp_path / "a", 300, clock="icount")
    b = stress.run_stress(kb.bzimage, tools, 5_000, 5, tmp_path / "b", 300, clock="icount")
    assert a.ok and a.summary == b.summary and a.detail == b.detail


def test_stress_on_vanilla_is_refused_cleanly(real: Settings, opts: Options, qemu: str) -> None:
    r = pipeline.stress(real, "vanilla", 1_000, 1, "tcg", opts, print)
    assert r.summary["verdict"] == "REFUSED" and r.summary["ops"] == "0"


def test_demo_explains_a_mapped_pipe(real: Settings, opts: Options, qemu: str) -> None:
    text = pipeline.demo(real, "xmmap", opts, print)
    assert "reads only through mmap()" in text and "XMMAP_CONSUME" in text and text.rstrip().endswith("demo: done")
