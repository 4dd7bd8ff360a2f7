"""Benchmark: the esxtop capture reader against pandas, polars and pyarrow, side by side in one run.

Generates an esxtop -a style batch CSV of about 300 MB and 50,000 columns
(esxtop.md §1.5: many-VM hosts with -a write 50,000-100,000 columns and
hundreds of MB), then runs each case in its own subprocess and reports wall
time and peak RSS (``ru_maxrss`` of that child, from ``os.wait4``). Two cases,
each reader doing what its users write:

- all columns: ``pandas.read_csv``, ``polars.read_csv``, ``pyarrow.csv.read_csv``
  (each builds the whole table), and vmksim's CaptureReader streaming every
  column into a per-column mean and max (the table is never built: that is
  the reader's design, and what a summary of a capture needs);
- the 256 ``Group Cpu(*)\\% Ready`` columns: pandas ``usecols``, polars
  ``scan_csv(...).select(...)``, pyarrow ``include_columns``, and vmksim's
  ``CaptureReader(path, ["Group Cpu(*)\\% Ready"])`` into a samples × columns
  matrix (and, as a second line, into a wide pandas DataFrame).

Every case prints the sum of the numbers it read, so a reader that drops or
mangles values shows. ``--run-case NAME --capture FILE`` runs one case in this
process (to time it from outside, e.g. with /usr/bin/time -v).

Run: ``python -m bench reader`` or ``python bench/bench_reader.py [--mb 300] [--capture FILE]``.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

#: Size of the generated capture (MB) and the host it stands for.
TARGET_MB = 300
VMS = 255  # 4-vCPU VMs; with -a this gives about 50,000 columns
DISTINCT_ROWS = 8  # sampled rows, cycled with new timestamps

# The selected columns, as each peer's user would pick them from the header names.
_PICK = """
def ready(names):
    return [n for n in names if "\\\\Group Cpu(" in n and n.endswith("\\\\% Ready")]
"""
CASES: dict[str, tuple[str, str]] = {
    "pandas-all": (
        "pandas.read_csv, all columns",
        """
import numpy as np, pandas as pd
df = pd.read_csv(PATH)
print(df.shape, f"{np.nansum(df.iloc[:, 1:].to_numpy(dtype=float)):.6e}")
""",
    ),
    "polars-all": (
        "polars.read_csv, all columns",
        """
import numpy as np, polars as pl
df = pl.read_csv(PATH)
num = [c for c, t in df.schema.items() if t.is_numeric()]
print(df.shape, f"{np.nansum(df.select(num).to_numpy()):.6e}")
""",
    ),
    "pyarrow-all": (
        "pyarrow.csv.read_csv, all columns",
        """
import numpy as np, pyarrow as pa, pyarrow.csv as csv
# The header line (4 MB) must fit in one block, else pyarrow cannot find the columns.
t = csv.read_csv(PATH, read_options=csv.ReadOptions(block_size=1 << 24))
total = sum(np.nansum(c.to_numpy()) for c in t.columns if pa.types.is_floating(c.type) or pa.types.is_integer(c.type))
print(t.shape, f"{total:.6e}")
""",
    ),
    "vmksim-all": (
        "vmksim CaptureReader, all columns streamed (mean, max)",
        """
import numpy as np
from vmksim.esxtop import CaptureReader
r = CaptureReader(PATH)
total = np.zeros(len(r.columns)); peak = np.full(len(r.columns), -np.inf); n = 0
for s in r:
    total += np.nan_to_num(s.values); np.fmax(peak, s.values, out=peak); n += 1
print((n, len(r.columns) + 1), f"{total.sum():.6e}")
""",
    ),
    "pandas-select": (
        "pandas.read_csv, usecols = 256 Group Cpu % Ready",
        _PICK
        + """
import numpy as np, pandas as pd
head = pd.read_csv(PATH, nrows=0).columns
df = pd.read_csv(PATH, usecols=[head[0], *ready(head)])
print(df.shape, f"{np.nansum(df.iloc[:, 1:].to_numpy(dtype=float)):.6e}")
""",
    ),
    "polars-select": (
        "polars.scan_csv(...).select(256 columns)",
        _PICK
        + """
import numpy as np, polars as pl
lf = pl.scan_csv(PATH)
names = lf.collect_schema().names()
df = lf.select([names[0], *ready(names)]).collect()
print(df.shape, f"{np.nansum(df[:, 1:].to_numpy()):.6e}")
""",
    ),
    "pyarrow-select": (
        "pyarrow.csv.read_csv, include_columns = 256",
        _PICK
        + """
import numpy as np, pyarrow as pa, pyarrow.csv as csv
with open(PATH, encoding="utf-8", newline="") as fh:
    import csv as pycsv
    names = next(pycsv.reader(fh))
