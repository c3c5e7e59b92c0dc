"""The client's side of a distributed bench: batches out, rows in, lost batches retried once.

The plan's groups (one per kernel and clock) are cut into batches of consecutive cells,
enough of them to keep every worker busy (about four per worker) but at least
``MIN_BATCH`` cells each, so a boot is shared by several cells; the largest go first. A
batch is one Dask task and one booted machine. While batches run, the client commits each
row its worker sends (messages.Applier) and moves the one progress bar.

When a batch fails (its worker died, or the machine's host failed twice), the rows of its
unfinished cells are dropped and those cells are submitted once more, to another worker if
there is one; a second failure records them as failed and the rest goes on. A worker that
refuses a batch (its files or code differ, no QEMU) is said once and gets no more batches.
"""

from __future__ import annotations

import collections
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from harness import bench
from harness import experiments as ex
from harness.fanout import artifacts
from harness.fanout.cluster import Cluster
from harness.fanout.messages import Applier
from harness.fanout.worker import LOADED_CODE, BatchSpec, task

Say = Callable[[str], None]
MIN_BATCH = 8  # cells per machine at least: a boot costs about one cell
BATCHES_PER_WORKER = 4  # small enough batches that the workers finish together
MESSAGE_WAIT = 60  # seconds for a finished batch's last messages to reach the client


@dataclass(frozen=True)
class Batch:
    id: int
    kernel: str
    clock: str
    cells: list[ex.Cell]


def split(groups: dict[tuple[str, str], list[ex.Cell]], slots: int) -> list[Batch]:
    """The groups cut into near-equal batches of consecutive cells, largest first."""
    total = sum(len(g) for g in groups.values())
    size = max(MIN_BATCH, math.ceil(total / max(slots * BATCHES_PER_WORKER, 1)))
    out: list[Batch] = []
    for (kernel, clock), cells in sorted(groups.items()):
        n = max(1, math.ceil(len(cells) / size))
        bounds = [round(i * len(cells) / n) for i in range(n + 1)]
        out += [Batch(0, kernel, clock, cells[a:b]) for a, b in zip(bounds, bounds[1:], strict=False) if b > a]
    out.sort(key=lambda b: -len(b.cells))
    return [replace(b, id=i) for i, b in enumerate(out)]


@dataclass(frozen=True)
class Inputs:
    """What the batches measure with, as the client has it."""

    kernels: dict[str, Path]  # kernel variant -> bzImage
    rootfs: Path
    host_key: str
    data: Path
    key: Path  # the client's SSH key
    tools: bench.Tools
    input_hashes: dict[int, str]
    inputs_dir: Path  # the inputs on the host: the expected outputs of E1/E3 are computed from them
    profile: ex.Profile


def _files(inp: Inputs) -> dict[str, tuple[str, Path, int]]:
    """role -> (what it is, path, mode) of every file a batch may need."""
    f = {f"kernel:{k}": (f"kernel {k} (bzImage)", p, 0o644) for k, p in inp.kernels.items()}
    f["rootfs"] = ("root image", inp.rootfs, 0o644)
    f["data"] = ("data disk", inp.data, 0o644)
    f["key"] = ("client SSH key", inp.key, 0o600)
    for layout, d in inp.tools.guest.items():
        for name in bench.GUEST_TOOLS:
            f[f"tool:{layout}/{name}"] = (f"guest tool {layout}/{name}", d / name, 0o755)
    return f


