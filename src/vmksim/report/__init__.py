"""HTML reports of analyses, comparisons and what-if runs: one self-contained file each.

Needs the ``report`` extra (plotly); everything is imported on demand and a
missing extra is a :class:`~vmksim.errors.MissingExtraError` naming it.
Layout: the facts of the capture, the findings table, then the plots of
:mod:`vmksim.report.figures` (host utilisation, %RDY and %CSTP per VM, NUMA
locality, top offenders) and the VM table.
"""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING, Any

from vmksim.analyze.counters import (
    BALLOON,
    COSTOP,
    MLMTD,
    NUMA_LOCAL_PCT,
    NUMA_MIGRATIONS,
    READY,
    RUN,
    SWAPPED,
    SWPWT,
    USED,
)
from vmksim.analyze.findings import Finding
from vmksim.analyze.summary import Analysis, VmSummary

if TYPE_CHECKING:
    from vmksim.analyze.compare import Comparison
    from vmksim.report.html import Page
    from vmksim.whatif import WhatIf

__all__ = [
    "analysis_sections",
    "compare_sections",
    "findings_table",
    "write_analysis_report",
    "write_compare_report",
    "write_whatif_report",
]


def _num(v: float | None, digits: int = 1) -> Any:
    if v is None or not math.isfinite(v):
        return "-"
    return round(v, digits)


def findings_table(page: Page, findings: tuple[Finding, ...] | list[Finding]) -> None:
    if not findings:
        page.raw('<p class="good">No findings: every VM and the host are within the thresholds.</p>')
        return
    rows = []
    for f in findings:
        rows.append(
            [
                (f.severity.value, f.severity.value),
                f.vm or "(host)",
                f.metric,
                _num(f.value),
                f.threshold,
                f.message,
                f.cause,
                f.fix,
            ]
        )
    page.table(["severity", "VM", "metric", "value", "threshold", "finding", "likely cause", "fix"], rows)


def vm_table(page: Page, vms: tuple[VmSummary, ...]) -> None:
    rows = [
        [v.name, v.vcpus, _num(v.used), _num(v.run), _num(v.ready), _num(v.ready_peak), _num(v.costop),
         _num(v.max_limited), _num(v.swap_wait), _num(v.numa_local_pct, 0), _num(v.numa_migrations, 0),
         _num(v.balloon_mb, 0), _num(v.swapped_mb, 0)]
        for v in sorted(vms, key=lambda s: -(s.ready if math.isfinite(s.ready) else -1))
    ]  # fmt: skip
    page.table(
        ["VM", "vCPUs", USED.column, RUN.column, READY.column, f"{READY.column} peak", COSTOP.column,
         MLMTD.column, SWPWT.column, NUMA_LOCAL_PCT.column, NUMA_MIGRATIONS.column, f"{BALLOON.column} MB",
         f"{SWAPPED.column} MB"],
        rows,
    )  # fmt: skip


def analysis_sections(page: Page, a: Analysis) -> None:
    """Facts, findings, plots and the VM table of one analysis."""
    from vmksim.analyze.text import facts_line
    from vmksim.report import figures

    d = a.data
    page.paragraph(f"Capture: {d.source}")
    page.paragraph(facts_line(a))
    if d.times:
        page.paragraph(f"From {d.times[0]:%Y-%m-%d %H:%M:%S} to {d.times[-1]:%Y-%m-%d %H:%M:%S} UTC")
    for w in d.warnings:
        page.paragraph(f"Capture warning: {w}", "note")
    counts = {
        sev: sum(1 for f in a.findings if f.severity.value == sev) for sev in ("critical", "warning", "info")
    }
    page.raw(
        '<p class="facts">Findings: '
        + ", ".join(f'<span class="{sev}">{n} {sev}</span>' for sev, n in counts.items())
        + " (table below the plots)</p>"
    )
    page.heading("Host utilisation")
    page.figure(figures.host_figure(d, a.thresholds.host_util))
    page.heading("Ready and co-stop per VM")
    page.figure(figures.vm_metric_figure(d, READY, a.thresholds.rdy))
    page.figure(figures.vm_metric_figure(d, COSTOP, a.thresholds.cstp))
    page.heading("NUMA locality")
    page.figure(figures.locality_figure(a))
    page.heading("Top offenders")
    page.figure(figures.offenders_figure(a))
    page.heading("Findings")
    findings_table(page, a.findings)
    page.heading("VMs (per vCPU, means over the capture)")
    vm_table(page, a.vms)
    th = ", ".join(f"{k}={v:g}" for k, v in a.thresholds.to_json().items())
    page.paragraph(f"Thresholds: {th} (vmksim analyze --list-thresholds for their sources)", "note")


def write_analysis_report(a: Analysis, path: str | os.PathLike[str]) -> None:
    """Write the analysis of one capture as a self-contained HTML file."""
    from vmksim.report.html import Page

    page = Page(f"vmksim analyze: {a.data.host.name}")
    analysis_sections(page, a)
    page.write(path)


def write_compare_report(
    c: Comparison, path: str | os.PathLike[str], labels: tuple[str, str] = ("A", "B")
) -> None:
    """Two captures side by side: host rows, per-VM deltas, both sets of plots."""
    from vmksim.report.html import Page

    la, lb = labels
    page = Page(f"vmksim compare: {la} vs {lb}")
    page.paragraph(f"{la}: {c.a.data.source}")
    page.paragraph(f"{lb}: {c.b.data.source}")
    compare_sections(page, c, labels)
    page.write(path)


