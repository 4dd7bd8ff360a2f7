"""``vmksim top``: esxtop — interactive, batch (``--batch``) and replay of captures (``--replay``).

ESXi counterpart: ``esxtop`` on the host (esxtop.md §1.1-§1.2, §3): the
interactive screens, batch mode ``-b -a -d D -n N`` writing PDH-CSV to stdout,
entity files, and replay. Replay here reads a batch CSV (esxtop's own replay
reads vm-support snapshots, which vmksim does not have; esxtop.md §4).

A live run needs the simulated kernel (``vmksim.kernel``); replay and
``--list-counters`` work without it.
"""

from __future__ import annotations

import argparse
import math
import sys
import warnings
from collections.abc import Iterator
from typing import Any, TextIO, cast

from vmksim.cli._common import SECONDS, Bounded, capture_input, input_file, shown_source
from vmksim.errors import InputError, InputWarning, VmksimError
from vmksim.fileio import STDIN

#: esxtop raises delays below 2 s to 2 s: "values below 2 become 2" (esxtop.md §1.2, the `-d` row,
#: after the vSphere 5.0 Monitoring and Performance guide [S4-guide]; also [S37]).
MIN_DELAY_S = 2.0
#: esxtop's default delay (esxtop.md §1.2). Its default -n of 10000 (esxtop.md §1.2 [bg]) is not
#: used: a simulation has a length, the scenario's [run] duration_s, and a capture has its samples.
DEFAULT_DELAY_S = 5.0

EPILOG = r"""
examples:
  vmksim top --replay host.csv               replay an esxtop batch capture on esxtop's screens
  vmksim top --replay host.csv -d 1          one sample per second
  vmksim top --replay host.csv --batch --select 'Group Cpu(*)' > cpu.csv
                                             rewrite some columns of a capture as esxtop CSV
  vmksim top SCENARIO                        live, over a simulation of SCENARIO
  vmksim top --batch -d 5 -n 120 SCENARIO > run.csv
                                             like esxtop -b: 10 simulated minutes as CSV
  vmksim top --batch -a -n 3 SCENARIO        all counters (esxtop -a)
  vmksim top --export-entity ents.txt SCENARIO
  vmksim top --batch --import-entity ents.txt -n 10 SCENARIO
  vmksim top --list-counters > docs/metrics.md

keys (interactive): c CPU, m memory, p power, i interrupts; V VMs only; e expand
the highlighted group into its worlds; f fields; U/R/N/M/B sort; o next sort
column; # row limit; s delay; P pause; left/right step back/forward; h help; q quit.
"""