class Dispatch:
    def __init__(self, cluster: Cluster, inp: Inputs, sink: bench.RowSink, say: Say,
                 on_cell: Callable[[ex.Cell], None], session_id: str) -> None:
        self.cluster, self.inp, self.sink, self.say = cluster, inp, sink, say
        self.session_id = session_id
        self.applier = Applier(sink, say, on_cell)
        self.usable = dict(cluster.usable)
        self.code = LOADED_CODE
        self.expected: dict[str, bench.Expected] = {}

    def publish(self) -> None:
        """Describe every file by hash and scatter its bytes into the cluster once."""
        client = self.cluster.client
        self.files: dict[str, artifacts.Artifact] = {}
        self.payloads: dict[str, Any] = {}  # role -> the Future of its scattered bytes
        for role, (what, path, mode) in _files(self.inp).items():
            self.files[role] = artifacts.describe(what, path, mode)
            self.payloads[role] = client.scatter(path.read_bytes(), hash=False)

    def _roles(self, b: Batch) -> dict[str, str]:
        """The batch's roles (its one kernel as "kernel") -> the client's roles."""
        mine = [f"kernel:{b.kernel}", "rootfs", "data", "key"] + [r for r in self.files if r.startswith("tool:")]
        return {("kernel" if r.startswith("kernel:") else r): r for r in mine}

    def spec(self, b: Batch, attempt: int, cells: list[ex.Cell], topic: str) -> BatchSpec:
        files = {role: self.files[r] for role, r in self._roles(b).items()}
        t = self.inp.tools
        return BatchSpec(b.id, attempt, topic, self.session_id, self.code, b.kernel, b.clock, cells,
                         self.inp.profile, files, self.inp.host_key, t.hashes, t.layout_info,
                         self.inp.input_hashes, {c.key: self.expected[c.key] for c in cells})

    def run(self, batches: list[Batch]) -> None:
        from distributed import wait

        client = self.cluster.client
        for b in batches:
            for c in b.cells:
                if c.key not in self.expected:
                    self.expected[c.key] = bench.expected_output(self.inp.tools, c, self.inp.inputs_dir)
        self.publish()
        topic = f"pipemap-{self.session_id}-{uuid.uuid4().hex[:6]}"
        inbox: collections.deque[Any] = collections.deque()
        client.subscribe_topic(topic, inbox.append)  # called in the client's event loop: only queue here
        self.received: dict[tuple[int, int], int] = {}
        running: dict[Any, tuple[Batch, int, list[ex.Cell]]] = {}

        def submit(b: Batch, attempt: int, cells: list[ex.Cell], avoid: str = "") -> None:
            where = [w for w in self.usable if w != avoid] or list(self.usable)
            payloads = {role: self.payloads[r] for role, r in self._roles(b).items()}
            fn, blob = task(self.spec(b, attempt, cells, topic))
            fut = client.submit(fn, blob, payloads, pure=False,
                                key=f"pipemap-batch-{self.session_id}-{b.id}-{attempt}-{uuid.uuid4().hex[:6]}",
                                workers=where, allow_other_workers=False)
            running[fut] = (b, attempt, cells)

        for b in batches:
            submit(b, 0, b.cells)
        try:
            while running:
                self._drain(inbox)
                try:
                    done, _ = wait(list(running), timeout=0.5, return_when="FIRST_COMPLETED")
                except TimeoutError:  # distributed.wait raises rather than return nothing
                    continue
                for fut in done:
                    b, attempt, cells = running.pop(fut)
                    if fut.status == "finished":
                        self._await_messages(inbox, b.id, attempt, int(fut.result()))
                        continue
                    self._drain(inbox)
                    self._failed(b, attempt, cells, fut, submit)
            self._drain(inbox)
        finally:
            client.unsubscribe_topic(topic)

    def _drain(self, inbox: collections.deque[Any]) -> None:
        while inbox:
            _, msg = inbox.popleft()
            k = (int(msg["batch"]), int(msg["attempt"]))
            self.received[k] = self.received.get(k, 0) + 1
            self.applier.apply(msg)

    def _await_messages(self, inbox: collections.deque[Any], batch: int, attempt: int, sent: int) -> None:
        """A finished batch's messages travel apart from its result: wait until all have arrived."""
        deadline = time.monotonic() + MESSAGE_WAIT
        while True:
            self._drain(inbox)
            if self.received.get((batch, attempt), 0) >= sent:
                return
            if time.monotonic() > deadline:
                raise bench.BenchError(f"batch {batch}: {sent - self.received.get((batch, attempt), 0)} of its "
                                       f"{sent} messages did not arrive within {MESSAGE_WAIT} s")
            time.sleep(0.05)

    def _failed(self, b: Batch, attempt: int, cells: list[ex.Cell], fut: Any,
                submit: Callable[..., None]) -> None:
        try:
            exc: BaseException | None = fut.exception()
        except Exception as e:  # a cancelled future raises instead of returning its exception
            exc = e
        worker = self.applier.state.started.get(b.id, "?")
        left = [c for c in cells if c.key not in self.applier.state.finished]
        self.sink.drop_partial(self.inp.profile.runs_per_cell, [c.key for c in left])
        if not left:
            return
        first = (str(exc).splitlines() or [""])[0]
        why = f"{type(exc).__name__}: {first}" if exc is not None else "no result"
        if isinstance(exc, artifacts.WorkerRefused):
            self.say(f"bench: {exc}; it gets no more cells")
            self.usable.pop(worker, None)
            if not self.usable:
                raise bench.BenchError(f"no worker is left to run the bench ({exc})")
            submit(b, attempt, left, avoid=worker)
        elif attempt == 0:
            self.say(f"bench: batch {b.id} ({b.kernel}/{b.clock}) failed on worker {worker} ({why}); "
                     f"retrying its {len(left)} unfinished cells once elsewhere")
            submit(b, 1, left, avoid=worker)
        else:
            self.say(f"bench: batch {b.id} ({b.kernel}/{b.clock}) failed twice ({why}); "
                     f"its {len(left)} unfinished cells are recorded as failed")
            for c in left:
                sha = self.files[f"kernel:{c.kernel}"].sha256  # hashed once, when published
                for run in bench.failed_runs(c, f"batch failed twice: {why}"[:500], sha, self.inp.profile,
                                             self.inp.input_hashes.get(c.size, ""), self.session_id, worker):
                    self.sink.append(run)
                self.applier.on_cell(c)


def run(cluster: Cluster, groups: dict[tuple[str, str], list[ex.Cell]], inp: Inputs, sink: bench.RowSink,
        say: Say, on_cell: Callable[[ex.Cell], None], session_id: str) -> float:
    """Run the groups' cells on the cluster; returns the wall time in seconds."""
    t0 = time.monotonic()
    batches = split(groups, cluster.slots)
    n = len(batches)
    say(f"bench: {sum(len(b.cells) for b in batches)} cells in {n} batch{'' if n == 1 else 'es'} on {cluster.where}")
    Dispatch(cluster, inp, sink, say, on_cell, session_id).run(batches)
    return time.monotonic() - t0
