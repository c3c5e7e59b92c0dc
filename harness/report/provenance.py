"""The provenance record as a tree the template prints: tables, long text folded in <details>.

Any key may be absent in an older run; a known key that is absent is shown as "not
recorded" rather than left out, so a reader sees what the record lacks.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any

from harness import experiments as ex

NOT_RECORDED = "not recorded"
ORDER = ("profile", "plan", "lab", "host", "qemu", "kvm", "qemu_argv", "sources", "toolchain", "kernel_builds",
         "root_image", "kernels", "root_image_sha256", "tool_sha256", "tools_buildinfo", "inputs_sha256")
TITLES = {"profile": "profile", "plan": "plan of cells", "lab": "lab commit", "host": "host machine",
          "qemu": "QEMU", "kvm": "KVM", "qemu_argv": "QEMU command lines", "sources": "sources",
          "toolchain": "toolchain", "kernel_builds": "kernel builds", "root_image": "root image",
          "kernels": "kernel sha256", "root_image_sha256": "root image sha256", "tool_sha256": "tool sha256",
          "tools_buildinfo": "tools build info", "inputs_sha256": "input sha256 (by size in bytes)"}
FOLD = 12  # dicts with more entries, or nested ones, fold into <details>


@dataclass(frozen=True)
class Node:
    kind: str  # text | pre | table | missing
    text: str = ""
    items: tuple[tuple[str, Node], ...] = ()
    fold: bool = False
    summary: str = ""


def node(value: Any, key: str = "", depth: int = 0) -> Node:
    if value is None:
        return Node("missing", NOT_RECORDED)
    if isinstance(value, bool):
        return Node("text", "yes" if value else "no")
    if isinstance(value, (int, float)):
        if key == "memory_bytes":
            return Node("text", f"{value / (1 << 30):.1f} GiB ({value} bytes)")
        return Node("text", str(value))
    if isinstance(value, str):
        if "\n" in value or len(value) > 160:
            return Node("pre", value.rstrip("\n"), fold=True, summary=f"{value.count(chr(10)) + 1} lines")
        return Node("text", value)
    if isinstance(value, list):
        if all(isinstance(v, str) for v in value):
            if "argv" in key or key.count("/") == 1:
                return Node("pre", shlex.join(value))
            text = "\n".join(value)
            return Node("pre", text, fold=len(value) > 8, summary=f"{len(value)} entries")
        return Node("table", items=tuple((str(i), node(v, key, depth + 1)) for i, v in enumerate(value)),
                    fold=depth > 0, summary=f"{len(value)} entries")
    if isinstance(value, dict):
        items = tuple((str(k), node(v, str(k), depth + 1)) for k, v in sorted(value.items(), key=lambda kv: str(kv[0])))
        return Node("table", items=items, fold=depth > 0 and (len(items) > FOLD or depth > 1),
                    summary=f"{len(items)} entries")
    return Node("text", str(value))


def sections(prov: dict[str, Any]) -> list[tuple[str, Node]]:
    """Known keys first, in the order of a build; then any other keys, sorted."""
    out = []
    for k in ORDER:
        v = prov.get(k)
        if k == "plan" and isinstance(v, dict) and isinstance(v.get("cells"), list):
            v = {**v, "cells": f"{len(v['cells'])} cells (listed in the cell table)"}
        out.append((TITLES[k], node(v, k)))
    for k in sorted(set(prov) - set(ORDER)):
        out.append((k, node(prov[k], k)))
    return out


def plan_parameters(prov: dict[str, Any], profile: str | None) -> dict[str, str]:
    """Repetitions, warm-ups and minimum run time: from the plan, else from the profile the store names."""
    plan = prov.get("plan") if isinstance(prov.get("plan"), dict) else {}
    assert isinstance(plan, dict)
    p = ex.PROFILES.get(profile or "")
    out = {}
    for key in ("reps", "warmup", "min_run_s"):
        if key in plan:
            out[key] = f"{plan[key]} (provenance plan)"
        elif p is not None:
            out[key] = f"{getattr(p, key)} (profile {p.name}, harness.experiments)"
        else:
            out[key] = NOT_RECORDED
    return out


def host_text(prov: dict[str, Any]) -> str:
    h = prov.get("host")
    if not isinstance(h, dict):
        return NOT_RECORDED
    mem = h.get("memory_bytes")
    mem_s = f", {mem / (1 << 30):.1f} GiB memory" if isinstance(mem, (int, float)) else ""
    return (f"{h.get('cpu', 'CPU ' + NOT_RECORDED)}, {h.get('cores', '?')} cores{mem_s}; "
            f"{h.get('os', 'OS ' + NOT_RECORDED)}, {h.get('kernel', '')}; host {h.get('hostname', '?')}")
