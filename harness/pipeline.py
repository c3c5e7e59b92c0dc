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
    from harness.image import RootImage
    from harness.session import GuestImage

Say = Callable[[str], None]

VARIANTS = ("vanilla", "xmmap")


@dataclass(frozen=True)
class Options:
    engine: str | None = None
    allow_unverified: frozenset[str] = frozenset()
    force: bool = False


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
    return vm.boot_smoke(bz, settings.build / "smoke" / variant, settings.timeout(60))


def guest_tools(settings: Settings) -> Path:
    """The freestanding guest programs (conformance runner, stress, demo), built fresh."""
    from harness import initrun

    out = settings.build / "guest-tools"
    return initrun.build_tools(settings.repo, out, settings.log_dir / "guest-tools.log")


def conformance(settings: Settings, variant: str, clock: str, opts: Options, say: Say):  # noqa: ANN201
    from harness import conformance as conf
    from harness import initrun

    kb = build_kernel(settings, variant, opts, say)
    tools = guest_tools(settings)
    work = initrun.scratch(settings.build, f"conformance-{variant}")
    say(f"conformance: booting {variant} with the runner as init ({clock}; console: {work / 'console.log'})")
    return conf.run(kb.bzimage, variant, tools, work, settings.timeout(900), clock)


def guest_image(settings: Settings, variant: str, opts: Options, say: Say):  # noqa: ANN201
    """Kernel of ``variant`` plus the root image: what ``boot``/``run``/``push`` need."""
    from harness import image, session

    kb = build_kernel(settings, variant, opts, say)
    img = image.ensure(settings, opts.engine, say)
    return session.GuestImage(kb.bzimage, img.path, img.host_key)


def stress(settings: Settings, variant: str, ops: int, seed: int, clock: str, opts: Options, say: Say):  # noqa: ANN201
    from harness import initrun
    from harness import stress as stress_mod

    kb = build_kernel(settings, variant, opts, say)
    tools = guest_tools(settings)
    work = initrun.scratch(settings.build, f"stress-{variant}-seed{seed}")
    say(f"stress: {ops} operations, seed {seed}, on {variant} ({clock}; console: {work / 'console.log'})")
    return stress_mod.run_stress(kb.bzimage, tools, ops, seed, work, settings.timeout(60 + ops / 1000 * 3), clock)


def demo(settings: Settings, variant: str, opts: Options, say: Say) -> str:
    from harness import initrun
    from harness import stress as stress_mod

    kb = build_kernel(settings, variant, opts, say)
    tools = guest_tools(settings)
    work = initrun.scratch(settings.build, f"demo-{variant}")
    return stress_mod.run_demo(kb.bzimage, tools, work, settings.timeout(300))


def pipe_bench(settings: Settings, variant: str, clock: str, opts: Options, say: Say):  # noqa: ANN201
    from harness import conformance as conf
    from harness import initrun

    kb = build_kernel(settings, variant, opts, say)
    work = initrun.scratch(settings.build, f"pipebench-{variant}-{clock}")
    say(f"bench-pipe: {variant} ({clock}; console: {work / 'console.log'})")
    return conf.pipe_bench(kb.bzimage, guest_tools(settings), work, settings.timeout(1200), clock)


def bench(settings: Settings, profile: str, experiments: list[str] | None, tools: list[str] | None,
          kernels: list[str] | None, clocks: list[str] | None, resume: bool | None, opts: Options, say: Say,
          on_plan: Callable[[int], None] | None = None, on_cell: Callable[[object], None] | None = None) -> Path:
    """Experiments E1-E3: returns the directory with raw.sqlite and the summary.

    ``resume`` None continues the raw store when it holds the same profile on the same
    kernels (what ``replicate`` does); ``on_plan`` hears how many cells are left to run and
    ``on_cell`` each cell as it ends (progress displays).
    """
    import uuid

    from harness import bench as b
    from harness import experiments as ex
    from harness import image, stats

    cells = ex.cells(profile, experiments, tools, kernels, clocks)  # bad names fail here, before any work
    prof = ex.PROFILES[profile]
    t0 = time.monotonic()
    kernels_built = {k: build_kernel(settings, k, opts, say) for k in sorted({c.kernel for c in cells})}
    img = image.ensure(settings, opts.engine, say)
    tl = b.build_tools(settings, say, img.busybox)
    data, hashes = b.make_inputs(settings, tl, ex.inputs(profile))
    store = b.open_store(settings, resume, say, profile, {kb.sha256 for kb in kernels_built.values()})
    from harness import provenance

    record = provenance.collect(settings, prof, cells, kernels_built, img, tl, hashes, data)
    provenance.write(record, settings.build / "bench")  # before the first run: an interrupted run renders too
    try:
        groups = b.plan(cells, store, prof, seed=19990)
        todo = sum(len(g) for g in groups.values())
        say(f"bench: profile {profile}: {len(cells)} cells, {len(cells) - todo} already done, {todo} to run")
        if on_plan:
            on_plan(todo)
        runner = b.Runner(settings, prof, store, tl, data, hashes, say, uuid.uuid4().hex[:12])
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
