"""The host's real Debian mirror, written in each form Debian 12 allows, drives real apt and mmdebstrap.

The unit tests show that every form parses to the same lab sources; these show that the
file the lab derives from each form is one that apt (the guest's private configuration:
deb-src entries, i386 packages) and mmdebstrap (the base images) really work with. They
need the network to the host's Debian mirror, as `./inv image` does, and nothing else.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness import aptsources, proc

pytestmark = pytest.mark.integration


def deb822(entries: list[aptsources.Entry]) -> str:
    return aptsources.render(entries)


@pytest.fixture(scope="module")
def host_entries() -> list[aptsources.Entry]:
    return aptsources.lab_entries()


def forms(entries: list[aptsources.Entry]) -> dict[str, dict[str, str]]:
    first, rest = entries[0], entries[1:]
    return {
        "one-line sources.list": {"sources.list": aptsources.render_one_line(entries)},
        "deb822 of another name": {"sources.list.d/local-mirror.sources": deb822(entries)},
        "several files, both formats": {
            "sources.list": aptsources.render_one_line([first]),
            **{f"sources.list.d/{i:02d}-part.sources": deb822([e]) for i, e in enumerate(rest)},
        },
    }


def write_etc(root: Path, files: dict[str, str]) -> Path:
    (root / "sources.list.d").mkdir(parents=True)
    for name, text in files.items():
        (root / name).write_text(text)
    return root


@pytest.mark.parametrize("form", ["one-line sources.list", "deb822 of another name", "several files, both formats"])
def test_each_form_drives_apt_and_mmdebstrap(tmp_path: Path, host_entries: list[aptsources.Entry], form: str) -> None:
    if not shutil.which("mmdebstrap"):
        pytest.fail("mmdebstrap missing: ./inv installs it (debian-packages.txt)")
    etc = write_etc(tmp_path / "etc-apt", forms(host_entries)[form])
    entries = aptsources.lab_entries(etc)
    assert aptsources.render(entries) == aptsources.render(host_entries)

    # the base images: mmdebstrap resolves a bookworm root from exactly this file
    base = tmp_path / "lab.sources"
    base.write_text(aptsources.render(entries))
    r = proc.run(["mmdebstrap", "--simulate", "--variant=apt", "bookworm", "/dev/null", base],
                 timeout=300, log=tmp_path / "mmdebstrap.log", check=False)
    assert r.returncode == 0, proc.file_tail(tmp_path / "mmdebstrap.log")

    # the guest build's private apt configuration: source packages and i386 binaries
    private = tmp_path / "apt"
    (private / "parts").mkdir(parents=True)
    (private / "parts" / "lab.sources").write_text(
        aptsources.render(entries, deb_src=True, security_amd64_only=True))
    for d in ("lists/partial", "cache/archives/partial"):
        (private / d).mkdir(parents=True)
    conf = private / "apt.conf"
    conf.write_text(f'Dir::Etc::SourceList "/dev/null";\nDir::Etc::SourceParts "{private}/parts";\n'
                    f'Dir::State::Lists "{private}/lists";\nDir::Cache "{private}/cache";\n'
                    'APT::Architectures:: "i386";\nAPT::Sandbox::User "root";\n')
    env = {"APT_CONFIG": str(conf)}
    proc.run(["apt-get", "-q", "update"], timeout=300, env=env, log=tmp_path / "apt.log")
    src = proc.run(["apt-get", "-q", "source", "--print-uris", "busybox"], timeout=120, env=env, capture=True)
    assert "busybox_" in src.stdout and ".dsc" in src.stdout
    deb = proc.run(["apt-get", "-q", "download", "--print-uris", "musl-dev:i386"], timeout=120, env=env,
                   capture=True)
    assert "musl-dev_" in deb.stdout and "_i386.deb" in deb.stdout
