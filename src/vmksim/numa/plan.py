"""How ESXi lays out a VM on a NUMA host: vNUMA nodes (VPDs), NUMA clients (PPDs), home nodes.

ESXi counterpart: the VMkernel's NUMA client sizing at power-on (the
``numaHost: N VCPUs X VPDs Y PPDs`` line in vmware.log) and the NUMA
scheduler's initial placement. Rules, per release, follow
esxi-scheduler.md §2.3 (sizing) and §2.4 (placement); each decision adds a
sentence to the plan's explanation naming the rule and its source.

Release rules in short (C = cores per node, threads with preferHT; n = vCPUs):

* 4.0 (and 3.5): one client per VM; n > C → not NUMA-managed.
* 4.1: wide VMs; clients filled first-fit (6 + 2 on 6-core nodes); no vNUMA.
* 5.x–6.0: vNUMA (HW ≥ 8) when n ≥ numa.vcpu.min and n > C; with
  cores-per-socket > 1 and n > 8 the virtual socket is the vNUMA node and
  caps the PPD size.
* 6.5+: decoupled — clients from C, evenly, in whole virtual sockets;
  sockets only change presentation (unless FollowCoresPerSocket).
* 8.0: as 6.5+, plus numa.vcpu.coresPerNode and single-node vNUMA with
  CPU hot-plug unless numa.allowHotadd.

Simplifications: the release's automatic cores-per-socket choice (8.0) and
the autosize cookie format are undocumented; both are stated as such in the
output. Memory never sizes clients (documented), except through
``numa.consolidate = FALSE`` (inferred rule, §2.3 pseudocode).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from vmksim.errors import InputError, VmxError
from vmksim.topology import HostTopology
from vmksim.vmx import VmConfig

__all__ = [
    "DEFAULT_ESXI",
    "ClientPlan",
    "EsxiVersion",
    "NodeLoad",
    "VmPlan",
    "parse_esxi_version",
    "plan_vm",
    "plan_vms",
]

DEFAULT_ESXI = "8.0"

#: First hardware version with vNUMA (vSphere 5.0 RM, esxi-scheduler.md §2.3).
VNUMA_MIN_HW_VERSION = 8
#: Legacy cps rule applies only to VMs with more than this many vCPUs (RM 5.0 GUID-17B629DE).
LEGACY_CPS_MIN_VCPUS = 8

_KNOWN = ("3.5", "4.0", "4.1", "5.0", "5.1", "5.5", "6.0", "6.5", "6.7", "7.0", "8.0")


@dataclass(frozen=True, slots=True, order=True)
class EsxiVersion:
    major: int
    minor: int

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"

    def at_least(self, major: int, minor: int) -> bool:
        return (self.major, self.minor) >= (major, minor)


def parse_esxi_version(text: str) -> EsxiVersion:
    """Accept 4.0 … 8.0, ``5.x``, and update spellings like ``7.0U3`` or ``8.0.2``."""
    t = text.strip().lower()
    if t == "5.x":
        t = "5.5"
    m = re.match(r"^(\d+)\.(\d+)", t)
    if not m or f"{m.group(1)}.{m.group(2)}" not in _KNOWN:
        raise InputError(
            f"unknown ESXi version '{text}' (expected one of 4.0, 4.1, 5.x, 6.0, 6.5, 6.7, 7.0, 8.0)",
            source="--esxi",
        )
    return EsxiVersion(int(m.group(1)), int(m.group(2)))


@dataclass(frozen=True, slots=True)
class ClientPlan:
    """One NUMA client (PPD): its vCPUs and home node(s)."""

    index: int
    vcpus: tuple[int, ...]
    nodes: tuple[int, ...]  # home node first; more than one only for a client spanning nodes
    memory_mb: int

    @property
    def size(self) -> int:
        return len(self.vcpus)

    @property
    def home_node(self) -> int:
        return self.nodes[0]


@dataclass(frozen=True, slots=True)
class VmPlan:
    name: str
    esxi: str
    vcpus: int
    numa_managed: bool
    vnuma_nodes: int
    vcpus_per_vnuma_node: tuple[int, ...]
    clients: tuple[ClientPlan, ...]
    virtual_sockets: int
    cores_per_virtual_socket: int
    vmx_writes: dict[str, str]
    log_line: str
    explanation: tuple[str, ...]
    warnings: tuple[str, ...]

    @property
    def numa_clients(self) -> int:
        return len(self.clients)

    @property
    def vcpus_per_numa_client(self) -> tuple[int, ...]:
        return tuple(c.size for c in self.clients)

    @property
    def home_nodes(self) -> tuple[int, ...]:
        return tuple(c.home_node for c in self.clients)

    @property
    def client_of_vcpu(self) -> tuple[int, ...]:
        """Client index of each vCPU (-1 for every vCPU of an unmanaged VM)."""
        out = [-1] * self.vcpus
        for c in self.clients:
            for v in c.vcpus:
                out[v] = c.index
        return tuple(out)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "esxi": self.esxi,
            "vcpus": self.vcpus,
            "numa_managed": self.numa_managed,
            "vnuma_nodes": self.vnuma_nodes,
            "vcpus_per_vnuma_node": list(self.vcpus_per_vnuma_node),
            "numa_clients": self.numa_clients,
            "vcpus_per_numa_client": list(self.vcpus_per_numa_client),
            "home_nodes": list(self.home_nodes),
            "client_nodes": [list(c.nodes) for c in self.clients],
            "virtual_sockets": self.virtual_sockets,
            "cores_per_virtual_socket": self.cores_per_virtual_socket,
            "vmx_writes": dict(self.vmx_writes),
            "log_line": self.log_line,
            "explanation": list(self.explanation),
            "warnings": list(self.warnings),
        }


@dataclass(slots=True)
class NodeLoad:
    """Placement state of a host while VMs are powered on in order (§2.4)."""

    vcpus: list[int]
    memory_mb: list[int]

    @classmethod
    def empty(cls, host: HostTopology) -> NodeLoad:
        return cls([0] * host.numa_nodes, [0] * host.numa_nodes)


@dataclass(slots=True)
class _Ctx:
    """Scratch state of one planning run: the notes it accumulates."""

    explanation: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def why(self, text: str) -> None:
        self.explanation.append(text)

    def warn(self, text: str) -> None:
        self.warnings.append(text)


def _host_flag(settings: Mapping[str, str], key: str, default: bool = False) -> bool:
    for k, v in settings.items():
        if k.lower() == key.lower():
            return str(v).strip().lower() in ("1", "true", "yes", "on")
    return default


def split_units(n: int, k: int, unit: int) -> list[int]:
    """Distribute n/unit virtual sockets over k clients as evenly as possible, larger first (§2.3)."""
    sockets = n // unit
    base, extra = divmod(sockets, k)
    return [(base + (1 if i < extra else 0)) * unit for i in range(k)]


def _fill_first(n: int, cap: int) -> list[int]:
    """ESX 4.1: each client takes as many vCPUs as fit a node (6 + 2, esxi-scheduler.md §2.3)."""
    sizes = []
    while n > 0:
        sizes.append(min(cap, n))
        n -= cap
    return sizes


def plan_vm(
    host: HostTopology,
    vm: VmConfig,
    esxi: str = DEFAULT_ESXI,
    host_settings: Mapping[str, str] | None = None,
    load: NodeLoad | None = None,
) -> VmPlan:
    """Plan one VM (placing it against ``load``, which is updated)."""
    version = parse_esxi_version(esxi)
    settings = dict(host_settings or {})
    load = load or NodeLoad.empty(host)
    ctx = _Ctx()
    n = vm.vcpus
    if n > host.pcpus:
        raise VmxError(
            f"numvcpus = {n} is more than the host's {host.pcpus} logical CPUs ({host.name})",
            **vm.vcpus_place._asdict(),
        )

    prefer_ht = vm.prefer_ht or _host_flag(settings, "Numa.PreferHT")
    cap, _ = _node_capacity(host, vm, prefer_ht, ctx)
    cps_set = vm.cores_per_socket
    cps = cps_set or 1

    sizes_ppd, sizes_vpd, managed, spanning = _size(_Job(host, vm, version, settings, cap, cps, ctx))

    # Presentation: virtual sockets. 8.0 picks cores-per-socket itself when unset (HW 20,
    # "Assigned at power on"); the rule is undocumented, vmksim uses one socket per vNUMA node.
    if cps_set is None and version.at_least(8, 0) and len(set(sizes_vpd)) == 1:
        cps = sizes_vpd[0]
        ctx.why(
            f"8.0 assigns cores per socket at power-on; the rule is undocumented [UNDOC], vmksim presents "
            f"one virtual socket per vNUMA node ({cps} cores per socket)."
        )
    virtual_sockets = n // cps

    clients = _place(host, vm, sizes_ppd, managed, spanning, load, ctx) if managed else ()
    vmx_writes = _vmx_writes(vm, version, sizes_vpd, ctx)
    log_line = f"numaHost: {n} VCPUs {len(sizes_vpd)} VPDs {len(clients)} PPDs"
    _warn(host, vm, version, prefer_ht, cps_set, sizes_ppd, sizes_vpd, clients, managed, ctx)
    return VmPlan(
        name=vm.name,
        esxi=str(version),
        vcpus=n,
        numa_managed=managed,
        vnuma_nodes=len(sizes_vpd),
        vcpus_per_vnuma_node=tuple(sizes_vpd),
        clients=clients,
        virtual_sockets=virtual_sockets,
        cores_per_virtual_socket=cps,
        vmx_writes=vmx_writes,
        log_line=log_line,
        explanation=tuple(ctx.explanation),
        warnings=tuple(ctx.warnings),
    )


def plan_vms(
    host: HostTopology,
    vms: Sequence[VmConfig],
    esxi: str = DEFAULT_ESXI,
    host_settings: Mapping[str, str] | None = None,
) -> list[VmPlan]:
    """Plan VMs powered on in order on one host: later VMs see the load of earlier ones."""
    load = NodeLoad.empty(host)
    return [plan_vm(host, vm, esxi, host_settings, load) for vm in vms]


# --- sizing -------------------------------------------------------------------------------------


def _node_capacity(host: HostTopology, vm: VmConfig, prefer_ht: bool, ctx: _Ctx) -> tuple[int, str]:
    """C: vCPUs one client may hold (§2.2: physical cores; threads with preferHT)."""
    if prefer_ht and host.ht:
        cap, why = host.threads_per_node, f"preferHT counts the node's {host.threads_per_node} hyper-threads"
    else:
        cap, why = (
            host.cores_per_node,
            f"a NUMA node has {host.cores_per_node} physical cores (threads ignored)",
        )
        if prefer_ht:
            ctx.warn("preferHT has no effect: the host has no hyper-threading.")
    for key, limit in (
        ("numa.vcpu.maxPerMachineNode", vm.max_per_machine_node),
        ("numa.vcpu.maxPerClient", vm.max_per_client),
    ):
        if limit is not None and limit < cap:
            cap, why = limit, f"{key} = {limit} caps the client size"
    ctx.why(f"Client capacity C = {cap}: {why} (esxi-scheduler.md §2.2-2.3).")
    return cap, why


class _Sizes(NamedTuple):
    """What sizing decides: PPD (NUMA client) sizes, VPD (vNUMA node) sizes, and how it is managed."""

    ppds: list[int]
    vpds: list[int]
    managed: bool  # False: the NUMA scheduler leaves the VM alone (no clients)
    spanning: bool  # a single PPD spans nodes (CPU hot-add)


@dataclass(frozen=True, slots=True)
class _Job:
    """What every sizing rule reads."""

    host: HostTopology
    vm: VmConfig
    version: EsxiVersion
    settings: Mapping[str, str]
    cap: int  # C, from _node_capacity
    cps: int  # cores per virtual socket (1 when unset)
    ctx: _Ctx

    @property
    def n(self) -> int:
        return self.vm.vcpus

    def unmanaged(self, why: str) -> _Sizes:
        self.ctx.why(why)
        return _Sizes([], [self.n], False, False)


def _size(job: _Job) -> _Sizes:
    """Size the VM: the first gate that leaves it unmanaged, else its release's rule (§2.3)."""
    for gate in _UNMANAGED_GATES:
        why = gate(job)
        if why is not None:
            return job.unmanaged(why)
    rule = next(rule for release, rule in _SIZING_BY_RELEASE if job.version.at_least(*release))
    return rule(job)


