"""Plots as inline SVG: deterministic bytes (fixed hash salt, no date), ids unique per figure.

Sizes and chunk sizes are categorical axes (evenly spaced, labelled in bytes units), so a
quick run with a single size still gives a readable plot rather than a lone point on a log
axis. Real time carries its 95% interval as error bars; user and system time are stacked.
"""

from __future__ import annotations

import io
import re
from typing import Any

import matplotlib
from matplotlib.figure import Figure

matplotlib.use("Agg")  # no display: the SVG backend only

RC: Any = {  # typed loosely: matplotlib types rc keys as a Literal union
    "svg.hashsalt": "pipemap-report",
    "svg.fonttype": "none",  # text stays text: small, selectable, rendered in the page's font
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Liberation Sans", "Arial", "Helvetica"],
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "path.simplify": False,
}
COLORS = {"read": "#1f5fa8", "mmap": "#d1495b", "busybox": "#7a7a7a",
          "writer=read,reader=read": "#1f5fa8", "writer=read,reader=mmap": "#edae49",
          "writer=mmap,reader=read": "#00798c", "writer=mmap,reader=mmap": "#d1495b"}
E1E3_METHODS = ("read", "mmap", "busybox")
E2_COMBOS = (("read", "read"), ("read", "mmap"), ("mmap", "read"), ("mmap", "mmap"))
KERNEL = "xmmap"
ID = re.compile(r'id="([^"]+)"')


def human_bytes(n: int) -> str:
    for unit, size in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n} B"


def to_svg(fig: Figure, prefix: str) -> str:
    """The figure as an <svg> element for inlining: no XML prolog, ids prefixed so figures cannot clash."""
    buf = io.StringIO()
    with matplotlib.rc_context(RC):
        fig.savefig(buf, format="svg", metadata={"Date": None}, bbox_inches="tight")
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    text = re.sub(r"\s*<metadata>.*?</metadata>", "", text, count=1, flags=re.S)  # RDF boilerplate, no content
    for ident in sorted(set(ID.findall(text)), key=len, reverse=True):
        new = f"{prefix}-{ident}"
        text = text.replace(f'id="{ident}"', f'id="{new}"').replace(f"#{ident})", f"#{new})")
        text = text.replace(f'href="#{ident}"', f'href="#{new}"')
    return text.replace("<svg ", f'<svg role="img" aria-label="{prefix}" ', 1)


def _row(cells: Any, **eq: object) -> dict[str, Any] | None:
    sel = cells
    for k, v in eq.items():
        sel = sel[sel[k] == v]
    return None if not len(sel) else sel.iloc[0].to_dict()


def _ms(x: Any) -> float:
    return float(x) / 1000.0 if x is not None and x == x else float("nan")  # noqa: PLR0124 (NaN check)


def _panel(ax_real: Any, ax_split: Any, series: list[tuple[str, str, list[dict[str, Any] | None]]],
           labels: list[str], xlabel: str) -> None:
    """Top: real time with its interval per series; bottom: user + system stacked, one bar per series."""
    n = max(len(series), 1)
    width = 0.8 / n
    xs = list(range(len(labels)))
    for i, (name, color, rows) in enumerate(series):
        off = (i - (n - 1) / 2) * width
        pts = [(x + off * 0.6, r) for x, r in zip(xs, rows, strict=True) if r and r.get("real_us_median") is not None]
        if pts:
            y = [_ms(r["real_us_median"]) for _, r in pts]
            lo = [max(0.0, yy - _ms(r["real_us_lo"])) for yy, (_, r) in zip(y, pts, strict=True)]
            hi = [max(0.0, _ms(r["real_us_hi"]) - yy) for yy, (_, r) in zip(y, pts, strict=True)]
            ax_real.errorbar([p for p, _ in pts], y, yerr=[lo, hi], color=color, marker="o", markersize=4,
                             linewidth=1.2, capsize=3, label=name)
        bx = [x + off for x, r in zip(xs, rows, strict=True) if r and r.get("user_us_median") is not None]
        br = [r for r in rows if r and r.get("user_us_median") is not None]
        if br:
            user = [_ms(r["user_us_median"]) for r in br]
            sys_ = [_ms(r["sys_us_median"]) for r in br]
            ax_split.bar(bx, user, width * 0.9, color=color, alpha=0.45, edgecolor=color, linewidth=0.6)
            ax_split.bar(bx, sys_, width * 0.9, bottom=user, color=color, edgecolor="white", hatch="///",
                         linewidth=0.6)
    for ax in (ax_real, ax_split):
        ax.set_xticks(xs, labels)
        ax.set_xlim(-0.6, len(labels) - 0.4)
        ax.set_ylim(bottom=0)
    ax_split.set_xlabel(xlabel)


