"""Stage 7, bench: experiments E1-E3 in the guest, every run stored as it ends.

Per kernel and clock mode one machine is booted with the inputs on a data disk
(/dev/hdb, ext2 at /data: the NIC is far too slow for megabytes). The disk also has room
for the file sink's output (/data/pipemap-sink: the root file system has a few MiB free,
fewer than a 16 MiB output); QEMU attaches it with snapshot=on, so the guest's writes never
reach the host's image, and the inputs' hashes are checked in the guest after mounting. The
tools are pushed over SFTP and checked by hash, then the cells run in a random order
(seeded): per cell first one untimed check run (stored as rep -1, a warm-up row) whose
output timeit hashes (sink ``hash``; E2 at work ``verify``, every byte checked by pipemap)
and which must match the host's expectation, else the cell is stored as failed, never as
figures; then a calibration run fixes how many runs go into one timing so that a timing
lasts at least ``min_run_s`` (the guest clock ticks every 10 ms), then warm-up runs, then
the measured runs, with the cell's own work level (E2) or sink (E1, E3) and the tools of
the cell's layout (``/opt/pipemap/<layout>/``). ``timeit`` in the guest reports real, user
and system time of the measured program (gettimeofday around it, its rusage from wait4),
and the output's byte count (sinks file, pipe, hash) and hash (sink hash); a timed run
whose status, byte count or hash differs from the expectation is stored as failed too.
A crash or hang restarts the machine and retries the cell once; then the cell is
recorded as failed and the rest goes on.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
import re
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from harness import atomic, counters, hashing, hostinfo, image, proc, session, vm
from harness import experiments as ex
from harness.errors import BootError, GuestError, HarnessError, InfraError
from harness.guest import Channel
from harness.rawstore import RawStore, Run
from harness.settings import Settings

Say = Callable[[str], None]
TIME = re.compile(r"^TIME (.*)$", re.M)
GUEST_DIR = "/opt/pipemap"
DATA_SEED = 1999
RUN_TIMEOUT = 300
CHECK_REP = -1  # the untimed check run's row: rep -1, warmup 1
TIME_KEYS = ("real_us", "user_us", "sys_us")  # what every TIME line must carry
TIME_NUMBERS = ("real_us", "user_us", "sys_us", "status", "out_bytes")


class BenchError(HarnessError):
    """The benchmark could not run (inputs, tools or the store)."""


GUEST_TOOLS = ("timeit", "cat", "wc", "grep", "pipemap")


@dataclass(frozen=True)
class Tools:
    host: Path  # the host build (layout O2): expected outputs, gendata
    guest: dict[str, Path]  # layout -> directory of that layout's guest build
    hashes: dict[str, str]  # "layout/name" -> sha256 of a guest binary (and "busybox": the image's)
    buildinfo: str  # every layout's BUILDINFO, each after a "== layout L ==" line
    layout_info: dict[str, str]  # layout -> its BUILDINFO (compiler, flags, hashes)
    busybox: Path  # the guest's own static busybox; runs on the host too (expected outputs)

    def sha256(self, layout: str, name: str) -> str:
        return self.hashes["busybox" if name == "busybox" else f"{layout}/{name}"]


@dataclass(frozen=True)
class Expected:
    """What a correct run prints: its FNV-1a 64 hash and its byte count."""

    fnv: str
    nbytes: int


_FNV_CACHE: dict[bytes, str] = {}


def fnv1a64(data: bytes) -> str:
    """FNV-1a 64 of ``data`` (what timeit prints); pure Python, so cached per distinct input."""
    hit = _FNV_CACHE.get(data)
    if hit is None:
        hit = _FNV_CACHE[data] = _fnv1a64(data)
    return hit


def _fnv1a64(data: bytes) -> str:
    h = 0xCBF29CE484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def build_tools(settings: Settings, say: Say, busybox: Path) -> Tools:
    """Host build (expected outputs) and guest build (musl + compat, static i386) of the tools."""
    src = settings.repo / "guest-tools" / "tools"
    out = settings.build / "bench" / "tools"
    log = settings.log_dir / "bench-tools.log"
    sysroot = image.debian_sources(settings, say) / "sysroot"
    tc = out / "compat-toolchain"
    proc.run(["bash", settings.repo / "guest-tools" / "compat" / "build-compat.sh", sysroot, tc], timeout=600,
             log=log, what="build-compat.sh")
    proc.run(["sh", src / "build.sh", "host", out / "host"], timeout=600, log=log, what="tools host build")
    guest: dict[str, Path] = {}
    hashes: dict[str, str] = {}
    info: dict[str, str] = {}
    for layout in ex.LAYOUTS:  # one compiler, one source: only where the code sits differs
        d = guest[layout] = out / "guest" / layout
        proc.run(["sh", src / "build.sh", "guest", d, tc / "cc", layout], timeout=600, log=log,
                 what=f"tools guest build ({layout})")
        hashes |= {f"{layout}/{n}": hashing.sha256_file(d / n) for n in GUEST_TOOLS}
        bi = d / "BUILDINFO"
        info[layout] = bi.read_text() if bi.exists() else ""
    hashes["busybox"] = hashing.sha256_file(busybox)
    text = "".join(f"== layout {lay} ==\n{i}" for lay, i in info.items())
    return Tools(out / "host", guest, hashes, text, info, busybox)


def make_inputs(settings: Settings, tools: Tools, sizes: list[int]) -> tuple[Path, dict[int, str]]:
    """Deterministic inputs (gendata, seeded) on an ext2 data disk; returns it and the hashes."""
    d = settings.build / "bench" / "inputs"
    d.mkdir(parents=True, exist_ok=True)
    # mke2fs -d copies the whole folder: inputs of another profile's sizes would overflow the disk
    wanted = {f"in-{s}" for s in sizes}
    for old in d.iterdir():
        if old.name not in wanted:
            old.unlink()
    hashes = {}
    for s in sizes:
        f = d / f"in-{s}"
        if not f.exists() or f.stat().st_size != s:
            with atomic.staged(f) as tmp:
                proc.run([tools.host / "gendata", str(DATA_SEED), str(s)], stdout_to=tmp, timeout=300,
                         log=settings.log_dir / "bench-inputs.log", what="gendata")
        hashes[s] = hashing.sha256_file(f)
    img = settings.build / "bench" / "data.img"
    stamp = img.with_suffix(".json")
    room = max(sizes, default=0)  # the file sink's output is at most the largest input (cat)
    want = json.dumps({**{str(k): v for k, v in sorted(hashes.items())}, "sink_room": room})
    if not img.exists() or not stamp.exists() or stamp.read_text() != want:
        kib = (sum(sizes) + room) // 1024 * 5 // 4 + 4096
        with atomic.staged(img) as tmp:
            proc.run(["mke2fs", "-q", "-t", "ext2", "-r", "0", "-b", "1024", "-I", "128", "-O", "none", "-d", d,
                      "-F", tmp, str(kib)], timeout=300, log=settings.log_dir / "bench-inputs.log", what="mke2fs")
        atomic.write_text(stamp, want)
    return img, hashes


SINK_FILE = "/data/pipemap-sink"  # sink file: on the data disk (ext2), truncated per run by timeit


def command(cell: ex.Cell, runs_inside: int, check: bool = False) -> str:
    """The guest's command line for one timed run of ``cell``, or (``check``) for its untimed check run.

    The check run hashes the output (timeit -s hash) and, in E2, checks every byte (pipemap
    --work=verify). A timed E2 run keeps timeit's sink hash: pipemap prints one line, so the
    hash costs nothing and still checks each timed run's line (the total byte count and the
    reader's verdict), which sink null would leave unchecked.
    """
    d = f"{GUEST_DIR}/{cell.layout}"
    sink = "hash" if check or cell.experiment == "E2" else cell.sink
    t = f"{d}/timeit -n {runs_inside} -s {sink}" + (f" -f {SINK_FILE}" if sink == "file" else "")
    if cell.experiment == "E2":
        work = "verify" if check else cell.work
        return (f"{t} -- {d}/pipemap --writer={cell.writer} --reader={cell.method} --work={work} "
                f"{cell.size} {cell.chunk}")
    args = f"-F {ex.GREP_PATTERN}" if cell.tool == "grep" else ""
    if cell.method == "busybox":
        tool = f"/bin/busybox {cell.tool} {args}".rstrip()
    else:
        tool = f"{d}/{cell.tool} --method={cell.method} {args}".rstrip()
    if cell.experiment == "E1":
        return f"{t} -- {tool} /data/in-{cell.size}"
    return f"{t} -P {d}/cat --method=read /data/in-{cell.size} -- -- {tool}"


def pipemap_line(cell: ex.Cell, work: str) -> str:
    return (f"pipemap bytes={cell.size} chunk={cell.chunk} writer={cell.writer} reader={cell.method} "
            f"work={work} ok\n")


def expected_output(tools: Tools, cell: ex.Cell, inputs_dir: Path, work: str = "verify") -> Expected:
    """What the host build of the same tool prints on the same input (E2: pipemap's line at ``work``)."""
    if cell.experiment == "E2":
        line = pipemap_line(cell, work).encode()
        return Expected(fnv1a64(line), len(line))
    args = ["-F", ex.GREP_PATTERN] if cell.tool == "grep" else []
    f = inputs_dir / f"in-{cell.size}"
    if cell.method == "busybox":
        prog = [str(tools.busybox), cell.tool]
    else:
        prog = [str(tools.host / cell.tool), "--method=read"]
    if cell.experiment == "E1":
        out = proc.run([*prog, *args, str(f)], capture=True, timeout=300,
                       what=f"expected output of {cell.tool}").stdout_bytes
        out = out.replace(str(f).encode(), f"/data/in-{cell.size}".encode())  # wc names its file
    else:
        # through a pipe, as in the guest: a tool may format differently when its input is a
        # file it can stat (wc sizes its columns from st_size, so 8-digit counts differ)
        out = proc.run([*prog, *args], stdin=f, capture=True, timeout=300,
                       what=f"expected output of {cell.tool}").stdout_bytes
    return Expected(fnv1a64(out), len(out))


def parse_time(text: str) -> dict[str, str]:
    m = TIME.search(text)
    if not m:
        raise GuestError(f"timeit printed no TIME line: {text[-300:]!r}")
    pairs = m.group(1).split()
    bad = [kv for kv in pairs if "=" not in kv]
    if bad:
        raise GuestError(f"timeit printed a malformed TIME line (no '=' in {bad[0]!r}): {m.group(0)[:300]!r}")
    t = dict(kv.split("=", 1) for kv in pairs)
    missing = [k for k in TIME_KEYS if k not in t]
    if missing:
        raise GuestError(f"timeit's TIME line lacks {', '.join(missing)}: {m.group(0)[:300]!r}")
    for k in TIME_NUMBERS:
        if k in t:
            try:
                float(t[k])
            except ValueError:
                raise GuestError(f"timeit's TIME line has a non-numeric {k}={t[k]!r}") from None
    return t


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


class RowSink(Protocol):
    """Where a Runner's rows go: the raw store itself (serial), or the client of a distributed bench."""

    def append(self, run: Run) -> None: ...

    def append_counter(self, run: counters.CounterRun) -> None: ...

    def drop_partial(self, expected_runs: int, keys: Iterable[str]) -> int: ...


class StoreSink:
    """The rows of a Runner written straight into the raw store (tables runs and counters)."""

    def __init__(self, store: RawStore) -> None:
        self.store = store

    def append(self, run: Run) -> None:
        self.store.append(run)

    def append_counter(self, run: counters.CounterRun) -> None:
        cs = counters.CounterStore(self.store.path)
        try:
            cs.append(run)
        finally:
            cs.close()

    def drop_partial(self, expected_runs: int, keys: Iterable[str]) -> int:
        return self.store.drop_partial(expected_runs, keys)


@dataclass(frozen=True)
class RunMeta:
    """When one guest run started and ended, and what else ran on the host meanwhile."""

    started_at: str
    finished_at: str
    beside: str


class Runner:
    def __init__(self, settings: Settings, profile: ex.Profile, store: RawStore | RowSink, tools: Tools,
                 data_img: Path, input_hashes: dict[int, str], say: Say, session_id: str) -> None:
        self.settings, self.profile, self.tools = settings, profile, tools
        self.store: RowSink = StoreSink(store) if isinstance(store, RawStore) else store
        self.host = hostinfo.host_name()
        self.last = RunMeta("", "", "")  # the last guest run's times and neighbours (_one sets it)
        self.data_img, self.input_hashes, self.say, self.session_id = data_img, input_hashes, say, session_id
        self.expected: dict[str, Expected] = {}  # cell key -> the check run's expectation
        self.cells_done = 0
        self.inputs_dir = settings.build / "bench" / "inputs"
        self.on_cell: Callable[[ex.Cell], None] = lambda cell: None  # told after each cell ends (progress)

    def prepare(self, ch: Channel) -> None:
        layouts = " ".join(f"{GUEST_DIR}/{lay}" for lay in self.tools.guest)
        ch.check(f"mkdir -p {layouts} /data && mount -t ext2 /dev/hdb /data")  # rw: the sink file (snapshot=on)
        if ch.guest_sha256("/bin/busybox") != self.tools.hashes["busybox"]:
            raise BenchError("the guest's /bin/busybox is not the image's busybox")
        for layout, d in self.tools.guest.items():
            for name in GUEST_TOOLS:
                dest = f"{GUEST_DIR}/{layout}/{name}"
                if ch.put(d / name, dest) != self.tools.sha256(layout, name):
                    raise BenchError(f"tool {layout}/{name} changed while being pushed")
                ch.check(f"chmod 755 {dest}")
        for size, digest in self.input_hashes.items():
            if ch.guest_sha256(f"/data/in-{size}") != digest:
                raise BenchError(f"input in-{size} on the data disk does not match its hash")

    def run_group(self, kernel: str, clock: str, image_: session.GuestImage, cells: list[ex.Cell]) -> None:
        """Run ``cells`` on one machine, restarting it after a failure.

        A guest failure (BootError, GuestError and its GuestTimeout, wrong output) retries
        the cell once on a fresh machine, then records it as failed. A host failure
        (InfraError, or an OSError such as a full disk) is retried once too, but never
        recorded as a failed cell: the second one stops the run with one line.
        """
        pending = list(cells)
        retried: set[str] = set()
        infra_retried = False
        while pending:
            try:
                try:
                    with session.machine(self.settings, image_, clock=clock, name=f"bench-{kernel}-{clock}",
                                         data_disk=self.data_img) as (m, ch):
                        self.prepare(ch)
                        while pending:
                            cell = pending[0]
                            self.run_cell(m, ch, cell, hashing.sha256_file(image_.kernel))
                            pending.pop(0)
                            self.on_cell(cell)
                except OSError as e:
                    raise InfraError(f"host failure during the bench: {e}") from e
            except InfraError as e:
                self.store.drop_partial(self.profile.runs_per_cell, [pending[0].key])
                if infra_retried:
                    raise InfraError(f"bench stopped: host failure twice ({e}); no cell was recorded as failed",
                                     e.detail) from e
                self.say(f"bench: {pending[0].key}: host failure ({e}); restarting the machine and retrying once")
                infra_retried = True
            except (GuestError, BootError, BenchError) as e:
                cell = pending[0]
                self.store.drop_partial(self.profile.runs_per_cell, [cell.key])
                if cell.key in retried:
                    self.say(f"bench: {cell.key} failed twice ({e}); recorded as failed")
                    self.record_failed(cell, str(e), hashing.sha256_file(image_.kernel))
                    pending.pop(0)
                    self.on_cell(cell)
                else:
                    self.say(f"bench: {cell.key}: {e}; restarting the machine and retrying the cell once")
                    retried.add(cell.key)

    def _one(self, m: vm.Machine, ch: Channel, cell: ex.Cell, runs_inside: int,
             check: bool = False) -> tuple[dict[str, str], str]:
        m.mark_console()
        process = getattr(m, "process", None)  # None for a fake machine in unit tests
        own = process.pid if process is not None else None
        started, before = _now(), hostinfo.other_machines(own)
        r = ch.run(command(cell, runs_inside, check), timeout=RUN_TIMEOUT)  # scaled by the channel
        self.last = RunMeta(started, _now(), hostinfo.beside_text(before | hostinfo.other_machines(own)))
        trouble = m.trouble()
        if trouble:
            raise BootError("kernel trouble on the console during the run", trouble)
        t = parse_time(r.text)
        err = "" if r.status == 0 else r.stderr.decode("utf-8", "replace")[-300:]
        return t, err

    def run_cell(self, m: vm.Machine, ch: Channel, cell: ex.Cell, kernel_sha: str) -> None:
        self.cells_done += 1
        self.say(f"bench: [{self.cells_done}] {cell.key}")
        exp = self.expected.get(cell.key)
        if exp is None:
            exp = self.expected[cell.key] = expected_output(self.tools, cell, self.inputs_dir)
        # rows: rep -1 the check, rep 0 the calibration, 1..warmup the warm-ups (all warmup=1), 1..reps timed
        t, err = self._one(m, ch, cell, 1, check=True)
        if not self._store(cell, CHECK_REP, True, 1, t, err, exp, kernel_sha, check=True):
            self.record_failed(cell, f"check run failed: {self._why(t, err, exp)}", kernel_sha,
                               first=0)
            return
        timed = exp if cell.experiment != "E2" else expected_output(self.tools, cell, self.inputs_dir, cell.work)
        calib, err = self._one(m, ch, cell, 1)
        runs_inside = self._inside(calib, cell)
        self._store(cell, 0, True, 1, calib, err, timed, kernel_sha)
        for i in range(self.profile.warmup):
            t, err = self._one(m, ch, cell, runs_inside)
            if self._store(cell, i + 1, True, runs_inside, t, err, timed, kernel_sha):
                # a warm-up calibrates again: a first run can be far slower than the rest (the
                # first write of the sink file on the guest's root took seconds, later ones ms)
                runs_inside = self._inside(t, cell)
        for i in range(self.profile.reps):
            t, err = self._one(m, ch, cell, runs_inside)
            self._store(cell, i + 1, False, runs_inside, t, err, timed, kernel_sha)
        counters.after_cell(self, m, ch, cell, kernel_sha)  # E2 only: one untimed --counters run, stored

    def _inside(self, t: dict[str, str], cell: ex.Cell) -> int:
        """Runs inside one timing so that it lasts at least the profile's minimum for the cell's clock,
        from a run's per-run real time (taken as at least 10 us)."""
        least = self.profile.min_run_for(cell.clock)
        return max(1, math.ceil(least / max(float(t["real_us"]) / 1e6, 1e-5)))

    def _sink(self, cell: ex.Cell, check: bool) -> str:
        return "hash" if check or cell.experiment == "E2" else cell.sink

    def _why(self, t: dict[str, str], err: str, exp: Expected) -> str:
        """Why a run is not a good one ("" if it is): its status, then its output against ``exp``."""
        if err:
            return err
        status = int(t.get("status", "-1"))
        if status != 0:
            return f"status {status}"
        sink = t.get("sink", "hash")
        if sink == "hash" and t.get("out_fnv") != exp.fnv:
            return f"output hash {t.get('out_fnv')} != expected {exp.fnv}"
        if sink in ("hash", "pipe", "file") and t.get("out_bytes") != str(exp.nbytes):
            return f"output bytes {t.get('out_bytes')} != expected {exp.nbytes}"
        return ""

    def _store(self, cell: ex.Cell, rep: int, warmup: bool, runs_inside: int, t: dict[str, str], err: str,
               exp: Expected, kernel_sha: str, check: bool = False) -> bool:
        status = int(t.get("status", "-1"))
        error = self._why(t, err, exp)
        if not error and t.get("sink", "hash") != self._sink(cell, check):
            error = f"timeit used sink {t.get('sink')}, not {self._sink(cell, check)}"
        ok = not error
        tool = "pipemap" if cell.experiment == "E2" else "busybox" if cell.method == "busybox" else cell.tool
        self.store.append(Run(
            cell, rep, warmup, runs_inside,
            float(t["real_us"]) if ok else None, float(t["user_us"]) if ok else None,
            float(t["sys_us"]) if ok else None, status, ok, error,
            int(t["out_bytes"]) if "out_bytes" in t else None,
            t.get("out_fnv", ""), exp.fnv, self.tools.sha256(cell.layout, tool), self.input_hashes.get(cell.size, ""),
            kernel_sha, self.profile.name, self.session_id, self.last.started_at, self.last.finished_at,
            self.host, self.last.beside))
        return ok

    def record_failed(self, cell: ex.Cell, error: str, kernel_sha: str, first: int = CHECK_REP) -> None:
        """The rows of a failed cell (never a figure), from rep ``first`` on: ``first`` 0 when its
        check row is stored already."""
        for run in failed_runs(cell, error, kernel_sha, self.profile, self.input_hashes.get(cell.size, ""),
                               self.session_id, self.host, first):
            self.store.append(run)


def failed_runs(cell: ex.Cell, error: str, kernel_sha: str, profile: ex.Profile, input_sha: str, session_id: str,
                host: str, first: int = CHECK_REP) -> list[Run]:
    """A failed cell's rows: the same (rep, warmup) pairs as a measured cell, no figures, the error."""
    p = profile
    rows = [(CHECK_REP, True), (0, True), *((i + 1, True) for i in range(p.warmup)),
            *((i + 1, False) for i in range(p.reps))]
    return [Run(cell, rep, warm, 0, None, None, None, None, False, error, None, "", "", "", input_sha, kernel_sha,
                p.name, session_id, _now(), _now(), host)
            for rep, warm in rows[0 if first == CHECK_REP else 1:]]


def store_path(settings: Settings) -> Path:
    return settings.build / "bench" / "raw.sqlite"


def store_mismatch(path: Path, profile: str, kernel_shas: set[str]) -> str | None:
    """Why the store at ``path`` cannot be continued by this run (None: it can, or it is empty).

    A store holds one profile measured on one pair of kernels; continuing it with another
    profile or rebuilt kernels would mix incomparable runs in one summary.
    """
    if not path.exists():
        return None
    store = RawStore(path)
    try:
        if store.legacy:
            return "it is a store of the previous design (no work, sink and layout columns)"
        profiles, kernels = store.values("profile"), store.values("kernel_sha256")
    finally:
        store.close()
    if profiles - {profile}:
        return f"it holds profile {', '.join(sorted(map(str, profiles)))}, not {profile}"
    if kernels - kernel_shas:
        return "it was measured on kernels that differ from the ones built now"
    return None


def open_store(settings: Settings, resume: bool | None, say: Say, profile: str = "",
               kernel_shas: set[str] | None = None) -> RawStore:
    """The raw store; ``resume`` None means: continue it when it matches this run, else start afresh."""
    path = store_path(settings)
    if resume is not False and path.exists():
        why = store_mismatch(path, profile, kernel_shas or set()) if profile else None
        if why and resume:
            raise BenchError(f"cannot resume the raw store {path}: {why}; run without --resume to start a new one")
        if why:
            say(f"bench: starting a new raw store ({path} cannot be continued: {why})")
        resume = not why
    if path.exists() and not resume:
        stamp = dt.datetime.now().strftime('%Y%m%dT%H%M%S')
        keep = path.with_name(f"raw-{stamp}.sqlite")
        shutil.move(path, keep)
        prov = path.with_name("provenance.json")
        if prov.exists():  # the provenance belongs to the store it describes
            shutil.move(prov, path.with_name(f"provenance-{stamp}.json"))
        for side in ("-wal", "-shm"):
            w = Path(str(path) + side)
            if w.exists():
                shutil.move(w, Path(str(keep) + side))
        say(f"bench: the previous raw store was kept as {keep} (use --resume to continue it)")
    return RawStore(path)


def plan(cells: list[ex.Cell], store: RawStore, profile: ex.Profile, seed: int) -> dict[tuple[str, str], list[ex.Cell]]:
    per_cell = profile.runs_per_cell
    done = store.done_cells(per_cell)
    store.drop_partial(per_cell, [c.key for c in cells])
    groups: dict[tuple[str, str], list[ex.Cell]] = {}
    for c in cells:
        if c.key not in done:
            groups.setdefault((c.kernel, c.clock), []).append(c)
    rng = random.Random(seed)
    for g in groups.values():
        rng.shuffle(g)
    return groups
