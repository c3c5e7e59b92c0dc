"""Container engines, driven through ``harness.proc`` like any other program.

podman is the engine of choice (from Debian, no daemon); docker is used where it is what
a machine has; ``none`` runs the same build scripts directly on the host for machines
without an engine. Scripts never see the difference: their path arguments are ``Bind``
objects, which an engine turns into bind mounts (or plain host paths, for ``none``).

podman runs with the lab's own configuration and storage under the cache, so it leaves
the host's container state alone and reuses images across checkouts. The settings are
the ones measured on these machines (see ../shared/notes/containers-and-apt.md): no
default ulimits (root lacks CAP_SYS_RESOURCE), runc (crun refuses hybrid cgroups), and
``--network none`` for every build, which needs no network once sources are fetched.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness import atomic, proc
from harness.errors import ConfigError, MissingTool
from harness.settings import Settings

ENGINES = ("podman", "docker", "none")


@dataclass(frozen=True)
class Bind:
    """A host path handed to a command; mounted at a fixed place inside a container."""

    host: Path
    readonly: bool = False
    sub: str = ""  # a path below ``host``: mounts the directory, names the file in it

    def host_path(self) -> str:
        return str(self.host / self.sub) if self.sub else str(self.host)


Arg = str | Bind


@dataclass
class Engine:
    name: str
    settings: Settings
    env: dict[str, str] = field(default_factory=dict)

    @property
    def program(self) -> str:
        return self.name

    def version(self) -> str:
        return proc.output([self.program, "--version"], env=self.env)

    def image_exists(self, tag: str) -> bool:
        r = proc.run([self.program, "image", "inspect", tag], timeout=60, env=self.env, check=False, capture=True)
        return r.returncode == 0

    def image_id(self, tag: str) -> str:
        return proc.output([self.program, "image", "inspect", "--format", "{{.Id}}", tag], env=self.env)

    def import_tar(self, tar: Path, tag: str, log: Path) -> None:
        proc.run([self.program, "import", tar, tag], timeout=600, log=log, env=self.env,
                 what=f"{self.name} import")

    def build(self, context: Path, tag: str, log: Path, timeout: float) -> None:
        proc.run([self.program, "build", "--network", "none", "-t", tag, "-f", context / "Containerfile", context],
                 timeout=timeout, log=log, env=self.env, what=f"{self.name} build {tag}")

    def remove_image(self, tag: str) -> None:
        proc.run([self.program, "rmi", "-f", tag], timeout=120, env=self.env, check=False)

    def command(self, image: str, argv: Sequence[Arg], workdir: str | None = None) -> list[str]:
        """The full argv that runs ``argv`` in a fresh container of ``image``."""
        mounts: dict[tuple[Path, bool], str] = {}
        inner: list[str] = []
        for a in argv:
            if isinstance(a, Bind):
                key = (a.host.resolve(), a.readonly)
                mounts.setdefault(key, f"/mnt/b{len(mounts)}")
                inner.append(f"{mounts[key]}/{a.sub}" if a.sub else mounts[key])
            else:
                inner.append(a)
        cmd = [self.program, "run", "--rm", "--network", "none", "--init"]
        if os.getuid() != 0:
            cmd += ["--user", f"{os.getuid()}:{os.getgid()}"]
        for (host, ro), guest in mounts.items():
            cmd += ["-v", f"{host}:{guest}:{'ro' if ro else 'rw'}"]
        if workdir:
            cmd += ["-w", workdir]
        return [*cmd, image, *inner]

    def run(self, image: str, argv: Sequence[Arg], *, log: Path, timeout: float, what: str,
            workdir: str | None = None, capture: bool = False) -> proc.Result:
        return proc.run(self.command(image, argv, workdir), timeout=timeout, log=log, env=self.env,
                        what=what, capture=capture)


class HostEngine(Engine):
    """``--engine none``: the build runs on the host; the 'image' is a host prefix dir."""

    def version(self) -> str:
        return "none (host build)"

    def command(self, image: str, argv: Sequence[Arg], workdir: str | None = None) -> list[str]:
        return [a.host_path() if isinstance(a, Bind) else a for a in argv]


def _podman_env(settings: Settings) -> dict[str, str]:
    """Point podman at the lab's own config and storage (created on first use)."""
    root = settings.cache / "containers"
    root.mkdir(parents=True, exist_ok=True)
    files = {
        "containers.conf": '[containers]\ndefault_ulimits = []\n\n[engine]\nruntime = "runc"\n',
        "storage.conf": f'[storage]\ndriver = "overlay"\ngraphroot = "{root}/storage"\nrunroot = "{root}/run"\n',
        "registries.conf": "unqualified-search-registries = []\n",
    }
    for name, text in files.items():
        p = root / name
        if not p.exists() or p.read_text() != text:
            atomic.write_text(p, text)
    return {
        "CONTAINERS_CONF": str(root / "containers.conf"),
        "CONTAINERS_STORAGE_CONF": str(root / "storage.conf"),
        "CONTAINERS_REGISTRIES_CONF": str(root / "registries.conf"),
    }


def _docker_usable() -> bool:
    if not shutil.which("docker"):
        return False
    return proc.run(["docker", "info"], timeout=20, check=False, capture=True).returncode == 0


def select(settings: Settings, name: str | None = None) -> Engine:
    """The engine named on the command line, in the user config, or the first usable one."""
    wanted = name or settings.user.engine or "auto"
    if wanted not in (*ENGINES, "auto"):
        raise ConfigError(f"unknown container engine {wanted!r}; choose one of: auto, {', '.join(ENGINES)}")
    if wanted in ("auto", "podman") and shutil.which("podman"):
        return Engine("podman", settings, _podman_env(settings))
    if wanted == "podman":
        raise MissingTool("podman is not installed (apt-get install podman), or pass --engine docker|none")
    if wanted in ("auto", "docker") and _docker_usable():
        return Engine("docker", settings)
    if wanted == "docker":
        raise MissingTool("docker is not usable here (no docker daemon answers); use --engine podman|none")
    if wanted == "none":
        return HostEngine("none", settings)
    raise MissingTool("no container engine: install podman (apt-get install podman) or pass --engine none")
