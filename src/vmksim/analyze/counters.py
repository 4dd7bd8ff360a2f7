"""The counters the analyzer, its reports and the what-if read, named once through the catalogue.

Each name is a :class:`~vmksim.metrics.Metric` looked up by its catalogue key
(:mod:`vmksim.metrics` is the one table of esxtop counters: CSV counter name,
screen column, unit, format), so ``READY.counter`` is ``"% Ready"`` and
``READY.column`` is ``"%RDY"`` without either being spelled here.
Per-vCPU figures use the Vcpu counters; Group Cpu has the same state-time
names (esxtop.md §1.4).

Every esxtop counter name the analyzer uses is here and nowhere else in
:mod:`vmksim.analyze` (tests/test_counter_names.py scans for raw strings), so a
rename in the catalogue reaches the reader, the rules and the reports at once
(issue 12 item 7).
"""

from __future__ import annotations

from vmksim.metrics import EsxObject, Metric, by_object

__all__ = [
    "ALLOC_MAX",
    "ALLOC_MIN",
    "ALLOC_SHARES",
    "BALLOON",
    "COSTOP",
    "DEMAND",
    "FREE_MB",
    "GROUP_CPU_READ",
    "GROUP_MEMORY_READ",
    "G_MEMBERS",
    "G_USED",
    "G_VMWAIT",
    "HOST_READ",
    "IDLE",
    "KERNEL_STATE",
    "LATENCY",
    "LOAD_1",
    "MACHINE_MB",
    "MEMCTL_CURRENT",
    "MEM_ALLOC_MAX",
    "MEM_SIZE",
    "MIGRATES",
    "MLMTD",
    "NODE_FREE",
    "NODE_TOTAL",
    "NUMA_HOME",
    "NUMA_LOCAL_MB",
    "NUMA_LOCAL_PCT",
    "NUMA_MIGRATIONS",
    "NUMA_REMOTE_MB",
    "OVERLAP",
    "PCPU_CORE_UTIL",
    "PCPU_USED",
    "PCPU_UTIL",
    "PSTATE_MHZ",
    "QEXP",
    "READY",
    "RUN",
    "SWAPPED",
    "SWAP_READ",
    "SWAP_USED",
    "SWAP_WRITTEN",
    "SWITCHES",
    "SWPWT",
    "SYSTEM",
    "USED",
    "VCPU_READ",
    "VMWAIT",
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

# The rest of the Vcpu CPU panel the reader keeps (esxtop.md §2.1: %STATE TIMES, EVENT COUNTS/s,
# SUMMARY STATS), and the Group Cpu counters that only groups carry.
SYSTEM, IDLE, OVERLAP, VMWAIT, DEMAND, LATENCY = (
    metric(_V, k) for k in ("system", "idle", "overlap", "vmwait", "demand", "latency")
)
SWITCHES, MIGRATES, QEXP = (metric(_V, k) for k in ("switches", "migrates", "quantum_expires"))
G_MEMBERS, G_VMWAIT = metric(_G, "members"), metric(_G, "vmwait")

# Host-wide counters: Physical Cpu Load, Numa Node, Memory (esxtop.md §1.4, §2.3).
LOAD_1 = metric(EsxObject.PCPU_LOAD, "load_1")
NODE_TOTAL, NODE_FREE = metric(EsxObject.NUMA_NODE, "total"), metric(EsxObject.NUMA_NODE, "free")
MACHINE_MB, FREE_MB, KERNEL_STATE, SWAP_USED, MEMCTL_CURRENT = (
    metric(EsxObject.MEMORY, k) for k in ("machine", "free", "kernel_state", "swap_used", "memctl_current")
)
MEM_SIZE, NUMA_HOME = metric(_M, "size"), metric(_M, "numa_home")

#: Every counter the analyzer reads from a capture (vmksim.analyze.facts.COUNTERS); each
#: Group Cpu and Vcpu tuple is in the order the capture reader has always listed them.
HOST_READ: tuple[Metric, ...] = (
    PCPU_USED, PCPU_UTIL, PCPU_CORE_UTIL, LOAD_1, NODE_TOTAL, NODE_FREE,
    MACHINE_MB, FREE_MB, KERNEL_STATE, SWAP_USED, MEMCTL_CURRENT, PSTATE_MHZ,
)  # fmt: skip
GROUP_CPU_READ: tuple[Metric, ...] = tuple(
    metric(_G, k)
    for k in ("members", "used", "run", "ready", "costop", "max_limited", "swap_wait", "wait", "vmwait",
              "alloc_min", "alloc_max", "alloc_shares", "wakeups", "demand", "system", "idle", "overlap",
              "latency", "switches", "migrates", "quantum_expires")
)  # fmt: skip
VCPU_READ: tuple[Metric, ...] = (
    USED, RUN, READY, COSTOP, MLMTD, SWPWT, WAIT, WAKEUPS, DEMAND, SYSTEM, IDLE, OVERLAP, VMWAIT, LATENCY,
    SWITCHES, MIGRATES, QEXP,
)  # fmt: skip
GROUP_MEMORY_READ: tuple[Metric, ...] = (
    MEM_SIZE, NUMA_HOME, NUMA_MIGRATIONS, NUMA_REMOTE_MB, NUMA_LOCAL_MB, NUMA_LOCAL_PCT, BALLOON,
    SWAPPED, SWAP_READ, SWAP_WRITTEN, MEM_ALLOC_MAX,
)  # fmt: skip
