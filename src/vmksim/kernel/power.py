"""CPU power management: P-states, C-states and the host power policy, applied around the kernel.

ESXi counterpart: the host power policy (High Performance, Balanced — the
default — and Low Power) that chooses each PCPU's P-state (clock frequency)
and lets idle PCPUs sleep in C-states (esxi-scheduler.md §1.12; esxtop.md
§2.7). esxtop shows one ``Power(n)\\P-State MHZ`` per P-state and, per PCPU,
``%C-State Cn`` / ``%P-State Pn`` residencies; ``%USED`` and ``% Processor
Time`` are charged at the actual frequency relative to nominal, while ``%RUN``
and ``% Util Time`` are pure time, so a power-saving host shows USED below
UTIL (esxtop.md §2.1: 6.11 vs 8.95 on a real host; esxi-scheduler.md §3.3
item 7: at half the nominal frequency a fully running vCPU shows %RUN 100,
%USED about 50).

How it works (a governor, as an on-demand frequency governor does): every
:data:`GOVERNOR_PERIOD_US` the model reads each PCPU's utilisation over the
past period and picks, for the next period, the lowest-frequency P-state that
would keep the PCPU below the policy's target utilisation
(:data:`TARGET_UTILISATION`); High Performance stays at P0. Time is charged
at the P-state in force (the kernel's compiled core charges at nominal; the
caller scales its charged counters by :meth:`PowerModel.factors`, see
vmksim.kernel.worlds). Idle time is split between C1 (halt) and the deep
C-state C2: High Performance uses C1 only; Balanced and Low Power send a
share of idle time equal to the PCPU's idle fraction to C2 (a mostly idle
PCPU has long idle gaps that reach the deep state).

Every number below is undocumented by VMware and is a named parameter.
Turbo (P0 above nominal) and T-state throttling are not modelled.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from vmksim.scenario import PowerPolicy
from vmksim.topology import HostTopology

__all__ = [
    "ACTIVE_WATTS_PER_CORE",
    "GOVERNOR_PERIOD_US",
    "IDLE_WATTS_PER_CORE",
    "PSTATE_COUNT",
    "PSTATE_MIN_FRACTION",
    "PSTATE_STEP_MHZ",
    "TARGET_UTILISATION",
    "PowerModel",
    "pstate_table",
]

FloatArray = npt.NDArray[np.float64]

#: How often the governor re-picks P-states (µs). ESXi's period is undocumented.
GOVERNOR_PERIOD_US = 500_000
#: P-states the host lists (P0 = nominal frequency). Real hosts list 4-16 (undocumented here).
PSTATE_COUNT = 8
#: Lowest P-state as a fraction of nominal frequency (typical of server CPUs; undocumented).
PSTATE_MIN_FRACTION = 0.5
#: P-state frequencies are multiples of this (Intel bus-ratio steps are 100 MHz).
PSTATE_STEP_MHZ = 100
#: Highest utilisation the governor lets a PCPU reach at a lower P-state, per policy;
#: High Performance never leaves P0 (esxi-scheduler.md §1.12). Values are assumptions.
TARGET_UTILISATION: dict[PowerPolicy, float] = {
    PowerPolicy.HIGH_PERFORMANCE: 0.0,
    PowerPolicy.BALANCED: 0.8,
    PowerPolicy.LOW_POWER: 0.95,
}
#: Host power draw (watts) per core when idle, and extra per busy PCPU at nominal frequency;
#: dynamic power scales with the square of the frequency ratio. Assumptions, not ESXi figures.
IDLE_WATTS_PER_CORE = 4.0
ACTIVE_WATTS_PER_CORE = 8.0
#: C-states written: C0 (running), C1 (halt), C2 (deep sleep).
C_STATES = 3


def pstate_table(nominal_mhz: int) -> tuple[int, ...]:
    """P0 (nominal) down to :data:`PSTATE_MIN_FRACTION` of it in :data:`PSTATE_COUNT` steps, rounded."""
    low = nominal_mhz * PSTATE_MIN_FRACTION
    steps = np.linspace(nominal_mhz, low, PSTATE_COUNT)
    table = [nominal_mhz] + [int(round(f / PSTATE_STEP_MHZ) * PSTATE_STEP_MHZ) for f in steps[1:]]
    return tuple(dict.fromkeys(max(f, PSTATE_STEP_MHZ) for f in table))  # distinct, P0 first


class PowerModel:
    """P-state per PCPU, and cumulative C-/P-state residency and energy for esxtop's power counters."""

    __slots__ = ("_host", "cstate_time", "energy_j", "mhz", "policy", "pstate_time", "state")

    def __init__(self, host: HostTopology, policy: PowerPolicy) -> None:
        self._host = host
        self.policy = policy
        self.mhz = pstate_table(host.mhz)
        self.state = np.zeros(host.pcpus, dtype=np.int64)  # every PCPU starts at P0
        self.cstate_time = np.zeros((host.pcpus, C_STATES))
        self.pstate_time = np.zeros((host.pcpus, len(self.mhz)))
        self.energy_j = 0.0

    def copy(self) -> PowerModel:
        """An independent copy (to read the counters mid-period without changing the model)."""
        other = PowerModel.__new__(PowerModel)
        other._host, other.policy, other.mhz, other.energy_j = (
            self._host,
            self.policy,
            self.mhz,
            self.energy_j,
        )
        other.state = self.state.copy()
        other.cstate_time = self.cstate_time.copy()
        other.pstate_time = self.pstate_time.copy()
        return other

    def factors(self) -> FloatArray:
        """Per PCPU: actual / nominal frequency of the P-state in force."""
        return np.asarray(self.mhz, dtype=np.float64)[self.state] / float(self.mhz[0])

    def account(self, busy_us: FloatArray, dt_us: int) -> None:
        """Charge *dt_us* of wall time in which each PCPU was busy *busy_us* to the states in force."""
        if dt_us <= 0:
            return
        busy = np.clip(np.asarray(busy_us, dtype=np.float64), 0.0, float(dt_us))
        idle = dt_us - busy
        deep = (
            idle * (idle / dt_us) if self.policy is not PowerPolicy.HIGH_PERFORMANCE else np.zeros_like(idle)
        )
        self.cstate_time[:, 0] += busy
        self.cstate_time[:, 1] += idle - deep
        self.cstate_time[:, 2] += deep
        np.add.at(self.pstate_time, (np.arange(len(busy)), self.state), busy)
        f = self.factors()
        cores = self._host.cores
        watts = cores * IDLE_WATTS_PER_CORE + float(
            (busy / dt_us * f**2).sum() * ACTIVE_WATTS_PER_CORE * cores / max(len(busy), 1)
        )
        self.energy_j += watts * dt_us / 1e6

    def govern(self, utilisation: FloatArray) -> None:
        """Pick each PCPU's P-state for the next period from its utilisation over the last one."""
        target = TARGET_UTILISATION[self.policy]
        if target <= 0:
            self.state[:] = 0
            return
        ratio = float(self.mhz[0]) / np.asarray(self.mhz, dtype=np.float64)  # util grows by this at Pk
        util = np.clip(np.asarray(utilisation, dtype=np.float64), 0.0, 1.0)
        ok = util[:, None] * ratio[None, :] <= target  # (PCPU, P-state) keeps util under target
        # the lowest frequency (highest index) that is ok; P0 when none is
        last_ok = len(self.mhz) - 1 - np.argmax(ok[:, ::-1], axis=1)
        self.state = np.where(ok.any(axis=1), last_ok, 0).astype(np.int64)
