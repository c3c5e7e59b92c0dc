"""Stage 7, bench: experiments E1-E3 in the guest, every run stored as it ends.

Per kernel and clock mode one machine is booted with the inputs on a data disk
(/dev/hdb, ext2, mounted read-only at /data: the NIC is far too slow for megabytes). The
tools are pushed over SFTP and checked by hash, then the cells run in a random order
(seeded): per cell a calibration run fixes how many runs go into one timing so that a
timing lasts at least ``min_run_s`` (the guest clock ticks every 10 ms), then warm-up runs,
then the measured runs. ``timeit`` in the guest reports real, user and system time of the
measured program (gettimeofday around it, its rusage from wait4) and a hash of its output;
a run whose output hash differs from the host's expectation is stored as failed, never as
a timing. A crash or hang restarts the machine and retries the cell once; then the cell is
recorded as failed and the rest goes on.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness import atomic, counters, hashing, image, proc, session, vm
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
TIME_KEYS = ("real_us", "user_us", "sys_us")  # what every TIME line must carry
TIME_NUMBERS = ("real_us", "user_us", "sys_us", "status", "out_bytes")


class BenchError(HarnessError):
    """The benchmark could not run (inputs, tools or the store)."""


@dataclass(frozen=True)
class Tools:
    host: Path
    guest: Path
    hashes: dict[str, str]  # guest binary name -> sha256 (and "busybox": the image's)
    buildinfo: str
    busybox: Path  # the guest's own static busybox; runs on the host too (expected outputs)


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
    proc.run(["sh", src / "build.sh", "guest", out / "guest", tc / "cc"], timeout=600, log=log,
             what="tools guest build")
    names = ("timeit", "cat", "wc", "grep", "pipemap")
    hashes = {n: hashing.sha256_file(out / "guest" / n) for n in names}
    info = (out / "guest" / "BUILDINFO").read_text() if (out / "guest" / "BUILDINFO").exists() else ""
    hashes["busybox"] = hashing.sha256_file(busybox)
    return Tools(out / "host", out / "guest", hashes, info, busybox)


def make_inputs(settings: Settings, tools: Tools, sizes: list[int]) -> tuple[Path, dict[int, str]]:
    """Deterministic inputs (gendata, seeded) on an ext2 data disk; returns it and the hashes."""
    d = settings.build / "bench" / "inputs"
    d.mkdir(parents=True, exist_ok=True)
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
    want = json.dumps({str(k): v for k, v in sorted(hashes.items())})
    if not img.exists() or not stamp.exists() or stamp.read_text() != want:
        kib = sum(sizes) // 1024 * 5 // 4 + 4096
        with atomic.staged(img) as tmp:
            proc.run(["mke2fs", "-q", "-t", "ext2", "-r", "0", "-b", "1024", "-I", "128", "-O", "none", "-d", d,
                      "-F", tmp, str(kib)], timeout=300, log=settings.log_dir / "bench-inputs.log", what="mke2fs")
        atomic.write_text(stamp, want)
    return img, hashes


def command(cell: ex.Cell, runs_inside: int) -> str:
    t = f"{GUEST_DIR}/timeit -n {runs_inside}"
    if cell.experiment == "E2":
        return (f"{t} -- {GUEST_DIR}/pipemap --writer={cell.writer} --reader={cell.method} "
                f"{cell.size} {cell.chunk}")
    args = f"-F {ex.GREP_PATTERN}" if cell.tool == "grep" else ""
    if cell.method == "busybox":
        tool = f"/bin/busybox {cell.tool} {args}".rstrip()
    else:
        tool = f"{GUEST_DIR}/{cell.tool} --method={cell.method} {args}".rstrip()
    if cell.experiment == "E1":
        return f"{t} -- {tool} /data/in-{cell.size}"
    return f"{t} -P {GUEST_DIR}/cat --method=read /data/in-{cell.size} -- -- {tool}"


def expected_output(tools: Tools, cell: ex.Cell, inputs_dir: Path) -> str:
    """The output hash the host build of the same tool gives on the same input."""
    if cell.experiment == "E2":
        line = f"pipemap bytes={cell.size} chunk={cell.chunk} writer={cell.writer} reader={cell.method} ok\n"
        return fnv1a64(line.encode())
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
    return fnv1a64(out)


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


class Runner:
    def __init__(self, settings: Settings, profile: ex.Profile, store: RawStore, tools: Tools, data_img: Path,
                 input_hashes: dict[int, str], say: Say, session_id: str) -> None:
        self.settings, self.profile, self.store, self.tools = settings, profile, store, tools
        self.data_img, self.input_hashes, self.say, self.session_id = data_img, input_hashes, say, session_id
        self.expected: dict[str, str] = {}
        self.cells_done = 0
        self.inputs_dir = settings.build / "bench" / "inputs"
        self.on_cell: Callable[[ex.Cell], None] = lambda cell: None  # told after each cell ends (progress)

    def prepare(self, ch: Channel) -> None:
        ch.check(f"mkdir -p {GUEST_DIR} /data && mount -t ext2 -o ro /dev/hdb /data")
        if ch.guest_sha256("/bin/busybox") != self.tools.hashes["busybox"]:
            raise BenchError("the guest's /bin/busybox is not the image's busybox")
        for name, digest in self.tools.hashes.items():
            if name == "busybox":
                continue
            if ch.put(self.tools.guest / name, f"{GUEST_DIR}/{name}") != digest:
                raise BenchError(f"tool {name} changed while being pushed")
            ch.check(f"chmod 755 {GUEST_DIR}/{name}")
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

    def _one(self, m: vm.Machine, ch: Channel, cell: ex.Cell, runs_inside: int) -> tuple[dict[str, str], str]:
        m.mark_console()
        r = ch.run(command(cell, runs_inside), timeout=RUN_TIMEOUT)  # scaled by the channel
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
        calib, _ = self._one(m, ch, cell, 1)
        real_s = float(calib["real_us"]) / 1e6
        runs_inside = max(1, math.ceil(self.profile.min_run_s / max(real_s, 1e-3)))
        self._store(cell, 0, True, 1, calib, "", exp, kernel_sha)
        for i in range(self.profile.warmup):
            t, err = self._one(m, ch, cell, runs_inside)
            self._store(cell, i + 1, True, runs_inside, t, err, exp, kernel_sha)
        for i in range(self.profile.reps):
            t, err = self._one(m, ch, cell, runs_inside)
            self._store(cell, i + 1, False, runs_inside, t, err, exp, kernel_sha)
        counters.after_cell(self, m, ch, cell, kernel_sha)  # E2 only: one untimed --counters run, stored

    def _store(self, cell: ex.Cell, rep: int, warmup: bool, runs_inside: int, t: dict[str, str], err: str,
               exp: str, kernel_sha: str) -> None:
        status = int(t.get("status", "-1"))
        ok = status == 0 and t.get("out_fnv") == exp
        error = err or ("" if ok else f"output hash {t.get('out_fnv')} != expected {exp}")
        tool = "pipemap" if cell.experiment == "E2" else "busybox" if cell.method == "busybox" else cell.tool
        self.store.append(Run(
            cell, rep, warmup, runs_inside,
            float(t["real_us"]) if ok else None, float(t["user_us"]) if ok else None,
            float(t["sys_us"]) if ok else None, status, ok, error, int(t.get("out_bytes", "0")),
            t.get("out_fnv", ""), exp, self.tools.hashes[tool], self.input_hashes.get(cell.size, ""), kernel_sha,
            self.profile.name, self.session_id, _now(), _now()))

    def record_failed(self, cell: ex.Cell, error: str, kernel_sha: str) -> None:
        for i in range(self.profile.runs_per_cell):
            self.store.append(Run(cell, i, i <= self.profile.warmup, 0, None, None, None, None, False, error, None,
                                  "", "", "", self.input_hashes.get(cell.size, ""), kernel_sha, self.profile.name,
                                  self.session_id, _now(), _now()))


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
