"""Benchmark: the streaming esxtop capture reader against pandas.read_csv.

Generates an esxtop -a style batch CSV of about 300 MB and 50,000 columns
(esxtop.md §1.5: many-VM hosts with -a write 50,000-100,000 columns and
hundreds of MB) in a temporary directory, then runs each reader in its own
subprocess and reports wall time and peak RSS (ru_maxrss of that child):

- pandas.read_csv of the whole file (what most peers do, esxtop.md §6);
- pandas.read_csv with usecols = the Group Cpu % Ready columns;
- vmksim CaptureReader streaming every column (per-column mean and max);
- vmksim CaptureReader selecting the Group Cpu % Ready columns into a long DataFrame.

Run: ``python -m bench reader`` or ``python bench/bench_reader.py [--mb 300]``.
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

PANDAS_ALL = """
import pandas as pd
df = pd.read_csv(PATH)
print(df.shape)
"""
PANDAS_SELECT = """
import pandas as pd
head = pd.read_csv(PATH, nrows=0).columns
cols = [head[0]] + [c for c in head if "\\\\Group Cpu(" in c and c.endswith("\\\\% Ready")]
df = pd.read_csv(PATH, usecols=cols)
print(df.shape)
"""
VMKSIM_ALL = """
import numpy as np
from vmksim.esxtop import CaptureReader
r = CaptureReader(PATH)
total = np.zeros(len(r.columns)); peak = np.full(len(r.columns), -np.inf); n = 0
for s in r:
    total += s.values; np.maximum(peak, s.values, out=peak); n += 1
print(n, len(r.columns), float((total / n).mean()))
"""
VMKSIM_SELECT = """
from vmksim.esxtop import CaptureReader
df = CaptureReader(PATH, ["Group Cpu(*)\\\\% Ready"]).to_pandas()
print(df.shape)
"""
CASES = (
    ("pandas.read_csv, all columns", PANDAS_ALL),
    ("pandas.read_csv, usecols=Group Cpu % Ready", PANDAS_SELECT),
    ("vmksim reader, all columns streamed", VMKSIM_ALL),
    ("vmksim reader, Group Cpu % Ready -> long DataFrame", VMKSIM_SELECT),
)


def generate(path: Path, target_mb: int) -> tuple[int, int]:
    """Write the capture; returns (columns, rows)."""
    from vmksim.esxtop.writer import TIME_FORMAT, BatchWriter
    from vmksim.stats.fake import FakeSource
    from vmksim.stats.sampler import Sampler, run_batch
    from vmksim.topology import HostTopology

    host = HostTopology.from_counts(
        name="bench", sockets=2, cores_per_socket=16, threads_per_core=2, numa_nodes=2, memory_gb=1024
    )
    src = FakeSource(
        host, [(f"vm-{i:03d} (prod)", 4, 8192) for i in range(VMS)], seed=1, host_name="esxi-bench"
    )
    sampler = Sampler(src, all_counters=True)
    samples = list(run_batch(sampler, src.advance, 5_000_000, DISTINCT_ROWS))
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
    """Run *code* in a fresh interpreter; returns (seconds, peak RSS MiB, its output)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", f"PATH = {str(path)!r}\n{code}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
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
    args = parser.parse_args(argv if argv is not None else [])
    with tempfile.TemporaryDirectory(prefix="vmksim-bench-") as tmp:
        path = Path(tmp) / "capture.csv"
        t0 = time.perf_counter()
        columns, rows = generate(path, args.mb)
        size = path.stat().st_size / 1e6
        print(
            f"capture: {size:.0f} MB, {columns} columns, {rows} rows (generated in {time.perf_counter() - t0:.0f} s)"
        )
        print(f"{'case':52} {'time s':>8} {'peak RSS MiB':>13}  output")
        for name, code in CASES:
            seconds, rss, out = measure(code, path)
            print(f"{name:52} {seconds:8.1f} {rss:13.0f}  {out}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
