"""The host's apt sources in every form Debian 12 allows give one and the same lab sources file."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import aptsources
from harness.errors import ConfigError

KEY = "/usr/share/keyrings/debian-archive-keyring.gpg"
MIRROR = "http://mirror.invalid/debian"
SECURITY = "http://mirror.invalid/debian-security"

ONE_LINE = f"""\
# written by the installer
deb [signed-by={KEY}] {MIRROR}/ bookworm main
deb-src [signed-by={KEY}] {MIRROR}/ bookworm main
deb [signed-by={KEY}] {MIRROR}/ bookworm-updates main
deb [signed-by={KEY}] {SECURITY}/ bookworm-security main
"""

DEB822 = f"""\
Types: deb deb-src
URIs: {MIRROR}
Suites: bookworm bookworm-updates
Components: main
Signed-By: {KEY}

# the security suite
Types: deb
URIs: {SECURITY}
Suites: bookworm-security
Components: main
Signed-By: {KEY}
"""

THIRD_PARTY = """\
Types: deb
URIs: https://deb.example.invalid/node_20.x
Suites: nodistro
Components: main
Signed-By: /usr/share/keyrings/example.gpg
"""


def etc(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "etc-apt"
    (root / "sources.list.d").mkdir(parents=True)
    for name, text in files.items():
        (root / name).write_text(text)
    return root


def rendered(root: Path) -> str:
    return aptsources.render(aptsources.lab_entries(root), deb_src=True, security_amd64_only=True)


FORMS = {
    "one-line sources.list": {"sources.list": ONE_LINE},
    "deb822 debian.sources": {"sources.list.d/debian.sources": DEB822},
    "deb822 of another name": {"sources.list.d/zz-local-mirror.sources": DEB822},
    "one-line .list in sources.list.d": {"sources.list.d/mirror.list": ONE_LINE},
    "several files": {
        "sources.list": f"deb [signed-by={KEY}] {MIRROR} bookworm main\n",
        "sources.list.d/updates.list": f"deb [signed-by={KEY}] {MIRROR} bookworm-updates main\n",
        "sources.list.d/security.sources": DEB822.split("\n\n", 1)[1],
        "sources.list.d/node.sources": THIRD_PARTY,
        "sources.list.d/old.list.disabled": "deb http://other.invalid/ bookworm main\n",
    },
}


@pytest.mark.parametrize("form", FORMS)
def test_every_form_gives_the_same_lab_sources(tmp_path: Path, form: str) -> None:
    reference = rendered(etc(tmp_path / "ref", FORMS["deb822 debian.sources"]))
    assert rendered(etc(tmp_path, FORMS[form])) == reference
    assert "mirror.invalid/debian\nSuites: bookworm\n" in reference
    assert "Types: deb deb-src" in reference
    assert "Suites: bookworm-security\nComponents: main\nArchitectures: amd64\nSigned-By: " + KEY in reference
    assert "example.invalid" not in reference and "other.invalid" not in reference


def test_a_duplicated_entry_appears_once(tmp_path: Path) -> None:
    root = etc(tmp_path, {"sources.list": ONE_LINE, "sources.list.d/debian.sources": DEB822})
    assert rendered(root) == rendered(etc(tmp_path / "ref", {"sources.list.d/debian.sources": DEB822}))


def test_without_deb_src_and_security_limit_the_host_entries_are_kept_as_they_are(tmp_path: Path) -> None:
    text = aptsources.render(aptsources.lab_entries(etc(tmp_path, FORMS["several files"])))
    assert "deb-src" not in text and "Architectures" not in text
    assert text.count("Types: deb\n") == 3


def test_one_line_options_become_deb822_fields(tmp_path: Path) -> None:
    root = etc(tmp_path, {"sources.list": f"deb [ arch=amd64,i386 signed-by={KEY} ] {MIRROR} bookworm main contrib\n"})
    (e,) = aptsources.lab_entries(root)
    assert e.components == ("main", "contrib")
    assert e.option("Architectures") == "amd64 i386" and e.option("Signed-By") == KEY


def test_disabled_stanzas_and_source_only_stanzas_are_ignored(tmp_path: Path) -> None:
    disabled = DEB822.replace("Components: main\nSigned-By", "Components: main\nEnabled: no\nSigned-By", 1)
    root = etc(tmp_path, {"sources.list.d/a.sources": disabled,
                          "sources.list.d/b.sources": f"Types: deb-src\nURIs: {MIRROR}\nSuites: bookworm\n"})
    with pytest.raises(ConfigError, match="no Debian bookworm entry"):
        aptsources.lab_entries(root)


def test_no_bookworm_entry_is_one_clear_line_naming_the_files(tmp_path: Path) -> None:
    root = etc(tmp_path, {"sources.list.d/node.sources": THIRD_PARTY})
    with pytest.raises(ConfigError, match=r"no Debian bookworm entry .*node\.sources") as e:
        aptsources.lab_entries(root)
    assert "\n" not in str(e.value)


def test_no_files_at_all(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="none under"):
        aptsources.lab_entries(etc(tmp_path, {}))


BAD = ["deb\n", "rpm http://x bookworm main\n", "deb [frobnicate=1] http://x bookworm main\n"]


@pytest.mark.parametrize("bad", BAD)
def test_a_malformed_one_line_entry_names_file_and_line(tmp_path: Path, bad: str) -> None:
    root = etc(tmp_path, {"sources.list": "# ok\n" + bad})
    with pytest.raises(ConfigError, match=r"sources\.list:2: "):
        aptsources.read_entries(root)


def test_a_signed_by_key_block_survives(tmp_path: Path) -> None:
    block = "Signed-By:\n -----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n abc\n -----END PGP PUBLIC KEY BLOCK-----"
    text = f"Types: deb\nURIs: {MIRROR}\nSuites: bookworm\nComponents: main\n{block}\n"
    out = aptsources.render(aptsources.lab_entries(etc(tmp_path, {"sources.list.d/k.sources": text})))
    assert block in out


def test_one_line_rendering_reads_back_to_the_same_entries(tmp_path: Path) -> None:
    entries = aptsources.lab_entries(etc(tmp_path, FORMS["deb822 debian.sources"]))
    again = aptsources.lab_entries(etc(tmp_path / "b", {"sources.list": aptsources.render_one_line(entries)}))
    assert aptsources.render(again) == aptsources.render(entries)
