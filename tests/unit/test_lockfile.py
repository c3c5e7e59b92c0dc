"""The lock file installs the same way on every machine: PyPI only, every file hash-pinned."""

from __future__ import annotations

import re

from harness.settings import REPO

LOCK = REPO / "requirements.lock"


def test_the_lock_names_no_index_or_folder_of_one_machine() -> None:
    for n, line in enumerate(LOCK.read_text().splitlines(), 1):
        if line.lstrip().startswith("#"):
            continue
        assert not re.search(r"--(extra-)?index-url|--find-links|(^|\s)-f\s|file:|(^|\s)/", line), \
            f"requirements.lock:{n} names a machine's own package location: {line.strip()}"


def test_every_requirement_is_pinned_with_a_hash() -> None:
    blocks = re.split(r"\n(?=\S)", LOCK.read_text())
    reqs = [b for b in blocks if b.strip() and not b.startswith("#")]
    assert reqs
    for b in reqs:
        assert re.match(r"^[A-Za-z0-9_.\-]+==\S+ ", b), b.splitlines()[0]
        assert "--hash=sha256:" in b, b.splitlines()[0]
