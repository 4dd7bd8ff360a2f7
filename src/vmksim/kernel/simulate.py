"""``simulate(scenario)``: the Python API over the kernel that the CLI, demo and what-if call.

It boots the host (:func:`~vmksim.kernel.worlds.boot`: the kernel with its non-VM worlds), advances it one esxtop
interval at a time (``[run] interval_s`` up to ``duration_s``), keeps the
counter snapshot taken at every interval boundary, and returns per-VM summary
rows for the whole run (vmksim.stats.summary).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vmksim.console import progress_bar
from vmksim.counters import CounterSnapshot
from vmksim.kernel.worlds import EsxHost, boot
from vmksim.scenario import Scenario, load_scenario
from vmksim.sched.params import SchedParams
from vmksim.stats.summary import VcpuSummary, VmSummary, vcpu_summaries, vm_summaries

__all__ = ["SimulationResult", "simulate"]

#: Called after every interval with (kernel, interval index, number of intervals).
Observer = Callable[[EsxHost, int, int], None]


@dataclass(frozen=True, slots=True)
class SimulationResult:
    scenario: Scenario
    kernel: EsxHost
    snapshots: tuple[CounterSnapshot, ...]  # at t = 0 and every interval boundary

    @property
    def summaries(self) -> list[VmSummary]:
        """Per-VM rows over the whole run."""
        return vm_summaries(self.kernel.worlds, self.kernel.groups, self.snapshots[0], self.snapshots[-1])

    @property
    def vcpu_summaries(self) -> list[VcpuSummary]:
        return vcpu_summaries(self.kernel.worlds, self.kernel.groups, self.snapshots[0], self.snapshots[-1])

    def summary(self, name: str) -> VmSummary:
        for row in self.summaries:
            if row.name == name:
                return row
        raise KeyError(name)


def simulate(
    scenario: Scenario | str | Path,
    *,
    params: SchedParams | None = None,
    jit: bool | None = None,
    progress: bool = False,
    observer: Observer | None = None,
    keep_snapshots: bool = True,
) -> SimulationResult:
    """Run *scenario* (a Scenario or a TOML path) for its [run] duration.

    ``progress`` shows a rich progress bar on stderr; ``observer`` is called
    after every interval (the esxtop sampler hooks in there); ``jit`` forces the
    compiled (True) or interpreted (False) scheduler core.
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    kernel = boot(scenario, params=params, jit=jit)
    run = scenario.run
    count = run.iterations
    snaps = [kernel.snapshot()]
    bar = progress_bar(count) if progress else None
    try:
        for i in range(count):
            kernel.run_until(min(run.duration_us, (i + 1) * run.interval_us))
            if keep_snapshots or i == count - 1:
                snaps.append(kernel.snapshot())
            if observer is not None:
                observer(kernel, i, count)
            if bar is not None:
                bar[0].update(bar[1], advance=1)
    finally:
        if bar is not None:
            bar[0].stop()
    if not keep_snapshots:
        snaps = [snaps[0], snaps[-1]]
    return SimulationResult(scenario, kernel, tuple(snaps))
