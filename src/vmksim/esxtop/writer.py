"""The batch CSV writer: sample streams written byte-compatible with ``esxtop -b``.

ESXi counterpart: esxtop's batch mode (``esxtop -b [-a] -d D -n N > file.csv``),
which writes Microsoft's PDH-CSV dialect (esxtop.md §1.3): first cell
``(PDH-CSV 4.0) (UTC)(0)``, then one ``\\\\HOST\\Object(Instance)\\Counter``
path per column; data rows start with the UTC time ``MM/DD/YYYY HH:MM:SS``;
every cell is double-quoted, a ``"`` inside a cell (a VM name) doubled as in
RFC 4180 (https://www.rfc-editor.org/rfc/rfc4180 §2.7; esxtop.md §1.3 saw no quote
inside a cell in real captures, so this is the CSV rule every reader follows, not
an observation); percentages, rates and latencies have two
decimals, sizes, counts and yes/no fields are integers (the format of each
counter comes from :mod:`vmksim.metrics`); LF line ends; every line ends with
a comma, as in the default-fields captures.

Simplifications: the unquoted junk field of ``PCPU Power State`` seen in one
``-a`` capture is not reproduced (its meaning is unknown, esxtop.md §1.3);
counters outside the catalogue are written with two decimals.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TextIO

import numpy as np

from vmksim.metrics import Fmt, lookup
from vmksim.stats.sample import Column, Sample, SampleStream

__all__ = ["PDH_HEADER", "TIME_FORMAT", "BatchWriter", "write_batch"]

#: First header cell: PDH-CSV version, time-zone name and bias; esxtop always says UTC (esxtop.md §1.3).
PDH_HEADER = "(PDH-CSV 4.0) (UTC)(0)"
#: Timestamp of a data row: zero-padded, seconds, no milliseconds (esxtop.md §1.3).
TIME_FORMAT = "%m/%d/%Y %H:%M:%S"
#: Values this close to zero print as 0.00, never "-0.00".
_ZERO = 0.005


def _quote_row(cells: Iterable[str]) -> str:
    return '"' + '","'.join(cells) + '",\n'


def _quote_cell(text: str) -> str:
    """A header cell's text with each ``"`` doubled, as PDH-CSV (RFC 4180) quotes it (esxtop.md §1.3).

    Only header cells can hold a quote (a VM's display name in an instance); data
    cells are numbers and timestamps and are written as they are.
    """
    return text.replace('"', '""')


class BatchWriter:
    """Writes one header then one row per sample to a text file opened with ``newline=""``."""

    def __init__(self, fh: TextIO, host: str, columns: Sequence[Column]) -> None:
        self._fh = fh
        self._host = host
        self._columns = tuple(columns)
        fmts = []
        for c in self._columns:
            m = lookup(c.object, c.counter)
            fmts.append(m.fmt if m is not None else Fmt.TWO_DECIMALS)
        self._int = np.array([f is Fmt.INTEGER for f in fmts], dtype=bool)
        self._formats = [f.value for f in fmts]
        self.rows = 0

    def write_header(self) -> None:
        paths = (_quote_cell(c.path(self._host)) for c in self._columns)
        self._fh.write(_quote_row([PDH_HEADER, *paths]))

    def write(self, sample: Sample) -> None:
        values = np.asarray(sample.values, dtype=np.float64)
        if len(values) != len(self._columns):
            raise ValueError(f"sample has {len(values)} values for {len(self._columns)} columns")
        vals = np.where(self._int, np.rint(values), values)
        vals[np.abs(vals) < _ZERO] = 0.0
        missing = np.isnan(vals)
        if missing.any():
            cells = [
                "" if miss else f % v
                for f, v, miss in zip(self._formats, vals.tolist(), missing, strict=True)
            ]
        else:
            cells = [f % v for f, v in zip(self._formats, vals.tolist(), strict=True)]
        self._fh.write(_quote_row([sample.time.strftime(TIME_FORMAT), *cells]))
        self.rows += 1


def write_batch(stream: SampleStream, fh: TextIO) -> int:
    """Write a whole stream as an esxtop batch CSV; returns the number of data rows."""
    writer = BatchWriter(fh, stream.host, stream.columns)
    writer.write_header()
    for sample in stream:
        writer.write(sample)
    return writer.rows
