"""The conformance suite of the extended mmap (docs/model.md), run in a 2.0.36 guest.

The runner (guest-tools/conformance/runner.c) prints one line per case,
``PASS|FAIL|REFUSED <case> <rule> <message>``, and one ``SUMMARY`` line. On xmmap every
case must pass; on vanilla the mmap cases must be refused as the model says and the
classic pipe cases must pass: the patch must not change read() and write() on pipes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from harness import initrun
from harness.errors import HarnessError

CASE = re.compile(r"^(PASS|FAIL|REFUSED) (\S+) (\S+) (.*)$", re.M)
SUMMARY = re.compile(r"^SUMMARY (.*)$", re.M)


class ConformanceFailed(HarnessError):
    """At least one case failed (or the expected refusals did not happen)."""


@dataclass(frozen=True)
class Case:
    status: str
    case: str
    rule: str
    message: str


@dataclass(frozen=True)
class Result:
    variant: str
    cases: list[Case]
    summary: dict[str, str]
    seconds: float
    console: Path

    @property
    def ok(self) -> bool:
        return self.summary.get("verdict") == "OK" and not any(c.status == "FAIL" for c in self.cases)

    def counts(self) -> dict[str, int]:
        out = {"PASS": 0, "FAIL": 0, "REFUSED": 0}
        for c in self.cases:
            out[c.status] += 1
        return out


def parse(console: str) -> tuple[list[Case], dict[str, str]]:
    """The cases and summary of the runner's first round (it runs the suite twice)."""
    sums = list(SUMMARY.finditer(console))
    if not sums:
        raise ConformanceFailed("the conformance runner printed no SUMMARY line", console[-3000:])
    first = console[: sums[0].start()]
    cases = [Case(*m.groups()) for m in CASE.finditer(first)]
    summary = dict(kv.split("=", 1) for kv in sums[0].group(1).split() if "=" in kv)
    return cases, summary


def run(kernel: Path, variant: str, tools: Path, work: Path, timeout: float, clock: str = "tcg") -> Result:
    r = initrun.run(kernel, tools / "runner", {}, work, timeout, clock)
    cases, summary = parse(r.console)
    return Result(variant, cases, summary, r.seconds, r.log)


BENCH = re.compile(r"^BENCH (\w+)\s+chunk=(\d+) bytes=(\d+) ms=(\d+) KiB/s=(\d+)", re.M)


@dataclass(frozen=True)
class PipeRate:
    method: str  # rw (read/write) or mmap
    chunk: int
    mib_s: float


def pipe_bench(kernel: Path, tools: Path, work: Path, timeout: float, clock: str) -> list[PipeRate]:
    """The runner's throughput measurement (32 MiB through a pipe, 3 rounds per cell)."""
    r = initrun.run(kernel, tools / "runner", {"conformance_bench": "1"}, work, timeout, clock)
    rates = [PipeRate(m.group(1), int(m.group(2)), int(m.group(5)) / 1024) for m in BENCH.finditer(r.console)]
    if not rates:
        raise ConformanceFailed("the runner printed no BENCH lines", r.console[-2000:])
    return rates
