"""The host's Debian apt sources, read in every form Debian 12 allows.

Why: no registry is reachable from our machines, so every base image and every Debian
source package comes from the host's own Debian mirror, and no mirror's name may be
written into the repo. A Debian 12 host keeps its sources in ``/etc/apt/sources.list``
(one-line format, what the installer writes), in ``sources.list.d/*.list`` (one-line) or
in ``sources.list.d/*.sources`` (deb822, any file name), often in several files at once.
This module reads all of them, keeps the Debian entries of the lab's suite (bookworm,
-updates, -security; a third-party repository such as nodesource is not a source of the
lab), and writes them back in one normal form (deb822), so that mmdebstrap and the
private apt configuration of the guest build see the same mirrors whatever the host's
form, and the base image's tag hashes the sources' meaning, not their spelling.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import ConfigError

SUITE = "bookworm"
LAB_SUITES = (SUITE, f"{SUITE}-updates", f"{SUITE}-security")

# one-line option name -> deb822 field name (sources.list(5))
_OPTION_FIELDS = {
    "arch": "Architectures", "lang": "Languages", "target": "Targets", "pdiffs": "PDiffs",
    "by-hash": "By-Hash", "allow-insecure": "Allow-Insecure", "allow-weak": "Allow-Weak",
    "allow-downgrade-to-insecure": "Allow-Downgrade-To-Insecure", "trusted": "Trusted",
    "signed-by": "Signed-By", "check-valid-until": "Check-Valid-Until",
    "valid-until-min": "Valid-Until-Min", "valid-until-max": "Valid-Until-Max",
    "check-date": "Check-Date", "date-max-future": "Date-Max-Future", "inrelease-path": "InRelease-Path",
    "snapshot": "Snapshot",
}


@dataclass(frozen=True)
class Entry:
    """One (type, URI, suite) of an apt source with its components and options."""

    uri: str
    suite: str
    components: tuple[str, ...]
    options: tuple[tuple[str, str], ...] = ()  # deb822 field name -> value, sorted
    origin: str = field(default="", compare=False)  # file it came from, for messages

    def option(self, name: str) -> str | None:
        return dict(self.options).get(name)


def _parse_one_line(text: str, origin: str) -> list[Entry]:
    out: list[Entry] = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.match(r"^(deb|deb-src)\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)(.*)$", line)
        if not m:
            raise ConfigError(f"{origin}:{n}: not an apt source line: {raw.strip()!r}")
        kind, opts, uri, suite, comps = m.groups()
        if kind != "deb":
            continue  # the lab derives its own deb-src entries from the deb ones
        options: dict[str, str] = {}
        for opt in shlex.split(opts or ""):
            key, _, value = opt.partition("=")
            key = key.rstrip("+-")  # arch+=, arch-= : treat as the value itself
            name = _OPTION_FIELDS.get(key)
            if name is None:
                raise ConfigError(f"{origin}:{n}: unknown apt source option {key!r}")
            options[name] = value.replace(",", " ")
        out.append(Entry(uri.rstrip("/"), suite, tuple(comps.split()), tuple(sorted(options.items())), origin))
    return out


def _deb822_stanzas(text: str, origin: str) -> list[dict[str, str]]:
    stanzas: list[dict[str, str]] = []
    cur: dict[str, str] = {}
    last = ""
    for n, raw in enumerate(text.splitlines(), 1):
        if raw.startswith("#"):
            continue
        if not raw.strip():
            if cur:
                stanzas.append(cur)
            cur, last = {}, ""
            continue
        if raw[0] in " \t":
            if not last:
                raise ConfigError(f"{origin}:{n}: continuation line outside a field")
            cur[last] += "\n" + raw
            continue
        key, sep, value = raw.partition(":")
        if not sep:
            raise ConfigError(f"{origin}:{n}: not a deb822 field: {raw.strip()!r}")
        last = key.strip().lower()
        cur[last] = value.strip()
    if cur:
        stanzas.append(cur)
    return stanzas


def _parse_deb822(text: str, origin: str) -> list[Entry]:
    out: list[Entry] = []
    names = {v.lower(): v for v in _OPTION_FIELDS.values()}
    for st in _deb822_stanzas(text, origin):
        if st.get("enabled", "yes").strip().lower() == "no":
            continue
        if "deb" not in st.get("types", "").split():
            continue
        missing = [k for k in ("uris", "suites") if not st.get(k)]
        if missing:
            raise ConfigError(f"{origin}: a stanza lacks {', '.join(f.capitalize() for f in missing)}")
        options = tuple(sorted((names[k], v) for k, v in st.items() if k in names))
        comps = tuple(st.get("components", "").split())
        for uri in st["uris"].split():
            for suite in st["suites"].split():
                out.append(Entry(uri.rstrip("/"), suite, comps, options, origin))
    return out


def source_files(etc: Path = Path("/etc/apt")) -> list[Path]:
    """The files apt itself reads: sources.list, then sources.list.d/*.list and *.sources."""
    files = [etc / "sources.list"] if (etc / "sources.list").is_file() else []
    d = etc / "sources.list.d"
    if d.is_dir():
        files += sorted(p for p in d.iterdir() if p.is_file() and p.suffix in (".list", ".sources"))
    return files


def read_entries(etc: Path = Path("/etc/apt")) -> list[Entry]:
    """Every enabled binary (deb) entry of the host, in apt's file order."""
    entries: list[Entry] = []
    for f in source_files(etc):
        try:
            text = f.read_text()
        except OSError as e:
            raise ConfigError(f"cannot read apt sources file {f}: {e.strerror}") from e
        entries += (_parse_deb822 if f.suffix == ".sources" else _parse_one_line)(text, str(f))
    return entries


def lab_entries(etc: Path = Path("/etc/apt")) -> list[Entry]:
    """The host's Debian entries of the lab's suites, each once, in the host's order."""
    seen: set[Entry] = set()
    keep: list[Entry] = []
    for e in read_entries(etc):
        if e.suite in LAB_SUITES and e not in seen:
            seen.add(e)
            keep.append(e)
    if not any(e.suite == SUITE for e in keep):
        files = ", ".join(str(f) for f in source_files(etc)) or f"none under {etc}"
        raise ConfigError(f"no Debian {SUITE} entry in the host's apt sources ({files}): "
                          f"add one (e.g. in {etc}/sources.list.d/debian.sources)")
    return keep


def render(entries: list[Entry], *, deb_src: bool = False, security_amd64_only: bool = False) -> str:
    """The entries as one deb822 file, grouped by URI, suite and options, in suite order.

    The order of the host's files and lines does not change the text (apt gives equal
    priority to every source), so the base image's tag does not depend on it either.

    ``deb_src`` adds source entries (the host usually has none; ``apt-get source`` needs
    them). ``security_amd64_only`` limits the security suite to amd64: its i386 index
    has failed to download here with size mismatches, and apt then drops the whole suite.
    """
    groups: dict[tuple[str, str, tuple[tuple[str, str], ...]], list[str]] = {}
    for e in entries:
        fields = dict(e.options)
        if security_amd64_only and e.suite.endswith("-security"):
            fields["Architectures"] = "amd64"
        comps = groups.setdefault((e.uri, e.suite, tuple(sorted(fields.items()))), [])
        comps += [c for c in e.components if c not in comps]

    def order(key: tuple[str, str, tuple[tuple[str, str], ...]]) -> tuple[int, str, str]:
        rank = LAB_SUITES.index(key[1]) if key[1] in LAB_SUITES else len(LAB_SUITES)
        return rank, key[1], key[0]

    stanzas = []
    for (uri, suite, opts), comps in sorted(groups.items(), key=lambda kv: order(kv[0])):
        lines = [f"Types: {'deb deb-src' if deb_src else 'deb'}", f"URIs: {uri}", f"Suites: {suite}"]
        if comps:
            lines.append(f"Components: {' '.join(comps)}")
        lines += [f"{k}:{v}" if v.startswith("\n") else f"{k}: {v}" for k, v in opts]
        stanzas.append("\n".join(lines) + "\n")
    return "\n".join(stanzas)


def render_one_line(entries: list[Entry]) -> str:
    """The entries in the one-line sources.list format (what the Debian installer writes).

    Used to make test and bare-machine hosts whose apt sources are in that form; a
    Signed-By key block has no one-line spelling and is refused.
    """
    names = {v: k for k, v in _OPTION_FIELDS.items()}
    lines = []
    for e in entries:
        if any("\n" in v for _, v in e.options):
            raise ConfigError(f"{e.origin}: an embedded key block has no one-line form")
        opts = " ".join(f"{names[k]}={v.replace(' ', ',')}" for k, v in e.options)
        lines.append(f"deb {f'[{opts}] ' if opts else ''}{e.uri} {e.suite} {' '.join(e.components)}".rstrip() + "\n")
    return "".join(lines)
