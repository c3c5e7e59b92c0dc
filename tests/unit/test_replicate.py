"""The replication's time estimate: defaults, learning from earlier runs, the bench's pace."""

from __future__ import annotations

from pathlib import Path

from harness import experiments as ex
from harness import replicate


def test_estimate_defaults_and_learning(tmp_path: Path) -> None:
    est = replicate.Estimate.load(tmp_path / "replicate.json")
    quick = ex.PROFILES["quick"]
    assert est.seconds("image", quick, 0) == replicate.DEFAULT_SECONDS["image"]
    assert est.seconds("bench", quick, 80) == 80 * quick.runs_per_cell * replicate.DEFAULT_SECONDS_PER_RUN
    est.learn("image", 0.4)  # a stage that found its outputs current teaches nothing
    est.learn("toolchain", 71.25)
    est.seconds_per_run = 1.2
    est.save()
    again = replicate.Estimate.load(tmp_path / "replicate.json")
    assert again.seconds("image", quick, 0) == replicate.DEFAULT_SECONDS["image"]
    assert again.seconds("toolchain", quick, 0) == 71.2 or again.seconds("toolchain", quick, 0) == 71.3
    assert again.seconds("bench", quick, 10) == 10 * quick.runs_per_cell * 1.2


def test_damaged_estimate_file_falls_back_to_defaults(tmp_path: Path) -> None:
    (tmp_path / "replicate.json").write_text("{not json")
    est = replicate.Estimate.load(tmp_path / "replicate.json")
    assert est.stage_seconds == {} and est.seconds_per_run == replicate.DEFAULT_SECONDS_PER_RUN


class _Display:
    def __init__(self) -> None:
        self.updates: list[tuple[float, float]] = []

    def update(self, i: int, stage: str, fraction: float, left: float, note: str = "", line: bool = False) -> None:
        self.updates.append((fraction, left))


def test_tracker_follows_the_bench_pace(tmp_path: Path) -> None:
    d = _Display()
    t = replicate._Tracker(d, replicate.Estimate(tmp_path / "r.json"), ex.PROFILES["quick"])
    for i in range(1, 7):
        t.begin(i)
        t.end()
    t.begin(7)
    t.on_plan(10)
    for _ in range(5):
        t.on_cell(None)
    fractions = [f for f, _ in d.updates]
    assert all(0 <= f <= 1 for f in fractions)
    # after three cells the estimate is this run's own pace: 10 cells at (nearly) no time each
    assert t.planned["bench"] < 5
    assert d.updates[-1][1] >= t.planned["report"] + t.planned["archive"] - 1e-6
