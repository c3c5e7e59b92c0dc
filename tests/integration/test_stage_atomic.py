"""A stage's done-mark is written last (issue 9, item 4), with real podman.

The toolchain stage once took "the image exists" as done: when writing its record failed
(querying the image needs podman's init), every later run skipped the stage and the
archive stopped with "toolchain record missing: run `./inv toolchain`", a remedy that
changed nothing. Here the record-writing step fails after the (real, shared) image
exists; the next run must write the record by itself, and the archive's check pass.
The records go to a private directory, so the shared image and record are untouched.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import toolchain
from harness.archive import contents
from harness.errors import CommandFailed
from harness.pipeline import Options, toolchain_for
from harness.settings import Settings


def test_toolchain_image_without_record_recovers(real: Settings, opts: Options, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    said: list[str] = []
    tc = toolchain_for(real, opts, said.append)  # the shared image (built if missing)
    assert tc.engine.image_exists(tc.image)

    private = tmp_path / "toolchain-records"

    def record_path(settings: Settings, input_hash: str) -> Path:
        return private / f"{input_hash[:16]}.json"

    monkeypatch.setattr(toolchain, "record_path", record_path)
    monkeypatch.setattr(contents, "record_path", record_path)
    rec = record_path(real, tc.input_hash)

    def fails(*a: object, **k: object) -> None:
        raise CommandFailed("podman run failed: catatonit missing")

    with monkeypatch.context() as m:
        m.setattr(toolchain, "_record", fails)
        with pytest.raises(CommandFailed):
            toolchain_for(real, opts, said.append)
    assert tc.engine.image_exists(tc.image) and not rec.exists(), "image there, record not: the bug's state"

    said.clear()
    again = toolchain_for(real, opts, said.append)  # no manual step in between
    assert again.image == tc.image
    assert rec.is_file(), said
    assert any("no record yet" in s for s in said), said
    assert not any("building gcc" in s for s in said), "the image is reused, not rebuilt"
    # the archive's check ("toolchain record missing: run `./inv toolchain`") passes
    assert contents._need(contents.record_path(real, tc.input_hash), "toolchain", "toolchain record")
