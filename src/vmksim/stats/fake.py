"""A synthetic CounterSource: deterministic counters for tests, benchmarks and demos.

Not a simulation of ESXi's scheduler (that is ``vmksim.kernel``): it only
charges every world a seeded random split of each interval into RUN, READY,
COSTOP and WAIT, so the counters obey the contract's identities
(RUN + READY + COSTOP + WAIT = elapsed; MLMTD ⊆ READY; WAIT = IDLE + VMWAIT +
SWPWT) and the stats layer has something realistic-looking to sample.
"""

from __future__ import annotations

import numpy as np

from vmksim.counters import CounterSnapshot, GroupInfo, WorldInfo, WorldKind
from vmksim.sched.params import SchedParams
from vmksim.topology import HostTopology

__all__ = ["FakeSource", "FixedSource", "SteadySource"]

#: %USED per %RUN when the sibling thread is busy (esxi-scheduler.md §3.3 item 6): the scheduler's own.
HT_CHARGE = SchedParams().ht_charge


class FixedSource:
    """The CounterSource properties of a source whose worlds and groups never change."""

    _host: HostTopology
    _host_name: str
    _worlds: tuple[WorldInfo, ...]
    _groups: tuple[GroupInfo, ...]

    @property
    def host(self) -> HostTopology:
        return self._host

    @property
    def host_name(self) -> str:
        return self._host_name

    @property
    def worlds(self) -> tuple[WorldInfo, ...]:
        return self._worlds

    @property
    def groups(self) -> tuple[GroupInfo, ...]:
        return self._groups


