"""The NUMA scheduler at run time: client home nodes, the periodic rebalancer, memory locality.

ESXi counterpart: the VMkernel NUMA scheduler after initial placement
(esxi-scheduler.md §2.4–2.6). Clients and their first home nodes come from
vmksim.numa.plan; this module moves them and their memory afterwards.

* **Rebalancer** (§2.5): every ``Numa.RebalancePeriod`` (2 s) compare node
  loads; if the most and least loaded nodes differ by more than
  ``Numa.MigImbalanceThreshold`` (10 % of a node) move the client from the
  busiest node whose move best evens the two, preferring one that already has
  memory on the target. A node's load is the CPU its clients demanded (RUN +
  READY + COSTOP) over the last period, in cores, divided by its cores.
  ESXi's own load metric ("entitlement minus consumption") and its weights are
  [UNDOC]; locality swaps and action affinity are not modelled. Each move counts
  one NMIG for the VM.
* **Memory** (§2.6): a client's touched memory (``active_memory_pct`` of its
  share of the VM's memory) is allocated on its home node at power-on
  (untouched memory counts as local); after a move its pages migrate to the
  new home at ``page_migration_mb_per_s``; N%L = memory on the home nodes ÷
  all memory. A node holds at most its memory (``memory_per_node_mb``; 0 =
  unknown, no limit): what does not fit on the home node is taken from the
  other nodes, same socket first (§2.6: "when it is full, remote memory is
  used"; case c23: 96 GB on 64 GB nodes → 64 GB local, 32 GB remote), and pages
  migrate home only into free memory. Unmanaged VMs' memory is interleaved
  over all nodes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from vmksim.sched.params import SchedParams
from vmksim.topology import HostTopology

__all__ = ["Migration", "NumaClient", "NumaRuntime"]

FloatArray = npt.NDArray[np.float64]


class NumaClient:
    """One NUMA client (PPD) at run time: its worlds, nodes and memory per node (MB)."""

    __slots__ = ("group", "index", "last_move_us", "memory", "movable", "nodes", "worlds")

    def __init__(
        self,
        group: int,
        index: int,
        worlds: Sequence[int],
        nodes: Sequence[int],
        memory: FloatArray,
        movable: bool,
    ) -> None:
        self.group = group
        self.index = index
        self.worlds = tuple(worlds)
        self.nodes = tuple(nodes)
        self.memory = memory
        self.movable = movable
        self.last_move_us = -(1 << 62)

    @property
    def home(self) -> int:
        return self.nodes[0]


class Migration:
    """A decided move of one client (applied by the kernel to its worlds)."""

    __slots__ = ("client", "source", "target")

    def __init__(self, client: NumaClient, source: int, target: int) -> None:
        self.client = client
        self.source = source
        self.target = target


class NumaRuntime:
    """Home nodes, NMIG and memory placement of every VM on one host."""

    __slots__ = (
        "_last_demand",
        "_last_mem_us",
        "_moved",
        "clients",
        "host",
        "migrations",
        "params",
        "unmanaged_memory",
    )

    def __init__(self, host: HostTopology, groups: int, params: SchedParams) -> None:
        self.host = host
        self.params = params
        self.clients: list[NumaClient] = []
        self.migrations = np.zeros(groups, dtype=np.int64)
        self.unmanaged_memory = np.zeros((groups, host.numa_nodes))
        self._last_demand: dict[int, float] = {}
        self._last_mem_us = 0
        # clients that may have memory off their home nodes (only a move puts it there)
        self._moved: list[NumaClient] = []

    def add_client(
        self,
        group: int,
        index: int,
        worlds: Sequence[int],
        nodes: Sequence[int],
        memory_mb: float,
        movable: bool,
    ) -> NumaClient:
        free = self._free_mb()
        mem = np.zeros(self.host.numa_nodes)
        spill = 0.0
        for node in nodes:
            want = memory_mb / len(nodes)
            take = min(want, max(free[node], 0.0))
            mem[node] += take
            free[node] -= take
            spill += want - take
        for node in self._spill_order(nodes):
            if spill <= 0:
                break
            take = min(spill, max(free[node], 0.0))
            mem[node] += take
            free[node] -= take
            spill -= take
        if spill > 0:  # the host is out of memory: ESXi would swap; keep it on the home node
            mem[nodes[0]] += spill
        client = NumaClient(group, index, worlds, nodes, mem, movable)
        self.clients.append(client)
        if mem.sum() - mem[list(nodes)].sum() > 0:
            self._moved.append(client)  # has remote pages: migrate them home when memory frees up
        return client

    def _free_mb(self) -> FloatArray:
        """Free memory per node (MB); unlimited when the host's node memory is unknown."""
        cap = float(self.host.memory_per_node_mb)
        if cap <= 0:
            return np.full(self.host.numa_nodes, np.inf)
        return cap - self.memory_on_node().sum(axis=0)

    def _spill_order(self, homes: Sequence[int]) -> list[int]:
        """Other nodes for memory that does not fit: same socket first, then by index."""
        per = self.host.nodes_per_socket
        socket = homes[0] // per
        others = [n for n in range(self.host.numa_nodes) if n not in homes]
        return sorted(others, key=lambda n: (n // per != socket, n))

    def add_unmanaged(self, group: int, memory_mb: float) -> None:
        self.unmanaged_memory[group, :] += memory_mb / self.host.numa_nodes

    # --- queries ---------------------------------------------------------------------------
    def memory_on_node(self) -> FloatArray:
        out = self.unmanaged_memory.copy()
        if self.clients:
            # out[c.group] += c.memory for every client, in client order (add.at is unbuffered)
            np.add.at(out, [c.group for c in self.clients], np.array([c.memory for c in self.clients]))
        return out

    def home_nodes(self, groups: int) -> tuple[tuple[int, ...], ...]:
        homes: list[list[int]] = [[] for _ in range(groups)]
        for c in self.clients:
            homes[c.group].append(c.home)
        return tuple(tuple(h) for h in homes)

    # --- memory ----------------------------------------------------------------------------
    def advance_memory(self, now_us: int) -> None:
        """Migrate remote pages of every client toward its home node(s) up to the rate limit."""
        dt = (now_us - self._last_mem_us) / 1e6
        self._last_mem_us = now_us
        budget = self.params.page_migration_mb_per_s * dt
        if budget <= 0 or not self._moved:
            return
        still: list[NumaClient] = []
        free = self._free_mb()
        for c in self._moved:
            home = np.zeros(len(c.memory), dtype=bool)
            home[list(c.nodes)] = True
            remote = float(c.memory[~home].sum())
            if remote <= 0:
                continue
            room = float(free[home].sum())
            moved = min(remote, budget, max(room, 0.0))
            if moved <= 0:
                still.append(c)  # home is full: wait for memory to free up
                continue
            free[home] -= moved / home.sum()
            c.memory[~home] *= 1.0 - moved / remote
            c.memory[home] += moved / home.sum()
            still.append(c)
        self._moved = still

    # --- rebalancing -----------------------------------------------------------------------
    def rebalance(self, now_us: int, demand_us: dict[int, float]) -> list[Migration]:
        """Decide client moves from each client's cumulative demand (µs, keyed by client position)."""
        period = self.params.rebalance_period_us
        rates = {}
        for i, total in demand_us.items():
            rates[i] = (total - self._last_demand.get(i, 0.0)) / period
        self._last_demand = dict(demand_us)
        if not self.params.rebalance_enable or self.host.numa_nodes < 2:
            return []
        # Numa.RebalanceCoresTotal / RebalanceCoresNode (4 / 2, esxi-scheduler.md §2.1)
        if self.host.cores < 4 or self.host.cores_per_node < 2:
            return []
        cores = self.host.cores_per_node
        moves: list[Migration] = []
        for _ in range(self.params.migrations_per_rebalance):
            load = np.zeros(self.host.numa_nodes)
            for i, c in enumerate(self.clients):
                load[c.home] += rates.get(i, 0.0) / cores
            src = int(np.argmax(load))
            dst = int(np.argmin(load))
            gap = load[src] - load[dst]
            if gap <= self.params.mig_imbalance_threshold:
                break
            best: tuple[float, float, int] | None = None
            for i, c in enumerate(self.clients):
                if c.home != src or len(c.nodes) != 1 or not c.movable:
                    continue
                if now_us - c.last_move_us < self.params.migration_cooldown_us:
                    continue
                d = rates.get(i, 0.0) / cores
                after = abs(gap - 2 * d)
                if d <= 0 or after >= gap:
                    continue
                key = (after, -float(c.memory[dst]), i)
                if best is None or key < best:
                    best = key
            if best is None:
                break
            client = self.clients[best[2]]
            rates[best[2]] = rates.get(best[2], 0.0)
            client.nodes = (dst,)
            client.last_move_us = now_us
            if client not in self._moved:
                self._moved.append(client)
            self.migrations[client.group] += 1
            moves.append(Migration(client, src, dst))
        return moves
