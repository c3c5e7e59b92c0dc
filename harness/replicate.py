"""``./inv replicate``: every stage of the study in order, with an overall progress and time estimate.

Each stage is idempotent (it returns its earlier outputs when its inputs are unchanged) and
the bench continues its raw store when it holds the same profile on the same kernels, so
running ``replicate`` again after an interruption resumes where it stopped: finished stages
take a second, finished cells are not measured again.

The time estimate starts from the durations measured on this machine (defaults below) and
is replaced by what the previous runs of this checkout took (``build/replicate.json``);
during the bench it follows the measured time per cell.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from harness import atomic, pipeline
from harness import experiments as ex
from harness.errors import HarnessError
from harness.settings import Settings

Say = Callable[[str], None]

STAGES = ("fetch", "toolchain", "build", "boot-smoke", "image", "conformance", "bench", "lmbench", "report",
          "archive")
# Cold durations measured on the development machine (2 cores, TCG), in seconds.
DEFAULT_SECONDS = {"fetch": 5.0, "toolchain": 70.0, "build": 10.0, "boot-smoke": 3.0, "image": 100.0,
                   "conformance": 25.0, "report": 10.0, "archive": 40.0,
                   "lmbench": 300.0}  # 4 machines; lmbench's own repetition control sets the time
DEFAULT_SECONDS_PER_RUN = 0.7  # a run: at least min_run_s (0.3-0.5 s) when timed, plus the SSH round trip
NO_OP_SECONDS = 3.0  # a stage faster than this did no work: its time is not a useful estimate


@dataclass(frozen=True)
class Replication:
    report: Path
    archive: Path
    verdicts: list[str]
    seconds: float


@dataclass
class Estimate:
    """Expected seconds per stage, learnt from earlier runs of this checkout."""

    path: Path
    stage_seconds: dict[str, float] = field(default_factory=dict)
    seconds_per_run: float = DEFAULT_SECONDS_PER_RUN

    @classmethod
    def load(cls, path: Path) -> Estimate:
        try:
            d = json.loads(path.read_text())
            return cls(path, {str(k): float(v) for k, v in d.get("stage_seconds", {}).items()},
                       float(d.get("seconds_per_run", DEFAULT_SECONDS_PER_RUN)))
        except (OSError, ValueError, AttributeError):
            return cls(path)

    def save(self) -> None:
        atomic.write_text(self.path, json.dumps({"stage_seconds": self.stage_seconds,
                                                 "seconds_per_run": self.seconds_per_run}, indent=2) + "\n")

    def seconds(self, stage: str, profile: ex.Profile, bench_cells: int) -> float:
        if stage == "bench":
            return bench_cells * profile.runs_per_cell * self.seconds_per_run
        return self.stage_seconds.get(stage, DEFAULT_SECONDS[stage])

    def learn(self, stage: str, seconds: float) -> None:
        if stage != "bench" and seconds > NO_OP_SECONDS:
            self.stage_seconds[stage] = round(seconds, 1)


def _fmt(seconds: float) -> str:
    s = int(max(seconds, 0))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


class Display:
    """One overall bar (rich) on a terminal; plain progress lines in logs and CI."""

    def __init__(self, total_stages: int) -> None:
        self.n = total_stages
        self.live = sys.stdout.isatty()
        self.progress = None
        if self.live:
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self.progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                     TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(),
                                     TextColumn("{task.fields[left]}"))
            self.task = self.progress.add_task("replicate", total=1.0, left="")

    def __enter__(self) -> Display:
        if self.progress:
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress:
            self.progress.stop()

    def say(self, msg: str) -> None:
        if self.progress:
            self.progress.console.print(msg, markup=False, highlight=False)
        else:
            print(msg, flush=True)

    def update(self, i: int, stage: str, fraction: float, left: float, note: str = "", line: bool = False) -> None:
        text = f"[{i}/{self.n}] {stage}{(' ' + note) if note else ''}"
        left_text = f"about {_fmt(left)} left"
        if self.progress:
            self.progress.update(self.task, completed=min(fraction, 1.0), description=text, left=left_text)
        elif line:
            print(f"replicate: {text}: {fraction:.0%} done, {left_text}", flush=True)


class _Tracker:
    """Where the replication stands: planned and spent seconds, and the bench's cells."""

    def __init__(self, display: Display, est: Estimate, prof: ex.Profile) -> None:
        self.d, self.est, self.prof = display, est, prof
        self.planned = {s: est.seconds(s, prof, len(ex.cells(prof.name))) for s in STAGES}
        self.spent = 0.0
        self.index = 0
        self.t_stage = time.monotonic()
        self.todo = self.cells_done = 0

    def remaining_after(self, i: int) -> float:
        return sum(self.planned[s] for s in STAGES[i:])

    def show(self, note: str = "", line: bool = False) -> None:
        stage = STAGES[self.index - 1]
        in_stage = time.monotonic() - self.t_stage
        left = max(self.planned[stage] - in_stage, 0.0) + self.remaining_after(self.index)
        total = self.spent + in_stage + left
        self.d.update(self.index, stage, (self.spent + in_stage) / total if total else 1.0, left, note, line)

    def begin(self, i: int) -> None:
        self.index, self.t_stage = i, time.monotonic()
        self.show(line=True)

    def end(self) -> None:
        stage = STAGES[self.index - 1]
        took = time.monotonic() - self.t_stage
        if stage == "bench" and self.cells_done:
            self.est.seconds_per_run = round(took / self.cells_done / self.prof.runs_per_cell, 3)
        self.est.learn(stage, took)
        self.est.save()
        self.planned[stage] = took
        self.spent += took

    def on_plan(self, todo: int) -> None:
        self.todo = todo
        self.planned["bench"] = self.est.seconds("bench", self.prof, todo)
        self.show(f"{todo} cells to run", line=True)

    def on_cell(self, _cell: object) -> None:
        self.cells_done += 1
        if self.cells_done >= 3:  # trust this run's own pace once a few cells are measured
            self.planned["bench"] = (time.monotonic() - self.t_stage) / self.cells_done * max(self.todo, 1)
        self.show(f"{self.cells_done}/{self.todo} cells", line=self.cells_done % 10 == 0)


