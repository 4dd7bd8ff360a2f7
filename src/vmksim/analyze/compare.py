"""Two captures (or runs) side by side: host and per-VM figures, and which findings came or went.

Use: before/after a change on a real host, a capture against a simulation of
it, or two what-if predictions. VMs are matched by display name (the part of
the esxtop group instance after ``GID:``, esxtop.md §1.3), since group IDs
change across power cycles and hosts. A finding is "the same" in both when
it has the same VM and metric.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from vmksim.analyze.findings import Finding
from vmksim.analyze.summary import Analysis, VmSummary

__all__ = ["Comparison", "VmPair", "compare"]


@dataclass(frozen=True, slots=True)
class VmPair:
    name: str
    a: VmSummary | None
    b: VmSummary | None

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
        }


@dataclass(frozen=True, slots=True)
class Comparison:
    a: Analysis
    b: Analysis

    def vm_rows(self) -> list[VmPair]:
        """VMs of A in A's order (worst %RDY of either first), then those only in B."""
        bmap = {v.name: v for v in self.b.vms}
        amap = {v.name: v for v in self.a.vms}
        names = list(amap) + [n for n in bmap if n not in amap]

        def worst(n: str) -> float:
            vals = [v.ready for v in (amap.get(n), bmap.get(n)) if v is not None and math.isfinite(v.ready)]
            return -max(vals) if vals else 0.0

        return [VmPair(n, amap.get(n), bmap.get(n)) for n in sorted(names, key=worst)]

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
            ("findings", float(len(self.a.findings)), float(len(self.b.findings))),
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
        def clean(x: float) -> float | None:
            return round(x, 2) if math.isfinite(x) else None

        return {
            "a": {
                "source": self.a.data.source,
                "host": self.a.data.host.to_json(),
                "samples": self.a.data.samples,
            },
            "b": {
                "source": self.b.data.source,
                "host": self.b.data.host.to_json(),
                "samples": self.b.data.samples,
            },
            "host": [{"figure": k, "a": clean(x), "b": clean(y)} for k, x, y in self.host_rows()],
            "vms": [p.to_json() for p in self.vm_rows()],
            "findings_a": [f.to_json() for f in self.a.findings],
            "findings_b": [f.to_json() for f in self.b.findings],
            "fixed": [f.to_json() for f in self.fixed],
            "new": [f.to_json() for f in self.new],
        }


def compare(a: Analysis, b: Analysis) -> Comparison:
    return Comparison(a, b)
