"""A streaming reader of real esxtop batch captures (``esxtop -b`` CSV files).

ESXi counterpart: the PDH-CSV files esxtop writes in batch mode (esxtop.md
§1.3). The reader yields the same :class:`~vmksim.stats.sample.Sample` stream
as the simulator's sampler, so everything that works on a simulation works on
a capture (DESIGN.md "data flows one way").

It never holds the file: the header is parsed once into
:class:`~vmksim.stats.sample.Column` objects (esxtop.md §1.3 "safe split"),
the columns wanted are chosen by glob patterns, and the data lines are read a
batch or a block at a time. This module is the quirk layer: it frames each line
(line ends, junk fields, trailing commas, cell count, timestamp) and hands the
numbers to pyarrow's CSV engine (:mod:`vmksim.esxtop.rows`), so memory stays
flat whatever the file size. A few selected columns (at most
:data:`ROW_MODE_MAX_COLUMNS`) are read row by row with the engine converting
only them; more are read by batches of :data:`BATCH_BYTES`, every cell parsed.
Damage the engine refuses sends the rest of the file through a careful path
(csv module, ``float()``) that names the line and column.

Quirks handled (esxtop.md §1.3, §7 checklist), each with a synthetic fixture
under tests/fixtures/esxtop/:
- the trailing comma / empty last column of default-field captures;
- the unquoted junk field of ``PCPU Power State`` (``   -"\\\\h\\..."`` in the
  header, ``    73.1"8.93"`` in rows, a bare ``    73.9`` at the end): the
  junk is dropped, the quoted part kept;
- a terminal warning glued before the header (``no termcap entry ...``) or
  junk lines before it;
- colons, spaces and parentheses in instance names; counter names holding
  parentheses; different counter sets per instance (columns are not
  rectangular);
- spreadsheet-damaged files (no quotes, CR or CRLF line ends, ``M/D/YYYY
  H:MM`` or time-only stamps): read, with a warning;
- a last line cut short (capture copied while esxtop ran): dropped with a
  warning, or a CaptureError with ``strict=True``.

Anything else malformed (not PDH-CSV, binary, a short row in the middle,
a non-numeric cell, line ends that change inside the file) raises one
:class:`~vmksim.errors.CaptureError` naming the file and line.
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import os
import re
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import numpy as np
import pyarrow as pa

from vmksim.errors import CaptureError
from vmksim.esxtop.rows import engine_columns, engine_values, reference_values
from vmksim.stats.sample import Column, ColumnPattern, Recording, Sample, select_columns

__all__ = [
    "BATCH_BYTES",
    "MAX_PREAMBLE_LINES",
    "ROW_MODE_MAX_COLUMNS",
    "CaptureReader",
    "CaptureWarning",
    "read_capture",
]

#: Lines of junk tolerated before the PDH-CSV header (Zenoss tolerates one, esxtop.md §1.3).
MAX_PREAMBLE_LINES = 5
#: Bytes read at a time; lines longer than :data:`MAX_LINE_BYTES` mean the file is not a capture.
CHUNK_BYTES = 1 << 22
MAX_LINE_BYTES = 1 << 28
#: Bytes of data lines parsed at once: small enough that memory stays flat (a few times
#: this), large enough that the engine's per-call cost is amortised (BENCHMARKS.md).
BATCH_BYTES = 1 << 21
#: Selections of at most this many columns are read row by row, the engine converting only
#: them (rows.engine_columns); wider ones parse every cell as one column (rows.engine_values).
#: Measured on the bench capture (846 rows × 50,080 columns, CPU seconds, BENCHMARKS.md):
#: 1,277 columns 1.39 by rows vs 1.71 by batches, 6,655 columns 4.9 vs 1.7; the linear
#: crossover is near 1,750.
ROW_MODE_MAX_COLUMNS = 1750
#: Engine block for the row-by-row path: at least this, and BLOCK_ROWS times the first data
#: line. Bigger blocks mean fewer per-block conversions of every selected column, and more
#: memory (BENCHMARKS.md); a row longer than a block is still read whole (tested).
MIN_BLOCK_BYTES = 1 << 20
BLOCK_ROWS = 8
_PDH = b"(PDH-CSV"
# A junk field glued before a quoted cell: ',   -"' or ',    73.1"' (esxtop.md §1.3 quirk).
_GLUED_JUNK = re.compile(rb'(?<="),[^",]+"')
# esxtop's own timestamp, then what spreadsheets leave of it (esxtop.md §7 item 4).
_SPREADSHEET_TIME_FORMATS = ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%H:%M:%S", "%H:%M")
# A cell holding one of these cannot be a number, and would break the engine's framing.
_NOT_IN_A_NUMBER = re.compile(rb'[,"\r\n]')
_MIXED_LINE_ENDS = "a line break of another kind inside a line (mixed CR/LF line ends): the file is damaged"


# A header cell the csv module read from a junk field glued to a quoted path: '   -"\\h\...\C"'.
_HEADER_JUNK_CELL = re.compile(r'^[^"\\]*"(\\\\.*)"$', re.DOTALL)


def _unglue_header_junk(cells: list[str]) -> bool:
    """Drop the unquoted junk glued before header paths (esxtop.md §1.3 quirk); True if any was.

    Done on the csv module's cells, not on the raw line: a VM name may hold ``"``
    (doubled inside its quoted cell, RFC 4180), which a pattern over the raw bytes
    would take for a cell boundary.
    """
    found = False
    for i, cell in enumerate(cells):
        if not cell.startswith("\\\\"):
            m = _HEADER_JUNK_CELL.match(cell)
            if m is not None:
                cells[i] = m.group(1).replace('""', '"')
                found = True
    return found


class _Batch:
    """Framed data lines waiting for the engine: line numbers, timestamps and number bodies."""

    __slots__ = ("bodies", "numbers", "size", "stamps")

    def __init__(self) -> None:
        self.numbers: list[int] = []
        self.stamps: list[bytes] = []
        self.bodies: list[bytes] = []
        self.size = 0

    def add(self, number: int, stamp: bytes, body: bytes) -> None:
        self.numbers.append(number)
        self.stamps.append(stamp)
        self.bodies.append(body)
        self.size += len(body)


class _RowStream(io.RawIOBase):
    """Data lines, repaired, as the byte stream the engine reads; keeps the lines not yet parsed.

    A line without its line end (the last, maybe cut short) is held back in ``given``
    for the careful path; a CaptureError from the lines (mixed line ends) ends the
    stream and waits in ``error`` until the lines before it are parsed.
    """

    def __init__(self, lines: Iterator[tuple[int, bytes, bool]], repair: Callable[[bytes], bytes]) -> None:
        super().__init__()
        self._lines = lines
        self._repair = repair
        self.given: deque[tuple[int, bytes, bool]] = deque()
        self.error: CaptureError | None = None
        self._buf = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        """Fill *b* whole (the engine takes each read as one block) unless the lines end."""
        done = 0
        while done < len(b) and (self._buf or self._next_line()):
            n = min(len(b) - done, len(self._buf))
            b[done : done + n] = self._buf[:n]
            self._buf = self._buf[n:]
            done += n
        return done

    def _next_line(self) -> bool:
        if self.error is not None or (self.given and not self.given[-1][2]):
            return False
        try:
            item = next(self._lines, None)
        except CaptureError as exc:
            self.error, item = exc, None
        if item is None:
            return False
        self.given.append(item)
        if item[2]:
            self._buf = memoryview(self._repair(item[1]) + b"\n")
        return True


class CaptureWarning(UserWarning):
    """A capture was readable but damaged (spreadsheet re-save, truncated end, junk)."""


@dataclass(frozen=True, slots=True)
class _Layout:
    sep: bytes  # line separator: b"\n" (LF or CRLF) or b"\r" (old spreadsheets)
    quoted: bool  # cells quoted as esxtop writes them (False: re-saved by a spreadsheet)
    junk: bool  # the PCPU Power State junk field is present
    data_offset: int  # byte offset of the first data line
    first_data_line: int  # its 1-based line number
    cells: int  # cells per data row, timestamp included


def _lines(fh: IO[bytes], sep: bytes, source: str) -> Iterator[tuple[bytes, bool]]:
    """Lines without their separator, and whether the separator was there (False: last, cut line)."""
    pending: list[bytes] = []
    size = 0
    while True:
        chunk = fh.read(CHUNK_BYTES)
        if not chunk:
            break
        if sep not in chunk:
            pending.append(chunk)
            size += len(chunk)
            if size > MAX_LINE_BYTES:
                raise CaptureError(
                    f"a line longer than {MAX_LINE_BYTES} bytes: not an esxtop capture", source=source
                )
            continue
        parts = (b"".join((*pending, chunk)) if pending else chunk).split(sep)
        pending = [parts.pop()]
        size = len(pending[0])
        yield from ((p, True) for p in parts)
    tail = b"".join(pending)
    if tail:
        yield tail, False


def _strip_line(line: bytes, layout_sep: bytes) -> bytes:
    if layout_sep == b"\n" and line.endswith(b"\r"):
        return line[:-1]
    return line


class CaptureReader:
    """An esxtop batch CSV as a sample stream: ``host``, ``columns`` (the selected ones), iteration.

    ``select`` holds :class:`ColumnPattern` globs (``"Group Cpu(*)\\% Ready"``);
    empty selects every column. Iterating reads the file again from the first
    data line, so a reader can be iterated many times. Damage is reported in
    ``warnings`` (and as :class:`CaptureWarning`).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        select: Iterable[ColumnPattern | str] = (),
        *,
        strict: bool = False,
    ) -> None:
        self.path = Path(path)
        self.source = str(path)
        self.strict = strict
        self.warnings: list[str] = []
        try:
            with open(self.path, "rb") as fh:
                self._layout, self._host, self._all = self._read_header(fh)
        except OSError as exc:
            raise CaptureError(f"cannot read: {exc.strerror or exc}", source=self.source) from None
        try:
            self._selected = np.array(select_columns(self._all, select), dtype=np.int64)
        except ValueError as exc:
            raise CaptureError(str(exc), source=self.source) from None
        self._columns = tuple(self._all[i] for i in self._selected)
        self._select_all = len(self._selected) == len(self._all)

    # --- stream protocol ------------------------------------------------------
    @property
    def host(self) -> str:
        return self._host

    @property
    def columns(self) -> tuple[Column, ...]:
        """The selected columns, in file order."""
        return self._columns

    @property
    def all_columns(self) -> tuple[Column, ...]:
        return self._all

    def __iter__(self) -> Iterator[Sample]:
        with open(self.path, "rb") as fh:
            fh.seek(self._layout.data_offset)
            lines = self._data_lines(fh)
            if 0 < len(self._selected) <= ROW_MODE_MAX_COLUMNS:
                yield from self._by_rows(lines)
            else:
                yield from self._by_batches(lines)

    def _by_batches(self, lines: Iterable[tuple[int, bytes, bool]]) -> Iterator[Sample]:
        """Every cell parsed, a batch of lines at a time (rows.engine_values), then the selected kept."""
        batch = _Batch()
        short: tuple[int, int] | None = None  # (line, cells) of a short row
        for number, line, complete in lines:
            if short is not None:
                # A short row followed by more rows: corruption in the middle, not a cut end.
                raise CaptureError(self._short_message(*short), source=self.source, where=f"line {short[0]}")
            framed = self._frame(line, number) if complete else self._frame_last(line, number)
            if isinstance(framed, int):
                short = (number, framed)
                continue
            batch.add(number, *framed)
            if batch.size >= BATCH_BYTES:
                yield from self._samples(batch)
                batch = _Batch()
        yield from self._samples(batch)
        if short is not None:
            # The last row is short: esxtop was still writing it when the file was copied.
            self._truncated(*short)

    def _by_rows(self, lines: Iterator[tuple[int, bytes, bool]]) -> Iterator[Sample]:
        """Only the selected cells converted (rows.engine_columns); the careful path takes over on damage."""
        first = next(lines, None)
        if first is None:
            return
        stream = _RowStream(itertools.chain([first], lines), self._repair_row)
        block = max(MIN_BLOCK_BYTES, BLOCK_ROWS * len(first[1]))
        width = self._layout.cells - 1
        try:
            with contextlib.closing(engine_columns(stream, width, self._selected.tolist(), block)) as blocks:
                for values in blocks:
                    for row in values:
                        number, line, _ = stream.given.popleft()
                        yield Sample(self._time(self._stamp(line), number), row)
        except pa.ArrowInvalid:
            # A short row, a bad number, an empty stream: the careful path reads the rest.
            yield from self._by_batches(itertools.chain(list(stream.given), lines))
        else:
            yield from self._by_batches(stream.given)  # the last line if it had no line end
        if stream.error is not None:
            raise stream.error

    def _repair_row(self, line: bytes) -> bytes:
        return self._repair(line, self._layout.junk) if self._layout.quoted else line

    def _stamp(self, line: bytes) -> bytes:
        return line[1 : line.find(b'","')] if self._layout.quoted else line.partition(b",")[0]

    def _data_lines(self, fh: IO[bytes]) -> Iterator[tuple[int, bytes, bool]]:
        """Non-blank data lines: (line number, text without its line end, whether it had one)."""
        sep = self._layout.sep
        other = b"\r" if sep == b"\n" else b"\n"
        for number, (raw, complete) in enumerate(_lines(fh, sep, self.source), self._layout.first_data_line):
            line = _strip_line(raw, sep)
            if other in line:
                raise CaptureError(_MIXED_LINE_ENDS, source=self.source, where=f"line {number}")
            if line and not line.isspace():  # isspace stops at the first other byte: no copy
                yield number, line, complete

    def _samples(self, batch: _Batch) -> Iterator[Sample]:
        """Parse a batch's numbers with the engine (the reference names a bad cell) and yield its rows."""
        width = self._layout.cells - 1
        values = engine_values(batch.bodies, width)
        if values is not None and not self._select_all:
            values = values[:, self._selected]
        if values is None:
            labels = [c.label for c in self._all]
            columns = None if self._select_all else self._selected.tolist()
            values = reference_values(
                batch.bodies, width, columns=columns, lines=batch.numbers, source=self.source, labels=labels
            )
        for number, stamp, row in zip(batch.numbers, batch.stamps, values, strict=True):
            yield Sample(self._time(stamp, number), row)

    # --- exports ----------------------------------------------------------------
    def to_recording(self) -> Recording:
        return Recording.of(self)

    def to_pandas(self, *, long: bool = True) -> Any:
        from vmksim.stats.export import to_pandas

        return to_pandas(self, long=long)

    def to_polars(self, *, long: bool = True) -> Any:
        from vmksim.stats.export import to_polars

        return to_polars(self, long=long)

    def to_parquet(self, path: str | os.PathLike[str]) -> int:
        from vmksim.stats.export import write_parquet

        return write_parquet(self, path)

    # --- header -------------------------------------------------------------------
    def _read_header(self, fh: IO[bytes]) -> tuple[_Layout, str, tuple[Column, ...]]:
        head = fh.read(1 << 16)
        if not head:
            raise CaptureError("empty file: not an esxtop batch CSV", source=self.source)
        if b"\x00" in head:
            raise CaptureError("binary data: not an esxtop batch CSV", source=self.source)
        sep = self._line_separator(fh, head)
        fh.seek(0)
        offset = 0
        for number, (raw, complete) in enumerate(_lines(fh, sep, self.source), start=1):
            offset += len(raw) + (len(sep) if complete else 0)
            at = raw.find(_PDH)
            if at < 0:
                if number >= MAX_PREAMBLE_LINES:
                    break
                continue
            if not complete:
                raise CaptureError(
                    "the file ends inside the header line: truncated capture", source=self.source
                )
            self._crlf_seen = sep == b"\n" and raw.endswith(b"\r")
            line = _strip_line(raw, sep)
            quoted = at > 0 and line[at - 1 : at] == b'"'
            start = at - 1 if quoted else at
            if start > 0 or number > 1:
                junk = b" ".join(x.strip() for x in (*([b"..."] if number > 1 else []), line[:start])).decode(
                    "utf-8", "replace"
                )
                self._warn(f"ignored text before the header ({junk.strip()[:60]!r})")
            layout, host, columns = self._parse_header(line[start:], sep, quoted, number)
            return (
                _Layout(sep, quoted, layout[0], offset, number + 1, len(columns) + 1),
                host,
                columns,
            )
        raise CaptureError("not an esxtop batch CSV: no '(PDH-CSV 4.0)' header line", source=self.source)

    def _line_separator(self, fh: IO[bytes], head: bytes) -> bytes:
        """The line end of the file, from its first line: LF (or CRLF, read as LF) or a bare CR.

        esxtop writes LF; spreadsheets leave CRLF or CR (esxtop.md §1.3, §7 item 4). The
        first line end decides, so a stray byte of the other kind later on (damage) is
        reported where it is instead of re-cutting the whole file.
        """
        data = head
        while True:
            cr, lf = data.find(b"\r"), data.find(b"\n")
            if lf >= 0 and (cr < 0 or lf < cr):
                return b"\n"
            if 0 <= cr < len(data) - 1:
                return b"\n" if data[cr + 1 : cr + 2] == b"\n" else b"\r"
            more = fh.read(CHUNK_BYTES)
            if not more:
                return b"\r" if cr >= 0 else b"\n"
            if b"\x00" in more:
                raise CaptureError("binary data: not an esxtop batch CSV", source=self.source)
            data = data[-1:] + more

    def _parse_header(
        self, line: bytes, sep: bytes, quoted: bool, number: int
    ) -> tuple[tuple[bool], str, tuple[Column, ...]]:
        if quoted:
            line = self._repair(line, junk=False)  # cut the trailing comma / final junk field only
        if not quoted or sep == b"\r" or self._crlf_seen:
            self._warn(
                "this file was re-saved by a spreadsheet (quotes, line ends or timestamps changed): "
                "values are read as they are; times may have lost their seconds"
            )
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            text = line.decode("latin-1")
            self._warn("header is not UTF-8; instance names decoded as Latin-1")
        if "\r" in text or "\n" in text:
            raise CaptureError(_MIXED_LINE_ENDS, source=self.source, where=f"line {number}")
        try:
            cells = next(csv.reader([text]))
        except csv.Error as exc:
            raise CaptureError(
                f"unreadable header: {exc}", source=self.source, where=f"line {number}"
            ) from None
        while cells and cells[-1] == "":
            cells.pop()
        junk = quoted and _unglue_header_junk(cells)
        host = ""
        columns = []
        for i, cell in enumerate(cells[1:], start=2):
            try:
                h, column = Column.parse(cell)
            except ValueError:
                raise CaptureError(
                    f"header cell {i} is not a counter path: {cell[:60]!r}",
                    source=self.source,
                    where=f"line {number}",
                ) from None
            host = host or h
            columns.append(column)
        if not columns:
            raise CaptureError("the header names no counters", source=self.source, where=f"line {number}")
        if junk:
            self._warn("dropped the unquoted junk field of PCPU Power State (esxtop quirk)")
        return (junk,), host, tuple(columns)

    _crlf_seen = False

    # --- rows: the quirk layer ------------------------------------------------------
    @staticmethod
    def _repair(line: bytes, junk: bool) -> bytes:
        """Drop glued junk fields and everything after the last quote (trailing comma, final junk)."""
        if junk:
            line = _GLUED_JUNK.sub(b',"', line)
        end = line.rfind(b'"')
        return line[: end + 1] if end >= 0 else line

    def _frame(self, line: bytes, number: int, *, strict: bool = True) -> tuple[bytes, bytes] | int:
        """(timestamp, body of the numbers) of a data line, or its cell count when it is short.

        The body goes to the engine (:func:`~vmksim.esxtop.rows.engine_values`), which
        needs exactly one comma between cells and none inside; a row that is not
        plainly so is split by the csv module and re-emitted unquoted.
        """
        layout = self._layout
        commas = layout.cells - 2  # commas in a body of whole cells
        if layout.quoted:
            line = self._repair(line, layout.junk)
            end = line.find(b'","')
            if line[:1] == b'"' and end > 0:
                body = line[end + 2 :]
                # Every comma sits between two quoted cells and no cell holds a quote.
                if body.count(b",") == commas == body.count(b'","') and body.count(b'"') == 2 * commas + 2:
                    return line[1:end], body
        elif b'"' not in line:
            stamp, _, body = line.partition(b",")
            extra = body.count(b",") - commas
            if extra > 0 and body.endswith(b"," * extra):
                body, extra = body[:-extra], 0  # trailing empty cells (esxtop.md §1.3 trailing comma)
            if extra == 0:
                return stamp, body
        return self._frame_slow(line, number, strict)

    def _frame_slow(self, line: bytes, number: int, strict: bool) -> tuple[bytes, bytes] | int:
        cells = self._split_slow(line, number, strict)
        if len(cells) < self._layout.cells:
            return len(cells)
        if len(cells) > self._layout.cells:
            raise CaptureError(
                f"{len(cells)} cells but the header has {self._layout.cells}",
                source=self.source,
                where=f"line {number}",
            )
        for i, cell in enumerate(cells[1:], start=2):
            if _NOT_IN_A_NUMBER.search(cell):
                raise CaptureError(
                    f"column {i} ({self._all[i - 2].label[:60]}): {cell[:20].decode(errors='replace')!r} is not a number",
                    source=self.source,
                    where=f"line {number}",
                )
        return cells[0], b",".join(cells[1:])

    def _frame_last(self, line: bytes, number: int) -> tuple[bytes, bytes] | int:
        """The last line, without its line end: whole, or cut short (maybe inside a quote)."""
        return self._frame(line, number, strict=False)

    def _split_slow(self, line: bytes, number: int, strict: bool) -> list[bytes]:
        text = line.decode("utf-8", "replace")
        try:
            cells = next(csv.reader([text], strict=strict))
        except (csv.Error, StopIteration) as exc:
            raise CaptureError(f"unreadable row: {exc}", source=self.source, where=f"line {number}") from None
        while len(cells) > self._layout.cells and cells[-1] == "":
            cells.pop()
        return [c.encode() for c in cells]

    def _time(self, cell: bytes, number: int) -> datetime:
        text = cell.decode("ascii", "replace").strip().strip('"')
        if len(text) == 19 and text[2] == "/" and text[5] == "/":
            try:
                return datetime(
                    int(text[6:10]), int(text[0:2]), int(text[3:5]),
                    int(text[11:13]), int(text[14:16]), int(text[17:19]), tzinfo=UTC,
                )  # fmt: skip
            except ValueError:
                pass
        for fmt in _SPREADSHEET_TIME_FORMATS:
            try:
                return datetime.strptime(text, fmt).replace(tzinfo=UTC)
            except ValueError:
                continue
        raise CaptureError(
            f"bad timestamp {text[:30]!r}: expected MM/DD/YYYY HH:MM:SS",
            source=self.source,
            where=f"line {number}",
        )

    # --- damage reports -------------------------------------------------------------------
    def _short_message(self, number: int, cells: int) -> str:
        return f"row has {cells} cells but the header has {self._layout.cells}: the file is corrupt"

    def _truncated(self, number: int, cells: int) -> None:
        message = f"row cut short ({cells} of {self._layout.cells} cells): the capture was truncated"
        if self.strict:
            raise CaptureError(message, source=self.source, where=f"line {number}")
        self._warn(f"line {number}: {message}; the partial row was dropped")

    def _warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)
            warnings.warn(f"{self.source}: {message}", CaptureWarning, stacklevel=3)


def read_capture(path: str | os.PathLike[str], select: Iterable[ColumnPattern | str] = ()) -> Recording:
    """Read a whole capture (or the selected columns of it) into memory."""
    return CaptureReader(path, select).to_recording()
