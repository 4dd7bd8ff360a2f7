"""The sampler: reads a CounterSource every interval and computes esxtop's numbers.

ESXi counterpart: esxtop reading the VMkernel's VSI counters. Most figures are
rates over the refresh interval: ``%X = (X at t2 − X at t1) ÷ (t2 − t1)``
(esxtop.md §2 "General"), computed from cumulative counters the way psutil
does (STYLE.md): deltas are clamped at zero (a counter that went backwards —
a world that was reset — reads 0, never negative) and a zero interval gives 0.
100 % is one PCPU for the interval, so a group's figures are sums over its
worlds and exceed 100 % (esxi-scheduler.md §3.3 item 5; esxtop.md §2.1);
``Physical Cpu(_Total)`` is the mean over PCPUs (esxtop.md §1.3 table).

Instance naming follows esxtop.md §1.3: groups ``GID:name``, worlds
``GID:groupname:WID:worldname``, PCPUs by index plus ``_Total``, NUMA nodes by
index (only on multi-node hosts), P-states by index, interrupt vectors
``0xVV`` with per-CPU children ``0xVV:CPUn``, ``PCPU Power State(PCPU n)``.

Simplifications (each a named parameter or a stated choice):
- Load averages are exponentially damped averages, Unix style, of
  (busy PCPU time + Σ READY + COSTOP of all worlds) ÷ (PCPUs × interval) — 1.00 means the
  PCPUs are exactly busy, above 1 means queueing; windows
  :data:`LOAD_AVERAGE_WINDOWS_S`. esxtop's exact formula is not documented.
- Memory overcommit is Σ configured VM memory ÷ VMkernel-managed memory − 1,
  floored at 0 (esxi-memory.md §4.1), damped with the same windows.
- Host memory lines are derived from the groups' memory when the source does
  not give them; minFree uses ESXi 5.0+'s sliding scale
  (esxi-memory.md §2.1) and Kernel State the observed code mapping of
  esxtop.md §2.3 (thresholds :data:`MEM_STATE_THRESHOLDS`).
- Vcpu rows repeat their group's CPU allocation (AMIN/AMAX/ASHRS); %LAT_M,
  Timers/sec and counters the source does not provide are 0.
- Group Power Usage Watts is the host's power split by %USED.
- Columns are fixed when the sampler starts (worlds are not added mid-run).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from vmksim.counters import CounterSnapshot, CounterSource, GroupInfo
from vmksim.metrics import MEMORY_FIRST_BLOCK, OBJECT_ORDER, EsxObject, Metric, Scope, by_object
from vmksim.scenario import DEFAULT_START
from vmksim.stats.sample import Column, FloatArray, Sample
from vmksim.vmx.config import MEM_SHARE_LEVELS, SHARE_LEVELS

__all__ = [
    "ALLOC_MIN_LIMITED",
    "DEFAULT_START",
    "KERNEL_MEMORY_FRACTION",
    "LOAD_AVERAGE_WINDOWS_S",
    "MEM_STATE_THRESHOLDS",
    "SHARE_LEVEL_CODES",
    "UNMODELLED_GROUP_MEMORY",
    "Sampler",
    "min_free_mb",
    "per_second",
    "percent",
    "share_code",
    "share_level_of",
]

#: Damping windows of the 1-, 5- and 15-minute load and overcommit averages (seconds).
LOAD_AVERAGE_WINDOWS_S: tuple[float, float, float] = (60.0, 300.0, 900.0)
#: VMkernel memory when the source does not say (fraction of machine memory; undocumented).
KERNEL_MEMORY_FRACTION = 0.01
#: Free memory as multiples of minFree at or above which Kernel State is 0 (high),
#: 1 (clear), 2 (soft), 3 (hard); below the last: 4 (low). esxtop.md §2.3, esxi-memory.md §2.2.
MEM_STATE_THRESHOLDS: tuple[float, ...] = (4.0, 1.0, 0.64, 0.32)
#: minFree bands of ESXi 5.0+ (MB of managed memory, fraction): esxi-memory.md §2.1.
MIN_FREE_BANDS: tuple[tuple[float, float], ...] = (
    (4096, 0.06),
    (8192, 0.04),
    (16384, 0.02),
    (math.inf, 0.01),
)

#: ``Alloc Shares`` of a VM whose shares are at a level: esxtop writes a negative code, not the
#: share count. -3 is observed for VMs at the default level, normal (esxtop.md §1.4b "Encodings
#: seen"). low and high are an inference, not observed: the vSphere API lists the levels as low,
#: normal, high, custom (vim.SharesInfo.Level, pyvmomi docs/vim/SharesInfo/Level.rst), and
#: counting down from -2 in that order puts normal at the observed -3 (-1 is esxtop's "none", as
#: in ``Alloc Max`` -1). A VM with custom shares writes the count.
SHARE_LEVEL_CODES: dict[str, int] = {"low": -2, "normal": -3, "high": -4}
#: ``Alloc Min Limited`` as every real capture writes it, for VM and system groups alike
#: (esxtop.md §1.4b); its meaning is undocumented.
ALLOC_MIN_LIMITED = -1.0
#: Group Memory counters the simulator does not model (checkpoint, zero/COW pages, commit and
#: compression): written as 0. Every other catalogue key must be computed, or sampling fails.
UNMODELLED_GROUP_MEMORY: frozenset[str] = frozenset({
    "llswap_read", "llswap_written", "checkpoint_read", "checkpoint_target", "zero", "cow_hint",
    "commit_min", "commit_target", "commit_charged", "commit_pps", "zip_cache", "zip_used", "zip_rate",
    "unzip_rate",
})  # fmt: skip

IntArray = npt.NDArray[np.int64]


def share_code(shares: int, units: int, levels: dict[str, int]) -> int:
    """What esxtop writes as ``Alloc Shares``: the level code when *shares* is a level × *units*, else *shares*.

    *levels* are shares per unit (per vCPU for CPU, per MB for memory: vmx.config.SHARE_LEVELS,
    MEM_SHARE_LEVELS); custom shares that happen to equal a level read as that level.
    """
    for name, per_unit in levels.items():
        if units > 0 and shares == per_unit * units:
            return SHARE_LEVEL_CODES[name]
    return shares


def share_level_of(code: float) -> str | None:
    """The share level an ``Alloc Shares`` code stands for (the inverse of :func:`share_code`), else None."""
    for name, value in SHARE_LEVEL_CODES.items():
        if round(code) == value:
            return name
    return None


def percent(current: npt.ArrayLike, previous: npt.ArrayLike, interval_us: int) -> FloatArray:
    """Share of the interval, in %, from two readings of cumulative µs: clamped at 0; 0 on a zero interval."""
    delta = np.asarray(current, dtype=np.float64) - np.asarray(previous, dtype=np.float64)
    if interval_us <= 0:
        return np.zeros_like(delta)
    return np.maximum(delta, 0.0) * 100.0 / interval_us


def per_second(current: npt.ArrayLike, previous: npt.ArrayLike, interval_us: int) -> FloatArray:
    """Events per second from two readings of a cumulative count (same clamping as :func:`percent`)."""
    return percent(current, previous, interval_us) * 1e4  # % of µs → per second: ×1e6/100


def min_free_mb(managed_mb: float) -> float:
    """ESXi 5.0+ minFree for *managed_mb* of VMkernel-managed memory (esxi-memory.md §2.1)."""
    left, total = managed_mb, 0.0
    for size, share in MIN_FREE_BANDS:
        take = min(left, size)
        total += take * share
        left -= take
        if left <= 0:
            break
    return total


def _state_code(free: float, min_free: float) -> int:
    for code, threshold in enumerate(MEM_STATE_THRESHOLDS):
        if free >= threshold * min_free:
            return code
    return len(MEM_STATE_THRESHOLDS)


def _damp(previous: float, current: float, interval_s: float, window_s: float) -> float:
    keep = math.exp(-interval_s / window_s)
    return previous * keep + current * (1.0 - keep)


@dataclass(frozen=True, slots=True)
class _Block:
    """Where one computed array (object, key) lands: value ``arr[src[i]]`` goes to column ``dst[i]``."""

    object: EsxObject
    key: str
    src: IntArray
    dst: IntArray


_Values = dict[str, FloatArray]
_Facts = dict[str, bool]


class Sampler:
    """esxtop over a :class:`CounterSource`: fixed columns, one :class:`Sample` per :meth:`sample` call.

    The constructor takes the baseline reading; each :meth:`sample` reads the
    counters again and reports the interval since the previous reading.
    ``all_counters`` is esxtop's ``-a``; ``groups`` (GIDs) limits the group and
    world objects like esxtop's ``--import-entity`` file; ``start`` is the UTC time of
    simulated time 0 (default: the source's ``start_time``, else DEFAULT_START).
    """

    def __init__(
        self,
        source: CounterSource,
        *,
        all_counters: bool = False,
        groups: frozenset[int] | None = None,
        start: datetime | None = None,
    ) -> None:
        self._source = source
        # The wall-clock time of simulated t = 0 ([run] start): given, or the source's
        # ``start_time`` (vmksim.kernel.boot's host has one), or the fixed default.
        given: datetime | None = start or getattr(source, "start_time", None)
        self._start = given if given is not None else DEFAULT_START
        self._topo = source.host
        self._groups = source.groups
        self._worlds = source.worlds
        kept = [i for i, g in enumerate(self._groups) if groups is None or g.group_id in groups]
        self._kept_groups = np.array(kept, dtype=np.int64)
        self._world_group = np.array([w.group for w in self._worlds], dtype=np.int64)
        kept_set = set(kept)
        self._kept_worlds = np.array(
            [i for i, w in enumerate(self._worlds) if w.group in kept_set], dtype=np.int64
        )
        self._prev = source.snapshot()
        self._load = [0.0, 0.0, 0.0]
        self._world_cache: _Values | None = None
        self._overcommit = [0.0, 0.0, 0.0]
        self._pstate_mhz = self._prev.pstate_mhz or (self._topo.mhz,)
        self._n_cstates = self._prev.cstate_time.shape[1] if self._prev.cstate_time is not None else 2
        self._columns, self._blocks = self._layout(all_counters)

    # --- public ----------------------------------------------------------
    @property
    def host(self) -> str:
        return self._source.host_name

    @property
    def columns(self) -> tuple[Column, ...]:
        return self._columns

    def sample(self) -> Sample:
        """Read the counters now and return the interval since the previous reading."""
        return self.step(self._source.snapshot())

    def step(self, snap: CounterSnapshot) -> Sample:
        """Compute the sample between the previous reading and *snap* (then keep *snap*)."""
        prev, self._prev = self._prev, snap
        dt = snap.time_us - prev.time_us
        self._world_cache = None
        computed = {obj: fn(self, prev, snap, dt) for obj, fn in _COMPUTE.items()}
        values = np.full(len(self._columns), np.nan)
        for b in self._blocks:
            values[b.dst] = computed[b.object][b.key][b.src]
        when = self._start + timedelta(microseconds=snap.time_us)
        return Sample(when, values)

    # --- column layout ------------------------------------------------------
    def _instances(self, obj: EsxObject) -> list[tuple[str | None, _Facts]]:
        """Instance names of *obj* (in value order) with the facts that decide which counters they carry."""
        topo, snap = self._topo, self._prev
        if obj in (EsxObject.MEMORY, EsxObject.PCPU_LOAD):
            return [(None, {})]
        if obj is EsxObject.PCPU:
            return [*((str(p), {}) for p in range(topo.pcpus)), ("_Total", {})]
        if obj is EsxObject.NUMA_NODE:
            # Absent on single-node hosts (esxtop.md §1.3 table).
            return [(str(n), {}) for n in range(topo.numa_nodes)] if topo.numa_nodes > 1 else []
        if obj in (EsxObject.GROUP_CPU, EsxObject.GROUP_MEMORY):
            return [
                (_group_instance(self._groups[g]), {"vm": self._groups[g].is_vm}) for g in self._kept_groups
            ]
        if obj is EsxObject.VCPU:
            out: list[tuple[str | None, _Facts]] = []
            for wi in self._kept_worlds:
                w = self._worlds[wi]
                out.append((f"{_group_instance(self._groups[w.group])}:{w.world_id}:{w.name}", {}))
            return out
        if obj is EsxObject.POWER:
            # the host row, then one row per P-state (esxtop.md §1.3 table, §2.7)
            return [(None, {}), *((str(n), {}) for n in range(len(self._pstate_mhz)))]
        if obj is EsxObject.PCPU_POWER:
            return [(f"PCPU {p}", {}) for p in range(topo.pcpus)]
        # Interrupt Cookie: each vector, then its per-CPU children (esxtop.md §1.3).
        out = []
        for v in snap.interrupt_vectors:
            out.append((f"0x{v:x}", {}))
            out += [(f"0x{v:x}:CPU{p}", {"child": True}) for p in range(topo.pcpus)]
        return out

    def _has_state(self, key: str) -> bool:
        """Does the host have power state *key* (``c2``, ``p3``)? (Scope.STATE)"""
        n = int(key[1:])
        return n < (self._n_cstates if key[0] == "c" else len(self._pstate_mhz))

    def _applies(self, m: Metric, instance: str | None, facts: _Facts, all_counters: bool) -> bool:
        scope_ok = {
            Scope.EVERY: True,
            Scope.VM: facts.get("vm", False),
            Scope.HT: self._topo.ht,
            Scope.HOST: instance is None,
            Scope.INSTANCE: instance is not None,
            Scope.STATE: m.scope is Scope.STATE and self._has_state(m.key),
        }[m.scope]
        if not scope_ok:
            return False
        if all_counters:
            return True
        return m.default and (m.default_on_children or not facts.get("child", False))

    def _layout(self, all_counters: bool) -> tuple[tuple[Column, ...], list[_Block]]:
        """Columns in the order of a real ``esxtop -b`` (metrics.OBJECT_ORDER, esxtop.md §1.4b)."""
        columns: list[Column] = []
        where: dict[tuple[EsxObject, str], tuple[list[int], list[int]]] = {}

        def emit(obj: EsxObject, metrics: list[Metric], rows: list[tuple[int, str | None, _Facts]],
                 counter_major: bool = False) -> None:  # fmt: skip
            cells = (
                [(m, r) for m in metrics for r in rows]
                if counter_major
                else [(m, r) for r in rows for m in metrics]
            )
            for m, (src, instance, facts) in cells:
                if self._applies(m, instance, facts, all_counters):
                    src_dst = where.setdefault((obj, m.key), ([], []))
                    src_dst[0].append(src)
                    src_dst[1].append(len(columns))
                    columns.append(Column(obj.value, instance, m.counter))

        def rows(obj: EsxObject) -> list[tuple[int, str | None, _Facts]]:
            return [(i, name, facts) for i, (name, facts) in enumerate(self._instances(obj))]

        memory = list(by_object(EsxObject.MEMORY))
        first_memory = [m for m in memory if m.key in MEMORY_FIRST_BLOCK]
        memory_seen = False
        for obj in dict.fromkeys(OBJECT_ORDER):  # each object once; split objects handled inside
            metrics = list(by_object(obj))
            if obj is EsxObject.MEMORY and not memory_seen:
                emit(obj, first_memory, rows(obj))
                memory_seen = True
            elif obj is EsxObject.PCPU:
                emit(obj, metrics, rows(obj), counter_major=True)  # esxtop.md §1.4b
                emit(EsxObject.MEMORY, [m for m in memory if m not in first_memory], rows(EsxObject.MEMORY))
            elif obj is EsxObject.GROUP_CPU:
                self._emit_groups(emit, rows)
            elif obj is not EsxObject.VCPU:
                emit(obj, metrics, rows(obj))
        blocks = [
            _Block(obj, key, np.array(src, np.int64), np.array(dst, np.int64))
            for (obj, key), (src, dst) in where.items()
        ]
        return tuple(columns), blocks

    def _emit_groups(self, emit: Callable[..., None], rows: Callable[[EsxObject], list[Any]]) -> None:
        """Each group's Group Cpu columns, immediately followed by the Vcpu columns of its worlds."""
        group_rows, world_rows = rows(EsxObject.GROUP_CPU), rows(EsxObject.VCPU)
        by_group: dict[int, list[Any]] = {}
        for row, wi in zip(world_rows, self._kept_worlds, strict=True):
            by_group.setdefault(int(self._world_group[wi]), []).append(row)
        gcpu, vcpu = list(by_object(EsxObject.GROUP_CPU)), list(by_object(EsxObject.VCPU))
        for row, g in zip(group_rows, self._kept_groups, strict=True):
            emit(EsxObject.GROUP_CPU, gcpu, [row])
            emit(EsxObject.VCPU, vcpu, by_group.get(int(g), []))

    # --- per-object computations ----------------------------------------------
    def _memory(self, prev: CounterSnapshot, cur: CounterSnapshot, dt: int) -> _Values:
        topo = self._topo
        machine = float(topo.memory_mb)
        kernel = cur.kernel_mb if cur.kernel_mb is not None else KERNEL_MEMORY_FRACTION * machine
        nonkernel = float(cur.memory_on_node.sum()) if cur.memory_on_node.size else 0.0
        free = max(machine - kernel - nonkernel, 0.0)
        managed = machine - kernel
        minfree = min_free_mb(managed)
        reserved = min(sum(g.mem_min_mb for g in self._groups) + minfree, managed)
        state = cur.mem_state if cur.mem_state is not None else _state_code(free, minfree)
        vm_mb = sum(g.memory_mb for g in self._groups if g.is_vm)
        overcommit = max(vm_mb / managed - 1.0, 0.0) if managed > 0 else 0.0
        interval_s = dt / 1e6
        self._overcommit = [
            _damp(old, overcommit, interval_s, w)
            for old, w in zip(self._overcommit, LOAD_AVERAGE_WINDOWS_S, strict=True)
        ]

        def total(arr: FloatArray | None) -> float:
            return float(np.sum(arr)) if arr is not None else 0.0

        def total_rate(c: FloatArray | None, p: FloatArray | None) -> float:
            if c is None or p is None:
                return 0.0
            return float(per_second(c, p, dt).sum())

        shared_saved = total(cur.mem_shared_saved)
        swapped = total(cur.mem_swapped)
        balloon = total(cur.mem_balloon)
        row = {
            "overcommit_1": self._overcommit[0],
            "overcommit_5": self._overcommit[1],
            "overcommit_15": self._overcommit[2],
            "machine": machine,
            "kernel": kernel,
            "nonkernel": nonkernel,
            "free": free,
            "kernel_managed": managed,
            # esxtop prints the truncation of minFree (esxi-memory.md §2.1 [OBS]).
            "kernel_minfree": float(math.floor(minfree)),
            "kernel_reserved": reserved,
            "kernel_unreserved": managed - reserved,
            "kernel_state": float(state),
            "pshare_shared": shared_saved,
            "pshare_common": 0.0,
            "pshare_savings": shared_saved,
            "swap_used": swapped,
            "swap_target": swapped,
            "swap_read": total_rate(cur.swap_in_mb, prev.swap_in_mb),
            "swap_write": total_rate(cur.swap_out_mb, prev.swap_out_mb),
            "zipped": 0.0,
            "zip_saved": 0.0,
            "memctl_current": balloon,
            "memctl_target": balloon,
            "memctl_max": balloon,
        }
        return {k: np.array([v]) for k, v in row.items()}

    def _pcpu_load(self, prev: CounterSnapshot, cur: CounterSnapshot, dt: int) -> _Values:
        # Busy PCPU time (not Σ RUN: the idle worlds of a real host "run" on idle PCPUs) plus the
        # time worlds waited for a PCPU (READY, COSTOP).
        queued = (cur.ready - prev.ready) + (cur.costop - prev.costop)
        busy = float(np.maximum(cur.pcpu_busy - prev.pcpu_busy, 0).sum()) + float(np.maximum(queued, 0).sum())
        pcpus = max(self._topo.pcpus, 1)
        load = busy / (pcpus * dt) if dt > 0 else 0.0
        self._load = [
            _damp(old, load, dt / 1e6, w) for old, w in zip(self._load, LOAD_AVERAGE_WINDOWS_S, strict=True)
        ]
        return {f"load_{s}": np.array([v]) for s, v in zip(("1", "5", "15"), self._load, strict=True)}

    def _pcpu(self, prev: CounterSnapshot, cur: CounterSnapshot, dt: int) -> _Values:
        used = percent(cur.pcpu_used, prev.pcpu_used, dt)
        util = percent(cur.pcpu_busy, prev.pcpu_busy, dt)
        core = percent(cur.core_busy, prev.core_busy, dt)
        cores_of = np.array([p.core for p in self._topo.pcpu_list], dtype=np.int64)
        core_util = core[cores_of] if core.size else np.zeros(len(cores_of))

        def with_total(a: FloatArray) -> FloatArray:
            return np.append(a, a.mean() if a.size else 0.0)

        return {"used": with_total(used), "util": with_total(util), "core_util": with_total(core_util)}

    def _numa(self, prev: CounterSnapshot, cur: CounterSnapshot, dt: int) -> _Values:
        topo = self._topo
        kernel = cur.kernel_mb if cur.kernel_mb is not None else KERNEL_MEMORY_FRACTION * topo.memory_mb
        per_node = np.full(topo.numa_nodes, float(topo.memory_per_node_mb))
        used = cur.memory_on_node.sum(axis=0) if cur.memory_on_node.size else np.zeros(topo.numa_nodes)
        free = np.maximum(per_node - used - kernel / topo.numa_nodes, 0.0)
        return {"total": per_node, "free": free}

    def _world_values(self, prev: CounterSnapshot, cur: CounterSnapshot, dt: int) -> _Values:
        """Every per-world figure, over all worlds (Vcpu rows pick the kept ones); computed once per step."""
        if self._world_cache is None:
            self._world_cache = self._compute_worlds(prev, cur, dt)
        return self._world_cache

    def _compute_worlds(self, prev: CounterSnapshot, cur: CounterSnapshot, dt: int) -> _Values:
        n = len(self._worlds)
        zeros = np.zeros(n)

        def pct(c: npt.ArrayLike | None, p: npt.ArrayLike | None) -> FloatArray:
            return zeros if c is None or p is None else percent(c, p, dt)

        def rate(c: npt.ArrayLike | None, p: npt.ArrayLike | None) -> FloatArray:
            return zeros if c is None or p is None else per_second(c, p, dt)

        groups = self._groups
        alloc_min = np.array([groups[g].cpu_min_mhz for g in self._world_group], dtype=np.float64)
        cpu_codes = self._cpu_share_codes()
        return {
            "used": pct(cur.used, prev.used),
            "run": pct(cur.run, prev.run),
            "system": pct(cur.system, prev.system),
            "wait": pct(cur.wait, prev.wait),
            "vmwait": pct(cur.vmwait, prev.vmwait),
            "ready": pct(cur.ready, prev.ready),
            "idle": pct(cur.idle, prev.idle),
            "overlap": pct(cur.overlap, prev.overlap),
            "costop": pct(cur.costop, prev.costop),
            "max_limited": pct(cur.max_limited, prev.max_limited),
            "swap_wait": pct(cur.swpwait, prev.swpwait),
            "switches": rate(cur.switches, prev.switches),
            "migrates": rate(cur.migrations, prev.migrations),
            "quantum_expires": rate(cur.quantum_expires, prev.quantum_expires),
            "wakeups": rate(cur.wakeups, prev.wakeups),
            "alloc_min": alloc_min,
            "alloc_max": np.array([groups[g].cpu_max_mhz for g in self._world_group], dtype=np.float64),
            "alloc_shares": cpu_codes[self._world_group],
            "alloc_min_limited": np.full(n, ALLOC_MIN_LIMITED),
            "latency": pct(cur.latency, prev.latency),
            "mem_latency": zeros,
            "demand": pct(cur.demand, prev.demand),
            "effective_min": alloc_min,
            "pcpu": zeros if cur.last_pcpu is None else np.asarray(cur.last_pcpu, dtype=np.float64),
        }

    def _cpu_share_codes(self) -> FloatArray:
        """Group Cpu ``Alloc Shares`` per group: level codes for VMs (:data:`SHARE_LEVEL_CODES`)."""
        return np.array(
            [
                share_code(g.cpu_shares, g.vcpus, SHARE_LEVELS) if g.is_vm else g.cpu_shares
                for g in self._groups
            ],
            dtype=np.float64,
        )

    def _vcpu(self, prev: CounterSnapshot, cur: CounterSnapshot, dt: int) -> _Values:
        return {k: v[self._kept_worlds] for k, v in self._world_values(prev, cur, dt).items()}

    def _group_cpu(self, prev: CounterSnapshot, cur: CounterSnapshot, dt: int) -> _Values:
        world = self._world_values(prev, cur, dt)
        n_groups = len(self._groups)

        def gsum(a: FloatArray) -> FloatArray:
            return np.bincount(self._world_group, weights=a, minlength=n_groups).astype(np.float64)

        out = {k: gsum(v) for k, v in world.items() if k != "pcpu"}
        out["members"] = np.bincount(self._world_group, minlength=n_groups).astype(np.float64)
        for key, attr in (("alloc_min", "cpu_min_mhz"), ("alloc_max", "cpu_max_mhz")):
            out[key] = np.array([getattr(g, attr) for g in self._groups], dtype=np.float64)
        out["alloc_shares"] = self._cpu_share_codes()
        out["effective_min"] = out["alloc_min"]
        out["alloc_min_limited"] = np.full(n_groups, ALLOC_MIN_LIMITED)
        out["timers"] = np.zeros(n_groups)
        used_total = out["used"].sum()
        watts = self._host_watts(prev, cur, dt)
        out["power"] = out["used"] * (watts / used_total) if used_total > 0 else np.zeros(n_groups)
        return {k: v[self._kept_groups] for k, v in out.items()}

    def _group_memory(self, prev: CounterSnapshot, cur: CounterSnapshot, dt: int) -> _Values:
        groups = self._groups
        n = len(groups)
        held, local, remote, local_pct = self._numa_locality(cur)
        zeros = np.zeros(n)

        def inst(a: FloatArray | None, fallback: FloatArray) -> FloatArray:
            return fallback if a is None else np.asarray(a, dtype=np.float64)

        granted = inst(cur.mem_granted, held)
        balloon = inst(cur.mem_balloon, zeros)
        swapped = inst(cur.mem_swapped, zeros)
        overhead = inst(cur.mem_overhead, zeros)
        touched = inst(cur.mem_touched, granted)
        size = np.array([g.memory_mb for g in groups], dtype=np.float64)
        mig = np.asarray(cur.numa_migrations) if len(cur.numa_migrations) == n else np.zeros(n)
        mig_prev = np.asarray(prev.numa_migrations) if len(prev.numa_migrations) == n else mig
        with np.errstate(invalid="ignore", divide="ignore"):
            active = np.where(size > 0, 100.0 * touched / np.where(size > 0, size, 1.0), 0.0)

        def rate(c: FloatArray | None, p: FloatArray | None) -> FloatArray:
            return zeros if c is None or p is None else per_second(c, p, dt)

        out: _Values = {
            "members": np.bincount(self._world_group, minlength=n).astype(np.float64),
            "alloc_min": np.array([g.mem_min_mb for g in groups], dtype=np.float64),
            "alloc_max": np.array([g.mem_max_mb for g in groups], dtype=np.float64),
            "alloc_shares": np.array(
                [
                    share_code(g.mem_shares, g.memory_mb, MEM_SHARE_LEVELS) if g.is_vm else g.mem_shares
                    for g in groups
                ],
                dtype=np.float64,
            ),
            "numa_home": np.array([h[0] if h else -1 for h in cur.home_nodes], dtype=np.float64)
            if len(cur.home_nodes) == n
            else np.full(n, -1.0),
            "numa_rebalance": np.maximum(mig - mig_prev, 0).astype(np.float64),
            "numa_remote": remote,
            "numa_local": local,
            "numa_local_pct": local_pct,
            "size": size,
            "granted": granted,
            "consumed": inst(cur.mem_consumed, granted),
            "target": granted + overhead,
            "touched": touched,
            "touched_write": touched,
            "active": active,
            "active_slow": active,
            "active_fast": active,
            "active_next": active,
            "memctl": (balloon > 0).astype(np.float64),
            "memctl_size": balloon,
            "memctl_target": balloon,
            "memctl_max": balloon,
            "swapped": swapped,
            "swap_target": swapped,
            "swap_read": rate(cur.swap_in_mb, prev.swap_in_mb),
            "swap_written": rate(cur.swap_out_mb, prev.swap_out_mb),
            "shared_saved": inst(cur.mem_shared_saved, zeros),
            "shared": inst(cur.mem_shared_saved, zeros),
            "overhead_uw": overhead,
            "overhead": overhead,
            "overhead_max": overhead,
        }
        out["alloc_min_limited"] = np.full(n, ALLOC_MIN_LIMITED)
        out.update({k: zeros for k in UNMODELLED_GROUP_MEMORY})
        missing = [m.key for m in by_object(EsxObject.GROUP_MEMORY) if m.key not in out]
        if missing:  # a catalogue counter nobody computes: a programming error, never silent zeros
            raise KeyError(f"Group Memory counters not computed by the sampler: {', '.join(missing)}")
        return {k: v[self._kept_groups] for k, v in out.items()}

    def _numa_locality(self, cur: CounterSnapshot) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """Per group: memory held, on its home nodes, elsewhere (MB) and N%L (esxtop.md §2.3)."""
        n = len(self._groups)
        on_node = cur.memory_on_node if cur.memory_on_node.size else np.zeros((n, self._topo.numa_nodes))
        held = on_node.sum(axis=1)
        local = np.array(
            [on_node[g, list(h)].sum() if h else held[g] for g, h in enumerate(cur.home_nodes)]
            if len(cur.home_nodes) == n
            else held
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            local_pct = np.where(held > 0, 100.0 * local / np.where(held > 0, held, 1.0), 0.0)
        return held, local, held - local, local_pct

    def _host_watts(self, prev: CounterSnapshot, cur: CounterSnapshot, dt: int) -> float:
        if cur.energy_j is None or prev.energy_j is None or dt <= 0:
            return 0.0
        return max(cur.energy_j - prev.energy_j, 0.0) / (dt / 1e6)

    def _power(self, prev: CounterSnapshot, cur: CounterSnapshot, dt: int) -> _Values:
        # index 0 is the host row, 1.. the P-states (esxtop.md §1.3 table, §2.7)
        n = len(self._pstate_mhz)
        blank = np.full(n, np.nan)
        return {
            "now": np.array([self._host_watts(prev, cur, dt), *blank]),
            "cap": np.array([cur.power_cap_w, *blank]),
            "pstate_mhz": np.array([np.nan, *(float(f) for f in self._pstate_mhz)]),
        }

    def _pcpu_power(self, prev: CounterSnapshot, cur: CounterSnapshot, dt: int) -> _Values:
        """%C-State Cn as shares of the interval, %P-State Pn as shares of C0 time (esxtop.md §2.7)."""
        pcpus = self._topo.pcpus
        out: _Values = {"t0": np.full(pcpus, 100.0 if dt > 0 else 0.0)}  # no throttling modelled
        if cur.cstate_time is not None and prev.cstate_time is not None:
            cs = percent(cur.cstate_time, prev.cstate_time, dt)
        else:
            c0 = np.minimum(percent(cur.pcpu_busy, prev.pcpu_busy, dt), 100.0)
            cs = np.column_stack([c0, np.maximum((100.0 if dt > 0 else 0.0) - c0, 0.0)])
        for c in range(cs.shape[1]):
            out[f"c{c}"] = cs[:, c]
        if cur.pstate_time is not None and prev.pstate_time is not None:
            spent = np.maximum(np.asarray(cur.pstate_time) - np.asarray(prev.pstate_time), 0.0)
            total = spent.sum(axis=1, keepdims=True)
            ps = np.where(total > 0, 100.0 * spent / np.where(total > 0, total, 1.0), 0.0)
        else:
            ps = np.full((pcpus, 1), 100.0 if dt > 0 else 0.0)  # always at nominal frequency
        for n in range(ps.shape[1]):
            out[f"p{n}"] = ps[:, n]
        return out

    def _interrupts(self, prev: CounterSnapshot, cur: CounterSnapshot, dt: int) -> _Values:
        vectors, pcpus = len(cur.interrupt_vectors), self._topo.pcpus
        if not vectors or cur.interrupts is None or prev.interrupts is None:
            empty = np.zeros(vectors * (pcpus + 1))
            return {"rate": empty, "time": empty}
        count = np.maximum(np.asarray(cur.interrupts) - np.asarray(prev.interrupts), 0).astype(np.float64)
        if cur.interrupt_time is not None and prev.interrupt_time is not None:
            spent = np.maximum(np.asarray(cur.interrupt_time) - np.asarray(prev.interrupt_time), 0.0)
        else:
            spent = np.zeros_like(count)
        seconds = dt / 1e6
        rate = (
            np.column_stack([count.sum(axis=1), count]) / seconds
            if dt > 0
            else np.zeros((vectors, pcpus + 1))
        )
        tot_count = np.column_stack([count.sum(axis=1), count])
        tot_spent = np.column_stack([spent.sum(axis=1), spent])
        with np.errstate(invalid="ignore", divide="ignore"):
            per_int = np.where(tot_count > 0, tot_spent / np.where(tot_count > 0, tot_count, 1.0), 0.0)
        return {"rate": rate.ravel(), "time": per_int.ravel()}


def _group_instance(g: GroupInfo) -> str:
    return f"{g.group_id}:{g.name}"


_Compute = Callable[[Sampler, CounterSnapshot, CounterSnapshot, int], _Values]

#: How each object is computed (the CSV order is metrics.OBJECT_ORDER, laid out by Sampler._layout).
_COMPUTE: dict[EsxObject, _Compute] = {
    EsxObject.MEMORY: Sampler._memory,
    EsxObject.PCPU_LOAD: Sampler._pcpu_load,
    EsxObject.PCPU: Sampler._pcpu,
    EsxObject.NUMA_NODE: Sampler._numa,
    EsxObject.GROUP_CPU: Sampler._group_cpu,
    EsxObject.VCPU: Sampler._vcpu,
    EsxObject.GROUP_MEMORY: Sampler._group_memory,
    EsxObject.INTERRUPT: Sampler._interrupts,
    EsxObject.POWER: Sampler._power,
    EsxObject.PCPU_POWER: Sampler._pcpu_power,
}