t = csv.read_csv(
    PATH,
    read_options=csv.ReadOptions(block_size=1 << 24),  # the 4 MB header must fit in one block
    convert_options=csv.ConvertOptions(include_columns=[names[0], *ready(names)]),
)
print(t.shape, f"{sum(np.nansum(c.to_numpy()) for c in t.columns[1:]):.6e}")
""",
    ),
    "vmksim-select": (
        "vmksim CaptureReader(select) -> matrix",
        """
import numpy as np
from vmksim.esxtop import CaptureReader
rec = CaptureReader(PATH, ["Group Cpu(*)\\\\% Ready"]).to_recording()
m = np.vstack([s.values for s in rec])
print((m.shape[0], m.shape[1] + 1), f"{np.nansum(m):.6e}")
""",
    ),
    "vmksim-select-pandas": (
        "vmksim CaptureReader(select) -> wide pandas DataFrame",
        """
import numpy as np
from vmksim.esxtop import CaptureReader
df = CaptureReader(PATH, ["Group Cpu(*)\\\\% Ready"]).to_pandas(long=False)
print(df.shape, f"{np.nansum(df.iloc[:, 1:].to_numpy(dtype=float)):.6e}")
""",
    ),
}


def generate(path: Path, target_mb: int) -> tuple[int, int]:
    """Write the capture; returns (columns, rows)."""
    from vmksim.esxtop.writer import TIME_FORMAT, BatchWriter
    from vmksim.kernel import drive
    from vmksim.stats.fake import FakeSource
    from vmksim.stats.observer import SampleObserver
    from vmksim.stats.sampler import Sampler
    from vmksim.topology import HostTopology

    host = HostTopology.from_counts(
        name="bench", sockets=2, cores_per_socket=16, threads_per_core=2, numa_nodes=2, memory_gb=1024
    )
    src = FakeSource(
        host, [(f"vm-{i:03d} (prod)", 4, 8192) for i in range(VMS)], seed=1, host_name="esxi-bench"
    )
    sampler = Sampler(src, all_counters=True)
    samples: list = []
    drive(src, [5_000_000] * DISTINCT_ROWS, [SampleObserver(sampler, [samples.append])])
    buf = io.StringIO(newline="")
    writer = BatchWriter(buf, sampler.host, sampler.columns)
    writer.write_header()
    for s in samples:
        writer.write(s)
    # Format the distinct rows once; the big file cycles them with new timestamps.
    header, *rows = buf.getvalue().splitlines(keepends=True)
    tails = [r[r.index('","') :] for r in rows]
    rows_written = 0
    with open(path, "w", newline="") as fh:
        fh.write(header)
        size = len(header)
        start = samples[0].time
        while size < target_mb * 1_000_000:
            when = start + timedelta(seconds=5 * rows_written)
            line = '"' + when.strftime(TIME_FORMAT) + tails[rows_written % len(tails)]
            fh.write(line)
            size += len(line)
            rows_written += 1
    return len(sampler.columns), rows_written


def measure(code: str, path: Path) -> tuple[float, float, str]:
    """Run *code* in a fresh interpreter; returns (seconds, peak RSS MiB of that child, its output)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", f"PATH = {str(path)!r}\n{code}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    # The outputs are one line, far below a pipe's buffer: waiting before reading cannot block.
    _pid, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    out = (proc.stdout.read() if proc.stdout else b"").decode().strip()
    err = (proc.stderr.read() if proc.stderr else b"").decode().strip()
    if status != 0:
        raise RuntimeError(f"benchmark child failed: {err[-500:]}")
    return elapsed, usage.ru_maxrss / 1024, out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mb", type=int, default=TARGET_MB, help=f"capture size in MB (default {TARGET_MB})")
    parser.add_argument("--capture", type=Path, help="use (or generate once into) this capture file")
    parser.add_argument("--run-case", choices=sorted(CASES), help="run one case here, on --capture")
    args = parser.parse_args(argv if argv is not None else [])
    if args.run_case:
        if args.capture is None or not args.capture.is_file():
            parser.error("--run-case needs --capture FILE (an existing capture)")
        code = compile(f"PATH = {str(args.capture)!r}\n{CASES[args.run_case][1]}", args.run_case, "exec")
        exec(code, {"__name__": "__main__"})
        return
    with tempfile.TemporaryDirectory(prefix="vmksim-bench-") as tmp:
        path = args.capture or Path(tmp) / "capture.csv"
        if not path.is_file():
            t0 = time.perf_counter()
            columns, rows = generate(path, args.mb)
            print(f"generated {columns} columns x {rows} rows in {time.perf_counter() - t0:.0f} s")
        print(f"capture: {path.stat().st_size / 1e6:.0f} MB; load average {os.getloadavg()[0]:.1f} at start")
        print(f"{'case':56} {'time s':>7} {'peak RSS MiB':>13}  output (shape, sum of the numbers)")
        for title, code in CASES.values():
            seconds, rss, out = measure(code, path)
            print(f"{title:56} {seconds:7.1f} {rss:13.0f}  {out}", flush=True)
        print(f"load average {os.getloadavg()[0]:.1f} at end")


if __name__ == "__main__":
    main(sys.argv[1:])
