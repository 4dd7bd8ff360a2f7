"""Scripted captures: a CounterSource whose VMs show the state times you ask for.

Not a simulation: where :mod:`vmksim.kernel` (when present) derives %RDY and
%CSTP from scheduling, this source simply charges each vCPU world the
percentages of its :class:`VmScript` every interval (with seeded jitter), so a
test or a demo can make a capture with a *known* problem — a limit (%MLMTD),
overcommit (%RDY), a wide VM with poor locality (N%L), swapping — and check
that the analyzer finds it. Counters obey the contract's identities
(vmksim.counters: RUN + READY + COSTOP + WAIT = elapsed, MLMTD ⊆ READY,
WAIT = IDLE + VMWAIT + SWPWT), and the files go through the real
:class:`~vmksim.stats.sampler.Sampler` and batch writer.

PCPU load: each NUMA node's PCPUs are busy with the RUN time of the VMs homed
there (spread evenly; VMs with ``home_node = None`` spread over all nodes),
capped at 100 %; with HT a core is busy when either thread is
(1 − (1 − u)², independent threads).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TextIO, cast

import numpy as np

from vmksim.counters import CounterSnapshot, GroupInfo, WorldInfo, WorldKind
from vmksim.esxtop.writer import write_batch
from vmksim.fileio import atomic_write
from vmksim.stats.fake import FixedSource
from vmksim.stats.sample import Recording
from vmksim.stats.sampler import Sampler
from vmksim.topology import HostTopology

__all__ = [
    "CASES",
    "ScriptedSource",
    "VmScript",
    "scripted_recording",
    "simulated_recording",
    "write_scripted_capture",
    "write_simulated_capture",
]

#: %RUN of a VM's VMX helper world (small: helpers do little, esxtop.md §2.2).
VMX_RUN_PCT = 0.5


@dataclass(frozen=True, slots=True)
class VmScript:
    """What one VM's vCPUs show, in % of the interval per vCPU; memory in MB."""

    name: str
    vcpus: int
    run: float = 30.0
    ready: float = 1.0  # includes max_limited
    costop: float = 0.0
    max_limited: float = 0.0
    swap_wait: float = 0.0
    memory_mb: int = 4096
    local_pct: float = 100.0
    home_node: int | None = 0
    balloon_mb: float = 0.0
    swapped_mb: float = 0.0
    swap_rate_mb_s: float = 0.0
    migrations_per_sample: int = 0
    cpu_max_mhz: int = -1
    wakeups_per_s: float = 200.0
    jitter: float = 0.05


