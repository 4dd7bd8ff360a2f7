"""The plots of an analysis report: host utilisation, %RDY / %CSTP per VM, NUMA locality, top offenders.

What each shows and why (esxtop.md §6: peers plot one counter at a time;
people ask for "what is wrong" views and per-VM filtering):

- host utilisation over time: ``Physical Cpu(_Total)`` %UTIL, %CORE UTIL and
  %USED (esxi-scheduler.md §3.1), plus each NUMA node's mean UTIL so an
  imbalance is visible, with the saturation threshold;
- %RDY and %CSTP per vCPU for each VM over time: lines for a few VMs, a
  heatmap (VM × time) when there are more than :data:`MAX_LINES`;
- NUMA locality: each VM's mean and lowest N%L against the 80 % line;
- top offenders: the VMs losing most time, as stacked %RDY (contention),
  %MLMTD (limit), %CSTP and %SWPWT per vCPU.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from vmksim.analyze.counters import (
    COSTOP,
    MLMTD,
    NUMA_LOCAL_PCT,
    PCPU_CORE_UTIL,
    PCPU_USED,
    PCPU_UTIL,
    READY,
    RUN,
    SWPWT,
)
from vmksim.analyze.facts import CaptureData
from vmksim.analyze.summary import Analysis
from vmksim.metrics import Metric
from vmksim.report.html import plotly

__all__ = [
    "MAX_LINES",
    "TOP_OFFENDERS",
    "host_figure",
    "locality_figure",
    "offenders_figure",
    "vm_metric_figure",
]

#: Up to this many VMs are drawn as lines; more become a heatmap.
MAX_LINES = 12
#: VMs in the top-offenders chart.
TOP_OFFENDERS = 15
_HEIGHT = 360


def _go() -> Any:
    return plotly().graph_objects


def _layout(fig: Any, title: str, ytitle: str, height: int = _HEIGHT) -> Any:
    fig.update_layout(
        title={"text": title, "x": 0.01},
        height=height,
        margin={"l": 60, "r": 20, "t": 50, "b": 40},
        template="plotly_white",
        legend={"orientation": "h", "y": -0.15},
        yaxis_title=ytitle,
    )
    return fig


def host_figure(data: CaptureData, threshold: float, title: str = "Host PCPU utilisation") -> Any:
    go = _go()
    fig = go.Figure()
    t = list(data.times)
    for m in (PCPU_UTIL, PCPU_CORE_UTIL, PCPU_USED):
        s = data.series(m.object.value, "_Total", m.counter)
        if s is not None:
            name = m.column.removesuffix("(%)")
            fig.add_trace(go.Scatter(x=t, y=s, mode="lines", name=f"{name} %", line={"width": 3}))
    nodes = data.node_util()
    if nodes is not None and data.host.numa_nodes > 1:
        for n in range(nodes.shape[1]):
            fig.add_trace(
                go.Scatter(x=t, y=nodes[:, n], mode="lines", name=f"node {n} UTIL %", line={"dash": "dot"})
            )
    fig.add_hline(
        y=threshold, line={"color": "#b00020", "dash": "dash"}, annotation_text=f"saturated ({threshold:g} %)"
    )
    fig.update_yaxes(range=[0, 105])
    return _layout(fig, title, "% of PCPU")


def vm_metric_figure(data: CaptureData, metric: Metric, threshold: float, title: str | None = None) -> Any:
    """Per-vCPU *metric* of every VM over time: lines, or a heatmap when there are many VMs."""
    go = _go()
    t = list(data.times)
    label = metric.column
    series = [(vm.name, data.vm_per_vcpu(vm, metric.counter)) for vm in data.vms]
    rows = [(n, s) for n, s in series if s is not None]
    title = title or f"{label} per vCPU, by VM"
    if len(rows) > MAX_LINES:
        rows.sort(key=lambda r: -float(np.nanmean(r[1])))
        z = np.vstack([s for _, s in rows])
        zmax = max(threshold * 2, float(np.nanmax(z)) if z.size else 1.0, 1.0)
        fig = go.Figure(
            go.Heatmap(
                z=z,
                x=t,
                y=[n for n, _ in rows],
                zmin=0,
                zmax=zmax,
                colorscale="YlOrRd",
                colorbar={"title": label},
            )
        )
        height = max(_HEIGHT, min(18 * len(rows) + 120, 1400))
        fig = _layout(
            fig, title + f" (heatmap, {len(rows)} VMs, worst first; threshold {threshold:g})", "", height
        )
        fig.update_yaxes(autorange="reversed")
        return fig
    fig = go.Figure()
    for name, s in rows:
        fig.add_trace(go.Scatter(x=t, y=s, mode="lines+markers", name=name))
    fig.add_hline(
        y=threshold, line={"color": "#b00020", "dash": "dash"}, annotation_text=f"threshold {threshold:g}"
    )
    return _layout(fig, title, f"{label} per vCPU")


def locality_figure(a: Analysis) -> Any:
    go = _go()
    names, means, lows = [], [], []
    for vm, summary in zip(a.data.vms, a.vms, strict=True):
        s = a.data.vm_memory(vm, NUMA_LOCAL_PCT.counter)
        if s is None or not math.isfinite(summary.numa_local_pct):
            continue
        names.append(vm.name)
        means.append(summary.numa_local_pct)
        lows.append(float(np.nanmin(s)))
    fig = go.Figure()
    if names:
        fig.add_trace(go.Bar(x=names, y=means, name="N%L mean"))
        fig.add_trace(go.Bar(x=names, y=lows, name="N%L lowest"))
    fig.add_hline(
        y=a.thresholds.nl, line={"color": "#b00020", "dash": "dash"}, annotation_text=f"{a.thresholds.nl:g} %"
    )
    fig.update_yaxes(range=[0, 105])
    note = "" if names else " (not in this capture: take it with esxtop -a)"
    return _layout(fig, "NUMA locality per VM (N%L)" + note, "% of memory local")


def offenders_figure(a: Analysis) -> Any:
    go = _go()

    def v(x: float) -> float:
        return x if math.isfinite(x) else 0.0

    ranked = sorted(a.vms, key=lambda s: -(v(s.ready) + v(s.costop) + v(s.swap_wait)))[:TOP_OFFENDERS]
    ranked.reverse()  # horizontal bars: worst at the top
    names = [s.name for s in ranked]
    parts = (
        (f"{READY.column} (contention)", [max(v(s.ready) - v(s.max_limited), 0.0) for s in ranked]),
        (f"{MLMTD.column} (limit)", [v(s.max_limited) for s in ranked]),
        (COSTOP.column, [v(s.costop) for s in ranked]),
        (SWPWT.column, [v(s.swap_wait) for s in ranked]),
    )
    fig = go.Figure([go.Bar(y=names, x=x, name=name, orientation="h") for name, x in parts])
    fig.update_layout(barmode="stack")
    height = max(_HEIGHT, 24 * len(names) + 140)
    fig = _layout(fig, f"Top offenders: time lost per vCPU (mean %), worst {len(names)}", "", height)
    fig.update_xaxes(title="% of the interval per vCPU")
    return fig


def compare_figure(c: Any, labels: tuple[str, str] = ("A", "B"), top: int = 20) -> Any:
    """Grouped bars: each VM's mean %RDY and %CSTP per vCPU in A and in B (the *top* worst VMs)."""
    go = _go()
    pairs = c.vm_rows()[:top]

    def val(s: Any, key: str) -> float | None:
        if s is None:
            return None
        x = getattr(s, key)
        return x if math.isfinite(x) else None

    names = [p.name for p in pairs]
    fig = go.Figure(
        [
            go.Bar(x=names, y=[val(p.a, "ready") for p in pairs], name=f"{READY.column} {labels[0]}"),
            go.Bar(x=names, y=[val(p.b, "ready") for p in pairs], name=f"{READY.column} {labels[1]}"),
            go.Bar(x=names, y=[val(p.a, "costop") for p in pairs], name=f"{COSTOP.column} {labels[0]}"),
            go.Bar(x=names, y=[val(p.b, "costop") for p in pairs], name=f"{COSTOP.column} {labels[1]}"),
        ]
    )
    fig.update_layout(barmode="group")
    title = f"{READY.column} and {COSTOP.column} per vCPU: {labels[0]} vs {labels[1]}"
    return _layout(fig, title, "% per vCPU")


def calibration_figure(cal: Any) -> Any:
    """Each VM's %RUN and %RDY per vCPU: captured vs simulated from the inferred scenario."""
    go = _go()
    names = [r.name for r in cal.rows]
    fig = go.Figure(
        [
            go.Bar(x=names, y=[r.run_capture for r in cal.rows], name=f"{RUN.column} captured"),
            go.Bar(x=names, y=[r.run_simulated for r in cal.rows], name=f"{RUN.column} simulated"),
            go.Bar(x=names, y=[r.ready_capture for r in cal.rows], name=f"{READY.column} captured"),
            go.Bar(x=names, y=[r.ready_simulated for r in cal.rows], name=f"{READY.column} simulated"),
        ]
    )
    fig.update_layout(barmode="group")
    return _layout(
        fig,
        f"Calibration: %RUN and %RDY per vCPU, capture vs simulation (MAE %RDY {cal.ready_mae:.2f})",
        "% per vCPU",
    )