def compare_sections(page: Page, c: Comparison, labels: tuple[str, str], *, warn_hosts: bool = True) -> None:
    """Host rows, every per-VM counter that changed, the A/B bar chart and plots, findings gone/new/all."""
    from vmksim.analyze.compare import is_count
    from vmksim.report import figures

    la, lb = labels
    page.heading("Host")
    page.table(
        ["figure", la, lb, f"{lb} - {la}"],
        [
            [k, _num(x, _host_digits(k)), _num(y, _host_digits(k)), _delta_cell(x, y, _host_digits(k))]
            for k, x, y in c.host_rows()
        ],
    )
    for w in c.warnings if warn_hosts else []:
        page.paragraph(f"Warning: {w.replace('A and B', f'{la} and {lb}')}", "note")
    page.heading(f"VMs: every counter that changed (per vCPU, means; {lb} - {la})")
    rows = []
    for p in c.vm_rows():
        if p.a is None or p.b is None:
            rows.append([p.name, f"only in {lb if p.a is None else la}", "-", "-", "-"])
        for ch in p.changes:
            digits = 0 if is_count(ch.metric) else 2
            rows.append([p.name, ch.metric.column, _num(ch.a, digits), _num(ch.b, digits),
                         _delta_cell(ch.a, ch.b, digits)])  # fmt: skip
    page.table(["VM", "counter", la, lb, "Δ"], rows)
    page.figure(figures.compare_figure(c, labels))
    page.heading("Host utilisation")
    page.side_by_side(
        [figures.host_figure(c.a.data, c.a.thresholds.host_util, f"{la}: host PCPU utilisation"),
         figures.host_figure(c.b.data, c.b.thresholds.host_util, f"{lb}: host PCPU utilisation")]
    )  # fmt: skip
    page.heading(f"{READY.column} per VM")
    page.side_by_side(
        [figures.vm_metric_figure(c.a.data, READY, c.a.thresholds.rdy, f"{la}: {READY.column} per vCPU"),
         figures.vm_metric_figure(c.b.data, READY, c.b.thresholds.rdy, f"{lb}: {READY.column} per vCPU")]
    )  # fmt: skip
    page.heading(f"Findings gone in {lb}")
    findings_table(page, c.fixed)
    page.heading(f"Findings new in {lb}")
    findings_table(page, c.new)
    page.heading(f"All findings of {la}")
    findings_table(page, c.a.findings)
    page.heading(f"All findings of {lb}")
    findings_table(page, c.b.findings)


def _pct(x: float) -> Any:
    """A relative error as a percentage (one decimal), "-" where the capture shows 0 or nothing."""
    return _num(100.0 * x, 1) if math.isfinite(x) else "-"


def calibration_sections(page: Page, w: WhatIf) -> None:
    """The calibration: host utilisation and per-VM %RUN, %RDY, %MLMTD, captured vs simulated."""
    from vmksim.analyze.text import calibration_summary
    from vmksim.report import figures

    cal = w.calibration
    page.heading("Calibration: the inferred scenario simulated unchanged vs the capture")
    page.paragraph(calibration_summary(w))
    page.figure(figures.calibration_figure(cal))
    page.table(
        ["VM", f"{RUN.column} capture", f"{RUN.column} simulated", f"{RUN.column} error %",
         f"{READY.column} capture", f"{READY.column} simulated", f"{READY.column} error %",
         f"{MLMTD.column} capture", f"{MLMTD.column} simulated"],
        [[r.name, _num(r.run_capture, 2), _num(r.run_simulated, 2), _pct(r.run_rel), _num(r.ready_capture, 2),
          _num(r.ready_simulated, 2), _pct(r.ready_rel), _num(r.mlmtd_capture, 2), _num(r.mlmtd_simulated, 2)]
         for r in cal.rows],
    )  # fmt: skip


def write_whatif_report(w: WhatIf, path: str | os.PathLike[str]) -> None:
    """Inferred demand, calibration (table and chart), changes, then before/after side by side."""
    from vmksim.analyze.text import facts_line
    from vmksim.report.html import Page

    page = Page(f"vmksim whatif: {w.capture.data.host.name}")
    page.paragraph(f"Capture: {w.capture.data.source}")
    page.paragraph(facts_line(w.capture))
    page.paragraph("Changes: " + ("; ".join(w.changes) if w.changes else "none simulated (calibration only)"))
    for note in w.not_applied:
        page.paragraph(f"Not simulated: {note}", "note")
    calibration_sections(page, w)
    page.heading("Inferred demand (per busy vCPU, uncontended)")
    page.table(
        ["VM", "vCPUs", "busy vCPUs", "util %", "burst ms", "idle ms", "from"],
        [[d.name, d.vcpus, d.busy_vcpus, _num(d.utilisation_pct), _num(d.busy_ms, 3), _num(d.idle_ms, 2), d.method]
         for d in w.demands],
    )  # fmt: skip
    page.paragraph(
        f"System load (non-VM groups, [host.system] cpu_pct): {w.system.cpu_pct:.2f} % of one PCPU"
    )
    if w.comparison is not None:
        page.heading("Before and after the changes (both simulated, same seed)")
        compare_sections(page, w.comparison, ("before", "after"), warn_hosts=False)
    page.write(path)


def _host_digits(label: str) -> int:
    from vmksim.analyze.compare import COUNT_ROWS

    return 0 if label in COUNT_ROWS else 2


def _delta_cell(a: float | None, b: float | None, digits: int = 2) -> Any:
    if a is None or b is None or not (math.isfinite(a) and math.isfinite(b)):
        return "-"
    d = round(b - a, digits)
    if digits == 0:
        d = int(d)
    return (d, "good" if d < 0 else "bad" if d > 0 else "")
