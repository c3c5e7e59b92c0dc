"""The archive's RO-Crate 1.1 metadata (``ro-crate-metadata.json``), written by hand.

Written by hand rather than with the ``rocrate`` library so that its bytes are a pure
function of the archive's contents (the library stamps the current date), which lets the
archive be byte-identical when packed twice. ``rocrate`` can still read it (see the tests).

The metadata cannot hold its own hash, so it carries a self-check: the root dataset's
``pipemap:metadataSha256`` is the sha256 of the serialized metadata with that field set
to "". The file must also be exactly the lab's serialization of what it says, so a
change of any byte (even white space) is detected: either the JSON no longer parses, no
longer serializes to the same bytes, or no longer hashes to the recorded value.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from harness import hashing
from harness.archive.errors import VerifyFailed

NAME = "ro-crate-metadata.json"
SELF_HASH = "pipemap:metadataSha256"
CONTEXT = "https://w3id.org/ro/crate/1.1/context"
SPEC = "https://w3id.org/ro/crate/1.1"
AUTHOR = {"@id": "#pipemap-lab", "@type": "Organization", "name": "pipemap lab"}
LICENSE = {
    "@id": "#license-own-files", "@type": "CreativeWork", "name": "GPL-2.0-only",
    "description": "Our own files (patches, configurations, scripts, results, report) are under GPL-2.0-only, "
                   "like the kernel they patch. Upstream sources and container images keep their own licenses.",
    "identifier": "https://spdx.org/licenses/GPL-2.0-only",
}

# role of each top directory (or lab/ subdirectory): the data entity that groups its files
ROLES: dict[str, tuple[str, str]] = {
    "results/": ("results", "Raw benchmark store, statistics and the bench provenance"),
    "report/": ("report", "The report, rendered from results/ while archiving"),
    "lab/patches/": ("patches", "Our patch series: host-compat, xmmap (the research contribution), gcc"),
    "lab/kernel-2.0.36/": ("configurations", "Kernel configuration, variants and the build script"),
    "lab/images/": ("configurations", "Container and guest image recipes"),
    "lab/guest-tools/": ("configurations", "Guest programs: compat layer, conformance, stress, demo, tools"),
    "lab/sources/": ("source manifests", "Pinned sources (sources.toml) and per-file manifests"),
    "sources/": ("source archives", "The upstream sources the kernels and the toolchain were built from"),
    "images/": ("container images", "OCI archives of the toolchain and guest-build images (podman save, gzip)"),
    "kernels/": ("kernels", "The two kernels the study compares: vanilla and xmmap 2.0.36"),
    "rootfs/": ("root file system", "The guest's ext2 root image and its build record"),
    "records/": ("build records", "Provenance and build records of every stage"),
}
FORMATS = {
    ".json": "application/json", ".csv": "text/csv", ".html": "text/html", ".sqlite": "application/vnd.sqlite3",
    ".gz": "application/gzip", ".tar": "application/x-tar", ".patch": "text/x-diff", ".toml": "application/toml",
    ".sh": "text/x-shellscript", ".c": "text/x-c", ".h": "text/x-c", ".S": "text/x-asm", ".py": "text/x-python",
    ".md": "text/markdown", ".txt": "text/plain", ".map": "text/plain", ".files": "text/plain",
}


def role_of(name: str) -> tuple[str, str]:
    """The (role, group description) of a member: the longest matching prefix of ROLES."""
    for prefix in sorted(ROLES, key=len, reverse=True):
        if name.startswith(prefix):
            return ROLES[prefix]
    if name.startswith("lab/"):
        return ("configurations", "Other lab configuration files")
    raise ValueError(f"no role for archive member {name}")


def encoding_format(name: str) -> str:
    base = name.rsplit("/", 1)[-1]
    if base == "bzImage":
        return "application/octet-stream"
    if base.endswith(".img"):
        return "application/octet-stream"
    suffix = "." + base.rsplit(".", 1)[-1] if "." in base else ""
    return FORMATS.get(suffix, "text/plain" if base in ("Makefile", "config", "README") else "application/octet-stream")


@dataclass(frozen=True)
class FileInfo:
    """One archived file as the metadata describes it."""

    name: str
    size: int
    sha256: str
    description: str
    extra: dict[str, Any] = field(default_factory=dict)  # pipemap:* properties (image id, tree hash, ...)


def serialize(meta: dict[str, Any]) -> bytes:
    """The one serialization of the metadata: sorted keys, ASCII, 2-space indent, final newline."""
    return (json.dumps(meta, indent=2, sort_keys=True, ensure_ascii=True) + "\n").encode()


def _root(meta: dict[str, Any]) -> dict[str, Any]:
    for e in meta.get("@graph", []):
        if isinstance(e, dict) and e.get("@id") == "./":
            return e
    raise VerifyFailed(f"verify: {NAME}: no root dataset")


def build(files: list[FileInfo], name: str, description: str, date_published: str,
          props: dict[str, Any]) -> bytes:
    """The sealed metadata bytes for ``files``; ``props`` become extra properties of the root."""
    groups: dict[str, list[str]] = {}
    group_desc: dict[str, str] = {}
    entities: list[dict[str, Any]] = []
    for f in sorted(files, key=lambda x: x.name):
        role, desc = role_of(f.name)
        gid = f"#role-{role.replace(' ', '-')}"
        groups.setdefault(gid, []).append(f.name)
        group_desc[gid] = role
        entities.append({
            "@id": f.name, "@type": "File", "name": f.name.rsplit("/", 1)[-1], "description": f.description,
            "contentSize": str(f.size), "encodingFormat": encoding_format(f.name), "sha256": f.sha256,
            "pipemap:role": role, **f.extra,
        })
    collections = [
        {"@id": gid, "@type": "Collection", "name": role, "hasPart": [{"@id": n} for n in members]}
        for gid, members in sorted(groups.items()) for role in [group_desc[gid]]
    ]
    root: dict[str, Any] = {
        "@id": "./", "@type": "Dataset", "name": name, "description": description,
        "datePublished": date_published, "license": {"@id": LICENSE["@id"]}, "author": {"@id": AUTHOR["@id"]},
        "hasPart": [{"@id": f.name} for f in sorted(files, key=lambda x: x.name)],
        "mentions": [{"@id": gid} for gid in sorted(groups)],
        **props, SELF_HASH: "",
    }
    descriptor = {"@id": NAME, "@type": "CreativeWork", "conformsTo": {"@id": SPEC}, "about": {"@id": "./"}}
    meta = {"@context": CONTEXT, "@graph": [descriptor, root, AUTHOR, LICENSE, *collections, *entities]}
    root[SELF_HASH] = hashing.sha256_bytes(serialize(meta))
    return serialize(meta)


def check(data: bytes) -> dict[str, Any]:
    """Parse metadata bytes and check the self-hash; any changed byte fails naming the file."""
    try:
        meta = json.loads(data.decode("ascii"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise VerifyFailed(f"verify: {NAME}: not valid JSON ({e}) (archive damaged)") from None
    if not isinstance(meta, dict):
        raise VerifyFailed(f"verify: {NAME}: not a JSON object (archive damaged)")
    if serialize(meta) != data:
        raise VerifyFailed(f"verify: {NAME}: not in the lab's canonical form (archive damaged or edited)")
    root = _root(meta)
    recorded = root.get(SELF_HASH)
    root[SELF_HASH] = ""
    actual = hashing.sha256_bytes(serialize(meta))
    root[SELF_HASH] = recorded
    if recorded != actual:
        raise VerifyFailed(f"verify: {NAME}: self-check {SELF_HASH} mismatch (archive damaged)")
    return meta


def files(meta: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The File entities of the metadata, by member name."""
    return {e["@id"]: e for e in meta["@graph"] if isinstance(e, dict) and e.get("@type") == "File"}


def root(meta: dict[str, Any]) -> dict[str, Any]:
    return _root(meta)
