"""Where the lab keeps things, and the per-user configuration.

Three places, none of them tracked by git:
- the cache (``$XDG_CACHE_HOME/pipemap``): downloads, verified source trees, the
  container storage and the root file system tarballs: shared by every checkout,
- the state directory (``$XDG_STATE_HOME/pipemap``): per-user secrets such as SSH keys,
- the build directory (``<repo>/build``): this checkout's outputs (kernels, records, logs).

The per-user config file (``$XDG_CONFIG_HOME/pipemap/config.toml``, or ``$PIPEMAP_CONFIG``)
lives outside the repo so that CI on the same machine sees the same mirror and override
directories as the developer.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from harness import timeouts
from harness.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent

CONFIG_EXAMPLE = """\
# pipemap per-user configuration (outside the repo; read by ./inv and by CI on this machine)
# mirror = "/srv/mirror"        # a directory of upstream archives, by file name
# engine = "podman"             # podman | docker | none (build on the host)
# allow_unverified = ["gcc"]    # use these override trees even without a pinned tree hash
# [override]                    # local unpacked trees used instead of downloads
# linux = "/path/to/linux-2.0.36"
# gcc = "/path/to/gcc-2.7.2.3"
"""


def _xdg(var: str, default: str) -> Path:
    value = os.environ.get(var)
    return Path(value) if value else Path.home() / default


@dataclass(frozen=True)
class UserConfig:
    mirror: Path | None = None
    overrides: dict[str, Path] = field(default_factory=dict)
    allow_unverified: frozenset[str] = frozenset()
    engine: str | None = None
    path: Path | None = None


@dataclass(frozen=True)
class Settings:
    repo: Path
    cache: Path
    state: Path
    build: Path
    user: UserConfig

    @property
    def log_dir(self) -> Path:
        return self.build / "logs"


def config_path() -> Path:
    explicit = os.environ.get("PIPEMAP_CONFIG")
    if explicit:
        return Path(explicit)
    return _xdg("XDG_CONFIG_HOME", ".config") / "pipemap" / "config.toml"


def load_user_config(path: Path) -> UserConfig:
    """Read the per-user config; a missing file means defaults."""
    if not path.exists():
        return UserConfig(path=path)
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"cannot read config file {path}: {e}") from e
    known = {"mirror", "override", "allow_unverified", "engine"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")

    def as_path(value: object, key: str) -> Path:
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{path}: {key} must be a non-empty path string")
        return Path(value).expanduser()

    overrides = data.get("override", {})
    if not isinstance(overrides, dict):
        raise ConfigError(f"{path}: [override] must be a table of name = path")
    allow = data.get("allow_unverified", [])
    if not isinstance(allow, list) or not all(isinstance(a, str) for a in allow):
        raise ConfigError(f"{path}: allow_unverified must be a list of source names")
    return UserConfig(
        mirror=as_path(data["mirror"], "mirror") if "mirror" in data else None,
        overrides={k: as_path(v, f"override.{k}") for k, v in overrides.items()},
        allow_unverified=frozenset(allow),
        engine=data.get("engine"),
        path=path,
    )


def load() -> Settings:
    """Settings from the environment and the per-user config file."""
    cache = Path(os.environ.get("PIPEMAP_CACHE") or _xdg("XDG_CACHE_HOME", ".cache") / "pipemap")
    state = Path(os.environ.get("PIPEMAP_STATE") or _xdg("XDG_STATE_HOME", ".local/state") / "pipemap")
    build = Path(os.environ.get("PIPEMAP_BUILD") or REPO / "build")
    timeouts.multiplier()  # a malformed PIPEMAP_TIMEOUT_MULTIPLIER fails here, before any stage runs
    return Settings(REPO, cache, state, build, load_user_config(config_path()))
