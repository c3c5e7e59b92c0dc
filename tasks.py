"""Invoke tasks of the pipemap lab: options in, one call into ``harness`` each.

Run ``./inv --list`` for the list; ``./inv <task> --help`` for a task's options.
"""

from __future__ import annotations

import functools
import signal
import sys
from collections.abc import Callable
from typing import Any

from invoke import Collection, task
from invoke.exceptions import Exit

from harness import settings as settings_mod
from harness.errors import HarnessError


def _terminate(signum: int, frame: Any) -> None:
    """SIGTERM (a killed task) unwinds like Ctrl-C, so every machine and temp file is cleaned up."""
    raise KeyboardInterrupt


signal.signal(signal.SIGTERM, _terminate)


def _say(msg: str) -> None:
    print(msg, flush=True)


def lab_task(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a HarnessError into one clear line (plus its detail) and a non-zero exit."""

    @functools.wraps(fn)
    def wrapper(c: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(c, *args, **kwargs)
        except HarnessError as e:
            print(f"error: {e}", file=sys.stderr)
            if e.detail:
                print("\n".join("  " + line for line in e.detail.splitlines()), file=sys.stderr)
            raise Exit(code=1) from None
        except OSError as e:
            # a host failure the harness did not name (disk full, permissions): still one line
            where = f": {e.filename}" if e.filename else ""
            print(f"error: host: {e.strerror or e}{where}", file=sys.stderr)
            raise Exit(code=1) from None
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            raise Exit(code=130) from None

    return wrapper


def _opts(engine: str | None = None, allow_unverified: list[str] | None = None, force: bool = False) -> Any:
    from harness.pipeline import Options

    return Options(engine, frozenset(allow_unverified or ()), force)


ALLOW_HELP = "use this source's override tree even if unverified or differing (repeatable)"
ENGINE_HELP = "container engine: podman (default when installed), docker, or none (build on the host)"


@task(iterable=["source", "allow_unverified"],
      help={"source": "fetch only this source (repeatable; default: all)", "allow_unverified": ALLOW_HELP})
@lab_task
def fetch(c, source=None, allow_unverified=None):
    """Fetch and verify the upstream sources (download, mirror or override)."""
    from harness import sources

    for r in sources.fetch(settings_mod.load(), source or None, frozenset(allow_unverified or ())):
        state = "verified" if r.verified else "UNVERIFIED"
        print(f"{r.name}-{r.version}: {r.route} {state}  tree {r.tree_sha256[:16]}  {r.origin}")
        if r.note:
            print(f"  note: {r.note}")


@task(iterable=["allow_unverified"], help={"engine": ENGINE_HELP, "allow_unverified": ALLOW_HELP})
@lab_task
def toolchain(c, engine=None, allow_unverified=None):
    """Build the period toolchain image (gcc 2.7.2.3) unless it exists already."""
    from harness.pipeline import toolchain_for

    tc = toolchain_for(settings_mod.load(), _opts(engine, allow_unverified), _say)
    print(f"toolchain: {tc.image} ({tc.engine.name}), gcc {tc.gcc}")


@task(iterable=["allow_unverified"],
      help={"variant": "kernel variant (kernel-2.0.36/variants.toml); default vanilla", "engine": ENGINE_HELP,
            "allow_unverified": ALLOW_HELP, "force": "rebuild even if the inputs are unchanged"})
@lab_task
def build(c, variant="vanilla", engine=None, allow_unverified=None, force=False):
    """Build the 2.0.36 kernel (bzImage) of a variant, reproducibly."""
    from harness.pipeline import build_kernel

    kb = build_kernel(settings_mod.load(), variant, _opts(engine, allow_unverified, force), _say)
    print(f"{kb.bzimage}  sha256 {kb.sha256}{'  (unchanged, skipped)' if kb.skipped else ''}")


@task(name="boot-smoke", help={"variant": "kernel variant to boot; default vanilla"})
@lab_task
def boot_smoke(c, variant="vanilla"):
    """Boot the built bzImage under QEMU (TCG): banner and root-mount attempt must appear."""
    from harness.pipeline import boot_smoke as smoke

    r = smoke(settings_mod.load(), variant, _say)
    print(f"boot-smoke passed in {r.seconds:.1f} s\n  {r.banner}\n  {r.root_line}\n  console: {r.console}")


WORKERS_HELP = "run the bench's cells on a LocalCluster of N Dask workers (one machine each) on this host"
SCHEDULER_HELP = "run the bench's cells on an existing Dask cluster: its scheduler's address (tcp://host:8786)"


def _workers(workers: Any) -> int | None:
    from harness.errors import ConfigError

    if workers is None:
        return None
    try:
        return int(workers)
    except ValueError:
        raise ConfigError(f"--workers {workers!r}: not a whole number") from None


@task(iterable=["allow_unverified"], help={"engine": ENGINE_HELP, "allow_unverified": ALLOW_HELP,
                                           "profile": "bench profile: full (default, the replication) or quick",
                                           "workers": WORKERS_HELP, "scheduler": SCHEDULER_HELP})
@lab_task
def replicate(c, engine=None, allow_unverified=None, profile="full", workers=None, scheduler=None):
    """The whole study: fetch, toolchain, build, image, conformance, bench, report, archive (resumable)."""
    from harness.replicate import run

    r = run(settings_mod.load(), _opts(engine, allow_unverified), _say, profile, _workers(workers), scheduler)
    print(f"replicate: done in {r.seconds / 60:.1f} min")
    for line in r.verdicts:
        print(f"  {line}")
    print(f"report:  {r.report}")
    print(f"archive: {r.archive}")


@task(iterable=["allow_unverified"],
      help={"variant": "kernel variant: xmmap (default) or vanilla", "clock": "tcg (default) or icount",
            "allow_unverified": ALLOW_HELP})
@lab_task
def conformance(c, variant="xmmap", clock="tcg", allow_unverified=None):
    """Run the extended-mmap conformance suite in a 2.0.36 guest; table and summary."""
    from rich.console import Console
    from rich.table import Table

    from harness.pipeline import conformance as run
    from harness.pipeline import require_conformance

    r = run(settings_mod.load(), variant, clock, _opts(None, allow_unverified), _say)
    table = Table("status", "case", "rule", "what it checks / result", title=f"conformance on {variant}")
    for case in r.cases:
        table.add_row(case.status, case.case, case.rule, case.message)
    Console(width=160).print(table)
    n = r.counts()
    print(f"conformance {variant}: {n['PASS']} passed, {n['FAIL']} failed, {n['REFUSED']} refused as expected "
          f"of {len(r.cases)} cases; kernel says {r.summary.get('kernel')}, verdict {r.summary.get('verdict')} "
          f"({r.seconds:.0f} s)")
    require_conformance(r, variant)


@task(iterable=["mutant", "allow_unverified"],
      help={"mutant": "one mutant (repeatable; default all of kernel-2.0.36/variants.toml)",
            "allow_unverified": ALLOW_HELP})
@lab_task
def mutants(c, mutant=None, allow_unverified=None):
    """Mutation check: build each deliberately broken kernel; the conformance suite must reject it."""
    from harness.mutants import check

    for r in check(settings_mod.load(), _opts(None, allow_unverified), _say, mutant or None):
        print(f"{r.name}: caught by {', '.join(r.failed)} ({r.seconds:.0f} s)")


VARIANT_HELP = "kernel variant: vanilla (default) or xmmap"
CLOCK_HELP = "tcg (default) or icount (deterministic guest time: -icount shift=0,sleep=off)"


def _guest(variant: str, allow_unverified: list[str] | None = None) -> Any:
    from harness.pipeline import guest_image

    return guest_image(settings_mod.load(), variant, _opts(None, allow_unverified), _say)


@task(iterable=["allow_unverified"], help={"engine": ENGINE_HELP, "allow_unverified": ALLOW_HELP})
@lab_task
def image(c, engine=None, allow_unverified=None):
    """Build the guest root image (busybox, dropbear, sftp-server on musl + our compat layer)."""
    from harness import image as image_mod

    img = image_mod.ensure(settings_mod.load(), engine, _say)
    print(f"{img.path}  sha256 {img.sha256}{'  (unchanged, skipped)' if img.skipped else ''}\n"
          f"  pinned host key: {img.host_key}")


@task(help={"variant": VARIANT_HELP, "clock": CLOCK_HELP, "port": "host port for SSH (default: a free one)"})
@lab_task
def boot(c, variant="vanilla", clock="tcg", port=None):
    """Boot the guest in the foreground: prints the SSH port, then the console; Ctrl-C stops it."""
    from harness import session

    session.boot_foreground(settings_mod.load(), _guest(variant), clock, int(port) if port else None, _say)


@task(help={"variant": VARIANT_HELP, "clock": CLOCK_HELP, "timeout": "seconds (default 300)"})
@lab_task
def run(c, variant="vanilla", clock="tcg", timeout=300):
    """Run a command in the guest: ./inv run -- CMD; exits with the command's status."""
    from harness import session

    cmd = c.remainder  # the words after ``--``, as invoke parsed them
    if not cmd:
        raise Exit("usage: ./inv run -- COMMAND", code=2)
    with session.channel(settings_mod.load(), _guest(variant), clock) as ch:
        r = ch.run(cmd, timeout=float(timeout))
    sys.stdout.buffer.write(r.stdout)
    sys.stderr.buffer.write(r.stderr)
    raise Exit(code=r.status)


@task(help={"local": "file on the host", "remote": "path in the guest", "variant": VARIANT_HELP})
@lab_task
def push(c, local, remote, variant="vanilla"):
    """Copy a file into the guest over SFTP (checked by size and sha256)."""
    from pathlib import Path

    from harness import session

    with session.channel(settings_mod.load(), _guest(variant)) as ch:
        print(f"{local} -> guest:{remote}  sha256 {ch.put(Path(local), remote)}")


@task(help={"remote": "path in the guest", "local": "file on the host", "variant": VARIANT_HELP})
@lab_task
def pull(c, remote, local, variant="vanilla"):
    """Copy a file out of the guest over SFTP (checked by size and sha256)."""
    from pathlib import Path

    from harness import session

    with session.channel(settings_mod.load(), _guest(variant)) as ch:
        print(f"guest:{remote} -> {local}  sha256 {ch.get(remote, Path(local))}")


@task
@lab_task
def console(c):
    """Print the serial console of the machine ./inv boot keeps up."""
    from harness import session
    from harness.errors import HarnessError

    path = session.console_path(settings_mod.load())
    if path is None:
        raise HarnessError("no machine is up: start one with ./inv boot")
    sys.stdout.write(path.read_text("utf-8", "replace").replace("\r", ""))


@task(help={"variant": VARIANT_HELP, "clock": CLOCK_HELP})
@lab_task
def shell(c, variant="vanilla", clock="tcg"):
    """An interactive root shell in the guest (a BSD pty in 2.0)."""
    from harness import session
    from harness.shell import interactive

    with session.channel(settings_mod.load(), _guest(variant), clock) as ch:
        interactive(ch)


@task(iterable=["allow_unverified"],
      help={"ops": "operations (default 100000)", "seed": "random seed (default 1); a failing seed replays",
            "variant": "kernel variant (default xmmap)", "clock": CLOCK_HELP, "allow_unverified": ALLOW_HELP})
@lab_task
def stress(c, ops=100000, seed=1, variant="xmmap", clock="tcg", allow_unverified=None):
    """Random interleavings of mapped and classic pipe/FIFO access, every byte checked."""
    from harness.pipeline import stress as run
    from harness.stress import StressFailed

    r = run(settings_mod.load(), variant, int(ops), int(seed), clock, _opts(None, allow_unverified), _say)
    s, d = r.summary, r.detail
    print(f"stress seed={s.get('seed')} ops={s.get('ops')}: {s.get('mismatches')} mismatches, "
          f"{s.get('sigbus_unexpected')} unexpected SIGBUS, {d.get('errors', '?')} errors, "
          f"{d.get('hangs', '?')} hangs; "
          f"free memory {s.get('mem_before')} -> {s.get('mem_after')}; verdict {s.get('verdict')} ({r.seconds:.0f} s)")
    if not r.ok:
        raise StressFailed(f"stress failed; replay with: ./inv stress --ops {ops} --seed {seed} --clock icount "
                           f"(console: {r.console})")


@task(iterable=["allow_unverified"], help={"variant": "kernel variant (default xmmap)", "allow_unverified": ALLOW_HELP})
@lab_task
def demo(c, variant="xmmap", allow_unverified=None):
    """Show a mapped pipe at work, step by step, in a 2.0.36 guest."""
    from harness.pipeline import demo as run

    print(run(settings_mod.load(), variant, _opts(None, allow_unverified), _say))


@task(name="bench-channel", help={"boots": "boots to time (default 5)", "variant": VARIANT_HELP})
@lab_task
def bench_channel(c, boots=5, variant="vanilla"):
    """Benchmark the guest channel: boot to SSH, round trips, SFTP and the data-disk route."""
    from harness import channelbench

    r = channelbench.run(settings_mod.load(), _guest(variant), _say, boots=int(boots))
    print(f"boot to SSH median {r['boot_to_ssh_median_s']:.2f} s; "
          f"round trip median {r['round_trip_median_ms']:.1f} ms; "
          f"{r['failures']} failures in {r['streak']}; SFTP {r['sftp_upload_mib_s']:.2f} MiB/s; "
          f"data disk {r['data_disk_mib_s']:.2f} MiB/s; goals met: {r['goals_met']}")


@task(name="bench-pipe", iterable=["allow_unverified"],
      help={"variant": "kernel variant (default xmmap)", "clock": CLOCK_HELP, "allow_unverified": ALLOW_HELP})
@lab_task
def bench_pipe(c, variant="xmmap", clock="tcg", allow_unverified=None):
    """Pipe throughput, read()/write() against mmap, at 4 KiB and 64 KiB chunks (a benchmark)."""
    from harness.pipeline import pipe_bench, pipe_medians

    rates = pipe_bench(settings_mod.load(), variant, clock, _opts(None, allow_unverified), _say)
    for method, chunk, median, v in pipe_medians(rates):
        print(f"{variant:8} {clock:6} {method:5} chunk {chunk:6}: median {median:7.1f} MiB/s "
              f"(runs: {', '.join(f'{x:.1f}' for x in v)})")


@task(iterable=["experiment", "tool", "kernel", "clock", "work", "sink", "layout", "allow_unverified"],
      help={"profile": "quick (about 4 minutes here) or full (the replication)",
            "experiment": "E1, E2 or E3 (repeatable; default all)", "tool": "cat, wc or grep (repeatable)",
            "kernel": "vanilla or xmmap (repeatable; default both)",
            "clock": "tcg or icount (repeatable; default both)",
            "work": "E2 work level: none or touch (repeatable; default both; E2 cells only)",
            "sink": "E1/E3 output sink: null, file or pipe (repeatable; default the profile's; E1/E3 only)",
            "layout": "guest tools' build layout: O2 or O2-align (repeatable; default both)",
            "resume": "continue the raw store, skipping cells already done", "allow_unverified": ALLOW_HELP,
            "workers": WORKERS_HELP, "scheduler": SCHEDULER_HELP})
@lab_task
def bench(c, profile="quick", experiment=None, tool=None, kernel=None, clock=None, resume=False,
          work=None, sink=None, layout=None, allow_unverified=None, workers=None, scheduler=None):
    """Experiments E1-E3 on both kernels and clock modes: raw store, statistics, summary."""
    from harness.pipeline import BenchOptions, bench_lines
    from harness.pipeline import bench as run

    bo = BenchOptions(profile, experiment or None, tool or None, kernel or None, clock or None, resume,
                      works=work or None, sinks=sink or None, layouts=layout or None, workers=_workers(workers),
                      scheduler=scheduler or None)
    for line in bench_lines(run(settings_mod.load(), bo, _opts(None, allow_unverified), _say)):
        print(line)


@task(iterable=["kernel", "clock", "allow_unverified"],
      help={"kernel": "vanilla or xmmap (repeatable; default both)",
            "clock": "tcg or icount (repeatable; default both)",
            "profile": "full (default) or quick (leaves out lat_ctx with 8 processes)", "allow_unverified": ALLOW_HELP})
@lab_task
def lmbench(c, kernel=None, clock=None, profile="full", allow_unverified=None):
    """lmbench 2alpha in the guest on each kernel and clock: rows in build/bench/raw.sqlite (table lmbench)."""
    from harness import lmbench as lm

    r = lm.stage(settings_mod.load(), _opts(None, allow_unverified), _say, kernel or None, clock or None, profile)
    for line in lm.summary_lines(r):
        print(line)


@task(help={"scheduler": "the Dask scheduler's address (tcp://host:8786)",
            "nworkers": "worker processes on this host (default 1; at most one per core)"})
@lab_task
def worker(c, scheduler, nworkers=1):
    """A Dask worker for distributed benches, started from this checkout (runs until interrupted)."""
    from harness.fanout.cluster import run_worker

    run_worker(scheduler, int(nworkers), _say)


@task
@lab_task
def archive(c):
    """Pack results, report, patches, sources, images, kernels and records into one RO-Crate tar."""
    from harness import archive as archive_mod

    a = archive_mod.create(settings_mod.load(), _say)
    print(f"{a.path}  {a.size / 2**20:.1f} MiB, {a.members} members ({a.seconds:.0f} s)")


@task(help={"rebuild": "also load the archived toolchain image and rebuild both kernels from the archive"})
@lab_task
def verify(c, archive, rebuild=False):
    """Check an archive offline (hashes, metadata, report re-rendered); --rebuild rebuilds its kernels."""
    from pathlib import Path

    from harness.archive.rebuild import rebuild as rebuild_kernels
    from harness.archive.verify import verify as check

    path = Path(archive)
    v = rebuild_kernels(settings_mod.load(), path, _say)[0] if rebuild else check(path)
    print(f"verify: {path.name}: {v.members} members, {v.bytes / 2**20:.1f} MiB checked; report {v.report}"
          + ("; both kernels rebuilt bit for bit" if rebuild else ""))


@task(help={"compare": "a reference directory (summary.json written by ./inv report) to mark differing figures",
            "results": "results directory with raw.sqlite and provenance.json (default build/bench)",
            "out": "output directory (default build/report)"})
@lab_task
def report(c, compare=None, results=None, out=None):
    """Render the replication report (one self-contained HTML file, cells.csv, summary.json) from the raw store."""
    from pathlib import Path

    from harness.report import render

    s = settings_mod.load()
    r = render(Path(results) if results else s.build / "bench", Path(out) if out else s.build / "report",
               Path(compare) if compare else None)
    for v in r.verdicts:
        print(f"{v.claim} {v.verdict:14} {v.figure}")
    if r.missing_cells:
        print(f"{r.missing_cells} planned cells are missing or partial; figures are from the complete cells only")
    if r.compare_differs is not None:
        print(f"{r.compare_differs} figures differ from the reference {compare} beyond their 95% intervals")
    print(f"report {r.html}\ncells {r.csv}\nsummary {r.summary}")


@task(help={"k": "only tests matching this pytest -k expression", "integration": "run only the integration tests"})
def test(c, k=None, integration=False):
    """Lint (ruff) and run the test suite (unit, and integration where sources are present)."""
    import shlex

    py = sys.executable
    c.run(shlex.join([py, "-m", "ruff", "check", "harness", "tests", "tasks.py"]), pty=False)
    args = [py, "-m", "pytest", "-ra", "tests/integration" if integration else "tests"]
    if k:
        args += ["-k", k]
    c.run(shlex.join(args), pty=False)


@task
def lint(c):
    """ruff and mypy over the harness."""
    import shlex

    c.run(shlex.join([sys.executable, "-m", "ruff", "check", "harness", "tests", "tasks.py"]))
    c.run(shlex.join([sys.executable, "-m", "mypy", "harness"]))


@task(name="pin-source", help={"name": "source name", "tree": "reference tree to pin"})
@lab_task
def pin_source(c, name, tree):
    """Maintainers: pin a source to a reference tree (writes its per-file manifest)."""
    from pathlib import Path

    from harness.sources import pin_tree

    print(f"{name}: tree_sha256 {pin_tree(settings_mod.load(), name, Path(tree))}")


ns = Collection(fetch, toolchain, build, boot_smoke, image, boot, run, push, pull, console, shell, conformance, mutants,
                stress, demo, bench, report, bench_channel, bench_pipe, replicate, archive, verify, test, lint,
                pin_source)
ns.add_task(lmbench)  # issue 10 item 4: lmbench as the independent yardstick
ns.add_task(worker)  # issue 12: a Dask worker for distributed benches
