"""The one replayable data model behind ``vmksim top``'s screens.

A :class:`Feed` is a sample stream with a cursor: samples are pulled on
demand from a source iterator (a capture being read, or a simulation being
run) and kept, so the screens can step back and forward through what was
seen. Live data and a recording drive the same screens (STYLE.md, dolphie).

ESXi counterpart: esxtop's interactive and replay modes (esxtop.md §1.1, §4),
which both show one refresh interval at a time.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import timedelta

from vmksim.stats.sample import Column, Sample

__all__ = ["Feed"]


class Feed:
    """Samples seen so far, the one on screen (``position``) and the rest still to come."""

    def __init__(
        self, host: str, columns: Sequence[Column], source: Iterator[Sample], *, title: str = ""
    ) -> None:
        self.host = host
        self.columns = tuple(columns)
        self.title = title
        self._source: Iterator[Sample] | None = source
        self._seen: list[Sample] = []
        self.position = -1
        self.forward()
        self._pull()  # read one ahead, so the interval is known from the start

    @property
    def current(self) -> Sample | None:
        return self._seen[self.position] if self.position >= 0 else None

    @property
    def first(self) -> Sample | None:
        return self._seen[0] if self._seen else None

    @property
    def interval(self) -> timedelta | None:
        """Time between the first two samples (None until there are two)."""
        return self._seen[1].time - self._seen[0].time if len(self._seen) > 1 else None

    @property
    def seen(self) -> int:
        return len(self._seen)

    @property
    def exhausted(self) -> bool:
        """No sample after the current one will ever come."""
        return self._source is None and self.position >= len(self._seen) - 1

    def forward(self) -> bool:
        """Show the next sample (pulling it from the source if needed); False at the end."""
        if self.position + 1 < len(self._seen):
            self.position += 1
            return True
        if not self._pull():
            return False
        self.position += 1
        return True

    def _pull(self) -> bool:
        if self._source is None:
            return False
        nxt = next(self._source, None)
        if nxt is None:
            self._source = None
            return False
        self._seen.append(nxt)
        return True

    def label(self) -> str:
        """What the sample on screen is: which esxtop interval, and how many have been read.

        Each sample is one refresh interval ending at its time stamp (esxtop.md §2: rates over the
        interval); the feed reads one sample ahead, so "read" can be one more than the one shown.
        """
        cur = self.current
        if cur is None:
            return "no samples"
        span = f"{self.interval.total_seconds():g} s interval" if self.interval is not None else "interval"
        if self.exhausted:
            total = f"the last of {self.seen}"
        else:
            total = f"{self.seen} in all" if self._source is None else f"{self.seen} read so far"
        return f"sample {self.position + 1}: the {span} ending {cur.time:%H:%M:%S} ({total})"

    def back(self) -> bool:
        """Show the previous sample; False at the first."""
        if self.position <= 0:
            return False
        self.position -= 1
        return True
