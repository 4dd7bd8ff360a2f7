"""Two captures (or runs) side by side: host and per-VM figures, and which findings came or went.

Use: before/after a change on a real host, a capture against a simulation of
it, or two what-if predictions. VMs are matched by display name (the part of
the esxtop group instance after ``GID:``, esxtop.md §1.3), since group IDs
change across power cycles and hosts. A finding is "the same" in both when
it has the same VM and metric.

Per-VM figures are every summary counter of the metric catalogue
(:data:`VM_COUNTERS`: the CPU state times, event rates and summary stats per
vCPU, esxtop.md §2.1 and esxi-scheduler.md §3.2-§3.3; the NUMA and reclamation
figures of the memory panel, esxtop.md §2.3) that either capture has. A figure
*changed* when the two values differ as printed: integers for counts
(the catalogue's ``%d`` format, esxtop.md §1.3), one decimal otherwise.

Captures of two different hosts (another host name or another topology) are
compared, with a warning: the difference then includes the host, not only
the change.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from vmksim.analyze.counters import metric
from vmksim.analyze.facts import CaptureData, VmFacts
from vmksim.analyze.findings import Finding
from vmksim.analyze.summary import Analysis, VmSummary
from vmksim.metrics import EsxObject, Fmt, Metric

__all__ = ["VM_COUNTERS", "Comparison", "CounterChange", "VmPair", "compare", "is_count", "vm_figures"]


def _pick(obj: EsxObject, keys: tuple[str, ...]) -> tuple[Metric, ...]:
    return tuple(metric(obj, k) for k in keys)


#: Per-VM counters compared, in catalogue (screen) order: per vCPU (Vcpu, or Group Cpu ÷ vCPUs).
VCPU_COUNTERS: tuple[Metric, ...] = _pick(
    EsxObject.VCPU,
    ("used", "run", "system", "wait", "vmwait", "ready", "idle", "overlap", "costop", "max_limited",
     "swap_wait", "switches", "migrates", "quantum_expires", "wakeups", "latency", "demand"),
)  # fmt: skip
#: Per-VM memory-panel counters compared: NMIG is summed over the capture, the others averaged.
MEMORY_COUNTERS: tuple[Metric, ...] = _pick(
    EsxObject.GROUP_MEMORY, ("numa_local_pct", "numa_rebalance", "memctl_size", "swapped")
)
VM_COUNTERS: tuple[Metric, ...] = VCPU_COUNTERS + MEMORY_COUNTERS
_SUMMED = ("numa_rebalance",)
#: Digits a non-integer figure is shown (and compared) with in the terminal.
SHOWN_DIGITS = 1


def is_count(m: Metric) -> bool:
    """Counts print as integers (the catalogue's %d format, esxtop.md §1.3)."""
    return m.fmt is Fmt.INTEGER


def _shown(m: Metric, x: float) -> float:
    return float(round(x)) if is_count(m) else round(x, SHOWN_DIGITS)


def _finite_mean(a: np.ndarray | None) -> float:
    if a is None:
        return math.nan
    a = a[~np.isnan(a)]
    return float(a.mean()) if a.size else math.nan


def _vm_value(data: CaptureData, vm: VmFacts, m: Metric) -> float:
    if m.object is EsxObject.GROUP_MEMORY:
        s = data.vm_memory(vm, m.counter)
        if m.key in _SUMMED:
            return float(np.nansum(s)) if s is not None else math.nan
        return _finite_mean(s)
    return _finite_mean(data.vm_per_vcpu(vm, m.counter))


def vm_figures(data: CaptureData) -> dict[str, dict[str, float]]:
    """VM name -> {catalogue key: value} for every :data:`VM_COUNTERS` counter the capture has."""
    out: dict[str, dict[str, float]] = {}
    for vm in data.vms:
        values = {m.key: _vm_value(data, vm, m) for m in VM_COUNTERS}
        out[vm.name] = {k: v for k, v in values.items() if math.isfinite(v)}
    return out


@dataclass(frozen=True, slots=True)
class CounterChange:
    metric: Metric
    a: float
    b: float

    @property
    def delta(self) -> float:
        return self.b - self.a

    def to_json(self) -> dict[str, Any]:
        digits = 0 if is_count(self.metric) else 2
        return {
            "counter": self.metric.counter,
            "column": self.metric.column,
            "a": round(self.a, digits),
            "b": round(self.b, digits),
            "delta": round(self.delta, digits),
        }


@dataclass(frozen=True, slots=True)
class VmPair:
    name: str
    a: VmSummary | None
    b: VmSummary | None
    changes: tuple[CounterChange, ...] = ()
    """Every :data:`VM_COUNTERS` figure that differs as printed (VMs in both captures only)."""

    def to_json(self) -> dict[str, Any]:
        def delta(key: str) -> float | None:
            if self.a is None or self.b is None:
                return None
            x, y = getattr(self.a, key), getattr(self.b, key)
            return round(y - x, 2) if math.isfinite(x) and math.isfinite(y) else None

        return {
            "name": self.name,
            "a": self.a.to_json() if self.a else None,
            "b": self.b.to_json() if self.b else None,
            "delta": {
                k: delta(k)
                for k in ("ready", "costop", "max_limited", "swap_wait", "run", "used", "numa_local_pct")
            },
            "changed": [c.to_json() for c in self.changes],
        }


def _changes(fa: dict[str, float], fb: dict[str, float]) -> tuple[CounterChange, ...]:
    out = []
    for m in VM_COUNTERS:
        if m.key in fa and m.key in fb and _shown(m, fa[m.key]) != _shown(m, fb[m.key]):
            out.append(CounterChange(m, fa[m.key], fb[m.key]))
    return tuple(out)


#: Host rows that are counts (printed as integers).
COUNT_ROWS = ("PCPUs", "NUMA nodes", "VMs", "findings")


@dataclass(frozen=True, slots=True)
class Comparison:
    a: Analysis
    b: Analysis

    def vm_rows(self) -> list[VmPair]:
        """VMs of A in A's order (worst %RDY of either first), then those only in B."""
        bmap = {v.name: v for v in self.b.vms}
        amap = {v.name: v for v in self.a.vms}
        fa, fb = vm_figures(self.a.data), vm_figures(self.b.data)
        names = list(amap) + [n for n in bmap if n not in amap]

        def worst(n: str) -> float:
            vals = [v.ready for v in (amap.get(n), bmap.get(n)) if v is not None and math.isfinite(v.ready)]
            return -max(vals) if vals else 0.0

        return [
            VmPair(n, amap.get(n), bmap.get(n), _changes(fa.get(n, {}), fb.get(n, {})))
            for n in sorted(names, key=worst)
        ]

    def host_rows(self) -> list[tuple[str, float, float]]:
        ha, hb = self.a.host, self.b.host
        da, db = self.a.data, self.b.data
        return [
            ("PCPUs", float(da.host.pcpus), float(db.host.pcpus)),
            ("NUMA nodes", float(da.host.numa_nodes), float(db.host.numa_nodes)),
            ("VMs", float(len(da.vms)), float(len(db.vms))),
            ("vCPUs per PCPU", ha.vcpus_per_pcpu, hb.vcpus_per_pcpu),
            ("PCPU UTIL % mean", ha.util, hb.util),
            ("PCPU UTIL % peak", ha.util_peak, hb.util_peak),
            ("PCPU USED % mean", ha.used, hb.used),
            ("CORE UTIL % mean", ha.core_util, hb.core_util),
            ("findings", float(len(self.a.findings)), float(len(self.b.findings))),
        ]

    @property
    def warnings(self) -> list[str]:
        """Why the two may not be comparable: different hosts (name and/or topology), one warning."""
        a, b = self.a.data.host, self.b.data.host
        facts = []
        if a.name != b.name:
            facts.append(f"{a.name} and {b.name}")
        shape_a = (a.pcpus, a.ht, a.numa_nodes)
        shape_b = (b.pcpus, b.ht, b.numa_nodes)
        if shape_a != shape_b:
            facts.append(f"A has {_shape(*shape_a)}, B has {_shape(*shape_b)}")
        if not facts:
            return []
        return [
            f"A and B are captures of different hosts ({'; '.join(facts)}): "
            "the differences include the host, not only what changed on it"
        ]

    @staticmethod
    def _key(f: Finding) -> tuple[str | None, str]:
        return (f.vm, f.metric)

    @property
    def fixed(self) -> list[Finding]:
        """Findings of A that B no longer has."""
        keys = {self._key(f) for f in self.b.findings}
        return [f for f in self.a.findings if self._key(f) not in keys]

    @property
    def new(self) -> list[Finding]:
        """Findings of B that A did not have."""
        keys = {self._key(f) for f in self.a.findings}
        return [f for f in self.b.findings if self._key(f) not in keys]

    def to_json(self) -> dict[str, Any]:
        def clean(label: str, x: float) -> float | int | None:
            if not math.isfinite(x):
                return None
            return round(x) if label in COUNT_ROWS else round(x, 2)

        return {
            "a": _side_json(self.a),
            "b": _side_json(self.b),
            "warnings": self.warnings,
            "host": [{"figure": k, "a": clean(k, x), "b": clean(k, y)} for k, x, y in self.host_rows()],
            "vms": [p.to_json() for p in self.vm_rows()],
            "findings_a": [f.to_json() for f in self.a.findings],
            "findings_b": [f.to_json() for f in self.b.findings],
            "fixed": [f.to_json() for f in self.fixed],
            "new": [f.to_json() for f in self.new],
        }


def _shape(pcpus: int, ht: bool, nodes: int) -> str:
    return f"{pcpus} PCPUs ({'HT' if ht else 'no HT'}), {nodes} NUMA node(s)"


def _side_json(a: Analysis) -> dict[str, Any]:
    return {"source": a.data.source, "host": a.data.host.to_json(), "samples": a.data.samples}


def compare(a: Analysis, b: Analysis) -> Comparison:
    return Comparison(a, b)
