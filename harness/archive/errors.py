"""Errors of the archive stage, in the lab's one hierarchy (``harness.errors.HarnessError``)."""

from __future__ import annotations

from harness.errors import HarnessError


class ArchiveError(HarnessError):
    """The archive could not be made, read or rebuilt."""


class MissingStage(ArchiveError):
    """An output the archive needs is absent or stale; the message names the stage to run."""


class VerifyFailed(ArchiveError):
    """The archive does not match its own metadata (or its report does not re-render the same).

    The message starts with ``verify:`` and names the member, so that a damaged archive says
    at once which part is damaged.
    """
