"""Stage 8, lmbench: lmbench 2alpha (1998) as the independent yardstick, built, run in the guest, stored.

Why: the lab's own programs decide what its experiments measure (issue 10). lmbench is the
field's yardstick of 1996-1999: its bw_pipe times the pipe transport with a workload that
does nothing per byte, bw_file_rd / bw_mmap_rd time file rereads by read() and by mmap, and
its latencies (null system call, context switch, page fault) price the events the mapped
path trades against copies.

- Source: the pinned tree ``lmbench`` of sources/sources.toml (verified like every source).
- Build: the benchmarks with the guest toolchain (musl + compat wrapper, static i386), by
  guest-tools/lmbench/build.sh, from the UNMODIFIED tree: its COPYING-2 forbids publishing
  results of modified benchmarks. The one adaptation is a stub <rpc/rpc.h> on the include
  path (guest-tools/lmbench/include). Skipped when its inputs' hash is unchanged.
- Run: one machine per (kernel, clock), the TCG ones alone, the icount ones side by side
  (one per host core: icount figures count instructions and do not depend on host load);
  the binaries pushed over SFTP and checked by hash;
  a data disk (/dev/hdb, ext2, read-only; the root file system has 4 MiB) holds one 4 MiB
  file of zeros, read twice before the benchmarks, so that the file benchmarks reread a
  cached file (2.0 keeps it in the page cache: the guest has 32 MiB).
  lmbench's own repetition control decides how long each benchmark runs.
- Store: table ``lmbench`` in the raw store file (build/bench/raw.sqlite). A benchmark that
  exits non-zero, is killed, or prints nothing parseable is a failed row WITH its output,
  never a figure.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from harness import atomic, hashing, proc, rawstore
from harness.errors import ConfigError, GuestError, HarnessError
from harness.settings import Settings

if TYPE_CHECKING:  # imported where used: these modules import the pipeline that imports this one
    from harness import pipeline, session
    from harness.guest import Channel

Say = Callable[[str], None]

GUEST_DIR = "/opt/lmbench"
GUEST_FILE = "/lmdata/lmbench.dat"  # on the stage's own data disk (/dev/hdb, ext2, mounted read-only)
FILE_SIZE = "4m"
FILE_BYTES = 4 << 20
RUN_TIMEOUT = 240  # nominal seconds per benchmark, scaled by the guest channel
BENCHMARKS = ("bw_pipe", "lat_pipe", "lat_syscall", "lat_ctx", "bw_mem", "bw_file_rd", "bw_mmap_rd",
              "lat_pagefault")
KERNELS = ("vanilla", "xmmap")
CLOCKS = ("tcg", "icount")
PROFILES = ("quick", "full")
CALIBRATION = ("enough", "timing_o", "loop_o")  # lmbench's config-run: run once, exported to each benchmark
# The quick profile fixes ENOUGH (lmbench's minimum timing interval, us) under TCG at the largest
# of the candidates lmbench's compute_enough() tries (5000 .. 100000) instead of running `enough`:
# on a loaded TCG host its test fails and it falls back to 1 s, and every benchmark then runs
# 15-40 s (about 5 minutes per machine). Under icount the guest's clock counts instructions, the
# test passes at once (0.8 s; it picks 5000 us) and both profiles run it: fixing 100000 there
# would only make each benchmark's 11 timings 20 times longer (about 10 s of wall time each,
# since icount runs the guest about 10 times slower than its clock). TIMING_O and LOOP_O are
# measured in both.
QUICK_ENOUGH = 100000
BUILD_VERSION = "lmbench-build/2"


class LmbenchError(HarnessError):
    """lmbench could not be built or run (not: a benchmark failed in the guest, which is a row)."""


@dataclass(frozen=True)
class Variant:
    """One benchmark invocation: the program, its arguments, and what its figure means."""

    benchmark: str
    args: tuple[str, ...]
    unit: str
    full_only: bool = False  # left out of the quick profile

    @property
    def arguments(self) -> str:
        return " ".join(self.args)

    @property
    def key(self) -> str:
        return f"{self.benchmark} {self.arguments}".strip()


VARIANTS: tuple[Variant, ...] = (
    Variant("bw_pipe", (), "MB/s"),
    Variant("lat_pipe", (), "us"),
    Variant("lat_syscall", ("null",), "us"),
    Variant("lat_ctx", ("-s", "0", "2"), "us"),
    Variant("lat_ctx", ("-s", "0", "8"), "us", full_only=True),
    Variant("bw_mem", ("4m", "bcopy"), "MB/s"),
    Variant("bw_mem", ("4m", "bzero"), "MB/s"),
    Variant("bw_mem", ("4m", "rd"), "MB/s"),
    Variant("bw_file_rd", (FILE_SIZE, "io_only", GUEST_FILE), "MB/s"),
    Variant("bw_file_rd", (FILE_SIZE, "open2close", GUEST_FILE), "MB/s"),
    Variant("bw_mmap_rd", (FILE_SIZE, "mmap_only", GUEST_FILE), "MB/s"),
    Variant("bw_mmap_rd", (FILE_SIZE, "open2close", GUEST_FILE), "MB/s"),
    Variant("lat_pagefault", (GUEST_FILE,), "us"),
)


def variants(profile: str = "full") -> list[Variant]:
    """What a profile runs: quick leaves out the 8-process context switch."""
    if profile not in PROFILES:
        raise ConfigError(f"unknown lmbench profile {profile!r}; valid: {', '.join(PROFILES)}")
    return [v for v in VARIANTS if profile == "full" or not v.full_only]


def check_names(kernels: Iterable[str] | None, clocks: Iterable[str] | None,
                benchmarks: Iterable[str] | None = None) -> None:
    """Bad names fail at once, listing the valid ones."""
    for what, given, valid in (("kernel", kernels, KERNELS), ("clock", clocks, CLOCKS),
                               ("lmbench benchmark", benchmarks, BENCHMARKS)):
        bad = sorted(set(given or ()) - set(valid))
        if bad:
            raise ConfigError(f"unknown {what} {', '.join(map(repr, bad))}; valid: {', '.join(valid)}")


# ---------------------------------------------------------------- output parsing

_NUM = r"([0-9]+(?:\.[0-9]+)?)"
_PATTERNS = {
    "bw_pipe": re.compile(rf"^Pipe bandwidth: {_NUM} MB/sec$", re.M),
    "lat_pipe": re.compile(rf"^Pipe latency: {_NUM} microseconds$", re.M),
    "lat_syscall": re.compile(rf"^Simple syscall: {_NUM} microseconds$", re.M),
    # bandwidth(): "<MB moved> <MB/s>", e.g. "4.00 123.45"
    "bw_mem": re.compile(rf"^{_NUM} {_NUM}$", re.M),
    "bw_file_rd": re.compile(rf"^{_NUM} {_NUM}$", re.M),
    "bw_mmap_rd": re.compile(rf"^{_NUM} {_NUM}$", re.M),
    "lat_pagefault": re.compile(rf"^Pagefaults on \S+: {_NUM} usecs$", re.M),
}


def parse(benchmark: str, args: tuple[str, ...], text: str) -> float | None:
    """The figure a benchmark printed (its unit is the variant's), or None if there is none.

    Formats of lmbench 2alpha: bw_pipe "Pipe bandwidth: X MB/sec"; lat_pipe / lat_syscall
    lib_timing's micro() "NAME: X microseconds"; bw_mem, bw_file_rd, bw_mmap_rd its
    bandwidth() "MB MB/s"; lat_ctx a header '"size=0k ovr=X' then "PROCS US" lines (the
    figure is the line of the last process count asked for); lat_pagefault
    "Pagefaults on FILE: N usecs".
    """
    if benchmark in CALIBRATION:  # one number on stdout
        m = re.fullmatch(rf"\s*{_NUM}\s*", text)
        return float(m.group(1)) if m else None
    if benchmark not in BENCHMARKS:
        raise ConfigError(f"unknown lmbench benchmark {benchmark!r}; valid: {', '.join(BENCHMARKS)}")
    if benchmark == "lat_ctx":
        if '"size=' not in text:
            return None
        procs = args[-1] if args else ""
        m = re.search(rf"^{re.escape(procs)} {_NUM}$", text, re.M)
        return float(m.group(1)) if m else None
    m = _PATTERNS[benchmark].search(text)
    if not m:
        return None
    return float(m.group(m.lastindex or 1))


# ---------------------------------------------------------------- build

@dataclass(frozen=True)
class LmbenchBuild:
    """The guest binaries: where they are, their sha256, BUILDINFO, and the inputs' hash."""

    dir: Path
    hashes: dict[str, str]
    buildinfo: str
    tree_sha256: str
    input_sha256: str
    skipped: bool


def _input_hash(settings: Settings, tree_sha256: str, sysroot: Path) -> str:
    files = sorted(p for d in ("guest-tools/compat", "guest-tools/lmbench") for p in (settings.repo / d).rglob("*")
                   if p.is_file() and "tests" not in p.parts and p.suffix != ".md")
    parts = [BUILD_VERSION, tree_sha256, sysroot.name]
    parts += [f"{p.relative_to(settings.repo)}={hashing.sha256_file(p)}" for p in files]
    return hashing.sha256_text(*parts)


def build(settings: Settings, tree: Path, tree_sha256: str, sysroot: Path, say: Say) -> LmbenchBuild:
    """Build the benchmarks from the verified ``tree`` with the guest toolchain (skipped if unchanged).

    ``sysroot`` is the musl sysroot (image.debian_sources(...)/sysroot, content-addressed).
    """
    out = settings.build / "lmbench" / "bin"
    record = out / "build.json"
    h = _input_hash(settings, tree_sha256, sysroot)
    if record.exists():
        rec = json.loads(record.read_text())
        if rec.get("input_sha256") == h and all(
                (out / n).exists() and hashing.sha256_file(out / n) == d for n, d in rec["hashes"].items()):
            return LmbenchBuild(out, rec["hashes"], (out / "BUILDINFO").read_text(), tree_sha256, h, True)
    log = settings.log_dir / "lmbench-build.log"
    say(f"lmbench: building {', '.join(BENCHMARKS)} for the guest (log: {log})")
    tc = settings.build / "lmbench" / "compat-toolchain"
    with atomic.staged(out) as tmp:
        proc.run(["bash", settings.repo / "guest-tools" / "compat" / "build-compat.sh", sysroot, tc], timeout=600,
                 log=log, what="build-compat.sh")
        proc.run(["sh", settings.repo / "guest-tools" / "lmbench" / "build.sh", tree, tmp, tc / "cc"], timeout=600,
                 log=log, what="lmbench guest build")
        hashes = {n: hashing.sha256_file(tmp / n) for n in BENCHMARKS + CALIBRATION}
        with open(tmp / "BUILDINFO", "a") as f:
            f.write(f"tree-sha256: {tree_sha256}\ninput-sha256: {h}\n")
        atomic.write_text(tmp / "build.json", json.dumps(
            {"input_sha256": h, "tree_sha256": tree_sha256, "hashes": hashes}, indent=2) + "\n")
    return LmbenchBuild(out, hashes, (out / "BUILDINFO").read_text(), tree_sha256, h, False)


# ---------------------------------------------------------------- store

TABLE = """
CREATE TABLE IF NOT EXISTS lmbench (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kernel TEXT NOT NULL, clock TEXT NOT NULL, benchmark TEXT NOT NULL, arguments TEXT NOT NULL,
    figure REAL, unit TEXT NOT NULL, ok INTEGER NOT NULL, status INTEGER, output TEXT NOT NULL,
    binary_sha256 TEXT NOT NULL, kernel_sha256 TEXT NOT NULL, tree_sha256 TEXT NOT NULL,
    session TEXT NOT NULL, time TEXT NOT NULL, seconds REAL
)"""


@dataclass(frozen=True)
class Row:
    """One benchmark run: a figure (ok) or a failure with the output that shows why."""

    kernel: str
    clock: str
    benchmark: str
    arguments: str
    figure: float | None
    unit: str
    ok: bool
    status: int | None
    output: str
    binary_sha256: str
    kernel_sha256: str
    tree_sha256: str
    session: str
    time: str
    seconds: float | None = None


class Store:
    """The ``lmbench`` table of the raw store file (one SQLite file for every kind of row)."""

    def __init__(self, path: Path) -> None:
        # icount machines run in threads and share this connection, one statement at a time
        self.db = rawstore.writable(path, TABLE, threads=True)
        self.lock = threading.Lock()

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def append(self, row: Row) -> None:
        d = asdict(row)
        d["ok"] = int(row.ok)
        cols = ", ".join(d)
        with self.lock:
            self.db.execute(f"INSERT INTO lmbench ({cols}) VALUES ({', '.join('?' for _ in d)})",
                            tuple(d.values()))

    def rows(self) -> list[Row]:
        with self.lock:
            return _rows(self.db)


def _rows(db: sqlite3.Connection) -> list[Row]:
    names = [f for f in Row.__dataclass_fields__]
    cur = db.execute(f"SELECT {', '.join(names)} FROM lmbench ORDER BY id")
    return [Row(**{**dict(zip(names, r, strict=True)), "ok": bool(r[names.index("ok")])}) for r in cur]


def read_rows(path: Path) -> list[Row]:
    """The lmbench rows of a raw store file (none when the file or the table is absent)."""
    if not path.exists():
        return []
    db = rawstore.read_only(path)
    try:
        return _rows(db) if rawstore.has_table(db, "lmbench") else []
    finally:
        db.close()


def make_row(v: Variant, kernel: str, clock: str, status: int | None, output: str, binary_sha256: str,
             kernel_sha256: str, tree_sha256: str, session: str, seconds: float | None = None) -> Row:
    """A row from what the guest said: a figure only for exit 0 and a parseable output."""
    figure = parse(v.benchmark, v.args, output) if status == 0 else None
    return Row(kernel, clock, v.benchmark, v.arguments, figure, v.unit, figure is not None, status, output,
               binary_sha256, kernel_sha256, tree_sha256, session, _now(), seconds)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


# ---------------------------------------------------------------- run

def data_disk(settings: Settings) -> tuple[Path, str]:
    """An ext2 image holding the file the file benchmarks read (4 MiB of zeros); and its hash."""
    d = settings.build / "lmbench" / "data"
    f = d / Path(GUEST_FILE).name
    if not f.exists() or f.stat().st_size != FILE_BYTES:
        atomic.write_bytes(f, bytes(FILE_BYTES))
    img = settings.build / "lmbench" / "data.img"
    if not img.exists():
        with atomic.staged(img) as tmp:
            proc.run(["mke2fs", "-q", "-t", "ext2", "-r", "0", "-b", "1024", "-I", "128", "-O", "none", "-d", d,
                      "-F", tmp, str(FILE_BYTES // 1024 * 5 // 4 + 1024)], timeout=120,
                     log=settings.log_dir / "lmbench-data.log", what="mke2fs")
    return img, hashing.sha256_file(f)


def prepare(ch: Channel, lb: LmbenchBuild, file_sha256: str) -> None:
    """Push the binaries (hash-checked), mount the data disk, check and cache the file."""
    mnt = str(Path(GUEST_FILE).parent)
    ch.check(f"mkdir -p {GUEST_DIR} {mnt} && mount -t ext2 -o ro /dev/hdb {mnt}")
    if ch.guest_sha256(GUEST_FILE) != file_sha256:
        raise LmbenchError(f"{GUEST_FILE} on the data disk does not match its hash")
    for name, digest in lb.hashes.items():
        if ch.put(lb.dir / name, f"{GUEST_DIR}/{name}") != digest:
            raise LmbenchError(f"lmbench binary {name} changed while being pushed")
        ch.check(f"chmod 755 {GUEST_DIR}/{name}")
    ch.check(f"cat {GUEST_FILE} > /dev/null && cat {GUEST_FILE} > /dev/null", timeout=120)


def run_one(ch: Channel, v: Variant, env: str = "") -> tuple[int | None, str, float]:
    """Run one benchmark; lmbench prints on stderr: both streams are kept, stderr first."""
    t0 = time.monotonic()
    r = ch.run(f"cd /tmp && {env} {GUEST_DIR}/{v.benchmark} {v.arguments}".rstrip(), timeout=RUN_TIMEOUT)
    text = r.stderr.decode("utf-8", "replace") + r.stdout.decode("utf-8", "replace")
    return r.status, text, time.monotonic() - t0


def run_machine(settings: Settings, lb: LmbenchBuild, kernel: str, clock: str, guest: session.GuestImage,
                store: Store, session_id: str, profile: str, say: Say, data: tuple[Path, str]) -> list[Row]:
    """One machine for (kernel, clock): push, then every variant of the profile, each stored as it ends."""
    from harness import session
    kernel_sha = hashing.sha256_file(guest.kernel)
    rows: list[Row] = []
    with session.machine(settings, guest, clock=clock, name=f"lmbench-{kernel}-{clock}",
                         data_disk=data[0]) as (m, ch):
        prepare(ch, lb, data[1])
        fixed = profile == "quick" and clock == "tcg"
        env: list[str] = [f"ENOUGH={QUICK_ENOUGH}"] if fixed else []
        calib = [c for c in CALIBRATION if not (fixed and c == "enough")]
        for v in [Variant(c, (), "us") for c in calib] + variants(profile):
            m.mark_console()
            try:
                status, text, secs = run_one(ch, v, " ".join(env))
                if env and v.benchmark not in CALIBRATION:
                    text = f"[lmbench env: {' '.join(env)}]\n{text}"
            except GuestError as e:  # a hang or lost connection: a failed row with what we know
                status, text, secs = None, f"{e}\n{e.detail}".strip(), None
            trouble = m.trouble()
            if trouble:
                text += f"\n[kernel trouble on the console]\n{trouble}"
                status = status if status else -1
            row = make_row(v, kernel, clock, status, text, lb.hashes[v.benchmark], kernel_sha, lb.tree_sha256,
                           session_id, secs)
            store.append(row)
            rows.append(row)
            if v.benchmark in CALIBRATION and row.ok and row.figure is not None:
                env.append(f"{v.benchmark.upper()}={text.strip()}")
            fig = f"{row.figure:g} {row.unit}" if row.ok else f"FAILED (status {status})"
            say(f"lmbench: {kernel}/{clock} {v.key}: {fig}")
            if status is None:  # the channel is gone: the rest cannot run on this machine
                break
    return rows


@dataclass(frozen=True)
class StageResult:
    rows: list[Row]
    build: LmbenchBuild
    store: Path
    seconds: float


def done_rows(rows: list[Row], lb: LmbenchBuild, kernel: str, clock: str, kernel_sha: str,
              profile: str) -> list[Row] | None:
    """The stored rows of one earlier machine that measured this profile with these binaries, if any."""
    mine = [r for r in rows if (r.kernel, r.clock, r.kernel_sha256) == (kernel, clock, kernel_sha)
            and r.binary_sha256 == lb.hashes.get(r.benchmark)]
    for sess in dict.fromkeys(reversed([r.session for r in mine])):
        got = [r for r in mine if r.session == sess]
        if {(v.benchmark, v.arguments) for v in variants(profile)} <= {(r.benchmark, r.arguments) for r in got}:
            return got
    return None


def stage(settings: Settings, opts: pipeline.Options, say: Say, kernels: list[str] | None = None,
          clocks: list[str] | None = None, profile: str = "full", resume: bool = False) -> StageResult:
    """``./inv lmbench`` and the replicate stage: fetch, build, run on each kernel and clock, store.

    ``resume`` (replicate) skips a (kernel, clock) whose rows for the same kernel and binaries
    are already stored, so an interrupted replicate does not measure them again.
    """
    from harness import image, pipeline, sources
    check_names(kernels, clocks)
    variants(profile)
    t0 = time.monotonic()
    src = sources.fetch_one(settings, "lmbench", opts.allow_unverified)
    sysroot = image.debian_sources(settings, say) / "sysroot"
    lb = build(settings, src.tree, src.tree_sha256, sysroot, say)
    img = image.ensure(settings, opts.engine, say)
    data = data_disk(settings)
    path = settings.build / "bench" / "raw.sqlite"
    session_id = uuid.uuid4().hex[:12]
    jobs: list[tuple[str, str, session.GuestImage, str]] = []
    for kernel in kernels or list(KERNELS):
        kb = pipeline.build_kernel(settings, kernel, opts, say)
        jobs += [(kernel, clock, pipeline.session_image(kb.bzimage, img), kb.sha256)
                 for clock in clocks or list(CLOCKS)]
    found: dict[tuple[str, str], list[Row]] = {}
    with Store(path) as store:
        todo = []
        for kernel, clock, guest, kernel_sha in jobs:
            earlier = done_rows(store.rows(), lb, kernel, clock, kernel_sha, profile) if resume else None
            if earlier is not None:
                say(f"lmbench: {kernel}/{clock}: already measured with these binaries (session "
                    f"{earlier[0].session}); skipped")
                found[(kernel, clock)] = earlier
            else:
                todo.append((kernel, clock, guest))

        def run(job: tuple[str, str, session.GuestImage]) -> None:
            kernel, clock, guest = job
            found[(kernel, clock)] = run_machine(settings, lb, kernel, clock, guest, store, session_id, profile,
                                                 say, data)

        # TCG figures measure the host: those machines run alone. Under icount the guest's clock
        # counts instructions, so its figures do not depend on what else runs on the host, and
        # the icount machines run side by side, one per host core.
        for job in todo:
            if job[1] != "icount":
                run(job)
        side_by_side = [j for j in todo if j[1] == "icount"]
        if side_by_side:
            with ThreadPoolExecutor(max_workers=max(1, min(len(side_by_side), os.cpu_count() or 1))) as pool:
                for f in [pool.submit(run, j) for j in side_by_side]:
                    f.result()
    rows = [r for kernel, clock, _, _ in jobs for r in found.get((kernel, clock), [])]
    return StageResult(rows, lb, path, time.monotonic() - t0)


def summary_lines(r: StageResult) -> list[str]:
    """The stage's result as lines: one per row, then where the rows are."""
    lines = [f"{x.kernel:8} {x.clock:6} {x.benchmark:13} {x.arguments:32} "
             + (f"{x.figure:12.4g} {x.unit}" if x.ok and x.figure is not None else f"FAILED (status {x.status})")
             for x in r.rows]
    failed = sum(not x.ok for x in r.rows)
    lines.append(f"lmbench: {len(r.rows)} runs, {failed} failed, in {r.seconds:.0f} s; "
                 f"table lmbench of {r.store}; build {r.build.dir} ({'unchanged' if r.build.skipped else 'built'})")
    return lines