# --- gates: VMs the NUMA scheduler does not manage, in any release -----------------------------


def _gate_one_node(job: _Job) -> str | None:
    if job.host.numa_nodes > 1:
        return None
    return "The host has one NUMA node (UMA, or BIOS node interleaving): nothing for the NUMA scheduler."


def _gate_rebalance_off(job: _Job) -> str | None:
    if _host_flag(job.settings, "Numa.RebalanceEnable", default=True):
        return None
    return "Numa.RebalanceEnable = 0 disables NUMA placement and rebalancing (RM 5.5)."


def _gate_cpu_affinity(job: _Job) -> str | None:
    if job.vm.cpu_affinity is None:
        return None
    return (
        "sched.cpu.affinity is set: VMs with CPU affinity (and so memory affinity, Numa.AutoMemAffinity) "
        "are not NUMA-managed (RM 8.0 GUID-68817061)."
    )


_UNMANAGED_GATES: tuple[Callable[[_Job], str | None], ...] = (
    _gate_one_node,
    _gate_rebalance_off,
    _gate_cpu_affinity,
)


# --- sizing per release ------------------------------------------------------------------------


def _size_one_client(job: _Job) -> _Sizes:
    """ESX 3.5 / 4.0: a VM is one client and may not exceed a node (Denneman 2010)."""
    n, cap, version = job.n, job.cap, job.version
    if n > cap:
        return job.unmanaged(
            f"ESX {version}: a VM is one NUMA client and may not exceed a node; {n} vCPUs > C = {cap}, "
            "so it is not NUMA-managed: vCPUs float over all nodes, memory round-robin (Denneman 2010)."
        )
    job.ctx.why(f"ESX {version}: the VM is one NUMA client ({n} <= C = {cap}).")
    return _Sizes([n], [n], True, False)


