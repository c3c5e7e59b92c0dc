"""The extended-mmap stress test and demo, run as init in a 2.0.36 guest.

guest-tools/stress/stress.c interleaves, at random from a seed, write, read, mmap,
munmap, touches of mapped bytes and the model's commit/consume/wait calls across reader
and writer processes and their forks, on pipes and FIFOs, and checks every stream byte
against its position. It ends with one line
``STRESS seed=S ops=N mismatches=M sigbus_unexpected=K mem_before=A mem_after=B verdict=V``.
The seed is logged; under ``--clock icount`` a run replays bit for bit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from harness import initrun
from harness.errors import HarnessError

STRESS = re.compile(r"^STRESS (seed=.*)$", re.M)
DETAIL = re.compile(r"^STRESS-DETAIL (.*)$", re.M)


class StressFailed(HarnessError):
    """The stress run found a mismatch, an unexpected SIGBUS, a hang or lost memory."""


@dataclass(frozen=True)
class StressResult:
    summary: dict[str, str]
    detail: dict[str, str]
    seconds: float
    console: Path
    text: str

    @property
    def ok(self) -> bool:
        s = self.summary
        return (s.get("verdict") == "OK" and s.get("mismatches") == "0" and s.get("sigbus_unexpected") == "0"
                and int(s.get("mem_after", -1)) >= int(s.get("mem_before", 0)))


def _kv(text: str) -> dict[str, str]:
    return dict(kv.split("=", 1) for kv in text.split() if "=" in kv)


def parse(console: str) -> tuple[dict[str, str], dict[str, str]]:
    m = STRESS.search(console)
    if not m:
        raise StressFailed("the stress program printed no STRESS summary line", console[-3000:])
    d = DETAIL.search(console)
    return _kv(m.group(1)), _kv(d.group(1)) if d else {}


def run_stress(kernel: Path, tools: Path, ops: int, seed: int, work: Path, timeout: float,
               clock: str = "tcg", selftest: bool = False) -> StressResult:
    """``selftest`` corrupts one byte on purpose: the checker must then report a mismatch."""
    env = {"stress_ops": str(ops), "stress_seed": str(seed)}
    if selftest:
        env["stress_selftest"] = "1"
    r = initrun.run(kernel, tools / "stress", env, work, timeout, clock)
    summary, detail = parse(r.console)
    return StressResult(summary, detail, r.seconds, r.log, r.console)


def run_demo(kernel: Path, tools: Path, work: Path, timeout: float, delay_ms: int = 300) -> str:
    r = initrun.run(kernel, tools / "demo", {"demo_delay": str(delay_ms)}, work, timeout)
    lines = r.console.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("demo")), 0)
    return "\n".join(lines[start:])
