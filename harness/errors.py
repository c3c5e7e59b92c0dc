"""One error hierarchy for the whole lab.

Every failure a user can cause or meet is a ``HarnessError`` whose ``str()`` is one clear
line; ``detail`` carries the longer text (a log tail, a file list) printed beneath it.
The task layer turns these into a non-zero exit; nothing below it calls ``sys.exit``.
"""

from __future__ import annotations


class HarnessError(Exception):
    """Base class: a one-line message plus optional multi-line detail."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail


class ConfigError(HarnessError):
    """The lab's configuration or a user's argument is invalid."""


class UnknownSource(ConfigError):
    """A source name that the manifest does not list."""


class SourceError(HarnessError):
    """A source could not be obtained or did not verify."""


class HashMismatch(SourceError):
    """Downloaded or mirrored bytes differ from the pinned hash."""


class OverrideMismatch(SourceError):
    """A local override tree differs from the pinned per-file manifest."""


class UnverifiedSource(SourceError):
    """A source has no pinned hash to check an override against."""


class MissingTool(HarnessError):
    """A host program the lab needs is not installed."""


class CommandFailed(HarnessError):
    """A subprocess exited non-zero or timed out; ``detail`` holds its output tail."""

    def __init__(self, message: str, detail: str = "", returncode: int | None = None) -> None:
        super().__init__(message, detail)
        self.returncode = returncode


class PatchFailed(HarnessError):
    """A patch of a series does not apply; names the patch and the rejected hunk."""


class ImageBuildFailed(HarnessError):
    """Building a container image failed; ``detail`` is the failing step's log tail."""


class BootError(HarnessError):
    """The kernel under test did not come up; ``detail`` is the console tail.

    Kept apart from infrastructure failures (missing QEMU, busy port), as syzkaller does,
    so that a result can tell "the kernel failed" from "the host failed".
    """


class InfraError(HarnessError):
    """The host or the lab's infrastructure failed, not the kernel under test.

    A busy or stolen port, a missing container engine, a full disk, a QEMU that could not
    start: the bench retries such a run or stops with this one line, and never stores the
    cell as failed, because the kernel was not at fault.
    """


class GuestError(HarnessError):
    """The guest misbehaved in a way that says nothing about the kernel's health.

    A malformed line of guest output, say: one clear line instead of a traceback.
    """
