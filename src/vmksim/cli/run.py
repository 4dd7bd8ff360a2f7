"""``vmksim run``: simulate a scenario on the VMkernel model; per-VM table; optional esxtop batch CSV."""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any, TextIO, cast

import numpy as np

from vmksim.cli._common import SECONDS, Bounded, OneOf, input_file, text_output
from vmksim.console import ProgressObserver, escape_controls, make_console, user_text
from vmksim.errors import InputError, VmksimError

#: argparse %-formats help strings (for %(default)s): a literal percent sign is written %%.
HELP = "simulate a scenario: per-VM %%RDY %%CSTP %%LAT_C N%%L..., optionally an esxtop batch CSV"

DESCRIPTION = """\
Simulate the VMs of a scenario file on the ESXi VMkernel model (CPU scheduler
with shares/reservations/limits, hyper-threading, relaxed co-scheduling,
latency sensitivity; NUMA placement, rebalancing and memory locality), sample
it as esxtop -a would at every interval, and print one row per VM: the same
figures `vmksim analyze` gives for a capture — per vCPU (100 = one PCPU),
means over the samples — so a run and a real capture compare directly.

The run lasts the scenario's [run] duration_s (or -d x -n); the same scenario
and seed always give the same numbers and a byte-identical CSV.
"""

EPILOG = """\
examples:
  vmksim run examples/nfv.toml
  vmksim run examples/nfv.toml --seed 7 --duration 60
  vmksim run examples/nfv.toml --batch nfv.csv            # esxtop -b at the scenario's interval
  vmksim run examples/nfv.toml --batch nfv.csv -d 2 -n 30 # esxtop -b -d 2 -n 30 (60 s)
  vmksim run examples/nfv.toml --batch nfv.csv -a         # all counters, like esxtop -a
  vmksim run examples/nfv.toml --vcpus                    # one row per vCPU as well
  vmksim run examples/nfv.toml --json                     # rows as JSON for scripts

columns (per vCPU): %USED (charged, HT 62.5 %), %RUN, %RDY (includes %MLMTD),
%CSTP, %MLMTD (held back by a limit), %WAIT (halted), %LAT_C (contention:
RDY-MLMTD + CSTP + HT/freq loss: run time lost to a busy sibling thread or a
lowered CPU clock); NHN (first home node at the end), NMIG (NUMA
migrations, sum), N%L (local memory, mean).
"""


#: Table columns of `vmksim run`: (header, analyze.summary.VmSummary field, format) — the same
#: per-vCPU figures, means over the samples, that `vmksim analyze` shows for a capture.
SUMMARY_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("%USED", "used", "{:.1f}"),
    ("%RUN", "run", "{:.1f}"),
    ("%RDY", "ready", "{:.1f}"),
    ("%CSTP", "costop", "{:.1f}"),
    ("%MLMTD", "max_limited", "{:.1f}"),
    ("%WAIT", "wait", "{:.1f}"),
    ("%LAT_C", "latency", "{:.1f}"),
    ("NHN", "numa_home", "{:.0f}"),
    ("NMIG", "numa_migrations", "{:.0f}"),
    ("N%L", "numa_local_pct", "{:.0f}"),
)


