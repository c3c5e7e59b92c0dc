"""The mutation check against real kernels: each mutant is built and the suite must reject it.

A reuse bug (docs/model.md R-REUSE-*) must fail the suite: this is what shows that the
cases for wrapped windows, reused pages and shared FIFOs can fail at all.
"""

from __future__ import annotations

import pytest

from harness import mutants
from harness.errors import ConfigError
from harness.pipeline import Options
from harness.settings import REPO, Settings, load

NAMES = [v.name for v in mutants.mutants(load())]


def test_every_mutant_has_a_patch_and_names_existing_cases() -> None:
    runner = (REPO / "guest-tools" / "conformance" / "runner.c").read_text()
    for v in mutants.mutants(load()):
        assert v.series[:2] == ("host-compat", "xmmap") and v.series[2].startswith("mutants/")
        assert list((REPO / "patches" / v.series[2]).glob("*.patch"))
        assert v.description.startswith("MUTANT")
        assert all(f'"{c}"' in runner for c in v.caught_by)


def test_an_unknown_mutant_lists_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown mutant 'xmmap'; valid: mutant-"):
        mutants.mutants(load(), ["xmmap"])


@pytest.mark.parametrize("name", NAMES)
def test_the_suite_rejects_the_mutant(real: Settings, opts: Options, qemu: str, name: str) -> None:
    [r] = mutants.check(real, opts, print, [name])
    assert set(r.expected) <= set(r.failed) and not r.missed
