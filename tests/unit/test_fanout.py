"""The distributed bench's logic without a cluster: batches, messages, files by hash, neighbours.

The cluster itself (LocalCluster, a dask scheduler with dask workers, real QEMU) is
exercised in tests/integration/test_fanout.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import experiments as ex
from harness import hashing, hostinfo
from harness.counters import CounterRun
from harness.errors import ConfigError
from harness.fanout import artifacts, cluster, dispatch, messages
from harness.rawstore import RawStore, Run


def _cells(n: int, kernel: str = "xmmap", clock: str = "icount") -> list[ex.Cell]:
    return [ex.Cell("E2", kernel, clock, "pipemap", "read", "read", 1 << 20, 4096 * (i + 1), "none", "", "O2")
            for i in range(n)]


def test_split_keeps_groups_apart_and_every_cell_once() -> None:
    groups = {("vanilla", "icount"): _cells(66, "vanilla"), ("xmmap", "icount"): _cells(138)}
    batches = dispatch.split(groups, slots=2)
    assert sorted(c.key for b in batches for c in b.cells) == sorted(c.key for g in groups.values() for c in g)
    for b in batches:
        assert {(c.kernel, c.clock) for c in b.cells} == {(b.kernel, b.clock)}
        assert len(b.cells) >= dispatch.MIN_BATCH
    assert [b.id for b in batches] == list(range(len(batches)))
    sizes = [len(b.cells) for b in batches]
    assert sizes == sorted(sizes, reverse=True)  # largest first
    assert max(sizes) - min(sizes) <= 8  # near-equal: the workers finish together
    assert len(batches) >= 2 * dispatch.BATCHES_PER_WORKER - 1


def test_split_keeps_the_plans_order_within_a_group() -> None:
    cells = _cells(20)
    batches = dispatch.split({("xmmap", "icount"): cells}, slots=2)
    joined = [c for b in sorted(batches, key=lambda b: cells.index(b.cells[0])) for c in b.cells]
    assert joined == cells


def test_split_of_a_small_group_is_one_batch() -> None:
    batches = dispatch.split({("xmmap", "icount"): _cells(5)}, slots=8)
    assert len(batches) == 1 and len(batches[0].cells) == 5


def _run(cell: ex.Cell, rep: int) -> Run:
    return Run(cell, rep, False, 3, 10.5, 1.0, 2.0, 0, True, "", 60, "f" * 16, "f" * 16, "t" * 64, "i" * 64,
               "k" * 64, "quick", "s1", "2026-12-02T00:00:00.000+00:00", "2026-12-02T00:00:01.000+00:00",
               "host-a", "tcg:123")


def test_messages_carry_rows_to_the_store_unchanged(tmp_path: Path) -> None:
    from harness import bench

    store = RawStore(tmp_path / "raw.sqlite")
    sink = bench.StoreSink(store)
    cells_done: list[str] = []
    said: list[str] = []
    applier = messages.Applier(sink, said.append, lambda c: cells_done.append(c.key))
    cell = _cells(1)[0]
    posted: list[messages.Message] = []
    q = messages.EventSink(posted.append)
    q.append(_run(cell, 1))
    q.append_counter(CounterRun(cell, True, "", {"faults": 3}, "line", "t" * 64, "k" * 64, "s1", "now"))
    posted += [{"kind": "say", "text": "hello", "worker": "tcp://w:1"}, {"kind": "cell", "cell": cell.key},
               {"kind": "start", "batch": 4, "attempt": 0, "worker": "tcp://w:1"}]
    for m in posted:
        applier.apply(m)
    row = store.db.execute("SELECT cell, rep, real_us, host, beside FROM runs").fetchall()
    assert row == [(cell.key, 1, 10.5, "host-a", "tcg:123")]
    counts = store.db.execute("SELECT counts FROM counters").fetchall()
    assert counts == [('{"faults": 3}',)]
    assert cells_done == [cell.key] and said == ["[tcp://w:1] hello"]
    assert applier.state.started == {4: "tcp://w:1"} and applier.state.finished == {cell.key}
    assert q.drop_partial(99, [cell.key]) == 1  # a cell cut short: 1 of its 99 rows stored
    applier.apply(posted[-1])
    assert store.db.execute("SELECT COUNT(*) FROM runs").fetchone() == (0,)
    store.close()


def test_an_unknown_message_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown bench message kind"):
        messages.Applier(None, print, print).apply({"kind": "gossip"})


def test_a_file_arrives_once_and_is_checked(tmp_path: Path) -> None:
    src = tmp_path / "bzImage"
    src.write_bytes(b"kernel bytes")
    art = artifacts.describe("kernel xmmap (bzImage)", src)
    fetched: list[int] = []

    def fetch() -> bytes:
        fetched.append(1)
        return src.read_bytes()

    cas = tmp_path / "cas"
    p = artifacts.materialize(art, cas, fetch, "tcp://w:1")
    assert p == cas / art.sha256 and p.read_bytes() == b"kernel bytes"
    assert artifacts.materialize(art, cas, fetch, "tcp://w:1") == p
    assert fetched == [1]  # the second batch finds it in the store


def test_a_differing_copy_is_refused_naming_the_file(tmp_path: Path) -> None:
    src = tmp_path / "root.img"
    src.write_bytes(b"the client's image")
    art = artifacts.describe("root image", src)
    cas = tmp_path / "cas"
    cas.mkdir()
    (cas / art.sha256).write_bytes(b"a stale image")
    with pytest.raises(artifacts.WorkerRefused, match=r"worker tcp://w:1: its copy of the root image .* has sha256"):
        artifacts.materialize(art, cas, lambda: b"", "tcp://w:1")
    (cas / art.sha256).unlink()
    with pytest.raises(artifacts.WorkerRefused, match="the root image arrived with sha256"):
        artifacts.materialize(art, cas, lambda: b"damaged in transit", "tcp://w:1")
    assert not (cas / art.sha256).exists()
    assert hashing.sha256_file(src) == art.sha256


def test_other_machines_are_the_other_qemus(tmp_path: Path) -> None:
    proc = tmp_path / "proc"
    for pid, argv in {"10": [b"/usr/bin/qemu-system-i386", b"-icount", b"shift=0"],
                      "11": [b"qemu-system-i386", b"-accel", b"tcg"], "12": [b"/usr/bin/python3", b"qemu"],
                      "13": [b"/usr/bin/qemu-system-i386"]}.items():
        (proc / pid).mkdir(parents=True)
        (proc / pid / "cmdline").write_bytes(b"\0".join(argv) + b"\0")
    (proc / "self").mkdir()
    found = hostinfo.other_machines(13, proc)
    assert found == {"icount:10", "tcg:11"}
    assert hostinfo.beside_text(found) == "icount:10,tcg:11" and hostinfo.beside_text(set()) == ""


def test_worker_counts_are_checked_against_this_machine() -> None:
    limit, why = cluster.local_limit()
    assert limit >= 1 and why
    for bad in (0, -1, limit + 1):
        with pytest.raises(ConfigError, match=rf"--workers {bad}: must be between 1 and {limit} on this machine"):
            cluster.check_options(bad, None)
    cluster.check_options(limit, None)
    with pytest.raises(ConfigError, match="exclude each other"):
        cluster.check_options(1, "tcp://127.0.0.1:8786")
