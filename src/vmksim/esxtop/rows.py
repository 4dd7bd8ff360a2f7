"""The numbers of esxtop data rows: parsed by pyarrow's CSV engine, with a readable reference.

ESXi counterpart: the data lines of an ``esxtop -b`` capture (esxtop.md §1.3):
after the timestamp, one quoted decimal per column (``"0.78"``, ``"8083"``),
some cells empty. The capture reader frames each line (drops quirks, checks the
cell count, cuts the timestamp off) and hands the remaining *bodies* here, a
batch at a time.

Why the batch is read as a single column: a capture is very wide and short
(50,000 columns, a few hundred rows, esxtop.md §1.5), and a columnar CSV engine
pays per column per block, so reading it as it is costs 15-20 s for 300 MB
(BENCHMARKS.md "esxtop CSV reader"). The bodies are joined with commas and every
comma becomes a line end, so the engine sees one float column of rows × cells
values, which it parses at its full speed; the result is reshaped to rows ×
cells. This is only valid when no cell holds a comma, a quote inside it or a line
break; the reader's framing guarantees it (a row that fails the check is split by
the csv module and re-emitted unquoted). Empty cells become empty lines, which
the engine keeps as nulls (``ignore_empty_lines=False``) and NumPy turns into NaN.

:func:`reference_values` is the readable twin (csv module + ``float()``, one cell
at a time); tests check that both agree. The reader also uses it on a batch the
engine refuses, to name the line and column of the bad cell.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Generator, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv

from vmksim.errors import CaptureError
from vmksim.stats.sample import FloatArray

__all__ = ["engine_columns", "engine_values", "reference_values"]

_COMMA_TO_LINE_END = bytes.maketrans(b",", b"\n")
# One thread: the 2-core machines this runs on gain little, and with threads pyarrow 26
# aborted at interpreter exit in 2 of 3 benchmark runs ("terminate called without an
# active exception").
_READ = pa_csv.ReadOptions(column_names=["v"], use_threads=False)
# Every line is one cell: keep empty lines (empty cells), refuse line breaks in quotes.
_PARSE = pa_csv.ParseOptions(ignore_empty_lines=False, newlines_in_values=False)
# Only an empty cell is missing (esxtop writes nothing else for it, esxtop.md §1.3);
# "NA", "null" and the like stay errors, as float() has them.
_CONVERT = pa_csv.ConvertOptions(
    column_types={"v": pa.float64()}, null_values=[""], quoted_strings_can_be_null=True
)


def engine_values(bodies: Sequence[bytes], width: int) -> FloatArray | None:
    """The bodies' numbers as a rows × *width* array, parsed by pyarrow; None if it refuses one.

    Each body is *width* cells joined by commas, quoted or not, with no comma,
    quote or line break inside a cell (the caller's framing checks that).
    """
    if not bodies:
        return np.empty((0, width))
    data = b",".join(bodies).translate(_COMMA_TO_LINE_END) + b"\n"
    try:
        table = pa_csv.read_csv(
            pa.py_buffer(data), read_options=_READ, parse_options=_PARSE, convert_options=_CONVERT
        )
    except pa.ArrowInvalid:
        return None
    values = _floats(table.column(0).chunks)
    if values.size != len(bodies) * width:
        return None
    return values.reshape(len(bodies), width)


def engine_columns(
    stream: io.RawIOBase, width: int, columns: Sequence[int], block_size: int
) -> Generator[FloatArray, None, None]:
    """Rows × len(*columns*) arrays from a stream of whole rows, pyarrow reading only those columns.

    For a few columns of a wide capture: pyarrow's streaming reader splits every row
    but converts only *columns* (``include_columns``), block by block, so memory stays
    at a few blocks. Each *stream* line is a timestamp and *width* numbers; *columns*
    (not empty) count from the first number. Raises ``pyarrow.ArrowInvalid`` on anything the
    engine refuses (the caller then reads the rest with :func:`reference_values`).
    """
    names = [f"c{i}" for i in range(width + 1)]
    wanted = [names[i + 1] for i in columns]
    reader = pa_csv.open_csv(
        stream,
        read_options=pa_csv.ReadOptions(column_names=names, block_size=block_size, use_threads=False),
        convert_options=pa_csv.ConvertOptions(
            include_columns=wanted,
            column_types=dict.fromkeys(wanted, pa.float64()),
            null_values=[""],
            quoted_strings_can_be_null=True,
        ),
    )
    try:
        for batch in reader:
            out = np.empty((batch.num_rows, len(columns)))
            for j, column in enumerate(batch.columns):
                out[:, j] = _floats([column])
            yield out
    finally:
        # Stop the reader's read-ahead now, also when the consumer stops early: a reader left
        # to interpreter exit can abort the process ("terminate called without an active
        # exception"; seen about once in 25 `capture convert` runs).
        reader.close()


def _floats(chunks: Sequence[pa.DoubleArray]) -> FloatArray:
    """float64 Arrow arrays as one NumPy array, nulls as NaN.

    Read straight from the buffers (Arrow columnar format: a validity bitmap, least
    significant bit first, and a data buffer; https://arrow.apache.org/docs/format/Columnar.html)
    because ``to_numpy()`` loads Arrow's compute-function registry, about 50 MB of
    resident memory for a copy this simple (measured in BENCHMARKS.md).
    """
    if len(chunks) == 1 and not chunks[0].null_count:  # the common case, kept cheap
        chunk = chunks[0]
        return np.frombuffer(chunk.buffers()[1], np.float64, len(chunk), chunk.offset * 8).copy()
    out = np.empty(sum(len(c) for c in chunks))
    at = 0
    for chunk in chunks:
        n, offset = len(chunk), chunk.offset
        validity, data = chunk.buffers()
        out[at : at + n] = np.frombuffer(data, np.float64, n, offset * 8)
        if validity is not None and chunk.null_count:
            bits = np.unpackbits(np.frombuffer(validity, np.uint8), bitorder="little")[offset : offset + n]
            out[at : at + n][bits == 0] = np.nan
        at += n
    return out


def reference_values(
    bodies: Sequence[bytes],
    width: int,
    *,
    columns: Sequence[int] | None = None,
    lines: Sequence[int] = (),
    source: str = "",
    labels: Sequence[str] = (),
) -> FloatArray:
    """The readable twin of :func:`engine_values` and :func:`engine_columns`: csv module and ``float()``.

    Reads the cells at *columns* (0-based within the body; all when None). An empty
    cell is NaN; anything ``float()`` refuses raises a :class:`CaptureError` naming
    *source*, the line (from *lines*) and the column (1-based, counting the timestamp,
    with its label from *labels*).
    """
    wanted = range(width) if columns is None else columns
    out = np.empty((len(bodies), len(wanted)))
    for row, body in enumerate(bodies):
        try:
            cells = next(csv.reader([body.decode("utf-8", "replace")]), [])
        except csv.Error as exc:  # e.g. a cell beyond the csv module's field limit: no number is
            raise CaptureError(  # that long, so the row is damaged
                f"unreadable row: {exc}", source=source, where=f"line {lines[row]}" if lines else None
            ) from None
        if len(cells) != width:
            raise CaptureError(
                f"{len(cells)} values but the header has {width}",
                source=source,
                where=f"line {lines[row]}" if lines else None,
            )
        for j, i in enumerate(wanted):
            text = cells[i].strip()
            try:
                out[row, j] = float(text) if text else np.nan
            except ValueError:
                label = f" ({labels[i][:60]})" if labels else ""
                raise CaptureError(
                    f"column {i + 2}{label}: {text[:20]!r} is not a number",
                    source=source,
                    where=f"line {lines[row]}" if lines else None,
                ) from None
    return out