def _size_wide_first_fit(job: _Job) -> _Sizes:
    """ESX 4.1: wide VMs, clients filled first-fit; no vNUMA yet (Denneman 2010-09-13, 2011-01-05)."""
    sizes = _fill_first(job.n, job.cap)
    job.ctx.why(
        f"ESX 4.1 wide VM: {len(sizes)} client(s), each filled with as many vCPUs as fit a node "
        f"({' + '.join(map(str, sizes))}); there is no vNUMA before 5.0 (Denneman 2010-09-13, 2011-01-05)."
    )
    return _Sizes(sizes, [job.n], True, False)


def _size_vnuma(job: _Job) -> _Sizes:
    """5.0+: vNUMA. The vNUMA node size (if a rule sets one), the client count, whole sockets
    per client (6.5+), then what the guest sees."""
    if _hotadd_disables_vnuma(job):
        return _size_hotadd(job)
    legacy = _legacy_cps(job)
    vpd_size, explicit = _vnuma_node_size(job, legacy)
    client_cap = min(job.cap, vpd_size) if explicit and vpd_size else job.cap
    k = _spread_for_memory(job, math.ceil(job.n / client_cap))
    unit, k = _socket_unit(job, legacy, client_cap, k)
    ppds = split_units(job.n, k, unit)
    _explain_clients(job, ppds, client_cap, unit)
    vpds = ppds if vpd_size is None else split_units(job.n, math.ceil(job.n / vpd_size), 1)
    return _Sizes(ppds, _guest_nodes(job, vpds), True, False)