class FakeSource(FixedSource):
    """Groups ``system`` plus one VM per (name, vCPUs, memory MB); :meth:`advance` moves time on."""

    def __init__(
        self,
        host: HostTopology,
        vms: list[tuple[str, int, int]],
        *,
        seed: int = 0,
        host_name: str = "localhost",
        interrupt_vectors: tuple[int, ...] = (0x10, 0x31),
    ) -> None:
        self._host = host
        self._host_name = host_name
        self._rng = np.random.default_rng(seed)
        groups = [GroupInfo(1, "system", False, 0, 0)]
        worlds = [
            WorldInfo(65537 + p, 0, WorldKind.SYSTEM, f"idle{p}", -1) for p in range(min(host.pcpus, 2))
        ]
        next_wid = 1_000_000
        for gi, (name, vcpus, mem) in enumerate(vms, start=1):
            gid = 100_000 + gi * 1_000
            groups.append(
                GroupInfo(gid, name, True, vcpus, mem, cpu_shares=1000 * vcpus, mem_shares=10 * mem)
            )
            worlds.append(WorldInfo(next_wid, gi, WorldKind.VMX, "vmx", -1))
            for v in range(vcpus):
                worlds.append(WorldInfo(next_wid + 1 + v, gi, WorldKind.VCPU, f"vmx-vcpu-{v}:{name}", v))
            next_wid += 100
        self._groups = tuple(groups)
        self._worlds = tuple(worlds)
        self._vectors = interrupt_vectors
        w, g, p = len(worlds), len(groups), host.pcpus
        self._busy_share = self._rng.uniform(0.05, 0.9, size=w)
        self._t = 0
        self._c: dict[str, np.ndarray] = {
            k: np.zeros(w, np.int64)
            for k in ("run", "ready", "max_limited", "costop", "wait", "idle", "vmwait", "swpwait")
        }
        for k in ("used", "latency", "demand", "system", "overlap"):
            self._c[k] = np.zeros(w)
        for k in ("switches", "migrations", "quantum_expires", "wakeups"):
            self._c[k] = np.zeros(w, np.int64)
        self._pcpu_used = np.zeros(p)
        self._pcpu_busy = np.zeros(p, np.int64)
        self._core_busy = np.zeros(host.cores, np.int64)
        self._mem = np.zeros((g, host.numa_nodes))
        for gi, grp in enumerate(groups):
            self._mem[gi, gi % host.numa_nodes] = grp.memory_mb * 0.8
        self._migr = np.zeros(g, np.int64)
        self._energy = 0.0
        self._irq = np.zeros((len(interrupt_vectors), p), np.int64)
        self._irq_time = np.zeros((len(interrupt_vectors), p))

    def advance(self, us: int) -> None:
        """Charge *us* microseconds to every world, PCPU and core."""
        rng, c, n = self._rng, self._c, len(self._worlds)
        busy = np.clip(self._busy_share + rng.normal(0, 0.05, n), 0.0, 1.0)
        run = (busy * us * rng.uniform(0.7, 1.0, n)).astype(np.int64)
        ready = (busy * us).astype(np.int64) - run
        costop = np.minimum((ready * rng.uniform(0, 0.3, n)).astype(np.int64), ready)
        ready -= costop
        wait = us - run - ready - costop
        idle = (wait * 0.9).astype(np.int64)
        swpwait = (wait - idle) // 10
        for key, val in (
            ("run", run),
            ("ready", ready),
            ("max_limited", ready // 10),
            ("costop", costop),
            ("wait", wait),
            ("idle", idle),
            ("vmwait", wait - idle),
            ("swpwait", swpwait),
        ):
            c[key] += val
        c["used"] += run * HT_CHARGE
        c["latency"] += ready + costop
        c["demand"] += run + ready + costop
        c["system"] += run * 0.02
        c["overlap"] += run * 0.01
        for key, scale in (("switches", 200), ("migrations", 5), ("quantum_expires", 20), ("wakeups", 150)):
            c[key] += rng.poisson(scale * us / 1e6, n)
        p = self._host.pcpus
        share = min(float(run.sum()) / (p * us), 1.0) if us else 0.0
        busy_p = (rng.uniform(0.5, 1.0, p) * share * us).astype(np.int64)
        self._pcpu_busy += busy_p
        self._pcpu_used += busy_p * 0.9
        per_core = busy_p.reshape(self._host.cores, self._host.threads_per_core).max(axis=1)
        self._core_busy += per_core
        self._migr += rng.poisson(0.01, len(self._groups))
        self._energy += (100.0 + 200.0 * share) * us / 1e6
        irq = rng.poisson(1000 * us / 1e6, self._irq.shape)
        self._irq += irq
        self._irq_time += irq * 2.5
        self._t += us

    def snapshot(self) -> CounterSnapshot:
        c = self._c
        return CounterSnapshot(
            time_us=self._t,
            run=c["run"].copy(),
            ready=c["ready"].copy(),
            max_limited=c["max_limited"].copy(),
            costop=c["costop"].copy(),
            wait=c["wait"].copy(),
            idle=c["idle"].copy(),
            vmwait=c["vmwait"].copy(),
            swpwait=c["swpwait"].copy(),
            used=c["used"].copy(),
            latency=c["latency"].copy(),
            demand=c["demand"].copy(),
            pcpu_used=self._pcpu_used.copy(),
            pcpu_busy=self._pcpu_busy.copy(),
            core_busy=self._core_busy.copy(),
            numa_migrations=self._migr.copy(),
            memory_on_node=self._mem.copy(),
            home_nodes=tuple((gi % self._host.numa_nodes,) for gi in range(len(self._groups))),
            system=c["system"].copy(),
            overlap=c["overlap"].copy(),
            switches=c["switches"].copy(),
            migrations=c["migrations"].copy(),
            quantum_expires=c["quantum_expires"].copy(),
            wakeups=c["wakeups"].copy(),
            last_pcpu=(np.arange(len(self._worlds)) % self._host.pcpus).astype(np.int64),
            energy_j=self._energy,
            interrupt_vectors=self._vectors,
            interrupts=self._irq.copy(),
            interrupt_time=self._irq_time.copy(),
        )


class SteadySource(FixedSource):
    """Counters growing at fixed rates: every world spends the same shares of each interval.

    ``shares`` gives a world's (run, ready, costop) fractions by world index;
    the rest of the time is WAIT (nine tenths of it IDLE). PCPUs are busy
    ``pcpu_busy`` of the time. Exact numbers for golden files and identities.
    """

    def __init__(
        self,
        host: HostTopology,
        groups: tuple[GroupInfo, ...],
        worlds: tuple[WorldInfo, ...],
        shares: dict[int, tuple[float, float, float]],
        *,
        pcpu_busy: float = 0.5,
        host_name: str = "localhost",
    ) -> None:
        self._host, self._groups, self._worlds = host, groups, worlds
        self._host_name = host_name
        self._shares = np.array([shares.get(i, (0.0, 0.0, 0.0)) for i in range(len(worlds))])
        self._pcpu_busy = pcpu_busy
        self.time_us = 0

    def advance(self, us: int) -> None:
        self.time_us += us

    def snapshot(self) -> CounterSnapshot:
        t = self.time_us
        run, ready, costop = (np.rint(self._shares[:, i] * t).astype(np.int64) for i in range(3))
        wait = t - run - ready - costop
        idle = (wait * 9) // 10
        p = self._host.pcpus
        busy = np.full(p, int(self._pcpu_busy * t), np.int64)
        g = len(self._groups)
        mem = np.zeros((g, self._host.numa_nodes))
        for gi, grp in enumerate(self._groups):
            mem[gi, 0] = grp.memory_mb * 0.75
            mem[gi, -1] += grp.memory_mb * 0.25
        return CounterSnapshot(
            time_us=t,
            run=run,
            ready=ready,
            max_limited=ready // 4,
            costop=costop,
            wait=wait,
            idle=idle,
            vmwait=wait - idle,
            swpwait=np.zeros(len(run), np.int64),
            used=run * 0.9,
            latency=(ready - ready // 4 + costop).astype(np.float64),
            demand=(run + ready + costop).astype(np.float64),
            pcpu_used=(busy * 0.8).astype(np.float64),
            pcpu_busy=busy,
            core_busy=np.full(self._host.cores, int(min(1.0, 1.5 * self._pcpu_busy) * t), np.int64),
            numa_migrations=np.zeros(g, np.int64),
            memory_on_node=mem,
            home_nodes=tuple((0,) for _ in range(g)),
        )
