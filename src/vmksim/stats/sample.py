"""Samples: what esxtop shows for one interval, shared by the simulator and the capture reader.

ESXi counterpart: one row of ``esxtop -b`` output — a timestamp and one value
per ``\\\\HOST\\Object(Instance)\\Counter`` column (esxtop.md §1.3). A sample
stream is a host name, one fixed list of :class:`Column` and an iterator of
:class:`Sample` rows whose ``values`` line up with the columns. The
:class:`~vmksim.stats.sampler.Sampler` (over a simulated kernel) and
:class:`~vmksim.esxtop.reader.CaptureReader` (over a real file) both produce
it, so the TUI, the analyzer and the exports work on either.

Simplifications: a stream's columns never change (esxtop keeps one header for
a whole run, esxtop.md §1.3 "Whether esxtop re-emits a header ... open");
missing cells are NaN.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple, Protocol

import numpy as np
import numpy.typing as npt

__all__ = [
    "Column",
    "ColumnIndex",
    "ColumnPattern",
    "Recording",
    "Sample",
    "SampleStream",
    "select_columns",
]

FloatArray = npt.NDArray[np.float64]


class Column(NamedTuple):
    """One esxtop column: ``Group Cpu(12345:web-1)\\% Ready`` is ("Group Cpu", "12345:web-1", "% Ready")."""

    object: str
    instance: str | None
    counter: str

    def path(self, host: str) -> str:
        """The full PDH counter path esxtop writes in the header."""
        middle = self.object if self.instance is None else f"{self.object}({self.instance})"
        return f"\\\\{host}\\{middle}\\{self.counter}"

    @property
    def label(self) -> str:
        """The path without the host, as users write selection patterns."""
        middle = self.object if self.instance is None else f"{self.object}({self.instance})"
        return f"{middle}\\{self.counter}"

    @classmethod
    def parse(cls, path: str) -> tuple[str, Column]:
        """Split ``\\\\HOST\\Object(Instance)\\Counter`` into (host, column).

        esxtop.md §1.3 "safe split": host is between ``\\\\`` and the next ``\\``;
        the counter is after the last ``\\`` (counters may hold parentheses, like
        ``Cpu Load (1 Minute Avg)``); the instance is inside the first ``(`` and the
        last ``)`` of the middle (instances may hold ``:``, ``(``, ``)`` and ``\\``-free text).
        Raises ValueError when *path* is not a counter path.
        """
        if not path.startswith("\\\\"):
            raise ValueError(f"not a counter path: {path[:60]!r}")
        rest = path[2:]
        host, sep, rest = rest.partition("\\")
        middle, sep2, counter = rest.rpartition("\\")
        if not sep or not sep2 or not middle or not counter:
            raise ValueError(f"not a counter path: {path[:60]!r}")
        open_at = middle.find("(")
        if open_at > 0 and middle.endswith(")"):
            return host, cls(middle[:open_at], middle[open_at + 1 : -1], counter)
        return host, cls(middle, None, counter)


class Sample(NamedTuple):
    """One interval: its end time (UTC) and one value per column of the stream (NaN = empty cell)."""

    time: datetime
    values: FloatArray


class SampleStream(Protocol):
    """A host's fixed columns and its samples in time order (a simulation or a capture)."""

    @property
    def host(self) -> str: ...

    @property
    def columns(self) -> tuple[Column, ...]: ...

    def __iter__(self) -> Iterator[Sample]: ...


_PATTERN = re.compile(r"^(?P<object>[^(\\]+?)(?:\((?P<instance>.*)\))?(?:\\(?P<counter>[^\\]*))?$")


@dataclass(frozen=True, slots=True)
class ColumnPattern:
    """A glob over columns: ``Group Cpu(*web*)\\% Ready``, ``Vcpu``, ``*\\% Ready``.

    Each part is an fnmatch glob (case-sensitive); a missing instance or counter
    part matches anything. ``Memory\\Free MBytes`` matches the instance-less column.
    """

    object: str = "*"
    instance: str | None = None
    counter: str = "*"

    @classmethod
    def parse(cls, text: str) -> ColumnPattern:
        m = _PATTERN.match(text.strip())
        if m is None or not m["object"]:
            raise ValueError(
                f"bad column pattern {text!r}: expected OBJECT[(INSTANCE)][\\COUNTER], "
                "e.g. 'Group Cpu(*web*)\\% Ready'"
            )
        return cls(m["object"], m["instance"], m["counter"] or "*")

    def matches(self, column: Column) -> bool:
        if not fnmatch.fnmatchcase(column.object, self.object):
            return False
        if not fnmatch.fnmatchcase(column.counter, self.counter):
            return False
        if self.instance is None:
            return True
        return fnmatch.fnmatchcase(column.instance or "", self.instance)


def select_columns(columns: Sequence[Column], patterns: Iterable[ColumnPattern | str]) -> list[int]:
    """Indices of the columns matching any pattern, in column order (all columns if no pattern)."""
    compiled = [p if isinstance(p, ColumnPattern) else ColumnPattern.parse(p) for p in patterns]
    if not compiled:
        return list(range(len(columns)))
    return [i for i, c in enumerate(columns) if any(p.matches(c) for p in compiled)]


@dataclass(slots=True)
class ColumnIndex:
    """Find a column's position fast: by (object, instance, counter), or all instances of an object."""

    columns: tuple[Column, ...]
    _pos: dict[Column, int] = field(init=False, repr=False)
    _instances: dict[str, list[str | None]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._pos = {c: i for i, c in enumerate(self.columns)}
        seen: dict[str, dict[str | None, None]] = {}
        for c in self.columns:
            seen.setdefault(c.object, {})[c.instance] = None
        self._instances = {obj: list(inst) for obj, inst in seen.items()}

    def get(self, obj: str, instance: str | None, counter: str) -> int | None:
        return self._pos.get(Column(obj, instance, counter))

    def instances(self, obj: str) -> list[str | None]:
        """Instances of *obj* in column order."""
        return self._instances.get(obj, [])

    def value(self, values: FloatArray, obj: str, instance: str | None, counter: str) -> float:
        """The cell's value, NaN when the column is absent."""
        i = self._pos.get(Column(obj, instance, counter))
        return float("nan") if i is None else float(values[i])


@dataclass(slots=True)
class Recording:
    """A stream held in memory: random access for replay (step back/forward) and tests."""

    host: str
    columns: tuple[Column, ...]
    samples: list[Sample] = field(default_factory=list)

    def __iter__(self) -> Iterator[Sample]:
        return iter(self.samples)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> Sample:
        return self.samples[i]

    def append(self, sample: Sample) -> None:
        if len(sample.values) != len(self.columns):
            raise ValueError(f"sample has {len(sample.values)} values for {len(self.columns)} columns")
        self.samples.append(sample)

    @classmethod
    def of(cls, stream: SampleStream) -> Recording:
        """Read a whole stream (simulation or capture) into memory."""
        return cls(stream.host, tuple(stream.columns), list(stream))
