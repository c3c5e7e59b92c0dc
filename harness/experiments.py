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
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass

from harness.errors import ConfigError

KiB, MiB = 1 << 10, 1 << 20
TOOLS = ("cat", "wc", "grep")
EXPERIMENTS = ("E1", "E2", "E3")
KERNELS = ("vanilla", "xmmap")
CLOCKS = ("tcg", "icount")
GREP_PATTERN = "pipe"  # a word gendata's vocabulary contains, so grep has matches to print


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

    @property
    def runs_per_cell(self) -> int:
        """Rows a complete cell has in the raw store: one calibration run, the warm-ups, the repetitions."""
        return 1 + self.warmup + self.reps


PROFILES = {
    "quick": Profile("quick", (4 * MiB,), (4 * MiB,), (4 * KiB, 64 * KiB), (4 * MiB,), reps=3, warmup=1,
                     min_run_s=1.0),
    # The replication: four file sizes over three decades, pipes from 512-byte to 64 KiB chunks (byte
    # granularity is the point of the model), 10 repetitions. Sized to run in about an hour under TCG:
    # 240 cells, 2640 timed runs of at least one second each.
    "full": Profile("full", (64 * KiB, 1 * MiB, 4 * MiB, 16 * MiB), (4 * MiB, 16 * MiB), (512, 4 * KiB, 64 * KiB),
                    (1 * MiB, 16 * MiB), reps=10, warmup=1, min_run_s=1.0),
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

    @property
    def key(self) -> str:
        return (f"{self.experiment}/{self.kernel}/{self.clock}/{self.tool}/{self.method}/{self.writer or '-'}/"
                f"{self.size}/{self.chunk}")

    @classmethod
    def from_key(cls, key: str) -> Cell:
        """The inverse of ``key``: the raw store and a run's plan keep only keys."""
        parts = key.split("/")
        if len(parts) != 8:
            raise ConfigError(f"malformed cell key {key!r} (expected 8 fields separated by '/')")
        exp, kernel, clock, tool, method, writer, size, chunk = parts
        try:
            return cls(exp, kernel, clock, tool, method, "" if writer == "-" else writer, int(size), int(chunk))
        except ValueError as e:
            raise ConfigError(f"malformed cell key {key!r}: {e}") from e

    def record(self) -> dict[str, object]:
        return asdict(self)


def check_names(profile: str, experiments: list[str] | None, tools: list[str] | None, kernels: list[str] | None,
                clocks: list[str] | None) -> None:
    """Unknown names fail at once, listing the valid ones."""
    for kind, given, valid in (("profile", [profile], tuple(PROFILES)), ("experiment", experiments, EXPERIMENTS),
                               ("tool", tools, TOOLS), ("kernel", kernels, KERNELS), ("clock", clocks, CLOCKS)):
        for g in given or ():
            if g not in valid:
                raise ConfigError(f"unknown {kind} {g!r}; valid: {', '.join(valid)}")


def cells(profile: str, experiments: list[str] | None = None, tools: list[str] | None = None,
          kernels: list[str] | None = None, clocks: list[str] | None = None) -> list[Cell]:
    check_names(profile, experiments, tools, kernels, clocks)
    p = PROFILES[profile]
    exps = experiments or list(EXPERIMENTS)
    out: list[Cell] = []
    for kernel, clock in itertools.product(kernels or KERNELS, clocks or CLOCKS):
        methods = ("read", "mmap") if kernel == "xmmap" else ("read",)
        for tool in tools or TOOLS:
            if "E1" in exps:
                out += [Cell("E1", kernel, clock, tool, m, "", s, 0) for m in (*methods, "busybox") for s in p.e1_sizes]
            if "E3" in exps:
                out += [Cell("E3", kernel, clock, tool, m, "", s, 0) for m in (*methods, "busybox") for s in p.e3_sizes]
        if "E2" in exps and not tools:
            methods = ("read", "mmap") if kernel == "xmmap" else ("read",)
            out += [Cell("E2", kernel, clock, "pipemap", r, w, b, c)
                    for w in methods for r in methods for b in p.e2_bytes for c in p.e2_chunks]
    return out


def inputs(profile: str) -> list[int]:
    """File sizes the data disk must hold for a profile (E1 and E3 inputs)."""
    p = PROFILES[profile]
    return sorted(set(p.e1_sizes) | set(p.e3_sizes))
