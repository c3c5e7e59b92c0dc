"""The toolchain stage's done-mark is its record, written last (issue 9, item 4).

A fake engine stands in for podman: an image that exists without its record (a run that
failed while querying the image) is not taken as done; the next run writes the record.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pytest

from harness import baseimage, proc, toolchain
from harness.engine import Engine
from harness.errors import CommandFailed
from harness.settings import Settings


@dataclass
class FakeEngine(Engine):
    images: set[str] = field(default_factory=set)
    builds: int = 0

    def image_exists(self, tag: str) -> bool:
        return tag in self.images

    def command(self, image, argv, **kw):  # noqa: ANN001, ANN003, ANN201
        return ["fake-run", image, *argv]

    def version(self) -> str:
        return "fake 1"


def _gcc() -> SimpleNamespace:
    return SimpleNamespace(version="2.7.2.3", tree_sha256="0" * 64, record=lambda: {"name": "gcc"})


@pytest.fixture
def setup(lab: Settings, monkeypatch: pytest.MonkeyPatch) -> tuple[Settings, FakeEngine]:
    eng = FakeEngine("podman", lab)
    monkeypatch.setattr(baseimage, "ensure_base", lambda *a, **k: ("localhost/pipemap-base:x", "b" * 64))
    monkeypatch.setattr(toolchain, "_gcc_patches", lambda s: [])

    def build(engine, ctx, tag, log, timeout, what):  # noqa: ANN001, ANN202
        engine.builds += 1
        engine.images.add(tag)

    monkeypatch.setattr(baseimage, "build_image", build)
    monkeypatch.setattr(toolchain, "_stage_gcc", lambda *a: None)
    return lab, eng


def test_image_without_record_is_not_done(setup: tuple[Settings, FakeEngine],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    lab, eng = setup

    def broken(*a, **k):  # noqa: ANN002, ANN003, ANN202
        raise CommandFailed("podman run failed", "Error: catatonit: no such file")

    monkeypatch.setattr(proc, "output", broken)
    with pytest.raises(CommandFailed):
        toolchain.ensure(lab, eng, _gcc(), say=lambda *_: None)  # type: ignore[arg-type]
    assert eng.builds == 1 and eng.images, "the image was built"
    th = toolchain.toolchain_hash("b" * 64, _gcc(), [])  # type: ignore[arg-type]
    rec = toolchain.record_path(lab, th)
    assert not rec.exists(), "no record, no temporary left as the record"
    assert not rec.parent.exists() or not list(rec.parent.iterdir()), "no partial record"

    monkeypatch.setattr(proc, "output", lambda argv, **k: "ok " + " ".join(map(str, argv)))
    tc = toolchain.ensure(lab, eng, _gcc(), say=lambda *_: None)  # type: ignore[arg-type]
    assert eng.builds == 1, "the existing image is reused, its record written"
    assert rec.is_file()
    data = json.loads(rec.read_text())
    assert data["input_hash"] == tc.input_hash
    # and now the stage is done: a third run does nothing
    monkeypatch.setattr(proc, "output", broken)
    toolchain.ensure(lab, eng, _gcc(), say=lambda *_: None)  # type: ignore[arg-type]
    assert eng.builds == 1


def test_record_path_is_the_one_readers_use(lab: Settings) -> None:
    p = toolchain.record_path(lab, "abcdef0123456789ffff")
    assert p == lab.cache / "toolchain" / "abcdef0123456789.json"
    assert isinstance(p, Path)