#: Sizing rules by release, newest first: the first the release reaches applies (§2.3).
_SIZING_BY_RELEASE: tuple[tuple[tuple[int, int], Callable[[_Job], _Sizes]], ...] = (
    ((5, 0), _size_vnuma),
    ((4, 1), _size_wide_first_fit),
    ((0, 0), _size_one_client),
)


def _hotadd_disables_vnuma(job: _Job) -> bool:
    """CPU hot-add disables vNUMA (KB 340275); 8.0 keeps it with numa.allowHotadd (RM 8 GUID-34D6F6A7)."""
    return job.vm.cpu_hotadd and not (job.version.at_least(8, 0) and job.vm.allow_hotadd)


def _size_hotadd(job: _Job) -> _Sizes:
    n, cap = job.n, job.cap
    spans = n > cap
    job.ctx.why(
        "vcpu.hotadd = TRUE disables vNUMA: the guest sees one node and the VM is one NUMA client"
        + (
            f" spanning {min(math.ceil(n / cap), job.host.numa_nodes)} nodes, memory interleaved"
            if spans
            else ""
        )
        + " (KB 340275; Denneman 2017-04-14)."
    )
    return _Sizes([n], [n], True, spans)


def _legacy_cps(job: _Job) -> bool:
    """Before 6.5, or with (Numa.)FollowCoresPerSocket, cores per socket sizes vNUMA (§2.3; Denneman 2016-12-12)."""
    return (
        not job.version.at_least(6, 5)
        or job.vm.follow_cores_per_socket
        or _host_flag(job.settings, "Numa.FollowCoresPerSocket")
    )