def register(sub: Any) -> None:
    p = sub.add_parser(
        "top",
        help="esxtop: live over a simulation, replay a capture, or write batch CSV",
        description="esxtop's screens and batch CSV, over a simulation or a real capture.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("scenario", nargs="?", help="scenario file to simulate (live or --batch)")
    p.add_argument("--replay", "-R", metavar="CSV",
                   help="replay an esxtop batch CSV instead of simulating ('-': standard input, with --batch)")  # fmt: skip
    p.add_argument(
        "--batch", "-b", action="store_true", help="write batch CSV to stdout (or -o) like esxtop -b"
    )
    p.add_argument(
        "-a",
        dest="all_counters",
        action="store_true",
        help="batch: all counters, not esxtop -b's default set (the live view always has all)",
    )
    p.add_argument("-d", dest="delay", **SECONDS, default=None,
                   help=f"seconds between samples (default: the scenario's [run] interval_s, replay "
                        f"{DEFAULT_DELAY_S:g}; when simulating, esxtop's minimum {MIN_DELAY_S:g} s applies)")  # fmt: skip
    p.add_argument("-n", dest="iterations", type=int, action=Bounded, low=1, default=None, metavar="N",
                   help="number of samples (default: the scenario's [run] duration_s at that delay, "
                        "endless when live; replay: the whole capture)")  # fmt: skip
    p.add_argument(
        "-o", "--output", metavar="FILE", help="batch CSV file (written whole or not at all; '-': stdout)"
    )
    p.add_argument("--select", action="append", default=[], metavar="PATTERN",
                   help=r"only columns matching this glob, e.g. 'Group Cpu(*)\%% Ready' (repeat)")  # fmt: skip
    p.add_argument(
        "--seed",
        type=int,
        action=Bounded,
        low=0,
        default=None,
        help="simulation seed (default: the scenario's [run] seed)",
    )
    p.add_argument("--export-entity", metavar="FILE", help="write the entity list (groups) and exit")
    p.add_argument("--import-entity", metavar="FILE", help="only the groups listed in this entity file")
    p.add_argument(
        "--list-counters", action="store_true", help="print the counter catalogue (docs/metrics.md)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.list_counters:
        from vmksim.metrics import render_markdown

        sys.stdout.write(render_markdown() + "\n")
        return 0
    if args.replay:
        if args.scenario:
            raise InputError("give either --replay CSV or a SCENARIO, not both")
        return _replay(args)
    if not args.scenario:
        raise InputError("nothing to show: give a SCENARIO to simulate or --replay CAPTURE.csv (see --help)")
    return _simulate(args)


def _replay(args: argparse.Namespace) -> int:
    from vmksim.cli.capture import open_capture

    if args.replay == STDIN and not args.batch:
        raise InputError(
            "the interactive screens read keys from the terminal, so the capture cannot come from "
            "standard input: give its file, or add --batch",
            where="--replay -",
        )
    with capture_input(args.replay) as (path,):  # '-': standard input, spooled
        reader = open_capture(path, args.select, name=shown_source(args.replay))
        if args.batch:
            samples: Iterator[Any] = iter(reader)
            if args.iterations is not None:
                samples = (s for i, s in zip(range(args.iterations), reader, strict=False))
            return _write(reader.host, reader.columns, samples, args.output)
    from vmksim.esxtop.feed import Feed

    return _interactive(Feed(reader.host, reader.columns, iter(reader), title=args.replay), args)


def _interactive(feed: Any, args: argparse.Namespace) -> int:
    try:
        from vmksim.esxtop.app import TopApp
    except ImportError:
        from vmksim.errors import MissingExtraError

        raise MissingExtraError("tui", "the interactive vmksim top") from None
    TopApp(feed, delay=args.delay or DEFAULT_DELAY_S).run()
    return 0


def _write(host: str, columns: Any, samples: Any, output: str | None) -> int:
    """esxtop -b: header then one row per sample, to stdout (flushed per row) or atomically to *output*."""
    from vmksim.esxtop.writer import BatchWriter
    from vmksim.fileio import atomic_write, is_stdout

    if output is None or is_stdout(output):
        writer = BatchWriter(sys.stdout, host, columns)
        writer.write_header()
        for sample in samples:
            writer.write(sample)
            sys.stdout.flush()
        return 0
    with atomic_write(output, "w", newline="") as fh:
        writer = BatchWriter(cast(TextIO, fh), host, columns)
        writer.write_header()
        for sample in samples:
            writer.write(sample)
    print(f"wrote {writer.rows} samples x {len(columns)} columns to {output}", file=sys.stderr)
    return 0


def _load_scenario(args: argparse.Namespace) -> tuple[Any, float, int | None]:
    """(scenario with -d, -n and --seed applied, delay in s, sample count: None = endless, live).

    -d and -n default to the scenario's [run] interval and duration. The scenario's run length is
    set to delay x count, so the kernel refuses a run beyond its time horizon before the first
    sample (as `vmksim run -n` does).
    """
    try:
        from vmksim.scenario import load_scenario
    except ImportError:
        raise VmksimError(
            "live and batch simulation need the simulated kernel (vmksim.kernel), which this build "
            "does not have; replay a capture with --replay CAPTURE.csv"
        ) from None
    scenario = load_scenario(input_file(args.scenario))
    delay = _esxtop_delay(args.delay or scenario.run.interval_s, "-d" if args.delay else "run.interval_s")
    count = args.iterations
    if count is None and args.batch:
        count = max(1, math.ceil(scenario.run.duration_s / delay))
    changes: dict[str, Any] = {"interval_s": delay}
    if count is not None:
        changes["duration_s"] = delay * count
    if args.seed is not None:
        changes["seed"] = args.seed
    return scenario.with_run(**changes), delay, count


def _esxtop_delay(delay: float, origin: str) -> float:
    """*delay*, raised to esxtop's minimum with a warning that says so (esxtop.md §1.2)."""
    if delay >= MIN_DELAY_S:
        return delay
    warnings.warn(
        f"{origin} {delay:g} s is below esxtop's minimum delay; sampling every {MIN_DELAY_S:g} s "
        "as esxtop does (values below 2 become 2)",
        InputWarning,
        stacklevel=2,
    )
    return MIN_DELAY_S


def _selected(columns: Any, patterns: list[str]) -> tuple[tuple[Any, ...], Any]:
    """The columns matching --select and their positions in the sample (None: no --select)."""
    if not patterns:
        return tuple(columns), None
    import numpy as np

    from vmksim.stats.sample import select_columns

    keep = select_columns(columns, patterns)
    if not keep:
        raise InputError(f"matches none of the {len(columns)} columns of this simulation", where="--select")
    return tuple(columns[i] for i in keep), np.array(keep, dtype=np.int64)


def _simulate(args: argparse.Namespace) -> int:
    from vmksim.esxtop.entities import format_entities, parse_entities
    from vmksim.kernel import build_kernel
    from vmksim.stats.sampler import Sampler

    scenario, delay, count = _load_scenario(args)
    src = build_kernel(scenario)
    if args.export_entity:
        from vmksim.fileio import atomic_write

        with atomic_write(args.export_entity, "w") as fh:
            fh.write(format_entities(src.groups))
        return 0
    groups = None
    if args.import_entity:
        from vmksim.fileio import read_text_input

        text = read_text_input(args.import_entity)
        groups = parse_entities(text, source=args.import_entity).groups
    # Interactive esxtop has every field and lets `f` hide field groups (esxtop.md §3); `-a`
    # matters for what batch mode writes (§1.2, default set vs all). A live simulation has
    # every counter, so the live view takes them all and `f` chooses what is shown.
    sampler = Sampler(src, all_counters=args.all_counters or not args.batch, groups=groups)
    columns, pick = _selected(sampler.columns, args.select)
    samples = _samples(src, sampler, round(delay * 1_000_000), count)
    if pick is not None:
        samples = (s._replace(values=s.values[pick]) for s in samples)
    if args.batch:
        return _write(sampler.host, columns, samples, args.output)
    from vmksim.esxtop.feed import Feed

    return _interactive(Feed(sampler.host, columns, samples, title=args.scenario), args)


def _samples(src: Any, sampler: Any, interval_us: int, count: int | None) -> Iterator[Any]:
    """esxtop -d/-n over the simulation, through the one driver: a sample after each step.

    ``count`` None runs until the consumer (the TUI) stops pulling.
    """
    import itertools

    from vmksim.kernel import drive_iter
    from vmksim.stats.observer import SampleObserver

    steps = itertools.repeat(interval_us) if count is None else itertools.repeat(interval_us, count)
    observer = SampleObserver(sampler)
    for _ in drive_iter(src, steps, [observer], total=count):
        yield observer.last