@dataclass
class _Run:
    """What every stage is given: the settings, options, profile, display and earlier results."""

    settings: Settings
    opts: pipeline.Options
    say: Say
    profile: str
    track: _Tracker
    result: dict[str, object]
    workers: int | None = None  # the bench stage's cluster (harness/fanout), None: serial
    scheduler: str | None = None

    def tell(self, stage: str, msg: str) -> None:
        self.say(f"[{STAGES.index(stage) + 1}/{len(STAGES)}] {stage}{msg}")


def _fetch(r: _Run) -> None:
    from harness import sources

    for s in sources.fetch(r.settings, None, r.opts.allow_unverified):
        r.tell("fetch", f": {s.name}-{s.version} via {s.route}, {'verified' if s.verified else 'UNVERIFIED'}")


def _toolchain(r: _Run) -> object:
    tc = pipeline.toolchain_for(r.settings, r.opts, r.say)
    r.tell("toolchain", f": {tc.image} ({tc.engine.name})")
    return tc


def _build(r: _Run) -> None:
    from harness import toolchain

    tc = r.result.get("toolchain")
    for variant in pipeline.VARIANTS:
        b = pipeline.build_kernel(r.settings, variant, r.opts, r.say,
                                  tc if isinstance(tc, toolchain.Toolchain) else None)
        r.tell("build", f": {variant} bzImage sha256 {b.sha256}{' (unchanged)' if b.skipped else ''}")


