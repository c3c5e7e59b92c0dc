"""The one way the lab runs a process.

Argv lists only (never a shell string), a mandatory timeout, output to a log file, and
on failure a ``CommandFailed`` whose detail is the output's tail. Each child runs in its
own process group, which is killed on timeout, on Ctrl-C and on any exception, so that no
compiler, container or emulator outlives the task that started it.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness import hostprograms, timeouts
from harness.errors import CommandFailed, ConfigError

TAIL_LINES = 25

# What a child inherits of the host environment: the basics, and the variables the lab
# itself sets or reads (podman's CONTAINERS_* files, XDG dirs, PIPEMAP_* settings).
PASS_NAMES = ("PATH", "HOME", "USER", "LOGNAME", "TMPDIR", "TERM")
PASS_PREFIXES = ("XDG_", "PIPEMAP_", "CONTAINERS_")


def child_env(extra: Mapping[str, str] | None = None, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """A minimal environment for a child: not the whole host environment.

    PATH, HOME, the user, TMPDIR and the lab's XDG_/PIPEMAP_/CONTAINERS_ variables are
    kept, the locale is C, and ``extra`` (what the caller asks for) wins over all of it.
    """
    src = os.environ if base is None else base
    env = {k: v for k, v in src.items() if k in PASS_NAMES or k.startswith(PASS_PREFIXES)}
    env.setdefault("PATH", os.defpath)
    env["LANG"] = env["LC_ALL"] = "C"
    env.update(extra or {})
    return env


@dataclass(frozen=True)
class Result:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    log: Path | None
    stdout_bytes: bytes = b""


def tail(text: str, lines: int = TAIL_LINES) -> str:
    """The last ``lines`` lines of ``text``: what a user needs to see of a failure."""
    return "\n".join(text.rstrip("\n").splitlines()[-lines:])


def file_tail(path: Path, lines: int = TAIL_LINES) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 64 * 1024))
            return tail(f.read().decode("utf-8", "replace"), lines)
    except OSError:
        return ""


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill a child's whole process group and reap the child."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait()


# What a caller holds of a child started by ``spawned``, and what a bounded wait raises:
# named here so that no module outside this one imports subprocess.
Child = subprocess.Popen
WaitTimeout = subprocess.TimeoutExpired

SYSTEM_DIRS = ("/usr/", "/bin/", "/sbin/")


def require_declared(program: str) -> None:
    """Refuse a host program that harness/hostprograms.py does not list.

    Why: that list is what tests/unit/test_host_packages.py checks against the Debian
    packages ./inv installs; a program run without being listed would work here and be
    missing on a bare machine. A path outside the system directories is the lab's own
    artefact (a host build of a guest tool, the venv's Python) and needs no package.
    """
    if "/" in program and not program.startswith(SYSTEM_DIRS):
        return
    if not hostprograms.declared(program):
        raise ConfigError(f"harness bug: host program {program!r} is not listed in harness/hostprograms.py "
                          "(list it, and its Debian package in debian-packages.txt)")


def run(
    argv: Sequence[str | os.PathLike[str]],
    *,
    timeout: float,
    log: Path | None = None,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    capture: bool = False,
    check: bool = True,
    what: str | None = None,
    stdin: bytes | Path | None = None,
    stdout_to: Path | None = None,
) -> Result:
    """Run ``argv`` to completion.

    stdout and stderr go, merged, to ``log`` (appended; a header line names the command).
    With ``capture`` stdout is returned separately in ``Result.stdout`` and only stderr
    goes to the log; ``Result.stdout_bytes`` holds the same bytes undecoded. ``stdin`` is
    bytes or a file fed to the child through a pipe (default: none). ``stdout_to`` sends stdout to that
    file instead (stderr to the log). ``what`` names the step in error messages (default:
    the program). ``timeout`` is nominal seconds: it is scaled here (``timeouts.scaled``),
    the one place, so callers never scale it themselves. The child gets ``child_env(env)``.
    """
    args = tuple(os.fspath(a) for a in argv)
    require_declared(args[0])
    label = what or Path(args[0]).name
    full_env = child_env(env)
    limit = timeouts.scaled(timeout)
    with tempfile.TemporaryDirectory(prefix="pipemap-proc-") as tmp:
        log_path = log if log is not None else Path(tmp) / "output.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        out_path = stdout_to if stdout_to is not None else Path(tmp) / "stdout"
        feed = stdin if isinstance(stdin, bytes) or stdin is None else Path(stdin).read_bytes()
        with open(log_path, "ab") as logf, open(out_path, "wb") as outf:
            logf.write(f"$ {shlex.join(args)}\n".encode())
            logf.flush()
            try:
                proc = subprocess.Popen(
                    args,
                    cwd=cwd,
                    env=full_env,
                    stdin=subprocess.DEVNULL if feed is None else subprocess.PIPE,
                    stdout=outf if capture or stdout_to is not None else logf,
                    stderr=logf,
                    start_new_session=True,
                )
            except FileNotFoundError as e:
                raise CommandFailed(f"{label}: program not found: {args[0]}") from e
            try:
                if feed is None:
                    rc = proc.wait(timeout=limit)
                else:  # through a pipe, never as a file the child could stat
                    proc.communicate(feed, timeout=limit)
                    rc = proc.returncode
            except subprocess.TimeoutExpired:
                kill_group(proc)
                raise CommandFailed(
                    f"{label} timed out after {limit:.0f} s: {shlex.join(args)}",
                    file_tail(log_path),
                ) from None
            finally:
                kill_group(proc)
        raw = out_path.read_bytes() if capture else b""
        stdout = raw.decode("utf-8", "replace")
        if check and rc != 0:
            where = f" (log: {log})" if log is not None else ""
            detail = file_tail(log_path)
            if capture and stdout:
                detail = tail(stdout) + "\n" + detail
            raise CommandFailed(f"{label} failed with exit status {rc}{where}", detail, rc)
        return Result(args, rc, stdout, log, raw)


def output(argv: Sequence[str | os.PathLike[str]], *, timeout: float = 30, **kw: object) -> str:
    """Run a short query command and return its stdout, stripped."""
    return run(argv, timeout=timeout, capture=True, **kw).stdout.strip()  # type: ignore[arg-type]


@contextlib.contextmanager
def spawned(
    argv: Sequence[str | os.PathLike[str]],
    *,
    log: Path,
    env: Mapping[str, str] | None = None,
    die_with_parent: bool = False,
) -> Iterator[subprocess.Popen[bytes]]:
    """Start a long-running child (an emulator) in its own process group.

    The group is killed when the block ends, however it ends: normally, by an exception
    or by Ctrl-C. With ``die_with_parent`` the kernel also kills it if the lab itself is
    killed (SIGKILL leaves no chance to clean up). Output goes to ``log``.
    """
    args = [os.fspath(a) for a in argv]
    require_declared(args[0])
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as logf:
        logf.write(f"$ {shlex.join(args)}\n".encode())
        logf.flush()
        try:
            child = subprocess.Popen(
                args, env=child_env(env), stdin=subprocess.DEVNULL,
                stdout=logf, stderr=logf, start_new_session=True,
                preexec_fn=_die_with_parent if die_with_parent else None,
            )
        except FileNotFoundError as e:
            raise CommandFailed(f"program not found: {args[0]}") from e
    try:
        yield child
    finally:
        kill_group(child)


def _die_with_parent() -> None:
    """In the child: ask the kernel for SIGKILL when the parent dies (prctl PR_SET_PDEATHSIG)."""
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
