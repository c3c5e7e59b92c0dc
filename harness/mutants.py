"""Mutation check of the conformance suite: deliberately broken kernels it must reject.

Why: a suite that passes on the reference kernel proves little unless it also fails on a
kernel that gets a rule wrong. Patch 0005 reuses consumed pages instead of freeing and
zero-filling them (docs/model.md R-REUSE-*), which is exactly where a subtle bug would show
another holder's or another pipe's bytes. Each mutant (kernel-2.0.36/variants.toml, a
variant with ``caught_by``) is the xmmap series plus one small patch under
patches/mutants/ that breaks one rule; the check builds it, runs the suite on it, and
requires every case named in ``caught_by`` to FAIL. A mutant the suite does not catch is an
error naming the cases that passed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from harness import kernel
from harness.conformance import ConformanceFailed
from harness.errors import ConfigError, HarnessError
from harness.settings import Settings

if TYPE_CHECKING:  # imported where used: pipeline imports the stages
    from harness.pipeline import Options

Say = Callable[[str], None]


class MutantSurvived(HarnessError):
    """The conformance suite passed cases that a mutant kernel breaks."""


@dataclass(frozen=True)
class MutantResult:
    name: str
    description: str
    failed: tuple[str, ...]  # the cases that failed on the mutant
    expected: tuple[str, ...]  # the cases that must fail (caught_by)
    seconds: float

    @property
    def missed(self) -> tuple[str, ...]:
        return tuple(c for c in self.expected if c not in self.failed)


def mutants(settings: Settings, names: list[str] | None = None) -> list[kernel.Variant]:
    """The mutant variants, all or the ones named (an unknown or non-mutant name lists the valid ones)."""
    known = {k: v for k, v in kernel.variants(settings).items() if v.mutant}
    for n in names or []:
        if n not in known:
            raise ConfigError(f"unknown mutant {n!r}; valid: {', '.join(sorted(known))}")
    return [known[n] for n in (names or sorted(known))]


def check(settings: Settings, opts: Options, say: Say, names: list[str] | None = None,
          clock: str = "tcg") -> list[MutantResult]:
    """Build each mutant, run the suite on it, and require its ``caught_by`` cases to fail."""
    from harness import pipeline

    out = []
    for v in mutants(settings, names):
        say(f"mutants: {v.name}: {v.description}")
        r = pipeline.conformance(settings, v.name, clock, opts, say)
        if r.summary.get("kernel") != "xmmap":
            raise ConformanceFailed(f"mutant {v.name}: the runner reports kernel {r.summary.get('kernel')!r}, "
                                    f"not an xmmap kernel (console: {r.console})")
        res = MutantResult(v.name, v.description, tuple(c.case for c in r.cases if c.status == "FAIL"),
                           v.caught_by, r.seconds)
        say(f"mutants: {v.name}: {len(res.failed)} case(s) failed: {', '.join(res.failed) or 'none'}")
        if res.missed:
            raise MutantSurvived(f"mutant {v.name} ({v.description}) passed case(s) that must catch it: "
                                 f"{', '.join(res.missed)} (console: {r.console})")
        out.append(res)
    return out
