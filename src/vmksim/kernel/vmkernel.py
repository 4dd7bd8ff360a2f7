"""The simulated VMkernel of one host: worlds, PCPUs, the CPU scheduler core and the NUMA runtime.

ESXi counterpart: the VMkernel with its powered-on VMs (esxi-scheduler.md §1–§3):
one world per vCPU grouped per VM, CPU scheduling (vmksim.sched.core), NUMA
placement (vmksim.numa.plan) and rebalancing/memory (vmksim.numa.runtime),
exposing cumulative counters as a :class:`~vmksim.counters.CounterSource`.

Build order at power-on: the planner sizes and places each VM's NUMA clients
(VMs powered on in scenario order); CPU admission control checks reservations
and latency-sensitivity-high VMs (which get exclusive cores on their home
node); entitlements are divided down the resource-pool tree; then every vCPU
starts halted and wakes when its workload first has work.

Simplifications: only vCPU worlds are simulated (no VMX/MKS/system worlds;
%SYS and %OVRLP are 0); WAIT is all guest idle (no VMWAIT/SWPWT); pool limits
are split over the pool's VMs by their entitlements.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from vmksim.counters import CounterSnapshot, GroupInfo, WorldInfo, WorldKind
from vmksim.errors import InputError, PlacementError, ScenarioError
from vmksim.numa.plan import VmPlan, plan_vms
from vmksim.numa.runtime import NumaRuntime
from vmksim.scenario import PoolSpec, Scenario, VmSpec
from vmksim.sched import core as C
from vmksim.sched.engine import CoreState, SchedCore, default_jit
from vmksim.sched.entitlement import EntitlementNode, entitle
from vmksim.sched.params import SchedParams
from vmksim.sched.reference import ReferenceCore
from vmksim.sched.schema import CORE, COUNTERS, GLOBAL, NODE, PCPU, VM, WORLD
from vmksim.topology import HostTopology
from vmksim.vmx import LatencySensitivity, VmConfig
from vmksim.workload import BLOCK, Mode, VcpuProgram, demand_table, table_step_us, vcpu_programs

__all__ = [
    "HT_CAPACITY_FACTOR",
    "Kernel",
    "LightGroup",
    "ReferenceKernel",
    "ScenarioSource",
    "VmLayout",
    "group_id",
]

#: Capacity of a hyper-threaded core relative to one thread with the default SchedParams (2 × 62.5 %),
#: esxi-scheduler.md §1.6; derived in one place, SchedParams.core_capacity.
HT_CAPACITY_FACTOR = SchedParams().core_capacity(2)
#: Slack for an initial heap (grown on demand).
_HEAP_PER_ENTITY = 8
#: A LOOP world's stream is drawn as a first block of BLOCK (burst, idle) pairs, then blocks of
#: BLOCK - 2: the core asks for more when two draws are left. The kernel draws _AHEAD blocks at a
#: time into a longer buffer, so the compiled loop stops for Python 8x less often; the values and
#: their order are the same as drawing one block per stop.
_CHUNK = BLOCK - 2
_AHEAD = 8
_DRAW_CAP = BLOCK + (_AHEAD - 1) * _CHUNK


def group_id(index: int) -> int:
    """esxtop GID of the index-th VM (stable, readable, never 0/1/2 which are ESXi's own groups)."""
    return 10_000 + 1_000 * index


@dataclass(frozen=True, slots=True)
class LightGroup:
    """A kernel group that stands for one non-VM world or one VM helper world (vmksim.kernel.worlds).

    ``owner`` is the scenario VM whose group the world belongs to (vmx, mks, NetWorld...), or None
    for the host's own worlds (system, helper, drivers, user worlds); ``demand_mhz`` is the CPU it
    really uses (its duty cycle × MHz). See :func:`_entitlements` for where it enters the tree.
    """

    owner: str | None
    demand_mhz: float


@dataclass(frozen=True, slots=True)
class VmLayout:
    """Where a VM ended up: its NUMA plan summary and exclusive PCPUs (latency sensitivity high)."""

    name: str
    numa_managed: bool
    client_of_vcpu: tuple[int, ...]
    home_nodes: tuple[int, ...]
    exclusive_pcpus: tuple[int, ...]
    entitlement_mhz: float
    warnings: tuple[str, ...]


class ScenarioSource:
    """The CounterSource properties of a host simulated from a scenario (Kernel, EsxHost).

    The host is the scenario's; ``_worlds`` and ``_groups`` are what the subclass built.
    """

    __slots__ = ()
    scenario: Scenario
    _worlds: tuple[WorldInfo, ...]
    _groups: tuple[GroupInfo, ...]

    @property
    def host(self) -> HostTopology:
        return self.scenario.host

    @property
    def host_name(self) -> str:
        return self.scenario.host.name

    @property
    def worlds(self) -> tuple[WorldInfo, ...]:
        return self._worlds

    @property
    def groups(self) -> tuple[GroupInfo, ...]:
        return self._groups


class Kernel(ScenarioSource):
    """One simulated ESXi host running a scenario. Implements CounterSource."""

    __slots__ = (
        "_groups",
        "_next_mem",
        "_next_rebalance",
        "_programs",
        "_worlds",
        "layouts",
        "numa",
        "params",
        "scenario",
        "state",
    )

    def __init__(
        self,
        scenario: Scenario,
        *,
        params: SchedParams | None = None,
        jit: bool | None = None,
        light: Mapping[str, LightGroup] | None = None,
    ) -> None:
        """*light*: the scenario VMs (by name) that are helper worlds, not VMs (see :class:`LightGroup`)."""
        self.scenario = scenario
        self.params = _host_params(scenario, params or SchedParams())
        plans = _plans(scenario)
        self._groups, self._worlds = _infos(scenario.vms)
        ents = _entitlements(scenario, self.params, light or {})
        _admit(scenario, ents)
        self.numa = NumaRuntime(scenario.host, len(scenario.vms), self.params)
        build = _Records(scenario, self.params)
        self.layouts = tuple(
            build.add_vm(v, vm, plan, ents, self.numa)
            for v, (vm, plan) in enumerate(zip(scenario.vms, plans, strict=True))
        )
        self._programs = build.programs
        self.state = self._make_core(build.arrays(), default_jit() if jit is None else jit)
        self._start(build.first_wake, build.limited > 0)
        self._next_rebalance = self.params.rebalance_period_us
        self._next_mem = self.params.housekeeping_us

    def _make_core(self, arrays: dict[str, np.ndarray], jit: bool) -> SchedCore:
        """The scheduler core over the initial records (ReferenceKernel overrides it)."""
        return CoreState(arrays, jit=jit)

    def _start(self, first_wake: dict[int, int], limited: bool) -> None:
        """First events: each LOOP vCPU wakes after its first idle time, each PERIODIC one ticks."""
        for w, prog in enumerate(self._programs):
            if prog.mode is Mode.LOOP:
                self._push(first_wake[w], C.EV_WAKE, w, 0)
            elif prog.mode is Mode.PERIODIC:
                self._push(prog.phase_us, C.EV_TICK, w, 0)
        if limited:
            self._push(self.params.limit_period_us, C.EV_LIMIT, 0, 0)

    def _push(self, t: int, kind: int, x: int, gen: int) -> None:
        self.state.call("heap_push", t, kind, x, gen)

    @property
    def now_us(self) -> int:
        return int(self.state.get("g", C.G_NOW))

    # --- running ---------------------------------------------------------------------------------
    def advance(self, delta_us: int) -> None:
        self.run_until(self.now_us + delta_us)

    def run_until(self, t_us: int) -> None:
        """Simulate up to *t_us* (events at exactly t_us run on the next call)."""
        while True:
            t_house = min(self._next_rebalance, self._next_mem)
            stop = min(t_house, t_us)
            self.state.run_until(stop, self._refill)
            if stop < t_house:
                return
            if self._next_mem == stop:
                self.numa.advance_memory(stop)
                self._next_mem += self.params.housekeeping_us
            if self._next_rebalance == stop:
                self._rebalance(stop)
                self._next_rebalance += self.params.rebalance_period_us
            if stop == t_us:
                return

    def _refill(self, w: int) -> None:
        s = self.state
        assert isinstance(s, CoreState)  # the reference draws for itself
        cur = int(s.get("wi", w * C.NWI + C.W_CUR))
        fill = int(s.get("wi", w * C.NWI + C.W_FILL))
        prog = self._programs[w]
        draws = [prog.draw(_CHUNK) for _ in range((_DRAW_CAP - (fill - cur)) // _CHUNK)]
        for name, k in (("bb", 0), ("ib", 1)):
            # keep the unused draws, in order, then append the fresh ones
            at = s.offset(name) + w * _DRAW_CAP
            fresh = np.concatenate([np.asarray(s.F[at + cur : at + fill])] + [d[k] for d in draws])
            s.F[at : at + len(fresh)] = fresh if s.jit else fresh.tolist()
        s.set("wi", w * C.NWI + C.W_FILL, len(fresh))
        s.set("wi", w * C.NWI + C.W_CUR, 0)

    def _rebalance(self, now: int) -> None:
        demand = self._world_demand(now)
        per_client = {i: float(sum(demand[w] for w in c.worlds)) for i, c in enumerate(self.numa.clients)}
        for move in self.numa.rebalance(now, per_client):
            for w in move.client.worlds:
                # a NUMA-managed world is confined by its run queue (home node), not by a mask
                self.state.call("move_world", w, move.target, 0, now)

    def _world_demand(self, now: int) -> np.ndarray:
        wc = self.state.view("wc").reshape(-1, C.NWC)
        wi = self.state.view("wi").reshape(-1, C.NWI)
        total = wc[:, C.C_RUN] + wc[:, C.C_READY] + wc[:, C.C_COSTOP]
        running = wi[:, C.W_STATE] != C.WAIT
        return (total + np.where(running, now - wi[:, C.W_SINCE], 0)).astype(np.float64)

    # --- counters --------------------------------------------------------------------------------
    def snapshot(self) -> CounterSnapshot:
        now = self.now_us
        s = self.state
        host = self.host
        wi = s.view("wi").reshape(-1, C.NWI)
        wf = s.view("wf").reshape(-1, C.NWF)
        wc = s.view("wc").reshape(-1, C.NWC).astype(np.int64)
        pi = s.view("pi").reshape(-1, C.NPI)
        ci = s.view("ci").reshape(-1, C.NCI)
        freq = self.params.frequency_factor
        state = wi[:, C.W_STATE]
        part = now - wi[:, C.W_SINCE]
        times = wc[:, : C.C_WAIT + 1].copy()
        times[np.arange(len(state)), state] += part
        mlmtd = wc[:, C.C_MLMTD] + np.where((state == C.READY) & (wi[:, C.W_MLMTD] != 0), part, 0)
        # partial charging since each core's last settle
        world_on = pi[:, C.P_WORLD]
        busy = world_on >= 0
        sib = pi[:, C.P_SIB]
        sib_busy = np.where(sib >= 0, busy[np.maximum(sib, 0)], False) & (sib >= 0)
        d = now - ci[pi[:, C.P_CORE], C.K_LAST]
        d = np.where(busy, d, 0)
        used_rate = np.where(sib_busy, self.params.ht_charge, 1.0) * freq
        pcpu_rate = np.where(sib_busy, self.params.ht_pcpu_charge, 1.0) * freq
        used = wf[:, C.F_USED].copy()
        htloss = wf[:, C.F_HTLOSS].copy()
        run_pcpus = np.nonzero(busy)[0]
        np.add.at(used, world_on[run_pcpus], (used_rate * d)[run_pcpus])
        np.add.at(
            htloss, world_on[run_pcpus], ((1.0 - self.params.ht_charge) * freq * d * sib_busy)[run_pcpus]
        )
        pcpu_used = s.view("pf").astype(np.float64) + pcpu_rate * d
        pcpu_busy = pi[:, C.P_BUSY] + d
        core_d = now - ci[:, C.K_LAST]
        core_any = np.zeros(host.cores, dtype=bool)
        np.logical_or.at(core_any, pi[:, C.P_CORE], busy)
        core_busy = ci[:, C.K_BUSY] + np.where(core_any, core_d, 0)
        run, ready, costop, wait = (times[:, i].astype(np.int64) for i in range(4))
        latency = (ready - mlmtd + costop).astype(np.float64) + htloss + run * (1.0 - freq)
        zeros = np.zeros(len(state), dtype=np.int64)
        return CounterSnapshot(
            time_us=now,
            run=run,
            ready=ready,
            max_limited=mlmtd.astype(np.int64),
            costop=costop,
            wait=wait,
            idle=wait.copy(),
            vmwait=zeros,
            swpwait=zeros.copy(),
            used=used,
            latency=latency,
            demand=(run + ready + costop).astype(np.float64),
            pcpu_used=pcpu_used,
            pcpu_busy=pcpu_busy.astype(np.int64),
            core_busy=core_busy.astype(np.int64),
            numa_migrations=self.numa.migrations.copy(),
            memory_on_node=self.numa.memory_on_node(),
            home_nodes=self.numa.home_nodes(len(self._groups)),
            switches=wc[:, C.C_SWTCH].copy(),
            migrations=wc[:, C.C_MIG].copy(),
            quantum_expires=wc[:, C.C_QEXP].copy(),
            wakeups=wc[:, C.C_WAKE].copy(),
            last_pcpu=np.maximum(wi[:, C.W_LAST], 0).astype(np.int64),
        )

    def world_states(self) -> np.ndarray:
        """Current state code of every world (vmksim.sched.core RUN/READY/COSTOP/WAIT)."""
        return self.state.view("wi").reshape(-1, C.NWI)[:, C.W_STATE].copy()

    def pcpu_worlds(self) -> np.ndarray:
        """World running on each PCPU (-1 idle)."""
        return self.state.view("pi").reshape(-1, C.NPI)[:, C.P_WORLD].copy()


class ReferenceKernel(Kernel):
    """The kernel with the reference scheduler (vmksim.sched.reference) in place of the compiled core.

    The specification run end to end: same build, NUMA runtime and counters; slow.
    """

    __slots__ = ()

    def _make_core(self, arrays: dict[str, np.ndarray], jit: bool) -> SchedCore:
        programs = self._programs
        return ReferenceCore(arrays, refill=lambda w: programs[w].draw(_CHUNK))


# --- build helpers -------------------------------------------------------------------------------
def _host_params(scenario: Scenario, base: SchedParams) -> SchedParams:
    """*base* with the scenario's host advanced settings applied."""
    try:
        return base.with_host_settings(scenario.host_settings, source=scenario.source)
    except InputError as exc:
        raise ScenarioError(exc.problem, source=scenario.source, where=exc.where) from None


def _plans(scenario: Scenario) -> list[VmPlan]:
    try:
        return plan_vms(
            scenario.host, [vm.config for vm in scenario.vms], scenario.esxi, scenario.host_settings
        )
    except PlacementError:
        raise
    except InputError as exc:
        # the planner names the place (a scenario key such as vm[i].vcpus, a .vmx line: VmConfig
        # carries it), or --esxi, which in a scenario is its `esxi` key
        if exc.source in (None, "--esxi"):
            raise ScenarioError(exc.problem, source=scenario.source, where="esxi") from None
        raise ScenarioError(exc.problem, source=exc.source, where=exc.where) from None


def _infos(vms: tuple[VmSpec, ...]) -> tuple[tuple[GroupInfo, ...], tuple[WorldInfo, ...]]:
    groups = []
    worlds = []
    for v, vm in enumerate(vms):
        cfg = vm.config
        gid = group_id(v)
        groups.append(
            GroupInfo(
                group_id=gid,
                name=vm.name,
                is_vm=True,
                vcpus=cfg.vcpus,
                memory_mb=cfg.memory_mb,
                cpu_min_mhz=cfg.cpu_min_mhz,
                cpu_max_mhz=-1 if cfg.cpu_max_mhz is None else cfg.cpu_max_mhz,
                cpu_shares=cfg.cpu_shares,
                mem_min_mb=cfg.mem_min_mb,
                mem_max_mb=-1 if cfg.mem_max_mb is None else cfg.mem_max_mb,
                mem_shares=cfg.mem_shares,
            )
        )
        for i in range(cfg.vcpus):
            worlds.append(WorldInfo(gid + 1 + i, v, WorldKind.VCPU, f"vmx-vcpu-{i}:{vm.name}", i))
    return tuple(groups), tuple(worlds)


def host_capacity_mhz(host: HostTopology, params: SchedParams | None = None) -> float:
    """Used-MHz the host delivers with every thread busy (SchedParams.core_capacity, §1.6)."""
    return host.cores * host.mhz * (params or SchedParams()).core_capacity(host.threads_per_core)


def _entitlements(
    scenario: Scenario, params: SchedParams, light: Mapping[str, LightGroup]
) -> dict[str, float]:
    """Each kernel group's entitlement under full contention: the host capacity divided down the pool tree.

    Without *light* groups the tree is the scenario's: its top-level pools and VMs share the host.
    With them (vmksim.kernel.worlds) it is ESXi's host-local tree, where VMs live in a ``user``
    resource group beside the ``host`` groups of the VMkernel and its user worlds (group paths such
    as ``host/system``, ``host/vim/vmvisor/hostd`` and ``host/user`` appear as instances of the
    ``sys.resourceMemConsumed`` / ``sys.resourceCpuUsage`` counters of a real host, e.g.
    https://github.com/Checkmk/checkmk/blob/54928b2f4f51e7cc732b2b29c1be2c3e99f261e7/tests/unit/cmk/base/plugins/agent_based/test_esx_vsphere_counters.py ;
    the root pool owns only what is "left after the VMkernel's own overhead", drs-cluster.md §1.1):

    - ``host`` gets what its worlds really use (Σ demand; it is reserved, so it is met first) and
      ``user`` the rest, so the scenario's pools and VMs divide ``capacity − Σ demand`` exactly as
      the scenario says, and shares only compare siblings (esxi-scheduler.md §1.3 "Hierarchy").
    - A VM's helper worlds are members of the VM's group (esxi-scheduler.md §1.1), so they draw on
      the VM's entitlement: the VM becomes a node with the VM's shares, reservation and limit whose
      children are its vCPUs and its helper worlds.

    A light world's usable CPU is its demand: it never wants more (its duty cycle is fixed), so
    under full contention it is entitled to exactly what it uses.
    """
    host = scenario.host
    children: dict[str | None, list[EntitlementNode]] = {}
    helpers: dict[str, list[EntitlementNode]] = {}
    host_worlds: list[EntitlementNode] = []
    for vm in scenario.vms:
        lg = light.get(vm.name)
        if lg is not None:
            leaf = EntitlementNode(name=vm.name, shares=vm.config.cpu_shares, cap_mhz=lg.demand_mhz)
            (host_worlds if lg.owner is None else helpers.setdefault(lg.owner, [])).append(leaf)
    for vm in scenario.vms:
        if vm.name not in light:
            children.setdefault(vm.pool, []).append(_vm_node(vm, host.mhz, helpers.get(vm.name, [])))

    def build(pool: PoolSpec) -> EntitlementNode:
        kids = [build(p) for p in scenario.pools if p.parent == pool.name]
        kids += children.get(pool.name, [])
        return EntitlementNode(
            name=f"pool:{pool.name}",
            shares=pool.shares,
            reservation_mhz=pool.reservation_mhz,
            limit_mhz=pool.limit_mhz,
            children=tuple(kids),
        )

    top = [build(p) for p in scenario.pools if p.parent is None] + children.get(None, [])
    top = [n for n in top if n.children or n.cap_mhz is not None]
    if host_worlds:
        demand = sum(w.usable() for w in host_worlds)
        system = EntitlementNode("pool:<host>", 1.0, reservation_mhz=demand, children=tuple(host_worlds))
        # user's reservations are its children's (an expandable reservation), so when the non-VM
        # demand alone would fill the host both floors shrink in proportion (entitlement.water_fill)
        reserved = sum(n.reservation_mhz for n in top)
        top = [system, EntitlementNode("pool:<user>", 1.0, reservation_mhz=reserved, children=tuple(top))]
    return entitle(host_capacity_mhz(host, params), top)


def _vm_node(vm: VmSpec, mhz: int, helpers: list[EntitlementNode]) -> EntitlementNode:
    """A VM's entitlement node: a leaf for its vCPUs, or a node over them and its helper worlds."""
    cfg = vm.config
    if not helpers:
        return EntitlementNode(
            name=vm.name,
            shares=cfg.cpu_shares,
            reservation_mhz=cfg.cpu_min_mhz,
            limit_mhz=cfg.cpu_max_mhz,
            cap_mhz=cfg.vcpus * mhz,
        )
    # The node carries the VM's limit; the limit budget of its vCPUs stays the whole limit (_vm_limit).
    vcpus = EntitlementNode(name=vm.name, shares=cfg.cpu_shares, cap_mhz=cfg.vcpus * mhz)
    return EntitlementNode(
        name=f"vm:{vm.name}",
        shares=cfg.cpu_shares,
        reservation_mhz=cfg.cpu_min_mhz,
        limit_mhz=cfg.cpu_max_mhz,
        children=(vcpus, *helpers),
    )


def _vm_limit(scenario: Scenario, vm: VmSpec, ents: dict[str, float]) -> float | None:
    """The VM's own limit, tightened to its entitlement when an ancestor pool has a limit."""
    limit: float | None = vm.config.cpu_max_mhz
    by_name = {p.name: p for p in scenario.pools}
    pool = by_name.get(vm.pool) if vm.pool else None
    while pool is not None:
        if pool.limit_mhz is not None:
            limit = ents[vm.name] if limit is None else min(limit, ents[vm.name])
            break
        pool = by_name.get(pool.parent) if pool.parent else None
    return None if limit is None else float(limit)


def _is_lsh(cfg: VmConfig) -> bool:
    return cfg.latency_sensitivity is LatencySensitivity.HIGH


def _admit(scenario: Scenario, ents: dict[str, float]) -> None:
    """CPU admission control: reservations must fit; LS=high needs a full reservation (§1.8)."""
    host = scenario.host
    capacity = host.cores * host.mhz
    reserved = sum(vm.config.cpu_min_mhz for vm in scenario.vms) + sum(
        p.reservation_mhz for p in scenario.pools if p.parent is None
    )
    if reserved > capacity:
        raise PlacementError(
            f"{scenario.source}: CPU reservations total {reserved} MHz but the host has "
            f"{capacity} MHz ({host.cores} cores x {host.mhz} MHz); ESXi admission control refuses power-on"
        )
    for vm in scenario.vms:
        cfg = vm.config
        if _is_lsh(cfg):
            need = cfg.vcpus * host.mhz
            if cfg.cpu_min_mhz < need:
                raise PlacementError(
                    f"{scenario.source}: VM {vm.name!r} has latency sensitivity high but a CPU reservation of "
                    f"{cfg.cpu_min_mhz} MHz; it needs sched.cpu.min = {need} ({cfg.vcpus} vCPUs x {host.mhz} MHz)"
                )
        if cfg.cpu_affinity is not None:
            bad = [p for p in cfg.cpu_affinity if p >= host.pcpus]
            if bad:
                raise ScenarioError(
                    f"sched.cpu.affinity names PCPU {bad[0]} but the host has PCPUs 0-{host.pcpus - 1}",
                    source=scenario.source,
                    where=f"vm {vm.name!r} settings",
                )


def _exclusive(
    host: HostTopology,
    vm: VmSpec,
    client_of: tuple[int, ...],
    homes: tuple[tuple[int, ...], ...],
    used: set[int],
) -> list[int]:
    """Whole cores for a latency-sensitivity-high VM, one per vCPU, on each vCPU's home node."""
    out = []
    tpc = host.threads_per_core
    for i in range(vm.config.vcpus):
        c = client_of[i]
        nodes = homes[c] if c >= 0 else tuple(range(host.numa_nodes))
        nodes = tuple(nodes) + tuple(n for n in range(host.numa_nodes) if n not in nodes)
        chosen = -1
        for node in nodes:
            for p in host.node_pcpus(node)[::tpc]:
                core = host.pcpu(p).core
                if core not in used:
                    used.add(core)
                    chosen = p
                    break
            if chosen >= 0:
                break
        if chosen < 0:
            raise PlacementError(
                f"VM {vm.name!r} has latency sensitivity high and needs {vm.config.vcpus} exclusive cores; "
                f"the host has no free core left for vCPU {i}"
            )
        out.append(chosen)
    return out


def _queue_and_mask(
    host: HostTopology, cfg: VmConfig, client: int, homes: tuple[tuple[int, ...], ...]
) -> tuple[int, tuple[int, ...]]:
    """Run queue (home node, or numa_nodes for "anywhere") and allowed PCPUs (() = all)."""
    if cfg.cpu_affinity is not None:
        return host.numa_nodes, tuple(cfg.cpu_affinity)
    if client < 0:
        return host.numa_nodes, ()
    nodes = homes[client]
    if len(nodes) == 1:
        return nodes[0], ()
    return host.numa_nodes, tuple(p for n in nodes for p in host.node_pcpus(n))


class _Records:
    """The initial records of the scheduler core for one scenario, filled by field name (vmksim.sched.schema)."""

    def __init__(self, scenario: Scenario, params: SchedParams) -> None:
        host = scenario.host
        self.scenario = scenario
        self.params = params
        self.host = host
        nw = sum(vm.config.vcpus for vm in scenario.vms)
        nv = len(scenario.vms)
        duration = scenario.run.duration_us
        if duration >= C.MAX_TIME_US:
            raise ScenarioError(
                f"must be below {C.MAX_TIME_US // 1_000_000} s (25 days) of simulated time, got {duration / 1e6:g}",
                source=scenario.source,
                where="run.duration_s",
            )
        self.step = table_step_us(duration)
        self.steps = duration // self.step + 1
        self.wi, self.wf = WORLD.int_rows(nw), WORLD.float_rows(nw)
        self.vi, self.vf = VM.int_rows(nv), VM.float_rows(nv)
        self.pi = PCPU.int_rows(host.pcpus)
        for pc in host.pcpu_list:
            sib = host.sibling(pc.id)
            PCPU.put(self.pi, None, pc.id, sib=-1 if sib is None else sib, node=pc.node, core=pc.core)
        self.masks: dict[tuple[int, ...], int] = {(): 0}
        self.tb, self.ti = np.ones((nv, self.steps)), np.ones((nv, self.steps))
        self.bb, self.ib = np.zeros((nw, _DRAW_CAP)), np.zeros((nw, _DRAW_CAP))
        self.programs: list[VcpuProgram] = []
        self.first_wake: dict[int, int] = {}
        self.limited = 0
        self._exclusive_used: set[int] = set()

    def add_vm(self, v: int, vm: VmSpec, plan: VmPlan, ents: dict[str, float], numa: NumaRuntime) -> VmLayout:
        """Records of VM *v* and its vCPU worlds; its NUMA clients go to *numa*."""
        cfg, host, scenario = vm.config, self.host, self.scenario
        w0 = len(self.programs)
        limit = _vm_limit(scenario, vm, ents)
        VM.put(self.vi, self.vf, v, first=w0, n=cfg.vcpus, limited=limit is not None)
        if limit is not None:
            self.limited += 1
            VM.put(self.vi, self.vf, v, budget=limit / host.mhz * self.params.limit_period_us)
        table = demand_table(vm.workload, vm.name, cfg.vcpus, scenario.run.duration_us)
        self.tb[v], self.ti[v] = table.busy_scale[: self.steps], table.idle_scale[: self.steps]
        managed = plan.numa_managed and len(plan.clients) > 0 and cfg.cpu_affinity is None
        client_of = plan.client_of_vcpu if managed else tuple([-1] * cfg.vcpus)
        homes = tuple(c.nodes for c in plan.clients) if managed else ()
        excl = (
            _exclusive(host, vm, client_of, homes, self._exclusive_used) if _is_lsh(cfg) else [-1] * cfg.vcpus
        )
        _add_numa_clients(numa, v, vm, plan if managed else None, w0)
        weight = max(ents[vm.name] / cfg.vcpus, 1e-3)
        programs = vcpu_programs(vm.workload, vm.name, cfg.vcpus, scenario.run.seed)
        for i, prog in enumerate(programs):
            q, mask_key = _queue_and_mask(host, cfg, client_of[i], homes)
            self._add_world(w0 + i, v, prog, q, self._mask(mask_key), excl[i], weight)
        return VmLayout(
            name=vm.name,
            numa_managed=managed,
            client_of_vcpu=client_of,
            home_nodes=tuple(h[0] for h in homes),
            exclusive_pcpus=tuple(x for x in excl if x >= 0),
            entitlement_mhz=ents[vm.name],
            warnings=tuple(plan.warnings),
        )

    def _mask(self, key: tuple[int, ...]) -> int:
        """Row of the affinity table for the allowed PCPUs *key* (() = all, row 0)."""
        return self.masks.setdefault(key, len(self.masks))

    def _add_world(
        self, w: int, v: int, prog: VcpuProgram, q: int, mask: int, excl: int, weight: float
    ) -> None:
        self.programs.append(prog)
        WORLD.put(
            self.wi, self.wf, w, vm=v, q=q, mask=mask, mode=int(prog.mode), period=prog.period_us, excl=excl
        )
        WORLD.put(self.wi, self.wf, w, wscale=1000.0 / weight, workper=prog.work_us)
        if excl >= 0:
            PCPU.put(self.pi, None, excl, excl=w)
            sib = self.host.sibling(excl)
            if sib is not None:
                PCPU.put(self.pi, None, sib, excl=-2)
        if prog.mode is Mode.LOOP:
            draws = [prog.draw(BLOCK)] + [prog.draw(_CHUNK) for _ in range(_AHEAD - 1)]
            self.bb[w] = np.concatenate([b for b, _ in draws])
            self.ib[w] = np.concatenate([i for _, i in draws])
            # every vCPU starts halted: draw 0 is its first idle time and its first burst
            busy = float(self.bb[w, 0]) * float(self.tb[v, 0])
            self.first_wake[w] = round(float(self.ib[w, 0]) * float(self.ti[v, 0]))
            WORLD.put(self.wi, self.wf, w, fill=_DRAW_CAP, cur=1, work=busy)

    def arrays(self) -> dict[str, np.ndarray]:
        """Every section of the core's state, by name (vmksim.sched.schema.INT_SECTIONS, FLOAT_SECTIONS)."""
        host, p = self.host, self.params
        nw, nodes = len(self.wi), host.numa_nodes
        g, gf = GLOBAL.int_rows(1), GLOBAL.float_rows(1)
        GLOBAL.put(g, gf, 0, nw=nw, np=host.pcpus, nv=len(self.vi), nodes=nodes, tpc=host.threads_per_core)
        GLOBAL.put(g, gf, 0, tpn=host.threads_per_node, block=_DRAW_CAP, tsteps=self.steps, tstep=self.step)
        GLOBAL.put(g, gf, 0, quantum=p.quantum_us, skew=p.costop_skew_us, costart=p.costart_skew_us)
        GLOBAL.put(g, gf, 0, limperiod=p.limit_period_us, credit=p.wake_credit_us, wakegran=p.wake_preempt_us)
        GLOBAL.put(g, gf, 0, nlimited=self.limited, nexcl=int((self.pi[:, C.P_EXCL] != -1).sum()))
        GLOBAL.put(g, gf, 0, hcap=max(1024, _HEAP_PER_ENTITY * (nw + host.pcpus + len(self.vi))))
        GLOBAL.put(g, gf, 0, htcharge=p.ht_charge, htpcpu=p.ht_pcpu_charge, htprogress=p.ht_progress)
        GLOBAL.put(g, gf, 0, freq=p.frequency_factor)
        ci = CORE.int_rows(host.cores)
        CORE.put(ci, None, slice(None), nidle=host.threads_per_core)
        ni = NODE.int_rows(nodes)
        NODE.put(ni, None, slice(None), idle=host.threads_per_node, free=host.cores_per_node)
        aff = np.zeros((len(self.masks), host.pcpus), dtype=np.int64)
        for key, row in self.masks.items():
            aff[row, list(key) if key else slice(None)] = 1
        return {
            "g": g.ravel(),
            "gf": gf.ravel(),
            "wi": self.wi.ravel(),
            "wf": self.wf.ravel(),
            "wc": COUNTERS.int_rows(nw).ravel(),
            "pi": self.pi.ravel(),
            "pf": PCPU.float_rows(host.pcpus).ravel(),
            "ci": ci.ravel(),
            "vi": self.vi.ravel(),
            "vf": self.vf.ravel(),
            "rq": np.zeros((nodes + 1) * max(nw, 1), dtype=np.int64),
            "rqn": np.zeros(nodes + 1, dtype=np.int64),
            "qf": np.zeros(nodes + 1),
            "aff": aff.ravel(),
            "ni": ni.ravel(),
            # the slice heap: NP + 1 slots of (key, pcpu), every key EMPTY (sched.core's slice heap)
            "sh": np.tile(np.array([C.EMPTY, -1], dtype=np.int64), host.pcpus + 1),
            "bb": self.bb.ravel(),
            "ib": self.ib.ravel(),
            "tb": self.tb.ravel(),
            "ti": self.ti.ravel(),
        }


def _add_numa_clients(numa: NumaRuntime, v: int, vm: VmSpec, plan: VmPlan | None, w0: int) -> None:
    """Give the NUMA runtime VM *v*'s clients (plan None: not NUMA-managed) and their touched memory."""
    cfg = vm.config
    active = vm.workload.active_memory_pct / 100.0 * cfg.memory_mb
    if plan is None:
        numa.add_unmanaged(v, active)
        return
    for c in plan.clients:
        share = active * len(c.vcpus) / cfg.vcpus
        numa.add_client(v, c.index, [w0 + i for i in c.vcpus], c.nodes, share, movable=not _is_lsh(cfg))
