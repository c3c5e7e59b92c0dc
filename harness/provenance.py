"""What a benchmark run stands on, gathered into one record beside its raw store.

The report and the archive are rendered from ``build/bench/`` alone, so everything they
say about where the numbers came from (the lab's commit, the host, QEMU and its command
line, the sources, the toolchain, the kernels and the root image, the plan of cells) must
be written there when the run starts: an interrupted run then still renders with its
provenance, and a report re-rendered from an archive years later says the same.
"""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from harness import atomic, proc, vm
from harness.errors import CommandFailed, MissingTool
from harness.settings import Settings
from harness.toolchain import record_path

if TYPE_CHECKING:
    from harness import experiments as ex
    from harness.bench import Tools
    from harness.image import RootImage
    from harness.kernel import KernelBuild

PORT_PLACEHOLDER = "<port>"


def lab_commit(repo: Path) -> dict[str, object]:
    """The lab's own commit and whether the work tree differed from it (then the figures are not tied to it)."""
    try:
        commit = proc.output(["git", "-C", str(repo), "rev-parse", "HEAD"], timeout=30)
        dirty = proc.output(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"], timeout=30)
    except (CommandFailed, MissingTool):
        return {"commit": "unknown (not a git checkout)", "dirty": None}
    return {"commit": commit, "dirty": bool(dirty)}


def _first(path: Path, key: str, sep: str) -> str:
    try:
        for line in path.read_text(errors="replace").splitlines():
            k, _, v = line.partition(sep)
            if k.strip() == key:
                return v.strip().strip('"')
    except OSError:
        pass
    return "unknown"


def host() -> dict[str, object]:
    """The machine that ran QEMU: under TCG its CPU decides the wall-clock figures."""
    mem = _first(Path("/proc/meminfo"), "MemTotal", ":")
    return {
        "hostname": platform.node(),
        "os": _first(Path("/etc/os-release"), "PRETTY_NAME", "="),
        "kernel": f"{platform.system()} {platform.release()} {platform.machine()}",
        "cpu": _first(Path("/proc/cpuinfo"), "model name", ":"),
        "cores": os.cpu_count(),
        "memory_bytes": int(mem.split()[0]) * 1024 if mem.split() and mem.split()[0].isdigit() else None,
        "python": platform.python_version(),
    }


def qemu_argv(kernel: Path, rootfs: Path, data_disk: Path, clock: str) -> list[str]:
    """The command line of a bench machine; the per-boot port and work directory are placeholders."""
    spec = vm.MachineSpec(kernel, rootfs, clock=clock, data_disk=data_disk)
    argv = vm.machine_argv(spec, Path("<workdir>/console.log"), Path("<workdir>/qmp.sock"), 0)
    return [a.replace("127.0.0.1:0-", f"127.0.0.1:{PORT_PLACEHOLDER}-") for a in argv]


def _json(path: Path) -> object:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def collect(settings: Settings, profile: ex.Profile, cells: Sequence[ex.Cell], kernels: dict[str, KernelBuild],
            img: RootImage, tools: Tools, inputs: dict[int, str], data_disk: Path) -> dict[str, object]:
    """The whole record; every value is read from a build record or asked of the machine now."""
    builds = {k: _json(kb.record) for k, kb in sorted(kernels.items())}
    toolchain = None
    for rec in builds.values():
        if isinstance(rec, dict) and isinstance(rec.get("toolchain"), dict):
            ih = str(rec["toolchain"].get("input_hash", ""))
            toolchain = _json(record_path(settings, ih)) or rec["toolchain"]
            break
    clocks = sorted({c.clock for c in cells})
    return {
        "profile": profile.name,
        "plan": {"profile": profile.name, "cells": [c.key for c in cells],
                 "expected_runs_per_cell": profile.runs_per_cell, "reps": profile.reps,
                 "warmup": profile.warmup, "min_run_s": profile.min_run_s,
                 "icount_min_run_s": profile.min_run_for("icount")},
        "lab": lab_commit(settings.repo),
        "host": host(),
        "qemu": vm.qemu_version(),
        "kvm": vm.kvm_status().reason,
        "qemu_argv": {f"{k}/{clk}": qemu_argv(kb.bzimage, img.path, data_disk, clk)
                      for k, kb in sorted(kernels.items()) for clk in clocks},
        "sources": _json(settings.build / "provenance" / "sources.json"),
        "toolchain": toolchain,
        "kernel_builds": builds,
        "root_image": _json(img.record),
        "kernels": {k: kb.sha256 for k, kb in sorted(kernels.items())},
        "root_image_sha256": img.sha256,
        "tools_buildinfo": tools.buildinfo,
        "tool_sha256": dict(sorted(tools.hashes.items())),
        "inputs_sha256": {str(k): v for k, v in sorted(inputs.items())},
        "data_disk": str(data_disk),
    }


def write(record: dict[str, object], out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "provenance.json"
    atomic.write_text(path, json.dumps(record, indent=2) + "\n")
    return path
