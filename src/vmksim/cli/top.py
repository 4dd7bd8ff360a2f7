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
import sys
from collections.abc import Iterator
from typing import Any, TextIO, cast

from vmksim.cli._common import SECONDS, Bounded, input_file
from vmksim.errors import InputError, VmksimError

#: esxtop raises delays below 2 s to 2 s (esxtop.md §1.2 [bg]).
MIN_DELAY_S = 2.0
#: esxtop's default delay and iteration count (esxtop.md §1.2).
DEFAULT_DELAY_S = 5.0
DEFAULT_ITERATIONS = 10_000

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
    p.add_argument("--replay", "-R", metavar="CSV", help="replay an esxtop batch CSV instead of simulating")
    p.add_argument(
        "--batch", "-b", action="store_true", help="write batch CSV to stdout (or -o) like esxtop -b"
    )
    p.add_argument("-a", dest="all_counters", action="store_true", help="all counters, not the default set")
    p.add_argument("-d", dest="delay", **SECONDS, default=None,
                   help=f"seconds between samples (default {DEFAULT_DELAY_S:g}; live/batch minimum {MIN_DELAY_S:g})")  # fmt: skip
    p.add_argument("-n", dest="iterations", type=int, action=Bounded, low=1, default=None, metavar="N",
                   help=f"number of samples (default {DEFAULT_ITERATIONS} in batch mode)")  # fmt: skip
    p.add_argument(
        "-o", "--output", metavar="FILE", help="batch CSV file (written whole or not at all; '-': stdout)"
    )
    p.add_argument("--select", action="append", default=[], metavar="PATTERN",
                   help=r"replay: only columns matching this glob, e.g. 'Group Cpu(*)\%% Ready' (repeat)")  # fmt: skip
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

    reader = open_capture(input_file(args.replay, capture=True), args.select)
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


def _load_kernel(scenario: str, seed: int | None) -> tuple[Any, Any]:
    """(scenario, its simulated host: a CounterSource that can advance)."""
    try:
        from vmksim.kernel import build_kernel
        from vmksim.scenario import load_scenario
    except ImportError:
        raise VmksimError(
            "live and batch simulation need the simulated kernel (vmksim.kernel), which this build "
            "does not have; replay a capture with --replay CAPTURE.csv"
        ) from None
    loaded = load_scenario(input_file(scenario))
    if seed is not None:
        loaded = loaded.with_run(seed=seed)
    return loaded, build_kernel(loaded)


def _simulate(args: argparse.Namespace) -> int:
    from vmksim.esxtop.entities import format_entities, parse_entities
    from vmksim.stats.sampler import Sampler

    scenario, src = _load_kernel(args.scenario, args.seed)
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
    # -d and -n default to the scenario's [run] interval and duration.
    delay = max(args.delay or scenario.run.interval_s, MIN_DELAY_S)
    sampler = Sampler(src, all_counters=args.all_counters, groups=groups)
    interval_us = round(delay * 1_000_000)
    if args.batch:
        count = args.iterations or scenario.run.iterations
        return _write(sampler.host, sampler.columns, _samples(src, sampler, interval_us, count), args.output)
    from vmksim.esxtop.feed import Feed

    live = _samples(src, sampler, interval_us, args.iterations)
    return _interactive(Feed(sampler.host, sampler.columns, live, title=args.scenario), args)


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
