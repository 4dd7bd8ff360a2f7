"""The esxtop sampler as an observer of the simulation driver (vmksim.kernel.simulate).

After every step of a run, :class:`SampleObserver` takes one esxtop sample of
the source (vmksim.stats.sampler: rates over the step, esxtop.md §2 "General")
and hands it to its sinks in order: a :class:`~vmksim.stats.sample.Recording`
(``Recording.append``), the batch CSV writer (``BatchWriter.write``), or any
callable taking a :class:`~vmksim.stats.sample.Sample`. The same sample stream
therefore feeds the CSV, the summaries, the analyzer and the TUI
(DESIGN.md "Layers": one stream from the sampler up).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from vmksim.kernel.simulate import BaseObserver, Steppable
from vmksim.stats.sample import Sample
from vmksim.stats.sampler import Sampler

__all__ = ["SampleObserver"]


class SampleObserver(BaseObserver):
    """One esxtop sample per step, passed to each sink; the newest is kept as ``last``."""

    def __init__(self, sampler: Sampler, sinks: Sequence[Callable[[Sample], object]] = ()) -> None:
        self.sampler = sampler
        self.sinks = list(sinks)
        self.last: Sample | None = None

    def stepped(self, source: Steppable, index: int) -> None:
        sample = self.sampler.sample()
        self.last = sample
        for sink in self.sinks:
            sink(sample)
