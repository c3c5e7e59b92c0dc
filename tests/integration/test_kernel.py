"""The foundation end to end: toolchain image, two clean kernel builds, boot smoke."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness import kernel, pipeline, proc, vm
from harness.errors import BootError, MissingTool
from harness.pipeline import Options
from harness.settings import Settings
from tests.integration.conftest import with_build


def say(msg: str) -> None:
    print(msg)


def test_toolchain_gcc_is_2_7_2(real: Settings, opts: Options) -> None:
    tc = pipeline.toolchain_for(real, opts, say)
    out = proc.output(tc.engine.command(tc.image, [tc.gcc, "--version"]), env=tc.engine.env)
    assert out.startswith("2.7.2")


@pytest.mark.parametrize("variant", ["vanilla", "xmmap"])
def test_two_clean_builds_are_bit_identical(real: Settings, opts: Options, tmp_path: Path, variant: str) -> None:
    a = pipeline.build_kernel(with_build(real, tmp_path / "a"), variant, opts, say)
    b = pipeline.build_kernel(with_build(real, tmp_path / "b"), variant, opts, say)
    assert not a.skipped and not b.skipped
    assert a.sha256 == b.sha256
    assert a.bzimage.read_bytes() == b.bzimage.read_bytes()
    rec = json.loads(a.record.read_text())
    assert rec["bzImage_sha256"] == a.sha256 and rec["source"]["tree_sha256"]
    assert [p["series"] for p in rec["patches"]][:5] == ["host-compat"] * 5
    series = {"host-compat"} if variant == "vanilla" else {"host-compat", "xmmap"}
    assert {p["series"] for p in rec["patches"]} == series
    # an unchanged second request is a no-op
    again = pipeline.build_kernel(with_build(real, tmp_path / "a"), variant, opts, say)
    assert again.skipped and again.sha256 == a.sha256
    # nothing half-written stays behind
    assert sorted(p.name for p in (tmp_path / "a" / "kernel").iterdir()) == [variant]


def test_boot_smoke_shows_banner_and_root_mount(real: Settings, opts: Options, qemu: str) -> None:
    pipeline.build_kernel(real, "vanilla", opts, say)
    r = pipeline.boot_smoke(real, "vanilla", say)
    assert "Linux version 2.0.36" in r.banner
    assert r.root_line


def test_a_kernel_that_does_not_boot_is_a_boot_error_with_console(tmp_path: Path, qemu: str) -> None:
    bogus = tmp_path / "bzImage"
    bogus.write_bytes(b"\0" * 4096)
    with pytest.raises(BootError) as e:
        vm.boot_smoke(bogus, tmp_path / "smoke", timeout=15)
    assert e.value.detail  # the console tail, or <empty console>


def test_missing_qemu_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MissingTool, match="qemu-system-i386 is not installed"):
        vm.qemu_binary()


def test_missing_kernel_image_is_one_line(tmp_path: Path, qemu: str) -> None:
    with pytest.raises(MissingTool, match="kernel image missing"):
        vm.boot_smoke(tmp_path / "nope", tmp_path)


def test_unknown_variant_lists_known(real: Settings, opts: Options) -> None:
    from harness.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown kernel variant 'nope'; known: vanilla"):
        kernel.variant(real, "nope")


def test_host_build_gives_the_same_bytes_as_the_container(real: Settings, opts: Options, tmp_path: Path) -> None:
    """--engine none (gcc and kernel built on the host) must reproduce the container's kernel."""
    from dataclasses import replace

    contained = pipeline.build_kernel(with_build(real, tmp_path / "c"), "vanilla", opts, say)
    host = pipeline.build_kernel(with_build(real, tmp_path / "h"), "vanilla", replace(opts, engine="none"), say)
    assert json.loads(host.record.read_text())["toolchain"]["engine"] == "none"
    assert host.sha256 == contained.sha256
