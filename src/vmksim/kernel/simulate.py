"""The one simulation driver: advance a counter source step by step and tell the observers.

Every simulation in vmksim runs through :func:`drive_iter` (or :func:`drive`,
which consumes it): ``vmksim run`` with or without a batch CSV, ``vmksim top``
live and batch, :func:`simulate`, the simulated captures of
:mod:`vmksim.analyze.synth` and so the what-if. What each caller needs is an
*observer* (:class:`SimObserver`): the esxtop sampler and the CSV writer fed by
it (vmksim.stats.observer), a progress bar (vmksim.console, passed in by the
CLI, so this layer imports no presentation code), the snapshots kept here, or
a TUI feed that pulls one step at a time from :func:`drive_iter`.

The driver only needs a :class:`Steppable` source — a counter source that can
``advance`` — so a bare :class:`~vmksim.kernel.vmkernel.Kernel` and the booted host
(:class:`~vmksim.kernel.worlds.EsxHost`) plug in alike. Kernels are built in one place,
:func:`build_kernel`, so a different construction is one function to change.

The time steps of a scenario are esxtop's ``-d``/``-n``: ``[run] interval_s``
until ``duration_s``, the last step shorter when the duration is not a whole
number of intervals (:func:`step_lengths`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from vmksim.counters import CounterSnapshot, CounterSource
from vmksim.kernel.totals import GroupTotals, VcpuTotals, group_totals, vcpu_totals
from vmksim.kernel.worlds import EsxHost, boot
from vmksim.scenario import RunSpec, Scenario, load_scenario
from vmksim.sched.params import SchedParams

__all__ = [
    "BaseObserver",
    "SimObserver",
    "SimulationResult",
    "SnapshotObserver",
    "Steppable",
    "build_kernel",
    "drive",
    "drive_iter",
    "simulate",
    "step_lengths",
]


class Steppable(CounterSource, Protocol):
    """A counter source whose time can be moved forward (a kernel, or a host wrapping one)."""

    def advance(self, delta_us: int) -> None: ...


class SimObserver(Protocol):
    """What the driver tells at each point of a run (structural: any object with these four hooks).

    ``started`` before the first step (``total`` = number of steps, None when open-ended),
    ``stepped`` after each step, ``finished`` after the last step of a run that completed, and
    ``closed`` always, last, also when the run failed or was interrupted (release what you hold).
    Subclass :class:`BaseObserver` to override only some of them.
    """

    def started(self, source: Steppable, total: int | None) -> None: ...

    def stepped(self, source: Steppable, index: int) -> None: ...

    def finished(self, source: Steppable) -> None: ...

    def closed(self) -> None: ...


class BaseObserver:
    """A :class:`SimObserver` whose hooks do nothing."""

    def started(self, source: Steppable, total: int | None) -> None:
        """Before the first step."""

    def stepped(self, source: Steppable, index: int) -> None:
        """After step *index* (0-based)."""

    def finished(self, source: Steppable) -> None:
        """After the last step, when every step ran."""

    def closed(self) -> None:
        """At the very end, whatever happened."""


def step_lengths(run: RunSpec) -> list[int]:
    """The scenario's steps in µs: the interval, up to the duration (the last one may be shorter)."""
    ends = [min(run.duration_us, (i + 1) * run.interval_us) for i in range(run.iterations)]
    return [end - start for start, end in zip([0, *ends], ends, strict=False)]


def drive_iter(
    source: Steppable,
    steps: Iterable[int],
    observers: Sequence[SimObserver] = (),
    *,
    total: int | None = None,
) -> Iterator[int]:
    """Advance *source* by each step (µs), telling *observers*; yields each step's index when done.

    A consumer that stops early (a TUI quitting) closes the generator: the observers are closed.
    """
    if total is None and isinstance(steps, Sequence):
        total = len(steps)
    for observer in observers:
        observer.started(source, total)
    try:
        for index, step_us in enumerate(steps):
            source.advance(step_us)
            for observer in observers:
                observer.stepped(source, index)
            yield index
        for observer in observers:
            observer.finished(source)
    finally:
        for observer in observers:
            observer.closed()


def drive(
    source: Steppable,
    steps: Iterable[int],
    observers: Sequence[SimObserver] = (),
    *,
    total: int | None = None,
) -> int:
    """Run every step (see :func:`drive_iter`); returns the number of steps run."""
    count = 0
    for _ in drive_iter(source, steps, observers, total=total):
        count += 1
    return count


def build_kernel(
    scenario: Scenario, *, params: SchedParams | None = None, jit: bool | None = None
) -> EsxHost:
    """The simulated host of *scenario*: the one place kernels are constructed for a run.

    It boots the whole host (:func:`~vmksim.kernel.worlds.boot`): the VMkernel with the VMs' helper
    worlds and the non-VM groups, and power management.
    """
    return boot(scenario, params=params, jit=jit)


class SnapshotObserver(BaseObserver):
    """Keeps the counter snapshot at t = 0 and after every step (or only the last: ``every=False``)."""

    def __init__(self, *, every: bool = True) -> None:
        self.every = every
        self.snapshots: list[CounterSnapshot] = []

    def started(self, source: Steppable, total: int | None) -> None:
        self.snapshots = [source.snapshot()]

    def stepped(self, source: Steppable, index: int) -> None:
        if self.every:
            self.snapshots.append(source.snapshot())

    def finished(self, source: Steppable) -> None:
        if not self.every:
            self.snapshots.append(source.snapshot())


@dataclass(frozen=True, slots=True)
class SimulationResult:
    scenario: Scenario
    kernel: EsxHost
    snapshots: tuple[CounterSnapshot, ...]  # at t = 0 and every interval boundary (or the last only)

    @property
    def summaries(self) -> list[GroupTotals]:
        """Per-VM totals over the whole run, from the counters (vmksim.kernel.totals)."""
        return group_totals(self.kernel.worlds, self.kernel.groups, self.snapshots[0], self.snapshots[-1])

    @property
    def vcpu_summaries(self) -> list[VcpuTotals]:
        return vcpu_totals(self.kernel.worlds, self.kernel.groups, self.snapshots[0], self.snapshots[-1])

    def summary(self, name: str) -> GroupTotals:
        for row in self.summaries:
            if row.name == name:
                return row
        raise KeyError(name)


def simulate(
    scenario: Scenario | str | Path,
    *,
    params: SchedParams | None = None,
    jit: bool | None = None,
    observers: Sequence[SimObserver] = (),
    keep_snapshots: bool = True,
) -> SimulationResult:
    """Run *scenario* (a Scenario or a TOML path) for its [run] duration through :func:`drive`.

    *observers* see every step (a progress bar, an esxtop sampler); ``jit`` forces the compiled
    (True) or interpreted (False) scheduler core; ``keep_snapshots=False`` keeps the first and
    last snapshot only.
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    kernel = build_kernel(scenario, params=params, jit=jit)
    snaps = SnapshotObserver(every=keep_snapshots)
    drive(kernel, step_lengths(scenario.run), [snaps, *observers])
    return SimulationResult(scenario, kernel, tuple(snaps.snapshots))
