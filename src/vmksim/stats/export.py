"""Sample streams as tables: a long (tidy) Arrow table, pandas / polars DataFrames, Parquet.

Works on any :class:`~vmksim.stats.sample.SampleStream` — a simulation's
sampler or a capture reader. The long form has one row per (time, column):
``time`` (UTC), ``object``, ``instance``, ``counter`` (dictionary-encoded) and
``value``; empty cells (NaN) are left out, since esxtop's columns are not
rectangular (esxtop.md §1.3). The wide form has ``time`` plus one column per
counter path without the host (``Group Cpu(1:system)\\% Used``).

Parquet is written in row groups as the stream is read (never the whole stream
in memory) to a temporary file renamed into place when complete (fileio).
Arrow and Parquet need only pyarrow, a core dependency (pyproject.toml: it reads captures too);
the pandas / polars frames need the ``data`` extra.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import numpy as np

from vmksim.errors import MissingExtraError, VmksimError
from vmksim.fileio import atomic_write
from vmksim.stats.sample import Sample, SampleStream

__all__ = ["ROWS_PER_BATCH", "long_batches", "to_arrow", "to_pandas", "to_polars", "write_parquet"]

#: Samples per Arrow record batch / Parquet row group.
ROWS_PER_BATCH = 64


def _pyarrow() -> Any:
    """pyarrow, a core dependency: missing means a broken install, not a missing extra."""
    try:
        import pyarrow as pa
    except ImportError:
        raise VmksimError(
            "exporting samples to Arrow/Parquet needs pyarrow, a dependency of vmksim: pip install vmksim "
            "again, or pip install pyarrow"
        ) from None
    return pa


def _dictionary(values: list[str | None]) -> tuple[Any, np.ndarray]:
    pa = _pyarrow()
    labels = sorted({v or "" for v in values})
    code = {v: i for i, v in enumerate(labels)}
    return pa.array(labels, pa.string()), np.array([code[v or ""] for v in values], dtype=np.int32)


def _schema() -> Any:
    pa = _pyarrow()
    d = pa.dictionary(pa.int32(), pa.string())
    return pa.schema(
        [
            ("time", pa.timestamp("s", tz="UTC")),
            ("object", d),
            ("instance", d),
            ("counter", d),
            ("value", pa.float64()),
        ]
    )


def long_batches(stream: SampleStream, rows_per_batch: int = ROWS_PER_BATCH) -> Iterator[Any]:
    """Arrow record batches of the long form, *rows_per_batch* samples at a time."""
    pa = _pyarrow()
    columns = stream.columns
    dicts = [_dictionary([getattr(c, part) for c in columns]) for part in ("object", "instance", "counter")]
    schema = _schema()
    pending: list[Sample] = []

    def flush() -> Any:
        values = np.concatenate([s.values for s in pending])
        keep = ~np.isnan(values)
        seconds = np.repeat(
            np.array([int(s.time.timestamp()) for s in pending], dtype=np.int64), len(columns)
        )
        arrays = [pa.array(seconds[keep], pa.timestamp("s", tz="UTC"))]
        for labels, codes in dicts:
            idx = np.tile(codes, len(pending))[keep]
            arrays.append(pa.DictionaryArray.from_arrays(pa.array(idx, pa.int32()), labels))
        arrays.append(pa.array(values[keep], pa.float64()))
        return pa.RecordBatch.from_arrays(arrays, schema=schema)

    for sample in stream:
        pending.append(sample)
        if len(pending) >= rows_per_batch:
            yield flush()
            pending = []
    if pending:
        yield flush()


def to_arrow(stream: SampleStream, *, long: bool = True) -> Any:
    """The stream as a pyarrow Table (long form, or wide with one column per counter)."""
    pa = _pyarrow()
    if long:
        return pa.Table.from_batches(list(long_batches(stream)), schema=_schema())
    samples = list(stream)
    data: dict[str, Any] = {
        "time": pa.array([int(s.time.timestamp()) for s in samples], pa.timestamp("s", tz="UTC"))
    }
    matrix = np.vstack([s.values for s in samples]) if samples else np.empty((0, len(stream.columns)))
    for i, c in enumerate(stream.columns):
        data[c.label] = pa.array(matrix[:, i], pa.float64())
    return pa.table(data)


def to_pandas(stream: SampleStream, *, long: bool = True) -> Any:
    """A pandas DataFrame (categorical object/instance/counter in the long form)."""
    try:
        import pandas  # noqa: F401
    except ImportError:
        raise MissingExtraError("data", "pandas DataFrames") from None
    return to_arrow(stream, long=long).to_pandas()


def to_polars(stream: SampleStream, *, long: bool = True) -> Any:
    """A polars DataFrame (categorical object/instance/counter in the long form)."""
    try:
        import polars as pl
    except ImportError:
        raise MissingExtraError("data", "polars DataFrames") from None
    return pl.from_arrow(to_arrow(stream, long=long))


def write_parquet(stream: SampleStream, path: str | os.PathLike[str]) -> int:
    """Write the long form to a Parquet file, one row group per batch; returns the rows written."""
    _pyarrow()
    import pyarrow.parquet as pq

    rows = 0
    with atomic_write(path, "wb") as fh:
        writer = pq.ParquetWriter(fh, _schema())
        try:
            for batch in long_batches(stream):
                writer.write_batch(batch)
                rows += batch.num_rows
        finally:
            writer.close()
    return rows
