"""Every host program the lab runs comes from debian-packages.txt, a Depends of it, or an Essential package.

A Recommends does not count: ./inv installs with --no-install-recommends, so on a bare
Debian 12 machine a program that only a Recommends brought is missing (podman's init,
catatonit, was). The dependency closure is read from this machine's dpkg database.
"""

from __future__ import annotations

import os
import re
import shutil
from functools import cache
from pathlib import Path

import pytest

from harness import hostprograms, proc
from harness.settings import REPO


def listed() -> list[str]:
    lines = (REPO / "debian-packages.txt").read_text().splitlines()
    return [x.strip() for x in lines if x.strip() and not x.lstrip().startswith("#")]


@cache
def installed() -> dict[str, tuple[str, bool, list[str]]]:
    """package -> (its Depends and Pre-Depends, Essential, what it Provides)."""
    out = proc.output(["dpkg-query", "-W", "-f=${Package}@@${db:Status-Status}@@${Essential}@@"
                       "${Depends}, ${Pre-Depends}@@${Provides}##"], timeout=60)
    pkgs: dict[str, tuple[str, bool, list[str]]] = {}
    for record in out.split("##"):
        if not record.strip():
            continue
        name, status, essential, deps, provides = record.strip().replace("\n", " ").split("@@")
        if status == "installed":
            pkgs[name] = (deps, essential == "yes", [p.split()[0] for p in provides.split(",") if p.strip()])
    return pkgs


@cache
def providers() -> dict[str, set[str]]:
    prov: dict[str, set[str]] = {}
    for name, (_, _, provides) in installed().items():
        prov.setdefault(name, set()).add(name)
        for p in provides:
            prov.setdefault(p, set()).add(name)
    return prov


def closure(roots: list[str]) -> set[str]:
    """The installed packages reachable from ``roots`` over Depends and Pre-Depends (every alternative)."""
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        pkg = todo.pop()
        for real in providers().get(pkg.split(":")[0], set()):
            if real in seen:
                continue
            seen.add(real)
            for alt in re.split(r"[,|]", installed()[real][0]):
                dep = re.sub(r"\(.*?\)|\[.*?\]|<.*?>", "", alt).strip().split(":")[0]
                if dep:
                    todo.append(dep)
    return seen


def owner(program: str) -> str | None:
    path = shutil.which(program)
    if path is None:
        return None
    candidates = {path, os.path.realpath(path)}
    candidates |= {re.sub(r"^/usr(?=/s?bin/)", "", c) for c in candidates}  # usrmerge: dpkg may list /bin/x
    for c in sorted(candidates):
        r = proc.run(["dpkg-query", "-S", c], timeout=60, capture=True, check=False)
        if r.returncode == 0 and r.stdout.strip():
            return r.stdout.split(":")[0].split(",")[0].strip()
    return ""


ALLOWED = closure(listed())


@pytest.mark.parametrize("program", sorted(hostprograms.PROGRAMS))
def test_each_program_comes_from_a_listed_package_or_its_depends(program: str) -> None:
    pkg = owner(program)
    assert pkg is not None, (f"{program} is not installed: ./inv installs debian-packages.txt "
                             f"(needed for {hostprograms.PROGRAMS[program]})")
    assert pkg, f"{program} ({shutil.which(program)}) belongs to no Debian package: installed by hand?"
    essential = installed().get(pkg, ("", False, []))[1]
    assert pkg in ALLOWED or essential, (
        f"{program} comes from {pkg}, which is neither in debian-packages.txt, nor a Depends of it, nor Essential "
        "(a Recommends does not count: ./inv installs without them)")


def test_every_listed_package_exists_in_this_machines_dpkg_database() -> None:
    missing = [p for p in listed() if p not in installed()]
    assert not missing, f"not installed here: {missing} (run ./inv)"


def test_the_guest_scripts_run_on_the_host_call_only_declared_programs() -> None:
    script = (REPO / "images/guest/fetch-sources.sh").read_text()
    for program in ("apt-get", "dpkg-source", "dpkg-deb", "sha256sum"):
        assert program in script and hostprograms.declared(program)


def test_closure_follows_depends_not_recommends() -> None:
    # podman Recommends catatonit but does not Depend on it: only the listing brings it in
    assert "catatonit" not in closure(["podman"])
    assert "runc" in closure(["podman"]) or "crun" in closure(["podman"])


def test_declared_knows_names_and_paths() -> None:
    assert hostprograms.declared("/usr/bin/qemu-system-i386")
    assert not hostprograms.declared("frobnicate")
    assert Path(shutil.which("sh") or "/bin/sh").name == "sh"
