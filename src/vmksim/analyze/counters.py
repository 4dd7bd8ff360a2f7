"""The counters the analyzer, its reports and the what-if read, named once through the catalogue.

Each name is a :class:`~vmksim.metrics.Metric` looked up by its catalogue key
(:mod:`vmksim.metrics` is the one table of esxtop counters: CSV counter name,
screen column, unit, format), so ``READY.counter`` is ``"% Ready"`` and
``READY.column`` is ``"%RDY"`` without either being spelled here.
Per-vCPU figures use the Vcpu counters; Group Cpu has the same state-time
names (esxtop.md §1.4).
"""

from __future__ import annotations

from vmksim.metrics import EsxObject, Metric, by_object

__all__ = [
    "ALLOC_MAX",
    "ALLOC_MIN",
    "ALLOC_SHARES",
    "BALLOON",
    "COSTOP",
    "G_USED",
    "MEM_ALLOC_MAX",
    "MLMTD",
    "NUMA_LOCAL_MB",
    "NUMA_LOCAL_PCT",
    "NUMA_MIGRATIONS",
    "NUMA_REMOTE_MB",
    "PCPU_CORE_UTIL",
    "PCPU_USED",
    "PCPU_UTIL",
    "PSTATE_MHZ",
    "READY",
    "RUN",
    "SWAPPED",
    "SWAP_READ",
    "SWAP_WRITTEN",
    "SWPWT",
    "USED",
    "WAIT",
    "WAKEUPS",
    "metric",
]


def metric(obj: EsxObject, key: str) -> Metric:
    """The catalogue entry of *key* on *obj* (KeyError for a key the catalogue lacks)."""
    for m in by_object(obj):
        if m.key == key:
            return m
    raise KeyError(f"{obj.value}: no counter with key {key!r} in vmksim.metrics")


_V, _G, _M, _P = EsxObject.VCPU, EsxObject.GROUP_CPU, EsxObject.GROUP_MEMORY, EsxObject.PCPU

USED, RUN, WAIT, READY, COSTOP, MLMTD, SWPWT, WAKEUPS = (
    metric(_V, k) for k in ("used", "run", "wait", "ready", "costop", "max_limited", "swap_wait", "wakeups")
)
G_USED = metric(_G, "used")
ALLOC_MAX, ALLOC_MIN, ALLOC_SHARES = (metric(_G, k) for k in ("alloc_max", "alloc_min", "alloc_shares"))
MEM_ALLOC_MAX = metric(_M, "alloc_max")
NUMA_LOCAL_PCT, NUMA_LOCAL_MB, NUMA_REMOTE_MB, NUMA_MIGRATIONS = (
    metric(_M, k) for k in ("numa_local_pct", "numa_local", "numa_remote", "numa_rebalance")
)
BALLOON, SWAPPED, SWAP_READ, SWAP_WRITTEN = (
    metric(_M, k) for k in ("memctl_size", "swapped", "swap_read", "swap_written")
)
PCPU_USED, PCPU_UTIL, PCPU_CORE_UTIL = (metric(_P, k) for k in ("used", "util", "core_util"))
PSTATE_MHZ = metric(EsxObject.POWER, "pstate_mhz")
