"""Terminal views of an analysis and of a comparison (rich tables).

What a person first wants from a capture: the host in one line, a table of
VMs with the per-vCPU figures the rules of thumb use (%RDY, %CSTP, %MLMTD,
%SWPWT; N%L), and the findings with their fixes, most severe first.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from vmksim.analyze.compare import COUNT_ROWS, is_count
from vmksim.analyze.counters import COSTOP, MLMTD, NUMA_LOCAL_PCT, NUMA_MIGRATIONS, READY, RUN, SWPWT, USED
from vmksim.analyze.findings import Finding, Severity
from vmksim.analyze.summary import Analysis, VmSummary
from vmksim.console import make_console, user_text

if TYPE_CHECKING:
    from vmksim.analyze.compare import Comparison
    from vmksim.whatif import WhatIf

__all__ = ["facts_line", "print_analysis", "print_comparison", "print_findings", "print_whatif"]

_STYLE = {Severity.CRITICAL: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}
#: VM rows shown in the terminal (worst %RDY first); the JSON and the report carry all.
MAX_VM_ROWS = 40


def _f(v: float | None, digits: int = 1) -> str:
    return "-" if v is None or not math.isfinite(v) else f"{v:.{digits}f}"


#: The name a host gets when none was given (topology.spec.host_from_mapping's default_name),
#: which captures carry as ``\\host\...``: printed as "unnamed host", not "host host".
UNNAMED_HOST = "host"


def host_label(name: str) -> str:
    """``host NAME``, or ``unnamed host`` for a host that was given no name."""
    return "unnamed host" if name == UNNAMED_HOST else f"host {name}"


def facts_line(a: Analysis) -> str:
    d, h = a.data, a.data.host
    ht = "HT" if h.ht else "no HT"
    mem = f", {h.memory_mb / 1024:.0f} GB" if h.memory_mb else ""
    return (
        f"{host_label(h.name)}: {h.pcpus} PCPUs ({h.cores} cores, {ht}), {h.numa_nodes} NUMA node(s){mem}; "
        f"{len(d.vms)} VMs with {sum(v.vcpus for v in d.vms)} vCPUs ({a.host.vcpus_per_pcpu:.2f} per PCPU); "
        f"{d.samples} samples every {d.interval_s:g} s = {d.duration_s / 60:.1f} min; "
        f"{'all counters (-a)' if d.all_counters else 'default counters'}, {d.total_columns} columns"
    )


def _vm_table(vms: Sequence[VmSummary], title: str) -> Table:
    t = Table(title=title, title_justify="left")
    for col in ("VM", "vCPUs", USED.column, RUN.column, READY.column, "peak", COSTOP.column, MLMTD.column,
                SWPWT.column, NUMA_LOCAL_PCT.column, NUMA_MIGRATIONS.column):  # fmt: skip
        t.add_column(col, justify="left" if col == "VM" else "right")
    ordered = sorted(vms, key=lambda v: -(v.ready if math.isfinite(v.ready) else -1))
    for v in ordered[:MAX_VM_ROWS]:
        t.add_row(
            user_text(v.name), str(v.vcpus), _f(v.used), _f(v.run), _f(v.ready), _f(v.ready_peak), _f(v.costop),
            _f(v.max_limited), _f(v.swap_wait), _f(v.numa_local_pct, 0), _f(v.numa_migrations, 0),
        )  # fmt: skip
    if len(ordered) > MAX_VM_ROWS:
        t.caption = f"{len(ordered) - MAX_VM_ROWS} more VMs in --json / --report"
    return t


def print_findings(console: Console, findings: Sequence[Finding]) -> None:
    """Findings as blocks (severity, where, what; then cause and fix), readable in narrow terminals."""
    if not findings:
        console.print("[green]No findings: every VM and the host are within the thresholds.[/]")
        return
    console.print(f"[bold]Findings ({len(findings)})[/]")
    for f in findings:
        style = _STYLE[f.severity]
        who = user_text(f.vm, "bold") if f.vm else Text("(host)", style="bold")
        console.print(Text.assemble((f.severity.value, style), " ", who, " ", f.metric))
        for label, text in (("", f.message), ("cause: ", f.cause), ("fix: ", f.fix)):
            console.print(Padding(user_text(label + text), (0, 0, 0, 4)))


def print_analysis(a: Analysis, console: Console | None = None) -> None:
    console = console or make_console()
    console.print(user_text(a.data.source, "bold"))
    console.print(user_text(facts_line(a)))
    console.print(
        f"host PCPU UTIL {_f(a.host.util)} % mean, {_f(a.host.util_peak)} % peak; "
        f"figures per vCPU, means over the capture"
    )
    for w in a.data.warnings:
        console.print(Text.assemble(("capture warning:", "yellow"), " ", user_text(w)))
    console.print(_vm_table(a.vms, "VMs (worst %RDY first)"))
    print_findings(console, a.findings)


def print_comparison(
    c: Comparison,
    console: Console | None = None,
    labels: tuple[str, str] = ("A", "B"),
    *,
    warn_hosts: bool = True,
) -> None:
    """Host rows, then every per-VM counter that changed, then the findings gone and new.

    ``warn_hosts=False`` when a different host is the point (a what-if ``--host`` change).
    """
    console = console or make_console()
    la, lb = labels
    for label, side in ((la, c.a), (lb, c.b)):
        console.print(
            Text.assemble(user_text(label, "bold"), " ", user_text(f"{side.data.source}: {facts_line(side)}"))
        )
    if warn_hosts:
        for w in c.warnings:
            console.print(
                Text.assemble(("warning:", "yellow"), " ", user_text(w.replace("A and B", f"{la} and {lb}")))
            )
    t = Table(title="Host", title_justify="left")
    for col in ("figure", la, lb, f"{lb} - {la}"):
        t.add_column(user_text(col), justify="left" if col == "figure" else "right")
    for label, x, y in c.host_rows():
        digits = 0 if label in COUNT_ROWS else 2 if "per PCPU" in label else 1
        t.add_row(label, _f(x, digits), _f(y, digits), _delta(x, y, digits))
    console.print(t)
    console.print(_changes_table(c, la, lb))
    console.print(
        user_text(
            f"findings: {la} {len(c.a.findings)}, {lb} {len(c.b.findings)}; "
            f"gone in {lb}: {len(c.fixed)}, new in {lb}: {len(c.new)}"
        )
    )
    for f in c.new:
        console.print(Padding(user_text(f"new: {f.message}", style="red"), (0, 0, 0, 2)))
    for f in c.fixed:
        console.print(Padding(user_text(f"gone: {f.message}", style="green"), (0, 0, 0, 2)))


def _changes_table(c: Comparison, la: str, lb: str) -> Table:
    """One row per VM counter that changed (per vCPU means; NMIG summed), VMs worst %RDY first."""
    t = Table(title=f"VMs: every counter that changed (per vCPU, means; {la} → {lb})", title_justify="left")
    t.add_column("VM", no_wrap=True)
    for col in ("counter", la, lb, f"{lb} - {la}"):
        t.add_column(col, justify="left" if col == "counter" else "right", no_wrap=True)
    rows = c.vm_rows()
    for row in rows[:MAX_VM_ROWS]:
        if row.a is None or row.b is None:
            t.add_row(user_text(row.name), f"only in {lb if row.a is None else la}", "", "", "")
        elif not row.changes:
            t.add_row(user_text(row.name), "(no change)", "", "", "")
        for i, ch in enumerate(row.changes):
            digits = 0 if is_count(ch.metric) else 1
            t.add_row(
                user_text(row.name) if i == 0 else "", ch.metric.column, _f(ch.a, digits), _f(ch.b, digits),
                _delta(ch.a, ch.b, digits),
            )  # fmt: skip
        t.add_section()
    if len(rows) > MAX_VM_ROWS:
        t.caption = f"{len(rows) - MAX_VM_ROWS} more VMs in --json / --report"
    return t


def _delta(a: float | None, b: float | None, digits: int = 1) -> str:
    if a is None or b is None or not (math.isfinite(a) and math.isfinite(b)):
        return "-"
    d = round(b, digits) - round(a, digits)
    style = "green" if d < 0 else "red" if d > 0 else ""
    text = f"{d:+.{digits}f}"
    return f"[{style}]{text}[/]" if style else text


def _pct(x: float) -> str:
    return f"{100 * x:+.1f} %" if math.isfinite(x) else "-"


#: Captured value (percent of a PCPU, per vCPU) below which the calibration shows the error in
#: points (simulated - captured) instead of relative to the captured value. A relative error of a
#: near-zero value is meaningless: a captured %RDY of 0.01 (esxtop's 2-decimal resolution)
#: against 16.4 simulated read "+164246.6 %". One point is 1 % of one PCPU: well below every
#: rule-of-thumb threshold the analyzer uses (%RDY 10, %CSTP 3 per vCPU; thresholds.py).
RELATIVE_ERROR_FLOOR = 1.0


def _error(captured: float, simulated: float, rel: float) -> str:
    """Calibration error: relative (``+3.1 %``), or in points (``+16.40 pt``) below the floor."""
    if math.isfinite(captured) and math.isfinite(simulated) and abs(captured) < RELATIVE_ERROR_FLOOR:
        return f"{simulated - captured:+.2f} pt"
    return _pct(rel)


def calibration_summary(w: WhatIf) -> str:
    """One sentence: how close the unchanged simulation came to the capture (relative errors)."""
    cal = w.calibration
    return (
        f"host PCPU UTIL {_f(cal.host_util_capture, 2)} % captured, {_f(cal.host_util_simulated, 2)} % "
        f"simulated ({_error(cal.host_util_capture, cal.host_util_simulated, cal.host_util_rel)}); %RUN per VM within {_f(100 * cal.run_rel_max)} % of the "
        f"capture; mean absolute error {_f(cal.ready_mae, 2)} points of %RDY, {_f(cal.run_mae, 2)} of %RUN "
        f"per vCPU; system load (non-VM groups) {w.system.cpu_pct:.2f} % of a PCPU"
    )


def _calibration_table(w: WhatIf) -> Table:
    cal = w.calibration
    t = Table(
        title="Calibration: the inferred scenario simulated unchanged vs the capture (per vCPU)",
        title_justify="left",
    )
    with_ml = any(math.isfinite(r.mlmtd_capture) for r in cal.rows)
    cols = ["VM", f"{RUN.column} cap", "sim", "error", f"{READY.column} cap", "sim", "error"]
    cols += [f"{MLMTD.column} cap", "sim"] if with_ml else []
    for col in cols:
        t.add_column(col, justify="left" if col == "VM" else "right")
    for r in cal.rows[:MAX_VM_ROWS]:
        cells: list[Text | str] = [
            user_text(r.name), _f(r.run_capture, 2), _f(r.run_simulated, 2),
            _error(r.run_capture, r.run_simulated, r.run_rel),
            _f(r.ready_capture, 2), _f(r.ready_simulated, 2), _error(r.ready_capture, r.ready_simulated, r.ready_rel),
        ]  # fmt: skip
        if with_ml:
            cells += [_f(r.mlmtd_capture, 2), _f(r.mlmtd_simulated, 2)]
        t.add_row(*cells)
    t.caption = (
        calibration_summary(w) + "; error = (simulated - captured) / captured, or simulated - captured in "
        f"points (pt) where less than {RELATIVE_ERROR_FLOOR:g} was captured"
    )
    return t


def print_whatif(w: WhatIf, console: Console | None = None) -> None:
    """Inferred demand, calibration against the capture, then the simulated before/after."""
    console = console or make_console()
    console.print(user_text(w.capture.data.source, "bold"))
    console.print(user_text(facts_line(w.capture)))
    t = Table(title="Inferred demand (per busy vCPU, uncontended)", title_justify="left")
    for col in ("VM", "vCPUs", "busy", "util %", "burst ms", "idle ms", "from"):
        t.add_column(col, justify="left" if col in ("VM", "from") else "right")
    for d in w.demands[:MAX_VM_ROWS]:
        t.add_row(
            user_text(d.name), str(d.vcpus), str(d.busy_vcpus), _f(d.utilisation_pct, 2), _f(d.busy_ms, 3),
            _f(d.idle_ms, 2), d.method,
        )  # fmt: skip
    console.print(t)
    console.print(_calibration_table(w))
    if not w.capture.data.all_counters:
        console.print(
            "[yellow]note:[/] this capture has esxtop's default fields: CPU reservations and shares "
            "(Alloc Min/Shares, taken with esxtop -a) are unknown, so the inferred VMs have none; "
            "limits are inferred only where %MLMTD shows one binding."
        )
    for note in w.not_applied:
        console.print(Text.assemble(("not simulated:", "yellow"), " ", user_text(note)))
    if w.comparison is None:
        if not w.not_applied:
            console.print(
                "No changes given (--set, --host, --add-vm, --remove-vm): only the calibration is shown."
            )
        else:
            console.print("Nothing left to simulate: no before/after is shown.")
        return
    console.print(Text.assemble(("Changes:", "bold"), " ", user_text("; ".join(w.changes))))
    print_comparison(w.comparison, console, labels=("before", "after"), warn_hosts=False)
