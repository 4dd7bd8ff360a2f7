"""The non-VM worlds of an ESXi host and the esxtop view of a simulated host: :func:`boot`.

ESXi counterpart: a real host's world groups as esxtop lists them (esxtop.md
§1.4b "Anatomy of a real header"): ``1:system`` (holding the per-PCPU idle
worlds; ESXi 6.0 and older have a separate ``idle`` group), ``helper``,
``drivers``, ``ft``, ``vmotion``, one group per user world named
``GID:name.PID`` (init, vmsyslogd, vobd, vmkeventd, hostd, vpxa, rhttpproxy,
sshd, sh, esxtop itself...), and one group per VM whose members are ``vmx``,
``NetWorld-VM-N``, ``vmast.N``, ``vmx-vthread-N``, ``vmx-mks:VM``,
``vmx-svga:VM``, one ``vmx-vcpu-K:VM`` per vCPU and the storage adapter's
world (``PVSCSI-N:0``): 8-11 members for 1-4 vCPUs (issue 10 item 3 quotes 7-11).

How they are simulated (a layer around :class:`~vmksim.kernel.vmkernel.Kernel`,
whose compiled core is not changed): every world with CPU load becomes an
extra 1-vCPU kernel group (1-world groups never co-stop) running a seeded
on/off workload (exponential bursts of :data:`NON_VM_BURST_MS` /
:data:`VM_WORLD_BURST_MS`), so its CPU is real: it takes PCPU time and makes
other worlds wait. Worlds without load only appear (always waiting). The
non-VM load is ``[host.system] cpu_pct`` (total %USED of all non-VM groups,
% of one PCPU) split by :data:`NON_VM_WORLDS` weights; each VM's helper worlds
carry ``[host.system] vm_worlds_pct`` split by :data:`VM_WORLD_LOAD_WEIGHTS`.
These kernel groups are not siblings of the VMs in the entitlement tree (that
would let ~20 default-share groups dilute every VM's entitlement and turn
reservations into absolute priority): the non-VM ones sit in a ``host`` branch
that gets what they really use, beside a ``user`` branch holding the scenario's
pools and VMs, and a VM's helper worlds sit inside their VM's node and draw on
its entitlement (:class:`~vmksim.kernel.vmkernel.LightGroup`, ``_entitlements``
there gives the sources). :class:`EsxHost` regroups the kernel's
counters into esxtop's groups and adds what esxtop derives from these worlds
(esxi-scheduler.md §3.2, §3.3):

- ``%SYS``: VMkernel work done on a VM's behalf, charged to the VM's VMX world
  (§3.2 "at VM level charged to the VMX world"). The ``drivers`` worlds model
  device-interrupt and I/O completion work; :data:`SYS_VM_SHARE` of their run
  time is done for VMs, split by each VM's I/O-world activity.
- ``%OVRLP``: that same time, taken from the worlds that were running when it
  happened, in proportion to their run time (the kernel runs the service as its
  own worlds, so who was interrupted is estimated). With %USED = RUN + SYS −
  OVRLP (§3.3 item 3) the total %USED is conserved.
- ``%VMWAIT``: a vCPU blocked on its VM's I/O worlds: the time those worlds were
  runnable (RUN + READY), shared by the vCPUs and capped at the vCPU's WAIT;
  ``%IDLE`` is the rest of WAIT (§3.3 item 1). Other worlds have neither: their
  WAIT is plain blocking, as in real captures where a VM group's %WAIT is pinned
  near NWLD × 100 while %IDLE follows the vCPUs (esxtop.md §2.1).
- The idle worlds of ``system`` run whenever their PCPU is idle (%RUN = PCPU
  idle time; esxtop.md §1.4b saw idle worlds near 148 %RUN) and are charged no
  %USED (an idle PCPU uses nothing; an assumption, the reference gives %RUN only).
- Power management (vmksim.kernel.power): charged counters (%USED, %LAT_C's
  frequency loss, PCPU ``% Processor Time``) are scaled by the per-PCPU
  frequency factor of each governor period here, not in the compiled core. A
  world's charge in a period is scaled by the factor of the PCPU it last ran on
  (the core keeps no per-PCPU run time per world), so when PCPUs run at
  different P-states Σ world %USED and Σ PCPU ``% Processor Time`` can differ
  slightly, as they do on real hosts (esxtop.md §1.4b). Bursts are time, not
  work: a lower clock changes what is charged, not how long a burst runs.

World names inside the non-VM kernel groups (``helper``, ``drivers``...) are
illustrative: the reference names the groups and the VM worlds only. GIDs,
world IDs and PIDs of non-VM groups are made up but stable.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt

from vmksim.counters import CounterSnapshot, GroupInfo, WorldInfo, WorldKind
from vmksim.kernel.power import GOVERNOR_PERIOD_US, PowerModel
from vmksim.kernel.vmkernel import Kernel, LightGroup, ScenarioSource, VmLayout, group_id
from vmksim.scenario import Distribution, Scenario, VmSpec, WorkloadKind, WorkloadSpec
from vmksim.sched.params import SchedParams
from vmksim.vmx import vm_from_options

__all__ = [
    "IDLE_GROUP_BEFORE",
    "NON_VM_BURST_MS",
    "NON_VM_WORLDS",
    "STORAGE_ADAPTER",
    "SYS_VM_SHARE",
    "USER_WORLDS",
    "VM_WORLD_BURST_MS",
    "VM_WORLD_LOAD_WEIGHTS",
    "EsxHost",
    "boot",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Non-VM kernel groups (GID, name) and their worlds with a weight: the share of
#: ``[host.system] cpu_pct`` each carries (weights are assumptions; only the group names and
#: GIDs 1, 8-11 are observed, esxtop.md §1.4b). ``drivers`` worlds are the service worlds
#: behind %SYS/%OVRLP. ``ft`` and ``vmotion`` are idle unless FT or vMotion run (not modelled).
NON_VM_WORLDS: tuple[tuple[int, str, tuple[tuple[str, float], ...]], ...] = (
    (1, "system", (("sched-housekeeping", 0.06), ("memsched", 0.04))),
    (8, "helper", (("helper-0", 0.04), ("helper-1", 0.04))),
    (9, "drivers", (("storage-completion", 0.12), ("net-rx", 0.12))),
    (10, "ft", (("ft-logger", 0.0),)),
    (11, "vmotion", (("vmotion-stream", 0.0),)),
)
#: User worlds (esxtop.md §1.4b lists these names) with their weight in ``cpu_pct``. esxtop
#: itself used 2.6 % of ~12 % non-VM load on a real 2-PCPU host (esxtop.md §1.5) → ~0.2.
USER_WORLDS: tuple[tuple[str, float], ...] = (
    ("init", 0.0),
    ("vmsyslogd", 0.03),
    ("vobd", 0.01),
    ("vmkeventd", 0.01),
    ("hostd", 0.2),
    ("vpxa", 0.06),
    ("rhttpproxy", 0.03),
    ("sshd", 0.0),
    ("sh", 0.0),
    ("esxtop", 0.2),
)
#: First GID, GID step and first PID of the user-world groups (made up; real: "5481:hostd.66694").
USER_GID_BASE, USER_GID_STEP, USER_PID_BASE = 2000, 7, 66000
#: First world ID of the non-VM kernel worlds; idle worlds are IDLE_WID_BASE + PCPU
#: (``1:system:65537:idle1``, esxtop.md §1.3 table).
IDLE_WID_BASE = 65536
#: Releases before this one list the idle worlds in their own ``1:idle`` group, ``system`` is
#: GID 2 (the ESXi 6.0 header, esxtop.md §1.4b).
IDLE_GROUP_BEFORE = (6, 5)
#: Mean burst length of non-VM worlds (ms); short bursts, as the real 0.03 ms bursts at 872
#: wake-ups/s of issue 10 item 4, but longer to keep the simulation cheap.
NON_VM_BURST_MS = 0.5
#: How ``[host.system] vm_worlds_pct`` (CPU of one VM's helper worlds) is split among them
#: (weights are assumptions). Worlds not listed have no load.
VM_WORLD_LOAD_WEIGHTS: dict[str, float] = {"vmx": 0.4, "NetWorld": 0.2, "mks": 0.2, "storage": 0.2}
#: Mean burst length of VM helper worlds (ms).
VM_WORLD_BURST_MS = 0.2
#: Share of the drivers worlds' run time done on behalf of VMs (%SYS of their VMX worlds).
SYS_VM_SHARE = 0.5
#: Storage adapter world name prefix of every VM (PVSCSI; LSI Logic VMs show ``LSI-N:0``).
STORAGE_ADAPTER = "PVSCSI"
#: World ID of a VM's vmx world relative to its GID (made up; the kernel's vCPU worlds use GID + 1 + i).
VMX_WID_OFFSET = 500
#: Memory of a load-carrying helper "VM" in the kernel (MB): it holds no guest memory.
_HELPER_MEMORY_GB = 4 / 1024


@dataclass(frozen=True, slots=True)
class _World:
    """One esxtop world: name, kind, vCPU index, load (% of one PCPU), burst (ms), role."""

    wid: int
    name: str
    kind: WorldKind
    vcpu: int = -1
    load_pct: float = 0.0
    burst_ms: float = NON_VM_BURST_MS
    role: str = ""  # "idle:<pcpu>", "io" (a VM's I/O world), "vmx", "service" (drivers)


@dataclass(frozen=True, slots=True)
class _Group:
    info: GroupInfo
    worlds: tuple[_World, ...]
    vm: int = -1  # index in scenario.vms


def _release(esxi: str) -> tuple[int, int]:
    parts = [*esxi.split("."), "0"][:2]
    try:
        return int(parts[0]), int(parts[1])
    except ValueError:
        return (8, 0)


def _non_vm_groups(scenario: Scenario) -> list[_Group]:
    """system/idle, helper, drivers, ft, vmotion, then the user worlds (esxtop.md §1.4b)."""
    host, pct = scenario.host, scenario.system.cpu_pct
    total = sum(w for _, _, ws in NON_VM_WORLDS for _, w in ws) + sum(w for _, w in USER_WORLDS)
    idle = tuple(
        _World(IDLE_WID_BASE + p, f"idle{p}", WorldKind.SYSTEM, role=f"idle:{p}") for p in range(host.pcpus)
    )
    old = _release(scenario.esxi) < IDLE_GROUP_BEFORE
    groups = [_Group(GroupInfo(1, "idle", False, 0, 0), idle)] if old else []
    wid = IDLE_WID_BASE + host.pcpus
    for gid, name, worlds in NON_VM_WORLDS:
        out = []
        for wname, weight in worlds:
            role = "service" if name == "drivers" else ""
            out.append(_World(wid, wname, WorldKind.SYSTEM, load_pct=pct * weight / total, role=role))
            wid += 1
        if name == "system":
            gid = 2 if old else 1
            out = out if old else [*idle, *out]
        groups.append(_Group(GroupInfo(gid, name, False, 0, 0), tuple(out)))
    for i, (name, weight) in enumerate(USER_WORLDS):
        pid = USER_PID_BASE + 100 * i
        world = _World(pid, name, WorldKind.SYSTEM, load_pct=pct * weight / total)
        groups.append(
            _Group(GroupInfo(USER_GID_BASE + USER_GID_STEP * i, f"{name}.{pid}", False, 0, 0), (world,))
        )
    return groups


def _vm_group(vm: VmSpec, v: int, vm_worlds_pct: float) -> _Group:
    """A VM's worlds in the order real captures list them (esxtop.md §1.4b); its GroupInfo comes from the kernel."""
    name, n, gid = vm.name, vm.config.vcpus, group_id(v)
    info = GroupInfo(gid, name, True, n, vm.config.memory_mb)
    # World IDs follow creation order: the vmx world first, then its helpers, then the vCPUs - a
    # real styx has its network port on world 444768 and vmx-vcpu-0 on 444774 = 444768 + 6
    # (esxtop.md §1.3 instance table). The kernel numbers its own vCPU worlds GID + 1 + i.
    vmx = gid + VMX_WID_OFFSET
    weights = sum(VM_WORLD_LOAD_WEIGHTS.values())

    def load(world: str, _: float) -> float:
        return vm_worlds_pct * VM_WORLD_LOAD_WEIGHTS.get(world, 0.0) / weights

    b = VM_WORLD_BURST_MS
    worlds = [
        _World(vmx, "vmx", WorldKind.VMX, load_pct=load("vmx", 0.0), burst_ms=b, role="vmx"),
        _World(vmx + 1, f"NetWorld-VM-{vmx}", WorldKind.VMX, load_pct=load("NetWorld", 0.0), burst_ms=b, role="io"),
        _World(vmx + 2, f"vmast.{vmx}", WorldKind.VMX, load_pct=load("vmast", 0.0), burst_ms=b),
        _World(vmx + 3, f"vmx-vthread-{vmx}", WorldKind.VMX, load_pct=load("vthread", 0.0), burst_ms=b),
        _World(vmx + 4, f"vmx-mks:{name}", WorldKind.VMX, load_pct=load("mks", 0.0), burst_ms=b),
        _World(vmx + 5, f"vmx-svga:{name}", WorldKind.VMX, load_pct=load("svga", 0.0), burst_ms=b),
        *(_World(vmx + 6 + i, f"vmx-vcpu-{i}:{name}", WorldKind.VCPU, vcpu=i) for i in range(n)),
        _World(vmx + 6 + n, f"{STORAGE_ADAPTER}-{vmx}:0", WorldKind.VMX, load_pct=load("storage", 0.0), burst_ms=b,
               role="io"),
    ]  # fmt: skip
    return _Group(info, tuple(worlds), vm=v)


