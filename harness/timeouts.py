"""The one place where timeouts are scaled for slow or loaded machines.

Every timeout in the lab is written as what it takes on the development machine (a
2-core VM under TCG) and passed through ``scaled`` exactly once, at the point where it
is enforced (``proc.run``, the console watcher, the guest channel). A loaded or slower
host sets ``PIPEMAP_TIMEOUT_MULTIPLIER`` (for example 3) and every wait grows alike.
"""

from __future__ import annotations

import os

from harness.errors import ConfigError

ENV = "PIPEMAP_TIMEOUT_MULTIPLIER"


def multiplier() -> float:
    """The factor from the environment (default 1); read each time so tests may set it."""
    raw = os.environ.get(ENV, "1")
    try:
        value = float(raw)
    except ValueError as e:
        raise ConfigError(f"{ENV} must be a number, not {raw!r}") from e
    if value <= 0:
        raise ConfigError(f"{ENV} must be positive, not {raw!r}")
    return value


def scaled(seconds: float) -> float:
    """``seconds`` times the machine's timeout multiplier."""
    return seconds * multiplier()
