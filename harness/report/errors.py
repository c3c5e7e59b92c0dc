"""The report's own error: a one-line ``HarnessError`` the task layer prints as is."""

from __future__ import annotations

from harness.errors import HarnessError


class ReportError(HarnessError):
    """The report cannot be rendered from the given results (no measurements, unreadable files)."""
