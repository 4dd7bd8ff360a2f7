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

from dataclasses import dataclass, field
from typing import NamedTuple

from vmksim.errors import TopologyError

__all__ = ["DEFAULT_MHZ", "NODES_PER_SOCKET_ALLOWED", "HostTopology", "PCpu"]

#: Nominal clock used when a source does not give one (MHz). Only %USED vs
#: MHz conversions (reservations, limits) depend on it.
DEFAULT_MHZ = 2400

#: NUMA nodes per socket ESXi hosts present: 1 (default), 2 (Intel SNC-2/CoD,
#: AMD NPS2), 4 (SNC-4, AMD NPS4, EPYC Naples dies) — esxi-scheduler.md §2.7.
NODES_PER_SOCKET_ALLOWED = (1, 2, 4)


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
            (self.mhz > 0, f"mhz must be positive, got {self.mhz}"),
            (
                self.llc_per_node >= 1 and self.cores_per_node % self.llc_per_node == 0,
                f"LLC domains per node ({self.llc_per_node}) must divide the cores per node ({self.cores_per_node})",
            ),
        )
        for ok, problem in checks:
            if not ok:
                raise TopologyError(problem, source=self.name or None)
        object.__setattr__(self, "_pcpus", tuple(self._number_pcpus()))

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
        return (
            f"{self.sockets} socket(s) x {self.cores_per_socket} cores{ht}, "
            f"{self.numa_nodes} NUMA node(s) of {self.cores_per_node} cores / "
            f"{self.memory_per_node_mb // 1024} GB, {self.pcpus} PCPUs @ {self.mhz} MHz"
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
        if sockets < 1 or nodes < 1 or nodes % sockets:
            raise TopologyError(
                f"numa_nodes ({nodes}) must be a multiple of sockets ({sockets}): 1, 2 or 4 nodes per socket",
                source=src,
            )
        per_socket = nodes // sockets
        if per_socket not in NODES_PER_SOCKET_ALLOWED:
            raise TopologyError(f"NUMA nodes per socket must be 1, 2 or 4, got {per_socket}", source=src)
        if cores_per_socket < 1 or cores_per_socket % per_socket:
            raise TopologyError(
                f"cores_per_socket ({cores_per_socket}) must divide evenly into {per_socket} NUMA node(s) per socket",
                source=src,
            )
        if memory_gb < 0:
            raise TopologyError(f"memory_gb must not be negative, got {memory_gb}", source=src)
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
