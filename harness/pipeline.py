"""The stages composed: what each task asks for, with its prerequisites.

Every function here is idempotent: a stage whose inputs are unchanged returns its
earlier outputs at once, so ``replicate`` (harness/replicate.py) after an interruption resumes where it stopped.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from harness import engine as engine_mod
from harness import kernel, sources, toolchain, vm
from harness.settings import Settings

if TYPE_CHECKING:
    from harness.conformance import PipeRate, Result
    from harness.experiments import Cell
    from harness.fanout.cluster import Cluster
    from harness.image import RootImage
    from harness.session import GuestImage
    from harness.stress import StressResult

Say = Callable[[str], None]

VARIANTS = ("vanilla", "xmmap")


@dataclass(frozen=True)
class Options:
    engine: str | None = None
    allow_unverified: frozenset[str] = frozenset()
    force: bool = False


@dataclass(frozen=True)
class BenchOptions:
    """What ``bench`` measures: the profile and its filters (None: all), and the progress hooks.

    ``resume`` None continues the raw store when it holds the same profile on the same
    kernels (what ``replicate`` does); ``on_plan`` hears how many cells are left to run and
    ``on_cell`` each cell as it ends (progress displays).
    """

    profile: str = "quick"
    experiments: list[str] | None = None
    tools: list[str] | None = None
    kernels: list[str] | None = None
    clocks: list[str] | None = None
    resume: bool | None = None
    works: list[str] | None = None
    sinks: list[str] | None = None
    layouts: list[str] | None = None
    on_plan: Callable[[int], None] | None = None
    on_cell: Callable[[object], None] | None = None
    workers: int | None = None  # a LocalCluster of this many workers (harness/fanout)
    scheduler: str | None = None  # an existing Dask cluster's scheduler address


def toolchain_for(settings: Settings, opts: Options, say: Say) -> toolchain.Toolchain:
    gcc = sources.fetch_one(settings, "gcc", opts.allow_unverified)
    eng = engine_mod.select(settings, opts.engine)
    return toolchain.ensure(settings, eng, gcc, say)


def build_kernel(settings: Settings, variant: str, opts: Options, say: Say,
                 tc: toolchain.Toolchain | None = None) -> kernel.KernelBuild:
    kernel.variant(settings, variant)  # an unknown variant fails before any work
    linux = sources.fetch_one(settings, "linux", opts.allow_unverified)
    return kernel.build(settings, variant, linux, tc or toolchain_for(settings, opts, say), opts.force, say)


def boot_smoke(settings: Settings, variant: str, say: Say) -> vm.SmokeResult:
    bz = kernel.out_dir(settings, variant) / "bzImage"
    vm.qemu_binary()
    kvm = vm.kvm_status()
    say(f"boot-smoke: {variant} under TCG ({vm.qemu_version()}; KVM: {kvm.reason})")
    return vm.boot_smoke(bz, settings.build / "smoke" / variant, 60)


def guest_tools(settings: Settings) -> Path:
    """The freestanding guest programs (conformance runner, stress, demo), built fresh."""
    from harness import initrun

    out = settings.build / "guest-tools"
    return initrun.build_tools(settings.repo, out, settings.log_dir / "guest-tools.log")


def conformance(settings: Settings, variant: str, clock: str, opts: Options, say: Say) -> Result:
    from harness import conformance as conf
    from harness import initrun

    kb = build_kernel(settings, variant, opts, say)
    tools = guest_tools(settings)
    work = initrun.scratch(settings.build, f"conformance-{variant}")
    say(f"conformance: booting {variant} with the runner as init ({clock}; console: {work / 'console.log'})")
    return conf.run(kb.bzimage, variant, tools, work, 900, clock)


def guest_image(settings: Settings, variant: str, opts: Options, say: Say) -> GuestImage:
    """Kernel of ``variant`` plus the root image: what ``boot``/``run``/``push`` need."""
    from harness import image, session

    kb = build_kernel(settings, variant, opts, say)
    img = image.ensure(settings, opts.engine, say)
    return session.GuestImage(kb.bzimage, img.path, img.host_key)


def stress(settings: Settings, variant: str, ops: int, seed: int, clock: str, opts: Options,
           say: Say) -> StressResult:
    from harness import initrun
    from harness import stress as stress_mod

    kb = build_kernel(settings, variant, opts, say)
    tools = guest_tools(settings)
    work = initrun.scratch(settings.build, f"stress-{variant}-seed{seed}")
    say(f"stress: {ops} operations, seed {seed}, on {variant} ({clock}; console: {work / 'console.log'})")
    return stress_mod.run_stress(kb.bzimage, tools, ops, seed, work, 60 + ops / 1000 * 3, clock)


def demo(settings: Settings, variant: str, opts: Options, say: Say) -> str:
    from harness import initrun
    from harness import stress as stress_mod

    kb = build_kernel(settings, variant, opts, say)
    tools = guest_tools(settings)
    work = initrun.scratch(settings.build, f"demo-{variant}")
    return stress_mod.run_demo(kb.bzimage, tools, work, 300)


def pipe_bench(settings: Settings, variant: str, clock: str, opts: Options, say: Say) -> list[PipeRate]:
    from harness import conformance as conf
    from harness import initrun

    kb = build_kernel(settings, variant, opts, say)
    work = initrun.scratch(settings.build, f"pipebench-{variant}-{clock}")
    say(f"bench-pipe: {variant} ({clock}; console: {work / 'console.log'})")
    return conf.pipe_bench(kb.bzimage, guest_tools(settings), work, 1200, clock)


def bench(settings: Settings, bo: BenchOptions, opts: Options, say: Say) -> Path:
    """Experiments E1-E3 (what ``bo`` asks for): returns the directory with raw.sqlite and the summary.

    Serial, one machine at a time, unless ``bo`` names a cluster: then the cells run as
    Dask tasks (harness/fanout); the cluster is reached first, so that a bad address or
    worker count fails before anything is built or written.
    """
    from harness import experiments as ex
    from harness.fanout import cluster as fan

    cells = ex.cells(bo.profile, bo.experiments, bo.tools, bo.kernels, bo.clocks, bo.works, bo.sinks,
                     bo.layouts)  # bad names fail here, before any work
    with fan.connect(bo.workers, bo.scheduler, say) as cl:
        return _bench(settings, bo, opts, say, cells, cl)


def _bench(settings: Settings, bo: BenchOptions, opts: Options, say: Say, cells: list[Cell],
           cl: Cluster | None) -> Path:
    import uuid

    from harness import bench as b
    from harness import experiments as ex
    from harness import image, keys, stats

    profile, on_plan, on_cell = bo.profile, bo.on_plan, bo.on_cell
    prof = ex.PROFILES[profile]
    t0 = time.monotonic()
    kernels_built = {k: build_kernel(settings, k, opts, say) for k in sorted({c.kernel for c in cells})}
    img = image.ensure(settings, opts.engine, say)
    tl = b.build_tools(settings, say, img.busybox)
    data, hashes = b.make_inputs(settings, tl, ex.inputs(profile))
    store = b.open_store(settings, bo.resume, say, profile, {kb.sha256 for kb in kernels_built.values()})
    store.record_layouts(tl.layout_info)
    from harness import provenance

    record = provenance.collect(settings, prof, cells, kernels_built, img, tl, hashes, data)
    provenance.write(record, settings.build / "bench")  # before the first run: an interrupted run renders too
    try:
        groups = b.plan(cells, store, prof, seed=19990)
        todo = sum(len(g) for g in groups.values())
        say(f"bench: profile {profile}: {len(cells)} cells, {len(cells) - todo} already done, {todo} to run")
        if on_plan:
            on_plan(todo)
        session_id = uuid.uuid4().hex[:12]
        if cl is not None:
            from harness.fanout import dispatch

            inp = dispatch.Inputs({k: kb.bzimage for k, kb in kernels_built.items()}, img.path, img.host_key,
                                  data, keys.client_key(settings.state), tl, hashes,
                                  settings.build / "bench" / "inputs", prof)
            took = dispatch.run(cl, groups, inp, b.StoreSink(store), say, on_cell or (lambda _c: None), session_id)
            say(f"bench: {todo} cells on {cl.where} in {took:.0f} s")
        else:
            runner = b.Runner(settings, prof, store, tl, data, hashes, say, session_id)
            if on_cell:
                runner.on_cell = on_cell
            done = 0
            for (kernel, clock), group in sorted(groups.items()):
                guest = session_image(kernels_built[kernel].bzimage, img)
                runner.run_group(kernel, clock, guest, group)
                done += len(group)
                say(f"bench: {kernel}/{clock} done ({done}/{todo} cells, {time.monotonic() - t0:.0f} s)")
    finally:
        store.close()
    stats.summarize(b.store_path(settings), settings.build / "bench")
    return settings.build / "bench"


def session_image(kernel: Path, img: RootImage) -> GuestImage:
    from harness import session

    return session.GuestImage(kernel, img.path, img.host_key)


def require_conformance(r: Result, variant: str) -> None:
    """A conformance run passes when every case passed and the runner ran on the kernel asked for.

    The one test of a conformance stage, for ``./inv conformance`` and ``./inv replicate`` alike.
    """
    from harness.conformance import ConformanceFailed

    kernel = r.summary.get("kernel")
    if kernel != variant:
        raise ConformanceFailed(f"conformance on {variant}: the runner reports kernel {kernel!r}, "
                                f"not {variant!r} (console: {r.console})")
    if not r.ok:
        raise ConformanceFailed(f"conformance on {variant} did not pass (console: {r.console})")


def pipe_medians(rates: list[PipeRate]) -> list[tuple[str, int, float, list[float]]]:
    """The pipe benchmark per (method, chunk): its median MiB/s and every run, sorted."""
    import statistics

    cells: dict[tuple[str, int], list[float]] = {}
    for r in rates:
        cells.setdefault((r.method, r.chunk), []).append(r.mib_s)
    return [(m, ch, statistics.median(v), v) for (m, ch), v in sorted(cells.items())]


def bench_lines(out: Path) -> list[str]:
    """The bench summary (``out/summary.json``) as lines: each ratio with its interval, then the files."""
    import json

    from harness.errors import HarnessError

    try:
        summary = json.loads((out / "summary.json").read_text())
        lines = []
        for exp, clocks in summary["experiments"].items():
            for clk, variants in clocks.items():
                for variant, metrics in variants.items():
                    r = metrics.get("real_us")
                    cpu = metrics.get("cpu_us")
                    if r:
                        real = f"real {r['ratio']:.3f} [{r['lo']:.3f}, {r['hi']:.3f}]"
                        both = f"  user+sys {cpu['ratio']:.3f} [{cpu['lo']:.3f}, {cpu['hi']:.3f}]" if cpu else ""
                        lines.append(f"{exp} {clk:14} {variant + '/read':26} {real}{both}  ({r['cells']} cells)")
        lines.append(f"raw store {out / 'raw.sqlite'}; summary {out / 'summary.json'}; "
                     f"{summary['failed_runs']} failed runs")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise HarnessError(f"bench summary {out / 'summary.json'} unreadable: {e}") from None
    return lines
