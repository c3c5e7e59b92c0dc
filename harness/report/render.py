"""Render the report: results directory in, report.html + cells.csv + summary.json out.

A pure function of the files it reads: no clock, no random salt, sorted iteration and
the fixed bootstrap seeds, and no absolute path of the inputs in the page, so the same
results give byte-identical files on the same software (an archive can check that).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from harness import atomic, stats
from harness import experiments as ex
from harness.report import claims as cl
from harness.report import compare as cmp
from harness.report import costs, data, plots, previous, provenance, summary, tables
from harness.report import lmbench as lmr

TEMPLATES = Path(__file__).resolve().parent / "templates"
CLOCK_MEANING = {
    "tcg": "QEMU's dynamic translator; guest time follows the host's wall clock, so real time is the wall time of "
           "an emulating host: host load and host caches show in it. User and system time are sampled by the guest "
           "kernel at each 10 ms timer tick (HZ=100), so they are coarse and only meaningful over long timings.",
    "icount": "-icount shift=0,sleep=off: guest time is derived from the number of executed instructions, so it is "
              "deterministic and repetitions are (nearly) identical: intervals are degenerate. It measures work "
              "(instructions executed, including the kernel's copies), not cache or memory effects.",
}


@dataclass(frozen=True)
class ReportOutput:
    html: Path
    csv: Path
    summary: Path
    verdicts: list[cl.Verdict]
    missing_cells: int
    compare_differs: int | None


def _write(path: Path, text: str) -> None:
    """Write via a temporary file, so a reader never sees half a report."""
    atomic.write_text(path, text)


def _csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=tables.CSV_COLUMNS, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: "" if v is None or (isinstance(v, float) and v != v) else v for k, v in r.items()})
    return buf.getvalue()


def _env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True)
    env.globals["human_bytes"] = plots.human_bytes
    return env


def _pipemap_none_64k(st: summary.Stats) -> dict[tuple[str, str], tuple[int, float]]:
    """E2 read/read at work none, 64 KiB chunks, primary layout, largest stream: (bytes, median real_us)."""
    out: dict[tuple[str, str], tuple[int, float]] = {}
    c = st.cells
    if not len(c) or "work" not in c:
        return out
    sel = c[(c["experiment"] == "E2") & (c["writer"] == "read") & (c["method"] == "read") & (c["work"] == "none")
            & (c["chunk"] == 65536) & (c["layout"] == cl.PRIMARY_LAYOUT)]
    for r in sel.sort_values("size").to_dict(orient="records"):
        if r.get("real_us_median"):
            out[(str(r["kernel"]), str(r["clock"]))] = (int(r["size"]), float(r["real_us_median"]))
    return out


def render(results: Path, out_dir: Path, reference: Path | None = None) -> ReportOutput:
    """Render the report of ``results`` (raw.sqlite, provenance.json) into ``out_dir``."""
    res = data.load(results)
    st = summary.compute(res)
    claim_results = cl.evaluate_all(st, res.runs)
    record = summary.record(res, st, cl.records(claim_results))
    comparison = None
    if reference is not None:
        comparison = cmp.compare(cmp.figures(record), cmp.load_reference(reference), reference.name,
                                 [str(row.get("cell")) for row in record.get("cell_table", [])])
    marker = tables.Marker(comparison)
    csv_rows, cell_rows = tables.cell_rows(res, st, marker)
    verdicts = [cl.verdict_line(r) for r in claim_results]

    svgs: list[tuple[str, str, Markup]] = []
    for exp, title in (("E1", "E1 files"), ("E3", "E3 tools on a pipe")):
        for clock in ex.CLOCKS:
            svg = plots.size_plot(st.cells, exp, clock)
            if svg:
                svgs.append((exp, f"{title}, clock {clock}", Markup(svg)))
    for clock in ex.CLOCKS:
        svg = plots.chunk_plot(st.cells, clock)
        if svg:
            svgs.append(("E2", f"E2 pipemap, clock {clock}", Markup(svg)))

    lm_rows = lmr.load(results)
    events = lmr.event_costs(lm_rows)
    units = costs.unit_costs(events)
    cost_rows = costs.rows(results / "raw.sqlite", st.cells, units)

    current = cmp.figures(record)
    claim_marks = {(r.claim.id, c.clock): marker.value(c.figure.text(), cmp.claim_key(r.claim.id, c.clock), False)
                   for r in claim_results for c in r.clocks}
    prov = res.provenance
    html = _env().get_template("report.html.j2").render(
        res=res, st=st, claims=claim_results, verdicts=verdicts, claim_marks=claim_marks,
        cell_rows=cell_rows, beside=tables.beside_summary(res.runs), clocks=ex.CLOCKS, clock_meaning=CLOCK_MEANING,
        experiment_tables=[(e, t, tables.experiment_rows(st, e, marker)) for e, t in
                           (("E1", "E1 files: cat, wc, grep on ordinary files"), ("E2", "E2 pipemap: writer and "
                            "reader over one pipe"), ("E3", "E3 tools on a pipe: cat | cat, wc, grep"))],
        overall_rows=tables.overall_rows(st, marker), layout_rows=tables.layout_rows(st), svgs=svgs,
        comparison=comparison, compare_rows=comparison.rows(current) if comparison else [],
        triple_text=tables.triple_text, change_text=cmp.change_text,
        prov_sections=provenance.sections(prov), plan_params=provenance.plan_parameters(prov, res.profile),
        host=provenance.host_text(prov), qemu=prov.get("qemu") or provenance.NOT_RECORDED,
        kvm=prov.get("kvm") or provenance.NOT_RECORDED, lab=prov.get("lab") if isinstance(prov.get("lab"), dict)
        else None, boot_b=stats.B, boot_seed=stats.SEED, share_seed=cl.SHARE_SEED,
        not_recorded=provenance.NOT_RECORDED, reading_meaning=cl.READING_MEANING,
        previous=previous.load({r.claim.id: r.verdict for r in claim_results}),
        cost_rows=cost_rows, unit_costs=units, cost_events=[*costs.EVENTS, "other"], cost_words=costs.EVENT_WORDS,
        lm_lines=lmr.comparison(lm_rows), lm_events=events, lm_failed=[r for r in lm_rows if not r.ok],
        lm_consistency=lmr.consistency(lm_rows, _pipemap_none_64k(st)), lm_citation=lmr.CITATION,
        lm_remark=lmr.PAPER_REMARK, lm_count=len(lm_rows),
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    out = ReportOutput(out_dir / "report.html", out_dir / "cells.csv", out_dir / "summary.json", verdicts,
                       res.missing_cells, comparison.differs if comparison else None)
    _write(out.csv, _csv(csv_rows))
    _write(out.summary, json.dumps(record, indent=2, sort_keys=False) + "\n")
    _write(out.html, html)
    return out
