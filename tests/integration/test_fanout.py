"""The distributed bench for real: a LocalCluster, a `dask scheduler` with `dask worker`
processes on 127.0.0.1, real QEMU guests, the raw store written by the client alone.

Every test runs ``./inv bench`` as a user would, on the xmmap kernel's E2 cells under
icount (the clock mode whose figures do not depend on the host), in a build directory of
its own module so that kernels and image are built once.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import statistics
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import experiments as ex
from harness import hashing
from harness.settings import REPO, Settings
from tests import watch

ARGS = ["bench", "--profile", "quick", "--kernel", "xmmap", "--clock", "icount", "--experiment", "E2",
        "--allow-unverified", "gcc"]
CELLS = {c.key for c in ex.cells("quick", ["E2"], None, ["xmmap"], ["icount"])}
O2_CELLS = {c.key for c in ex.cells("quick", ["E2"], None, ["xmmap"], ["icount"], layouts=["O2"])}
PER_CELL = ex.PROFILES["quick"].runs_per_cell
DASK = REPO / ".venv" / "bin" / "dask"
# Under icount a run's guest time counts instructions; what still differs between a serial
# run and two workers is each machine's history (README, "Clock modes and a distributed
# bench"): at most 0.30% measured on these 16 cells, median 0.03%.
RESIDUAL = 0.005


@pytest.fixture(scope="module")
def build(real: Settings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fanout") / "build"


def _env(build: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "PIPEMAP_BUILD": str(build), **extra}


def _inv(build: Path, *args: str, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(REPO / "inv"), *ARGS, *args], env=_env(build), cwd=REPO, capture_output=True,
                          text=True, timeout=timeout)


def _rows(db: Path) -> list[tuple[str, int, float, int, str, str]]:
    with sqlite3.connect(db) as con:
        return con.execute("SELECT cell, warmup, real_us, ok, host, beside FROM runs").fetchall()


def _medians(db: Path) -> dict[str, float]:
    per: dict[str, list[float]] = {}
    for cell, warm, real, ok, _, _ in _rows(db):
        if ok and not warm:
            per.setdefault(cell, []).append(real)
    return {c: statistics.median(v) for c, v in per.items()}


def _complete(db: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for cell, *_ in _rows(db):
        counts[cell] = counts.get(cell, 0) + 1
    return counts


def test_two_local_workers_give_the_serial_medians(build: Path, qemu: str) -> None:
    serial = _inv(build)
    assert serial.returncode == 0, serial.stderr[-3000:]
    db = build / "bench" / "raw.sqlite"
    one = _medians(db)
    par = _inv(build, "--workers", "2")
    assert par.returncode == 0, par.stderr[-3000:]
    assert "cells in 2 batches on a LocalCluster of 2 workers" in par.stdout
    two = _medians(db)
    assert set(one) == set(two) == CELLS
    rows = _rows(db)
    assert all(ok for _, _, _, ok, _, _ in rows) and {h for *_, h, _ in rows} == {socket.gethostname()}
    assert any(b.startswith("icount:") for *_, b in rows)  # the other worker's machine, seen beside
    worst = max(abs(two[c] / one[c] - 1) for c in CELLS)
    assert worst <= RESIDUAL, {c: (one[c], two[c]) for c in CELLS}


@pytest.fixture
def scheduler(tmp_path: Path, build: Path) -> Iterator[tuple[str, list[subprocess.Popen[bytes]]]]:
    """A `dask scheduler` on 127.0.0.1; the test adds its workers to the list (all killed after)."""
    info = tmp_path / "scheduler.json"
    procs = [watch.spawn([str(DASK), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                          "--scheduler-file", str(info)], tmp_path / "scheduler.log", start_new_session=True)]
    try:
        watch.wait_for(lambda: info.exists() and info.stat().st_size > 0, procs[0], 60, "the scheduler's address")
        yield json.loads(info.read_text())["address"], procs
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def _worker(build: Path, address: str, log: Path, nworkers: int = 1, **env: str) -> subprocess.Popen[bytes]:
    return watch.spawn([str(DASK), "worker", address, "--nthreads", "1", "--nworkers", str(nworkers),
                        "--no-dashboard"], log, env=_env(build, PYTHONPATH=str(REPO), **env), cwd=REPO,
                       start_new_session=True)


def _wait_workers(address: str, n: int) -> None:
    from distributed import Client

    with Client(address, timeout=30) as c:
        c.wait_for_workers(n, timeout=120)


def test_scheduler_and_worker_processes_run_the_cells(build: Path, scheduler: tuple, tmp_path: Path,
                                                       qemu: str) -> None:
    address, procs = scheduler
    procs.append(_worker(build, address, tmp_path / "worker-good.log"))
    # a worker whose host lacks QEMU: said once, never given a cell
    procs.append(_worker(build, address, tmp_path / "worker-noqemu.log", PATH="/nonexistent"))
    _wait_workers(address, 2)
    r = _inv(build, "--scheduler", address, "--layout", "O2")
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.count("has no qemu-system-i386; it gets no cells") == 1
    counts = _complete(build / "bench" / "raw.sqlite")
    assert set(counts) == O2_CELLS and set(counts.values()) == {PER_CELL}
    assert all(ok for *_, ok, _, _ in _rows(build / "bench" / "raw.sqlite"))


def test_a_worker_with_other_files_refuses_naming_the_file(build: Path, scheduler: tuple, tmp_path: Path) -> None:
    address, procs = scheduler
    cache = tmp_path / "worker-cache"
    kernel = build / "kernel" / "xmmap" / "bzImage"
    if not kernel.exists():
        pytest.skip("needs the xmmap kernel of this module's build (an earlier test builds it)")
    sha = hashing.sha256_file(kernel)
    (cache / "pipemap" / "cas").mkdir(parents=True)
    (cache / "pipemap" / "cas" / sha).write_bytes(b"not the client's kernel")
    procs.append(_worker(build, address, tmp_path / "worker-stale.log", XDG_CACHE_HOME=str(cache)))
    _wait_workers(address, 1)
    r = _inv(build, "--scheduler", address, "--layout", "O2", timeout=600)
    assert r.returncode != 0
    assert "its copy of the kernel xmmap (bzImage)" in r.stderr and sha[:16] in r.stderr, r.stderr[-2000:]
    assert "error: no worker is left to run the bench" in r.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("task", ["bench", "replicate"])
def test_a_scheduler_that_does_not_answer_is_one_line_within_30_s(tmp_path: Path, task: str) -> None:
    build = tmp_path / "build"
    address = f"tcp://127.0.0.1:{_free_port()}"
    argv = [str(REPO / "inv"), task, "--scheduler", address] + (["--profile", "quick"] if task == "bench" else [])
    t0 = time.monotonic()
    r = subprocess.run(argv, env=_env(build), cwd=REPO, capture_output=True, text=True, timeout=120)
    took = time.monotonic() - t0
    assert r.returncode != 0 and took < 30, (took, r.stderr[-2000:])
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    assert errors == [f"error: the Dask scheduler at {address} did not answer within 20 s (OSError)"], r.stderr
    assert not (build / "bench").exists()  # nothing written


def test_a_lost_worker_is_retried_once_elsewhere(build: Path, scheduler: tuple, tmp_path: Path, qemu: str) -> None:
    address, procs = scheduler
    procs.append(_worker(build, address, tmp_path / "workers.log", nworkers=2))
    _wait_workers(address, 2)
    db = build / "bench" / "raw.sqlite"
    bench = watch.spawn([str(REPO / "inv"), *ARGS, "--scheduler", address], tmp_path / "bench.log",
                        env=_env(build), cwd=REPO, start_new_session=True)
    try:
        watch.wait_for(lambda: db.exists() and any(n == PER_CELL for n in _complete(db).values()), bench, 900,
                       "a first cell complete")
        victim = _qemu_parent()
        os.kill(victim, signal.SIGKILL)  # the worker process; its machine dies with it (PDEATHSIG)
        assert bench.wait(timeout=1800) == 0, watch.tail(bench)
    finally:
        if bench.poll() is None:
            os.killpg(bench.pid, signal.SIGKILL)
            bench.wait()
    out = watch.tail(bench, 200_000)
    assert "retrying its" in out and "unfinished cells once elsewhere" in out, out[-3000:]
    counts = _complete(db)
    assert set(counts) == CELLS and set(counts.values()) == {PER_CELL}


def _qemu_parent(timeout: float = 120) -> int:
    """The pid of a dask worker process that is running a QEMU machine (waits for one to boot)."""
    deadline = time.monotonic() + timeout
    while True:
        out = subprocess.run(["pgrep", "-f", "qemu-system-i386"], capture_output=True, text=True).stdout
        for pid in map(int, out.split()):
            try:
                ppid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
                parent = Path(f"/proc/{ppid}/cmdline").read_bytes()
            except (OSError, ValueError, IndexError):
                continue
            if b"dask" in parent or b"spawn_main" in parent:
                return ppid
        if time.monotonic() > deadline:
            raise AssertionError(f"no machine of a dask worker is running: {out}")
        time.sleep(1)


def test_kill_9_of_the_client_then_resume_loses_at_most_the_running_cells(build: Path, tmp_path: Path,
                                                                          qemu: str) -> None:
    db = build / "bench" / "raw.sqlite"
    argv = [str(REPO / "inv"), *ARGS, "--workers", "2"]
    p = watch.spawn(argv, tmp_path / "killed.log", env=_env(build), cwd=REPO, start_new_session=True)
    try:
        watch.wait_for(lambda: db.exists() and sum(n == PER_CELL for n in _complete(db).values()) >= 2
                       and any(n < PER_CELL for n in _complete(db).values()), p, 900,
                       "two cells complete and another under way")
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
        p.wait()
    before = _complete(db)
    complete = {c for c, n in before.items() if n == PER_CELL}
    assert len([c for c, n in before.items() if n < PER_CELL]) <= 2  # at most the two running cells
    r = subprocess.run([*argv, "--resume"], env=_env(build), cwd=REPO, capture_output=True, text=True,
                       timeout=1800)
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"{len(complete)} already done" in r.stdout
    after = _complete(db)
    assert set(after) == CELLS and set(after.values()) == {PER_CELL}


def test_inv_worker_joins_a_scheduler_and_refuses_an_impossible_count(scheduler: tuple, tmp_path: Path,
                                                                        build: Path) -> None:
    address, procs = scheduler
    r = subprocess.run([str(REPO / "inv"), "worker", address, "--nworkers", "99"], env=_env(build), cwd=REPO,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and "error: --nworkers 99: must be between 1 and" in r.stderr, r.stderr[-2000:]
    procs.append(watch.spawn([str(REPO / "inv"), "worker", address], tmp_path / "inv-worker.log", env=_env(build),
                             cwd=REPO, start_new_session=True))
    _wait_workers(address, 1)  # the lab's own worker task reaches the scheduler