class ScriptedSource(FixedSource):
    """A :class:`~vmksim.counters.CounterSource` that plays :class:`VmScript` percentages."""

    def __init__(
        self, host: HostTopology, vms: list[VmScript], *, seed: int = 0, host_name: str = "esx01"
    ) -> None:
        self._host = host
        self._host_name = host_name
        self._vms = list(vms)
        self._rng = np.random.default_rng(seed)
        groups = [GroupInfo(1, "system", False, 0, 0)]
        worlds = [WorldInfo(65537, 0, WorldKind.SYSTEM, "idle0", -1)]
        wid = 2_000_000
        for gi, vm in enumerate(self._vms, start=1):
            groups.append(
                GroupInfo(
                    100_000 + gi, vm.name, True, vm.vcpus, vm.memory_mb,
                    cpu_max_mhz=vm.cpu_max_mhz, cpu_shares=1000 * vm.vcpus, mem_shares=10 * vm.memory_mb,
                )
            )  # fmt: skip
            worlds.append(WorldInfo(wid, gi, WorldKind.VMX, "vmx", -1))
            worlds += [
                WorldInfo(wid + 1 + v, gi, WorldKind.VCPU, f"vmx-vcpu-{v}:{vm.name}", v)
                for v in range(vm.vcpus)
            ]
            wid += 1000
        self._groups = tuple(groups)
        self._worlds = tuple(worlds)
        n, g, nodes = len(worlds), len(groups), host.numa_nodes
        self._c = {
            k: np.zeros(n, np.int64)
            for k in ("run", "ready", "ml", "costop", "wait", "idle", "vmwait", "swp", "wake")
        }
        self._used = np.zeros(n)
        self._pcpu_busy = np.zeros(host.pcpus, np.int64)
        self._core_busy = np.zeros(host.cores, np.int64)
        self._migr = np.zeros(g, np.int64)
        self._swap_in = np.zeros(g)
        self._mem = np.zeros((g, nodes))
        self._homes: list[tuple[int, ...]] = [()]
        for gi, vm in enumerate(self._vms, start=1):
            home = tuple(range(nodes)) if vm.home_node is None else (vm.home_node % nodes,)
            self._homes.append(home)
            local = vm.memory_mb * min(max(vm.local_pct, 0.0), 100.0) / 100.0
            for h in home:
                self._mem[gi, h] = local / len(home)
            others = [x for x in range(nodes) if x not in home]
            for x in others:
                self._mem[gi, x] = (vm.memory_mb - local) / len(others)
            if not others:
                self._mem[gi, home[0]] += vm.memory_mb - local
        self._t = 0

    def _shares(self, vm: VmScript | None, kind: WorldKind) -> tuple[float, ...]:
        """(run, ready, max_limited, costop, swap_wait) fractions of one world for one interval."""
        if vm is None or kind is not WorldKind.VCPU:
            return (VMX_RUN_PCT / 100 if vm else 0.01, 0.0, 0.0, 0.0, 0.0)
        j = vm.jitter
        base = (vm.run, vm.ready, vm.max_limited, vm.costop, vm.swap_wait)
        vals = [max(b * (1 + j * self._rng.standard_normal()), 0.0) / 100 for b in base]
        vals[2] = min(vals[2], vals[1])  # MLMTD ⊆ RDY
        busy = vals[0] + vals[1] + vals[3] + vals[4]
        if busy > 1.0:
            vals = [v / busy for v in vals]
        return tuple(vals)

    def advance(self, us: int) -> None:
        c, host = self._c, self._host
        node_run = np.zeros(host.numa_nodes)
        for i, w in enumerate(self._worlds):
            vm = self._vms[w.group - 1] if w.group > 0 else None
            run, ready, ml, costop, swp = (round(x * us) for x in self._shares(vm, w.kind))
            wait = us - run - ready - costop
            vmwait = min(swp + int(0.01 * us), wait)
            c["run"][i] += run
            c["ready"][i] += ready
            c["ml"][i] += ml
            c["costop"][i] += costop
            c["wait"][i] += wait
            c["swp"][i] += min(swp, vmwait)
            c["vmwait"][i] += vmwait
            c["idle"][i] += wait - vmwait
            c["wake"][i] += round((vm.wakeups_per_s if vm else 10.0) * us / 1e6)
            self._used[i] += run * (0.8 if host.ht else 1.0)
            homes = self._homes[w.group]
            for h in homes or range(host.numa_nodes):
                node_run[h] += run / max(len(homes), 1) if homes else run / host.numa_nodes
        per = host.threads_per_node
        for node in range(host.numa_nodes):
            u = min(node_run[node] / (per * us), 1.0)
            self._pcpu_busy[node * per : (node + 1) * per] += int(u * us)
            core_u = 1 - (1 - u) ** 2 if host.ht else u
            cpn = host.cores_per_node
            self._core_busy[node * cpn : (node + 1) * cpn] += int(core_u * us)
        for gi, vm in enumerate(self._vms, start=1):
            self._migr[gi] += vm.migrations_per_sample
            self._swap_in[gi] += vm.swap_rate_mb_s * us / 1e6
        self._t += us

    def snapshot(self) -> CounterSnapshot:
        c = self._c
        g = len(self._groups)
        balloon = np.array([0.0] + [vm.balloon_mb for vm in self._vms])
        swapped = np.array([0.0] + [vm.swapped_mb for vm in self._vms])
        return CounterSnapshot(
            time_us=self._t,
            run=c["run"].copy(),
            ready=c["ready"].copy(),
            max_limited=c["ml"].copy(),
            costop=c["costop"].copy(),
            wait=c["wait"].copy(),
            idle=c["idle"].copy(),
            vmwait=c["vmwait"].copy(),
            swpwait=c["swp"].copy(),
            used=self._used.copy(),
            latency=(c["ready"] - c["ml"] + c["costop"]).astype(np.float64),
            demand=(c["run"] + c["ready"] + c["costop"]).astype(np.float64),
            pcpu_used=self._pcpu_busy.astype(np.float64) * 0.9,
            pcpu_busy=self._pcpu_busy.copy(),
            core_busy=self._core_busy.copy(),
            numa_migrations=self._migr.copy(),
            memory_on_node=self._mem.copy(),
            home_nodes=tuple(self._homes),
            wakeups=c["wake"].copy(),
            mem_balloon=balloon,
            mem_swapped=swapped,
            swap_in_mb=self._swap_in.copy(),
            swap_out_mb=np.zeros(g),
        )


