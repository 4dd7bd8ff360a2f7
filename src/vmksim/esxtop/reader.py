"""A streaming reader of real esxtop batch captures (``esxtop -b`` CSV files).

ESXi counterpart: the PDH-CSV files esxtop writes in batch mode (esxtop.md
§1.3). The reader yields the same :class:`~vmksim.stats.sample.Sample` stream
as the simulator's sampler, so everything that works on a simulation works on
a capture (DESIGN.md "data flows one way").

It never holds the file: the header is parsed once into
:class:`~vmksim.stats.sample.Column` objects (esxtop.md §1.3 "safe split"),
the columns wanted are chosen by glob patterns, and each data line is split on
``","`` and converted with numpy (the csv module only when a line needs it).

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
a non-numeric cell) raises one :class:`~vmksim.errors.CaptureError` naming the
file and line.
"""

from __future__ import annotations

import csv
import os
import re
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import numpy as np

from vmksim.errors import CaptureError
from vmksim.stats.sample import Column, ColumnPattern, FloatArray, Recording, Sample, select_columns

__all__ = ["MAX_PREAMBLE_LINES", "CaptureReader", "CaptureWarning", "parse_numbers", "read_capture"]

#: Lines of junk tolerated before the PDH-CSV header (Zenoss tolerates one, esxtop.md §1.3).
MAX_PREAMBLE_LINES = 5
#: Bytes read at a time; lines longer than :data:`MAX_LINE_BYTES` mean the file is not a capture.
CHUNK_BYTES = 1 << 22
MAX_LINE_BYTES = 1 << 28
_PDH = b"(PDH-CSV"
# A junk field glued before a quoted cell: ',   -"' or ',    73.1"' (esxtop.md §1.3 quirk).
_GLUED_JUNK = re.compile(rb'(?<="),[^",]+"')
# esxtop's own timestamp, then what spreadsheets leave of it (esxtop.md §7 item 4).
_SPREADSHEET_TIME_FORMATS = ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%H:%M:%S", "%H:%M")


_NUMBER_BYTES = b'0123456789.-",'
_POW10 = 10.0 ** np.arange(23)