def _legend(fig: Figure, series: list[tuple[str, str]], ncols: int = 6) -> None:
    from matplotlib.patches import Patch

    handles = [Patch(facecolor=c, label=n) for n, c in series]
    handles += [Patch(facecolor="#bbbbbb", alpha=0.45, label="user (lower bar)"),
                Patch(facecolor="#555555", hatch="///", edgecolor="white", label="system (upper bar, hatched)")]
    fig.legend(handles=handles, loc="lower center", ncols=min(len(handles), ncols), frameon=False,
               bbox_to_anchor=(0.5, -0.02))


def size_plot(cells: Any, experiment: str, clock: str, tools: tuple[str, ...] = ("cat", "wc", "grep")) -> str | None:
    """E1/E3: per tool, time against input size for read, mmap and busybox on the xmmap kernel."""
    sel = cells[(cells["experiment"] == experiment) & (cells["clock"] == clock) & (cells["kernel"] == KERNEL)] \
        if len(cells) else cells
    if not len(sel):
        return None
    sizes = sorted(int(s) for s in sel["size"].unique())
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(10, 5.6))
        axes = fig.subplots(2, len(tools), squeeze=False)
        for j, tool in enumerate(tools):
            series = [(m, COLORS[m], [_row(sel, tool=tool, method=m, size=s) for s in sizes]) for m in E1E3_METHODS]
            _panel(axes[0][j], axes[1][j], series, [human_bytes(s) for s in sizes], "input size")
            axes[0][j].set_title(tool, fontweight="bold")
        axes[0][0].set_ylabel("real time per run (ms)\nmedian, 95% interval")
        axes[1][0].set_ylabel("CPU time per run (ms)\nmedians, user + system")
        fig.suptitle(f"{experiment} on the {KERNEL} kernel, clock {clock}", fontweight="bold")
        _legend(fig, [(m, COLORS[m]) for m in E1E3_METHODS])
        fig.subplots_adjust(bottom=0.17, hspace=0.3, wspace=0.3)
        return to_svg(fig, f"plot-{experiment}-{clock}")


def chunk_plot(cells: Any, clock: str) -> str | None:
    """E2: per stream size, time against chunk size for the four writer/reader combinations."""
    sel = cells[(cells["experiment"] == "E2") & (cells["clock"] == clock) & (cells["kernel"] == KERNEL)] \
        if len(cells) else cells
    if not len(sel):
        return None
    sizes = sorted(int(s) for s in sel["size"].unique())
    chunks = sorted(int(c) for c in sel["chunk"].unique())
    names = [(f"writer={w},reader={r}", w, r) for w, r in E2_COMBOS]
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(max(8.0, 4.2 * len(sizes)), 6.0))
        axes = fig.subplots(2, len(sizes), squeeze=False)
        for j, size in enumerate(sizes):
            series = [(n, COLORS[n], [_row(sel, writer=w, method=r, size=size, chunk=c) for c in chunks])
                      for n, w, r in names]
            _panel(axes[0][j], axes[1][j], series, [human_bytes(c) for c in chunks], "chunk size")
            axes[0][j].set_title(f"stream of {human_bytes(size)}", fontweight="bold")
        axes[0][0].set_ylabel("real time per run (ms)\nmedian, 95% interval")
        axes[1][0].set_ylabel("CPU time per run (ms)\nmedians, user + system")
        fig.suptitle(f"E2 pipemap on the {KERNEL} kernel, clock {clock}", fontweight="bold")
        _legend(fig, [(n, COLORS[n]) for n, _, _ in names], ncols=3)
        fig.subplots_adjust(bottom=0.22, hspace=0.3, wspace=0.3)
        return to_svg(fig, f"plot-E2-{clock}")
