"""What runs on a Dask worker: one batch of cells on one booted machine, rows sent to the client.

The worker is the bench's Runner (harness/bench.py) with two things changed: its rows go
to the client as messages (messages.EventSink) and its files come from the client by hash
(artifacts). Before booting, a batch takes one of its host's machine slots (a
``distributed.Semaphore`` per host with one lease per core), so that however many workers
share a host, at most one machine per core runs on it.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import bench, hashing, hostinfo, session, vm
from harness import experiments as ex
from harness.errors import HarnessError
from harness.fanout.artifacts import Artifact, WorkerRefused, materialize
from harness.fanout.messages import EventSink, Message
from harness.settings import REPO, Settings, UserConfig
from harness.settings import load as load_settings

SLOT_WAIT = 24 * 3600  # a batch waits for a machine slot of its host as long as it takes


@dataclass(frozen=True)
class BatchSpec:
    """Everything a worker needs for one batch, all of it by value or by hash."""

    batch: int
    attempt: int
    topic: str  # the Dask event topic of this bench session's messages (worker.log_event)
    session_id: str
    code: str  # the client's code_digest(): a worker with other lab code refuses
    kernel: str
    clock: str
    cells: list[ex.Cell]
    profile: ex.Profile
    files: dict[str, Artifact]  # role -> artifact: kernel, rootfs, data, key, tool:<layout>/<name>
    host_key: str
    tool_hashes: dict[str, str]
    layout_info: dict[str, str]
    input_hashes: dict[int, str]
    expected: dict[str, bench.Expected]  # cell key -> its check run's expected output


def code_digest(repo: Path = REPO) -> str:
    """A hash of the lab's Python code (harness/): client and workers must run the same."""
    parts: list[str] = []
    for f in sorted((repo / "harness").rglob("*.py")):
        parts += [str(f.relative_to(repo)), f.read_text()]
    return hashing.sha256_text(*parts)


LOADED_CODE = code_digest()  # the code this process runs (not what is on disk later)


def probe() -> dict[str, Any]:
    """Run on every worker when the client connects: what it can do, said once per worker."""
    try:
        qemu = str(vm.qemu_binary())
    except HarnessError:
        qemu = ""
    return {"host": hostinfo.host_name(), "qemu": qemu, "code": LOADED_CODE, "cores": os.cpu_count() or 1}


def _worker_name() -> str:
    from distributed import get_worker

    return str(get_worker().address)


class Poster:
    """Messages of one batch attempt to the client, numbered so the client knows when it has them all."""

    def __init__(self, topic: str, batch: int, attempt: int) -> None:
        from distributed import get_worker

        self.w = get_worker()
        self.topic, self.batch, self.attempt, self.seq = topic, batch, attempt, 0

    def __call__(self, msg: Message) -> None:
        self.seq += 1
        self.w.log_event(self.topic, {**msg, "worker": str(self.w.address), "batch": self.batch,
                                      "attempt": self.attempt, "seq": self.seq})


@contextlib.contextmanager
def machine_slot(host: str, cores: int) -> Iterator[None]:
    """One of the host's machine slots (one per core) for as long as the block runs."""
    from distributed import Semaphore

    sem = Semaphore(max_leases=cores, name=f"pipemap-machines-{host}")
    if not sem.acquire(timeout=SLOT_WAIT):
        raise HarnessError(f"no machine slot on {host} within {SLOT_WAIT} s")
    try:
        yield
    finally:
        sem.release()


def _settings(state: Path) -> Settings:
    """This worker's settings: its own checkout's build directory, the client's SSH key in ``state``."""
    s = load_settings()
    return Settings(s.repo, s.cache, state, s.build, UserConfig())


def _place(files: dict[str, Path], work: Path) -> tuple[dict[str, Path], Path]:
    """The guest tools as a directory per layout, and a state directory holding the client key."""
    guest: dict[str, Path] = {}
    for role, path in files.items():
        if role.startswith("tool:"):
            layout, name = role[5:].split("/")
            d = guest.setdefault(layout, work / "tools" / layout)
            d.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, d / name)
    key = work / "state" / "ssh" / "id_ed25519"
    key.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    shutil.copyfile(files["key"], key)
    os.chmod(key, 0o600)
    return guest, work / "state"


def run_pickled(spec: bytes, payloads: dict[str, bytes]) -> int:
    """``run_batch`` of a spec pickled by the client (see ``task``)."""
    import pickle

    return run_batch(pickle.loads(spec), payloads)


def task(spec: BatchSpec) -> tuple[Any, bytes]:
    """The Dask task of a batch: a trampoline and the pickled spec.

    The scheduler unpickles every task it receives; a function or argument of the lab's own
    types would make it import the lab. The trampoline is a lambda (pickled by value) that
    imports this module only on the worker, and the spec travels as bytes, so a scheduler
    needs no lab code: any existing Dask cluster will do.
    """
    import pickle

    return (lambda blob, payloads: __import__("harness.fanout.worker", fromlist=["run_pickled"])
            .run_pickled(blob, payloads)), pickle.dumps(spec)


def run_batch(spec: BatchSpec, payloads: dict[str, bytes]) -> int:
    """Run one batch; returns how many messages it sent. Raises WorkerRefused before any machine
    boots when this worker cannot run it as asked.

    ``payloads`` are the files' bytes (scattered by the client, moved by Dask); each is
    checked against its hash on arrival, and a copy this worker already keeps must match too.
    """
    worker = _worker_name()
    post = Poster(spec.topic, spec.batch, spec.attempt)
    post({"kind": "start"})
    info = probe()
    if info["code"] != spec.code:
        raise WorkerRefused(f"worker {worker} runs other lab code ({info['code'][:12]}, the client "
                            f"{spec.code[:12]}): start it from the client's commit")
    if not info["qemu"]:
        raise WorkerRefused(f"worker {worker} on {info['host']} has no qemu-system-i386")
    base = load_settings()
    cas = base.cache / "cas"
    files = {role: materialize(art, cas, functools.partial(payloads.__getitem__, role), worker)
             for role, art in spec.files.items()}
    work = base.build / "fanout" / f"{os.getpid()}-b{spec.batch}-a{spec.attempt}"
    shutil.rmtree(work, ignore_errors=True)
    guest, state = _place(files, work)
    tools = bench.Tools(Path("/nonexistent"), guest, spec.tool_hashes, "", spec.layout_info, Path("/nonexistent"))
    runner = bench.Runner(_settings(state), spec.profile, EventSink(post), tools, files["data"],
                          spec.input_hashes, lambda text: post({"kind": "say", "text": text}), spec.session_id)
    runner.expected.update(spec.expected)
    runner.on_cell = lambda cell: post({"kind": "cell", "cell": cell.key})
    image = session.GuestImage(files["kernel"], files["rootfs"], spec.host_key)
    with machine_slot(info["host"], info["cores"]):
        runner.run_group(spec.kernel, spec.clock, image, spec.cells)
    shutil.rmtree(work, ignore_errors=True)
    return post.seq