def register(sub: Any) -> None:
    p = sub.add_parser(
        "run",
        help=HELP,
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("scenario", metavar="SCENARIO", help="scenario TOML file (see examples/nfv.toml)")
    p.add_argument(
        "--batch", metavar="FILE", help="also write an esxtop batch CSV (esxtop -b) to FILE ('-': stdout)"
    )
    p.add_argument("-d", "--delay", **SECONDS, help="sample interval (default: [run] interval_s)")
    p.add_argument(
        "-n",
        "--iterations",
        type=int,
        action=Bounded,
        low=1,
        metavar="N",
        help="number of samples (default: duration / interval)",
    )
    p.add_argument(
        "-a", "--all-counters", action="store_true", help="write every counter to the CSV (esxtop -a)"
    )
    p.add_argument("--seed", type=int, action=Bounded, low=0, help="override [run] seed")
    p.add_argument("--duration", **SECONDS, help="override [run] duration_s")
    p.add_argument("--vcpus", action="store_true", help="also print one row per vCPU world")
    p.add_argument("--json", action="store_true", help="print rows as JSON instead of a table")
    p.add_argument(
        "--engine",
        action=OneOf,
        allowed=("auto", "compiled", "python"),
        metavar="{auto,compiled,python}",
        default="auto",
        help="scheduler core: compiled with numba or interpreted (same results; default: auto)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vmksim.kernel import build_kernel

    text_output(args.batch, json_out=args.json)  # refuses --batch - with --json before simulating
    scenario = _scenario(args)
    jit = {"auto": None, "compiled": True, "python": False}[args.engine]
    if jit:
        from vmksim.sched.engine import numba_available

        if not numba_available():
            raise VmksimError("--engine compiled needs numba, a dependency of vmksim: pip install numba")
    kernel = build_kernel(scenario, jit=jit)
    data = _simulate(kernel, scenario, args)
    with text_output(args.batch, json_out=args.json):
        _report(scenario, kernel, data, args)
    return 0


def _scenario(args: argparse.Namespace) -> Any:
    """The scenario file with --seed, -d, -n and --duration applied to its [run] table."""
    from vmksim.scenario import load_scenario

    scenario = load_scenario(input_file(args.scenario))
    changes: dict[str, Any] = {}
    if args.seed is not None:
        changes["seed"] = args.seed
    # The options' ranges are checked as they are parsed (_common.Bounded); the simulated time
    # horizon is the kernel's to refuse (it names run.duration_s).
    interval = scenario.run.interval_s if args.delay is None else args.delay
    duration = scenario.run.duration_s if args.duration is None else args.duration
    if args.iterations is not None:
        duration = interval * args.iterations
    if not math.isfinite(duration):  # -d x -n beyond a float
        raise InputError(f"-d x -n is not a finite number of seconds, got {duration}", where="-n")
    changes.update(interval_s=min(interval, duration), duration_s=duration)
    return scenario.with_run(**changes)


def _simulate(kernel: Any, scenario: Any, args: argparse.Namespace) -> Any:
    """Run the scenario through the one driver; every step is sampled once, as esxtop -a would.

    The samples feed the summary (the analyzer's columns, analyze.summary.StreamCollector) and,
    with --batch, the CSV (every column with -a, esxtop's default set without). Returns the
    analyzer's CaptureData of the run.
    """
    from vmksim.analyze.summary import StreamCollector
    from vmksim.kernel import drive, step_lengths
    from vmksim.stats.observer import SampleObserver
    from vmksim.stats.sampler import Sampler

    sampler = Sampler(kernel, all_counters=True)
    collector = StreamCollector(sampler.host, sampler.columns, scenario.name)
    observers: list[Any] = [SampleObserver(sampler, [collector])]
    if not args.no_progress:
        observers.append(ProgressObserver())
    if not args.batch:
        drive(kernel, step_lengths(scenario.run), observers)
        return collector.data()
    from vmksim.esxtop.writer import BatchWriter
    from vmksim.fileio import atomic_write, describe_output

    csv_columns, pick = _csv_columns(kernel, sampler, args.all_counters)
    with atomic_write(args.batch, "w", newline="") as fh:
        writer = BatchWriter(cast(TextIO, fh), sampler.host, csv_columns)
        writer.write_header()
        observers[0].sinks.append(
            lambda s: writer.write(s if pick is None else s._replace(values=s.values[pick]))
        )
        drive(kernel, step_lengths(scenario.run), observers)
    where = describe_output(args.batch)
    print(f"wrote {writer.rows} samples x {len(csv_columns)} columns to {where}", file=sys.stderr)
    return collector.data()


def _csv_columns(kernel: Any, sampler: Any, all_counters: bool) -> tuple[tuple[Any, ...], Any]:
    """The CSV's columns and their positions in the -a sample (None: all of them).

    The default set (esxtop without -a) is a subset of the -a columns (stats.sampler: a default
    metric is also an -a metric), so the one -a sampler serves both the summary and the CSV.
    """
    if all_counters:
        return sampler.columns, None
    from vmksim.stats.sampler import Sampler

    default = Sampler(kernel, all_counters=False).columns
    position = {c: i for i, c in enumerate(sampler.columns)}
    return default, np.array([position[c] for c in default], dtype=np.int64)


def _report(scenario: Any, kernel: Any, data: Any, args: argparse.Namespace) -> None:
    from vmksim.analyze.summary import summarize_vcpus, summarize_vm, vcpu_json

    rows = [summarize_vm(data, vm) for vm in data.vms]
    vrows = [v for vm in data.vms for v in summarize_vcpus(data, vm)] if args.vcpus else []
    if args.json:
        import json

        out: dict[str, Any] = {"vms": [r.to_json() for r in rows]}
        if args.vcpus:
            out["vcpus"] = [vcpu_json(v) for v in vrows]
        print(json.dumps(out, indent=2))
    else:
        _print_table(scenario, kernel, rows, vrows)


def _figure_table(title: str) -> Any:
    """A table of figures in esxtop's manner: no vertical rules, one blank between columns.

    Figures are never cut to an ellipsis on a narrow terminal: a column too narrow for its
    number folds it onto a second line instead (QA: at 80 columns '44…' stood for 44.95).
    """
    from rich import box
    from rich.table import Table

    return Table(
        title=user_text(title),
        title_justify="left",
        box=box.SIMPLE_HEAD,
        padding=(0, 1, 0, 0),
        pad_edge=False,
        show_edge=False,
    )


def _print_table(scenario: Any, kernel: Any, rows: list[Any], vrows: list[Any]) -> None:
    run = scenario.run
    title = (
        f"{scenario.name}: {len(rows)} VMs on {scenario.host.name} ({scenario.host.summary}), "
        f"{run.duration_s:g} s simulated, seed {run.seed}; per vCPU, means over {run.iterations} samples"
    )
    table = _figure_table(title)
    table.add_column("VM", no_wrap=True)
    table.add_column("vCPU", justify="right", overflow="fold")
    for header, _, _ in SUMMARY_COLUMNS:
        table.add_column(header, justify="right", overflow="fold")
    for r in rows:
        cells: list[Any] = [user_text(r.name), str(r.vcpus)]
        for _, field, fmt in SUMMARY_COLUMNS:
            value = getattr(r, field)
            # NaN = not captured; a negative home node is esxtop's "no home node" (-1).
            missing = math.isnan(value) or (field == "numa_home" and value < 0)
            cells.append("-" if missing else fmt.format(value))
        table.add_row(*cells)
    console = make_console()
    console.print(table)
    if vrows:
        vt = _figure_table("each vCPU")
        for header in ("VM", "vCPU", "%USED", "%RUN", "%RDY", "%CSTP", "%MLMTD", "%WAIT", "%LAT_C"):
            vt.add_column(header, justify="right" if header != "VM" else "left", overflow="fold")
        for v in vrows:
            vt.add_row(
                user_text(v.vm),
                str(v.vcpu),
                *(f"{x:.1f}" for x in (v.used, v.run, v.ready, v.costop, v.max_limited, v.wait, v.latency)),
            )
        console.print(vt)
    for layout in kernel.layouts:
        for warning in layout.warnings:
            print(escape_controls(f"warning: {layout.name}: {warning}"), file=sys.stderr)
