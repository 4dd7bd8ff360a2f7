"""What a capture says about its host and VMs, and the time series the analyzer reads.

ESXi counterpart: what a performance engineer reads off an esxtop batch CSV
before judging it — the host (PCPUs from ``Physical Cpu(n)``; hyper-threading
from the presence of ``% Core Util Time``, which esxtop writes only on HT
hosts; NUMA nodes from ``Numa Node(n)``, absent on single-node hosts), the VMs
(a VM is a world group that owns ``vmx-vcpu-N:<name>`` worlds; its vCPUs are
those worlds), the sampling interval and the duration (esxtop.md §1.3 "Instance-
name grammars", §1.4, §2.2).

Instance names: groups are ``GID:name``; worlds ``GID:groupname:WID:worldname``
where both names may contain colons, so a world is matched to its group by the
GID before the first colon and the group's instance as a prefix
(esxtop.md §1.3).

Simplifications: the PCPU numbering is ESXi's (hyper-threads adjacent, nodes
contiguous; esxi-scheduler.md §1.1), so node ``n`` owns PCPUs
``n × P/N … (n+1) × P/N − 1``. Sockets are not in the capture; the host is
assumed to have one NUMA node per socket. Only the counters the analyzer
needs are read (:data:`COUNTERS`), in one streaming pass.
"""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import numpy.typing as npt

from vmksim.analyze.counters import (
    ALLOC_SHARES,
    G_VMWAIT,
    GROUP_CPU_READ,
    GROUP_MEMORY_READ,
    HOST_READ,
    MACHINE_MB,
    MEM_SIZE,
    NODE_TOTAL,
    PCPU_CORE_UTIL,
    PCPU_UTIL,
    VCPU_READ,
)
from vmksim.errors import CaptureError
from vmksim.esxtop.reader import CaptureReader
from vmksim.metrics import EsxObject
from vmksim.stats.sample import Column, ColumnIndex, SampleStream

__all__ = [
    "COUNTERS",
    "CaptureData",
    "HostFacts",
    "VmFacts",
    "capture_data",
    "load_capture",
    "needed_columns",
    "stream_data",
]

FloatArray = npt.NDArray[np.float64]

#: (object, counter) pairs the analyzer reads; everything else in the file is skipped.
COUNTERS: tuple[tuple[str, str], ...] = tuple(
    (m.object.value, m.counter) for m in (*HOST_READ, *GROUP_CPU_READ, *VCPU_READ, *GROUP_MEMORY_READ)
)

_VCPU_WORLD = re.compile(r"^vmx-vcpu-([0-9]{1,6})(?::|$)")


