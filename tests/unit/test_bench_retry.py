"""The bench's failure policy, with a fake machine: only a guest failure marks a cell failed.

A host failure (InfraError, an OSError such as a full disk) is retried once on a fresh
machine and, the second time, stops the run with one line; it never becomes a failed
cell. A guest failure (BootError, GuestError, a wrong output) retries the cell once, then
records it as failed and goes on with the next cell.
"""

from __future__ import annotations

import contextlib
import errno
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness import bench, session
from harness import experiments as ex
from harness.errors import BootError, GuestError, InfraError
from harness.settings import Settings, UserConfig

CELLS = [ex.Cell("E2", "xmmap", "icount", "pipemap", "read", "read", 1 << 20, c, "none", "", "O2")
         for c in (4096, 65536)]


class FakeStore:
    def __init__(self) -> None:
        self.dropped: list[str] = []

    def drop_partial(self, expected_runs: int, keys: list[str]) -> int:
        self.dropped += keys
        return len(keys)


def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, outcomes: dict[str, list[BaseException | None]]):
    """A Runner whose machine is a fake and whose cells follow ``outcomes`` (None = success)."""
    settings = Settings(tmp_path, tmp_path / "cache", tmp_path / "state", tmp_path / "build", UserConfig())
    lines: list[str] = []
    r = bench.Runner(settings, ex.PROFILES["quick"], FakeStore(), None, tmp_path / "data.img",
                     {}, lines.append, "s1")
    boots: list[int] = []

    @contextlib.contextmanager
    def fake_machine(*_a: Any, **_k: Any) -> Iterator[tuple[object, object]]:
        boots.append(1)
        yield object(), object()

    monkeypatch.setattr(session, "machine", fake_machine)
    monkeypatch.setattr(bench.hashing, "sha256_file", lambda _p: "k" * 64)
    r.prepare = lambda ch: None
    ran: list[str] = []
    failed: list[str] = []

    def run_cell(m: object, ch: object, cell: ex.Cell, sha: str) -> None:
        ran.append(cell.key)
        outcome = outcomes[cell.key].pop(0)
        if outcome is not None:
            raise outcome

    r.run_cell = run_cell
    r.record_failed = lambda cell, err, sha: failed.append(cell.key)
    return r, ran, failed, boots, lines


def image(tmp_path: Path) -> session.GuestImage:
    return session.GuestImage(tmp_path / "bzImage", tmp_path / "root.img", "ssh-ed25519 AAAA")


def test_a_host_failure_is_retried_once_on_a_fresh_machine_and_never_marks_the_cell(tmp_path, monkeypatch) -> None:
    a, b = (c.key for c in CELLS)
    r, ran, failed, boots, _ = runner(tmp_path, monkeypatch, {a: [InfraError("port stolen"), None], b: [None]})
    r.run_group("xmmap", "icount", image(tmp_path), list(CELLS))
    assert ran == [a, a, b] and failed == [] and len(boots) == 2


def test_a_second_host_failure_stops_the_run_with_one_line(tmp_path, monkeypatch) -> None:
    a, b = (c.key for c in CELLS)
    full = OSError(errno.ENOSPC, "No space left on device")
    r, ran, failed, _, _ = runner(tmp_path, monkeypatch, {a: [InfraError("port stolen"), full], b: [None]})
    with pytest.raises(InfraError, match="bench stopped: host failure twice") as e:
        r.run_group("xmmap", "icount", image(tmp_path), list(CELLS))
    assert "\n" not in str(e.value) and "No space left" in str(e.value)
    assert failed == [] and ran == [a, a]


@pytest.mark.parametrize("guest_fault", [BootError("Oops on the console"), GuestError("malformed TIME line"),
                                         bench.BenchError("output differs")])
def test_a_guest_failure_twice_marks_the_cell_failed_and_the_run_goes_on(tmp_path, monkeypatch, guest_fault) -> None:
    a, b = (c.key for c in CELLS)
    r, ran, failed, boots, _ = runner(tmp_path, monkeypatch, {a: [guest_fault, guest_fault], b: [None]})
    r.run_group("xmmap", "icount", image(tmp_path), list(CELLS))
    assert failed == [a] and ran == [a, a, b] and len(boots) == 3


def test_a_guest_failure_once_is_retried_and_then_measured(tmp_path, monkeypatch) -> None:
    a, b = (c.key for c in CELLS)
    r, ran, failed, _, _ = runner(tmp_path, monkeypatch, {a: [GuestError("hang"), None], b: [None]})
    r.run_group("xmmap", "icount", image(tmp_path), list(CELLS))
    assert failed == [] and ran == [a, a, b]
