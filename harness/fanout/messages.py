"""What a bench worker tells the client while a batch runs, and how the client applies it.

Only the client writes the raw store (one SQLite file, one writer). A worker therefore
sends every row as a message the moment its run ends, as a Dask event
(``Worker.log_event`` on a topic named after the bench session, which the client
subscribes to), and the client commits it as it arrives: a ``kill -9`` of the client loses
at most the cells that were running. The messages are plain dicts of plain values (they
go through the scheduler as msgpack), numbered per batch attempt:

- ``start``: a batch (attempt) began on a worker;
- ``say``: a progress line;
- ``run`` / ``counter``: one row of table runs / counters;
- ``drop``: the rows of cells cut short (a machine restarted in the middle of a cell);
- ``cell``: a cell is complete (the progress bar moves).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from harness import experiments as ex
from harness.counters import CounterRun
from harness.rawstore import Run

Message = dict[str, Any]
Post = Callable[[Message], None]


def run_message(run: Run) -> Message:
    d = {f.name: getattr(run, f.name) for f in fields(run) if f.name != "cell"}
    return {"kind": "run", "cell": run.cell.key, "row": d}


def counter_message(run: CounterRun) -> Message:
    d = asdict(run)
    d.pop("cell")
    return {"kind": "counter", "cell": run.cell.key, "row": d}


def run_from(msg: Message) -> Run:
    return Run(ex.Cell.from_key(msg["cell"]), **msg["row"])


def counter_from(msg: Message) -> CounterRun:
    return CounterRun(ex.Cell.from_key(msg["cell"]), **msg["row"])


class EventSink:
    """A Runner's RowSink on a worker: every row and drop becomes an event for the client."""

    def __init__(self, post: Post) -> None:
        self.post = post

    def append(self, run: Run) -> None:
        self.post(run_message(run))

    def append_counter(self, run: CounterRun) -> None:
        self.post(counter_message(run))

    def drop_partial(self, expected_runs: int, keys: Iterable[str]) -> int:
        keys = list(keys)
        self.post({"kind": "drop", "expected": expected_runs, "keys": keys})
        return len(keys)


@dataclass
class Applied:
    """What the client has learnt from the messages so far."""

    finished: set[str] = field(default_factory=set)  # cells complete
    started: dict[int, str] = field(default_factory=dict)  # batch id -> the worker of its latest attempt


class Applier:
    """The client's side: each message applied to the raw store (``sink``) and the display."""

    def __init__(self, sink: Any, say: Callable[[str], None], on_cell: Callable[[ex.Cell], None]) -> None:
        self.sink, self.say, self.on_cell = sink, say, on_cell
        self.state = Applied()

    def apply(self, msg: Message) -> None:
        kind = msg.get("kind")
        if kind == "run":
            self.sink.append(run_from(msg))
        elif kind == "counter":
            self.sink.append_counter(counter_from(msg))
        elif kind == "drop":
            self.sink.drop_partial(int(msg["expected"]), msg["keys"])
        elif kind == "cell":
            self.state.finished.add(msg["cell"])
            self.on_cell(ex.Cell.from_key(msg["cell"]))
        elif kind == "start":
            self.state.started[int(msg["batch"])] = str(msg["worker"])
        elif kind == "say":
            self.say(f"[{msg.get('worker', '?')}] {msg['text']}")
        else:
            raise ValueError(f"unknown bench message kind {kind!r}")