# --- vNUMA node size: the first rule that applies sets it (None: from the clients) ---------------

#: (size, explicit): an explicit size also caps the client; a frozen autosize value does not.
_NodeSize = tuple[int, bool] | None


def _node_size_legacy_socket(job: _Job, legacy: bool) -> _NodeSize:
    if not (legacy and job.cps > 1 and job.n > LEGACY_CPS_MIN_VCPUS):
        return None
    why = (
        "before 6.5"
        if not job.version.at_least(6, 5)
        else "numa.vcpu.followcorespersocket / Numa.FollowCoresPerSocket"
    )
    job.ctx.why(
        f"Legacy rule ({why}): the virtual socket of {job.cps} cores is the vNUMA node and caps the client."
    )
    return job.cps, True


def _node_size_cores_per_node(job: _Job, legacy: bool) -> _NodeSize:
    size = job.vm.cores_per_node
    if not (job.version.at_least(8, 0) and size):
        return None
    job.ctx.why(f"numa.vcpu.coresPerNode = {size} sets the vNUMA node size (8.0 vTopology).")
    return size, True


def _node_size_max_per_virtual_node(job: _Job, legacy: bool) -> _NodeSize:
    size = job.vm.max_per_virtual_node
    if not size:
        return None
    job.ctx.why(f"numa.vcpu.maxPerVirtualNode = {size} sets the vNUMA node size.")
    return size, True


def _node_size_frozen_autosize(job: _Job, legacy: bool) -> _NodeSize:
    vm = job.vm
    size = vm.autosize_max_per_virtual_node
    if not (size and vm.autosize_once and not vm.autosize and _cookie_fresh(vm)):
        return None
    job.ctx.why(
        f"numa.autosize.vcpu.maxPerVirtualNode = {size} was written at first power-on and "
        "numa.autosize.once = TRUE keeps the guest's vNUMA layout frozen (RM 6.0)."
    )
    return size, False


_NODE_SIZE_RULES: tuple[Callable[[_Job, bool], _NodeSize], ...] = (
    _node_size_legacy_socket,
    _node_size_cores_per_node,
    _node_size_max_per_virtual_node,
    _node_size_frozen_autosize,
)


def _vnuma_node_size(job: _Job, legacy: bool) -> tuple[int | None, bool]:
    for rule in _NODE_SIZE_RULES:
        found = rule(job, legacy)
        if found is not None:
            return found
    return None, False


# --- clients -----------------------------------------------------------------------------------


def _spread_for_memory(job: _Job, k: int) -> int:
    """numa.consolidate = FALSE spreads over as many nodes as memory needs (Denneman 2017-10-05; inferred)."""
    if job.vm.consolidate:
        return k
    node_mb, memory_mb = job.host.memory_per_node_mb, job.vm.memory_mb
    by_memory = math.ceil(memory_mb / node_mb) if node_mb and memory_mb else 0
    # Spread over more nodes, never fewer clients than capacity needs.
    new_k = max(k, min(max(2, by_memory), job.host.numa_nodes))
    if new_k != k:
        job.ctx.why(
            f"numa.consolidate = FALSE spreads the VM over as many nodes as it needs: {new_k} clients "
            "(Denneman 2017-10-05; the count rule is inferred)."
        )
    return new_k