def _boot_smoke(r: _Run) -> None:
    smoke = pipeline.boot_smoke(r.settings, "vanilla", r.say)
    r.tell("boot-smoke", f": {smoke.banner!r} ... {smoke.root_line!r} in {smoke.seconds:.1f} s")


def _image(r: _Run) -> None:
    from harness import image

    img = image.ensure(r.settings, r.opts.engine, r.say)
    r.tell("image", f": {img.path} sha256 {img.sha256}{' (unchanged)' if img.skipped else ''}")


def _conformance(r: _Run) -> None:
    for variant in pipeline.VARIANTS:
        res = pipeline.conformance(r.settings, variant, "tcg", r.opts, r.say)
        c = res.counts()
        r.tell("conformance", f" {variant}: {c['PASS']} passed, {c['FAIL']} failed, {c['REFUSED']} refused "
               f"as expected; verdict {res.summary.get('verdict')}")
        pipeline.require_conformance(res, variant)


def _bench(r: _Run) -> Path:
    bo = pipeline.BenchOptions(r.profile, on_plan=r.track.on_plan, on_cell=r.track.on_cell, workers=r.workers,
                               scheduler=r.scheduler)
    out = pipeline.bench(r.settings, bo, r.opts, r.say)
    r.tell("bench", f" ({r.profile}): raw store and summary in {out}")
    return out


def _lmbench(r: _Run) -> Path:
    from harness import lmbench

    res = lmbench.stage(r.settings, r.opts, r.say, profile=r.profile, resume=True)
    r.tell("lmbench", f": {len(res.rows)} runs, {sum(not x.ok for x in res.rows)} failed; table lmbench of {res.store}")
    return res.store


def _report(r: _Run) -> tuple[Path, list[str]]:
    from harness.report import render

    rep = render(r.settings.build / "bench", r.settings.build / "report")
    r.tell("report", f": {rep.html}")
    return (rep.html, [f"{v.claim}: {v.verdict}" for v in rep.verdicts])


def _archive(r: _Run) -> Path:
    from harness import archive

    a = archive.create(r.settings, r.say)
    r.tell("archive", f": {a.path} ({a.size / 2**20:.0f} MiB, {a.members} members)")
    return a.path


# The stages in order, each a function of the run; its return value is kept for later stages.
STAGE_FUNCS: dict[str, Callable[[_Run], object]] = {
    "fetch": _fetch, "toolchain": _toolchain, "build": _build, "boot-smoke": _boot_smoke, "image": _image,
    "conformance": _conformance, "bench": _bench, "lmbench": _lmbench, "report": _report, "archive": _archive,
}
assert tuple(STAGE_FUNCS) == STAGES


def run(settings: Settings, opts: pipeline.Options, say: Say, profile: str = "full", workers: int | None = None,
        scheduler: str | None = None) -> Replication:
    """The whole study; returns where the report and the archive are.

    ``workers``/``scheduler``: the bench stage's Dask cluster; checked before the first stage,
    so that a bad count or an address that does not answer stops the run before any work.
    """
    from harness.fanout import cluster

    ex.check_names(profile, None, None, None, None)
    cluster.check_options(workers, scheduler)
    if scheduler:
        cluster.probe_scheduler(scheduler)
    prof = ex.PROFILES[profile]
    t0 = time.monotonic()
    result: dict[str, object] = {}
    with Display(len(STAGES)) as d:
        track = _Tracker(d, Estimate.load(settings.build / "replicate.json"), prof)
        r = _Run(settings, opts, d.say, profile, track, result, workers, scheduler)
        for i, stage in enumerate(STAGES, 1):
            track.begin(i)
            result[stage] = STAGE_FUNCS[stage](r)
            track.end()
        d.update(len(STAGES), "done", 1.0, 0)
    report, archive = result["report"], result["archive"]
    if not (isinstance(report, tuple) and isinstance(archive, Path)):
        raise HarnessError("replicate: the report or archive stage returned no path")
    return Replication(report[0], archive, report[1], time.monotonic() - t0)