def _helper_vm(name: str, world: _World) -> VmSpec:
    """A load-carrying world as a 1-vCPU kernel group with a seeded on/off workload."""
    duty = world.load_pct / 100.0
    idle_ms = world.burst_ms * (1.0 - duty) / duty
    config, _ = vm_from_options(name=name, vcpus=1, memory_gb=_HELPER_MEMORY_GB, source="<worlds>")
    workload = WorkloadSpec(
        kind=WorkloadKind.ONOFF,
        busy_ms=world.burst_ms,
        idle_ms=idle_ms,
        distribution=Distribution.EXPONENTIAL,
        active_memory_pct=0.0,
    )
    return VmSpec(config=config, workload=workload)


class EsxHost(ScenarioSource):
    """A simulated host as esxtop sees it: the kernel plus its non-VM worlds and power management.

    Implements CounterSource, and ``advance`` / ``run_until`` like the kernel. ``kernel`` is the
    wrapped :class:`Kernel`, whose groups are the scenario's VMs followed by one 1-vCPU group per
    load-carrying helper world.
    """

    __slots__ = (
        "_acc", "_groups", "_ix", "_kernel_of", "_last", "_last_gov", "_next_gov", "_role", "_vm_io",
        "_vm_of_group", "_vmx_of_vm", "_world_group", "_worlds", "kernel", "power", "scenario",
    )  # fmt: skip

    def __init__(
        self, scenario: Scenario, *, params: SchedParams | None = None, jit: bool | None = None
    ) -> None:
        self.scenario = scenario
        groups = [
            *_non_vm_groups(scenario),
            *(_vm_group(vm, v, scenario.system.vm_worlds_pct) for v, vm in enumerate(scenario.vms)),
        ]
        extra: list[VmSpec] = []
        light: dict[str, LightGroup] = {}  # where each helper world sits in the pool tree
        kernel_of: list[int] = []  # display world -> kernel world (-1: never runs)
        first_extra = sum(vm.config.vcpus for vm in scenario.vms)
        vcpu_base = np.cumsum([0] + [vm.config.vcpus for vm in scenario.vms])
        for g in groups:
            owner = scenario.vms[g.vm].name if g.vm >= 0 else None
            for w in g.worlds:
                if w.kind is WorldKind.VCPU:
                    kernel_of.append(int(vcpu_base[g.vm]) + w.vcpu)
                elif w.load_pct > 0:
                    extra.append(_helper_vm(f"{g.info.group_id}:{g.info.name}:{w.wid}:{w.name}", w))
                    light[extra[-1].name] = LightGroup(owner, w.load_pct / 100.0 * scenario.host.mhz)
                    kernel_of.append(first_extra + len(extra) - 1)
                else:
                    kernel_of.append(-1)
        self.kernel = Kernel(
            dataclasses.replace(scenario, vms=scenario.vms + tuple(extra)),
            params=params,
            jit=jit,
            light=light,
        )
        self._groups = tuple(g.info if g.vm < 0 else self.kernel.groups[g.vm] for g in groups)
        self._worlds = tuple(
            WorldInfo(w.wid, gi, w.kind, w.name, w.vcpu) for gi, g in enumerate(groups) for w in g.worlds
        )
        self._kernel_of = np.array(kernel_of, dtype=np.int64)
        self._role = tuple(w.role for g in groups for w in g.worlds)
        self._world_group = np.array([w.group for w in self._worlds], dtype=np.int64)
        self._vm_io, self._vmx_of_vm = _vm_roles(groups, self._role, len(scenario.vms))
        self._vm_of_group = np.array([g.vm for g in groups], dtype=np.int64)
        self._ix = _Index.of(self._worlds, self._role, self._vm_of_group, scenario)
        self.power = PowerModel(scenario.host, scenario.power_policy)
        nk, p = len(self.kernel.worlds), scenario.host.pcpus
        self._acc = {"used": np.zeros(nk), "freq_loss": np.zeros(nk), "pcpu_used": np.zeros(p),
                     "sys": np.zeros(len(kernel_of)), "overlap": np.zeros(len(kernel_of))}  # fmt: skip
        self._last = self.kernel.snapshot()
        self._last_gov = self._last
        self._next_gov = GOVERNOR_PERIOD_US

    # --- CounterSource (host, host_name, worlds, groups: ScenarioSource) ---------------------
    @property
    def start_time(self) -> datetime:
        """Wall-clock (UTC) time of simulated time 0: ``[run] start``."""
        return self.scenario.run.start

    @property
    def layouts(self) -> tuple[VmLayout, ...]:
        """NUMA/placement summary of the scenario's VMs (not of the helper worlds)."""
        return self.kernel.layouts[: len(self.scenario.vms)]

    @property
    def now_us(self) -> int:
        return self.kernel.now_us

    # --- running -----------------------------------------------------------------------------
    def advance(self, delta_us: int) -> None:
        self.run_until(self.now_us + delta_us)

    def run_until(self, t_us: int) -> None:
        """Simulate up to *t_us*, re-picking P-states every governor period on the way."""
        while self._next_gov <= t_us:
            self.kernel.run_until(self._next_gov)
            self._settle(self.kernel.snapshot())
            self._govern()
            self._next_gov += GOVERNOR_PERIOD_US
        self.kernel.run_until(t_us)

    def _govern(self) -> None:
        cur, prev = self._last, self._last_gov
        dt = cur.time_us - prev.time_us
        if dt > 0:
            self.power.govern((cur.pcpu_busy - prev.pcpu_busy) / dt)
        self._last_gov = cur

    def _settle(self, raw: CounterSnapshot) -> None:
        """At a governor boundary: charge the period to the accumulators, then move the baseline."""
        self._charge(self._acc, self.power, raw)
        self._last = raw

    def _charged(self, raw: CounterSnapshot) -> tuple[dict[str, FloatArray], PowerModel]:
        """The accumulators as they would be at *raw*, without moving the baseline (a mid-period read).

        Charging happens only at governor boundaries, so the counters do not depend on when, or how
        often, they are read (the sampling interval never changes results).
        """
        acc = {k: v.copy() for k, v in self._acc.items()}
        power = self.power.copy()
        self._charge(acc, power, raw)
        return acc, power

    def _charge(self, acc: dict[str, FloatArray], power: PowerModel, raw: CounterSnapshot) -> None:
        """Charge the kernel's counters since the last boundary at the P-states in force; add SYS/OVRLP."""
        last = self._last
        dt = raw.time_us - last.time_us
        if dt <= 0:
            return
        f_pcpu = power.factors()
        last_pcpu = raw.last_pcpu if raw.last_pcpu is not None else np.zeros(len(raw.run), np.int64)
        f_world = f_pcpu[last_pcpu]
        d_used = np.maximum(raw.used - last.used, 0.0)
        d_run = np.maximum(raw.run - last.run, 0).astype(np.float64)
        acc["used"] += d_used * f_world
        acc["freq_loss"] += d_run * (1.0 - f_world)
        acc["pcpu_used"] += np.maximum(raw.pcpu_used - last.pcpu_used, 0.0) * f_pcpu
        power.account((raw.pcpu_busy - last.pcpu_busy).astype(np.float64), dt)
        self._attribute_service(acc, raw, last)

    def _attribute_service(
        self, acc: dict[str, FloatArray], raw: CounterSnapshot, last: CounterSnapshot
    ) -> None:
        """%SYS for the VMs the drivers worlds served, %OVRLP for the worlds they interrupted."""
        k = self._kernel_of
        active = k >= 0
        d_run = np.zeros(len(k))
        d_run[active] = np.maximum(raw.run[k[active]] - last.run[k[active]], 0)
        service = self._ix.service
        done_for_vms = float(d_run[service].sum()) * SYS_VM_SHARE
        io = np.array([float(d_run[ws].sum()) for ws in self._vm_io])
        if done_for_vms <= 0 or io.sum() <= 0:
            return
        acc["sys"][self._vmx_of_vm] += done_for_vms * io / io.sum()
        others = np.where(service, 0.0, d_run)
        if others.sum() > 0:
            acc["overlap"] += done_for_vms * others / others.sum()

    # --- counters ----------------------------------------------------------------------------
    def snapshot(self) -> CounterSnapshot:
        """The kernel's counters regrouped into esxtop's groups and worlds (see the module docstring)."""
        raw = self.kernel.snapshot()
        acc, power = self._charged(raw)
        now = raw.time_us
        ipick, fpick = self._ipick, self._fpick
        idle_pcpu = self._ix.idle_pcpu
        is_idle = idle_pcpu >= 0
        run = ipick(raw.run)
        run[is_idle] = now - raw.pcpu_busy[idle_pcpu[is_idle]]  # idle worlds run while their PCPU idles
        ready, costop = ipick(raw.ready), ipick(raw.costop)
        wait = now - run - ready - costop
        vmwait = self._vmwait(raw, wait)
        is_vcpu = self._ix.is_vcpu
        last_pcpu = ipick(raw.last_pcpu if raw.last_pcpu is not None else np.zeros(len(raw.run), np.int64))
        last_pcpu[is_idle] = idle_pcpu[is_idle]
        return CounterSnapshot(
            time_us=now,
            run=run,
            ready=ready,
            max_limited=ipick(raw.max_limited),
            costop=costop,
            wait=wait,
            idle=np.where(is_vcpu, wait - vmwait, 0).astype(np.int64),
            vmwait=vmwait,
            swpwait=np.zeros(len(run), dtype=np.int64),
            used=np.maximum(fpick(acc["used"]) + acc["sys"] - acc["overlap"], 0.0),
            latency=fpick(raw.latency + acc["freq_loss"]),
            demand=fpick(raw.demand),
            pcpu_used=acc["pcpu_used"],
            pcpu_busy=raw.pcpu_busy,
            core_busy=raw.core_busy,
            numa_migrations=self._per_group(raw.numa_migrations).astype(np.int64),
            memory_on_node=self._per_group(raw.memory_on_node).astype(np.float64),
            home_nodes=tuple(raw.home_nodes[v] if v >= 0 else () for v in self._vm_of_group),
            system=acc["sys"],
            overlap=acc["overlap"],
            switches=ipick(raw.switches),
            migrations=ipick(raw.migrations),
            quantum_expires=ipick(raw.quantum_expires),
            wakeups=ipick(raw.wakeups),
            last_pcpu=last_pcpu,
            energy_j=power.energy_j,
            pstate_mhz=power.mhz,
            cstate_time=power.cstate_time,
            pstate_time=power.pstate_time,
        )

    def _ipick(self, arr: npt.ArrayLike | None) -> IntArray:
        """A per-kernel-world array as a per-esxtop-world one (0 for worlds that never run)."""
        k = self._kernel_of
        out = np.zeros(len(k), dtype=np.int64)
        if arr is not None:
            out[k >= 0] = np.asarray(arr)[k[k >= 0]]
        return out

    def _fpick(self, arr: npt.ArrayLike) -> FloatArray:
        k = self._kernel_of
        out = np.zeros(len(k), dtype=np.float64)
        out[k >= 0] = np.asarray(arr, dtype=np.float64)[k[k >= 0]]
        return out

    def _vmwait(self, raw: CounterSnapshot, wait: IntArray) -> IntArray:
        """vCPU worlds: time their VM's I/O worlds were runnable, shared by the vCPUs, capped at WAIT."""
        ix = self._ix
        runnable = self._ipick(raw.run + raw.ready)
        io_total = np.bincount(ix.vm_of_world[ix.io], weights=runnable[ix.io], minlength=len(ix.vcpus))
        share = (io_total // np.maximum(ix.vcpus, 1)).astype(np.int64)
        out = np.zeros(len(wait), dtype=np.int64)
        vcpu = ix.is_vcpu
        out[vcpu] = np.minimum(wait[vcpu], share[ix.vm_of_world[vcpu]])
        return out

    def _per_group(self, arr: npt.NDArray[np.generic]) -> npt.NDArray[np.generic]:
        """Kernel per-group rows (VMs first) → esxtop groups: VM rows copied, others zero."""
        out = np.zeros((len(self._vm_of_group), *arr.shape[1:]), dtype=arr.dtype)
        vm = self._vm_of_group >= 0
        out[vm] = arr[self._vm_of_group[vm]]
        return out


@dataclass(frozen=True, slots=True)
class _Index:
    """Per esxtop world: masks and indices the counters are regrouped with (built once)."""

    is_vcpu: npt.NDArray[np.bool_]
    io: npt.NDArray[np.bool_]  # a VM's NetWorld or storage world
    service: npt.NDArray[np.bool_]  # a drivers world
    idle_pcpu: IntArray  # the PCPU of an idle world, else -1
    vm_of_world: IntArray  # index of the world's VM, -1 outside VM groups
    vcpus: IntArray  # per VM

    @classmethod
    def of(
        cls, worlds: tuple[WorldInfo, ...], roles: tuple[str, ...], vm_of_group: IntArray, sc: Scenario
    ) -> _Index:
        return cls(
            is_vcpu=np.array([w.kind is WorldKind.VCPU for w in worlds], dtype=bool),
            io=np.array([r == "io" for r in roles], dtype=bool),
            service=np.array([r == "service" for r in roles], dtype=bool),
            idle_pcpu=np.array([int(r[5:]) if r.startswith("idle:") else -1 for r in roles], dtype=np.int64),
            vm_of_world=np.array([vm_of_group[w.group] for w in worlds], dtype=np.int64),
            vcpus=np.array([vm.config.vcpus for vm in sc.vms], dtype=np.int64),
        )


def _vm_roles(groups: list[_Group], roles: tuple[str, ...], n_vms: int) -> tuple[list[IntArray], IntArray]:
    """Per VM: display indices of its I/O worlds, and of its VMX world."""
    io: list[list[int]] = [[] for _ in range(n_vms)]
    vmx = np.zeros(n_vms, dtype=np.int64)
    i = 0
    for g in groups:
        for _ in g.worlds:
            if g.vm >= 0 and roles[i] == "io":
                io[g.vm].append(i)
            elif g.vm >= 0 and roles[i] == "vmx":
                vmx[g.vm] = i
            i += 1
    return [np.array(x, dtype=np.int64) for x in io], vmx


def boot(scenario: Scenario, *, params: SchedParams | None = None, jit: bool | None = None) -> EsxHost:
    """Power on *scenario*'s host: the one way the CLI, ``simulate``, what-if and synth get a simulated host.

    Returns an :class:`EsxHost` (a CounterSource that can ``advance``/``run_until``) whose groups
    and worlds are those esxtop shows on a real host, with non-VM load and power management.
    """
    return EsxHost(scenario, params=params, jit=jit)
