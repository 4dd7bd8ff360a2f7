"""A VM's and a vCPU's exact totals between two counter snapshots of the kernel (its Python API).

Not what users read: every summary a command prints (`vmksim run`, `analyze`,
`compare`, `whatif`) is :class:`vmksim.analyze.summary.VmSummary`, computed from
the esxtop sample stream (per-vCPU means over the samples). These totals are
the kernel's own check of its counters, used by the scheduler's theory tests
and the demo: esxtop's group-row arithmetic (esxi-scheduler.md §3.2–3.4) done
once over the whole interval, a VM's figure the sum over its vCPU worlds (100 =
one PCPU for the interval, so a 4-vCPU VM can reach 400, §3.3 item 5), and the
NUMA fields (home nodes, migrations, local memory) at the end. Arithmetic
follows psutil (STYLE.md): deltas clamped at zero, 0.0 on a zero interval.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from vmksim.counters import CounterSnapshot, GroupInfo, WorldInfo, WorldKind

__all__ = ["GroupTotals", "VcpuTotals", "group_totals", "vcpu_totals"]


class GroupTotals(NamedTuple):
    """One VM over an interval: percentages summed over its vCPUs, NUMA figures at the end."""

    name: str
    vcpus: int
    used: float
    run: float
    ready: float
    costop: float
    max_limited: float
    wait: float
    latency: float
    demand: float
    home_nodes: str  # e.g. "0" or "0,1"; "-" if not NUMA-managed
    nmig: int
    local_pct: float  # N%L; NaN if not NUMA-managed


class VcpuTotals(NamedTuple):
    """One vCPU world over an interval (percent of the interval)."""

    vm: str
    vcpu: int
    used: float
    run: float
    ready: float
    costop: float
    max_limited: float
    wait: float
    latency: float


_FIELDS = ("used", "run", "ready", "costop", "max_limited", "wait", "latency", "demand")


def _percent(before: CounterSnapshot, after: CounterSnapshot) -> dict[str, np.ndarray]:
    dt = after.time_us - before.time_us
    out = {}
    for name in _FIELDS:
        delta = np.maximum(np.asarray(getattr(after, name), dtype=np.float64) - getattr(before, name), 0.0)
        out[name] = delta * 100.0 / dt if dt > 0 else np.zeros_like(delta)
    return out


def vcpu_totals(
    worlds: Sequence[WorldInfo], groups: Sequence[GroupInfo], before: CounterSnapshot, after: CounterSnapshot
) -> list[VcpuTotals]:
    pct = _percent(before, after)
    return [
        VcpuTotals(groups[w.group].name, w.vcpu, *(float(pct[f][i]) for f in _FIELDS if f != "demand"))
        for i, w in enumerate(worlds)
        if w.kind is WorldKind.VCPU
    ]


def group_totals(
    worlds: Sequence[WorldInfo], groups: Sequence[GroupInfo], before: CounterSnapshot, after: CounterSnapshot
) -> list[GroupTotals]:
    pct = _percent(before, after)
    # a VM's figure is the sum over its vCPU worlds; helper and non-VM worlds are left out
    owner = np.array([w.group if w.kind is WorldKind.VCPU else len(groups) for w in worlds], dtype=np.int64)
    sums = {f: np.bincount(owner, weights=pct[f], minlength=len(groups) + 1) for f in _FIELDS}
    nmig = np.maximum(after.numa_migrations - before.numa_migrations, 0)
    out = []
    for g, info in enumerate(groups):
        if not info.is_vm:
            continue
        homes = after.home_nodes[g] if g < len(after.home_nodes) else ()
        mem = after.memory_on_node[g]
        total = float(mem.sum())
        if homes:
            local = float(mem[sorted(set(homes))].sum())
            local_pct = 100.0 * local / total if total > 0 else 100.0
        else:
            local_pct = math.nan
        out.append(
            GroupTotals(
                name=info.name,
                vcpus=info.vcpus,
                used=float(sums["used"][g]),
                run=float(sums["run"][g]),
                ready=float(sums["ready"][g]),
                costop=float(sums["costop"][g]),
                max_limited=float(sums["max_limited"][g]),
                wait=float(sums["wait"][g]),
                latency=float(sums["latency"][g]),
                demand=float(sums["demand"][g]),
                home_nodes=",".join(str(n) for n in homes) if homes else "-",
                nmig=int(nmig[g]),
                local_pct=local_pct,
            )
        )
    return out
