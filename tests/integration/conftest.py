"""Integration fixtures: the real sources (local stand-ins), real podman, real QEMU.

These tests run whenever the per-user config names override trees for linux and gcc
(see README, "Local source trees"); otherwise they skip, saying exactly why.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness import settings as settings_mod
from harness.pipeline import Options
from harness.settings import Settings


def _standins_reason(s: Settings) -> str | None:
    missing = [n for n in ("linux", "gcc") if n not in s.user.overrides or not s.user.overrides[n].is_dir()]
    if missing:
        return (f"source stand-ins absent: no override tree for {', '.join(missing)} in {s.user.path} "
                "(upstream kernel.org/GNU are unreachable here; see README 'Local source trees')")
    return None


@pytest.fixture(scope="session")
def real() -> Settings:
    """The developer's settings (shared cache and toolchain image), when stand-ins exist."""
    s = settings_mod.load()
    reason = _standins_reason(s)
    if reason:
        pytest.skip(reason)
    return s


@pytest.fixture(scope="session")
def opts() -> Options:
    # the gcc stand-in is gcc 2.7.2 (no pinned tree hash exists for it): explicitly allowed
    return Options(allow_unverified=frozenset({"gcc"}))


@pytest.fixture
def qemu() -> str:
    path = shutil.which("qemu-system-i386")
    if not path:
        pytest.skip("qemu-system-i386 is not installed (./inv installs qemu-system-x86)")
    return path


def with_build(s: Settings, build: Path) -> Settings:
    return Settings(s.repo, s.cache, s.state, build, s.user)
