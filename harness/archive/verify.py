"""Check an archive offline against its own metadata, in one streaming pass.

The archive is trusted only as far as it agrees with itself: the metadata's self-check,
every File entity present with the recorded size and sha256, nothing unlisted, and the
report re-rendered from the archived results equal byte for byte to the archived report.
The first disagreement fails with one line naming the member.
"""

from __future__ import annotations

import difflib
import hashlib
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.archive import crate
from harness.archive.contents import Renderer
from harness.archive.errors import VerifyFailed
from harness.settings import REPO

REPORT_FILES = {"html": "report/report.html", "csv": "report/cells.csv", "summary": "report/summary.json"}


@dataclass(frozen=True)
class Verified:
    members: int
    bytes: int
    report: str  # "identical" or why it was not compared
    meta: dict[str, Any]


@dataclass(frozen=True)
class _Seen:
    size: int
    sha256: str


def _read(archive: Path, extract: Path, want: Callable[[str], bool]) -> tuple[dict[str, _Seen], bytes | None]:
    """Hash every member; keep the metadata, write the members ``want`` selects under ``extract``."""
    seen: dict[str, _Seen] = {}
    meta: bytes | None = None
    try:
        with tarfile.open(archive, "r|") as tar:
            for m in tar:
                if m.name in seen:
                    raise VerifyFailed(f"verify: {m.name}: present twice in the archive")
                if not m.isreg():
                    raise VerifyFailed(f"verify: {m.name}: not a regular file (archive members are files only)")
                f = tar.extractfile(m)
                assert f is not None
                h = hashlib.sha256()
                size = 0
                keep = m.name == crate.NAME
                parts: list[bytes] = []
                out = None
                if want(m.name) and _safe(m.name):
                    dest = extract / m.name
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    out = open(dest, "wb")  # closed below, also on error
                try:
                    while block := f.read(1 << 20):
                        h.update(block)
                        size += len(block)
                        if keep:
                            parts.append(block)
                        if out:
                            out.write(block)
                finally:
                    if out:
                        out.close()
                seen[m.name] = _Seen(size, h.hexdigest())
                if keep:
                    meta = b"".join(parts)
    except (tarfile.TarError, EOFError) as e:
        raise VerifyFailed(f"verify: {archive.name}: not a readable tar ({e}) (archive damaged)") from None
    except OSError as e:
        raise VerifyFailed(f"verify: cannot read {archive}: {e}") from None
    return seen, meta


def _safe(name: str) -> bool:
    return not name.startswith("/") and ".." not in name.split("/")


def check(archive: Path, extract: Path, want: Callable[[str], bool] = lambda n: False) -> tuple[dict[str, Any], int]:
    """Sizes and hashes of every member against the metadata; returns the metadata and total bytes."""
    seen, raw = _read(archive, extract, want)
    if raw is None:
        raise VerifyFailed(f"verify: {crate.NAME}: missing (not an archive of this lab, or damaged)")
    meta = crate.check(raw)
    listed = crate.files(meta)
    for name, entity in sorted(listed.items()):
        got = seen.get(name)
        if got is None:
            raise VerifyFailed(f"verify: {name}: missing from the archive")
        if str(got.size) != str(entity.get("contentSize")):
            raise VerifyFailed(f"verify: {name}: size {got.size}, metadata says {entity.get('contentSize')} "
                               "(archive damaged)")
        if got.sha256 != entity.get("sha256"):
            raise VerifyFailed(f"verify: {name}: sha256 mismatch (archive damaged)")
    extra = sorted(set(seen) - set(listed) - {crate.NAME})
    if extra:
        more = f" (and {len(extra) - 1} more)" if len(extra) > 1 else ""
        raise VerifyFailed(f"verify: {extra[0]}: not listed in the metadata (unexpected member){more}")
    return meta, sum(s.size for s in seen.values())


RENDER_WITH_ARCHIVED_LAB = """
import sys
from pathlib import Path
from harness.report import render
r = render(Path(sys.argv[1]), Path(sys.argv[2]), reference=None)
print(r.html, r.csv, r.summary, sep="\\n")
"""


class _ArchivedRenderer:
    """harness.report.render of the archived lab/, run in a child Python with lab/ first on its path.

    The report is a function of the results and of the code that renders them; the archive
    holds both, so a later change to this checkout's report code does not fail old archives.
    """

    def __init__(self, lab: Path) -> None:
        self.lab = lab

    def __call__(self, results: Path, out: Path, reference: Path | None = None) -> Any:
        import os
        import sys
        from types import SimpleNamespace

        from harness import proc

        env = {**os.environ, "PYTHONPATH": str(self.lab), "PYTHONDONTWRITEBYTECODE": "1"}
        lines = proc.output([sys.executable, "-c", RENDER_WITH_ARCHIVED_LAB, str(results), str(out)], timeout=600,
                            env=env, cwd=self.lab, what="render with the archived lab").splitlines()[-3:]
        return SimpleNamespace(html=lines[0], csv=lines[1], summary=lines[2])


def _lock_note(extract: Path) -> str:
    archived = extract / "lab" / "requirements.lock"
    here = REPO / "requirements.lock"
    if archived.exists() and here.exists() and archived.read_bytes() != here.read_bytes():
        return "; note: the archived requirements.lock differs from this checkout's (other library versions)"
    return ""


def compare_report(extract: Path, renderer: Renderer, scratch: Path) -> str:
    """Re-render the report from the archived results; it must equal the archived one byte for byte."""
    out = scratch / "report-again"
    out.mkdir(parents=True)
    r = renderer(extract / "results", out, reference=None)
    for attr, name in REPORT_FILES.items():
        again, archived = Path(getattr(r, attr)).read_bytes(), (extract / name).read_bytes()
        if again != archived:
            diff = difflib.unified_diff(archived.decode("utf-8", "replace").splitlines(),
                                        again.decode("utf-8", "replace").splitlines(),
                                        f"archived {name}", "re-rendered", n=0, lineterm="")
            raise VerifyFailed(f"verify: {name}: differs from the report re-rendered from results/ by the archived "
                               f"lab code (archive damaged, or report not reproducible){_lock_note(extract)}",
                               "\n".join(list(diff)[:12]))
    return "identical"


def verify(archive: Path, renderer: Renderer | None = None, extract: Path | None = None,
           want: Callable[[str], bool] = lambda n: False) -> Verified:
    """Check ``archive``; with ``extract``, members that ``want`` selects are left there for the caller."""
    if not archive.is_file():
        raise VerifyFailed(f"verify: no such archive: {archive}")
    with tempfile.TemporaryDirectory(prefix="pipemap-verify-") as tmp:
        dest = extract or Path(tmp) / "x"

        def wanted(n: str) -> bool:
            return n.startswith(("results/", "report/", "lab/")) or want(n)

        meta, total = check(archive, dest, wanted)
        has_report = any(n in crate.files(meta) for n in REPORT_FILES.values())
        if not has_report:
            report = "not in the archive"
        else:
            if renderer is None:
                if (dest / "lab" / "harness" / "report").is_dir():
                    renderer = _ArchivedRenderer(dest / "lab")
                else:  # an archive without the lab's code: this checkout's report code is all there is
                    from harness.archive import _renderer

                    renderer = _renderer()
            report = compare_report(dest, renderer, Path(tmp))
    return Verified(len(crate.files(meta)) + 1, total, report, meta)
