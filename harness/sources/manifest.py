"""The source manifest: one TOML file listing every upstream input and its pins."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from harness import atomic
from harness.errors import ConfigError, UnknownSource

HEX64 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Source:
    name: str
    version: str
    description: str
    urls: tuple[str, ...]
    archive_sha256: str
    tree_sha256: str
    manifest: Path  # per-file manifest, may not exist yet

    @property
    def filename(self) -> str:
        """The archive's file name, as in the first URL (also its name in a mirror)."""
        return self.urls[0].rsplit("/", 1)[-1]

    @property
    def label(self) -> str:
        return f"{self.name}-{self.version}"


@dataclass(frozen=True)
class Manifest:
    path: Path
    sources: dict[str, Source]

    def get(self, name: str) -> Source:
        try:
            return self.sources[name]
        except KeyError:
            raise UnknownSource(
                f"unknown source {name!r}; known: {', '.join(sorted(self.sources))}"
            ) from None

    def select(self, names: list[str] | None) -> list[Source]:
        return [self.get(n) for n in names] if names else list(self.sources.values())


def load(path: Path) -> Manifest:
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"cannot read source manifest {path}: {e}") from e
    sources = {}
    for name, entry in data.items():
        try:
            src = Source(
                name=name,
                version=str(entry["version"]),
                description=str(entry.get("description", "")),
                urls=tuple(entry["urls"]),
                archive_sha256=str(entry.get("archive_sha256", "")),
                tree_sha256=str(entry.get("tree_sha256", "")),
                manifest=path.parent / str(entry["manifest"]),
            )
        except (KeyError, TypeError) as e:
            raise ConfigError(f"{path}: source {name!r} lacks or mistypes {e}") from e
        for key in ("archive_sha256", "tree_sha256"):
            value = getattr(src, key)
            if value and not HEX64.match(value):
                raise ConfigError(f"{path}: {name}.{key} is not a sha256: {value!r}")
        if not src.urls:
            raise ConfigError(f"{path}: source {name!r} has no urls")
        sources[name] = src
    return Manifest(path, sources)


def fill_in(path: Path, name: str, key: str, value: str) -> None:
    """Write a newly learned hash into the manifest file, keeping its layout and comments.

    Only an empty pin is ever filled: a pinned value is never overwritten.
    """
    text = path.read_text()
    section = re.search(rf"(?ms)^\[{re.escape(name)}\]\n(.*?)(?=^\[|\Z)", text)
    if not section:
        raise ConfigError(f"{path}: no section [{name}]")
    body = section.group(1)
    new_body, n = re.subn(rf'(?m)^{key} = ""$', f'{key} = "{value}"', body)
    if n != 1:
        raise ConfigError(f"{path}: [{name}] {key} is not an empty pin")
    atomic.write_text(path, text[: section.start(1)] + new_body + text[section.end(1) :])
