"""The rendered report in a real browser: headless Chromium loads it offline, without console errors.

Chromium (Debian's /usr/bin/chromium) prints every console message, errors and uncaught
exceptions included, as a ``CONSOLE`` line on stderr with ``--enable-logging=stderr``.
The report has no scripts and loads nothing, so any such line is a failure; the same check
is run on pages that do log an error or throw, to show that it can fail.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from harness import proc
from harness.report import render
from harness.settings import REPO
from tests.reportdata import make_results

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "build" / "test-artifacts"
REFERENCE = REPO / "reports" / "reference"
TIMEOUT = 180

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed (Debian package chromium; see debian-packages.txt)")


def chromium(page: Path, *extra: str) -> tuple[str, list[str]]:
    """Load ``page`` headless; returns (stdout, console lines from the log)."""
    with tempfile.TemporaryDirectory(prefix="pipemap-chromium-") as tmp:
        log = Path(tmp) / "chromium.log"
        r = proc.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                      "--no-first-run", f"--user-data-dir={tmp}/profile", "--enable-logging=stderr", "--v=0",
                      *extra, page.resolve().as_uri()], timeout=TIMEOUT, log=log, capture=True, what="chromium")
        return r.stdout, console_lines(log.read_text("utf-8", "replace"))


def console_lines(log: str) -> list[str]:
    """Console messages (console.error, uncaught exceptions, failed loads) in chromium's stderr log."""
    return [line for line in log.splitlines() if ":CONSOLE" in line]


def check_page(page: Path) -> str:
    dom, console = chromium(page, "--dump-dom")
    assert console == [], "console messages:\n" + "\n".join(console)
    return dom


@pytest.mark.parametrize("body", [
    '<script>console.error("report-check-error")</script>',
    '<script>throw new Error("report-check-exception")</script>',
])
def test_console_check_detects_errors(tmp_path: Path, body: str) -> None:
    page = tmp_path / "bad.html"
    page.write_text(f"<!DOCTYPE html><html><body><p>x</p>{body}</body></html>\n")
    with pytest.raises(AssertionError, match="report-check-"):
        check_page(page)


def test_console_check_passes_a_clean_page(tmp_path: Path) -> None:
    page = tmp_path / "good.html"
    page.write_text("<!DOCTYPE html><html><body><p>fine</p></body></html>\n")
    assert "<p>fine</p>" in check_page(page)


def _results(kind: str, tmp: Path) -> Path:
    if kind == "synthetic":
        return make_results(tmp / "results", partial=["E1/xmmap/tcg/cat/mmap/-/4194304/0/-/null/O2"])
    if not (REFERENCE / "raw.sqlite").exists():
        pytest.skip(f"no reference results at {REFERENCE} (raw.sqlite) yet")
    return REFERENCE


@pytest.mark.parametrize("kind", ["synthetic", "reference"])
def test_report_renders_in_chromium(tmp_path: Path, kind: str) -> None:
    out = render(_results(kind, tmp_path), tmp_path / "report")
    dom = check_page(out.html)
    assert '<h2 id="verdicts">Verdicts</h2>' in dom
    assert dom.count("<svg") >= 1 and 'id="cell-table"' in dom
    for v in out.verdicts:
        assert f">{v.claim}</b>" in dom
    if kind == "synthetic":
        assert 'id="missing-banner"' in dom
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / ("report.png" if kind == "synthetic" else f"report-{kind}.png")
    chromium(out.html, f"--screenshot={shot}", "--window-size=1280,4000")
    assert shot.stat().st_size > 10_000
    shutil.copy(out.html, shot.with_suffix(".html"))
