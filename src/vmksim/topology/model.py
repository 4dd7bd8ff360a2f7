"""Host hardware as the VMkernel sees it: sockets, NUMA nodes, cores, threads, PCPUs.

ESXi counterpart: the CPU topology ESXi builds at boot from ACPI (SRAT for NUMA
nodes) and prints in ``esxcli hardware cpu list``; a *PCPU* is one hardware
thread (esxi-scheduler.md §1.1). ESXi numbers the two hyper-threads of a core
adjacently, so PCPU 0 and 1 are core 0, PCPU 2 and 3 core 1, and so on
(esxi-scheduler.md §1.1, VMC performance guide). Cores are numbered socket by
socket and, inside a socket, NUMA node by node.

Simplifications: every socket is alike and every node has the same cores and
memory (true of the servers ESXi supports; heterogeneous hosts are refused).
NUMA nodes per socket are 1, 2 or 4, which covers Intel SNC/CoD and AMD NPS
(esxi-scheduler.md §2.7).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

from vmksim.errors import TopologyError

__all__ = [
    "DEFAULT_MHZ",
    "MAX_LOGICAL_CPUS",
    "MAX_MEMORY_GB",
    "MAX_MHZ",
    "MAX_NUMA_NODES",
    "NODES_PER_SOCKET_ALLOWED",
    "HostTopology",
    "PCpu",
    "memory_label",
]

#: Nominal clock used when a source does not give one (MHz). Only %USED vs
#: MHz conversions (reservations, limits) depend on it.
DEFAULT_MHZ = 2400

#: NUMA nodes per socket ESXi hosts present: 1 (default), 2 (Intel SNC-2/CoD,
#: AMD NPS2), 4 (SNC-4, AMD NPS4, EPYC Naples dies) — esxi-scheduler.md §2.7.
NODES_PER_SOCKET_ALLOWED = (1, 2, 4)

# ESXi 8.0 host configuration maxima (VMware Configuration Maximums tool, vSphere 8.0,
# "ESXi Host Maximums" > Compute / Memory: https://configmax.esp.vmware.com/guest?vmwareproduct=vSphere&release=vSphere%208.0&categories=2-0).
# The tool itself is not in our search index; the same figures for ESXi 8.0 are quoted in
# 4sysops' "Proxmox VE vs VMware ESXi vs Hyper-V" host table (896 logical CPUs, 24 TB, 1,024 VMs
# per host) and in public vSphere 8 study notes (896 logical CPUs, 1,024 VMs, 24 TB per host).
# A host beyond them is not one ESXi supports, and bounding sizes keeps hostile inputs
# (``sockets = 2147483647``) from allocating PCPU tables without end (issue 11 item 13).
#: Logical CPUs (PCPUs, hardware threads) per host.
MAX_LOGICAL_CPUS = 896
#: NUMA nodes per host (configuration maximums, "NUMA Nodes per host").
MAX_NUMA_NODES = 16
#: Memory per host: 24 TB.
MAX_MEMORY_GB = 24 * 1024
#: Nominal clock bound (MHz). Not an ESXi maximum: no x86 server part ESXi supports has a
#: nominal clock near 10 GHz, so a larger value is a typo (or hostile), never a host.
MAX_MHZ = 10_000


def memory_label(mb: int) -> str:
    """``384 GB`` / ``512 MB``, or ``memory not given`` for 0: a host read without memory
    (no ``memory_gb``, no meminfo) must not look like a host with 0 GB (issue 10)."""
    if mb <= 0:
        return "memory not given"
    return f"{mb // 1024} GB" if mb >= 1024 else f"{mb} MB"


class PCpu(NamedTuple):
    """One logical CPU (hardware thread) with its place in the topology."""

    id: int
    core: int  # host-wide core index
    thread: int  # 0 or 1 inside the core
    node: int  # NUMA node
    socket: int
    llc: int  # host-wide last-level-cache domain


@dataclass(frozen=True, slots=True)
class HostTopology:
    """A host's processor and memory topology, validated at construction."""

    name: str
    sockets: int
    nodes_per_socket: int
    cores_per_node: int
    threads_per_core: int
    memory_per_node_mb: int
    mhz: int = DEFAULT_MHZ
    llc_per_node: int = 1
    cpu_model: str = ""
    description: str = ""
    _pcpus: tuple[PCpu, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        checks = (
            (self.sockets >= 1, f"sockets must be at least 1, got {self.sockets}"),
            (
                self.nodes_per_socket in NODES_PER_SOCKET_ALLOWED,
                f"NUMA nodes per socket must be 1, 2 or 4, got {self.nodes_per_socket}",
            ),
            (self.cores_per_node >= 1, f"cores per NUMA node must be at least 1, got {self.cores_per_node}"),
            (
                self.threads_per_core in (1, 2),
                f"threads per core must be 1 or 2, got {self.threads_per_core}",
            ),
            (
                self.memory_per_node_mb >= 0,
                f"memory per node must not be negative, got {self.memory_per_node_mb}",
            ),
            (0 < self.mhz <= MAX_MHZ, f"mhz must be between 1 and {MAX_MHZ}, got {self.mhz}"),
            (
                self.llc_per_node >= 1 and self.cores_per_node % self.llc_per_node == 0,
                f"LLC domains per node ({self.llc_per_node}) must divide the cores per node ({self.cores_per_node})",
            ),
        )
        for ok, problem in checks:
            if not ok:
                raise TopologyError(problem, source=self.name or None)
        self._check_maxima()
        object.__setattr__(self, "_pcpus", tuple(self._number_pcpus()))

    def _check_maxima(self) -> None:
        """Refuse hosts beyond ESXi 8.0's configuration maxima (sizes above, with the source)."""
        limits = (
            (self.numa_nodes, MAX_NUMA_NODES, "NUMA nodes"),
            (self.pcpus, MAX_LOGICAL_CPUS, "logical CPUs (PCPUs)"),
        )
        for value, limit, what in limits:
            if value > limit:
                raise TopologyError(
                    f"{value} {what} is more than ESXi 8.0 supports per host ({limit})",
                    source=self.name or None,
                )
        if self.memory_mb > MAX_MEMORY_GB * 1024:
            raise TopologyError(
                f"{self.memory_mb // 1024} GB of memory is more than ESXi 8.0 supports per host "
                f"({MAX_MEMORY_GB} GB = 24 TB)",
                source=self.name or None,
            )

    # --- sizes -------------------------------------------------------------
    @property
    def numa_nodes(self) -> int:
        return self.sockets * self.nodes_per_socket

    @property
    def cores_per_socket(self) -> int:
        return self.cores_per_node * self.nodes_per_socket

    @property
    def cores(self) -> int:
        return self.numa_nodes * self.cores_per_node

    @property
    def pcpus(self) -> int:
        return self.cores * self.threads_per_core

    @property
    def threads_per_node(self) -> int:
        return self.cores_per_node * self.threads_per_core

    @property
    def memory_mb(self) -> int:
        return self.memory_per_node_mb * self.numa_nodes

    @property
    def ht(self) -> bool:
        return self.threads_per_core > 1

    @property
    def cores_per_llc(self) -> int:
        return self.cores_per_node // self.llc_per_node

    # --- ESXi PCPU numbering ------------------------------------------------
    def _number_pcpus(self) -> list[PCpu]:
        out = []
        for core in range(self.cores):
            node = core // self.cores_per_node
            llc = node * self.llc_per_node + (core % self.cores_per_node) // self.cores_per_llc
            for thread in range(self.threads_per_core):
                out.append(
                    PCpu(
                        id=core * self.threads_per_core + thread,
                        core=core,
                        thread=thread,
                        node=node,
                        socket=node // self.nodes_per_socket,
                        llc=llc,
                    )
                )
        return out

    @property
    def pcpu_list(self) -> tuple[PCpu, ...]:
        return self._pcpus

    def pcpu(self, pcpu_id: int) -> PCpu:
        return self._pcpus[pcpu_id]

    def sibling(self, pcpu_id: int) -> int | None:
        """The other hyper-thread of the same core, or None without HT."""
        if self.threads_per_core == 1:
            return None
        return pcpu_id ^ 1

    def node_pcpus(self, node: int) -> range:
        per = self.threads_per_node
        return range(node * per, (node + 1) * per)

    def node_of_socket(self, socket: int) -> range:
        return range(socket * self.nodes_per_socket, (socket + 1) * self.nodes_per_socket)

    @property
    def summary(self) -> str:
        ht = f", {self.threads_per_core} threads/core" if self.ht else ", no HT"
        # A host given without memory (no memory_gb, no meminfo) says so instead of "0 GB" (issue 10).
        per_node = self.memory_per_node_mb
        memory = f" / {memory_label(per_node)}" if per_node else f" ({memory_label(per_node)})"
        return (
            f"{self.sockets} socket(s) x {self.cores_per_socket} cores{ht}, "
            f"{self.numa_nodes} NUMA node(s) of {self.cores_per_node} cores{memory}, "
            f"{self.pcpus} PCPUs @ {self.mhz} MHz"
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "sockets": self.sockets,
            "cores_per_socket": self.cores_per_socket,
            "threads_per_core": self.threads_per_core,
            "numa_nodes": self.numa_nodes,
            "nodes_per_socket": self.nodes_per_socket,
            "cores_per_node": self.cores_per_node,
            "memory_gb": self.memory_mb / 1024,
            "memory_per_node_gb": self.memory_per_node_mb / 1024,
            "mhz": self.mhz,
            "llc_per_node": self.llc_per_node,
            "cores": self.cores,
            "pcpus": self.pcpus,
            "cpu_model": self.cpu_model,
        }

    @classmethod
    def from_counts(
        cls,
        *,
        name: str,
        sockets: int,
        cores_per_socket: int,
        threads_per_core: int = 1,
        numa_nodes: int | None = None,
        memory_gb: float = 0.0,
        mhz: int = DEFAULT_MHZ,
        llc_per_node: int = 1,
        cpu_model: str = "",
        description: str = "",
        source: str | None = None,
    ) -> HostTopology:
        """Build from whole-host counts (numa_nodes and memory_gb count the whole host)."""
        src = source or name
        nodes = sockets if numa_nodes is None else numa_nodes
        # each count on its own first, so the message names the key that is wrong
        for key, value in (
            ("sockets", sockets),
            ("cores_per_socket", cores_per_socket),
            ("numa_nodes", nodes),
        ):
            if value < 1:
                raise TopologyError(f"{key} must be at least 1, got {value}", source=src, where=key)
        if nodes % sockets:
            raise TopologyError(
                f"numa_nodes ({nodes}) must be a multiple of sockets ({sockets}): 1, 2 or 4 nodes per socket",
                source=src,
                where="numa_nodes",
            )
        per_socket = nodes // sockets
        if per_socket not in NODES_PER_SOCKET_ALLOWED:
            raise TopologyError(f"NUMA nodes per socket must be 1, 2 or 4, got {per_socket}", source=src)
        if cores_per_socket % per_socket:
            raise TopologyError(
                f"cores_per_socket ({cores_per_socket}) must divide evenly into {per_socket} NUMA node(s) per socket",
                source=src,
            )
        if not math.isfinite(memory_gb) or not 0 <= memory_gb <= MAX_MEMORY_GB:
            raise TopologyError(
                f"memory_gb must be a number from 0 to {MAX_MEMORY_GB} (24 TB, the ESXi 8.0 maximum), "
                f"got {memory_gb!r}",
                source=src,
                where="memory_gb",
            )
        if nodes > MAX_NUMA_NODES:
            raise TopologyError(
                f"{nodes} NUMA nodes is more than ESXi 8.0 supports per host ({MAX_NUMA_NODES})", source=src
            )
        try:
            return cls(
                name=name,
                sockets=sockets,
                nodes_per_socket=per_socket,
                cores_per_node=cores_per_socket // per_socket,
                threads_per_core=threads_per_core,
                memory_per_node_mb=round(memory_gb * 1024 / nodes),
                mhz=mhz,
                llc_per_node=llc_per_node,
                cpu_model=cpu_model,
                description=description,
            )
        except TopologyError as exc:  # name the spec the user wrote, not the host's name
            raise TopologyError(exc.problem, source=src) from None
