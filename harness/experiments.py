"""The experiments of the study, as data.

E1 files: cat, wc and grep on ordinary files, read() against mmap().
E2 pipe: pipemap, a writer and a reader over one pipe, read()/write() against mmap on each side.
E3 tools on a pipe: a producer piped into cat, wc or grep, read() against mmap on the consuming side.

A *cell* is one combination of parameters on one kernel in one clock mode; it is measured
``reps`` times after ``warmup`` runs. The vanilla kernel runs only the read() variants
(it has no extended mmap; mmap of a regular file would run there too, but the thesis
compares kernels only on the classic path), the xmmap kernel runs both. In E1 and E3
the guest's stock busybox cat, wc and grep run as an independent baseline (method
``busybox``) on both kernels.

Three further dimensions say what a timing holds (issue 10). ``work`` (E2): what pipemap's
two sides do with the bytes besides moving them: ``none`` (lmbench bw_pipe's contract: a
prepared buffer, one byte per page at a mapped end), ``touch`` (one 32-bit fill and one sum
pass); the per-byte pattern ``verify`` of the previous design runs once per cell, untimed,
as the cell's correctness check. ``sink`` (E1, E3): where the tool's output goes while it is
timed: ``null`` (/dev/null), ``file`` (a file on the guest's root) or ``pipe`` (drained
without hashing); the hash of the output (sink ``hash``) is taken in one untimed run per
cell. ``layout``: which build of the guest tools runs (harness/../guest-tools/tools/build.sh),
so that a verdict can be checked against a change of code addresses alone (Mytkowicz et al.,
ASPLOS 2009).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from harness.errors import ConfigError

KiB, MiB = 1 << 10, 1 << 20
TOOLS = ("cat", "wc", "grep")
EXPERIMENTS = ("E1", "E2", "E3")
KERNELS = ("vanilla", "xmmap")
CLOCKS = ("tcg", "icount")
GREP_PATTERN = "pipe"  # a word gendata's vocabulary contains, so grep has matches to print
WORKS = ("none", "touch")  # timed E2 work levels; "verify" is the untimed check (and the old design's)
ALL_WORKS = ("none", "touch", "verify")
SINKS = ("null", "file", "pipe")  # timed E1/E3 sinks; "hash" is the untimed check (and the old design's)
ALL_SINKS = ("null", "file", "pipe", "hash")
LAYOUTS = ("O2", "O2-align")  # guest-tools/tools/build.sh's layouts; the first is the default
OLD_KEY_FIELDS = 8  # the previous design's keys: no work, sink, layout (read as verify, hash, O2)


@dataclass(frozen=True)
class Profile:
    name: str
    e1_sizes: tuple[int, ...]
    e2_bytes: tuple[int, ...]
    e2_chunks: tuple[int, ...]
    e3_sizes: tuple[int, ...]
    reps: int
    warmup: int
    min_run_s: float  # a timed run is repeated inside one timing until it lasts this long
    # which cells of the product of every dimension the profile measures (all of them by default)
    keep: Callable[[Cell], bool] = field(default=lambda c: True, compare=False, repr=False)
    # under icount the guest's clock counts instructions (1 per ns), so its real time is exact and a
    # timing needs no length for the clock's sake; only the 10 ms rusage ticks do. The guest also runs
    # slower than the wall clock there (a 0.3 s timing took about 1.5 s under the helpers' load), so
    # icount cells may use shorter timings (None: min_run_s)
    icount_min_run_s: float | None = None

    def min_run_for(self, clock: str) -> float:
        """The shortest timing of a cell in ``clock``."""
        return self.icount_min_run_s if clock == "icount" and self.icount_min_run_s is not None else self.min_run_s

    @property
    def runs_per_cell(self) -> int:
        """Rows a complete cell has in the raw store: the untimed check run (rep -1), one calibration
        run, the warm-ups, the repetitions."""
        return 2 + self.warmup + self.reps


def _quick(c: Cell) -> bool:
    """quick: the key comparisons once each, the second layout only where the layout check bites
    (E2 on xmmap); the mixed method pairs, busybox and E3 beyond cat only in full."""
    if c.experiment == "E2":
        return c.method == c.writer and (c.kernel == "xmmap" or c.layout == LAYOUTS[0])
    if c.layout != LAYOUTS[0] or c.method == "busybox":
        return False
    if c.experiment == "E3":
        return c.tool == "cat" and c.sink == "null"
    return c.sink == "null" or (c.tool == "cat" and c.kernel == "xmmap")


def _full(c: Cell) -> bool:
    """full: every dimension present; file and pipe sinks and the second layout on the key cells
    (the largest input, read against mmap), not on every size."""
    if c.experiment == "E2":
        return True
    big = c.size == 16 * MiB and c.method != "busybox"
    if c.layout != LAYOUTS[0]:
        return big and c.sink == "null"
    return c.sink == "null" or big


PROFILES = {
    # About 4 minutes here: 72 cells of 6 rows, timings of at least 0.3 s (icount: 0.1 s, 10 ticks; at
    # 0.3 s the 36 icount cells alone took 4.8 of the 6.6 minutes under load).
    "quick": Profile("quick", (4 * MiB,), (4 * MiB,), (4 * KiB, 64 * KiB), (4 * MiB,), reps=3, warmup=1,
                     min_run_s=0.3, keep=_quick, icount_min_run_s=0.1),
    # The replication: four file sizes over three decades, pipes from 512-byte to 64 KiB chunks (byte
    # granularity is the point of the model), every work level, sink and layout. About 45 minutes here:
    # 408 cells of 8 rows, timings of at least 0.5 s (50 ticks of the guest's 10 ms clock).
    "full": Profile("full", (64 * KiB, 1 * MiB, 4 * MiB, 16 * MiB), (16 * MiB,), (512, 4 * KiB, 64 * KiB),
                    (1 * MiB, 16 * MiB), reps=5, warmup=1, min_run_s=0.5, keep=_full, icount_min_run_s=0.25),
}


@dataclass(frozen=True, order=True)
class Cell:
    experiment: str
    kernel: str
    clock: str
    tool: str  # cat | wc | grep | pipemap
    method: str  # consuming side: read | mmap | busybox (stock busybox tool); E2: the reader's method
    writer: str  # E2: the writer's method; "" elsewhere
    size: int  # input bytes (E1, E3) or stream bytes (E2)
    chunk: int  # E2 chunk size; 0 elsewhere
    work: str  # E2: none | touch | verify (the previous design); "" elsewhere
    sink: str  # E1, E3: null | file | pipe | hash (the previous design); "" for E2
    layout: str  # the guest tools' build layout (LAYOUTS)

    @property
    def key(self) -> str:
        return "/".join((self.experiment, self.kernel, self.clock, self.tool, self.method, self.writer or "-",
                         str(self.size), str(self.chunk), self.work or "-", self.sink or "-", self.layout))

    @classmethod
    def from_key(cls, key: str) -> Cell:
        """The inverse of ``key``: the raw store and a run's plan keep only keys.

        An 8-field key is the previous design's (reports/reference): its E2 cells verified
        every byte inside the timing, its E1/E3 cells hashed the output inside the timing,
        with the one O2 build.
        """
        parts = key.split("/")
        if len(parts) == OLD_KEY_FIELDS:
            parts += ["verify" if parts[0] == "E2" else "-", "-" if parts[0] == "E2" else "hash", LAYOUTS[0]]
        if len(parts) != 11:
            raise ConfigError(f"malformed cell key {key!r} (expected 11 fields separated by '/', or the "
                              f"previous design's {OLD_KEY_FIELDS})")
        exp, kernel, clock, tool, method, writer, size, chunk, work, sink, layout = parts
        try:
            return cls(exp, kernel, clock, tool, method, "" if writer == "-" else writer, int(size), int(chunk),
                       "" if work == "-" else work, "" if sink == "-" else sink, layout)
        except ValueError as e:
            raise ConfigError(f"malformed cell key {key!r}: {e}") from e

    def record(self) -> dict[str, object]:
        return asdict(self)


def check_names(profile: str, experiments: list[str] | None, tools: list[str] | None, kernels: list[str] | None,
                clocks: list[str] | None, works: list[str] | None = None, sinks: list[str] | None = None,
                layouts: list[str] | None = None) -> None:
    """Unknown names fail at once, listing the valid ones."""
    for kind, given, valid in (("profile", [profile], tuple(PROFILES)), ("experiment", experiments, EXPERIMENTS),
                               ("tool", tools, TOOLS), ("kernel", kernels, KERNELS), ("clock", clocks, CLOCKS),
                               ("work level", works, WORKS), ("sink", sinks, SINKS), ("layout", layouts, LAYOUTS)):
        for g in given or ():
            if g not in valid:
                raise ConfigError(f"unknown {kind} {g!r}; valid: {', '.join(valid)}")


def cells(profile: str, experiments: list[str] | None = None, tools: list[str] | None = None,
          kernels: list[str] | None = None, clocks: list[str] | None = None, works: list[str] | None = None,
          sinks: list[str] | None = None, layouts: list[str] | None = None) -> list[Cell]:
    """The profile's cells, narrowed by the filters (None: no filter); a ``works`` filter keeps
    only E2 cells and a ``sinks`` filter only E1/E3 cells, as those dimensions are theirs."""
    check_names(profile, experiments, tools, kernels, clocks, works, sinks, layouts)
    p = PROFILES[profile]
    exps = [e for e in experiments or EXPERIMENTS if not (works and e != "E2") and not (sinks and e == "E2")]
    wks, sks, lays = works or WORKS, sinks or SINKS, layouts or LAYOUTS
    out: list[Cell] = []
    for kernel, clock in itertools.product(kernels or KERNELS, clocks or CLOCKS):
        methods = ("read", "mmap") if kernel == "xmmap" else ("read",)
        for tool in tools or TOOLS:
            for exp, sizes in (("E1", p.e1_sizes), ("E3", p.e3_sizes)):
                if exp in exps:
                    out += [Cell(exp, kernel, clock, tool, m, "", s, 0, "", k, lay)
                            for lay in lays for k in sks for m in (*methods, "busybox") for s in sizes
                            if not (m == "busybox" and lay != LAYOUTS[0])]  # busybox is the image's one build
        if "E2" in exps and not tools:
            out += [Cell("E2", kernel, clock, "pipemap", r, w, b, c, wk, "", lay)
                    for lay in lays for wk in wks for w in methods for r in methods for b in p.e2_bytes
                    for c in p.e2_chunks]
    return [c for c in out if p.keep(c)]


def inputs(profile: str) -> list[int]:
    """File sizes the data disk must hold for a profile (E1 and E3 inputs)."""
    p = PROFILES[profile]
    return sorted(set(p.e1_sizes) | set(p.e3_sizes))