def _socket_unit(job: _Job, legacy: bool, client_cap: int, k: int) -> tuple[int, int]:
    """6.5+ keeps virtual sockets whole in a client (Denneman 2016-12-12): (unit, client count)."""
    unit = job.cps if job.version.at_least(6, 5) and not legacy else 1
    if 1 < unit <= client_cap:
        # Whole sockets per client: enough clients that none holds more sockets than fit.
        k = max(k, math.ceil((job.n // unit) / (client_cap // unit)))
    if unit > 1 and (unit > client_cap or job.n // unit < k):
        job.ctx.warn(
            f"A virtual socket of {unit} cores cannot be kept whole in {k} client(s) of at most {client_cap} "
            "vCPUs; how ESXi splits it is undocumented [UNDOC], vmksim splits by vCPU."
        )
        unit = 1
    return unit, k


def _explain_clients(job: _Job, ppds: list[int], client_cap: int, unit: int) -> None:
    if len(ppds) == 1:
        job.ctx.why(f"{job.n} vCPUs fit one client (C = {client_cap}).")
        return
    how = f"in whole virtual sockets of {unit} vCPUs" if unit > 1 else "evenly"
    job.ctx.why(
        f"{job.n} vCPUs need {len(ppds)} clients of at most {client_cap}; spread {how}: "
        f"{' + '.join(map(str, ppds))} (Denneman 2016-12-12, 2021-12-02)."
    )


def _guest_nodes(job: _Job, vpds: list[int]) -> list[int]:
    """What the guest sees: one node without vNUMA (HW < 8, or fewer vCPUs than numa.vcpu.min)."""
    vm, n = job.vm, job.n
    if len(vpds) == 1:
        job.ctx.why("The guest sees one node (UMA).")
        return vpds
    if vm.hw_version is not None and vm.hw_version < VNUMA_MIN_HW_VERSION:
        job.ctx.why(
            f"virtualHW.version {vm.hw_version} < {VNUMA_MIN_HW_VERSION}: no vNUMA, the guest sees one node."
        )
        return [n]
    if n < vm.numa_vcpu_min:
        job.ctx.why(
            f"{n} vCPUs < numa.vcpu.min = {vm.numa_vcpu_min}: the guest sees one node (UMA) even though "
            "the VM has several clients."
        )
        return [n]
    job.ctx.why(f"The guest sees {len(vpds)} vNUMA nodes of {' + '.join(map(str, vpds))} vCPUs.")
    return vpds


def _cookie_fresh(vm: VmConfig) -> bool:
    """A frozen autosize value stands until the vCPU count changes (RM 6.0); vmksim's cookie encodes it."""
    if not vm.autosize_cookie or not vm.autosize_cookie.strip().isdigit():
        return True
    return int(vm.autosize_cookie) // COOKIE_VCPU_FACTOR == vm.vcpus


#: vmksim's encoding of numa.autosize.cookie (ESXi's is undocumented [UNDOC]):
#: vcpus × 10000 + VPD count × 100 + VPD size.
COOKIE_VCPU_FACTOR = 10000


# --- placement ----------------------------------------------------------------------------------


def _place(
    host: HostTopology,
    vm: VmConfig,
    sizes: list[int],
    managed: bool,
    spanning: bool,
    load: NodeLoad,
    ctx: _Ctx,
) -> tuple[ClientPlan, ...]:
    """Initial placement (§2.4): each client on the least-loaded allowed node, a wide VM's clients
    on distinct nodes, preferring the socket of its first client (closest nodes)."""
    allowed = list(vm.node_affinity) if vm.node_affinity else list(range(host.numa_nodes))
    bad = [x for x in allowed if x >= host.numa_nodes]
    if bad:
        raise VmxError(
            f"numa.nodeAffinity names node {bad[0]}, but the host has nodes 0-{host.numa_nodes - 1}",
            source=vm.source,
            where="numa.nodeAffinity",
        )
    if vm.node_affinity:
        ctx.why(f"numa.nodeAffinity restricts home nodes to {', '.join(map(str, allowed))} (RM 8.0).")
    total = sum(sizes)
    clients: list[ClientPlan] = []
    used: list[int] = []
    first_vcpu = 0
    for index, size in enumerate(sizes):
        memory = vm.memory_mb * size // total if total else 0
        if spanning:
            count = min(math.ceil(size / host.cores_per_node), len(allowed))
            nodes = tuple(sorted(allowed, key=lambda x: (load.vcpus[x] / host.cores_per_node, x))[:count])
        else:
            fresh = [x for x in allowed if x not in used] or allowed
            socket0 = host.pcpu(host.node_pcpus(used[0]).start).socket if used else None

            def cost(node: int, socket0: int | None = socket0) -> tuple[float, int, int, int]:
                other_socket = 0 if socket0 is None or node // host.nodes_per_socket == socket0 else 1
                return (load.vcpus[node] / host.cores_per_node, other_socket, load.memory_mb[node], node)

            nodes = (min(fresh, key=cost),)
        for node in nodes:
            load.vcpus[node] += size // len(nodes)
            load.memory_mb[node] += memory // len(nodes)
        used.extend(nodes)
        clients.append(ClientPlan(index, tuple(range(first_vcpu, first_vcpu + size)), nodes, memory))
        first_vcpu += size
    homes = ", ".join(
        f"client {c.index} ({c.size} vCPU) -> node {'+'.join(map(str, c.nodes))}" for c in clients
    )
    ctx.why(f"Initial placement on the least-loaded nodes (RM 8.0 GUID-3846A67A): {homes}.")
    return tuple(clients)


# --- what ESXi writes and what an engineer would warn about --------------------------------------


def _vmx_writes(vm: VmConfig, version: EsxiVersion, vpds: list[int], ctx: _Ctx) -> dict[str, str]:
    """At first power-on (5.0+) ESXi records the VPD size and a cookie in the .vmx (RM 6.0)."""
    if not version.at_least(5, 0):
        return {}
    if vm.autosize_max_per_virtual_node and vm.autosize_once and not vm.autosize and _cookie_fresh(vm):
        ctx.why("The .vmx already holds the autosize entries, so ESXi writes nothing new.")
        return {}
    size = max(vpds)
    cookie = vm.vcpus * COOKIE_VCPU_FACTOR + len(vpds) * 100 + size
    ctx.why(
        f"At first power-on ESXi writes numa.autosize.vcpu.maxPerVirtualNode = {size} and a cookie; the "
        "cookie's format is undocumented [UNDOC] (vmksim encodes vCPUs, VPD count and size)."
    )
    return {"numa.autosize.vcpu.maxPerVirtualNode": str(size), "numa.autosize.cookie": str(cookie)}


def _warn(
    host: HostTopology,
    vm: VmConfig,
    version: EsxiVersion,
    prefer_ht: bool,
    cps_set: int | None,
    ppds: list[int],
    vpds: list[int],
    clients: tuple[ClientPlan, ...],
    managed: bool,
    ctx: _Ctx,
) -> None:
    n, cores = vm.vcpus, host.cores_per_node
    if len(ppds) > 1:
        ctx.warn(
            f"Wide VM: {n} vCPUs exceed a node's capacity; it spans {len(ppds)} NUMA clients. "
            + (
                "The guest sees the vNUMA layout, so a NUMA-aware guest can keep its memory local."
                if len(vpds) > 1
                else "The guest sees one node: size it within a node if the workload allows, or expose vNUMA."
            )
        )
    if not managed and n > cores and host.numa_nodes > 1:
        ctx.warn("Not NUMA-managed: vCPUs float over all nodes and memory is not local; expect poor N%L.")
    if prefer_ht and host.ht and any(s > cores for s in ppds):
        ctx.warn(
            f"preferHT packs a client of {max(ppds)} vCPUs onto one node's {host.threads_per_node} hyper-threads: "
            f"vCPUs share physical cores and each gets about 62.5 % of a core when both threads run."
        )
    if len(set(ppds)) > 1 and cps_set and cps_set > 1 and version.at_least(6, 5):
        ctx.warn(
            f"cores per socket = {cps_set} splits the clients unevenly ({' + '.join(map(str, ppds))}); "
            f"a cores-per-socket that divides {n} / {len(ppds)} evenly balances the nodes."
        )
    if (
        vm.cpu_hotadd
        and n > cores
        and version.at_least(5, 0)
        and not (version.at_least(8, 0) and vm.allow_hotadd)
    ):
        ctx.warn(
            "CPU hot-add disables vNUMA for this wide VM: the guest sees one node and memory is interleaved."
        )
    node_mb = host.memory_per_node_mb
    if node_mb and clients:
        big = [c for c in clients if c.memory_mb > node_mb * len(c.nodes)]
        if big:
            ctx.warn(
                f"Memory per client ({big[0].memory_mb // 1024} GB) is larger than a node's "
                f"{node_mb // 1024} GB: part of it will be remote. Consider numa.consolidate = FALSE or vNUMA."
            )
    elif node_mb and vm.memory_mb > node_mb:
        ctx.warn(f"Memory ({vm.memory_mb // 1024} GB) is larger than a node's {node_mb // 1024} GB.")
