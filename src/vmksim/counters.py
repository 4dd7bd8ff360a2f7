"""The contract between the simulated VMkernel and the statistics layer.

Layer: ``counters`` sits below the kernel and above ``topology`` (DESIGN.md,
"Layers"): the kernel fills this contract and ``stats`` reads it, so neither
has to import the other's layer upwards.

ESXi counterpart: the VSI nodes esxtop reads — per-world cumulative state
times, per-PCPU used/util times, per-VM NUMA and memory figures. esxtop turns
two readings of these monotonically growing counters into percentages for an
interval (esxtop.md; psutil's arithmetic in STYLE.md). vmksim does the same:
anything that can produce a :class:`CounterSnapshot` (the kernel, or a test
double) can drive the stats sampler, the batch CSV writer and the TUI.

Units: times are integer microseconds of simulated wall-clock time, except
``used`` / ``pcpu_used`` which are charged microseconds as floats (they carry
the HT factor 0.625 / 0.5 and the frequency factor, esxi-scheduler.md §1.6,
§3.3). Memory is in MB. All counters are cumulative since power-on; only
``home_nodes`` and the memory sizes are instantaneous.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import NamedTuple, Protocol

import numpy as np
import numpy.typing as npt

from vmksim.topology import HostTopology

__all__ = ["CounterSnapshot", "CounterSource", "GroupInfo", "WorldInfo", "WorldKind"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


class WorldKind(Enum):
    VCPU = "vcpu"
    VMX = "vmx"
    SYSTEM = "system"


class WorldInfo(NamedTuple):
    """A schedulable world: ``world_id`` is its esxtop WID, ``group`` indexes ``groups``."""

    world_id: int
    group: int
    kind: WorldKind
    name: str  # esxtop NAME, e.g. "vmx-vcpu-0:web-1"
    vcpu: int  # vCPU index inside the VM, -1 for non-vCPU worlds


class GroupInfo(NamedTuple):
    """A world group as esxtop lists it; a VM is one group (GID, NAME)."""

    group_id: int
    name: str  # VM display name, or "system", "idle", ...
    is_vm: bool
    vcpus: int
    memory_mb: int
    # --- added for the esxtop CPU ALLOC / MEM ALLOC fields (defaults: no reservation, unlimited)
    cpu_min_mhz: int = 0
    cpu_max_mhz: int = -1  # -1: unlimited, as esxtop's AMAX shows it
    cpu_shares: int = 0
    mem_min_mb: int = 0
    mem_max_mb: int = -1
    mem_shares: int = 0


@dataclass(frozen=True, slots=True)
class CounterSnapshot:
    """One reading of every cumulative counter, taken at ``time_us``."""

    time_us: int
    # --- per world, shape (W,), cumulative µs (esxi-scheduler.md §1.2, §3.2)
    run: IntArray
    ready: IntArray  # includes max_limited (MLMTD ⊆ RDY)
    max_limited: IntArray
    costop: IntArray
    wait: IntArray  # idle + vmwait + swpwait
    idle: IntArray
    vmwait: IntArray
    swpwait: IntArray
    used: FloatArray  # charged µs: RUN × HT factor × frequency factor
    latency: FloatArray  # %LAT_C numerator: RDY − MLMTD + CSTP + HT/frequency loss
    demand: FloatArray  # µs the world wanted to run (RUN + RDY + CSTP without limits)
    # --- per PCPU, shape (P,), cumulative
    pcpu_used: FloatArray  # charged µs (halved per thread when both threads busy)
    pcpu_busy: IntArray  # unhalted µs (PCPU UTIL)
    # --- per core, shape (cores,), cumulative µs with at least one thread busy (CORE UTIL)
    core_busy: IntArray
    # --- per group, shape (G,)
    numa_migrations: IntArray  # cumulative NMIG
    # --- per group and node, shape (G, nodes), instantaneous MB
    memory_on_node: FloatArray
    # --- per group: instantaneous home nodes of its NUMA clients (empty if unmanaged)
    home_nodes: tuple[tuple[int, ...], ...]

    # --- Optional counters, added for the esxtop catalogue (vmksim.metrics). A source that
    # does not model one leaves it None / empty and esxtop shows 0 for it (or omits the
    # object: no interrupt vectors -> no Interrupt Cookie columns).
    # per world, cumulative µs: %SYS and %OVRLP numerators
    system: FloatArray | None = None
    overlap: FloatArray | None = None
    # per world, cumulative event counts (SWTCH/s, MIG/s, QEXP/s, WAKE/s)
    switches: IntArray | None = None
    migrations: IntArray | None = None
    quantum_expires: IntArray | None = None
    wakeups: IntArray | None = None
    # per world, instantaneous: the PCPU it last ran on (Vcpu\Physical Cpu)
    last_pcpu: IntArray | None = None
    # per group, instantaneous MB (GRANT, CNSM, TCHD, MCTLSZ, SWCUR, SHRDSVD, OVHD);
    # granted/consumed default to the sum of memory_on_node
    mem_granted: FloatArray | None = None
    mem_consumed: FloatArray | None = None
    mem_touched: FloatArray | None = None
    mem_balloon: FloatArray | None = None
    mem_swapped: FloatArray | None = None
    mem_shared_saved: FloatArray | None = None
    mem_overhead: FloatArray | None = None
    # per group, cumulative MB swapped in / out (SWR/s, SWW/s)
    swap_in_mb: FloatArray | None = None
    swap_out_mb: FloatArray | None = None
    # host: VMkernel's own memory (MB) and free-memory state code (Memory\Kernel State);
    # None lets the stats layer derive them (vmksim.stats.sampler)
    kernel_mb: float | None = None
    mem_state: int | None = None
    # host: cumulative energy in joules (Power Usage Now Watts) and the power cap
    energy_j: float | None = None
    power_cap_w: float = 0.0
    # interrupts: vector numbers, and per (vector, PCPU) cumulative counts and handler µs
    interrupt_vectors: tuple[int, ...] = ()
    interrupts: IntArray | None = None
    interrupt_time: FloatArray | None = None
    # power management (esxtop.md §2.7): the host's P-state frequencies (MHz, P0 first), and per
    # PCPU cumulative µs in each C-state, shape (P, C-states: C0, C1, ...), and in each P-state
    # while in C0, shape (P, P-states). None / () lets the stats layer derive C0/C1 from busy time.
    pstate_mhz: tuple[int, ...] = ()
    cstate_time: FloatArray | None = None
    pstate_time: FloatArray | None = None


class CounterSource(Protocol):
    """Anything that exposes the VMkernel's counters (the kernel, a replay, a test double)."""

    @property
    def host(self) -> HostTopology: ...

    @property
    def host_name(self) -> str: ...

    @property
    def worlds(self) -> tuple[WorldInfo, ...]: ...

    @property
    def groups(self) -> tuple[GroupInfo, ...]: ...

    def snapshot(self) -> CounterSnapshot: ...