@dataclass(frozen=True, slots=True)
class HostFacts:
    name: str
    pcpus: int
    cores: int
    ht: bool
    numa_nodes: int
    memory_mb: float | None
    node_memory_mb: tuple[float, ...]

    @property
    def pcpus_per_node(self) -> int:
        return max(self.pcpus // max(self.numa_nodes, 1), 1)

    @property
    def cores_per_node(self) -> int:
        return max(self.cores // max(self.numa_nodes, 1), 1)

    def node_of_pcpu(self, pcpu: int) -> int:
        return min(pcpu // self.pcpus_per_node, self.numa_nodes - 1)

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "pcpus": self.pcpus,
            "cores": self.cores,
            "ht": self.ht,
            "numa_nodes": self.numa_nodes,
            "cores_per_node": self.cores_per_node,
            "memory_mb": self.memory_mb,
            "node_memory_mb": list(self.node_memory_mb),
        }


@dataclass(frozen=True, slots=True)
class VmFacts:
    """A VM in the capture: its group instance (``GID:name``) and its vCPU worlds in vCPU order."""

    name: str
    group: str
    group_id: int
    vcpus: int
    vcpu_worlds: tuple[str, ...]
    memory_mb: float | None

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "group_id": self.group_id,
            "vcpus": self.vcpus,
            "memory_mb": self.memory_mb,
        }


@dataclass(slots=True)
class CaptureData:
    """A capture's needed columns in memory: ``matrix[sample, column]`` plus host and VM facts."""

    source: str
    host: HostFacts
    vms: tuple[VmFacts, ...]
    times: tuple[datetime, ...]
    columns: tuple[Column, ...]
    matrix: FloatArray
    all_counters: bool
    total_columns: int
    warnings: tuple[str, ...] = ()
    _index: ColumnIndex = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._index = ColumnIndex(self.columns)

    # --- time ---------------------------------------------------------------------
    @property
    def samples(self) -> int:
        return len(self.times)

    @property
    def interval_s(self) -> float:
        """The median gap between samples (esxtop -d); 5 s (esxtop's default) for a one-sample capture."""
        if len(self.times) < 2:
            return 5.0
        gaps = np.diff([t.timestamp() for t in self.times])
        return float(np.median(gaps))

    @property
    def duration_s(self) -> float:
        """Time covered: first to last sample plus the first interval."""
        if not self.times:
            return 0.0
        return self.times[-1].timestamp() - self.times[0].timestamp() + self.interval_s

    def offsets_s(self) -> FloatArray:
        """Seconds from the first sample's start to each sample's end."""
        if not self.times:
            return np.empty(0)
        t0 = self.times[0].timestamp() - self.interval_s
        return np.array([t.timestamp() - t0 for t in self.times])

    # --- series ---------------------------------------------------------------------
    def has(self, obj: str, counter: str) -> bool:
        return any(c.object == obj and c.counter == counter for c in self.columns)

    def series(self, obj: str, instance: str | None, counter: str) -> FloatArray | None:
        i = self._index.get(obj, instance, counter)
        return None if i is None else self.matrix[:, i]

    def vm_vcpu_matrix(self, vm: VmFacts, counter: str) -> FloatArray | None:
        """``[sample, vcpu]`` of a Vcpu counter for the VM's vCPU worlds; None when not captured.

        Without Vcpu rows, falls back to the Group Cpu value divided evenly over the vCPUs.
        """
        cols = [self._index.get(EsxObject.VCPU, w, counter) for w in vm.vcpu_worlds]
        if vm.vcpu_worlds and all(c is not None for c in cols):
            return self.matrix[:, [c for c in cols if c is not None]]
        group = self.series(EsxObject.GROUP_CPU, vm.group, counter)
        if group is None:
            return None
        return np.repeat((group / max(vm.vcpus, 1))[:, None], max(vm.vcpus, 1), axis=1)

    def vm_per_vcpu(self, vm: VmFacts, counter: str) -> FloatArray | None:
        """Mean over the VM's vCPUs, per sample (the per-vCPU figure the rules of thumb use)."""
        m = self.vm_vcpu_matrix(vm, counter)
        return None if m is None else m.mean(axis=1)

    def vm_memory(self, vm: VmFacts, counter: str) -> FloatArray | None:
        return self.series(EsxObject.GROUP_MEMORY, vm.group, counter)

    def pcpu_matrix(self, counter: str) -> FloatArray | None:
        """``[sample, pcpu]`` of a Physical Cpu counter (without _Total)."""
        cols = [self._index.get(EsxObject.PCPU, str(p), counter) for p in range(self.host.pcpus)]
        if not cols or any(c is None for c in cols):
            return None
        return self.matrix[:, [c for c in cols if c is not None]]

    def host_util(self) -> FloatArray | None:
        """Mean PCPU UTIL per sample (``Physical Cpu(_Total)\\% Util Time``, else the mean of PCPUs)."""
        total = self.series(EsxObject.PCPU, "_Total", PCPU_UTIL.counter)
        if total is not None:
            return total
        m = self.pcpu_matrix(PCPU_UTIL.counter)
        return None if m is None else m.mean(axis=1)

    def node_util(self) -> FloatArray | None:
        """``[sample, node]`` mean PCPU UTIL of each NUMA node's PCPUs."""
        m = self.pcpu_matrix(PCPU_UTIL.counter)
        if m is None:
            return None
        per = self.host.pcpus_per_node
        nodes = self.host.numa_nodes
        return np.column_stack([m[:, n * per : (n + 1) * per].mean(axis=1) for n in range(nodes)])


# --- loading -------------------------------------------------------------------------------


def needed_columns(columns: tuple[Column, ...]) -> list[int]:
    """Indices of the columns the analyzer reads (:data:`COUNTERS`), in column order."""
    wanted = set(COUNTERS)
    return [i for i, c in enumerate(columns) if (c.object, c.counter) in wanted]


def load_capture(path: str | os.PathLike[str]) -> CaptureData:
    """Read the columns the analyzer needs from an esxtop batch CSV (real or simulated).

    One streaming pass: every row is parsed (the reader's vectorised parser is
    faster than glob-selecting among tens of thousands of columns) and only
    the needed cells are kept, so memory grows with the needed columns only.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reader = CaptureReader(path)
        keep = np.array(needed_columns(reader.columns), dtype=np.int64)
        times, values = [], []
        for row in reader:
            times.append(row.time)
            values.append(row.values[keep])
    columns = tuple(reader.columns[i] for i in keep)
    return capture_data(
        reader.host, columns, times, values,
        source=str(path), all_columns=reader.all_columns, warnings=tuple(reader.warnings),
    )  # fmt: skip


def stream_data(stream: SampleStream, source: str) -> CaptureData:
    """The same as :func:`load_capture` for an in-memory stream (a simulation's samples)."""
    keep = needed_columns(tuple(stream.columns))
    columns = tuple(stream.columns[i] for i in keep)
    times, values = [], []
    for sample in stream:
        times.append(sample.time)
        values.append(sample.values[keep])
    return capture_data(stream.host, columns, times, values, source=source, all_columns=tuple(stream.columns))


def capture_data(
    host_name: str,
    columns: tuple[Column, ...],
    times: list[datetime],
    values: list[FloatArray],
    *,
    source: str,
    all_columns: tuple[Column, ...],
    warnings: tuple[str, ...] = (),
) -> CaptureData:
    if not times:
        raise CaptureError("the capture has a header but no data rows", source=source)
    matrix = np.vstack(values) if columns else np.empty((len(times), 0))
    all_counters = any(
        c.object == ALLOC_SHARES.object and c.counter == ALLOC_SHARES.counter for c in all_columns
    )
    host = _host_facts(host_name, columns, matrix, source)
    if host.pcpus == 0:
        raise CaptureError(
            f"no '{EsxObject.PCPU.value}(n)' columns: not an esxtop CPU capture (was the CPU panel excluded from the rc file?)",
            source=source,
        )
    return CaptureData(
        source=source,
        host=host,
        vms=_vm_facts(columns, matrix),
        times=tuple(times),
        columns=columns,
        matrix=matrix,
        all_counters=all_counters,
        total_columns=len(all_columns),
        warnings=warnings,
    )


def _mean_of(
    pos: dict[Column, int], matrix: FloatArray, obj: str, instance: str | None, counter: str
) -> float | None:
    i = pos.get(Column(obj, instance, counter))
    if i is None:
        return None
    v = matrix[:, i]
    v = v[~np.isnan(v)]
    return float(v.mean()) if v.size else None


def _small_id(instance: str | None) -> int | None:
    """An instance that is a number (``Physical Cpu(3)``), or None; ASCII digits, at most 9 of them.

    Longer digit runs are kept as a number too large for any host (they are refused by the
    caller), not passed to int(), which raises on very long text.
    """
    if not instance or not instance.isascii() or not instance.isdigit():
        return None
    return int(instance) if len(instance) <= 9 else 10**9


def _pcpu_count(columns: tuple[Column, ...], source: str) -> int:
    """PCPUs of the capture: esxtop numbers them 0..N-1 (esxtop.md §1.3, ``Physical Cpu(n)``).

    Ids that leave gaps (``Physical Cpu(9223372036854775807)`` beside ``(0)``) are not a real
    capture; they are refused with one line, since every per-PCPU view iterates over 0..N-1
    and a huge id would make it loop for ever (issue 11 item 12).
    """
    ids = {i for c in columns if c.object == EsxObject.PCPU and (i := _small_id(c.instance)) is not None}
    if ids and max(ids) >= len(ids):
        bad = next(
            c.instance
            for c in columns
            if c.object == EsxObject.PCPU and (i := _small_id(c.instance)) is not None and i >= len(ids)
        )
        shown = bad if bad is not None and len(bad) <= 30 else f"{(bad or '')[:27]}..."
        raise CaptureError(
            f"column '{EsxObject.PCPU.value}({shown})': PCPU numbers must run 0..N-1 as esxtop writes them, "
            f"but the capture has {len(ids)} numbered PCPU instance(s)",
            source=source,
        )
    return len(ids)


def _host_facts(name: str, columns: tuple[Column, ...], matrix: FloatArray, source: str) -> HostFacts:
    pos = {c: i for i, c in enumerate(columns)}
    pcpus = _pcpu_count(columns, source)
    ht = any(c.object == PCPU_CORE_UTIL.object and c.counter == PCPU_CORE_UTIL.counter for c in columns)
    node_ids = sorted(
        {i for c in columns if c.object == EsxObject.NUMA_NODE and (i := _small_id(c.instance)) is not None}
    )
    nodes = len(node_ids) or 1
    node_mem = tuple(
        _mean_of(pos, matrix, NODE_TOTAL.object, str(n), NODE_TOTAL.counter) or 0.0 for n in node_ids
    )
    machine = _mean_of(pos, matrix, MACHINE_MB.object, None, MACHINE_MB.counter)
    cores = pcpus // 2 if ht else pcpus
    return HostFacts(name, pcpus, cores, ht, nodes, machine, node_mem)


def _vm_facts(columns: tuple[Column, ...], matrix: FloatArray) -> tuple[VmFacts, ...]:
    pos = {c: i for i, c in enumerate(columns)}
    groups: dict[str, str] = {}  # GID -> group instance
    for c in columns:
        if c.object == EsxObject.GROUP_CPU and c.instance and ":" in c.instance:
            groups.setdefault(c.instance.split(":", 1)[0], c.instance)
    vcpus: dict[str, dict[int, str]] = {}
    for c in columns:
        if c.object != EsxObject.VCPU or not c.instance or ":" not in c.instance:
            continue
        group = groups.get(c.instance.split(":", 1)[0])
        if group is None or not c.instance.startswith(group + ":"):
            continue
        world = c.instance[len(group) + 1 :].split(":", 1)
        m = _VCPU_WORLD.match(world[1]) if len(world) == 2 else None
        if m is not None:
            vcpus.setdefault(group, {})[int(m.group(1))] = c.instance
    vm_groups = set(vcpus)
    if not vcpus:
        # No Vcpu rows (an entity-limited capture): VMs are the groups carrying % VmWait
        # (esxtop writes it for VM groups only, esxtop.md §1.2); one vCPU each is all we can say.
        vm_groups = {
            c.instance
            for c in columns
            if c.object == G_VMWAIT.object and c.counter == G_VMWAIT.counter and c.instance
        }
    out = []
    for group in dict.fromkeys(groups.values()):
        if group not in vm_groups:
            continue
        gid, name = group.split(":", 1)
        worlds = vcpus.get(group, {})
        mem = _mean_of(pos, matrix, MEM_SIZE.object, group, MEM_SIZE.counter)
        out.append(
            VmFacts(
                name=name,
                group=group,
                group_id=gid_ if (gid_ := _small_id(gid)) is not None else -1,
                vcpus=max(len(worlds), 1),
                vcpu_worlds=tuple(worlds[i] for i in sorted(worlds)),
                memory_mb=mem,
            )
        )
    return tuple(out)
