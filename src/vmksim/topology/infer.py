"""Derive a uniform :class:`HostTopology` from a list of logical CPUs.

All importers (sysfs, hwloc XML, esxcli text) reduce their source to the same
records — one per logical CPU with its package, core, NUMA node and LLC — and
this one function turns the records into a topology, refusing hosts that are
not uniform (vmksim models every socket and node alike).
"""

from __future__ import annotations

from collections import defaultdict
from typing import NamedTuple

from vmksim.errors import TopologyError
from vmksim.topology.model import DEFAULT_MHZ, HostTopology

__all__ = ["LogicalCpu", "topology_from_cpus"]


class LogicalCpu(NamedTuple):
    os_index: int
    package: int
    core: int  # core id, unique inside its package
    node: int
    llc: int | None = None  # any id shared by the CPUs of one last-level cache


def topology_from_cpus(
    cpus: list[LogicalCpu],
    *,
    name: str,
    source: str,
    memory_mb_per_node: dict[int, int] | None = None,
    total_memory_mb: int | None = None,
    mhz: int | None = None,
    cpu_model: str = "",
) -> HostTopology:
    if not cpus:
        raise TopologyError("no logical CPUs found", source=source)
    packages: dict[int, set[int]] = defaultdict(set)  # package -> nodes
    node_cores: dict[int, set[tuple[int, int]]] = defaultdict(set)  # node -> (package, core)
    core_threads: dict[tuple[int, int], int] = defaultdict(int)
    node_llcs: dict[int, set[int]] = defaultdict(set)
    for c in cpus:
        packages[c.package].add(c.node)
        node_cores[c.node].add((c.package, c.core))
        core_threads[(c.package, c.core)] += 1
        if c.llc is not None:
            node_llcs[c.node].add(c.llc)
    nodes_per_socket = _uniform({len(v) for v in packages.values()}, "NUMA nodes per socket", source)
    cores_per_node = _uniform({len(v) for v in node_cores.values()}, "cores per NUMA node", source)
    threads = _uniform(set(core_threads.values()), "threads per core", source)
    llc = _uniform({len(v) for v in node_llcs.values()}, "LLC domains per node", source) if node_llcs else 1
    if cores_per_node % llc:
        llc = 1
    nodes = len(node_cores)
    if memory_mb_per_node:
        per_node = min(memory_mb_per_node.get(n, 0) for n in node_cores)
    elif total_memory_mb:
        per_node = total_memory_mb // nodes
    else:
        per_node = 0
    return HostTopology(
        name=name,
        sockets=len(packages),
        nodes_per_socket=nodes_per_socket,
        cores_per_node=cores_per_node,
        threads_per_core=threads,
        memory_per_node_mb=per_node,
        mhz=mhz or DEFAULT_MHZ,
        llc_per_node=llc,
        cpu_model=cpu_model,
        description=f"imported from {source}",
    )


def _uniform(values: set[int], what: str, source: str) -> int:
    if len(values) != 1:
        raise TopologyError(
            f"heterogeneous host: {what} differ ({', '.join(map(str, sorted(values)))}); "
            "vmksim models hosts whose sockets and nodes are alike",
            source=source,
        )
    return values.pop()
