"""``vmksim run``: simulate a scenario on the VMkernel model; per-VM table; optional esxtop batch CSV."""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any, TextIO, cast

from vmksim.cli._common import input_file, text_output
from vmksim.console import escape_controls, make_console, progress_bar, user_text
from vmksim.errors import InputError

#: argparse %-formats help strings (for %(default)s): a literal percent sign is written %%.
HELP = "simulate a scenario: per-VM %%RDY %%CSTP %%LAT_C N%%L..., optionally an esxtop batch CSV"

DESCRIPTION = """\
Simulate the VMs of a scenario file on the ESXi VMkernel model (CPU scheduler
with shares/reservations/limits, hyper-threading, relaxed co-scheduling,
latency sensitivity; NUMA placement, rebalancing and memory locality) and print
one row per VM over the whole run, as esxtop's group rows would show it
(sums over the VM's vCPUs, so a 4-vCPU VM can show %RDY up to 400).

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

columns: %USED (charged, HT 62.5 %), %RUN, %RDY (includes %MLMTD), %CSTP,
%MLMTD (held back by a limit), %WAIT (halted), %LAT_C (contention: RDY-MLMTD
+ CSTP + HT loss), NHN (home nodes), NMIG (NUMA migrations), N%L (local memory).
"""


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
    p.add_argument(
        "-d", "--delay", type=float, metavar="SECONDS", help="sample interval (default: [run] interval_s)"
    )
    p.add_argument(
        "-n", "--iterations", type=int, metavar="N", help="number of samples (default: duration / interval)"
    )
    p.add_argument(
        "-a", "--all-counters", action="store_true", help="write every counter to the CSV (esxtop -a)"
    )
    p.add_argument("--seed", type=int, help="override [run] seed")
    p.add_argument("--duration", type=float, metavar="SECONDS", help="override [run] duration_s")
    p.add_argument("--vcpus", action="store_true", help="also print one row per vCPU world")
    p.add_argument("--json", action="store_true", help="print rows as JSON instead of a table")
    p.add_argument(
        "--engine",
        choices=("auto", "compiled", "python"),
        default="auto",
        help="scheduler core: compiled with numba or interpreted (same results; default: auto)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vmksim.kernel import Kernel
    from vmksim.scenario import load_scenario
    from vmksim.stats.summary import vcpu_summaries, vm_summaries

    text_output(args.batch, json_out=args.json)  # refuses --batch - with --json before simulating
    scenario = load_scenario(input_file(args.scenario))
    changes: dict[str, Any] = {}
    if args.seed is not None:
        changes["seed"] = args.seed
    interval = scenario.run.interval_s if args.delay is None else args.delay
    if interval <= 0 or not math.isfinite(interval):
        raise InputError(f"must be a positive number of seconds, got {args.delay}", where="-d")
    if args.iterations is not None and args.iterations < 1:
        raise InputError(f"must be at least 1, got {args.iterations}", where="-n")
    duration = scenario.run.duration_s if args.duration is None else args.duration
    if args.iterations is not None:
        duration = interval * args.iterations
    if duration <= 0 or not math.isfinite(duration):
        raise InputError(f"must be a positive number of seconds, got {args.duration}", where="--duration")
    changes.update(interval_s=min(interval, duration), duration_s=duration)
    scenario = scenario.with_run(**changes)
    jit = {"auto": None, "compiled": True, "python": False}[args.engine]
    if jit:
        from vmksim.sched.engine import numba_available

        if not numba_available():
            from vmksim.errors import VmksimError

            raise VmksimError("--engine compiled needs numba, a dependency of vmksim: pip install numba")
    kernel = Kernel(scenario, jit=jit)
    first = kernel.snapshot()
    if args.batch:
        _run_with_csv(kernel, args)
    else:
        _run(kernel, progress=not args.no_progress)
    last = kernel.snapshot()
    rows = vm_summaries(kernel.worlds, kernel.groups, first, last)
    vrows = vcpu_summaries(kernel.worlds, kernel.groups, first, last) if args.vcpus else []
    with text_output(args.batch, json_out=args.json):
        if args.json:
            import json

            out: dict[str, Any] = {"vms": [_jsonable(r._asdict()) for r in rows]}
            if args.vcpus:
                out["vcpus"] = [r._asdict() for r in vrows]
            print(json.dumps(out, indent=2))
        else:
            _print_table(scenario, kernel, rows, vrows)
    return 0


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}


def _steps(kernel: Any) -> list[int]:
    run = kernel.scenario.run
    return [min(run.duration_us, (i + 1) * run.interval_us) for i in range(run.iterations)]


def _progress(total: int, enabled: bool) -> Any:
    return progress_bar(total) if enabled else None


def _run(kernel: Any, *, progress: bool) -> None:
    steps = _steps(kernel)
    bar = _progress(len(steps), progress)
    try:
        for t in steps:
            kernel.run_until(t)
            if bar is not None:
                bar[0].update(bar[1], advance=1)
    finally:
        if bar is not None:
            bar[0].stop()


def _run_with_csv(kernel: Any, args: argparse.Namespace) -> None:
    """esxtop -b -d D -n N: a sample at every interval boundary, written atomically to --batch."""
    from vmksim.esxtop.writer import BatchWriter
    from vmksim.fileio import atomic_write, describe_output
    from vmksim.stats.sampler import Sampler

    sampler = Sampler(kernel, all_counters=args.all_counters)
    steps = _steps(kernel)
    bar = _progress(len(steps), not args.no_progress)
    try:
        with atomic_write(args.batch, "w", newline="") as fh:
            writer = BatchWriter(cast(TextIO, fh), sampler.host, sampler.columns)
            writer.write_header()
            for t in steps:
                kernel.run_until(t)
                writer.write(sampler.sample())
                if bar is not None:
                    bar[0].update(bar[1], advance=1)
    finally:
        if bar is not None:
            bar[0].stop()
    where = describe_output(args.batch)
    print(f"wrote {writer.rows} samples x {len(sampler.columns)} columns to {where}", file=sys.stderr)


def _print_table(scenario: Any, kernel: Any, rows: list[Any], vrows: list[Any]) -> None:
    from rich.table import Table

    from vmksim.stats.summary import SUMMARY_COLUMNS

    run = scenario.run
    title = (
        f"{scenario.name}: {len(rows)} VMs on {scenario.host.name} ({scenario.host.summary}), "
        f"{run.duration_s:g} s simulated, seed {run.seed}"
    )
    table = Table(title=user_text(title), title_justify="left")
    table.add_column("VM", no_wrap=True)
    table.add_column("vCPU", justify="right")
    for header, _, _ in SUMMARY_COLUMNS:
        table.add_column(header, justify="right")
    for r in rows:
        cells: list[Any] = [user_text(r.name), str(r.vcpus)]
        for _, field, fmt in SUMMARY_COLUMNS:
            value = getattr(r, field)
            cells.append("-" if isinstance(value, float) and math.isnan(value) else fmt.format(value))
        table.add_row(*cells)
    console = make_console()
    console.print(table)
    if vrows:
        vt = Table(title="per vCPU", title_justify="left")
        for header in ("VM", "vCPU", "%USED", "%RUN", "%RDY", "%CSTP", "%MLMTD", "%WAIT", "%LAT_C"):
            vt.add_column(header, justify="right" if header != "VM" else "left")
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
