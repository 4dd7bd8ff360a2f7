"""Scheduler parameters: every number the CPU and NUMA schedulers use, with its source.

ESXi counterpart: the VMkernel's compiled-in constants and host advanced
settings (``Numa.RebalancePeriod``...). Where esxi-scheduler.md says a number
is undocumented the field says [UNDOC]; those are the knobs to sweep when
fitting a real capture.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from vmksim.errors import InputError

__all__ = ["HOST_SETTING_FIELDS", "SchedParams"]


@dataclass(frozen=True, slots=True)
class SchedParams:
    """CPU and NUMA scheduler constants."""

    quantum_us: int = 50_000
    """Time slice: how long a vCPU runs before an equal-priority vCPU gets the PCPU.
    [VMW] Denneman 2011-04-27 (50 ms); [CONFLICT] 10–20 ms in a 3P book (esxi-scheduler.md §1.4)."""

    ht_charge: float = 0.625
    """Fraction of RUN time charged to a vCPU (%USED) while its sibling hyper-thread is busy.
    [VMW] OPS-VM: an HT core delivers 1.25 × one thread (esxi-scheduler.md §1.6, §3.3 item 6)."""

    ht_pcpu_charge: float = 0.5
    """Fraction of busy time charged to a PCPU (PCPU USED) while both threads of its core are busy.
    [DOC] vSphere monitoring, CPU panel (esxi-scheduler.md §1.6)."""

    ht_progress: float = 0.625
    """Rate at which a vCPU gets guest work done while its sibling thread is busy (work is µs
    of a whole core). Set equal to ``ht_charge`` so charged time is work done; [DOC] RM 8: a
    busy core gives each thread "a bit over half" of running alone."""

    frequency_factor: float = 1.0
    """Actual ÷ nominal clock. Only nominal frequency is simulated, but %USED, PCPU USED and
    %LAT_C carry the factor as esxtop does (esxi-scheduler.md §1.12, §3.3 item 7)."""

    costop_skew_us: int = 3_000
    """Co-stop a vCPU whose progress leads its slowest sibling by more than this. [UNDOC]
    (esxi-scheduler.md §1.5 suggests sweeping 1–10 ms)."""

    costart_skew_us: int = 1_000
    """Co-start a co-stopped vCPU once its lead has fallen to this. [UNDOC]"""

    limit_period_us: int = 100_000
    """Accounting period of CPU limits: a VM that has used limit × period in the current
    period is held READY + MLMTD until the next one. [UNDOC]"""

    wake_credit_us: int = 50_000
    """On waking, a vCPU's consumed/entitled priority is clamped to at most this much
    (charged µs at its weight) ahead of the runnable vCPUs, so halted time cannot be
    banked without bound. [UNDOC]; the same rule as CFS's sleeper credit."""

    wake_preempt_us: int = 1_000
    """A waking vCPU preempts a running one only if the runner's consumed/entitled priority is
    behind by more than this much of the waker's charged µs (wake-up preemption, vmksim.sched.core
    ``preempt_for``; esxi-scheduler.md §1.3 priority rule). [UNDOC]; the role of CFS's wake-up
    granularity (1 ms base in Linux), which keeps near-equal worlds from preempting each other."""

    rebalance_period_us: int = 2_000_000
    """``Numa.RebalancePeriod``: how often the NUMA rebalancer runs. [DOC] RM 5.5 (2000 ms)."""

    mig_imbalance_threshold: float = 0.10
    """``Numa.MigImbalanceThreshold``: node-load imbalance (fraction of a node) that triggers a
    NUMA migration. [DOC] RM 5.5 (10 %)."""

    migrations_per_rebalance: int = 1
    """NUMA clients moved per rebalancer run. [UNDOC]"""

    migration_cooldown_us: int = 10_000_000
    """A client is not moved again within this time of its last move (avoids ping-pong). [UNDOC]"""

    page_migration_mb_per_s: float = 64.0
    """Rate at which a moved client's remote pages migrate to its new home node
    (``Numa.PageMigEnable``). [UNDOC]: ESXi throttles it (esxi-scheduler.md §2.6)."""

    rebalance_enable: bool = True
    """``Numa.RebalanceEnable``. [DOC] RM 5.5 (1)."""

    housekeeping_us: int = 500_000
    """How often memory locality (page migration) is brought up to date. Simulator step,
    not an ESXi constant."""

    def core_capacity(self, threads_per_core: int) -> float:
        """CPU a core delivers with every thread busy, in units of one thread running alone.

        1 without HT; ``threads × ht_charge`` with it (2 × 62.5 % = 1.25: [VMW] OPS-VM, an HT core
        is booked as 1.25 × one thread, esxi-scheduler.md §1.6). The one place this factor is derived.
        """
        return 1.0 if threads_per_core <= 1 else threads_per_core * self.ht_charge

    def with_host_settings(self, settings: Mapping[str, str], *, source: str = "<scenario>") -> SchedParams:
        """Apply the host advanced settings this model understands (others are ignored)."""
        changes: dict[str, object] = {}
        for key, value in settings.items():
            field = HOST_SETTING_FIELDS.get(key.lower())
            if field is None:
                continue
            name, convert = field
            try:
                changes[name] = convert(value)
            except ValueError:
                raise InputError(
                    f"{key} must be a number, got {value!r}", source=source, where=f"host.settings.{key}"
                ) from None
        return replace(self, **changes) if changes else self  # type: ignore[arg-type]


def _ms_to_us(value: str) -> int:
    return round(float(value) * 1000)


def _pct_to_fraction(value: str) -> float:
    return float(value) / 100.0


def _flag(value: str) -> bool:
    return value.strip().lower() not in ("0", "false", "no", "off")


#: Host advanced settings (lower-cased) → (SchedParams field, conversion from the setting's units).
HOST_SETTING_FIELDS: dict[str, tuple[str, Callable[[str], object]]] = {
    "numa.rebalanceperiod": ("rebalance_period_us", _ms_to_us),
    "numa.migimbalancethreshold": ("mig_imbalance_threshold", _pct_to_fraction),
    "numa.rebalanceenable": ("rebalance_enable", _flag),
}