def scripted_recording(
    host: HostTopology,
    vms: list[VmScript],
    *,
    samples: int = 12,
    interval_s: float = 5.0,
    all_counters: bool = True,
    seed: int = 0,
    host_name: str = "esx01",
) -> Recording:
    """Sample a scripted source *samples* times, every *interval_s* seconds."""
    from vmksim.kernel import drive
    from vmksim.stats.observer import SampleObserver

    source = ScriptedSource(host, vms, seed=seed, host_name=host_name)
    sampler = Sampler(source, all_counters=all_counters)
    rec = Recording(sampler.host, sampler.columns)
    drive(source, [round(interval_s * 1e6)] * samples, [SampleObserver(sampler, [rec.append])])
    return rec


def write_scripted_capture(
    path: str | os.PathLike[str], host: HostTopology, vms: list[VmScript], **kw: object
) -> int:
    """Write a scripted capture as an esxtop batch CSV (atomically); returns the data rows written."""
    rec = scripted_recording(host, vms, **kw)  # type: ignore[arg-type]
    with atomic_write(path, "w", newline="", encoding="utf-8") as fh:
        return write_batch(rec, cast(TextIO, fh))


# --- named cases: captures with one known problem each (tests, demos, docs) ---------------------


def _healthy(host: HostTopology) -> list[VmScript]:
    nodes = host.numa_nodes
    return [VmScript(f"app-{i + 1}", 2, run=25, ready=1.0, home_node=i % nodes) for i in range(2 * nodes)]


def _limit(host: HostTopology) -> list[VmScript]:
    return [
        *_healthy(host),
        VmScript("capped", 4, run=30, ready=14, max_limited=12, cpu_max_mhz=2000, home_node=1),
    ]


def _overcommit(host: HostTopology) -> list[VmScript]:
    nodes = host.numa_nodes
    n = 2 * host.pcpus // 4  # 2 vCPUs per PCPU
    return [VmScript(f"busy-{i + 1}", 4, run=46, ready=22, costop=4, home_node=i % nodes) for i in range(n)]


def _wide(host: HostTopology) -> list[VmScript]:
    wide = VmScript(
        "wide-db", host.cores_per_node + 4, run=30, ready=1.5, local_pct=55, memory_mb=65536, home_node=0
    )
    return [*_healthy(host), wide]


def _swapping(host: HostTopology) -> list[VmScript]:
    return [
        *_healthy(host),
        VmScript(
            "squeezed", 2, run=20, swap_wait=9, balloon_mb=900, swapped_mb=400, swap_rate_mb_s=3, home_node=1
        ),
    ]


#: name -> VMs with one known problem, for a given host (2+ NUMA nodes recommended).
CASES = {
    "healthy": _healthy,
    "limit": _limit,
    "overcommit": _overcommit,
    "wide": _wide,
    "swapping": _swapping,
}


# --- captures made by the simulated kernel -------------------------------------------------------


def simulated_recording(
    mapping: dict[str, object],
    *,
    all_counters: bool = True,
    label: str = "simulated",
    jit: bool | None = None,
) -> Recording:
    """Run a scenario mapping (scenario TOML as a dict) on :mod:`vmksim.kernel`, sampled as esxtop -b would.

    ``jit`` picks the kernel's compiled (True) or interpreted (False) scheduler core; None lets it choose.
    """
    from vmksim.kernel import build_kernel, drive, step_lengths
    from vmksim.scenario import scenario_from_mapping
    from vmksim.stats.observer import SampleObserver

    # A label, not a file: bracketed as "<options>" is, so "<label>:vm[2].vcpus: ..." reads as a place.
    scenario = scenario_from_mapping(mapping, source=f"<{label}>", name=label)
    kernel = build_kernel(scenario, jit=jit)
    sampler = Sampler(kernel, all_counters=all_counters)
    rec = Recording(sampler.host, sampler.columns)
    drive(kernel, step_lengths(scenario.run), [SampleObserver(sampler, [rec.append])])
    return rec


def write_simulated_capture(
    path: str | os.PathLike[str],
    mapping: dict[str, object],
    *,
    all_counters: bool = True,
    jit: bool | None = None,
) -> int:
    """Simulate *mapping* and write its esxtop batch CSV (atomically); returns the data rows written."""
    rec = simulated_recording(mapping, all_counters=all_counters, label=str(path), jit=jit)
    with atomic_write(path, "w", newline="", encoding="utf-8") as fh:
        return write_batch(rec, cast(TextIO, fh))
