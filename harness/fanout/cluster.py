"""The Dask cluster a bench runs on: a LocalCluster of ``--workers N``, or ``--scheduler ADDRESS``.

Why Dask: the cells are independent batches of minutes each, and a researcher who
outgrows one machine already has a cluster (a ``dask scheduler`` with ``dask worker``s,
or dask-jobqueue on Slurm); the lab brings only the task. Each worker runs one task at a
time (one thread): one task is one booted machine.

The scheduler is told not to re-run a task whose worker died (``allowed-failures`` 0): the
client itself retries a lost batch once, elsewhere and with only the cells not yet
complete, because a re-run by the scheduler would measure complete cells again.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from harness.errors import ConfigError
from harness.fanout import worker as worker_mod

Say = Callable[[str], None]
CONNECT_TIMEOUT = 20  # seconds for a scheduler to answer: the one line comes well within 30 s
WORKER_WAIT = 60  # seconds for a scheduler without workers to get its first one
MACHINE_MB = 512  # host memory a machine takes (a 32 MiB guest, QEMU's code cache, the worker process)


@dataclass
class Cluster:
    """A connected client and the workers that can run batches (address -> their probe)."""

    client: Any
    usable: dict[str, dict[str, Any]]
    where: str  # for messages: "a LocalCluster of 2 workers" or "the scheduler at tcp://..."

    @property
    def slots(self) -> int:
        return len(self.usable)


def local_limit() -> tuple[int, str]:
    """How many local workers this machine can hold, and why: one machine per core, within its memory."""
    cores = len(os.sched_getaffinity(0))
    mem_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    by_mem = max(1, mem_mb // MACHINE_MB)
    if by_mem < cores:
        return by_mem, f"{mem_mb} MiB of memory at {MACHINE_MB} MiB per machine"
    return cores, f"{cores} cores, one machine per core"


def check_count(option: str, n: int) -> None:
    """Refuse a count of workers (machines) on this host outside 1..local_limit(), naming the limit."""
    limit, why = local_limit()
    if not 1 <= n <= limit:
        raise ConfigError(f"{option} {n}: must be between 1 and {limit} on this machine ({why})")


def check_options(workers: int | None, scheduler: str | None) -> None:
    """Refuse impossible options before any work: both given, or a worker count out of range."""
    if workers is not None and scheduler:
        raise ConfigError("--workers and --scheduler exclude each other: a LocalCluster here, or an existing one")
    if workers is not None:
        check_count("--workers", workers)


def _connect(workers: int | None, scheduler: str | None) -> tuple[Any, Any, str]:
    import dask
    from distributed import Client, LocalCluster

    if workers is not None:
        with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None, silence_logs=logging.ERROR)
        return Client(cluster), cluster, f"a LocalCluster of {workers} worker{'s' if workers > 1 else ''}"
    try:
        client = Client(scheduler, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as e:
        raise ConfigError(f"the Dask scheduler at {scheduler} did not answer within {CONNECT_TIMEOUT} s "
                          f"({type(e).__name__})") from None
    # a lambda travels by value: the scheduler needs no lab code on its import path
    client.run_on_scheduler(lambda dask_scheduler: setattr(dask_scheduler, "allowed_failures", 0))
    return client, None, f"the scheduler at {scheduler}"


def _usable(client: Any, say: Say, where: str) -> dict[str, dict[str, Any]]:
    """Probe every worker once; say once for each worker that cannot run batches, and why."""
    try:
        client.wait_for_workers(1, timeout=WORKER_WAIT)
    except (TimeoutError, OSError):
        raise ConfigError(f"{where} has no worker after {WORKER_WAIT} s (start one: ./inv worker ADDRESS)") from None
    code = worker_mod.LOADED_CODE
    usable = {}
    for addr, info in sorted(client.run(worker_mod.probe).items()):
        if not info["qemu"]:
            say(f"bench: worker {addr} on {info['host']} has no qemu-system-i386; it gets no cells")
        elif info["code"] != code:
            say(f"bench: worker {addr} on {info['host']} runs other lab code ({info['code'][:12]}, this "
                f"checkout {code[:12]}); it gets no cells")
        else:
            usable[addr] = info
    if not usable:
        raise ConfigError(f"no worker of {where} can run the bench (see the lines above)")
    return usable


@contextlib.contextmanager
def connect(workers: int | None, scheduler: str | None, say: Say) -> Iterator[Cluster | None]:
    """The cluster for ``--workers``/``--scheduler`` (None with neither: the serial bench)."""
    check_options(workers, scheduler)
    if workers is None and not scheduler:
        yield None
        return
    client, local, where = _connect(workers, scheduler)
    try:
        usable = _usable(client, say, where)
        say(f"bench: {where}: {len(usable)} usable worker{'s' if len(usable) > 1 else ''} on "
            f"{', '.join(sorted({i['host'] for i in usable.values()}))}")
        yield Cluster(client, usable, where)
    finally:
        client.close()
        if local is not None:
            local.close()


def probe_scheduler(scheduler: str) -> None:
    """Fail within CONNECT_TIMEOUT if ``scheduler`` does not answer (``replicate`` checks before stage 1)."""
    client, _, _ = _connect(None, scheduler)
    client.close()


def worker_argv(scheduler: str, nworkers: int) -> list[str]:
    """``dask worker`` as the lab starts it: one thread per worker process (one task, one machine)."""
    import sys
    from pathlib import Path

    dask = Path(sys.executable).with_name("dask")
    return [str(dask), "worker", scheduler, "--nthreads", "1", "--nworkers", str(nworkers),
            "--no-dashboard"]


def run_worker(scheduler: str, nworkers: int, say: Say) -> None:
    """``./inv worker``: ``dask worker`` until interrupted, with this checkout on its import path."""
    from harness import proc
    from harness.settings import REPO, load

    check_count("--nworkers", nworkers)
    log = load().log_dir / f"dask-worker-{os.getpid()}.log"
    say(f"worker: {' '.join(worker_argv(scheduler, nworkers))} (log: {log}; Ctrl-C stops it)")
    with proc.spawned(worker_argv(scheduler, nworkers), log=log, env={"PYTHONPATH": str(REPO)},
                      die_with_parent=True) as child:
        try:
            child.wait()
        except KeyboardInterrupt:
            return
    if child.returncode:
        raise ConfigError(f"dask worker exited with status {child.returncode} (log: {log})")