def parse_numbers(body: bytes, count: int) -> FloatArray | None:
    """Parse *count* comma-separated (optionally quoted) plain decimals, vectorised; None if unusual.

    esxtop writes only ``-?digits[.digits]`` (esxtop.md §1.3 "Numbers"), so a row can be
    parsed in a few numpy passes instead of one Python float() per cell: each field's
    digits form an integer mantissa, divided by 10**decimals (exact, so the result equals
    float(text)). Anything else (exponents, spaces, text) returns None: the caller falls back.
    """
    if body.translate(None, _NUMBER_BYTES):
        return None
    buf = np.frombuffer(body, dtype=np.uint8)
    field_of = np.cumsum(buf == 44, dtype=np.int32)  # field index of every byte
    if (int(field_of[-1]) + 1 if len(buf) else 1) != count:
        return None
    digit_pos = np.flatnonzero((buf >= 48) & (buf <= 57))
    f = field_of[digit_pos]
    n_digits = np.bincount(f, minlength=count)
    if n_digits.max(initial=0) > 15:  # beyond float64's exact integers
        return None
    start = np.cumsum(n_digits) - n_digits
    last = start + n_digits - 1
    k = last[f] - np.arange(len(digit_pos))  # power of ten of each digit within its field
    mantissa = np.bincount(f, weights=(buf[digit_pos] - 48) * _POW10[k], minlength=count)
    dots = np.flatnonzero(buf == 46)
    decimals = np.zeros(count, dtype=np.int64)
    if len(dots):
        fd = field_of[dots]
        if len(fd) > 1 and not (np.diff(fd) > 0).all():  # two dots in one field
            return None
        decimals[fd] = last[fd] + 1 - np.searchsorted(digit_pos, dots)
    values = mantissa / _POW10[decimals]
    minus = np.flatnonzero(buf == 45)
    if len(minus):
        values[field_of[minus]] *= -1.0
    values[n_digits == 0] = np.nan
    return values


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
        parts = (b"".join(pending) + chunk if pending else chunk).split(sep)
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
        layout = self._layout
        with open(self.path, "rb") as fh:
            fh.seek(layout.data_offset)
            pending: tuple[int, bytes] | None = None
            for number, (raw, complete) in enumerate(
                _lines(fh, layout.sep, self.source), layout.first_data_line
            ):
                line = _strip_line(raw, layout.sep)
                if not line.strip():
                    continue
                if pending is not None:
                    # A short row followed by more rows: corruption in the middle, not a cut end.
                    raise CaptureError(
                        self._short_message(*pending), source=self.source, where=f"line {pending[0]}"
                    )
                if not complete and not self._whole(line):
                    # The last line, without its newline and short: esxtop was still writing.
                    sep = b'","' if layout.quoted else b","
                    self._truncated(number, line.count(sep) + 1)
                    return
                fast = self._fast_row(line, number)
                if fast is not None:
                    yield fast
                    continue
                cells = self._split(line, number)
                if len(cells) != layout.cells:
                    if len(cells) < layout.cells:
                        pending = (number, b"%d" % len(cells))
                        continue
                    raise CaptureError(
                        f"{len(cells)} cells but the header has {layout.cells}",
                        source=self.source,
                        where=f"line {number}",
                    )
                yield Sample(self._time(cells[0], number), self._values(cells, number))
            if pending is not None:
                # The last line is short although it ends with a newline: treat as cut.
                self._truncated(pending[0], int(pending[1]))

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
        data = head
        while b"\n" not in data and b"\r" not in data:
            more = fh.read(CHUNK_BYTES)
            if not more:
                break
            if b"\x00" in more:
                raise CaptureError("binary data: not an esxtop batch CSV", source=self.source)
            data = more
        if b"\n" in data:
            return b"\n"
        return b"\r" if b"\r" in data else b"\n"

    def _parse_header(
        self, line: bytes, sep: bytes, quoted: bool, number: int
    ) -> tuple[tuple[bool], str, tuple[Column, ...]]:
        junk = quoted and _GLUED_JUNK.search(line) is not None
        if quoted:
            line = self._repair(line, junk)
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
        cells = next(csv.reader([text]))
        while cells and cells[-1] == "":
            cells.pop()
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

    # --- rows ------------------------------------------------------------------------
    @staticmethod
    def _repair(line: bytes, junk: bool) -> bytes:
        """Drop glued junk fields and everything after the last quote (trailing comma, final junk)."""
        if junk:
            line = _GLUED_JUNK.sub(b',"', line)
        end = line.rfind(b'"')
        return line[: end + 1] if end >= 0 else line

    def _split(self, line: bytes, number: int) -> list[bytes]:
        layout = self._layout
        if layout.quoted:
            line = self._repair(line, layout.junk)
            if line[:1] == b'"' and line[-1:] == b'"':
                cells = line[1:-1].split(b'","')
                if len(cells) == layout.cells:
                    return cells
            return self._split_slow(line, number)
        cells = line.split(b",")
        while len(cells) > layout.cells and cells[-1].strip() == b"":
            cells.pop()
        return cells

    def _fast_row(self, line: bytes, number: int) -> Sample | None:
        """A well-formed row parsed without splitting it into cells (None: take the careful path)."""
        layout = self._layout
        if layout.quoted:
            line = self._repair(line, layout.junk)
            end = line.find(b'","')
            if line[:1] != b'"' or end < 0:
                return None
            stamp, body = line[1:end], line[end + 3 : -1]
        else:
            stamp, _, body = line.partition(b",")
            body = body.rstrip(b",")
        values = parse_numbers(body, layout.cells - 1)
        if values is None:
            return None
        if not self._select_all:
            values = values[self._selected]
        return Sample(self._time(stamp, number), values)

    def _whole(self, line: bytes) -> bool:
        """Whether a last line without newline still holds a whole row."""
        try:
            return len(self._split(line, 0)) == self._layout.cells
        except CaptureError:
            return False

    def _split_slow(self, line: bytes, number: int) -> list[bytes]:
        text = line.decode("utf-8", "replace")
        try:
            cells = next(csv.reader([text], strict=True))
        except (csv.Error, StopIteration) as exc:
            raise CaptureError(f"unreadable row: {exc}", source=self.source, where=f"line {number}") from None
        while len(cells) > self._layout.cells and cells[-1] == "":
            cells.pop()
        return [c.encode() for c in cells]

    def _values(self, cells: list[bytes], number: int) -> FloatArray:
        body = cells[1:]
        if not self._select_all:
            body = [body[i] for i in self._selected]
        try:
            return np.array(body).astype(np.float64) if body else np.empty(0)
        except ValueError:
            return self._values_slow(body, number)

    def _values_slow(self, body: list[bytes], number: int) -> FloatArray:
        out = np.empty(len(body))
        for i, cell in enumerate(body):
            text = cell.strip()
            if not text:
                out[i] = np.nan
                continue
            try:
                out[i] = float(text)
            except ValueError:
                col = int(self._selected[i]) + 2
                raise CaptureError(
                    f"column {col} ({self._all[col - 2].label[:60]}): {text[:20]!r} is not a number",
                    source=self.source,
                    where=f"line {number}",
                ) from None
        return out

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
    def _short_message(self, number: int, cells: bytes) -> str:
        return f"row has {int(cells)} cells but the header has {self._layout.cells}: the file is corrupt"

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
