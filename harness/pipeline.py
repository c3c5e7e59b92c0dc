"""The stages composed: what each task asks for, with its prerequisites.

Every function here is idempotent: a stage whose inputs are unchanged returns its
earlier outputs at once, so ``replicate`` after an interruption resumes where it stopped.
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

# Stages of the study in order; those not yet in the lab are named by `replicate`.
STAGES = ("fetch", "toolchain", "build", "boot-smoke", "image", "conformance", "bench", "report", "archive")
BUILT = ("fetch", "toolchain", "build", "boot-smoke", "image", "conformance", "bench")
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


def replicate(settings: Settings, opts: Options, say: Say, profile: str = "full", resume: bool = True) -> list[str]:
    """Run every stage the lab has; returns the names of the stages not built yet."""
    t0 = time.monotonic()
    n = len(BUILT)
    for r in sources.fetch(settings, None, opts.allow_unverified):
        say(f"[1/{n}] fetch: {r.name}-{r.version} via {r.route}, {'verified' if r.verified else 'UNVERIFIED'}")
    tc = toolchain_for(settings, opts, say)
    say(f"[2/{n}] toolchain: {tc.image} ({tc.engine.name})")
    for variant in VARIANTS:
        build = build_kernel(settings, variant, opts, say, tc)
        say(f"[3/{n}] build: {variant} bzImage sha256 {build.sha256}{' (unchanged)' if build.skipped else ''}")
    smoke = boot_smoke(settings, "vanilla", say)
    say(f"[4/{n}] boot-smoke: {smoke.banner!r} ... {smoke.root_line!r} in {smoke.seconds:.1f} s")
    from harness import image

    img = image.ensure(settings, opts.engine, say)
    say(f"[5/{n}] image: {img.path} sha256 {img.sha256}{' (unchanged)' if img.skipped else ''}")
    for variant in VARIANTS:
        r = conformance(settings, variant, "tcg", opts, say)
        c = r.counts()
        say(f"[6/{n}] conformance {variant}: {c['PASS']} passed, {c['FAIL']} failed, {c['REFUSED']} refused "
            f"as expected; verdict {r.summary.get('verdict')}")
        if not r.ok:
            from harness.conformance import ConformanceFailed

            raise ConformanceFailed(f"conformance on {variant} failed (console: {r.console})")
    out = bench(settings, profile, None, None, None, None, resume, opts, say)
    say(f"[7/{n}] bench ({profile}): raw store and summary in {out}")
    say(f"replicate: {len(BUILT)} stages done in {time.monotonic() - t0:.0f} s")
    return [s for s in STAGES if s not in BUILT]


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
          kernels: list[str] | None, clocks: list[str] | None, resume: bool, opts: Options, say: Say) -> Path:
    """Experiments E1-E3: returns the directory with raw.sqlite and the summary."""
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
    store = b.open_store(settings, resume, say)
    from harness import provenance

    record = provenance.collect(settings, prof, cells, kernels_built, img, tl, hashes, data)
    provenance.write(record, settings.build / "bench")  # before the first run: an interrupted run renders too
    try:
        groups = b.plan(cells, store, prof, seed=19990)
        todo = sum(len(g) for g in groups.values())
        say(f"bench: profile {profile}: {len(cells)} cells, {len(cells) - todo} already done, {todo} to run")
        runner = b.Runner(settings, prof, store, tl, data, hashes, say, uuid.uuid4().hex[:12])
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
