"""Every host program the lab executes, and why: the list behind debian-packages.txt.

Why a list: on a bare Debian 12 machine only what ``./inv`` installs (debian-packages.txt,
installed without Recommends) and what those packages Depend on is present; a program
pulled in by a Recommends, or installed by hand once, is missing there. The unit test
tests/unit/test_host_packages.py resolves every program below to the Debian package that
owns it (dpkg -S) and checks that the package is listed in debian-packages.txt, is one
of their Depends (transitively), or is Essential (present on every Debian system).
``proc.run`` refuses to start a program that is not on this list, so the list cannot
fall behind the code.
"""

from __future__ import annotations

# program -> why the lab runs it
PROGRAMS: dict[str, str] = {
    "bash": "the guest build and fetch scripts",
    "sh": "small shell steps",
    "podman": "the container engine of the toolchain and guest-build images",
    "runc": "podman's OCI runtime (crun fails on hybrid cgroups)",
    "catatonit": "podman's --init",
    "mmdebstrap": "Debian base root file systems from the host's mirror",
    "apt-get": "Debian source packages and i386 packages (fetch-sources.sh)",
    "dpkg-source": "unpacks the Debian source packages (fetch-sources.sh)",
    "dpkg-deb": "unpacks musl-dev:i386 and linux-libc-dev:i386 (fetch-sources.sh)",
    "dpkg-query": "package versions for provenance",
    "qemu-system-i386": "boots Linux 2.0.36 (TCG)",
    "mke2fs": "the ext2 revision 0 root and data images",
    "debugfs": "device nodes in the root image without root privileges",
    "patch": "applies the kernel patch series",
    "git": "the lab's own commit for provenance and the archive",
    "make": "--engine none: builds gcc 2.7.2.3 and the kernel on the host",
    "cc": "--engine none and the compat layer's host tests",
    "as86": "--engine none: the kernel's real-mode boot code (bin86)",
    "ld86": "--engine none: the kernel's real-mode boot code (bin86)",
    "strace": "the compat layer's host tests check the system calls guest binaries issue",
    "chromium": "the report's browser test (headless)",
    "pgrep": "tests check that no QEMU outlives the suite",
    "sha256sum": "fetch-sources.sh's manifest",
    "cat": "tests of the process runner",
    "env": "tests of the process runner",
    "sleep": "tests of the process runner",
}

# Programs used only when a user asks for them; not installed by ./inv.
OPTIONAL: dict[str, str] = {
    "docker": "--engine docker, for users who have a Docker engine",
}


def declared(program: str) -> bool:
    """Whether ``program`` (a name or a path's last part) is on the lab's list."""
    name = program.rsplit("/", 1)[-1]
    return name in PROGRAMS or name in OPTIONAL
