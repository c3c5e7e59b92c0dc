"""Shared fixtures: lab settings pointed at temporary directories."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.settings import REPO, Settings, UserConfig


def make_settings(tmp: Path, user: UserConfig | None = None, repo: Path = REPO) -> Settings:
    return Settings(repo, tmp / "cache", tmp / "state", tmp / "build", user or UserConfig())


@pytest.fixture
def lab(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)
